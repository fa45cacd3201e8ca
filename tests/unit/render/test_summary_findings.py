"""What Certyn found, in the summary (the per-test table, the notes, the AI section) and as annotations
(words.py), checked with GitHub's own Markdown parser (cmarkgfm) with raw HTML let through, so any escaping gap would show."""

from __future__ import annotations

import html
import re
from typing import Any

import cmarkgfm  # type: ignore[import-untyped]  # GitHub's own Markdown parser, untyped
import pytest
from cmarkgfm.cmark import Options  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from certyn_action.api.models import ConversationState, ProcessRun, RunItem
from certyn_action.render.escape import fenced, markdown, one_line
from certyn_action.render.summary import (
    MAX_SHOWN_ANSWER,
    render_conversation,
    render_findings,
    render_test_table,
    tally,
)
from certyn_action.render.words import (
    MAX_ANNOTATIONS,
    MAX_ROWS,
    Annotation,
    failing_annotations,
    unannotated_line,
)
from certyn_action.report import Findings

SETTINGS = settings(max_examples=150, deadline=None)
RUN_URL = "https://app.certyn.io/runs/42"
EVIL = (
    "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) "
    "https://evil.example/a www.evil.example user@evil.example **bold** | pipe | `code` ![i](https://e.example/i.png) &amp; <!-- c -->"
)


def gfm(markdown: str) -> str:
    """HTML as GitHub renders it, raw HTML passed through (GitHub then sanitises; we never rely on it)."""
    rendered: str = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    return rendered


def text_of(fragment: str) -> str:
    """The text a reader sees (the invisible WORD JOINER ``markdown`` puts after ``@`` left out)."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).replace("\u2060", "")


def run_item(outcome: str | None, name: str = "t", number: int | None = 1, **fields: Any) -> RunItem:
    return RunItem.model_validate(
        {"testOutcome": outcome, "testCaseName": name, "testCaseNumber": number, **fields}
    )


def rows(rendered: str) -> list[list[str]]:
    """The rows of every table, in order (the failing tests' table, then the folded passing ones)."""
    bodies = re.findall(r"<tbody>(.*?)</tbody>", rendered, re.DOTALL)
    assert bodies, rendered
    return [
        re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)
        for body in bodies
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL)
    ]


def assert_no_markup_from_text(rendered: str) -> None:
    for tag in ("<script", "<img", "<a ", "<strong", "<em>", "<code", "<!--", "<iframe"):
        assert tag not in rendered, (tag, rendered)


# -- the table --------------------------------------------------------------------------------------


def test_failing_tests_come_first_with_outcome_number_name_duration_and_finding() -> None:
    tests = [
        run_item("passed", "Login", 1),
        run_item(
            "failed",
            "Checkout",
            2,
            summaryMarkdown="## Finding\n\n- The pay button does nothing\n- Total is wrong\n- third\n- fourth",
            startedAt="2026-12-01T10:00:00Z",
            completedAt="2026-12-01T10:02:05Z",
        ),
        run_item("blocked", "Search", 3, summaryMarkdown="Staging was down"),
    ]
    rendered = gfm(render_test_table(tests))
    table = rows(rendered)
    assert [text_of(row[2]) for row in table] == ["Checkout", "Search", "Login"]
    checkout = [text_of(cell) for cell in table[0]]
    assert checkout == [
        "❌ failed",
        "2",
        "Checkout",
        "2m 05s",
        "The pay button does nothing Total is wrong third",
    ]
    assert text_of(table[2][3]) == "—"
    assert "1 failed, 1 blocked, 1 passed" in text_of(rendered)


def test_the_passing_rows_are_folded_and_the_failing_ones_stay_open() -> None:
    tests = [run_item("passed", "Login", 1), run_item("skipped", "Export", 2), run_item("failed", "Pay", 3)]
    rendered = gfm(render_test_table(tests))
    opened, folded = rendered.split("<details>")
    assert [text_of(row[2]) for row in rows(opened)] == ["Pay"]
    assert "<summary>1 skipped, 1 passed</summary>" in folded
    assert [text_of(row[2]) for row in rows(folded)] == ["Export", "Login"]
    passed = gfm(render_test_table([run_item("passed", "Login", 1), run_item("passed", "Search", 2)]))
    head, fold = passed.split("<details>")  # a pass: every row folded, its tally the fold's label
    assert "<table>" not in head
    assert "2 passed" not in text_of(head)
    assert "<summary>2 passed</summary>" in fold
    assert [text_of(row[2]) for row in rows(fold)] == ["Login", "Search"]


def test_hostile_text_renders_as_text_in_the_table() -> None:
    tests = [run_item("failed", EVIL + "\nsecond line\n::error::x", 1, summaryMarkdown=EVIL + "\n" + EVIL)]
    rendered = gfm(render_test_table(tests))
    (row,) = rows(rendered)
    assert_no_markup_from_text(rendered.replace(row[4], ""))
    assert len(row) == 5
    assert text_of(row[2]) == one_line(EVIL + "\nsecond line\n::error::x", 200)
    assert text_of(row[4]).startswith("<script>alert(1)</script>")
    # the finding is Certyn's Markdown: formatted, its raw HTML as text, links only to http(s), no image
    assert "<strong>bold</strong>" in row[4]
    assert "<code>code</code>" in row[4]
    assert re.findall(r'href="([^"]*)"', row[4]) == ["https://evil.example/a", "https://e.example/i.png"]


def test_a_finding_shows_its_markdown_formatted_and_not_its_heading() -> None:
    finding = "## Result\n\nThe **Pay now** button stayed `disabled`; see [the log](https://x.test/l)"
    (row,) = rows(gfm(render_test_table([run_item("failed", "Pay", summaryMarkdown=finding)])))
    assert row[4] == (
        'The <strong>Pay now</strong> button stayed <code>disabled</code>; see <a href="https://x.test/l">the log</a>'
    )


def test_the_table_is_capped_with_a_link_to_the_rest() -> None:
    tests = [run_item("passed", f"p{n}", n) for n in range(60)] + [run_item("failed", "broken", 99)]
    rendered = gfm(render_test_table(tests, run_url=RUN_URL))
    table = rows(rendered)
    assert len(table) == MAX_ROWS
    assert text_of(table[0][2]) == "broken"  # the failing test is never the one cut
    assert f'and 11 more tests in <a href="{RUN_URL}">Certyn</a>' in rendered
    assert "failing" not in text_of(rendered).split("more tests in")[1]  # all 11 passed


def test_the_footer_says_how_many_of_the_tests_it_does_not_list_failed() -> None:
    # issue 19: 62 failing of 80; the table shows 50 rows (failing first), so 12 failing tests are cut
    tests = [run_item("failed", f"f{n}", n) for n in range(62)] + [
        run_item("passed", f"p{n}", 100 + n) for n in range(18)
    ]
    rendered = gfm(render_test_table(tests, run_url=RUN_URL))
    assert len(rows(rendered)) == MAX_ROWS
    assert "… and 30 more tests in Certyn, 12 of them failing" in text_of(rendered)


def test_without_a_safe_link_the_rest_is_counted_without_one() -> None:
    tests = [run_item("passed", f"p{n}", n) for n in range(3)]
    for url in ("", "javascript:alert(1)"):
        rendered = gfm(render_test_table(tests, run_url=url, limit=2))
        assert "and 1 more test in Certyn" in text_of(rendered)
        assert "<a " not in rendered


def test_no_tests_is_said() -> None:
    assert "no per-test results" in gfm(render_test_table([]))


def test_tally_lists_present_outcomes_failing_first() -> None:
    tests = [run_item(o) for o in ("passed", "skipped", "aborted", "failed", "failed")]
    assert tally(tests) == "2 failed, 1 aborted, 1 skipped, 1 passed"


@SETTINGS
@given(st.lists(st.text(max_size=80), min_size=1, max_size=4), st.text(max_size=200))
def test_any_name_keeps_the_table_whole_and_shows_as_text(names: list[str], finding: str) -> None:
    tests = [run_item("failed", name, n, summaryMarkdown=finding) for n, name in enumerate(names)]
    rendered = gfm(render_test_table(tests))
    table = rows(rendered)
    assert len(table) == len(names)
    for test, row in zip(tests, table, strict=True):
        assert len(row) == 5
        assert text_of(row[2]) == one_line(test.display_name, 200)
    assert "<script" not in rendered.lower().replace("&lt;script", "")


@pytest.mark.parametrize(
    "text",
    ["user@evil.example", "mailto:x@y.com", "xmpp:x@y.com", "a.b+c@d-e.example.org", "www.evil.example/x"],
)
def test_plain_text_never_becomes_a_link(text: str) -> None:
    rendered = gfm(markdown(text))
    assert "<a " not in rendered
    assert text_of(rendered).strip() == text


# -- notes ------------------------------------------------------------------------------------------


def _with_results(tests: list[RunItem], found: tuple[str, ...] = ()) -> Findings:
    return Findings(
        results=ProcessRun.model_validate({"items": []}).model_copy(update={"items": tests}),
        contradictions=found,
    )


def test_contradictions_are_a_warning_that_the_gate_used_the_counts() -> None:
    found = ("Certyn's counts say 0 failed, but 1 test <b>is</b> marked failed",)
    rendered = gfm(render_findings(_with_results([run_item("failed")], found)))
    assert "the gate used the counts" in rendered
    assert "but 1 test <b>is</b> marked failed" in text_of(rendered)
    assert "<b>" not in rendered
    assert "the gate used the counts" not in render_findings(_with_results([run_item("failed")]))


def test_the_section_puts_the_contradiction_note_before_the_table() -> None:
    tests = [run_item("failed", "Checkout")]
    rendered = gfm(render_findings(_with_results(tests, ("Certyn's counts say 0 failed",)), run_url=RUN_URL))
    assert rendered.index("the gate used the counts") < rendered.index("<table>")
    assert "Checkout" in text_of(rendered)
    assert render_findings(_with_results(tests)) == render_test_table(tests)


def test_unavailable_shows_the_reason_as_text() -> None:
    rendered = gfm(render_findings(Findings(results_note="HTTP 403 <img src=x>")))
    assert "<img" not in rendered
    assert "Per-test results unavailable: HTTP 403 <img src=x>" in text_of(rendered)


# -- annotations ------------------------------------------------------------------------------------


def test_one_annotation_per_failing_test_titled_with_its_name() -> None:
    tests = [
        run_item("passed", "Login"),
        run_item("failed", "Checkout", summaryMarkdown="The pay button\ndoes nothing"),
        run_item("blocked", "Search"),
        run_item("aborted", "Profile", summaryMarkdown="## Summary\nAgent crashed\nwhile loading"),
        run_item("skipped", "Admin"),
    ]
    assert failing_annotations(tests) == (
        Annotation("error", "Checkout", "Checkout — Failed: The pay button\ndoes nothing"),
        Annotation("error", "Search", "Search — Marked blocked in Certyn."),
        Annotation("error", "Profile", "Profile — Aborted: Agent crashed\nwhile loading"),
    )


def test_an_annotation_shows_a_finding_as_plain_words_without_its_heading() -> None:
    finding = "## Result\n\nThe **Pay now** button stayed `disabled`\n- see [the log](https://x.test/l)"
    (found,) = failing_annotations([run_item("failed", "Pay", summaryMarkdown=finding)])
    assert (
        found.message == "Pay — Failed: The Pay now button stayed disabled\n- see the log (https://x.test/l)"
    )


def test_in_a_run_cancelled_in_certyn_an_aborted_test_is_a_plain_log_line_not_an_annotation() -> None:
    tests = [run_item("aborted", "Profile"), run_item("failed", "Checkout", summaryMarkdown="Total wrong")]
    assert failing_annotations(tests, cancelled=True) == (
        Annotation("", "Profile", "Profile — Marked aborted in Certyn."),  # the cancel is its cause
        Annotation("error", "Checkout", "Checkout — Failed: Total wrong"),  # failed on its own
    )


def test_at_most_nine_annotations() -> None:
    tests = [run_item("failed", f"t{n}") for n in range(30)]
    found = failing_annotations(tests)
    assert len(found) == MAX_ANNOTATIONS == 9
    assert [a.title for a in found] == [f"t{n}" for n in range(9)]


def test_annotation_text_is_one_line_titles_and_no_legacy_commands() -> None:
    (found,) = failing_annotations(
        [run_item("failed", "a\nb\x00c", summaryMarkdown="x\x00y ##[error]z\r\n" + "w" * 5000)]
    )
    assert "\n" not in found.title
    assert "\x00" not in found.message
    assert "##[" not in found.message
    assert len(found.message) <= 1000


def test_the_failing_tests_past_the_annotations_are_counted_where_they_can_be_seen() -> None:
    def failing(count: int) -> list[RunItem]:
        return [run_item("failed", f"t{n}", n) for n in range(count)]

    assert unannotated_line(failing(9), 9) == ""
    assert (
        unannotated_line(failing(20), 9)
        == "No annotation for 11 more failing tests: see them in the job summary's table"
    )
    assert unannotated_line(failing(MAX_ROWS + 10), 9) == (
        f"No annotation for {MAX_ROWS + 1} more failing tests: {MAX_ROWS - 9} in the job summary's table, "
        "10 only in Certyn and the failed-tests output"  # the log shows no Markdown
    )


# -- AI section -------------------------------------------------------------------------------------


def code_blocks(rendered: str) -> list[str]:
    return [
        html.unescape(block)
        for block in re.findall(r"<pre[^>]*><code[^>]*>(.*?)</code></pre>", rendered, re.DOTALL)
    ]


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        "```\n<script>alert(1)</script>\n```\nafter",
        "````````` nine\n`````````",
        "~~~\nnot a fence either\n~~~",
        EVIL,
        "line\r\nwith\rreturns",
        "",
    ],
)
def test_fenced_text_is_one_code_block_holding_the_text(text: str) -> None:
    rendered = gfm(fenced(text) + "\nafter the block\n")
    blocks = code_blocks(rendered)
    assert len(blocks) == 1
    assert blocks[0] == text.replace("\r\n", "\n").replace("\r", "\n") + "\n"
    assert "<p>after the block</p>" in rendered
    assert_no_markup_from_text(rendered.replace("<code", "", 1))


@SETTINGS
@given(
    st.lists(
        st.sampled_from(
            ["```", "````", "`", "~~~", "\n", " ", "a", "<b>", "&amp;", "|", "*", "[x](y)", "\\"]
        ),
        max_size=20,
    ).map("".join)
)
def test_no_text_escapes_its_fence(text: str) -> None:
    rendered = gfm(fenced(text) + "\nafter\n")
    assert code_blocks(rendered) == [text + "\n"]
    assert rendered.endswith("<p>after</p>\n")


def test_the_ai_section_says_it_is_the_ai_s_collapses_the_instruction_and_formats_the_answer() -> None:
    answer = "# Why\n\nThe **Pay now** button:\n\n- stayed grey\n- `POST /pay` answered 500\n\n" + EVIL
    rendered = gfm(render_conversation("Why did <b>checkout</b> fail?", ConversationState.IDLE, answer))
    assert "Written by Certyn's AI, which can be wrong" in text_of(rendered)
    asked = re.search(r"<details><summary>What it was asked</summary>(.*?)</details>", rendered, re.DOTALL)
    assert asked is not None
    assert code_blocks(asked.group(1)) == ["Why did <b>checkout</b> fail?\n"]
    assert "<h4>Why</h4>" in rendered  # below the section's own h3
    assert "<li>stayed grey</li>\n<li><code>POST /pay</code> answered 500</li>" in rendered
    assert "<strong>Pay now</strong>" in rendered
    assert "<b>" not in rendered
    assert "<img" not in rendered
    assert "<script" not in rendered
    assert "idle" not in text_of(rendered)
    assert "State" not in text_of(rendered)


@pytest.mark.parametrize(
    ("state", "answer", "words"),
    [
        (ConversationState.FAILED, None, "Certyn's AI could not answer: it reported a failure."),
        (
            ConversationState.PROCESSING,
            None,
            "Certyn's AI was still working when this step stopped waiting after 2m 00s: its answer did not "
            "come. conversation-timeout-seconds sets how long the step waits for it.",
        ),
        (
            ConversationState.PROCESSING,
            "So far: the",
            "Certyn's AI was still working when this step stopped waiting after 2m 00s: its answer may be "
            "incomplete. conversation-timeout-seconds sets how long the step waits for it.",
        ),
        (ConversationState.UNAVAILABLE, None, "The answer could not be read: HTTP 403"),
    ],
)
def test_without_a_whole_answer_the_section_says_why(
    state: ConversationState, answer: str | None, words: str
) -> None:
    rendered = gfm(render_conversation("instr", state, answer, waited=120, note="HTTP 403"))
    assert words in text_of(rendered)
    assert str(state) not in text_of(rendered).replace("reported a failure", "")
    assert code_blocks(rendered) == ["instr\n"]


def test_a_long_answer_is_cut_in_the_summary_and_points_to_the_output() -> None:
    rendered = gfm(render_conversation("i", ConversationState.IDLE, "a" * (MAX_SHOWN_ANSWER + 100)))
    assert f"<p>{'a' * (MAX_SHOWN_ANSWER - 1)}…</p>" in rendered
    assert "conversation-response" in text_of(rendered)


def test_an_annotation_does_not_repeat_the_outcome_a_finding_starts_with() -> None:
    items = [
        RunItem.model_validate(
            {"testCaseName": "SSO", "testOutcome": "blocked", "summaryMarkdown": "Blocked: no page"}
        ),
        RunItem.model_validate(
            {"testCaseName": "Pay", "testOutcome": "failed", "summaryMarkdown": "button grey"}
        ),
    ]
    assert [a.message for a in failing_annotations(items)] == [
        "SSO — Blocked: no page",
        "Pay — Failed: button grey",
    ]
