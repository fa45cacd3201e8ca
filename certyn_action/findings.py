"""After the run ended: read its per-test results, why each failing test failed (for ``diagnosis.py`` to classify)
and the AI's answer, and report them. Best effort: a failed read is one warning and a note in the summary, never
another verdict. Each read's budget counts from
the run's end and never passes ``timeout-seconds``; a signal ends it at once.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from .api.client import ApiError, CertynClient
from .api.http import signals_held
from .clock import Clock, Deadline
from .gate import Result
from .render import words
from .render.escape import one_line, plural
from .resources import Journal
from .runner.junit_file import remove_stale, workspace, write_report
from .runner.signals import CancelRequested, SignalGuard
from .settings import Settings

if TYPE_CHECKING:
    from .api.models import Artifact, Conversation, Flakiness, ProcessRun, RunItem, RunStatus
    from .diagnosis import Diagnosis
    from .report import Findings

RESULTS_SECONDS = 30.0
ANSWER_POLL_SECONDS = 5.0  # the official action's pace, when the server gives no hint
MIN_POLL_SECONDS = 1.0
MAX_POLL_SECONDS = 30.0
READ_SECONDS = 10.0  # what one read of the answer may take beyond its budget
# the diagnosis: what is read for diagnosis.py to classify, MAX_PARALLEL at once
DIAGNOSIS_SECONDS = 30.0
MAX_EVENTS = 1_000
MAX_PARALLEL = 4
MAX_OBSERVATIONS = 10


def answers(
    client: CertynClient, conversation_id: str, until: Deadline, hard_deadline: Deadline, clock: Clock
) -> Iterator[Conversation]:
    """Each read of the conversation until it is final or ``until`` passes (then one last read): every 5 s or
    the server's hint (1 to 30 s). A read may take ``READ_SECONDS`` past ``until``, never past ``hard_deadline``."""
    first = True
    while True:
        read_by = hard_deadline.capped(max(until.left(), READ_SECONDS))
        if not first and read_by.left() < MIN_POLL_SECONDS:
            return  # the step's own deadline: the last read stands ("processing")
        first = False
        conversation = client.conversation(conversation_id, read_by)
        yield conversation
        left = until.left()
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

    def run(self, status: RunStatus, hard_deadline: Deadline) -> Findings:
        """What Certyn found, read within the budgets; never raises but for a bug in the report."""
        ended, self.hard_deadline = self.clock.monotonic(), hard_deadline

        def budget(seconds: float) -> Deadline:  # counted from the run's end, never past the step's deadline
            return hard_deadline.earlier(Deadline.after(self.clock, seconds, since=ended))

        try:
            with self.guard.interruptible():
                if self.inputs.test_results:
                    self._results(status, budget(RESULTS_SECONDS))
                self.findings.asked = bool(self.inputs.instruction)
                if self.findings.asked:
                    self._answer(budget(self.inputs.conversation_timeout_seconds), hard_deadline)
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

    def _results(self, status: RunStatus, deadline: Deadline) -> None:
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
            self.client, self.log, self.inputs, self.step.report.run_id, diagnosed,
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

    def _answer(self, until: Deadline, hard_deadline: Deadline) -> None:
        conversation_id = self.step.report.conversation_id
        if not conversation_id:
            self._answer_missing(words.NO_CONVERSATION_ID)
            return
        left = max(until.left(), 0)
        self.log.info(words.WAITING_FOR_ANSWER.format(left=left))
        try:
            for conversation in answers(self.client, conversation_id, until, hard_deadline, self.clock):
                self.findings.conversation = conversation
        except Exception as err:  # an API error, or a bug (see _why)
            self._answer_missing(_why(err))

    def _answer_missing(self, reason: str) -> None:
        self.findings.conversation, self.findings.conversation_note = None, reason
        self.log.warning(words.ANSWER_NOT_READ.format(reason=reason), title=words.ANSWER_TITLE)


# -- the diagnosis: why each failing test failed, read for diagnosis.py to classify (best effort; MAX_PARALLEL
# reads at once within DIAGNOSIS_SECONDS; what fails or is late is one warning; a signal stops it at once)


class Log(Protocol):
    def info(self, line: str) -> None: ...
    def warning(self, message: str, title: str = "") -> None: ...


class NoSession(Exception):
    """A failing test whose row and execution name no agent session."""


class _Reads:
    """What the workers read, and the failures by the job's place (so the first one said is always the same)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.events: dict[int, list[tuple[str, Mapping[str, Any]]]] = {}
        self.artifacts: dict[int, Sequence[Artifact]] = {}
        self.flaky: dict[str, Flakiness] = {}
        self.observations: tuple[str, ...] = ()
        self.failures: dict[int, str] = {}

    def failed(self, place: int, what: str, err: Exception) -> None:
        message = err.message if isinstance(err, ApiError) else str(err)
        if not isinstance(err, ApiError | NoSession):
            message = words.internal_error(err)
        with self.lock:
            self.failures[place] = f"{what}: {one_line(message, 300)}"


def _run(jobs: Sequence[tuple[str, Callable[[], None]]], reads: _Reads, until: Deadline) -> int:
    """Run ``jobs`` on at most ``MAX_PARALLEL`` daemon threads until all are done or ``until``; the number left
    unfinished. Waits in slices on this thread, where a signal may raise; then nothing new starts."""
    queue = list(reversed(list(enumerate(jobs))))
    left = [len(jobs)]
    # a bare lock, released when the last read is over: one call into C, which a signal's exception leaves whole
    done = threading.Lock()
    done.acquire()

    def worker() -> None:
        while not reads.stop.is_set():
            with reads.lock:
                if not queue:
                    return
                place, (what, job) = queue.pop()
            try:
                job()
            except Exception as err:  # each read's failure is reported, never raised
                reads.failed(place, what, err)
            with reads.lock:
                left[0] -= 1
                if left[0] == 0:
                    done.release()

    # threading's code under its locks, out of a signal's reach; no worker ever takes one
    with signals_held():
        for _ in range(min(MAX_PARALLEL, len(jobs))):
            threading.Thread(target=worker, name="diagnosis", daemon=True).start()
    try:
        while not until.passed() and not done.acquire(timeout=min(0.05, max(until.left(), 0))):
            pass
    finally:
        reads.stop.set()
    with reads.lock:
        return left[0]


def diagnose(client: CertynClient, run_id: str, items: Sequence[RunItem], until: Deadline) -> Diagnosis:
    """Read and classify the failing tests of ``items`` by ``until``; no request when none is failing."""
    from .diagnosis import Diagnosis, chosen, diagnose_test, flaky_mark  # noqa: PLC0415 - failing runs only

    tests = chosen(items)
    if not tests:
        return Diagnosis()
    reads = _Reads()
    try:
        project = client.project_id(until)
    except Exception as err:  # best effort
        reads.failed(0, words.READ_PROJECT, err)
        return Diagnosis(problem=reads.failures[0])

    def events(index: int, item: RunItem) -> None:
        session = item.agent_session_id
        if not session and item.execution_id:
            session = client.execution(project, item.execution_id, until).agent_session_id
        if not session:
            raise NoSession(words.NO_SESSION)
        seen: list[tuple[str, Mapping[str, Any]]] = []
        page, more = 1, True
        while more and len(seen) < MAX_EVENTS and not reads.stop.is_set():
            answer = client.session_events(project, session, page, until)
            seen += [(event.type, event.payload) for event in answer.items][: MAX_EVENTS - len(seen)]
            page, more = page + 1, answer.has_next_page and bool(answer.items)
            with reads.lock:
                if not reads.stop.is_set():
                    reads.events[index] = list(seen)

    def artifacts(index: int, item: RunItem) -> None:
        found = client.artifacts(project, item.execution_id, until).items
        with reads.lock:
            reads.artifacts[index] = found

    def flaky() -> None:
        found = client.flaky_test_cases(project, until).items
        with reads.lock:
            reads.flaky = {mark.test_case_id: mark for mark in found if mark.test_case_id}

    def observations() -> None:
        found = client.observations(project, run_id, until).items
        titles = tuple(one_line(note.title, 300) for note in found if note.title.strip())
        with reads.lock:
            reads.observations = titles[:MAX_OBSERVATIONS]

    jobs: list[tuple[str, Callable[[], None]]] = []
    for index, item in enumerate(tests):
        name = one_line(item.display_name, 100)
        jobs.append((words.READ_EVENTS.format(name=name), partial(events, index, item)))
        if item.execution_id:
            jobs.append((words.READ_ARTIFACTS.format(name=name), partial(artifacts, index, item)))
    jobs += [(words.READ_FLAKY, flaky), (words.READ_OBSERVATIONS, observations)]
    unfinished = _run(jobs, reads, until)
    diagnosed = partial(diagnose_test, describe=words.describe)  # the reason in words
    with reads.lock:
        found = tuple(
            diagnosed(
                item, reads.events[index], reads.artifacts.get(index, ()), reads.flaky.get(item.test_case_id)
            )
            for index, item in enumerate(tests)
            if index in reads.events
        )
        failures = [reads.failures[place] for place in sorted(reads.failures)]
        problem = words.diagnosis_problem(failures, unfinished, len(jobs))
        marks = {case: flaky_mark(flaky) for case, flaky in reads.flaky.items()}
        return Diagnosis(found, reads.observations, problem, marks)


def report_diagnosis(
    client: CertynClient,
    log: Log,
    settings: Settings,
    run_id: str,
    items: Sequence[RunItem],
    counted_failing: int,
    hard_deadline: Deadline,
) -> Diagnosis | None:
    """None with ``diagnose: false``; empty, with no request, when the run's counts have no failing test (whatever
    its rows say); what could not be read is one warning; a signal is the caller's."""
    from .diagnosis import Diagnosis  # noqa: PLC0415 - failing runs only

    if not settings.diagnose:
        return None
    if not counted_failing:
        return Diagnosis()
    found = diagnose(client, run_id, items, hard_deadline.capped(DIAGNOSIS_SECONDS))
    if found.problem:
        log.warning(words.diagnosis_incomplete(found.problem), title=words.DIAGNOSIS_INCOMPLETE)
    for line in words.diagnosis_lines(found):
        log.info(line)
    return found
