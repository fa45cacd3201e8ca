"""The control surface under ``/_sim/``: read and change the scenario and fault queues, read what the
simulator saw, create a run outside the action, wait for requests. See ``docs/simulator.md``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote

from .environments import EnvironmentRecord
from .payloads import Response, error, json_response
from .records import RequestRecord, RunRecord
from .scenario import Fault, Scenario, ScenarioError


class Controlled(Protocol):
    """What the control routes need from the simulator."""

    @property
    def base_url(self) -> str: ...
    @property
    def scenario(self) -> Scenario: ...
    @property
    def requests(self) -> list[RequestRecord]: ...
    @property
    def runs(self) -> dict[str, RunRecord]: ...
    @property
    def environments(self) -> list[EnvironmentRecord]: ...
    @property
    def conversations(self) -> list[dict[str, Any]]: ...
    def set_scenario(self, scenario: Any) -> None: ...
    def add_faults(self, endpoint: str, *faults: Fault | Mapping[str, Any] | str) -> None: ...
    def clear_faults(self) -> None: ...
    def pending_faults(self) -> dict[str, list[Fault]]: ...
    def reset(self, scenario: Any = None) -> None: ...
    def github_records(self) -> dict[str, Any]: ...
    def create_run(
        self, project: str = ..., *, run_id: str | None = ..., scenario: Any = ..., **request: Any
    ) -> RunRecord: ...
    def wait_until(self, condition: Callable[[], bool], timeout: float = ...) -> None: ...


def control(sim: Controlled, method: str, path: str, query: str, body: Any) -> Response:  # noqa: PLR0911, PLR0912 - a router
    params = {k: v[-1] for k, v in parse_qs(query).items()}
    parts = [unquote(p) for p in path.split("/")[2:] if p]
    route = parts[0] if parts else ""
    try:
        if route == "health" and method == "GET":
            return json_response(200, {"ok": True, "baseUrl": sim.base_url})
        if route == "scenario":
            if method == "GET":
                return json_response(200, sim.scenario.to_dict())
            if method in ("PUT", "POST"):
                sim.set_scenario(body if isinstance(body, str) else _mapping(body))
                return json_response(200, sim.scenario.to_dict())
        if route == "faults":
            if method == "GET":
                return json_response(200, _pending(sim))
            if method == "DELETE":
                sim.clear_faults()
                return json_response(200, {"cleared": True})
            if method == "POST":
                for endpoint, faults in _mapping(body).items():
                    items = faults if isinstance(faults, list) else [faults]
                    sim.add_faults(str(endpoint), *items)
                return json_response(200, _pending(sim))
        if route == "requests" and method == "GET":
            since = int(params.get("since", "0"))
            recs = [r for r in sim.requests[since:] if matches(r, params)]
            return json_response(200, {"requests": [r.to_dict() for r in recs]})
        if route == "runs":
            return _runs(sim, method, parts, body)
        if route == "environments" and method == "GET":
            return json_response(200, {"environments": [e.to_dict() for e in sim.environments]})
        if route == "github" and method == "GET":
            return json_response(200, sim.github_records())
        if route == "conversations" and method == "GET":
            return json_response(200, {"conversations": sim.conversations})
        if route == "reset" and method == "POST":
            sim.reset(body if isinstance(body, (str, dict)) and body else None)
            return json_response(200, {"reset": True})
        if route == "wait" and method == "GET":
            return _wait(sim, params)
    except (ScenarioError, ValueError, TypeError, KeyError) as exc:
        return error(400, str(exc))
    return error(404, f"No control route for {method} {path}")


def _runs(sim: Controlled, method: str, parts: list[str], body: Any) -> Response:
    if method == "GET":
        if len(parts) > 1:
            run = sim.runs.get(parts[1])
            return json_response(200, run.to_dict()) if run else error(404, "Run not found.")
        return json_response(200, {"runs": [r.to_dict() for r in sim.runs.values()]})
    if method == "POST" and len(parts) == 1:
        given = dict(_mapping(body)) if body is not None else {}
        project = given.pop("projectSlug", None)
        run_id = given.pop("runId", None)
        scenario = given.pop("scenario", None)
        run = sim.create_run(
            str(project) if project else "demo",
            run_id=str(run_id) if run_id else None,
            scenario=scenario,
            **given,
        )
        return json_response(201, run.to_dict())
    return error(404, f"No control route for {method} runs")


def _pending(sim: Controlled) -> dict[str, list[dict[str, Any]]]:
    return {ep: [f.to_dict() for f in fs] for ep, fs in sim.pending_faults().items()}


def _wait(sim: Controlled, params: Mapping[str, str]) -> Response:
    count = int(params.get("count", "1"))
    since = int(params.get("since", "0"))
    timeout = min(float(params.get("timeout", "5")), 300.0)

    def matching() -> list[RequestRecord]:
        return [r for r in sim.requests[since:] if matches(r, params)]

    try:
        sim.wait_until(lambda: len(matching()) >= count, timeout)
    except TimeoutError:
        return json_response(408, {"error": "timed out", "requests": [r.to_dict() for r in matching()]})
    return json_response(200, {"requests": [r.to_dict() for r in matching()]})


def _mapping(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise ScenarioError("the body must be a JSON object")
    return body


def matches(rec: RequestRecord, params: Mapping[str, str]) -> bool:
    checks = {"endpoint": rec.endpoint, "method": rec.method, "run_id": rec.run_id, "fault": rec.fault}
    return all(params[name] == value for name, value in checks.items() if name in params)
