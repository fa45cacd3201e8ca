"""Every fault kind, observed from raw clients (http.client, sockets, requests)."""

from __future__ import annotations

import email.utils
import http.client
import json
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from certyn_simulator import FAULT_KINDS, Fault, Scenario, ScenarioError, Simulator

KEY = "test-key"
BODY = {"projectSlug": "shop", "processSlug": "smoke"}
SMALL = Scenario(snapshots=[{"_exact": True, "state": "completed"}])  # a 22-byte status body


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(SMALL, api_key=KEY) as s:
        yield s


def conn(sim: Simulator, timeout: float = 5) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", sim.port, timeout=timeout)


def post_create(c: http.client.HTTPConnection, key: str | None = None) -> http.client.HTTPResponse:
    headers = {"X-API-Key": KEY, "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    c.request("POST", "/api/ci/runs", body=json.dumps(BODY), headers=headers)
    return c.getresponse()


def new_run(sim: Simulator) -> str:
    resp = requests.post(f"{sim.base_url}/api/ci/runs", json=BODY, headers={"X-API-Key": KEY}, timeout=5)
    assert resp.status_code == 201
    run_id: str = resp.json()["runId"]
    return run_id


def raw_get(sim: Simulator, path: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nX-API-Key: {KEY}\r\nConnection: close\r\n\r\n".encode())
    return sock


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_every_kind_is_known_and_unknown_kinds_are_refused() -> None:
    for kind in FAULT_KINDS:
        assert Fault(kind).kind == kind
    with pytest.raises(ScenarioError, match="unknown fault kind"):
        Fault("explode")
    with pytest.raises(ScenarioError):
        Fault.from_dict({"kind": "drop", "bogus": 1})


# status ---------------------------------------------------------------------------------------------


def test_status_fault_with_retry_after_seconds_does_not_create(sim: Simulator) -> None:
    sim.add_faults("create", Fault.http(503, {"error": "busy"}, retry_after=2))
    resp = post_create(conn(sim))
    assert resp.status == 503
    assert resp.getheader("Retry-After") == "2"
    assert json.loads(resp.read()) == {"error": "busy"}
    assert sim.runs == {}
    assert sim.requests[0].fault == "status"
    assert sim.requests[0].response_status == 503
    assert post_create(conn(sim)).status == 201  # consumed: the next one is normal


def test_status_fault_with_http_date_and_text_body(sim: Simulator) -> None:
    date = email.utils.formatdate(time.time() + 5, usegmt=True)
    sim.add_faults("status", Fault.http(429, "<html>slow down</html>", retry_after=date))
    run_id = new_run(sim)
    resp = requests.get(f"{sim.base_url}/api/ci/runs/{run_id}", headers={"X-API-Key": KEY}, timeout=5)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == date
    assert resp.headers["Content-Type"].startswith("text/html")


def test_status_fault_can_process_first(sim: Simulator) -> None:
    sim.add_faults("create", Fault.http(502, process=True))
    assert post_create(conn(sim), key="k").status == 502
    assert len(sim.runs) == 1
    replay = post_create(conn(sim), key="k")
    assert replay.status == 200
    assert replay.getheader("Idempotency-Replayed") == "true"


def test_times_repeats_a_fault(sim: Simulator) -> None:
    sim.add_faults("create", Fault.http(500, times=2))
    assert [post_create(conn(sim)).status for _ in range(3)] == [500, 500, 201]


def test_outage_lasts_for_a_duration_then_ends(sim: Simulator) -> None:
    run_id = new_run(sim)
    sim.add_faults("status", Fault.outage(0.3, retry_after=1))
    url = f"{sim.base_url}/api/ci/runs/{run_id}"
    first = requests.get(url, headers={"X-API-Key": KEY}, timeout=5)
    second = requests.get(url, headers={"X-API-Key": KEY}, timeout=5)
    assert (first.status_code, second.status_code) == (503, 503)
    assert first.headers["Retry-After"] == "1"
    time.sleep(0.35)
    assert requests.get(url, headers={"X-API-Key": KEY}, timeout=5).status_code == 200
    assert sim.pending_faults()["status"] == []


def test_queues_are_per_endpoint(sim: Simulator) -> None:
    sim.add_faults("status", Fault.http(500))
    sim.add_faults("cancel", Fault.http(503))
    run_id = new_run(sim)  # create unaffected
    assert (
        requests.get(
            f"{sim.base_url}/api/ci/runs/{run_id}", headers={"X-API-Key": KEY}, timeout=5
        ).status_code
        == 500
    )
    resp = requests.post(f"{sim.base_url}/api/ci/runs/{run_id}/cancel", headers={"X-API-Key": KEY}, timeout=5)
    assert resp.status_code == 503
    assert sim.run(run_id).cancel_requests == []  # not processed


def test_faults_come_before_auth(sim: Simulator) -> None:
    sim.add_faults("create", Fault.http(503))
    resp = requests.post(f"{sim.base_url}/api/ci/runs", json=BODY, timeout=5)
    assert resp.status_code == 503


# drop / drop_after / reset --------------------------------------------------------------------------------


def test_drop_closes_without_response_and_creates_nothing(sim: Simulator) -> None:
    sim.add_faults("create", Fault.drop())
    with pytest.raises(http.client.RemoteDisconnected):
        post_create(conn(sim))
    assert sim.runs == {}
    assert sim.requests[0].fault == "drop"
    assert sim.requests[0].response_status is None


def test_drop_after_creates_the_run_but_loses_the_response(sim: Simulator) -> None:
    sim.add_faults("create", Fault.drop_after())
    with pytest.raises(http.client.RemoteDisconnected):
        post_create(conn(sim), key="same")
    assert len(sim.runs) == 1
    replay = post_create(conn(sim), key="same")
    assert replay.status == 200
    assert json.loads(replay.read())["runId"] == sim.run().run_id


def test_drop_after_on_a_terminal_poll_does_not_count_as_served(sim: Simulator) -> None:
    run_id = new_run(sim)
    sim.add_faults("status", Fault.drop_after())
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{sim.base_url}/api/ci/runs/{run_id}", headers={"X-API-Key": KEY}, timeout=5)
    assert sim.run(run_id).polls == 1
    assert sim.run(run_id).terminal_served_at is None


def test_reset_sends_rst(sim: Simulator) -> None:
    run_id = new_run(sim)
    sim.add_faults("status", Fault.reset())
    sock = raw_get(sim, f"/api/ci/runs/{run_id}")
    with pytest.raises(ConnectionResetError):
        read_all(sock)
    sock.close()
    assert sim.run(run_id).polls == 0


# Bodies that are not what they claim ---------------------------------------------------------------------


def test_html_proxy_page(sim: Simulator) -> None:
    run_id = new_run(sim)
    sim.add_faults("status", Fault.html())
    resp = requests.get(f"{sim.base_url}/api/ci/runs/{run_id}", headers={"X-API-Key": KEY}, timeout=5)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    assert resp.text.lstrip().startswith("<!DOCTYPE html>")
    with pytest.raises(requests.JSONDecodeError):
        resp.json()


def test_not_json(sim: Simulator) -> None:
    run_id = new_run(sim)
    sim.add_faults("status", Fault.not_json())
    resp = requests.get(f"{sim.base_url}/api/ci/runs/{run_id}", headers={"X-API-Key": KEY}, timeout=5)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(resp.text)


def test_truncated_json_with_matching_length(sim: Simulator) -> None:
    sim.add_faults("create", Fault.truncated())
    resp = post_create(conn(sim))
    raw = resp.read()
    assert resp.status == 201
    assert int(resp.getheader("Content-Length") or "-1") == len(raw)
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    assert len(sim.runs) == 1  # processed


def test_truncated_short_read(sim: Simulator) -> None:
    sim.add_faults("create", Fault.truncated(short_read=True))
    resp = post_create(conn(sim))
    with pytest.raises(http.client.IncompleteRead):
        resp.read()


def test_missing_run_id_on_create(sim: Simulator) -> None:
    sim.add_faults("create", Fault.missing_run_id())
    resp = post_create(conn(sim))
    assert resp.status == 201
    body = json.loads(resp.read())
    assert "runId" not in body
    assert "statusUrl" in body
    assert len(sim.runs) == 1


def test_redirect_to_another_host(sim: Simulator) -> None:
    run_id = new_run(sim)
    sim.add_faults("status", Fault.redirect(), Fault.redirect("http://127.0.0.1:9/elsewhere", status=307))
    url = f"{sim.base_url}/api/ci/runs/{run_id}"
    first = requests.get(url, headers={"X-API-Key": KEY}, timeout=5, allow_redirects=False)
    assert first.status_code == 302
    assert first.headers["Location"] == f"https://status.certyn-sim.invalid/api/ci/runs/{run_id}"
    second = requests.get(url, headers={"X-API-Key": KEY}, timeout=5, allow_redirects=False)
    assert second.status_code == 307
    assert second.headers["Location"] == "http://127.0.0.1:9/elsewhere"


# Slow answers ------------------------------------------------------------------------------------------------


def _time_response(sim: Simulator, path: str) -> tuple[float, float, bytes]:
    """(seconds to the first byte, seconds to the end, raw response)."""
    start = time.monotonic()
    sock = raw_get(sim, path)
    first = sock.recv(1)
    t_first = time.monotonic() - start
    rest = read_all(sock)
    sock.close()
    return t_first, time.monotonic() - start, first + rest


def test_delay_holds_back_everything(sim: Simulator) -> None:
    run_id = new_run(sim)
    sim.add_faults("status", Fault.delay(0.3))
    t_first, _, raw = _time_response(sim, f"/api/ci/runs/{run_id}")
    assert t_first >= 0.28
    assert raw.startswith(b"HTTP/1.1 200")
    assert raw.endswith(b'"completed"}')


def test_stall_sends_headers_then_waits(sim: Simulator) -> None:
    run_id = new_run(sim)
    sim.add_faults("status", Fault.stall(0.3))
    t_first, t_end, raw = _time_response(sim, f"/api/ci/runs/{run_id}")
    assert t_first < 0.2
    assert t_end >= 0.28
    assert raw.endswith(b'"completed"}')
    assert sim.run(run_id).terminal_served_at is not None


def test_drip_sends_the_body_one_byte_at_a_time(sim: Simulator) -> None:
    run_id = new_run(sim)
    sim.add_faults("status", Fault.drip(0.02))
    t_first, t_end, raw = _time_response(sim, f"/api/ci/runs/{run_id}")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"Content-Length: 22" in head
    assert body == b'{"state": "completed"}'
    assert t_first < 0.2
    assert t_end >= 21 * 0.02 * 0.9


def test_drip_defeats_a_per_read_timeout(sim: Simulator) -> None:
    """The reason a whole-request deadline is needed: every read here finishes within 0.2 s."""
    run_id = new_run(sim)
    sim.add_faults("status", Fault.drip(0.03))
    start = time.monotonic()
    resp = requests.get(f"{sim.base_url}/api/ci/runs/{run_id}", headers={"X-API-Key": KEY}, timeout=0.2)
    assert resp.json() == {"state": "completed"}
    assert time.monotonic() - start > 0.5


def test_stop_interrupts_a_stalled_response() -> None:
    sim = Simulator(SMALL.with_faults(status=[Fault.stall(30)]), api_key=KEY)
    sim.start()
    run_id = new_run(sim)
    sock = raw_get(sim, f"/api/ci/runs/{run_id}")
    sim.wait_for(lambda r: r.endpoint == "status")
    start = time.monotonic()
    sim.stop()
    assert time.monotonic() - start < 3
    sock.settimeout(3)
    try:
        data = read_all(sock)  # the headers, then the connection ends
    except OSError:
        data = b""
    sock.close()
    assert b'"completed"}' not in data


# Scenario-borne faults ----------------------------------------------------------------------------------------


def test_faults_from_a_scenario_dict_are_loaded_and_reset() -> None:
    scenario = Scenario.from_dict(
        {"faults": {"create": ["drop", {"kind": "status", "status": 429, "headers": {"Retry-After": "1"}}]}}
    )
    with Simulator(scenario, api_key=KEY) as sim:
        with pytest.raises(http.client.RemoteDisconnected):
            post_create(conn(sim))
        assert post_create(conn(sim)).status == 429
        assert post_create(conn(sim)).status == 201
        sim.reset()
        assert sim.requests == []
        assert sim.runs == {}
        with pytest.raises(http.client.RemoteDisconnected):
            post_create(conn(sim))
