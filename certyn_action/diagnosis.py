"""Reading why each failing test failed (its session's events, its artifacts, flaky marks, the run's observations)
for ``core/diagnosis.py`` to classify. Best effort, ``MAX_PARALLEL`` reads at once within ``BUDGET_SECONDS``: what
fails or is late is one warning, what was read is used. A signal stops it at once: what is on the wire is abandoned.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from .api.http import signals_held
from .clock import Deadline
from .core.diagnosis import Diagnosis, chosen, diagnose_test, flaky_mark
from .render import words
from .render.escape import one_line

if TYPE_CHECKING:
    from .api.client import CertynClient
    from .api.models import Artifact, Flakiness, RunItem
    from .settings import Settings

BUDGET_SECONDS = 30.0
MAX_EVENTS = 1_000
MAX_PARALLEL = 4
MAX_OBSERVATIONS = 10


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
        from .api.client import ApiError  # noqa: PLC0415

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
    if not settings.diagnose:
        return None
    if not counted_failing:
        return Diagnosis()
    found = diagnose(client, run_id, items, hard_deadline.capped(BUDGET_SECONDS))
    if found.problem:
        log.warning(words.diagnosis_incomplete(found.problem), title=words.DIAGNOSIS_INCOMPLETE)
    for line in words.diagnosis_lines(found):
        log.info(line)
    return found
