"""End to end: entrypoint.py run the way the runner runs it, against the simulator on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest

from certyn_simulator import DEFAULT_API_KEY, Scenario, Simulator, snapshot
from certyn_simulator.runner import ActionRun, Event, FakeRunner
from certyn_simulator.runner.filecommands import decode_file_command, parse_outputs
from tests.e2e_support import PASSED, ROOT, assert_input_error, explain, inputs, run_action, simulators
from tests.rendered import read


def sim_inputs(sim: Simulator, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The shared e2e inputs, for a simulator with its default key, ``extra`` by input name."""
    return {**inputs(sim.base_url, api_key=DEFAULT_API_KEY, timeout_seconds="30"), **(extra or {})}


def run(
    sim: Simulator,
    extra: dict[str, str] | None = None,
    *,
    ev: Event | None = None,
    env: dict[str, str | None] | None = None,
) -> ActionRun:
    return FakeRunner(ROOT).run(sim_inputs(sim, extra), event=ev, env_overrides=env, timeout=60)


def final(**counts: int | str) -> Scenario:
    """A run that is finished at the first poll (keeps these tests quick)."""
    return Scenario(snapshots=[snapshot("completed", **counts)])


@pytest.fixture
def quick() -> Iterator[Simulator]:
    with Simulator(final(total=1, passed=1)) as simulator:
        yield simulator


def create_body(sim: Simulator) -> dict[str, object]:
    body = sim.api_requests("create")[-1].json
    assert isinstance(body, dict)
    return body


def test_a_passing_run_end_to_end(sim: Simulator) -> None:
    result = run(
        sim, {"check-run-id": "777"}, env={"GITHUB_RUN_ID": "1234", "GITHUB_REPOSITORY": "acme/shop"}
    )
    assert result.exit_code == 0, result.log
    assert result.conclusion == "success"
    out = result.outputs
    run_record = sim.run()
    assert out["result"] == "passed"
    assert out["run-id"] == run_record.run_id
    assert out["state"] == "completed"
    assert (out["total"], out["passed"], out["failed"]) == ("5", "5", "0")
    assert out["test-case-count"] == "5"
    assert out["idempotency-replayed"] == "false"
    assert out["app-url"].startswith("http")
    # the live log: a group with what is created, progress lines, a verdict and one notice
    assert "::group::Creating Certyn run" in result.stdout
    assert "X-API-Key: *** (redacted)" in result.stdout
    assert sum(1 for line in result.stdout.splitlines() if line.startswith("[")) >= 2
    notices = result.commands_named("notice")
    assert len(notices) == 1
    assert out["app-url"] in notices[0].data
    assert not result.commands_named("error")
    # the summary: verdict, counts, the Certyn link and the GitHub job link
    assert "Certyn tests passed" in result.summary
    assert f"({out['app-url']})" in result.summary
    assert "(https://github.com/acme/shop/actions/runs/1234/job/777)" in result.summary
    # the create request carries the metadata from the context
    body = create_body(sim)
    assert body["projectSlug"] == "my-app"
    assert body["processSlug"] == "smoke-suite"
    assert body["repository"] == "acme/shop"
    assert body["externalUrl"] == "https://github.com/acme/shop/actions/runs/1234/job/777"


def test_a_failing_gate_goes_red_with_every_reason() -> None:
    scenario = Scenario(
        snapshots=[
            snapshot("completed", conclusion="success", total=6, passed=2, failed=1, blocked=1, aborted=2)
        ]
    )
    with Simulator(scenario) as sim:
        result = run(
            sim, {"check-run-id": "777"}, env={"GITHUB_RUN_ID": "1234", "GITHUB_REPOSITORY": "acme/shop"}
        )
    assert result.exit_code == 1
    assert result.outputs["result"] == "failed"
    errors = [e for e in result.commands_named("error") if e.properties.get("title") == "Certyn gate failed"]
    assert len(errors) == 1
    # besides the gate's own, one annotation per failing test (failed, blocked, aborted)
    assert len(result.commands_named("error")) == 1 + 4
    for reason in ("1 test failed", "1 test blocked", "2 tests aborted"):
        assert reason in errors[0].data
        assert reason in result.summary


@pytest.mark.parametrize(
    ("scenario", "switch"),
    [
        (final(total=2, passed=1, failed=1), "fail-on-failed"),
        (final(total=2, passed=1, blocked=1), "fail-on-blocked"),
        (final(total=2, passed=1, aborted=1), "fail-on-aborted"),
        (final(total=0), "fail-on-empty"),
        (final(total=3, passed=2, pending=1), "fail-on-incomplete"),
        (final(total=3, passed=1), "fail-on-incomplete"),
        (Scenario(snapshots=[snapshot("cancelled", total=2, passed=1, pending=1)]), "fail-on-cancelled"),
    ],
    ids=["failed", "blocked", "aborted", "empty", "pending", "unreported", "cancelled"],
)
def test_each_gate_switch_fails_the_step_and_can_be_turned_off(scenario: Scenario, switch: str) -> None:
    with Simulator(scenario) as sim:
        strict = run(sim)
        relaxed = run(sim, {switch: "false"})
    assert strict.exit_code == 1
    assert strict.outputs["result"] == "failed"
    assert relaxed.exit_code == 0, relaxed.log
    assert relaxed.outputs["result"] == "passed"
    # the pass says what the switch let through, in the annotation and the summary
    (notice,) = relaxed.commands_named("notice")
    assert notice.properties.get("title") == "Certyn gate passed"
    assert f"({switch}: false)" in notice.data
    assert "turned these checks off" in relaxed.summary


def test_wait_false_creates_and_sets_outputs(quick: Simulator) -> None:
    sim = quick
    result = run(sim, {"wait": "false"})
    assert result.exit_code == 0
    assert result.outputs["result"] == "created"
    assert result.outputs["run-id"] == sim.run().run_id
    assert sim.api_requests("status") == []
    assert "Certyn run created" in result.summary


def test_bad_input_fails_before_any_request(quick: Simulator) -> None:
    sim = quick
    result = run(sim, {"process-slug": "smoke", "tags": "a,b", "wait": "maybe"})
    assert result.exit_code == 1
    assert sim.requests == []
    errors = result.commands_named("error")
    assert {e.properties.get("title") for e in errors} == {
        "Certyn: invalid input 'tags'",
        "Certyn: invalid input 'wait'",
    }
    # the log shows an annotation's message, not its title: the message itself names the input
    assert sorted(e.data.split(":")[0] for e in errors) == ["Input 'tags'", "Input 'wait'"]
    assert result.outputs["result"] == "error"
    assert result.summary.startswith("## 📝 Certyn: invalid input\n")


def test_pull_request_reports_the_head_commit_and_branch() -> None:
    event = Event.pull_request(number=7, head_ref="feature/x", head_sha="c" * 40, merge_sha="d" * 40)
    with Simulator(final(total=1, passed=1)) as sim:
        result = run(sim, ev=event)
    assert result.exit_code == 0, result.log
    body = create_body(sim)
    assert body["commitSha"] == "c" * 40
    assert body["ref"] == "feature/x"
    assert body["event"] == "pull_request"
    view = read(result.summary)  # as GitHub renders it: the PR head commit, linked, on the PR branch
    assert view.row("Commit") == ["Commit", "ccccccc on feature/x"]
    assert any(href.endswith("/commit/" + "c" * 40) and text == "ccccccc" for href, text in view.links)


def test_tag_push_reports_the_tag(quick: Simulator) -> None:
    sim = quick
    result = run(sim, ev=Event.tag("v1.2.3", sha="e" * 40))
    assert result.exit_code == 0, result.log
    body = create_body(sim)
    assert (body["ref"], body["commitSha"]) == ("v1.2.3", "e" * 40)


def test_overrides_win_over_the_context(quick: Simulator) -> None:
    sim = quick
    overrides = {"repository": "o/other", "ref": "release", "commit-sha": "abc", "event": "deploy"}
    run(sim, {**overrides, "external-url": "https://ci.example/1"})
    body = create_body(sim)
    assert (body["repository"], body["ref"], body["commitSha"], body["event"], body["externalUrl"]) == (
        "o/other",
        "release",
        "abc",
        "deploy",
        "https://ci.example/1",
    )


def test_tags_are_sent_as_a_list(quick: Simulator) -> None:
    sim = quick
    result = run(sim, {"process-slug": "", "tags": "smoke\nCheckout, smoke"})
    assert result.exit_code == 0, result.log
    body = create_body(sim)
    assert body["tags"] == ["smoke", "Checkout"]
    assert "processSlug" not in body


def test_idempotency_one_run_per_step_execution_new_run_per_leg_and_attempt(quick: Simulator) -> None:
    sim = quick
    same = {"GITHUB_RUN_ID": "555", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_JOB": "e2e", "GITHUB_ACTION": "certyn"}
    first = run(sim, {"job-index": "0", "check-run-id": "10"}, env=dict(same))
    again = run(sim, {"job-index": "0", "check-run-id": "10"}, env=dict(same))
    other_leg = run(sim, {"job-index": "1", "check-run-id": "11"}, env=dict(same))
    rerun = run(sim, {"job-index": "0", "check-run-id": "12"}, env={**same, "GITHUB_RUN_ATTEMPT": "2"})
    ids = [r.outputs["run-id"] for r in (first, again, other_leg, rerun)]
    assert ids[0] == ids[1]
    assert again.outputs["idempotency-replayed"] == "true"
    assert len({ids[0], ids[2], ids[3]}) == 3
    keys = [r.header("Idempotency-Key") or "" for r in sim.api_requests("create")]
    assert all(key and len(key) <= 200 and key.isascii() for key in keys)


def test_a_fixed_idempotency_key_replaying_another_commits_run_warns_naming_both_commits() -> None:
    # A user-set key reused on a new commit: Certyn replays the old run, which tested the old commit. The gate
    # judges that run (the user chose the key), but says so, once: a warning and a summary note naming both.
    old, new = "a" * 40, "b" * 40
    in_progress = snapshot("in_progress", total=1, pending=1)
    with Simulator(
        Scenario(snapshots=[in_progress, in_progress, snapshot("completed", total=1, passed=1)])
    ) as sim:
        first = run(sim, {"idempotency-key": "release-gate", "wait": "false"}, ev=Event.push(sha=old))
        again = run(sim, {"idempotency-key": "release-gate"}, ev=Event.push(sha=new))
        assert [r.json["commitSha"] for r in sim.api_requests("create")] == [old, new]
        assert len(sim.api_requests("status")) == 3
    assert again.outputs["idempotency-replayed"] == "true"
    assert (first.exit_code, again.exit_code) == (0, 0), again.log
    assert first.commands_named("warning") == []
    [warning] = [
        c
        for c in again.commands_named("warning")
        if c.properties.get("title") == "Certyn run of another commit"
    ]
    [note] = [item for item in read(again.summary).items if "another commit" in item or old in item]
    for text in (warning.data, note):
        assert old in text, again.log
        assert new in text
        assert "release-gate" in text


def test_timeout_cancels_the_run_and_reports_timed_out() -> None:
    with Simulator("never") as sim:
        result = run(sim, {"timeout-seconds": "3"})
        record = sim.run()
    assert result.exit_code == 1
    assert result.outputs["result"] == "timed-out"
    # Certyn's word, read again after the cancel (the simulator then says cancelled), and labelled so
    assert result.outputs["state"] == "cancelled"
    assert "read after this step cancelled the run" in result.summary
    assert len(record.cancel_requests) == 1
    assert "timeout" in (record.cancel_reasons[0] or "")
    assert result.duration < 3 + 5 + 3
    assert "Certyn run timed out" in result.summary


def test_outputs_are_written_while_the_step_still_runs() -> None:
    # A step killed mid-wait (SIGKILL after the runner's grace) still leaves run-id, state and counts.
    scenario = Scenario(snapshots=[snapshot("in_progress", total=4, passed=1, pending=3)])
    with Simulator(scenario) as sim, FakeRunner(ROOT).start(sim_inputs(sim)) as action:
        sim.wait_for_requests(2, "status", timeout=15)
        time.sleep(0.3)  # let the second status be handled and written
        partial = parse_outputs(decode_file_command(action.files.output_file.read_bytes()))
        action.kill()
    assert partial["run-id"] == sim.run().run_id
    assert partial["state"] == "in_progress"
    assert (partial["total"], partial["passed"], partial["pending"]) == ("4", "1", "3")


# -- odd context and input bytes -----------------------------------------------------------------------------


def test_a_deeply_nested_event_payload_is_a_clear_warning_not_an_internal_error() -> None:
    deep = '{"client_payload": ' + "[" * 200_000 + "]" * 200_000 + "}"
    event = dataclasses.replace(Event.push(), raw_payload=deep)
    with simulators(Scenario(snapshots=[PASSED])) as (sim,):
        run = run_action(sim.base_url, event=event)
    assert run.exit_code == 0, explain(run)
    warnings = [c.data for c in run.commands_named("warning")]
    assert any("nested too deeply" in w for w in warnings), explain(run)
    assert "Internal error" not in run.log


def test_input_bytes_that_are_not_utf8_are_an_input_error_naming_the_input() -> None:
    with simulators(Scenario(snapshots=[PASSED])) as (sim,):
        run = run_action(sim.base_url, ref="refs/heads/caf\udce9")
        sent = list(sim.requests)
    assert sent == [], "nothing is sent"
    assert_input_error(run, "ref")
    assert "UTF-8" in run.log
