"""Certyn's Markdown (a finding, the AI answer) shown formatted in the summary and as plain words in the log
(issue 19, item 6): the sanitiser lets through only what it writes itself, checked on what GitHub's own parser
makes of it, for any text."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from certyn_action.render.escape import (
    Scrubber,
    formatted,
    formatted_block,
    plain,
    plain_lines,
    without_heading,
)
from tests.rendered import ALLOWED_TAGS, Rendered, read

SETTINGS = settings(max_examples=300, deadline=None)
# What formatted text may become once rendered: what a summary may hold, but h3 (its headings go below the
# section's).
ALLOWED = ALLOWED_TAGS - {"h3"}
# Pieces of Markdown and HTML an answer may carry, hostile ones included, to be shuffled into any order.
PIECES = [
    "**",
    "*",
    "_",
    "__",
    "`",
    "```",
    "~~~",
    "````",
    "\n",
    "\n\n",
    " ",
    "    ",
    "a",
    "word",
    "# ",
    "#### ",
    "- ",
    "1. ",
    "> ",
    "| a | b |\n|---|---|\n",
    "| x |",
    "|",
    "---",
    "===",
    "\\",
    "<",
    ">",
    "&",
    "&amp;",
    "<b>",
    "</details>",
    "<details>",
    "<img src=x onerror=alert(1)>",
    "<script>",
    "<!--",
    "-->",
    "[x](https://ok.example/a)",
    "[x](javascript:alert(1))",
    "[x]: javascript:alert(1)",
    "[x]",
    "[x][]",
    "![i](https://e.example/i.png)",
    "![i](data:image/png;base64,AA)",
    "<https://ok.example>",
    "<javascript:alert(1)>",
    "<mailto:a@b.example>",
    "https://ok.example/p.",
    "www.evil.example",
    "a@b.example",
    "@octocat",
    "#123",
    "::error::x",
    "\r",
    "\x00",
    "\u202e",
    "(",
    ")",
    "[",
    "]",
    "!",
    ":",
]
TEXT = st.one_of(st.text(max_size=200), st.lists(st.sampled_from(PIECES), max_size=40).map("".join))


def assert_safe(view: Rendered) -> None:
    assert set(view.tags) <= ALLOWED, (set(view.tags) - ALLOWED, view.html)
    assert all(href.lower().startswith(("http://", "https://")) for href, _ in view.links), view.links
    assert "<img" not in view.html
    # no mention, no issue reference: GitHub finds those as "@name" or "#123" in a text node (not in code)
    text = re.sub(r"<[^>]*>", " ", re.sub(r"<(pre|code)>.*?</\1>", "", view.html, flags=re.DOTALL))
    assert not re.search(r"(?<![&\w])#\d|@\w", text), view.html


@SETTINGS
@given(TEXT)
def test_any_finding_in_a_cell_is_formatted_safely_and_keeps_the_table_and_what_follows(text: str) -> None:
    view = read(f"## Head\n\n| a | b |\n|---|---|\n| x | {formatted(text)} |\n| y | z |\n\n## After\n\nend\n")
    assert_safe(view)
    assert view.headings == ["Head", "After"]
    assert [len(row) for row in view.tables[0]] == [2, 2, 2]
    assert view.tables[0][2] == ["y", "z"]
    assert view.html.endswith("<p>end</p>\n")


@SETTINGS
@given(TEXT)
@example("0\n-")  # an empty list item under a line would make it a heading of the summary's level
def test_any_answer_is_formatted_safely_inside_its_section_and_everything_after_it_stays(text: str) -> None:
    summary = (
        "## Head\n\n<details><summary>asked</summary>\n\n"
        f"{formatted_block(text)}\n</details>\n\n## After\n\n| k | v |\n|---|---|\n| a | b |\n\nend\n"
    )
    view = read(summary)
    assert_safe(view)
    assert view.headings == ["Head", "After"]  # its headings are below ours
    assert view.html.count("<details>") == view.html.count("</details>") == 1
    assert view.html.index("</details>") < view.html.index("<h2>After</h2>")
    assert view.tables[-1] == [["k", "v"], ["a", "b"]]
    assert view.html.endswith("<p>end</p>\n")


def test_a_finding_shows_bold_code_emphasis_and_http_links_formatted_on_one_line() -> None:
    view = read(
        formatted("The **Pay now** button stayed `disabled` *again*; see [the log](https://x.test/l)")
    )
    assert view.text == "The Pay now button stayed disabled again; see the log"
    assert [tag for tag in view.tags if tag != "p"] == ["strong", "code", "em", "a"]
    assert view.links == [("https://x.test/l", "the log")]


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "</details></td></tr></table><b>x</b>",
        "&lt;b&gt; &amp; &#60;",
        "<!-- hidden -->",
    ],
)
def test_raw_html_and_entities_show_as_text(text: str) -> None:
    for markdown in (formatted(text), formatted_block(text)):
        view = read(markdown)
        assert view.tags == ["p"], view.html
        assert view.text.replace("\u2060", "") == text  # (a WORD JOINER after "#" before a digit)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("![chart](https://e.example/c.png)", [("https://e.example/c.png", "chart")]),  # a plain link
        ("![](https://e.example/c.png)", [("https://e.example/c.png", "https://e.example/c.png")]),
        ("![chart](data:image/png;base64,AAAA)", []),
        ("[x](javascript:alert(1))", []),
        ("[x](JavaScript:alert`1`)", []),
        ("[x](vbscript:msgbox)", []),
        ("[x](data:text/html,<script>)", []),
        ("[x](//evil.example)", []),
        ("<javascript:alert(1)>", []),
        ("<mailto:a@b.example> a@b.example www.evil.example", []),
        ("[x][r]\n\n[r]: javascript:alert(1)", []),
        ("[x][r]\n\n[r]: javascript:x https://ok.example", [("https://ok.example", "https://ok.example")]),
        ("<https://ok.example/a?b=1>", [("https://ok.example/a?b=1", "https://ok.example/a?b=1")]),
        ("see https://ok.example/a.", [("https://ok.example/a", "https://ok.example/a")]),
    ],
)
def test_images_are_links_and_links_go_only_to_http_or_https(text: str, shown: list[tuple[str, str]]) -> None:
    for markdown in (formatted(text.replace("\n", " ")), formatted_block(text)):
        view = read(markdown)
        assert view.links == shown, view.html
        assert "<img" not in view.html


def test_a_fence_left_open_is_closed_at_the_end_of_the_answer() -> None:
    view = read(formatted_block("look:\n```js\nalert(1)\n## not a heading") + "\n## After\n")
    assert '<pre><code class="language-js">alert(1)\n## not a heading\n</code></pre>' in view.html
    assert view.headings == ["After"]


@pytest.mark.parametrize("language", ["mermaid", "GeoJSON", "topojson", "stl", "math"])
def test_a_code_block_github_would_draw_is_shown_as_code(language: str) -> None:
    view = read(formatted_block(f"```{language}\ngraph TD; A-->B\n```"))
    assert view.html == '<pre><code class="language-text">graph TD; A--&gt;B\n</code></pre>\n'


def test_a_table_row_in_a_finding_stays_in_its_cell() -> None:
    cell = formatted("one | two |\n| three | four")
    view = read(f"| a | b |\n|---|---|\n| x | {cell} |\n")
    assert view.tables == [[["a", "b"], ["x", "one | two | | three | four"]]]


def test_mentions_and_issue_references_do_not_notify() -> None:
    for markdown in (formatted("@octocat see #123"), formatted_block("@octocat see #123")):
        view = read(markdown)
        assert "@octocat" not in view.text
        assert "#123" not in view.text
        assert view.text.replace("\u2060", "") == "@octocat see #123"  # shown as written


def test_the_answer_keeps_its_structure_with_headings_below_the_summary_s() -> None:
    answer = (
        "# Summary\n\nTwo tests **failed**:\n\n- Checkout\n  - the `Pay now` button\n- Discount\n\n"
        "1. first\n2. second\n\n| Test | Why |\n|:---|---:|\n| Pay | 5xx |\n\n> quoted\n\n---\n\n"
        "```python\nprint('x')\n```\n" + "word " * 400
    )
    view = read(formatted_block(answer))
    assert "<h4>Summary</h4>" in view.html
    assert "<ul>\n<li>Checkout\n<ul>\n<li>the <code>Pay now</code> button</li>" in view.html
    assert "<ol>" in view.html
    assert view.tables == [[["Test", "Why"], ["Pay", "5xx"]]]
    assert '<th align="left">Test</th>' in view.html
    assert "<blockquote>" in view.html
    assert "<hr />" in view.html
    assert "<pre><code class=\"language-python\">print('x')\n</code></pre>" in view.html
    assert "<p>word word" in view.html  # a long line is a paragraph: it wraps


def test_a_key_split_by_formatting_is_still_scrubbed() -> None:
    key = "sk-live-0123456789abcdef"
    scrub = Scrubber(key)
    for text in (f"{key[:6]}**{key[6:]}**", f"*{key[:4]}*{key[4:]}", f"`{key[:9]}`{key[9:]}"):
        for markdown in (formatted(text), formatted_block(text)):
            assert key not in read(scrub.text(markdown)).text.replace("\u2060", "")


def test_a_finding_is_cut_before_it_is_formatted() -> None:
    view = read(formatted("**" + "x" * 500 + "**", 300))
    assert len(view.text) <= 300


def test_plain_words_for_the_log() -> None:
    assert (
        plain("The **Pay now** button stayed `disabled`, _again_")
        == "The Pay now button stayed disabled, again"
    )
    assert plain("see [the log](https://x.test/l) or [x](javascript:alert(1)) ![c](https://e/c.png)") == (
        "see the log (https://x.test/l) or [x](javascript:alert(1)) c (https://e/c.png)"
    )
    assert plain("[here](ftp://x.test/f) and <https://x.test>") == "here and https://x.test"
    assert plain_lines("## Result\n- **a**\n```\n**kept**\n```\nend") == ["Result", "- a", "**kept**", "end"]


def test_a_finding_that_starts_with_a_heading_is_what_follows_it() -> None:
    assert (
        without_heading("## Result\n\nThe **Pay now** button\nstayed grey")
        == "The **Pay now** button\nstayed grey"
    )
    assert without_heading("## Only a heading") == "## Only a heading"
    assert without_heading("Text\n## Later") == "Text\n## Later"


def test_a_span_is_at_most_a_thousand_characters_so_unclosed_markers_cost_linear_time() -> None:
    assert read(formatted("**" + "a" * 1000 + "**", 2000)).tags == ["p", "strong"]
    assert read(formatted("**" + "a" * 1001 + "**", 2000)).tags == ["p"]  # shown as written
    assert read(formatted("`" + "a" * 1001 + "`", 2000)).tags == ["p"]


def test_lists_nest_at_most_eight_deep_so_the_answer_keeps_its_size() -> None:
    answer = "".join(" " * level + "- x\n" for level in range(40))
    view = read(formatted_block(answer))
    assert view.html.count("<ul>") == 8
    assert view.html.count("<li>x</li>") == 40 - 7  # the deepest level holds the rest


def test_a_table_is_written_anew_with_its_alignment_and_its_short_rows_filled() -> None:
    table = "before\n| a | b | c |\n|:--|:-:|--:|\n| 1 |\n| x | y | z |"
    assert (
        formatted_block(table) == "before\n\n| a | b | c |\n|:---|:---:|---:|\n| 1 |  |  |\n| x | y | z |\n"
    )


def test_a_header_and_its_delimiter_row_alone_are_a_table() -> None:
    assert formatted_block("| a | b |\n|---|---|") == "| a | b |\n|---|---|\n"


def test_a_delimiter_row_of_another_width_makes_no_table() -> None:
    assert formatted_block("| a | b |\n|---|---|---|\n| 1 | 2 |") == (
        "\\| a \\| b \\|\n\\|\\-\\-\\-\\|\\-\\-\\-\\|\\-\\-\\-\\|\n\\| 1 \\| 2 \\|\n"
    )


def test_a_table_cell_is_never_cut() -> None:
    assert "w" * 600 in formatted_block("| a |\n|---|\n| " + "w" * 600 + " |")


def test_links_without_words_images_bare_urls_and_cut_urls() -> None:
    line = (
        "see [](https://a.test/x) and ![](https://a.test/i.png) and https://a.test/X. and https://a.test/cut…"
    )
    assert formatted_block(line) == (
        "see  and [https\\:\\/\\/a\\.test\\/i\\.png](https://a.test/i.png) and "
        "[https\\:\\/\\/a\\.test\\/X](https://a.test/X)\\. and https\\:\\/\\/a\\.test\\/cut…\n"
    )


def test_an_answer_is_written_anew_block_by_block() -> None:
    answer = [
        "# Why",
        "#### Deep",
        "para one",
        "***",
        "para two",
        "- first",
        "  * nested",
        "    10) tenth",
        "\tstill in the item",
        "- [](x)",
        "back at the margin",
        "  - after a paragraph",
        "~~~~python",
        "print(1)",
        "```",
        "~~~~~",
        "",
        "",
        "after the fence",
        "> quoted " + "q" * 600,
        "- " + "i" * 600,
    ]
    assert formatted_block("\n".join(answer)).split("\n") == [
        "#### Why",  # three levels down, at most six
        "",
        "",
        "###### Deep",
        "",
        "para one",
        "",
        "***",
        "",
        "para two",
        "- first",
        "  - nested",
        "    10. tenth",
        "        still in the item",  # a tab is four spaces: the item's own text
        "",  # an item that formats to nothing
        "back at the margin",  # the lists are closed
        "- after a paragraph",
        "",
        "````python",  # longer than the backticks inside; closed by its own kind of fence
        "print(1)",
        "```",
        "````",
        "",
        "",
        "",
        "after the fence",
        "> quoted " + "q" * 600,  # never cut
        "- " + "i" * 600,
        "",
    ]


def test_a_table_row_is_split_at_its_unescaped_pipes_with_or_without_outer_ones() -> None:
    table = "|a|b|\n|---|---|\nx | y\n| p | q \\|"
    assert formatted_block(table) == "| a | b |\n|---|---|\n| x | y |\n| p | q \\| |\n"


def test_a_links_words_are_formatted_but_never_a_link_of_their_own() -> None:
    # A link inside a link's words would win on GitHub and leave the outer one as text: its URL is words.
    assert (
        formatted("[see https://a.test/x](https://b.test/)")
        == "[see https\\:\\/\\/a\\.test\\/x](https://b.test/)"
    )
    assert formatted("[**bold** and `code`](https://b.test/)") == (
        "[<strong>bold</strong> and <code>code</code>](https://b.test/)"
    )


def test_a_line_without_a_pipe_after_a_table_is_a_paragraph_again() -> None:
    assert (
        formatted_block("| a | b |\n|---|---|\nafter the table")
        == "| a | b |\n|---|---|\n\nafter the table\n"
    )


def test_a_headings_words_end_as_on_github_only_spaces_and_tabs_are_dropped() -> None:
    # GitHub keeps a no-break space at the end of a heading's words (with or without closing #s).
    assert plain_lines("# Title\u00a0\n## Closed\u00a0 ##") == ["Title\u00a0", "Closed\u00a0"]


@pytest.mark.parametrize(
    ("answer", "written"),
    [
        ("```\nif x:\n\treturn MAX\n```", "```text\nif x:\n    return MAX\n```\n"),  # a tab is four spaces
        (
            "```\n\n    indented   \n\n```",
            "```text\n\n    indented   \n```\n",
        ),  # blank lines at its end dropped
    ],
    ids=["a tab", "blank lines and spaces"],
)
def test_a_code_block_shows_its_lines_as_they_are(answer: str, written: str) -> None:
    assert formatted_block(answer) == written


def test_an_indented_paragraph_after_a_blank_line_stays_in_its_list_item() -> None:
    assert formatted_block("- item\n\n  more of the item") == "- item\n\n  more of the item\n"


def test_no_heading_or_paragraph_of_the_answer_is_cut() -> None:
    # the answer is cut as a whole, before it is formatted
    assert (
        formatted_block("# " + "h" * 600 + "\n" + "p" * 600)
        == "#### " + "h" * 600 + "\n\n" + "p" * 600 + "\n"
    )


def test_an_answer_ends_with_its_last_words_never_a_line_of_spaces() -> None:
    # a line of a list item that formats to nothing (a link without words) is the last one
    assert formatted_block("- a\n  [](x)") == "- a\n"
