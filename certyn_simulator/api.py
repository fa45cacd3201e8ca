"""The simulated API's endpoints: the key check, then each endpoint's answer from the run store,
the conversations, the environments and the per-test results."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable
from typing import Any

from . import diagnosis
from .conversations import Conversations
from .environments import Environments, runner_pools
from .github import GitHub, github_not_found
from .payloads import Response, apply_overrides, error, json_response, paged, project_id
from .records import RequestRecord, RunRecord
from .results import is_finished, process_run_body
from .scenario import Scenario
from .store import RunStore

DEFAULT_PROJECT = "demo"


class Api:
    def __init__(
        self,
        cond: threading.Condition,
        store: RunStore,
        conversations: Conversations,
        environments: Environments,
        github: GitHub,
        scenario: Callable[[], Scenario],
        api_key: str,
    ) -> None:
        self._cond = cond
        self.store = store
        self.conversations = conversations
        self.environments = environments
        self.github = github
        self._scenario = scenario
        self.api_key = api_key

    def process(self, rec: RequestRecord, *, omit_run_id: bool = False) -> Response:  # noqa: PLR0911 - a router
        endpoint = rec.endpoint
        if rec.path.startswith("/github/"):  # the fake GitHub: its own token, its own error bodies
            if not endpoint.startswith("github_"):
                return github_not_found()
            return self._with_scenario(lambda sc: self.github.process(rec, sc, self.api_key))
        if endpoint == "method_not_allowed":
            return error(405, f"Method {rec.method} not allowed on {rec.path}")
        if endpoint == "other":
            return error(404, f"No route for {rec.method} {rec.path}")
        denied = self._check_key(rec)
        if denied is not None:
            return denied
        if endpoint == "create":
            with self._cond:
                sc = self._scenario()
            return self.store.create(rec, sc, omit_run_id=omit_run_id)
        if endpoint == "status":
            return self.store.status(rec)
        if endpoint == "cancel":
            return self.store.cancel(rec)
        if endpoint == "conversation":
            return self.conversations.serve(rec.item_id)
        if endpoint == "overview":
            return _json(self.overview())
        if endpoint == "runner_pools":
            return self._with_scenario(lambda sc: _json(runner_pools(sc)))
        return self._project_scoped(rec)

    def _project_scoped(self, rec: RequestRecord) -> Response:
        project = rec.project_id or ""
        if project not in self.project_ids().values():
            return error(404, "Project not found.")
        envs = self.environments
        handlers: dict[str, Callable[[], Response]] = {
            "process_run": lambda: self._process_run(rec, project),
            "environment_create": lambda: self._with_scenario(lambda sc: envs.create(rec, project, sc)),
            "environment_list": lambda: envs.list_page(rec.query, project),
            "environment_delete": lambda: envs.delete(project, rec.item_id),
            "variable_create": lambda: envs.create_variable(rec, project),
            "variable_list": lambda: envs.list_variables(project, rec.item_id),
            "observations": lambda: diagnosis.observations_page(rec.query, project, self._rows(project)),
            "flaky_testcases": lambda: self._with_scenario(
                lambda sc: diagnosis.flaky_testcases(rec.query, sc)
            ),
        }
        if rec.endpoint in handlers:
            return handlers[rec.endpoint]()
        return self._diagnosis(rec, project)

    def _diagnosis(self, rec: RequestRecord, project: str) -> Response:
        """An execution, its artifacts, or an agent session's conversation, from the runs' rows."""
        rows = self._rows(project)
        if rec.endpoint == "agent_conversation":
            session = diagnosis.find(rows, "agentSessionId", rec.item_id)
            if session is None:
                return error(404, "Agent session not found.")
            return diagnosis.conversation_page(rec.query, session)
        found = diagnosis.find(rows, "executionId", rec.item_id)
        if found is None:
            return error(404, "Execution not found.")
        if rec.endpoint == "execution_artifacts":
            return paged(rec.query, diagnosis.artifacts(found))
        return _json(diagnosis.execution_body(found))

    def _rows(self, project: str) -> list[diagnosis.TestRow]:
        """The per-test rows of every run of ``project``, as the per-test results serve them."""
        with self._cond:
            return diagnosis.rows_of(self._runs_of(project, list(self.store.runs.values())))

    def _runs_of(self, project: str, runs: list[RunRecord]) -> list[tuple[RunRecord, Scenario, float | None]]:
        """Those of ``runs`` in ``project``, each with its scenario and completion time."""
        ids = self.project_ids()
        out = []
        with self._cond:
            for run in runs:
                slug = run.request.get("projectSlug") if isinstance(run.request, dict) else None
                if isinstance(slug, str) and ids.get(slug.lower()) == project:
                    completed = self.store.completed_wall(run.run_id) if is_finished(run) else None
                    out.append((run, self.store.run_scenarios[run.run_id], completed))
        return out

    def _with_scenario(self, answer: Callable[[Scenario], Response]) -> Response:
        with self._cond:
            return answer(self._scenario())

    def _check_key(self, rec: RequestRecord) -> Response | None:
        given = rec.header("X-API-Key")
        if not given:
            return error(401, "Missing API key. Send it in the X-API-Key header.")
        if not hmac.compare_digest(given.encode(), self.api_key.encode()):
            return error(401, "Invalid API key.")
        return None

    # Projects -----------------------------------------------------------------------------------
    def overview(self) -> dict[str, Any]:
        with self._cond:
            sc = self._scenario()
            slugs = list(sc.projects) if sc.projects is not None else [DEFAULT_PROJECT]
            for run in self.store.runs.values():
                slug = run.request.get("projectSlug") if isinstance(run.request, dict) else None
                if isinstance(slug, str) and slug.lower() not in {s.lower() for s in slugs}:
                    slugs.append(slug)
        projects = [{"id": project_id(s), "slug": s, "name": s.replace("-", " ").title()} for s in slugs]
        body = {"defaultProjectId": projects[0]["id"] if projects else None, "projects": projects}
        if sc.overview.get("_exact"):
            return {k: v for k, v in sc.overview.items() if not k.startswith("_")}
        return apply_overrides(body, sc.overview)

    def project_ids(self) -> dict[str, str]:
        """Project ids by lower-case slug, as the overview serves them."""
        projects = self.overview().get("projects")
        out: dict[str, str] = {}
        for item in projects if isinstance(projects, list) else []:
            if (
                isinstance(item, dict)
                and isinstance(item.get("slug"), str)
                and isinstance(item.get("id"), str)
            ):
                out.setdefault(item["slug"].lower(), item["id"])
        return out

    def _process_run(self, rec: RequestRecord, project: str) -> Response:
        with self._cond:
            run = self.store.runs.get(rec.run_id or "")
            found = self._runs_of(project, [run] if run is not None else [])
            if not found:
                return error(404, "Process run not found.")
            return _json(process_run_body(*found[0]))


def _json(payload: Any) -> Response:
    return json_response(200, payload)
