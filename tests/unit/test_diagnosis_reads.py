"""findings.py's diagnosis reads against mocked HTTP (responses) and a FakeClock: what is read for which test,
the limits (10 tests, 1,000 events, 4 requests at once, the budget), and that whatever fails is one warning and a
signal stops it."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from junitparser import JUnitXml
from requests import PreparedRequest

from certyn_action import findings
from certyn_action.api.models import RunItem
from certyn_action.clock import Deadline
from certyn_action.diagnosis import Diagnosis, FlakyMark
from certyn_action.findings import DIAGNOSIS_SECONDS, MAX_PARALLEL, _Reads, _run, report_diagnosis
from certyn_action.render import words
from certyn_action.runner.signals import CancelRequested, SignalGuard
from certyn_action.settings import Settings
from tests.fakes import FakeClock
from tests.unit.api.test_client import BASE, KEY, _SignalAt, make_client
from tests.unit.test_main import CREATE, Step, progress

PROJECT = f"{BASE}/api/projects/p-1"
OVERVIEW = f"{BASE}/api/projects/overview"


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.warnings: list[tuple[str, str]] = []

    def info(self, line: str) -> None:
        self.lines.append(line)

    def warning(self, message: str, title: str = "") -> None:
        self.warnings.append((title, message))


def row(outcome: str, name: str, n: int, *, session: bool = True, **more: Any) -> RunItem:
    fields: dict[str, str | None] = {"id": f"i-{n}", "testCaseId": f"tc-{n}", "executionId": f"e-{n}"}
    fields["agentSessionId"] = f"s-{n}" if session else None
    return RunItem.model_validate({"testOutcome": outcome, "testCaseName": name, **fields, **more})


def page(events: list[dict[str, Any]], more: bool = False) -> dict[str, Any]:
    return {"items": events, "hasNextPage": more, "page": 1, "pageSize": 500}


def event(kind: str, **payload: Any) -> dict[str, Any]:
    return {"type": kind, "timestampUtc": "2026-12-01T10:00:00Z", "payload": payload}


def settings(diagnose: bool = True) -> Settings:
    return cast(Settings, SimpleNamespace(diagnose=diagnose))  # only `diagnose` is read


def serve(
    sessions: dict[str, list[dict[str, Any]]] | None = None,
    artifacts: dict[str, list[dict[str, Any]]] | None = None,
    flaky: Any = (),
    observations: Any = (),
) -> None:
    responses.get(OVERVIEW, json={"projects": [{"id": "p-1", "slug": "my-app"}]})
    for session, events in (sessions or {}).items():
        responses.get(f"{PROJECT}/agentsessions/{session}/conversation", json=page(events))
    for execution, found in (artifacts or {}).items():
        responses.get(f"{PROJECT}/executions/{execution}/artifacts", json=page(found))
    responses.get(f"{PROJECT}/flaky-testcases", json=list(flaky))
    responses.get(f"{PROJECT}/observations", json=page(list(observations)))


def paths() -> list[str]:
    return [
        urlsplit(call.request.url or "").path.removeprefix("/api/projects/p-1") for call in responses.calls
    ]


def query(path_end: str) -> list[dict[str, list[str]]]:
    return [
        parse_qs(urlsplit(call.request.url or "").query)
        for call in responses.calls
        if urlsplit(call.request.url or "").path.endswith(path_end)
    ]


def run(
    items: list[RunItem], clock: FakeClock | None = None, counted: int = 1, diagnose: bool = True
) -> tuple[Diagnosis | None, Log]:
    clock = clock or FakeClock()
    log = Log()
    found = report_diagnosis(
        make_client(clock), log, settings(diagnose), "r-1", items, counted, clock.after(600)
    )
    return found, log


# -- what is read ------------------------------------------------------------------------------------


@responses.activate
def test_each_failing_tests_session_and_artifacts_then_the_runs_flaky_marks_and_observations() -> None:
    serve(
        sessions={
            "s-1": [
                event(
                    "browser_network_response", status=500, method="POST", url="https://shop.test/api/pay?t=1"
                )
            ],
            "s-2": [event("tool_result", status="denied", error="not allowed", toolName="browser")],
        },
        artifacts={
            "e-1": [{"type": "screenshot", "uri": "https://cdn.test/1.png", "description": "Pay"}],
            "e-2": [],
        },
        flaky=[{"testCaseId": "tc-2", "flakinessScore": 0.35, "totalRuns": 20, "failedRuns": 7}],
        observations=[{"title": "POST /api/pay answers 500"}, {"title": ""}],
    )
    responses.get(f"{PROJECT}/executions/e-2", json={"id": "e-2", "agentSessionId": "s-2"})
    items = [row("passed", "ok", 0), row("blocked", "Sign in", 2, session=False), row("failed", "Pay", 1)]
    found, log = run(items)
    assert found is not None
    assert not log.warnings
    assert [(t.name, t.reason) for t in found.tests] == [("Pay", "app-server-error"), ("Sign in", "blocked")]
    assert found.tests[0].summary == "the app answered 500 to POST /api/pay"
    assert found.tests[1].mark == FlakyMark(quarantined=False, rate=0.35)
    assert found.observations == ("POST /api/pay answers 500",)
    assert sorted(paths()) == sorted(
        [
            "/api/projects/overview",
            "/executions/e-2",
            "/agentsessions/s-1/conversation",
            "/agentsessions/s-2/conversation",
            "/executions/e-1/artifacts",
            "/executions/e-2/artifacts",
            "/flaky-testcases",
            "/observations",
        ]
    )
    assert query("/conversation")[0] == {"page": ["1"], "pageSize": ["500"]}
    assert query("/artifacts")[0] == {"page": ["1"], "pageSize": ["50"]}
    assert query("/flaky-testcases") == [{"threshold": ["0.2"]}]
    assert query("/observations") == [{"processRunId": ["r-1"], "page": ["1"], "pageSize": ["20"]}]
    assert all(call.request.headers["X-API-Key"] == KEY for call in responses.calls)
    assert log.lines[0] == "Why Pay failed: the app answered 500 to POST /api/pay"


@responses.activate
def test_events_are_paged_up_to_1000_per_test() -> None:
    serve(artifacts={"e-1": []})
    asked: list[int] = []

    def pages(request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        number = int(parse_qs(urlsplit(request.url or "").query)["page"][0])
        asked.append(number)
        events = [event("browser_network_response", status=404, url=f"https://a.test/{number}")] * 500
        return 200, {}, json.dumps(page(events, more=True))

    responses.add_callback(responses.GET, f"{PROJECT}/agentsessions/s-1/conversation", callback=pages)
    found, _ = run([row("failed", "Pay", 1)])
    assert asked == [1, 2]
    assert found is not None
    assert found.tests[0].evidence.scanned == 1000
    assert found.tests[0].evidence.client_errors == 1000


@responses.activate
def test_paging_stops_at_the_last_page() -> None:
    serve(artifacts={"e-1": []})
    responses.get(
        f"{PROJECT}/agentsessions/s-1/conversation",
        json=page([event("job_completed", status="failed")], more=True),
    )
    responses.get(
        f"{PROJECT}/agentsessions/s-1/conversation", json=page([event("conversation_completed", status="ok")])
    )
    found, _ = run([row("failed", "Pay", 1)])
    assert found is not None
    assert found.tests[0].evidence.scanned == 2
    assert found.tests[0].reason == "failed"  # the conversation's own status (ok) wins over the job's
    assert len(query("/conversation")) == 2


@responses.activate
def test_at_most_ten_tests_failed_first() -> None:
    items = [row("blocked", f"b{n}", 100 + n) for n in range(3)] + [
        row("failed", f"f{n}", n) for n in range(12)
    ]
    serve(
        sessions={item.agent_session_id: [] for item in items},
        artifacts={item.execution_id: [] for item in items},
    )
    found, _ = run(items)
    assert found is not None
    assert [t.name for t in found.tests] == [f"f{n}" for n in range(10)]
    assert len(query("/conversation")) == len(query("/artifacts")) == 10


# -- what is not read ----------------------------------------------------------------------------------


@responses.activate
def test_diagnose_false_and_a_passing_run_send_nothing() -> None:
    items = [row("failed", "Pay", 1)]
    assert run(items, diagnose=False)[0] is None
    found, log = run(items, counted=0)  # the counts say it passed, whatever the rows say
    assert found == Diagnosis()
    assert found.failures_output() == "[]"
    assert run([row("passed", "ok", 1)])[0] == Diagnosis()
    assert len(responses.calls) == 0
    assert not log.warnings


# -- degradation ------------------------------------------------------------------------------------------


@responses.activate
def test_an_older_server_is_one_warning_and_no_diagnosis() -> None:
    responses.get(OVERVIEW, json={"projects": [{"id": "p-1", "slug": "my-app"}]})
    for path in ("agentsessions/s-1/conversation", "agentsessions/s-2/conversation", "executions/e-1/artifacts",
                 "executions/e-2/artifacts", "flaky-testcases", "observations"):  # fmt: skip
        responses.get(f"{PROJECT}/{path}", status=404, json={"error": "not found"})
    found, log = run([row("failed", "Pay", 1), row("failed", "Cart", 2)])
    assert found is not None
    assert found.tests == ()
    assert found.observations == ()
    assert len(log.warnings) == 1
    title, message = log.warnings[0]
    assert title == words.DIAGNOSIS_INCOMPLETE
    assert "does not offer" in message
    assert "(and 5 more)" in message
    assert "verdict is unchanged" in message


@responses.activate
def test_what_was_read_is_used_when_the_rest_fails() -> None:
    serve(sessions={"s-1": [event("tool_result", status="failed", error="boom")]})
    responses.get(f"{PROJECT}/executions/e-1/artifacts", body="<html>proxy</html>")
    responses.replace(responses.GET, f"{PROJECT}/flaky-testcases", status=403, json={"error": "forbidden"})
    found, log = run([row("failed", "Pay", 1)], FakeClock())
    assert found is not None
    assert [t.reason for t in found.tests] == ["tool-error"]
    assert len(log.warnings) == 1
    assert "the artifacts of Pay: the artifacts of execution e-1" in log.warnings[0][1]  # the first job's
    assert "(and 1 more)" in log.warnings[0][1]  # the flaky test cases


@responses.activate
def test_a_test_without_any_session_is_not_diagnosed_and_said_once() -> None:
    serve(artifacts={"e-1": []})
    responses.get(f"{PROJECT}/executions/e-1", json={"id": "e-1", "agentSessionId": None})
    found, log = run([row("failed", "Pay", 1, session=False)])
    assert found is not None
    assert found.tests == ()
    assert [m for _, m in log.warnings] == [
        words.diagnosis_incomplete("the events of Pay: Certyn names no agent session for it")
    ]


def test_the_budget_is_30_s_never_past_the_steps_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []

    def fake(client: Any, run_id: str, items: Any, until: Deadline) -> Diagnosis:
        seen.append(until.at)
        return Diagnosis()

    monkeypatch.setattr(findings, "diagnose", fake)
    clock = FakeClock(now=1000)
    for hard in (2000.0, 1010.0):
        report_diagnosis(make_client(clock), Log(), settings(), "r", [], 1, clock.at(hard))
    assert seen == [1000 + DIAGNOSIS_SECONDS, 1010.0]


# -- the runner: 4 at once, the budget, a signal ---------------------------------------------------------


def test_at_most_four_reads_at_once_and_four_do_run_together() -> None:
    lock, active, peak = threading.Lock(), [0], [0]
    barrier = threading.Barrier(MAX_PARALLEL)

    def job() -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        barrier.wait(timeout=10)  # only passes when MAX_PARALLEL run together
        with lock:
            active[0] -= 1

    reads = _Reads()
    left = _run([(f"job {n}", job) for n in range(3 * MAX_PARALLEL)], reads, FakeClock().at(float("inf")))
    assert (left, reads.failures, peak[0]) == (0, {}, MAX_PARALLEL)


def test_the_budget_stops_the_wait_and_nothing_new_starts() -> None:
    clock, release, started = FakeClock(), threading.Event(), []

    def slow(name: str) -> Callable[[], None]:
        def job() -> None:
            started.append(name)
            clock.advance(DIAGNOSIS_SECONDS + 1)
            release.wait(10)

        return job

    reads = _Reads()
    jobs = [(f"job {n}", slow(f"job {n}")) for n in range(2 * MAX_PARALLEL)]
    left = _run(jobs, reads, clock.after(DIAGNOSIS_SECONDS))
    release.set()
    assert reads.stop.is_set()
    assert left == 2 * MAX_PARALLEL  # none had finished when the time was up
    assert len(started) <= MAX_PARALLEL


class SignalledClock(FakeClock):
    """A clock whose reading, after ``calls``, raises as the signal handler does on the main thread."""

    def __init__(self, calls: int) -> None:
        super().__init__()
        self.calls = calls

    def monotonic(self) -> float:
        self.calls -= 1
        if self.calls < 0:
            raise CancelRequested("SIGTERM")
        return self.now


def test_a_signal_ends_it_at_once_and_nothing_new_starts() -> None:
    release, started = threading.Event(), []

    def job() -> None:
        started.append(1)
        release.wait(10)

    reads = _Reads()
    with pytest.raises(CancelRequested):
        _run([(f"job {n}", job) for n in range(3 * MAX_PARALLEL)], reads, SignalledClock(3).at(float("inf")))
    assert reads.stop.is_set()
    release.set()
    assert len(started) <= MAX_PARALLEL


# -- in the whole step -----------------------------------------------------------------------------------


def _failing_step(tmp_path: Path) -> Step:
    step = Step(tmp_path)
    step.env["GITHUB_WORKSPACE"] = str(tmp_path)
    responses.post(CREATE, status=201, json={"runId": "r-1"})
    progress({"state": "completed", "total": 2, "passed": 1, "failed": 1, "blocked": 0})
    responses.get(OVERVIEW, json={"projects": [{"id": "p-1", "slug": "my-app"}]})
    rows = [
        {"testCaseName": "ok", "testOutcome": "passed", "executionId": "e-0", "agentSessionId": "s-0"},
        {"testCaseName": "Pay", "testOutcome": "failed", "summaryMarkdown": "broke", "executionId": "e-1",
         "agentSessionId": "s-1", "testCaseNumber": 1},
    ]  # fmt: skip
    responses.get(f"{PROJECT}/process-runs/r-1", json={"items": rows})
    return step


@responses.activate
def test_the_step_reports_the_diagnosis_everywhere_and_its_verdict_stands(tmp_path: Path) -> None:
    step = _failing_step(tmp_path)
    serve(
        sessions={
            "s-1": [event("browser_network_response", status=502, method="GET", url="https://a.test/x?k=1")]
        },
        artifacts={"e-1": [{"type": "video", "uri": "https://cdn.test/v.mp4"}]},
    )
    assert step.run(junit_report="r.xml") == 1
    out = step.outputs()
    assert out["result"] == "failed"
    (failure,) = json.loads(out["failures"])
    assert (failure["name"], failure["reason"]) == ("Pay", "app-server-error")
    assert failure["artifacts"] == [{"type": "video", "url": "https://cdn.test/v.mp4"}]
    assert (
        "::error title=Pay — the app answered 5xx::Pay — Failed: broke%0AWhy: the app answered 502 to GET /x"
        in step.stdout
    )
    assert "### Why they failed" in step.summary.read_text(encoding="utf-8")
    cases = {case.name: case for suite in JUnitXml.fromfile(str(tmp_path / "r.xml")) for case in suite}
    case = cases["Pay"]  # the name as users see it
    assert "video: https://cdn.test/v.mp4" in (case.system_out or "")
    assert "::warning" not in step.stdout


@responses.activate
def test_in_the_step_a_refusing_server_is_one_warning_and_the_verdict_stands(tmp_path: Path) -> None:
    step = _failing_step(tmp_path)
    for path in (
        "agentsessions/s-1/conversation",
        "executions/e-1/artifacts",
        "flaky-testcases",
        "observations",
    ):
        responses.get(f"{PROJECT}/{path}", status=403, json={"error": "forbidden"})
    assert step.run(diagnose="true") == 1
    out = step.outputs()
    assert (out["result"], out["failures"]) == ("failed", "[]")
    warnings = [line for line in step.stdout.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"::warning title={words.DIAGNOSIS_INCOMPLETE}::")
    assert "::error title=Pay::Pay — Failed: broke" in step.stdout  # the log names the test


@responses.activate
def test_in_the_step_diagnose_false_sends_none_of_the_reads(tmp_path: Path) -> None:
    step = _failing_step(tmp_path)
    assert step.run(diagnose="false") == 1
    assert step.outputs()["failures"] == ""
    assert [p for p in paths() if "agentsessions" in p or "executions" in p or "flaky" in p] == []


def test_a_signal_wherever_it_lands_while_the_reads_run_raises_the_cancel_and_nothing_else() -> None:
    # The step waits for the reads on its own thread, where the job's cancel raises. Cut inside threading's
    # Event.wait (between Condition.wait's release of its lock and taking it back), it raised "release unlocked
    # lock" instead: what Certyn found was lost and the gate's verdict replaced, as for a bug.
    landed: dict[str, str] = {}
    for at in itertools.count(1):
        signal_at = _SignalAt(SignalGuard(), at)
        raised = signal_at.run(
            partial(_run, [("a read", partial(time.sleep, 0.01))], _Reads(), FakeClock().at(1e9))
        )
        if not signal_at.where:
            break  # the reads were over before the at-th step: every step has had its signal
        landed[signal_at.where] = raised
    assert len(landed) > 20
    assert {where: raised for where, raised in landed.items() if raised != "CancelRequested"} == {}
