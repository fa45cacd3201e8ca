"""Per-test results of a run (``GET /api/projects/{projectId}/process-runs/{runId}``), built from the
run's counters unless the scenario scripts the rows."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from .payloads import COUNTERS, apply_overrides, iso
from .records import RunRecord
from .scenario import TERMINAL_STATES, Scenario

# outcome counter -> (item status, testOutcome)
_ROW_KINDS = {
    "failed": ("failed", "failed"),
    "blocked": ("blocked", "blocked"),
    "aborted": ("aborted", "aborted"),
    "skipped": ("completed", "skipped"),
    "passed": ("completed", "passed"),
    "pending": ("pending", None),
}
_FINDINGS = {
    "failed": "The expected result was not shown.",
    "blocked": "The test could not start: a precondition was not met.",
    "aborted": "The test was stopped before it finished.",
    "skipped": "Skipped.",
    "passed": "All steps passed.",
}


def counters(run: RunRecord, sc: Scenario) -> dict[str, int]:
    """The run's counters as last served (the final snapshot's when none was served yet)."""
    source: Mapping[str, Any] = run.last_served if isinstance(run.last_served, dict) else sc.snapshots[-1]
    return {k: v for k in COUNTERS if isinstance(v := source.get(k, 0), int) and not isinstance(v, bool)}


def process_run_body(run: RunRecord, sc: Scenario, completed_wall: float | None) -> dict[str, Any]:
    counts = counters(run, sc)
    rows = [row for row, _ in test_rows(run, sc, completed_wall)]
    state = run.last_served.get("state") if isinstance(run.last_served, dict) else None
    req = run.request if isinstance(run.request, dict) else {}
    process = req.get("processSlug")
    body: dict[str, Any] = {
        "id": run.run_id,
        "number": 1 + int(uuid.UUID(_uuid_of(run.run_id)).int % 9000),
        "processSlug": process,
        "processName": str(process).replace("-", " ").title() if process else None,
        "status": state if isinstance(state, str) else "running",
        "triggerType": "ci",
        "startedAt": iso(run.created_wall),
        "completedAt": iso(completed_wall) if completed_wall is not None else None,
        "summaryMarkdown": _summary(counts),
        "totalItems": counts.get("total", len(rows)),
        "passedItems": counts.get("passed", 0),
        "failedItems": counts.get("failed", 0),
        "blockedItems": counts.get("blocked", 0),
        "runningItems": 0,
        "pendingItems": counts.get("pending", 0),
        "items": rows,
    }
    if sc.process_run.get("_exact"):
        return {k: v for k, v in sc.process_run.items() if not k.startswith("_")}
    return apply_overrides(body, sc.process_run)


def is_finished(run: RunRecord) -> bool:
    state = run.last_served.get("state") if isinstance(run.last_served, dict) else None
    return isinstance(state, str) and state in TERMINAL_STATES


def test_case_id(number: int) -> str:
    """The ``testCaseId`` a generated row ``number`` (1-based) gets."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"certyn-sim:test:{number}"))


def test_rows(
    run: RunRecord, sc: Scenario, completed_wall: float | None
) -> list[tuple[dict[str, Any], Mapping[str, Any]]]:
    """The run's per-test rows as served, each with the scenario's overrides for it (whose ``_`` keys,
    never served, are the diagnosis directives: ``_events``, ``_artifacts``, ``_execution``, ...)."""
    counts = counters(run, sc)
    if sc.test_results is not None:
        kinds = ["passed"] * len(sc.test_results)
        scripted = sc.test_results
    else:
        kinds = [kind for kind in _ROW_KINDS for _ in range(counts.get(kind, 0))]
        scripted = [{} for _ in kinds]
    rows: list[tuple[dict[str, Any], Mapping[str, Any]]] = []
    for number, (kind, overrides) in enumerate(zip(kinds, scripted, strict=True), start=1):
        status, outcome = _ROW_KINDS[kind]
        row: dict[str, Any] = {
            "id": f"{run.run_id}-item-{number}",
            "testCaseId": test_case_id(number),
            "testCaseName": f"Test case {number}",
            "testCaseNumber": number,
            "executionId": f"{run.run_id}-exec-{number}",
            "agentSessionId": f"{run.run_id}-session-{number}",
            "status": status,
            "testOutcome": outcome,
            "summaryMarkdown": _FINDINGS.get(kind),
            "startedAt": iso(run.created_wall),
            "completedAt": iso(completed_wall) if completed_wall is not None and outcome else None,
        }
        rows.append((apply_overrides(row, overrides), overrides))
    return rows


def _summary(counts: Mapping[str, int]) -> str:
    parts = [
        f"{counts[k]} {k}" for k in ("passed", "failed", "blocked", "aborted", "skipped") if counts.get(k)
    ]
    return f"{counts.get('total', 0)} tests: " + (", ".join(parts) if parts else "none finished")


def _uuid_of(run_id: str) -> str:
    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, run_id))
