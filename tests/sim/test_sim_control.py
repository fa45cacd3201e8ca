"""The /_sim/ control surface, scenario files and the ``serve`` command line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from certyn_simulator import ENDPOINTS, Fault, Scenario, ScenarioError, Simulator, builtin_scenarios
from certyn_simulator.catalogue import load_scenario

KEY = "test-key"
BODY = {"projectSlug": "shop", "processSlug": "smoke"}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator("pass", api_key=KEY) as s:
        yield s


def ctl(sim: Simulator, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
    return requests.request(method, f"{sim.base_url}/_sim/{path}", json=body, params=params, timeout=10)


def create(base: str, key: str = KEY) -> requests.Response:
    return requests.post(f"{base}/api/ci/runs", json=BODY, headers={"X-API-Key": key}, timeout=5)


def test_health(sim: Simulator) -> None:
    assert ctl(sim, "GET", "health").json() == {"ok": True, "baseUrl": sim.base_url}


def test_put_scenario_then_runs_follow_it(sim: Simulator) -> None:
    scenario = {"name": "mine", "snapshots": [{"state": "completed", "failed": 3}], "retry_after_seconds": 7}
    resp = ctl(sim, "PUT", "scenario", scenario)
    assert resp.status_code == 200
    assert resp.json()["name"] == "mine"
    assert ctl(sim, "GET", "scenario").json()["retry_after_seconds"] == 7
    run_id = create(sim.base_url).json()["runId"]
    body = requests.get(f"{sim.base_url}/api/ci/runs/{run_id}", headers={"X-API-Key": KEY}, timeout=5).json()
    assert body["failed"] == 3
    assert body["retryAfterSeconds"] == 7


def test_put_builtin_scenario_by_name(sim: Simulator) -> None:
    assert ctl(sim, "PUT", "scenario", "blocked").json()["name"] == "blocked"
    assert sim.scenario.name == "blocked"


@pytest.mark.parametrize(
    "bad",
    [{"snapshots": []}, {"nope": 1}, {"faults": {"create": [{"kind": "boom"}]}}, "no-such-scenario", [1]],
)
def test_bad_scenarios_are_400_and_change_nothing(sim: Simulator, bad: Any) -> None:
    resp = ctl(sim, "PUT", "scenario", bad)
    assert resp.status_code == 400
    assert resp.json()["error"]
    assert sim.scenario.name == "pass"


def test_faults_endpoints(sim: Simulator) -> None:
    resp = ctl(sim, "POST", "faults", {"create": [{"kind": "status", "status": 500}], "status": "drop"})
    assert resp.status_code == 200
    assert resp.json()["create"] == [{"kind": "status", "status": 500}]
    assert resp.json()["status"] == [{"kind": "drop"}]
    assert create(sim.base_url).status_code == 500
    assert ctl(sim, "DELETE", "faults").status_code == 200
    assert ctl(sim, "GET", "faults").json() == {key: [] for key in ENDPOINTS}
    assert ctl(sim, "POST", "faults", {"nowhere": ["drop"]}).status_code == 400


def test_requests_and_runs_listing_with_filters(sim: Simulator) -> None:
    run_id = create(sim.base_url).json()["runId"]
    requests.get(f"{sim.base_url}/api/ci/runs/{run_id}", headers={"X-API-Key": KEY}, timeout=5)
    listed = ctl(sim, "GET", "requests").json()["requests"]
    assert [r["endpoint"] for r in listed] == ["create", "status"]
    first = listed[0]
    assert first["method"] == "POST"
    assert ["X-API-Key", KEY] in first["headers"]
    assert first["json"] == BODY
    assert isinstance(first["receivedAt"], float)
    assert first["responseStatus"] == 201
    assert [r["endpoint"] for r in ctl(sim, "GET", "requests", endpoint="status").json()["requests"]] == [
        "status"
    ]
    assert len(ctl(sim, "GET", "requests", since=1).json()["requests"]) == 1
    runs = ctl(sim, "GET", "runs").json()["runs"]
    assert [r["runId"] for r in runs] == [run_id]
    one = ctl(sim, "GET", f"runs/{run_id}").json()
    assert one["polls"] == 1
    assert one["request"] == BODY
    assert ctl(sim, "GET", "runs/unknown").status_code == 404


def test_reset_forgets_everything_and_can_set_a_scenario(sim: Simulator) -> None:
    create(sim.base_url)
    sim.add_faults("status", Fault.drop())
    assert ctl(sim, "POST", "reset", "fail").status_code == 200
    assert sim.requests == []
    assert sim.runs == {}
    assert sim.scenario.name == "fail"
    assert sim.pending_faults()["status"] == []


def test_wait_long_polls_until_a_request_arrives(sim: Simulator) -> None:
    timer = threading.Timer(0.2, lambda: create(sim.base_url))
    timer.start()
    resp = ctl(sim, "GET", "wait", endpoint="create", count=1, timeout=5)
    timer.join()
    assert resp.status_code == 200
    assert resp.json()["requests"][0]["endpoint"] == "create"
    missing = ctl(sim, "GET", "wait", endpoint="cancel", timeout=0.1)
    assert missing.status_code == 408


def test_unknown_control_route(sim: Simulator) -> None:
    assert ctl(sim, "GET", "nothing-here").status_code == 404


# Scenario model -----------------------------------------------------------------------------------------


def test_builtin_scenarios_round_trip_through_json() -> None:
    for name, scenario in builtin_scenarios().items():
        again = Scenario.from_dict(json.loads(json.dumps(scenario.to_dict())))
        assert again == scenario, name


def test_builtin_scenarios_end_as_their_names_say() -> None:
    finals = {name: sc.snapshots[-1] for name, sc in builtin_scenarios().items()}
    assert finals["pass"]["state"] == "completed"
    assert finals["pass"].get("failed", 0) == 0
    assert finals["fail"]["failed"] > 0
    assert finals["blocked"]["blocked"] > 0
    assert finals["aborted"]["aborted"] > 0
    assert finals["empty"]["total"] == 0
    assert finals["cancelled"]["state"] == "cancelled"
    assert finals["never"]["state"] == "in_progress"
    assert builtin_scenarios()["flaky"].faults["status"]


def test_with_faults_copies() -> None:
    base = Scenario()
    derived = base.with_faults(status=[Fault.drop()])
    assert base.faults == {}
    assert derived.faults["status"] == [Fault.drop()]
    with pytest.raises(ScenarioError):
        base.with_faults(nowhere=[Fault.drop()])


def test_load_scenario_from_file_and_errors() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.json"
        path.write_text(
            json.dumps({"name": "from-file", "snapshots": [{"state": "completed"}]}), encoding="utf-8"
        )
        assert load_scenario(str(path)).name == "from-file"
        path.write_text("{broken", encoding="utf-8")
        with pytest.raises(ScenarioError, match="cannot read"):
            load_scenario(str(path))
    assert load_scenario("fail").name == "fail"
    with pytest.raises(ScenarioError, match="neither"):
        load_scenario("no-such-thing")


# Command line -------------------------------------------------------------------------------------------


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "certyn_simulator", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_the_base_url_writes_the_port_and_exits_cleanly(sig: signal.Signals) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        proc = _serve(
            "--api-key",
            "cli-key",
            "--github-token",
            "cli-gh",
            "--scenario",
            "fail",
            "--port-file",
            str(port_file),
            "--quiet",
        )
        try:
            assert proc.stdout is not None
            base = proc.stdout.readline().strip()
            assert base.startswith("http://127.0.0.1:")
            assert port_file.read_text(encoding="utf-8").strip() == base.rsplit(":", 1)[1]
            assert create(base, key="wrong").status_code == 401
            assert create(base, key="cli-key").status_code == 201
            assert requests.get(f"{base}/_sim/scenario", timeout=5).json()["name"] == "fail"
            pulls = f"{base}/github/repos/o/r/commits/{'a' * 40}/pulls"
            assert (
                requests.get(pulls, headers={"Authorization": "Bearer cli-gh"}, timeout=5).status_code == 200
            )
            assert (
                requests.get(pulls, headers={"Authorization": "Bearer cli-key"}, timeout=5).status_code == 401
            )
            proc.send_signal(sig)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()


def test_serve_rejects_an_unknown_scenario() -> None:
    proc = _serve("--scenario", "no-such-scenario")
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert "no-such-scenario" in err


def test_scenarios_command_prints_json() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "certyn_simulator", "scenarios", "pass"],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    ).stdout
    assert json.loads(out)["pass"]["name"] == "pass"


def test_default_bind_is_loopback() -> None:
    sim = Simulator()
    try:
        base = sim.start()
        assert base.startswith("http://127.0.0.1:")
    finally:
        sim.stop()
