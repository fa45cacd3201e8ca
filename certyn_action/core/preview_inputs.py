"""Parsers for the inputs of preview deployments and attaching to a run: ``base-url``,
``base-url-wait-seconds``, ``keep-environment``, ``run-id``, and the inputs they cannot be combined with.
Pure; ``inputs.py`` reads them with the other inputs.

Each parser takes the input's text (already stripped; empty means "not set" and is handled by the reader)
and raises ``ValueError`` whose message says what to write instead, as the parsers of ``inputs.py`` do.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

BASE_URL_WAIT_DEFAULT = 30.0
BASE_URL_WAIT_MAX = 3600.0
MAX_RUN_ID = 200
MAX_BASE_URL = 2048
BASE_URL_EXAMPLE = "https://pr-42.preview.example.com"
# The fields of ``Inputs`` that :func:`input_conflicts` takes (with ``instruction``), by keyword.
CONFLICTING = (
    "run_id",
    "process_slug",
    "tags",
    "base_url",
    "environment_key",
    "wait",
    "keep_environment",
    "idempotency_key",
)

# Whitespace (any Unicode space), C0/C1 controls, DEL, line/paragraph separators, lone surrogates.
_BAD_URL_CHAR = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\\]")


def parse_base_url(value: str) -> str:
    """``base-url``: an absolute http(s) URL with a host, no credentials, that requests/urllib3 read the
    same way Python's URL parser does (so what is checked is what is reached). http is allowed: a preview
    deployment may have no TLS. Returned as written."""
    url = value.strip()
    if not url:
        raise ValueError(f"is empty: set it to the URL of your deployment, e.g. `{BASE_URL_EXAMPLE}`")
    if len(url) > MAX_BASE_URL:
        raise ValueError(f"is longer than {MAX_BASE_URL} characters: pass the deployment's base URL")
    if _BAD_URL_CHAR.search(url):
        raise ValueError(
            "contains a space, line break, control character or backslash: pass the URL alone, "
            f"percent-encoded where needed, e.g. `{BASE_URL_EXAMPLE}`"
        )
    if not url.isascii():
        raise ValueError(
            "contains non-ASCII characters: write the host in its ASCII (xn--) form and percent-encode "
            "the path"
        )
    try:
        split = urlsplit(url)
        split_port = split.port  # raises ValueError on a bad port
        parsed = parse_url(url)
    except (ValueError, LocationParseError):
        raise ValueError(f"is not a valid URL: use e.g. `{BASE_URL_EXAMPLE}`") from None
    scheme = split.scheme.lower()
    if scheme not in ("http", "https") or not split.hostname:
        raise ValueError(
            f"must be an absolute http(s) URL with a host, e.g. `{BASE_URL_EXAMPLE}`, "
            f"got {_show(shown_base_url(url))}"
        )
    if "@" in split.netloc or split.username is not None or parsed.auth is not None:
        raise ValueError(
            "must not contain credentials (`user:password@`): they would be stored in the Certyn "
            "environment and sent to the deployment; protect the preview another way or pass the bare URL"
        )
    if "%" in split.netloc:
        raise ValueError("has a percent-encoded host: write the host plainly, e.g. `pr-42.example.com`")
    host = (parsed.host or "").strip("[]").lower()
    if (parsed.scheme or "").lower() != scheme or host != split.hostname.lower() or parsed.port != split_port:
        raise ValueError(f"is ambiguous (URL parsers disagree on its host): use e.g. `{BASE_URL_EXAMPLE}`")
    if split.fragment or url.endswith("#"):
        raise ValueError("must not have a `#` fragment: pass the deployment's base URL")
    return url


def shown_base_url(url: str) -> str:
    """``base-url`` as it may be quoted: scheme, host, port and path; never its query, fragment or
    credentials (a preview URL may carry a token there)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"


def base_url_secrets(value: str) -> list[str]:
    """What of ``base-url`` may carry a token: its query, fragment, user name and password (masked as soon
    as the input is read, whether or not it is valid)."""
    try:
        parts = urlsplit(value.strip())
        found = [parts.query, parts.fragment, parts.username or "", parts.password or ""]
    except ValueError:
        return []
    return [part for part in found if part]


def parse_base_url_wait_seconds(value: str) -> float:
    """``base-url-wait-seconds``: 0 (one try) to 3600."""
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"must be a number of seconds from 0 to 3600, got {_show(value)}") from None
    if not math.isfinite(number) or not 0 <= number <= BASE_URL_WAIT_MAX:
        raise ValueError(f"must be between 0 and {BASE_URL_WAIT_MAX:g} seconds, got {_show(value)}")
    return number


def parse_keep_environment(value: str) -> bool:
    """``keep-environment``: ``true`` or ``false`` (as every switch of ``inputs.py``)."""
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValueError(f"must be `true` or `false`, got {_show(value)}")


def parse_run_id(value: str) -> str:
    """``run-id``: a plain id (the `run-id` output of an earlier step), safe as one URL path segment."""
    run_id = value.strip()
    example = (
        "pass the `run-id` output of the step that created the run, e.g. `${{ needs.start.outputs.run-id }}`"
    )
    if not run_id:
        raise ValueError(f"is empty: {example}")
    if len(run_id) > MAX_RUN_ID:
        raise ValueError(f"is longer than {MAX_RUN_ID} characters: {example}")
    if any(ch.isspace() or not ch.isprintable() for ch in run_id):
        raise ValueError(f"contains spaces, line breaks or control characters: {example}")
    bad = sorted({ch for ch in run_id if ch in "/\\?#%"})
    if bad:
        shown = " ".join(f"`{ch}`" for ch in bad)
        raise ValueError(f"is not a plain run id (contains {shown}): {example}")
    if ".." in run_id or run_id.strip(".") == "":
        raise ValueError(f"is not a plain run id (dots only, or `..`): {example}")
    return run_id


def input_conflicts(
    *,
    run_id: str,
    process_slug: str,
    tags: Sequence[str],
    base_url: str,
    environment_key: str,
    instruction: str,
    wait: bool,
    keep_environment: bool = False,
    idempotency_key: str = "",
) -> list[tuple[str, str]]:
    """Every combination the action refuses, as (input to change, message naming the inputs and the fix).

    Values are as read (empty means not set). A pair names the input the user most likely set by mistake:
    with ``run-id``, the input that only applies to creating a run."""
    errors: list[tuple[str, str]] = []
    if run_id:
        attach = "`run-id` attaches to an existing run"
        for name, is_set, why in (
            ("process-slug", bool(process_slug), "whose suite is already chosen"),
            ("tags", bool(tags), "whose tests are already chosen"),
            ("base-url", bool(base_url), "that already runs against its environment"),
            ("environment-key", bool(environment_key), "that already runs against its environment"),
            ("instruction", bool(instruction), "and sends no create request to carry it"),
            ("keep-environment", keep_environment, "and makes no temporary environment to keep"),
            ("idempotency-key", bool(idempotency_key), "and sends no create request to carry it"),
        ):
            if is_set:
                errors.append(
                    (
                        name,
                        f"cannot be combined with `run-id`: {attach} {why}. Remove `{name}`, "
                        f"or remove `run-id` to create a new run",
                    )
                )
        if not wait:
            errors.append(
                (
                    "wait",
                    f"`wait: false` cannot be combined with `run-id`: {attach} only to wait for it and gate "
                    "on it. Remove `wait: false`, or remove the step",
                )
            )
    if base_url and environment_key:
        errors.append(
            (
                "environment-key",
                "cannot be combined with `base-url`: `base-url` runs against a temporary environment made "
                "for that URL. Give either `base-url` (a deployment to test) or `environment-key` (an "
                "existing Certyn environment), not both",
            )
        )
    if base_url and not wait and not keep_environment and not run_id:
        errors.append(
            (
                "wait",
                "`wait: false` cannot be combined with `base-url` unless `keep-environment: true`: the "
                "temporary environment is deleted when this step ends, which would pull the ground from under "
                "a run nobody waits for. Remove `wait: false`, or set `keep-environment: true` (and delete the "
                "environment yourself later)",
            )
        )
    return errors


def _show(value: str) -> str:
    shown = value if len(value) <= 40 else value[:39] + "…"
    return "`" + "".join(ch if ch.isprintable() else "?" for ch in shown).replace("`", "'") + "`"
