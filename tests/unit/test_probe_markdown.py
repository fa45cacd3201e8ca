"""Hostile probes of the Certyn Markdown sanitiser (``formatted``, ``formatted_block``, ``plain``).

Each test asserts the safe behaviour; each fails today."""

from __future__ import annotations

import io
import re
import signal
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest

from certyn_action.api.models import ProcessRun, finding_excerpt
from certyn_action.core.report import Findings
from certyn_action.github.workflow import WorkflowLog
from certyn_action.render.escape import Scrubber, formatted, plain
from certyn_action.render.junit import render_junit
from certyn_action.render.summary import render_conversation, render_summary
from tests.rendered import read
from tests.unit.test_publish import item, report

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


def test_an_answer_line_over_an_item_that_formats_to_nothing_is_no_heading_of_ours() -> None:
    # "- [](x)": a list item whose link has no label and no safe target is written as "- ", which under a
    # paragraph line is a setext underline: the AI's line becomes an <h2>, above the summary's own "###".
    shown = read(render_conversation("q", "completed", "✅ Certyn tests passed\n- [](x)"))
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


def test_a_variables_secret_echoed_in_a_finding_is_not_shown_in_the_summary() -> None:
    # A `variables` value is redacted "exact"; the per-test results are not redacted before rendering
    # (Findings.redacted leaves them), and in the Markdown the value is escaped ("\-", "\!"), so the exact
    # replace misses it, while GitHub shows it unescaped in the failing test's row.
    value = "s3cr3t-Pa55.word!"
    log = WorkflowLog(io.StringIO())
    log.add_mask(value, redact="exact")  # as main() does for each `variables` value
    items = (item("failed", "login", f"logged in with password {value} and got a 500"),)
    findings = Findings(results=ProcessRun.model_validate({}).model_copy(update={"items": items}))
    summary = log.redact(render_summary(replace(report(), findings=findings).redacted(log.redact)))
    assert value not in read(summary).text


def test_a_finding_heading_of_spaces_then_hashes_is_excerpted_in_linear_time() -> None:
    # The same HEADING pattern reads every line of every finding (up to 20,000 characters, thousands of
    # tests) for the table, the comment, the annotations and JUnit.
    with within(1):
        finding_excerpt("# a" + " " * 9_998 + "#" * 9_998 + "x")  # a finding's 20,000 characters


def test_a_variables_secret_echoed_in_a_finding_is_not_in_the_junit_report() -> None:
    # The same "exact" redaction runs on the XML as written: "&" and "<" are entities there, so it misses,
    # and every JUnit reader shows the value decoded.
    value = "s3cr3t&Pa55<word>"
    log = WorkflowLog(io.StringIO())
    log.add_mask(value, redact="exact")
    written = log.redact(render_junit([item("failed", "login", f"logged in with {value} and got a 500")]))
    assert value not in "".join(ET.fromstring(written.encode()).itertext())  # noqa: S314 - our own output
