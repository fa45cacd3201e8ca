"""End to end: what a hostile probe tried against the action (spellings of `api-url` that lead the key
elsewhere, statuses that do not prove a pass, replies that are ambiguous or about another run).

Each test runs entrypoint.py the way the runner does (tests/e2e_support.py) against the simulator on
127.0.0.1. docs/reliability.md ("Hostile servers and inputs") names these tests next to the rule they prove.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from certyn_simulator import Fault, Scenario, snapshot
from certyn_simulator.runner import ActionRun
from tests.e2e_support import API_KEY, Step, explain, inputs, run_action, run_steps, simulators

pytestmark = pytest.mark.e2e

PASSED = snapshot("completed", conclusion="success", total=2, passed=2)


class Listener:
    """A plain TCP listener on 127.0.0.1 that records every byte sent to it: the "attacker" host."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self._lock = threading.Lock()
        listener = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(2)
                data = b""
                try:
                    while chunk := self.request.recv(65536):
                        data += chunk
                        if b"\r\n\r\n" in data:
                            break
                except OSError:
                    pass
                with listener._lock:
                    listener.received.append(data)
                self.request.sendall(b"HTTP/1.1 500 No\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def seen(self) -> list[bytes]:
        with self._lock:
            return list(self.received)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def attacker() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


def _input_error(run: ActionRun, name: str) -> None:
    assert run.exit_code == 1, explain(run)
    errors = run.commands_named("error")
    assert any(f"'{name}'" in (c.properties.get("title", "") + c.data) for c in errors), explain(run)
    assert run.outputs["result"] == "error"
    assert run.summary.strip(), "the summary is written on every exit path"


# -- 1. api-url: the key goes only to the configured host, whatever the spelling ---------------------


def _spellings(sim: int, evil: int) -> list[str]:
    return [
        # urlsplit reads host 127.0.0.1:<sim>; requests/urllib3 end the host at the backslash: <evil>
        f"http://localhost:{evil}\\@127.0.0.1:{sim}",
        f"http://127.0.0.1:{evil}\\.localhost:{sim}",
        f"http://attacker.example\\.localhost:{sim}",
        f"http://attacker.example%5c.localhost:{sim}",
        f"http://127.0.0.1:{evil}%5C.localhost:{sim}",
        f"http://127.0.0.1:{evil}\t.localhost:{sim}",
        f"http://127.0.0.1:{evil}\n.localhost:{sim}",
        f"http://localhost:{evil}#@127.0.0.1:{sim}",
        f"http://localhost:{evil}@127.0.0.1:{sim}",
        f"http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54:{sim}"  # fullwidth "localhost",
        f"http://127\u30020\u30020\u30021:{sim}"  # ideographic full stops,
        f"http://[::1%25lo]:{sim}",
        f"http://attacker.example.localhost.:{sim}\\",
        f"http://127.0.0.1:{sim}/\\\\attacker.example",
        f"http://127.0.0.1:{evil}\u200b.localhost:{sim}",
    ]


def test_no_spelling_of_api_url_sends_the_key_to_another_host(attacker: Listener) -> None:
    with simulators(Scenario(snapshots=[PASSED])) as (sim,):
        spellings = _spellings(sim.port, attacker.port)
        runs = run_steps(*(Step(inputs(url)) for url in spellings))
        for url, run in zip(spellings, runs, strict=True):
            assert attacker.seen() == [], f"{url!r} sent a request to another host:\n{explain(run)}"
            assert sim.requests == [], f"{url!r} was sent anyway"
            _input_error(run, "api-url")
            assert API_KEY not in run.log.replace(f"::add-mask::{API_KEY}", "")


def test_a_plain_loopback_api_url_still_works() -> None:
    with simulators(Scenario(snapshots=[PASSED])) as (sim,):
        run = run_action(f"HTTP://LocalHost:{sim.port}/api/")
        assert run.exit_code == 0, explain(run)
        assert [r.header("X-API-Key") for r in sim.requests] == [API_KEY, API_KEY]


# -- 2. a finished status without `failed` or `blocked` proves nothing ---------------------------


@pytest.mark.parametrize(
    ("snap", "missing"),
    [
        ({"state": "completed", "total": 3, "_omit": ["failed", "blocked"]}, "failed"),
        ({"state": "completed", "total": 3, "passed": 3, "failed": None, "blocked": 0}, "failed"),
        ({"state": "completed", "total": 3, "passed": 3, "blocked": None, "failed": 0}, "blocked"),
        ({"state": "completed", "total": 3, "passed": 1, "Failed": 2, "_omit": ["failed"]}, "failed"),
        ({"state": "cancelled", "total": 3, "passed": 3, "_omit": ["blocked"]}, "blocked"),
    ],
)
def test_a_finished_status_without_failed_or_blocked_does_not_pass(
    snap: dict[str, Any], missing: str
) -> None:
    with simulators(Scenario(snapshots=[snap])) as (sim,):
        strict, waived = run_steps(
            Step(inputs(sim.base_url, fail_on_cancelled="false")),
            Step(inputs(sim.base_url, fail_on_incomplete="false", fail_on_cancelled="false")),
        )
    assert strict.exit_code == 1, explain(strict)
    assert strict.outputs["result"] == "failed"
    assert f"did not report `{missing}`" in strict.log
    assert f"did not report `{missing}`" in strict.summary.replace("\\", "")
    # fail-on-incomplete: false lets it through, and the pass says what was waived
    assert waived.exit_code == 0, explain(waived)
    assert f"did not report `{missing}`" in waived.log
    assert "fail-on-incomplete: false" in waived.log


# -- 3. a status for another run is never believed --------------------------------------------------


def test_a_status_naming_another_run_is_retried_never_gated_on() -> None:
    other = {"runId": "someone-elses-run", **snapshot("completed", total=2, passed=2, failed=0, blocked=0)}
    # Every poll: another run's passing status; the real run never finishes in time.
    lying = Scenario(snapshots=[other])
    # Two polls: another run's status, then this run's failing one.
    then_truth = Scenario(snapshots=[other, snapshot("completed", total=2, passed=1, failed=1)])
    with simulators(lying, then_truth) as (sim1, sim2):
        never, failing = run_steps(
            Step(inputs(sim1.base_url, timeout_seconds="6")),
            Step(inputs(sim2.base_url)),
        )
    assert never.outputs["result"] == "timed-out", explain(never)
    assert never.exit_code == 1
    assert "someone-elses-run" in never.log
    assert failing.outputs["result"] == "failed", explain(failing)
    assert failing.outputs["failed"] == "1"


# -- 4. a reply that names a key twice is ambiguous ------------------------------------------------


def test_a_status_with_a_duplicated_key_is_never_gated_on() -> None:
    run_id = "run-dup-1"
    body = (
        f'{{"runId": "{run_id}", "state": "completed", "total": 2, "passed": 1,'
        ' "failed": 1, "blocked": 0, "failed": 0}'
    )
    nested = (
        f'{{"runId": "{run_id}", "state": "completed", "total": 2, "passed": 2, "failed": 0,'
        ' "blocked": 0, "details": {"x": 1, "x": 2}}'
    )
    faults = [Fault("status", status=200, body=body, content_type="application/json", times=50)]
    dup = Scenario(snapshots=[PASSED], run_ids=[run_id]).with_faults(status=faults)
    nested_faults = [Fault("status", status=200, body=nested, content_type="application/json", times=50)]
    deep = Scenario(snapshots=[PASSED], run_ids=[run_id]).with_faults(status=nested_faults)
    create_dup = Scenario(snapshots=[PASSED]).with_faults(
        create=[
            Fault("status", status=201, body='{"runId": "a", "runId": "b"}', content_type="application/json")
        ]
    )
    with simulators(dup, deep, create_dup) as (sim1, sim2, sim3):
        flat, inner, created = run_steps(
            Step(inputs(sim1.base_url, timeout_seconds="6")),
            Step(inputs(sim2.base_url, timeout_seconds="6")),
            Step(inputs(sim3.base_url)),
        )
        create_requests = [r for r in sim3.requests if r.endpoint == "create"]
    for run in (flat, inner):
        assert run.outputs["result"] == "timed-out", explain(run)
        assert "appears twice" in run.log
    # the create is retried with the same key; the replay is answered normally and the run passes
    assert created.exit_code == 0, explain(created)
    assert "appears twice" in created.log
    assert len(create_requests) == 2
    assert len({r.header("Idempotency-Key") for r in create_requests}) == 1
