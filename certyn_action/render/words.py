"""Every sentence a user reads: titles, headings, next steps, notes and the log's lines. Pure: text only.
Untrusted parts (server text, inputs) go through ``one_line`` here; ``WorkflowLog`` escapes again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from ..api.vocabulary import OUTCOMES
from ..gate import Cause, Result, Verdict
from ..report import CancelRequest, Report
from ..settings import Settings
from .escape import (
    defused,
    format_duration,
    markdown,
    multiline,
    newlines,
    one_line,
    plain,
    plain_lines,
    plural,
    truncate,
    without_heading,
)

if TYPE_CHECKING:
    from ..api.models import Conversation, Created, RunItem, RunStatus
    from ..diagnosis import Diagnosis, Evidence, FlakyMark, NetworkFailure

ACTION_ERROR = "Certyn action error"  # only a bug in the action reads like this
OUTPUTS_NOT_WRITTEN = "Could not write the step outputs: {error}"  # the runner's files (runner/)
SUMMARY_NOT_WRITTEN = "Could not write the job summary: {error}"
OUTPUT_CUT_NOTE = "The `{name}` output was cut to {how} to stay within the 1 MiB an output may hold"
CUT_TO_ITEMS, CUT_TO_LINES = "its first {kept:,} of {total:,} items", "its first {kept:,} lines"
CUT_TO_CHARACTERS = "its first {kept:,} characters"
SUMMARY_CUT_NOTE = "\n\n*(summary truncated)*\n"
PAYLOAD_TOO_DEEP = (
    "the event payload (GITHUB_EVENT_PATH) is nested too deeply to read: going on without it "
    "(pull request details, if any, are not used)"
)
GATE_PASSED = "Certyn gate passed"  # not "tests passed": a switch that is off let some through
VERDICTS = {  # the icon and title of each result
    Result.PASSED: ("✅", "Certyn tests passed"),
    Result.CREATED: ("🚀", "Certyn run created"),
    Result.FAILED: ("❌", "Certyn gate failed"),
    Result.TIMED_OUT: ("⏱️", "Certyn run timed out"),
    Result.CANCELLED: ("🛑", "Certyn: GitHub job cancelled"),  # a run cancelled in Certyn is a failed gate
    Result.ERROR: ("⚠️", ACTION_ERROR),
}
ICONS = {"failed": "❌", "blocked": "🚫", "aborted": "⛔", "no result": "❔", "skipped": "⏭️", "passed": "✅"}
PASSING = frozenset({"passed", "skipped"})  # no test of these outcomes fails: folded in the summary

OUTAGE = "Certyn API unreachable"
RECOVERED = "Certyn API reachable again"
ENVIRONMENT_NOT_DELETED = "Certyn environment not deleted"
OTHER_COMMIT = "Certyn run of another commit"
OUTPUT_CUT = "Certyn output cut"
PAYLOAD_NOT_USED = "Certyn: event payload not used"
CAUSE_TITLES = {
    Cause.OUTAGE: OUTAGE,
    Cause.KEY_REJECTED: "Certyn API key rejected",
    Cause.PROJECT_NOT_FOUND: "Certyn project or process not found",
    Cause.RUN_NOT_FOUND: "Certyn run not found",
    Cause.INPUT_ERROR: "Certyn: invalid input",
    Cause.DEPLOYMENT_DOWN: "Deployment not reachable",
    Cause.API_ERROR: "Certyn API error",
    Cause.INTERNAL_ERROR: ACTION_ERROR,
}
CAUSE_ICONS: dict[Cause | None, str] = {Cause.OUTAGE: "📡", Cause.KEY_REJECTED: "🔑", Cause.INPUT_ERROR: "📝"}

# What to do next, for each switch that failed the gate and each other cause: shown under the reasons.
NEXT_FOR_SWITCH = {
    "fail-on-cancelled": "The run was cancelled in Certyn: re-run the job to start a new run.",
    "fail-on-failed": "Open the run in Certyn to see what failed; fix it, then re-run the job.",
    "fail-on-blocked": "Resolve the blocked tests in Certyn (they wait for a person), then re-run the job.",
    "fail-on-aborted": "Open the run in Certyn to see why tests were aborted, then re-run the job.",
    "fail-on-empty": "Nothing was tested: check that `process-slug` or `tags` (and `environment-key`) "
    "select the tests you mean in Certyn.",
    "fail-on-incomplete": "Open the run in Certyn to see which tests have no result. If your process completes "
    "with tests unfinished on purpose, set `fail-on-incomplete: false`.",
}
# The words of a next step (or a note) that send the reader to the run: the summary makes them a link to it.
TO_THE_RUN = ("Open the run in Certyn", "Resolve the blocked tests in Certyn", "Open it in Certyn")
TIMED_OUT_NEXT = (
    "For a longer suite, raise `timeout-seconds`, and keep the job's `timeout-minutes` above it so that the "
    "action, not the runner, ends the wait."
)
# A rejected key, an unknown project and a deployment that never answered have none: their reasons already
# name the inputs to check, and a next step would say it twice (as would a run-id that names no run).
NEXT_FOR_CAUSE = {
    Cause.OUTAGE: "Check Certyn's status page or your network (proxy, firewall), then re-run the job.",
    Cause.RUN_NOT_FOUND: "Re-run the job; if it happens again, send the run id to Certyn support.",
    Cause.INPUT_ERROR: "Fix the inputs named above in the workflow file, then re-run the job.",
    Cause.API_ERROR: "Re-run the job; if it happens again, check `api-url` and send the message above to "
    "Certyn support.",
    Cause.INTERNAL_ERROR: "This is a bug in the action: please open an issue on certyn/run-action with the "
    "step's log.",
}
JOB_CANCELLED_NEXT = (
    "The GitHub job was cancelled (by a person, a newer run of a `concurrency` group, or the job's "
    "`timeout-minutes`): re-run it when needed."
)
INVALID_INPUT = "Certyn: invalid input '{name}'"
ADJUSTED_INPUT = "Certyn: input '{name}' adjusted"
LEFT_RUNNING = "The run was left running in Certyn ({switch} is false)."


def title(verdict: Verdict) -> str:
    """The annotation's title: the cause when the gate did not end the step; "gate passed" when a switch let
    a pass through."""
    if verdict.cause is not None:
        return CAUSE_TITLES[verdict.cause]
    return GATE_PASSED if verdict.result is Result.PASSED and verdict.waived else VERDICTS[verdict.result][1]


def heading(verdict: Verdict) -> str:
    return f"{CAUSE_ICONS.get(verdict.cause, VERDICTS[verdict.result][0])} {title(verdict)}"


def next_steps(result: Result, cause: Cause | None, failed_by: tuple[str, ...]) -> list[str]:
    if cause is not None:
        steps = [NEXT_FOR_CAUSE[cause]] if cause in NEXT_FOR_CAUSE else []
        if cause is Cause.OUTAGE and result is Result.TIMED_OUT:
            steps.append(TIMED_OUT_NEXT.replace("For a longer suite", "If Certyn was only slow"))
        return steps
    if result is Result.TIMED_OUT:
        return [TIMED_OUT_NEXT]
    if result is Result.CANCELLED:
        return [JOB_CANCELLED_NEXT]
    if "fail-on-cancelled" in failed_by:  # the cancel aborted the tests: not a cause to look into
        failed_by = tuple(switch for switch in failed_by if switch != "fail-on-aborted")
    return [NEXT_FOR_SWITCH[switch] for switch in failed_by if switch in NEXT_FOR_SWITCH]


def outage_warning(error: str, left: str) -> str:
    return (
        f"{error.rstrip('.')}. The action keeps polling with backoff until the deadline "
        f"(in {left}); if the API is still unreachable then, the step fails."
    )


def orphan(idempotency_key: str, *, key_refused: bool = False) -> str:
    why = "cannot cancel with a refused key" if key_refused else "could not learn, so could not cancel"
    return (
        "An earlier create attempt got no answer, so a run may exist in Certyn that this step "
        f"{why}: look for Idempotency-Key `{idempotency_key}` in Certyn and cancel it there."
    )


def still_running(run_id: str, link: str) -> str:
    where = f" ({link})" if link else ""
    return (
        f"Certyn run `{run_id}`{where} may still be running: this step cannot cancel it with a refused key. "
        "Cancel it in Certyn if it should not go on."
    )


def other_commit(run_commit: str, sent_commit: str, idempotency_key: str, *, replayed: bool) -> str:
    how = "replayed an earlier run for" if replayed else "returned a run for"
    return (
        f"This run tested commit `{run_commit}`, not this step's commit `{sent_commit}`: Certyn {how} "
        f"Idempotency-Key `{idempotency_key}`, and the gate judges that run. Give `idempotency-key` a value "
        "that changes with the commit, or leave it empty (the derived key does)."
    )


def cancel_note(cancel: CancelRequest) -> str:
    """What this step's cancel did; one that did not go through says the run may still be running."""
    cause, outcome = cancel.cause, cancel.outcome.rstrip(".")
    if cancel.accepted:
        answer = "Certyn accepted it" if outcome == "cancelled" else outcome
        return f"This step asked Certyn to cancel the run ({cause}): {answer}."
    return (
        f"The run may still be running in Certyn: this step tried to cancel it ({cause}) and could not "
        f"({outcome}). Open it in Certyn and cancel it there if needed."
    )


def state_after_cancel(cancel: CancelRequest) -> str:
    if not cancel.accepted:
        return f"Certyn's last word; this step could not cancel the run ({cancel.cause})"
    if cancel.read_after:
        return f"read after this step cancelled the run ({cancel.cause})"
    return f"Certyn's last word, read before this step cancelled the run ({cancel.cause})"


def cancel_reason(cause: str, run_url: str) -> str:
    return f"Cancelled by GitHub Actions: {cause}" + (f" ({run_url})" if run_url else "")


def environment_deleted(key: str, outcome: str) -> str:
    return f"Temporary environment `{key}`: {outcome.rstrip('.')}."


def environment_kept(key: str, switch: str, variables: Sequence[str] = ()) -> str:
    stay = (
        f" Its variables stay with it ({variable_names(variables)}): they hold secrets." if variables else ""
    )
    return f"Temporary environment `{key}` was kept ({switch} is true): delete it in Certyn when done.{stay}"


def environment_may_exist(key: str, why: str) -> str:
    return (
        f"A temporary Certyn environment with key `{key}` may exist (a create attempt got no answer), but "
        f"this step could not look it up: {why.rstrip('.')}. Look for it in Certyn (Environments) and delete it."
    )


# -- variables and runner-pool (preview.py) -------------------------------------------------------------
DEPLOYMENT_NOT_REACHED = "Deployment not reachable from this runner"


def variable_names(names: Sequence[str]) -> str:
    return ", ".join(f"`{one_line(name, 100)}`" for name in names[:50])  # never a value


def variables_set(names: Sequence[str], key: str) -> str:
    return (
        f"Set {plural(len(names), 'variable')} on the temporary Certyn environment `{one_line(key, 80)}` "
        f"(values masked): {variable_names(names)}"
    )


VARIABLE_NOT_SET = "the variable `{name}` could not be set"  # why the temporary environment is deleted
SERVER_WORDS_LEFT_OUT = " (the server's words are left out: they may quote the value)"


def variable_not_set(name: str, why: str) -> str:
    return (
        f"Could not set the variable `{name}` on the temporary Certyn environment: {why.rstrip('.')}. No run was "
        "created (a test without its variables proves nothing) and the temporary environment is deleted. "
        "Check the variable in `variables` and the API key's environment rights, then re-run the job."
    )


def unknown_pool(wanted: str, pools: Sequence[tuple[str, str]]) -> str:
    """``pools``: the active ones as (name, id)."""
    seen = ", ".join(f"`{one_line(name, 60)}` ({one_line(pool_id, 60)})" for name, pool_id in pools[:20])
    known = f"Active pools this API key sees: {seen}." if seen else "This API key sees no active pool."
    return (
        f"no self-hosted runner pool has the id or name `{one_line(wanted, 100)}`. {known} Set `runner-pool` "
        "to one of them, or remove it to run in Certyn's cloud."
    )


def inactive_pool(wanted: str) -> str:
    return (
        f"the self-hosted runner pool `{one_line(wanted, 100)}` is not active: activate it in Certyn, or name "
        "another pool in `runner-pool`."
    )


def ambiguous_pool(wanted: str, ids: Sequence[str]) -> str:
    shown = ", ".join(f"`{one_line(pool_id, 60)}`" for pool_id in ids[:20])
    return f"several self-hosted runner pools are named `{one_line(wanted, 100)}` ({shown}): set `runner-pool` to the id."


def pool_line(name: str, pool_id: str) -> str:
    return (
        f"The tests run on the self-hosted runner pool `{one_line(name, 100)}` (id {one_line(pool_id, 100)}): "
        "the temporary environment is created with executionTarget self_hosted"
    )


def deployment_not_reached(url: str, error: str, pool: str) -> str:
    return (
        f"`base-url` ({one_line(url, 200)}) did not answer from this runner ({one_line(error, 200)}). The run goes "
        f"ahead on the self-hosted runner pool `{one_line(pool, 100)}`, whose network may reach a private "
        "deployment; if its tests cannot open the site, check the deployment."
    )


class Annotation(NamedTuple):
    kind: str  # "notice", "warning" or "error"; "" for a plain log line
    title: str
    message: str


def create_lines(inputs: Settings, body: Mapping[str, object], key: str) -> list[str]:
    lines = []
    for name, value in body.items():
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        lines.append(f"{name}: {one_line(shown, 300)}")
    lines += [f"API: {inputs.api_url}", f"Idempotency-Key: {one_line(key, 200)}", "X-API-Key: *** (redacted)"]
    if inputs.wait:
        floor, ceiling = inputs.poll_interval_seconds, inputs.max_poll_interval_seconds
        every = f"{floor:g}s" if floor == ceiling else f"{floor:g}-{ceiling:g}s"
        lines.append(f"Waiting up to {format_duration(inputs.timeout_seconds)}, polling every {every}")
    return lines


def checking_deployment(url: str, wait: str) -> str:
    """``url`` as it may be shown: no userinfo, query or fragment."""
    return f"Checking that base-url {one_line(url, 300)} answers (waiting up to {wait})"


def deployment_down(wait: str, attempts: int, error: str, *, url: str = "", limit: str = "") -> str:
    """``limit``: ``timeout-seconds`` as written when it, not ``base-url-wait-seconds``, ended the wait."""
    within = f"timeout-seconds ({limit}" if limit else f"base-url-wait-seconds ({wait}"
    fix = "raise `timeout-seconds`" if limit else "raise `base-url-wait-seconds`"
    shown = f" ({one_line(url, 200)})" if url else ""
    return (
        f"`base-url`{shown} did not answer within {within}; {plural(attempts, 'attempt')}, last: "
        f"{one_line(error, 200)}): no environment and no run were created. Check that the deployment finished "
        f"and is reachable from the runner, or {fix}."
    )


def retry_line(operation: str, failures: int, attempts: int, error: str, delay: float) -> str:
    when = "retrying now" if delay < 0.05 else f"retrying in {delay:.1f}s"
    said = operation[:1].upper() + operation[1:]  # "AI conversation", not "Ai conversation"
    return f"{said} attempt {failures}/{attempts} failed ({one_line(error, 300)}); {when}"


def verdict(report: Report) -> tuple[list[str], Annotation | None]:
    """The final log line(s) and the one annotation for the step (None when each error had its own)."""
    result, reasons = report.verdict.result, "; ".join(report.verdict.reasons)
    named = title(report.verdict)
    where = run_link(report.app_url)
    run = f"Run {one_line(report.run_id, 80)}" if report.run_id else "No run"
    if result is Result.PASSED:
        counts = f"{report.status.passed}/{report.status.total} passed" if report.status else ""
        if report.verdict.waived:
            counts += "; let through by the workflow's settings: " + "; ".join(report.verdict.waived)
        return [plain(f"Certyn result: passed — {counts}")], Annotation(
            "notice", named, f"{run} passed the gate: {counts}.{where}"
        )
    if result is Result.CREATED:
        return [], Annotation("notice", named, f"{run} created; not waiting for it (wait: false).{where}")
    if result is Result.TIMED_OUT and report.status is not None:  # the log has no table of the counts
        reasons += f"; Certyn's last counts: {describe_counts(report.status)}"
    lines = [plain(f"Certyn result: {result.value} — {reasons}")]
    if result is Result.ERROR:
        # annotated where they happened, with their own titles
        return ([] if report.inputs is None else lines), None
    more = _unannotated(report)
    # the workflow cancelled the job (a newer push, `concurrency`): nothing is wrong with the code tested
    kind = "warning" if result is Result.CANCELLED else "error"
    return lines, Annotation(kind, named, f"{run}: {reasons.rstrip('.')}.{more}{where}")


HEARTBEAT_SECONDS = 60.0
SHOWN_IF_NOT_ZERO = frozenset({"pending", "aborted", "skipped"})  # a count that is always 0 tells nothing
MAX_ANNOTATIONS = 9  # with the gate's own annotation, GitHub's limit of 10 per step is never crossed
MAX_ANNOTATION_TITLE = 200
MAX_ANNOTATION_MESSAGE = 1000
MAX_ROWS = 50  # the summary's table of tests shows at most this many


def describe_counts(status: RunStatus) -> str:
    # counted from the outcomes, not as total - pending: a missing ``pending`` (0) would say "5/5 done"
    done = sum(getattr(status, name) for name in OUTCOMES)
    shown = f"{done}/{status.total}" if done <= status.total else str(done)  # never "7/5"
    named = [
        name for name in (*OUTCOMES, "pending") if getattr(status, name) or name not in SHOWN_IF_NOT_ZERO
    ]
    return f"{shown} done: {', '.join(f'{getattr(status, name)} {name}' for name in named)}"


def describe_state(status: RunStatus) -> str:
    state = one_line(status.state or "unknown state", 40)
    if status.conclusion:
        state += f" ({one_line(status.conclusion, 40)})"
    return state


@dataclass
class ProgressLog:
    """Decides which progress lines to print; ``now`` is seconds since the action started."""

    heartbeat_seconds: float = HEARTBEAT_SECONDS
    _last_key: tuple[object, ...] | None = None
    _last_line_at: float = 0.0

    def on_status(self, status: RunStatus, now: float) -> str | None:
        key = (status.state, status.conclusion, *status.counts().values())
        line = f"{describe_state(status)} — {describe_counts(status)}"
        if key != self._last_key:
            self._last_key = key
            return self._line(now, line)
        return self.heartbeat(now, f"still {line}")

    def until_heartbeat(self, now: float) -> float:
        """Seconds until a heartbeat is due (at least a little, so that callers always make progress)."""
        return max(self._last_line_at + self.heartbeat_seconds - now, 0.001)

    def heartbeat(self, now: float, text: str) -> str | None:
        return self._line(now, text) if now - self._last_line_at >= self.heartbeat_seconds else None

    def _line(self, now: float, text: str) -> str:
        self._last_line_at = now
        return f"[{format_duration(now)}] {text}"


def failing_annotations(
    items: Sequence[RunItem],
    kind: str = "error",
    diagnosis: Diagnosis | None = None,
    limit: int = MAX_ANNOTATIONS,
    *,
    cancelled: bool = False,
) -> tuple[Annotation, ...]:
    """One annotation per failing test, at most ``limit``, in server order: ``kind`` is ``warning`` when the
    gate passed (the per-test results disagree with the counts). In a run ``cancelled`` in Certyn an aborted
    test is a plain log line: the cancel aborted it, and the gate's one annotation names that cause. The
    message is the name (the log shows only the message), the outcome and finding as plain words (a leading
    heading passed over), and a diagnosed test's reason."""
    found: list[Annotation] = []
    for item in [item for item in items if item.outcome.failing][:limit]:
        outcome = item.outcome
        finding = defused("\n".join(plain_lines(without_heading(multiline(item.finding))))).strip()
        label = f"{outcome.capitalize()}:"
        if not finding:
            message = f"Marked {outcome} in Certyn."
        elif finding.lower().startswith(label.lower()):  # "Blocked: the SSO page..." says it already
            message = finding
        else:
            message = f"{label} {finding}"
        name = title = one_line(item.display_name, MAX_ANNOTATION_TITLE)
        if (why := diagnosis.of(item) if diagnosis is not None else None) is not None:
            title = f"{one_line(item.display_name, MAX_ANNOTATION_TITLE - 40)} — {REASONS[why.reason]}"
            message = f"{message}\nWhy: {one_line(why.summary, 400)}"
        shown = "" if cancelled and outcome == "aborted" else kind
        found.append(Annotation(shown, title, truncate(f"{name} — {message}", MAX_ANNOTATION_MESSAGE)))
    return tuple(found)


def _beyond_annotations(items: Sequence[RunItem], annotated: int) -> tuple[int, int]:
    """The failing tests past the first ``annotated``: how many, and how many the summary's table misses."""
    from ..api.models import ordered  # noqa: PLC0415 - pydantic: after the run only

    rest = [item for item in items if item.outcome.failing][annotated:]
    in_table = {id(item) for item in ordered(items)[:MAX_ROWS]}
    return len(rest), sum(id(item) not in in_table for item in rest)


def unannotated_line(items: Sequence[RunItem], annotated: int) -> str:
    rest, unlisted = _beyond_annotations(items, annotated)
    if not rest:
        return ""
    line = f"No annotation for {plural(rest, 'more failing test')}"
    if not unlisted:
        return f"{line}: see them in the job summary's table"
    return f"{line}: {rest - unlisted} in the job summary's table, {unlisted} only in Certyn and the failed-tests output"


def _unannotated(report: Report) -> str:
    """For the gate's annotation: the failing tests without one of their own, and where they are."""
    results = report.findings.results
    rest, unlisted = _beyond_annotations(results.items, MAX_ANNOTATIONS) if results is not None else (0, 0)
    if not rest:
        return ""
    where = f"Certyn ({unlisted} of them not in the job summary)" if unlisted else "the job summary's table"
    return f" {plural(rest, 'more failing test')} without an annotation: see {where}."


# -- the AI answer: Certyn's AI's words, said to be so ---------------------------------------------------
AI_WRITTEN = "Written by Certyn's AI, which can be wrong: check what it says against the run."
AI_INSTRUCTION = "What it was asked"
AI_ANSWER = "Certyn's AI answer (it can be wrong)"
ANSWER_CUT = (
    "The answer is cut here after {shown:,} characters; the output `conversation-response` has it whole."
)


def no_answer(state: str, waited: float, why: str = "", *, answered: bool = False) -> str:
    """Why the AI answer is missing (or, ``answered`` while ``processing``, maybe incomplete)."""
    if state == "processing":
        what = "may be incomplete" if answered else "did not come"
        return (
            f"Certyn's AI was still working when this step stopped waiting after {format_duration(round(waited))}: "
            f"its answer {what}. `conversation-timeout-seconds` sets how long the step waits for it."
        )
    if state == "failed":
        return "Certyn's AI could not answer: it reported a failure."
    if state == "unavailable":
        return f"The answer could not be read: {why}" if why else "The answer could not be read."
    return "Certyn's AI gave no answer."


def answer_lines(conversation: Conversation, waited: float) -> tuple[str, list[str]]:
    """The log group of the AI's answer as plain words; only real line breaks start a line (a form feed or
    U+2028 stays a space, so a key split over them still meets the scrubber)."""
    text, state = conversation.answer, str(conversation.state)
    lines = [] if text is None else plain_lines(newlines(text).rstrip("\n"))
    if text is None or state == "processing":
        lines.append(plain(no_answer(state, waited, answered=text is not None)))
    return AI_ANSWER, lines


# -- the backbone: how the step stopped, the releases, base-url, the wait, the findings ------------------
CREATING_GROUP = "Creating Certyn run"
CANCEL_RECEIVED = "Received {signal_name}: the job is being cancelled"
AFTER_CANCEL = "Raised after the job's cancellation, which stands: {error}"
INTERNAL_ERROR = "internal error: {message}"


def run_link(url: str, said: str = "") -> str:
    """Where the run is, after a line about it (``said`` before the link; an error line: "Certyn run: ")."""
    return f" {said}{one_line(url, 500)}" if url else ""


def internal_error(err: BaseException, limit: int = 0) -> str:
    """A bug, said where it stopped a best-effort read or write (the verdict stands); ``limit``: its message cut
    to one line of at most that many characters."""
    return INTERNAL_ERROR.format(message=f"{type(err).__name__}: {one_line(err, limit) if limit else err}")


def stopped(reason: str, cause: Cause | None, where: str) -> str:
    if cause is Cause.INTERNAL_ERROR:
        return f"Internal error in the action: {reason.removeprefix('internal error: ').rstrip('.')}.{where}"
    return reason + where


# -- releasing what the step holds (resources.py) ------------------------------------------------------
CANCEL_TIMED_OUT = "the action's timeout-seconds passed"
CANCEL_JOB = "the GitHub workflow job was cancelled"
CANCEL_API_ERROR = "the action stopped waiting after an API error"
CANCEL_BUG = "the action stopped after an internal error"
ENVIRONMENT_KEY_TAKEN = "Certyn environment key taken"
_ENDED_BY_CAUSE = {
    Cause.KEY_REJECTED: "key rejected",
    Cause.INTERNAL_ERROR: "internal error",
    Cause.DEPLOYMENT_DOWN: "deployment unreachable",
    Cause.INPUT_ERROR: "input error",
}
_ENDED_BY_RESULT = {
    Result.TIMED_OUT: "timed out",
    Result.CANCELLED: "job cancelled",
    Result.ERROR: "API error",
}
STEP_ENDED = "the step ended ({ended})"  # why the temporary environment is deleted
NOT_ENDED_HERE = "the run did not end within this step ({ended})"  # why nothing was read after it
NONE_CREATED = "no run was created ({ended})"
NONE_FOUND = "the run was not found (run not found)"
TRIES = "{attempts}, the last: "  # before the last attempt's error
CANCELLING = "Cancelling Certyn run {run_id}: {cause}"
CANCEL_ANSWERED = "Certyn answered the cancel: {outcome}"
ENVIRONMENT_KEY_TAKEN_NOTE = (
    "The environment key `{taken}` is taken by an environment this step did not create "
    "(another base URL or label): created `{used}` instead and left the other alone."
)
DELETING_ENVIRONMENT = "Deleting the temporary Certyn environment {key}: {cause}"  # log lines: no Markdown
ENVIRONMENT_NOT_DELETED_NOTE = (
    "Could not delete the temporary Certyn environment `{key}`: {why}. Delete it in Certyn (Environments)."
)
ENVIRONMENT_OUTCOME = "Temporary Certyn environment {key}: {outcome}"


def step_ended(verdict: Verdict) -> str:
    if verdict.cause in _ENDED_BY_CAUSE:
        return _ENDED_BY_CAUSE[verdict.cause]
    return _ENDED_BY_RESULT.get(verdict.result, verdict.result.value)


# -- base-url's check (deployment.py) and the run as it becomes known (step.py) ------------------------
BASE_URL_RETRY = "base-url: attempt {attempt}: {error}; retrying in {delay:.1f}s"
BASE_URL_ANSWERED = "base-url answered (HTTP {status}) after {attempts}"
ANSWERED_TOO_LATE = "it answered (HTTP {status}) only after the deadline"
ENVIRONMENT_CREATED = "Created the temporary Certyn environment {key}"  # log lines: no Markdown
ATTACHED = "Attached to Certyn run {run_id} (no create: run-id was given)"


def follow(app_url: str) -> str:
    return f"Follow it in Certyn: {one_line(app_url, 500)}"


def created_lines(created: Created) -> list[str]:
    run = created.run
    count = f" with {plural(run.test_case_count, 'test case')}" if run.test_case_count is not None else ""
    lines = [f"Created Certyn run {one_line(run.run_id, 80)}{count}"]
    if run.app_url:
        lines.append(follow(run.app_url))
    if created.replayed:
        lines.append(
            "The create was an idempotent replay: this step had already created this run "
            "(same Idempotency-Key), so it is reused rather than started twice."
        )
    return lines


# -- waiting for the run (wait.py) -------------------------------------------------------------------
STILL_WAITING_FOR_THE_RUN = "still waiting for the run to appear"
RUN_DOES_NOT_EXIST = (
    "run `{run_id}` does not exist for this API key (HTTP 404): check `run-id` (the `run-id` "
    "output of the step that created the run) and that `api-key` and `api-url` are those of "
    "the run's project"
)
RUN_NOT_VISIBLE_YET = "Run {run_id} is not visible yet (HTTP 404, poll {poll}); waiting for it"
OUTAGE_AGAIN = OUTAGE + " again (outage {outages}): {text}"
STILL_FAILING = "still waiting: the API has been failing for {failing}"
STILL = "still {state} — {counts}"


def run_not_found(run_id: str, polls: int) -> str:
    return f"run {run_id} was not found (HTTP 404, {plural(polls, 'poll')})"


def polling_on(run_id: str, error: str, poll: int) -> str:
    return (
        f"Polling run {run_id}: {error.rstrip('.')} — polling on for a while before giving up (poll {poll})"
    )


def reachable_again(run_id: str, took: str, failures: int) -> str:
    return (
        f"Certyn API reachable again: polling run {run_id} works again after {took} "
        f"({plural(failures, 'failed poll')})."
    )


# -- what Certyn found after the run (findings.py) -----------------------------------------------------
RESULTS_TITLE = "Certyn per-test results unavailable"
ANSWER_TITLE = "Certyn AI answer unavailable"
JUNIT_TITLE = "JUnit report not written"
NO_CONVERSATION_ID = "Certyn's create answer carried no conversationId"
JUNIT_NOT_WRITTEN = "`junit-report` was not written: {why}"
NOT_READ = "not read: {why}"
JOB_CANCELLED = "the job was cancelled"  # why the AI answer was not read
NO_RESULTS_LISTED = "Certyn listed no per-test results for this run"
STALE_REMOVED = "; the old report at {path} was removed"
STOPPED_READING = "Stopped reading what Certyn found: the workflow job was cancelled ({signal_name})"
SO_JUNIT_NOT_WRITTEN = " (so `junit-report` was not written{removed})"
RESULTS_NOT_READ = "Per-test results not read{unwritten}: {reason}"
TOTAL_DISAGREES = "Certyn's counts say {total} in total, but the per-test results list {listed}"
RESULTS_CUT = (
    "Certyn listed {listed:,} tests; only the first {kept:,} are reported (annotations, "
    "`failed-tests`, `junit-report`)"
)
JUNIT_FAILED = "`junit-report` ({path}) could not be written: {detail}"
PATH_NOT_A_FOLDER = "`{path}`: `{part}` is a file, not a folder"  # junit-report's path refused (runner/)
PATH_LOOP = "`{path}` is a symbolic link loop: remove the link"
PATH_IS_A_FOLDER = "`{path}` is a folder"
PATH_NOT_A_FILE = "`{path}` is not a regular file (a FIFO, device or socket): remove it"
PATH_HARD_LINK = "`{path}` is a hard link to a file with other names: remove it"
PATH_OUTSIDE = "`{path}` leads out of the workspace through a symbolic link: choose a path inside it"
JUNIT_WRITTEN = "Wrote the JUnit report ({tests}) to {path}"
JUNIT_NOTE = "JUnit report ({tests}) written to {path}"
WAITING_FOR_ANSWER = "Waiting up to {left:.0f}s for Certyn's AI to answer the instruction"
ANSWER_NOT_READ = "The AI answer was not read: {reason}"


def counts_disagree(said: int, name: str, seen: int) -> str:
    marked = plural(seen, "test is", "tests are")
    return f"Certyn's counts say {said} {name}, but {marked} marked {name} in the per-test results"


def results_tally(tally: str) -> str:
    return f"Per-test results: {tally or 'none listed'}"


# -- the diagnosis ----------------------------------------------------------------------------------------
DIAGNOSIS_INCOMPLETE = "Certyn diagnosis incomplete"
# diagnosis.py's reasons in words, for a title
REASONS = {"blocked": "blocked", "aborted": "aborted", "failed": "failed", "unknown": "cause unknown"}
REASONS |= {"agent-failed": "the agent failed", "tool-error": "a tool failed"}
REASONS |= {"app-server-error": "the app answered 5xx", "app-client-error": "the app answered 4xx"}
APP_ANSWERED = "the app answered {status} to {request}"
TOOL_FAILED = "tool {tool} failed: {error}"


def _answered(failure: NetworkFailure | None, count: int, what: str) -> str:
    """``the app answered 503 to POST /api/checkout`` (the URL's path, or the whole URL when it has none); without
    a sample, the count."""
    if failure is None:
        return plural(count, what)
    path = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]*", "", failure.url) or failure.url
    return APP_ANSWERED.format(status=failure.status, request=f"{failure.method} {path}".strip())


def describe(reason: str, outcome: str, evidence: Evidence) -> str:
    """The reason in one sentence with its strongest evidence."""
    server = next((failure for failure in evidence.network if failure.status >= 500), None)
    client = next((failure for failure in evidence.network if failure.status < 500), None)
    if reason in ("blocked", "aborted"):
        text = f"Certyn marked the test {reason}"
    elif reason == "agent-failed":
        text = f"Certyn's agent ended with status {evidence.completion}"
    elif reason == "tool-error" and evidence.tools:
        tool = evidence.tools[0]
        text = TOOL_FAILED.format(tool=tool.tool or "unnamed", error=tool.error or "no detail")
        if evidence.tool_errors > 1:
            text += f" (and {plural(evidence.tool_errors - 1, 'more tool failure')})"
    elif reason == "tool-error":
        text = plural(evidence.tool_errors, "tool failure")
    elif reason == "app-server-error":
        text = _answered(server, evidence.server_errors, "server error response")
    elif reason == "app-client-error":
        text = _answered(client, evidence.client_errors, "client error response")
    elif reason == "failed":
        text = f"the test {outcome or 'failed'}; its agent's events show no tool or app failure"
    else:
        text = "no failure signal in the agent's events"
    if evidence.denials:
        text = text.rstrip(".") + f"; {plural(evidence.denials, 'step')} denied by policy"  # no ".;"
    return text


# what the diagnosis reads, named when a read fails
READ_PROJECT = "the project"
READ_EVENTS = "the events of {name}"
READ_ARTIFACTS = "the artifacts of {name}"
READ_FLAKY = "the flaky test cases"
READ_OBSERVATIONS = "the run's observations"
NO_SESSION = "Certyn names no agent session for it"


def diagnosis_problem(failures: Sequence[str], unfinished: int, reads: int) -> str:
    """What the diagnosis could not read: the reads its time cut short, the first failure and how many more."""
    parts = (
        [f"{plural(unfinished, 'read')} of {reads} unfinished when its time ran out"] if unfinished else []
    )
    if failures:
        parts.append(failures[0] + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""))
    return truncate("; ".join(parts), 1000)


def diagnosis_incomplete(problem: str) -> str:
    return (
        f"Why the failing tests failed was not read in full: {one_line(problem, 1000)}. "
        "The verdict is unchanged; set `diagnose: false` to skip these reads."
    )


def diagnosis_lines(diagnosis: Diagnosis) -> list[str]:
    return [
        f"Why {one_line(test.name, 200)} {test.outcome}: {one_line(plain(test.summary), 400)}"
        for test in diagnosis.tests
    ]


def flaky_mark(mark: FlakyMark) -> str:
    """``flaky (35% of runs fail)``, ``quarantined · flaky``."""
    rate = f" ({mark.rate:.0%} of runs fail)" if mark.rate is not None else ""
    return ("quarantined · " if mark.quarantined else "") + "flaky" + rate


# -- GitHub: the check run and the pull-request comment (publish.py) ---------------------------------------
GITHUB_NOT_WRITTEN = "Certyn: not written to GitHub"
CHECK_RUN, COMMENT = "check run", "pull-request comment"  # what is written, in "Could not write the ..."
CHECKS_PERMISSION = "checks: write"
COMMENTS_PERMISSION = "pull-requests: write"
CHECK_RUN_IN_PROGRESS = "Certyn run in progress"
CHECK_RUN_CREATED = "GitHub check run created: {name}"
CHECK_RUN_COMPLETED = "GitHub check run completed: {conclusion}"
NO_COMMIT_TO_CHECK = "no commit to put it on (the commit tested is {sha})"
NO_CHECK_RUN_ID = "the answer named no check run id"
NO_PULL_REQUEST = "No open pull request for this commit: no comment written"
COMMENT_WRITTEN = "Pull request #{number}: Certyn comment written"
COMMENT_UPDATED = "Pull request #{number}: Certyn comment updated"
GITHUB_RETRY = "GitHub {request}: {error}; retrying in {delay:.1f}s"


def check_run_running(run_id: str, link: str | None) -> str:
    """The in-progress check run's summary (Markdown)."""
    follow = f" Follow it in [Certyn]({link})." if link else ""
    return f"Certyn run {markdown(run_id, 80)} is running.{follow}"


def headline(report: Report) -> str:
    """The check run's title, the comment's heading."""
    named = title(report.verdict)
    return f"{named}: {describe_counts(report.status)}" if report.status is not None else named


def check_run_name(what: str, job: str, job_index: str) -> str:
    """``Certyn: smoke-suite (e2e)``, ``Certyn: smoke-suite (e2e #2)`` for the second matrix leg."""
    leg = f" #{int(job_index) + 1}" if job_index.isdigit() and job_index != "0" else ""
    where = f" ({one_line(job, 60)}{leg})" if job else (f" (#{int(job_index) + 1})" if leg else "")
    return f"Certyn: {one_line(what, 100)}{where}"


def github_not_written(what: str, error: str, permission: str = "") -> str:
    """``permission``: the one to add after a 401/403/404 (a fork's pull request never gets it)."""
    fix = (
        f" Give the job `permissions: {permission}` (the workflow token is read-only by default in many "
        "repositories; on a pull request from a fork it is always read-only, so nothing can be written there)."
        if permission
        else ""
    )
    return f"Could not write the {what} to GitHub: {one_line(error, 300)}.{fix} The verdict is unchanged."
