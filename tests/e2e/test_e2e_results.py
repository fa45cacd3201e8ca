"""End to end: per-test results, the JUnit report and the AI instruction, entrypoint.py run as the runner runs it
against the simulator (issue 10's "Done when")."""

from __future__ import annotations

import json
import os
import signal
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from certyn_simulator import Fault, Scenario, Simulator, builtin_scenario, snapshot
from certyn_simulator.runner import ActionRun, FakeRunner
from tests.e2e_support import API_KEY, ROOT, explain, inputs, run_action, signal_and_wait
from tests.rendered import read

GATE_TITLES = {"Certyn gate failed"}
HOSTILE = "| pipe <script>alert(1)</script> ```fence``` \n::error::injected\n##[error]legacy %0A::warning::x"


def _errors_for_tests(result: ActionRun) -> list[Any]:
    return [c for c in result.commands_named("error") if c.properties.get("title") not in GATE_TITLES]


def _rows(*outcomes: str, **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "testCaseName": f"test {i}",
            "testOutcome": o,
            "status": o,
            "summaryMarkdown": f"finding {i}",
            **extra,
        }
        for i, o in enumerate(outcomes, 1)
    ]


def _final(**counts: int) -> list[dict[str, Any]]:
    return [snapshot("completed", **counts)]


def test_failed_and_blocked_tests_in_summary_annotations_outputs_junit_and_the_ai_answer(
    tmp_path: Path,
) -> None:
    with Simulator(builtin_scenario("fail"), api_key=API_KEY) as sim:
        result = run_action(
            sim.base_url,
            env={"GITHUB_WORKSPACE": str(tmp_path)},
            instruction="Explain the failures",
            junit_report="reports/certyn.xml",
            timeout_seconds="30",
        )
    assert result.exit_code == 1, explain(result)
    out = result.outputs
    assert out["result"] == "failed"
    assert json.loads(out["failed-tests"]) == [
        "Checkout with a saved card",
        "Apply a discount code",
        "Sign in with SSO",
    ]
    # the AI answer after a failure: whole in the output, in its own log group, as text in the summary
    assert out["conversation-state"] == "idle"
    assert out["conversation-id"]
    assert out["conversation-response"].startswith("Two checkout tests failed and one test was blocked.")
    assert "\n- **Apply a discount code**" in out["conversation-response"]
    assert "::group::Certyn's AI answer (it can be wrong)" in result.stdout
    assert "### Certyn AI" in result.summary
    assert "```text\nExplain the failures\n```" in result.summary
    # one annotation per failing test, titled with its name (and why it failed), carrying its finding; plus
    # the gate's own
    tests = _errors_for_tests(result)
    assert [c.properties["title"] for c in tests] == [
        "Checkout with a saved card — the app answered 5xx",
        "Apply a discount code — a tool failed",
        "Sign in with SSO — blocked",
    ]
    assert "Pay now" in tests[0].data
    assert tests[2].data.startswith("Sign in with SSO — Blocked:")  # the log names the test
    assert len(result.commands_named("error")) == 4
    # the summary table: failing first, then the passed ones
    summary = result.summary
    assert summary.index("| ❌ failed | 1 | Checkout with a saved card") < summary.index("| ✅ passed | 4 |")
    assert "| 🚫 blocked | 3 | Sign in with SSO" in summary
    # the JUnit file, read by a consumer library
    xml = JUnitXml.fromfile(str(tmp_path / "reports" / "certyn.xml"))
    cases = {case.name: case for suite in xml for case in suite}
    assert len(cases) == 5
    failure = cases["Checkout with a saved card"].result
    assert isinstance(failure[0], Failure)
    assert "Pay now" in (failure[0].message or "")
    assert "**" not in (failure[0].message or "")  # plain text: a consumer shows it literally
    assert isinstance(cases["Sign in with SSO"].result[0], Failure)
    assert cases["Search the catalogue"].is_passed
    assert all(case.time is not None and case.time >= 0 for case in cases.values())


def test_the_ai_answer_after_a_pass_and_the_requests_it_adds() -> None:
    with Simulator(builtin_scenario("pass"), api_key=API_KEY) as sim:
        result = run_action(sim.base_url, instruction="Summarise the run", timeout_seconds="30")
    assert result.exit_code == 0, explain(result)
    assert result.outputs["conversation-state"] == "idle"
    assert result.outputs["conversation-response"]
    assert result.outputs["failed-tests"] == "[]"
    assert sim.api_requests("create")[-1].json["instruction"] == "Summarise the run"
    assert len(sim.api_requests("overview")) == 1
    assert len(sim.api_requests("process_run")) == 1
    assert not result.commands_named("warning")


def test_thirty_failed_tests_give_at_most_nine_test_annotations() -> None:
    scenario = Scenario(snapshots=_final(total=30, failed=30), test_results=_rows(*["failed"] * 30))
    with Simulator(scenario, api_key=API_KEY) as sim:
        result = run_action(sim.base_url, timeout_seconds="30")
    assert result.exit_code == 1, explain(result)
    assert len(_errors_for_tests(result)) == 9
    assert len(result.commands_named("error")) <= 10
    assert len(json.loads(result.outputs["failed-tests"])) == 30
    assert "No annotation for 21 more failing tests: see them in the job summary's table" in result.stdout


def test_the_log_says_how_many_failing_tests_neither_an_annotation_nor_the_summary_lists() -> None:
    # 60 failing tests: 9 annotations, a summary table of 50 rows; the rest are only in Certyn and in
    # `failed-tests`, and the log must not claim the summary lists them.
    scenario = Scenario(snapshots=_final(total=60, failed=60), test_results=_rows(*["failed"] * 60))
    with Simulator(scenario, api_key=API_KEY) as sim:
        result = run_action(sim.base_url, timeout_seconds="30")
    assert result.exit_code == 1, explain(result)
    names = json.loads(result.outputs["failed-tests"])
    annotated = {c.properties.get("title") for c in _errors_for_tests(result)}
    in_summary = {name for name in names if f"| {name} |" in result.summary}
    unlisted = len(set(names) - annotated - in_summary)
    assert unlisted > 0
    rest = len(names) - len(annotated)
    assert (
        f"No annotation for {rest} more failing tests: {rest - unlisted} in the job summary's table, "
        f"{unlisted} only in Certyn and the failed-tests output"
    ) in result.stdout, explain(result)


@pytest.mark.parametrize("endpoint", ["overview", "process_run", "conversation"])
@pytest.mark.parametrize("status", [403, 404, 500])
def test_a_refused_or_failing_results_endpoint_leaves_a_passing_run_passing(
    endpoint: str, status: int, tmp_path: Path
) -> None:
    faults = {endpoint: [Fault("status", status=status, body={"error": "no"}, times=10)]}
    scenario = Scenario(snapshots=_final(total=2, passed=2), faults=faults, conversation_polls=0)
    with Simulator(scenario, api_key=API_KEY) as sim:
        result = run_action(
            sim.base_url,
            env={"GITHUB_WORKSPACE": str(tmp_path)},
            instruction="Why?",
            junit_report="r.xml",
            http_max_attempts="2",
            timeout_seconds="30",
        )
    assert result.exit_code == 0, explain(result)
    assert result.outputs["result"] == "passed"
    warnings = result.commands_named("warning")
    assert len(warnings) == 1, explain(result)
    assert f"HTTP {status}" in warnings[0].data or str(status) in warnings[0].data
    if endpoint == "conversation":
        assert result.outputs["conversation-state"] == "unavailable"
        assert result.outputs["failed-tests"] == "[]"
        assert "The answer could not be read" in result.summary
    else:
        assert result.outputs["failed-tests"] == ""
        assert "Per-test results unavailable" in result.summary
        assert result.outputs["conversation-state"] == "idle"
        assert not (tmp_path / "r.xml").exists()


def test_hostile_names_findings_and_answers_inject_nothing(tmp_path: Path) -> None:
    rows = [
        {"testCaseName": HOSTILE, "testOutcome": "failed", "summaryMarkdown": HOSTILE},
        {"testCaseName": "ok" + HOSTILE, "testOutcome": "passed", "summaryMarkdown": HOSTILE},
    ]
    scenario = Scenario(
        snapshots=_final(total=2, passed=1, failed=1),
        test_results=rows,
        conversation_polls=0,
        conversation_answer="```\n" + HOSTILE + "\n````\n<img src=x onerror=alert(1)>",
    )
    with Simulator(scenario, api_key=API_KEY) as sim:
        result = run_action(
            sim.base_url,
            env={"GITHUB_WORKSPACE": str(tmp_path)},
            instruction="x",
            junit_report="j.xml",
            timeout_seconds="30",
        )
    assert result.exit_code == 1, explain(result)
    # the log: only our commands (the gate's error, one per failing test, the answer's group)
    assert sorted(c.name for c in result.commands) == sorted(
        ["add-mask", "group", "endgroup", "group", "endgroup", "error", "error"]
    ), explain(result)
    titles = [c.properties.get("title") for c in result.commands_named("error")]
    assert titles[1] == "Certyn gate failed"
    assert titles[0] is not None
    assert titles[0].startswith("| pipe <script>")  # the name, whole on one line, as the annotation's title
    groups = [c.data for c in result.commands_named("group")]
    assert groups == ["Creating Certyn run", "Certyn's AI answer (it can be wrong)"]
    for line in result.stdout.splitlines():
        assert "##[" not in line
        if "injected" in line or "::warning::" in line:
            assert not line.startswith("::") or line.startswith("::error title="), line
    # the outputs: whole and exact, none injected
    out = result.outputs
    assert json.loads(out["failed-tests"]) == [HOSTILE]
    assert out["conversation-response"].endswith("<img src=x onerror=alert(1)>")
    assert "injected" not in set(out)
    # the summary: no raw HTML; the answer's code block is one of ours, its HTML after it shown as text
    view = read(result.summary)
    assert "<img" not in view.html
    assert "<script" not in view.html.replace("<pre><code", "")
    assert "<img src=x onerror=alert(1)>" in view.text
    assert all(href.startswith("http") for href, _ in view.links)
    # the JUnit file is well formed and carries the name
    cases = [case for suite in JUnitXml.fromfile(str(tmp_path / "j.xml")) for case in suite]
    assert len(cases) == 2


def test_a_conversation_that_never_finishes_ends_at_its_timeout() -> None:
    scenario = Scenario(snapshots=_final(total=1, passed=1), conversation_polls=None)
    with Simulator(scenario, api_key=API_KEY) as sim:
        result = run_action(
            sim.base_url, instruction="x", conversation_timeout_seconds="3", timeout_seconds="30"
        )
        polls = sim.api_requests("conversation")
    assert result.exit_code == 0, explain(result)
    assert result.outputs["conversation-state"] == "processing"
    assert result.outputs["conversation-response"] == ""
    said = "Certyn's AI was still working when this step stopped waiting after 3s: its answer did not come."
    assert said in read(result.summary).text
    assert "conversation-timeout-seconds sets how long the step waits for it" in read(result.summary).text
    assert said in result.stdout
    assert 2 <= len(polls) <= 4
    assert polls[-1].received_at - polls[0].received_at <= 4.5
    assert result.duration < 15, explain(result)


def test_wait_false_sets_only_the_conversation_id() -> None:
    scenario = Scenario(snapshots=_final(total=1, passed=1))
    with Simulator(scenario, api_key=API_KEY) as sim:
        result = run_action(sim.base_url, instruction="x", wait="false", junit_report="j.xml")
        assert not sim.api_requests("conversation")
        assert not sim.api_requests("process_run")
    assert result.exit_code == 0, explain(result)
    out = result.outputs
    assert out["result"] == "created"
    assert out["conversation-id"]
    assert out.get("conversation-state", "") == ""
    assert out.get("conversation-response", "") == ""
    assert out.get("failed-tests", "") == ""


def test_junit_outcomes_for_aborted_and_skipped_tests(tmp_path: Path) -> None:
    scenario = Scenario(
        snapshots=_final(total=3, passed=1, aborted=1, skipped=1),
        test_results=_rows("passed", "aborted", "skipped"),
    )
    with Simulator(scenario, api_key=API_KEY) as sim:
        result = run_action(
            sim.base_url,
            env={"GITHUB_WORKSPACE": str(tmp_path)},
            junit_report="out/r.xml",
            fail_on_aborted="false",
            timeout_seconds="30",
        )
    assert result.exit_code == 0, explain(result)
    xml = JUnitXml.fromfile(str(tmp_path / "out" / "r.xml"))
    cases = {case.name: case for suite in xml for case in suite}
    assert cases["test 1"].is_passed
    assert isinstance(cases["test 2"].result[0], Error)
    assert isinstance(cases["test 3"].result[0], Skipped)
    assert json.loads(result.outputs["failed-tests"]) == ["test 2"]


def test_a_report_path_that_leaves_the_workspace_through_a_symlink_is_refused(tmp_path: Path) -> None:
    workspace, outside = tmp_path / "ws", tmp_path / "outside"
    workspace.mkdir()
    outside.mkdir()
    (workspace / "reports").symlink_to(outside, target_is_directory=True)
    scenario = Scenario(snapshots=_final(total=1, passed=1), test_results=_rows("passed"))
    with Simulator(scenario, api_key=API_KEY) as sim:
        result = run_action(
            sim.base_url,
            env={"GITHUB_WORKSPACE": str(workspace)},
            junit_report="reports/r.xml",
            timeout_seconds="30",
        )
    assert result.exit_code == 0, explain(result)
    assert list(outside.iterdir()) == []
    [warning] = result.commands_named("warning")
    assert "leads out of the workspace through a symbolic link" in warning.data
    assert str(tmp_path) not in warning.data


@pytest.mark.parametrize("stalled", [False, True], ids=["between reads", "read on the wire"])
def test_a_signal_ends_the_answer_wait_at_once_and_the_verdict_stands(stalled: bool) -> None:
    faults = {"conversation": [Fault("stall", seconds=30)]} if stalled else {}
    scenario = Scenario(snapshots=_final(total=1, passed=1), conversation_polls=None, faults=faults)
    with Simulator(scenario, api_key=API_KEY) as sim:
        step = inputs(
            sim.base_url,
            instruction="x",
            conversation_timeout_seconds="60",
            timeout_seconds="60",
            request_timeout_seconds="20",
        )
        with FakeRunner(ROOT).start(step) as action:
            sim.wait_for(lambda r: r.endpoint == "conversation", timeout=15)
            if not stalled:  # the first answer ("processing") has come; the step sleeps until the next read
                time.sleep(1.0)
            result, took = signal_and_wait(action, signal.SIGTERM)
        assert not sim.api_requests("cancel")  # the run had finished: nothing to cancel
    assert took < 3.0, explain(result)
    assert result.exit_code == 0, explain(result)
    assert result.outputs["result"] == "passed"
    # what was read stands; a read cut short by the signal leaves the answer unavailable
    assert result.outputs["conversation-state"] == ("unavailable" if stalled else "processing")
    assert "Stopped reading what Certyn found" in result.summary
    assert "Stopped reading what Certyn found: the workflow job was cancelled (SIGTERM)" in result.stdout
    assert "Traceback" not in result.stderr


def _loop_at_the_file(workspace: Path) -> None:
    (workspace / "reports").mkdir()
    (workspace / "reports" / "certyn.xml").symlink_to("certyn.xml")


def _loop_at_the_folder(workspace: Path) -> None:
    (workspace / "reports").symlink_to("reports")


def _two_link_cycle(workspace: Path) -> None:
    (workspace / "reports").mkdir()
    (workspace / "reports" / "certyn.xml").symlink_to("other.xml")
    (workspace / "reports" / "other.xml").symlink_to("certyn.xml")


@pytest.mark.parametrize("make", [_loop_at_the_file, _loop_at_the_folder, _two_link_cycle])
def test_a_symlink_loop_at_the_report_path_is_a_warning_and_the_pass_stands(
    tmp_path: Path, make: Any
) -> None:
    make(tmp_path)
    scenario = Scenario(snapshots=_final(total=1, passed=1), test_results=_rows("passed"))
    with Simulator(scenario, api_key=API_KEY) as sim:
        result = run_action(
            sim.base_url,
            env={"GITHUB_WORKSPACE": str(tmp_path)},
            junit_report="reports/certyn.xml",
            timeout_seconds="30",
        )
        assert not sim.api_requests("cancel"), explain(result)
    assert result.exit_code == 0, explain(result)
    assert result.outputs["result"] == "passed"
    [warning] = result.commands_named("warning")
    assert "junit-report" in warning.data
    assert "symbolic link loop" in warning.data
    assert str(tmp_path) not in warning.data


def test_a_fifo_at_the_report_path_is_a_warning_the_step_goes_on_and_honours_sigint(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    os.mkfifo(tmp_path / "reports" / "certyn.xml")
    scenario = Scenario(
        snapshots=_final(total=1, passed=1), test_results=_rows("passed"), conversation_polls=None
    )
    with Simulator(scenario, api_key=API_KEY) as sim:
        step = inputs(
            sim.base_url,
            instruction="x",
            junit_report="reports/certyn.xml",
            conversation_timeout_seconds="60",
            timeout_seconds="60",
        )
        with FakeRunner(ROOT).start(step, env_overrides={"GITHUB_WORKSPACE": str(tmp_path)}) as action:
            # the answer is read after the report: the step got past the FIFO without waiting on it
            sim.wait_for(lambda r: r.endpoint == "conversation", timeout=15)
            result, took = signal_and_wait(action, signal.SIGINT)
    assert took < 3.0, explain(result)
    assert result.exit_code == 0, explain(result)
    assert result.outputs["result"] == "passed"
    [warning] = result.commands_named("warning")
    assert "junit-report" in warning.data
    assert "not a regular file" in warning.data
    assert "Stopped reading what Certyn found: the workflow job was cancelled (SIGINT)" in result.stdout
    assert stat.S_ISFIFO((tmp_path / "reports" / "certyn.xml").lstat().st_mode)


def test_a_stale_report_is_removed_when_the_results_are_unavailable(tmp_path: Path) -> None:
    old = tmp_path / "reports" / "certyn.xml"
    old.parent.mkdir()
    old.write_text(
        '<testsuites tests="1" failures="0"><testsuite name="old"/></testsuites>', encoding="utf-8"
    )
    faults = {"process_run": [Fault("status", status=404, body={"error": "no"}, times=10)]}
    scenario = Scenario(snapshots=_final(total=2, passed=2), faults=faults)
    with Simulator(scenario, api_key=API_KEY) as sim:
        result = run_action(
            sim.base_url,
            env={"GITHUB_WORKSPACE": str(tmp_path)},
            junit_report="reports/certyn.xml",
            timeout_seconds="30",
        )
    assert result.exit_code == 0, explain(result)
    assert result.outputs["result"] == "passed"
    assert not old.exists()
    [warning] = result.commands_named("warning")
    assert "the old report at reports/certyn.xml was removed" in warning.data


def test_per_test_results_of_another_run_are_refused_like_its_status(tmp_path: Path) -> None:
    scenario = Scenario(
        snapshots=_final(total=2, failed=2),
        test_results=_rows("failed", "failed"),
        process_run={"id": "some-other-run"},
        conversation_polls=0,
    )
    with Simulator(scenario, api_key=API_KEY) as sim:
        result = run_action(
            sim.base_url,
            env={"GITHUB_WORKSPACE": str(tmp_path)},
            junit_report="r.xml",
            http_max_attempts="2",
            timeout_seconds="30",
        )
    assert result.exit_code == 1, explain(result)
    assert result.outputs["result"] == "failed"
    assert result.outputs["failed-tests"] == ""  # unavailable, not the other run's names
    assert _errors_for_tests(result) == []
    assert not (tmp_path / "r.xml").exists()
    warnings = [w.data for w in result.commands_named("warning")]
    assert any("some-other-run" in w and "Per-test results not read" in w for w in warnings), explain(result)
    assert "Per-test results unavailable" in result.summary


def test_failed_tests_over_one_mib_is_cut_to_whole_names_and_stays_json() -> None:
    names = [f"{i:04d} " + "n" * 450 for i in range(2500)]  # about 1.1 MB of names
    rows = [{"testCaseName": name, "testOutcome": "failed"} for name in names]
    scenario = Scenario(snapshots=_final(total=2500, failed=2500), test_results=rows, conversation_polls=0)
    with Simulator(scenario, api_key=API_KEY) as sim:
        result = run_action(sim.base_url, timeout_seconds="60")
    assert result.exit_code == 1, explain(result)
    value = result.outputs["failed-tests"]
    kept = json.loads(value)
    assert len(value.encode()) <= 1024 * 1024
    assert 1000 < len(kept) < len(names)
    assert kept == names[: len(kept)]
    [cut] = [w.data for w in result.commands_named("warning") if "failed-tests" in w.data]
    assert "1 MiB" in cut
    assert f"{len(kept):,} of 2,500" in cut


HUGE_RUN = {"_exact": True, "items": [{}] * 2_000_000}  # just under the 8 MiB body cap


def test_a_huge_per_test_answer_ends_well_within_timeout_seconds(tmp_path: Path) -> None:
    scenario = Scenario(snapshots=_final(total=1, passed=1), process_run=HUGE_RUN)
    with Simulator(scenario, api_key=API_KEY) as sim:
        started = time.monotonic()
        result = run_action(
            sim.base_url,
            env={"GITHUB_WORKSPACE": str(tmp_path)},
            junit_report="r.xml",
            timeout_seconds="25",
        )
        took = time.monotonic() - started
    assert result.exit_code == 0, explain(result)
    assert took < 20, explain(result)
    assert result.outputs["result"] == "passed"
    [cut] = [w.data for w in result.commands_named("warning") if "2,000,000" in w.data]
    assert "first 5,000" in cut
    assert (tmp_path / "r.xml").read_text().count("<testcase") == 5000
