"""Environments of a project: create (a key in use answers 409), a paged list, delete, and each
environment's variables; every create, delete and variable is recorded for tests
(``Simulator.environments``) and ``GET /_sim/environments``. Also the self-hosted runner pools."""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .payloads import Response, apply_overrides, empty_response, error, json_response, paged
from .records import RequestRecord
from .scenario import Scenario
from .validation import invalid, reject_json_body, validate_environment, validate_variable


@dataclass
class VariableRecord:
    """One environment variable as stored; ``seq`` is the request that created it (the request log's)."""

    variable_id: str
    environment_id: str
    name: str
    value: str
    description: str
    seq: int
    created_at: float

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.variable_id,
            "environmentId": self.environment_id,
            "name": self.name,
            "value": self.value,
            "description": self.description,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.payload(), "seq": self.seq, "createdAt": self.created_at}


@dataclass
class EnvironmentRecord:
    """One environment; ``deleted_at`` (``time.monotonic()``) is set once it was deleted."""

    environment_id: str
    project_id: str
    key: str
    label: str | None
    base_url: str | None
    version: str | None
    is_default: bool
    body: Any
    created_at: float | None
    preexisting: bool = False
    deleted_at: float | None = None
    execution_target: str = "cloud_managed"
    runner_pool_id: str = ""
    anthropic_model: str = ""
    variables: list[VariableRecord] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.environment_id,
            "projectId": self.project_id,
            "key": self.key,
            "label": self.label,
            "baseUrl": self.base_url,
            "isDefault": self.is_default,
            "version": self.version,
            "anthropicModel": self.anthropic_model,
            "executionTarget": self.execution_target,
            "runnerPoolId": self.runner_pool_id,
        }

    @property
    def variable_values(self) -> dict[str, str]:
        """The variables by name, in the order they were set."""
        return {v.name: v.value for v in self.variables}

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.payload(),
            "body": self.body,
            "createdAt": self.created_at,
            "preexisting": self.preexisting,
            "deletedAt": self.deleted_at,
            "variables": [v.to_dict() for v in self.variables],
        }


def runner_pools(sc: Scenario) -> list[dict[str, Any]]:
    """``GET /api/self-hosted/pools``: the scenario's pools, each merged over a full RunnerPool."""
    out = []
    for given in sc.runner_pools:
        pool = {
            "id": str(given["id"]),
            "name": str(given["id"]),
            "description": "",
            "poolKind": "self_hosted",
            "cloudRegion": "",
            "scaleSetResourceId": "",
            "isActive": True,
            "isShared": False,
            "minRunners": 0,
            "maxRunners": 1,
            "slotsPerRunner": 1,
        }
        out.append(apply_overrides(pool, given))
    return out


class Environments:
    def __init__(self, lock: threading.RLock | threading.Condition) -> None:
        self._lock = lock
        self.records: list[EnvironmentRecord] = []

    def clear(self) -> None:
        with self._lock:
            self.records.clear()

    def load(self, sc: Scenario, project_ids: Mapping[str, str]) -> None:
        """Replace the pre-existing environments by the scenario's (in its first project unless they name
        a ``projectId``); what was created through the API stays."""
        default_project = next(iter(project_ids.values()), "")
        with self._lock:
            self.records[:] = [r for r in self.records if not r.preexisting]
            for given in sc.environments:
                self.records.append(
                    EnvironmentRecord(
                        environment_id=str(given.get("id") or uuid.uuid4()),
                        project_id=str(given.get("projectId") or default_project),
                        key=str(given["key"]),
                        label=given.get("label"),
                        base_url=given.get("baseUrl"),
                        version=given.get("version"),
                        is_default=bool(given.get("isDefault", False)),
                        body=copy.deepcopy(given),
                        created_at=None,
                        preexisting=True,
                        execution_target=str(given.get("executionTarget") or "cloud_managed"),
                        runner_pool_id=str(given.get("runnerPoolId") or ""),
                    )
                )

    def live(self, project_id: str) -> list[EnvironmentRecord]:
        with self._lock:
            return [r for r in self.records if r.project_id == project_id and r.deleted_at is None]

    def create(self, rec: RequestRecord, project_id: str, sc: Scenario) -> Response:
        rejection = reject_json_body(rec)
        if rejection is not None:
            return rejection
        body: dict[str, Any] = rec.json
        errors = validate_environment(body, runner_pools(sc))
        if errors:
            return invalid(errors)
        with self._lock:
            if any(r.key == body["key"] for r in self.live(project_id)):
                return error(409, f"An environment with the key '{body['key']}' already exists.")
            env = EnvironmentRecord(
                environment_id=str(uuid.uuid4()),
                project_id=project_id,
                key=body["key"],
                label=body["label"],
                base_url=body["baseUrl"],
                version=body.get("version"),
                is_default=bool(body.get("isDefault", False)),
                body=copy.deepcopy(body),
                created_at=time.monotonic(),
                execution_target=body.get("executionTarget") or "cloud_managed",
                runner_pool_id=body.get("runnerPoolId") or "",
                anthropic_model=body.get("anthropicModel") or "",
            )
            self.records.append(env)
        return json_response(201, env.payload())

    def list_page(self, query: str, project_id: str) -> Response:
        return paged(query, [r.payload() for r in self.live(project_id)])

    def delete(self, project_id: str, environment_id: str | None) -> Response:
        with self._lock:
            env = self._find(project_id, environment_id)
            if env is not None:
                env.deleted_at = time.monotonic()
                return empty_response(204)
        return error(404, "Environment not found.")

    def _find(self, project_id: str, environment_id: str | None) -> EnvironmentRecord | None:
        return next((e for e in self.live(project_id) if e.environment_id == environment_id), None)

    def create_variable(self, rec: RequestRecord, project_id: str) -> Response:
        """``POST .../environments/{id}/variables``: ``201`` with the variable; a name the environment
        already has (case-insensitive) ``409``; the environment unknown or deleted ``404``."""
        with self._lock:
            env = self._find(project_id, rec.item_id)
            if env is None:
                return error(404, "Environment not found.")
            rejection = reject_json_body(rec)
            if rejection is not None:
                return rejection
            body: dict[str, Any] = rec.json
            errors = validate_variable(body)
            if errors:
                return invalid(errors)
            if any(v.name.lower() == body["name"].lower() for v in env.variables):
                return error(409, f"A variable named '{body['name']}' already exists in this environment.")
            var = VariableRecord(
                variable_id=str(uuid.uuid4()),
                environment_id=env.environment_id,
                name=body["name"],
                value=body["value"],
                description=body.get("description") or "",
                seq=rec.seq,
                created_at=time.monotonic(),
            )
            env.variables.append(var)
        return json_response(201, var.payload())

    def list_variables(self, project_id: str, environment_id: str | None) -> Response:
        """``GET .../environments/{id}/variables``: a bare array, in the order they were set."""
        with self._lock:
            env = self._find(project_id, environment_id)
            if env is None:
                return error(404, "Environment not found.")
            return json_response(200, [v.payload() for v in env.variables])
