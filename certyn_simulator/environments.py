"""Environments of a project: create (a key in use answers 409), a paged list, delete; every create
and delete is recorded for tests (``Simulator.environments``) and ``GET /_sim/environments``."""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from .payloads import Response, empty_response, error, json_response
from .records import RequestRecord
from .scenario import Scenario
from .validation import invalid, reject_json_body, validate_environment

MAX_PAGE_SIZE = 100


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

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.environment_id,
            "projectId": self.project_id,
            "key": self.key,
            "label": self.label,
            "baseUrl": self.base_url,
            "isDefault": self.is_default,
            "version": self.version,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.payload(),
            "body": self.body,
            "createdAt": self.created_at,
            "preexisting": self.preexisting,
            "deletedAt": self.deleted_at,
        }


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
                    )
                )

    def live(self, project_id: str) -> list[EnvironmentRecord]:
        with self._lock:
            return [r for r in self.records if r.project_id == project_id and r.deleted_at is None]

    def create(self, rec: RequestRecord, project_id: str) -> Response:
        rejection = reject_json_body(rec)
        if rejection is not None:
            return rejection
        body: dict[str, Any] = rec.json
        errors = validate_environment(body)
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
            )
            self.records.append(env)
        return json_response(201, env.payload())

    def list_page(self, query: str, project_id: str) -> Response:
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        try:
            page = int(params.get("page", "1"))
            size = int(params.get("pageSize", "20"))
        except ValueError:
            return invalid({"page": ["page and pageSize must be integers."]})
        if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
            return invalid({"pageSize": [f"page must be at least 1 and pageSize 1-{MAX_PAGE_SIZE}."]})
        items = [r.payload() for r in self.live(project_id)]
        pages = max(1, -(-len(items) // size))
        return json_response(
            200,
            {
                "items": items[(page - 1) * size : page * size],
                "totalCount": len(items),
                "page": page,
                "pageSize": size,
                "totalPages": pages,
                "hasNextPage": page < pages,
            },
        )

    def delete(self, project_id: str, environment_id: str | None) -> Response:
        with self._lock:
            for env in self.live(project_id):
                if env.environment_id == environment_id:
                    env.deleted_at = time.monotonic()
                    return empty_response(204)
        return error(404, "Environment not found.")
