"""Per-test results as a JUnit XML report, one ``<testcase>`` per test, as the common consumers read it:
a test without a result is an ``<error>``, never an empty ``<testcase>`` (read as passed). Pure; any text is
made valid XML 1.0 first, so a hostile name or finding still gives a well-formed file.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..api.models import Outcome, ProcessRun, RunItem, finding_excerpt, outcome_counts
from .escape import newlines, plain, plain_lines, plural, truncate
from .words import PASSING, REASONS, counts_disagree

if TYPE_CHECKING:
    from ..diagnosis import DiagnosedTest, Diagnosis

# Characters XML 1.0 allows: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MAX_MESSAGE = 200
DEFAULT_CLASSNAME = "certyn"
_TAGS = {  # the element each outcome gets; a passed test has none
    Outcome.FAILED: "failure",
    Outcome.BLOCKED: "failure",
    Outcome.ABORTED: "error",
    Outcome.NO_RESULT: "error",
    Outcome.SKIPPED: "skipped",
}


def xml_text(text: str) -> str:
    """``text`` as XML 1.0 reads it back unchanged: forbidden characters removed, line endings ``\\n``."""
    return _FORBIDDEN.sub("", newlines(text))


def message_line(finding: str) -> str:
    """The ``message`` attribute: the finding's first line that says something, as plain words."""
    return truncate(xml_text(plain(finding_excerpt(finding, 1))), MAX_MESSAGE)


def case_name(item: RunItem, *, shared: bool = False) -> str:
    """The name users see in Certyn; ``<name> (#<number>)`` when ``shared`` (consumers would merge them)."""
    name = xml_text(item.display_name)
    return f"{name} (#{item.number})" if shared and item.number is not None else name


def _result(case: ET.Element, item: RunItem, why: DiagnosedTest | None = None) -> None:
    # the finding as plain words: a consumer shows the text literally
    outcome, finding = item.outcome, xml_text("\n".join(plain_lines(newlines(item.finding))))
    if (tag := _TAGS.get(outcome)) is None:
        return
    status = f" (status: {item.status})" if item.status else ""
    default = {
        Outcome.SKIPPED: "Skipped in Certyn",
        Outcome.ABORTED: "Aborted in Certyn",
        Outcome.NO_RESULT: xml_text(f"No result in Certyn{status}"),
    }.get(outcome, f"Marked {outcome} in Certyn, with no finding")
    message = message_line(item.finding) or default
    if why is not None:  # diagnosis (issue 20): the reason first, the evidence in system-out
        message = truncate(xml_text(f"{REASONS[why.reason]}: {why.summary} — {message}"), 2 * MAX_MESSAGE)
    element = ET.SubElement(case, tag, {"message": message})
    if tag != "skipped":
        element.set("type", str(outcome).replace(" ", "-"))
    if finding:
        element.text = finding
    if why is not None:
        ET.SubElement(case, "system-out").text = xml_text(diagnosis_text(why))


def diagnosis_text(why: DiagnosedTest) -> str:
    """A diagnosed test's reason, evidence and artifact links as plain lines (``system-out``)."""
    lines = [f"Why: {REASONS[why.reason]}: {why.summary}"]
    lines += [f"App answered {net.status} to {net.method} {net.url}" for net in why.evidence.network]
    lines += [f"Tool {tool.tool or 'unnamed'} failed: {tool.error}" for tool in why.evidence.tools]
    if why.evidence.denials:
        lines.append(f"Denied by policy: {plural(why.evidence.denials, 'step')}")
    lines += [
        f"{link.type or 'artifact'}: {link.url}" + (f" ({link.description})" if link.description else "")
        for link in why.artifacts
        if link.is_link
    ]
    return "\n".join(lines)


def render_junit(
    items: Sequence[RunItem],
    *,
    suite_name: str = "",
    classname: str = "",
    timestamp: str = "",
    diagnosis: Diagnosis | None = None,
) -> str:
    """The report of ``items`` in the server's order: ``classname`` (the process slug, else "certyn") groups
    them, ``suite_name`` (else the same) names the suite; each test's ``time`` is 0 when unknown."""
    group = xml_text(classname).strip() or DEFAULT_CLASSNAME
    tags = Counter(_TAGS.get(item.outcome) for item in items)
    counts = {
        "tests": str(len(items)),
        "failures": str(tags["failure"]),
        "errors": str(tags["error"]),
        "skipped": str(tags["skipped"]),
        "time": f"{sum(item.duration_seconds or 0 for item in items):.3f}",
    }
    root = ET.Element("testsuites", {"name": "Certyn", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": xml_text(suite_name).strip() or group, **counts})
    if timestamp:
        suite.set("timestamp", xml_text(timestamp))
    names = Counter(item.display_name for item in items)
    for item in items:
        name = case_name(item, shared=names[item.display_name] > 1)
        attributes = {"classname": group, "name": name, "time": f"{item.duration_seconds or 0:.3f}"}
        why = diagnosis.of(item) if diagnosis is not None else None
        _result(ET.SubElement(suite, "testcase", attributes), item, why)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def unlisted(items: Sequence[RunItem], counts: Mapping[str, int], gate_failure: str = "") -> list[RunItem]:
    """Synthetic tests, so that the report never says less than the gate: one per failing outcome the counts
    have more of than the items, and one for a failed gate (``gate_failure``: why) when no test fails."""
    tally = outcome_counts(items)
    extra: list[RunItem] = []
    for outcome in (Outcome.FAILED, Outcome.BLOCKED, Outcome.ABORTED):
        missing = counts.get(str(outcome), 0) - tally[outcome]
        if missing > 0:
            finding = counts_disagree(counts[str(outcome)], outcome, tally[outcome])
            name = f"Certyn counts: {plural(missing, f'{outcome} test')} not in the per-test results"
            extra.append(_synthetic(name, outcome, finding))
    if gate_failure and not extra and all(item.outcome in PASSING for item in items):
        extra.append(_synthetic("Certyn gate", Outcome.FAILED, f"The Certyn gate failed: {gate_failure}"))
    return extra


def _synthetic(name: str, outcome: Outcome, finding: str) -> RunItem:
    return RunItem.model_validate(
        {"testCaseName": name, "testOutcome": str(outcome), "summaryMarkdown": finding}
    )


def render_run_junit(
    run: ProcessRun,
    counts: Mapping[str, int] | None = None,
    *,
    gate_failure: str = "",
    diagnosis: Diagnosis | None = None,
) -> str:
    """The report of a process run, with what the gate saw and the tests do not show (``unlisted``); its
    ``timestamp`` is the run's start in UTC, without an offset as the schema wants."""
    timestamp = run.started_at.strftime("%Y-%m-%dT%H:%M:%S") if run.started_at is not None else ""
    return render_junit(
        [*run.items, *unlisted(run.items, counts or {}, gate_failure)],
        suite_name=run.process_name or run.process_slug,
        classname=run.process_slug,
        timestamp=timestamp,
        diagnosis=diagnosis,
    )
