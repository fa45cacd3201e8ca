"""certyn/ledger.py: what an interrupted create may have left behind."""

from __future__ import annotations

import pytest

from certyn_action.api.models import Created, CreatedRun
from certyn_action.certyn.http import Call
from certyn_action.certyn.ledger import CreateLedger


def ledger() -> CreateLedger:
    return CreateLedger({"projectSlug": "p"}, "k")


def test_nothing_sent_holds_no_run() -> None:
    assert not ledger().may_hold_a_run


def test_an_attempt_on_the_wire_may_hold_a_run_until_it_is_answered() -> None:
    book = ledger()
    call = Call("POST /api/ci/runs")
    book.sent(call)
    assert book.in_flight is call
    assert book.may_hold_a_run
    book.answered(Created(CreatedRun.model_validate({"runId": "r-1"}), replayed=False))
    assert book.in_flight is None
    assert not book.may_hold_a_run
    assert book.created is not None


@pytest.mark.parametrize(
    ("status", "may_hold"),
    [
        (None, True),
        (500, True),
        (502, True),
        (504, True),
        (201, True),
        (503, False),
        (429, False),
        (400, False),
        (302, False),
    ],
)
def test_an_answer_without_a_run_may_hide_one_only_when_the_backend_may_have_acted(
    status: int | None, may_hold: bool
) -> None:
    book = ledger()
    book.sent(Call("POST /api/ci/runs"))
    book.refused(status)
    assert book.in_flight is None
    assert book.may_hold_a_run is may_hold


def test_a_refusal_after_a_lost_attempt_still_may_hold_the_lost_attempts_run() -> None:
    book = ledger()
    book.sent(Call("POST /api/ci/runs"))
    book.lost()  # no answer: the server may have made the run
    book.sent(Call("POST /api/ci/runs"))
    book.refused(503)  # this attempt was refused, the earlier one may still have made a run
    assert book.may_hold_a_run
