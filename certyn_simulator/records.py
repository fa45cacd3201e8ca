"""What the simulator saw: requests and runs, as plain records with ``to_dict()`` for JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RequestRecord:
    """One request to the simulated API (control requests under ``/_sim/`` are not recorded).

    ``received_at`` is ``time.monotonic()`` when the request line and body had been read.
    ``endpoint`` is one of ``scenario.ENDPOINTS``, ``method_not_allowed`` or ``other``. ``fault`` is the kind of the
    fault applied, if any. ``response_status`` is the HTTP status sent (``None`` when the fault sent
    none). ``run_id`` is the run addressed (or created); ``project_id`` and ``item_id`` (a conversation,
    environment, execution or agent session id; on the fake GitHub the check run id, issue number, comment
    id or commit sha) are the other ids in the path; ``repository`` is GitHub's ``owner/repo``.
    """

    seq: int
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body_text: str
    json: Any
    received_at: float
    wall_time: float
    client: str
    endpoint: str
    run_id: str | None = None
    project_id: str | None = None
    item_id: str | None = None
    repository: str | None = None
    fault: str | None = None
    response_status: int | None = None
    finished_at: float | None = None

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or ``None``."""
        low = name.lower()
        for key, value in self.headers:
            if key.lower() == low:
                return value
        return None

    def has_header(self, name: str) -> bool:
        return self.header(name) is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": [list(pair) for pair in self.headers],
            "bodyText": self.body_text,
            "json": self.json,
            "receivedAt": self.received_at,
            "wallTime": self.wall_time,
            "client": self.client,
            "endpoint": self.endpoint,
            "runId": self.run_id,
            "projectId": self.project_id,
            "itemId": self.item_id,
            "repository": self.repository,
            "fault": self.fault,
            "responseStatus": self.response_status,
            "finishedAt": self.finished_at,
        }


@dataclass
class CancelRecord:
    at: float
    reason: str | None
    body: Any
    idempotency_key: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "reason": self.reason,
            "body": self.body,
            "idempotencyKey": self.idempotency_key,
        }


@dataclass
class RunRecord:
    """One simulated run. Times are ``time.monotonic()`` values.

    ``terminal_served_at`` is when a terminal state (``completed``/``cancelled``) was FIRST served on
    a status poll; ``polls`` counts the status requests that reached the run (faults that do not
    process the request are not counted).
    """

    run_id: str
    created_at: float
    created_wall: float
    request: Any
    idempotency_key: str | None
    scenario_name: str
    creates: int = 1
    polls: int = 0
    last_snapshot_index: int = -1
    last_served: dict[str, Any] | None = None
    cancel_requests: list[CancelRecord] = field(default_factory=list)
    cancelled_at: float | None = None
    terminal_served_at: float | None = None
    terminal_state: str | None = None
    external: bool = False
    conversation_id: str | None = None

    @property
    def cancel_reasons(self) -> list[str | None]:
        return [c.reason for c in self.cancel_requests]

    def to_dict(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "createdAt": self.created_at,
            "createdWall": self.created_wall,
            "request": self.request,
            "idempotencyKey": self.idempotency_key,
            "scenario": self.scenario_name,
            "creates": self.creates,
            "polls": self.polls,
            "lastServed": self.last_served,
            "cancelRequests": [c.to_dict() for c in self.cancel_requests],
            "cancelledAt": self.cancelled_at,
            "terminalServedAt": self.terminal_served_at,
            "terminalState": self.terminal_state,
            "external": self.external,
            "conversationId": self.conversation_id,
        }
