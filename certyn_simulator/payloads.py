"""The simulator's answers: the response type, JSON and problem-details bodies, and small pure helpers."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote

JSON_TYPE = "application/json; charset=utf-8"
PROBLEM_TYPE = "application/problem+json; charset=utf-8"
HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
    "<body><h1>Bad Gateway</h1><p>The proxy server received an invalid response from an upstream server."
    "</p><hr><address>corporate-proxy/1.0</address></body></html>\n"
)
COUNTERS = ("total", "passed", "failed", "blocked", "pending", "aborted", "skipped")


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str | None = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    on_serve: Callable[[], None] | None = None  # called just before the last body byte is written


def json_response(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(status, json.dumps(payload).encode(), JSON_TYPE, list(headers))


def empty_response(status: int) -> Response:
    return Response(status, b"", None)


def problem(status: int, title: str, detail: str, errors: Mapping[str, list[str]]) -> Response:
    payload = {
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": dict(errors),
        "traceId": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00",
    }
    return Response(status, json.dumps(payload).encode(), PROBLEM_TYPE)


def error(status: int, message: str) -> Response:
    return json_response(status, {"error": message})


def iso(wall: float) -> str:
    return dt.datetime.fromtimestamp(wall, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def quote_segment(value: str) -> str:
    return quote(value, safe="")


def apply_overrides(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in; ``_omit`` drops keys, other ``_`` keys are directives."""
    out = dict(base)
    for key, value in overrides.items():
        if not key.startswith("_"):
            out[key] = copy.deepcopy(value)
    omit = overrides.get("_omit") or []
    for key in omit if isinstance(omit, list) else [omit]:
        out.pop(str(key), None)
    return out


def project_id(slug: str) -> str:
    """The stable id the simulator gives the project ``slug`` (slugs compare case-insensitively)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"certyn-sim:project:{slug.lower()}"))


def query_params(query: str) -> dict[str, str]:
    """The query's parameters, the last value of each."""
    return {k: v[-1] for k, v in parse_qs(query).items()}


def paged(query: str, items: list[Any], *, default_size: int = 20, max_size: int = 100) -> Response:
    """The API's paged envelope of ``items`` for the query's ``page`` (1-based) and ``pageSize``;
    ``400`` problem details for a page below 1 or a size outside 1-``max_size``."""
    params = query_params(query)
    try:
        page = int(params.get("page", "1"))
        size = int(params.get("pageSize", str(default_size)))
    except ValueError:
        page = size = 0
    if page < 1 or not 1 <= size <= max_size:
        return problem(
            400,
            "One or more validation errors occurred.",
            "See the errors property for details.",
            {"pageSize": [f"page must be an integer of at least 1 and pageSize 1-{max_size}."]},
        )
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
            "hasPreviousPage": page > 1,
        },
    )
