"""End to end: a status that does not prove the tests passed never passes the step (a finished status without
`failed` or `blocked`, a status naming another run, a key named twice or in another case, a counter sent as text):
it fails, or is retried like a cut body until the deadline. Each test runs entrypoint.py the way the runner does
(tests/e2e_support.py) against the simulator on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

from certyn_simulator import Fault, Scenario, snapshot
from tests.e2e_support import (
    PASSED,
    Step,
    explain,
    inputs,
    run_steps,
    simulators,
)
from tests.rendered import read

# -- a finished status without failed or blocked proves nothing ----------------------------------------------


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


# -- a status for another run is never believed --------------------------------------------------------------


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


# -- a reply that names a key twice is ambiguous -------------------------------------------------------------


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


# -- a status that names a field twice in another case, or a counter as text ---------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        '"failed": 0, "blocked": 0, "Failed": 2',  # ASP.NET binds names case-insensitively: 0 or 2 failed?
        '"failed": 0, "blocked": 0, "BLOCKED": 1',
        '"failed": 0, "blocked": 0, "State": "in_progress"',
        '"failed": 0, "blocked": 0, "RunId": "someone-elses-run"',  # another run, in PascalCase
        '"failed": 0, "blocked": 0, "runid": "someone-elses-run"',
    ],
    ids=["Failed", "BLOCKED", "State", "RunId", "runid"],
)
def test_a_status_that_names_a_field_twice_in_another_case_is_never_gated_on(extra: str) -> None:
    run_id = "run-case-1"
    body = f'{{"runId": "{run_id}", "state": "completed", "total": 2, "passed": 2, {extra}}}'
    if "RunId" in extra or "runid" in extra:
        body = body.replace(f'"runId": "{run_id}", ', "")
    faults = [Fault("status", status=200, body=body, content_type="application/json", times=50)]
    scenario = Scenario(snapshots=[PASSED], run_ids=[run_id]).with_faults(status=faults)
    with simulators(scenario) as (sim,):
        (run,) = run_steps(Step(inputs(sim.base_url, timeout_seconds="5")))
    assert run.exit_code == 1, explain(run)
    assert run.outputs["result"] == "timed-out", explain(run)


@pytest.mark.parametrize("failed", ['"0"', '" 0 "', '"+0"', '"0_0"', '"0.0"', '"-0"'])
def test_a_counter_sent_as_text_is_an_invalid_status_never_a_silent_zero(failed: str) -> None:
    # The API's counters are numbers. Text that Python happens to read as 0 ("0_0", " 0 ", "0.0") proves
    # nothing: such a status is invalid (retried until the deadline, like a cut body), never gated on.
    run_id = "run-text-1"
    body = f'{{"runId": "{run_id}", "state": "completed", "total": 2, "passed": 2, "failed": {failed}, "blocked": 0}}'
    faults = [Fault("status", status=200, body=body, content_type="application/json", times=50)]
    scenario = Scenario(snapshots=[PASSED], run_ids=[run_id]).with_faults(status=faults)
    with simulators(scenario) as (sim,):
        (run,) = run_steps(Step(inputs(sim.base_url, timeout_seconds="5")))
    assert run.exit_code == 1, explain(run)
    assert run.outputs["result"] == "timed-out", explain(run)
    assert "failed: Value error, a counter must be a number" in run.log
