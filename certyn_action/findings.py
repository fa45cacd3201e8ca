"""After the run ended: read its per-test results and the AI's answer, and report them. Best effort: a
failed read is one warning and a note in the summary, never another verdict. Each read's budget counts from
the run's end and never passes ``timeout-seconds``; a signal ends it at once.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from .api.client import ApiError, CertynClient
from .clock import Clock
from .gate import Result
from .github.junit_file import remove_stale, workspace, write_report
from .github.signals import CancelRequested, SignalGuard
from .render import words
from .render.escape import one_line, plural
from .resources import Journal
from .settings import Settings

if TYPE_CHECKING:
    from .api.models import Conversation, ProcessRun, RunItem, RunStatus
    from .core.report import Findings

RESULTS_SECONDS = 30.0
ANSWER_POLL_SECONDS = 5.0  # the official action's pace, when the server gives no hint
MIN_POLL_SECONDS = 1.0
MAX_POLL_SECONDS = 30.0
READ_SECONDS = 10.0  # what one read of the answer may take beyond its budget


def answers(
    client: CertynClient, conversation_id: str, until: float, hard_deadline: float, clock: Clock
) -> Iterator[Conversation]:
    """Each read of the conversation until it is final or ``until`` passes (then one last read): every 5 s or
    the server's hint (1 to 30 s). A read may take ``READ_SECONDS`` past ``until``, never past ``hard_deadline``."""
    first = True
    while True:
        read_by = min(hard_deadline, max(until, clock.monotonic() + READ_SECONDS))
        if not first and read_by - clock.monotonic() < MIN_POLL_SECONDS:
            return  # the step's own deadline: the last read stands ("processing")
        first = False
        conversation = client.conversation(conversation_id, read_by)
        yield conversation
        left = until - clock.monotonic()
        if conversation.finished or left <= 0:
            return
        hint = conversation.retry_after_seconds
        pause = ANSWER_POLL_SECONDS if hint is None else min(max(hint, MIN_POLL_SECONDS), MAX_POLL_SECONDS)
        clock.sleep(min(pause, left))


def not_read(step: Journal, inputs: Settings, why: str) -> Findings:
    """The run did not end in this step: nothing is read; said where it was asked for."""
    if inputs.test_results and inputs.junit_report and step.report.run_id:
        removed = _stale_removed(step, inputs.junit_report)
        step.log.warning(words.JUNIT_NOT_WRITTEN.format(why=why + removed), title=words.JUNIT_TITLE)
    findings = copy.copy(step.report.findings)
    if inputs.instruction:
        findings.asked, findings.conversation_note = True, words.NOT_READ.format(why=why)
    return findings


def _stale_removed(step: Journal, path: str) -> str:
    """Remove an old report at ``path`` (none contradicts this run); the words saying so, or ""."""
    if not remove_stale(workspace(step.env), path):
        return ""
    return words.STALE_REMOVED.format(path=one_line(path, 300))


def _why(err: Exception) -> str:
    """Why a read failed: a bug here must not turn a verdict into an internal error."""
    return err.message if isinstance(err, ApiError) else words.internal_error(err, 300)


def contradictions(counts: Mapping[str, int], items: Sequence[RunItem]) -> tuple[str, ...]:
    """Where the per-test results disagree with the status counts, for the summary (the gate keeps to the
    counts); nothing without per-test results (unavailable is no contradiction)."""
    from .api.models import Outcome, outcome_counts  # noqa: PLC0415

    if not items:
        return ()
    tally, found = outcome_counts(items), []
    for name in ("failed", "blocked", "aborted", "passed", "skipped"):
        said, seen = counts.get(name, 0), tally[Outcome(name)]
        if said != seen:
            found.append(words.counts_disagree(said, name, seen))
    total = counts.get("total", 0)
    if total and total != len(items):
        found.append(
            words.TOTAL_DISAGREES.format(total=plural(total, "test"), listed=plural(len(items), "test"))
        )
    return tuple(found)


class Afterwards:
    def __init__(
        self, client: CertynClient, step: Journal, clock: Clock, guard: SignalGuard, inputs: Settings
    ) -> None:
        self.client, self.step, self.inputs = client, step, inputs
        self.clock, self.guard = clock, guard
        self.log, self.findings = step.log, copy.copy(step.report.findings)

    def run(self, status: RunStatus, hard_deadline: float) -> Findings:
        """What Certyn found, read within the budgets; never raises but for a bug in the report."""
        ended, self.hard_deadline = self.clock.monotonic(), hard_deadline
        try:
            with self.guard.interruptible():
                if self.inputs.test_results:
                    self._results(status, min(hard_deadline, ended + RESULTS_SECONDS))
                self.findings.asked = bool(self.inputs.instruction)
                if self.findings.asked:
                    until = min(hard_deadline, ended + self.inputs.conversation_timeout_seconds)
                    self._answer(until, hard_deadline)
                    self.findings.waited = self.clock.monotonic() - ended
        except CancelRequested as cancel:
            self.guard.acted_on()  # the gate's verdict stands
            note = words.STOPPED_READING.format(signal_name=cancel.signal_name)
            self.log.info(note)
            self.step.note(note)
            if self.inputs.instruction and self.findings.conversation is None:
                self.findings.asked = True
                self.findings.conversation_note = words.NOT_READ.format(why=words.JOB_CANCELLED)
        conversation = self.findings.conversation
        if self.findings.asked and conversation is not None:
            title, lines = words.answer_lines(conversation, self.findings.waited)
            with self.log.group(title):
                for line in lines:
                    self.log.info(line)
        return self.findings

    def _results(self, status: RunStatus, deadline: float) -> None:
        from .diagnosis import report_diagnosis  # noqa: PLC0415
        from .render.summary import tally  # noqa: PLC0415

        try:
            run = self.client.process_run(self.step.report.run_id, deadline)
        except Exception as err:  # an API error, or a bug (see _why)
            self.findings.results_note = reason = _why(err)
            path = self.inputs.junit_report
            unwritten = path and words.SO_JUNIT_NOT_WRITTEN.format(removed=_stale_removed(self.step, path))
            message = words.RESULTS_NOT_READ.format(unwritten=unwritten, reason=reason)
            self.log.warning(message, title=words.RESULTS_TITLE)
            return
        counts = status.counts()
        self.findings.results = run
        self.findings.contradictions = contradictions(counts, run.items)
        self.findings.expected_failing = counts["failed"] + counts["blocked"] + counts["aborted"]
        self.step.found(self.findings)  # the outputs at once
        if run.listed > len(run.items):
            cut = words.RESULTS_CUT.format(listed=run.listed, kept=len(run.items))
            self.log.warning(cut, title=words.RESULTS_TITLE)
        self.log.info(words.results_tally(tally(run.items)))
        # in a run cancelled in Certyn the cancel aborted its tests: plain lines, not diagnosed one by one
        cancelled = status.state == "cancelled"
        diagnosed = [item for item in run.items if not (cancelled and str(item.outcome) == "aborted")]
        self.findings.diagnosis = report_diagnosis(
            self.client, self.log, self.clock, self.inputs, self.step.report.run_id, diagnosed,
            self.findings.expected_failing - (counts["aborted"] if cancelled else 0), self.hard_deadline,
        )  # fmt: skip
        self.step.found(self.findings)  # the `failures` output at once
        verdict = self.step.report.verdict
        gate_passed = verdict.result is Result.PASSED
        kind = "warning" if gate_passed else "error"
        notes = words.failing_annotations(run.items, kind, self.findings.diagnosis, cancelled=cancelled)
        for note in notes:
            if note.kind:
                getattr(self.log, note.kind)(note.message, title=note.title)
            else:
                self.log.info(note.message)
        if rest := words.unannotated_line(run.items, len(notes)):
            self.log.info(rest)
        if self.inputs.junit_report:
            gate_failure = "" if gate_passed else "; ".join(verdict.reasons) or str(verdict.result)
            self._junit(run, counts, gate_failure)

    def _junit(self, run: ProcessRun, counts: dict[str, int], gate_failure: str) -> None:
        from .render.junit import render_run_junit  # noqa: PLC0415

        path = self.inputs.junit_report
        if not run.items:
            why = f"{words.NO_RESULTS_LISTED} ({path}){_stale_removed(self.step, path)}"
            self.log.warning(words.JUNIT_NOT_WRITTEN.format(why=why), title=words.JUNIT_TITLE)
            return
        report = render_run_junit(run, counts, gate_failure=gate_failure, diagnosis=self.findings.diagnosis)
        # scrubbed as written: XML drops the control characters a name or finding may hide the key with
        report = self.log.redact(report)
        try:
            with self.guard.deferred():  # the file is written whole
                write_report(workspace(self.step.env), path, report)
        except OSError as err:
            detail = one_line(str(err) if err.errno is None else (err.strerror or type(err).__name__), 300)
            self.log.warning(words.JUNIT_FAILED.format(path=path, detail=detail), title=words.JUNIT_TITLE)
            return
        tests = plural(len(run.items), "test")
        self.log.info(words.JUNIT_WRITTEN.format(tests=tests, path=one_line(path, 300)))
        self.findings.notes.append(words.JUNIT_NOTE.format(tests=tests, path=path))

    def _answer(self, until: float, hard_deadline: float) -> None:
        conversation_id = self.step.report.conversation_id
        if not conversation_id:
            self._answer_missing(words.NO_CONVERSATION_ID)
            return
        left = max(until - self.clock.monotonic(), 0)
        self.log.info(words.WAITING_FOR_ANSWER.format(left=left))
        try:
            for conversation in answers(self.client, conversation_id, until, hard_deadline, self.clock):
                self.findings.conversation = conversation
        except Exception as err:  # an API error, or a bug (see _why)
            self._answer_missing(_why(err))

    def _answer_missing(self, reason: str) -> None:
        self.findings.conversation, self.findings.conversation_note = None, reason
        self.log.warning(words.ANSWER_NOT_READ.format(reason=reason), title=words.ANSWER_TITLE)
