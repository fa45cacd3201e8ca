"""words.py: one source for titles, headings and log sentences, so the log and the summary never disagree."""

from __future__ import annotations

import io

import pytest

from certyn_action.api.models import Conversation
from certyn_action.gate import Result, Verdict
from certyn_action.render import words
from certyn_action.report import CancelRequest
from certyn_action.runner.workflow import WorkflowLog


@pytest.mark.parametrize("result", list(Result))
def test_the_heading_is_the_title_with_its_icon(result: Result) -> None:
    assert words.heading(Verdict(result)).endswith(" " + words.title(Verdict(result)))


def test_a_pass_let_through_by_a_switch_says_gate_not_tests() -> None:
    assert words.title(Verdict(Result.PASSED)) == "Certyn tests passed"
    assert words.title(Verdict(Result.PASSED, waived=("fail-on-blocked",))) == "Certyn gate passed"
    assert words.heading(Verdict(Result.PASSED, waived=("fail-on-blocked",))) == "✅ Certyn gate passed"
    assert words.title(Verdict(Result.FAILED, waived=("fail-on-blocked",))) == "Certyn gate failed"


def test_the_cancel_notes() -> None:
    assert (
        words.LEFT_RUNNING.format(switch="cancel-on-timeout")
        == "The run was left running in Certyn (cancel-on-timeout is false)."
    )
    assert (
        words.cancel_note(CancelRequest("x", accepted=True, outcome="cancelled."))
        == "This step asked Certyn to cancel the run (x): Certyn accepted it."
    )
    assert (
        words.cancel_note(
            CancelRequest("x", accepted=True, outcome="not cancelled: the run had already finished")
        )
        == "This step asked Certyn to cancel the run (x): not cancelled: the run had already finished."
    )
    assert words.cancel_reason("why", "") == "Cancelled by GitHub Actions: why"
    assert words.cancel_reason("why", "https://r") == "Cancelled by GitHub Actions: why (https://r)"


def test_every_cause_has_its_own_title_and_a_next_step_unless_its_reason_says_the_fix() -> None:
    from certyn_action.gate import Cause  # noqa: PLC0415

    titles = [words.title(Verdict(Result.ERROR, cause=cause)) for cause in Cause]
    assert len(set(titles)) == len(Cause)
    assert [t for t in titles if t == words.ACTION_ERROR] == [
        words.title(Verdict(Result.ERROR, cause=Cause.INTERNAL_ERROR))
    ]
    said = {Cause.KEY_REJECTED, Cause.PROJECT_NOT_FOUND, Cause.DEPLOYMENT_DOWN}  # their reasons name the fix
    for cause in Cause:
        steps = words.next_steps(Result.ERROR, cause, ())
        assert steps == ([] if cause in said else [words.NEXT_FOR_CAUSE[cause]]), cause
    assert words.title(Verdict(Result.TIMED_OUT, cause=Cause.OUTAGE)) == "Certyn API unreachable"


def test_every_gate_switch_has_a_next_step_in_the_order_of_the_reasons() -> None:
    from certyn_action.settings import GateSwitches  # noqa: PLC0415

    switches = {name.replace("_", "-") for name in GateSwitches._fields}
    assert set(words.NEXT_FOR_SWITCH) == switches
    steps = words.next_steps(Result.FAILED, None, ("fail-on-blocked", "fail-on-empty"))
    assert steps[0].startswith("Resolve the blocked tests in Certyn")
    assert "`process-slug` or `tags`" in steps[1]
    assert words.next_steps(Result.PASSED, None, ()) == []
    assert "timeout-minutes" in words.next_steps(Result.TIMED_OUT, None, ())[0]
    assert "GitHub job was cancelled" in words.next_steps(Result.CANCELLED, None, ())[0]


def test_a_run_cancelled_in_certyn_does_not_send_the_reader_to_see_why_its_tests_were_aborted() -> None:
    steps = words.next_steps(Result.FAILED, None, ("fail-on-cancelled", "fail-on-aborted"))
    assert steps == [words.NEXT_FOR_SWITCH["fail-on-cancelled"]]  # the cause is known: the cancel
    steps = words.next_steps(Result.FAILED, None, ("fail-on-failed", "fail-on-aborted"))
    assert steps == [words.NEXT_FOR_SWITCH["fail-on-failed"], words.NEXT_FOR_SWITCH["fail-on-aborted"]]


def test_the_outage_warning_does_not_promise_the_gate_is_unaffected() -> None:
    text = words.outage_warning("HTTP 503 while reading the run's status.", "4m 00s")
    assert "not affected" not in text
    assert text == (
        "HTTP 503 while reading the run's status. The action keeps polling with backoff until the deadline "
        "(in 4m 00s); if the API is still unreachable then, the step fails."
    )


SECRET = "ck_live_SECRETSECRET123"


def test_only_real_line_breaks_split_the_answer_so_no_key_is_split_past_the_scrubber() -> None:
    conversation = Conversation.model_validate(
        {
            "status": "idle",
            "messages": [
                {
                    "role": "assistant",
                    "content": (
                        f"key {SECRET[:8]}\x0c{SECRET[8:]} and\u2028{SECRET[:4]}\x0b{SECRET[4:]}\r\nnext\rlast\n"
                    ),
                }
            ],
        }
    )
    stream = io.StringIO()
    log = WorkflowLog(stream)
    log.add_mask(SECRET)
    title, lines = words.answer_lines(conversation, 3.0)
    with log.group(title):
        for line in lines:
            log.info(line)
    written = stream.getvalue().splitlines()[1:]
    assert written == [
        "::group::Certyn's AI answer (it can be wrong)",
        "key *** and ***",
        "next",
        "last",
        "::endgroup::",
    ]


def test_the_answer_in_the_log_is_plain_words_said_to_be_the_ai_s() -> None:
    answer = "## Why\n\nThe **Pay now** button:\n- `POST /pay` answered 500, see [log](https://x.test/l)"
    conversation = Conversation.model_validate(
        {"status": "idle", "messages": [{"role": "assistant", "content": answer}]}
    )
    assert words.answer_lines(conversation, 3.0) == (
        "Certyn's AI answer (it can be wrong)",
        ["Why", "", "The Pay now button:", "- POST /pay answered 500, see log (https://x.test/l)"],
    )


def test_no_answer_says_why_in_plain_words() -> None:
    failed = Conversation.model_validate({"status": "failed", "messages": []})
    assert words.answer_lines(failed, 3.0)[1] == ["Certyn's AI could not answer: it reported a failure."]
    waiting = Conversation.model_validate({"status": "processing", "messages": []})
    assert words.answer_lines(waiting, 125.0)[1] == [
        "Certyn's AI was still working when this step stopped waiting after 2m 05s: its answer did not come. "
        "conversation-timeout-seconds sets how long the step waits for it."
    ]
