"""What each endpoint of the client asks (method, path with its ids escaped, body, key) and how it reads the
answer, through a fake transport: the diagnosis reads, the AI conversation, the runner pools, an environment's
variables. A 404 says what is missing, a 401/403 what the key lacks; an unusable answer is retried."""

from __future__ import annotations

from typing import Any

import pytest

from certyn_action.api.client import (
    ApiError,
    AuthError,
    CertynClient,
    EnvironmentsApi,
    GaveUp,
    NotFound,
    another_key,
    list_runner_pools,
)
from certyn_action.api.http import Reply, Request, TransportError
from certyn_action.settings import KEY_MAX_LENGTH, KEY_PATTERN
from tests.fakes import FakeClock, FakeTransport, reply

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
        request_timeout=5,
        max_attempts=attempts,
        project_slug="my-app",
        on_retry=on_retry,
    )
    return client, transport


# -- the diagnosis reads (issue 20) -----------------------------------------------------------------

DIAGNOSIS_READS: list[Any] = [
    pytest.param(
        lambda c: c.execution(ODD_ID, ODD_ID, 2000),
        f"/api/projects/{ODD_PATH}/executions/{ODD_PATH}",
        f"execution {ODD_ID}",
        id="execution",
    ),
    pytest.param(
        lambda c: c.session_events(ODD_ID, ODD_ID, 3, 2000),
        f"/api/projects/{ODD_PATH}/agentsessions/{ODD_PATH}/conversation?page=3&pageSize=500",
        f"the agent session {ODD_ID}",
        id="session events",
    ),
    pytest.param(
        lambda c: c.artifacts(ODD_ID, ODD_ID, 2000),
        f"/api/projects/{ODD_PATH}/executions/{ODD_PATH}/artifacts?page=1&pageSize=50",
        f"the artifacts of execution {ODD_ID}",
        id="artifacts",
    ),
    pytest.param(
        lambda c: c.flaky_test_cases(ODD_ID, 2000),
        f"/api/projects/{ODD_PATH}/flaky-testcases?threshold=0.2",
        "the flaky test cases",
        id="flaky test cases",
    ),
    pytest.param(
        lambda c: c.observations(ODD_ID, ODD_ID, 2000),
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
    client, transport = client_for(*[reply(200, b"<html>")] * 2, reply(502), attempts=3, heard=heard)
    with pytest.raises(GaveUp) as err:
        read(client)
    assert [operation for operation, _ in heard] == [what, what]
    assert err.value.message.startswith(f"{what} failed after 3 attempts: HTTP 502 while reading {what}.")
    assert len(transport.sent) == 3


def test_an_execution_names_its_agent_session_or_none() -> None:
    client, _ = client_for(reply(200, {"agentSessionId": "s-1", "other": 1}), reply(200, {}))
    assert client.execution("p", "e", 2000).agent_session_id == "s-1"
    assert client.execution("p", "e", 2000).agent_session_id == ""


def test_the_session_events_are_read_with_their_payloads_skipping_what_is_not_an_event() -> None:
    page = {
        "items": [{"type": "tool_call", "payload": {"name": "click"}}, "noise", {"type": "x", "payload": 3}],
        "hasNextPage": "true",
    }
    client, _ = client_for(reply(200, page))
    events = client.session_events("p", "s", 1, 2000)
    assert [(e.type, dict(e.payload)) for e in events.items] == [("tool_call", {"name": "click"}), ("x", {})]
    assert events.has_next_page is True


def test_a_page_without_items_or_next_page_is_an_empty_last_page() -> None:
    client, _ = client_for(reply(200, {"items": None}))
    events = client.session_events("p", "s", 1, 2000)
    assert (events.items, events.has_next_page) == ((), False)


def test_the_artifacts_are_read_with_their_type_uri_and_description() -> None:
    artifact = {"type": "screenshot", "uri": "https://cdn/x.png", "description": "at the end"}
    client, _ = client_for(reply(200, {"items": [artifact]}))
    found = client.artifacts("p", "e", 2000).items
    assert [(a.type, a.uri, a.description) for a in found] == [
        ("screenshot", "https://cdn/x.png", "at the end")
    ]


def test_the_flaky_test_cases_are_a_bare_array() -> None:
    marks = [{"testCaseId": "t-1", "flakinessScore": 0.5, "isQuarantined": True}, {"testCaseId": "t-2"}]
    client, _ = client_for(reply(200, marks))
    found = client.flaky_test_cases("p", 2000).items
    assert [(m.test_case_id, m.flakiness_score, m.is_quarantined) for m in found] == [
        ("t-1", 0.5, True),
        ("t-2", None, False),
    ]


def test_flaky_test_cases_that_are_not_an_array_are_none() -> None:
    client, _ = client_for(reply(200, {"items": [{"testCaseId": "t-1"}]}))
    assert client.flaky_test_cases("p", 2000).items == ()


def test_the_observations_are_read_by_their_titles() -> None:
    client, _ = client_for(reply(200, {"items": [{"title": "Slow checkout"}, {}], "hasNextPage": False}))
    assert [o.title for o in client.observations("p", "r", 2000).items] == ["Slow checkout", ""]


# -- the AI conversation -----------------------------------------------------------------------------


def test_the_conversation_is_read_with_its_larger_body_cap_and_answers_with_the_last_assistant_message() -> (
    None
):
    answer = {
        "status": "idle",
        "messages": [{"role": "assistant", "content": "first"}, {"role": "assistant", "content": "last"}],
    }
    client, transport = client_for(reply(200, answer))
    conversation = client.conversation(ODD_ID, 2000)
    assert (conversation.answer, conversation.finished) == ("last", True)
    assert transport.sent == [
        Request("GET", f"/api/assistant/conversations/{ODD_PATH}", max_body=4 * 1024 * 1024)
    ]


def test_a_conversation_answered_404_says_the_server_or_the_key_offers_none() -> None:
    client, _ = client_for(reply(404))
    with pytest.raises(NotFound) as err:
        client.conversation("c-1", 2000)
    assert err.value.message == (
        "HTTP 404 while reading the AI conversation c-1: "
        "this server does not offer the AI conversation (or the key cannot see it)."
    )


def test_a_conversation_read_retries_a_blip_naming_the_ai_conversation() -> None:
    heard: list[tuple[str, str]] = []
    client, transport = client_for(reply(503), reply(200, {"status": "processing"}), heard=heard)
    assert client.conversation("c-1", 2000).finished is False
    assert [operation for operation, _ in heard] == ["AI conversation"]
    assert len(transport.sent) == 2


# -- the per-test results ------------------------------------------------------------------------------


def test_the_per_test_results_are_read_for_the_project_id_with_the_run_id_escaped_and_a_larger_cap() -> None:
    client, transport = client_for(OVERVIEW, reply(200, {"items": [{"testCaseName": "Login"}]}))
    results = client.process_run(ODD_ID, 2000)
    assert [item.name for item in results.items] == ["Login"]
    assert transport.sent[1] == Request(
        "GET", f"/api/projects/p-1/process-runs/{ODD_PATH}", max_body=8 * 1024 * 1024
    )


def test_per_test_results_answered_404_say_the_server_or_the_key_offers_none() -> None:
    client, _ = client_for(OVERVIEW, reply(404))
    with pytest.raises(NotFound) as err:
        client.process_run("r-1", 2000)
    assert err.value.message == (
        "HTTP 404 while reading the per-test results of run r-1: "
        "this server does not offer per-test results for the run (or the key cannot see them)."
    )


# -- the self-hosted runner pools (issue 22) -----------------------------------------------------------


def test_the_runner_pools_are_a_bare_array_whose_unusable_entries_are_skipped() -> None:
    pools = [{"id": "rp-1", "name": "Linux"}, {"name": "no id"}, "noise", {"id": "rp-2", "isActive": False}]
    client, transport = client_for(reply(200, pools))
    found = list_runner_pools(client, 2000)
    assert [(pool.id, pool.name, pool.is_active) for pool in found] == [
        ("rp-1", "Linux", True),
        ("rp-2", "", False),
    ]
    assert transport.sent == [Request("GET", "/api/self-hosted/pools")]


def test_runner_pools_that_are_not_an_array_are_an_unusable_answer_retried_then_given_up() -> None:
    heard: list[tuple[str, str]] = []
    client, _ = client_for(*[reply(200, {"items": []})] * 2, attempts=2, heard=heard)
    with pytest.raises(GaveUp) as err:
        list_runner_pools(client, 2000)
    assert err.value.message == (
        "runner pools list failed after 2 attempts: the runner pools list (HTTP 200) is not a JSON array"
    )
    assert heard == [("runner pools list", "the runner pools list (HTTP 200) is not a JSON array")]


def test_runner_pools_answered_404_say_this_api_has_none_without_reading_as_project_not_found() -> None:
    client, _ = client_for(reply(404, {"message": "no route"}))
    with pytest.raises(ApiError) as err:
        list_runner_pools(client, 2000)
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
        list_runner_pools(client, 2000)
    assert err.value.message == (
        f"the API key may not read the self-hosted runner pools (HTTP {status} while listing them): "
        "`runner-pool` needs a key with access to them. Use such a key, or remove `runner-pool` to run in "
        "Certyn's cloud."
    )
    assert len(transport.sent) == 1


# -- the temporary environment's variables (issue 22) --------------------------------------------------


def test_a_variable_is_posted_to_the_environment_with_its_description_and_no_idempotency_key() -> None:
    client, transport = client_for(OVERVIEW, reply(201, {}))
    assert EnvironmentsApi(client).set_variable(ODD_ID, "TOKEN", "v 1", 2000) is True
    assert transport.sent[1] == Request(
        "POST",
        f"/api/projects/p-1/environments/{ODD_PATH}/variables",
        {"name": "TOKEN", "value": "v 1", "description": "Set by the Certyn GitHub Action (`variables`)"},
    )


def test_a_variable_the_environment_already_has_is_not_set_again() -> None:
    client, transport = client_for(OVERVIEW, reply(409, {"error": "exists"}))
    assert EnvironmentsApi(client).set_variable("e-1", "TOKEN", "v", 2000) is False
    assert len(transport.sent) == 2


def test_a_variable_is_retried_after_a_blip_naming_the_variable_create() -> None:
    heard: list[tuple[str, str]] = []
    client, transport = client_for(OVERVIEW, reply(502), reply(201, {}), heard=heard)
    assert EnvironmentsApi(client).set_variable("e-1", "TOKEN", "v", 2000) is True
    assert heard == [("variable create", "HTTP 502 while setting the variable `TOKEN`.")]
    assert transport.sent[1] == transport.sent[2]


def test_a_variable_for_an_environment_gone_says_so() -> None:
    client, _ = client_for(OVERVIEW, reply(404))
    with pytest.raises(NotFound) as err:
        EnvironmentsApi(client).set_variable("e-1", "TOKEN", "v", 2000)
    assert err.value.message == (
        "HTTP 404 while setting the variable `TOKEN`: the temporary environment was not found."
    )


def test_a_refused_variable_says_the_key_lacks_environment_rights() -> None:
    client, _ = client_for(OVERVIEW, reply(403))
    with pytest.raises(AuthError) as err:
        EnvironmentsApi(client).set_variable("e-1", "TOKEN", "v", 2000)
    assert err.value.message.startswith(
        "the API key lacks environment rights (HTTP 403 while setting the variable `TOKEN`): `base-url` creates"
    )


# -- another key, when the temporary environment's is taken ------------------------------------------


def test_another_key_keeps_the_key_short_enough_and_adds_a_random_suffix() -> None:
    longest = "k" * (KEY_MAX_LENGTH - 8) + "-" + "x" * 7
    key = another_key(longest, random_hex=lambda n: "ab" * n)
    assert key == "k" * (KEY_MAX_LENGTH - 8) + "-ababab"
    assert len(key) <= KEY_MAX_LENGTH
    assert KEY_PATTERN.fullmatch(key)


def test_another_key_of_a_short_key_keeps_it_whole() -> None:
    assert another_key("gha-1", random_hex=lambda n: "f" * (2 * n)) == "gha-1-ffffff"
