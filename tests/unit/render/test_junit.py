"""junit.py: the JUnit report is read by a real consumer (junitparser) with the right counts,
results and messages, whatever the names and findings hold."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from certyn_action.api.models import ProcessRun, RunItem
from certyn_action.render.escape import newlines, plain_lines
from certyn_action.render.junit import case_name, message_line, render_junit, render_run_junit, xml_text

SETTINGS = settings(max_examples=150, deadline=None)
HOSTILE = [
    "]]> <![CDATA[ x",
    "<script>alert(1)</script>",
    "a & b &amp; &#0; &bogus;",
    "\"double\" and 'single' quotes",
    "line one\nline two\r\nline three\rfour",
    "nul\x00here\x01\x08\x0b\x0c\x1f\x7f",
    "emoji 🚀👩‍💻 and \ufffe\uffff",
    "lone \ud800 surrogate",
    "::error::injected\n::set-output name=x::y",
    "",
]


def run_item(outcome: str | None, name: str = "t", number: int | None = 1, **fields: Any) -> RunItem:
    return RunItem.model_validate(
        {"testOutcome": outcome, "testCaseName": name, "testCaseNumber": number, **fields}
    )


def read(xml: str, tmp_path: Path) -> tuple[JUnitXml, TestSuite, list[TestCase]]:
    report = tmp_path / "report.xml"
    report.write_text(xml, encoding="utf-8")
    parsed = JUnitXml.fromfile(str(report))
    suites = list(parsed)
    assert len(suites) == 1
    return parsed, suites[0], list(suites[0])


def test_each_outcome_becomes_what_consumers_read(tmp_path: Path) -> None:
    tests = [
        run_item(
            "passed", "Login", 1, startedAt="2026-12-01T10:00:00Z", completedAt="2026-12-01T10:00:02.5Z"
        ),
        run_item("failed", "Checkout", 2, summaryMarkdown="The pay button does nothing.\n\nSteps: 1, 2, 3"),
        run_item("blocked", "Search", 3, summaryMarkdown="\n  Staging was down  \nmore"),
        run_item("aborted", "Profile", 4),
        run_item("skipped", "Admin", 5),
        run_item(None, "Export", 6, status="running"),
    ]
    root, suite, cases = read(render_junit(tests, classname="smoke", suite_name="Smoke tests"), tmp_path)
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (6, 2, 2, 1)
    assert (root.tests, root.failures, root.errors, root.skipped) == (6, 2, 2, 1)
    assert suite.name == "Smoke tests"
    assert suite.time == 2.5
    assert [case.name for case in cases] == [
        "Login",  # as users see them in Certyn: no "#1 " prefix
        "Checkout",
        "Search",
        "Profile",
        "Admin",
        "Export",
    ]
    assert {case.classname for case in cases} == {"smoke"}
    login, checkout, search, profile, admin, export = cases
    assert login.is_passed
    assert login.time == 2.5
    assert checkout.is_failure
    failure = checkout.result[0]
    assert isinstance(failure, Failure)
    assert failure.message == "The pay button does nothing."
    assert failure.text == "The pay button does nothing.\n\nSteps: 1, 2, 3"
    assert failure.type == "failed"
    assert search.is_failure
    assert search.result[0].message == "Staging was down"
    assert search.result[0].type == "blocked"
    assert profile.is_error
    assert isinstance(profile.result[0], Error)
    assert profile.result[0].type == "aborted"
    assert admin.is_skipped
    assert isinstance(admin.result[0], Skipped)
    assert export.is_error
    assert export.result[0].message == "No result in Certyn (status: running)"


def test_a_failing_test_without_a_finding_still_fails_with_a_message(tmp_path: Path) -> None:
    _, suite, cases = read(render_junit([run_item("failed"), run_item("blocked")]), tmp_path)
    assert suite.failures == 2
    assert cases[0].result[0].message == "Marked failed in Certyn, with no finding"
    assert cases[1].result[0].message == "Marked blocked in Certyn, with no finding"


def test_a_test_without_a_result_is_never_read_as_passed(tmp_path: Path) -> None:
    _, suite, cases = read(render_junit([run_item(None, status="completed")]), tmp_path)
    assert not cases[0].is_passed
    assert suite.errors == 1


def test_defaults_group_under_certyn_and_unknown_times_are_zero(tmp_path: Path) -> None:
    late = {"startedAt": "2026-12-01T10:00:05Z", "completedAt": "2026-12-01T10:00:00Z"}
    _, suite, cases = read(
        render_junit([run_item("passed", "x", None), run_item("passed", "y", 2, **late)]), tmp_path
    )
    assert suite.name == "certyn"
    assert cases[0].classname == "certyn"
    assert cases[0].name == "x"
    assert cases[0]._elem.attrib["time"] == "0.000"  # the common schema requires it
    assert cases[1].time == 0
    assert suite.time == 0


def test_no_tests_is_an_empty_suite(tmp_path: Path) -> None:
    _, suite, cases = read(render_junit([]), tmp_path)
    assert (suite.tests, suite.failures, cases) == (0, 0, [])


def test_a_process_run_is_reported_under_its_process(tmp_path: Path) -> None:
    run = ProcessRun.model_validate(
        {
            "processSlug": "smoke",
            "processName": "Smoke tests",
            "startedAt": "2026-12-01T10:00:00+02:00",
            "items": [{"testCaseName": "Login", "testCaseNumber": 1, "testOutcome": "failed"}],
        }
    )
    _, suite, cases = read(render_run_junit(run), tmp_path)
    assert suite.name == "Smoke tests"
    assert suite.timestamp == "2026-12-01T08:00:00"  # UTC, no offset, as the schema wants
    assert cases[0].classname == "smoke"
    assert suite.failures == 1


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_names_and_findings_give_a_well_formed_file(hostile: str, tmp_path: Path) -> None:
    tests = [run_item("failed", hostile, 1, summaryMarkdown=hostile), run_item("passed", hostile, 2)]
    xml = render_junit(tests, classname=hostile, suite_name=hostile)
    ET.fromstring(xml.encode("utf-8"))  # noqa: S314 - our own output: well-formed, or this raises
    _, suite, cases = read(xml, tmp_path)
    expected_name = xml_text(tests[0].display_name)
    shared = tests[0].display_name == tests[1].display_name  # then the number tells them apart
    assert cases[0].name == (f"{expected_name} (#1)" if shared else expected_name)
    assert cases[1].is_passed
    assert suite.failures == 1
    if xml_text(hostile).strip():
        assert cases[0].result[0].text == xml_text(tests[0].finding)


def test_a_10000_character_finding_is_carried_whole(tmp_path: Path) -> None:
    finding = ("The <cart> & ]]> 'total' is wrong 🚀\n" * 300)[:10_000]
    _, _, cases = read(render_junit([run_item("failed", summaryMarkdown=finding)]), tmp_path)
    failure = cases[0].result[0]
    assert failure.text == finding
    assert failure.message == "The <cart> & ]]> 'total' is wrong 🚀"


def test_the_message_attribute_is_a_short_first_line() -> None:
    assert message_line("\n\n  " + "x" * 500 + "\nsecond") == "x" * 199 + "…"
    assert message_line("## Finding\n\n- The cart <total> is wrong\n") == "The cart <total> is wrong"
    assert message_line("   \n\t\n") == ""
    assert message_line("a\x00b") == "ab"


def test_xml_text_removes_what_xml_forbids() -> None:
    assert xml_text("a\x00b\x1fc\ufffed\ud800e\r\nf\rg\th") == "abcd?e\nf\ng\th"


def test_case_name_is_the_name_users_see_with_the_number_only_when_shared() -> None:
    assert case_name(run_item("passed", "Login", 7)) == "Login"
    assert case_name(run_item("passed", "", 7)) == "test #7"
    assert case_name(run_item("passed", "Login", 7), shared=True) == "Login (#7)"
    assert case_name(run_item("passed", "Login", None), shared=True) == "Login"


def test_two_tests_of_one_name_stay_two_cases(tmp_path: Path) -> None:
    tests = [run_item("failed", "Login", 1), run_item("passed", "Login", 2), run_item("passed", "Pay", 3)]
    _, _, cases = read(render_junit(tests), tmp_path)
    assert [case.name for case in cases] == ["Login (#1)", "Login (#2)", "Pay"]


def test_the_failure_message_is_plain_text_and_the_body_keeps_the_finding(tmp_path: Path) -> None:
    # the body keeps the whole finding, as plain words too
    finding = "## Result\n\nThe **Pay now** button stayed `disabled`; see [the log](https://x.test/l)\n"
    _, _, cases = read(render_junit([run_item("failed", "Pay", 1, summaryMarkdown=finding)]), tmp_path)
    failure = cases[0].result[0]
    assert failure.message == "The Pay now button stayed disabled; see the log (https://x.test/l)"
    assert failure.text == "Result\n\nThe Pay now button stayed disabled; see the log (https://x.test/l)\n"


@SETTINGS
@given(
    st.text(max_size=300), st.text(max_size=300), st.sampled_from(["failed", "blocked", "aborted", "passed"])
)
def test_any_name_and_finding_round_trip_through_a_consumer(name: str, finding: str, outcome: str) -> None:
    test = run_item(outcome, name, 3, summaryMarkdown=finding)
    xml = render_junit([test], classname=name)
    parsed = JUnitXml.fromstring(xml.encode("utf-8"))
    (suite,) = list(parsed)
    (case,) = list(suite)
    assert case.name == xml_text(test.display_name)
    assert case.classname == (xml_text(name).strip() or "certyn")
    assert case.is_passed is (outcome == "passed")
    if outcome != "passed" and (body := xml_text("\n".join(plain_lines(newlines(finding))))):
        assert case.result[0].text == body


def _all_passed(*names: str) -> ProcessRun:
    return ProcessRun.model_validate({"items": [{"testCaseName": n, "testOutcome": "passed"} for n in names]})


def test_failing_tests_the_counts_show_and_the_items_do_not_are_marked(tmp_path: Path) -> None:
    counts = {"total": 3, "passed": 0, "failed": 2, "blocked": 0, "aborted": 1, "skipped": 0}
    _, suite, cases = read(render_run_junit(_all_passed("a", "b", "c"), counts), tmp_path)
    # one named case per outcome (the counts may be any size): the report is red where the gate is
    assert (suite.failures, suite.errors) == (1, 1)
    unlisted = {case.name: case.result for case in cases if case.name not in {"a", "b", "c"}}
    assert len(unlisted) == 2
    failed = next(result for name, result in unlisted.items() if "2 failed tests" in name)
    aborted = next(result for name, result in unlisted.items() if "1 aborted test " in name)
    assert isinstance(failed[0], Failure)
    assert isinstance(aborted[0], Error)
    assert "counts say 2 failed" in (failed[0].text or "")


def test_a_failed_gate_never_gives_an_all_green_report(tmp_path: Path) -> None:
    counts = {"total": 2, "passed": 2, "failed": 0, "blocked": 0, "aborted": 0, "skipped": 0}
    xml = render_run_junit(_all_passed("a", "b"), counts, gate_failure="pass rate 50% is below 90%")
    _, suite, cases = read(xml, tmp_path)
    assert suite.failures == 1
    [gate] = [case for case in cases if case.name not in {"a", "b"}]
    assert isinstance(gate.result[0], Failure)
    assert "pass rate 50% is below 90%" in (gate.result[0].text or "")


def test_counts_that_agree_with_the_items_add_nothing(tmp_path: Path) -> None:
    run = ProcessRun.model_validate(
        {
            "items": [
                {"testCaseName": "a", "testOutcome": "failed"},
                {"testCaseName": "b", "testOutcome": "passed"},
            ]
        }
    )
    counts = {"total": 2, "passed": 1, "failed": 1, "blocked": 0, "aborted": 0, "skipped": 0}
    _, suite, cases = read(render_run_junit(run, counts, gate_failure="1 failed"), tmp_path)
    assert [case.name for case in cases] == ["a", "b"]
    assert suite.failures == 1
