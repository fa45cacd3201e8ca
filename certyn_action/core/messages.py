"""What the log says at the start and at the end of the step. Pure: text in, lines out.

Untrusted parts (server text, inputs) go through ``one_line`` here; ``WorkflowLog`` escapes again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from ..gate import Result
from . import wording
from .inputs import Inputs
from .report import Report
from .text import format_duration, one_line, plural


class Annotation(NamedTuple):
    kind: str  # "notice" or "error"
    title: str
    message: str


def create_lines(inputs: Inputs, body: Mapping[str, object], key: str) -> list[str]:
    """The ``Creating Certyn run`` group: what is sent (the API key redacted) and how long we wait."""
    lines = []
    for name, value in body.items():
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        lines.append(f"{name}: {one_line(shown, 300)}")
    lines += [f"API: {inputs.api_url}", f"Idempotency-Key: {one_line(key, 200)}", "X-API-Key: *** (redacted)"]
    if inputs.wait:
        floor, ceiling = inputs.poll_interval_seconds, inputs.max_poll_interval_seconds
        every = f"{floor:g}s" if floor == ceiling else f"{floor:g}-{ceiling:g}s"
        lines.append(f"Waiting up to {format_duration(inputs.timeout_seconds)}, polling every {every}")
    return lines


def deployment_down(wait: str, attempts: int, error: str, *, url: str = "", limit: str = "") -> str:
    """``base-url`` never answered: what happened and what to do. ``url`` is the URL as it may be shown
    (no query: it may carry a token); ``limit`` is ``timeout-seconds`` as written when it, not
    ``base-url-wait-seconds``, ended the wait."""
    within = f"timeout-seconds ({limit}" if limit else f"base-url-wait-seconds ({wait}"
    fix = "raise `timeout-seconds`" if limit else "raise `base-url-wait-seconds`"
    shown = f" ({one_line(url, 200)})" if url else ""
    return (
        f"`base-url`{shown} did not answer within {within}; {plural(attempts, 'attempt')}, last: "
        f"{one_line(error, 200)}): no environment and no run were created. Check that the deployment finished "
        f"and is reachable from the runner, or {fix}."
    )


def title(report: Report) -> str:
    """The verdict in a few words. A pass that a switch turned off let through says "gate", not "tests"."""
    verdict = report.verdict
    return wording.title(verdict.result, waived=bool(verdict.waived), cause=verdict.cause)


def retry_line(operation: str, failures: int, attempts: int, error: str, delay: float) -> str:
    """One failed attempt of a retried request (the run id is said once elsewhere, not on every attempt)."""
    when = "retrying now" if delay < 0.05 else f"retrying in {delay:.1f}s"
    said = operation[:1].upper() + operation[1:]  # "AI conversation", not "Ai conversation"
    return f"{said} attempt {failures}/{attempts} failed ({one_line(error, 300)}); {when}"


def verdict(report: Report) -> tuple[list[str], Annotation | None]:
    """The final log line(s) and the one annotation for the step (None when each error had its own)."""
    result, reasons = report.verdict.result, "; ".join(report.verdict.reasons)
    where = f" {one_line(report.app_url, 500)}" if report.app_url else ""
    run = f"Run {one_line(report.run_id, 80)}" if report.run_id else "No run"
    if result is Result.PASSED:
        counts = f"{report.status.passed}/{report.status.total} passed" if report.status else ""
        if report.verdict.waived:
            counts += "; let through by the workflow's settings: " + "; ".join(report.verdict.waived)
        return [f"{wording.GATE_PASSED}: {counts}"], Annotation(
            "notice", title(report), f"{run} passed the gate: {counts}.{where}"
        )
    if result is Result.CREATED:
        message = f"{run} created; not waiting for it (wait: false).{where}"
        return [], Annotation("notice", title(report), message)
    lines = [f"Certyn result: {result.value} — {reasons}"]
    if result is Result.ERROR:
        # Input and API errors were annotated where they happened, with their own titles.
        return ([] if report.inputs is None else lines), None
    return lines, Annotation("error", title(report), f"{run}: {reasons.rstrip('.')}.{where}")
