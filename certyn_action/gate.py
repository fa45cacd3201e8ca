"""The verdict, pure: a finished run's status and the fail-on switches (:func:`evaluate`), or how the step was
stopped short of that (:func:`verdict_for`). ``conclusion`` is never consulted: its vocabulary differs between
servers, and it has been seen to say "success" over aborted tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum, auto
from typing import TYPE_CHECKING

from .api.client import ApiError, AuthError, DeadlineExceeded, NotFound, TimedOut, classify
from .api.vocabulary import OUTCOMES, REQUIRED_COUNTERS
from .render.escape import format_duration, one_line, plural
from .runner.signals import CancelRequested
from .settings import GateSwitches, InputErrors

if TYPE_CHECKING:
    from .api.models import RunStatus


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


class Cause(StrEnum):
    """Why a step ended other than by the gate: the heading names it and the next step follows from it."""

    OUTAGE = auto()  # transient failures lasted until the deadline (or the create's last attempt)
    KEY_REJECTED = auto()
    PROJECT_NOT_FOUND = auto()  # a 404 on the create
    RUN_NOT_FOUND = auto()  # a 404 while polling, after the grace period
    INPUT_ERROR = auto()
    DEPLOYMENT_DOWN = auto()  # `base-url` never answered: nothing was created
    API_ERROR = auto()  # any other refusal (400, 422, a redirect, a certificate that did not verify)
    INTERNAL_ERROR = auto()  # a bug in the action


@dataclass(frozen=True)
class Verdict:
    result: Result
    reasons: tuple[str, ...] = ()
    # What would have failed the gate but for a switch the workflow turned off: shown, never hidden.
    waived: tuple[str, ...] = ()
    cause: Cause | None = None  # None: the gate's own verdict (or a timeout, a cancelled job)
    # The switches behind ``reasons``, in order, each once (for the next steps; derived, so not compared).
    failed_by: tuple[str, ...] = field(default=(), compare=False)


def _outcomes(status: RunStatus) -> int:
    return sum(getattr(status, name) for name in OUTCOMES)


def _total(status: RunStatus) -> int:
    """``total``, or when the server left it out, the tests it reported on."""
    return status.total if "total" in status.model_fields_set else _outcomes(status) + status.pending


def unaccounted(status: RunStatus) -> int:
    """Tests counted neither as an outcome nor as pending; 0 unless the server sent every outcome counter (the
    API promises only ``failed`` and ``blocked``, and a missing counter reads as 0)."""
    if all(name in status.model_fields_set for name in OUTCOMES):
        return max(_total(status) - _outcomes(status) - status.pending, 0)
    return 0


def _findings(status: RunStatus) -> list[tuple[str, str]]:
    """(switch input, reason) for everything in the status that a switch can fail the gate for."""
    found: list[tuple[str, str]] = []
    completed = status.state == "completed"
    total = _total(status)
    if status.state == "cancelled":
        found.append(("fail-on-cancelled", "the run was cancelled in Certyn"))
    if status.failed > 0:
        found.append(("fail-on-failed", f"{plural(status.failed, 'test')} failed"))
    if status.blocked > 0:
        found.append(
            ("fail-on-blocked", f"{plural(status.blocked, 'test')} blocked (needs a human in Certyn)")
        )
    if status.aborted > 0:
        found.append(("fail-on-aborted", f"{plural(status.aborted, 'test')} aborted"))
    if completed and total == 0:
        found.append(("fail-on-empty", "the run completed with no tests (total 0)"))
    elif completed and status.skipped >= total:
        reason = f"every test was skipped ({status.skipped} of {total}): nothing was tested"
        found.append(("fail-on-empty", reason))
    if completed and total > 0 and (missing := unaccounted(status) + status.pending):
        of = max(total, _outcomes(status) + status.pending)
        pending = f" ({status.pending} pending)" if status.pending else ""
        reason = f"{missing} of {plural(of, 'test')} had no result when the run completed{pending}"
        found.append(("fail-on-incomplete", reason))
    for name in REQUIRED_COUNTERS:  # the API promises these two: without them nothing proves a pass
        if name in status.absent:
            absent = f"the run's status did not report `{name}` (missing or null)"
            found.append(("fail-on-incomplete", f"{absent}: nothing proves the tests passed"))
    return found


def evaluate(status: RunStatus, switches: GateSwitches) -> Verdict:
    """Verdict for a run in a terminal state; every reason that applies is listed."""
    if not status.is_terminal:
        raise ValueError(f"the run is not finished (state {status.state!r})")
    reasons: list[str] = []
    waived: list[str] = []
    failed_by: dict[str, None] = {}
    for switch, reason in _findings(status):
        if switches.enabled(switch):
            reasons.append(reason)
            failed_by[switch] = None
        else:
            waived.append(f"{reason} ({switch}: false)")
    result = Result.FAILED if reasons else Result.PASSED
    return Verdict(result, tuple(reasons), tuple(waived), failed_by=tuple(failed_by))


class Stopped(Exception):
    """A stage ends the step with ``verdict`` (e.g. ``base-url`` never answered: nothing was created)."""

    def __init__(self, verdict: Verdict) -> None:  # its args: (verdict,), set by Exception.__new__
        self.verdict = verdict


def verdict_for(  # noqa: PLR0911 - one verdict per way the step stops
    error: BaseException,
    timeout_seconds: float,
    *,
    seen: bool,
    run_known: bool,
    redact: Callable[[str], str],
) -> Verdict:
    """The verdict of a step ``error`` stopped before the gate: ``seen`` whether a status of the run was read,
    ``run_known`` whether the run was created or attached (a 404 is then the run's, else the project's)."""
    limit = format_duration(timeout_seconds)
    if isinstance(error, Stopped):
        return error.verdict
    if isinstance(error, InputErrors):
        return Verdict(Result.ERROR, tuple(str(e) for e in error.errors), cause=Cause.INPUT_ERROR)
    if isinstance(error, CancelRequested):
        return Verdict(Result.CANCELLED, (f"the workflow job was cancelled ({error.signal_name})",))
    if isinstance(error, TimedOut) and error.outage is not None:  # the API was unreachable until the end
        since, polls = format_duration(error.outage.since), plural(error.outage.failures, "failed poll")
        when = "from the step's start" if error.outage.since < 1 else f"since {since} into the step"  # not 0s
        reasons = (
            f"Certyn API unreachable {when} ({polls}, the last: "
            f"{one_line(error.outage.error).rstrip('.')}), until timeout-seconds ({limit}) passed",
        )
        unseen = () if seen else ("no status of the run was read before the outage",)
        return Verdict(Result.TIMED_OUT, reasons + unseen, cause=Cause.OUTAGE)
    if isinstance(error, TimedOut):
        return Verdict(Result.TIMED_OUT, (f"the run had not finished when timeout-seconds ({limit}) passed",))
    if isinstance(error, DeadlineExceeded) and classify(error):  # the create, retried until the end
        reason = (  # error.last says what was being done ("while creating the run", "... the environment")
            f"Certyn API unreachable ({plural(error.attempts, 'attempt')}, the last: "
            f"{error.last.rstrip('.')}), until timeout-seconds ({limit}) passed"
        )
        return Verdict(Result.TIMED_OUT, (reason,), cause=Cause.OUTAGE)
    if isinstance(error, DeadlineExceeded):
        return Verdict(Result.TIMED_OUT, (f"no final result within timeout-seconds ({limit})", error.message))
    if isinstance(error, ApiError):
        cause = Cause.API_ERROR
        if isinstance(error, AuthError):
            cause = Cause.KEY_REJECTED
        elif isinstance(error, NotFound):
            cause = Cause.RUN_NOT_FOUND if run_known else Cause.PROJECT_NOT_FOUND
        elif classify(error):  # the create's attempts were used up by failures that may pass
            cause = Cause.OUTAGE
        return Verdict(Result.ERROR, (error.message,), cause=cause)
    message = one_line(redact(f"{type(error).__name__}: {error}"))
    return Verdict(Result.ERROR, (f"internal error: {message}",), cause=Cause.INTERNAL_ERROR)
