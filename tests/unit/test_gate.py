"""gate.py: the verdict comes from the counters, the state and the switches, never from ``conclusion``."""

from __future__ import annotations

from typing import Any

import pytest

from certyn_action.api.client import ApiError, AuthError, DeadlineExceeded, NotFound, Outage, TimedOut
from certyn_action.api.models import RunStatus
from certyn_action.gate import Cause, Result, Stopped, Verdict, evaluate, unaccounted, verdict_for
from certyn_action.runner.signals import CancelRequested
from certyn_action.settings import GateSwitches, InputError, InputErrors

ALL_ON = GateSwitches()
ALL_OFF = GateSwitches(False, False, False, False, False, False)


def _status(**fields: Any) -> RunStatus:
    data: dict[str, Any] = {
        "state": "completed",
        "conclusion": "success",
        "total": 5,
        "passed": 5,
        "failed": 0,
        "blocked": 0,
    }
    data.update(fields)
    return RunStatus.model_validate(data)


def test_all_passed_passes() -> None:
    assert evaluate(_status(), ALL_ON) == Verdict(Result.PASSED, ())


@pytest.mark.parametrize(
    ("switch", "fields", "reason"),
    [
        ("fail_on_failed", {"passed": 3, "failed": 2}, "2 tests failed"),
        ("fail_on_blocked", {"passed": 4, "blocked": 1}, "1 test blocked (needs a human in Certyn)"),
        ("fail_on_aborted", {"passed": 2, "aborted": 3}, "3 tests aborted"),
        ("fail_on_empty", {"total": 0, "passed": 0}, "the run completed with no tests (total 0)"),
        (
            "fail_on_incomplete",
            {"passed": 3, "pending": 2},
            "2 of 5 tests had no result when the run completed (2 pending)",
        ),
        (
            "fail_on_incomplete",
            {
                "conclusion": "failure",
                "total": 10,
                "passed": 1,
                "failed": 0,
                "blocked": 0,
                "aborted": 0,
                "skipped": 0,
            },
            "9 of 10 tests had no result when the run completed",
        ),
        (
            "fail_on_cancelled",
            {"state": "cancelled", "total": 5, "passed": 5},
            "the run was cancelled in Certyn",
        ),
    ],
)
def test_each_switch_on_fails_and_off_passes(switch: str, fields: dict[str, Any], reason: str) -> None:
    status = _status(**fields)
    on = ALL_OFF._replace(**{switch: True})
    assert evaluate(status, on) == Verdict(Result.FAILED, (reason,))
    off = ALL_ON._replace(**{switch: False})
    # a switch turned off lets the run pass, and says what it let through
    waived = (f"{reason} ({switch.replace('_', '-')}: false)",)
    assert evaluate(status, off) == Verdict(Result.PASSED, (), waived)


def test_all_reasons_listed_together() -> None:
    status = _status(state="cancelled", total=6, passed=0, failed=1, blocked=2, aborted=3)
    verdict = evaluate(status, ALL_ON)
    assert verdict.result is Result.FAILED
    assert verdict.reasons == (
        "the run was cancelled in Certyn",
        "1 test failed",
        "2 tests blocked (needs a human in Certyn)",
        "3 tests aborted",
    )


def test_all_switches_off_passes_anything_terminal() -> None:
    status = _status(state="cancelled", total=0, passed=0, failed=9, blocked=9, aborted=9)
    verdict = evaluate(status, ALL_OFF)
    assert (verdict.result, verdict.reasons) == (Result.PASSED, ())
    assert [w.rsplit("(", 1)[1] for w in verdict.waived] == [
        "fail-on-cancelled: false)",
        "fail-on-failed: false)",
        "fail-on-blocked: false)",
        "fail-on-aborted: false)",
    ]


def test_cancelled_with_fail_on_cancelled_off_still_gates_on_counters() -> None:
    switches = ALL_ON._replace(fail_on_cancelled=False)
    assert evaluate(_status(state="cancelled", passed=4, failed=1), switches).reasons == ("1 test failed",)
    assert evaluate(_status(state="Canceled", passed=2, pending=3), switches).result is Result.PASSED


def test_empty_run_only_fails_when_completed() -> None:
    # A cancelled run with no tests is reported as cancelled, not also as empty.
    verdict = evaluate(_status(state="cancelled", total=0, passed=0), ALL_ON)
    assert verdict.reasons == ("the run was cancelled in Certyn",)


def test_empty_run_with_missing_counters() -> None:
    status = RunStatus.model_validate({"state": "completed", "failed": 0, "blocked": 0})
    assert evaluate(status, ALL_ON).reasons == ("the run completed with no tests (total 0)",)


@pytest.mark.parametrize(
    "conclusion", ["failure", "failed", "action_required", "cancelled", "neutral", "", "💥"]
)
def test_conclusion_ignored_when_all_passed(conclusion: str) -> None:
    assert evaluate(_status(conclusion=conclusion), ALL_ON).result is Result.PASSED


@pytest.mark.parametrize("conclusion", ["success", "passed", "neutral", ""])
def test_conclusion_ignored_when_tests_aborted(conclusion: str) -> None:
    verdict = evaluate(_status(conclusion=conclusion, passed=2, aborted=3), ALL_ON)
    assert verdict == Verdict(Result.FAILED, ("3 tests aborted",))


@pytest.mark.parametrize("state", ["in_progress", "running", "queued", "pending", "", "exploded"])
def test_non_terminal_state_raises(state: str) -> None:
    with pytest.raises(ValueError, match="not finished"):
        evaluate(_status(state=state), ALL_ON)


def test_result_succeeds_only_for_passed_and_created() -> None:
    assert {r for r in Result if r.succeeds} == {Result.PASSED, Result.CREATED}
    assert [r.value for r in Result] == ["passed", "failed", "timed-out", "cancelled", "error", "created"]


def test_a_run_where_every_test_was_skipped_tested_nothing() -> None:
    status = RunStatus.model_validate(
        {"state": "completed", "total": 4, "skipped": 4, "failed": 0, "blocked": 0}
    )
    verdict = evaluate(status, GateSwitches())
    assert verdict.result is Result.FAILED
    assert any("every test was skipped" in reason for reason in verdict.reasons)
    assert evaluate(status, GateSwitches(fail_on_empty=False)).result is Result.PASSED
    some_ran = RunStatus.model_validate(
        {"state": "completed", "total": 4, "skipped": 3, "passed": 1, "failed": 0, "blocked": 0}
    )
    assert evaluate(some_ran, GateSwitches()).result is Result.PASSED


def test_missing_counters_are_not_missing_results() -> None:
    # The API promises only state, failed and blocked: a server that leaves out the other counters
    # must not fail a run that passed.
    minimal = RunStatus.model_validate({"state": "completed", "total": 4, "failed": 0, "blocked": 0})
    assert evaluate(minimal, ALL_ON) == Verdict(Result.PASSED, ())
    # without a total, the tests reported on are the total, not "no tests"
    no_total = RunStatus.model_validate({"state": "completed", "passed": 4, "failed": 0, "blocked": 0})
    assert evaluate(no_total, ALL_ON) == Verdict(Result.PASSED, ())
    # pending is always a missing result, whatever else was sent
    pending = RunStatus.model_validate(
        {"state": "completed", "total": 4, "passed": 3, "failed": 0, "blocked": 0, "pending": 1}
    )
    assert evaluate(pending, ALL_ON).reasons == (
        "1 of 4 tests had no result when the run completed (1 pending)",
    )


def test_incomplete_reasons_never_count_more_results_than_tests() -> None:
    empty = RunStatus.model_validate(
        {"state": "completed", "total": 0, "failed": 0, "blocked": 0, "pending": 3}
    )
    assert evaluate(empty, ALL_ON).reasons == ("the run completed with no tests (total 0)",)
    odd = RunStatus.model_validate(
        {"state": "completed", "total": 5, "passed": 5, "failed": 0, "blocked": 0, "pending": 7}
    )
    assert evaluate(odd, ALL_ON).reasons == (
        "7 of 12 tests had no result when the run completed (7 pending)",
    )


# Every outcome counter sent, as a server that reports fully does: the "no result" arithmetic then
# compares the outcomes with the total.
def _full(**fields: Any) -> RunStatus:
    data: dict[str, Any] = {
        "state": "completed",
        "total": 0,
        "passed": 0,
        "failed": 0,
        "blocked": 0,
        "aborted": 0,
        "skipped": 0,
        "pending": 0,
    }
    data.update(fields)
    return RunStatus.model_validate(data)


def test_a_run_of_one_test_still_pending_does_not_pass() -> None:
    # One test is enough to be "something tested": its missing result fails the gate.
    status = _full(total=1, pending=1)
    reason = "1 of 1 test had no result when the run completed (1 pending)"
    assert evaluate(status, ALL_ON) == Verdict(Result.FAILED, (reason,))
    assert evaluate(status, GateSwitches(fail_on_incomplete=False)) == Verdict(
        Result.PASSED, (), (f"{reason} (fail-on-incomplete: false)",)
    )


def test_pending_beyond_a_fully_reported_total_is_a_missing_result() -> None:
    # Three results for three tests, yet one more is pending: the counts do not add up to a pass.
    status = _full(total=3, passed=3, pending=1)
    assert evaluate(status, ALL_ON) == Verdict(
        Result.FAILED, ("1 of 4 tests had no result when the run completed (1 pending)",)
    )


def test_without_a_total_pending_tests_count_towards_it() -> None:
    # total omitted: 2 passed + 2 pending is a run of four tests, two without a result (not "no tests").
    status = RunStatus.model_validate(
        {"state": "completed", "passed": 2, "pending": 2, "failed": 0, "blocked": 0}
    )
    reason = "2 of 4 tests had no result when the run completed (2 pending)"
    assert evaluate(status, ALL_ON) == Verdict(Result.FAILED, (reason,))
    assert evaluate(status, GateSwitches(fail_on_empty=False)) == Verdict(Result.FAILED, (reason,))


@pytest.mark.parametrize(
    ("fields", "waived"),
    [
        ({"total": 5, "passed": 3, "skipped": 2}, ()),
        ({"total": 1, "aborted": 1}, ("1 test aborted (fail-on-aborted: false)",)),
        (
            {"total": 6, "passed": 1, "failed": 1, "blocked": 1, "aborted": 1, "skipped": 2},
            (
                "1 test failed (fail-on-failed: false)",
                "1 test blocked (needs a human in Certyn) (fail-on-blocked: false)",
                "1 test aborted (fail-on-aborted: false)",
            ),
        ),
    ],
)
def test_a_fully_reported_run_with_every_result_in_has_none_missing(
    fields: dict[str, Any], waived: tuple[str, ...]
) -> None:
    # Skipped and aborted tests have a result: a run whose outcomes add up to its total is complete,
    # so with every switch off it passes and waives only what its tests did, never a missing result.
    assert evaluate(_full(**fields), ALL_OFF) == Verdict(Result.PASSED, (), waived)


def test_a_fully_reported_passing_run_with_skipped_tests_passes() -> None:
    assert evaluate(_full(total=5, passed=3, skipped=2), ALL_ON) == Verdict(Result.PASSED, ())


def test_exactly_one_aborted_test_fails_the_gate() -> None:
    status = _full(total=4, passed=3, aborted=1)
    assert evaluate(status, ALL_ON) == Verdict(Result.FAILED, ("1 test aborted",))
    assert evaluate(status, GateSwitches(fail_on_aborted=False)) == Verdict(
        Result.PASSED, (), ("1 test aborted (fail-on-aborted: false)",)
    )


@pytest.mark.parametrize("absent", ["failed", "blocked"])
def test_a_completed_run_that_does_not_report_a_promised_counter_is_incomplete(absent: str) -> None:
    data: dict[str, Any] = {"state": "completed", "total": 2, "passed": 2, "failed": 0, "blocked": 0}
    del data[absent]
    status = RunStatus.model_validate(data)
    reason = f"the run's status did not report `{absent}` (missing or null): nothing proves the tests passed"
    assert evaluate(status, ALL_ON) == Verdict(Result.FAILED, (reason,))
    assert evaluate(status, ALL_ON._replace(fail_on_incomplete=False)) == Verdict(
        Result.PASSED, (), (f"{reason} (fail-on-incomplete: false)",)
    )


def test_the_switches_behind_the_reasons_in_order_each_once() -> None:
    # two reasons of fail-on-incomplete (pending, and a missing promised counter) name the switch once
    status = RunStatus.model_validate(
        {"state": "completed", "total": 3, "passed": 1, "pending": 2, "failed": 1}
    )
    verdict = evaluate(status, ALL_ON)
    assert verdict.failed_by == ("fail-on-failed", "fail-on-incomplete")
    assert len(verdict.reasons) == 3
    waived = evaluate(status, ALL_ON._replace(fail_on_failed=False))
    assert waived.failed_by == ("fail-on-incomplete",)  # a switch turned off fails nothing
    assert evaluate(_status(total=1, passed=1), ALL_ON).failed_by == ()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"total": 10, "passed": 4, "pending": 1}, 5),  # every counter sent: 10 - 4 - 1
        ({"total": 5, "passed": 5}, 0),
        ({"total": 5, "passed": 4, "pending": 1}, 0),
        ({"total": 2, "passed": 3}, 0),  # more outcomes than total: never negative
    ],
)
def test_tests_with_neither_an_outcome_nor_pending(fields: dict[str, int], expected: int) -> None:
    assert unaccounted(_status(aborted=0, skipped=0, **fields)) == expected


def test_nothing_is_unaccounted_unless_every_outcome_counter_was_sent() -> None:
    status = RunStatus.model_validate(
        {"state": "completed", "total": 10, "passed": 4, "failed": 0, "blocked": 0}
    )
    assert unaccounted(status) == 0


def test_verdicts_differ_by_result_reasons_or_cause_but_not_by_the_derived_switches() -> None:
    passed = Verdict(Result.PASSED)
    failed = Verdict(Result.FAILED, ("1 test failed",), failed_by=("fail-on-failed",))
    assert passed != failed
    assert not passed == failed  # noqa: SIM201 - __eq__ itself, not only __ne__
    assert failed == Verdict(Result.FAILED, ("1 test failed",))  # failed_by is derived: not compared
    assert not failed != Verdict(Result.FAILED, ("1 test failed",))  # noqa: SIM202 - __ne__ itself
    # ... and equal verdicts hash alike, so a set or dict key never tells them apart
    assert hash(failed) == hash(Verdict(Result.FAILED, ("1 test failed",)))


# -- verdict_for: how the step ended when something stopped it short of the gate ----------------------
RUNNING = _status(state="running", total=4, passed=1, failed=0, blocked=0)


def _stopped(error: BaseException, *, last: RunStatus | None = None, run_known: bool = True) -> Verdict:
    return verdict_for(
        error, 90, seen=last is not None, run_known=run_known, redact=lambda t: t.replace("sk-1", "***")
    )


def test_a_signal_is_a_cancelled_job_naming_the_signal() -> None:
    assert _stopped(CancelRequested("SIGTERM")) == Verdict(
        Result.CANCELLED, ("the workflow job was cancelled (SIGTERM)",)
    )


def test_a_wait_past_the_deadline_times_out_without_repeating_the_counts_the_summary_shows() -> None:
    limit = "the run had not finished when timeout-seconds (1m 30s) passed"
    assert _stopped(TimedOut(None)) == Verdict(Result.TIMED_OUT, (limit,))
    assert _stopped(TimedOut(RUNNING), last=RUNNING) == Verdict(Result.TIMED_OUT, (limit,))


def test_a_wait_that_ended_inside_an_outage_says_the_api_was_unreachable() -> None:
    outage = Outage(since=70.0, failures=3, error="HTTP 503 while reading the run's status.")
    verdict = _stopped(TimedOut(None, outage))
    assert verdict == Verdict(
        Result.TIMED_OUT,
        (
            "Certyn API unreachable since 1m 10s into the step (3 failed polls, the last: HTTP 503 while "
            "reading the run's status), until timeout-seconds (1m 30s) passed",
            "no status of the run was read before the outage",
        ),
        cause=Cause.OUTAGE,
    )
    seen = _stopped(TimedOut(RUNNING, outage), last=RUNNING)  # the counts: in the summary's table
    assert seen.reasons == verdict.reasons[:1]


def test_an_outage_under_a_second_into_the_step_is_from_the_step_s_start_not_since_0s() -> None:
    def reason(since: float) -> str:
        return _stopped(TimedOut(RUNNING, Outage(since, 1, "HTTP 503")), last=RUNNING).reasons[0]

    assert reason(0.6).startswith("Certyn API unreachable from the step's start (1 failed poll, ")
    assert reason(1.0).startswith("Certyn API unreachable since 1s into the step (1 failed poll, ")


def test_only_the_final_period_of_the_last_error_is_dropped() -> None:
    last = "HTTP 502 from gateway GW-X."
    outage = _stopped(TimedOut(RUNNING, Outage(70.0, 3, last)), last=RUNNING)
    assert "(3 failed polls, the last: HTTP 502 from gateway GW-X), until" in outage.reasons[0]
    lost = _stopped(DeadlineExceeded("gave up", status=502, attempts=2, last=last))
    assert "(2 attempts, the last: HTTP 502 from gateway GW-X), until" in lost.reasons[0]


def test_a_create_retried_until_the_deadline_times_out() -> None:
    refused = DeadlineExceeded("HTTP 409 while creating the run", status=409)
    assert _stopped(refused) == Verdict(
        Result.TIMED_OUT,
        ("no final result within timeout-seconds (1m 30s)", "HTTP 409 while creating the run"),
    )
    lost = DeadlineExceeded("gave up", status=503, attempts=4, last="no answer while creating the run.")
    assert _stopped(lost) == Verdict(
        Result.TIMED_OUT,
        (
            "Certyn API unreachable (4 attempts, the last: no answer while creating the run), "
            "until timeout-seconds (1m 30s) passed",
        ),
        cause=Cause.OUTAGE,
    )


@pytest.mark.parametrize(
    ("error", "run_known", "cause"),
    [
        (AuthError("HTTP 401"), True, Cause.KEY_REJECTED),
        (NotFound("HTTP 404"), True, Cause.RUN_NOT_FOUND),
        (NotFound("HTTP 404"), False, Cause.PROJECT_NOT_FOUND),
        (ApiError("HTTP 503", status=503), False, Cause.OUTAGE),
        (ApiError("HTTP 400", status=400), True, Cause.API_ERROR),
    ],
)
def test_an_api_error_names_its_cause(error: ApiError, run_known: bool, cause: Cause) -> None:
    assert _stopped(error, run_known=run_known) == Verdict(Result.ERROR, (error.message,), cause=cause)


def test_bad_inputs_are_every_error_at_once() -> None:
    errors = InputErrors([InputError("wait", "must be true or false"), InputError("tags", "too many")])
    assert _stopped(errors) == Verdict(
        Result.ERROR, tuple(str(error) for error in errors.errors), cause=Cause.INPUT_ERROR
    )


def test_a_stage_that_stops_the_step_gives_its_own_verdict() -> None:
    down = Verdict(Result.ERROR, ("base-url did not answer",), cause=Cause.DEPLOYMENT_DOWN)
    assert _stopped(Stopped(down)) == down


def test_a_bug_is_an_internal_error_on_one_redacted_line() -> None:
    verdict = _stopped(KeyError("sk-1\nsecond line"))
    assert verdict == Verdict(
        Result.ERROR,
        ("internal error: KeyError: 'sk-1\\nsecond line'".replace("sk-1", "***"),),
        cause=Cause.INTERNAL_ERROR,
    )
    long = _stopped(RuntimeError("x" * 900))
    assert len(long.reasons[0]) <= len("internal error: ") + 500


# -- a finished status without failed or blocked proves nothing ----------------------------------------------


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({"state": "completed", "total": 3}, ("failed", "blocked")),
        ({"state": "completed", "total": 3, "passed": 3, "failed": None, "blocked": 0}, ("failed",)),
        ({"state": "completed", "total": 3, "passed": 3, "failed": 0, "Blocked": 0}, ("blocked",)),
        ({"state": "cancelled", "total": 3, "passed": 3, "failed": 0}, ("blocked",)),
    ],
)
def test_a_finished_status_without_failed_or_blocked_fails_naming_it(
    body: dict[str, Any], missing: tuple[str, ...]
) -> None:
    status = RunStatus.model_validate(body)
    verdict = evaluate(status, GateSwitches(fail_on_cancelled=False))
    assert verdict.result is Result.FAILED
    assert [r for r in verdict.reasons if "did not report" in r] == [
        f"the run's status did not report `{name}` (missing or null): nothing proves the tests passed"
        for name in missing
    ]
    waived = evaluate(status, GateSwitches(fail_on_cancelled=False, fail_on_incomplete=False))
    assert waived.result is Result.PASSED
    assert sum("fail-on-incomplete: false" in w for w in waived.waived) == len(missing)


def test_the_server_cannot_say_which_counters_were_absent() -> None:
    status = RunStatus.model_validate({"state": "completed", "total": 1, "passed": 1, "absent": []})
    assert {"failed", "blocked"} <= status.absent
    sent = RunStatus.model_validate(
        {"state": "completed", "total": 1, "passed": 1, "failed": 0, "blocked": 0, "absent": ["failed"]}
    )
    assert evaluate(sent, GateSwitches()).result is Result.PASSED
