"""The Certyn CI Runs API's shapes that need no I/O: paths, the create body, a created run. Pure."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import quote

from ..render.escape import encodable
from ..settings import RunMetadata, Settings
from .vocabulary import MAX_RUN_ID

if TYPE_CHECKING:
    from .models import CreatedRun

CREATE_PATH = "/api/ci/runs"
PROJECTS_OVERVIEW_PATH = "/api/projects/overview"


def run_path(run_id: str) -> str:
    """``/api/ci/runs/{runId}``, the id escaped: URLs are only ever built from the configured base."""
    return f"{CREATE_PATH}/{quote(run_id, safe='')}"


def raw_run_id(data: object) -> str | None:
    """The run id in a raw (not yet validated) create reply, or None unless the model would read it as is.
    Only a hint, for sending the first poll while the reply is validated: ``models.CreatedRun`` has the
    last word on the id, and a poll sent ahead is only ever used for the very id the model read."""
    value = data.get("runId") if isinstance(data, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_RUN_ID or encodable(value) != value:
        return None
    return value if value.strip(".") else None  # "." or "..": the URL would be normalised to another endpoint


def conversation_path(conversation_id: str) -> str:
    """``/api/assistant/conversations/{id}``, the id escaped (it comes from the server)."""
    return f"/api/assistant/conversations/{quote(conversation_id, safe='')}"


def project_path(project_id: str, *segments: str) -> str:
    """``/api/projects/{projectId}/...``, every segment escaped (ids come from the server)."""
    parts = [project_id, *segments]
    return "/api/projects/" + "/".join(quote(part, safe="") for part in parts)


class Created(NamedTuple):
    run: CreatedRun
    replayed: bool  # the server matched the Idempotency-Key of an earlier create


def create_body(inputs: Settings, meta: RunMetadata, environment_key: str = "") -> dict[str, object]:
    """The create request's JSON: camelCase, empty fields omitted. ``environment_key``: the temporary
    environment of ``base-url`` (``environment-key`` is not given then)."""
    body: dict[str, object] = {"projectSlug": inputs.project_slug}
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
    body.update({name: value for name, value in optional.items() if value})
    return body
