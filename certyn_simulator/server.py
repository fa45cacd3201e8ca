"""The Certyn API simulator: a threaded HTTP server on loopback with scripted runs, fault injection,
a request log and an HTTP control surface under ``/_sim/``.

    with Simulator("pass", api_key="k") as sim:
        base = sim.base_url                      # e.g. http://127.0.0.1:41234
        ...                                      # point the action's api-url at base
        sim.wait_for(lambda r: r.endpoint == "status")
        assert sim.runs[run_id].terminal_served_at is not None

The parts: ``store`` (runs and the CI endpoints), ``faults`` (queues), ``api`` (the endpoints),
``control`` (``/_sim/`` routes) and ``front`` (HTTP); this module wires them and is the public face.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from .api import DEFAULT_PROJECT, Api
from .catalogue import builtin_scenario
from .control import control
from .conversations import Conversations
from .environments import EnvironmentRecord, Environments
from .faults import FaultQueues
from .front import Server
from .github import DEFAULT_GITHUB_TOKEN, CheckRunRecord, CommentRecord, GitHub
from .payloads import Response
from .records import RequestRecord, RunRecord
from .scenario import Fault, Scenario
from .store import RunStore

DEFAULT_API_KEY = "certyn-sim-key"

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


class Simulator:
    """A Certyn API on ``host`` (loopback by default), in-process.

    ``scenario``: a :class:`Scenario`, a built-in name, a scenario dict, or None (``"pass"``).
    ``api_key``: the only accepted ``X-API-Key``. ``port=0`` picks a free port. ``github_token``: the only
    token the fake GitHub under ``/github`` accepts (``Authorization: Bearer <token>``).
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
        github_token: str = DEFAULT_GITHUB_TOKEN,
    ) -> None:
        self.host = host
        self.port = port
        self.verbose = verbose
        self._log_fn = log
        self._cond = threading.Condition(threading.RLock())
        self._scenario = to_scenario(scenario)
        self._faults = FaultQueues(self._cond)
        self._conversations = Conversations(self._cond)
        self._environments = Environments(self._cond)
        self._github = GitHub(self._cond, github_token)
        self._store = RunStore(self._cond, on_create=self._conversations.on_create)
        self._api = Api(
            self._cond,
            self._store,
            self._conversations,
            self._environments,
            self._github,
            lambda: self._scenario,
            api_key,
        )
        self._load(self._scenario)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.stop_event = threading.Event()

    @property
    def api_key(self) -> str:
        return self._api.api_key

    @api_key.setter
    def api_key(self, value: str) -> None:
        self._api.api_key = value

    # Lifecycle --------------------------------------------------------------------------------
    def start(self) -> str:
        """Start serving in a daemon thread; return the base URL (``http://127.0.0.1:PORT``)."""
        if self._server is not None:
            return self.base_url
        self.stop_event.clear()
        self._server = Server((self.host, self.port), _Wiring(self))
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
        self._notify()

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
    def github_url(self) -> str:
        """The fake GitHub REST API's base URL (``GITHUB_API_URL``), like ``https://api.github.com``."""
        return f"{self.base_url}/github"

    @property
    def github_enterprise_url(self) -> str:
        """The same fake, at a GitHub Enterprise Server style base URL (``https://<host>/api/v3``)."""
        return f"{self.base_url}/github/api/v3"

    @property
    def github_token(self) -> str:
        return self._github.token

    @github_token.setter
    def github_token(self, value: str) -> None:
        self._github.token = value

    @property
    def running(self) -> bool:
        return self._server is not None

    # Scripting --------------------------------------------------------------------------------
    @property
    def scenario(self) -> Scenario:
        with self._cond:
            return self._scenario.copy()

    def set_scenario(self, scenario: ScenarioLike) -> None:
        """Use ``scenario`` for runs created from now on; its faults replace the fault queues and its
        ``environments`` the pre-existing ones (environments created through the API stay)."""
        sc = to_scenario(scenario)
        with self._cond:
            self._scenario = sc
            self._load(sc)

    def _load(self, sc: Scenario) -> None:
        self._faults.load(sc)
        self._environments.load(sc, self._api.project_ids())
        self._github.load(sc)

    def add_faults(self, endpoint: str, *faults: Fault | Mapping[str, Any] | str) -> None:
        """Append faults to ``endpoint``'s queue (one of ``ENDPOINTS``, e.g. ``create``, ``process_run``)."""
        self._faults.add(endpoint, *faults)

    def clear_faults(self) -> None:
        self._faults.clear()

    def pending_faults(self) -> dict[str, list[Fault]]:
        return self._faults.pending()

    def reset(self, scenario: ScenarioLike | None = None) -> None:
        """Forget runs, requests, conversations, environments and faults; reload the (given or current)
        scenario."""
        with self._cond:
            self._store.clear()
            self._conversations.clear()
            self._environments.clear()
            self._github.clear()
        self.set_scenario(scenario if scenario is not None else self._scenario)

    def create_run(
        self,
        project: str = DEFAULT_PROJECT,
        *,
        run_id: str | None = None,
        scenario: ScenarioLike = None,
        **request: Any,
    ) -> RunRecord:
        """A run created outside the action (for attaching by id), scripted by ``scenario`` (default:
        the current one). ``request`` fields (``processSlug=``, ``tags=``, ...) go into its create body."""
        with self._cond:
            sc = to_scenario(scenario) if scenario is not None else self._scenario
            body = {"projectSlug": project, **request}
            if "processSlug" not in body and "tags" not in body:
                body["processSlug"] = "smoke"
            return self._store.add_external(sc, body, run_id)

    # Inspection -------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RequestRecord]:
        """Every API request so far, in arrival order (records fill in as responses go out)."""
        with self._cond:
            return list(self._store.requests)

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
            return dict(self._store.runs)

    def run(self, run_id: str | None = None) -> RunRecord:
        """The run ``run_id``, or the only/last one created when ``run_id`` is None."""
        with self._cond:
            if run_id is None:
                if not self._store.runs:
                    raise KeyError("no run has been created")
                return list(self._store.runs.values())[-1]
            return self._store.runs[run_id]

    @property
    def environments(self) -> list[EnvironmentRecord]:
        """Every environment (pre-existing, created, deleted), in creation order."""
        with self._cond:
            return list(self._environments.records)

    @property
    def created_environments(self) -> list[EnvironmentRecord]:
        return [e for e in self.environments if not e.preexisting]

    @property
    def deleted_environments(self) -> list[EnvironmentRecord]:
        return [e for e in self.environments if e.deleted_at is not None]

    @property
    def github_check_runs(self) -> list[CheckRunRecord]:
        """The check runs written to the fake GitHub, in creation order (as they stand now)."""
        with self._cond:
            return list(self._github.check_runs.values())

    @property
    def github_comments(self) -> list[CommentRecord]:
        """The issue comments on the fake GitHub (the scenario's and those written), oldest first."""
        with self._cond:
            return list(self._github.comments.values())

    @property
    def github_refused(self) -> list[dict[str, Any]]:
        """GitHub requests refused: ``{"seq", "method", "path", "reason"}``, reason ``certyn-key``,
        ``missing-token``, ``bad-token`` or ``permission``."""
        with self._cond:
            return [dict(r) for r in self._github.refused]

    def github_records(self) -> dict[str, Any]:
        """What ``GET /_sim/github`` answers."""
        return {
            "checkRuns": [c.to_dict() for c in self.github_check_runs],
            "comments": [c.to_dict() for c in self.github_comments],
            "refused": self.github_refused,
        }

    @property
    def conversations(self) -> list[dict[str, Any]]:
        """The AI conversations started by creates with an ``instruction``."""
        with self._cond:
            return [c.to_dict() for c in self._conversations.by_id.values()]

    def project_id(self, slug: str) -> str:
        """The id the projects overview gives ``slug`` (case-insensitive); ``KeyError`` if absent."""
        return self._api.project_ids()[slug.lower()]

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
                for rec in self._store.requests[since:]:
                    if predicate(rec):
                        return rec
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = ", ".join(f"{r.method} {r.path}" for r in self._store.requests[-10:]) or "none"
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


class _Wiring:
    """The simulator as the HTTP front sees it (``front.Backend``)."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self.stop_event = sim.stop_event

    @property
    def verbose(self) -> bool:
        return self._sim.verbose

    def record(self, rec: RequestRecord) -> RequestRecord:
        return self._sim._store.record(rec)

    def take_fault(self, endpoint: str) -> Fault | None:
        return self._sim._faults.take(endpoint)

    def process(self, rec: RequestRecord, *, omit_run_id: bool = False) -> Response:
        return self._sim._api.process(rec, omit_run_id=omit_run_id)

    def control(self, method: str, path: str, query: str, body: Any) -> Response:
        return control(self._sim, method, path, query, body)

    def redirect_base(self) -> str:
        return self._sim.scenario.status_base_url.rstrip("/")

    def log(self, message: str) -> None:
        self._sim._log(message)

    def notify(self) -> None:
        self._sim._notify()
