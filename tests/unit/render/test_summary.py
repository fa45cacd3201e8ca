"""summary.py: the job summary says what happened, links only to http(s), and escapes server text."""

from __future__ import annotations

import re
from typing import Any

import pytest

from certyn_action.api.models import Created, CreatedRun, RunStatus
from certyn_action.gate import Result, Verdict
from certyn_action.render.summary import MAX_REASONS, render_summary
from certyn_action.render.words import heading
from certyn_action.report import Report
from certyn_action.settings import RunMetadata, Settings, read_settings
from tests.fakes import with_metadata

EVIL = "<img src=x onerror=alert(1)> [x](javascript:alert(1)) | a | b ![i](https://e.example/i.png) **b**"


def _inputs(**overrides: str) -> Settings:
    values = {"api-key": "k", "project-slug": "shop", "process-slug": "smoke"}
    values.update({name.replace("_", "-"): value for name, value in overrides.items()})
    return read_settings({"INPUT_" + name.upper(): value for name, value in values.items()})


def _meta(**fields: str) -> RunMetadata:
    data = {
        "repository": "acme/shop",
        "ref": "main",
        "commit_sha": "0123456789abcdef",
        "event": "push",
        "external_url": "https://github.com/acme/shop/actions/runs/1/job/2",
        "job_url": "https://github.com/acme/shop/actions/runs/1/job/2",
        "run_url": "https://github.com/acme/shop/actions/runs/1/attempts/1",
        "job_name": "e2e",
        "run_name": "CI #42",
        "commit_url": "https://github.com/acme/shop/commit/0123456789abcdef",
    }
    data.update(fields)
    return RunMetadata(**data)


def _report(
    result: Result = Result.PASSED,
    reasons: tuple[str, ...] = (),
    *,
    status: dict[str, Any] | None = None,
    app_url: str = "https://app.certyn.io/runs/r1",
    replayed: bool = False,
    inputs: Settings | None = None,
    meta: RunMetadata | None = None,
    run_id: str = "r1",
    notes: list[str] | None = None,
    duration: float = 125.0,
) -> Report:
    status_data: dict[str, Any] = {"state": "completed", "conclusion": "success", "total": 3, "passed": 3}
    if status is not None:
        status_data = status
    return Report(
        inputs=with_metadata(inputs or _inputs(), meta or _meta()),
        created=Created(CreatedRun.model_validate({"runId": run_id, "appUrl": app_url}), replayed),
        status=RunStatus.model_validate(status_data),
        verdict=Verdict(result, reasons),
        notes=notes or [],
        duration=duration,
    )


def _cells(row: str) -> int:
    """Cells of a GFM table row: split on pipes that no backslash escapes (as cmark-gfm does)."""
    assert row.startswith("|")
    assert row.endswith("|")
    return len(re.split(r"(?<!\\)\|", row)) - 2


def _check_tables(text: str) -> None:
    """Every table keeps the column count of its header."""
    width: int | None = None
    for line in text.split("\n"):
        if not line.startswith("|"):
            width = None
            continue
        if width is None:
            width = _cells(line)
        assert _cells(line) == width, line


def _links(text: str) -> list[str]:
    return re.findall(r"\]\(([^)]*)\)", text)


def _check_safe(text: str) -> None:
    assert "<" not in text.replace("<code>", "").replace("</code>", "")
    for target in _links(text):
        assert target.startswith(("https://", "http://")), target
    _check_tables(text)


# -- content --------------------------------------------------------------------------------------


@pytest.mark.parametrize("result", list(Result))
def test_heading_per_result(result: Result) -> None:
    text = render_summary(_report(result))
    assert text.startswith(f"## {heading(Verdict(result))} — <code>smoke</code>\n")
    assert len({heading(Verdict(r)) for r in Result}) == len(Result)


def test_counts_table_drops_the_columns_that_are_0_of_pending_aborted_and_skipped() -> None:
    status = {"state": "completed", "total": 12, "passed": 5, "failed": 2, "blocked": 1, "pending": 0}
    status |= {"aborted": 3, "skipped": 1}
    lines = render_summary(_report(Result.FAILED, status=status)).split("\n")
    i = lines.index("| Total | Passed | Failed | Blocked | Aborted | Skipped |")
    assert lines[i + 1] == "|---:|---:|---:|---:|---:|---:|"
    assert lines[i + 2] == "| 12 | 5 | 2 | 1 | 3 | 1 |"
    lines = render_summary(_report(status={"state": "completed", "total": 3, "passed": 3})).split("\n")
    i = lines.index("| Total | Passed | Failed | Blocked |")  # failed and blocked: always, 0 is the news
    assert lines[i + 2] == "| 3 | 3 | 0 | 0 |"


def test_certyns_conclusion_is_shown_only_where_it_differs_from_the_verdict() -> None:
    agreeing = [
        (Result.PASSED, {"state": "completed", "conclusion": "success"}),
        (Result.FAILED, {"state": "completed", "conclusion": "failure"}),
        (Result.FAILED, {"state": "cancelled", "conclusion": "cancelled"}),  # the state says it
    ]
    for result, status in agreeing:
        assert "Certyn's conclusion" not in render_summary(_report(result, status=status)), status
    # a completed run whose conclusion agrees: the state line has nothing to add to the heading either
    assert "Certyn's state" not in render_summary(_report(Result.PASSED))
    assert "Certyn's state" not in render_summary(_report(Result.FAILED, status=agreeing[1][1]))
    assert "Certyn's state:** <code>cancelled</code>" in render_summary(
        _report(Result.FAILED, status=agreeing[2][1])
    )
    differing = _report(Result.PASSED, status={"state": "completed", "conclusion": "action_required"})
    assert "**Certyn's conclusion:** <code>action\\_required</code>" in render_summary(differing)


def test_no_counts_without_status() -> None:
    report = _report(Result.ERROR, ("could not create the run",))
    report.status = None
    text = render_summary(report)
    assert "| Total |" not in text
    assert "- could not create the run" in text


def test_state_and_conclusion_shown() -> None:
    text = render_summary(_report(status={"state": "completed", "conclusion": "failure"}))
    assert (
        "**Certyn's state:** <code>completed</code> · **Certyn's conclusion:** <code>failure</code> "
        "(Certyn's own word, not this step's verdict)"
    ) in text
    text = render_summary(_report(status={"state": None}))
    assert "**Certyn's state:** <code>unknown</code>" in text
    assert "Conclusion" not in text


def test_reasons_listed() -> None:
    text = render_summary(_report(Result.FAILED, ("2 tests failed", "1 test aborted")))
    assert "- 2 tests failed\n- 1 test aborted\n" in text


def test_many_reasons_cut_with_a_count() -> None:
    reasons = tuple(f"reason {i}" for i in range(MAX_REASONS + 5))
    text = render_summary(_report(Result.FAILED, reasons))
    assert f"reason {MAX_REASONS - 1}" in text
    assert f"reason {MAX_REASONS}\n" not in text
    assert "- … and 5 more" in text


def test_details_rows() -> None:
    inputs = _inputs(environment_key="staging")
    text = render_summary(_report(inputs=inputs))
    assert "Certyn run" not in text  # the run: linked right under the headline, not again down here
    assert text.count("(https://app.certyn.io/runs/r1)") == 1
    assert (
        "| **GitHub job** | [job e2e in CI \\#\u206042](https://github.com/acme/shop/actions/runs/1/job/2) |"
        in text
    )
    assert "| **Project** | <code>shop</code> |" in text
    assert "| **Environment** | <code>staging</code> |" in text
    assert "| **Process** | <code>smoke</code> |" in text
    commit = "[<code>0123456</code>](https://github.com/acme/shop/commit/0123456789abcdef)"
    assert f"| **Commit** | {commit} on <code>main</code> |" in text
    assert "| **Duration** | 2m 05s |" in text
    assert "Idempotency" not in text


def test_details_table_has_a_header() -> None:
    text = render_summary(_report())
    assert "| Detail | Value |\n|---|---|\n| **GitHub job** |" in text
    assert "| | |" not in text


def test_job_link_without_names_says_this_job() -> None:
    text = render_summary(_report(meta=_meta(job_name="", run_name="")))
    assert "| **GitHub job** | [this job](https://github.com/acme/shop/actions/runs/1/job/2) |" in text


def test_commit_without_its_url_is_not_linked() -> None:
    text = render_summary(_report(meta=_meta(commit_url="")))
    assert "| **Commit** | <code>0123456</code> on <code>main</code> |" in text
    text = render_summary(_report(meta=_meta(commit_url="javascript:alert(1)")))
    assert "| **Commit** | <code>0123456</code> on <code>main</code> |" in text


def test_input_errors_alone_have_no_details_table() -> None:
    report = Report(verdict=Verdict(Result.ERROR, ("Input `project-slug` is required.",)))
    text = render_summary(report)
    assert "Duration" not in text
    assert "|" not in text
    assert "Input <code>project\\-slug</code> is required\\." in text


def test_backticks_in_reasons_and_notes_become_code() -> None:
    report = _report(
        Result.FAILED,
        ("check `process-slug` or `tags`",),
        notes=["left running (`cancel-on-timeout` is false)"],
    )
    text = render_summary(report)
    assert "- check <code>process\\-slug</code> or <code>tags</code>" in text
    assert "> left running \\(<code>cancel\\-on\\-timeout</code> is false\\)" in text


def test_default_environment_and_tags() -> None:
    text = render_summary(_report(inputs=_inputs(process_slug="", tags="smoke, api")))
    assert "| **Environment** | project default |" in text
    assert "| **Tags** | <code>smoke</code>, <code>api</code> |" in text
    assert "**Process**" not in text


def test_many_tags_cut_with_a_count() -> None:
    tags = ",".join(f"t{i}" for i in range(45))
    text = render_summary(_report(inputs=_inputs(process_slug="", tags=tags)))
    assert "<code>t29</code>" in text
    assert "<code>t30</code>" not in text
    assert "… (+15)" in text


def test_replay_note() -> None:
    text = render_summary(_report(replayed=True))
    assert "| **Idempotency** | replayed:" in text


@pytest.mark.parametrize(("seconds", "shown"), [(0, "0s"), (45.9, "45s"), (125, "2m 05s"), (3720, "1h 02m")])
def test_duration(seconds: float, shown: str) -> None:
    assert f"| **Duration** | {shown} |" in render_summary(_report(duration=seconds))


def test_notes_as_quotes() -> None:
    text = render_summary(_report(notes=["the run keeps running in Certyn"]))
    assert "> the run keeps running in Certyn" in text


def test_minimal_report_renders() -> None:
    text = render_summary(Report())
    assert text.startswith(f"## {heading(Verdict(Result.ERROR))}\n")
    assert "the action stopped unexpectedly" in text
    assert text.endswith("\n")
    _check_safe(text)


# -- links ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "/runs/r1",
        "runs/r1",
        "//evil.example",
    ],
)
def test_unsafe_app_url_is_not_linked(url: str) -> None:
    text = render_summary(_report(app_url=url))
    assert "**Certyn run:** <code>r1</code>" in text
    assert url not in text
    _check_safe(text)


def test_status_app_url_preferred_and_also_checked() -> None:
    report = _report(
        app_url="https://app.certyn.io/created", status={"state": "completed", "appUrl": "javascript:x"}
    )
    text = render_summary(report)
    assert "javascript" not in text
    # an unusable app URL in the status is no URL: the one from the create is still linked
    assert "(https://app.certyn.io/created)" in text


def test_unsafe_job_url_is_not_linked() -> None:
    text = render_summary(_report(meta=_meta(job_url="javascript:alert(1)")))
    assert "| **GitHub job** | job e2e in CI \\#\u206042 |" in text


def test_app_url_with_markdown_breaking_characters_is_encoded() -> None:
    text = render_summary(_report(app_url="https://app.certyn.io/r/1) [x](javascript:alert(1)|"))
    links = [t for t in _links(text) if "certyn" in t]
    assert len(links) == 1  # under the headline
    for link in links:
        assert " " not in link
        assert "|" not in link
    _check_safe(text)


# -- escaping -------------------------------------------------------------------------------------


def test_server_text_escaped_everywhere() -> None:
    report = _report(
        Result.FAILED,
        (EVIL, "ok"),
        status={"state": EVIL, "conclusion": EVIL, "total": 1, "failed": 1},
        inputs=_inputs(project_slug=EVIL, environment_key=EVIL, process_slug="", tags=f"{EVIL}\n<b>|t|</b>"),
        meta=_meta(ref=EVIL, commit_sha="<script>xx", commit_url="", job_name=EVIL, run_name=EVIL),
        run_id="r1|<b>](x)",
        notes=[EVIL],
    )
    text = render_summary(report)
    _check_safe(text)
    assert "](" in text  # our own links remain
    # the run under the headline, the job in the details
    assert len(_links(text)) == 2, _links(text)
    assert "onerror=alert" not in text.replace("onerror\\=alert", "")
    assert "\n" not in EVIL  # each server string stays on its line
    assert "| **Project** |" in text


@pytest.mark.parametrize("field", ["state", "conclusion"])
def test_newlines_in_server_text_cannot_start_new_blocks(field: str) -> None:
    text = render_summary(
        _report(status={"state": "completed", field: "x\n\n| a | b |\n# Heading\n<script>"})
    )
    assert "\n# Heading" not in text
    assert "\n| a |" not in text
    _check_safe(text)


def test_reason_starting_with_hash_is_not_a_heading() -> None:
    text = render_summary(_report(Result.ERROR, ("# Deploy now",), notes=["## Also"]))
    assert "- # " not in text
    assert "> ## " not in text


def test_huge_inputs_stay_below_one_mebibyte() -> None:
    big = ('"<>&|[]' * 10_000) + "😀" * 10_000
    tags = ",".join(f"{big}{i}" for i in range(200))
    report = _report(
        Result.FAILED,
        tuple(big + str(i) for i in range(500)),
        status={"state": big, "conclusion": big},
        inputs=_inputs(project_slug=big, environment_key=big, process_slug="", tags=tags),
        meta=_meta(ref=big, commit_sha=big),
        app_url="https://app.certyn.io/" + "a" * 5000,
        run_id="r" * 200,
        notes=[big] * 500,
    )
    text = render_summary(report)
    assert len(text.encode("utf-8")) < 512 * 1024
    _check_safe(text)


def test_a_pass_with_checks_turned_off_lists_what_they_let_through() -> None:
    report = _report(status={"state": "completed", "total": 5, "passed": 3, "failed": 2})
    report.verdict = Verdict(Result.PASSED, (), ("2 tests failed (fail-on-failed: false)",))
    text = render_summary(report)
    assert text.startswith("## ✅ Certyn gate passed — <code>smoke</code>\n")
    assert "turned these checks off" in text
    assert "- 2 tests failed \\(fail\\-on\\-failed\\: false\\)" in text


def test_without_the_job_id_the_link_is_to_the_workflow_run() -> None:
    attempt = "https://github.com/acme/shop/actions/runs/1/attempts/1"
    text = render_summary(_report(meta=_meta(job_url=attempt, external_url=attempt)))
    assert f"| **GitHub run** | [CI \\#\u206042]({attempt}) |" in text
    assert "job e2e" not in text
    text = render_summary(_report(meta=_meta(job_url=attempt, external_url=attempt, run_name="")))
    assert f"| **GitHub run** | [this workflow run]({attempt}) |" in text


def test_a_failure_also_lists_what_turned_off_checks_did_not_count() -> None:
    report = _report(Result.FAILED, ("1 test blocked (needs a human in Certyn)",))
    report.verdict = Verdict(
        Result.FAILED, report.verdict.reasons, ("2 tests failed (fail-on-failed: false)",)
    )
    text = render_summary(report)
    assert "Also found, not counted because the workflow turned these checks off:" in text
    assert "Let through" not in text


# -- base-url and run-id -----------------------------------------------------------------------------


def test_the_temporary_environment_is_named_in_the_details() -> None:
    report = _report(inputs=_inputs(base_url="https://pr-1.example.com"))
    report.temporary_environment = "gha-shop-1-1-e2e-0-abc"
    text = render_summary(report)
    assert (
        "| **Environment** | <code>gha\\-shop\\-1\\-1\\-e2e\\-0\\-abc</code> (temporary, for `base-url`) |"
        in text
    )
    assert report.outputs()["environment-key"] == "gha-shop-1-1-e2e-0-abc"


def test_a_temporary_environment_never_made_is_not_the_project_default() -> None:
    report = _report(
        Result.ERROR, ("base-url did not answer",), inputs=_inputs(base_url="https://pr-1.example.com")
    )
    assert "temporary, for `base-url` (not created)" in render_summary(report)
    assert report.outputs()["environment-key"] == ""


def test_a_base_url_run_says_where_its_tests_ran_and_names_its_variables_never_their_values() -> None:
    cloud = _report(inputs=_inputs(base_url="https://pr-1.example.com", variables="USER=qa@example.com"))
    cloud.temporary_environment = "gha-env"
    text = render_summary(cloud)
    assert "| **Ran on** | Certyn's cloud runners |" in text
    assert "| **Variables** | <code>USER</code> (values masked) |" in text
    assert "qa@example" not in text
    pool = _report(inputs=_inputs(base_url="https://pr-1.example.com", runner_pool="<b>lab</b>"))
    pool.temporary_environment = "gha-env"
    text = render_summary(pool)
    assert (
        "| **Ran on** | self-hosted runner pool <code>&lt;b&gt;lab&lt;\\/b&gt;</code> (`runner-pool`) |"
        in text
    )
    assert "**Variables**" not in text


def test_where_the_tests_ran_is_said_only_once_the_environment_and_the_run_exist() -> None:
    inputs = _inputs(base_url="https://pr-1.example.com", runner_pool="lab", variables="A=b")
    report = _report(Result.ERROR, ("no",), inputs=inputs)
    assert "**Ran on**" not in render_summary(report)
    report = Report(inputs=with_metadata(inputs, _meta()), temporary_environment="gha-env")
    text = render_summary(report)
    assert "**Ran on**" not in text
    assert "**Variables**" not in text  # not all were set: no run was created


def test_an_attached_run_says_it_was_not_created_here() -> None:
    inputs = read_settings({"INPUT_API-KEY": "k", "INPUT_PROJECT-SLUG": "shop", "INPUT_RUN-ID": "run-7"})
    report = Report(inputs=with_metadata(inputs, _meta()), attached_run_id="run-7")
    text = render_summary(report)
    assert "| **Attached** | to an existing run (`run-id`): this step did not create it |" in text
    assert "**Process**" not in text
    assert report.outputs()["run-id"] == "run-7"
    assert report.outputs()["status-url"] == "https://api.certyn.io/api/ci/runs/run-7"


def test_the_environment_key_output_is_the_given_one_without_base_url() -> None:
    assert _report(inputs=_inputs(environment_key="staging")).outputs()["environment-key"] == "staging"
