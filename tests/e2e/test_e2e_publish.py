"""End to end: the check run and the sticky pull-request comment (issue 21), entrypoint.py run as the runner
runs it against the simulator's Certyn API and its fake GitHub API."""

from __future__ import annotations

import signal
import time
from typing import Any

from certyn_simulator import Fault, Scenario, Simulator, builtin_scenario, snapshot
from certyn_simulator.records import RequestRecord
from certyn_simulator.runner import ActionRun, Event, FakeRunner
from tests.e2e_support import API_KEY, ROOT, Step, explain, inputs, run_action, run_steps

TOKEN = "ghs_e2eGitHubToken42"
HEAD = "1" * 40
DEPLOYED = "2" * 40
PUBLISH = {"github_token": TOKEN, "check_run": "true", "pr_comment": "always"}


def scenario(name: str, **github: Any) -> Scenario:
    sc = builtin_scenario(name)
    sc.github = github
    return sc


def run(sim: Simulator, event: Event | None = None, *, ghes: bool = False, **extra: str) -> ActionRun:
    url = sim.github_enterprise_url if ghes else sim.github_url
    return run_action(sim.base_url, event=event, env={"GITHUB_API_URL": url}, **{**PUBLISH, **extra})


def github_requests(sim: Simulator) -> list[RequestRecord]:
    return [r for r in sim.requests if r.endpoint.startswith("github_")]


def warnings(result: ActionRun) -> list[str]:
    return [c.data for c in result.commands_named("warning")]


def test_check_run_from_the_create_to_the_verdict_on_the_pull_request_head() -> None:
    with Simulator(scenario("fail"), api_key=API_KEY, github_token=TOKEN) as sim:
        result = run(sim, Event.pull_request(number=7, head_sha=HEAD))
        [check] = sim.github_check_runs
        creates = sim.api_requests("github_check_run_create")
        second_poll = sim.api_requests("status")[1]  # the first goes out with the create's answer
    assert result.exit_code == 1, explain(result)
    assert check.head_sha == HEAD  # the PR head, not the merge commit GITHUB_SHA names
    assert check.name.startswith("Certyn")
    assert "smoke-suite" in check.name
    assert check.requests[0]["status"] == "in_progress"
    assert creates[0].seq < second_poll.seq  # in progress as soon as the run exists
    assert check.fields["external_id"] == result.outputs["run-id"]
    assert check.fields["details_url"] == result.outputs["app-url"]
    assert (check.status, check.conclusion) == ("completed", "failure")
    assert check.output["title"].startswith("Certyn gate failed")
    assert check.output["summary"] == result.summary  # the job summary's Markdown
    assert [a["title"] for a in check.annotations] == [  # each with why it failed (diagnose)
        "Checkout with a saved card — the app answered 5xx",
        "Apply a discount code — a tool failed",
        "Sign in with SSO — blocked",
    ]
    assert {a["path"] for a in check.annotations} == {".github/workflows/ci.yml"}
    assert warnings(result) == []


def test_tokens_never_cross_and_the_github_token_is_masked() -> None:
    with Simulator(scenario("fail"), api_key=API_KEY, github_token=TOKEN) as sim:
        result = run(sim, Event.pull_request(number=7))
        certyn = [r for r in sim.requests if not r.endpoint.startswith("github_")]
        github = github_requests(sim)
        refused = sim.github_refused
    assert result.exit_code == 1, explain(result)
    assert refused == []
    assert github
    assert certyn
    assert all(
        r.header("Authorization") == f"Bearer {TOKEN}" and r.header("X-API-Key") is None for r in github
    )
    assert all(r.header("X-API-Key") == API_KEY and r.header("Authorization") is None for r in certyn)
    assert all(API_KEY not in r.body_text and TOKEN not in r.body_text for r in github)
    assert f"::add-mask::{TOKEN}" in result.stdout
    assert result.stdout.count(TOKEN) == 1


def test_nothing_goes_to_github_unless_asked() -> None:
    with Simulator(scenario("fail"), api_key=API_KEY, github_token=TOKEN) as sim:
        result = run_action(
            sim.base_url,
            event=Event.pull_request(),
            env={"GITHUB_API_URL": sim.github_url},
            github_token=TOKEN,
        )
        github = github_requests(sim)
    assert result.exit_code == 1, explain(result)
    assert github == []


def test_the_comment_is_sticky_across_executions_and_turns_green_when_a_later_run_passes() -> None:
    event = Event.pull_request(number=7, head_sha=HEAD)
    with Simulator(scenario("fail"), api_key=API_KEY, github_token=TOKEN) as sim:
        first = run(sim, event, pr_comment="on-failure")
        second = run(sim, event, pr_comment="on-failure")  # a re-run: edited, not added
        sim.set_scenario(scenario("pass"))
        third = run(sim, event, pr_comment="on-failure")
        comments = sim.github_comments
    assert (first.exit_code, second.exit_code, third.exit_code) == (1, 1, 0), explain(third)
    [comment] = comments
    assert comment.issue_number == 7
    assert len(comment.history) == 3
    assert comment.body.startswith("<!-- certyn-run-action ")
    assert "Certyn gate failed" in comment.history[0]
    assert "Checkout with a saved card" in comment.history[0]
    assert "why: the app answered 500 to POST \\/api\\/checkout" in comment.history[0]  # diagnose
    assert comment.body.splitlines()[2].startswith("### ✅ Certyn tests passed")
    assert "Certyn gate failed" not in comment.body
    assert first.outputs["run-id"] not in comment.history[0].splitlines()[0]  # the marker names no run


def test_on_failure_writes_nothing_for_a_pass_without_an_earlier_comment() -> None:
    with Simulator(scenario("pass"), api_key=API_KEY, github_token=TOKEN) as sim:
        result = run(sim, Event.pull_request(number=7), pr_comment="on-failure", check_run="false")
        comments = sim.github_comments
        listed = sim.api_requests("github_comment_list")
    assert result.exit_code == 0, explain(result)
    assert comments == []
    assert len(listed) == 1  # looked for a red comment to turn green


def test_a_second_matrix_leg_has_its_own_check_run_and_comment() -> None:
    # Two steps at once on a loaded machine: what is proven is what each leg publishes, not how fast, so
    # neither the short request timeout nor the short step timeout of the shared inputs applies.
    event = Event.pull_request(number=7, head_sha=HEAD)
    env = {"GITHUB_API_URL": ""}
    slow = {"timeout_seconds": "60", "request_timeout_seconds": "10"}
    with Simulator(scenario("pass"), api_key=API_KEY, github_token=TOKEN) as sim:
        env["GITHUB_API_URL"] = sim.github_url
        legs = run_steps(
            *(
                Step(inputs(sim.base_url, job_index=leg, **PUBLISH, **slow), event, env, timeout=90)
                for leg in ("0", "1")
            )
        )
        checks, comments = sim.github_check_runs, sim.github_comments
    assert [leg.exit_code for leg in legs] == [0, 0], "\n".join(explain(leg) for leg in legs if leg.exit_code)
    assert len({check.name for check in checks}) == 2
    assert {check.conclusion for check in checks} == {"success"}
    assert len(comments) == 2
    assert len({comment.body.splitlines()[0] for comment in comments}) == 2


def test_a_comment_someone_else_starts_with_the_marker_is_left_alone_and_ours_is_written() -> None:
    # The marker is public: anyone who may comment can post it first. With GITHUB_TOKEN (GitHub will not say
    # who it is) only a bot's comment with the marker is the action's.
    with Simulator(scenario("fail"), api_key=API_KEY, github_token=TOKEN) as sim:
        run(sim, Event.pull_request(number=7))
        sign = sim.github_comments[0].body.splitlines()[0]  # the marker this workflow's step writes
    planted = {"issue": 7, "body": f"{sign}\nplanted by someone else", "user": "mallory"}
    with Simulator(scenario("fail", comments=[planted]), api_key=API_KEY, github_token=TOKEN) as sim:
        first = run(sim, Event.pull_request(number=7))
        second = run(sim, Event.pull_request(number=7))
        comments = sim.github_comments
    assert (first.exit_code, second.exit_code) == (1, 1), explain(second)
    [theirs, ours] = comments
    assert theirs.user["login"] == "mallory"
    assert theirs.history == [theirs.body]  # never edited
    assert ours.user["type"] == "Bot"
    assert len(ours.history) == 2  # written, then found and edited: not a second one
    assert warnings(first) == warnings(second) == []  # GitHub not saying who GITHUB_TOKEN is: no warning


def test_github_enterprise_server_prefix() -> None:
    with Simulator(scenario("pass"), api_key=API_KEY, github_token=TOKEN) as sim:
        result = run(sim, Event.pull_request(number=7), ghes=True)
        github = github_requests(sim)
        checks, comments = sim.github_check_runs, sim.github_comments
    assert result.exit_code == 0, explain(result)
    assert github
    assert all(r.path.startswith("/github/api/v3/") for r in github)
    assert checks[0].conclusion == "success"
    assert len(comments) == 1


def test_a_read_only_token_is_one_warning_per_write_naming_the_permission_and_never_a_changed_verdict() -> (
    None
):
    read_only = {"checks": "read", "pull_requests": "read"}
    with Simulator(scenario("pass", permissions=read_only), api_key=API_KEY, github_token=TOKEN) as sim:
        result = run(sim, Event.pull_request(number=7))
        creates = sim.api_requests("github_check_run_create")
    assert result.exit_code == 0, explain(result)
    assert result.outputs["result"] == "passed"
    shown = warnings(result)
    assert len(shown) == 2, shown
    assert "permissions: checks: write" in shown[0]
    assert "permissions: pull-requests: write" in shown[1]
    assert "`" not in shown[0] + shown[1]  # annotations: no literal Markdown
    assert len(creates) == 1  # refused once: not asked again at the end


def test_a_rate_limit_past_the_budget_is_a_warning_at_once() -> None:
    limit = {"status": 429, "retry_after": 60}
    with Simulator(scenario("pass", rate_limit=limit), api_key=API_KEY, github_token=TOKEN) as sim:
        started = time.monotonic()
        result = run(sim, Event.pull_request(number=7), pr_comment="off")
        took = time.monotonic() - started
    assert result.exit_code == 0, explain(result)
    assert took < 15
    [warning] = warnings(result)
    assert "check run" in warning
    assert "429" in warning


def test_a_short_rate_limit_is_waited_out() -> None:
    limit = {"status": 403, "retry_after": 1, "times": 1}
    with Simulator(scenario("pass", rate_limit=limit), api_key=API_KEY, github_token=TOKEN) as sim:
        result = run(sim, Event.pull_request(number=7), pr_comment="off")
        checks = sim.github_check_runs
    assert result.exit_code == 0, explain(result)
    assert warnings(result) == []
    assert [check.conclusion for check in checks] == ["success"]


def test_deployment_status_puts_the_check_run_on_the_deployed_commit_and_comments_on_its_pull_request() -> (
    None
):
    base = Event.push(sha="3" * 40)
    payload = {
        "deployment": {"sha": DEPLOYED, "environment": "preview", "ref": "feature/checkout"},
        "deployment_status": {"state": "success", "environment_url": "https://pr-9.preview.example.com"},
        "repository": base.payload["repository"],
    }
    event = Event("deployment_status", payload, base.env)
    pulls = [{"number": 9, "head_sha": DEPLOYED, "state": "open"}]
    with Simulator(scenario("fail", pulls=pulls), api_key=API_KEY, github_token=TOKEN) as sim:
        result = run(sim, event)
        checks, comments = sim.github_check_runs, sim.github_comments
    assert result.exit_code == 1, explain(result)
    assert [check.head_sha for check in checks] == [DEPLOYED]
    assert [comment.issue_number for comment in comments] == [9]


def test_check_run_with_wait_false_is_an_input_error_before_any_request() -> None:
    with Simulator(scenario("pass"), api_key=API_KEY, github_token=TOKEN) as sim:
        result = run(sim, Event.pull_request(), wait="false")
        sent = sim.requests
    assert result.exit_code == 1
    assert sent == []
    errors = result.commands_named("error")
    assert any("check-run" in (e.properties.get("title") or "") for e in errors), explain(result)


def test_a_signal_completes_the_check_run_as_cancelled_after_the_runs_cancel() -> None:
    never_ends = Scenario(snapshots=[snapshot("in_progress", total=4, passed=1, pending=3)])
    with Simulator(never_ends, api_key=API_KEY, github_token=TOKEN) as sim:
        values = inputs(sim.base_url, timeout_seconds="60", **PUBLISH)
        env = {"GITHUB_API_URL": sim.github_url}
        with FakeRunner(ROOT).start(values, event=Event.pull_request(number=7), env_overrides=env) as action:
            sim.wait_for(lambda r: r.endpoint == "github_check_run_create", timeout=10)
            sim.wait_for(lambda r: r.endpoint == "status", timeout=10)
            action.send_signal(signal.SIGINT)
            result = action.wait(timeout=15)
        [check] = sim.github_check_runs
        cancel = sim.api_requests("cancel")[0]
        update = sim.api_requests("github_check_run_update")[-1]
    assert result.exit_code == 1, result.log
    assert result.outputs["result"] == "cancelled"
    assert check.conclusion == "cancelled"
    assert cancel.seq < update.seq


def test_a_signal_while_the_finished_step_writes_to_a_hanging_github_exits_before_the_runners_sigterm() -> (
    None
):
    # The gate's verdict is in, outputs and summary written; GitHub hangs on the check run's completion when the
    # runner cancels the job: the write ends with the release budget (was: its 10 s, retried, then SIGKILL).
    hanging = scenario("fail").with_faults(github_check_run_update=[Fault.stall(30, times=5)])
    with Simulator(hanging, api_key=API_KEY, github_token=TOKEN) as sim:
        values = inputs(sim.base_url, timeout_seconds="60", **PUBLISH)
        env = {"GITHUB_API_URL": sim.github_url}
        with FakeRunner(ROOT).start(values, event=Event.pull_request(number=7), env_overrides=env) as action:
            sim.wait_for(lambda r: r.endpoint == "github_check_run_update", timeout=20)
            result = action.cancel_like_runner()
        updates = sim.api_requests("github_check_run_update")
    assert result.cancel is not None
    assert result.cancel.sigterm_at is None, f"exited {result.cancel.exit_after:.1f}s after SIGINT"
    assert result.exit_code == 1, explain(result)
    assert result.outputs["result"] == "failed"  # the gate's verdict stands
    assert len(updates) == 1  # not sent again after the signal
    assert "Traceback" not in result.stderr
