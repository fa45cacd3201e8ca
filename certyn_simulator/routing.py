"""Which simulated endpoint a request addresses: a pure map from method and path to a :class:`Route`."""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import unquote


class Route(NamedTuple):
    """``endpoint``: one of ``scenario.ENDPOINTS``, ``method_not_allowed`` or ``other``."""

    endpoint: str
    run_id: str | None = None
    project_id: str | None = None
    item_id: str | None = None  # a conversation, environment, execution or agent session id; GitHub's ids
    repository: str | None = None  # GitHub: owner/repo


def classify(method: str, path: str) -> tuple[str, str | None]:
    """Map a request to (endpoint, run id); see :func:`route` for the other ids."""
    found = route(method, path)
    return found.endpoint, found.run_id


def route(method: str, path: str) -> Route:  # noqa: PLR0911 - a router
    segments = path.split("/")
    if segments[:2] == ["", "github"]:
        rest = [unquote(s) for s in segments[2:]]
        return github_route(method, rest[2:] if rest[:2] == ["api", "v3"] else rest)
    if segments[:2] != ["", "api"]:
        return Route("other")
    rest = [unquote(s) for s in segments[2:]]
    if rest[:2] == ["ci", "runs"]:
        return _ci_route(method, rest[2:])
    if rest[:1] == ["projects"]:
        return _project_route(method, rest[1:])
    if rest[:2] == ["assistant", "conversations"] and len(rest) == 3 and rest[2]:
        return _only(method, "GET", Route("conversation", item_id=rest[2]))
    if rest == ["self-hosted", "pools"]:
        return _only(method, "GET", Route("runner_pools"))
    return Route("other")


def _only(method: str, allowed: str, found: Route) -> Route:
    return found if method == allowed else found._replace(endpoint="method_not_allowed")


def _ci_route(method: str, rest: list[str]) -> Route:
    if rest in ([], [""]):
        return _only(method, "POST", Route("create"))
    run_id = rest[0]
    if len(rest) == 1 and run_id:
        return _only(method, "GET", Route("status", run_id))
    if len(rest) == 2 and rest[1] == "cancel" and run_id:
        return _only(method, "POST", Route("cancel", run_id))
    return Route("other")


def _project_route(method: str, rest: list[str]) -> Route:  # noqa: PLR0911 - a router
    if rest == ["overview"]:
        return _only(method, "GET", Route("overview"))
    if len(rest) < 2 or not rest[0]:
        return Route("other")
    project = rest[0]
    if rest[1] in _DIAGNOSIS:
        return _diagnosis_route(method, project, rest[1:])
    if rest[1] == "process-runs" and len(rest) == 3 and rest[2]:
        return _only(method, "GET", Route("process_run", rest[2], project))
    if rest[1] == "environments":
        if len(rest) == 2 or rest[2:] == [""]:
            if method == "POST":
                return Route("environment_create", project_id=project)
            return _only(method, "GET", Route("environment_list", project_id=project))
        if len(rest) == 3 and rest[2]:
            return _only(method, "DELETE", Route("environment_delete", project_id=project, item_id=rest[2]))
        if len(rest) == 4 and rest[2] and rest[3] == "variables":
            if method == "POST":
                return Route("variable_create", project_id=project, item_id=rest[2])
            return _only(method, "GET", Route("variable_list", project_id=project, item_id=rest[2]))
    return Route("other")


_DIAGNOSIS = ("executions", "agentsessions", "observations", "flaky-testcases")


def _diagnosis_route(method: str, project: str, rest: list[str]) -> Route:
    """``rest``: the path after the project id, starting with one of ``_DIAGNOSIS``."""
    found: Route | None = None
    if rest == ["observations"]:
        found = Route("observations", project_id=project)
    elif rest == ["flaky-testcases"]:
        found = Route("flaky_testcases", project_id=project)
    elif len(rest) >= 2 and rest[1]:
        shape = (rest[0], len(rest), rest[2] if len(rest) > 2 else None)
        endpoint = {
            ("executions", 2, None): "execution",
            ("executions", 3, "artifacts"): "execution_artifacts",
            ("agentsessions", 3, "conversation"): "agent_conversation",
        }.get(shape)
        found = Route(endpoint, project_id=project, item_id=rest[1]) if endpoint else None
    return _only(method, "GET", found) if found else Route("other")


def github_route(method: str, rest: list[str]) -> Route:
    """The fake GitHub REST API: ``rest`` is the path after ``/github`` (or ``/github/api/v3``)."""
    if rest == ["user"]:  # who the token is
        return _only(method, "GET", Route("github_user"))
    if len(rest) < 4 or rest[0] != "repos" or not (rest[1] and rest[2]):
        return Route("other")
    repo, tail = f"{rest[1]}/{rest[2]}", rest[3:]
    found: Route | None = None
    allowed = "GET"
    if tail == ["check-runs"]:
        found, allowed = Route("github_check_run_create"), "POST"
    elif len(tail) == 2 and tail[0] == "check-runs" and tail[1]:
        found, allowed = Route("github_check_run_update", item_id=tail[1]), "PATCH"
    elif len(tail) == 3 and tail[0] == "issues" and tail[1] == "comments" and tail[2]:
        found, allowed = Route("github_comment_update", item_id=tail[2]), "PATCH"
    elif len(tail) == 3 and tail[0] == "issues" and tail[2] == "comments" and tail[1]:
        endpoint = "github_comment_create" if method == "POST" else "github_comment_list"
        found = Route(endpoint, item_id=tail[1])
        allowed = method if method == "POST" else "GET"
    elif len(tail) == 3 and tail[0] == "commits" and tail[1] and tail[2] == "pulls":
        found = Route("github_commit_pulls", item_id=tail[1])
    if found is None:
        return Route("other", repository=repo)
    return _only(method, allowed, found._replace(repository=repo))
