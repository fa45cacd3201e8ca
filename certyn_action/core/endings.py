"""Which ending of the step releases which resource, under which switch. Pure: one small table.

The step holds resources (today the Certyn run; later a temporary environment). How it ends decides whether
each is released (the run cancelled) or left, and which input switches that. A resource an ending does not
name is left alone: a run that finished needs no cancel, and a rejected key cannot cancel either.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ..settings import Settings

RUN = "run"  # the Certyn run this step created (or was creating): released by cancelling it
ENVIRONMENT = "environment"  # the temporary environment of `base-url`: released by deleting it


class Ending(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    CREATED = "created"  # wait: false
    INPUT_ERROR = "input error"
    TIMED_OUT = "timed out"
    API_ERROR = "API error"
    KEY_REJECTED = "key rejected"
    INTERNAL_ERROR = "internal error"
    JOB_CANCELLED = "job cancelled"  # SIGINT/SIGTERM from the runner
    DEPLOYMENT_DOWN = "deployment unreachable"  # `base-url` never answered: nothing was created
    RUN_NOT_FOUND = "run not found"  # `run-id` names no run: nothing to cancel


class Rule(NamedTuple):  # a NamedTuple, not a dataclass: this module is imported before the first request
    switch: str  # the input that decides
    cause: str  # why the resource is released, in words for the log, the summary and Certyn
    release_when: bool = True  # the switch's value that releases (a "keep-..." switch releases on false)


RUNS: Mapping[Ending, Rule] = {
    Ending.TIMED_OUT: Rule("cancel-on-timeout", "the action's timeout-seconds passed"),
    Ending.API_ERROR: Rule("cancel-on-timeout", "the action stopped waiting after an API error"),
    Ending.INTERNAL_ERROR: Rule("cancel-on-timeout", "the action stopped after an internal error"),
    Ending.JOB_CANCELLED: Rule("cancel-on-job-cancel", "the GitHub workflow job was cancelled"),
}
# The temporary environment is released on every ending (the step is over: nothing else will delete it),
# unless `keep-environment: true`. It is acquired before the run, so the run is cancelled first.
ENVIRONMENTS: Mapping[Ending, Rule] = {
    ending: Rule("keep-environment", f"the step ended ({ending.value})", release_when=False)
    for ending in Ending
    if ending is not Ending.INPUT_ERROR
}
RULES: Mapping[Ending, Mapping[str, Rule]] = {
    ending: {
        name: rule
        for name, rule in ((RUN, RUNS.get(ending)), (ENVIRONMENT, ENVIRONMENTS.get(ending)))
        if rule
    }
    for ending in Ending
}


class Decision(NamedTuple):
    release: bool
    rule: Rule | None  # None: this ending leaves the resource alone, no switch involved


def decide(ending: Ending, resource: str, switches: Mapping[str, bool]) -> Decision:
    """Whether ``ending`` releases ``resource``, given the switches' values (by input name)."""
    rule = RULES.get(ending, {}).get(resource)
    if rule is None:
        return Decision(False, None)
    return Decision(switches[rule.switch] == rule.release_when, rule)


def switches(inputs: Settings) -> dict[str, bool]:
    """The inputs that decide what an ending releases, by name (the table's ``Rule.switch``)."""
    return {
        "cancel-on-timeout": inputs.cancel_on_timeout,
        "cancel-on-job-cancel": inputs.cancel_on_job_cancel,
        "keep-environment": inputs.keep_environment,
    }
