"""The run store: the request log and the simulated runs, with the CI endpoints' behaviour
(create with idempotency, status snapshots, cancel) as a scenario scripts it."""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from .payloads import (
    COUNTERS,
    Response,
    apply_overrides,
    error,
    iso,
    json_response,
    problem,
    quote_segment,
)
from .records import CancelRecord, RequestRecord, RunRecord
from .scenario import TERMINAL_STATES, Scenario
from .validation import reject_create_body

CreateHook = Callable[[RunRecord, Scenario], Mapping[str, Any]]


class RunStore:
    """Requests and runs, guarded by the simulator's condition (notified on every change).

    ``on_create`` adds fields to a new run's create answer (e.g. ``conversationId``)."""

    def __init__(self, cond: threading.Condition, on_create: CreateHook | None = None) -> None:
        self._cond = cond
        self._on_create = on_create
        self.requests: list[RequestRecord] = []
        self.runs: dict[str, RunRecord] = {}
        self.run_scenarios: dict[str, Scenario] = {}
        self._completed_wall: dict[str, float] = {}
        self._by_key: dict[str, str] = {}
        self._create_bodies: dict[str, dict[str, Any]] = {}

    def clear(self) -> None:
        with self._cond:
            self.requests.clear()
            self.runs.clear()
            self.run_scenarios.clear()
            self._completed_wall.clear()
            self._by_key.clear()
            self._create_bodies.clear()

    def record(self, rec: RequestRecord) -> RequestRecord:
        with self._cond:
            rec.seq = len(self.requests)
            self.requests.append(rec)
            self._cond.notify_all()
        return rec

    # Creating runs ------------------------------------------------------------------------------
    def create(self, rec: RequestRecord, sc: Scenario, *, omit_run_id: bool) -> Response:
        rejection = reject_create_body(rec)
        if rejection is not None:
            return rejection
        body: dict[str, Any] = rec.json
        with self._cond:
            slug = body["projectSlug"]
            if sc.projects is not None and slug not in sc.projects:
                return error(404, f"Project '{slug}' not found.")
            process = body.get("processSlug")
            if sc.processes is not None and process and process not in sc.processes:
                return error(404, f"Process '{process}' not found in project '{slug}'.")
            key = rec.header("Idempotency-Key") or None
            if key is not None and key in self._by_key:
                run = self.runs[self._by_key[key]]
                if sc.idempotency_conflict and run.request != body:
                    return error(409, "Idempotency-Key was already used with a different request body.")
                run.creates += 1
                rec.run_id = run.run_id
                payload = copy.deepcopy(self._create_bodies[run.run_id])
                if omit_run_id:
                    payload.pop("runId", None)
                return json_response(200, payload, [("Idempotency-Replayed", "true")])
            run = self._new_run(sc, body, rec.received_at, key, external=False)
            rec.run_id = run.run_id
            payload = self._create_payload(run, sc)
            if self._on_create is not None:
                payload.update(self._on_create(run, sc))
            self._create_bodies[run.run_id] = copy.deepcopy(payload)
            self._cond.notify_all()
        if omit_run_id:
            payload.pop("runId", None)
        return json_response(sc.create_status, payload)

    def add_external(self, sc: Scenario, request: Mapping[str, Any], run_id: str | None) -> RunRecord:
        """A run created outside the action (by another job or a person), for attaching by id."""
        with self._cond:
            if run_id is not None and run_id in self.runs:
                raise ValueError(f"run {run_id!r} already exists")
            run = self._new_run(sc, dict(request), time.monotonic(), None, external=True, run_id=run_id)
            self._cond.notify_all()
            return run

    def _new_run(
        self,
        sc: Scenario,
        body: Mapping[str, Any],
        created_at: float,
        key: str | None,
        *,
        external: bool,
        run_id: str | None = None,
    ) -> RunRecord:
        if run_id is None:
            run_id = sc.run_ids.pop(0) if sc.run_ids else str(uuid.uuid4())
        run = RunRecord(
            run_id=run_id,
            created_at=created_at,
            created_wall=time.time(),
            request=copy.deepcopy(dict(body)),
            idempotency_key=key,
            scenario_name=sc.name,
            external=external,
        )
        self.runs[run_id] = run
        self.run_scenarios[run_id] = sc.copy()
        if key is not None:
            self._by_key[key] = run_id
        return run

    def _create_payload(self, run: RunRecord, sc: Scenario) -> dict[str, Any]:
        quoted = quote_segment(run.run_id)
        count = sc.test_case_count
        if count is None:
            last = sc.snapshots[-1]
            count = last.get("total", 0) if isinstance(last.get("total", 0), int) else 0
        payload: dict[str, Any] = {
            "runId": run.run_id,
            "statusUrl": f"{sc.status_base_url.rstrip('/')}/api/ci/runs/{quoted}",
            "statusPath": f"/api/ci/runs/{quoted}",
            "cancelPath": f"/api/ci/runs/{quoted}/cancel",
            "appUrl": app_url(run, sc),
            "testCaseCount": count,
            "message": "Run created",
        }
        return apply_overrides(payload, sc.create_response)

    # Status -------------------------------------------------------------------------------------
    def status(self, rec: RequestRecord) -> Response:
        now = time.monotonic()
        with self._cond:
            run = self.runs.get(rec.run_id or "")
            if run is None:
                return error(404, "Run not found.")
            sc = self.run_scenarios[run.run_id]
            run.polls += 1
            if run.polls <= sc.not_found_polls:
                return error(404, "Run not found.")
            if run.cancelled_at is not None:
                # counters as last served (or as the first snapshot, when cancelled before any poll)
                source = run.last_served if isinstance(run.last_served, dict) else sc.snapshots[0]
                base = {k: v for k, v in source.items() if k in COUNTERS}
                snap: dict[str, Any] = {**base, "state": "cancelled", "conclusion": "cancelled"}
                snap.update(sc.cancelled_snapshot)
            else:
                if sc.step_seconds is not None:
                    index = int((now - run.created_at) // sc.step_seconds)
                else:
                    index = run.polls - sc.not_found_polls - 1
                index = max(0, min(index, len(sc.snapshots) - 1))
                run.last_snapshot_index = index
                snap = sc.snapshots[index]
            body = self._status_body(run, sc, snap)
            run.last_served = copy.deepcopy(body)
            state = body.get("state") if isinstance(body, dict) else None
        response = json_response(200, body)
        if isinstance(state, str) and state in TERMINAL_STATES:

            def mark_served() -> None:
                with self._cond:
                    if run.terminal_served_at is None:
                        run.terminal_served_at = time.monotonic()
                        run.terminal_state = state
                    self._cond.notify_all()

            response.on_serve = mark_served
        return response

    def _status_body(self, run: RunRecord, sc: Scenario, snap: Mapping[str, Any]) -> Any:
        if snap.get("_exact"):
            return {k: copy.deepcopy(v) for k, v in snap.items() if not k.startswith("_")}
        req = run.request if isinstance(run.request, dict) else {}
        body: dict[str, Any] = {
            "runId": run.run_id,
            "state": "queued",
            "conclusion": "",
            **dict.fromkeys(COUNTERS, 0),
            "startedAt": iso(run.created_wall),
            "completedAt": None,
            "environmentKey": req.get("environmentKey") or "default",
            "processSlug": req.get("processSlug"),
            "tags": req.get("tags") or [],
            "commitSha": req.get("commitSha"),
            "externalUrl": req.get("externalUrl"),
            "appUrl": app_url(run, sc),
        }
        if sc.retry_after_seconds is not None:
            body["retryAfterSeconds"] = sc.retry_after_seconds
        body = apply_overrides(body, snap)
        state = body.get("state")
        if (
            isinstance(state, str)
            and state in TERMINAL_STATES
            and "completedAt" not in snap
            and "completedAt" in body
        ):
            body["completedAt"] = iso(self.completed_wall(run.run_id))
        return body

    def completed_wall(self, run_id: str) -> float:
        """When the run was first seen finished (wall clock), fixed from the first call on."""
        with self._cond:
            return self._completed_wall.setdefault(run_id, time.time())

    # Cancel -------------------------------------------------------------------------------------
    def cancel(self, rec: RequestRecord) -> Response:
        body = rec.json
        if rec.body_text.strip() and body is None:
            return problem(
                400,
                "One or more validation errors occurred.",
                "The body must be JSON.",
                {"$": ["Invalid JSON."]},
            )
        reason = body.get("reason") if isinstance(body, dict) else None
        with self._cond:
            run = self.runs.get(rec.run_id or "")
            if run is None:
                return error(404, "Run not found.")
            sc = self.run_scenarios[run.run_id]
            run.cancel_requests.append(
                CancelRecord(
                    at=rec.received_at,
                    reason=reason if isinstance(reason, str) else None,
                    body=copy.deepcopy(body),
                    idempotency_key=rec.header("Idempotency-Key"),
                )
            )
            self._cond.notify_all()
            if run.cancelled_at is not None:
                return json_response(
                    200, {"runId": run.run_id, "state": "cancelled", "message": "Run already cancelled"}
                )
            last_state = (run.last_served or {}).get("state") if isinstance(run.last_served, dict) else None
            if isinstance(last_state, str) and last_state in TERMINAL_STATES:
                return json_response(
                    200, {"runId": run.run_id, "state": last_state, "message": "Run already finished"}
                )
            run.cancelled_at = rec.received_at
        return json_response(
            sc.cancel_status,
            {"runId": run.run_id, "state": "cancelled", "message": "Run cancellation requested"},
        )


def app_url(run: RunRecord, sc: Scenario) -> str:
    slug = run.request.get("projectSlug", "project") if isinstance(run.request, dict) else "project"
    return (
        f"{sc.app_base_url.rstrip('/')}/projects/{quote_segment(str(slug))}/runs/{quote_segment(run.run_id)}"
    )
