"""The simulator speaks the Certyn CI Runs API: auth, validation, idempotent create, progression, cancel."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from certyn_simulator import Fault, Scenario, Simulator, snapshot

KEY = "test-key"
BODY = {"projectSlug": "shop", "processSlug": "smoke"}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator("pass", api_key=KEY) as s:
        yield s


def create(sim: Simulator, body: Any = None, **headers: str) -> requests.Response:
    hdrs = {"X-API-Key": KEY, **{k.replace("_", "-"): v for k, v in headers.items()}}
    return requests.post(
        f"{sim.base_url}/api/ci/runs", json=BODY if body is None else body, headers=hdrs, timeout=5
    )


def status(sim: Simulator, run_id: str, key: str = KEY) -> requests.Response:
    return requests.get(f"{sim.base_url}/api/ci/runs/{run_id}", headers={"X-API-Key": key}, timeout=5)


def cancel(sim: Simulator, run_id: str, body: Any = None) -> requests.Response:
    return requests.post(
        f"{sim.base_url}/api/ci/runs/{run_id}/cancel", json=body, headers={"X-API-Key": KEY}, timeout=5
    )


# Auth ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"X-API-Key": ""}, {"Authorization": KEY}])
def test_create_without_the_right_key_is_401_and_creates_nothing(
    sim: Simulator, headers: dict[str, str]
) -> None:
    resp = requests.post(f"{sim.base_url}/api/ci/runs", json=BODY, headers=headers, timeout=5)
    assert resp.status_code == 401
    assert isinstance(resp.json()["error"], str)
    assert sim.runs == {}


def test_status_and_cancel_need_the_key_too(sim: Simulator) -> None:
    run_id = create(sim).json()["runId"]
    assert status(sim, run_id, key="nope").status_code == 401
    resp = requests.post(f"{sim.base_url}/api/ci/runs/{run_id}/cancel", timeout=5)
    assert resp.status_code == 401
    assert sim.run(run_id).cancel_requests == []


def test_key_header_name_is_case_insensitive(sim: Simulator) -> None:
    resp = requests.post(f"{sim.base_url}/api/ci/runs", json=BODY, headers={"x-api-key": KEY}, timeout=5)
    assert resp.status_code == 201


# Validation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"processSlug": "smoke"}, "projectSlug"),
        ({"projectSlug": "", "processSlug": "smoke"}, "projectSlug"),
        ({"projectSlug": "shop"}, "processSlug"),
        ({"projectSlug": "shop", "tags": []}, "processSlug"),
        ({"projectSlug": "shop", "processSlug": "smoke", "tags": ["a"]}, "processSlug"),
        ({"projectSlug": "shop", "tags": "smoke"}, "tags"),
        ({"projectSlug": "shop", "tags": [1]}, "tags"),
        ({"projectSlug": "shop", "processSlug": "smoke", "commitSha": 5}, "commitSha"),
    ],
)
def test_invalid_create_body_is_400_problem_details(sim: Simulator, body: dict[str, Any], field: str) -> None:
    resp = create(sim, body)
    assert resp.status_code == 400
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    problem = resp.json()
    assert problem["status"] == 400
    assert problem["title"]
    assert problem["detail"]
    assert field in problem["errors"]
    assert sim.runs == {}


def test_tags_alone_are_accepted(sim: Simulator) -> None:
    assert create(sim, {"projectSlug": "shop", "tags": ["smoke", "checkout"]}).status_code == 201


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'"text"'])
def test_create_body_that_is_not_a_json_object_is_400(sim: Simulator, raw: bytes) -> None:
    resp = requests.post(
        f"{sim.base_url}/api/ci/runs",
        data=raw,
        headers={"X-API-Key": KEY, "Content-Type": "application/json"},
        timeout=5,
    )
    assert resp.status_code == 400
    assert "errors" in resp.json()


def test_create_body_must_be_sent_as_json(sim: Simulator) -> None:
    resp = requests.post(
        f"{sim.base_url}/api/ci/runs", data="projectSlug=shop", headers={"X-API-Key": KEY}, timeout=5
    )
    assert resp.status_code == 415


def test_unknown_project_is_404_when_projects_are_configured() -> None:
    scenario = Scenario(projects=["shop"], processes=["smoke"])
    with Simulator(scenario, api_key=KEY) as sim:
        assert create(sim, {"projectSlug": "other", "processSlug": "smoke"}).status_code == 404
        assert create(sim, {"projectSlug": "shop", "processSlug": "nightly"}).status_code == 404
        assert create(sim).status_code == 201
        assert len(sim.runs) == 1


def test_unknown_paths_and_methods(sim: Simulator) -> None:
    assert (
        requests.get(f"{sim.base_url}/api/api/ci/runs/x", headers={"X-API-Key": KEY}, timeout=5).status_code
        == 404
    )
    assert (
        requests.get(f"{sim.base_url}/api/ci/runs", headers={"X-API-Key": KEY}, timeout=5).status_code == 405
    )
    assert status(sim, "no-such-run").status_code == 404
    assert cancel(sim, "no-such-run").status_code == 404


# Create ------------------------------------------------------------------------------------------------


def test_create_returns_201_with_links_on_another_host() -> None:
    scenario = Scenario(status_base_url="http://status-host.invalid:9", test_case_count=7)
    with Simulator(scenario, api_key=KEY) as sim:
        resp = create(sim)
        assert resp.status_code == 201
        body = resp.json()
        run_id = body["runId"]
        assert body["statusUrl"] == f"http://status-host.invalid:9/api/ci/runs/{run_id}"
        assert urlsplit(body["statusUrl"]).netloc != urlsplit(sim.base_url).netloc
        assert body["statusPath"] == f"/api/ci/runs/{run_id}"
        assert body["cancelPath"] == f"/api/ci/runs/{run_id}/cancel"
        assert body["appUrl"].startswith("https://")
        assert body["testCaseCount"] == 7
        assert body["message"]
        assert "Idempotency-Replayed" not in resp.headers
        assert sim.run(run_id).request == BODY


def test_same_idempotency_key_replays_the_same_run(sim: Simulator) -> None:
    first = create(sim, Idempotency_Key="k-1")
    again = create(sim, Idempotency_Key="k-1")
    other = create(sim, Idempotency_Key="k-2")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.headers["Idempotency-Replayed"] == "true"
    assert again.json() == first.json()
    assert other.status_code == 201
    assert other.json()["runId"] != first.json()["runId"]
    assert len(sim.runs) == 2
    assert sim.run(first.json()["runId"]).creates == 2
    assert sim.run(first.json()["runId"]).idempotency_key == "k-1"


def test_without_idempotency_key_every_create_is_a_new_run(sim: Simulator) -> None:
    assert create(sim).json()["runId"] != create(sim).json()["runId"]


def test_idempotency_conflict_on_a_different_body_when_enabled() -> None:
    with Simulator(Scenario(idempotency_conflict=True), api_key=KEY) as sim:
        assert create(sim, Idempotency_Key="k").status_code == 201
        assert create(sim, {"projectSlug": "shop", "tags": ["x"]}, Idempotency_Key="k").status_code == 409
        assert create(sim, Idempotency_Key="k").status_code == 200


def test_scripted_run_ids_are_path_escaped_in_links_and_routed_back() -> None:
    with Simulator(Scenario(run_ids=["run/1 ä"]), api_key=KEY) as sim:
        body = create(sim).json()
        assert body["runId"] == "run/1 ä"
        assert body["statusPath"] == "/api/ci/runs/run%2F1%20%C3%A4"
        resp = requests.get(f"{sim.base_url}{body['statusPath']}", headers={"X-API-Key": KEY}, timeout=5)
        assert resp.status_code == 200
        assert resp.json()["runId"] == "run/1 ä"


def test_create_response_overrides_and_omissions() -> None:
    scenario = Scenario(create_status=200, create_response={"_omit": ["statusUrl"], "conversationId": "c1"})
    with Simulator(scenario, api_key=KEY) as sim:
        resp = create(sim)
        assert resp.status_code == 200
        assert "statusUrl" not in resp.json()
        assert resp.json()["conversationId"] == "c1"


# Status progression ------------------------------------------------------------------------------------


def test_snapshots_advance_per_poll_and_the_last_repeats() -> None:
    scenario = Scenario(
        snapshots=[
            snapshot("in_progress", total=3, passed=1, pending=2),
            snapshot("in_progress", total=3, passed=2, pending=1),
            snapshot("completed", conclusion="failure", total=3, passed=2, failed=1),
        ],
        retry_after_seconds=4,
    )
    with Simulator(scenario, api_key=KEY) as sim:
        run_id = create(sim, {**BODY, "commitSha": "abc", "environmentKey": "staging"}).json()["runId"]
        bodies = [status(sim, run_id).json() for _ in range(5)]
        assert [b["state"] for b in bodies] == [
            "in_progress",
            "in_progress",
            "completed",
            "completed",
            "completed",
        ]
        assert [b["passed"] for b in bodies] == [1, 2, 2, 2, 2]
        first, last = bodies[0], bodies[-1]
        for key in (
            "runId",
            "state",
            "conclusion",
            "total",
            "passed",
            "failed",
            "blocked",
            "pending",
            "aborted",
            "skipped",
            "startedAt",
            "completedAt",
            "appUrl",
            "retryAfterSeconds",
        ):
            assert key in first
        assert first["runId"] == run_id
        assert first["retryAfterSeconds"] == 4
        assert first["completedAt"] is None
        assert first["commitSha"] == "abc"
        assert first["environmentKey"] == "staging"
        assert last["completedAt"] is not None
        assert last["failed"] == 1
        assert bodies[2]["completedAt"] == last["completedAt"]
        assert sim.run(run_id).polls == 5


def test_snapshot_directives_express_missing_fields_nulls_and_unknown_states() -> None:
    scenario = Scenario(
        snapshots=[
            {"state": "warming_up", "_omit": ["failed", "blocked", "retryAfterSeconds"]},
            {"state": "completed", "total": None, "conclusion": None},
            {"_exact": True, "runId": "x", "state": "completed"},
        ]
    )
    with Simulator(scenario, api_key=KEY) as sim:
        run_id = create(sim).json()["runId"]
        one, two, three = (status(sim, run_id).json() for _ in range(3))
        assert one["state"] == "warming_up"
        assert "failed" not in one
        assert "blocked" not in one
        assert "retryAfterSeconds" not in one
        assert two["total"] is None
        assert two["conclusion"] is None
        assert three == {"runId": "x", "state": "completed"}


def test_time_based_progression() -> None:
    scenario = Scenario(
        snapshots=[snapshot("in_progress"), snapshot("completed", total=1, passed=1)], step_seconds=0.3
    )
    with Simulator(scenario, api_key=KEY) as sim:
        run_id = create(sim).json()["runId"]
        assert status(sim, run_id).json()["state"] == "in_progress"
        assert status(sim, run_id).json()["state"] == "in_progress"
        time.sleep(0.35)
        assert status(sim, run_id).json()["state"] == "completed"


def test_a_brand_new_run_can_404_for_a_few_polls() -> None:
    with Simulator(Scenario(not_found_polls=2), api_key=KEY) as sim:
        run_id = create(sim).json()["runId"]
        assert [status(sim, run_id).status_code for _ in range(3)] == [404, 404, 200]


def test_terminal_state_first_served_time_is_recorded(sim: Simulator) -> None:
    run_id = create(sim).json()["runId"]
    while status(sim, run_id).json()["state"] != "completed":
        assert sim.run(run_id).terminal_served_at is None
    served = sim.run(run_id).terminal_served_at
    assert served is not None
    assert sim.run(run_id).terminal_state == "completed"
    final_poll = sim.api_requests("status")[-1]
    assert final_poll.received_at <= served <= time.monotonic()
    status(sim, run_id)
    assert sim.run(run_id).terminal_served_at == served


def test_retry_after_none_omits_the_hint() -> None:
    with Simulator(Scenario(retry_after_seconds=None), api_key=KEY) as sim:
        run_id = create(sim).json()["runId"]
        assert "retryAfterSeconds" not in status(sim, run_id).json()


# Cancel --------------------------------------------------------------------------------------------------


def test_cancel_marks_the_run_cancelled_and_records_the_reason() -> None:
    with Simulator("never", api_key=KEY) as sim:
        run_id = create(sim).json()["runId"]
        assert status(sim, run_id).json()["state"] == "in_progress"
        resp = cancel(sim, run_id, {"reason": "Cancelled by pipeline"})
        assert resp.status_code in (200, 202)
        assert resp.json()["runId"] == run_id
        body = status(sim, run_id).json()
        assert body["state"] == "cancelled"
        assert body["total"] == 5
        assert body["completedAt"] is not None
        run = sim.run(run_id)
        assert run.cancel_reasons == ["Cancelled by pipeline"]
        assert run.cancelled_at is not None
        assert run.terminal_state == "cancelled"
        again = cancel(sim, run_id)
        assert again.status_code == 200
        assert sim.run(run_id).cancel_reasons == ["Cancelled by pipeline", None]


def test_cancel_before_any_poll_keeps_the_run_counters() -> None:
    with Simulator("never", api_key=KEY) as sim:
        run_id = create(sim).json()["runId"]
        assert cancel(sim, run_id).status_code == 202
        body = status(sim, run_id).json()
        assert (body["state"], body["total"], body["pending"]) == ("cancelled", 5, 5)


def test_cancel_records_its_idempotency_key_and_rejects_bad_json() -> None:
    with Simulator("never", api_key=KEY) as sim:
        run_id = create(sim, Idempotency_Key="create-key").json()["runId"]
        resp = requests.post(
            f"{sim.base_url}/api/ci/runs/{run_id}/cancel",
            data=b"{nope",
            headers={"X-API-Key": KEY, "Content-Type": "application/json"},
            timeout=5,
        )
        assert resp.status_code == 400
        requests.post(
            f"{sim.base_url}/api/ci/runs/{run_id}/cancel",
            headers={"X-API-Key": KEY, "Idempotency-Key": "cancel-key"},
            timeout=5,
        )
        assert sim.run(run_id).cancel_requests[-1].idempotency_key == "cancel-key"


def test_cancel_after_completion_leaves_the_result(sim: Simulator) -> None:
    run_id = create(sim).json()["runId"]
    while status(sim, run_id).json()["state"] != "completed":
        pass
    resp = cancel(sim, run_id, {"reason": "late"})
    assert resp.status_code == 200
    assert resp.json()["state"] == "completed"
    assert status(sim, run_id).json()["state"] == "completed"
    assert sim.run(run_id).cancel_reasons == ["late"]


# Request log ------------------------------------------------------------------------------------------------


def test_request_log_keeps_method_path_headers_body_and_time(sim: Simulator) -> None:
    before = time.monotonic()
    create(sim, Idempotency_Key="abc")
    rec = sim.requests[0]
    assert rec.method == "POST"
    assert rec.path == "/api/ci/runs"
    assert rec.endpoint == "create"
    assert rec.header("x-api-key") == KEY
    assert rec.header("Idempotency-Key") == "abc"
    assert rec.json == BODY
    assert before <= rec.received_at <= time.monotonic()
    assert rec.response_status == 201
    assert rec.fault is None
    assert rec.run_id == sim.run().run_id


def test_wait_for_sees_a_request_before_it_is_answered() -> None:
    with Simulator(Scenario().with_faults(status=[Fault.stall(0.5)]), api_key=KEY) as sim:
        run_id = create(sim).json()["runId"]
        result: list[int] = []
        worker = threading.Thread(target=lambda: result.append(status(sim, run_id).status_code))
        worker.start()
        rec = sim.wait_for(lambda r: r.endpoint == "status", timeout=5)
        assert rec.run_id == run_id
        assert rec.finished_at is None  # still stalling
        worker.join(5)
        assert result == [200]


def test_wait_for_times_out_with_a_clear_error(sim: Simulator) -> None:
    with pytest.raises(TimeoutError, match="no matching request"):
        sim.wait_for(lambda r: r.endpoint == "cancel", timeout=0.05)


def test_control_requests_are_not_logged(sim: Simulator) -> None:
    requests.get(f"{sim.base_url}/_sim/requests", timeout=5)
    assert sim.requests == []


def test_stop_is_idempotent_and_frees_the_port() -> None:
    sim = Simulator(api_key=KEY)
    base = sim.start()
    sim.stop()
    sim.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/_sim/health", timeout=2)
