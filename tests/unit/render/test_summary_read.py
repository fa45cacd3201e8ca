"""A red build read in five seconds (issue 19): every outcome's summary rendered with GitHub's parser and
read top down, as a user who just got a red build reads it."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import responses

from certyn_action.api.client import Outage, TimedOut
from certyn_action.api.models import ProcessRun, RunItem, RunStatus
from certyn_action.gate import Result, verdict_for
from certyn_action.render import words
from certyn_action.render.summary import render_summary
from certyn_action.report import Report
from certyn_action.runner.workflow import WorkflowLog
from tests.rendered import read
from tests.unit.render.test_summary import _inputs, _report
from tests.unit.render.test_summary_rendered import APP, CASES, check_invariants, summary_of

NO_RUN = {"outage-on-create", "deployment-down", "not-found", "key-rejected", "input-errors"}
NO_LINK = {"attached-not-found"}  # Certyn never answered for it: only its id is known


@responses.activate
@pytest.mark.parametrize("name", sorted(set(CASES) - NO_RUN - NO_LINK))
def test_the_run_link_comes_right_under_the_headline(name: str, tmp_path: Path) -> None:
    view = read(summary_of(name, tmp_path))
    assert view.links[0] == (APP, "Open run r-1 in Certyn"), view.links
    first = view.html.split("</h2>", 1)[1].lstrip()
    assert first.startswith(f'<p><strong><a href="{APP}">Open run r-1 in Certyn</a></strong></p>'), first


@responses.activate
def test_a_run_without_a_link_is_named_under_the_headline(tmp_path: Path) -> None:
    view = read(summary_of("attached-not-found", tmp_path))
    first = view.html.split("</h2>", 1)[1].lstrip()
    assert first.startswith("<p><strong>Certyn run:</strong> <code>r-404</code></p>"), first


@responses.activate
@pytest.mark.parametrize("name", sorted(NO_RUN))
def test_no_run_no_run_line(name: str, tmp_path: Path) -> None:
    view = read(summary_of(name, tmp_path))
    assert "Open run" not in view.text
    assert "Certyn run:" not in view.text


@responses.activate
@pytest.mark.parametrize(
    ("name", "phrase"),
    [
        ("failed", "Open the run in Certyn"),
        ("failed", "Resolve the blocked tests in Certyn"),
        ("blocked", "Resolve the blocked tests in Certyn"),
        ("incomplete", "Open the run in Certyn"),
    ],
)
def test_the_next_step_that_sends_the_reader_to_the_run_is_a_link_to_it(
    name: str, phrase: str, tmp_path: Path
) -> None:
    view = read(summary_of(name, tmp_path))
    assert (APP, phrase) in view.links, view.links
    next_step = re.search(r"Next steps?:</strong>(?:</p>)?(.*?)</(?:p|ul)>", view.html, re.S)
    assert next_step is not None, view.html
    assert f'<a href="{APP}">{phrase}</a>' in next_step.group(1)


def test_a_preview_names_the_deployment_it_tested_not_the_temporary_environment() -> None:
    tested = "https://pr-12.shop.test:8443/app/"
    report = _report(Result.FAILED, ("2 tests failed",), inputs=_inputs(base_url=tested + "?token=s3cr3t"))
    report.temporary_environment = "gha-shop-1-efq6"
    text = render_summary(report)
    view = read(text)
    assert view.headings == [f"❌ Certyn gate failed — smoke on {tested}"], view.headings
    assert "gha-shop-1-efq6" not in view.headings[0]
    assert view.row("Deployment") == ["Deployment", tested]
    assert (tested, tested) in view.links
    assert "s3cr3t" not in text


def _with_results(outcomes: list[str]) -> Report:
    report = _report(Result.FAILED, (f"{outcomes.count('failed')} tests failed",))
    items = [
        RunItem.model_validate({"testCaseName": f"t{n}", "testOutcome": outcome})
        for n, outcome in enumerate(outcomes)
    ]
    report.findings.results = ProcessRun.model_validate({"items": []}).model_copy(
        update={"items": tuple(items)}
    )
    return report


def test_the_gate_annotation_counts_the_failing_tests_without_an_annotation_and_says_where_they_are() -> None:
    _, beyond = words.verdict(_with_results(["failed"] * 62 + ["passed"] * 18))
    assert beyond is not None
    assert "53 more failing tests without an annotation: see Certyn (12 of them not in the job summary)." in (
        beyond.message
    )
    _, within_table = words.verdict(_with_results(["failed"] * 20))
    assert within_table is not None
    assert "11 more failing tests without an annotation: see the job summary's table." in within_table.message
    _, all_annotated = words.verdict(_with_results(["failed"] * 9))
    assert all_annotated is not None
    assert "without an annotation" not in all_annotated.message


def test_an_attached_run_shows_its_own_commit_not_this_workflows() -> None:
    report = _report(inputs=_inputs(run_id="r1", process_slug=""))
    view = read(render_summary(report))
    assert view.row("Commit") is None  # Certyn did not say: this workflow's commit would be a guess
    report.status = RunStatus.model_validate(
        {"state": "completed", "total": 1, "passed": 1, "commitSha": "c0ffee" * 6}
    )
    view = read(render_summary(report))
    assert view.row("Commit") == ["Commit", "c0ffeec (the attached run's)"]
    assert "0123456" not in view.text  # this workflow's commit


def test_a_created_run_shows_this_workflows_commit() -> None:
    view = read(render_summary(_report()))
    assert view.row("Commit") == ["Commit", "0123456 on main"]


def test_an_outage_from_the_start_does_not_say_since_0s() -> None:
    def reason(since: float) -> str:
        error = TimedOut(None, Outage(since, 4, "HTTP 503."))
        return verdict_for(error, 60, seen=False, run_known=True, redact=str).reasons[0]

    assert reason(0.2).startswith(
        "Certyn API unreachable from the step's start (4 failed polls, the last: HTTP 503)"
    )
    assert reason(70).startswith("Certyn API unreachable since 1m 10s into the step (4 failed polls")


def test_log_lines_and_annotations_show_no_markdown_code_spans() -> None:
    report = _report(Result.FAILED, ("the run did not report `failed` (missing or null)",))
    lines, note = words.verdict(report)
    assert lines == ["Certyn result: failed — the run did not report failed (missing or null)"]
    stream = io.StringIO()
    log = WorkflowLog(stream)
    assert note is not None
    log.error(note.message, title="`x` title")
    log.warning("`junit-report` was not written")
    assert stream.getvalue().splitlines() == [
        "::error title=x title::Run r1: the run did not report failed (missing or null). https://app.certyn.io/runs/r1",
        "::warning::junit-report was not written",
    ]


def test_why_per_test_results_are_missing_shows_input_names_as_code_not_backticks() -> None:
    report = _report(Result.FAILED, ("2 tests failed",))
    report.findings.results_note = (
        "project `shop` is not among the projects (check `project-slug`) <img src=x>"
    )
    view = read(render_summary(report))
    check_invariants(view)
    [note] = [item for item in view.items if item.startswith("Per-test results unavailable")]
    assert (
        note
        == "Per-test results unavailable: project shop is not among the projects (check project-slug) <img src=x>"
    )
    assert "<code>project-slug</code>" in view.html
