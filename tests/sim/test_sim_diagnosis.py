"""Diagnosis endpoints (issue 20): executions, agent-session conversations, artifacts, observations and
flaky test cases, derived from a run's per-test rows and the scenario's directives on them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from certyn_simulator import Scenario, Simulator, builtin_scenario, snapshot

KEY = "test-key"
H = {"X-API-Key": KEY}
PAGE_KEYS = {"items", "totalCount", "page", "pageSize", "totalPages", "hasNextPage", "hasPreviousPage"}


def get(sim: Simulator, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{sim.base_url}{path}", params=params, headers=H, timeout=5)


def project(sim: Simulator) -> str:
    return f"/api/projects/{sim.project_id('shop')}"


def finished_run(sim: Simulator, **extra: Any) -> tuple[str, list[dict[str, Any]]]:
    """Create a run of ``shop``, poll it to the end; its id and per-test rows."""
    body = {"projectSlug": "shop", "processSlug": "smoke", **extra}
    run_id = requests.post(f"{sim.base_url}/api/ci/runs", json=body, headers=H, timeout=5).json()["runId"]
    for _ in range(20):
        if get(sim, f"/api/ci/runs/{run_id}").json()["state"] == "completed":
            break
    rows: list[dict[str, Any]] = get(sim, f"{project(sim)}/process-runs/{run_id}").json()["items"]
    return run_id, rows


@pytest.fixture
def fail() -> Iterator[Simulator]:
    with Simulator(builtin_scenario("fail").replace(projects=["shop"]), api_key=KEY) as s:
        yield s


def by_name(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(r for r in rows if r["testCaseName"] == name)


# The built-in fail scenario: a realistic diagnosis --------------------------------------------------------
def test_rows_carry_execution_and_session_ids_but_never_the_directives(fail: Simulator) -> None:
    _, rows = finished_run(fail)
    assert all(r["executionId"] and r["agentSessionId"] for r in rows)
    assert not any(key.startswith("_") for r in rows for key in r)


def test_an_execution_names_its_agent_session(fail: Simulator) -> None:
    _, rows = finished_run(fail)
    row = by_name(rows, "Checkout with a saved card")
    execution = get(fail, f"{project(fail)}/executions/{row['executionId']}").json()
    assert execution["id"] == row["executionId"]
    assert execution["agentSessionId"] == row["agentSessionId"]
    assert (execution["status"], execution["triggerType"]) == ("failed", "ci")
    assert execution["testCases"][0]["testCaseId"] == row["testCaseId"]
    assert execution["testCases"][0]["resultMarkdown"] == row["summaryMarkdown"]
    assert [a["type"] for a in execution["artifacts"]] == ["screenshot", "har"]
    assert execution["notes"] == []
    assert execution["originalExecutionId"] is None
    blocked = by_name(rows, "Sign in with SSO")
    assert get(fail, f"{project(fail)}/executions/{blocked['executionId']}").json()["status"] == "blocked"


def test_the_checkout_session_shows_an_app_500_on_post_checkout(fail: Simulator) -> None:
    _, rows = finished_run(fail)
    row = by_name(rows, "Checkout with a saved card")
    page = get(
        fail, f"{project(fail)}/agentsessions/{row['agentSessionId']}/conversation", page=1, pageSize=500
    )
    body = page.json()
    assert set(body) == PAGE_KEYS
    events = body["items"]
    assert all(set(e) == {"type", "timestampUtc", "payload"} for e in events)
    stamps = [e["timestampUtc"] for e in events]
    assert stamps == sorted(stamps)
    response = next(e["payload"] for e in events if e["type"] == "browser_network_response")
    assert response == {
        "requestId": "req-1",
        "method": "POST",
        "url": "https://shop.certyn-sim.invalid/api/checkout",
        "status": 500,
        "statusText": "Internal Server Error",
    }
    assert events[-1] == {**events[-1], "type": "conversation_completed", "payload": {"status": "completed"}}
    assert any(e["type"] == "job_completed" and e["payload"]["status"] == "failed" for e in events)


def test_the_discount_session_has_a_denied_tool_and_the_sso_one_an_agent_failure(fail: Simulator) -> None:
    _, rows = finished_run(fail)
    path = f"{project(fail)}/agentsessions/{{}}/conversation"
    discount = get(fail, path.format(by_name(rows, "Apply a discount code")["agentSessionId"])).json()[
        "items"
    ]
    assert (discount[1]["type"], discount[1]["payload"]["allowed"]) == ("policy_decision", False)
    result = next(e["payload"] for e in discount if e["type"] == "tool_result")
    assert (result["status"], result["metadata"]["toolName"]) == ("denied", "browser_evaluate")
    sso = get(fail, path.format(by_name(rows, "Sign in with SSO")["agentSessionId"])).json()["items"]
    assert sso[-1]["type"] == "conversation_completed"
    assert sso[-1]["payload"]["status"] == "failed"
    assert any(e["type"] == "tool_result" and e["payload"]["status"] == "timeout" for e in sso)


def test_a_passed_test_without_directives_has_a_plain_completed_session(fail: Simulator) -> None:
    _, rows = finished_run(fail)
    row = by_name(rows, "Search the catalogue")
    events = get(fail, f"{project(fail)}/agentsessions/{row['agentSessionId']}/conversation").json()["items"]
    assert [(e["type"], e["payload"]) for e in events] == [
        ("job_completed", {"status": "completed"}),
        ("conversation_completed", {"status": "completed"}),
    ]
    assert get(fail, f"{project(fail)}/executions/{row['executionId']}/artifacts").json()["items"] == []


def test_artifacts_are_paged_screenshots_with_urls(fail: Simulator) -> None:
    _, rows = finished_run(fail)
    path = (
        f"{project(fail)}/executions/{by_name(rows, 'Checkout with a saved card')['executionId']}/artifacts"
    )
    first = get(fail, path, page=1, pageSize=1).json()
    assert set(first) == PAGE_KEYS
    assert (first["totalCount"], first["totalPages"], first["hasNextPage"]) == (2, 2, True)
    shot = first["items"][0]
    assert set(shot) == {"id", "type", "uri", "description", "createdAt"}
    assert shot["type"] == "screenshot"
    assert shot["uri"].startswith("https://")
    assert shot["uri"].endswith(".png")
    second = get(fail, path, page=2, pageSize=1).json()
    assert (second["items"][0]["type"], second["hasNextPage"], second["hasPreviousPage"]) == (
        "har",
        False,
        True,
    )
    assert get(fail, path, pageSize=101).status_code == 400


def test_flaky_testcases_is_a_bare_array_filtered_by_threshold(fail: Simulator) -> None:
    _, rows = finished_run(fail)
    flaky = get(fail, f"{project(fail)}/flaky-testcases", threshold=0.2).json()
    assert isinstance(flaky, list)
    assert [f["testCaseId"] for f in flaky] == [by_name(rows, "Apply a discount code")["testCaseId"]]
    assert set(flaky[0]) == {
        "testCaseId",
        "flakinessScore",
        "totalRuns",
        "passedRuns",
        "failedRuns",
        "flipCount",
        "isQuarantined",
        "shouldQuarantine",
        "lastRunAt",
    }
    assert flaky[0]["flakinessScore"] == 0.35
    assert len(get(fail, f"{project(fail)}/flaky-testcases", threshold=0.1).json()) == 2
    assert len(get(fail, f"{project(fail)}/flaky-testcases").json()) == 1  # default 0.2
    assert get(fail, f"{project(fail)}/flaky-testcases", threshold="high").status_code == 400


def test_observations_are_paged_and_filtered_by_process_run(fail: Simulator) -> None:
    first_run, rows = finished_run(fail)
    second_run, _ = finished_run(fail, environmentKey="staging")
    all_obs = get(fail, f"{project(fail)}/observations", page=1, pageSize=20).json()
    assert set(all_obs) == PAGE_KEYS
    assert all_obs["totalCount"] == 2
    mine = get(fail, f"{project(fail)}/observations", processRunId=second_run).json()["items"]
    assert len(mine) == 1
    obs = mine[0]
    assert obs["title"] == "POST /api/checkout answers 500 for a saved card"
    assert (obs["discoveredDuringRunId"], obs["discoveredInEnvironmentKey"], obs["status"]) == (
        second_run,
        "staging",
        "active",
    )
    first = get(fail, f"{project(fail)}/observations", processRunId=first_run).json()["items"][0]
    assert first["createdDuringExecutionId"] == by_name(rows, "Checkout with a saved card")["executionId"]
    assert get(fail, f"{project(fail)}/observations", processRunId="nope").json()["items"] == []


# Scripting, paging, unknown ids -------------------------------------------------------------------------
def scripted(events: int) -> Scenario:
    row = {
        "testOutcome": "failed",
        "status": "failed",
        "executionId": "exe-a",
        "agentSessionId": "sess-a",
        "_events": [
            {
                "type": "browser_network_response",
                "timestampUtc": f"2026-03-01T10:00:{i:02d}Z",
                "payload": {"status": 401 if i % 2 else 500, "url": f"https://app.test/api/{i}?sig=t"},
            }
            for i in range(events)
        ],
        "_execution": {"summaryMarkdown": "scripted", "agentSessionId": "sess-a"},
    }
    return Scenario(
        projects=["shop"],
        snapshots=[snapshot("completed", total=2, passed=1, failed=1)],
        test_results=[row, {"executionId": "exe-b", "agentSessionId": None}],
    )


def test_conversation_pages_follow_has_next_page_and_before() -> None:
    with Simulator(scripted(5), api_key=KEY) as s:
        finished_run(s)
        path = f"{project(s)}/agentsessions/sess-a/conversation"
        pages = [get(s, path, page=n, pageSize=2).json() for n in (1, 2, 3)]
        assert [len(p["items"]) for p in pages] == [2, 2, 1]
        assert [p["hasNextPage"] for p in pages] == [True, True, False]
        assert pages[0]["totalPages"] == 3
        urls = [e["payload"]["url"] for p in pages for e in p["items"]]
        assert urls == [f"https://app.test/api/{i}?sig=t" for i in range(5)]  # unredacted, in order
        before = get(s, path, before="2026-03-01T10:00:02Z").json()
        assert [e["timestampUtc"] for e in before["items"]] == [
            "2026-03-01T10:00:00Z",
            "2026-03-01T10:00:01Z",
        ]
        assert get(s, path, before="2026-03-01T10:00:02.000000000Z").json()["totalCount"] == 2
        assert get(s, path, before="yesterday").status_code == 400
        assert get(s, path, pageSize=1001).status_code == 400
        assert get(s, path, pageSize=1000).status_code == 200
        assert get(s, path, page=0).status_code == 400


def test_scripted_execution_overrides_and_a_row_without_a_session() -> None:
    with Simulator(scripted(1), api_key=KEY) as s:
        finished_run(s)
        assert get(s, f"{project(s)}/executions/exe-a").json()["summaryMarkdown"] == "scripted"
        bare = get(s, f"{project(s)}/executions/exe-b").json()
        assert bare["agentSessionId"] is None
        assert bare["status"] == "completed"


@pytest.mark.parametrize(
    "path",
    [
        "executions/nope",
        "executions/nope/artifacts",
        "agentsessions/nope/conversation",
    ],
)
def test_unknown_ids_are_404(path: str) -> None:
    with Simulator(scripted(1), api_key=KEY) as s:
        finished_run(s)
        assert get(s, f"{project(s)}/{path}").status_code == 404
        assert get(s, f"/api/projects/not-a-project/{path.replace('nope', 'exe-a')}").status_code == 404


def test_an_execution_of_another_project_is_404() -> None:
    with Simulator(scripted(1).replace(projects=["shop", "other"]), api_key=KEY) as s:
        finished_run(s)
        assert get(s, f"{project(s)}/executions/exe-a").status_code == 200
        assert get(s, f"/api/projects/{s.project_id('other')}/executions/exe-a").status_code == 404


def test_generated_rows_have_executions_and_sessions_too() -> None:
    sc = Scenario(projects=["shop"], snapshots=[snapshot("completed", total=2, passed=1, failed=1)])
    with Simulator(sc, api_key=KEY) as s:
        _, rows = finished_run(s)
        failed = next(r for r in rows if r["testOutcome"] == "failed")
        assert get(s, f"{project(s)}/executions/{failed['executionId']}").json()["status"] == "failed"
        events = get(s, f"{project(s)}/agentsessions/{failed['agentSessionId']}/conversation").json()["items"]
        assert events[-1]["payload"] == {"status": "failed"}
        assert get(s, f"{project(s)}/flaky-testcases").json() == []
        assert get(s, f"{project(s)}/observations").json()["items"] == []


def test_wrong_methods_are_405() -> None:
    with Simulator(scripted(1), api_key=KEY) as s:
        resp = requests.post(f"{s.base_url}{project(s)}/executions/exe-a", headers=H, timeout=5)
        assert resp.status_code == 405
