"""base-url (a temporary Certyn environment for a preview deployment) and run-id (attach to an existing run),
end to end: entrypoint.py run as the runner runs it, against the simulator on 127.0.0.1, with a separate
listener standing in for the deployment. Signals included.
"""

from __future__ import annotations

import signal
import time
from dataclasses import replace
from typing import Any

import pytest

from certyn_simulator import Fault, Scenario, Simulator, builtin_scenario, snapshot
from certyn_simulator.runner import ActionRun, FakeRunner
from tests.e2e_support import (
    API_KEY,
    PROJECT,
    ROOT,
    Deployment,
    Step,
    closed_port_url,
    explain,
    inputs,
    run_action,
    run_step,
    signal_and_wait,
    titled,
)
from tests.rendered import read

NEVER_ENDS = [snapshot("in_progress", total=4, passed=1, pending=3)]
EXIT_WITHIN = 7.0


def scenario(name: str = "pass", **changes: Any) -> Scenario:
    """A built-in scenario whose projects overview lists the project before any run exists (the environment
    is created before the run)."""
    return replace(builtin_scenario(name), projects=[PROJECT], **changes)


def never(**changes: Any) -> Scenario:
    return Scenario(snapshots=NEVER_ENDS, projects=[PROJECT], **changes)


def assert_deleted_once(sim: Simulator, run: ActionRun) -> None:
    created, deleted = sim.created_environments, sim.deleted_environments
    assert len(created) == 1, explain(run)
    assert [e.environment_id for e in deleted] == [created[0].environment_id], explain(run)
    assert run.outputs["environment-key"] == created[0].key
    assert "Temporary environment" in run.summary


def assert_key_never_reached(deployment: Deployment) -> None:
    seen = deployment.seen()
    assert seen, "the deployment was never checked"
    for request in seen:
        assert request.method == "GET"
        assert not {name.lower() for name in request.headers} & {"x-api-key", "authorization", "cookie"}
        assert API_KEY not in request.path
        assert all(API_KEY not in value for value in request.headers.values())


# -- base-url ----------------------------------------------------------------------------------------


def test_a_passing_run_against_base_url_uses_a_temporary_environment_and_deletes_it() -> None:
    with Deployment() as deployment, Simulator(scenario("pass"), api_key=API_KEY) as sim:
        run = run_action(sim.base_url, base_url=deployment.url)
        [environment] = sim.created_environments
        [create] = sim.api_requests("create")
        record = sim.run()
        [delete] = sim.api_requests("environment_delete")
    assert run.exit_code == 0, explain(run)
    assert run.outputs["result"] == "passed"
    assert environment.base_url == deployment.url
    assert environment.key.startswith("gha-")
    assert "job" in (environment.label or "")
    assert len(environment.version or "") == 7
    assert create.json["environmentKey"] == environment.key  # the run ran in it
    assert environment.created_at is not None
    assert create.received_at > environment.created_at
    assert record.terminal_served_at is not None
    assert delete.received_at > record.terminal_served_at  # deleted after the run finished
    assert_deleted_once(sim, run)
    assert_key_never_reached(deployment)


def test_a_failing_run_against_base_url_still_deletes_the_environment() -> None:
    with Deployment() as deployment, Simulator(scenario("fail"), api_key=API_KEY) as sim:
        run = run_action(sim.base_url, base_url=deployment.url)
        assert_deleted_once(sim, run)
    assert run.exit_code == 1, explain(run)
    assert run.outputs["result"] == "failed"


def test_a_timeout_cancels_the_run_first_then_deletes_the_environment() -> None:
    with Deployment() as deployment, Simulator(never(), api_key=API_KEY) as sim:
        run = run_action(sim.base_url, base_url=deployment.url, timeout_seconds="3")
        [cancel] = sim.api_requests("cancel")
        [delete] = sim.api_requests("environment_delete")
        assert_deleted_once(sim, run)
    assert run.exit_code == 1, explain(run)
    assert run.outputs["result"] == "timed-out"
    assert cancel.received_at < delete.received_at


def test_cancel_on_timeout_false_leaves_the_run_but_still_deletes_the_environment() -> None:
    with Deployment() as deployment, Simulator(never(), api_key=API_KEY) as sim:
        run = run_action(
            sim.base_url, base_url=deployment.url, timeout_seconds="3", cancel_on_timeout="false"
        )
        assert sim.api_requests("cancel") == []
        assert_deleted_once(sim, run)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_cancels_the_run_first_then_deletes_the_environment_within_7s(sig: signal.Signals) -> None:
    with (
        Deployment() as deployment,
        Simulator(never().with_faults(status=[Fault.stall(30)]), api_key=API_KEY) as sim,
        FakeRunner(ROOT).start(_signal_inputs(sim, base_url=deployment.url)) as action,
    ):
        sim.wait_for(lambda r: r.endpoint == "status", timeout=15)  # the poll is on the wire, stalled
        run, took = signal_and_wait(action, sig)
        [cancel] = sim.api_requests("cancel")
        [delete] = sim.api_requests("environment_delete")
        assert_deleted_once(sim, run)
    assert took < EXIT_WITHIN, f"exited {took:.1f}s after the signal"
    assert run.outputs["result"] == "cancelled"
    assert cancel.received_at < delete.received_at
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    "slow_cancel",
    [[Fault.stall(30, times=5)], [Fault.http(500, times=5)]],
    ids=["hangs", "500"],
)
def test_a_slow_cancel_leaves_the_environment_delete_its_share_of_the_budget(
    slow_cancel: list[Fault],
) -> None:
    faults = never().with_faults(status=[Fault.stall(30)], cancel=slow_cancel)
    with (
        Deployment() as deployment,
        Simulator(faults, api_key=API_KEY) as sim,
        FakeRunner(ROOT).start(_signal_inputs(sim, base_url=deployment.url)) as action,
    ):
        sim.wait_for(lambda r: r.endpoint == "status", timeout=15)
        run, took = signal_and_wait(action, signal.SIGINT)
        assert sim.api_requests("cancel"), explain(run)
        assert_deleted_once(sim, run)
    assert took < EXIT_WITHIN, f"exited {took:.1f}s after the signal"
    assert "Traceback" not in run.stderr


def test_a_signal_while_the_environment_is_being_created_still_deletes_it() -> None:
    # The create is processed at once but answered 30 s later: the environment exists, its id unknown.
    sim_scenario = never().with_faults(environment_create=[Fault.stall(30)])
    with (
        Deployment() as deployment,
        Simulator(sim_scenario, api_key=API_KEY) as sim,
        FakeRunner(ROOT).start(_signal_inputs(sim, base_url=deployment.url)) as action,
    ):
        sim.wait_until(lambda: len(sim.created_environments) == 1, timeout=15)
        run, took = signal_and_wait(action, signal.SIGTERM)
        created, deleted = sim.created_environments, sim.deleted_environments
        runs = sim.runs
    assert took < EXIT_WITHIN, explain(run)
    assert runs == {}  # no run was created
    assert [e.environment_id for e in deleted] == [created[0].environment_id], explain(run)


def test_a_signal_while_the_run_is_being_created_in_the_environment_cancels_that_run_and_deletes_it() -> None:
    # The run's create is processed at once but answered 60 s later: the run's half of the budget (the other half
    # is the environment's) still replays the create with its key and cancels the run it names.
    sim_scenario = never().with_faults(create=[Fault.stall(60)])
    with (
        Deployment() as deployment,
        Simulator(sim_scenario, api_key=API_KEY) as sim,
        FakeRunner(ROOT).start(_signal_inputs(sim, base_url=deployment.url)) as action,
    ):
        sim.wait_until(lambda: len(sim.runs) == 1, timeout=15)
        run, took = signal_and_wait(action, signal.SIGINT)
        [record] = sim.runs.values()
        creates = sim.api_requests("create")
        assert_deleted_once(sim, run)
    assert took < EXIT_WITHIN, explain(run)
    assert len(creates) == 2, explain(run)  # the create and its replay, one key
    assert len(record.cancel_requests) == 1, explain(run)
    assert run.outputs["run-id"] == record.run_id
    assert run.outputs["result"] == "cancelled"


def test_a_signal_into_a_slow_create_in_the_environment_cancels_the_run_its_own_answer_names() -> None:
    # Each create is answered 2 s after it arrived; SIGINT comes 1.5 s in. The replay (the run's half of the
    # budget beside the environment's: 1.25 s) is slower than that, the interrupted create's own answer is not.
    sim_scenario = never().with_faults(create=[Fault.delay(2, times=2)])
    with (
        Deployment() as deployment,
        Simulator(sim_scenario, api_key=API_KEY) as sim,
        FakeRunner(ROOT).start(_signal_inputs(sim, base_url=deployment.url)) as action,
    ):
        sim.wait_for(lambda r: r.endpoint == "create", timeout=15)
        time.sleep(1.5)
        run, took = signal_and_wait(action, signal.SIGINT)
        [record] = sim.runs.values()
        assert_deleted_once(sim, run)
    assert took < EXIT_WITHIN, explain(run)
    assert len(record.cancel_requests) == 1, explain(run)
    assert run.outputs["run-id"] == record.run_id
    assert run.outputs["result"] == "cancelled"


def test_a_signal_into_a_slow_environment_create_deletes_the_environment_it_answers_with() -> None:
    # The server makes the environment only as it answers, 2 s after the create arrived; SIGINT comes 1 s in.
    # Looked up by key at once, it was not listed yet: nothing was said, and it was left behind.
    sim_scenario = never().with_faults(environment_create=[Fault.delay(2)])
    with (
        Deployment() as deployment,
        Simulator(sim_scenario, api_key=API_KEY) as sim,
        FakeRunner(ROOT).start(_signal_inputs(sim, base_url=deployment.url)) as action,
    ):
        sim.wait_for(lambda r: r.endpoint == "environment_create", timeout=15)
        time.sleep(1.0)
        run, took = signal_and_wait(action, signal.SIGINT)
        time.sleep(1.5)  # the create is over on the server's side too
        created, deleted = sim.created_environments, sim.deleted_environments
    assert took < EXIT_WITHIN, explain(run)
    assert len(created) == 1, explain(run)
    assert [e.environment_id for e in deleted] == [created[0].environment_id], explain(run)
    assert run.outputs["result"] == "cancelled"


def test_keep_environment_keeps_it_and_says_so() -> None:
    with Deployment() as deployment, Simulator(scenario("pass"), api_key=API_KEY) as sim:
        run = run_action(sim.base_url, base_url=deployment.url, keep_environment="true")
        [environment] = sim.created_environments
        assert sim.deleted_environments == []
    assert run.exit_code == 0, explain(run)
    assert run.outputs["environment-key"] == environment.key
    assert "was kept (keep-environment is true)" in run.summary.replace("\\", "")


def test_wait_false_with_keep_environment_creates_and_keeps() -> None:
    with Deployment() as deployment, Simulator(never(), api_key=API_KEY) as sim:
        run = run_action(sim.base_url, base_url=deployment.url, keep_environment="true", wait="false")
        assert len(sim.created_environments) == 1
        assert sim.deleted_environments == []
    assert run.exit_code == 0, explain(run)
    assert run.outputs["result"] == "created"


def test_an_unreachable_base_url_creates_nothing() -> None:
    with Simulator(scenario("pass"), api_key=API_KEY) as sim:
        run = run_action(sim.base_url, base_url=closed_port_url(), base_url_wait_seconds="1")
        requests = sim.requests
    assert run.exit_code == 1, explain(run)
    assert requests == []  # no environment, no run: not even the projects overview
    assert run.outputs["result"] == "error"
    [error] = titled(run, "error", "Deployment not reachable")
    assert "base-url" in error.data  # an annotation: no Markdown
    assert "connection refused" in error.data
    assert "base-url-wait-seconds" in error.data


def test_base_url_wait_seconds_is_capped_by_what_timeout_seconds_leaves() -> None:
    url = closed_port_url() + "/app?token=preview-secret-123"
    with Simulator(scenario("pass"), api_key=API_KEY) as sim:
        started = time.monotonic()
        run = run_action(sim.base_url, base_url=url, base_url_wait_seconds="3600", timeout_seconds="3")
        took = time.monotonic() - started
        requests = sim.requests
    assert took < 20, f"ran {took:.1f}s with timeout-seconds 3"
    assert run.exit_code == 1, explain(run)
    assert requests == []  # the API was never unreachable, and never asked
    [error] = titled(run, "error", "Deployment not reachable")
    assert "within timeout-seconds (3s;" in error.data
    assert url.split("?")[0] in error.data  # the URL, without its query
    shown = "\n".join(line.text for line in run.lines if not line.text.startswith("::add-mask::"))
    assert "preview-secret-123" not in shown + run.summary
    assert "unreachable" not in run.summary.replace("Deployment not reachable", "")


def test_a_deployment_that_comes_up_late_is_waited_for() -> None:
    url = closed_port_url()
    port = int(url.rsplit(":", 1)[1])
    with Simulator(scenario("pass"), api_key=API_KEY) as sim:
        runner = FakeRunner(ROOT)
        with runner.start(inputs(sim.base_url, base_url=url, base_url_wait_seconds="20")) as action:
            action.wait_for_line(lambda line: "base-url: attempt 1" in line.text, timeout=15)
            with Deployment(port=port) as deployment:
                run = action.wait(timeout=40)
        assert_deleted_once(sim, run)
    assert run.exit_code == 0, explain(run)
    assert deployment.seen()


def test_a_signal_while_waiting_for_the_deployment_ends_at_once_with_nothing_created() -> None:
    with (
        Simulator(scenario("pass"), api_key=API_KEY) as sim,
        FakeRunner(ROOT).start(
            _signal_inputs(sim, base_url=closed_port_url(), base_url_wait_seconds="60")
        ) as action,
    ):
        action.wait_for_line(lambda line: "base-url: attempt 1" in line.text, timeout=15)
        run, took = signal_and_wait(action, signal.SIGTERM)
        requests = sim.requests
    assert took < EXIT_WITHIN, explain(run)
    assert requests == []
    assert run.outputs["result"] == "cancelled"


def test_a_403_on_the_environment_create_says_the_key_lacks_environment_rights() -> None:
    sim_scenario = scenario("pass").with_faults(environment_create=[Fault.http(403, {"error": "forbidden"})])
    with Deployment() as deployment, Simulator(sim_scenario, api_key=API_KEY) as sim:
        run = run_action(sim.base_url, base_url=deployment.url)
        assert sim.runs == {}
        assert sim.api_requests("environment_list") == []
        assert sim.api_requests("environment_delete") == []
    assert run.exit_code == 1, explain(run)
    assert run.outputs["result"] == "error"
    [error] = run.commands_named("error")
    assert "lacks environment rights" in error.data


def test_a_lost_create_answer_is_recovered_from_the_409_and_used() -> None:
    # The first create is processed but its answer lost; the retry gets 409 for the same key: the action
    # lists the environments, finds its own, runs in it and deletes it. Still one environment.
    sim_scenario = scenario("pass").with_faults(environment_create=[Fault.drop_after()])
    with Deployment() as deployment, Simulator(sim_scenario, api_key=API_KEY) as sim:
        run = run_action(sim.base_url, base_url=deployment.url)
        creates = sim.api_requests("environment_create")
        [environment] = sim.created_environments
        [create] = sim.api_requests("create")
        assert_deleted_once(sim, run)
    assert run.exit_code == 0, explain(run)
    assert [c.response_status for c in creates][-1] == 409
    assert create.json["environmentKey"] == environment.key


def test_a_lost_create_answer_then_a_refusal_still_finds_and_deletes_the_environment() -> None:
    # The first create makes the environment but its answer is lost; the retry is refused (a WAF's 403,
    # not a 409). That refusal does not prove nothing was made: the release looks the key up and deletes it.
    sim_scenario = scenario("pass").with_faults(
        environment_create=[Fault.drop_after(), Fault.http(403, {"error": "forbidden"})]
    )
    with Deployment() as deployment, Simulator(sim_scenario, api_key=API_KEY) as sim:
        run = run_action(sim.base_url, base_url=deployment.url)
        [environment] = sim.created_environments
        deleted = [e.environment_id for e in sim.deleted_environments]
        assert sim.runs == {}
    assert run.exit_code == 1, explain(run)
    assert run.outputs["result"] == "error"
    assert deleted == [environment.environment_id], explain(run)
    assert f"Temporary environment {environment.key}: deleted." in read(run.summary).items


def test_a_lost_create_answer_then_a_refusal_says_the_environment_may_exist_when_it_cannot_be_found() -> None:
    # As above, and the list is refused too: the step cannot find it, so it says one may exist, by key.
    sim_scenario = scenario("pass").with_faults(
        environment_create=[Fault.drop_after(), Fault.http(403, {"error": "forbidden"})],
        environment_list=[Fault.http(403, {"error": "forbidden"}, times=5)],
    )
    with Deployment() as deployment, Simulator(sim_scenario, api_key=API_KEY) as sim:
        run = run_action(sim.base_url, base_url=deployment.url)
        [environment] = sim.created_environments
        assert sim.deleted_environments == []
    assert run.exit_code == 1, explain(run)
    [warning] = titled(run, "warning", "Certyn environment not deleted")
    assert f"{environment.key} may exist" in warning.data
    [note] = [item for item in read(run.summary).items if "may exist" in item]
    assert f"with key {environment.key} may exist" in note, explain(run)


def test_a_409_for_an_environment_this_step_did_not_create_moves_to_another_key_and_says_so() -> None:
    # The key is taken, but not by an environment this step made (none with it is listed as ours): the
    # step creates its own under another key, runs against it and deletes only that one.
    sim_scenario = scenario("pass").with_faults(environment_create=[Fault.http(409, {"error": "key taken"})])
    with Deployment() as deployment, Simulator(sim_scenario, api_key=API_KEY) as sim:
        run = run_action(sim.base_url, base_url=deployment.url)
        creates = [c.json["key"] for c in sim.api_requests("environment_create")]
        [create] = sim.api_requests("create")
        assert_deleted_once(sim, run)
        [environment] = sim.created_environments
    assert run.exit_code == 0, explain(run)
    assert len(creates) == 2
    assert creates[0] != creates[1] == environment.key == create.json["environmentKey"]
    [warning] = titled(run, "warning", "Certyn environment key taken")
    assert f"{creates[0]} is taken" in warning.data


SECRET_QUERY = "token=preview-secret-4f9a2c7e"


def test_a_token_in_the_base_url_query_is_masked_even_when_the_server_echoes_it() -> None:
    with Deployment() as deployment:
        url = f"{deployment.url}/app?{SECRET_QUERY}"
        echo = Fault.http(400, {"errors": {"baseUrl": [f"'{url}' is not allowed"]}})
        with Simulator(scenario("pass").with_faults(environment_create=[echo]), api_key=API_KEY) as sim:
            run = run_action(sim.base_url, base_url=url)
    assert run.exit_code == 1, explain(run)
    assert run.lines[1].text == f"::add-mask::{SECRET_QUERY}", explain(run)
    shown = "\n".join(line.text for line in run.lines if not line.text.startswith("::add-mask::"))
    assert "preview-secret-4f9a2c7e" not in shown + run.summary + str(run.outputs), explain(run)
    assert "is not allowed" in shown  # the server's answer is still shown, the token scrubbed from it


def test_an_input_error_never_quotes_the_base_url_query() -> None:
    with Simulator(scenario("pass"), api_key=API_KEY) as sim:
        run = run_action(sim.base_url, base_url=f"ftp://a.io/?{SECRET_QUERY}")
        assert sim.requests == []
    [error] = run.commands_named("error")
    assert "base-url" in error.data or "base-url" in (error.properties.get("title") or ""), explain(run)
    assert "ftp://a.io/" in error.data
    shown = "\n".join(line.text for line in run.lines if not line.text.startswith("::add-mask::"))
    assert "preview-secret" not in shown + run.summary


def test_a_failed_delete_is_a_warning_and_keeps_the_verdict() -> None:
    sim_scenario = scenario("pass").with_faults(environment_delete=[Fault.http(500, times=20)])
    with Deployment() as deployment, Simulator(sim_scenario, api_key=API_KEY) as sim:
        run = run_action(sim.base_url, base_url=deployment.url, http_max_attempts="2")
        [environment] = sim.created_environments
    assert run.exit_code == 0, explain(run)
    assert run.outputs["result"] == "passed"
    [warning] = titled(run, "warning", "Certyn environment not deleted")
    assert environment.key in warning.data


def test_the_api_key_never_reaches_the_base_url_even_when_it_redirects_to_the_api() -> None:
    with Simulator(scenario("pass"), api_key=API_KEY) as sim:
        with Deployment(status=302, location=f"{sim.base_url}/api/ci/runs") as deployment:
            run = run_action(sim.base_url, base_url=deployment.url)
        paths = [r.path for r in sim.requests]
        [environment] = sim.created_environments
    assert run.exit_code == 0, explain(run)
    assert_key_never_reached(deployment)
    # The simulator saw only the action's own API calls: the redirect was not followed.
    assert all(r.header("X-API-Key") == API_KEY for r in sim.requests)
    assert paths.count("/api/ci/runs") == 1  # the create, not a followed redirect
    assert environment.base_url == deployment.url
    assert API_KEY not in run.summary
    assert API_KEY not in run.output_text


def test_a_base_url_on_the_api_host_itself_gets_no_key_either() -> None:
    # The deployment check never sends the key, whatever host it goes to: even the API's own host (where the
    # transport would allow it) is checked by a session of its own. The simulator's records prove it.
    with Simulator(scenario("pass"), api_key=API_KEY) as sim:
        run = run_action(sim.base_url, base_url=f"{sim.base_url}/preview/pr-1")
        check = [r for r in sim.requests if r.path == "/preview/pr-1"]
        api = [r for r in sim.requests if r.path.startswith("/api/")]
    assert run.exit_code == 0, explain(run)  # a 404 counts as up: the tests judge the application
    assert len(check) == 1
    assert check[0].header("X-API-Key") is None
    assert all(API_KEY not in value for _, value in check[0].headers)
    assert api
    assert all(r.header("X-API-Key") == API_KEY for r in api)


# -- run-id ------------------------------------------------------------------------------------------


def test_attach_to_a_passing_run_gates_on_it_without_creating() -> None:
    with Simulator("pass", api_key=API_KEY) as sim:
        sim.create_run(PROJECT, run_id="run-7", scenario="pass")
        run = run_action(sim.base_url, run_id="run-7", process_slug="")
        creates = sim.api_requests("create")
        polls = sim.api_requests("status", run_id="run-7")
    assert run.exit_code == 0, explain(run)
    assert creates == []
    assert polls
    assert run.outputs["run-id"] == "run-7"
    assert run.outputs["result"] == "passed"
    assert run.outputs["status-url"] == f"{sim.base_url}/api/ci/runs/run-7"


def test_attach_to_a_failing_run_fails_the_step() -> None:
    with Simulator("pass", api_key=API_KEY) as sim:
        sim.create_run(PROJECT, run_id="run-8", scenario="fail")
        run = run_action(sim.base_url, run_id="run-8", process_slug="")
        assert sim.api_requests("create") == []
    assert run.exit_code == 1, explain(run)
    assert run.outputs["result"] == "failed"
    assert run.outputs["failed"] == "2"


def test_attach_timeout_cancels_the_attached_run() -> None:
    with Simulator("never", api_key=API_KEY) as sim:
        sim.create_run(PROJECT, run_id="run-9", scenario="never")
        run = run_action(sim.base_url, run_id="run-9", process_slug="", timeout_seconds="3")
        record = sim.run("run-9")
    assert run.exit_code == 1, explain(run)
    assert run.outputs["result"] == "timed-out"
    assert len(record.cancel_requests) == 1


def test_attach_sigterm_cancels_the_attached_run_within_7s() -> None:
    with Simulator("never", api_key=API_KEY) as sim:
        sim.create_run(PROJECT, run_id="run-10", scenario="never")
        with FakeRunner(ROOT).start(_signal_inputs(sim, run_id="run-10", process_slug="")) as action:
            sim.wait_for(lambda r: r.endpoint == "status", timeout=15)
            run, took = signal_and_wait(action, signal.SIGTERM)
        record = sim.run("run-10")
    assert took < EXIT_WITHIN
    assert run.outputs["result"] == "cancelled"
    assert len(record.cancel_requests) == 1


def test_attach_to_a_run_that_does_not_exist_is_an_error_at_once() -> None:
    with Simulator("pass", api_key=API_KEY) as sim:
        run = run_action(sim.base_url, run_id="no-such-run", process_slug="")
        polls = sim.api_requests("status")
        assert sim.api_requests("cancel") == []  # nothing to cancel: it does not exist
    assert run.exit_code == 1, explain(run)
    assert run.outputs["result"] == "error"
    assert len(polls) == 1
    [error] = titled(run, "error", "Certyn run not found")
    assert "does not exist for this API key" in error.data
    assert run.duration < 10


# -- input errors: exit 1 before any request ---------------------------------------------------------

INPUT_ERRORS = [
    ({"base_url": "ftp://pr-42.example.com"}, "base-url"),
    ({"base_url": "pr-42.example.com"}, "base-url"),
    ({"base_url": "https://user:secret@pr-42.example.com"}, "base-url"),
    ({"base_url": "https://pr-42.example.com", "environment_key": "staging"}, "environment-key"),
    ({"base_url": "https://pr-42.example.com", "wait": "false"}, "wait"),
    ({"base_url": "https://pr-42.example.com", "base_url_wait_seconds": "-1"}, "base-url-wait-seconds"),
    ({"base_url": "https://pr-42.example.com", "keep_environment": "yes"}, "keep-environment"),
    ({"keep_environment": "maybe"}, "keep-environment"),
    ({"run_id": "run-1"}, "process-slug"),
    ({"run_id": "run-1", "process_slug": "", "tags": "smoke"}, "tags"),
    ({"run_id": "run-1", "process_slug": "", "base_url": "https://pr-42.example.com"}, "base-url"),
    ({"run_id": "run-1", "process_slug": "", "environment_key": "staging"}, "environment-key"),
    ({"run_id": "run-1", "process_slug": "", "instruction": "why did it fail?"}, "instruction"),
    ({"run_id": "run-1", "process_slug": "", "wait": "false"}, "wait"),
    ({"run_id": "run-1", "process_slug": "", "keep_environment": "true"}, "keep-environment"),
    ({"run_id": "run-1", "process_slug": "", "idempotency_key": "deploy-42"}, "idempotency-key"),
    ({"run_id": "runs/1", "process_slug": ""}, "run-id"),
    ({"run_id": "run?x=1", "process_slug": ""}, "run-id"),
    ({"run_id": "run#1", "process_slug": ""}, "run-id"),
    ({"run_id": "..", "process_slug": ""}, "run-id"),
    ({"run_id": "run 1", "process_slug": ""}, "run-id"),
]


@pytest.mark.parametrize(("given", "name"), INPUT_ERRORS, ids=[f"{n}:{g}" for g, n in INPUT_ERRORS])
def test_an_input_error_stops_before_any_request(given: dict[str, str], name: str) -> None:
    with Deployment() as deployment, Simulator(scenario("pass"), api_key=API_KEY) as sim:
        values = {
            key: deployment.url if value == "https://pr-42.example.com" else value
            for key, value in given.items()
        }
        run = run_step(Step(inputs(sim.base_url, **values)))
        requests = sim.requests
        checked = deployment.seen()
    assert run.exit_code == 1, explain(run)
    assert requests == [], explain(run)
    assert checked == []  # not even the deployment
    assert run.outputs["result"] == "error"
    assert titled(run, "error", f"Certyn: invalid input '{name}'"), explain(run)


def test_input_errors_are_reported_all_at_once() -> None:
    with Simulator(scenario("pass"), api_key=API_KEY) as sim:
        run = run_action(
            sim.base_url, run_id="a/b", base_url="ftp://x", keep_environment="maybe", process_slug=""
        )
        assert sim.requests == []
    titles = {c.properties.get("title") for c in run.commands_named("error")}
    assert {f"Certyn: invalid input '{n}'" for n in ("run-id", "base-url", "keep-environment")} <= titles


def test_an_empty_run_id_names_run_id_and_the_missing_outputs_mapping() -> None:
    # `run-id: ${{ needs.start.outputs.run-id }}` with a job `start` that maps no `outputs:` arrives as "".
    with Simulator(scenario("pass"), api_key=API_KEY) as sim:
        run = run_action(sim.base_url, run_id="", process_slug="")
        requests = sim.requests
    assert run.exit_code == 1, explain(run)
    assert requests == [], explain(run)
    [error] = run.commands_named("error")
    for name in ("set process-slug", "tags (tests", "run-id (an existing", "add outputs: { run-id"):
        assert name in error.data, explain(run)  # an annotation: the names without Markdown backticks
    assert "`" not in error.data


# -- helpers -----------------------------------------------------------------------------------------


def _signal_inputs(sim: Simulator, **extra: str) -> dict[str, str]:
    return inputs(sim.base_url, timeout_seconds="60", request_timeout_seconds="20", **extra)
