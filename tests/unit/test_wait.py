"""The polling loop with a fake clock: outages, 404 grace, hints, deadline, log lines."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable

import pytest
import requests
import responses

from certyn_action.api.client import ApiError, CertynClient, NotFound, TimedOut, classify
from certyn_action.api.http import Transport
from certyn_action.api.models import RunStatus
from certyn_action.clock import Deadline
from certyn_action.runner.workflow import WorkflowLog
from certyn_action.wait import NOT_FOUND_GRACE_POLLS, Poller, PollSettings
from tests.fakes import FakeClock

BASE = "https://api.certyn.test"
STATUS = f"{BASE}/api/ci/runs/r"


def run_wait(
    clock: FakeClock, *, floor: float = 10, ceiling: float = 30, timeout: float = 600, attached: bool = False
) -> tuple[RunStatus, list[str], list[RunStatus]]:
    out = io.StringIO()
    seen: list[RunStatus] = []
    client = CertynClient(
        Transport(BASE, "k", env={}), clock, request_timeout_seconds=5, max_attempts=3, project_slug="p"
    )
    settings = PollSettings(
        floor=floor, ceiling=ceiling, deadline=clock.after(timeout), started=clock.now, attached=attached
    )
    status = Poller(client, "r", settings, clock, WorkflowLog(out), seen.append).run()
    return status, out.getvalue().splitlines(), seen


@responses.activate
def test_returns_the_first_terminal_status_and_clamps_the_server_hint() -> None:
    responses.get(STATUS, json={"state": "queued", "retryAfterSeconds": 1})
    responses.get(STATUS, json={"state": "in_progress", "total": 2, "retryAfterSeconds": 500})
    responses.get(STATUS, json={"state": "running", "total": 2, "passed": 1})
    responses.get(STATUS, json={"state": "completed", "total": 2, "passed": 2})
    clock = FakeClock()
    status, _, seen = run_wait(clock, floor=5, ceiling=20)
    assert status.state == "completed"
    assert [s.state for s in seen] == ["queued", "in_progress", "running", "completed"]
    # 1 → raised to the floor, 500 → cut to the ceiling, no hint → the floor
    assert clock.sleeps == [5, 20, 5]


@responses.activate
def test_unknown_states_keep_polling() -> None:
    responses.get(STATUS, json={"state": "warming_up_the_flux_capacitor"})
    responses.get(STATUS, json={})
    responses.get(STATUS, json={"state": "Canceled"})
    status, _, _ = run_wait(FakeClock())
    assert status.state == "cancelled"


@responses.activate
def test_an_outage_never_fails_the_wait_and_is_reported_once_each_way() -> None:
    responses.get(STATUS, json={"state": "in_progress"})
    for reply in (
        {"status": 503},
        {"status": 502, "body": "<html>bad gateway</html>"},
        {"body": requests.ConnectionError("refused")},
        {"status": 200, "body": "<html>login</html>"},
        {"status": 429, "headers": {"Retry-After": "7"}},
        {"status": 200, "body": '{"sta'},
    ):
        responses.get(STATUS, **reply)
    responses.get(STATUS, json={"state": "completed", "total": 1, "passed": 1})
    clock = FakeClock()
    status, lines, _ = run_wait(clock, floor=10, ceiling=30)
    assert status.state == "completed"
    warnings = [line for line in lines if line.startswith("::warning")]
    assert len(warnings) == 1
    assert "Certyn API unreachable" in warnings[0]
    assert ".." not in warnings[0]  # the error's own full stop is not doubled
    (recovered,) = [line for line in lines if line.startswith("::notice")]  # the warning is not left alone
    assert recovered.startswith("::notice title=Certyn API reachable again::Certyn API reachable again")
    assert "6 failed polls" in recovered
    outage_sleeps = clock.sleeps[1:-1]
    assert all(delay >= 10 for delay in outage_sleeps)  # never faster than the floor
    assert max(outage_sleeps) > 10  # backs off while the outage lasts


@responses.activate
def test_one_failed_poll_is_said_in_the_singular() -> None:
    responses.get(STATUS, json={"state": "in_progress"})
    responses.get(STATUS, status=503)
    responses.get(STATUS, json={"state": "completed", "total": 1, "passed": 1})
    status, lines, _ = run_wait(FakeClock(), floor=10, ceiling=30)
    assert status.state == "completed"
    (recovered,) = [line for line in lines if "Certyn API reachable again" in line]
    assert "(1 failed poll)" in recovered


@responses.activate
def test_a_flapping_api_raises_one_annotation_and_logs_every_outage() -> None:
    for _ in range(12):  # twelve outages: GitHub would keep only 10 warnings, and drop the verdict's notice
        responses.get(STATUS, json={"state": "in_progress"})
        responses.get(STATUS, status=503)
    responses.get(STATUS, json={"state": "completed", "total": 1, "passed": 1})
    _, lines, _ = run_wait(FakeClock())
    assert len([line for line in lines if line.startswith("::warning")]) == 1
    assert len([line for line in lines if line.startswith("::notice")]) == 1  # the first one's end
    again = [line for line in lines if line.startswith("Certyn API unreachable again")]
    assert [line.split(":")[0] for line in again] == [
        f"Certyn API unreachable again (outage {n})" for n in range(2, 13)
    ]
    assert len([line for line in lines if "Certyn API reachable again" in line]) == 12


@responses.activate
def test_outage_until_the_deadline_times_out_without_failing_early() -> None:
    responses.get(STATUS, json={"state": "in_progress", "failed": 1})
    responses.get(STATUS, status=503)
    clock = FakeClock()
    start = clock.now
    with pytest.raises(TimedOut) as err:
        run_wait(clock, floor=10, timeout=300)
    assert err.value.last is not None
    assert err.value.last.failed == 1
    assert clock.now == pytest.approx(start + 300)
    assert len(responses.calls) > 5
    # the deadline came inside the outage: said so, with since when, how many polls and the last error
    outage = err.value.outage
    assert outage is not None
    assert outage.since == pytest.approx(0, abs=11)  # the second poll, one floor into the wait
    assert outage.failures == len(responses.calls) - 1
    assert "HTTP 503" in outage.error


@responses.activate
def test_a_deadline_after_the_api_recovered_is_no_outage() -> None:
    responses.get(STATUS, status=503)
    responses.get(STATUS, json={"state": "in_progress"})
    with pytest.raises(TimedOut) as err:
        run_wait(FakeClock(), floor=10, timeout=120)
    assert err.value.outage is None


@responses.activate
def test_404_on_the_first_polls_is_waited_out() -> None:
    for _ in range(NOT_FOUND_GRACE_POLLS):
        responses.get(STATUS, status=404)
    responses.get(STATUS, json={"state": "completed", "total": 1, "passed": 1})
    status, _, _ = run_wait(FakeClock())
    assert status.state == "completed"


@responses.activate
def test_404_beyond_the_grace_is_an_error() -> None:
    responses.get(STATUS, status=404)
    with pytest.raises(NotFound):
        run_wait(FakeClock())
    assert len(responses.calls) == NOT_FOUND_GRACE_POLLS + 1


@responses.activate
def test_a_404_after_the_run_was_seen_is_waited_out_then_an_error() -> None:
    responses.get(STATUS, json={"state": "in_progress"})
    responses.get(STATUS, status=404, body="<html>nginx</html>")
    with pytest.raises(NotFound):
        run_wait(FakeClock())
    assert len(responses.calls) == 1 + NOT_FOUND_GRACE_POLLS + 1


@responses.activate
def test_a_passing_404_after_the_run_was_seen_does_not_fail_the_gate() -> None:
    responses.get(STATUS, json={"state": "in_progress"})
    for _ in range(NOT_FOUND_GRACE_POLLS):
        responses.get(STATUS, status=404)
    responses.get(STATUS, json={"state": "in_progress"})
    for _ in range(NOT_FOUND_GRACE_POLLS):  # the grace starts afresh after every good answer
        responses.get(STATUS, status=404)
    responses.get(STATUS, json={"state": "completed", "total": 1, "passed": 1})
    status, lines, _ = run_wait(FakeClock())
    assert status.state == "completed"
    assert sum("HTTP 404" in line and "polling on" in line for line in lines) == 2 * NOT_FOUND_GRACE_POLLS


@responses.activate
def test_an_attached_run_that_404s_before_any_status_does_not_exist() -> None:
    # run-id: the run was made earlier (another job, the Certyn app), so no grace for a run too new to see.
    responses.get(STATUS, status=404)
    with pytest.raises(NotFound, match="does not exist for this API key") as caught:
        run_wait(FakeClock(), attached=True)
    assert len(responses.calls) == 1
    assert "`run-id`" in caught.value.message


@responses.activate
def test_an_attached_run_seen_once_gets_the_usual_404_grace() -> None:
    responses.get(STATUS, json={"state": "in_progress"})
    responses.get(STATUS, status=404)
    responses.get(STATUS, json={"state": "completed", "total": 1, "passed": 1})
    status, _, _ = run_wait(FakeClock(), attached=True)
    assert status.state == "completed"


@responses.activate
def test_auth_failure_while_polling_is_fatal() -> None:
    responses.get(STATUS, status=401, json={"error": "revoked"})
    with pytest.raises(ApiError) as err:
        run_wait(FakeClock())
    assert not classify(err.value)
    assert len(responses.calls) == 1


@responses.activate
def test_deadline_bounds_the_wait_and_the_last_sleep() -> None:
    responses.get(STATUS, json={"state": "in_progress", "retryAfterSeconds": 30})
    clock = FakeClock()
    start = clock.now
    with pytest.raises(TimedOut):
        run_wait(clock, floor=10, ceiling=30, timeout=75)
    assert clock.now == pytest.approx(start + 75)
    # polls at 0, 30 and 60 s, then a last one 2 s before the deadline instead of sleeping through it
    assert clock.sleeps == pytest.approx([30, 30, 13, 2])
    assert len(responses.calls) == 4


@responses.activate
def test_a_run_that_finishes_just_before_the_deadline_is_seen() -> None:
    responses.get(STATUS, json={"state": "in_progress", "retryAfterSeconds": 30})
    responses.get(STATUS, json={"state": "in_progress", "retryAfterSeconds": 30})
    responses.get(STATUS, json={"state": "in_progress", "retryAfterSeconds": 30})
    responses.get(STATUS, json={"state": "completed", "total": 1, "passed": 1})  # done at 70 s
    status, _, _ = run_wait(FakeClock(), floor=10, ceiling=30, timeout=75)
    assert status.state == "completed"


class _SlowClient(CertynClient):
    """Each status request takes 100 s of the fake clock, running ``idle`` as the transport would."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(
            Transport(BASE, "k", env={}), clock, request_timeout_seconds=60, max_attempts=1, project_slug="p"
        )
        self.clock = clock

    def status(self, run_id: str, deadline: Deadline, idle: Callable[[], float] | None = None) -> RunStatus:
        assert idle is not None
        for _ in range(20):
            self.clock.advance(5)
            idle()
        return super().status(run_id, deadline)


@responses.activate
def test_the_heartbeat_keeps_coming_while_slow_requests_are_in_flight() -> None:
    for _ in range(6):
        responses.get(
            STATUS, json={"state": "in_progress", "total": 3, "pending": 3, "retryAfterSeconds": 30}
        )
    responses.get(STATUS, json={"state": "completed", "total": 3, "passed": 3})
    clock = FakeClock()
    out = io.StringIO()
    settings = PollSettings(floor=10, ceiling=30, deadline=clock.after(3600), started=clock.now)
    Poller(_SlowClient(clock), "r", settings, clock, WorkflowLog(out), lambda _: None).run()
    lines = [line for line in out.getvalue().splitlines() if line.startswith("[")]
    times = [seconds_of(line) for line in lines]
    assert times[-1] >= 7 * 100  # seven slow polls
    assert max(b - a for a, b in itertools.pairwise([0, *times])) <= 60


def seconds_of(line: str) -> int:
    """``[2m 05s] ...`` → 125."""
    total = 0
    for part in line[1 : line.index("]")].split():
        total += int(part[:-1]) * {"h": 3600, "m": 60, "s": 1}[part[-1]]
    return total


@responses.activate
def test_progress_lines_on_change_and_a_heartbeat_at_least_every_minute() -> None:
    for _ in range(4):  # the server asks for 45 s between polls: a poll alone would leave 90 s gaps
        responses.get(
            STATUS, json={"state": "in_progress", "total": 3, "pending": 3, "retryAfterSeconds": 45}
        )
    responses.get(STATUS, json={"state": "in_progress", "total": 3, "passed": 1, "pending": 2})
    responses.get(STATUS, json={"state": "completed", "total": 3, "passed": 3})
    _, lines, _ = run_wait(FakeClock(), floor=10, ceiling=45)
    progress = [line for line in lines if line.startswith("[")]
    assert progress[0].startswith("[0s] in_progress")
    assert any(" still in_progress — 0/3 done" in line for line in progress)
    assert progress[-1].startswith("[3m 10s] completed")
    times = [seconds_of(line) for line in progress]
    assert max(b - a for a, b in itertools.pairwise(times)) <= 60
    # unchanged polls print nothing but the heartbeat: fewer lines than polls
    assert len(progress) < len(responses.calls) + 3


@responses.activate
def test_a_long_outage_still_has_a_heartbeat() -> None:
    responses.get(STATUS, json={"state": "in_progress"})
    responses.get(STATUS, status=503)
    clock = FakeClock()
    out = io.StringIO()
    client = CertynClient(
        Transport(BASE, "k", env={}), clock, request_timeout_seconds=5, max_attempts=3, project_slug="p"
    )
    settings = PollSettings(floor=10, ceiling=30, deadline=clock.after(600), started=clock.now)
    with pytest.raises(TimedOut):
        Poller(client, "r", settings, clock, WorkflowLog(out), lambda _: None).run()
    lines = [line for line in out.getvalue().splitlines() if line.startswith("[")]
    assert any("the API has been failing for" in line for line in lines)
    times = [seconds_of(line) for line in lines]
    assert max(b - a for a, b in itertools.pairwise(times)) <= 60


@responses.activate
def test_a_redirect_while_polling_is_never_followed_and_waited_out_then_an_error() -> None:
    responses.get(STATUS, json={"state": "in_progress"})
    responses.get(STATUS, status=302, headers={"Location": "https://sso.example/login"})
    responses.get(STATUS, json={"state": "in_progress"})  # a passing proxy mood
    for _ in range(NOT_FOUND_GRACE_POLLS + 1):  # a lasting one: api-url is wrong
        responses.get(STATUS, status=302, headers={"Location": "https://sso.example/login"})
    with pytest.raises(ApiError) as err:
        run_wait(FakeClock())
    assert "redirect" in err.value.message
    assert "sso.example" in err.value.message
    assert len(responses.calls) == 3 + NOT_FOUND_GRACE_POLLS + 1
    assert all("sso.example" not in (call.request.url or "") for call in responses.calls)


@responses.activate
def test_the_last_poll_never_comes_sooner_than_the_floor() -> None:
    # polls at 0, 30, 60 and 71; the last-poll point (71.05) is 0.05 s later: no poll again that soon
    for hint in (30, 30, 11, 30):
        responses.get(STATUS, json={"state": "in_progress", "retryAfterSeconds": hint})
    clock = FakeClock()
    with pytest.raises(TimedOut):
        run_wait(clock, floor=10, ceiling=30, timeout=73.05)
    assert len(responses.calls) == 4
    assert clock.sleeps[:-1] == pytest.approx([30, 30, 11])  # the last sleep runs out the deadline


class _TakesThreeSeconds(CertynClient):
    """Each status request takes 3 s of the fake clock after it went out (the reply, its validation)."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(
            Transport(BASE, "k", env={}), clock, request_timeout_seconds=60, max_attempts=1, project_slug="p"
        )
        self.clock = clock
        self.asked: list[float] = []

    def status(self, run_id: str, deadline: Deadline, idle: Callable[[], float] | None = None) -> RunStatus:
        self.asked.append(self.clock.now)
        status = super().status(run_id, deadline)
        self.clock.advance(3)
        return status


@responses.activate
def test_the_poll_interval_runs_from_when_a_poll_went_out_not_from_the_end_of_a_slow_one() -> None:
    responses.get(STATUS, json={"state": "in_progress"})
    responses.get(STATUS, json={"state": "in_progress", "retryAfterSeconds": 20})
    responses.get(STATUS, json={"state": "completed"})
    clock = FakeClock()
    client = _TakesThreeSeconds(clock)
    settings = PollSettings(floor=10, ceiling=30, deadline=clock.after(3600), started=clock.now)
    Poller(client, "r", settings, clock, WorkflowLog(io.StringIO()), lambda _: None).run()
    assert [b - a for a, b in itertools.pairwise(client.asked)] == [10, 20]
    assert clock.sleeps == [7, 17]
