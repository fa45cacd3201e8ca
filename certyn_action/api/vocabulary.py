"""The Certyn API's words for a run, its paths and the create request body. Pure: no I/O, no pydantic."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from ..settings import RunMetadata, Settings

TERMINAL_STATES = frozenset({"completed", "cancelled"})
COUNTERS = ("total", "passed", "failed", "blocked", "pending", "aborted", "skipped")
OUTCOMES = ("passed", "failed", "blocked", "aborted", "skipped")  # the counters that are a test's result
# the counters the API promises: a finished run without one (missing or null) proves nothing
REQUIRED_COUNTERS = ("failed", "blocked")


def api_path(*segments: str) -> str:
    """``/api/...``, every segment escaped: ids come from the inputs or the server."""
    return "/api/" + "/".join(quote(segment, safe="") for segment in segments)


def run_path(run_id: str) -> str:
    return api_path("ci", "runs", run_id)


def create_body(inputs: Settings, meta: RunMetadata, environment_key: str = "") -> dict[str, object]:
    """The create's JSON, empty fields left out; ``environment_key``: the temporary one of ``base-url``."""
    optional: dict[str, object] = {
        "environmentKey": environment_key or inputs.environment_key,
        "processSlug": inputs.process_slug,
        "tags": list(inputs.tags),
        "repository": meta.repository,
        "ref": meta.ref,
        "commitSha": meta.commit_sha,
        "event": meta.event,
        "externalUrl": meta.external_url,
        "instruction": inputs.instruction,
    }
    return {"projectSlug": inputs.project_slug} | {name: value for name, value in optional.items() if value}
