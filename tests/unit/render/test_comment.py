"""summary.py: the pull-request comment and the check run's summary (issue 21) stay within GitHub's limits and
show server text as text."""

from __future__ import annotations

from certyn_action.api.models import Conversation, Created, CreatedRun, ProcessRun, RunItem, RunStatus
from certyn_action.gate import Result, Verdict
from certyn_action.render.summary import CUT_NOTE, MAX_COMMENT_TESTS, cut_for_github, render_comment
from certyn_action.report import Findings, Report
from certyn_action.settings import read_settings
from tests.rendered import read

MARKER = "<!-- certyn-run-action workflow=ci.yml job=e2e suite=smoke leg=0 -->"
EVIL = "<script>x</script> [link](javascript:alert(1)) -->"


def report(failing: int) -> Report:
    settings = read_settings(
        {"INPUT_API-KEY": "k" * 20, "INPUT_PROJECT-SLUG": "p", "INPUT_PROCESS-SLUG": "smoke"}
    )
    items = tuple(
        RunItem.model_validate(
            {"testOutcome": "failed", "testCaseName": f"{EVIL} {i}", "summaryMarkdown": EVIL}
        )
        for i in range(failing)
    )
    return Report(
        inputs=settings,
        created=Created(
            CreatedRun.model_validate({"runId": "r1", "appUrl": "https://app.certyn.io/r1"}), False
        ),
        status=RunStatus.model_validate({"state": "completed", "total": failing, "failed": failing}),
        verdict=Verdict(Result.FAILED, (f"{failing} tests failed",)),
        findings=Findings(results=ProcessRun.model_validate({}).model_copy(update={"items": items})),
    )


def test_the_comment_starts_with_the_marker_and_lists_at_most_ten_failing_tests_as_text() -> None:
    body = render_comment(report(12), MARKER)
    assert body.startswith(MARKER + "\n")
    assert body.count("<!--") == 1  # only ours: server text cannot open or close an HTML comment
    assert body.count("-->") == 1
    assert "<script>" not in body
    assert "](javascript" not in body
    assert body.count("❌ failed:") == MAX_COMMENT_TESTS
    assert "… and 2 more" in body
    assert "[Run r1 in Certyn](https://app.certyn.io/r1)" in body


def test_a_long_text_is_cut_at_a_line_under_the_limit_with_a_note() -> None:
    text = "\n".join(f"line {i:05d}" for i in range(20_000))
    cut = cut_for_github(text, 65_535)
    assert len(cut) < 65_535
    assert cut.endswith(CUT_NOTE)
    assert cut.removesuffix(CUT_NOTE).splitlines()[-1].startswith("line ")
    assert cut_for_github("short") == "short"


def test_the_ai_answer_is_collapsed_formatted_and_cannot_close_its_details() -> None:
    answer = "# Why\n\n- the **Pay now** button\n</details>\n\n```\nleft open"
    conversation = Conversation.model_validate(
        {"status": "idle", "messages": [{"role": "assistant", "content": answer}]}
    )
    made = report(1)
    made.findings.conversation = conversation
    view = read(render_comment(made, MARKER))
    assert view.html.count("<details>") == view.html.count("</details>") == 1
    assert "<summary>Certyn's AI answer (it can be wrong)</summary>" in view.html
    answer_html = view.html.split("</summary>", 1)[1].split("</details>", 1)[0]
    assert "<h4>Why</h4>" in answer_html
    assert "<li>the <strong>Pay now</strong> button\n&lt;/details&gt;</li>" in answer_html
    assert '<pre><code class="language-text">left open\n</code></pre>' in answer_html
