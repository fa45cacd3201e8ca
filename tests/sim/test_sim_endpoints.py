"""The endpoints beyond the CI ones: projects overview, per-test results, AI conversations, environments,
and runs created outside the action; each checks the API key and takes faults like the CI endpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from certyn_simulator import ENDPOINTS, Fault, Scenario, Simulator, builtin_scenario, snapshot

KEY = "test-key"
H = {"X-API-Key": KEY}
BODY = {"projectSlug": "shop", "processSlug": "smoke"}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(Scenario(projects=["shop", "Other-App"]), api_key=KEY) as s:
        yield s


def get(sim: Simulator, path: str, **kwargs: Any) -> requests.Response:
    return requests.get(f"{sim.base_url}{path}", headers=kwargs.pop("headers", H), timeout=5, **kwargs)


def create_run(sim: Simulator, **extra: Any) -> dict[str, Any]:
    resp = requests.post(f"{sim.base_url}/api/ci/runs", json={**BODY, **extra}, headers=H, timeout=5)
    assert resp.status_code == 201, resp.text
    created: dict[str, Any] = resp.json()
    return created


def finish(sim: Simulator, run_id: str) -> dict[str, Any]:
    """Poll until the run is terminal; the last status body."""
    for _ in range(20):
        body: dict[str, Any] = get(sim, f"/api/ci/runs/{run_id}").json()
        if body["state"] in ("completed", "cancelled"):
            return body
    raise AssertionError("the run never finished")


def results_path(sim: Simulator, run_id: str, slug: str = "shop") -> str:
    return f"/api/projects/{sim.project_id(slug)}/process-runs/{run_id}"


def env_path(sim: Simulator, slug: str = "shop") -> str:
    return f"/api/projects/{sim.project_id(slug)}/environments"


def new_env(sim: Simulator, key: str = "dev-ci-1", **extra: Any) -> requests.Response:
    body = {"key": key, "label": "CI preview", "baseUrl": "https://preview.example.test", "version": "abc123"}
    return requests.post(f"{sim.base_url}{env_path(sim)}", json={**body, **extra}, headers=H, timeout=5)


# Projects overview --------------------------------------------------------------------------------------
def test_overview_lists_the_scenario_projects_with_stable_ids(sim: Simulator) -> None:
    body = get(sim, "/api/projects/overview").json()
    assert [p["slug"] for p in body["projects"]] == ["shop", "Other-App"]
    assert all(p["id"] and p["name"] for p in body["projects"])
    assert body["defaultProjectId"] == body["projects"][0]["id"]
    assert sim.project_id("other-app") == body["projects"][1]["id"]  # slugs compare case-insensitively
    assert get(sim, "/api/projects/overview").json() == body


def test_overview_without_a_project_list_names_the_default_and_every_run_project() -> None:
    with Simulator("pass", api_key=KEY) as s:
        create_run(s)
        slugs = [p["slug"] for p in get(s, "/api/projects/overview").json()["projects"]]
    assert slugs == ["demo", "shop"]


def test_overview_is_scenario_controlled() -> None:
    exact = {
        "_exact": True,
        "projects": [{"id": "p1", "slug": "shop", "name": "Shop"}],
        "defaultProjectId": "p1",
    }
    with Simulator(Scenario(overview=exact), api_key=KEY) as s:
        assert get(s, "/api/projects/overview").json() == {k: v for k, v in exact.items() if k != "_exact"}
        assert s.project_id("SHOP") == "p1"


# Per-test results ------------------------------------------------------------------------------------------
def test_results_by_default_agree_with_the_counts_served() -> None:
    sc = Scenario(
        snapshots=[snapshot("completed", conclusion="failure", total=4, passed=1, failed=2, blocked=1)]
    )
    with Simulator(sc, api_key=KEY) as s:
        run_id = create_run(s)["runId"]
        status = finish(s, run_id)
        body = get(s, results_path(s, run_id)).json()
    outcomes = [item["testOutcome"] for item in body["items"]]
    assert sorted(outcomes) == sorted(["passed", "failed", "failed", "blocked"])
    assert (body["totalItems"], body["passedItems"], body["failedItems"], body["blockedItems"]) == (
        4,
        1,
        2,
        1,
    )
    assert body["id"] == run_id
    assert body["status"] == status["state"]
    assert body["completedAt"]
    assert all(item["completedAt"] for item in body["items"])
    assert [item["testCaseNumber"] for item in body["items"]] == [1, 2, 3, 4]
    failed = [item for item in body["items"] if item["testOutcome"] == "failed"]
    assert all(item["status"] == "failed" and item["summaryMarkdown"] for item in failed)


def test_results_before_the_run_finished_have_no_completion_time() -> None:
    sc = Scenario(snapshots=[snapshot("in_progress", total=2, passed=1, pending=1)])
    with Simulator(sc, api_key=KEY) as s:
        run_id = create_run(s)["runId"]
        get(s, f"/api/ci/runs/{run_id}")
        body = get(s, results_path(s, run_id)).json()
    assert body["completedAt"] is None
    assert [item["status"] for item in body["items"]] == ["completed", "pending"]
    assert body["items"][1]["testOutcome"] is None


def test_scripted_rows_may_contradict_the_counts_and_carry_hostile_text() -> None:
    hostile = "a | b <script>x</script> `tick`\n::error::injected"
    sc = Scenario(
        snapshots=[snapshot("completed", conclusion="success", total=1, passed=1)],
        test_results=[
            {
                "testCaseName": hostile,
                "testOutcome": "failed",
                "status": "failed",
                "summaryMarkdown": hostile,
            },
            {"testCaseName": None, "testOutcome": None, "summaryMarkdown": None, "_omit": ["testCaseNumber"]},
        ],
        process_run={"summaryMarkdown": hostile},
    )
    with Simulator(sc, api_key=KEY) as s:
        run_id = create_run(s)["runId"]
        finish(s, run_id)
        body = get(s, results_path(s, run_id)).json()
    assert body["passedItems"] == 1  # the counts say passed ...
    assert body["items"][0]["testOutcome"] == "failed"  # ... the rows say otherwise
    assert body["items"][0]["testCaseName"] == hostile
    assert body["summaryMarkdown"] == hostile
    assert body["items"][1]["testCaseName"] is None
    assert "testCaseNumber" not in body["items"][1]


def test_results_need_the_run_project_id_and_a_known_run(sim: Simulator) -> None:
    run_id = create_run(sim)["runId"]
    assert get(sim, results_path(sim, run_id)).status_code == 200
    assert get(sim, results_path(sim, run_id, "Other-App")).status_code == 404
    assert get(sim, results_path(sim, "no-such-run")).status_code == 404
    assert get(sim, f"/api/projects/not-an-id/process-runs/{run_id}").status_code == 404
    assert (
        requests.post(f"{sim.base_url}{results_path(sim, run_id)}", headers=H, timeout=5).status_code == 405
    )


def test_builtin_fail_has_failed_blocked_and_passed_rows_with_findings_and_an_answer() -> None:
    with Simulator("fail", api_key=KEY) as s:
        created = create_run(s, instruction="Why did it fail?")
        status = finish(s, created["runId"])
        body = get(s, results_path(s, created["runId"], "shop")).json()
        get(s, f"/api/assistant/conversations/{created['conversationId']}")
        answer = get(s, f"/api/assistant/conversations/{created['conversationId']}").json()
    outcomes = [item["testOutcome"] for item in body["items"]]
    assert sorted(outcomes) == ["blocked", "failed", "failed", "passed", "passed"]
    assert (status["passed"], status["failed"], status["blocked"]) == (2, 2, 1)
    assert outcomes.count("failed") == status["failed"]
    assert outcomes.count("blocked") == status["blocked"]
    assert all(item["summaryMarkdown"] for item in body["items"])
    assert answer["status"] == "idle"
    assert "failed" in answer["messages"][-1]["content"]


# Conversations ---------------------------------------------------------------------------------------------
def poll_conversation(sim: Simulator, conversation_id: str, times: int) -> list[dict[str, Any]]:
    return [get(sim, f"/api/assistant/conversations/{conversation_id}").json() for _ in range(times)]


def test_a_create_with_an_instruction_starts_a_conversation_answered_after_n_polls() -> None:
    sc = Scenario(conversation_polls=2, conversation_answer="All **good**.")
    with Simulator(sc, api_key=KEY) as s:
        created = create_run(s, instruction="Summarise")
        answers = poll_conversation(s, created["conversationId"], 4)
        assert s.run(created["runId"]).conversation_id == created["conversationId"]
        assert s.conversations[0]["instruction"] == "Summarise"
        assert s.conversations[0]["polls"] == 4
    assert [a["status"] for a in answers] == ["processing", "processing", "idle", "idle"]
    assert answers[2]["messages"][-1] == {"role": "assistant", "content": "All **good**."}
    assert all(m["role"] != "assistant" for m in answers[0]["messages"])


def test_a_create_without_an_instruction_has_no_conversation(sim: Simulator) -> None:
    assert "conversationId" not in create_run(sim)
    assert sim.conversations == []


def test_a_conversation_that_never_answers_or_fails() -> None:
    with Simulator(Scenario(conversation_polls=None), api_key=KEY) as s:
        conv = create_run(s, instruction="x")["conversationId"]
        assert {a["status"] for a in poll_conversation(s, conv, 5)} == {"processing"}
    with Simulator(Scenario(conversation_polls=0, conversation_status="failed"), api_key=KEY) as s:
        conv = create_run(s, instruction="x")["conversationId"]
        (answer,) = poll_conversation(s, conv, 1)
        assert answer["status"] == "failed"
        assert all(m["role"] != "assistant" for m in answer["messages"])
        assert get(s, "/api/assistant/conversations/unknown").status_code == 404


def test_an_idempotent_replay_returns_the_same_conversation(sim: Simulator) -> None:
    headers = {**H, "Idempotency-Key": "k-1"}
    body = {**BODY, "instruction": "Summarise"}
    first = requests.post(f"{sim.base_url}/api/ci/runs", json=body, headers=headers, timeout=5).json()
    again = requests.post(f"{sim.base_url}/api/ci/runs", json=body, headers=headers, timeout=5).json()
    assert again["conversationId"] == first["conversationId"]
    assert len(sim.conversations) == 1


# Environments --------------------------------------------------------------------------------------------
def test_environment_create_list_delete_is_recorded(sim: Simulator) -> None:
    created = new_env(sim)
    assert created.status_code == 201
    env = created.json()
    assert (env["key"], env["baseUrl"], env["version"], env["projectId"]) == (
        "dev-ci-1",
        "https://preview.example.test",
        "abc123",
        sim.project_id("shop"),
    )
    listed = get(sim, env_path(sim), params={"page": 1, "pageSize": 100}).json()
    assert listed == {
        "items": [env],
        "totalCount": 1,
        "page": 1,
        "pageSize": 100,
        "totalPages": 1,
        "hasNextPage": False,
        "hasPreviousPage": False,
    }
    assert (env["executionTarget"], env["runnerPoolId"], env["anthropicModel"]) == ("cloud_managed", "", "")
    deleted = requests.delete(f"{sim.base_url}{env_path(sim)}/{env['id']}", headers=H, timeout=5)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert get(sim, env_path(sim)).json()["items"] == []
    assert [e.key for e in sim.created_environments] == ["dev-ci-1"]
    assert [e.environment_id for e in sim.deleted_environments] == [env["id"]]
    recorded = requests.get(f"{sim.base_url}/_sim/environments", timeout=5).json()["environments"]
    assert recorded[0]["id"] == env["id"]
    assert recorded[0]["deletedAt"] is not None
    again = requests.delete(f"{sim.base_url}{env_path(sim)}/{env['id']}", headers=H, timeout=5)
    assert again.status_code == 404


def test_a_taken_key_answers_409_until_deleted() -> None:
    sc = Scenario(projects=["shop"], environments=[{"key": "staging", "baseUrl": "https://staging.test"}])
    with Simulator(sc, api_key=KEY) as s:
        assert new_env(s, "staging").status_code == 409
        first = new_env(s, "dev-1")
        assert new_env(s, "dev-1").status_code == 409
        requests.delete(f"{s.base_url}{env_path(s)}/{first.json()['id']}", headers=H, timeout=5)
        assert new_env(s, "dev-1").status_code == 201
        assert [e.key for e in s.created_environments] == ["dev-1", "dev-1"]
        assert [e.preexisting for e in s.environments] == [True, False, False]


def test_a_scenario_change_keeps_created_environments_and_reset_forgets_them(sim: Simulator) -> None:
    assert new_env(sim, "dev-1").status_code == 201
    sim.set_scenario(Scenario(projects=["shop"], environments=[{"key": "staging"}]))
    assert [(e.key, e.preexisting) for e in sim.environments] == [("dev-1", False), ("staging", True)]
    assert new_env(sim, "staging").status_code == 409
    sim.reset()
    assert [e.key for e in sim.environments] == ["staging"]


def test_environment_list_is_paged(sim: Simulator) -> None:
    for i in range(5):
        assert new_env(sim, f"dev-{i}").status_code == 201
    page = get(sim, env_path(sim), params={"page": 2, "pageSize": 2}).json()
    assert [e["key"] for e in page["items"]] == ["dev-2", "dev-3"]
    assert (page["totalCount"], page["totalPages"], page["hasNextPage"], page["hasPreviousPage"]) == (
        5,
        3,
        True,
        True,
    )
    assert get(sim, env_path(sim), params={"page": 3, "pageSize": 2}).json()["hasNextPage"] is False
    assert get(sim, env_path(sim), params={"pageSize": 0}).status_code == 400


@pytest.mark.parametrize(
    "body",
    [{"key": "dev"}, {"key": "Dev-Upper", "label": "x", "baseUrl": "https://x.test"}, {"key": "d" * 64}],
)
def test_an_invalid_environment_is_400(sim: Simulator, body: dict[str, Any]) -> None:
    resp = requests.post(f"{sim.base_url}{env_path(sim)}", json=body, headers=H, timeout=5)
    assert resp.status_code == 400
    assert "key" in resp.json()["errors"] or "label" in resp.json()["errors"]
    assert sim.created_environments == []


def test_environments_belong_to_a_known_project(sim: Simulator) -> None:
    assert get(sim, "/api/projects/nope/environments").status_code == 404
    new_env(sim)
    assert get(sim, env_path(sim, "Other-App")).json()["items"] == []


# Runs created outside the action --------------------------------------------------------------------------
def test_a_run_created_outside_the_action_can_be_polled_and_cancelled(sim: Simulator) -> None:
    run = sim.create_run("shop", run_id="ext-1", scenario=builtin_scenario("never"))
    assert run.external
    assert get(sim, "/api/ci/runs/ext-1").json()["state"] == "in_progress"
    assert requests.post(f"{sim.base_url}/api/ci/runs/ext-1/cancel", json={}, headers=H, timeout=5).ok
    assert get(sim, "/api/ci/runs/ext-1").json()["state"] == "cancelled"
    assert sim.run("ext-1").cancelled_at is not None
    assert sim.api_requests("create") == []


def test_the_control_route_creates_a_run_outside_the_action(sim: Simulator) -> None:
    resp = requests.post(
        f"{sim.base_url}/_sim/runs",
        json={"projectSlug": "shop", "runId": "ext-2", "scenario": "fail"},
        timeout=5,
    )
    assert resp.status_code == 201
    assert resp.json()["external"] is True
    assert finish(sim, "ext-2")["failed"] == 2
    assert get(sim, results_path(sim, "ext-2")).status_code == 200
    dup = requests.post(f"{sim.base_url}/_sim/runs", json={"runId": "ext-2"}, timeout=5)
    assert dup.status_code == 400


# The API key and faults, for every new endpoint ----------------------------------------------------------
def requests_for(sim: Simulator) -> dict[str, tuple[str, str, Any]]:
    """One valid request per new endpoint: (method, path, json body)."""
    run_id = create_run(sim, instruction="hi")
    env = new_env(sim, "dev-for-faults").json()
    project = f"/api/projects/{sim.project_id('shop')}"
    return {
        "overview": ("GET", "/api/projects/overview", None),
        "process_run": ("GET", results_path(sim, run_id["runId"]), None),
        "conversation": ("GET", f"/api/assistant/conversations/{run_id['conversationId']}", None),
        "environment_create": (
            "POST",
            env_path(sim),
            {"key": "dev-new", "label": "l", "baseUrl": "https://x.test"},
        ),
        "environment_list": ("GET", env_path(sim), None),
        "environment_delete": ("DELETE", f"{env_path(sim)}/{env['id']}", None),
        "variable_create": ("POST", f"{env_path(sim)}/{env['id']}/variables", {"name": "A", "value": "1"}),
        "variable_list": ("GET", f"{env_path(sim)}/{env['id']}/variables", None),
        "runner_pools": ("GET", "/api/self-hosted/pools", None),
        "execution": ("GET", f"{project}/executions/{run_id['runId']}-exec-1", None),
        "execution_artifacts": ("GET", f"{project}/executions/{run_id['runId']}-exec-1/artifacts", None),
        "agent_conversation": (
            "GET",
            f"{project}/agentsessions/{run_id['runId']}-session-1/conversation",
            None,
        ),
        "observations": ("GET", f"{project}/observations?processRunId={run_id['runId']}", None),
        "flaky_testcases": ("GET", f"{project}/flaky-testcases?threshold=0.2", None),
    }


NEW_ENDPOINTS = [
    "overview",
    "process_run",
    "conversation",
    "environment_create",
    "environment_list",
    "environment_delete",
    "variable_create",
    "variable_list",
    "runner_pools",
    "execution",
    "execution_artifacts",
    "agent_conversation",
    "observations",
    "flaky_testcases",
]


def test_every_endpoint_has_a_fault_queue() -> None:
    assert set(NEW_ENDPOINTS) <= set(ENDPOINTS)


@pytest.mark.parametrize("endpoint", NEW_ENDPOINTS)
@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}])
def test_every_new_endpoint_checks_the_api_key(
    sim: Simulator, endpoint: str, headers: dict[str, str]
) -> None:
    method, path, body = requests_for(sim)[endpoint]
    resp = requests.request(method, f"{sim.base_url}{path}", json=body, headers=headers, timeout=5)
    assert resp.status_code == 401
    assert sim.api_requests(endpoint)[-1].response_status == 401


@pytest.mark.parametrize("endpoint", NEW_ENDPOINTS)
@pytest.mark.parametrize("status", [403, 404, 500])
def test_every_new_endpoint_takes_status_faults(sim: Simulator, endpoint: str, status: int) -> None:
    method, path, body = requests_for(sim)[endpoint]
    sim.add_faults(endpoint, Fault.http(status))
    faulted = requests.request(method, f"{sim.base_url}{path}", json=body, headers=H, timeout=5)
    assert faulted.status_code == status
    assert sim.api_requests(endpoint)[-1].fault == "status"
    healthy = requests.request(method, f"{sim.base_url}{path}", json=body, headers=H, timeout=5)
    assert healthy.status_code in (200, 201, 204)  # a status fault does not process the request


@pytest.mark.parametrize("endpoint", NEW_ENDPOINTS)
@pytest.mark.parametrize("kind", ["drop", "reset", "html", "not_json", "truncated"])
def test_every_new_endpoint_takes_the_transport_faults(sim: Simulator, endpoint: str, kind: str) -> None:
    method, path, body = requests_for(sim)[endpoint]
    sim.add_faults(endpoint, Fault(kind))
    try:
        resp = requests.request(method, f"{sim.base_url}{path}", json=body, headers=H, timeout=5)
    except requests.ConnectionError:
        assert kind in ("drop", "reset")
    else:
        assert kind not in ("drop", "reset")
        if resp.status_code != 204:  # an empty body cut in half is still empty
            with pytest.raises(json.JSONDecodeError):
                json.loads(resp.text)
    assert sim.api_requests(endpoint)[-1].fault == kind


def test_faults_for_new_endpoints_come_from_scenarios_and_control_routes() -> None:
    sc = Scenario(projects=["shop"], faults={"overview": [Fault.http(403)], "process_run": [Fault.drop()]})
    assert Scenario.from_dict(json.loads(json.dumps(sc.to_dict()))) == sc
    with Simulator(sc, api_key=KEY) as s:
        assert get(s, "/api/projects/overview").status_code == 403
        added = requests.post(
            f"{s.base_url}/_sim/faults", json={"conversation": [{"kind": "status", "status": 500}]}, timeout=5
        )
        assert added.json()["conversation"] == [{"kind": "status", "status": 500}]
        assert added.json()["process_run"] == [{"kind": "drop"}]
        assert get(s, "/api/assistant/conversations/x").status_code == 500


def test_new_scenario_fields_round_trip_through_json() -> None:
    sc = builtin_scenario("fail").replace(
        overview={"defaultProjectId": None},
        process_run={"_omit": ["items"]},
        conversation_polls=None,
        conversation_status="failed",
        environments=[{"key": "staging"}],
    )
    assert Scenario.from_dict(json.loads(json.dumps(sc.to_dict()))) == sc
    with Simulator(api_key=KEY) as s:
        put = requests.put(f"{s.base_url}/_sim/scenario", json=sc.to_dict(), timeout=5)
        assert put.status_code == 200
        assert s.scenario == sc


@pytest.mark.parametrize(
    "bad",
    [
        {"conversation_status": "done"},
        {"conversation_polls": -1},
        {"test_results": ["row"]},
        {"environments": [{"label": "no key"}]},
        {"faults": {"nowhere": ["drop"]}},
    ],
)
def test_bad_new_scenario_fields_are_refused(bad: dict[str, Any]) -> None:
    with Simulator(api_key=KEY) as s:
        resp = requests.put(f"{s.base_url}/_sim/scenario", json=bad, timeout=5)
        assert resp.status_code == 400
        assert resp.json()["error"]
