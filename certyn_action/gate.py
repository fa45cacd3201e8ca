"""The gate: a finished run's status and the fail-on switches give the verdict. Pure.

The run must have reached a terminal state, and every enabled switch must hold. ``conclusion`` is never
consulted: its vocabulary differs between servers, and it has been seen to say "success" over aborted tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from .inputs import GateSwitches

if TYPE_CHECKING:
    from .models import RunStatus

TERMINAL_STATES = frozenset({"completed", "cancelled"})
COUNTERS = ("total", "passed", "failed", "blocked", "pending", "aborted", "skipped")


class Result(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    TIMED_OUT = "timed-out"
    CANCELLED = "cancelled"
    ERROR = "error"
    CREATED = "created"

    @property
    def succeeds(self) -> bool:
        return self in (Result.PASSED, Result.CREATED)


@dataclass(frozen=True)
class Verdict:
    result: Result
    reasons: tuple[str, ...] = ()
    # What would have failed the gate but for a switch the workflow turned off: shown, never hidden.
    waived: tuple[str, ...] = ()


def _tests(count: int) -> str:
    return f"{count} test{'' if count == 1 else 's'}"


def _without_result(status: RunStatus) -> int:
    """Tests of a completed run with no outcome: still pending, or missing from the counts altogether
    (``{"total": 10, "passed": 1}`` must not pass because the other nine were never reported)."""
    outcomes = status.passed + status.failed + status.blocked + status.aborted + status.skipped
    return max(status.total - outcomes, status.pending, 0)


def _findings(status: RunStatus) -> list[tuple[str, str]]:
    """(switch input, reason) for everything in the status that a switch can fail the gate for."""
    found: list[tuple[str, str]] = []
    completed = status.state == "completed"
    if status.state == "cancelled":
        found.append(("fail-on-cancelled", "the run was cancelled in Certyn"))
    if status.failed > 0:
        found.append(("fail-on-failed", f"{_tests(status.failed)} failed"))
    if status.blocked > 0:
        found.append(("fail-on-blocked", f"{_tests(status.blocked)} blocked (needs a human in Certyn)"))
    if status.aborted > 0:
        found.append(("fail-on-aborted", f"{_tests(status.aborted)} aborted"))
    if completed and status.total == 0:
        found.append(("fail-on-empty", "the run completed with no tests (total 0)"))
    elif completed and status.skipped >= status.total:
        found.append(
            (
                "fail-on-empty",
                f"every test was skipped ({status.skipped} of {status.total}): nothing was tested",
            )
        )
    if completed and (missing := _without_result(status)):
        pending = f" ({status.pending} pending)" if status.pending else ""
        found.append(
            (
                "fail-on-incomplete",
                f"{missing} of {_tests(status.total)} had no result when the run completed{pending}",
            )
        )
    return found


def evaluate(status: RunStatus, switches: GateSwitches) -> Verdict:
    """Verdict for a run in a terminal state; every reason that applies is listed."""
    if not status.is_terminal:
        raise ValueError(f"the run is not finished (state {status.state!r})")
    reasons: list[str] = []
    waived: list[str] = []
    for switch, reason in _findings(status):
        if switches.enabled(switch):
            reasons.append(reason)
        else:
            waived.append(f"{reason} ({switch}: false)")
    return Verdict(Result.FAILED if reasons else Result.PASSED, tuple(reasons), tuple(waived))
