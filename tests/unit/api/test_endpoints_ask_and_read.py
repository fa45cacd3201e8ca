"""What each endpoint of the client asks (method, path with its ids escaped, body, key) and how it reads the
answer, through a fake transport: the diagnosis reads, the AI conversation, the runner pools, an environment's
variables. A 404 says what is missing, a 401/403 what the key lacks; an unusable answer is retried."""

from __future__ import annotations

import importlib
import signal
import sys
import types
from functools import partial
from typing import Any

import pytest
from pydantic import BaseModel, model_validator

from certyn_action.api import client as api_client
from certyn_action.api.client import (
    READ,
    ApiError,
    Ask,
    AuthError,
    CertynClient,
    EnvironmentsApi,
    GaveUp,
    NotFound,
    another_key,
    list_runner_pools,
    read_model,
)
from certyn_action.api.http import NotSent, Reply, Request, TransportError
from certyn_action.settings import KEY_MAX_LENGTH, KEY_PATTERN
from tests.fakes import FakeClock, FakeTransport, far, reply

OVERVIEW = reply(200, {"projects": [{"id": "p-1", "slug": "my-app"}]})
ODD_ID = "a b/c?d"  # every id is escaped as one path segment
ODD_PATH = "a%20b%2Fc%3Fd"


def client_for(
    *answers: Reply | TransportError, attempts: int = 3, heard: list[tuple[str, str]] | None = None
) -> tuple[CertynClient, FakeTransport]:
    transport = FakeTransport(*answers)

    def on_retry(operation: str, error: ApiError, delay: float, failures: int) -> None:
        if heard is not None:
            heard.append((operation, error.message))

    client = CertynClient(
        transport,
        FakeClock(),
        request_timeout_seconds=5,
        max_attempts=attempts,
        project_slug="my-app",
        on_retry=on_retry,
    )
    return client, transport


# -- the diagnosis reads (issue 20) -----------------------------------------------------------------

DIAGNOSIS_READS: list[Any] = [
    pytest.param(
        lambda c: c.execution(ODD_ID, ODD_ID, far()),
        f"/api/projects/{ODD_PATH}/executions/{ODD_PATH}",
        f"execution {ODD_ID}",
        id="execution",
    ),
    pytest.param(
        lambda c: c.session_events(ODD_ID, ODD_ID, 3, far()),
        f"/api/projects/{ODD_PATH}/agentsessions/{ODD_PATH}/conversation?page=3&pageSize=500",
        f"the agent session {ODD_ID}",
        id="session events",
    ),
    pytest.param(
        lambda c: c.artifacts(ODD_ID, ODD_ID, far()),
        f"/api/projects/{ODD_PATH}/executions/{ODD_PATH}/artifacts?page=1&pageSize=50",
        f"the artifacts of execution {ODD_ID}",
        id="artifacts",
    ),
    pytest.param(
        lambda c: c.flaky_test_cases(ODD_ID, far()),
        f"/api/projects/{ODD_PATH}/flaky-testcases?threshold=0.2",
        "the flaky test cases",
        id="flaky test cases",
    ),
    pytest.param(
        lambda c: c.observations(ODD_ID, ODD_ID, far()),
        f"/api/projects/{ODD_PATH}/observations?processRunId=a+b%2Fc%3Fd&page=1&pageSize=20",
        "the run's observations",
        id="observations",
    ),
]


@pytest.mark.parametrize(("read", "path", "what"), DIAGNOSIS_READS)
def test_each_diagnosis_read_gets_its_path_with_the_ids_escaped_and_nothing_else(
    read: Any, path: str, what: str
) -> None:
    body: object = [] if "flaky" in path else {}
    client, transport = client_for(reply(200, body))
    read(client)
    assert transport.sent == [Request("GET", path)]  # no body, no Idempotency-Key, the usual body cap


@pytest.mark.parametrize(("read", "path", "what"), DIAGNOSIS_READS)
def test_a_diagnosis_read_answered_404_says_the_server_or_the_key_offers_none(
    read: Any, path: str, what: str
) -> None:
    client, transport = client_for(reply(404, {"error": "gone"}))
    with pytest.raises(NotFound) as err:
        read(client)
    assert err.value.message == (
        f"HTTP 404 while reading {what}: this server does not offer {what} (or the key cannot see them)."
        " Server said: gone"
    )
    assert len(transport.sent) == 1  # a 404 is not retried


@pytest.mark.parametrize(("read", "path", "what"), DIAGNOSIS_READS)
def test_a_diagnosis_read_retries_an_unusable_answer_naming_what_it_reads_then_gives_up(
    read: Any, path: str, what: str
) -> None:
    heard: list[tuple[str, str]] = []
    client, transport = client_for(*[reply(200, b'{"items": [')] * 2, reply(502), attempts=3, heard=heard)
    with pytest.raises(GaveUp) as err:
        read(client)
    unusable = f"{what} (HTTP 200) is not valid JSON: a proxy or load balancer answered, or the body was cut"
    assert heard == [(what, unusable)] * 2
    assert err.value.message.startswith(f"{what} failed after 3 attempts: HTTP 502 while reading {what}.")
    assert len(transport.sent) == 3


def test_an_execution_names_its_agent_session_or_none() -> None:
    client, _ = client_for(reply(200, {"agentSessionId": "s-1", "other": 1}), reply(200, {}))
    assert client.execution("p", "e", far()).agent_session_id == "s-1"
    assert client.execution("p", "e", far()).agent_session_id == ""


def test_the_session_events_are_read_with_their_payloads_skipping_what_is_not_an_event() -> None:
    page = {
        "items": [{"type": "tool_call", "payload": {"name": "click"}}, "noise", {"type": "x", "payload": 3}],
        "hasNextPage": "true",
    }
    client, _ = client_for(reply(200, page))
    events = client.session_events("p", "s", 1, far())
    assert [(e.type, dict(e.payload)) for e in events.items] == [("tool_call", {"name": "click"}), ("x", {})]
    assert events.has_next_page is True


def test_a_page_without_items_or_next_page_is_an_empty_last_page() -> None:
    client, _ = client_for(reply(200, {"items": None}))
    events = client.session_events("p", "s", 1, far())
    assert (events.items, events.has_next_page) == ((), False)


def test_the_artifacts_are_read_with_their_type_uri_and_description() -> None:
    artifact = {"type": "screenshot", "uri": "https://cdn/x.png", "description": "at the end"}
    client, _ = client_for(reply(200, {"items": [artifact]}))
    found = client.artifacts("p", "e", far()).items
    assert [(a.type, a.uri, a.description) for a in found] == [
        ("screenshot", "https://cdn/x.png", "at the end")
    ]


def test_the_flaky_test_cases_are_a_bare_array() -> None:
    marks = [{"testCaseId": "t-1", "flakinessScore": 0.5, "isQuarantined": True}, {"testCaseId": "t-2"}]
    client, _ = client_for(reply(200, marks))
    found = client.flaky_test_cases("p", far()).items
    assert [(m.test_case_id, m.flakiness_score, m.is_quarantined) for m in found] == [
        ("t-1", 0.5, True),
        ("t-2", None, False),
    ]


def test_flaky_test_cases_that_are_not_an_array_are_none() -> None:
    client, _ = client_for(reply(200, {"items": [{"testCaseId": "t-1"}]}))
    assert client.flaky_test_cases("p", far()).items == ()


def test_flaky_test_cases_answered_by_a_proxy_s_page_say_it_is_an_html_page() -> None:
    client, _ = client_for(reply(200, b" \n<html><body>Bad gateway</body></html>"), attempts=1)
    with pytest.raises(GaveUp) as err:
        client.flaky_test_cases("p", far())
    assert err.value.last == (
        "the flaky test cases (HTTP 200) is an HTML page: a proxy or load balancer answered, or the body was cut"
    )


def test_the_observations_are_read_by_their_titles() -> None:
    client, _ = client_for(reply(200, {"items": [{"title": "Slow checkout"}, {}], "hasNextPage": False}))
    assert [o.title for o in client.observations("p", "r", far()).items] == ["Slow checkout", ""]


# -- the AI conversation -----------------------------------------------------------------------------


def test_the_conversation_is_read_with_its_larger_body_cap_and_answers_with_the_last_assistant_message() -> (
    None
):
    answer = {
        "status": "idle",
        "messages": [{"role": "assistant", "content": "first"}, {"role": "assistant", "content": "last"}],
    }
    client, transport = client_for(reply(200, answer))
    conversation = client.conversation(ODD_ID, far())
    assert (conversation.answer, conversation.finished) == ("last", True)
    assert transport.sent == [
        Request("GET", f"/api/assistant/conversations/{ODD_PATH}", max_body=4 * 1024 * 1024)
    ]


def test_a_conversation_answered_404_says_the_server_or_the_key_offers_none() -> None:
    client, _ = client_for(reply(404))
    with pytest.raises(NotFound) as err:
        client.conversation("c-1", far())
    assert err.value.message == (
        "HTTP 404 while reading the AI conversation c-1: "
        "this server does not offer the AI conversation (or the key cannot see it)."
    )


def test_a_conversation_read_retries_a_blip_naming_the_ai_conversation() -> None:
    heard: list[tuple[str, str]] = []
    client, transport = client_for(reply(503), reply(200, {"status": "processing"}), heard=heard)
    assert client.conversation("c-1", far()).finished is False
    assert [operation for operation, _ in heard] == ["AI conversation"]
    assert len(transport.sent) == 2


# -- the per-test results ------------------------------------------------------------------------------


def test_the_per_test_results_are_read_for_the_project_id_with_the_run_id_escaped_and_a_larger_cap() -> None:
    client, transport = client_for(OVERVIEW, reply(200, {"items": [{"testCaseName": "Login"}]}))
    results = client.process_run(ODD_ID, far())
    assert [item.name for item in results.items] == ["Login"]
    assert transport.sent[1] == Request(
        "GET", f"/api/projects/p-1/process-runs/{ODD_PATH}", max_body=8 * 1024 * 1024
    )


def test_per_test_results_answered_404_say_the_server_or_the_key_offers_none() -> None:
    client, _ = client_for(OVERVIEW, reply(404))
    with pytest.raises(NotFound) as err:
        client.process_run("r-1", far())
    assert err.value.message == (
        "HTTP 404 while reading the per-test results of run r-1: "
        "this server does not offer per-test results for the run (or the key cannot see them)."
    )


# -- the self-hosted runner pools (issue 22) -----------------------------------------------------------


def test_the_runner_pools_are_a_bare_array_whose_unusable_entries_are_skipped() -> None:
    pools = [{"id": "rp-1", "name": "Linux"}, {"name": "no id"}, "noise", {"id": "rp-2", "isActive": False}]
    client, transport = client_for(reply(200, pools))
    found = list_runner_pools(client, far())
    assert [(pool.id, pool.name, pool.is_active) for pool in found] == [
        ("rp-1", "Linux", True),
        ("rp-2", "", False),
    ]
    assert transport.sent == [Request("GET", "/api/self-hosted/pools")]


def test_runner_pools_that_are_not_an_array_are_an_unusable_answer_retried_then_given_up() -> None:
    heard: list[tuple[str, str]] = []
    client, _ = client_for(*[reply(200, {"items": []})] * 2, attempts=2, heard=heard)
    with pytest.raises(GaveUp) as err:
        list_runner_pools(client, far())
    assert err.value.message == (
        "runner pools list failed after 2 attempts: the runner pools list (HTTP 200) is not a JSON array"
    )
    assert heard == [("runner pools list", "the runner pools list (HTTP 200) is not a JSON array")]


def test_runner_pools_answered_404_say_this_api_has_none_without_reading_as_project_not_found() -> None:
    client, _ = client_for(reply(404, {"message": "no route"}))
    with pytest.raises(ApiError) as err:
        list_runner_pools(client, far())
    assert type(err.value) is ApiError  # a NotFound would read "project not found"
    assert (err.value.status, err.value.message) == (
        404,
        "HTTP 404 while listing the self-hosted runner pools: this Certyn API has no self-hosted runner pools "
        "(remove `runner-pool`). Server said: no route",
    )


@pytest.mark.parametrize("status", [401, 403])
def test_runner_pools_refused_say_the_key_may_not_read_them(status: int) -> None:
    client, transport = client_for(reply(status))
    with pytest.raises(AuthError) as err:
        list_runner_pools(client, far())
    assert err.value.message == (
        f"the API key may not read the self-hosted runner pools (HTTP {status} while listing them): "
        "`runner-pool` needs a key with access to them. Use such a key, or remove `runner-pool` to run in "
        "Certyn's cloud."
    )
    assert len(transport.sent) == 1


# -- the temporary environment's variables (issue 22) --------------------------------------------------


def test_a_variable_is_posted_to_the_environment_with_its_description_and_no_idempotency_key() -> None:
    client, transport = client_for(OVERVIEW, reply(201, {}))
    assert EnvironmentsApi(client).set_variable(ODD_ID, "TOKEN", "v 1", far()) is True
    assert transport.sent[1] == Request(
        "POST",
        f"/api/projects/p-1/environments/{ODD_PATH}/variables",
        {"name": "TOKEN", "value": "v 1", "description": "Set by the Certyn GitHub Action (`variables`)"},
    )


def test_a_variable_the_environment_already_has_is_not_set_again() -> None:
    client, transport = client_for(OVERVIEW, reply(409, {"error": "exists"}))
    assert EnvironmentsApi(client).set_variable("e-1", "TOKEN", "v", far()) is False
    assert len(transport.sent) == 2


def test_a_variable_is_retried_after_a_blip_naming_the_variable_create() -> None:
    heard: list[tuple[str, str]] = []
    client, transport = client_for(OVERVIEW, reply(502), reply(201, {}), heard=heard)
    assert EnvironmentsApi(client).set_variable("e-1", "TOKEN", "v", far()) is True
    assert heard == [("variable create", "HTTP 502 while setting the variable `TOKEN`.")]
    assert transport.sent[1] == transport.sent[2]


def test_a_variable_for_an_environment_gone_says_so() -> None:
    client, _ = client_for(OVERVIEW, reply(404))
    with pytest.raises(NotFound) as err:
        EnvironmentsApi(client).set_variable("e-1", "TOKEN", "v", far())
    assert err.value.message == (
        "HTTP 404 while setting the variable `TOKEN`: the temporary environment was not found."
    )


def test_a_refused_variable_says_the_key_lacks_environment_rights() -> None:
    client, _ = client_for(OVERVIEW, reply(403))
    with pytest.raises(AuthError) as err:
        EnvironmentsApi(client).set_variable("e-1", "TOKEN", "v", far())
    assert err.value.message.startswith(
        "the API key lacks environment rights (HTTP 403 while setting the variable `TOKEN`): `base-url` creates"
    )


# -- another key, when the temporary environment's is taken ------------------------------------------


def test_another_key_keeps_the_key_short_enough_and_adds_a_random_suffix() -> None:
    key = another_key("k" * KEY_MAX_LENGTH, random_hex=lambda n: "ab" * n)
    assert key == "k" * (KEY_MAX_LENGTH - 7) + "-ababab"
    assert KEY_PATTERN.fullmatch(key)


def test_another_key_never_doubles_a_hyphen_where_the_key_is_cut() -> None:
    cut_at_a_hyphen = "k" * (KEY_MAX_LENGTH - 8) + "-" + "x" * 7
    assert (
        another_key(cut_at_a_hyphen, random_hex=lambda n: "ab" * n) == "k" * (KEY_MAX_LENGTH - 8) + "-ababab"
    )


def test_another_key_of_a_short_key_keeps_it_whole() -> None:
    assert another_key("gha-1", random_hex=lambda n: "f" * (2 * n)) == "gha-1-ffffff"


# -- the run's create and its recovery -----------------------------------------------------------------


class Interrupted(BaseException):
    """The job's cancellation, raised where the signal lands."""


def test_a_create_interrupted_while_reading_a_2xx_that_names_no_usable_run_is_replayed_at_release(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A 2xx made a run even when its body cannot be read: the release replays the create with its key.
    replayed = reply(200, {"runId": "r-1"}, {"Idempotency-Replayed": "true"})
    client, transport = client_for(reply(201, {"runId": ["r-1"]}), replayed)
    interruptions = iter([Interrupted()])

    def interrupted_once() -> None:
        if (interruption := next(interruptions, None)) is not None:
            raise interruption  # the signal lands as the answer is read

    monkeypatch.setattr(api_client, "load_models", interrupted_once)
    with pytest.raises(Interrupted):
        client.create({"projectSlug": "p"}, "k-1", deadline=far())
    assert client.create_may_have_made_a_run
    recovered = client.recover_create(deadline=far())
    assert recovered is not None
    assert (recovered.run.run_id, recovered.replayed) == ("r-1", True)
    assert [request.headers for request in transport.sent] == [{"Idempotency-Key": "k-1"}] * 2


def test_a_create_never_sent_made_no_run_and_nothing_is_replayed() -> None:
    client, transport = client_for(NotSent("POST /api/ci/runs: no time left"), attempts=1)
    with pytest.raises(GaveUp):
        client.create({"projectSlug": "p"}, "k-1", deadline=far())
    assert not client.create_may_have_made_a_run
    assert client.recover_create(deadline=far()) is None
    assert len(transport.sent) == 1


def test_a_create_answer_without_a_run_id_says_what_the_server_said_or_nothing() -> None:
    client, _ = client_for(reply(201, {"status": "queued"}))
    with pytest.raises(ApiError) as err:
        client.create({"projectSlug": "p"}, "k-1", deadline=far())
    assert (err.value.message, err.value.status) == (
        "Certyn answered the create with HTTP 201 but no runId; the run cannot be followed. Server said: nothing",
        201,
    )


def test_a_create_answer_with_an_unusable_run_id_is_invalid_naming_the_field() -> None:
    client, _ = client_for(reply(201, {"runId": ["r-1"]}))
    with pytest.raises(ApiError) as err:
        client.create({"projectSlug": "p"}, "k-1", deadline=far())
    assert err.value.message.startswith("the create response is invalid: runId: ")
    assert err.value.status == 201


def test_a_create_answer_that_is_not_json_is_retried_as_a_cut_body() -> None:
    client, _ = client_for(reply(201, b'{"runId": "r-'), attempts=1)
    with pytest.raises(GaveUp) as err:
        client.create({"projectSlug": "p"}, "k-1", deadline=far())
    assert err.value.last == (
        "the create response (HTTP 201) is not valid JSON: a proxy or load balancer answered, or the body was cut"
    )


# -- what every endpoint shares: reading the answer, wording the error ---------------------------------


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b" \n<html><body>Bad gateway</body></html>", "an HTML page"),
        (b'{"status": "id', "not valid JSON"),
    ],
    ids=["a proxy's page", "a cut body"],
)
def test_an_answer_that_is_not_json_says_whether_it_looks_like_a_proxy_page(
    body: bytes, problem: str
) -> None:
    client, _ = client_for(reply(200, body), attempts=1)
    with pytest.raises(GaveUp) as err:
        client.conversation("c-1", far())
    assert err.value.last == (
        f"the AI conversation (HTTP 200) is {problem}: a proxy or load balancer answered, or the body was cut"
    )
    assert (err.value.status, err.value.kind) == (200, "unusable body")


def test_an_answer_that_is_not_an_object_says_so() -> None:
    client, _ = client_for(reply(200, [{"id": "p-1", "slug": "my-app"}]), attempts=1)
    with pytest.raises(GaveUp) as err:
        client.project_id(far())
    assert err.value.message == (
        "projects overview failed after 1 attempt: the projects overview (HTTP 200) is not a JSON object"
    )


def test_the_servers_problem_details_are_quoted_in_order_without_repeats() -> None:
    details = {
        "error": "Bad request",
        "message": "Bad request",
        "title": "Validation failed",
        "detail": "see errors",
        "errors": {"name": "required", "value": ["too long", "not text"]},
    }
    client, _ = client_for(reply(400, details))
    with pytest.raises(ApiError) as err:
        client.conversation("c-1", far())
    assert err.value.message == (
        "HTTP 400 while reading the AI conversation c-1. Server said: Bad request — Validation failed — "
        "see errors — name: required — value: too long, not text"
    )
    assert (err.value.attempts, err.value.last) == (
        1,
        err.value.message,
    )  # one attempt: no "after N attempts"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"errors": ["first", 2]}, " Server said: first — 2"),
        ([{"error": "not an object"}], ""),
        (b"<html><body>Internal error</body></html>", ""),
        ({"message": "x" * 400}, " Server said: " + "x" * 299 + "…"),
    ],
    ids=["a list of errors", "not an object", "not JSON", "too long"],
)
def test_the_servers_words_are_quoted_only_from_an_object_and_cut_short(body: object, said: str) -> None:
    client, _ = client_for(reply(422, body))
    with pytest.raises(ApiError) as err:
        client.conversation("c-1", far())
    assert err.value.message == f"HTTP 422 while reading the AI conversation c-1.{said}"


@pytest.mark.parametrize(
    ("headers", "target"),
    [
        ({"Location": "https://login.example.com/sso?next=/api"}, "login.example.com"),
        ({}, "elsewhere"),
        ({"Location": "/maintenance"}, "elsewhere"),
        ({"Location": "http://[::1"}, "an unparsable location"),
        ({"Location": f"https://{'a' * 120}.example.com/"}, "a" * 99 + "…"),
    ],
    ids=["another host", "no location", "a path", "unparsable", "a long host"],
)
def test_a_redirect_names_where_it_pointed_and_that_the_key_never_follows(
    headers: dict[str, str], target: str
) -> None:
    client, transport = client_for(reply(302, b"", headers))
    with pytest.raises(ApiError) as err:
        client.conversation("c-1", far())
    assert err.value.message == (
        f"the API answered with a redirect (HTTP 302 to {target}) while reading the AI conversation c-1; "
        "the API key is never sent to a redirect target: set `api-url` to the API's final address."
    )
    assert (err.value.status, len(transport.sent)) == (302, 1)


def test_a_run_that_is_not_found_says_so() -> None:
    client, _ = client_for(reply(404))
    with pytest.raises(NotFound) as err:
        client.status("r-1", far())
    assert err.value.message == "HTTP 404 while reading the run's status: the run was not found."


class Inner(BaseModel):
    name: str


class Outer(BaseModel):
    inner: Inner


class Whole(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def refuse(cls, data: object) -> object:
        raise ValueError("x" * 300)


@pytest.mark.parametrize(
    ("model", "body", "where"),
    [
        (Outer, {"inner": {}}, "inner.name: Field required"),
        (Whole, {}, "body: Value error, " + "x" * (200 - len("body: Value error, ") - 1) + "…"),
    ],
    ids=["a nested field", "the whole body"],
)
def test_an_answer_a_model_cannot_read_names_the_field_and_is_retried(
    model: type[BaseModel], body: object, where: str
) -> None:
    client, _ = client_for(reply(201, body), attempts=1)
    ask = Ask(Request("GET", "/api/x"), "reading x", operation="x")
    with pytest.raises(GaveUp) as err:
        client.call(ask, partial(read_model, model=model, what="the x"), READ, far())
    assert err.value.last == f"the x (HTTP 201) is invalid: {where}"
    assert (err.value.status, err.value.kind) == (201, "unusable body")


def test_the_models_are_imported_once_with_the_job_s_signals_held(monkeypatch: pytest.MonkeyPatch) -> None:
    held_while_importing: list[set[int | signal.Signals]] = []
    imported: list[str] = []

    def import_module(name: str) -> object:
        held_while_importing.append(signal.pthread_sigmask(signal.SIG_BLOCK, []))
        imported.append(name)
        sys.modules[name] = types.ModuleType(name)
        return sys.modules[name]

    monkeypatch.delitem(sys.modules, "certyn_action.api.models")
    monkeypatch.setattr(importlib, "import_module", import_module)
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    api_client.load_models()
    api_client.load_models()
    assert imported == ["certyn_action.api.models"]
    assert {signal.SIGINT, signal.SIGTERM} <= held_while_importing[0]
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before  # released afterwards


# -- the projects overview -----------------------------------------------------------------------------


def test_the_project_id_is_read_from_the_overview_once() -> None:
    heard: list[tuple[str, str]] = []
    client, transport = client_for(reply(500), OVERVIEW, heard=heard)
    assert client.project_id(far()) == "p-1"
    assert client.project_id(far()) == "p-1"
    assert transport.sent == [Request("GET", "/api/projects/overview")] * 2  # the blip, then the answer
    assert heard == [("projects overview", "HTTP 500 while reading the projects overview.")]


def test_a_project_the_key_cannot_see_is_not_found_naming_the_input() -> None:
    client, _ = client_for(reply(200, {"projects": [{"id": "p-2", "slug": "other"}]}))
    with pytest.raises(NotFound) as err:
        client.project_id(far())
    assert (err.value.message, err.value.status) == (
        "project `my-app` is not among the projects this API key can see (GET /api/projects/overview): "
        "check `project-slug` and the key's access.",
        404,
    )


# -- the per-test results: retried, and refused when they are another run's ----------------------------


def test_per_test_results_are_retried_naming_them() -> None:
    heard: list[tuple[str, str]] = []
    client, _ = client_for(OVERVIEW, reply(200, b"<html>"), reply(200, {"id": "r-1"}), heard=heard)
    assert client.process_run("r-1", far()).id == "r-1"
    assert heard == [
        (
            "per-test results",
            "the per-test results (HTTP 200) is an HTML page: a proxy or load balancer answered, or the body was cut",
        )
    ]


def test_per_test_results_of_another_run_are_refused_as_a_proxy_s_or_a_fault() -> None:
    other = "r-" + "9" * 100
    client, _ = client_for(OVERVIEW, reply(200, {"id": other}), attempts=1)
    with pytest.raises(GaveUp) as err:
        client.process_run("r-1", far())
    assert err.value.last == (
        f"the per-test results (HTTP 200) is for run {repr(other)[:79]}…, not run r-1: "
        "a caching proxy or a server fault answered"
    )
    assert (err.value.status, err.value.kind) == (200, "unusable body")


# -- the temporary environment -----------------------------------------------------------------------

BODY = {"key": "gha-shop-1", "label": "GitHub Actions", "baseUrl": "https://pr-1.example.com"}
ENVIRONMENTS = "/api/projects/p-1/environments"


def listed(*keys: str, more: bool = False) -> Reply:
    items = [{"id": f"id-{key}", "key": key, "label": "x", "baseUrl": "https://elsewhere"} for key in keys]
    return reply(200, {"items": items, "hasNextPage": more})


def test_the_environment_create_posts_its_body_and_knows_its_key() -> None:
    client, transport = client_for(OVERVIEW, reply(201, {"id": "e-1", "key": BODY["key"]}))
    api = EnvironmentsApi(client)
    assert (api.key, api.taken_key) == ("", "")
    assert api.create(BODY, far()).id == "e-1"
    assert (api.key, api.taken_key) == (BODY["key"], "")
    assert transport.sent[1] == Request("POST", ENVIRONMENTS, BODY)


def test_the_environment_create_is_retried_naming_it_and_its_answer() -> None:
    heard: list[tuple[str, str]] = []
    client, _ = client_for(OVERVIEW, reply(201, {"key": "no id"}), reply(201, {"id": "e-1"}), heard=heard)
    assert EnvironmentsApi(client).create(BODY, far()).id == "e-1"
    [(operation, error)] = heard
    assert operation == "environment create"
    assert error.startswith("the environment create response (HTTP 201) is invalid: id: ")


def test_an_environment_create_that_fails_says_it_was_creating_the_temporary_environment() -> None:
    client, _ = client_for(OVERVIEW, reply(400))
    with pytest.raises(ApiError) as err:
        EnvironmentsApi(client).create(BODY, far())
    assert err.value.message == "HTTP 400 while creating the temporary environment."


def test_both_keys_taken_by_someone_else_s_environments_says_so_and_to_re_run() -> None:
    taken = reply(409, {"error": "key in use"})
    client, transport = client_for(OVERVIEW, taken, listed("someone-else"), taken)
    api = EnvironmentsApi(client)
    with pytest.raises(ApiError) as err:
        api.create(BODY, far())
    assert (err.value.message, err.value.status) == (
        f"HTTP 409 while creating the temporary environment: the keys `{BODY['key']}` and `{api.key}` are both "
        "taken by environments this step did not create. Re-run the job.",
        409,
    )
    assert transport.sent[2] == Request("GET", f"{ENVIRONMENTS}?page=1&pageSize=100")
    assert transport.sent[3].json_body == {**BODY, "key": api.key}


def test_the_environments_list_is_retried_naming_it() -> None:
    heard: list[tuple[str, str]] = []
    client, _ = client_for(OVERVIEW, reply(503), reply(200, []), listed("gha-shop-1"), heard=heard)
    found = EnvironmentsApi(client).find("gha-shop-1", far())
    assert found is not None
    assert found.id == "id-gha-shop-1"
    assert heard == [
        ("environments list", "HTTP 503 while listing the environments."),
        ("environments list", "the environments list (HTTP 200) is not a JSON object"),
    ]


def test_a_refused_environments_list_says_the_key_lacks_environment_rights() -> None:
    client, _ = client_for(OVERVIEW, reply(403))
    with pytest.raises(AuthError) as err:
        EnvironmentsApi(client).find("gha-shop-1", far())
    assert err.value.message.startswith(
        "the API key lacks environment rights (HTTP 403 while listing the environments):"
    )


def test_the_environment_delete_is_retried_naming_it() -> None:
    heard: list[tuple[str, str]] = []
    client, transport = client_for(OVERVIEW, reply(502), reply(204, b""), heard=heard)
    assert EnvironmentsApi(client).delete(ODD_ID, far()) == "deleted"
    assert transport.sent[1:] == [Request("DELETE", f"{ENVIRONMENTS}/{ODD_PATH}")] * 2
    assert heard == [("environment delete", f"HTTP 502 while deleting environment {ODD_ID}.")]
