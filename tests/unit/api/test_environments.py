"""api/client.py's EnvironmentsApi against mocked HTTP (responses): the temporary environment's create (and its 409
recovery), list, find and delete; a 401/403 says the key lacks environment rights."""

from __future__ import annotations

import json

import pytest
import requests
import responses
from requests.structures import CaseInsensitiveDict
from responses import matchers

from certyn_action.api.client import ApiError, Ask, AuthError, CertynClient, Creating, EnvironmentsApi
from certyn_action.api.http import Call, Reply, Request, Transport
from certyn_action.settings import KEY_PATTERN
from tests.fakes import FakeClock, far

BASE = "https://api.certyn.test"
KEY = "sk-live-very-secret"
OVERVIEW = f"{BASE}/api/projects/overview"
ENVS = f"{BASE}/api/projects/p-1/environments"
BODY = {"key": "gha-shop-1-1-test-0-abc", "label": "GitHub Actions", "baseUrl": "https://pr-1.example.com"}
CREATED = {"id": "e-1", "projectId": "p-1", "key": BODY["key"], "baseUrl": BODY["baseUrl"]}


def api(clock: FakeClock | None = None, attempts: int = 3) -> EnvironmentsApi:
    responses.get(OVERVIEW, json={"projects": [{"id": "p-1", "slug": "my-app"}]})
    client = CertynClient(
        Transport(BASE, KEY, env={}),
        clock or FakeClock(),
        request_timeout_seconds=5,
        max_attempts=attempts,
        project_slug="my-app",
    )
    return EnvironmentsApi(client)


def page(
    *keys: str, number: int = 1, more: bool = False, base_url: str = BODY["baseUrl"]
) -> dict[str, object]:
    items = [{"id": f"id-{key}", "key": key, "label": BODY["label"], "baseUrl": base_url} for key in keys]
    return {"items": items, "page": number, "pageSize": 100, "hasNextPage": more}


@responses.activate
def test_create_posts_the_body_with_the_key_to_the_projects_environments() -> None:
    responses.post(
        ENVS,
        status=201,
        json=CREATED,
        match=[matchers.json_params_matcher(BODY), matchers.header_matcher({"X-API-Key": KEY})],
    )
    environment = api().create(BODY, deadline=far())
    assert (environment.id, environment.key) == ("e-1", BODY["key"])
    assert [c.request.method for c in responses.calls] == ["GET", "POST"]  # the project id first, once


@responses.activate
def test_create_retries_a_transient_failure_then_a_409_finds_its_own_environment() -> None:
    responses.post(ENVS, status=502)
    responses.post(ENVS, status=409, json={"error": "key in use"})
    responses.get(
        ENVS,
        json=page("other", more=True),
        match=[matchers.query_param_matcher({"page": "1", "pageSize": "100"})],
    )
    responses.get(
        ENVS,
        json=page(BODY["key"].upper(), number=2),
        match=[matchers.query_param_matcher({"page": "2", "pageSize": "100"})],
    )
    environment = api().create(BODY, deadline=far())
    assert environment.id == f"id-{BODY['key'].upper()}"
    assert sum(c.request.method == "POST" for c in responses.calls) == 2


@pytest.mark.parametrize(
    "listed",
    [page("someone-else"), page(BODY["key"], base_url="https://someone-elses.example.com")],
    ids=["not listed", "another base URL"],
)
@responses.activate
def test_a_409_for_an_environment_this_step_did_not_make_gets_a_new_key_never_the_other(
    listed: dict[str, object],
) -> None:
    responses.post(ENVS, status=409, match=[matchers.json_params_matcher(BODY)])
    responses.get(ENVS, json=listed)
    responses.post(ENVS, status=201, json={"id": "e-mine"})
    environments = api()
    environment = environments.create(BODY, deadline=far())
    posted = [c.request for c in responses.calls if c.request.method == "POST"]
    fresh = json.loads(posted[-1].body or b"{}")
    assert environment.id == "e-mine"  # never the listed one: it is not provably ours
    assert fresh["key"] != BODY["key"]
    assert fresh["key"].startswith(BODY["key"][:40])
    assert KEY_PATTERN.match(fresh["key"])
    assert {**fresh, "key": BODY["key"]} == BODY
    assert (environments.key, environments.taken_key) == (fresh["key"], BODY["key"])


@pytest.mark.parametrize("status", [401, 403])
@responses.activate
def test_a_refused_create_says_the_key_lacks_environment_rights(status: int) -> None:
    responses.post(ENVS, status=status, json={"error": "forbidden"})
    with pytest.raises(AuthError, match="lacks environment rights") as caught:
        api().create(BODY, deadline=far())
    assert caught.value.status == status
    assert sum(c.request.method == "POST" for c in responses.calls) == 1  # not retried


@pytest.mark.parametrize(
    ("first", "may_have_made"),
    [
        (requests.ConnectionError("connection reset"), True),  # went out, no answer: it may have made one
        ({"status": 502}, True),  # a gateway gave up on a backend that may have gone on
        ({"status": 503}, False),  # refused before it was acted on
        ({"status": 429}, False),
    ],
)
@responses.activate
def test_the_create_records_whether_an_attempt_may_have_made_the_environment(
    first: Exception | dict[str, int], may_have_made: bool
) -> None:
    if isinstance(first, Exception):
        responses.post(ENVS, body=first)
    else:
        responses.post(ENVS, **first)
    responses.post(ENVS, status=403, json={"error": "blocked by the firewall"})
    environments = api()
    with pytest.raises(AuthError):
        environments.create(BODY, deadline=far())
    assert environments.creating is not None
    assert environments.creating.may_have_made is may_have_made


@responses.activate
def test_find_stops_at_the_last_page() -> None:
    responses.get(ENVS, json=page("a", more=False))
    assert api().find("missing", deadline=far()) is None
    assert sum(c.request.method == "GET" for c in responses.calls) == 2  # the overview and one page


@responses.activate
def test_find_does_not_follow_an_empty_page_that_says_there_is_more() -> None:
    responses.get(ENVS, json={"items": [], "hasNextPage": True})
    assert api().find("missing", deadline=far()) is None
    assert sum("/environments" in (c.request.url or "") for c in responses.calls) == 1


@responses.activate
def test_find_is_bounded_when_the_server_always_says_there_is_more() -> None:
    responses.get(ENVS, json=page("a", more=True))
    assert api().find("missing", deadline=far()) is None
    assert sum("/environments" in (c.request.url or "") for c in responses.calls) == 50


@responses.activate
def test_delete_sends_delete_to_the_escaped_id() -> None:
    responses.delete(f"{ENVS}/e%2F1", status=204, match=[matchers.header_matcher({"X-API-Key": KEY})])
    assert api().delete("e/1", deadline=far()) == "deleted"


@responses.activate
def test_delete_of_an_environment_already_gone_is_not_an_error() -> None:
    responses.delete(f"{ENVS}/e-1", status=404)
    assert api().delete("e-1", deadline=far()) == "already deleted"


@responses.activate
def test_delete_retries_quickly_then_fails_with_an_error() -> None:
    clock = FakeClock()
    responses.delete(f"{ENVS}/e-1", status=503)
    with pytest.raises(ApiError):
        api(clock, attempts=3).delete("e-1", deadline=clock.after(5))
    assert sum(c.request.method == "DELETE" for c in responses.calls) == 3
    assert clock.monotonic() < 1005  # quick retries: within the cancel budget


@responses.activate
def test_a_refused_delete_says_the_key_lacks_environment_rights() -> None:
    responses.delete(f"{ENVS}/e-1", status=403)
    with pytest.raises(AuthError, match="lacks environment rights"):
        api().delete("e-1", deadline=far())


@responses.activate
def test_no_create_counts_as_sent_while_the_project_overview_is_still_being_read() -> None:
    environments = api(attempts=1)
    responses.replace(responses.GET, OVERVIEW, status=500)
    with pytest.raises(ApiError):
        environments.create(BODY, deadline=far())
    assert not environments.create_sent
    assert [c.request.method for c in responses.calls] == ["GET"]


def _cut_short(reply: Reply | None = None, in_flight: Reply | None = None) -> EnvironmentsApi:
    """The environments of a step whose create a signal cut short: its answer kept (``reply``: its reading was
    cut) or its attempt on the wire (over with ``in_flight``, its wait cut)."""
    client = CertynClient(
        Transport(BASE, KEY, env={}),
        FakeClock(),
        request_timeout_seconds=5,
        max_attempts=1,
        project_slug="my-app",
    )
    environments = EnvironmentsApi(client)
    request = Request("POST", "/api/projects/p-1/environments", BODY)
    environments.creating = Creating(Ask(request, "creating the environment"), in_flight=True, reply=reply)
    if in_flight is not None:
        call = Call(request.description)
        call._finish(in_flight, None)
        client._transport.in_flight = call
    return environments


def _answer(status: int, data: object) -> Reply:
    return Reply(status, CaseInsensitiveDict(), json.dumps(data).encode())


def test_the_environment_of_a_create_whose_reading_was_cut_is_read_from_its_kept_answer() -> None:
    # Its id is what the release deletes: no environment left behind, nothing sent.
    environments = _cut_short(reply=_answer(201, CREATED), in_flight=_answer(201, {**CREATED, "id": "e-2"}))
    answered = environments.answered(far())
    assert answered is not None
    assert answered.id == "e-1"


def test_the_environment_of_a_create_whose_wait_was_cut_is_read_from_its_answer_in_flight() -> None:
    answered = _cut_short(in_flight=_answer(201, CREATED)).answered(far())
    assert answered is not None
    assert answered.id == "e-1"


@pytest.mark.parametrize(
    "reply",
    [_answer(409, CREATED), _answer(201, {"key": BODY["key"]}), Reply(201, CaseInsensitiveDict(), b"<html>")],
    ids=["refused", "no id", "not JSON"],
)
def test_an_answer_in_flight_that_names_no_environment_is_none(reply: Reply) -> None:
    assert _cut_short(in_flight=reply).answered(far()) is None


def test_no_environment_is_answered_before_a_create_was_sent() -> None:
    environments = _cut_short()
    environments.creating = None
    assert environments.answered(far()) is None
