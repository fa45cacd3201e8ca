"""End to end: why each failing test failed (issue 20), entrypoint.py run as the runner runs it against the
simulator: the reasons and evidence in the summary, the annotations, the JUnit report and `failures`; the limits
(10 tests, 1,000 events, `timeout-seconds`); what the action does when the reads fail, are slow or a signal comes;
and that the verdict never moves."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from junitparser import Failure, JUnitXml

from certyn_simulator import Fault, Scenario, Simulator, builtin_scenario, snapshot
from certyn_simulator.runner import ActionRun, FakeRunner
from tests.e2e_support import API_KEY, ROOT, Step, explain, inputs, run_action, run_step, signal_and_wait
from tests.rendered import read

DIAGNOSIS = ("execution", "agent_conversation", "execution_artifacts", "flaky_testcases", "observations")
WARNING = "Certyn diagnosis incomplete"


def _reads(sim: Simulator) -> list[str]:
    return [r.endpoint for r in sim.requests if r.endpoint in DIAGNOSIS]


def _failing(count: int, **row: Any) -> Scenario:
    rows = [
        {"testCaseName": f"test {n}", "testOutcome": "failed", "status": "failed", **row}
        for n in range(count)
    ]
    return Scenario(snapshots=[snapshot("completed", total=count, failed=count)], test_results=rows)


def _warnings(result: ActionRun) -> list[str]:
    return [c.data for c in result.commands_named("warning") if c.properties.get("title") == WARNING]


def test_a_failing_demo_run_says_why_each_test_failed_with_evidence_and_links(tmp_path: Path) -> None:
    with Simulator(builtin_scenario("fail"), api_key=API_KEY) as sim:
        result = run_action(
            sim.base_url, env={"GITHUB_WORKSPACE": str(tmp_path)}, junit_report="r.xml", timeout_seconds="30"
        )
        reads = sim.requests
    assert result.exit_code == 1, explain(result)
    assert result.outputs["result"] == "failed"
    failures = json.loads(result.outputs["failures"])
    assert [(f["name"], f["outcome"], f["reason"]) for f in failures] == [
        ("Checkout with a saved card", "failed", "app-server-error"),
        ("Apply a discount code", "failed", "tool-error"),
        ("Sign in with SSO", "blocked", "blocked"),
    ]
    checkout, discount, sso = failures
    assert checkout["summary"] == "the app answered 500 to POST /api/checkout"
    assert checkout["network"] == [
        {"method": "POST", "url": "https://shop.certyn-sim.invalid/api/checkout", "status": 500}
    ]
    assert [a["type"] for a in checkout["artifacts"]] == ["screenshot", "har"]
    assert all(a["url"].startswith("https://") for f in failures for a in f["artifacts"])
    assert (discount["flaky"], discount["quarantined"], checkout["flaky"]) == (True, False, False)
    assert discount["summary"].startswith(
        "tool browser_evaluate failed: Running scripts on the page is not allowed"
    )
    assert discount["summary"].endswith("; 1 step denied by policy")
    assert sso["summary"] == "Certyn marked the test blocked"
    # the summary: beside each test, with its links and flaky mark, and what Certyn found in the run
    summary = result.summary
    assert "### Why they failed" in summary
    assert "**Checkout with a saved card** — the app answered 500 to POST \\/api\\/checkout" in summary
    assert "](https://artifacts.certyn-sim.invalid/checkout/pay-now-disabled.png)" in summary
    assert "**flaky \\(35\\% of runs fail\\)**" in summary
    assert "| ❌ failed | 2 | Apply a discount code · **flaky \\(35\\% of runs fail\\)** |" in summary
    assert "Add to cart ·" not in summary  # flaky at 0.12: under the threshold, not marked
    assert "**Found in this run**\n\n- POST \\/api\\/checkout answers 500 for a saved card" in summary
    # the annotations: the reason after the name
    titles = [c.properties["title"] for c in result.commands_named("error")]
    assert "Checkout with a saved card — the app answered 5xx" in titles
    assert "Apply a discount code — a tool failed" in titles
    assert "Sign in with SSO — blocked" in titles
    # the JUnit report: the reason in the failure message, the links in system-out
    cases = {case.name: case for suite in JUnitXml.fromfile(str(tmp_path / "r.xml")) for case in suite}
    failure = cases["Checkout with a saved card"].result[0]
    assert isinstance(failure, Failure)
    assert (failure.message or "").startswith(
        "the app answered 5xx: the app answered 500 to POST /api/checkout"
    )
    assert "https://artifacts.certyn-sim.invalid/checkout/pay-now-disabled.png" in (
        cases["Checkout with a saved card"].system_out or ""
    )
    # every read carried the key to the API host only, and no warning was needed
    diagnosis = [r for r in reads if r.endpoint in DIAGNOSIS]
    assert sorted({r.endpoint for r in diagnosis}) == sorted(set(DIAGNOSIS) - {"execution"})
    assert all(r.header("X-API-Key") == API_KEY for r in diagnosis)
    assert not _warnings(result)


def test_diagnose_false_and_a_passing_run_send_none_of_these_requests() -> None:
    with Simulator(builtin_scenario("fail"), api_key=API_KEY) as sim:
        result = run_action(sim.base_url, diagnose="false", timeout_seconds="30")
        assert _reads(sim) == []
    assert result.exit_code == 1, explain(result)
    assert result.outputs["failures"] == ""
    assert "Why they failed" not in result.summary
    with Simulator(builtin_scenario("pass"), api_key=API_KEY) as sim:
        result = run_action(sim.base_url, timeout_seconds="30")
        assert _reads(sim) == []
    assert result.exit_code == 0, explain(result)
    assert result.outputs["failures"] == "[]"


def test_a_run_cancelled_in_certyn_is_not_diagnosed_test_by_test_the_cancel_is_why() -> None:
    # Its tests were aborted by the cancel: the gate's one annotation says so; reading each test's session
    # would only repeat "Certyn marked the test aborted" once per test.
    with Simulator(builtin_scenario("cancelled"), api_key=API_KEY) as sim:
        result = run_action(sim.base_url, timeout_seconds="30")
        assert _reads(sim) == []
    assert result.exit_code == 1, explain(result)
    assert result.outputs["result"] == "failed"
    assert result.outputs["failures"] == "[]"
    assert "Why they failed" not in result.summary
    assert "marked the test aborted" not in result.log


def test_at_most_ten_tests_and_1000_events_each_the_session_found_by_the_execution() -> None:
    many = [
        {"type": "browser_network_response", "payload": {"status": 404, "url": "https://a.test/x"}}
    ] * 1200
    scenario = _failing(12, _events=many)
    assert scenario.test_results is not None
    # the first row names no session: GET executions/{id} names the last row's (not diagnosed itself)
    scenario.test_results[0].update(agentSessionId=None, _execution={"agentSessionId": "session-11"})
    scenario.test_results[11]["agentSessionId"] = "session-11"
    with Simulator(scenario, api_key=API_KEY) as sim:
        result = run_action(sim.base_url, timeout_seconds="30")
        sessions = sim.api_requests("agent_conversation")
        executions = sim.api_requests("execution")
    assert result.exit_code == 1, explain(result)
    failures = json.loads(result.outputs["failures"])
    assert [f["name"] for f in failures] == [f"test {n}" for n in range(10)]
    assert {f["reason"] for f in failures} == {"app-client-error"}
    assert len({r.item_id for r in sessions}) == 10
    assert sorted(r.query for r in sessions).count("page=3&pageSize=500") == 0
    assert len(sessions) == 20  # two pages of 500 each: 1,000 events, the third page never asked
    assert len(executions) == 1
    assert not _warnings(result)


@pytest.mark.parametrize("status", [401, 403, 404, 500])
def test_refused_reads_are_one_warning_and_the_verdict_stands(status: int) -> None:
    faults = {endpoint: [Fault("status", status=status, times=100)] for endpoint in DIAGNOSIS}
    scenario = builtin_scenario("fail")
    scenario.faults = faults
    with Simulator(scenario, api_key=API_KEY) as sim:
        result = run_action(sim.base_url, timeout_seconds="40", http_max_attempts="2")
    assert result.exit_code == 1, explain(result)
    assert result.outputs["result"] == "failed"
    assert result.outputs["failures"] == "[]"
    assert len(_warnings(result)) == 1, explain(result)
    assert len(result.commands_named("warning")) == 1
    assert "| ❌ failed | 1 | Checkout with a saved card" in result.summary  # the rest as today
    assert "Diagnosis incomplete" in result.summary


def test_garbage_answers_are_one_warning() -> None:
    faults = {endpoint: [Fault("not_json", times=100)] for endpoint in ("flaky_testcases", "observations")}
    scenario = builtin_scenario("fail")
    scenario.faults = faults
    with Simulator(scenario, api_key=API_KEY) as sim:
        result = run_action(sim.base_url, timeout_seconds="40", http_max_attempts="1")
    assert result.exit_code == 1, explain(result)
    assert len(json.loads(result.outputs["failures"])) == 3  # what was read is used
    assert len(_warnings(result)) == 1


def test_slow_reads_never_run_past_timeout_seconds() -> None:
    scenario = builtin_scenario("fail")
    scenario.faults = {"agent_conversation": [Fault("stall", seconds=60, times=100)]}
    with Simulator(scenario, api_key=API_KEY) as sim:
        started = time.monotonic()
        result = run_action(sim.base_url, timeout_seconds="12", request_timeout_seconds="30")
        took = time.monotonic() - started
    assert result.exit_code == 1, explain(result)
    assert result.outputs["result"] == "failed"
    assert took < 12 + 5, explain(result)
    assert len(_warnings(result)) == 1
    assert "unfinished when its time ran out" in _warnings(result)[0]


def test_a_signal_ends_the_diagnosis_at_once_and_the_verdict_stands() -> None:
    scenario = builtin_scenario("fail")
    scenario.faults = {"agent_conversation": [Fault("stall", seconds=60, times=100)]}
    with Simulator(scenario, api_key=API_KEY) as sim:
        step = inputs(sim.base_url, timeout_seconds="60", request_timeout_seconds="30")
        with FakeRunner(ROOT).start(step) as action:
            sim.wait_for(lambda r: r.endpoint == "agent_conversation", timeout=20)
            result, took = signal_and_wait(action, signal.SIGTERM)
        assert not sim.api_requests("cancel")  # the run had finished: nothing to cancel
    assert took < 3.0, explain(result)
    assert result.exit_code == 1, explain(result)
    assert result.outputs["result"] == "failed"
    assert "Stopped reading what Certyn found: the workflow job was cancelled (SIGTERM)" in result.stdout
    assert "Traceback" not in result.stderr


def test_hostile_event_and_artifact_text_is_never_a_command_a_link_or_a_broken_output() -> None:
    hostile = (
        "::error::injected\n##[error]legacy <script>alert(1)</script> [x](https://evil.test) %0A::warning::x"
    )
    events = [
        {
            "type": "browser_network_response",
            "payload": {
                "status": 503,
                "method": hostile,
                "url": f"https://shop.test/{hostile}?token={API_KEY}",
            },
        },
        {"type": "tool_result", "payload": {"status": "failed", "error": hostile, "toolName": hostile}},
    ]
    artifacts = [{"type": hostile, "uri": "javascript:alert(1)", "description": hostile}]
    scenario = _failing(
        1, testCaseName=hostile, _events=events, _artifacts=artifacts, _observations=[{"title": hostile}]
    )
    with Simulator(scenario, api_key=API_KEY) as sim:
        result = run_action(sim.base_url, timeout_seconds="30")
    assert result.exit_code == 1, explain(result)
    (failure,) = json.loads(result.outputs["failures"])
    assert failure["reason"] == "tool-error"  # before the app's 503: the CLI's order
    assert failure["artifacts"] == []
    assert "token" not in failure["network"][0]["url"]
    assert (
        API_KEY
        not in result.stdout.replace(f"::add-mask::{API_KEY}", "") + result.output_text + result.summary
    )
    assert {c.name for c in result.commands} <= {"error", "group", "endgroup", "add-mask", "debug", "notice"}
    assert len(result.commands_named("error")) == 2  # the test's annotation and the gate's
    assert "<script>" not in result.summary
    # the reason is Certyn's Markdown, formatted: a link in it may only go to http(s); the artifact's is text
    view = read(result.summary)
    assert {href for href, _ in view.links if "evil" in href} <= {"https://evil.test"}
    assert all(href.startswith("https://") for href, _ in view.links), view.links
    assert "javascript:" not in result.summary.replace("javascript\\:", "")


def test_the_diagnosis_stops_30_s_after_the_per_test_results() -> None:
    scenario = builtin_scenario("fail")
    scenario.snapshots = scenario.snapshots[-1:]  # done on the first poll
    scenario.faults = {"agent_conversation": [Fault("stall", seconds=90, times=100)]}
    with Simulator(scenario, api_key=API_KEY) as sim:
        step = Step(inputs(sim.base_url, timeout_seconds="300", request_timeout_seconds="120"), timeout=90)
        result = run_step(step)
        results_read = sim.api_requests("process_run")[0].received_at
    assert result.exit_code == 1, explain(result)
    assert result.outputs["result"] == "failed"
    assert len(_warnings(result)) == 1
    assert "unfinished when its time ran out" in _warnings(result)[0]
    # received_at and ended_at are both this machine's monotonic clock
    assert 29 < result.ended_at - results_read < 36, explain(result)
