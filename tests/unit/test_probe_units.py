"""Unit tests for the holes the second hostile probe found; tests/e2e/test_e2e_probe.py proves each end to end."""

from __future__ import annotations

from typing import Any

import pytest
import responses

from certyn_action.api.client import ApiError, CertynClient, classify, read_created, read_status
from certyn_action.api.http import Deadline, DuplicateKey, Reply, Request, Transport
from certyn_action.github.signals import CancelRequested
from tests.fakes import FakeClock

BASE = "https://api.certyn.test"
KEY = "sk-live-very-secret"


@pytest.mark.parametrize("count", [b"1e999", b"-1e999", b"NaN", b"Infinity"])
def test_a_non_finite_test_case_count_is_unknown_not_a_crash_or_an_invalid_create(count: bytes) -> None:
    created = read_created(Reply(201, {}, b'{"runId": "r-1", "testCaseCount": ' + count + b"}"))
    assert created.run.run_id == "r-1"
    assert created.run.test_case_count is None


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


@pytest.mark.parametrize("text", ['"0"', '" 0 "', '"+0"', '"0_0"', '"0.0"', '"-0"', '"3"'])
@pytest.mark.parametrize("counter", ["failed", "blocked", "total", "passed"])
def test_a_counter_sent_as_text_is_an_invalid_status(counter: str, text: str) -> None:
    counts = {"total": "2", "passed": "2", "failed": "0", "blocked": "0", counter: text}
    body = '{"state": "completed", ' + ", ".join(f'"{k}": {v}' for k, v in counts.items()) + "}"
    with pytest.raises(ApiError, match=f"{counter}: .*must be a number") as raised:
        read_status(Reply(200, {}, body.encode()), "r-1")
    assert classify(raised.value)


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
        _SignalAsTheCreateStarts(), FakeClock(), request_timeout=5, max_attempts=3, project_slug="my-app"
    )
    with pytest.raises(CancelRequested):
        client.create({"projectSlug": "my-app"}, "k-1", deadline=1e9)
    assert client.create_may_have_made_a_run
    recovered = client.recover_create(FakeClock().monotonic() + 5)
    assert recovered is not None
    assert recovered.run.run_id == "r-1"
    assert create.call_count == 2  # the create, then one replay with the same key
    assert {call.request.headers["Idempotency-Key"] for call in responses.calls} == {"k-1"}


@responses.activate
@pytest.mark.parametrize("location", ["http://[::1", "https://[::1/x", "http://a]b[c/"])
def test_a_redirect_with_an_unparsable_location_is_the_redirect_error(location: str) -> None:
    responses.get(f"{BASE}/api/ci/runs/r-1", status=302, headers={"Location": location})
    client = CertynClient(
        Transport(BASE, KEY, env={}), FakeClock(), request_timeout=5, max_attempts=3, project_slug="p"
    )
    with pytest.raises(ApiError, match=r"redirect \(HTTP 302 to an unparsable location\)") as raised:
        client.status("r-1", deadline=1e9)
    assert raised.value.status == 302
    assert not classify(raised.value)
