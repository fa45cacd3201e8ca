"""The diagnosis where a user reads it: the summary's "Why they failed" and "Found in this run" (GitHub's own
Markdown parser, raw HTML let through, so any escaping gap shows), the annotation's title, the JUnit report."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import partial
from typing import Any

from certyn_action import diagnosis
from certyn_action.api.models import Artifact, Flakiness, ProcessRun, RunItem
from certyn_action.diagnosis import Diagnosis, FlakyMark
from certyn_action.render.junit import render_junit
from certyn_action.render.summary import render_comment, render_diagnosis, render_findings, render_test_table
from certyn_action.render.words import describe, diagnosis_lines, failing_annotations, flaky_mark
from certyn_action.report import Findings, Report
from tests.unit.render.test_summary_findings import EVIL, assert_no_markup_from_text, gfm, text_of

diagnose_test = partial(diagnosis.diagnose_test, describe=describe)


def item(outcome: str = "failed", name: str = "Checkout", **fields: Any) -> RunItem:
    return RunItem.model_validate({"testOutcome": outcome, "testCaseName": name, "id": name, **fields})


def server_error(url: str = "https://shop.test/api/checkout?token=s3cret") -> tuple[str, dict[str, Any]]:
    return ("browser_network_response", {"status": 503, "method": "POST", "url": url})


def artifact(uri: str, kind: str = "screenshot", description: str = "Pay now") -> Artifact:
    return Artifact.model_validate({"type": kind, "uri": uri, "description": description})


def test_each_diagnosed_test_says_why_with_links_and_flaky_marks_and_what_was_found() -> None:
    checkout = diagnose_test(
        item(testCaseId="tc-1"),
        [server_error()],
        [artifact("https://cdn.test/pay.png?sig=1"), artifact("s3://bucket/trace.zip", "trace", "")],
        Flakiness.model_validate({"testCaseId": "tc-1", "totalRuns": 20, "failedRuns": 7}),
    )
    sso = diagnose_test(
        item("blocked", "Sign in"), [("tool_result", {"status": "timeout", "toolName": "nav"})]
    )
    rendered = gfm(render_diagnosis(Diagnosis((checkout, sso), ("POST /api/checkout answers 500",))))
    text = text_of(rendered)
    assert "Checkout — the app answered 503 to POST /api/checkout · flaky (35% of runs fail)" in text
    assert '<a href="https://cdn.test/pay.png">screenshot: Pay now</a>' in rendered
    assert "trace: s3://bucket/trace.zip" in text
    assert "s3://" not in "".join(a for a in rendered.split('href="')[1:] if a.startswith("s3"))
    assert "Sign in — Certyn marked the test blocked" in text
    assert "tool nav failed: timeout" in text  # evidence beside a reason that is not the tool's
    assert "Found in this run" in text
    assert "POST /api/checkout answers 500" in text
    assert "token" not in rendered
    assert "s3cret" not in rendered


def test_hostile_names_evidence_artifacts_and_observations_render_as_text() -> None:
    events = [
        server_error(f"https://shop.test/{EVIL}"),
        ("tool_result", {"status": "failed", "error": EVIL + "\n::error::x", "toolName": EVIL}),
        ("tool_result", {"status": "failed", "error": "two"}),
    ]
    found = diagnose_test(item(name=EVIL), events, [artifact("javascript:alert(1)", EVIL, EVIL)])
    rendered = gfm(render_diagnosis(Diagnosis((found,), (EVIL,), problem=EVIL)))
    # ours: the test's name and "Found in this run"; the reason is Certyn's Markdown, formatted: its **bold**
    assert rendered.count("<strong>") == 3
    assert_no_markup_from_text(re.sub(r"<strong>|<code>|<a href=\"https://[^\"]*\">", "", rendered))
    assert re.findall(r'href="([^"]*)"', rendered) == ["https://evil.example/a", "https://e.example/i.png"]
    assert "\n::error" not in render_diagnosis(Diagnosis((found,)))


def test_the_summary_shows_the_diagnosis_after_the_table() -> None:
    failing = item()
    findings = Findings(results=ProcessRun.model_validate({"items": [failing.model_dump(by_alias=True)]}))
    findings.diagnosis = Diagnosis((diagnose_test(failing, [server_error()]),))
    rendered = render_findings(findings)
    assert rendered.index("### Tests") < rendered.index("### Why they failed")
    findings.diagnosis = None
    assert "Why they failed" not in render_findings(findings)


def test_an_incomplete_diagnosis_says_so_and_an_empty_one_says_nothing() -> None:
    assert render_diagnosis(Diagnosis()) == ""
    assert "Diagnosis incomplete: the flaky" in text_of(gfm(render_diagnosis(Diagnosis(problem="the flaky"))))


def test_the_annotation_title_gives_the_reason_after_the_name() -> None:
    failing, other = item(), item(name="Other")
    found = Diagnosis((diagnose_test(failing, [server_error()]),))
    first, second = failing_annotations([failing, other], "error", found)
    assert first.title == "Checkout — the app answered 5xx"
    assert first.message.endswith("Why: the app answered 503 to POST /api/checkout")
    assert (second.title, "Why" in second.message) == ("Other", False)
    assert failing_annotations([failing])[0].title == "Checkout"


def test_the_junit_failure_message_gives_the_reason_and_system_out_the_links() -> None:
    failing = item()
    found = diagnose_test(
        failing, [server_error()], [artifact("https://cdn.test/a.png"), artifact("ftp://x/y")]
    )
    report = render_junit([failing, item("passed", "ok")], diagnosis=Diagnosis((found,)))
    root = ET.fromstring(report)  # noqa: S314 - our own output
    case, passed = root.iter("testcase")
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith(
        "the app answered 5xx: the app answered 503 to POST /api/checkout"
    )
    out = case.findtext("system-out") or ""
    assert "screenshot: https://cdn.test/a.png (Pay now)" in out
    assert "App answered 503 to POST https://shop.test/api/checkout" in out
    assert "ftp://" not in out
    assert passed.find("system-out") is None


def test_flaky_marks() -> None:
    assert flaky_mark(FlakyMark(quarantined=False, rate=0.35)) == "flaky (35% of runs fail)"
    assert flaky_mark(FlakyMark(quarantined=True, rate=None)) == "quarantined · flaky"


def test_the_table_marks_every_test_certyns_flakiness_data_marks_even_a_passing_one() -> None:
    passing, failing, plain = (
        item("passed", "Search", testCaseId="tc-1"),
        item(testCaseId="tc-2"),
        item(name="x"),
    )
    marks = {
        "tc-1": FlakyMark(quarantined=False, rate=0.25),
        "tc-2": FlakyMark(quarantined=True, rate=None),
    }
    table = text_of(gfm(render_test_table([passing, failing, plain], diagnosis=Diagnosis(marks=marks))))
    assert "Search · flaky (25% of runs fail)" in table
    assert "Checkout · quarantined · flaky" in table
    assert "x · " not in table
    assert "flaky" not in render_test_table([passing])


def test_the_pull_request_comment_says_why_after_each_diagnosed_test() -> None:
    failing, other = item(finding="broke"), item(name="Other")
    findings = Findings(
        results=ProcessRun.model_validate({"items": [t.model_dump(by_alias=True) for t in (failing, other)]})
    )
    findings.diagnosis = Diagnosis((diagnose_test(failing, [server_error()]),))
    comment = text_of(gfm(render_comment(Report(findings=findings), "<!-- m -->")))
    assert "failed: Checkout — broke — why: the app answered 503 to POST /api/checkout" in comment
    assert "Other — why" not in comment


def test_the_log_line_of_a_diagnosed_test_is_plain_words() -> None:
    events = [
        (
            "tool_result",
            {"status": "failed", "error": "the **Pay** button is `disabled`", "toolName": "click"},
        )
    ]
    (line,) = diagnosis_lines(Diagnosis((diagnose_test(item(name="Pay"), events),)))
    assert line == "Why Pay failed: tool click failed: the Pay button is disabled"
