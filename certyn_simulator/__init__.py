"""Certyn API simulator, a stand-in for the GitHub runner, and a demo (stdlib only).

See ``docs/simulator.md``.
"""

from .catalogue import builtin_scenario, builtin_scenarios, load_scenario
from .environments import EnvironmentRecord, VariableRecord
from .github import DEFAULT_GITHUB_TOKEN, CheckRunRecord, CommentRecord
from .records import CancelRecord, RequestRecord, RunRecord
from .scenario import (
    ENDPOINTS,
    FAULT_KINDS,
    TERMINAL_STATES,
    Fault,
    Scenario,
    ScenarioError,
    snapshot,
)
from .server import DEFAULT_API_KEY, Simulator, to_scenario

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_GITHUB_TOKEN",
    "ENDPOINTS",
    "FAULT_KINDS",
    "TERMINAL_STATES",
    "CancelRecord",
    "CheckRunRecord",
    "CommentRecord",
    "EnvironmentRecord",
    "Fault",
    "RequestRecord",
    "RunRecord",
    "Scenario",
    "ScenarioError",
    "Simulator",
    "VariableRecord",
    "builtin_scenario",
    "builtin_scenarios",
    "load_scenario",
    "snapshot",
    "to_scenario",
]
