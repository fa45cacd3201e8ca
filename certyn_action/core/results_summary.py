"""The per-test results and the AI answer in the job summary and as annotations. Pure.

Every piece of server or AI text is shown as text, never rendered: table cells go through
``text.markdown`` (HTML and Markdown escaped, one line), the instruction and the answer sit in fenced
code blocks whose fence is longer than any run of backticks inside.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .conversation import ConversationState, conversation_state
from .report import Findings
from .results import Outcome, RunItem, finding_excerpt, ordered, outcome_counts
from .text import encodable, format_duration, markdown, markdown_link, one_line, plural, truncate, visible

MAX_ROWS = 50
MAX_ANNOTATIONS = 9  # with the gate's own annotation, GitHub's limit of 10 per step is never crossed
MAX_CELL_NAME = 200
MAX_CELL_FINDING = 300
MAX_ANNOTATION_TITLE = 200
MAX_ANNOTATION_MESSAGE = 1000
MAX_SHOWN_ANSWER = 20_000
MAX_SHOWN_INSTRUCTION = 10_000

ICONS = {
    Outcome.FAILED: "❌",
    Outcome.BLOCKED: "🚫",
    Outcome.ABORTED: "⛔",
    Outcome.NO_RESULT: "❔",
    Outcome.SKIPPED: "⏭️",
    Outcome.PASSED: "✅",
}
STATE_TEXT = {
    ConversationState.IDLE: "answered",
    ConversationState.FAILED: "Certyn's AI reported a failure",
    ConversationState.PROCESSING: "no answer within the time allowed",
    ConversationState.UNAVAILABLE: "the conversation could not be read",
}
# Controls that have no place in shown text; tabs and line breaks stay.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_BACKTICKS = re.compile(r"`+")
_HEADING_MARKER = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+", re.MULTILINE)


def plain(text: object, limit: int = 500) -> str:
    """Untrusted text as literal GitHub Markdown on one line (``text.markdown``, which also keeps GitHub's
    autolinker off e-mail addresses)."""
    return markdown(text, limit)


@dataclass(frozen=True)
class TestAnnotation:
    """One ``::error`` annotation for a failing test: raw text, escaped by the log when printed."""

    __test__ = False  # not a pytest test class

    title: str
    message: str


def _duration(item: RunItem) -> str:
    seconds = item.duration_seconds
    return format_duration(seconds) if seconds is not None else "—"


def _row(item: RunItem) -> str:
    outcome = item.outcome
    number = str(item.number) if item.number is not None else ""
    cells = (
        f"{ICONS[outcome]} {outcome}",
        number,
        plain(item.display_name, MAX_CELL_NAME),
        _duration(item),
        plain(finding_excerpt(item.finding), MAX_CELL_FINDING),
    )
    return "| " + " | ".join(cells) + " |"


def tally(items: Sequence[RunItem]) -> str:
    """``2 failed, 1 blocked, 10 passed``: the outcomes present, failing first."""
    counts = outcome_counts(items)
    return ", ".join(f"{counts[outcome]} {outcome}" for outcome in ICONS if counts[outcome])


def render_test_table(items: Sequence[RunItem], *, run_url: str = "", limit: int = MAX_ROWS) -> str:
    """The summary section of the per-test results: a tally and a table, failing tests first.

    At most ``limit`` rows; the rest are counted ("… and N more in Certyn", a link when ``run_url``
    is a safe http(s) URL). Ends with a newline."""
    lines = ["### Tests", ""]
    if not items:
        return "\n".join([*lines, "Certyn listed no per-test results for this run.", ""])
    rows = ordered(items)
    lines += [
        plain(tally(items)),
        "",
        "| Outcome | # | Test | Duration | Finding |",
        "|---|---:|---|---:|---|",
        *(_row(item) for item in rows[:limit]),
    ]
    hidden = len(rows) - limit
    if hidden > 0:
        lines += ["", f"… and {hidden} more in {markdown_link('Certyn', run_url)}"]
    return "\n".join(lines) + "\n"


def render_test_results(items: Sequence[RunItem], found: Sequence[str] = (), *, run_url: str = "") -> str:
    """The whole per-test section: the note on ``found`` contradictions (``contradictions()``), if any,
    then the table."""
    note = render_contradictions(found)
    return (note + "\n" if note else "") + render_test_table(items, run_url=run_url)


def render_contradictions(found: Sequence[str]) -> str:
    """A note that the per-test results disagree with the status counts ("" when they agree)."""
    if not found:
        return ""
    lines = [
        "> [!WARNING]",
        "> The per-test results disagree with the status counts; the gate used the counts.",
    ]
    lines += [f"> - {plain(sentence, 1000)}" for sentence in found]
    return "\n".join(lines) + "\n"


def render_unavailable(reason: str) -> str:
    """A note that the per-test results could not be read, with the reason (untrusted: escaped)."""
    return f"> Per-test results unavailable: {plain(reason, 1000)}\n"


def failing_annotations(items: Sequence[RunItem], limit: int = MAX_ANNOTATIONS) -> tuple[TestAnnotation, ...]:
    """One annotation per failing test (failed, blocked, aborted), at most ``limit``, in server order.

    Title: the test's name on one line. Message: its outcome and finding (line breaks kept; the log
    escapes them; heading markers dropped, as annotations are plain text), cut to a readable length;
    the legacy ``##[`` command marker is broken up."""
    found: list[TestAnnotation] = []
    for item in items:
        if len(found) >= limit:
            break
        outcome = item.outcome
        if not outcome.failing:
            continue
        title = one_line(item.display_name, MAX_ANNOTATION_TITLE)
        finding = _HEADING_MARKER.sub("", _CONTROL.sub(" ", encodable(item.finding)))
        finding = finding.replace("##[", "## [").strip()
        label = f"{outcome.capitalize()}:"
        if not finding:
            message = f"Marked {outcome} in Certyn."
        elif finding.lower().startswith(label.lower()):  # "Blocked: the SSO page..." says it already
            message = finding
        else:
            message = f"{label} {finding}"
        found.append(TestAnnotation(title=title, message=truncate(message, MAX_ANNOTATION_MESSAGE)))
    return tuple(found)


def unannotated_line(items: Sequence[RunItem], annotated: int, rows: int = MAX_ROWS) -> str:
    """The log line on the failing tests past the first ``annotated`` (those with an annotation): how many
    of them the summary's table shows (its first ``rows``, failing first) and how many it does not ("" when
    every failing test has an annotation)."""
    rest = [item for item in items if item.outcome.failing][annotated:]
    if not rest:
        return ""
    in_table = {id(item) for item in ordered(items)[:rows]}
    unlisted = sum(id(item) not in in_table for item in rest)
    line = f"No annotation for {plural(len(rest), 'more failing test')}"
    if not unlisted:
        return f"{line}: see them in the job summary's table"
    return (
        f"{line}: {len(rest) - unlisted} in the job summary's table, "
        f"{unlisted} only in Certyn and the `failed-tests` output"
    )


def fenced(text: str, info: str = "text") -> str:
    """``text`` as a fenced code block that shows it literally.

    The fence is longer than any run of backticks inside, so no line can close it; GitHub renders
    nothing inside a code block (no HTML, no links, no Markdown). Controls, bidirectional and invisible
    characters become spaces, as everywhere text is shown."""
    body = visible(_CONTROL.sub(" ", encodable(text).replace("\r\n", "\n").replace("\r", "\n")))
    longest = max((len(run) for run in _BACKTICKS.findall(body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}\n"


def render_conversation(instruction: str, state: ConversationState, answer: str | None) -> str:
    """The summary section of the AI instruction and its answer, both shown as text."""
    lines = ["### Certyn AI", "", f"State: `{state}` ({STATE_TEXT[state]})", "", "**Instruction**", ""]
    parts = ["\n".join(lines) + "\n", fenced(truncate(instruction, MAX_SHOWN_INSTRUCTION))]
    if answer is None:
        parts.append("\n_No answer._\n")
        return "".join(parts)
    parts += ["\n**Answer**\n\n", fenced(truncate(answer, MAX_SHOWN_ANSWER))]
    if len(answer) > MAX_SHOWN_ANSWER:
        parts.append(
            f"\n_The answer is cut here after {MAX_SHOWN_ANSWER:,} characters; "
            "the output `conversation-response` has it whole._\n"
        )
    return "".join(parts)


def render_findings(findings: Findings, *, run_url: str = "") -> str:
    """The summary's sections on what Certyn found after the run ("" when nothing was asked or read)."""
    parts: list[str] = []
    if findings.results is not None:
        parts.append(render_test_results(findings.results.items, findings.contradictions, run_url=run_url))
    elif findings.results_note:
        parts.append("### Tests\n\n" + render_unavailable(findings.results_note))
    parts += [f"> {plain(note, 1000)}\n" for note in findings.notes]
    if findings.asked:
        conversation = findings.conversation
        answer = conversation.answer if conversation is not None else None
        section = render_conversation(findings.instruction, conversation_state(conversation), answer)
        if findings.conversation_note:
            section += f"\n> The answer could not be read: {plain(findings.conversation_note, 1000)}\n"
        parts.append(section)
    return "\n".join(parts)
