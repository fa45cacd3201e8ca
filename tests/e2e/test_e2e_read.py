"""End to end: a red build read from the raw log and the summary (issue 19), entrypoint.py run as the runner
runs it against the simulator."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from certyn_simulator import Scenario, Simulator, builtin_scenario, snapshot
from tests.e2e_support import API_KEY, PROJECT, Deployment, explain, run_action
from tests.rendered import read


def preview(name: str) -> Scenario:
    """A built-in scenario whose projects overview lists the project before any run exists (a preview's
    environment is created before the run)."""
    return replace(builtin_scenario(name), projects=[PROJECT])


def test_the_log_line_of_each_failing_test_starts_with_its_name(tmp_path: Path) -> None:
    with Simulator(builtin_scenario("fail"), api_key=API_KEY) as sim:
        result = run_action(sim.base_url, env={"GITHUB_WORKSPACE": str(tmp_path)}, timeout_seconds="30")
    assert result.exit_code == 1, explain(result)
    tests = [c for c in result.commands_named("error") if c.properties.get("title") != "Certyn gate failed"]
    names = ["Checkout with a saved card", "Apply a discount code", "Sign in with SSO"]
    assert len(tests) == len(names), explain(result)
    for name, command in zip(
        names, tests, strict=True
    ):  # the runner prints only the message: it names the test
        assert (command.properties.get("title") or "").startswith(name)  # the title may add a reason
        assert command.data.startswith(f"{name} — "), command.data


def test_the_summary_links_the_run_right_under_the_headline(tmp_path: Path) -> None:
    with Simulator(builtin_scenario("fail"), api_key=API_KEY) as sim:
        result = run_action(sim.base_url, env={"GITHUB_WORKSPACE": str(tmp_path)}, timeout_seconds="30")
    assert result.exit_code == 1, explain(result)
    view = read(result.summary)
    app_url, run_id = result.outputs["app-url"], result.outputs["run-id"]
    assert view.links[0] == (app_url, f"Open run {run_id} in Certyn"), view.links
    assert view.html.split("</h2>", 1)[1].lstrip().startswith("<p><strong><a href=")


def test_a_preview_run_shows_the_deployment_it_tested_without_its_query() -> None:
    with Deployment() as deployment, Simulator(preview("fail"), api_key=API_KEY) as sim:
        tested = deployment.url.rstrip("/") + "/pr-12/"
        run = run_action(sim.base_url, base_url=tested + "?token=s3cr3t-preview")
    assert run.exit_code == 1, explain(run)
    assert f"Checking that base-url {tested} answers" in run.stdout
    shown = [line for line in run.stdout.splitlines() if not line.startswith("::add-mask::")]
    assert not [line for line in shown if "s3cr3t" in line]  # masked at once, and never quoted
    assert "s3cr3t" not in run.summary
    view = read(run.summary)
    assert view.headings[0].endswith(f" on {tested}"), view.headings
    assert view.row("Deployment") == ["Deployment", tested]
    assert (tested, tested) in view.links


def test_over_every_cap_the_counts_say_how_many_failing_tests_are_not_listed_and_where() -> None:
    # 62 failing of 80: 9 test annotations, a table of 50 rows (failing first): 12 failing tests are in
    # neither, and the log, the gate's annotation and the summary's footer all say so
    outcomes = ["failed"] * 62 + ["passed"] * 18
    rows = [
        {"testCaseName": f"test {i}", "testOutcome": o, "status": o, "summaryMarkdown": f"finding {i}"}
        for i, o in enumerate(outcomes, 1)
    ]
    final = [snapshot("completed", total=80, passed=18, failed=62)]
    with Simulator(Scenario(snapshots=final, test_results=rows), api_key=API_KEY) as sim:
        result = run_action(sim.base_url, timeout_seconds="30")
    assert result.exit_code == 1, explain(result)
    assert (
        "No annotation for 53 more failing tests: 41 in the job summary's table, "
        "12 only in Certyn and the failed-tests output"
    ) in result.stdout
    [gate] = [c for c in result.commands_named("error") if c.properties.get("title") == "Certyn gate failed"]
    assert "53 more failing tests without an annotation: see Certyn (12 of them not in the job summary)" in (
        gate.data
    )
    assert "… and 30 more tests in Certyn, 12 of them failing" in read(result.summary).text


def test_a_step_that_passes_has_no_error_annotation_even_with_a_blocked_test_let_through() -> None:
    rows = [
        {"testCaseName": "Checkout", "testOutcome": "passed", "status": "passed"},
        {"testCaseName": "Sign in with SSO", "testOutcome": "blocked", "summaryMarkdown": "SSO page down"},
    ]
    final = [snapshot("completed", total=2, passed=1, blocked=1)]
    with Simulator(Scenario(snapshots=final, test_results=rows), api_key=API_KEY) as sim:
        result = run_action(sim.base_url, timeout_seconds="30", fail_on_blocked="false")
    assert result.exit_code == 0, explain(result)
    assert not result.commands_named("error"), explain(result)
    [blocked] = result.commands_named("warning")
    assert blocked.data.startswith("Sign in with SSO — Blocked: SSO page down")
    [verdict] = result.commands_named("notice")
    assert verdict.properties.get("title") == "Certyn gate passed"


def test_an_attached_run_shows_its_own_commit_and_where_to_follow_it() -> None:
    theirs = "feedc0de" * 5
    with Simulator("pass", api_key=API_KEY) as sim:
        sim.create_run(PROJECT, run_id="run-7", scenario="fail", commitSha=theirs)
        run = run_action(sim.base_url, run_id="run-7", process_slug="")
    assert run.exit_code == 1, explain(run)
    follow = [line for line in run.stdout.splitlines() if line.startswith("Follow it in Certyn: ")]
    assert follow == [f"Follow it in Certyn: {run.outputs['app-url']}"], explain(run)
    assert run.stdout.index("Attached to Certyn run") < run.stdout.index("Follow it in Certyn")
    view = read(run.summary)
    assert view.row("Commit") == ["Commit", "feedc0d (the attached run's)"], view.tables


def test_markdown_from_certyn_is_formatted_in_the_summary_and_plain_words_in_the_log() -> None:
    finding = "## Result\n\nThe **Pay now** button stayed `disabled`; see [the log](https://logs.example/1)"
    answer = (
        "# Why it failed\n\nThe **Pay now** button:\n\n- stayed `disabled`\n- see [the log](https://logs.example/1)"
        "\n\n| Test | Cause |\n|---|---|\n| Pay | 500 |\n\n<img src=x onerror=alert(1)> ![i](javascript:x)"
    )
    rows = [{"testCaseName": "Pay", "testOutcome": "failed", "status": "failed", "summaryMarkdown": finding}]
    final = [snapshot("completed", total=1, failed=1)]
    scenario = Scenario(snapshots=final, test_results=rows, conversation_polls=0, conversation_answer=answer)
    with Simulator(scenario, api_key=API_KEY) as sim:
        result = run_action(sim.base_url, instruction="Why did it fail?", timeout_seconds="30")
    assert result.exit_code == 1, explain(result)
    view = read(result.summary)
    # the summary: the finding formatted in its cell, the answer formatted in its section, marked as the AI's
    cell = '<td>The <strong>Pay now</strong> button stayed <code>disabled</code>; see <a href="https://logs.example/1">'
    assert cell in view.html
    assert "<h4>Why it failed</h4>" in view.html
    assert "<li>stayed <code>disabled</code></li>" in view.html
    assert [["Test", "Cause"], ["Pay", "500"]] in view.tables
    assert "Written by Certyn's AI, which can be wrong" in view.text
    assert "<details><summary>What it was asked</summary>" in view.html
    assert "<img" not in view.html
    assert "<img src=x onerror=alert(1)>" in view.text
    assert "**" not in view.text
    # the log: plain words, the test's finding without its heading, the answer's group said to be the AI's
    (error,) = [c for c in result.commands_named("error") if c.data.startswith("Pay — ")]
    said = "Pay — Failed: The Pay now button stayed disabled; see the log (https://logs.example/1)\n"
    assert error.data.startswith(said), error.data  # (then why, as the diagnosis read it)
    log = result.stdout.split("::group::Certyn's AI answer (it can be wrong)\n", 1)[1].split("::endgroup::")[
        0
    ]
    assert log.splitlines()[:6] == [
        "Why it failed",
        "",
        "The Pay now button:",
        "",
        "- stayed disabled",
        "- see the log (https://logs.example/1)",
    ]
