"""Scenarios and faults: plain, JSON-able descriptions of how the simulated API behaves.

A :class:`Scenario` scripts every run created while it is active: the status snapshots served on
successive polls (or by elapsed time), the poll hint, the create response, validation lists, and
the fault queues. A :class:`Fault` is one misbehaviour applied to one request of one endpoint.

Both round-trip through ``to_dict()`` / ``from_dict()`` so a scenario can live in a JSON file or be
sent to ``PUT /_sim/scenario``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ENDPOINTS = (
    "create",
    "status",
    "cancel",
    "overview",
    "process_run",
    "conversation",
    "environment_create",
    "environment_list",
    "environment_delete",
    "variable_create",
    "variable_list",
    "runner_pools",
    "execution",
    "execution_artifacts",
    "agent_conversation",
    "observations",
    "flaky_testcases",
    "github_check_run_create",
    "github_check_run_update",
    "github_comment_list",
    "github_comment_create",
    "github_comment_update",
    "github_commit_pulls",
)
"""Endpoints that have a fault queue (see ``docs/simulator.md`` for the request each one is)."""

CONVERSATION_STATUSES = ("idle", "failed")
"""How a finished AI conversation ends (``processing`` is served before that)."""

FAULT_KINDS = (
    "status",
    "drop",
    "drop_after",
    "html",
    "truncated",
    "not_json",
    "drip",
    "stall",
    "delay",
    "redirect",
    "reset",
    "missing_run_id",
    "ok",
)

# Kinds that, unless ``process`` says otherwise, handle the request normally before misbehaving
# (so a create fault of this kind DOES create the run).
PROCESSING_KINDS = frozenset({"drop_after", "truncated", "drip", "stall", "delay", "missing_run_id", "ok"})

TERMINAL_STATES = frozenset({"completed", "cancelled"})

DEFAULT_STATUS_BASE_URL = "https://status.certyn-sim.invalid"
DEFAULT_APP_BASE_URL = "https://app.certyn-sim.invalid"


class ScenarioError(ValueError):
    """A scenario or fault description is invalid."""


@dataclass
class Fault:
    """One misbehaviour, applied to one request (or several: ``times`` / ``for_seconds``).

    kind:
      ``status``          answer ``status`` (default 503) with ``body`` (dict/list → JSON, str → text)
                          and ``headers`` (e.g. ``{"Retry-After": "2"}``); request not processed.
      ``drop``            close the connection without a response, request not processed.
      ``drop_after``      process the request (a create DOES create the run), then close without a
                          response: "response lost".
      ``html``            200 with an HTML proxy page (``status`` overrides the code).
      ``truncated``       process, then send the real JSON body cut in half with a matching
                          Content-Length (``short_read: true``: announce the full length, send half,
                          close).
      ``not_json``        200 ``application/json`` whose body is not JSON (``body`` overrides it).
      ``drip``            process, send headers with Content-Length, then the body one byte every
                          ``seconds``.
      ``stall``           process, send headers, sleep ``seconds``, then send the body.
      ``delay``           sleep ``seconds`` before reading anything further, then process normally.
      ``redirect``        ``status`` (default 302) with ``Location: location`` (default: the same path
                          on the scenario's ``status_base_url`` host); not processed.
      ``reset``           abort the connection with a TCP RST (SO_LINGER 0); not processed.
      ``missing_run_id``  create only: process, answer 201 without ``runId``.
      ``ok``              process and answer normally: a placeholder, so that a later fault in the
                          queue hits a later request (``[{"kind": "ok", "times": 2}, 500]``).
    ``process`` forces processing on (or off) for any kind. ``times`` applies the fault to that many
    consecutive requests; ``for_seconds`` keeps it active until that long after its first use
    (an outage).
    """

    kind: str
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    location: str | None = None
    content_type: str | None = None
    times: int = 1
    for_seconds: float | None = None
    process: bool | None = None
    short_read: bool = False

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ScenarioError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if self.times < 1:
            raise ScenarioError("fault 'times' must be at least 1")
        if self.seconds < 0 or (self.for_seconds is not None and self.for_seconds < 0):
            raise ScenarioError("fault durations must not be negative")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ScenarioError(f"fault status {self.status} is not an HTTP status code")

    @property
    def processes(self) -> bool:
        """Whether the request is handled (state changed) before the fault shows."""
        if self.process is not None:
            return self.process
        return self.kind in PROCESSING_KINDS

    # Convenience constructors -------------------------------------------------------------
    @classmethod
    def http(
        cls,
        status: int,
        body: Any = None,
        *,
        retry_after: str | float | None = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        process: bool | None = None,
    ) -> Fault:
        """An error answer, e.g. ``Fault.http(429, retry_after=2)`` or ``retry_after="<HTTP-date>"``."""
        hdrs = dict(headers or {})
        if retry_after is not None:
            hdrs["Retry-After"] = _retry_after_text(retry_after)
        return cls("status", status=status, body=body, headers=hdrs, times=times, process=process)

    @classmethod
    def outage(cls, seconds: float, status: int = 503, *, retry_after: str | float | None = None) -> Fault:
        """Every request to the endpoint answers ``status`` until ``seconds`` after the first one."""
        hdrs = {"Retry-After": _retry_after_text(retry_after)} if retry_after is not None else {}
        return cls("status", status=status, headers=hdrs, for_seconds=seconds)

    @classmethod
    def drop(cls, *, times: int = 1) -> Fault:
        return cls("drop", times=times)

    @classmethod
    def drop_after(cls, *, times: int = 1) -> Fault:
        return cls("drop_after", times=times)

    @classmethod
    def html(cls, status: int = 200, *, times: int = 1) -> Fault:
        return cls("html", status=status, times=times)

    @classmethod
    def truncated(cls, *, short_read: bool = False, times: int = 1) -> Fault:
        return cls("truncated", short_read=short_read, times=times)

    @classmethod
    def not_json(cls, *, times: int = 1) -> Fault:
        return cls("not_json", times=times)

    @classmethod
    def drip(cls, seconds_per_byte: float, *, times: int = 1) -> Fault:
        return cls("drip", seconds=seconds_per_byte, times=times)

    @classmethod
    def stall(cls, seconds: float, *, times: int = 1) -> Fault:
        return cls("stall", seconds=seconds, times=times)

    @classmethod
    def delay(cls, seconds: float, *, times: int = 1) -> Fault:
        return cls("delay", seconds=seconds, times=times)

    @classmethod
    def redirect(cls, location: str | None = None, status: int = 302, *, times: int = 1) -> Fault:
        return cls("redirect", status=status, location=location, times=times)

    @classmethod
    def reset(cls, *, times: int = 1, process: bool | None = None) -> Fault:
        return cls("reset", times=times, process=process)

    @classmethod
    def missing_run_id(cls) -> Fault:
        return cls("missing_run_id")

    @classmethod
    def ok(cls, *, times: int = 1) -> Fault:
        """No fault for ``times`` requests: the faults queued after it hit the later ones."""
        return cls("ok", times=times)

    # Serialisation ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        defaults = Fault(self.kind)
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name != "kind" and value != getattr(defaults, f.name):
                out[f.name] = copy.deepcopy(value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str) -> Fault:
        """Accept a dict, or a bare kind name such as ``"drop"``."""
        if isinstance(data, str):
            return cls(data)
        if not isinstance(data, Mapping):
            raise ScenarioError(f"a fault must be an object or a kind name, not {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ScenarioError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        if "kind" not in data:
            raise ScenarioError("a fault needs a 'kind'")
        kwargs = dict(copy.deepcopy(dict(data)))
        if "headers" in kwargs:
            headers = kwargs["headers"]
            if not isinstance(headers, Mapping):
                raise ScenarioError("fault 'headers' must be an object")
            kwargs["headers"] = {str(k): str(v) for k, v in headers.items()}
        for name in ("seconds", "for_seconds"):
            if kwargs.get(name) is not None:
                kwargs[name] = float(kwargs[name])
        return cls(**kwargs)


def _retry_after_text(value: str | float) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)


GITHUB_SWITCHES = ("permissions", "rate_limit", "pulls", "comments", "server_url")


def _check_github(github: Any) -> None:
    """The fake GitHub's switches: ``permissions`` (``{"checks"|"pull_requests": "write"|"read"|"none"}``),
    ``rate_limit`` (``{"status": 403|429, "retry_after": s|null, "times": n|null}``), ``pulls``
    (``[{"number", "head_sha", ...}]``), ``comments`` (``[{"issue", "body", "user"}]``), ``server_url``."""
    if not isinstance(github, dict):
        raise ScenarioError("'github' must be an object")
    unknown = set(github) - set(GITHUB_SWITCHES)
    if unknown:
        raise ScenarioError(f"unknown github switch(es): {', '.join(sorted(unknown))}")
    permissions = github.get("permissions") or {}
    if not isinstance(permissions, dict) or not all(
        k in ("checks", "pull_requests") and v in ("write", "read", "none") for k, v in permissions.items()
    ):
        raise ScenarioError('github permissions: {"checks" or "pull_requests": "write", "read" or "none"}')
    limit = github.get("rate_limit")
    if limit is not None and (not isinstance(limit, dict) or limit.get("status", 403) not in (403, 429)):
        raise ScenarioError("github rate_limit must be an object with status 403 or 429")
    _check_objects("github pulls", github.get("pulls") or [], "head_sha")
    if not all(isinstance(c, dict) and isinstance(c.get("issue"), int) for c in github.get("comments") or []):
        raise ScenarioError("each of github comments must be an object with an integer 'issue'")


def _check_objects(name: str, items: list[Any], key: str) -> None:
    if not all(isinstance(item, dict) and isinstance(item.get(key), str) for item in items):
        raise ScenarioError(f"each of {name} must be an object with a '{key}'")


def snapshot(state: str, **counts: Any) -> dict[str, Any]:
    """A status snapshot: ``snapshot("in_progress", total=5, passed=2, pending=3)``."""
    return {"state": state, **counts}


@dataclass
class Scenario:
    """How runs created while this scenario is active behave.

    ``snapshots`` are the status bodies served on successive polls (the last repeats). Each is a
    plain dict merged over defaults (``runId``, zero counters, ``startedAt``, ``appUrl``,
    ``retryAfterSeconds``, ...); keys starting with ``_`` are directives, never served:
    ``"_omit": ["failed", ...]`` drops fields, ``"_exact": true`` serves the dict as is (nothing
    merged in). ``completedAt`` is filled in for terminal states unless given.

    With ``step_seconds`` set, the snapshot is chosen by time since create
    (``index = elapsed // step_seconds``) instead of by poll count.

    Beyond the CI endpoints: ``overview`` is merged over the projects overview (``_exact``/``_omit``
    as for snapshots); ``test_results`` are the per-test rows of a run (each merged over a generated
    row; None: rows generated from the run's counters) and ``process_run`` is merged over that
    answer; a conversation answers ``processing`` ``conversation_polls`` times (None: forever), then
    ``conversation_status`` with ``conversation_answer``; ``environments`` exist before any create;
    ``runner_pools`` are the self-hosted runner pools (each merged over a full RunnerPool).
    """

    name: str = "custom"
    snapshots: list[dict[str, Any]] = field(
        default_factory=lambda: [snapshot("completed", total=1, passed=1)]
    )
    step_seconds: float | None = None
    retry_after_seconds: float | None = 1
    test_case_count: int | None = None
    projects: list[str] | None = None
    processes: list[str] | None = None
    status_base_url: str = DEFAULT_STATUS_BASE_URL
    app_base_url: str = DEFAULT_APP_BASE_URL
    create_status: int = 201
    create_response: dict[str, Any] = field(default_factory=dict)
    cancel_status: int = 202
    cancelled_snapshot: dict[str, Any] = field(default_factory=dict)
    not_found_polls: int = 0
    run_ids: list[str] = field(default_factory=list)
    idempotency_conflict: bool = False
    overview: dict[str, Any] = field(default_factory=dict)
    test_results: list[dict[str, Any]] | None = None
    process_run: dict[str, Any] = field(default_factory=dict)
    conversation_polls: int | None = 1
    conversation_status: str = "idle"
    conversation_answer: str = "The run finished. No further analysis is available."
    environments: list[dict[str, Any]] = field(default_factory=list)
    runner_pools: list[dict[str, Any]] = field(default_factory=list)
    github: dict[str, Any] = field(default_factory=dict)
    faults: dict[str, list[Fault]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.snapshots:
            raise ScenarioError("a scenario needs at least one snapshot")
        for snap in self.snapshots:
            if not isinstance(snap, dict):
                raise ScenarioError("each snapshot must be an object")
        if self.step_seconds is not None and self.step_seconds <= 0:
            raise ScenarioError("step_seconds must be positive")
        if self.conversation_polls is not None and self.conversation_polls < 0:
            raise ScenarioError("conversation_polls must not be negative")
        if self.conversation_status not in CONVERSATION_STATUSES:
            raise ScenarioError(
                f"conversation_status must be one of {', '.join(CONVERSATION_STATUSES)}, "
                f"not {self.conversation_status!r}"
            )
        if self.test_results is not None and not all(isinstance(row, dict) for row in self.test_results):
            raise ScenarioError("each of test_results must be an object")
        _check_objects("environments", self.environments, "key")
        _check_objects("runner_pools", self.runner_pools, "id")
        _check_github(self.github)
        for endpoint in self.faults:
            if endpoint not in ENDPOINTS:
                raise ScenarioError(
                    f"unknown fault endpoint {endpoint!r}; expected one of {', '.join(ENDPOINTS)}"
                )

    def with_faults(self, **faults: Sequence[Fault]) -> Scenario:
        """A copy with ``faults`` appended per endpoint: ``sc.with_faults(status=[Fault.drop()])``."""
        new = self.copy()
        for endpoint, items in faults.items():
            if endpoint not in ENDPOINTS:
                raise ScenarioError(f"unknown fault endpoint {endpoint!r}")
            new.faults.setdefault(endpoint, []).extend(copy.deepcopy(list(items)))
        return new

    def copy(self) -> Scenario:
        return copy.deepcopy(self)

    def replace(self, **changes: Any) -> Scenario:
        return dataclasses.replace(self.copy(), **changes)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "faults":
                out["faults"] = {ep: [fl.to_dict() for fl in items] for ep, items in value.items()}
            else:
                out[f.name] = copy.deepcopy(value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        if not isinstance(data, Mapping):
            raise ScenarioError("a scenario must be a JSON object")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ScenarioError(f"unknown scenario field(s): {', '.join(sorted(unknown))}")
        kwargs: dict[str, Any] = copy.deepcopy(dict(data))
        faults = kwargs.pop("faults", None) or {}
        if not isinstance(faults, Mapping):
            raise ScenarioError("'faults' must be an object keyed by endpoint")
        parsed: dict[str, list[Fault]] = {}
        for endpoint, given in faults.items():
            items = [given] if isinstance(given, (str, Mapping)) else given
            if not isinstance(items, list):
                raise ScenarioError(f"faults for {endpoint!r} must be a list")
            parsed[str(endpoint)] = [Fault.from_dict(item) for item in items]
        if "snapshots" in kwargs and not isinstance(kwargs["snapshots"], list):
            raise ScenarioError("'snapshots' must be a list of objects")
        try:
            return cls(**kwargs, faults=parsed)
        except TypeError as exc:  # wrong value types surface here
            raise ScenarioError(str(exc)) from exc
