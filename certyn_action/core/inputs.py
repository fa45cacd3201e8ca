"""Reading the action's inputs (``INPUT_<NAME>`` variables) into a validated, immutable ``Inputs``.

Inputs are plain strings with GitHub-specific rules (hyphenated names, empty means "use the default",
comma/newline/JSON lists). A NamedTuple and a handful of small parsers give each failure a message
that names the input and the fix; pydantic is kept for the server's JSON (``models.py``), where its
tolerant parsing is the point, and stays off the start-up path.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import NamedTuple, TypeVar
from urllib.parse import urlsplit

from . import preview_inputs as preview
from .api_url import DEFAULT_API_URL, normalize_api_url
from .input_errors import InputError, InputErrors
from .result_inputs import MAX_CONVERSATION_TIMEOUT_SECONDS, parse_instruction, parse_junit_report

MAX_IDEMPOTENCY_KEY = 200
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600  # longer than any GitHub job may run

# The errors are re-exported: callers read the inputs and catch their errors from here.
__all__ = ["GateSwitches", "InputError", "InputErrors", "Inputs", "parse_bool", "raw_input", "read_inputs"]

T = TypeVar("T")
# The runner passes "" for an absent input and for an empty expression alike: a `run-id` read from a job
# that maps no `outputs:` looks unset, so the one error names every way to say what to run.
_NOTHING_TO_RUN = (
    "set `process-slug` (the suite to run), `tags` (tests to select) or `run-id` (an existing run to wait "
    "for). A `run-id` from another job (`${{ needs.<job>.outputs.run-id }}`) is empty when that job has no "
    "`outputs:` mapping: add `outputs: { run-id: ${{ steps.<step>.outputs.run-id }} }` to that job"
)
_NOT_UTF8 = re.compile("[\ud800-\udfff]")


class GateSwitches(NamedTuple):
    fail_on_failed: bool = True
    fail_on_blocked: bool = True
    fail_on_cancelled: bool = True
    fail_on_aborted: bool = True
    fail_on_empty: bool = True
    fail_on_incomplete: bool = True

    def enabled(self, switch: str) -> bool:
        """Whether the switch named as in the workflow (``fail-on-failed``) is on."""
        return bool(getattr(self, switch.replace("-", "_")))


class Inputs(NamedTuple):
    api_key: str
    project_slug: str
    environment_key: str
    process_slug: str
    tags: tuple[str, ...]
    api_url: str
    repository: str
    ref: str
    commit_sha: str
    event: str
    external_url: str
    idempotency_key: str
    wait: bool
    timeout_seconds: float
    poll_interval_seconds: float
    max_poll_interval_seconds: float
    gate: GateSwitches
    cancel_on_timeout: bool
    cancel_on_job_cancel: bool
    cancel_reason: str
    request_timeout_seconds: float
    http_max_attempts: int
    job_index: str
    check_run_id: str
    base_url: str = ""
    base_url_wait_seconds: float = 30.0
    keep_environment: bool = False
    run_id: str = ""  # `base-url` and the three above: preview_inputs.py
    # Inputs that were usable but not as written: the action goes on, and says what it did instead.
    adjustments: tuple[InputError, ...] = ()
    test_results: bool = True  # this and the three below: per-test results and the AI instruction
    junit_report: str = ""
    instruction: str = ""
    conversation_timeout_seconds: float = 120.0


def raw_input(env: Mapping[str, str], name: str) -> str | None:
    """The input as the runner passes it (``INPUT_API-KEY``), or as a shell can (``INPUT_API_KEY``)."""
    upper = name.upper().replace(" ", "_")
    value = env.get(f"INPUT_{upper}")
    if value is None:
        value = env.get(f"INPUT_{upper.replace('-', '_')}")
    return value


def read_inputs(env: Mapping[str, str], *, missing_key_hint: str | None = None) -> Inputs:
    """Parse and validate every input; raise :class:`InputErrors` listing each problem."""
    reader = _Reader(env)
    api_key = reader.api_key(missing_key_hint)
    project_slug = reader.required("project-slug", "the slug of your Certyn project, e.g. `my-app`")
    process_slug = reader.text("process-slug")
    no_tags: tuple[str, ...] = ()
    tags = reader.get("tags", no_tags, parse_tags)
    run_id = reader.get("run-id", "", preview.parse_run_id)
    if process_slug and tags:
        reader.fail("tags", "give either `process-slug` or `tags`, not both")
    elif not (process_slug or tags or run_id) and not reader.failed & {"process-slug", "tags", "run-id"}:
        reader.fail("process-slug", _NOTHING_TO_RUN)
    poll_floor = reader.get("poll-interval-seconds", 10.0, _seconds(minimum=1, maximum=3600))
    poll_ceiling = reader.get("max-poll-interval-seconds", 30.0, _seconds(minimum=1, maximum=3600))
    answer_wait = _seconds(minimum=0, maximum=MAX_CONVERSATION_TIMEOUT_SECONDS)
    inputs = Inputs(
        api_key=api_key,
        project_slug=project_slug,
        environment_key=reader.text("environment-key"),
        process_slug=process_slug,
        tags=tags,
        api_url=reader.get("api-url", DEFAULT_API_URL, normalize_api_url),
        repository=reader.text("repository"),
        ref=reader.text("ref"),
        commit_sha=reader.text("commit-sha"),
        event=reader.text("event"),
        external_url=reader.get("external-url", "", _http_url),
        idempotency_key=reader.get("idempotency-key", "", _idempotency_key),
        wait=reader.get("wait", True, parse_bool),
        timeout_seconds=reader.get(
            "timeout-seconds", 1800.0, _seconds(minimum=1, maximum=MAX_TIMEOUT_SECONDS)
        ),
        poll_interval_seconds=poll_floor,
        max_poll_interval_seconds=max(poll_floor, poll_ceiling),
        gate=GateSwitches(
            fail_on_failed=reader.get("fail-on-failed", True, parse_bool),
            fail_on_blocked=reader.get("fail-on-blocked", True, parse_bool),
            fail_on_cancelled=reader.get("fail-on-cancelled", True, parse_bool),
            fail_on_aborted=reader.get("fail-on-aborted", True, parse_bool),
            fail_on_empty=reader.get("fail-on-empty", True, parse_bool),
            fail_on_incomplete=reader.get("fail-on-incomplete", True, parse_bool),
        ),
        cancel_on_timeout=reader.get("cancel-on-timeout", True, parse_bool),
        cancel_on_job_cancel=reader.get("cancel-on-job-cancel", True, parse_bool),
        cancel_reason=reader.get("cancel-reason", "", _cancel_reason),
        request_timeout_seconds=reader.get("request-timeout-seconds", 30.0, _seconds(minimum=1, maximum=600)),
        http_max_attempts=reader.get("http-max-attempts", 5, _integer(minimum=1, maximum=20)),
        job_index=reader.get("job-index", "", _digits_or_unset),
        check_run_id=reader.get("check-run-id", "", _digits_or_unset),
        base_url=reader.get("base-url", "", preview.parse_base_url),
        base_url_wait_seconds=reader.get(
            "base-url-wait-seconds", preview.BASE_URL_WAIT_DEFAULT, preview.parse_base_url_wait_seconds
        ),
        keep_environment=reader.get("keep-environment", False, preview.parse_keep_environment),
        run_id=run_id,
        adjustments=_poll_adjustments(env, poll_floor, poll_ceiling),
        test_results=reader.get("test-results", True, parse_bool),
        junit_report=reader.get("junit-report", "", parse_junit_report),
        instruction=reader.get("instruction", "", parse_instruction),
        conversation_timeout_seconds=reader.get("conversation-timeout-seconds", 120.0, answer_wait),
    )
    if inputs.junit_report and not inputs.test_results:
        reader.fail("junit-report", "is written from the per-test results: remove `test-results: false`")
    given = {name: getattr(inputs, name) for name in preview.CONFLICTING}
    for name, message in preview.input_conflicts(**given, instruction=inputs.instruction):
        if name not in reader.failed:
            reader.fail(name, message)
    if reader.errors:
        raise InputErrors(reader.errors)
    return inputs


def _poll_adjustments(env: Mapping[str, str], floor: float, ceiling: float) -> tuple[InputError, ...]:
    """A ceiling set below the floor is raised to it; said only when the workflow set the ceiling itself
    (``poll-interval-seconds: 60`` alone is a plain wish to poll slowly)."""
    if ceiling >= floor or not (raw_input(env, "max-poll-interval-seconds") or "").strip():
        return ()
    message = f"{ceiling:g} is below `poll-interval-seconds` ({floor:g}): polling every {floor:g}s"
    return (InputError("max-poll-interval-seconds", message),)


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.errors: list[InputError] = []
        self.failed: set[str] = set()

    def fail(self, name: str, message: str) -> None:
        self.errors.append(InputError(name, message))
        self.failed.add(name)

    def text(self, name: str) -> str:
        value = (raw_input(self.env, name) or "").strip()
        if _NOT_UTF8.search(value):  # bytes that are not UTF-8 arrive from the environment as \udcXX escapes
            if name not in self.failed:
                self.fail(name, "holds bytes that are not valid UTF-8 text: write it as UTF-8")
            return ""
        return value

    def get(self, name: str, default: T, parse: Callable[[str], T]) -> T:
        value = self.text(name)
        if not value:  # empty means "not set": an unset variable or secret arrives as ""
            return default
        try:
            return parse(value)
        except ValueError as err:
            self.fail(name, str(err))
        return default

    def required(self, name: str, what: str) -> str:
        value = self.text(name)
        if not value and name not in self.failed:
            self.fail(name, f"required: set it to {what}")
        return value

    def api_key(self, missing_hint: str | None) -> str:
        value = self.text("api-key")
        if "api-key" in self.failed:
            pass
        elif not value:
            self.fail(
                "api-key",
                missing_hint
                or "required and empty: pass your Certyn API key from a secret, "
                "e.g. `api-key: ${{ secrets.CERTYN_API_KEY }}`, and check the secret exists in this repository",
            )
        elif not all("!" <= ch <= "~" for ch in value):
            self.fail(
                "api-key",
                "contains spaces, line breaks, control or non-ASCII characters: re-save the secret as the bare key",
            )
        return value


# -- parsers (each raises ValueError with a message that tells the fix) ------------------------------


def parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ValueError(f"must be `true` or `false`, got {_show(value)}")


def parse_tags(value: str) -> tuple[str, ...]:
    """Comma- or newline-separated, or a JSON array of strings; order kept, duplicates dropped, case kept."""
    text = value.strip()
    items: list[str]
    if text.startswith("["):
        try:
            data = json.loads(text)
        except ValueError:
            raise ValueError(
                'looks like a JSON array but is not valid JSON: write e.g. `["smoke", "api"]`'
            ) from None
        if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
            raise ValueError('a JSON array must hold only strings, e.g. `["smoke", "api"]`')
        items = data
    else:
        items = text.replace("\r", "\n").replace("\n", ",").split(",")
    tags = list(dict.fromkeys(tag for tag in (item.strip() for item in items) if tag))  # linear time
    if not tags:
        raise ValueError("holds no tag: list tags separated by commas or newlines, or a JSON array")
    return tuple(tags)


def _seconds(minimum: float, maximum: float) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"must be a number of seconds, got {_show(value)}") from None
        if not math.isfinite(number) or not minimum <= number <= maximum:
            raise ValueError(f"must be between {minimum:g} and {maximum:g} seconds, got {_show(value)}")
        return number

    return parse


def _integer(minimum: int, maximum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"must be a whole number, got {_show(value)}") from None
        if not minimum <= number <= maximum:
            raise ValueError(f"must be between {minimum} and {maximum}, got {number}")
        return number

    return parse


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be an http(s) URL, got {_show(value)}")
    return value


def _idempotency_key(value: str) -> str:
    if len(value) > MAX_IDEMPOTENCY_KEY or not all(" " <= ch <= "~" for ch in value):
        raise ValueError(f"must be printable ASCII of at most {MAX_IDEMPOTENCY_KEY} characters")
    return value


def _cancel_reason(value: str) -> str:
    return value[:500]


def _digits_or_unset(value: str) -> str:
    # Outside the runner the expression default arrives unevaluated; treat it as unset.
    if value.startswith("${{"):
        return ""
    if not (value.isascii() and value.isdigit()):
        raise ValueError("is internal and filled in by the runner: remove it from `with:`")
    return value


def _show(value: str) -> str:
    shown = value if len(value) <= 40 else value[:39] + "…"
    return "`" + "".join(ch if ch.isprintable() else "?" for ch in shown).replace("`", "'") + "`"
