"""resources.py: what each ending releases, in which order, within which budget; how the temporary environment
of base-url is released or kept, with the environment endpoints faked (their HTTP is tested in
unit/api/test_environments.py)."""

from __future__ import annotations

import io
import signal
from types import SimpleNamespace
from typing import Any

import pytest
import responses

from certyn_action.api import client as api_client
from certyn_action.api.client import NO_ANSWER, ApiError, Ask, AuthError, CertynClient, Creating
from certyn_action.api.http import Call, Request, Transport, TransportError
from certyn_action.api.models import Environment, RunStatus
from certyn_action.clock import Deadline
from certyn_action.gate import Cause, Result, Verdict
from certyn_action.render import words
from certyn_action.resources import (
    RELEASE_BUDGET_SECONDS,
    CertynRun,
    Decision,
    Held,
    TemporaryEnvironment,
)
from certyn_action.runner.signals import SignalGuard
from certyn_action.runner.workflow import WorkflowLog
from certyn_action.step import Step
from tests.fakes import FakeClock, FakeTransport, far, reply

Journal = list[tuple[str, str, float]]


def journal(out: io.StringIO) -> Step:
    """The step the resources tell what they learn (the run, a status, a note)."""
    return Step({}, WorkflowLog(out), FakeClock(), SignalGuard(), None)  # type: ignore[arg-type]


RUN, ENV = "run", "environment"

BODY = {"key": "gha-shop-1-1-test-0-abc", "label": "GitHub Actions", "baseUrl": "https://pr-1.example.com"}
MADE = Environment(id="e-1", key=BODY["key"])


class Fake:
    """A resource that records what the stack asked of it; ``keeps`` under ``switch``, or is left alone."""

    def __init__(self, name: str, journal: Journal, *, switch: str = "", keeps: bool = False) -> None:
        self.name, self.journal, self.switch, self.keeps = name, journal, switch, keeps

    def decide(self, verdict: Verdict) -> Decision | None:
        if self.name == "other":
            return None  # this ending leaves it alone
        return Decision(not self.keeps, self.switch or f"{self.name}-switch", f"{verdict.result} {self.name}")

    def release(self, cause: str, deadline: Deadline) -> None:
        self.journal.append((self.name, cause, deadline.at))

    def keep(self, switch: str) -> None:
        self.journal.append((self.name, f"kept by {switch}", 0.0))


ON = SimpleNamespace(cancel_on_timeout=True, cancel_on_job_cancel=True, cancel_reason="")
TIMED_OUT, CANCELLED = Verdict(Result.TIMED_OUT), Verdict(Result.CANCELLED)
API_ERROR = Verdict(Result.ERROR, ("HTTP 400",), cause=Cause.API_ERROR)
BUG = Verdict(Result.ERROR, ("internal error: KeyError",), cause=Cause.INTERNAL_ERROR)
PASSED, FAILED, CREATED = (
    Verdict(Result.PASSED),
    Verdict(Result.FAILED, ("1 test failed",)),
    Verdict(Result.CREATED),
)
KEY_REJECTED = Verdict(Result.ERROR, ("HTTP 401",), cause=Cause.KEY_REJECTED)
RUN_NOT_FOUND = Verdict(Result.ERROR, ("HTTP 404",), cause=Cause.RUN_NOT_FOUND)
EVERY_ENDING = [TIMED_OUT, CANCELLED, API_ERROR, BUG, PASSED, FAILED, CREATED, KEY_REJECTED, RUN_NOT_FOUND]


def run_of(switches: object = ON, *, seen: bool = True) -> CertynRun:
    reporter = journal(io.StringIO())
    if seen:
        reporter.report.attached_run_id = "r-1"
        reporter.report.status = RunStatus.model_validate({"runId": "r-1", "state": "running"})
    return CertynRun(None, reporter, FakeClock(), switches)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("verdict", "switch", "cause"),
    [
        (TIMED_OUT, "cancel_on_timeout", words.CANCEL_TIMED_OUT),
        (API_ERROR, "cancel_on_timeout", words.CANCEL_API_ERROR),
        (RUN_NOT_FOUND, "cancel_on_timeout", words.CANCEL_API_ERROR),  # a run seen, then a 404
        (BUG, "cancel_on_timeout", words.CANCEL_BUG),
        (CANCELLED, "cancel_on_job_cancel", words.CANCEL_JOB),
    ],
)
def test_endings_that_stop_watching_cancel_the_run_under_their_switch(
    verdict: Verdict, switch: str, cause: str
) -> None:
    assert run_of().decide(verdict) == (True, switch.replace("_", "-"), cause)
    off = run_of(SimpleNamespace(**{**vars(ON), switch: False})).decide(verdict)
    assert off == (False, switch.replace("_", "-"), cause)


@pytest.mark.parametrize("verdict", [PASSED, FAILED, CREATED, KEY_REJECTED])
def test_a_finished_run_and_a_rejected_key_leave_the_run_alone(verdict: Verdict) -> None:
    assert run_of().decide(verdict) is None  # no switch involved: nothing to say in the summary


def test_an_attached_run_that_was_never_seen_is_not_cancelled_on_its_404() -> None:
    assert run_of(seen=False).decide(RUN_NOT_FOUND) is None


@pytest.mark.parametrize("verdict", EVERY_ENDING)
def test_every_ending_deletes_the_environment_unless_keep_environment(verdict: Verdict) -> None:
    released = TemporaryEnvironment(None, None, BODY).decide(verdict)  # type: ignore[arg-type]
    assert released.release
    assert released.cause == f"the step ended ({words.step_ended(verdict)})"
    kept = TemporaryEnvironment(None, None, BODY, keep=True).decide(verdict)  # type: ignore[arg-type]
    assert kept == (False, "keep-environment", released.cause)


def test_the_ending_is_named_in_the_environments_cause() -> None:
    assert [words.step_ended(v) for v in EVERY_ENDING] == [
        "timed out",
        "job cancelled",
        "API error",
        "internal error",
        "passed",
        "failed",
        "created",
        "key rejected",
        "API error",
    ]
    outage = Verdict(Result.TIMED_OUT, ("unreachable",), cause=Cause.OUTAGE)
    assert words.step_ended(outage) == "timed out"


def test_the_run_is_cancelled_before_its_environment_is_deleted() -> None:
    clock, journal = FakeClock(), Journal()
    held = Held(clock, SignalGuard(now=clock.monotonic))
    held.hold(Fake(ENV, journal))  # acquired first: the run is created in it
    held.hold(Fake(RUN, journal))
    held.release(CANCELLED)
    assert [entry[0] for entry in journal] == [RUN, ENV]
    assert (
        journal[-1][2] == clock.now + RELEASE_BUDGET_SECONDS
    )  # one budget for both, the last gets what is left


def test_resources_are_released_last_acquired_first_within_one_budget() -> None:
    clock, journal = FakeClock(), Journal()
    held = Held(clock, SignalGuard(now=clock.monotonic))
    held.hold(Fake(RUN, journal))
    held.hold(Fake(RUN, journal))
    held.hold(Fake("other", journal))  # a resource no ending names is left alone
    held.release(TIMED_OUT)
    assert [entry[0] for entry in journal] == [RUN, RUN]
    assert [entry[2] for entry in journal] == [
        clock.now + RELEASE_BUDGET_SECONDS / 2,
        clock.now + RELEASE_BUDGET_SECONDS,
    ]
    assert held.resources == []


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
    held = Held(clock, guard)
    held.hold(Fake(RUN, journal))
    held.release(CANCELLED)
    assert journal == [(RUN, "cancelled run", signalled + RELEASE_BUDGET_SECONDS)]


def test_a_switch_that_keeps_the_run_is_reported() -> None:
    clock, journal = FakeClock(), Journal()
    held = Held(clock, SignalGuard(now=clock.monotonic))
    held.hold(Fake(RUN, journal, switch="cancel-on-job-cancel", keeps=True))
    held.release(CANCELLED)
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
        request_timeout_seconds=5,
        max_attempts=1,
        project_slug="p",
    )

    def interrupted() -> None:
        raise _Interrupted  # the job's cancellation, while pydantic was still loading

    monkeypatch.setattr(api_client, "load_models", interrupted)
    reporter = journal(io.StringIO())
    held = Held(clock, SignalGuard(now=clock.monotonic))
    kept = SimpleNamespace(**{**vars(ON), "cancel_on_job_cancel": False})
    held.hold(CertynRun(client, reporter, clock, kept))  # type: ignore[arg-type]
    with pytest.raises(_Interrupted):
        client.create({"projectSlug": "p"}, "k", deadline=clock.after(60))
    monkeypatch.undo()
    held.release(CANCELLED)
    assert reporter.report.run_id == "r-1"  # outputs and summary name the run left running
    assert reporter.report.notes == [words.LEFT_RUNNING.format(switch="cancel-on-job-cancel")]
    assert len(responses.calls) == 1  # nothing sent to learn it, nothing to cancel it


class Slow(Fake):
    """A release that spends its whole deadline (a cancel that hangs), then fails as told."""

    def __init__(
        self, name: str, journal: Journal, clock: FakeClock, error: BaseException | None = None
    ) -> None:
        super().__init__(name, journal)
        self.clock, self.error = clock, error

    def release(self, cause: str, deadline: Deadline) -> None:
        super().release(cause, deadline)
        self.clock.now = max(self.clock.now, deadline.at)
        if self.error is not None:
            raise self.error


def test_a_hanging_cancel_leaves_the_environment_delete_its_share_of_the_budget() -> None:
    clock, journal = FakeClock(), Journal()
    start = clock.now
    held = Held(clock, SignalGuard(now=clock.monotonic))
    held.hold(Fake(ENV, journal))
    held.hold(Slow(RUN, journal, clock))
    held.release(CANCELLED)
    [(_, _, cancel_by), (_, _, delete_by)] = journal
    assert cancel_by == start + RELEASE_BUDGET_SECONDS / 2  # its share: time left / releases left
    assert delete_by == start + RELEASE_BUDGET_SECONDS  # the delete still has the other half


def test_time_a_release_does_not_use_passes_on_to_the_next() -> None:
    clock, journal = FakeClock(), Journal()
    start = clock.now
    held = Held(clock, SignalGuard(now=clock.monotonic))
    held.hold(Fake(ENV, journal))
    held.hold(Fake(RUN, journal))  # answers at once
    held.release(CANCELLED)
    assert [entry[2] for entry in journal] == [
        start + RELEASE_BUDGET_SECONDS / 2,
        start + RELEASE_BUDGET_SECONDS,
    ]


@pytest.mark.parametrize("error", [RuntimeError("a bug in the cancel"), KeyboardInterrupt()])
def test_the_environment_is_deleted_whatever_releasing_the_run_raised(error: BaseException) -> None:
    clock, journal = FakeClock(), Journal()
    held = Held(clock, SignalGuard(now=clock.monotonic))
    held.hold(Fake(ENV, journal))
    held.hold(Slow(RUN, journal, clock, error))
    with pytest.raises(type(error)):
        held.release(BUG)
    assert [entry[0] for entry in journal] == [RUN, ENV]
    assert held.resources == []


class _BeforeSending(BaseException):
    """A signal while the project overview was read: no create went out."""


class FakeApi:
    def __init__(
        self, *, create: Any = MADE, listed: Environment | None = None, delete: Any = "deleted"
    ) -> None:
        self.created, self.listed, self.deleted_outcome = create, listed, delete
        self.calls: list[tuple[str, str]] = []
        self.creating = Creating(Ask(Request("POST", "/api/projects/p/environments"), "creating"))
        self.key, self.taken_key = BODY["key"], ""  # as EnvironmentsApi: the key in use, one taken
        self.create_sent = False

    def create(self, body: dict[str, str], deadline: Deadline) -> Environment:
        self.calls.append(("create", body["key"]))
        if isinstance(self.created, _BeforeSending):
            raise self.created
        self.create_sent = True
        if isinstance(self.created, BaseException):
            raise self.created
        return self.created  # type: ignore[no-any-return]

    def answered(self, deadline: Deadline) -> Environment | None:
        return None  # no answer a signal cut short (see the test with EnvironmentsApi)

    def find(self, key: str, deadline: Deadline) -> Environment | None:
        self.calls.append(("find", key))
        return self.listed

    def delete(self, environment_id: str, deadline: Deadline) -> str:
        self.calls.append(("delete", environment_id))
        if isinstance(self.deleted_outcome, BaseException):
            raise self.deleted_outcome
        return str(self.deleted_outcome)


def held(api: FakeApi) -> tuple[TemporaryEnvironment, Step, io.StringIO]:
    out = io.StringIO()
    reporter = journal(out)
    environment = TemporaryEnvironment(None, reporter, BODY)  # type: ignore[arg-type]
    environment.api = api  # type: ignore[assignment]
    return environment, reporter, out


def test_a_created_environment_is_deleted_by_its_id_and_noted() -> None:
    api = FakeApi()
    environment, reporter, _ = held(api)
    environment.create(deadline=far())
    environment.release("the step ended (passed)", deadline=far())
    assert api.calls == [("create", BODY["key"]), ("delete", "e-1")]
    assert any("deleted" in note for note in reporter.report.notes)


def test_an_interrupted_create_is_found_by_key_and_deleted() -> None:
    api = FakeApi(create=KeyboardInterrupt(), listed=MADE)  # e.g. a signal while the create was on the wire
    environment, _, _ = held(api)
    with pytest.raises(KeyboardInterrupt):
        environment.create(deadline=far())
    environment.release("the step ended (job cancelled)", deadline=far())
    assert api.calls[1:] == [("find", BODY["key"]), ("delete", "e-1")]


def test_a_create_the_server_refused_made_nothing_to_delete() -> None:
    api = FakeApi(create=AuthError("lacks environment rights", status=403))
    environment, _, _ = held(api)
    with pytest.raises(AuthError):
        environment.create(deadline=far())
    environment.release("the step ended (key rejected)", deadline=far())
    assert api.calls == [("create", BODY["key"])]


def test_a_refusal_after_an_attempt_that_got_no_answer_is_looked_for_and_deleted() -> None:
    api = FakeApi(create=AuthError("lacks environment rights", status=403), listed=MADE)
    api.creating.may_have_made = True  # the first attempt went out and its answer was lost
    environment, reporter, _ = held(api)
    with pytest.raises(AuthError):
        environment.create(deadline=far())
    environment.release("the step ended (key rejected)", deadline=far())
    assert api.calls[1:] == [("find", BODY["key"]), ("delete", "e-1")]
    assert any("deleted" in note for note in reporter.report.notes)


def test_a_create_that_got_no_answer_may_have_made_one_so_it_is_looked_for() -> None:
    api = FakeApi(create=ApiError("no answer", kind=NO_ANSWER), listed=None)
    environment, _, _ = held(api)
    with pytest.raises(ApiError):
        environment.create(deadline=far())
    environment.release("the step ended (API error)", deadline=far())
    assert api.calls == [("create", BODY["key"]), ("find", BODY["key"])]


def test_a_failed_delete_is_a_warning_naming_the_environment() -> None:
    api = FakeApi(delete=ApiError("HTTP 500 while deleting", status=500))
    environment, reporter, out = held(api)
    environment.create(deadline=far())
    environment.release("the step ended (passed)", deadline=far())
    warnings = [line for line in out.getvalue().splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1
    assert BODY["key"] in warnings[0]
    assert "Certyn environment not deleted" in warnings[0]
    assert reporter.report.verdict.result.value == "error"  # untouched: still the report's default


def test_keeping_says_so_only_when_it_exists() -> None:
    environment, reporter, _ = held(FakeApi())
    environment.keep("keep-environment")
    assert reporter.report.notes == []
    environment.create(deadline=far())
    environment.keep("keep-environment")
    assert any("kept (keep-environment is true)" in note for note in reporter.report.notes)


def test_a_signal_before_any_create_was_sent_says_nothing_may_exist_and_reads_nothing() -> None:
    api = FakeApi(create=_BeforeSending())
    environment, reporter, out = held(api)
    with pytest.raises(_BeforeSending):
        environment.create(deadline=far())
    environment.release("the GitHub workflow job was cancelled", deadline=far())
    assert api.calls == [("create", BODY["key"])]  # no look-up: the overview is not read again
    assert reporter.report.notes == []
    assert "may exist" not in out.getvalue()


def test_a_lost_create_is_replayed_and_its_run_cancelled_when_the_environment_shares_the_budget() -> None:
    # base-url: the environment's delete has half the budget. The signal came a moment before the release (the
    # step ended the create's wait first): the run's half must still reach the replay and the cancel.
    clock = FakeClock()
    transport = FakeTransport(
        TransportError("POST /api/ci/runs: connection reset"),  # the create, cut off
        reply(200, {"runId": "r-9"}, {"Idempotency-Replayed": "true"}),  # its replay
        reply(202, {}),  # the cancel
    )
    client = CertynClient(transport, clock, request_timeout_seconds=5, max_attempts=1, project_slug="p")
    guard = SignalGuard(now=clock.monotonic)
    guard.install()
    try:
        signal.raise_signal(signal.SIGINT)  # recorded (not inside an interruptible block)
    finally:
        guard.uninstall()
    signalled = clock.now
    with pytest.raises(ApiError):
        client.create({"projectSlug": "p"}, "k-7", deadline=clock.after(60))
    clock.advance(0.05)  # from the signal to the release
    reporter, journal_ = journal(io.StringIO()), Journal()
    switches = SimpleNamespace(**{**vars(ON), "cancel_reason": "cancelled", "idempotency_key": "k-7"})
    held = Held(clock, guard)
    held.hold(Fake(ENV, journal_))  # acquired first: the run is created in it
    held.hold(CertynRun(client, reporter, clock, switches))  # type: ignore[arg-type]
    held.release(CANCELLED)
    assert [request.method for request in transport.sent] == ["POST", "POST", "POST"], reporter.report.notes
    assert transport.sent[2].path == "/api/ci/runs/r-9/cancel"
    assert reporter.report.run_id == "r-9"
    assert journal_ == [(ENV, "cancelled environment", signalled + RELEASE_BUDGET_SECONDS)]


def _an_environment_made_on_create() -> tuple[FakeClock, CertynClient, Any, TemporaryEnvironment]:
    """A server that makes the environment (id e-1) as it answers its create, and deletes it."""
    base = "https://api.certyn.test"
    environments = f"{base}/api/projects/p-1/environments"
    responses.get(f"{base}/api/projects/overview", json={"projects": [{"id": "p-1", "slug": "my-app"}]})
    responses.post(environments, status=201, json={"id": "e-1", "key": BODY["key"]})
    responses.delete(f"{environments}/e-1", status=204)
    clock = FakeClock()
    client = CertynClient(
        Transport(base, "k", env={}), clock, request_timeout_seconds=5, max_attempts=1, project_slug="my-app"
    )
    reporter = journal(io.StringIO())
    return clock, client, reporter, TemporaryEnvironment(client, reporter, BODY)


@responses.activate
def test_an_environment_whose_created_answer_a_signal_cut_short_is_deleted_by_that_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The create was answered, the signal's exception landed while the answer was read: the id is in that
    # answer. Looking the key up instead is one more request that may fail (then the environment was left).
    clock, _, reporter, environment = _an_environment_made_on_create()
    read_model = api_client.read_model

    def interrupted(reply: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
        if model is Environment:
            raise _Interrupted  # the job's cancellation, as the create's answer is read
        return read_model(reply, model, *args, **kwargs)

    monkeypatch.setattr(api_client, "read_model", interrupted)
    with pytest.raises(_Interrupted):
        environment.create(clock.after(60))
    monkeypatch.undo()
    environment.release("the step ended (job cancelled)", clock.after(2.5))
    assert [call.request.method for call in responses.calls] == ["GET", "POST", "DELETE"]
    assert reporter.report.notes == [words.environment_deleted(BODY["key"], "deleted")]


@responses.activate
def test_an_environment_whose_create_was_in_flight_at_the_signal_is_deleted_by_its_own_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The signal cut the wait for the create's answer. A slow server makes the environment only as it answers:
    # looked up by key at once, it is not listed yet (the release said nothing, and it was left). Its own answer
    # is awaited first (half the time left), and names its id.
    clock, client, reporter, environment = _an_environment_made_on_create()
    client.project_id(clock.after(60))
    wait = Call.wait

    def interrupted(self: Call, *args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(Call, "wait", wait)
        raise _Interrupted  # the job's cancellation, the create on the wire

    monkeypatch.setattr(Call, "wait", interrupted)
    with pytest.raises(_Interrupted):
        environment.create(clock.after(60))
    environment.release("the step ended (job cancelled)", clock.after(2.5))
    assert [call.request.method for call in responses.calls] == ["GET", "POST", "DELETE"]
    assert reporter.report.notes == [words.environment_deleted(BODY["key"], "deleted")]
