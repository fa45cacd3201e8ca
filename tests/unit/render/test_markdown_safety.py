"""What hostile Certyn Markdown cannot do through the sanitiser (``formatted``, ``formatted_block``, ``plain``)
and the scrubber: forge a heading of ours, show the key split by a link, link an issue, or take quadratic time."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from certyn_action.api.models import finding_excerpt
from certyn_action.render.escape import Scrubber, formatted, plain
from certyn_action.render.summary import render_conversation
from tests.rendered import read

KEY = "cty_live_9f8e7d6c5b4a3210"


@contextmanager
def within(seconds: int) -> Iterator[None]:
    def _late(signum: int, frame: object) -> None:
        raise TimeoutError(f"took longer than {seconds}s")

    old = signal.signal(signal.SIGALRM, _late)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize(
    "answer", ["✅ Certyn tests passed\n- [](x)", "- ✅ Certyn tests passed\n  - [](x)", "Done\n1. [](x)"]
)
def test_an_answer_line_over_an_item_that_formats_to_nothing_is_no_heading_of_ours(answer: str) -> None:
    # "- [](x)": a list item whose link has no label and no safe target is written as "- ", which under a
    # paragraph line (nested too) is a setext underline: the AI's line becomes an <h2>, above our own "###".
    shown = read(render_conversation("q", "completed", answer))
    assert "h2" not in shown.tags, shown.html


def test_a_key_split_by_a_link_is_not_shown_whole() -> None:
    # "[cty_live_9f8](https://…)e7d6…" renders as the key's characters in a row (the first part the link's
    # text); the scrubber sees "](https://example.com/)" between them and leaves both parts.
    text = f"[{KEY[:12]}](https://example.com/){KEY[12:]}"
    shown = read(Scrubber(KEY).text(formatted(text)))
    assert KEY not in shown.text


def test_a_key_split_by_an_autolink_is_not_shown_whole() -> None:
    text = f"<https://example.com/{KEY[:12]}>{KEY[12:]}"
    shown = read(Scrubber(KEY).text(formatted(text)))
    assert KEY not in shown.text


def test_a_gh_issue_reference_does_not_link_or_notify() -> None:
    # GitHub links "GH-26" to issue 26 (and records the mention there) as it does "#26", which is broken.
    shown = read(formatted("retry after GH-26 is fixed"))
    assert not re.search(r"\bGH-\d", shown.text, re.IGNORECASE), shown.html


@pytest.mark.parametrize("run", ["**a ", "__a "])
def test_a_100_kb_answer_of_unclosed_bold_is_reduced_in_linear_time(run: str) -> None:
    # The log shows the whole answer (100,000 characters) through ``plain``; JUnit every finding (20,000 each).
    # Each "**" opener scans to the end of the line for a closer that never comes: quadratic.
    with within(3):
        plain(run * 25_000)


def test_an_answer_heading_of_spaces_then_hashes_is_read_in_linear_time() -> None:
    # HEADING's lazy text and optional closing run ("[ \t]+#+") try every split of the spaces and hashes:
    # one 20,000-character line (what the summary shows) costs seconds; the log's 100,000, minutes.
    line = "# a" + " " * 9_998 + "#" * 9_998 + "x"  # the 20,000 characters the summary shows
    with within(1):
        render_conversation("q", "completed", line)


def test_a_finding_heading_of_spaces_then_hashes_is_excerpted_in_linear_time() -> None:
    # The same HEADING pattern reads every line of every finding (up to 20,000 characters, thousands of
    # tests) for the table, the comment, the annotations and JUnit.
    with within(1):
        finding_excerpt("# a" + " " * 9_998 + "#" * 9_998 + "x")  # a finding's 20,000 characters
