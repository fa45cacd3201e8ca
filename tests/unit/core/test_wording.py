"""core/wording.py: one source for titles and headings, so the log and the summary never disagree."""

from __future__ import annotations

import pytest

from certyn_action.core import wording
from certyn_action.gate import Result


@pytest.mark.parametrize("result", list(Result))
def test_the_heading_is_the_title_with_its_icon(result: Result) -> None:
    assert wording.heading(result).endswith(" " + wording.title(result))
    assert wording.HEADINGS[result] == wording.heading(result)


def test_a_pass_let_through_by_a_switch_says_gate_not_tests() -> None:
    assert wording.title(Result.PASSED) == "Certyn tests passed"
    assert wording.title(Result.PASSED, waived=True) == "Certyn gate passed"
    assert wording.heading(Result.PASSED, waived=True) == "✅ Certyn gate passed"
    assert wording.title(Result.FAILED, waived=True) == "Certyn gate failed"


def test_the_cancel_notes() -> None:
    assert (
        wording.left_running("cancel-on-timeout")
        == "The run was left running in Certyn (cancel-on-timeout is false)."
    )
    assert (
        wording.cancel_requested("x", "cancelled.")
        == "This step asked Certyn to cancel the run (x): Certyn accepted it."
    )
    assert (
        wording.cancel_requested("x", "not cancelled: the run had already finished")
        == "This step asked Certyn to cancel the run (x): not cancelled: the run had already finished."
    )
    assert wording.cancel_reason("why", "") == "Cancelled by GitHub Actions: why"
    assert wording.cancel_reason("why", "https://r") == "Cancelled by GitHub Actions: why (https://r)"


def test_every_cause_has_its_own_title_and_a_next_step() -> None:
    from certyn_action.gate import Cause  # noqa: PLC0415

    titles = [wording.title(Result.ERROR, cause=cause) for cause in Cause]
    assert len(set(titles)) == len(Cause)
    assert [t for t in titles if t == wording.ACTION_ERROR] == [
        wording.title(Result.ERROR, cause=Cause.INTERNAL_ERROR)
    ]
    for cause in Cause:
        assert wording.next_steps(Result.ERROR, cause, ()) == [wording.NEXT_FOR_CAUSE[cause]]
    assert wording.title(Result.TIMED_OUT, cause=Cause.OUTAGE) == "Certyn API unreachable"


def test_every_gate_switch_has_a_next_step_in_the_order_of_the_reasons() -> None:
    from certyn_action.core.inputs import GateSwitches  # noqa: PLC0415

    switches = {name.replace("_", "-") for name in GateSwitches._fields}
    assert set(wording.NEXT_FOR_SWITCH) == switches
    steps = wording.next_steps(Result.FAILED, None, ("fail-on-blocked", "fail-on-empty"))
    assert steps[0].startswith("Resolve the blocked tests in Certyn")
    assert "`process-slug` or `tags`" in steps[1]
    assert wording.next_steps(Result.PASSED, None, ()) == []
    assert "timeout-minutes" in wording.next_steps(Result.TIMED_OUT, None, ())[0]
    assert "GitHub job was cancelled" in wording.next_steps(Result.CANCELLED, None, ())[0]


def test_the_outage_warning_does_not_promise_the_gate_is_unaffected() -> None:
    text = wording.outage_warning("HTTP 503 while reading the run's status.", "4m 00s")
    assert "not affected" not in text
    assert text == (
        "HTTP 503 while reading the run's status. The action keeps polling with backoff until the deadline "
        "(in 4m 00s); if the API is still unreachable then, the step fails."
    )
