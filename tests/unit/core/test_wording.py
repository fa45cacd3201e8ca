"""core/wording.py: one source for titles and headings, so the log and the summary never disagree."""

from __future__ import annotations

import pytest

from certyn_action.core import wording
from certyn_action.core.gate import Result


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
