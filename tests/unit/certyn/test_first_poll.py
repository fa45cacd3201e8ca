"""The first poll sent ahead: on the wire while the create reply is validated, and only ever used for the
run the model read (``certyn/first_poll.py``, through the client)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
import responses

from certyn_action.certyn import readers
from certyn_action.certyn.client import CertynClient
from certyn_action.certyn.errors import ApiError
from certyn_action.certyn.http import Call, Transport
from certyn_action.core import models
from certyn_action.core.api import raw_run_id
from tests.fakes import FakeClock

BASE = "https://api.certyn.test"
CREATE = f"{BASE}/api/ci/runs"
BODY = {"projectSlug": "my-app", "processSlug": "smoke"}


class _Spy(Transport):
    """Records each exchange as it starts, in one list with the create reply's validations."""

    def __init__(self, events: list[str]) -> None:
        super().__init__(BASE, "sk-key", env={})
        self.events = events

    def start(self, method: str, path: str, **kwargs: Any) -> Call:
        self.events.append(f"{method} {path}")
        return super().start(method, path, **kwargs)


def _spied_client(events: list[str], monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> CertynClient:
    validate = models.CreatedRun.model_validate

    def recording(data: Any) -> models.CreatedRun:
        events.append("validate create reply")
        return validate(data)

    monkeypatch.setattr(models.CreatedRun, "model_validate", recording)
    return CertynClient(_Spy(events), clock, request_timeout=5, max_attempts=3, project_slug="my-app")


@responses.activate
def test_the_first_poll_goes_out_before_the_create_reply_is_validated_and_status_takes_its_reply(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    responses.post(CREATE, json={"runId": "r 1"}, status=201)
    responses.get(f"{CREATE}/r%201", json={"state": "completed", "total": 1, "passed": 1})
    events: list[str] = []
    clock = FakeClock()
    client = _spied_client(events, monkeypatch, clock)
    sent_at = clock.now
    created = client.create(BODY, "k", deadline=2000, poll_ahead=True)
    assert events == ["POST /api/ci/runs", "GET /api/ci/runs/r%201", "validate create reply"]
    clock.advance(1.5)  # the create reply's validation, say
    status = client.status(created.run.run_id, deadline=2000)
    assert client.poll_sent_at == sent_at  # the poll interval counts from when it went out
    assert (status.state, status.passed) == ("completed", 1)
    assert [c.request.method for c in responses.calls] == ["POST", "GET"]  # the poll was sent once


@responses.activate
def test_without_poll_ahead_nothing_is_polled_during_the_create(monkeypatch: pytest.MonkeyPatch) -> None:
    responses.post(CREATE, json={"runId": "r-1"}, status=201)
    events: list[str] = []
    _spied_client(events, monkeypatch, FakeClock()).create(BODY, "k", deadline=2000)
    assert events == ["POST /api/ci/runs", "validate create reply"]


@pytest.mark.parametrize("run_id", ["..", ".", "\ud800x", "x" * 201, "", True, None, 1.5, ["r"]])
@responses.activate
def test_a_raw_run_id_the_model_would_not_read_as_is_is_never_polled_ahead(
    run_id: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    responses.post(CREATE, json={"runId": run_id}, status=201)
    events: list[str] = []
    with contextlib.suppress(ApiError):  # refused by the model or not: only what was sent matters here
        _spied_client(events, monkeypatch, FakeClock()).create(BODY, "k", deadline=2000, poll_ahead=True)
    assert [e for e in events if e.startswith("GET")] == []
    assert raw_run_id({"runId": run_id}) is None


@pytest.mark.parametrize("run_id", ["r-1", 42, "..a", "x" * 200, "ünï cødé"])
def test_a_raw_run_id_is_polled_ahead_only_as_the_model_reads_it(run_id: object) -> None:
    assert raw_run_id({"runId": run_id}) == models.CreatedRun.model_validate({"runId": run_id}).run_id


@responses.activate
def test_an_error_answer_to_the_create_polls_nothing_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    responses.post(CREATE, json={"runId": "r-1"}, status=503)  # a gateway, naming a run it did not make
    responses.post(CREATE, json={"runId": "r-2"}, status=201)
    events: list[str] = []
    client = _spied_client(events, monkeypatch, FakeClock())
    assert client.create(BODY, "k", deadline=2000, poll_ahead=True).run.run_id == "r-2"
    assert [e for e in events if e.startswith("GET")] == ["GET /api/ci/runs/r-2"]


@responses.activate
def test_a_polled_ahead_reply_is_never_used_for_another_run(monkeypatch: pytest.MonkeyPatch) -> None:
    responses.post(CREATE, json={"runId": 42}, status=201)
    responses.get(f"{CREATE}/42", json={"state": "in_progress"})
    responses.get(f"{CREATE}/43", json={"state": "completed"})
    events: list[str] = []
    client = _spied_client(events, monkeypatch, FakeClock())
    assert client.create(BODY, "k", deadline=2000, poll_ahead=True).run.run_id == "42"
    assert client.status("43", deadline=2000).state == "completed"
    assert events[-1] == "GET /api/ci/runs/43"


@responses.activate
def test_the_poll_sent_ahead_answers_one_status_only(monkeypatch: pytest.MonkeyPatch) -> None:
    responses.post(CREATE, json={"runId": "r-1"}, status=201)
    responses.get(f"{CREATE}/r-1", json={"state": "queued"})
    responses.get(f"{CREATE}/r-1", json={"state": "completed"})
    events: list[str] = []
    client = _spied_client(events, monkeypatch, FakeClock())
    client.create(BODY, "k", deadline=2000, poll_ahead=True)
    assert [client.status("r-1", deadline=2000).state for _ in range(2)] == ["queued", "completed"]
    assert events.count("GET /api/ci/runs/r-1") == 2


@responses.activate
def test_a_poll_sent_ahead_that_gets_an_error_is_that_error(monkeypatch: pytest.MonkeyPatch) -> None:
    responses.post(CREATE, json={"runId": "r-1"}, status=201)
    responses.get(f"{CREATE}/r-1", status=401, json={"title": "key revoked"})
    client = _spied_client([], monkeypatch, FakeClock())
    client.create(BODY, "k", deadline=2000, poll_ahead=True)
    with pytest.raises(ApiError) as caught:
        client.status("r-1", deadline=2000)
    assert caught.value.status == 401


@responses.activate
def test_recovering_a_create_polls_nothing_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    responses.post(CREATE, json={"appUrl": "https://app/r"}, status=201)  # made a run, names none
    responses.post(CREATE, json={"runId": "r-1"}, status=200)  # the replay names it
    events: list[str] = []
    client = _spied_client(events, monkeypatch, FakeClock())
    with pytest.raises(ApiError, match="no runId"):
        client.create(BODY, "k", deadline=2000, poll_ahead=True)
    recovered = client.recover_create(deadline=2000)
    assert recovered is not None
    assert recovered.run.run_id == "r-1"
    assert events == ["POST /api/ci/runs", "POST /api/ci/runs", "validate create reply"]


class _Interrupted(BaseException):
    pass


@responses.activate
def test_a_create_interrupted_while_its_reply_is_validated_still_yields_its_run_without_a_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    responses.post(CREATE, json={"runId": "r-1"}, status=201)
    events: list[str] = []
    client = _spied_client(events, monkeypatch, FakeClock())
    interruptions = iter([_Interrupted()])

    def interrupted_once() -> None:
        error = next(interruptions, None)
        if error is not None:
            raise error  # a cancellation signal while pydantic was still loading

    monkeypatch.setattr(readers, "await_models", interrupted_once)
    with pytest.raises(_Interrupted):
        client.create(BODY, "k", deadline=2000)
    answered = client.answered_create()
    assert answered is not None
    assert answered.run.run_id == "r-1"
    assert events == ["POST /api/ci/runs", "validate create reply"]  # nothing sent again
