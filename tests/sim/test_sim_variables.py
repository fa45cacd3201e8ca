"""Environment variables, self-hosted runner pools and an environment's execution target (issue 22)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from certyn_simulator import Fault, Scenario, Simulator

KEY = "test-key"
H = {"X-API-Key": KEY}
POOLS: list[dict[str, Any]] = [
    {"id": "pool-lab", "name": "lab", "description": "the office rack"},
    {"id": "pool-old", "name": "old", "isActive": False},
]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(Scenario(projects=["shop"], runner_pools=POOLS), api_key=KEY) as s:
        yield s


def envs_url(sim: Simulator) -> str:
    return f"{sim.base_url}/api/projects/{sim.project_id('shop')}/environments"


def new_env(sim: Simulator, key: str = "dev-ci-1", **extra: Any) -> requests.Response:
    body = {"key": key, "label": "CI preview", "baseUrl": "https://preview.example.test", "version": "v1"}
    return requests.post(envs_url(sim), json={**body, **extra}, headers=H, timeout=5)


def set_var(sim: Simulator, env_id: str, body: Any) -> requests.Response:
    return requests.post(f"{envs_url(sim)}/{env_id}/variables", json=body, headers=H, timeout=5)


def list_vars(sim: Simulator, env_id: str) -> requests.Response:
    return requests.get(f"{envs_url(sim)}/{env_id}/variables", headers=H, timeout=5)


# Variables ------------------------------------------------------------------------------------------------
def test_variables_are_stored_per_environment_and_listed_as_a_bare_array_in_order(sim: Simulator) -> None:
    env = new_env(sim).json()
    other = new_env(sim, "dev-ci-2").json()
    first = set_var(sim, env["id"], {"name": "LOGIN_USER", "value": "qa-bot", "description": "seed user"})
    assert first.status_code == 201
    assert first.json() == {
        "id": first.json()["id"],
        "environmentId": env["id"],
        "name": "LOGIN_USER",
        "value": "qa-bot",
        "description": "seed user",
    }
    assert set_var(sim, env["id"], {"name": "API_TOKEN", "value": ""}).status_code == 201
    listed = list_vars(sim, env["id"]).json()
    assert isinstance(listed, list)
    assert [(v["name"], v["value"], v["description"]) for v in listed] == [
        ("LOGIN_USER", "qa-bot", "seed user"),
        ("API_TOKEN", "", ""),
    ]
    assert list_vars(sim, other["id"]).json() == []
    recorded = sim.created_environments[0]
    assert recorded.variable_values == {"LOGIN_USER": "qa-bot", "API_TOKEN": ""}
    control = requests.get(f"{sim.base_url}/_sim/environments", timeout=5).json()["environments"]
    assert [v["name"] for v in control[0]["variables"]] == ["LOGIN_USER", "API_TOKEN"]
    assert control[0]["variables"][0]["seq"] == sim.api_requests("variable_create")[0].seq


def test_a_duplicate_name_is_409_and_changes_nothing(sim: Simulator) -> None:
    env = new_env(sim).json()
    assert set_var(sim, env["id"], {"name": "LOGIN_USER", "value": "a"}).status_code == 201
    dup = set_var(sim, env["id"], {"name": "login_user", "value": "b"})
    assert dup.status_code == 409
    assert "already exists" in dup.json()["error"]
    assert [v["value"] for v in list_vars(sim, env["id"]).json()] == ["a"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"value": "x"}, "name"),
        ({"name": " ", "value": "x"}, "name"),
        ({"name": "A"}, "value"),
        ({"name": "A", "value": 3}, "value"),
        ({"name": "A", "value": "x", "description": 1}, "description"),
        (["A", "x"], "$"),
    ],
)
def test_an_invalid_variable_is_400(sim: Simulator, body: Any, field: str) -> None:
    env = new_env(sim).json()
    resp = set_var(sim, env["id"], body)
    assert resp.status_code == 400
    assert field in resp.json()["errors"]
    assert sim.created_environments[0].variables == []


def test_variables_of_an_unknown_or_deleted_environment_are_404_and_deleted_with_it(sim: Simulator) -> None:
    assert set_var(sim, "nope", {"name": "A", "value": "1"}).status_code == 404
    assert list_vars(sim, "nope").status_code == 404
    env = new_env(sim).json()
    assert set_var(sim, env["id"], {"name": "A", "value": "1"}).status_code == 201
    assert requests.delete(f"{envs_url(sim)}/{env['id']}", headers=H, timeout=5).status_code == 204
    assert list_vars(sim, env["id"]).status_code == 404
    assert set_var(sim, env["id"], {"name": "B", "value": "2"}).status_code == 404
    again = new_env(sim).json()  # the key is free again, with no variables
    assert list_vars(sim, again["id"]).json() == []
    assert sim.deleted_environments[0].variable_values == {"A": "1"}  # still readable by tests


def test_a_variable_set_can_fail_by_fault_after_the_first_ones_succeed() -> None:
    sc = Scenario(
        projects=["shop"],
        faults={"variable_create": [Fault.ok(times=2), Fault.http(500, {"error": "vault unavailable"})]},
    )
    with Simulator(sc, api_key=KEY) as s:
        env = new_env(s).json()
        answers = [set_var(s, env["id"], {"name": f"V{i}", "value": str(i)}).status_code for i in range(4)]
        assert answers == [201, 201, 500, 201]
        assert [r.fault for r in s.api_requests("variable_create")] == ["ok", "ok", "status", None]
        assert list(s.created_environments[0].variable_values) == ["V0", "V1", "V3"]


def test_the_request_log_shows_variables_set_before_the_run_create(sim: Simulator) -> None:
    env = new_env(sim).json()
    set_var(sim, env["id"], {"name": "A", "value": "1"})
    body = {"projectSlug": "shop", "processSlug": "smoke", "environmentKey": env["key"]}
    assert requests.post(f"{sim.base_url}/api/ci/runs", json=body, headers=H, timeout=5).status_code == 201
    order = [r.endpoint for r in sim.requests]
    assert order == ["environment_create", "variable_create", "create"]


# Runner pools and the execution target -------------------------------------------------------------------
def test_pools_are_a_bare_array_of_full_runner_pools(sim: Simulator) -> None:
    pools = requests.get(f"{sim.base_url}/api/self-hosted/pools", headers=H, timeout=5).json()
    assert [(p["id"], p["name"], p["poolKind"], p["isActive"]) for p in pools] == [
        ("pool-lab", "lab", "self_hosted", True),
        ("pool-old", "old", "self_hosted", False),
    ]
    assert set(pools[0]) == {
        "id",
        "name",
        "description",
        "poolKind",
        "cloudRegion",
        "scaleSetResourceId",
        "isActive",
        "isShared",
        "minRunners",
        "maxRunners",
        "slotsPerRunner",
    }
    with Simulator(api_key=KEY) as bare:
        assert requests.get(f"{bare.base_url}/api/self-hosted/pools", headers=H, timeout=5).json() == []


def test_a_self_hosted_environment_on_an_active_pool_is_stored(sim: Simulator) -> None:
    created = new_env(sim, executionTarget="self_hosted", runnerPoolId="pool-lab")
    assert created.status_code == 201
    assert (created.json()["executionTarget"], created.json()["runnerPoolId"]) == ("self_hosted", "pool-lab")
    listed = requests.get(envs_url(sim), headers=H, timeout=5).json()["items"]
    assert listed[0]["runnerPoolId"] == "pool-lab"
    assert sim.created_environments[0].execution_target == "self_hosted"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"executionTarget": "self_hosted"}, "runnerPoolId"),
        ({"executionTarget": "self_hosted", "runnerPoolId": "pool-none"}, "runnerPoolId"),
        ({"executionTarget": "self_hosted", "runnerPoolId": "pool-old"}, "runnerPoolId"),
        ({"executionTarget": "on_prem"}, "executionTarget"),
    ],
)
def test_an_invalid_execution_target_is_400(sim: Simulator, extra: dict[str, str], field: str) -> None:
    resp = new_env(sim, **extra)
    assert resp.status_code == 400
    assert list(resp.json()["errors"]) == [field]
    assert sim.created_environments == []
