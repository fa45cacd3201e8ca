"""End to end: the API key goes only to the configured host and is never shown, however `api-url` or a
server spells it (a backslash or an encoded character in the host, the key partly percent-escaped, spread with
invisible characters or with a control character inside). Each test runs entrypoint.py the way the runner does
(tests/e2e_support.py) against the simulator on 127.0.0.1."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from certyn_simulator import Fault, Scenario, snapshot
from tests.e2e_support import (
    API_KEY,
    PASSED,
    Step,
    assert_input_error,
    explain,
    inputs,
    run_action,
    run_steps,
    simulators,
)


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


# -- api-url: the key goes only to the configured host, whatever the spelling --------------------------------


def test_no_spelling_of_api_url_sends_the_key_to_another_host(attacker: Listener) -> None:
    with simulators(Scenario(snapshots=[PASSED])) as (sim,):
        spellings = _spellings(sim.port, attacker.port)
        runs = run_steps(*(Step(inputs(url)) for url in spellings))
        for url, run in zip(spellings, runs, strict=True):
            assert attacker.seen() == [], f"{url!r} sent a request to another host:\n{explain(run)}"
            assert sim.requests == [], f"{url!r} was sent anyway"
            assert_input_error(run, "api-url")
            assert API_KEY not in run.log.replace(f"::add-mask::{API_KEY}", "")


def test_a_plain_loopback_api_url_still_works() -> None:
    with simulators(Scenario(snapshots=[PASSED])) as (sim,):
        run = run_action(f"HTTP://LocalHost:{sim.port}/api/")
        assert run.exit_code == 0, explain(run)
        assert [r.header("X-API-Key") for r in sim.requests] == [API_KEY] * 4
        assert [r.endpoint for r in sim.requests] == ["create", "status", "overview", "process_run"]


# -- the key spelt partly escaped, or with a character inside it ---------------------------------------------


def test_a_key_echoed_partly_percent_escaped_is_scrubbed() -> None:
    partly = API_KEY[:3] + "%53" + API_KEY[4:].replace("Q", "%51")  # 'S' and 'Q' escaped, the rest not
    assert API_KEY[3] == "S"
    spread = "\u200b".join(API_KEY)  # shown with the invisible characters as spaces, it would be readable
    scenario = Scenario(snapshots=[PASSED]).with_faults(
        create=[
            Fault.http(
                422,
                {
                    "error": f"unknown key {partly}",
                    "detail": f"/keys/{partly.lower()}",
                    "title": f"key {spread}",
                },
            )
        ]
    )
    with simulators(scenario) as (sim,):
        run = run_action(sim.base_url)
    assert run.exit_code == 1
    shown = run.stdout + run.stderr + run.summary + run.output_text
    assert "unknown key" in shown, explain(run)
    assert partly not in shown
    assert partly.lower() not in shown
    assert " ".join(API_KEY) not in shown
    assert spread not in shown


# Characters that a destination drops (XML), turns into a space (the log, the summary) or keeps raw (outputs):
# inside the key, each left a readable spelling of it somewhere.
KEY_BREAKERS = ("\x00", "\x01", "\x1b", "\x08", "\x0b", "\x0c", "\ufffe", "\uffff", "\u202e", "\u2028")


def _spelled(text: str) -> bool:
    """Whether ``text`` spells the key once everything but its letters and digits is taken out."""
    return API_KEY in "".join(ch for ch in text if ch.isascii() and ch.isalnum())


def test_the_key_with_a_control_character_inside_is_scrubbed_from_every_destination(tmp_path: Path) -> None:
    broken = [f"{API_KEY[:12]}{ch}{API_KEY[12:]}" for ch in KEY_BREAKERS]
    rows = [
        {"testCaseName": f"login {key} works", "testOutcome": "failed", "summaryMarkdown": f"sent {key}"}
        for key in broken
    ]
    scenario = Scenario(
        snapshots=[snapshot("completed", total=len(rows), failed=len(rows))],
        test_results=rows,
        conversation_polls=0,
        conversation_answer="\n".join(f"The key {key} leaked" for key in broken),
    )
    with simulators(scenario) as (sim,):
        run = run_action(
            sim.base_url,
            env={"GITHUB_WORKSPACE": str(tmp_path)},
            instruction="why",
            junit_report="j.xml",
            timeout_seconds="30",
        )
    assert run.exit_code == 1, explain(run)
    log = (run.stdout + run.stderr).replace(f"::add-mask::{API_KEY}", "")
    names = json.loads(run.outputs["failed-tests"])
    junit = (tmp_path / "j.xml").read_text(encoding="utf-8")
    for where, text in {
        "log": log,
        "summary": run.summary,
        "outputs": run.output_text,
        "failed-tests": "\n".join(names),
        "JUnit": junit,
    }.items():
        assert not _spelled(text), f"{where}\n{explain(run)}"
    # what is around the key is still there, in every destination
    assert len(names) == len(rows)
    assert all(name.startswith("login ") and name.endswith(" works") for name in names)
    assert "leaked" in run.outputs["conversation-response"]
    assert junit.count("login ") == len(rows)
    assert "sent " in run.summary
