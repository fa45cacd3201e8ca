"""lifecycle.py and core/endings.py: what each ending releases, in which order, within which budget."""

from __future__ import annotations

import io
import signal

import pytest
import responses

from certyn_action.api import client as api_client
from certyn_action.api.client import CertynClient
from certyn_action.api.http import Transport
from certyn_action.core.endings import ENVIRONMENT, RUN, Ending, Rule, decide
from certyn_action.github.reporter import Reporter
from certyn_action.github.signals import SignalGuard
from certyn_action.github.workflow import WorkflowLog
from certyn_action.lifecycle import RELEASE_BUDGET_SECONDS, Lifecycle
from certyn_action.render import words
from certyn_action.resources import CertynRun
from tests.fakes import FakeClock

Journal = list[tuple[str, str, float]]
ON = {"cancel-on-timeout": True, "cancel-on-job-cancel": True}


class Held:
    def __init__(self, name: str, journal: list[tuple[str, str, float]]) -> None:
        self.name, self.journal = name, journal

    def release(self, cause: str, deadline: float) -> None:
        self.journal.append((self.name, cause, deadline))

    def keep(self, rule: Rule) -> None:
        self.journal.append((self.name, f"kept by {rule.switch}", 0.0))


@pytest.mark.parametrize(
    ("ending", "switch"),
    [
        (Ending.TIMED_OUT, "cancel-on-timeout"),
        (Ending.API_ERROR, "cancel-on-timeout"),
        (Ending.INTERNAL_ERROR, "cancel-on-timeout"),
        (Ending.JOB_CANCELLED, "cancel-on-job-cancel"),
    ],
)
def test_endings_that_stop_watching_cancel_the_run_under_their_switch(ending: Ending, switch: str) -> None:
    assert decide(ending, RUN, ON).release
    off = decide(ending, RUN, {**ON, switch: False})
    assert not off.release
    assert off.rule is not None
    assert off.rule.switch == switch


@pytest.mark.parametrize(
    "ending", [Ending.PASSED, Ending.FAILED, Ending.CREATED, Ending.KEY_REJECTED, Ending.INPUT_ERROR]
)
def test_a_finished_run_and_a_rejected_key_leave_the_run_alone(ending: Ending) -> None:
    decision = decide(ending, RUN, ON)
    assert not decision.release
    assert decision.rule is None  # no switch involved: nothing to say in the summary


def test_every_ending_is_decided_for_the_run() -> None:
    for ending in Ending:
        decide(ending, RUN, ON)  # never a KeyError: the table covers every ending


KEEP_OFF = {**ON, "keep-environment": False}


@pytest.mark.parametrize("ending", [e for e in Ending if e is not Ending.INPUT_ERROR])
def test_every_ending_deletes_the_environment_unless_keep_environment(ending: Ending) -> None:
    assert decide(ending, ENVIRONMENT, KEEP_OFF).release
    kept = decide(ending, ENVIRONMENT, {**KEEP_OFF, "keep-environment": True})
    assert not kept.release
    assert kept.rule is not None
    assert kept.rule.switch == "keep-environment"


def test_the_cancel_switches_do_not_keep_the_environment() -> None:
    off = {"cancel-on-timeout": False, "cancel-on-job-cancel": False, "keep-environment": False}
    assert decide(Ending.JOB_CANCELLED, ENVIRONMENT, off).release
    assert decide(Ending.TIMED_OUT, ENVIRONMENT, off).release


def test_the_run_is_cancelled_before_its_environment_is_deleted() -> None:
    clock, journal = FakeClock(), Journal()
    lifecycle = Lifecycle(clock, SignalGuard(now=clock.monotonic))
    lifecycle.hold(Held(ENVIRONMENT, journal))  # acquired first: the run is created in it
    lifecycle.hold(Held(RUN, journal))
    lifecycle.end(Ending.JOB_CANCELLED, KEEP_OFF)
    assert [entry[0] for entry in journal] == [RUN, ENVIRONMENT]
    assert (
        journal[-1][2] == clock.now + RELEASE_BUDGET_SECONDS
    )  # one budget for both, the last gets what is left


def test_resources_are_released_last_acquired_first_within_one_budget() -> None:
    clock, journal = FakeClock(), Journal()
    lifecycle = Lifecycle(clock, SignalGuard(now=clock.monotonic))
    lifecycle.hold(Held(RUN, journal))
    lifecycle.hold(Held(RUN, journal))
    lifecycle.hold(Held("other", journal))  # a resource no ending names is left alone
    lifecycle.end(Ending.TIMED_OUT, ON)
    assert [entry[0] for entry in journal] == [RUN, RUN]
    assert [entry[2] for entry in journal] == [
        clock.now + RELEASE_BUDGET_SECONDS / 2,
        clock.now + RELEASE_BUDGET_SECONDS,
    ]
    assert lifecycle.holding == ()


def test_the_budget_counts_from_the_first_signal_on_the_steps_clock() -> None:
    clock, journal = FakeClock(), Journal()
    guard = SignalGuard(now=clock.monotonic)
    guard.install()
    try:
        signal.raise_signal(signal.SIGTERM)  # recorded (not inside an interruptible block)
        signalled = clock.now
        clock.advance(3.0)  # e.g. the create in flight took this long to give up
        signal.raise_signal(signal.SIGINT)  # a second signal does not restart the budget
    finally:
        guard.uninstall()
    lifecycle = Lifecycle(clock, guard)
    lifecycle.hold(Held(RUN, journal))
    lifecycle.end(Ending.JOB_CANCELLED, ON)
    assert journal == [(RUN, "the GitHub workflow job was cancelled", signalled + RELEASE_BUDGET_SECONDS)]


def test_a_switch_that_keeps_the_run_is_reported() -> None:
    clock, journal = FakeClock(), Journal()
    lifecycle = Lifecycle(clock, SignalGuard(now=clock.monotonic))
    lifecycle.hold(Held(RUN, journal))
    lifecycle.end(Ending.JOB_CANCELLED, {**ON, "cancel-on-job-cancel": False})
    assert journal == [(RUN, "kept by cancel-on-job-cancel", 0.0)]


def test_a_signal_stamped_on_another_clock_counts_from_now_on_the_steps_clock() -> None:
    clock = FakeClock()
    guard = SignalGuard(now=lambda: 5.0)
    guard.install()
    try:
        signal.raise_signal(signal.SIGTERM)
    finally:
        guard.uninstall()
    guard.use_clock(clock.monotonic)
    assert guard.received_at == clock.now


class _Interrupted(BaseException):
    pass


@responses.activate
def test_a_run_kept_after_a_signal_during_the_creates_validation_is_still_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    responses.post("https://api.certyn.test/api/ci/runs", json={"runId": "r-1"}, status=201)
    clock = FakeClock()
    client = CertynClient(
        Transport("https://api.certyn.test", "k", env={}),
        clock,
        request_timeout=5,
        max_attempts=1,
        project_slug="p",
    )

    def interrupted() -> None:
        raise _Interrupted  # the job's cancellation, while pydantic was still loading

    monkeypatch.setattr(api_client, "load_models", interrupted)
    reporter = Reporter({}, WorkflowLog(io.StringIO()))
    lifecycle = Lifecycle(clock, SignalGuard(now=clock.monotonic))
    lifecycle.hold(CertynRun(client, reporter, clock))
    with pytest.raises(_Interrupted):
        client.create({"projectSlug": "p"}, "k", deadline=clock.now + 60)
    monkeypatch.undo()
    lifecycle.end(Ending.JOB_CANCELLED, {**ON, "cancel-on-job-cancel": False})
    assert reporter.report.run_id == "r-1"  # outputs and summary name the run left running
    assert reporter.report.notes == [words.left_running("cancel-on-job-cancel")]
    assert len(responses.calls) == 1  # nothing sent to learn it, nothing to cancel it


class Slow(Held):
    """A release that spends its whole deadline (a cancel that hangs), then fails as told."""

    def __init__(
        self, name: str, journal: Journal, clock: FakeClock, error: BaseException | None = None
    ) -> None:
        super().__init__(name, journal)
        self.clock, self.error = clock, error

    def release(self, cause: str, deadline: float) -> None:
        super().release(cause, deadline)
        self.clock.now = max(self.clock.now, deadline)
        if self.error is not None:
            raise self.error


def test_a_hanging_cancel_leaves_the_environment_delete_its_share_of_the_budget() -> None:
    clock, journal = FakeClock(), Journal()
    start = clock.now
    lifecycle = Lifecycle(clock, SignalGuard(now=clock.monotonic))
    lifecycle.hold(Held(ENVIRONMENT, journal))
    lifecycle.hold(Slow(RUN, journal, clock))
    lifecycle.end(Ending.JOB_CANCELLED, KEEP_OFF)
    [(_, _, cancel_by), (_, _, delete_by)] = journal
    assert cancel_by == start + RELEASE_BUDGET_SECONDS / 2  # its share: time left / releases left
    assert delete_by == start + RELEASE_BUDGET_SECONDS  # the delete still has the other half


def test_time_a_release_does_not_use_passes_on_to_the_next() -> None:
    clock, journal = FakeClock(), Journal()
    start = clock.now
    lifecycle = Lifecycle(clock, SignalGuard(now=clock.monotonic))
    lifecycle.hold(Held(ENVIRONMENT, journal))
    lifecycle.hold(Held(RUN, journal))  # answers at once
    lifecycle.end(Ending.JOB_CANCELLED, KEEP_OFF)
    assert [entry[2] for entry in journal] == [
        start + RELEASE_BUDGET_SECONDS / 2,
        start + RELEASE_BUDGET_SECONDS,
    ]


@pytest.mark.parametrize("error", [RuntimeError("a bug in the cancel"), KeyboardInterrupt()])
def test_the_environment_is_deleted_whatever_releasing_the_run_raised(error: BaseException) -> None:
    clock, journal = FakeClock(), Journal()
    lifecycle = Lifecycle(clock, SignalGuard(now=clock.monotonic))
    lifecycle.hold(Held(ENVIRONMENT, journal))
    lifecycle.hold(Slow(RUN, journal, clock, error))
    with pytest.raises(type(error)):
        lifecycle.end(Ending.INTERNAL_ERROR, KEEP_OFF)
    assert [entry[0] for entry in journal] == [RUN, ENVIRONMENT]
    assert lifecycle.holding == ()
