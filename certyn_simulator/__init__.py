"""Certyn CI Runs API simulator, a stand-in for the GitHub runner, and a demo (stdlib only).

See ``docs/simulator.md``.
"""

from .records import CancelRecord, RequestRecord, RunRecord
from .scenario import (
    ENDPOINTS,
    FAULT_KINDS,
    TERMINAL_STATES,
    Fault,
    Scenario,
    ScenarioError,
    builtin_scenario,
    builtin_scenarios,
    snapshot,
)
from .server import DEFAULT_API_KEY, Simulator, to_scenario

__all__ = [
    "DEFAULT_API_KEY",
    "ENDPOINTS",
    "FAULT_KINDS",
    "TERMINAL_STATES",
    "CancelRecord",
    "Fault",
    "RequestRecord",
    "RunRecord",
    "Scenario",
    "ScenarioError",
    "Simulator",
    "builtin_scenario",
    "builtin_scenarios",
    "snapshot",
    "to_scenario",
]
