"""Request bodies the API would refuse: 415/400 problem details, as the Certyn API answers them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .payloads import Response, problem
from .records import RequestRecord


def reject_json_body(rec: RequestRecord) -> Response | None:
    """415 unless the body is ``application/json``, 400 unless it is a JSON object, else None."""
    ctype = (rec.header("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        return problem(
            415,
            "Unsupported Media Type",
            "Send the body as application/json.",
            {"$": ["Unsupported media type."]},
        )
    if rec.body_text.strip() == "" or not isinstance(rec.json, dict):
        return problem(
            400,
            "One or more validation errors occurred.",
            "The request body must be a JSON object.",
            {"$": ["The request body must be a JSON object."]},
        )
    return None


def reject_create_body(rec: RequestRecord) -> Response | None:
    """415/400 problem details for a run create body the API would refuse, else None."""
    rejection = reject_json_body(rec)
    if rejection is not None:
        return rejection
    errors = validate_create(rec.json)
    if errors:
        return invalid(errors)
    return None


def invalid(errors: Mapping[str, list[str]]) -> Response:
    return problem(
        400, "One or more validation errors occurred.", "See the errors property for details.", errors
    )


def validate_create(body: Mapping[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    slug = body.get("projectSlug")
    if not isinstance(slug, str) or not slug.strip():
        errors["projectSlug"] = ["The ProjectSlug field is required."]
    for name in (
        "environmentKey",
        "processSlug",
        "repository",
        "ref",
        "commitSha",
        "event",
        "externalUrl",
        "instruction",
    ):
        if name in body and body[name] is not None and not isinstance(body[name], str):
            errors[name] = [f"The {name} field must be a string."]
    process = body.get("processSlug")
    tags = body.get("tags")
    if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags)):
        errors["tags"] = ["The tags field must be an array of non-empty strings."]
    has_process = isinstance(process, str) and process != ""
    has_tags = isinstance(tags, list) and len(tags) > 0
    if has_process == has_tags and "tags" not in errors:
        errors["processSlug"] = ["Specify exactly one of processSlug or tags (a non-empty array)."]
    return errors


EXECUTION_TARGETS = ("cloud_managed", "self_hosted")


def validate_environment(body: Mapping[str, Any], pools: list[dict[str, Any]]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name in ("key", "label", "baseUrl"):
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            errors[name] = [f"The {name} field is required."]
    key = body.get("key")
    if isinstance(key, str) and (len(key) > 63 or key != key.lower()):
        errors["key"] = ["The key must be lower case and at most 63 characters."]
    for name in ("version", "changelog"):
        if body.get(name) is not None and not isinstance(body[name], str):
            errors[name] = [f"The {name} field must be a string."]
    if body.get("isDefault") is not None and not isinstance(body["isDefault"], bool):
        errors["isDefault"] = ["The isDefault field must be a boolean."]
    errors.update(_validate_target(body, pools))
    return errors


def _validate_target(body: Mapping[str, Any], pools: list[dict[str, Any]]) -> dict[str, list[str]]:
    """``executionTarget`` (default ``cloud_managed``) and ``runnerPoolId``: ``self_hosted`` needs the id
    of an active pool of ``GET /api/self-hosted/pools``."""
    target = body.get("executionTarget") or "cloud_managed"
    pool_id = body.get("runnerPoolId") or ""
    if target not in EXECUTION_TARGETS:
        return {"executionTarget": [f"The executionTarget must be one of {', '.join(EXECUTION_TARGETS)}."]}
    pool = next((p for p in pools if p.get("id") == pool_id), None)
    problem = None
    if not isinstance(pool_id, str):
        problem = "The runnerPoolId field must be a string."
    elif target == "cloud_managed":
        problem = None
    elif not pool_id:
        problem = "A self_hosted environment needs a runnerPoolId."
    elif pool is None:
        problem = f"Runner pool '{pool_id}' was not found."
    elif pool.get("isActive") is not True:
        problem = f"Runner pool '{pool_id}' is not active."
    return {"runnerPoolId": [problem]} if problem else {}


def validate_variable(body: Mapping[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["The name field is required."]
    if not isinstance(body.get("value"), str):
        errors["value"] = ["The value field is required and must be a string."]
    if body.get("description") is not None and not isinstance(body["description"], str):
        errors["description"] = ["The description field must be a string."]
    return errors
