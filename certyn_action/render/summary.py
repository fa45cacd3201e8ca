"""The job summary, the check run's summary and the pull-request comment (GitHub-flavoured Markdown). Pure:
server and input text is escaped (``markdown``), Certyn's Markdown written anew (``formatted``,
``formatted_block``), the instruction fenced; links only to http(s); far below the runner's 1 MiB limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..api.vocabulary import COUNTERS
from ..gate import Result, unaccounted
from ..report import Findings, Report
from ..settings import Settings
from . import words
from .escape import (
    fenced,
    format_duration,
    formatted,
    formatted_block,
    markdown,
    markdown_link,
    markdown_with_code,
    plural,
    safe_url,
    truncate,
    without_secrets,
)
from .words import ICONS, MAX_ROWS, PASSING, SHOWN_IF_NOT_ZERO

if TYPE_CHECKING:
    from ..api.models import RunItem, RunStatus
    from ..diagnosis import DiagnosedTest, Diagnosis

MAX_REASONS = 20
MAX_CELL_NAME = 200
MAX_CELL_FINDING = 300
MAX_SHOWN_ANSWER = 20_000
MAX_SHOWN_INSTRUCTION = 10_000
MAX_SHOWN_OBSERVATIONS = 5
# Certyn's conclusions that say what the verdict says: the line on Certyn's conclusion is left out then
AGREEING = {
    Result.PASSED: frozenset({"success", "passed", "succeeded"}),
    Result.FAILED: frozenset({"failure", "failed"}),
}


def render_summary(report: Report) -> str:
    head = (_heading, _run_link, _reasons, _waived, _next_steps, _counts)
    sections = (*head, _findings, _details, _cancel, _notes)
    return "\n".join(line for section in sections for line in section(report)).rstrip() + "\n"


def _heading(report: Report) -> list[str]:
    """The verdict, named by its cause, and what ran (so that the legs of a matrix are told apart)."""
    heading = words.heading(report.verdict)
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
    if inputs.base_url:  # a preview: the deployment it tested, not the temporary environment's key
        what += f" on {_code(without_secrets(inputs.base_url))}"
    elif environment := inputs.environment_key or report.temporary_environment:
        what += f" on {_code(environment)}"
    return [f"## {heading} — {what}", ""]


def _run_link(report: Report) -> list[str]:
    """The run, right under the headline: the first thing a reader of a red build opens."""
    if not report.run_id:
        return []
    run = truncate(report.run_id, 80)
    if safe_url(report.app_url):
        return [f"**{markdown_link(f'Open run {run} in Certyn', report.app_url)}**", ""]
    return [f"**Certyn run:** {_code(run)}", ""]


def _next_steps(report: Report) -> list[str]:
    verdict = report.verdict
    steps = words.next_steps(verdict.result, verdict.cause, verdict.failed_by)
    shown = [_linked(_words(step), report.app_url) for step in steps[:MAX_REASONS]]
    if len(shown) == 1:
        return [f"**Next step:** {shown[0]}", ""]
    return ["**Next steps:**", "", *(f"- {step}" for step in shown), ""] if shown else []


def _linked(sentence: str, url: str) -> str:
    """``sentence`` with its first words that send the reader to the run (``TO_THE_RUN``) a link to it."""
    target = safe_url(url)
    phrase = next((phrase for phrase in words.TO_THE_RUN if phrase in sentence), None) if target else None
    return sentence.replace(phrase, f"[{phrase}]({target})", 1) if phrase else sentence


def _notes(report: Report) -> list[str]:
    # a blank line apart: one quote each, not one run-on paragraph
    return [line for note in report.notes[:MAX_REASONS] for line in (f"> {_words(note)}", "")]


def _words(text: str) -> str:
    """A sentence of ours (with `input` names as code) around untrusted parts, escaped."""
    return markdown_with_code(text, 1000)


def _items(texts: Sequence[str]) -> list[str]:
    """The first ``MAX_REASONS`` sentences as a list, and how many more there are ([] for none)."""
    if not texts:
        return []
    more = [f"- … and {len(texts) - MAX_REASONS} more"] if len(texts) > MAX_REASONS else []
    return [*(f"- {_words(text)}" for text in texts[:MAX_REASONS]), *more, ""]


def _cancel(report: Report) -> list[str]:
    cancel = report.cancel
    if cancel is None:
        return []
    note = _words(words.cancel_note(cancel))
    return [f"> {note}" if cancel.accepted else f"> ⚠️ {_linked(note, report.app_url)}", ""]


def _reasons(report: Report) -> list[str]:
    return _items(report.verdict.reasons)


def _waived(report: Report) -> list[str]:
    if not (waived := report.verdict.waived):
        return []
    if report.verdict.result is Result.PASSED:
        return ["Let through because the workflow turned these checks off:", "", *_items(waived)]
    return ["Also found, not counted because the workflow turned these checks off:", "", *_items(waived)]


def _counts(report: Report) -> list[str]:
    status = report.status
    if status is None:
        return []
    shown = [name for name in COUNTERS if getattr(status, name) or name not in SHOWN_IF_NOT_ZERO]
    names = [name.capitalize() for name in shown]
    values = [str(getattr(status, name)) for name in shown]
    if missing := unaccounted(status):  # counted as neither an outcome nor pending: its own column
        names.append("No result")
        values.append(str(missing))
    state = _state(report, status)
    return [*_table(names, "|" + "---:|" * len(names), [values]), "", *([state, ""] if state else [])]


def _state(report: Report, status: RunStatus) -> str:
    """Certyn's own words for the run, when they say more than the heading: its state (read when, if this step
    cancelled the run) and its conclusion where it differs from the state and the verdict."""
    cancel, conclusion = report.cancel, status.conclusion
    differs = bool(conclusion) and conclusion != status.state
    differs = differs and conclusion.lower() not in AGREEING.get(report.verdict.result, frozenset())
    if cancel is None and status.state == "completed" and not differs:
        return ""
    line = f"**Certyn's state:** {_code(status.state or 'unknown')}"
    if cancel is not None:
        line += f" — {markdown(words.state_after_cancel(cancel))}"
    if differs:
        line += (
            f" · **Certyn's conclusion:** {_code(conclusion)} (Certyn's own word, not this step's verdict)"
        )
    return line


def _details(report: Report) -> list[str]:
    rows: list[tuple[str, str]] = []  # the run is not a row: it is linked right under the headline
    if inputs := report.inputs:
        meta = inputs.metadata
        if meta.job_url and meta.job_url == meta.run_url:  # the job's id was unknown: the run attempt
            rows.append(("GitHub run", markdown_link(meta.run_name or "this workflow run", meta.job_url)))
        elif meta.job_url:
            job = f"job {meta.job_name}" if meta.job_name else "this job"
            label = f"{job} in {meta.run_name}" if meta.run_name else job
            rows.append(("GitHub job", markdown_link(label, meta.job_url)))
        rows += _setup_rows(report, inputs)
        if commit := _commit(report, inputs):
            rows.append(("Commit", commit))
    if rows:  # alone (after input errors, before anything happened) it would only say "0s"
        rows.append(("Duration", format_duration(report.duration)))
    if report.created and report.created.replayed:
        rows.append(("Idempotency", "replayed: this step had already created the run, so it was reused"))
    if not rows:
        return []
    return [*_table(("Detail", "Value"), "|---|---|", [(f"**{name}**", value) for name, value in rows]), ""]


def _setup_rows(report: Report, inputs: Settings) -> list[tuple[str, str]]:
    """What this step ran: the project, the deployment (``base-url``), the environment, the tests."""
    rows = [("Project", _code(inputs.project_slug))]
    if inputs.base_url:
        shown = without_secrets(inputs.base_url)
        rows.append(("Deployment", markdown_link(shown, shown) if safe_url(shown) else _code(shown)))
    if report.temporary_environment:
        environment = f"{_code(report.temporary_environment)} (temporary, for `base-url`)"
    elif inputs.run_id:
        environment = "the run's own"
    elif inputs.base_url:
        environment = "temporary, for `base-url` (not created)"
    else:
        environment = _code(report.environment_key) if report.environment_key else "project default"
    rows.append(("Environment", environment))
    if report.temporary_environment and report.run_id:  # base-url: where the tests ran, the variables set
        pool = inputs.runner_pool
        ran_on = (
            f"self-hosted runner pool {_code(pool)} (`runner-pool`)" if pool else "Certyn's cloud runners"
        )
        rows.append(("Ran on", ran_on))
        if inputs.variables:
            names = ", ".join(_code(name) for name, _ in inputs.variables)
            rows.append(("Variables", f"{names} (values masked)"))
    if inputs.run_id:
        return [*rows, ("Attached", "to an existing run (`run-id`): this step did not create it")]
    if inputs.process_slug:
        return [*rows, ("Process", _code(inputs.process_slug))]
    tags = ", ".join(_code(tag) for tag in inputs.tags[:30])
    return [*rows, ("Tags", tags + (f" … (+{len(inputs.tags) - 30})" if len(inputs.tags) > 30 else ""))]


def _commit(report: Report, inputs: Settings) -> str:
    """The commit tested, on its ref: this workflow's, or (``run-id``) the attached run's, as Certyn says."""
    meta, status = inputs.metadata, report.status
    if inputs.run_id:  # attached: the run tested what it was made for
        theirs = status.commit_sha.strip() if status is not None else ""
        return f"{_code(theirs[:7])} (the attached run's)" if theirs else ""
    if not (meta.commit_sha or meta.ref):
        return ""
    commit = _code(meta.commit_sha[:7]) if meta.commit_sha else ""
    if commit and safe_url(meta.commit_url):
        commit = f"[{commit}]({safe_url(meta.commit_url)})"
    ref = _code(meta.ref) if meta.ref else ""
    return " on ".join(part for part in (commit, ref) if part)


def _table(head: Sequence[str], separator: str, rows: Iterable[Sequence[str]]) -> list[str]:
    """A Markdown table of cells already escaped; ``separator`` aligns its columns."""
    return [f"| {' | '.join(head)} |", separator, *(f"| {' | '.join(cells)} |" for cells in rows)]


def _folded(label: str, *body: str) -> list[str]:
    """``body`` (Markdown lines) folded under ``label`` (our words, no Markdown): GitHub opens it on a click."""
    return [f"<details><summary>{label}</summary>", "", *body, "", "</details>", ""]


def _code(text: str) -> str:
    # escaped, then in <code>: backticks would stop the escaping
    return f"<code>{markdown(text, 200)}</code>"


def _finding(item: RunItem) -> str:
    from ..api.models import finding_excerpt  # noqa: PLC0415 - pydantic: only with per-test results

    return formatted(finding_excerpt(item.finding), MAX_CELL_FINDING)


def _test_cells(item: RunItem, diagnosis: Diagnosis | None) -> tuple[str, ...]:
    mark = diagnosis.mark(item) if diagnosis is not None else None
    flaky = f" · **{markdown(words.flaky_mark(mark))}**" if mark else ""
    return (
        f"{ICONS[item.outcome]} {item.outcome}",
        str(item.number) if item.number is not None else "",
        markdown(item.display_name, MAX_CELL_NAME) + flaky,
        format_duration(item.duration_seconds) if item.duration_seconds is not None else "—",
        _finding(item),
    )


def tally(items: Sequence[RunItem]) -> str:
    """``2 failed, 1 blocked, 10 passed``: the outcomes present, failing first."""
    from ..api.models import Outcome, outcome_counts  # noqa: PLC0415

    counts = outcome_counts(items)
    return ", ".join(f"{counts[outcome]} {outcome}" for outcome in map(Outcome, ICONS) if counts[outcome])


def render_test_table(
    items: Sequence[RunItem], *, run_url: str = "", limit: int = MAX_ROWS, diagnosis: Diagnosis | None = None
) -> str:
    """The tally and a table of the failing tests (and those with no result), then the passing and skipped
    ones folded under their tally; at most ``limit`` rows, the rest counted with how many of them fail. A test
    that Certyn's flakiness data marks says so beside its name."""
    from ..api.models import ordered  # noqa: PLC0415

    lines = ["### Tests", ""]
    if not items:
        return "\n".join([*lines, f"{words.NO_RESULTS_LISTED}.", ""])
    rows = ordered(items)
    shown = rows[:limit]
    opened = [row for row in shown if row.outcome not in PASSING]
    passing = shown[len(opened) :]  # ordered: the passing tests come last
    if opened:
        lines += [markdown(tally(items)), "", *_tests_table(opened, diagnosis), ""]
    if passing:  # collapsed: what passed is detail; its tally is the fold's label (our words only)
        lines += _folded(tally(passing), *_tests_table(passing, diagnosis))
    if hidden := rows[limit:]:
        failing = sum(item.outcome.failing for item in hidden)  # never hide that some of them failed
        of_them = f", {failing} of them failing" if failing else ""
        lines += [
            f"… and {plural(len(hidden), 'more test')} in {markdown_link('Certyn', run_url)}{of_them}",
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _tests_table(rows: Sequence[RunItem], diagnosis: Diagnosis | None) -> list[str]:
    head = ("Outcome", "#", "Test", "Duration", "Finding")
    return _table(head, "|---|---:|---|---:|---|", (_test_cells(row, diagnosis) for row in rows))


def render_conversation(
    instruction: str, state: str, answer: str | None, *, waited: float = 0.0, note: str = ""
) -> str:
    """The AI's answer, said to be the AI's (it may be wrong), under the instruction folded; or why there is
    none (``waited``: how long the step waited for it, ``note``: why it could not be read)."""
    lines = ["### Certyn AI", "", f"> {_words(words.AI_WRITTEN)}", ""]
    lines += _folded(words.AI_INSTRUCTION, fenced(truncate(instruction, MAX_SHOWN_INSTRUCTION)))
    if answer is not None:
        lines += [formatted_block(truncate(answer, MAX_SHOWN_ANSWER)), ""]
        if len(answer) > MAX_SHOWN_ANSWER:
            lines += [f"_{_words(words.ANSWER_CUT.format(shown=MAX_SHOWN_ANSWER))}_", ""]
    if answer is None or state == "processing":
        lines += [_words(words.no_answer(state, waited, note, answered=answer is not None)), ""]
    return "\n".join(lines)


def _findings(report: Report) -> list[str]:
    instruction = report.inputs.instruction if report.inputs else ""
    findings = render_findings(report.findings, run_url=report.app_url, instruction=instruction)
    return [findings] if findings else []


def render_findings(findings: Findings, *, run_url: str = "", instruction: str = "") -> str:
    """The sections on what Certyn found after the run ("" when nothing was asked or read)."""
    parts: list[str] = []
    if findings.results is not None:
        note = ""
        if found := findings.contradictions:  # the per-test results disagree with the status counts
            head = "> [!WARNING]\n> The per-test results disagree with the status counts; the gate used the counts."
            note = "\n".join([head, *(f"> - {markdown(sentence, 1000)}" for sentence in found)]) + "\n\n"
        table = render_test_table(findings.results.items, run_url=run_url, diagnosis=findings.diagnosis)
        parts.append(note + table)
        if findings.diagnosis is not None:
            parts.append(render_diagnosis(findings.diagnosis))
    elif findings.results_note:
        parts.append(f"### Tests\n\n> Per-test results unavailable: {_words(findings.results_note)}\n")
    parts += [f"> {markdown(note, 1000)}\n" for note in findings.notes]
    if findings.asked:
        conversation, why = findings.conversation, findings.conversation_note
        state = conversation.state if conversation is not None else "unavailable"
        answer = conversation.answer if conversation is not None else None
        parts.append(render_conversation(instruction, state, answer, waited=findings.waited, note=why))
    return "\n".join(parts)


def _why(test: DiagnosedTest) -> list[str]:
    """A diagnosed test's list item: name, reason and flaky mark; its evidence and artifacts nested."""
    mark = f" · **{markdown(words.flaky_mark(test.mark))}**" if test.mark else ""
    name = markdown(test.name, MAX_CELL_NAME)
    lines = [f"- {ICONS.get(test.outcome, '')} **{name}** — {formatted(test.summary, 600)}{mark}"]
    evidence = test.evidence
    if len(evidence.network) > 1 or test.reason not in ("app-server-error", "app-client-error"):
        lines += [
            f"  - {markdown(words.APP_ANSWERED.format(status=net.status, request=f'{net.method} {net.url}'), 600)}"
            for net in evidence.network
        ]
    if len(evidence.tools) > 1 or test.reason != "tool-error":
        lines += [
            f"  - {markdown(words.TOOL_FAILED.format(**tool._asdict()), 600)}" for tool in evidence.tools
        ]
    shown = [
        markdown_link(f"{link.type}: {link.description}" if link.description else link.type, link.url)
        if link.is_link
        else markdown(f"{link.type}: {link.url}", 300)
        for link in test.artifacts
    ]
    return [*lines, "  - " + " · ".join(shown)] if shown else lines


def render_diagnosis(diagnosis: Diagnosis) -> str:
    """Why the failing tests failed, then what Certyn found in the run ("" when there is nothing to say)."""
    lines: list[str] = []
    if diagnosis.tests:
        lines += ["### Why they failed", "", *(line for test in diagnosis.tests for line in _why(test)), ""]
    if diagnosis.observations:
        shown = diagnosis.observations[:MAX_SHOWN_OBSERVATIONS]
        more = len(diagnosis.observations) - len(shown)
        lines += ["**Found in this run**", "", *(f"- {markdown(title, 300)}" for title in shown)]
        lines += [f"- … and {more} more in Certyn"] if more > 0 else []
        lines.append("")
    if diagnosis.problem:
        lines += [f"> Diagnosis incomplete: {markdown(diagnosis.problem, 1000)}", ""]
    return "\n".join(lines)


# -- GitHub: the check run's summary and the pull-request comment (publish.py) ------------------------------
MAX_CHECK_SUMMARY = 65_535  # GitHub's limit on a check run's output.summary
MAX_COMMENT = 65_536  # and on a comment's body
MAX_COMMENT_TESTS = 10
MAX_COMMENT_ANSWER = 5_000
CUT_NOTE = "\n\n_Cut here to fit GitHub's limit: the whole summary is in the job's summary page._\n"
_FENCE_LINE = re.compile(r"^(`{3,}|~{3,})")


def _closing(head: str) -> str:
    """What closes the code block and the ``<details>`` folds ``head`` leaves open (ours: a fence at the start
    of its line, a fold on lines of its own), so that what follows is shown."""
    fence, folds = "", 0
    for line in head.split("\n"):
        if fence:
            fence = "" if line.strip() == fence else fence
        elif opened := _FENCE_LINE.match(line):
            fence = opened[1]
        else:
            folds += line.startswith("<details>") - line.startswith("</details>")
    return (f"\n{fence}" if fence else "") + "\n\n</details>" * max(folds, 0)


def cut_for_github(text: str, limit: int = MAX_CHECK_SUMMARY) -> str:
    """``text`` whole when it fits under ``limit``, else cut at a line break, what the cut leaves open closed,
    with a note saying so."""
    if len(text) < limit:
        return text
    room = limit - len(CUT_NOTE) - 1
    while True:
        head = text[:room]
        head = head[: head.rfind("\n") if "\n" in head else room].rstrip()
        tail = _closing(head) + CUT_NOTE
        if len(head) + len(tail) < limit or not head:
            return head + tail
        room = min(room - 1, limit - len(tail) - 1)


def render_comment(report: Report, marker: str) -> str:
    """The sticky pull-request comment: ``marker`` (a hidden HTML comment, ours), the headline, the counts,
    the failing tests with their findings (at most ``MAX_COMMENT_TESTS``), the links to the run and to the
    job, and the AI answer folded."""
    lines = [marker, "", "#" + _heading(report)[0], ""]
    if report.status is not None:
        lines += [f"**Counts:** {markdown(words.describe_counts(report.status), 300)}", ""]
    lines += _reasons(report)
    results, diagnosis = report.findings.results, report.findings.diagnosis
    failing = [item for item in results.items if item.outcome.failing] if results is not None else []
    if failing:
        lines += [f"**Failing tests ({len(failing)}):**", ""]
        for item in failing[:MAX_COMMENT_TESTS]:
            line = f"- {ICONS[item.outcome]} {item.outcome}: **{markdown(item.display_name, MAX_CELL_NAME)}**"
            line += f" — {_finding(item)}" if item.finding.strip() else ""
            why = diagnosis.of(item) if diagnosis else None
            lines.append(line + (f" — why: {formatted(why.summary, 600)}" if why else ""))
        if len(failing) > MAX_COMMENT_TESTS:
            lines.append(f"- … and {len(failing) - MAX_COMMENT_TESTS} more in the job summary")
        lines.append("")
    links = []
    if report.run_id:
        links.append(markdown_link(f"Run {truncate(report.run_id, 80)} in Certyn", report.app_url))
    if report.inputs and (meta := report.inputs.metadata).job_url:
        links.append(markdown_link(f"job {meta.job_name}" if meta.job_name else "the job", meta.job_url))
    if links:
        lines += [" · ".join(links), ""]
    conversation = report.findings.conversation
    if conversation is not None and conversation.answer is not None:
        lines += _folded(words.AI_ANSWER, formatted_block(truncate(conversation.answer, MAX_COMMENT_ANSWER)))
    return cut_for_github("\n".join(lines).rstrip() + "\n", MAX_COMMENT)
