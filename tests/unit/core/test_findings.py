"""core/findings.py: the outputs of what Certyn found, and its summary section (results_summary.render_findings)."""

from __future__ import annotations

from certyn_action.api.models import Conversation, ProcessRun
from certyn_action.core.findings import Findings
from certyn_action.render.summary import render_findings

ANSWER = {"status": "idle", "messages": [{"role": "assistant", "content": "key sk-123 ``` <b>x</b>"}]}


def test_nothing_asked_gives_empty_outputs_and_no_section() -> None:
    findings = Findings()
    assert findings.outputs() == {
        "failed-tests": "",
        "conversation-id": "",
        "conversation-state": "",
        "conversation-response": "",
        "failures": "",
    }
    assert render_findings(findings) == ""


def test_an_answer_is_whole_in_the_output_and_fenced_in_the_summary() -> None:
    findings = Findings(
        instruction="why?",
        conversation_id="c-1",
        asked=True,
        conversation=Conversation.model_validate(ANSWER),
    )
    out = findings.outputs()
    assert (out["conversation-id"], out["conversation-state"]) == ("c-1", "idle")
    assert out["conversation-response"] == "key sk-123 ``` <b>x</b>"
    section = render_findings(findings)
    assert "````text\nkey sk-123 ``` <b>x</b>\n````" in section


def test_the_answer_is_redacted_like_every_server_text() -> None:
    findings = Findings(
        asked=True, conversation=Conversation.model_validate(ANSWER), conversation_note="sk-123"
    )
    public = findings.redacted(lambda text: text.replace("sk-123", "***"))
    assert public.outputs()["conversation-response"] == "key *** ``` <b>x</b>"
    assert public.conversation_note == "***"
    assert findings.outputs()["conversation-response"].startswith("key sk-123")  # the original is kept


def test_an_answer_that_could_not_be_read_is_unavailable_and_said_why() -> None:
    findings = Findings(instruction="why?", asked=True, conversation_note="HTTP 403 <b>no</b>")
    assert findings.outputs()["conversation-state"] == "unavailable"
    section = render_findings(findings)
    assert "State: `unavailable`" in section
    assert "The answer could not be read: HTTP 403 &lt;b&gt;no&lt;\\/b&gt;" in section


def test_results_that_could_not_be_read_are_a_note_under_tests() -> None:
    section = render_findings(Findings(results_note="HTTP 404 | gone"))
    assert section.startswith("### Tests\n\n> Per-test results unavailable: HTTP 404 \\| gone")


def test_results_with_a_contradiction_and_a_junit_note() -> None:
    run = ProcessRun.model_validate({"items": [{"testCaseName": "a", "testOutcome": "failed"}]})
    findings = Findings(results=run, contradictions=("counts say 0 failed",), notes=["JUnit report written"])
    section = render_findings(findings, run_url="https://app.example/r")
    assert (
        section.index("> [!WARNING]") < section.index("### Tests") < section.index("> JUnit report written")
    )


BIDI = (
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u200e\u200f\ufeff\u061c\u2060"
)


def test_bidi_and_invisible_characters_are_neutralised_in_the_summary_fences_and_the_answer_output() -> None:
    answer = {"status": "idle", "messages": [{"role": "assistant", "content": f"run{BIDI}exe.txt"}]}
    findings = Findings(
        instruction=f"why{BIDI}not", asked=True, conversation=Conversation.model_validate(answer)
    )
    section = render_findings(findings)
    response = findings.outputs()["conversation-response"]
    assert not any(ch in section + response for ch in BIDI)
    assert response == "run" + " " * len(BIDI) + "exe.txt"  # each shown as a space, the rest unchanged
    assert f"```text\nwhy{' ' * len(BIDI)}not\n```" in section
    assert f"```text\nrun{' ' * len(BIDI)}exe.txt\n```" in section
