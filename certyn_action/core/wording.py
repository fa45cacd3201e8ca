"""The one place for the words a user reads in titles and headings: annotation titles, summary headings,
the verdict's "gate passed", the cancel notes. Pure: everything here is text or makes text."""

from __future__ import annotations

from .gate import Result

ACTION_ERROR = "Certyn action error"
GATE_PASSED = "Certyn gate passed"  # not "tests passed": a switch that is off let some through
TITLES = {
    Result.PASSED: "Certyn tests passed",
    Result.CREATED: "Certyn run created",
    Result.FAILED: "Certyn gate failed",
    Result.TIMED_OUT: "Certyn run timed out",
    Result.CANCELLED: "Certyn run cancelled",
    Result.ERROR: ACTION_ERROR,
}
ICONS = {
    Result.PASSED: "✅",
    Result.CREATED: "🚀",
    Result.FAILED: "❌",
    Result.TIMED_OUT: "⏱️",
    Result.CANCELLED: "🛑",
    Result.ERROR: "⚠️",
}
HEADINGS = {result: f"{ICONS[result]} {text}" for result, text in TITLES.items()}

KEY_REJECTED = "Certyn API key rejected"
API_ERROR = "Certyn API error"
NOT_FOUND_ON_CREATE = "Certyn project or process not found"
OUTAGE = "Certyn API unreachable"
ENVIRONMENT_NOT_DELETED = "Certyn environment not deleted"
DEPLOYMENT_DOWN = "Deployment not reachable"
RUN_NOT_FOUND = "Certyn run not found"
OTHER_COMMIT = "Certyn run of another commit"


def title(result: Result, *, waived: bool = False) -> str:
    """The verdict in a few words (annotation title). A pass that a switch let through says "gate"."""
    return GATE_PASSED if result is Result.PASSED and waived else TITLES[result]


def heading(result: Result, *, waived: bool = False) -> str:
    """The job summary's heading: the title with its icon."""
    return f"{ICONS[result]} {title(result, waived=waived)}"


def invalid_input(name: str) -> str:
    return f"Certyn: invalid input '{name}'"


def adjusted_input(name: str) -> str:
    return f"Certyn: input '{name}' adjusted"


def payload_not_used() -> str:
    return "Certyn: event payload not used"


def orphan(why: str, idempotency_key: str) -> str:
    """The note when a run may exist that this step could not cancel (``why`` says why not)."""
    return (
        "An earlier create attempt got no answer, so a run may exist in Certyn that this step "
        f"{why}: look for Idempotency-Key `{idempotency_key}` in Certyn and cancel it there."
    )


def still_running(run_id: str, link: str) -> str:
    """The note when the key was refused after the run was known: it may still run, and cannot be cancelled."""
    where = f" ({link})" if link else ""
    return (
        f"Certyn run `{run_id}`{where} may still be running: this step cannot cancel it with a refused key. "
        "Cancel it in Certyn if it should not go on."
    )


def other_commit(run_commit: str, sent_commit: str, idempotency_key: str, *, replayed: bool) -> str:
    """The warning when the run Certyn returned tests another commit than the one this step sent."""
    how = "replayed an earlier run for" if replayed else "returned a run for"
    return (
        f"This run tested commit `{run_commit}`, not this step's commit `{sent_commit}`: Certyn {how} "
        f"Idempotency-Key `{idempotency_key}`, and the gate judges that run. Give `idempotency-key` a value "
        "that changes with the commit, or leave it empty (the derived key does)."
    )


def left_running(switch: str) -> str:
    """The summary note when a switch kept the run running."""
    return f"The run was left running in Certyn ({switch} is false)."


def cancel_requested(cause: str, outcome: str) -> str:
    """The summary note after a cancel was requested."""
    return f"Cancel requested ({cause}): {outcome.rstrip('.')}."


def cancel_reason(cause: str, run_url: str) -> str:
    """The reason sent with the cancel, for the people reading the run in Certyn."""
    link = f" ({run_url})" if run_url else ""
    return f"Cancelled by GitHub Actions: {cause}{link}"


def environment_deleted(key: str, outcome: str) -> str:
    """The summary note after the temporary environment was released."""
    return f"Temporary environment `{key}`: {outcome.rstrip('.')}."


def environment_kept(key: str, switch: str) -> str:
    """The summary note when ``keep-environment`` kept the temporary environment."""
    return f"Temporary environment `{key}` was kept ({switch} is true): delete it in Certyn when done."


def environment_may_exist(key: str, why: str) -> str:
    """The warning when a create attempt may have made the temporary environment, yet it could not be found."""
    return (
        f"A temporary Certyn environment with key `{key}` may exist (a create attempt got no answer), but "
        f"this step could not look it up: {why.rstrip('.')}. Look for it in Certyn (Environments) and delete it."
    )
