"""The job summary (GitHub-flavoured Markdown). Pure: every piece of server or input text is escaped,
links are rendered only for http(s) URLs, and the result stays far below the runner's 1 MiB limit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..gate import Result, unaccounted
from . import wording
from .inputs import Inputs
from .report import Report
from .text import format_duration, markdown, markdown_link, markdown_with_code, safe_url, truncate
from .vocabulary import COUNTERS

if TYPE_CHECKING:
    from .models import RunStatus

MAX_REASONS = 20


def render_summary(report: Report) -> str:
    lines = _heading(report)
    lines += _reasons(report)
    lines += _waived(report)
    lines += _next_steps(report)
    lines += _counts(report)
    lines += _findings(report)
    lines += _details(report)
    lines += _cancel(report)
    lines += _notes(report)
    return "\n".join(lines).rstrip() + "\n"


def _heading(report: Report) -> list[str]:
    """The verdict, named by its cause, and what ran (so that the legs of a matrix are told apart)."""
    verdict = report.verdict
    heading = wording.heading(verdict.result, waived=bool(verdict.waived), cause=verdict.cause)  # our words
    inputs = report.inputs
    if inputs is None:
        return [f"## {heading}", ""]
    if inputs.run_id:
        what = f"run {_code(inputs.run_id)}"
    elif inputs.process_slug:
        what = _code(inputs.process_slug)
    else:
        more = len(inputs.tags) - 3
        what = "tags " + ", ".join(_code(tag) for tag in inputs.tags[:3]) + (f" +{more}" if more > 0 else "")
    if environment := inputs.environment_key or report.temporary_environment:
        what += f" on {_code(environment)}"
    return [f"## {heading} — {what}", ""]


def _next_steps(report: Report) -> list[str]:
    verdict = report.verdict
    steps = wording.next_steps(verdict.result, verdict.cause, verdict.failed_by)
    if not steps:
        return []
    if len(steps) == 1:
        return [f"**Next step:** {markdown_with_code(steps[0], 1000)}", ""]
    return ["**Next steps:**", "", *(f"- {markdown_with_code(step, 1000)}" for step in steps), ""]


def _notes(report: Report) -> list[str]:
    lines: list[str] = []
    for note in report.notes[:MAX_REASONS]:  # a blank line apart: one quote each, not one run-on paragraph
        lines += [f"> {markdown_with_code(note, 1000)}", ""]
    return lines


def _cancel(report: Report) -> list[str]:
    """What this step's cancel did; a failed one says plainly that the run may still be running, linked."""
    cancel = report.cancel
    if cancel is None:
        return []
    if cancel.accepted:
        return [f"> {markdown_with_code(wording.cancel_requested(cancel.cause, cancel.outcome), 1000)}", ""]
    text = markdown_with_code(wording.cancel_failed(cancel.cause, cancel.outcome), 1000)
    link = markdown_link("Open the run in Certyn", report.app_url) if safe_url(report.app_url) else ""
    return [f"> ⚠️ {text}" + (f" {link}" if link else ""), ""]


def _findings(report: Report) -> list[str]:
    """Per-test results and the AI answer (``results_summary.py``), when the run ended and they were asked for."""
    findings = report.findings
    if findings.results is None and not findings.results_note and not findings.asked and not findings.notes:
        return []
    from .results_summary import render_findings  # noqa: PLC0415 - pydantic only when there is something

    return [render_findings(findings, run_url=report.app_url)]


def _reasons(report: Report) -> list[str]:
    reasons = report.verdict.reasons
    if not reasons:
        return []
    items = [f"- {markdown_with_code(reason, 1000)}" for reason in reasons[:MAX_REASONS]]
    if len(reasons) > MAX_REASONS:
        items.append(f"- … and {len(reasons) - MAX_REASONS} more")
    return [*items, ""]


def _waived(report: Report) -> list[str]:
    waived = report.verdict.waived
    if not waived:
        return []
    items = [f"- {markdown_with_code(item, 1000)}" for item in waived[:MAX_REASONS]]
    if report.verdict.result is Result.PASSED:
        return ["Let through because the workflow turned these checks off:", "", *items, ""]
    return ["Also found, not counted because the workflow turned these checks off:", "", *items, ""]


def _counts(report: Report) -> list[str]:
    status = report.status
    if status is None:
        return []
    names = [name.capitalize() for name in COUNTERS]
    values = [str(getattr(status, name)) for name in COUNTERS]
    if missing := unaccounted(status):  # counted as neither an outcome nor pending: its own column
        names.append("No result")
        values.append(str(missing))
    table = ["| " + " | ".join(names) + " |", "|" + "---:|" * len(names), "| " + " | ".join(values) + " |"]
    return [*table, "", _state(report, status), ""]


def _state(report: Report, status: RunStatus) -> str:
    """Certyn's own words for the run, labelled as Certyn's (the verdict is the heading's), and when they
    were read if this step cancelled the run."""
    cancel = report.cancel
    line = f"**Certyn's state:** {_code(status.state or 'unknown')}"
    if cancel is not None:
        when = wording.state_after_cancel(
            cancel.cause, accepted=cancel.accepted, read_after=cancel.read_after
        )
        line += f" — {markdown(when)}"
    if status.conclusion:
        line += f" · **Certyn's conclusion:** {_code(status.conclusion)} (Certyn's own word, not this step's verdict)"
    return line


def _details(report: Report) -> list[str]:
    rows: list[tuple[str, str]] = []
    if report.run_id:
        label = f"Run {truncate(report.run_id, 80)} in Certyn"
        rows.append(
            ("Certyn run", markdown_link(label, report.app_url) if report.app_url else markdown(label))
        )
    meta, inputs = report.metadata, report.inputs
    if meta and meta.job_url:
        if meta.job_url == meta.run_url:  # the job's id was unknown (check-run-id): the run attempt
            rows.append(("GitHub run", markdown_link(meta.run_name or "this workflow run", meta.job_url)))
        else:
            job = f"job {meta.job_name}" if meta.job_name else "this job"
            label = f"{job} in {meta.run_name}" if meta.run_name else job
            rows.append(("GitHub job", markdown_link(label, meta.job_url)))
    if inputs:
        rows.append(("Project", _code(inputs.project_slug)))
        rows.append(("Environment", _environment(report)))
        rows.append(_selection(inputs))
    if meta and (meta.commit_sha or meta.ref):
        commit = _code(meta.commit_sha[:7]) if meta.commit_sha else ""
        if commit and safe_url(meta.commit_url):
            commit = f"[{commit}]({safe_url(meta.commit_url)})"
        ref = _code(meta.ref) if meta.ref else ""
        rows.append(("Commit", " on ".join(part for part in (commit, ref) if part)))
    if rows:  # alone (after input errors, before anything happened) it would only say "0s"
        rows.append(("Duration", format_duration(report.duration)))
    if report.created and report.created.replayed:
        rows.append(("Idempotency", "replayed: this step had already created the run, so it was reused"))
    if not rows:
        return []
    return ["| Detail | Value |", "|---|---|", *(f"| **{name}** | {value} |" for name, value in rows), ""]


def _selection(inputs: Inputs) -> tuple[str, str]:
    """What the run runs: the process, the tags, or (``run-id``) whatever the attached run was made with."""
    if inputs.run_id:
        return ("Attached", "to an existing run (`run-id`): this step did not create it")
    if inputs.process_slug:
        return ("Process", _code(inputs.process_slug))
    shown = ", ".join(_code(tag) for tag in inputs.tags[:30])
    return ("Tags", shown + (f" … (+{len(inputs.tags) - 30})" if len(inputs.tags) > 30 else ""))


def _environment(report: Report) -> str:
    if report.temporary_environment:
        return f"{_code(report.temporary_environment)} (temporary, for `base-url`)"
    if report.inputs and report.inputs.run_id:
        return "the run's own"
    if report.inputs and report.inputs.base_url:
        return "temporary, for `base-url` (not created)"
    return _code(report.environment_key) if report.environment_key else "project default"


def _code(text: str) -> str:
    # Escaped text in a code-like style; backticks would stop escaping, so use <code> after escaping.
    return f"<code>{markdown(text, 200)}</code>"
