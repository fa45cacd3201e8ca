"""The Certyn CI Runs API simulator: a threaded HTTP server on loopback with scripted runs,
fault injection, a request log and an HTTP control surface under ``/_sim/``.

    with Simulator("pass", api_key="k") as sim:
        base = sim.base_url                      # e.g. http://127.0.0.1:41234
        ...                                      # point the action's api-url at base
        sim.wait_for(lambda r: r.endpoint == "status")
        assert sim.runs[run_id].terminal_served_at is not None
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import hmac
import json
import socket
import struct
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from .records import CancelRecord, RequestRecord, RunRecord
from .scenario import (
    ENDPOINTS,
    TERMINAL_STATES,
    Fault,
    Scenario,
    ScenarioError,
    builtin_scenario,
)

DEFAULT_API_KEY = "certyn-sim-key"
MAX_BODY = 1024 * 1024
JSON_TYPE = "application/json; charset=utf-8"
PROBLEM_TYPE = "application/problem+json; charset=utf-8"
HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
    "<body><h1>Bad Gateway</h1><p>The proxy server received an invalid response from an upstream server."
    "</p><hr><address>corporate-proxy/1.0</address></body></html>\n"
)
COUNTERS = ("total", "passed", "failed", "blocked", "pending", "aborted", "skipped")

ScenarioLike = Scenario | str | Mapping[str, Any] | None


def to_scenario(value: ScenarioLike) -> Scenario:
    """A :class:`Scenario`, a built-in name (``"pass"``), a scenario dict, or ``None`` (``"pass"``)."""
    if value is None:
        return builtin_scenario("pass")
    if isinstance(value, Scenario):
        return value.copy()
    if isinstance(value, str):
        return builtin_scenario(value)
    return Scenario.from_dict(value)


def _iso(wall: float) -> str:
    return dt.datetime.fromtimestamp(wall, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Response:
    status: int
    body: bytes
    content_type: str | None = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    on_serve: Callable[[], None] | None = None  # called just before the last body byte is written


def _json_response(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> _Response:
    return _Response(status, json.dumps(payload).encode(), JSON_TYPE, list(headers))


def _problem(status: int, title: str, detail: str, errors: Mapping[str, list[str]]) -> _Response:
    payload = {
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": dict(errors),
        "traceId": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00",
    }
    return _Response(status, json.dumps(payload).encode(), PROBLEM_TYPE)


def _error(status: int, message: str) -> _Response:
    return _json_response(status, {"error": message})


@dataclass
class _FaultSlot:
    fault: Fault
    remaining: int
    first_used: float | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sim: Simulator) -> None:
        self.sim = sim
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.sim.verbose:
            super().handle_error(request, client_address)

    def abort_open_connections(self) -> None:
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Simulator:
    """A Certyn CI Runs API on ``host`` (loopback by default), in-process.

    ``scenario``: a :class:`Scenario`, a built-in name, a scenario dict, or None (``"pass"``).
    ``api_key``: the only accepted ``X-API-Key``. ``port=0`` picks a free port.
    """

    def __init__(
        self,
        scenario: ScenarioLike = None,
        *,
        api_key: str = DEFAULT_API_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.api_key = api_key
        self.host = host
        self.port = port
        self.verbose = verbose
        self._log_fn = log
        self._cond = threading.Condition(threading.RLock())
        self._scenario = to_scenario(scenario)
        self._faults: dict[str, deque[_FaultSlot]] = {ep: deque() for ep in ENDPOINTS}
        self._load_faults(self._scenario)
        self._requests: list[RequestRecord] = []
        self._runs: dict[str, RunRecord] = {}
        self._run_scenarios: dict[str, Scenario] = {}
        self._completed_wall: dict[str, float] = {}
        self._by_key: dict[str, str] = {}
        self._create_bodies: dict[str, dict[str, Any]] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.stop_event = threading.Event()

    # Lifecycle --------------------------------------------------------------------------------
    def start(self) -> str:
        """Start serving in a daemon thread; return the base URL (``http://127.0.0.1:PORT``)."""
        if self._server is not None:
            return self.base_url
        self.stop_event.clear()
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="certyn-sim", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving and abort open connections (sleeping faults wake up and give up)."""
        server, self._server = self._server, None
        if server is None:
            return
        self.stop_event.set()
        server.shutdown()
        server.abort_open_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._cond:
            self._cond.notify_all()

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    # Scripting --------------------------------------------------------------------------------
    @property
    def scenario(self) -> Scenario:
        with self._cond:
            return self._scenario.copy()

    def set_scenario(self, scenario: ScenarioLike) -> None:
        """Use ``scenario`` for runs created from now on; its faults replace the fault queues."""
        sc = to_scenario(scenario)
        with self._cond:
            self._scenario = sc
            for queue in self._faults.values():
                queue.clear()
            self._load_faults(sc)

    def add_faults(self, endpoint: str, *faults: Fault | Mapping[str, Any] | str) -> None:
        """Append faults to ``endpoint``'s queue (``create``, ``status`` or ``cancel``)."""
        if endpoint not in ENDPOINTS:
            raise ScenarioError(
                f"unknown fault endpoint {endpoint!r}; expected one of {', '.join(ENDPOINTS)}"
            )
        parsed = [f if isinstance(f, Fault) else Fault.from_dict(f) for f in faults]
        with self._cond:
            for fault in parsed:
                self._faults[endpoint].append(_FaultSlot(copy.deepcopy(fault), fault.times))

    def clear_faults(self) -> None:
        with self._cond:
            for queue in self._faults.values():
                queue.clear()

    def pending_faults(self) -> dict[str, list[Fault]]:
        with self._cond:
            return {ep: [slot.fault for slot in q] for ep, q in self._faults.items()}

    def reset(self, scenario: ScenarioLike | None = None) -> None:
        """Forget runs, requests and faults; reload the (given or current) scenario's faults."""
        with self._cond:
            self._requests.clear()
            self._runs.clear()
            self._run_scenarios.clear()
            self._completed_wall.clear()
            self._by_key.clear()
            self._create_bodies.clear()
        self.set_scenario(scenario if scenario is not None else self._scenario)

    def _load_faults(self, sc: Scenario) -> None:
        for endpoint, faults in sc.faults.items():
            for fault in faults:
                self._faults[endpoint].append(_FaultSlot(copy.deepcopy(fault), fault.times))

    # Inspection -------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RequestRecord]:
        """Every API request so far, in arrival order (records fill in as responses go out)."""
        with self._cond:
            return list(self._requests)

    def api_requests(self, endpoint: str | None = None, run_id: str | None = None) -> list[RequestRecord]:
        return [
            r
            for r in self.requests
            if (endpoint is None or r.endpoint == endpoint) and (run_id is None or r.run_id == run_id)
        ]

    @property
    def runs(self) -> dict[str, RunRecord]:
        """Runs by id, in creation order."""
        with self._cond:
            return dict(self._runs)

    def run(self, run_id: str | None = None) -> RunRecord:
        """The run ``run_id``, or the only/last one created when ``run_id`` is None."""
        with self._cond:
            if run_id is None:
                if not self._runs:
                    raise KeyError("no run has been created")
                return list(self._runs.values())[-1]
            return self._runs[run_id]

    def wait_for(
        self, predicate: Callable[[RequestRecord], bool], timeout: float = 5.0, *, since: int = 0
    ) -> RequestRecord:
        """The first request with ``seq >= since`` matching ``predicate``, waiting up to ``timeout`` s.

        The record is matched as soon as the request has been read, before the response is sent,
        so a test can act "while the action is polling". Raises ``TimeoutError``.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for rec in self._requests[since:]:
                    if predicate(rec):
                        return rec
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = ", ".join(f"{r.method} {r.path}" for r in self._requests[-10:]) or "none"
                    raise TimeoutError(f"no matching request within {timeout} s (last requests: {seen})")
                self._cond.wait(remaining)

    def wait_for_requests(
        self, count: int, endpoint: str | None = None, timeout: float = 5.0
    ) -> list[RequestRecord]:
        """Wait until at least ``count`` requests to ``endpoint`` (any when None) have arrived."""
        self.wait_until(lambda: len(self.api_requests(endpoint)) >= count, timeout)
        return self.api_requests(endpoint)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``condition()`` is true; it is re-checked on every request and state change."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout} s")
                self._cond.wait(min(remaining, 0.1))

    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _log(self, message: str) -> None:
        if self._log_fn is not None:
            self._log_fn(message)
        elif self.verbose:
            print(f"[certyn-sim] {message}", file=sys.stderr, flush=True)

    # Request handling (called from handler threads) ---------------------------------------------
    def _record(self, rec: RequestRecord) -> RequestRecord:
        with self._cond:
            rec.seq = len(self._requests)
            self._requests.append(rec)
            self._cond.notify_all()
        return rec

    def _take_fault(self, endpoint: str) -> Fault | None:
        if endpoint not in self._faults:
            return None
        now = time.monotonic()
        with self._cond:
            queue = self._faults[endpoint]
            while queue:
                slot = queue[0]
                fault = slot.fault
                if fault.for_seconds is not None:
                    if slot.first_used is None:
                        slot.first_used = now
                    if now - slot.first_used < fault.for_seconds:
                        return fault
                    queue.popleft()
                    continue
                slot.remaining -= 1
                if slot.remaining <= 0:
                    queue.popleft()
                return fault
        return None

    def _check_key(self, rec: RequestRecord) -> _Response | None:
        given = rec.header("X-API-Key")
        if not given:
            return _error(401, "Missing API key. Send it in the X-API-Key header.")
        if not hmac.compare_digest(given.encode(), self.api_key.encode()):
            return _error(401, "Invalid API key.")
        return None

    def _process(self, rec: RequestRecord, *, omit_run_id: bool = False) -> _Response:
        denied = self._check_key(rec)
        if rec.endpoint == "create":
            return denied or self._create(rec, omit_run_id=omit_run_id)
        if rec.endpoint == "status":
            return denied or self._status(rec)
        if rec.endpoint == "cancel":
            return denied or self._cancel(rec)
        if rec.endpoint == "method_not_allowed":
            return _error(405, f"Method {rec.method} not allowed on {rec.path}")
        return _error(404, f"No route for {rec.method} {rec.path}")

    def _create(self, rec: RequestRecord, *, omit_run_id: bool) -> _Response:
        rejection = _reject_create_body(rec)
        if rejection is not None:
            return rejection
        body: dict[str, Any] = rec.json
        with self._cond:
            sc = self._scenario
            slug = body["projectSlug"]
            if sc.projects is not None and slug not in sc.projects:
                return _error(404, f"Project '{slug}' not found.")
            process = body.get("processSlug")
            if sc.processes is not None and process and process not in sc.processes:
                return _error(404, f"Process '{process}' not found in project '{slug}'.")
            key = rec.header("Idempotency-Key") or None
            if key is not None and key in self._by_key:
                run = self._runs[self._by_key[key]]
                if sc.idempotency_conflict and run.request != body:
                    return _error(409, "Idempotency-Key was already used with a different request body.")
                run.creates += 1
                rec.run_id = run.run_id
                payload = copy.deepcopy(self._create_bodies[run.run_id])
                if omit_run_id:
                    payload.pop("runId", None)
                return _json_response(200, payload, [("Idempotency-Replayed", "true")])
            run_id = sc.run_ids.pop(0) if sc.run_ids else str(uuid.uuid4())
            run = RunRecord(
                run_id=run_id,
                created_at=rec.received_at,
                created_wall=time.time(),
                request=copy.deepcopy(body),
                idempotency_key=key,
                scenario_name=sc.name,
            )
            self._runs[run_id] = run
            self._run_scenarios[run_id] = sc.copy()
            if key is not None:
                self._by_key[key] = run_id
            rec.run_id = run_id
            payload = self._create_payload(run, sc)
            self._create_bodies[run_id] = copy.deepcopy(payload)
            self._cond.notify_all()
        if omit_run_id:
            payload.pop("runId", None)
        return _json_response(sc.create_status, payload)

    def _create_payload(self, run: RunRecord, sc: Scenario) -> dict[str, Any]:
        quoted = _quote_segment(run.run_id)
        count = sc.test_case_count
        if count is None:
            last = sc.snapshots[-1]
            count = last.get("total", 0) if isinstance(last.get("total", 0), int) else 0
        payload: dict[str, Any] = {
            "runId": run.run_id,
            "statusUrl": f"{sc.status_base_url.rstrip('/')}/api/ci/runs/{quoted}",
            "statusPath": f"/api/ci/runs/{quoted}",
            "cancelPath": f"/api/ci/runs/{quoted}/cancel",
            "appUrl": self._app_url(run, sc),
            "testCaseCount": count,
            "message": "Run created",
        }
        return _apply_overrides(payload, sc.create_response)

    @staticmethod
    def _app_url(run: RunRecord, sc: Scenario) -> str:
        slug = run.request.get("projectSlug", "project") if isinstance(run.request, dict) else "project"
        return f"{sc.app_base_url.rstrip('/')}/projects/{_quote_segment(str(slug))}/runs/{_quote_segment(run.run_id)}"

    def _status(self, rec: RequestRecord) -> _Response:
        now = time.monotonic()
        with self._cond:
            run = self._runs.get(rec.run_id or "")
            if run is None:
                return _error(404, "Run not found.")
            sc = self._run_scenarios[run.run_id]
            run.polls += 1
            if run.polls <= sc.not_found_polls:
                return _error(404, "Run not found.")
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
        response = _json_response(200, body)
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
            "startedAt": _iso(run.created_wall),
            "completedAt": None,
            "environmentKey": req.get("environmentKey") or "default",
            "processSlug": req.get("processSlug"),
            "tags": req.get("tags") or [],
            "commitSha": req.get("commitSha"),
            "externalUrl": req.get("externalUrl"),
            "appUrl": self._app_url(run, sc),
        }
        if sc.retry_after_seconds is not None:
            body["retryAfterSeconds"] = sc.retry_after_seconds
        body = _apply_overrides(body, snap)
        state = body.get("state")
        if (
            isinstance(state, str)
            and state in TERMINAL_STATES
            and "completedAt" not in snap
            and "completedAt" in body
        ):
            wall = self._completed_wall.setdefault(run.run_id, time.time())
            body["completedAt"] = _iso(wall)
        return body

    def _cancel(self, rec: RequestRecord) -> _Response:
        body = rec.json
        if rec.body_text.strip() and body is None:
            return _problem(
                400,
                "One or more validation errors occurred.",
                "The body must be JSON.",
                {"$": ["Invalid JSON."]},
            )
        reason = body.get("reason") if isinstance(body, dict) else None
        with self._cond:
            run = self._runs.get(rec.run_id or "")
            if run is None:
                return _error(404, "Run not found.")
            sc = self._run_scenarios[run.run_id]
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
                return _json_response(
                    200, {"runId": run.run_id, "state": "cancelled", "message": "Run already cancelled"}
                )
            last_state = (run.last_served or {}).get("state") if isinstance(run.last_served, dict) else None
            if isinstance(last_state, str) and last_state in TERMINAL_STATES:
                return _json_response(
                    200, {"runId": run.run_id, "state": last_state, "message": "Run already finished"}
                )
            run.cancelled_at = rec.received_at
        return _json_response(
            sc.cancel_status,
            {"runId": run.run_id, "state": "cancelled", "message": "Run cancellation requested"},
        )

    # Control surface ------------------------------------------------------------------------------
    def _control(self, method: str, path: str, query: str, body: Any) -> _Response:  # noqa: PLR0911, PLR0912 - a router
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        parts = [unquote(p) for p in path.split("/")[2:] if p]
        route = parts[0] if parts else ""
        try:
            if route == "health" and method == "GET":
                return _json_response(200, {"ok": True, "baseUrl": self.base_url})
            if route == "scenario":
                if method == "GET":
                    return _json_response(200, self.scenario.to_dict())
                if method in ("PUT", "POST"):
                    self.set_scenario(body if isinstance(body, str) else _mapping(body))
                    return _json_response(200, self.scenario.to_dict())
            if route == "faults":
                if method == "GET":
                    return _json_response(
                        200, {ep: [f.to_dict() for f in fs] for ep, fs in self.pending_faults().items()}
                    )
                if method == "DELETE":
                    self.clear_faults()
                    return _json_response(200, {"cleared": True})
                if method == "POST":
                    for endpoint, faults in _mapping(body).items():
                        items = faults if isinstance(faults, list) else [faults]
                        self.add_faults(str(endpoint), *items)
                    return _json_response(
                        200, {ep: [f.to_dict() for f in fs] for ep, fs in self.pending_faults().items()}
                    )
            if route == "requests" and method == "GET":
                since = int(params.get("since", "0"))
                recs = [r for r in self.requests[since:] if _matches(r, params)]
                return _json_response(200, {"requests": [r.to_dict() for r in recs]})
            if route == "runs" and method == "GET":
                if len(parts) > 1:
                    run = self.runs.get(parts[1])
                    return _json_response(200, run.to_dict()) if run else _error(404, "Run not found.")
                return _json_response(200, {"runs": [r.to_dict() for r in self.runs.values()]})
            if route == "reset" and method == "POST":
                self.reset(body if isinstance(body, (str, dict)) and body else None)
                return _json_response(200, {"reset": True})
            if route == "wait" and method == "GET":
                return self._control_wait(params)
        except (ScenarioError, ValueError, TypeError, KeyError) as exc:
            return _error(400, str(exc))
        return _error(404, f"No control route for {method} {path}")

    def _control_wait(self, params: Mapping[str, str]) -> _Response:
        count = int(params.get("count", "1"))
        since = int(params.get("since", "0"))
        timeout = min(float(params.get("timeout", "5")), 300.0)

        def matching() -> list[RequestRecord]:
            return [r for r in self.requests[since:] if _matches(r, params)]

        try:
            self.wait_until(lambda: len(matching()) >= count, timeout)
        except TimeoutError:
            return _json_response(408, {"error": "timed out", "requests": [r.to_dict() for r in matching()]})
        return _json_response(200, {"requests": [r.to_dict() for r in matching()]})


def _mapping(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise ScenarioError("the body must be a JSON object")
    return body


def _matches(rec: RequestRecord, params: Mapping[str, str]) -> bool:
    checks = {"endpoint": rec.endpoint, "method": rec.method, "run_id": rec.run_id, "fault": rec.fault}
    return all(params[name] == value for name, value in checks.items() if name in params)


def _quote_segment(value: str) -> str:
    return quote(value, safe="")


def _apply_overrides(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        if not key.startswith("_"):
            out[key] = copy.deepcopy(value)
    omit = overrides.get("_omit") or []
    for key in omit if isinstance(omit, list) else [omit]:
        out.pop(str(key), None)
    return out


def _reject_create_body(rec: RequestRecord) -> _Response | None:
    """415/400 problem details for a create body the API would refuse, else None."""
    ctype = (rec.header("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        return _problem(
            415,
            "Unsupported Media Type",
            "Send the body as application/json.",
            {"$": ["Unsupported media type."]},
        )
    if rec.body_text.strip() == "" or not isinstance(rec.json, dict):
        return _problem(
            400,
            "One or more validation errors occurred.",
            "The request body must be a JSON object.",
            {"$": ["The request body must be a JSON object."]},
        )
    errors = _validate_create(rec.json)
    if errors:
        return _problem(
            400, "One or more validation errors occurred.", "See the errors property for details.", errors
        )
    return None


def _validate_create(body: Mapping[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    slug = body.get("projectSlug")
    if not isinstance(slug, str) or not slug.strip():
        errors["projectSlug"] = ["The ProjectSlug field is required."]
    for name in ("environmentKey", "processSlug", "repository", "ref", "commitSha", "event", "externalUrl"):
        if name in body and body[name] is not None and not isinstance(body[name], str):
            errors[name] = [f"The {name} field must be a string."]
    process = body.get("processSlug")
    tags = body.get("tags")
    if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags)):
        errors["tags"] = ["The tags field must be an array of non-empty strings."]
    has_process = isinstance(process, str) and process != ""
    has_tags = isinstance(tags, list) and len(tags) > 0
    if has_process == has_tags and "tags" not in errors:
        errors["processSlug"] = ["Specify exactly one of processSlug or tags (a non-empty array)."]
    return errors


def classify(method: str, path: str) -> tuple[str, str | None]:
    """Map a request to (endpoint, run id): ``create``/``status``/``cancel``/``method_not_allowed``/``other``."""
    segments = path.split("/")
    if segments[:4] != ["", "api", "ci", "runs"]:
        return "other", None
    rest = segments[4:]
    if rest in ([], [""]):
        return ("create", None) if method == "POST" else ("method_not_allowed", None)
    run_id = unquote(rest[0])
    if len(rest) == 1 and run_id:
        return ("status", run_id) if method == "GET" else ("method_not_allowed", run_id)
    if len(rest) == 2 and rest[1] == "cancel" and run_id:
        return ("cancel", run_id) if method == "POST" else ("method_not_allowed", run_id)
    return "other", None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # an idle keep-alive connection is closed after this many seconds
    server_version = "CertynSimulator/1.0"
    sys_version = ""
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log (the simulator logs through ``Simulator._log``)."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    # ----------------------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or "0")
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        sim = self.server.sim
        try:
            raw = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._send(_error(413, "Request body too large or malformed."))
            return
        received = time.monotonic()
        split = urlsplit(self.path)
        path = split.path
        text = raw.decode("utf-8", errors="replace")
        try:
            parsed: Any = json.loads(text) if text.strip() else None
        except json.JSONDecodeError:
            parsed = None
        if path.startswith("/_sim/") or path == "/_sim":
            self._send(sim._control(self.command, path, split.query, parsed))
            return
        endpoint, run_id = classify(self.command, path)
        rec = sim._record(
            RequestRecord(
                seq=-1,
                method=self.command,
                path=path,
                query=split.query,
                headers=[(k, v) for k, v in self.headers.items()],
                body_text=text,
                json=parsed,
                received_at=received,
                wall_time=time.time(),
                client=f"{self.client_address[0]}:{self.client_address[1]}",
                endpoint=endpoint,
                run_id=run_id,
            )
        )
        fault = sim._take_fault(endpoint)
        if fault is not None:
            rec.fault = fault.kind
        try:
            self._serve(sim, rec, fault)
        finally:
            rec.finished_at = time.monotonic()
            sim._log(
                f"{rec.method} {rec.path} -> {rec.response_status if rec.response_status is not None else 'no response'}"
                + (f" [fault {rec.fault}]" if rec.fault else "")
            )
            sim._notify()

    def _serve(self, sim: Simulator, rec: RequestRecord, fault: Fault | None) -> None:
        if fault is None:
            self._send_recorded(rec, sim._process(rec))
            return
        if fault.kind == "delay" and sim.stop_event.wait(fault.seconds):
            self._drop()
            return
        if not fault.processes:
            self._serve_fault(sim, rec, fault)
            return
        response = sim._process(rec, omit_run_id=fault.kind == "missing_run_id")
        if fault.kind == "truncated":
            self._serve_truncated(rec, fault, response)
        elif fault.kind in ("stall", "drip"):
            self._serve_slowly(sim, rec, fault, response)
        elif fault.kind in ("delay", "missing_run_id"):
            self._send_recorded(rec, response)
        else:  # the response is lost or replaced by the fault's own
            self._serve_fault(sim, rec, fault)

    def _serve_fault(self, sim: Simulator, rec: RequestRecord, fault: Fault) -> None:
        """Send the fault's own answer (or none), whatever the request asked for."""
        kind = fault.kind
        if kind == "reset":
            self._reset()
        elif kind == "status":
            self._send_recorded(rec, _fault_status_response(fault))
        elif kind == "html":
            self._send_recorded(
                rec, _Response(fault.status or 200, HTML_PAGE.encode(), "text/html; charset=utf-8")
            )
        elif kind == "not_json":
            body = (
                fault.body if isinstance(fault.body, str) else "Service temporarily unavailable, please retry"
            )
            ctype = fault.content_type or JSON_TYPE
            self._send_recorded(rec, _Response(fault.status or 200, body.encode(), ctype, _hdrs(fault)))
        elif kind == "redirect":
            target = fault.location or f"{sim.scenario.status_base_url.rstrip('/')}{self.path}"
            resp = _json_response(fault.status or 302, {"location": target})
            resp.headers = [("Location", target), *_hdrs(fault)]
            self._send_recorded(rec, resp)
        else:  # drop, drop_after, and processing kinds told not to process
            self._drop()

    def _serve_truncated(self, rec: RequestRecord, fault: Fault, response: _Response) -> None:
        cut = response.body[: len(response.body) // 2]
        if fault.short_read:
            rec.response_status = response.status
            self._send_head(response, len(response.body))
            self._write(cut)
            self._drop()
        else:
            self._send_recorded(rec, _Response(response.status, cut, response.content_type, response.headers))

    def _serve_slowly(self, sim: Simulator, rec: RequestRecord, fault: Fault, response: _Response) -> None:
        """``stall``: headers, a pause, the body. ``drip``: headers, then one byte every ``seconds``."""
        rec.response_status = response.status
        self._send_head(response, len(response.body))
        if fault.kind == "stall":
            pieces = [response.body]
            if sim.stop_event.wait(fault.seconds):
                self._drop()
                return
        else:
            pieces = [response.body[i : i + 1] for i in range(len(response.body))]
        for i, piece in enumerate(pieces):
            if fault.kind == "drip" and i and sim.stop_event.wait(fault.seconds):
                self._drop()
                return
            if i == len(pieces) - 1 and response.on_serve is not None:
                response.on_serve()
            if not self._write(piece):
                self._drop()
                return

    # Low-level sending ------------------------------------------------------------------------------
    def _send_recorded(self, rec: RequestRecord, response: _Response) -> None:
        rec.response_status = response.status
        self._send(response)

    def _send(self, response: _Response) -> None:
        body = b"" if self.command == "HEAD" else response.body
        self._send_head(response, len(response.body))
        if response.on_serve is not None:
            response.on_serve()
        self._write(body)

    def _send_head(self, response: _Response, length: int) -> None:
        try:
            self.send_response(response.status)
            if response.content_type:
                self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(length))
            for key, value in response.headers:
                self.send_header(key, value)
            self.end_headers()
        except OSError:
            self.close_connection = True

    def _write(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
            return False
        return True

    def _drop(self) -> None:
        """Close the connection without (the rest of) a response."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER on, timeout 0, then close)."""
        self.close_connection = True
        sock = self.connection
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        fd = sock.detach()  # the rfile/wfile wrappers keep the socket object alive: close the fd itself
        if fd >= 0:
            with contextlib.suppress(OSError):
                socket.socket(fileno=fd).close()


def _hdrs(fault: Fault) -> list[tuple[str, str]]:
    return list(fault.headers.items())


def _fault_status_response(fault: Fault) -> _Response:
    status = fault.status or 503
    body = fault.body
    if body is None:
        resp = _json_response(status, {"error": f"Simulated HTTP {status}"})
    elif isinstance(body, str):
        ctype = fault.content_type or (
            "text/html; charset=utf-8" if body.lstrip().startswith("<") else "text/plain"
        )
        resp = _Response(status, body.encode(), ctype)
    else:
        resp = _Response(status, json.dumps(body).encode(), fault.content_type or JSON_TYPE)
    resp.headers = _hdrs(fault)
    return resp
