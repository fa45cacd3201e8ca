"""End to end: a red build read from the raw log and the summary (issue 19), entrypoint.py run as the runner
runs it against the simulator."""

from __future__ import annotations

from pathlib import Path

from certyn_simulator import Simulator, builtin_scenario
from tests.e2e_support import API_KEY, explain, run_action
from tests.rendered import read


def test_the_log_line_of_each_failing_test_starts_with_its_name(tmp_path: Path) -> None:
    with Simulator(builtin_scenario("fail"), api_key=API_KEY) as sim:
        result = run_action(sim.base_url, env={"GITHUB_WORKSPACE": str(tmp_path)}, timeout_seconds="30")
    assert result.exit_code == 1, explain(result)
    tests = [c for c in result.commands_named("error") if c.properties.get("title") != "Certyn gate failed"]
    assert [c.properties["title"] for c in tests] == [
        "Checkout with a saved card",
        "Apply a discount code",
        "Sign in with SSO",
    ]
    for command in tests:  # the runner prints only the message: it must say which test
        assert command.data.startswith(command.properties["title"] + " — "), command.data


def test_the_summary_links_the_run_right_under_the_headline(tmp_path: Path) -> None:
    with Simulator(builtin_scenario("fail"), api_key=API_KEY) as sim:
        result = run_action(sim.base_url, env={"GITHUB_WORKSPACE": str(tmp_path)}, timeout_seconds="30")
    assert result.exit_code == 1, explain(result)
    view = read(result.summary)
    app_url, run_id = result.outputs["app-url"], result.outputs["run-id"]
    assert view.links[0] == (app_url, f"Open run {run_id} in Certyn"), view.links
    assert view.html.split("</h2>", 1)[1].lstrip().startswith("<p><strong><a href=")
