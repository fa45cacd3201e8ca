"""escape.py: escaping of untrusted text for workflow commands, log lines and Markdown."""

from __future__ import annotations

import re

import pytest

from certyn_action.render.escape import (
    WORD_JOINER,
    collapsed,
    encodable,
    escape_command_data,
    escape_command_property,
    fenced,
    markdown,
    markdown_link,
    markdown_with_code,
    multiline,
    newlines,
    one_line,
    plain,
    plain_lines,
    plural,
    safe_url,
    truncate,
    visible,
    without_secrets,
)

# -- workflow command escaping (as @actions/core's escapeData / escapeProperty) ------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain", "plain"),
        ("100%", "100%25"),
        ("%0A", "%250A"),
        ("a\nb", "a%0Ab"),
        ("a\r\nb", "a%0D%0Ab"),
        ("a:b,c", "a:b,c"),
        ("::error::x", "::error::x"),
        ("", ""),
    ],
)
def test_escape_command_data(raw: str, escaped: str) -> None:
    assert escape_command_data(raw) == escaped


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain", "plain"),
        ("a:b", "a%3Ab"),
        ("a,b", "a%2Cb"),
        ("50%,\r\n:", "50%25%2C%0D%0A%3A"),
        ("%3A", "%253A"),
    ],
)
def test_escape_command_property(raw: str, escaped: str) -> None:
    assert escape_command_property(raw) == escaped


def _unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


@pytest.mark.parametrize("raw", ["%0A", "%%0D%25", "a\nb\r\n%0A%", "%250A"])
def test_escape_command_data_round_trips_through_the_runner_unescape(raw: str) -> None:
    escaped = escape_command_data(raw)
    assert "\n" not in escaped
    assert "\r" not in escaped
    assert _unescape_data(escaped) == raw


# -- one_line -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "a\nb",
        "a\rb",
        "a\r\nb",
        "a\x00b",
        "a\x1bb",
        "a\x7fb",
        "a\x85b",
        "a\u2028b",
        "a\u2029b",
        "a\tb",
        "a\x0bb",
        "a\x0cb",
    ],
)
def test_one_line_replaces_line_breaks_and_controls(raw: str) -> None:
    flat = one_line(raw)
    assert flat.startswith("a")
    assert flat.endswith("b")
    assert re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", flat) is None


def test_one_line_cannot_start_a_line_after_a_break() -> None:
    flat = one_line("progress\n::error::pwned\r::add-mask::x")
    assert "\n" not in flat
    assert "\r" not in flat
    assert flat.startswith("progress")


@pytest.mark.parametrize(
    "raw", ["##[error]x", "x ##[warning]y", "###[error]", "##[##[error]", "#\n#[error]", "##\x00[error]"]
)
def test_one_line_breaks_legacy_command_marker(raw: str) -> None:
    assert "##[" not in one_line(raw)


@pytest.mark.parametrize(
    ("raw", "flat"),
    [
        ("v1.2\n\x00 build\u2028\t 7", "v1.2 build 7"),  # a version or label Certyn shows on one line
        ("  run 42 ,\r\n job  e2e ", "run 42 , job e2e"),
        ("\ud800lone", "lone"),
        ("", ""),
    ],
)
def test_collapsed_puts_a_label_on_one_line_with_single_spaces(raw: str, flat: str) -> None:
    assert collapsed(raw) == flat


def test_one_line_strips_and_truncates() -> None:
    assert one_line("  \n padded \t ") == "padded"
    assert one_line("x" * 600) == "x" * 499 + "…"
    assert len(one_line("y" * 50, limit=10)) == 10
    assert one_line(None) == "None"
    assert one_line(42) == "42"


# -- truncate -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [("abc", 3, "abc"), ("abcd", 3, "ab…"), ("abc", 1, "…"), ("abc", 0, "…"), ("", 0, "")],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected


# -- markdown -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "![img](https://evil.example/x.png)",
        "a | b | c",
        "**bold** _it_ `code` ~~s~~",
        "# heading",
        "> quote",
        "- item",
        "1. item",
        "&lt;already&gt;",
        "<!-- comment -->",
        "https://auto.link.example",
        "line\nbreak",
    ],
)
def test_markdown_escapes_html_and_markdown(raw: str) -> None:
    out = markdown(raw)
    assert "<" not in out
    assert ">" not in out
    assert "](" not in out
    assert re.search(r"(?<!\\)[|*_`~\[\]]", out) is None  # every Markdown character escaped
    assert "\n" not in out


def test_markdown_keeps_text_readable() -> None:
    assert markdown("smoke tests") == "smoke tests"
    assert markdown("a_b") == "a\\_b"
    assert markdown("x & y") == "x &amp; y"


def test_markdown_is_limited() -> None:
    assert len(markdown("z" * 5000, 100)) == 100


# -- safe_url / markdown_link ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://app.certyn.io/runs/1",
        "http://localhost:8080/x",
        "HTTPS://APP.CERTYN.IO/r",
        "https://app.certyn.io/r?x=1&y=2#frag",
    ],
)
def test_safe_url_accepts_http_and_https(url: str) -> None:
    assert safe_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:x",
        "file:///etc/passwd",
        "/relative/path",
        "relative",
        "//evil.example/x",
        "https:no-host",
        "https://",
        "https://ok.example/\nnext",
        "https://ok.example/\x00",
        "https://[broken",
        "https://ok.example/" + "a" * 3000,
    ],
)
def test_safe_url_refuses(url: str) -> None:
    assert safe_url(url) is None


def test_safe_url_encodes_characters_that_would_end_a_markdown_link() -> None:
    target = safe_url("https://x.example/a b)c(d<e>f\"g'h`i|j]k[l\\m")
    assert target is not None
    for ch in " ()<>\"'`|[]\\":
        assert ch not in target
    assert target.startswith("https://x.example/a%20b%29c%28d")


def test_markdown_link() -> None:
    assert markdown_link("Run 1", "https://app.certyn.io/r/1") == "[Run 1](https://app.certyn.io/r/1)"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "/runs/1", ""])
def test_markdown_link_without_safe_url_is_plain_label(url: str) -> None:
    assert markdown_link("Run [1]", url) == "Run \\[1\\]"


def test_markdown_link_label_escaped() -> None:
    link = markdown_link("x](javascript:alert(1)) <b>", "https://ok.example")
    assert link.endswith("](https://ok.example)")
    assert link.count("](") == 1
    assert "<b>" not in link


@pytest.mark.parametrize(
    ("raw", "start"), [("- item", "\\-"), ("+ item", "\\+"), ("1. item", "1\\."), ("> q", "&gt;")]
)
def test_markdown_block_markers_at_the_start_are_escaped(raw: str, start: str) -> None:
    assert markdown(raw).startswith(start)


def test_encodable_replaces_lone_surrogates_only() -> None:
    assert encodable("a\ud800b\udfff") == "a?b?"
    assert encodable("plain é ✓ 😀") == "plain é ✓ 😀"
    assert encodable("a\ud800").encode("utf-8") == b"a?"


def test_one_line_breaks_the_legacy_marker_with_a_space_and_nothing_else() -> None:
    assert one_line("a ##[error]x") == "a ## [error]x"
    assert one_line("##[group]##[endgroup]") == "## [group]## [endgroup]"


@pytest.mark.parametrize(
    ("raw", "rendered"),
    [
        ("#", "\\#"),
        ("a#b", "a\\#b"),
        ("# heading", "\\# heading"),
        ("issue #12", "issue \\#\u206012"),
        # quotes become entities (safe in a table cell or an attribute); the entity's own '#' is not escaped
        ('"it\'s"', "&quot;it&#x27;s&quot;"),
        ("'#'", "&#x27;\\#&#x27;"),
        ("<b>&</b>", "&lt;b&gt;&amp;&lt;\\/b&gt;"),
    ],
)
def test_markdown_escapes_hash_and_quotes_exactly(raw: str, rendered: str) -> None:
    assert markdown(raw) == rendered


def test_markdown_default_limit_is_500_characters() -> None:
    assert markdown("a" * 500) == "a" * 500
    assert markdown("a" * 501) == "a" * 499 + "…"


def test_safe_url_length_limit_is_2048() -> None:
    base = "https://certyn.example/"
    longest = base + "a" * (2048 - len(base))
    assert safe_url(longest) == longest
    assert safe_url(longest + "a") is None


@pytest.mark.parametrize(("raw", "shown"), [("ok\u202eexe.txt", "ok exe.txt"), ("a\u200bb\u2066c", "a b c")])
def test_visible_replaces_each_bidi_or_invisible_character_with_one_space(raw: str, shown: str) -> None:
    assert visible(raw) == shown
    assert visible("Café ✅ 测试") == "Café ✅ 测试"


# -- markdown_with_code -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "rendered"),
    [
        ("Input `project-slug` is required.", "Input <code>project\\-slug</code> is required\\."),
        ("check `x` or `y`", "check <code>x</code> or <code>y</code>"),
        ("a `b` c", "a <code>b</code> c"),
        ("`a`b`c`d", "<code>a</code>b<code>c</code>d"),
        ("no code here", "no code here"),
    ],
)
def test_markdown_with_code_makes_each_pair_of_backticks_a_code_span(raw: str, rendered: str) -> None:
    assert markdown_with_code(raw) == rendered


@pytest.mark.parametrize(
    ("raw", "rendered"),
    [
        ("a `b", "a \\`b"),
        ("`a` and `b", "<code>a</code> and \\`b"),
        ("`a` `b` c `d", "<code>a</code> <code>b</code> c \\`d"),
    ],
)
def test_markdown_with_code_keeps_an_unpaired_backtick_literal(raw: str, rendered: str) -> None:
    # Server text with an odd number of backticks: the last one shows as a backtick, and nothing after it
    # turns into code.
    assert markdown_with_code(raw) == rendered


def test_markdown_with_code_escapes_the_span_content_like_the_rest() -> None:
    # A code span is no way out of the escaping: server text cannot close the span or open HTML with it.
    assert markdown_with_code("`<b>`") == "<code>&lt;b&gt;</code>"
    rendered = markdown_with_code("`</code><script>x</script>` [a](javascript:x)")
    assert rendered == (
        "<code>&lt;\\/code&gt;&lt;script&gt;x&lt;\\/script&gt;</code> \\[a\\]\\(javascript\\:x\\)"
    )
    assert rendered.replace("<code>", "").replace("</code>", "").count("<") == 0


def test_markdown_with_code_is_one_line_and_limited() -> None:
    assert markdown_with_code("a\n`b`\r\n##[error]") == "a <code>b</code>  \\#\\# \\[error\\]"
    assert markdown_with_code("`abcdefghij` tail", 8) == "\\`abcdef…"
    # the cut comes first: a span it cuts in two shows its backtick literally, never an unclosed <code>
    assert markdown_with_code("`ab` `cd` `ef`", 9) == "<code>ab</code> \\`cd…"
    assert markdown_with_code("`" + "a" * 600 + "`") == "\\`" + "a" * 498 + "…"


@pytest.mark.parametrize(
    "text", ["ask bob@example.com", "mailto:bob@example.com", "xmpp:bob@example.com/x", "a@b.co"]
)
def test_markdown_keeps_githubs_autolinker_off_e_mail_addresses(text: str) -> None:
    from tests.rendered import render_gfm  # noqa: PLC0415 - cmark-gfm, GitHub's own parser

    shown = markdown(text)
    assert "@" + WORD_JOINER in shown  # invisible: the address still reads as written
    html_out = render_gfm(shown)
    assert "<a " not in html_out
    assert text in html_out.replace(WORD_JOINER, "").replace("&amp;", "&")
    assert markdown_with_code(f"`{text}`").count(WORD_JOINER) == 1  # code spans too


@pytest.mark.parametrize(
    ("url", "quoted"),
    [
        ("https://user:p@ss@host.test:8/a/b?token=1#frag", "https://host.test:8/a/b"),
        ("  https://u@h.test/a b?t=1?u=2  ", "https://h.test/a b"),
        ("https://h.test/a b#f#g", "https://h.test/a b"),
        ("https://h.test/p@th/x", "https://h.test/p@th/x"),
        ("https://u:p@h.test/go/https://x", "https://h.test/go/https://x"),
        ("h.test/a?b#c", "h.test/a"),
    ],
    ids=["all of it", "a second query", "a second fragment", "@ in the path", ":// in the path", "no scheme"],
)
def test_a_url_is_quoted_without_its_credentials_query_or_fragment(url: str, quoted: str) -> None:
    assert without_secrets(url) == quoted


def test_plural_counts_one_thing_or_many() -> None:
    assert [plural(n, "test") for n in (0, 1, 2)] == ["0 tests", "1 test", "2 tests"]
    assert plural(2, "retry", "retries") == "2 retries"


def test_newlines_are_unix_ones_and_multiline_text_keeps_only_tabs_and_newlines() -> None:
    assert newlines("a\r\nb\rc") == "a\nb\nc"
    assert multiline("a\x07b\tc\nd") == "a b\tc\nd"


@pytest.mark.parametrize(
    ("heading", "words"),
    [
        ("## Title ##  ", "Title"),
        ("##\tTitle\t#\t", "Title"),
        ("#   Total  #  ", "Total"),
        ("## C#", "C#"),
        ("# a#b #", "a#b"),
        ("## ## ##", "##"),
        ("## AX#", "AX#"),
        ("## A X", "A X"),
        ("## FIX ##", "FIX"),
        ("##", ""),
    ],
)
def test_a_heading_s_words_lose_only_a_closing_run_of_hashes(heading: str, words: str) -> None:
    assert plain_lines(heading) == [words]


@pytest.mark.parametrize(
    ("text", "block"),
    [
        ("x", "```text\nx\n```\n"),
        ("a ``` b", "````text\na ``` b\n````\n"),
        ("`````", "``````text\n`````\n``````\n"),
    ],
)
def test_a_fence_is_longer_than_any_run_of_backticks_inside(text: str, block: str) -> None:
    assert fenced(text) == block


# -- bidirectional and invisible characters ------------------------------------------------------------------


@pytest.mark.parametrize(
    "char", ["\u202e", "\u2066", "\u2069", "\u200b", "\u200f", "\ufeff", "\u2060", "\u061c"]
)
def test_bidi_and_invisible_characters_never_reach_shown_text(char: str) -> None:
    text = f"ok{char}exe.txt"
    assert char not in one_line(text)
    assert char not in markdown(text)
    assert char not in visible(text)
    assert visible(text) == "ok exe.txt"


def test_visible_keeps_ordinary_text() -> None:
    text = "Café ✅ 测试 — ok ⏱️"
    assert visible(text) == text


def test_plain_words_keep_their_lines() -> None:
    assert plain("**a**\nb `c`") == "a\nb c"
