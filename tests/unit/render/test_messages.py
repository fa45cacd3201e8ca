"""words.py: the log's first and last words: the create group, the verdict lines and the one annotation."""

from __future__ import annotations

import pytest

from certyn_action.api.models import Created, CreatedRun, RunStatus
from certyn_action.api.vocabulary import create_body
from certyn_action.gate import Result, Verdict
from certyn_action.render.words import create_lines, verdict
from certyn_action.report import Report
from certyn_action.settings import RunMetadata, read_settings
from tests.fakes import with_metadata

KEY = "sk-secret-123"
META = RunMetadata("acme/shop", "main", "a" * 40, "push", "https://ci/1", "https://ci/1", "https://ci/1")


def test_create_body_is_camel_case_and_omits_empty_fields() -> None:
    inputs = read_settings({"INPUT_API-KEY": KEY, "INPUT_PROJECT-SLUG": "p", "INPUT_TAGS": "a,b"})
    body = create_body(inputs, RunMetadata("", "main", "", "push", "", "", ""))
    assert body == {"projectSlug": "p", "tags": ["a", "b"], "ref": "main", "event": "push"}


def test_create_lines_show_what_is_sent_but_never_the_key() -> None:
    inputs = read_settings(
        {"INPUT_API-KEY": KEY, "INPUT_PROJECT-SLUG": "p", "INPUT_PROCESS-SLUG": "s\n::error::x"}
    )
    lines = create_lines(inputs, create_body(inputs, META), "gha:k")
    assert "projectSlug: p" in lines
    assert "Idempotency-Key: gha:k" in lines
    assert "X-API-Key: *** (redacted)" in lines
    assert all(KEY not in line and "\n" not in line for line in lines)
    assert any(line.startswith("Waiting up to 30m 00s") for line in lines)


def report_with(result: Result, *reasons: str, status: RunStatus | None = None) -> Report:
    inputs = read_settings({"INPUT_API-KEY": KEY, "INPUT_PROJECT-SLUG": "p", "INPUT_PROCESS-SLUG": "s"})
    created = Created(
        CreatedRun.model_validate({"runId": "r-1", "appUrl": "https://app/r-1"}), replayed=False
    )
    return Report(
        inputs=with_metadata(inputs, META),
        created=created,
        status=status,
        verdict=Verdict(result, reasons),
    )


def test_pass_is_one_notice_with_counts_and_the_link() -> None:
    lines, note = verdict(report_with(Result.PASSED, status=RunStatus(state="completed", total=3, passed=3)))
    assert lines == ["Certyn result: passed — 3/3 passed"]  # the same form as a failure's
    assert note is not None
    assert (note.kind, note.title) == ("notice", "Certyn tests passed")
    assert "https://app/r-1" in note.message


@pytest.mark.parametrize(
    ("result", "title", "kind"),
    [
        (Result.FAILED, "Certyn gate failed", "error"),
        (Result.TIMED_OUT, "Certyn run timed out", "error"),
        # the workflow cancelled the job (a newer push): a warning, as nothing tested is known to be wrong
        (Result.CANCELLED, "Certyn: GitHub job cancelled", "warning"),
    ],
)
def test_failures_are_one_annotation_with_every_reason(result: Result, title: str, kind: str) -> None:
    lines, note = verdict(report_with(result, "2 tests failed", "1 test blocked"))
    assert note is not None
    assert (note.kind, note.title) == (kind, title)
    assert "2 tests failed; 1 test blocked" in note.message
    assert "https://app/r-1" in note.message
    assert lines == [f"Certyn result: {result.value} — 2 tests failed; 1 test blocked"]


def test_a_timeout_says_certyns_last_counts_in_the_log_where_no_table_shows_them() -> None:
    status = RunStatus(state="in_progress", total=4, passed=1, pending=3)
    lines, note = verdict(report_with(Result.TIMED_OUT, "the run had not finished", status=status))
    counts = (
        "the run had not finished; Certyn's last counts: 1/4 done: 1 passed, 0 failed, 0 blocked, 3 pending"
    )
    assert lines == [f"Certyn result: timed-out — {counts}"]
    assert note is not None
    assert counts in note.message
    lines, _ = verdict(report_with(Result.TIMED_OUT, "the run had not finished"))  # no status read
    assert lines == ["Certyn result: timed-out — the run had not finished"]


def test_errors_are_annotated_where_they_happen_not_twice() -> None:
    _, note = verdict(report_with(Result.ERROR, "HTTP 500"))
    assert note is None
    lines, note = verdict(Report(verdict=Verdict(Result.ERROR, ("Input 'wait': bad",))))
    assert (lines, note) == ([], None)


def test_created_is_a_notice() -> None:
    _, note = verdict(report_with(Result.CREATED))
    assert note is not None
    assert note.kind == "notice"
    assert "wait: false" in note.message


def test_a_pass_a_disabled_switch_let_through_says_so() -> None:
    status = RunStatus(state="completed", total=5, passed=3, failed=2)
    report = report_with(Result.PASSED, status=status)
    report.verdict = Verdict(Result.PASSED, (), ("2 tests failed (fail-on-failed: false)",))
    lines, note = verdict(report)
    assert note is not None
    assert note.title == "Certyn gate passed"  # not "tests passed": two failed
    assert "2 tests failed (fail-on-failed: false)" in note.message
    assert "2 tests failed (fail-on-failed: false)" in lines[0]


@pytest.mark.parametrize(("floor", "ceiling", "shown"), [("5", "5", "every 5s"), ("5", "30", "every 5-30s")])
def test_the_poll_interval_is_shown_as_one_value_or_a_range(floor: str, ceiling: str, shown: str) -> None:
    inputs = read_settings(
        {
            "INPUT_API-KEY": KEY,
            "INPUT_PROJECT-SLUG": "p",
            "INPUT_PROCESS-SLUG": "s",
            "INPUT_POLL-INTERVAL-SECONDS": floor,
            "INPUT_MAX-POLL-INTERVAL-SECONDS": ceiling,
        }
    )
    (waiting,) = [line for line in create_lines(inputs, create_body(inputs, META), "k") if "polling" in line]
    assert waiting.endswith(shown)


def test_a_retry_line_never_says_zero_seconds_and_names_no_run() -> None:
    from certyn_action.render.words import retry_line  # noqa: PLC0415

    assert retry_line("cancel", 1, 5, "HTTP 503 while cancelling the run.", 0.01) == (
        "Cancel attempt 1/5 failed (HTTP 503 while cancelling the run.); retrying now"
    )
    assert retry_line("create", 2, 5, "HTTP 502", 2.26).endswith("; retrying in 2.3s")
    assert retry_line("create", 2, 5, "HTTP 502", 0.05).endswith("; retrying in 0.1s")


def test_a_retry_line_keeps_the_operation_as_written_but_its_first_letter() -> None:
    from certyn_action.render.words import retry_line  # noqa: PLC0415

    assert retry_line("AI conversation", 1, 5, "HTTP 503", 1.0).startswith(
        "AI conversation attempt 1/5 failed"
    )
    assert retry_line("per-test results", 1, 5, "HTTP 503", 1.0).startswith("Per-test results attempt 1/5")


@pytest.mark.parametrize(("attempts", "said"), [(1, "1 attempt,"), (2, "2 attempts,")])
def test_a_deployment_that_never_answered_counts_its_attempts_in_words(attempts: int, said: str) -> None:
    from certyn_action.render.words import deployment_down  # noqa: PLC0415

    message = deployment_down("30s", attempts, "connection refused")
    assert said in message
    assert "(s)" not in message
