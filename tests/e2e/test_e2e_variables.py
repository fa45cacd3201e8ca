"""`variables` and `runner-pool` of a base-url run, end to end: entrypoint.py run as the runner runs it,
against the simulator on 127.0.0.1, with a separate listener standing in for the deployment.

What a user relies on: every variable is set on the temporary environment before the run is created; no value
appears anywhere but the `::add-mask::` line that masks it; a variable that cannot be set means no run, the
environment deleted and an error naming the variable; a pool is resolved by id or name before anything is
created, the environment runs on it, and with it an unreachable base-url does not stop the run.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

from certyn_simulator import Fault, Scenario, Simulator, builtin_scenario
from certyn_simulator.runner import ActionRun
from tests.e2e_support import (
    API_KEY,
    PROJECT,
    Deployment,
    closed_port_url,
    explain,
    run_action,
    titled,
)
from tests.rendered import read

POOLS: list[dict[str, Any]] = [
    {"id": "pool-lab", "name": "office-lab"},
    {"id": "pool-old", "name": "retired", "isActive": False},
]
# Values a leak would show: characters Markdown, workflow commands, JSON and XML treat specially, a short one,
# an empty one, spaces kept at both ends.
VALUES = {
    "TEST_USER_PASSWORD": 'pa%ss::w0rd,<b>&"quoted"` *x* ',
    "BYPASS": "  vercel_bypass_Zq81mN3rT7  ",
    "SHORT": "Q9",  # upper case: no generated key or id (lower-case letters and digits) can hold it by chance
    "EMPTY": "",
}
VARIABLES = "\n".join(["# a test login", "", *(f"{name}={value}" for name, value in VALUES.items()), ""])


def scenario(name: str = "pass", **changes: Any) -> Scenario:
    return replace(builtin_scenario(name), projects=[PROJECT], runner_pools=POOLS, **changes)


def assert_no_value_shown(run: ActionRun) -> None:
    """No value of VALUES anywhere the user reads: only the `::add-mask::` line carries each (the runner
    masks the rest of the log with it)."""
    masked = {
        line[len("::add-mask::") :] for line in run.stdout.splitlines() if line.startswith("::add-mask::")
    }
    for name, value in VALUES.items():
        shown = value.strip()
        if not shown:
            continue
        assert any(value.replace("%", "%25") == m or value == m for m in masked), (name, explain(run))
        log = [line for line in run.stdout.splitlines() if not line.startswith("::add-mask::")]
        assert not [line for line in log if shown in line], name
        assert shown not in run.summary, name
        assert shown not in read(run.summary).text, name
        assert shown not in run.output_text, name
        assert shown not in run.stderr, name


def test_variables_are_set_before_the_run_is_created_and_no_value_is_ever_shown() -> None:
    with Deployment() as deployment, Simulator(scenario("pass"), api_key=API_KEY) as sim:
        run = run_action(sim.base_url, base_url=deployment.url, variables=VARIABLES)
        [environment] = sim.created_environments
        [create] = sim.api_requests("create")
        requests = sim.api_requests("variable_create")
    assert run.exit_code == 0, explain(run)
    assert environment.variable_values == VALUES  # in order, each value exactly (spaces kept, "" allowed)
    assert max(v.seq for v in environment.variables) < create.seq  # every variable before the run's create
    assert len(requests) == len(VALUES)
    assert all(r.header("X-API-Key") == API_KEY for r in requests)
    assert environment.deleted_at is not None  # they went with the environment
    assert "TEST_USER_PASSWORD" in run.log
    assert "BYPASS" in run.log
    summary = read(run.summary).text
    assert "Variables TEST_USER_PASSWORD, BYPASS, SHORT, EMPTY (values masked)" in summary
    assert "Ran on Certyn's cloud runners" in summary
    assert_no_value_shown(run)


def test_a_variable_that_cannot_be_set_means_no_run_the_environment_deleted_and_an_error_naming_it() -> None:
    # The second variable fails at every attempt; the server's answer quotes its value.
    refused = Fault.http(400, {"error": f"value {VALUES['BYPASS']} is not allowed"})
    faults = {"variable_create": [Fault.ok(times=1), refused]}
    with Deployment() as deployment, Simulator(scenario("pass", faults=faults), api_key=API_KEY) as sim:
        run = run_action(
            sim.base_url, base_url=deployment.url, variables=VARIABLES, keep_environment="true", wait="false"
        )
        [environment] = sim.created_environments
        creates = sim.api_requests("create")
    assert run.exit_code == 1, explain(run)
    assert creates == []  # no run without its variables
    assert environment.deleted_at is not None  # deleted, even with keep-environment: true
    assert run.outputs["result"] == "error"
    [error] = list(run.commands_named("error"))
    assert "BYPASS" in error.data  # an annotation: no Markdown
    assert "No run was created" in error.data
    assert "not allowed" not in error.data  # the server's words quote the value: left out
    assert_no_value_shown(run)


def test_a_multi_line_value_is_an_input_error_before_any_request_and_is_masked() -> None:
    second_line = "second-line-of-a-secret-Kx82"
    with Deployment() as deployment, Simulator(scenario("pass"), api_key=API_KEY) as sim:
        run = run_action(
            sim.base_url, base_url=deployment.url, variables=f"PEM=first-line-Jq73\n{second_line}\n"
        )
        assert sim.requests == []
    assert run.exit_code == 1, explain(run)
    [error] = titled(run, "error", "Certyn: invalid input 'variables'")
    assert "variables" in error.data
    assert "multi-line" in error.data
    assert f"::add-mask::{second_line}" in run.stdout
    assert second_line not in error.data
    assert "first-line-Jq73" not in error.data


def test_variables_without_base_url_are_an_input_error() -> None:
    with Simulator(scenario("pass"), api_key=API_KEY) as sim:
        run = run_action(sim.base_url, variables="A=b")
        assert sim.requests == []
    assert run.exit_code == 1, explain(run)
    assert any("base-url" in c.data and "variables" in c.data for c in run.commands_named("error"))


# -- runner-pool ----------------------------------------------------------------------------------------


def test_a_pool_named_by_name_runs_the_environment_there_and_the_summary_says_so() -> None:
    with Deployment() as deployment, Simulator(scenario("pass"), api_key=API_KEY) as sim:
        run = run_action(sim.base_url, base_url=deployment.url, runner_pool="Office-Lab", variables="A=b")
        [environment] = sim.created_environments
        [pools] = sim.api_requests("runner_pools")
        [env_create] = sim.api_requests("environment_create")
    assert run.exit_code == 0, explain(run)
    assert environment.execution_target == "self_hosted"
    assert environment.runner_pool_id == "pool-lab"
    assert pools.seq < env_create.seq
    assert "Ran on self-hosted runner pool Office-Lab" in read(run.summary).text


def test_an_unknown_or_inactive_pool_is_an_error_before_anything_is_created() -> None:
    for wanted, words in (("nowhere", "no self-hosted runner pool"), ("pool-old", "not active")):
        with Deployment() as deployment, Simulator(scenario("pass"), api_key=API_KEY) as sim:
            run = run_action(sim.base_url, base_url=deployment.url, runner_pool=wanted)
            assert sim.created_environments == []
            assert sim.api_requests("create") == []
        assert run.exit_code == 1, explain(run)
        [error] = run.commands_named("error")
        assert "runner-pool" in error.data, explain(run)
        assert words in error.data, explain(run)
        assert error.properties.get("title") == "Certyn: invalid input 'runner-pool'"
        if wanted == "nowhere":
            assert "office-lab" in error.data  # the active pools the key sees
        assert run.outputs["result"] == "error"


def test_with_a_pool_an_unreachable_base_url_is_a_warning_and_the_run_goes_ahead() -> None:
    with Simulator(scenario("pass"), api_key=API_KEY) as sim:
        run = run_action(
            sim.base_url, base_url=closed_port_url(), runner_pool="pool-lab", base_url_wait_seconds="0"
        )
        [environment] = sim.created_environments
        assert len(sim.api_requests("create")) == 1
    assert run.exit_code == 0, explain(run)
    assert environment.runner_pool_id == "pool-lab"
    assert titled(run, "warning", "Deployment not reachable from this runner"), explain(run)
    assert run.outputs["result"] == "passed"


def test_keep_environment_says_the_variables_stay() -> None:
    with Deployment() as deployment, Simulator(scenario("pass"), api_key=API_KEY) as sim:
        run = run_action(sim.base_url, base_url=deployment.url, variables=VARIABLES, keep_environment="true")
        [environment] = sim.created_environments
    assert run.exit_code == 0, explain(run)
    assert environment.deleted_at is None
    assert "Its variables stay with it (TEST_USER_PASSWORD, BYPASS, SHORT, EMPTY)" in read(run.summary).text
    assert_no_value_shown(run)


def test_a_variable_whose_answer_was_lost_is_not_set_twice_and_the_run_goes_ahead() -> None:
    # The first variable's request is processed, then the connection drops: the retry finds it set (409).
    faults = {"variable_create": [Fault.drop_after()]}
    with Deployment() as deployment, Simulator(scenario("pass", faults=faults), api_key=API_KEY) as sim:
        run = run_action(sim.base_url, base_url=deployment.url, variables="FIRST=one-Value-1\nSECOND=two")
        [environment] = sim.created_environments
        statuses = [r.response_status for r in sim.api_requests("variable_create")]
        [create] = sim.api_requests("create")
    assert run.exit_code == 0, explain(run)
    assert environment.variable_values == {"FIRST": "one-Value-1", "SECOND": "two"}
    assert statuses[-2:] == [409, 201]  # FIRST again: already there; then SECOND
    assert max(v.seq for v in environment.variables) < create.seq


def test_a_variable_value_a_finding_echoes_is_in_no_summary_junit_file_or_log(tmp_path: Path) -> None:
    # The test typed the password and Certyn's finding (and its name) quote it: as the summary escapes it
    # ("\-", "&amp;") and as XML writes it, a redaction of the text as written would miss it.
    password, bypass = VALUES["TEST_USER_PASSWORD"].strip(), VALUES["BYPASS"].strip()
    rows = [
        {
            "testCaseName": f"log in with {bypass}",
            "testOutcome": "failed",
            "summaryMarkdown": f"typed **{password}** into the password field\n\nthen `{bypass}` got a 500",
        },
        {"testCaseName": "checkout", "testOutcome": "passed"},
    ]
    with Deployment() as deployment, Simulator(scenario("fail", test_results=rows), api_key=API_KEY) as sim:
        run = run_action(
            sim.base_url,
            base_url=deployment.url,
            variables=VARIABLES,
            junit_report="r.xml",
            env={"GITHUB_WORKSPACE": str(tmp_path)},
        )
    assert run.exit_code == 1, explain(run)
    junit = (tmp_path / "r.xml").read_text(encoding="utf-8")
    shown_junit = "".join(ET.fromstring(junit.encode()).itertext())  # noqa: S314 - our own output
    for value in (password, bypass):
        assert value not in shown_junit
        assert value not in junit
    assert "log in with ***" in read(run.summary).text  # the failing test is still listed
    assert_no_value_shown(run)
