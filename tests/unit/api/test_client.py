"""The API client against mocked HTTP (responses): retries, classification, key handling."""

from __future__ import annotations

import itertools
import json
import os
import signal
import ssl
import sys
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from certyn_action.api import client as api_client
from certyn_action.api import models
from certyn_action.api.client import (
    READ,
    ApiError,
    Ask,
    AuthError,
    CertynClient,
    GaveUp,
    NotFound,
    classify,
    read_created,
    read_status,
)
from certyn_action.api.http import (
    Call,
    DuplicateKey,
    NotSent,
    Reply,
    Request,
    Transport,
    TransportError,
    UnsafeUrl,
)
from certyn_action.clock import WAKE_SECONDS, Deadline
from certyn_action.runner.signals import CancelRequested, SignalGuard
from tests.fakes import FakeClock, far

BASE = "https://api.certyn.test"
KEY = "sk-live-very-secret"
CREATE = f"{BASE}/api/ci/runs"
RUN = f"{BASE}/api/ci/runs/r-1"
BODY = {"projectSlug": "my-app", "processSlug": "smoke"}


def make_client(
    clock: FakeClock,
    *,
    attempts: int = 5,
    retries: list[tuple[str, float]] | None = None,
    base: str = BASE,
) -> CertynClient:
    def on_retry(operation: str, error: ApiError, delay: float, failures: int) -> None:
        if retries is not None:
            retries.append((operation, delay))

    return CertynClient(
        Transport(base, KEY, env={}),
        clock,
        request_timeout_seconds=5,
        max_attempts=attempts,
        project_slug="my-app",
        on_retry=on_retry,
    )


@responses.activate
def test_create_sends_key_body_and_idempotency_key() -> None:
    responses.post(
        CREATE,
        json={"runId": "r-1", "appUrl": "https://app/r-1", "testCaseCount": 4},
        status=201,
        match=[
            matchers.header_matcher(
                {"X-API-Key": KEY, "Idempotency-Key": "k-1", "Content-Type": "application/json"}
            ),
            matchers.json_params_matcher(BODY),
        ],
    )
    created = make_client(FakeClock()).create(BODY, "k-1", deadline=far())
    assert created.run.run_id == "r-1"
    assert created.run.test_case_count == 4
    assert created.replayed is False


@responses.activate
def test_create_replay_is_reported() -> None:
    responses.post(CREATE, json={"runId": "r-1"}, status=200, headers={"Idempotency-Replayed": "True"})
    assert make_client(FakeClock()).create(BODY, "k", deadline=far()).replayed is True


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
@responses.activate
def test_create_retries_transient_statuses_with_the_same_key(status: int) -> None:
    responses.post(CREATE, status=status, json={"error": "busy"})
    responses.post(CREATE, status=201, json={"runId": "r-2"})
    clock = FakeClock()
    retries: list[tuple[str, float]] = []
    created = make_client(clock, retries=retries).create(BODY, "same-key", deadline=clock.at(2000))
    assert created.run.run_id == "r-2"
    keys = {call.request.headers["Idempotency-Key"] for call in responses.calls}
    assert keys == {"same-key"}
    assert len(responses.calls) == 2
    assert [op for op, _ in retries] == ["create"]


@responses.activate
def test_create_retries_network_errors_then_gives_up_after_max_attempts() -> None:
    responses.post(CREATE, body=requests.ConnectionError("refused"))
    clock = FakeClock()
    with pytest.raises(ApiError, match="after 3 attempts") as err:
        make_client(clock, attempts=3).create(BODY, "k", deadline=clock.at(5000))
    assert isinstance(err.value, GaveUp)  # never retried again
    # ... yet an outage by its kind: the summary's heading says "API unreachable", and how many attempts
    assert classify(err.value) is True
    assert err.value.attempts == 3
    assert err.value.last == "POST /api/ci/runs: connection failed"
    assert len(responses.calls) == 3
    # backoff between attempts: the clock was slept, never really
    assert len(clock.sleeps) == 2


@responses.activate
def test_create_honours_retry_after_but_caps_it_at_60s() -> None:
    responses.post(CREATE, status=429, headers={"Retry-After": "3600"})
    responses.post(CREATE, status=201, json={"runId": "r"})
    clock = FakeClock()
    make_client(clock).create(BODY, "k", deadline=clock.after(500))
    assert clock.sleeps == [60.0]


@responses.activate
def test_create_retry_after_never_past_the_deadline() -> None:
    # Retry-After 50 s with 20 s left: wait what is left but one request timeout (5 s), try once more, stop.
    responses.post(CREATE, status=503, headers={"Retry-After": "50"})
    clock = FakeClock()
    start = clock.now
    with pytest.raises(ApiError, match="deadline") as err:
        make_client(clock).create(BODY, "k", deadline=clock.at(start + 20))
    assert clock.sleeps == [15.0]
    assert len(responses.calls) == 2
    assert clock.now <= start + 20
    assert err.value.attempts == 2  # the summary says how many


@responses.activate
def test_a_retry_after_of_exactly_the_time_left_still_leaves_room_for_a_last_try() -> None:
    responses.post(CREATE, status=503, headers={"Retry-After": "20"})
    responses.post(CREATE, status=201, json={"runId": "r-last"})
    clock = FakeClock()
    assert make_client(clock).create(BODY, "k", deadline=clock.after(20)).run.run_id == "r-last"
    assert clock.sleeps == [15.0]


@responses.activate
def test_a_last_try_gets_sent_when_exactly_one_second_is_left_for_it() -> None:
    responses.post(CREATE, status=503, headers={"Retry-After": "10"})
    responses.post(CREATE, status=201, json={"runId": "r-1s"})
    clock = FakeClock()
    assert make_client(clock).create(BODY, "k", deadline=clock.after(2)).run.run_id == "r-1s"
    assert clock.sleeps == [1.0]


@responses.activate
def test_each_retry_is_heard_with_its_operation_error_wait_and_failures_so_far() -> None:
    responses.post(CREATE, status=503, headers={"Retry-After": "7"})
    responses.post(CREATE, status=503, headers={"Retry-After": "8"})
    responses.post(CREATE, status=201, json={"runId": "r"})
    heard: list[tuple[str, int | None, float, int]] = []
    clock = FakeClock()
    client = CertynClient(
        Transport(BASE, KEY, env={}),
        clock,
        request_timeout_seconds=5,
        max_attempts=5,
        project_slug="my-app",
        on_retry=lambda op, error, delay, failures: heard.append((op, error.status, delay, failures)),
    )
    client.create(BODY, "k", deadline=clock.after(500))
    assert heard == [("create", 503, 7.0, 1), ("create", 503, 8.0, 2)]


@responses.activate
def test_a_create_given_up_on_after_503s_is_still_an_outage_with_its_status() -> None:
    responses.post(CREATE, status=503, json={"error": "busy"})
    clock = FakeClock()
    with pytest.raises(ApiError, match="after 2 attempts") as err:
        make_client(clock, attempts=2).create(BODY, "k", deadline=clock.after(500))
    assert (err.value.status, classify(err.value)) == (503, True)


@pytest.mark.parametrize(
    ("budget", "replay_seconds"),
    [
        (5.0, 3.5),  # the cancel's reserve (1.5 s) kept, the rest for the replay
        (3.0, 1.5),
        (2.4, 1.2),  # shorter (the run's half beside base-url's environment): halved, a second or more each
        (2.0, 1.0),
        (1.9, None),  # less than a second each: no replay
    ],
)
@responses.activate
def test_a_lost_create_is_replayed_only_with_a_second_for_it_beyond_the_cancel_s_reserve(
    budget: float, replay_seconds: float | None
) -> None:
    responses.post(CREATE, body=requests.ConnectionError("lost"))
    responses.post(CREATE, status=200, json={"runId": "r-9"}, headers={"Idempotency-Replayed": "true"})
    clock = FakeClock()
    client = make_client(clock, attempts=1)
    with pytest.raises(ApiError):
        client.create(BODY, "k-7", deadline=clock.after(10))
    clock.sleep(100)
    recovered = client.recover_create(deadline=clock.after(budget))
    replayed = replay_seconds is not None
    assert (recovered is not None, len(responses.calls)) == (replayed, 1 + replayed)
    if replay_seconds is not None:
        timeout = responses.calls[1].request.req_kwargs["timeout"]  # type: ignore[attr-defined]
        assert timeout[0] == pytest.approx(replay_seconds)


@responses.activate
def test_a_retry_after_beyond_the_deadline_still_gets_a_last_try_that_can_succeed() -> None:
    responses.post(CREATE, status=429, headers={"Retry-After": "60"})
    responses.post(CREATE, status=201, json={"runId": "r-late"})
    clock = FakeClock()
    created = make_client(clock).create(BODY, "k", deadline=clock.after(50))
    assert created.run.run_id == "r-late"
    assert clock.sleeps == [45.0]


@responses.activate
def test_a_cancel_told_to_come_back_later_than_its_budget_still_tries_once_more() -> None:
    responses.post(f"{CREATE}/r/cancel", status=429, headers={"Retry-After": "10"})
    responses.post(f"{CREATE}/r/cancel", status=202, json={})
    clock = FakeClock()
    assert make_client(clock).cancel("r", "why", deadline=clock.after(5)) == "cancelled"
    assert clock.sleeps == [2.5]


@responses.activate
def test_a_cancel_404_is_retried_a_new_run_may_not_be_visible_yet() -> None:
    responses.post(f"{CREATE}/r/cancel", status=404, json={"error": "run not found"})
    responses.post(f"{CREATE}/r/cancel", status=202, json={})
    clock = FakeClock()
    assert make_client(clock).cancel("r", "why", deadline=clock.after(5)) == "cancelled"
    assert len(responses.calls) == 2


@pytest.mark.parametrize("status", [401, 403])
@responses.activate
def test_create_auth_errors_are_not_retried_and_name_the_input(status: int) -> None:
    responses.post(CREATE, status=status, json={"error": "invalid key"})
    with pytest.raises(AuthError) as err:
        make_client(FakeClock()).create(BODY, "k", deadline=far())
    assert len(responses.calls) == 1
    assert "`api-key`" in err.value.message
    assert "my-app" in err.value.message
    assert "invalid key" in err.value.message
    assert KEY not in err.value.message


@responses.activate
def test_create_404_names_project_and_process() -> None:
    responses.post(CREATE, status=404, json={"message": "Project not found"})
    with pytest.raises(NotFound) as err:
        make_client(FakeClock()).create(BODY, "k", deadline=far())
    assert err.value.message == (
        "HTTP 404 while creating the run: unknown project `my-app`, process or environment (check "
        "`project-slug`, `process-slug`/`tags` and `environment-key`). Server said: Project not found"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"error": "processSlug and tags are exclusive"}, "processSlug and tags are exclusive"),
        ({"message": "Idempotency conflict"}, "Idempotency conflict"),
        (
            {"title": "One or more validation errors occurred.", "errors": {"ProjectSlug": ["required"]}},
            "ProjectSlug: required",
        ),
    ],
)
@pytest.mark.parametrize("status", [400, 409, 422])
@responses.activate
def test_create_client_errors_carry_the_server_message(
    status: int, body: dict[str, object], expected: str
) -> None:
    responses.post(CREATE, status=status, json=body)
    with pytest.raises(ApiError) as err:
        make_client(FakeClock()).create(BODY, "k", deadline=far())
    assert classify(err.value) is False
    assert expected in err.value.message
    assert len(responses.calls) == 1


@responses.activate
def test_server_message_is_sanitised_and_truncated() -> None:
    responses.post(CREATE, status=400, json={"error": "bad\n::error::injected " + "x" * 5000})
    with pytest.raises(ApiError) as err:
        make_client(FakeClock()).create(BODY, "k", deadline=far())
    assert "\n" not in err.value.message
    assert len(err.value.message) < 1000


@responses.activate
def test_create_without_run_id_is_a_clear_error() -> None:
    responses.post(CREATE, status=201, json={"message": "Run created"})
    with pytest.raises(ApiError, match="no runId"):
        make_client(FakeClock()).create(BODY, "k", deadline=far())


@responses.activate
def test_create_html_from_a_proxy_is_retried() -> None:
    responses.post(CREATE, status=200, body="<html>gateway</html>", content_type="text/html")
    responses.post(CREATE, status=201, json={"runId": "r"})
    assert make_client(FakeClock()).create(BODY, "k", deadline=far()).run.run_id == "r"


@responses.activate
def test_any_3xx_is_a_redirect_never_a_success() -> None:
    responses.post(CREATE, status=300, json={"runId": "r-elsewhere"})
    with pytest.raises(ApiError, match="redirect"):
        make_client(FakeClock()).create(BODY, "k", deadline=far())


@responses.activate
def test_redirects_are_never_followed() -> None:
    responses.post(CREATE, status=307, headers={"Location": "https://evil.example/api/ci/runs"})
    with pytest.raises(ApiError, match="redirect") as err:
        make_client(FakeClock()).create(BODY, "k", deadline=far())
    assert "evil.example" in err.value.message
    assert [call.request.url for call in responses.calls] == [CREATE]


@responses.activate
def test_status_parses_and_escapes_the_run_id() -> None:
    responses.get(f"{CREATE}/a%2Fb%3F", json={"state": "completed", "failed": 1, "total": 2})
    status = make_client(FakeClock()).status("a/b?", deadline=far())
    assert status.is_terminal
    assert status.failed == 1


@pytest.mark.parametrize(
    "reply",
    [
        {"status": 503, "json": {"error": "down"}},
        {"status": 200, "body": "<html>proxy</html>"},
        {"status": 200, "body": '{"state": "compl'},
        {"status": 200, "json": ["not", "an", "object"]},
        {"status": 200, "json": {"state": "completed", "failed": "lots"}},
        {"body": requests.ConnectionError("reset")},
        {"body": requests.ReadTimeout("slow")},
    ],
)
@responses.activate
def test_status_failures_that_can_pass_are_transient(reply: dict[str, object]) -> None:
    responses.get(f"{CREATE}/r", **reply)
    with pytest.raises(ApiError) as err:
        make_client(FakeClock()).status("r", deadline=far())
    assert classify(err.value) is True


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ({"status": 500}, "HTTP 500 while reading the run's status."),
        ({"body": requests.ConnectionError("reset")}, "GET /api/ci/runs/r: connection failed"),
        (
            {"status": 200, "json": {"runId": "other", "state": "running"}},
            "the status response (HTTP 200) is for run 'other', not run r: a caching proxy",
        ),
        (
            {"status": 200, "json": {"state": "completed", "failed": "lots"}},
            "invalid status response: failed: ",
        ),
    ],
)
@responses.activate
def test_a_failed_status_read_says_what_failed(reply: dict[str, object], message: str) -> None:
    responses.get(f"{CREATE}/r", **reply)
    with pytest.raises(ApiError) as err:
        make_client(FakeClock()).status("r", deadline=far())
    assert err.value.message.startswith(message)


def test_a_slow_status_request_keeps_the_heartbeat_going_and_notes_when_it_was_sent() -> None:
    clock = FakeClock()
    beats: list[float] = []

    class Slow(Transport):
        def send(self, request: Request, deadline: Deadline, idle: Any = None) -> Reply:
            clock.advance(30)  # the answer takes a while: the heartbeat still gets its turn
            beats.append(idle())
            return Reply(200, {}, b'{"state": "running"}')

    client = CertynClient(
        Slow(BASE, KEY, env={}), clock, request_timeout_seconds=60, max_attempts=1, project_slug="my-app"
    )
    sent = clock.now
    assert client.status("r", deadline=clock.at(sent + 100), idle=lambda: 10.0).state == "running"
    assert (beats, client.poll_sent_at) == ([10.0], sent)


@responses.activate
def test_status_404_is_not_found() -> None:
    responses.get(f"{CREATE}/r", status=404, json={"error": "no such run"})
    with pytest.raises(NotFound):
        make_client(FakeClock()).status("r", deadline=far())


@responses.activate
def test_cancel_sends_reason_without_the_idempotency_key() -> None:
    responses.post(
        f"{CREATE}/r/cancel", status=202, json={}, match=[matchers.json_params_matcher({"reason": "why"})]
    )
    assert make_client(FakeClock()).cancel("r", "why", deadline=far()) == "cancelled"
    request = responses.calls[0].request
    assert "Idempotency-Key" not in request.headers
    assert request.headers["X-API-Key"] == KEY


@responses.activate
def test_cancel_retries_within_its_budget() -> None:
    responses.post(f"{CREATE}/r/cancel", status=502)
    responses.post(f"{CREATE}/r/cancel", status=200, json={})
    clock = FakeClock()
    assert make_client(clock).cancel("r", "why", deadline=clock.after(5)) == "cancelled"
    assert sum(clock.sleeps) < 5


@responses.activate
def test_cancel_of_a_finished_run_is_not_an_error() -> None:
    responses.post(f"{CREATE}/r/cancel", status=409, json={"error": "already completed"})
    finished = make_client(FakeClock()).cancel("r", "why", deadline=far())
    assert finished == "not cancelled: the run had already finished"


@responses.activate
def test_a_failed_cancel_says_what_failed() -> None:
    responses.post(f"{CREATE}/r/cancel", status=400, json={})
    with pytest.raises(ApiError, match=r"^HTTP 400 while cancelling the run\.$"):
        make_client(FakeClock()).cancel("r", "why", deadline=far())
    responses.replace(responses.POST, f"{CREATE}/r/cancel", body=requests.ConnectionError("reset"))
    clock, retries = FakeClock(), list[tuple[str, float]]()
    with pytest.raises(ApiError, match="POST /api/ci/runs/r/cancel: connection failed"):
        make_client(clock, retries=retries).cancel("r", "why", deadline=clock.after(3))
    assert {operation for operation, _ in retries} == {"cancel"}


@responses.activate
def test_body_size_is_capped() -> None:
    responses.get(f"{CREATE}/r", body=json.dumps({"state": "x" * (2 * 1024 * 1024)}))
    with pytest.raises(ApiError, match="larger than") as err:
        make_client(FakeClock()).status("r", deadline=far())
    assert classify(err.value) is True


@responses.activate
def test_recover_create_replays_with_the_same_key() -> None:
    responses.post(CREATE, body=requests.ConnectionError("lost"))
    responses.post(CREATE, status=200, json={"runId": "r-9"}, headers={"Idempotency-Replayed": "true"})
    clock = FakeClock()
    client = make_client(clock, attempts=1)
    with pytest.raises(ApiError):
        client.create(BODY, "k-7", deadline=clock.at(2000))
    recovered = client.recover_create(deadline=clock.after(5))
    assert recovered is not None
    assert recovered.run.run_id == "r-9"
    assert [c.request.headers["Idempotency-Key"] for c in responses.calls] == ["k-7", "k-7"]


def test_recover_create_without_a_create_does_nothing() -> None:
    assert make_client(FakeClock()).recover_create(deadline=far()) is None


@pytest.mark.parametrize("status", [300, 302, 400, 408, 422, 429, 503])
@responses.activate
def test_recover_create_replays_nothing_when_the_server_refused(status: int) -> None:
    responses.post(CREATE, status=status, json={"error": "no"})
    clock = FakeClock()
    client = make_client(clock, attempts=1)
    with pytest.raises(ApiError):
        client.create(BODY, "k", deadline=clock.after(10))
    assert client.recover_create(deadline=clock.after(5)) is None
    assert len(responses.calls) == 1  # a refusal made no run: nothing to find, nothing replayed


@pytest.mark.parametrize(
    "reply",
    [
        {"status": 502},
        {"status": 504},
        {"status": 500},
        {"status": 201, "body": "<html>"},
        {"status": 200, "body": "<html>"},
    ],
)
@responses.activate
def test_recover_create_replays_after_a_5xx_the_backend_may_have_acted_on(reply: dict[str, object]) -> None:
    responses.post(CREATE, **reply)
    responses.post(CREATE, status=200, json={"runId": "r-gw"}, headers={"Idempotency-Replayed": "true"})
    clock = FakeClock()
    client = make_client(clock, attempts=1)
    with pytest.raises(ApiError):
        client.create(BODY, "k-gw", deadline=clock.after(10))
    recovered = client.recover_create(deadline=clock.after(5))
    assert recovered is not None
    assert recovered.run.run_id == "r-gw"
    assert [c.request.headers["Idempotency-Key"] for c in responses.calls] == ["k-gw", "k-gw"]


@responses.activate
def test_a_certificate_that_does_not_verify_is_not_retried() -> None:
    error = requests.exceptions.SSLError("bad cert")
    error.__context__ = ssl.SSLCertVerificationError("CERTIFICATE_VERIFY_FAILED")
    responses.post(CREATE, body=error)
    with pytest.raises(ApiError, match="REQUESTS_CA_BUNDLE") as err:
        make_client(FakeClock()).create(BODY, "k", deadline=far())
    assert not classify(err.value)
    assert len(responses.calls) == 1


@responses.activate
def test_recover_create_returns_a_run_the_caller_did_not_get_to_see() -> None:
    responses.post(CREATE, status=201, json={"runId": "r-5"})
    client = make_client(FakeClock())
    client.create(BODY, "k", deadline=far())  # imagine the signal arrived just as this returned
    recovered = client.recover_create(deadline=far())
    assert recovered is not None
    assert recovered.run.run_id == "r-5"
    assert len(responses.calls) == 1  # known already: nothing replayed


@responses.activate
def test_a_deeply_nested_body_is_an_invalid_response_not_a_crash() -> None:
    responses.get(f"{CREATE}/r", body="[" * 100_000)
    with pytest.raises(ApiError) as err:
        make_client(FakeClock()).status("r", deadline=far())
    assert classify(err.value) is True


@responses.activate
def test_a_lost_create_followed_by_an_error_is_still_recovered() -> None:
    responses.post(CREATE, body=requests.ConnectionError("reset after the server made the run"))
    responses.post(CREATE, status=503)
    responses.post(CREATE, status=200, json={"runId": "r-3"}, headers={"Idempotency-Replayed": "true"})
    clock = FakeClock()
    client = make_client(clock, attempts=2)
    with pytest.raises(ApiError):
        client.create(BODY, "k", deadline=clock.after(100))
    recovered = client.recover_create(deadline=clock.after(5))
    assert recovered is not None
    assert recovered.run.run_id == "r-3"


@responses.activate
def test_a_key_the_server_echoes_is_scrubbed_before_its_text_is_cut() -> None:
    # Cut first and redacted later, the key's first characters would survive the mask: scrub at the source.
    echo = "x" * 280 + f"your key {KEY} is not allowed here"
    responses.post(CREATE, status=400, json={"error": echo})
    responses.get(f"{CREATE}/r", status=302, headers={"Location": f"https://{KEY}.evil.test/"})
    responses.get(f"{CREATE}/r", status=200, json={"state": "running", "conclusion": json.dumps(KEY)})
    client = make_client(FakeClock())
    with pytest.raises(ApiError) as created:
        client.create(BODY, "k", deadline=far())
    with pytest.raises(ApiError) as redirected:
        client.status("r", deadline=far())
    status = client.status("r", deadline=far())
    for text in (created.value.message, redirected.value.message, status.conclusion):
        assert not any(KEY[:n] in text for n in range(8, len(KEY) + 1)), text
    assert "***" in status.conclusion


@responses.activate
def test_a_short_key_is_not_scrubbed_from_bodies_where_it_could_rewrite_field_names() -> None:
    responses.get(f"{CREATE}/r", json={"state": "completed", "total": 2, "blocked": 2})
    client = CertynClient(
        Transport(BASE, "ock", env={}),
        FakeClock(),
        request_timeout_seconds=5,
        max_attempts=1,
        project_slug="p",
    )
    assert client.status("r", deadline=far()).blocked == 2


class _Interrupted(BaseException):
    pass


class _ScriptedLock:
    """Stands in for the lock held until the exchange is over: not released for the first ``waits`` waits."""

    def __init__(self, waits: int) -> None:
        self.left = waits
        self.timeouts: list[float] = []

    def acquire(self, timeout: float) -> bool:
        self.timeouts.append(timeout)
        self.left -= 1
        return self.left < 0

    def release(self) -> None:
        pass


def test_a_request_in_flight_runs_idle_between_slices_of_its_wait() -> None:
    event = _ScriptedLock(waits=3)
    call = Call("GET /api/ci/runs/r")
    call._done = event  # type: ignore[assignment]
    call._reply = Reply(200, {}, b"{}")
    beats: list[str] = []

    def idle() -> float:
        beats.append("beat")
        return 0.1

    assert call.wait(100, idle).status == 200
    assert event.timeouts == [0.1] * 4  # never one long wait: the heartbeat gets its turn every 0.1 s
    assert len(beats) == 4


def test_a_request_in_flight_is_waited_for_in_slices_a_lost_signal_cannot_outlast() -> None:
    # A signal that lands just before the thread blocks wakes nothing (Python only notes it): the thread slept
    # on until the request's timeout (once 15 s after SIGTERM, past the runner's kill). Each slice ends it.
    event = _ScriptedLock(waits=3)
    call = Call("GET /api/ci/runs/r")
    call._done = event  # type: ignore[assignment]
    call._reply = Reply(200, {}, b"{}")
    assert call.wait(100, lambda: 60.0).status == 200
    assert event.timeouts == [WAKE_SECONDS] * 4


@responses.activate
def test_a_create_interrupted_in_flight_is_replayed_once_with_its_key_at_release(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The signal came while the first attempt was on the wire: the release replays it once with the same
    # Idempotency-Key, which names the run that attempt made (never a second run).
    responses.post(CREATE, status=200, json={"runId": "r-1"}, headers={"Idempotency-Replayed": "true"})
    clock = FakeClock()
    client = make_client(clock)
    send = client._transport.send

    def interrupted(request: Request, deadline: Deadline, idle: Any = None) -> Reply:
        monkeypatch.setattr(client._transport, "send", send)
        raise _Interrupted  # the job's cancellation, the create on the wire

    monkeypatch.setattr(client._transport, "send", interrupted)
    with pytest.raises(_Interrupted):
        client.create(BODY, "k", deadline=clock.after(60))
    assert client.create_may_have_made_a_run
    recovered = client.recover_create(deadline=clock.after(5))
    assert recovered is not None
    assert (recovered.run.run_id, recovered.replayed) == ("r-1", True)
    assert [c.request.headers["Idempotency-Key"] for c in responses.calls] == ["k"]


@responses.activate
def test_an_endpoint_is_a_few_lines_on_the_one_retrying_call() -> None:
    # What the next endpoints (projects overview, per-test results, environments) are built from: a path,
    # a reader of the 2xx answer and a policy; the policy's rule decides what is retried.
    responses.get(f"{BASE}/api/projects/overview", status=520)
    responses.get(f"{BASE}/api/projects/overview", status=200, json=[{"slug": "my-app", "id": "p-1"}])
    retries: list[tuple[str, float]] = []
    client = make_client(FakeClock(), retries=retries)
    read = lambda reply: reply.json()[0]["id"]  # noqa: E731
    ask = Ask(Request("GET", "/api/projects/overview"), "reading the projects", "overview")
    got = client.call(ask, read, READ, far())
    assert got == "p-1"
    assert [op for op, _ in retries] == ["overview"]


@responses.activate
def test_the_one_call_without_a_policy_is_one_attempt_and_its_404_says_what_it_means() -> None:
    responses.get(f"{BASE}/api/projects/p-1/environments", status=404)
    client = make_client(FakeClock())
    path, not_found = "/api/projects/p-1/environments", "no such project for this key"
    ask = Ask(Request("GET", path), "listing environments", "", not_found)
    with pytest.raises(NotFound, match=not_found):
        client.call(ask, lambda r: r, None, far())
    assert len(responses.calls) == 1


@responses.activate
def test_project_id_resolves_the_slug_case_insensitively_once_and_retries_a_blip() -> None:
    overview = {
        "defaultProjectId": "p-0",
        "projects": [{"id": "p-0", "slug": "other"}, {"id": "p-7", "slug": "My-App"}],
    }
    responses.get(f"{BASE}/api/projects/overview", status=503)
    responses.get(f"{BASE}/api/projects/overview", status=200, json=overview)
    client = make_client(FakeClock())
    assert client.project_id(far()) == "p-7"
    assert client.project_id(far()) == "p-7"  # read once
    calls = [c.request for c in responses.calls]
    assert len(calls) == 2
    assert all(c.headers["X-API-Key"] == KEY for c in calls)


@responses.activate
def test_project_id_of_a_slug_the_key_cannot_see_is_not_found_naming_the_input() -> None:
    # The default project is never a fallback: it may be another project.
    responses.get(
        f"{BASE}/api/projects/overview",
        json={"defaultProjectId": "p-0", "projects": [{"id": "p-0", "slug": "x"}]},
    )
    with pytest.raises(NotFound, match="project-slug"):
        make_client(FakeClock()).project_id(far())


@responses.activate
def test_an_overview_that_is_not_an_object_is_an_invalid_answer_retried_like_a_cut_body() -> None:
    responses.get(f"{BASE}/api/projects/overview", json=[{"id": "p-7", "slug": "my-app"}])
    responses.get(f"{BASE}/api/projects/overview", json={"projects": [{"id": "p-7", "slug": "my-app"}]})
    assert make_client(FakeClock()).project_id(far()) == "p-7"
    assert len(responses.calls) == 2


@responses.activate
def test_credentials_from_a_netrc_file_are_never_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.certyn.test login someone password hunter2\n", encoding="utf-8")
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".netrc").write_text(netrc.read_text(encoding="utf-8"), encoding="utf-8")
    responses.post(CREATE, json={"runId": "r-1"}, status=201)
    responses.get(f"{CREATE}/r-1", json={"state": "completed"})
    client = make_client(FakeClock())
    client.status(client.create(BODY, "k", deadline=far()).run.run_id, deadline=far())
    assert [c.request.headers.get("Authorization") for c in responses.calls] == [None, None]
    assert [c.request.headers["X-API-Key"] for c in responses.calls] == [KEY, KEY]


@responses.activate
def test_a_create_is_never_sent_once_the_deadline_has_passed() -> None:
    responses.post("https://api.certyn.test/api/ci/runs", json={"runId": "r-late"}, status=201)
    clock = FakeClock()
    client = CertynClient(
        Transport("https://api.certyn.test", "k", env={}),
        clock,
        request_timeout_seconds=5,
        max_attempts=3,
        project_slug="p",
    )
    with pytest.raises(ApiError):
        client.create({"projectSlug": "p"}, "idem-1", deadline=clock.after(-1))
    assert len(responses.calls) == 0  # nothing went out: no run made after timeout-seconds


def test_the_transport_refuses_to_start_an_exchange_with_no_time_left() -> None:
    transport = Transport("https://api.certyn.test", "k", env={})
    clock = FakeClock()
    with pytest.raises(NotSent, match="no time left"):
        transport.send(Request("POST", "/api/ci/runs", {}), Deadline(clock.now, clock))


@responses.activate
def test_a_create_interrupted_while_its_reply_is_validated_still_yields_its_run_without_a_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    responses.post(f"{BASE}/api/ci/runs", json={"runId": "r-1"}, status=201)
    validations: list[str] = []
    validate = models.CreatedRun.model_validate

    def recording(data: Any) -> models.CreatedRun:
        validations.append("validate create reply")
        return validate(data)

    monkeypatch.setattr(models.CreatedRun, "model_validate", recording)
    interruptions = iter([_Interrupted()])

    def interrupted_once() -> None:
        error = next(interruptions, None)
        if error is not None:
            raise error  # a cancellation signal as the models are loaded

    monkeypatch.setattr(api_client, "load_models", interrupted_once)
    client = CertynClient(
        Transport(BASE, KEY, env={}), FakeClock(), request_timeout_seconds=5, max_attempts=3, project_slug="p"
    )
    with pytest.raises(_Interrupted):
        client.create({"projectSlug": "p"}, "k", deadline=far())
    answered = client.answered_create()
    assert answered is not None
    assert answered.run.run_id == "r-1"
    assert len(responses.calls) == 1  # nothing sent again
    assert validations == ["validate create reply"]


# -- an api-url that would reach another host ----------------------------------------------------------------


@responses.activate
def test_the_transport_refuses_a_url_that_would_reach_another_host_and_sends_nothing() -> None:
    transport = Transport("http://localhost:81\\@127.0.0.1:8080", KEY, env={})
    with pytest.raises(UnsafeUrl, match="nothing was sent"):
        transport.send(Request("POST", "/api/ci/runs", {}), Deadline(1e9, FakeClock()))
    assert len(responses.calls) == 0


@responses.activate
def test_the_client_treats_a_refused_url_as_a_final_error_not_a_retry() -> None:
    client = make_client(FakeClock(), base="https://api.certyn.io\\@evil.example")
    with pytest.raises(ApiError) as caught:
        client.create({"projectSlug": "p"}, "k", deadline=far())
    assert not classify(caught.value)
    assert "api-url" in caught.value.message
    assert len(responses.calls) == 0


# -- a status for another run, a repeated key ----------------------------------------------------------------


@responses.activate
@pytest.mark.parametrize("other", ["r-2", "R-1", "", 1, ["r-1"], True])
def test_a_status_naming_another_run_is_a_transient_invalid_answer(other: object) -> None:
    responses.get(RUN, json={"runId": other, "state": "completed", "failed": 0, "blocked": 0})
    with pytest.raises(ApiError) as caught:
        make_client(FakeClock()).status("r-1", deadline=far())
    assert classify(caught.value)
    assert "not run r-1" in caught.value.message


@responses.activate
@pytest.mark.parametrize("said", [{"runId": "r-1"}, {}, {"runId": None}])
def test_a_status_with_its_own_run_id_or_none_is_believed(said: dict[str, Any]) -> None:
    responses.get(
        RUN, json={**said, "state": "completed", "total": 1, "passed": 1, "failed": 0, "blocked": 0}
    )
    assert make_client(FakeClock()).status("r-1", deadline=far()).state == "completed"


@responses.activate
def test_a_numeric_run_id_matches_its_text() -> None:
    responses.get(f"{BASE}/api/ci/runs/42", json={"runId": 42, "state": "queued"})
    assert make_client(FakeClock()).status("42", deadline=far()).state == "queued"


@pytest.mark.parametrize(
    "body",
    [
        b'{"failed": 1, "failed": 0}',
        b'{"a": [{"x": 1}, {"x": 1, "x": 1}]}',
        b'{"a": {"b": {"c": {"d": 1, "d": 2}}}}',
        b'{"runId": "r", "run\\u0049d": "s", "runId": "t"}',
    ],
)
def test_a_json_object_with_a_repeated_key_is_invalid_at_any_depth(body: bytes) -> None:
    with pytest.raises(DuplicateKey, match="appears twice"):
        Reply(200, {}, body).json()


def test_keys_that_only_look_alike_are_not_duplicates() -> None:
    # The same name in another object, or with a space or another letter, is another key. The same name in
    # another case is not (test_a_key_named_twice_in_another_case_is_ambiguous): the backend binds names ignoring case.
    assert Reply(200, {}, b'{"failed": 1, "failed ": 0, "fai1ed": 3, "a": {"failed": 2}}').json() == {
        "failed": 1,
        "failed ": 0,
        "fai1ed": 3,
        "a": {"failed": 2},
    }


@responses.activate
def test_a_status_with_a_repeated_key_is_transient_never_gated_on() -> None:
    responses.get(RUN, body=b'{"state": "completed", "failed": 1, "blocked": 0, "failed": 0}')
    with pytest.raises(ApiError, match="ambiguous") as caught:
        make_client(FakeClock()).status("r-1", deadline=far())
    assert classify(caught.value)


# -- a refused key after a lost create -----------------------------------------------------------------------


@responses.activate
def test_a_refused_key_after_a_lost_create_says_a_run_may_exist() -> None:
    import requests  # noqa: PLC0415

    responses.post(f"{BASE}/api/ci/runs", body=requests.ConnectionError("reset"))
    responses.post(f"{BASE}/api/ci/runs", status=401, json={"error": "revoked"})
    client = make_client(FakeClock())
    with pytest.raises(AuthError):
        client.create({"projectSlug": "p"}, "k", deadline=far())
    assert client.create_may_have_made_a_run


@responses.activate
def test_a_refused_key_alone_made_no_run() -> None:
    responses.post(f"{BASE}/api/ci/runs", status=401, json={"error": "revoked"})
    client = make_client(FakeClock())
    with pytest.raises(AuthError):
        client.create({"projectSlug": "p"}, "k", deadline=far())
    assert not client.create_may_have_made_a_run


# -- names in another case, a junk test case count -----------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"runId": "r-1", "state": "completed", "total": 2, "passed": 2, "failed": 0, "blocked": 0, "Failed": 2}',
        b'{"runId": "r-1", "State": "in_progress", "state": "completed", "failed": 0, "blocked": 0}',
        b'{"state": "completed", "failed": 0, "blocked": 0, "items": [{"status": "passed", "Status": "failed"}]}',
    ],
)
def test_a_key_named_twice_in_another_case_is_ambiguous(body: bytes) -> None:
    with pytest.raises(DuplicateKey, match="appears twice"):
        Reply(200, {}, body).json()
    with pytest.raises(ApiError, match="ambiguous") as raised:
        read_status(Reply(200, {}, body), "r-1")
    assert classify(raised.value)  # retried like a cut body, never gated on


@pytest.mark.parametrize("name", ["RunId", "runid", "RUNID"])
def test_a_status_naming_another_run_in_another_case_is_refused(name: str) -> None:
    body = f'{{"{name}": "other", "state": "completed", "total": 1, "passed": 1, "failed": 0, "blocked": 0}}'
    with pytest.raises(ApiError, match="for run 'other'") as raised:
        read_status(Reply(200, {}, body.encode()), "r-1")
    assert classify(raised.value)
    same = body.replace('"other"', '"r-1"')
    assert read_status(Reply(200, {}, same.encode()), "r-1").passed == 1


@pytest.mark.parametrize("count", [b"1e999", b"-1e999", b"NaN", b"Infinity"])
def test_a_non_finite_test_case_count_is_unknown_not_a_crash_or_an_invalid_create(count: bytes) -> None:
    created = read_created(Reply(201, {}, b'{"runId": "r-1", "testCaseCount": ' + count + b"}"))
    assert created.run.run_id == "r-1"
    assert created.run.test_case_count is None


# -- a signal as the create starts, a redirect to an unparsable location -------------------------------------


class _SignalAsTheCreateStarts(Transport):
    """The create goes out, and a signal lands before its reply is handed back."""

    def __init__(self) -> None:
        super().__init__(BASE, KEY, env={})
        self.interrupt = True

    def send(self, request: Request, deadline: Deadline, idle: Any = None) -> Reply:
        reply = super().send(request, deadline, idle)  # the request reached the server: it made the run
        if self.interrupt:
            self.interrupt = False
            raise CancelRequested("SIGINT")
        return reply


@responses.activate
def test_a_signal_while_the_create_is_being_started_still_finds_its_run() -> None:
    create = responses.post(f"{BASE}/api/ci/runs", json={"runId": "r-1"}, status=201)
    client = CertynClient(
        _SignalAsTheCreateStarts(),
        FakeClock(),
        request_timeout_seconds=5,
        max_attempts=3,
        project_slug="my-app",
    )
    with pytest.raises(CancelRequested):
        client.create({"projectSlug": "my-app"}, "k-1", deadline=far())
    assert client.create_may_have_made_a_run
    recovered = client.recover_create(FakeClock().after(5))
    assert recovered is not None
    assert recovered.run.run_id == "r-1"
    assert create.call_count == 1  # its own answer names the run: nothing is sent again
    assert {call.request.headers["Idempotency-Key"] for call in responses.calls} == {"k-1"}


@responses.activate
@pytest.mark.parametrize("location", ["http://[::1", "https://[::1/x", "http://a]b[c/"])
def test_a_redirect_with_an_unparsable_location_is_the_redirect_error(location: str) -> None:
    responses.get(f"{BASE}/api/ci/runs/r-1", status=302, headers={"Location": location})
    client = make_client(FakeClock())
    with pytest.raises(ApiError, match=r"redirect \(HTTP 302 to an unparsable location\)") as raised:
        client.status("r-1", deadline=far())
    assert raised.value.status == 302
    assert not classify(raised.value)


class _SignalAt:
    """A trace function (main thread only) under which SIGTERM comes at the ``at``-th step (call, line or
    return) the thread takes, and the guard's handler runs at the first step from there where the thread does
    not hold the signal (as the kernel delivers it): where Python runs a handler is wherever a slow machine
    held the thread when the signal came. ``where`` names the step it ran at."""

    def __init__(self, guard: SignalGuard, at: int) -> None:
        self.guard, self.at, self.steps, self.where = guard, at, 0, ""

    def __call__(self, frame: FrameType, event: str, arg: object) -> _SignalAt | None:
        self.steps += 1
        held = signal.SIGTERM in signal.pthread_sigmask(signal.SIG_BLOCK, [])
        if self.steps >= self.at and not self.where and not held:
            self.where = (
                f"{Path(frame.f_code.co_filename).name}:{frame.f_lineno} {frame.f_code.co_name} {event}"
            )
            self.guard._handle(signal.SIGTERM, frame)
        return self

    def run(self, action: Callable[[], object]) -> str:
        """``action`` in an interruptible block, traced: the name of what it raised, "" when nothing."""
        tracing = sys.gettrace()
        try:
            with self.guard.interruptible():
                sys.settrace(self)
                try:
                    action()
                finally:
                    sys.settrace(tracing)
        except BaseException as err:  # the point: which one
            return type(err).__name__
        return ""


class _Held(Transport):
    """The exchange, on its worker thread, is over only once ``answer`` is set: the signal always comes while
    the request is in flight."""

    def __init__(self) -> None:
        super().__init__(BASE, KEY, env={})
        self.answer = threading.Event()

    def _exchange(self, call: Call, *args: Any) -> None:
        self.answer.wait(5)
        call._finish(Reply(200, {}, b"{}"), None)


def test_a_signal_wherever_it_lands_in_a_request_raises_the_cancel_and_nothing_else() -> None:
    # Each step of Transport.send in turn. A handler raising inside threading's code (Thread.start,
    # Event.wait) cut Condition.wait between its lock's release and re-acquire: "RuntimeError: release
    # unlocked lock" replaced the cancel and the step ended as an internal error (seen once under load).
    clock, transport = FakeClock(), _Held()
    landed: dict[str, str] = {}
    for at in itertools.count(1):
        signal_at = _SignalAt(SignalGuard(), at)
        try:
            raised = signal_at.run(
                lambda: transport.send(Request("GET", "/api/ci/runs/r-1"), Deadline(clock.now + 0.05, clock))
            )
        finally:
            transport.answer.set()
            transport.answer = threading.Event()
        if not signal_at.where:
            break  # the request was over before its at-th step: every step has had its signal
        landed[signal_at.where] = raised
        assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == set(), signal_at.where  # none left held
    assert len(landed) > 20
    assert {where: raised for where, raised in landed.items() if raised != "CancelRequested"} == {}


def test_a_call_whose_wait_a_signal_cut_short_is_answered_when_waited_for_again() -> None:
    # The check run's create a signal interrupted is waited for again (answer_in_flight): its id must not be
    # lost, wherever in the wait the signal landed, even right after the answer was taken.
    landed: dict[str, str] = {}
    for at in itertools.count(1):
        call = Call("POST /repos/o/r/check-runs")
        call._finish(Reply(201, {}, b"{}"), None)
        signal_at = _SignalAt(SignalGuard(), at)
        signal_at.run(partial(call.wait, 1))
        if not signal_at.where:
            break  # the wait was over before its at-th step: every step has had its signal
        try:
            landed[signal_at.where] = str(call.wait(0.2).status)
        except TransportError as err:
            landed[signal_at.where] = str(err)
    assert len(landed) > 3
    assert {where: again for where, again in landed.items() if again != "201"} == {}


@responses.activate
def test_a_signal_held_while_the_models_load_waits_even_with_a_request_in_flight() -> None:
    # The models are imported with SIGINT and SIGTERM held (load_models). The kernel gives a process's signal
    # to any thread that does not hold it: a request's worker thread took it, and Python ran the handler in the
    # main thread anyway, in the middle of the import. No worker thread takes these signals: held is held.
    answer, worker_holds = threading.Event(), set()

    def held_answer(request: Any) -> tuple[int, dict[str, str], str]:
        worker_holds.update(signal.pthread_sigmask(signal.SIG_BLOCK, []))  # on the worker thread
        answer.wait(5)
        return 200, {}, "{}"

    responses.add_callback(responses.GET, RUN, callback=held_answer)
    guard, steps = SignalGuard(), []

    def import_held_then_go_on() -> None:
        with guard.interruptible():
            held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                steps.append("imported whole")
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)  # the signal, delivered now
            steps.append("went on")

    guard.install()
    try:
        call = Transport(BASE, KEY, env={})._start(Request("GET", "/api/ci/runs/r-1"), 5)  # in flight
        with pytest.raises(CancelRequested):
            import_held_then_go_on()
    finally:
        guard.uninstall()
        answer.set()
    assert call.wait(5).status == 200
    assert {signal.SIGINT, signal.SIGTERM} <= worker_holds
    assert steps == ["imported whole"]


class _AnsweredLate(Transport):
    """The create's answer comes once its replay is on the wire (a slow server: the replay is slower still, and
    never answered while the test runs)."""

    def __init__(self) -> None:
        super().__init__(BASE, KEY, env={})
        self.sent: list[str | None] = []
        self.sent_first, self.replayed, self.over = threading.Event(), threading.Event(), threading.Event()

    def _exchange(
        self, call: Call, request: Request, url: str, headers: dict[str, str], timeout: float
    ) -> None:
        self.sent.append(headers.get("Idempotency-Key"))
        if len(self.sent) == 1:
            self.sent_first.set()
            self.replayed.wait(5)
            call._finish(Reply(201, {}, b'{"runId": "r-1"}'), None)
        else:
            self.replayed.set()
            self.over.wait(5)
            call._finish(None, TransportError("the test is over"))


def test_a_create_answered_after_the_signal_is_learnt_from_its_own_answer_while_its_replay_is_slower(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # base-url's environment holds half the budget: the replay gets 1.25 s, less than a slow server takes to
    # answer it. The attempt the signal cut the wait for was sent first and answers first: its answer names the run.
    transport, clock = _AnsweredLate(), FakeClock()
    client = CertynClient(transport, clock, request_timeout_seconds=5, max_attempts=1, project_slug="my-app")
    wait = Call.wait

    def interrupted(self: Call, *args: Any, **kwargs: Any) -> Reply:
        monkeypatch.setattr(Call, "wait", wait)
        raise _Interrupted  # the job's cancellation, the create on the wire

    monkeypatch.setattr(Call, "wait", interrupted)
    with pytest.raises(_Interrupted):
        client.create(BODY, "k", deadline=clock.after(60))
    assert transport.sent_first.wait(5)  # the create is on the wire
    try:
        recovered = client.recover_create(deadline=clock.after(2.5))
    finally:
        transport.over.set()
    assert recovered is not None
    assert (recovered.run.run_id, recovered.replayed) == ("r-1", False)
    assert transport.sent == [
        "k",
        "k",
    ]  # the replay went out too: had the first answer been lost, it names the run


# -- the recovery of a create whose wait a signal cut short, on scripted calls (no thread, no sleep) -----------
RUN_CREATE = Request("POST", "/api/ci/runs", BODY, {"Idempotency-Key": "k"})


class _ScriptedCall(Call):
    """An exchange on ``clock``: over ``at`` seconds after it began (never when None) with ``answer``; each
    wait or slice of a wait moves the clock on to the answer or by the time asked, and is recorded."""

    def __init__(
        self,
        clock: FakeClock,
        answer: Reply | TransportError,
        at: float | None = 0,
        request: Request = RUN_CREATE,
    ) -> None:
        super().__init__(request.description)
        self.clock, self.answer = clock, answer
        self.at = None if at is None else clock.now + at
        self.asked: list[float] = []  # the seconds of each over_within
        self.waited: list[float] = []  # the timeout of each wait

    def _is_over(self, seconds: float) -> bool:
        assert len(self.asked) + len(self.waited) < 1000, "awaited without end"
        step = seconds if self.at is None else min(seconds, max(self.at - self.clock.now, 0.0))
        self.clock.advance(max(step, 0.0))
        return self.at is not None and self.clock.now >= self.at

    def over_within(self, seconds: float) -> bool:
        self.asked.append(seconds)
        return self._is_over(seconds)

    def wait(
        self,
        timeout: float,
        idle: Callable[[], float] | None = None,
        left: Callable[[], float] | None = None,
    ) -> Reply:
        self.waited.append(timeout)
        if not self._is_over(timeout):
            raise TransportError(f"{self.description}: no complete response within {timeout:.3g}s")
        if isinstance(self.answer, TransportError):
            raise self.answer
        return self.answer


class _Replaying(Transport):
    """A transport whose attempt in flight is ``in_flight``; ``begin`` starts ``replay`` (or raises it)."""

    def __init__(self, in_flight: Call | None, replay: Call | TransportError | None = None) -> None:
        super().__init__(BASE, KEY, env={})
        self.in_flight = in_flight
        self.replay = replay
        self.begun: list[Request] = []

    def begin(self, request: Request, deadline: Deadline) -> Call:
        self.begun.append(request)
        assert self.replay is not None, "nothing may be sent"
        if isinstance(self.replay, TransportError):
            raise self.replay
        return self.replay


def _cut_short(clock: FakeClock, transport: Transport, *, in_flight: bool = True) -> CertynClient:
    """A client whose run create was on the wire (``in_flight``) when a signal cut its wait short."""
    client = CertynClient(transport, clock, request_timeout_seconds=5, max_attempts=1, project_slug="my-app")
    client.creating = api_client.Creating(Ask(RUN_CREATE, "creating the run", operation="create"), in_flight)
    return client


def _run(run_id: str, status: int = 201) -> Reply:
    return Reply(status, requests.structures.CaseInsensitiveDict(), json.dumps({"runId": run_id}).encode())


@pytest.mark.parametrize(
    ("status", "taken"),
    [(199, False), (200, True), (201, True), (299, True), (300, False), (409, False), (500, False)],
)
def test_only_a_2xx_answer_in_flight_is_taken_for_what_the_create_made(status: int, taken: bool) -> None:
    # A 3xx, a 4xx or a 5xx made nothing the caller can name, even with an id in its body: it is no answer.
    clock = FakeClock()
    call = _ScriptedCall(clock, _run("e-1", status))
    client = _cut_short(clock, _Replaying(call))
    assert client.creating is not None
    answer = client.answer_in_flight(client.creating, clock.after(5))
    assert (answer is call.answer) is taken
    assert taken or answer is None


def test_the_answer_in_flight_is_awaited_for_half_the_time_left() -> None:
    # The other half is the release's: the lookup and the delete that follow still have time.
    clock = FakeClock()
    call = _ScriptedCall(clock, _run("e-1"), at=None)
    client = _cut_short(clock, _Replaying(call))
    assert client.creating is not None
    assert client.answer_in_flight(client.creating, clock.after(5)) is None
    assert call.waited == [2.5]
    assert clock.now == 1002.5


def test_the_call_in_flight_of_another_request_or_of_no_create_in_flight_is_not_awaited() -> None:
    clock = FakeClock()
    other = _ScriptedCall(clock, _run("e-1"), request=Request("GET", "/api/ci/runs/r-1"))
    client = _cut_short(clock, _Replaying(other))
    assert client.creating is not None
    assert client.answer_in_flight(client.creating, clock.after(5)) is None  # another request's answer
    client._transport.in_flight = None
    assert client.answer_in_flight(client.creating, clock.after(5)) is None  # nothing was in flight
    own = _ScriptedCall(clock, _run("e-1"))
    client = _cut_short(clock, _Replaying(own), in_flight=False)
    assert client.creating is not None
    assert client.answer_in_flight(client.creating, clock.after(5)) is None  # the create was not on the wire
    assert other.waited == own.waited == []


@pytest.mark.parametrize(
    ("status", "taken"), [(200, True), (201, True), (299, True), (300, False), (409, False), (500, False)]
)
def test_a_create_over_in_flight_names_the_run_only_by_a_2xx_else_it_is_replayed_once(
    status: int, taken: bool
) -> None:
    # A 3xx, 4xx or 5xx in flight is not a run, even with an id in its body: the replay (same key) names it.
    clock = FakeClock()
    replay = _ScriptedCall(clock, _run("r-2", 200), at=0.1)
    transport = _Replaying(_ScriptedCall(clock, _run("r-1", status)), replay)
    recovered = _cut_short(clock, transport).recover_create(clock.after(5))
    assert recovered is not None
    assert recovered.run.run_id == ("r-1" if taken else "r-2")
    assert transport.begun == ([] if taken else [RUN_CREATE])  # nothing is sent twice that need not be


def test_a_create_over_in_flight_with_no_answer_is_replayed_once() -> None:
    clock = FakeClock()
    replay = _ScriptedCall(clock, _run("r-2", 200), at=0.1)
    transport = _Replaying(_ScriptedCall(clock, TransportError("connection reset")), replay)
    recovered = _cut_short(clock, transport).recover_create(clock.after(5))
    assert recovered is not None
    assert recovered.run.run_id == "r-2"
    assert transport.begun == [RUN_CREATE]


def test_a_create_still_in_flight_whose_replay_cannot_be_sent_is_awaited_alone_to_the_end_in_one_wait() -> (
    None
):
    # The replay is refused before it is sent: the attempt in flight is the only one, awaited for all the time
    # left before the cancel's reserve at once (not in slices), its state first read without waiting, and
    # nothing at all once the time is over (exactly at the end).
    clock = FakeClock()
    in_flight = _ScriptedCall(clock, _run("r-1"), at=None)
    transport = _Replaying(in_flight, NotSent("POST /api/ci/runs: no time left"))
    assert _cut_short(clock, transport).recover_create(clock.after(5)) is None
    assert in_flight.asked == [0, 3.5]  # 5 s less the cancel's 1.5 s
    assert clock.now == 1003.5
    assert transport.begun == [RUN_CREATE]


def test_a_create_still_in_flight_whose_replay_cannot_be_sent_is_learnt_from_its_own_answer() -> None:
    clock = FakeClock()
    transport = _Replaying(
        _ScriptedCall(clock, _run("r-1"), at=2), NotSent("POST /api/ci/runs: no time left")
    )
    recovered = _cut_short(clock, transport).recover_create(clock.after(5))
    assert recovered is not None
    assert recovered.run.run_id == "r-1"
    assert clock.now == 1002


def test_a_create_in_flight_and_its_replay_are_awaited_in_turns_and_the_first_answer_is_taken_at_once() -> (
    None
):
    # The attempt in flight never answers; the replay answers 0.1 s in: taken then, not after a long wait on
    # the other, each awaited in slices of 0.05 s while both are.
    clock = FakeClock()
    in_flight, replay = _ScriptedCall(clock, _run("r-1"), at=None), _ScriptedCall(clock, _run("r-2"), at=0.1)
    recovered = _cut_short(clock, _Replaying(in_flight, replay)).recover_create(clock.after(5))
    assert recovered is not None
    assert recovered.run.run_id == "r-2"
    assert clock.now < 1000.2  # within a turn of its answer
    assert in_flight.asked[0] == 0
    assert max(in_flight.asked[1:] + replay.asked) <= 0.05


def test_a_replay_answering_late_in_a_short_budget_is_awaited_to_the_end() -> None:
    # base-url's environment holds half the budget: 1.5 s for the recovery here, the replay answers 1.4 s in,
    # after the last whole second of it: still taken.
    clock = FakeClock()
    in_flight, replay = _ScriptedCall(clock, _run("r-1"), at=None), _ScriptedCall(clock, _run("r-2"), at=1.4)
    recovered = _cut_short(clock, _Replaying(in_flight, replay)).recover_create(clock.after(3))
    assert recovered is not None
    assert recovered.run.run_id == "r-2"
