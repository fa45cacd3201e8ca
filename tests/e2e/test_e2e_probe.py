"""End to end: what a second hostile probe found after the lifecycle redesign (see docs/reliability.md).

Each test runs entrypoint.py the way the runner does (tests/e2e_support.py) against the simulator on
127.0.0.1, with the server answering what a broken or hostile one would.
"""

from __future__ import annotations

import pytest

from certyn_simulator import Fault, Scenario, snapshot
from tests.e2e_support import Step, explain, inputs, run_steps, simulators

PASSED = snapshot("completed", conclusion="success", total=2, passed=2)


# -- a create answer whose informational fields are junk ---------------------------------------------


@pytest.mark.parametrize("count", ["1e999", "-1e999", "NaN"])
def test_a_create_answer_with_a_non_finite_test_case_count_still_follows_the_run(count: str) -> None:
    # testCaseCount is shown, never relied on: Python's JSON reads 1e999 as infinity and NaN as NaN. Before,
    # infinity crashed the reader (OverflowError: an internal error, and the run it made was left running)
    # and NaN made the create "invalid" (an error, and the replay could not learn the run either).
    run_id = "run-count-1"
    body = f'{{"runId": "{run_id}", "testCaseCount": {count}}}'
    created = Fault("status", status=201, body=body, content_type="application/json", process=True)
    passing = Scenario(snapshots=[PASSED], run_ids=[run_id]).with_faults(create=[created])
    never = Scenario(snapshots=[snapshot("in_progress", total=2, pending=2)], run_ids=[run_id]).with_faults(
        create=[created]
    )
    with simulators(passing, never) as (sim1, sim2):
        passed, timed_out = run_steps(
            Step(inputs(sim1.base_url)), Step(inputs(sim2.base_url, timeout_seconds="4"))
        )
        left = sim2.run()
    assert passed.exit_code == 0, explain(passed)
    assert passed.outputs["result"] == "passed"
    assert passed.outputs["run-id"] == run_id
    assert passed.outputs["test-case-count"] == ""  # unknown, not a crash
    assert "Internal error" not in passed.log
    assert timed_out.outputs["result"] == "timed-out", explain(timed_out)
    assert left.cancel_requests, "the run the create made must be cancelled: " + explain(timed_out)


# -- a status that names a field twice, in another case, or names another run in another case ---------


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


# -- counters that are not numbers --------------------------------------------------------------------


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


# -- a redirect whose Location cannot be parsed -------------------------------------------------------


def test_a_redirect_with_an_unparsable_location_is_the_redirect_error_and_the_lost_run_is_cancelled() -> None:
    # "http://[::1" makes urlsplit raise ValueError. Before, that escaped the error reader: an internal error,
    # and while releasing, the same crash stopped the replay, so the run the lost first attempt made was left
    # running with no word about it. While polling, the redirect was an internal error instead of the grace.
    bad = "http://[::1"
    lost_then_redirected = Scenario(snapshots=[PASSED]).with_faults(
        create=[Fault.drop_after(), Fault.redirect(bad)]  # the replay is answered
    )
    polled = Scenario(snapshots=[PASSED]).with_faults(status=[Fault.redirect(bad, times=2)])
    with simulators(lost_then_redirected, polled) as (sim1, sim2):
        created, polling = run_steps(
            Step(inputs(sim1.base_url, http_max_attempts="2")), Step(inputs(sim2.base_url))
        )
        runs = list(sim1.runs.values())
    for run in (created, polling):
        assert "Internal error" not in run.log, explain(run)
        assert "redirect (HTTP 302" in run.log, explain(run)
    assert created.outputs["result"] == "error"
    assert len(runs) == 1
    assert runs[0].cancel_requests, "the run the lost create made must be cancelled: " + explain(created)
    assert polling.exit_code == 0, explain(polling)  # a passing redirect is waited out like a 404
    assert polling.outputs["result"] == "passed"
