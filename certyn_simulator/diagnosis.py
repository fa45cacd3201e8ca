"""Why a test failed: executions, their agent sessions' events and artifacts, observations and flaky test
cases, all derived from a run's per-test rows. A scripted row (``Scenario.test_results``) carries them as
directives never served in the row itself: ``_events``, ``_artifacts``, ``_execution``, ``_observations``
and ``_flaky``; rows without them get a plain session whose end agrees with the row's outcome."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from .payloads import Response, apply_overrides, iso, json_response, paged, query_params
from .records import RunRecord
from .results import test_case_id, test_rows
from .scenario import Scenario
from .validation import invalid

# Conversation pages: the CLI's default and the cap its help names.
EVENTS_PAGE_SIZE = 500
MAX_EVENTS_PAGE_SIZE = 1000
DEFAULT_FLAKY_THRESHOLD = 0.2
_FAILING = ("failed", "blocked", "aborted")


class TestRow(NamedTuple):
    """One per-test row of a run as served, with the scenario's directives for it."""

    run: RunRecord
    row: dict[str, Any]
    directives: Mapping[str, Any]
    completed_wall: float | None


def rows_of(runs: Iterable[tuple[RunRecord, Scenario, float | None]]) -> list[TestRow]:
    """Every row of ``runs`` (each with its scenario and completion time)."""
    return [
        TestRow(run, row, directives, completed)
        for run, sc, completed in runs
        for row, directives in test_rows(run, sc, completed)
    ]


def find(rows: Iterable[TestRow], field: str, value: str | None) -> TestRow | None:
    """The row whose ``field`` (``executionId``, ``agentSessionId``) is ``value``."""
    return next((r for r in rows if value and r.row.get(field) == value), None)


def execution_status(row: Mapping[str, Any]) -> str:
    outcome = row.get("testOutcome")
    if outcome in _FAILING:
        return str(outcome)
    if outcome in ("passed", "skipped"):
        return "completed"
    status = row.get("status")
    return "queued" if status in (None, "pending") else str(status)


def events(found: TestRow) -> list[dict[str, Any]]:
    """The session's events, oldest first; ``timestampUtc`` one second apart from the run's start unless
    given."""
    scripted = found.directives.get("_events")
    if isinstance(scripted, list):
        given = [e for e in scripted if isinstance(e, dict)]
    else:
        status = "failed" if execution_status(found.row) in _FAILING else "completed"
        given = [
            {"type": "job_completed", "payload": {"status": status}},
            {"type": "conversation_completed", "payload": {"status": status}},
        ]
    return [
        apply_overrides(
            {"type": "", "timestampUtc": iso(found.run.created_wall + i), "payload": {}},
            event,
        )
        for i, event in enumerate(given, start=1)
    ]


def conversation_page(query: str, found: TestRow) -> Response:
    """``GET .../agentsessions/{id}/conversation?page&pageSize&before``: the paged events, ``before``
    (RFC 3339) keeping those strictly earlier."""
    items = events(found)
    before = query_params(query).get("before")
    if before:
        try:
            limit = _parse_time(before)
        except ValueError:
            return invalid({"before": ["The before parameter must be an RFC 3339 time."]})
        items = [e for e in items if _before(e.get("timestampUtc"), limit)]
    return paged(query, items, default_size=EVENTS_PAGE_SIZE, max_size=MAX_EVENTS_PAGE_SIZE)


def artifacts(found: TestRow) -> list[dict[str, Any]]:
    created = iso(found.completed_wall if found.completed_wall is not None else found.run.created_wall)
    given = found.directives.get("_artifacts")
    return [
        apply_overrides(
            {
                "id": f"{found.row.get('executionId')}-artifact-{i}",
                "type": "screenshot",
                "uri": None,
                "description": None,
                "createdAt": created,
            },
            artifact,
        )
        for i, artifact in enumerate(given if isinstance(given, list) else [], start=1)
        if isinstance(artifact, dict)
    ]


def execution_body(found: TestRow) -> dict[str, Any]:
    """``GET .../executions/{id}``: the Execution of a row (``_execution`` merged over it)."""
    row = found.row
    execution_id = str(row.get("executionId"))
    body: dict[str, Any] = {
        "id": execution_id,
        "ticketId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"certyn-sim:ticket:{execution_id}")),
        "originalExecutionId": None,
        "agentSessionId": row.get("agentSessionId"),
        "status": execution_status(row),
        "triggerType": "ci",
        "startedAt": row.get("startedAt"),
        "completedAt": row.get("completedAt"),
        "testCases": [
            {
                "id": f"{execution_id}-testcase-1",
                "testCaseId": row.get("testCaseId"),
                "status": execution_status(row),
                "severity": "major" if execution_status(row) in _FAILING else "minor",
                "resultMarkdown": row.get("summaryMarkdown"),
                "startedAt": row.get("startedAt"),
                "completedAt": row.get("completedAt"),
                "addedDuringExecution": False,
                "environmentVersion": None,
            }
        ],
        "notes": [],
        "artifacts": artifacts(found),
        "summaryMarkdown": row.get("summaryMarkdown"),
    }
    overrides = found.directives.get("_execution")
    return apply_overrides(body, overrides) if isinstance(overrides, dict) else body


def observations_page(query: str, project_id: str, rows: Iterable[TestRow]) -> Response:
    """``GET .../observations?processRunId&status&page&pageSize``: what the agents noted, per row's
    ``_observations``; ``discoveredDuringRunId`` is the run, ``createdDuringExecutionId`` the row's."""
    params = query_params(query)
    items: list[dict[str, Any]] = []
    for found in rows:
        given = found.directives.get("_observations")
        for obs in given if isinstance(given, list) else []:
            if not isinstance(obs, dict):
                continue
            number = len(items) + 1
            when = iso(found.completed_wall or found.run.created_wall)
            env_key = found.run.request.get("environmentKey") if isinstance(found.run.request, dict) else None
            base: dict[str, Any] = {
                "id": f"{found.run.run_id}-observation-{number}",
                "projectId": project_id,
                "number": number,
                "title": "",
                "status": "active",
                "source": "agent",
                "description": None,
                "discoveredInEnvironmentKey": env_key,
                "discoveredInEnvironmentVersion": None,
                "createdDuringExecutionId": found.row.get("executionId"),
                "discoveredDuringRunId": found.run.run_id,
                "createdByAgentTemplateId": None,
                "createdByUserId": None,
                "attachmentCount": len(obs.get("attachments") or []),
                "createdAt": when,
                "updatedAt": when,
                "attachments": [],
            }
            items.append(apply_overrides(base, obs))
    for name, field in (("processRunId", "discoveredDuringRunId"), ("status", "status")):
        if params.get(name):
            items = [o for o in items if o.get(field) == params[name]]
    return paged(query, items)


def flaky_testcases(query: str, sc: Scenario) -> Response:
    """``GET .../flaky-testcases?threshold=``: a bare array of the scenario rows' ``_flaky`` marks whose
    ``flakinessScore`` is at least ``threshold`` (default 0.2)."""
    raw = query_params(query).get("threshold", str(DEFAULT_FLAKY_THRESHOLD))
    try:
        threshold = float(raw)
    except ValueError:
        return invalid({"threshold": ["The threshold must be a decimal number."]})
    marks = []
    for number, row in enumerate(sc.test_results or [], start=1):
        flaky = row.get("_flaky")
        if not isinstance(flaky, dict):
            continue
        mark = apply_overrides(
            {
                "testCaseId": row.get("testCaseId") or test_case_id(number),
                "flakinessScore": 0.5,
                "totalRuns": 10,
                "passedRuns": 5,
                "failedRuns": 5,
                "flipCount": 4,
                "isQuarantined": False,
                "shouldQuarantine": False,
                "lastRunAt": None,
            },
            flaky,
        )
        score = mark.get("flakinessScore")
        if isinstance(score, (int, float)) and score >= threshold:
            marks.append(mark)
    return json_response(200, marks)


def _parse_time(text: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("no time zone")
    return parsed


def _before(stamp: Any, limit: dt.datetime) -> bool:
    try:
        return isinstance(stamp, str) and _parse_time(stamp) < limit
    except ValueError:
        return False
