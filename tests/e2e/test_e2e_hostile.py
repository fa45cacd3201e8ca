"""End to end: what a hostile probe tried against the action (spellings of `api-url` that lead the key
elsewhere, statuses that do not prove a pass, replies that are ambiguous or about another run).

Each test runs entrypoint.py the way the runner does (tests/e2e_support.py) against the simulator on
127.0.0.1. docs/reliability.md ("Hostile servers and inputs") names these tests next to the rule they prove.
"""

from __future__ import annotations

import dataclasses
import json
import re
import signal
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from certyn_simulator import Fault, Scenario, snapshot
from certyn_simulator.runner import ActionRun, Event, FakeRunner
from tests.e2e_support import API_KEY, ROOT, Step, explain, inputs, run_action, run_steps, simulators
from tests.rendered import read

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
        assert [r.header("X-API-Key") for r in sim.requests] == [API_KEY] * 4
        assert [r.endpoint for r in sim.requests] == ["create", "status", "overview", "process_run"]


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
    assert f"did not report {missing} (missing or null)" in strict.log  # no Markdown in the log
    summary = read(strict.summary)  # as GitHub renders it: the counter's name in code style
    assert any(f"did not report {missing} (missing or null)" in item for item in summary.items)
    assert f"<code>{missing}</code>" in summary.html
    # fail-on-incomplete: false lets it through, and the pass says what was waived
    assert waived.exit_code == 0, explain(waived)
    assert f"did not report {missing} (missing or null)" in waived.log
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


# -- should-fix: text shown, orphans, inputs, odd replies -----------------------------------------

INVISIBLE = "\u202e\u2066\u200b\ufeff\u061c\u2060"
# The summary's own WORD JOINER, after an escaped "#", "@" or "GH-" (it keeps GitHub from linking an issue or
# an address): ours, not the server's
_OURS = re.compile(r"(\\#|GH\\-|@)\u2060", re.IGNORECASE)


def _server_invisible(text: str) -> bool:
    """Whether ``text`` holds an invisible or bidirectional character other than the summary's own."""
    return any(ch in _OURS.sub(r"\1", text) for ch in INVISIBLE)


def test_bidi_and_invisible_characters_from_the_server_are_neutralised_where_shown() -> None:
    evil = f"ok{INVISIBLE}txt.exe"
    failing = Scenario(snapshots=[snapshot("completed", conclusion=evil, total=2, passed=1, failed=1)])
    refused = Scenario(
        snapshots=[PASSED],
    ).with_faults(create=[Fault.http(422, {"error": f"bad {INVISIBLE} project", "title": evil})])
    with simulators(failing, refused) as (sim1, sim2):
        runs = run_steps(Step(inputs(sim1.base_url)), Step(inputs(sim2.base_url)))
    for run in runs:
        assert run.exit_code == 1, explain(run)
        shown = run.stdout + run.stderr + run.summary + run.outputs.get("conclusion", "")
        assert not _server_invisible(shown), explain(run)
    assert "txt.exe" in runs[0].log
    assert runs[0].outputs["conclusion"].startswith("ok")
    assert "project" in runs[1].log


def test_a_lost_create_then_a_refused_key_names_the_run_that_may_exist() -> None:
    scenario = Scenario(snapshots=[PASSED]).with_faults(create=[Fault.drop_after(), Fault.http(401)])
    with simulators(scenario) as (sim,):
        run = run_action(sim.base_url, idempotency_key="orphan-key-42")
        created = len(sim.runs)
    assert created == 1, "the lost create made a run"
    assert run.exit_code == 1
    assert run.outputs["result"] == "error"
    errors = [c.data for c in run.commands_named("error")]
    assert any("may exist in Certyn" in e and "orphan-key-42" in e for e in errors), explain(run)
    summary = run.summary.replace("\\", "")
    assert "may exist in Certyn" in summary
    assert "orphan-key-42" in summary


def _many_tags(count: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"

    def name(i: int) -> str:
        out = ""
        while True:
            i, r = divmod(i, 36)
            out = digits[r] + out
            if i == 0:
                return out

    return ",".join(name(i) for i in range(count))


def test_a_signal_while_huge_tags_are_read_ends_the_step_promptly() -> None:
    tags = _many_tags(30_000)  # about 120 KB, just under the 128 KiB a single variable may hold
    assert len(tags) < 128 * 1024
    values = inputs("http://127.0.0.1:9", tags=tags, process_slug="")
    with FakeRunner(ROOT).start(values) as action:
        action.wait_for_line(lambda line: line.text.startswith("::add-mask::"), timeout=20)
        sent = time.monotonic()
        action.send_signal(signal.SIGTERM)
        run = action.wait(timeout=30)
        took = time.monotonic() - sent
    assert took < 3.0, f"the step ended {took:.1f}s after SIGTERM:\n{explain(run)}"
    assert run.exit_code == 1
    assert run.outputs["result"] == "cancelled", explain(run)
    assert "Certyn" in run.summary


def test_a_deeply_nested_event_payload_is_a_clear_warning_not_an_internal_error() -> None:
    deep = '{"client_payload": ' + "[" * 200_000 + "]" * 200_000 + "}"
    event = dataclasses.replace(Event.push(), raw_payload=deep)
    with simulators(Scenario(snapshots=[PASSED])) as (sim,):
        run = run_action(sim.base_url, event=event)
    assert run.exit_code == 0, explain(run)
    warnings = [c.data for c in run.commands_named("warning")]
    assert any("nested too deeply" in w for w in warnings), explain(run)
    assert "Internal error" not in run.log


def test_a_redirect_whose_location_is_not_utf8_is_the_redirect_error_not_a_retry() -> None:
    scenario = Scenario(snapshots=[PASSED]).with_faults(
        create=[Fault.redirect(location="https://elsewhere.example/caf\xe9")]
    )
    with simulators(scenario) as (sim,):
        run = run_action(sim.base_url)
        creates = sim.api_requests("create")
    assert run.exit_code == 1, explain(run)
    assert len(creates) == 1, "a redirect is never retried"
    errors = [c.data for c in run.commands_named("error")]
    assert any("redirect" in e and "elsewhere.example" in e for e in errors), explain(run)


def test_input_bytes_that_are_not_utf8_are_an_input_error_naming_the_input() -> None:
    with simulators(Scenario(snapshots=[PASSED])) as (sim,):
        run = run_action(sim.base_url, ref="refs/heads/caf\udce9")
        sent = list(sim.requests)
    assert sent == [], "nothing is sent"
    _input_error(run, "ref")
    assert "UTF-8" in run.log


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


def test_a_lost_create_then_a_refusal_that_hides_the_run_says_it_may_exist() -> None:
    # The lost create made a run; the retry and the recovery replay are refused: nobody learns its id.
    refused = Fault.http(422, {"error": "invalid request"})
    scenario = Scenario(snapshots=[PASSED]).with_faults(create=[Fault.drop_after(), refused, refused])
    with simulators(scenario) as (sim,):
        run = run_action(sim.base_url, idempotency_key="orphan-key-43")
        creates = len(sim.api_requests("create"))
    assert creates == 3, explain(run)
    assert run.exit_code == 1
    summary = run.summary.replace("\\", "")
    assert "may exist in Certyn" in summary, explain(run)
    assert "orphan-key-43" in summary
    assert "may exist in Certyn" in run.log


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


def test_bidi_and_invisible_characters_in_the_answer_and_the_instruction_are_neutralised() -> None:
    scenario = Scenario(
        snapshots=[PASSED],
        test_results=[{"testCaseName": f"t{INVISIBLE}1", "testOutcome": "passed"}],
        conversation_polls=0,
        conversation_answer=f"```\nrun{INVISIBLE}exe.txt\n```",
    )
    with simulators(scenario) as (sim,):
        run = run_action(sim.base_url, instruction=f"why{INVISIBLE}not", timeout_seconds="30")
    assert run.exit_code == 0, explain(run)
    answer = run.outputs["conversation-response"]
    for where, text in {"log": run.stdout + run.stderr, "summary": run.summary, "answer": answer}.items():
        assert not _server_invisible(text), f"{where}\n{explain(run)}"
    assert answer == f"```\nrun{' ' * len(INVISIBLE)}exe.txt\n```"
    assert f"why{' ' * len(INVISIBLE)}not" in run.summary
