"""findings.py in the whole step (mocked HTTP, fake clock): what Certyn found is read within its budgets and
never changes the verdict; the outputs of what it found, and its summary section (render_findings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses
from junitparser import JUnitXml

from certyn_action.api.models import MAX_ITEMS, Conversation, ProcessRun
from certyn_action.render.summary import render_findings
from certyn_action.report import Findings
from tests.unit.test_main import BASE, CREATE, Step, progress

OVERVIEW = f"{BASE}/api/projects/overview"
RESULTS = f"{BASE}/api/projects/p-1/process-runs/r-1"
CONVERSATION = f"{BASE}/api/assistant/conversations/c-1"
PASSED = {"state": "completed", "total": 2, "passed": 2, "failed": 0, "blocked": 0}
FAILED = {"state": "completed", "total": 2, "passed": 1, "failed": 1, "blocked": 0}
ROWS = [
    {"testCaseName": "a", "testOutcome": "passed"},
    {"testCaseName": "b", "testOutcome": "failed", "summaryMarkdown": "broke"},
]


def _created(conversation: bool = True) -> None:
    body = {"runId": "r-1", **({"conversationId": "c-1"} if conversation else {})}
    responses.post(CREATE, status=201, json=body)


def _results(rows: list[dict[str, str]] = ROWS) -> None:
    responses.get(OVERVIEW, json={"projects": [{"id": "p-1", "slug": "my-app"}]})
    responses.get(RESULTS, json={"items": rows})


@pytest.fixture
def step(tmp_path: Path) -> Step:
    made = Step(tmp_path)
    made.env["GITHUB_WORKSPACE"] = str(tmp_path)
    return made


@responses.activate
def test_the_instruction_is_sent_and_the_answer_read_after_a_failure(step: Step) -> None:
    _created()
    progress(FAILED)
    _results()
    responses.get(CONVERSATION, json={"status": "processing"})
    responses.get(
        CONVERSATION, json={"status": "idle", "messages": [{"role": "assistant", "content": "why"}]}
    )
    assert step.run(instruction="Explain", junit_report="j/r.xml") == 1
    assert json.loads(responses.calls[0].request.body or b"")["instruction"] == "Explain"
    out = step.outputs()
    assert out["result"] == "failed"
    assert out["failed-tests"] == '["b"]'
    assert (out["conversation-id"], out["conversation-state"], out["conversation-response"]) == (
        "c-1",
        "idle",
        "why",
    )
    assert (step.output.parent / "j" / "r.xml").exists()
    assert "::error title=b::b — Failed: broke" in step.stdout  # the log shows the message: it names the test


@responses.activate
def test_without_an_instruction_the_create_body_has_none_and_no_conversation_is_read(step: Step) -> None:
    _created(conversation=False)
    progress(PASSED)
    _results(ROWS[:1])
    assert step.run() == 0
    assert "instruction" not in json.loads(responses.calls[0].request.body or b"")
    out = step.outputs()
    assert out["failed-tests"] == "[]"
    assert out["conversation-state"] == ""


@responses.activate
def test_test_results_false_reads_nothing_after_the_run(step: Step) -> None:
    _created(conversation=False)
    progress(PASSED)
    assert step.run(test_results="false") == 0
    assert [call.request.method for call in responses.calls] == ["POST", "GET"]
    assert step.outputs()["failed-tests"] == ""


@responses.activate
def test_an_outage_of_the_results_is_one_warning_within_30_seconds_and_the_pass_stands(step: Step) -> None:
    _created(conversation=False)
    progress(PASSED)
    responses.get(OVERVIEW, status=503, json={"error": "down"})
    start = step.clock.now
    assert step.run(http_max_attempts="20") == 0
    assert step.clock.now - start <= 30 + 1
    warnings = [line for line in step.stdout.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1
    assert "Per-test results not read" in warnings[0]
    assert "Per-test results unavailable" in step.summary.read_text()


@responses.activate
def test_the_answer_wait_never_runs_past_timeout_seconds(step: Step) -> None:
    _created()
    progress(PASSED)
    _results()
    responses.get(CONVERSATION, json={"status": "processing"})
    start = step.clock.now
    assert step.run(instruction="x", timeout_seconds="40", conversation_timeout_seconds="3600") == 0
    assert step.clock.now - start <= 40
    assert step.outputs()["conversation-state"] == "processing"


@responses.activate
def test_an_answer_that_never_came_says_how_long_the_step_waited_and_which_input_sets_it(step: Step) -> None:
    _created()
    progress(PASSED)
    _results()
    responses.get(CONVERSATION, json={"status": "processing"})
    assert step.run(instruction="x", conversation_timeout_seconds="90") == 0
    said = (
        "Certyn's AI was still working when this step stopped waiting after 1m 30s: its answer did not come."
    )
    assert said in step.stdout
    assert said.replace("'", "&#x27;").replace(":", "\\:").replace(".", "\\.") in step.summary.read_text()
    assert "<code>conversation\\-timeout\\-seconds</code> sets how long" in step.summary.read_text()


@responses.activate
def test_a_conversation_id_the_create_answers_without_an_instruction_is_not_an_output(step: Step) -> None:
    _created()
    progress(PASSED)
    _results()
    assert step.run() == 0
    assert step.outputs()["conversation-id"] == ""
    assert "c-1" not in step.stdout


@responses.activate
def test_a_create_answer_without_a_conversation_id_leaves_the_answer_unavailable(step: Step) -> None:
    _created(conversation=False)
    progress(PASSED)
    _results()
    assert step.run(instruction="x") == 0
    assert step.outputs()["conversation-state"] == "unavailable"
    assert "carried no conversationId" in step.stdout


@responses.activate
def test_a_timed_out_run_reads_nothing_and_says_the_answer_was_not_read(step: Step) -> None:
    _created()
    progress({"state": "in_progress", "total": 2, "pending": 2})
    responses.post(f"{CREATE}/r-1/cancel", status=202, json={})
    assert step.run(instruction="x", timeout_seconds="20", junit_report="r.xml") == 1
    urls = [str(call.request.url) for call in responses.calls]
    assert not [url for url in urls if "/api/projects" in url or "assistant" in url]
    out = step.outputs()
    assert out["result"] == "timed-out"
    assert out["conversation-state"] == "unavailable"
    assert "junit-report was not written" in step.stdout  # an annotation: no literal Markdown


def _findings(rows: list[str], failing_in_counts: int) -> Findings:
    items = [{"testCaseName": f"t{i}", "testOutcome": o} for i, o in enumerate(rows)]
    return Findings(results=ProcessRun.model_validate({"items": items}), expected_failing=failing_in_counts)


def test_failed_tests_is_unknown_when_the_rows_list_fewer_failing_tests_than_the_counts() -> None:
    assert _findings(["failed", "passed"], 1).failed_tests() == '["t0"]'
    assert _findings(["passed", "passed"], 0).failed_tests() == "[]"
    assert _findings(["failed", "passed"], 2).failed_tests() == ""
    assert _findings([], 0).failed_tests() == ""
    assert Findings().failed_tests() == ""


@responses.activate
def test_the_key_hidden_in_the_instruction_reaches_no_file_and_no_line(step: Step) -> None:
    # Text that never came from a reply is scrubbed too: each destination scrubs what it writes, last.
    key = step.env["INPUT_API-KEY"]
    _created()
    progress(FAILED)
    _results()
    responses.get(CONVERSATION, json={"status": "idle", "messages": [{"role": "assistant", "content": "ok"}]})
    assert step.run(instruction=f"try {key[:8]}\x1b{key[8:]} then {key[:4]}\ufffe{key[4:]}") == 1
    shown = "".join(ch for ch in step.everything().replace(f"::add-mask::{key}", "") if ch.isalnum())
    assert "".join(ch for ch in key if ch.isalnum()) not in shown
    assert "try *** then ***" in step.summary.read_text(encoding="utf-8")


@responses.activate
@pytest.mark.parametrize("rows", [None, []], ids=["results refused", "no tests listed"])
def test_a_stale_report_is_removed_when_no_report_can_be_written(
    step: Step, rows: list[dict[str, str]] | None
) -> None:
    _created(conversation=False)
    progress(PASSED)
    if rows is None:
        responses.get(OVERVIEW, json={"projects": [{"id": "p-1", "slug": "my-app"}]})
        responses.get(RESULTS, status=404, json={"error": "gone"})
    else:
        _results(rows)
    old = Path(step.env["GITHUB_WORKSPACE"]) / "reports" / "r.xml"
    old.parent.mkdir()
    old.write_text("<testsuites tests='1' failures='0'/>", encoding="utf-8")
    assert step.run(junit_report="reports/r.xml") == 0
    assert not old.exists()
    [warning] = [line for line in step.stdout.splitlines() if line.startswith("::warning")]
    assert "the old report at reports/r.xml was removed" in warning


@responses.activate
def test_a_stale_report_is_removed_when_the_run_did_not_end_in_the_step(step: Step) -> None:
    _created()
    progress({"state": "in_progress", "total": 2, "pending": 2})
    responses.post(f"{CREATE}/r-1/cancel", status=202, json={})
    (Path(step.env["GITHUB_WORKSPACE"]) / "r.xml").write_text("<testsuites/>", encoding="utf-8")
    assert step.run(timeout_seconds="20", junit_report="r.xml") == 1
    assert not (Path(step.env["GITHUB_WORKSPACE"]) / "r.xml").exists()
    assert "the old report at r.xml was removed" in step.stdout


@responses.activate
def test_failing_items_under_a_passed_gate_are_warnings_not_errors(step: Step) -> None:
    _created(conversation=False)
    progress(PASSED)
    _results()
    assert step.run() == 0
    lines = step.stdout.splitlines()
    assert not [line for line in lines if line.startswith("::error")]
    assert [line for line in lines if line.startswith("::warning") and "broke" in line]


@responses.activate
def test_the_report_of_a_failed_gate_marks_the_failures_the_items_do_not_show(step: Step) -> None:
    _created(conversation=False)
    progress(FAILED)
    _results([{"testCaseName": "a", "testOutcome": "passed"}, {"testCaseName": "b", "testOutcome": "passed"}])
    assert step.run(junit_report="r.xml") == 1
    [suite] = JUnitXml.fromfile(str(Path(step.env["GITHUB_WORKSPACE"]) / "r.xml"))
    assert suite.failures == 1
    assert [case.name for case in suite][:2] == ["a", "b"]


@responses.activate
def test_results_beyond_the_item_cap_are_cut_with_a_warning_naming_the_cap(step: Step) -> None:
    _created(conversation=False)
    progress(FAILED)
    _results([{"testCaseName": f"t{i}", "testOutcome": "failed"} for i in range(MAX_ITEMS + 7)])
    assert step.run(junit_report="r.xml") == 1
    warnings = [line for line in step.stdout.splitlines() if line.startswith("::warning")]
    assert any(f"{MAX_ITEMS + 7:,}" in w and f"first {MAX_ITEMS:,}" in w for w in warnings), warnings
    assert (Path(step.env["GITHUB_WORKSPACE"]) / "r.xml").read_text().count("<testcase") == MAX_ITEMS


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


def test_an_answer_is_whole_in_the_output_and_formatted_in_the_summary() -> None:
    findings = Findings(asked=True, conversation=Conversation.model_validate(ANSWER))
    out = findings.outputs("c-1")
    assert (out["conversation-id"], out["conversation-state"]) == ("c-1", "idle")
    assert out["conversation-response"] == "key sk-123 ``` <b>x</b>"
    section = render_findings(findings, instruction="why?")
    assert "key sk\\-123 \\`\\`\\` &lt;b&gt;x&lt;\\/b&gt;" in section  # Markdown of ours: its HTML as text


def test_the_answer_is_redacted_like_every_server_text() -> None:
    findings = Findings(
        asked=True, conversation=Conversation.model_validate(ANSWER), conversation_note="sk-123"
    )
    public = findings.redacted(lambda text: text.replace("sk-123", "***"))
    assert public.outputs()["conversation-response"] == "key *** ``` <b>x</b>"
    assert public.conversation_note == "***"
    assert findings.outputs()["conversation-response"].startswith("key sk-123")  # the original is kept


def test_an_answer_that_could_not_be_read_is_unavailable_and_said_why() -> None:
    findings = Findings(asked=True, conversation_note="HTTP 403 <b>no</b>")
    assert findings.outputs()["conversation-state"] == "unavailable"
    section = render_findings(findings, instruction="why?")
    assert "unavailable" not in section  # the section speaks plain words
    assert "The answer could not be read\\: HTTP 403 &lt;b&gt;no&lt;\\/b&gt;" in section


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
    findings = Findings(asked=True, conversation=Conversation.model_validate(answer))
    section = render_findings(findings, instruction=f"why{BIDI}not")
    response = findings.outputs()["conversation-response"]
    assert not any(ch in section + response for ch in BIDI)
    assert response == "run" + " " * len(BIDI) + "exe.txt"  # each shown as a space, the rest unchanged
    assert f"```text\nwhy{' ' * len(BIDI)}not\n```" in section
    assert f"run{' ' * len(BIDI)}exe\\.txt\n" in section
