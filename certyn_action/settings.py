"""Everything the step was asked to do, read once by :func:`read_settings` into one frozen :class:`Settings`:
every input (``INPUT_<NAME>``: empty means the default), the API URL, the GitHub context (``GITHUB_*`` and the
event payload) and both derived keys. Every bad input is reported at once, each naming the fix. Pure."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import posixpath
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from functools import partial
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar
from urllib.parse import SplitResult, urlsplit

from urllib3.util import parse_url

from .render.escape import collapsed, encodable, truncate, without_secrets

DEFAULT_API_URL = "https://api.certyn.io"
MAX_IDEMPOTENCY_KEY = 200
MAX_INSTRUCTION = 10_000
MAX_RUN_ID = 200  # characters of a run id the action follows
MAX_VARIABLES = 50  # `variables`: set one by one on the temporary environment
MAX_VARIABLE_NAME = 100
KEY_MAX_LENGTH = 63  # a Certyn environment key: lower-case letters, digits and hyphens
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
LABEL_MAX_LENGTH = 120
DIGEST_LENGTH = 12  # base 36: about 62 bits
BASE_URL_EXAMPLE = "https://pr-42.preview.example.com"
# Patterns only some inputs need are kept as text: `re` compiles each when it is first used.
VARIABLE_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_NOT_UTF8 = re.compile("[\ud800-\udfff]")
_REPORT_EXAMPLE = "e.g. `junit-report: reports/certyn.xml`"
# Whitespace (any Unicode space), C0/C1 controls, DEL, line/paragraph separators, lone surrogates.
_BAD_URL_CHAR = r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\\]"
# What an API base URL may be spelled with: scheme, a DNS name or an IP address, a port, a path prefix.
# Anything else (a backslash, whitespace, control or non-ASCII characters, `@`, `%`, `?`, `#`) is a
# spelling that URL parsers read differently, and the host the key goes to must not depend on which one reads.
_STRICT_API_URL = re.compile(
    r"(?P<scheme>https?)://(?P<host>[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<path>(?:/[A-Za-z0-9._~!$&'()*+,;=:-]*)*)",
    re.IGNORECASE,
)
_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9._~:/@+=-]")
_NOT_ENV_KEY_CHARS = re.compile(r"[^a-z0-9]+")
_LINE_BREAKS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")  # all but the tab
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_SHA = re.compile(r"[0-9a-fA-F]{7,64}")
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
T = TypeVar("T")
Random = Callable[[int], str]  # n random bytes as hex: the keys outside GitHub Actions


class InputError(ValueError):
    """One bad input: ``name`` as written in the workflow, ``message`` says what to do."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"Input '{name}': {message}")
        self.name = name
        self.message = message


class InputErrors(ValueError):
    """Every bad input found, so the user can fix them all at once."""

    def __init__(self, errors: list[InputError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


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


class GitHubContext(NamedTuple):
    repository: str = ""
    server_url: str = "https://github.com"
    run_id: str = ""
    run_attempt: str = ""
    job: str = ""
    action: str = ""
    event_name: str = ""
    sha: str = ""
    ref_name: str = ""
    head_ref: str = ""
    actor: str = ""
    payload: Mapping[str, Any] = MappingProxyType({})
    workflow: str = ""
    run_number: str = ""
    step_files: str = ""  # the name of this step's GITHUB_OUTPUT file: a uuid per step
    workflow_ref: str = ""  # owner/repo/.github/workflows/file.yml@ref: where check run annotations point

    @classmethod
    def from_env(cls, env: Mapping[str, str], payload: Mapping[str, Any]) -> GitHubContext:
        """Each field from ``GITHUB_<FIELD>``, stripped; bytes that are not UTF-8 become "?"."""
        read: dict[str, Any] = {
            name: encodable(env.get(f"GITHUB_{name.upper()}", "").strip()) for name in cls._fields
        }
        read["server_url"] = (read["server_url"] or cls._field_defaults["server_url"]).rstrip("/")
        output = encodable(env.get("GITHUB_OUTPUT", "").strip())
        return cls(**read | {"payload": payload, "step_files": output.replace("\\", "/").rsplit("/", 1)[-1]})

    @property
    def is_pull_request(self) -> bool:
        return self.event_name.startswith("pull_request")

    def pull_request(self) -> Mapping[str, Any]:
        return _mapping(self.payload.get("pull_request"))

    def step_parts(self, job_index: str, check_run_id: str) -> list[str]:
        """What tells this execution of the step apart from every other (both derived keys come from these)."""
        run = [self.repository, self.run_id, self.run_attempt or "1"]
        return [*run, self.job, job_index or "0", check_run_id, self.action]


class RunMetadata(NamedTuple):
    """What the create request tells Certyn about this CI run, plus the links we show."""

    repository: str
    ref: str
    commit_sha: str
    event: str
    external_url: str
    job_url: str
    run_url: str
    job_name: str = ""  # GITHUB_JOB
    run_name: str = ""  # as GitHub names the run on its pages: "CI #42", "CI #42, attempt 2"; "" when unknown
    commit_url: str = ""  # the commit's page, when the repository and a commit SHA are known


def _input(default: T, parse: Callable[[str], T]) -> T:
    """A field read from the input of its name (``poll_interval_seconds``: ``poll-interval-seconds``)."""
    return field(default=default, metadata={"parse": parse})


@dataclass(frozen=True)
class _Number:
    """A number of seconds (or, ``whole``, a count) from ``minimum`` to ``maximum``; called with the input."""

    minimum: float
    maximum: float
    whole: bool = False
    say_range: bool = False

    def __call__(self, value: str) -> Any:
        kind, unit = ("a whole number", "") if self.whole else ("a number of seconds", " seconds")
        low, high = self.minimum, self.maximum
        try:
            number = int(value) if self.whole else float(value)
        except ValueError:
            span = f" from {low:g} to {high:g}" if self.say_range else ""
            raise ValueError(f"must be {kind}{span}, got {_show(value)}") from None
        if not math.isfinite(number) or not low <= number <= high:
            shown = number if self.whole else _show(value)
            raise ValueError(f"must be between {low:g} and {high:g}{unit}, got {shown}")
        return number


def _choice(choices: tuple[str, ...], value: str) -> str:
    lowered = value.strip().lower()
    if lowered not in choices:
        shown = [f"`{choice}`" for choice in choices]
        raise ValueError(f"must be {', '.join(shown[:-1])} or {shown[-1]}, got {_show(value)}")
    return lowered


def parse_bool(value: str) -> bool:
    return _choice(("true", "false"), value) == "true"


def _unless_expression(value: str) -> str:
    """Outside the runner an expression default (``${{ github.token }}``) arrives unevaluated: unset."""
    return "" if value.startswith("${{") else value


def _internal(value: str) -> str:
    if _unless_expression(value) and not (value.isascii() and value.isdigit()):
        raise ValueError("is internal and filled in by the runner: remove it from `with:`")
    return _unless_expression(value)


def _idempotency_key(value: str) -> str:
    if len(value) > MAX_IDEMPOTENCY_KEY or not all(" " <= ch <= "~" for ch in value):
        raise ValueError(f"must be printable ASCII of at most {MAX_IDEMPOTENCY_KEY} characters")
    return value


def _runner_pool(value: str) -> str:
    if len(value) > 200 or not value.isprintable():
        raise ValueError(
            "must be the id or name of a Certyn self-hosted runner pool: one line of at most 200 printable characters"
        )
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be an http(s) URL, got {_show(value)}")
    return value


parse_base_url_wait_seconds = _Number(0, 3600, say_range=True)
_1_to_3600 = _Number(minimum=1, maximum=3600)


# -- the parsers: each takes the input's text (stripped, not empty) and returns the value or raises ValueError
# with the fix; the reader adds the input's name.


def parse_tags(value: str) -> tuple[str, ...]:
    """Comma- or newline-separated, or a JSON array of strings; order kept, duplicates dropped, case kept."""
    text = value.strip()
    items: list[str] = text.replace("\r", "\n").replace("\n", ",").split(",")
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError:
            raise ValueError(
                'looks like a JSON array but is not valid JSON: write e.g. `["smoke", "api"]`'
            ) from None
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ValueError('a JSON array must hold only strings, e.g. `["smoke", "api"]`')
    tags = tuple(dict.fromkeys(tag for tag in (item.strip() for item in items) if tag))  # linear time
    if not tags:
        raise ValueError("holds no tag: list tags separated by commas or newlines, or a JSON array")
    return tags


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
    if bad := sorted({ch for ch in run_id if ch in "/\\?#%"}):
        shown = " ".join(f"`{ch}`" for ch in bad)
        raise ValueError(f"is not a plain run id (contains {shown}): {example}")
    if ".." in run_id or run_id.strip(".") == "":
        raise ValueError(f"is not a plain run id (dots only, or `..`): {example}")
    return run_id


def parse_junit_report(value: str) -> str:
    """The report's path relative to the workspace, normalised (``./a//b/../c.xml`` → ``a/c.xml``). The file
    system (symbolic links) is the writer's concern."""
    if "\x00" in value:
        raise ValueError(f"must not contain a NUL character: use a plain relative path, {_REPORT_EXAMPLE}")
    if len(value) > 4096:
        raise ValueError(f"is longer than 4096 characters: use a short relative path, {_REPORT_EXAMPLE}")
    if value.startswith("/"):
        raise ValueError(
            f"must be relative to the workspace, not an absolute path: drop the leading `/`, {_REPORT_EXAMPLE}"
        )
    path = posixpath.normpath(value)
    if path == ".." or path.startswith("../"):
        raise ValueError(
            f"must stay inside the workspace, but the path leaves it through `..`: "
            f"use a path below the workspace, {_REPORT_EXAMPLE}"
        )
    if path == "." or value.rsplit("/", 1)[-1] in ("", ".", ".."):
        raise ValueError(f"must name a file, not a folder: add a file name, {_REPORT_EXAMPLE}")
    return path


def parse_instruction(value: str) -> str:
    if len(value) > MAX_INSTRUCTION:
        raise ValueError(
            f"is {len(value):,} characters long; Certyn's AI takes at most {MAX_INSTRUCTION:,}: shorten it"
        )
    return value


# -- variables: NAME=value lines set on the temporary environment; values are secrets ------------------------


def _variable_lines(raw: str) -> list[tuple[int, str, str, str]]:
    """(number from 1, line, name, value) of each line that holds a variable, without a CRLF's CR; blank and
    ``#`` lines left out; name "" unless the line is ``NAME=value`` (its value is then never read)."""
    found = []
    for number, raw_line in enumerate(raw.split("\n"), start=1):
        line = raw_line.removesuffix("\r")
        if line.strip() and not line.lstrip().startswith("#"):
            name, equals, value = line.partition("=")
            name = name.strip() if equals and re.fullmatch(VARIABLE_NAME, name.strip()) else ""
            found.append((number, line, name, value))
    return found


def variable_secrets(raw: str) -> list[str]:
    """What ``variables`` holds that must be masked, valid or not: each value, and each line that is not
    ``NAME=value`` (the next line of a multi-line secret)."""
    return [
        secret for _, line, name, value in _variable_lines(raw) if (secret := value if name else line.strip())
    ]


def parse_variables(raw: str) -> tuple[tuple[str, str], ...]:
    """One ``NAME=value`` a line (blank and ``#`` lines ignored), the value kept exactly; names unique ignoring
    case. No error shows a value, nor a line that may be one."""
    found: dict[str, tuple[str, str]] = {}
    for number, _, name, value in _variable_lines(raw):
        if not name or len(name) > MAX_VARIABLE_NAME:
            raise ValueError(
                f"line {number} is not `NAME=value` (not shown: it may be part of a secret). A name is letters, "
                f"digits and `_`, not starting with a digit, at most {MAX_VARIABLE_NAME} characters; a value "
                "must fit on one line: a multi-line secret cannot be masked line by line, so it is refused; "
                "e.g. `TEST_USER_PASSWORD=${{ secrets.TEST_USER_PASSWORD }}`"
            )
        if _LINE_BREAKS.search(value):
            raise ValueError(
                f"the value of `{name}` holds a line break or control character: a multi-line value cannot be "
                "masked line by line, so it is refused. Pass a one-line value (e.g. base64-encode it)"
            )
        if name.casefold() in found:
            raise ValueError(f"`{name}` is given twice (names are compared ignoring case): keep one")
        found[name.casefold()] = (name, value)
    if len(found) > MAX_VARIABLES:
        raise ValueError(f"holds {len(found)} variables; at most {MAX_VARIABLES} can be set: remove some")
    return tuple(found.values())


# -- URLs: the API's (the one host the API key may go to, judged as the HTTP stack reads it) and base-url's ----


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP literal: the only hosts plain http may carry the key to. Not
    ``*.localhost`` nor ``localhost.``: some resolvers ask DNS for those."""
    try:
        return host.lower() == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) that urllib3, requests' HTTP stack, connects to for ``url``; ValueError when it
    cannot parse it."""
    try:
        parts = parse_url(url)
    except Exception:  # urllib3's LocationParseError and friends
        raise ValueError("cannot be parsed") from None
    scheme = (parts.scheme or "").lower()
    host = (parts.host or "").lower().removeprefix("[").removesuffix("]")
    return scheme, host, parts.port or (443 if scheme == "https" else 80)


def _split(url: str, example: str) -> tuple[SplitResult, str, int | None]:
    """``url`` as Python's parser reads it: the parts, the lower-case scheme and the port."""
    try:
        parts = urlsplit(url)
        return parts, parts.scheme.lower(), parts.port  # the port raises ValueError when it is not one
    except ValueError:
        raise ValueError(f"is not a valid URL: use e.g. `{example}`") from None


def _read_alike(url: str, scheme: str, host: str, port: int | None) -> bool:
    """Whether urllib3, which connects, reads ``url`` to the scheme, host and port Python's parser did."""
    return api_origin(url) == (scheme, host, port or (443 if scheme == "https" else 80))


def normalize_api_url(value: str) -> str:
    """``https://host[:port][/prefix]`` with no trailing ``/`` or ``/api`` (the client adds ``/api/...``). Only
    a plain spelling, whose host, port and scheme urllib3 reads alike; the transport checks every URL it sends
    to against the same origin."""
    text = value.strip()
    example = f"use e.g. `{DEFAULT_API_URL}`"
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise ValueError(f"contains spaces, line breaks or control characters: {example}")
    parts, scheme, port = _split(text, DEFAULT_API_URL)
    host = parts.hostname or ""
    if port == 0:
        raise ValueError(f"has port 0, which no server listens on: {example}")
    if scheme not in ("https", "http") or not host:
        raise ValueError(f"must be an absolute https URL such as `{DEFAULT_API_URL}`")
    if "@" in text:
        raise ValueError("must not contain `@` or credentials: pass the key in `api-key`")
    if "?" in text or "#" in text:
        raise ValueError(f"must not have a query or fragment: use the base URL, {example}")
    if not text.isascii() or _STRICT_API_URL.fullmatch(text) is None:  # IGNORECASE alone lets `İ`, `K` match
        raise ValueError(
            "must be a plain URL: scheme, host name or IP address, optional port and path, written in "
            "ASCII letters, digits and `.-_/:` only (no backslash, `%`-escape, non-ASCII or other "
            f"characters; write an international domain name in its `xn--` form): {example}"
        )
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"has an invalid IPv6 address: {example}") from None
    if not _read_alike(text, scheme, host, port):
        raise ValueError(f"is read differently by URL parsers: {example}")
    if scheme == "http" and not is_loopback(host):
        raise ValueError(
            "must use https (http is only allowed for localhost/127.0.0.1, e.g. a local simulator)"
        )
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port is not None else "")
    path = parts.path.rstrip("/")
    path = path[: -len("/api")] if path.lower().endswith("/api") else path
    return f"{scheme}://{netloc}{path.rstrip('/')}"


def parse_base_url(value: str) -> str:
    """``base-url``: an absolute http(s) URL with a host (a preview may have no TLS), no credentials, that
    urllib3 reads as Python's URL parser does (what is checked is what is reached). Returned as written."""
    url = value.strip()
    if not url:
        raise ValueError(f"is empty: set it to the URL of your deployment, e.g. `{BASE_URL_EXAMPLE}`")
    if len(url) > 2048:
        raise ValueError("is longer than 2048 characters: pass the deployment's base URL")
    if re.search(_BAD_URL_CHAR, url):
        raise ValueError(
            "contains a space, line break, control character or backslash: pass the URL alone, "
            f"percent-encoded where needed, e.g. `{BASE_URL_EXAMPLE}`"
        )
    if not url.isascii():
        raise ValueError(
            "contains non-ASCII characters: write the host in its ASCII (xn--) form and percent-encode the path"
        )
    split, scheme, port = _split(url, BASE_URL_EXAMPLE)
    try:
        parse_url(url)
    except ValueError:  # urllib3's LocationParseError
        raise ValueError(f"is not a valid URL: use e.g. `{BASE_URL_EXAMPLE}`") from None
    if scheme not in ("http", "https") or not split.hostname:
        raise ValueError(
            f"must be an absolute http(s) URL with a host, e.g. `{BASE_URL_EXAMPLE}`, got {_show(without_secrets(url))}"
        )
    if "@" in split.netloc:  # urllib3 reads the same authority (backslash refused): no user name without it
        raise ValueError(
            "must not contain credentials (`user:password@`): they would be stored in the Certyn "
            "environment and sent to the deployment; protect the preview another way or pass the bare URL"
        )
    if "%" in split.netloc:
        raise ValueError("has a percent-encoded host: write the host plainly, e.g. `pr-42.example.com`")
    if not _read_alike(url, scheme, split.hostname, port):
        raise ValueError(f"is ambiguous (URL parsers disagree on its host): use e.g. `{BASE_URL_EXAMPLE}`")
    if split.fragment or url.endswith("#"):
        raise ValueError("must not have a `#` fragment: pass the deployment's base URL")
    return url


def base_url_secrets(value: str) -> list[str]:
    """What of ``base-url`` may carry a token (its query, fragment, user name and password), masked as soon as
    the input is read, valid or not."""
    try:
        parts = urlsplit(value.strip())
        found = [parts.query, parts.fragment, parts.username or "", parts.password or ""]
    except ValueError:
        return []
    return [part for part in found if part]


@dataclass(frozen=True)
class Settings:
    """What the step was asked to do. The fields with a parser are the inputs read alike, in the order their
    errors are reported (after the API key, the project, what to run and ``variables``)."""

    api_key: str
    project_slug: str
    process_slug: str
    tags: tuple[str, ...]
    run_id: str
    variables: tuple[tuple[str, str], ...]  # (NAME, value) in order, set on the temporary environment
    context: GitHubContext
    temporary_environment_key: str  # the key of the environment made for `base-url`
    github_api_url: str  # GITHUB_API_URL (GitHub Enterprise Server: .../api/v3)
    # Inputs that were usable but not as written: the action goes on, and says what it did instead.
    adjustments: tuple[InputError, ...]
    poll_interval_seconds: float = _input(10.0, _1_to_3600)
    max_poll_interval_seconds: float = _input(30.0, _1_to_3600)
    environment_key: str = _input("", str)
    api_url: str = _input(DEFAULT_API_URL, normalize_api_url)
    repository: str = _input("", str)  # the metadata the workflow may set, over the context's
    ref: str = _input("", str)
    commit_sha: str = _input("", str)
    event: str = _input("", str)
    external_url: str = _input("", _http_url)
    idempotency_key: str = _input("", _idempotency_key)  # the input, or derived from the context
    wait: bool = _input(True, parse_bool)
    timeout_seconds: float = _input(1800.0, _Number(minimum=1, maximum=7 * 24 * 3600))  # longer than any job
    fail_on_failed: bool = _input(True, parse_bool)
    fail_on_blocked: bool = _input(True, parse_bool)
    fail_on_cancelled: bool = _input(True, parse_bool)
    fail_on_aborted: bool = _input(True, parse_bool)
    fail_on_empty: bool = _input(True, parse_bool)
    fail_on_incomplete: bool = _input(True, parse_bool)
    cancel_on_timeout: bool = _input(True, parse_bool)
    cancel_on_job_cancel: bool = _input(True, parse_bool)
    cancel_reason: str = _input("", lambda value: value[:500])
    request_timeout_seconds: float = _input(30.0, _Number(minimum=1, maximum=600))
    http_max_attempts: int = _input(5, _Number(minimum=1, maximum=20, whole=True))
    job_index: str = _input("", _internal)
    check_run_id: str = _input("", _internal)
    base_url: str = _input("", parse_base_url)
    base_url_wait_seconds: float = _input(30.0, parse_base_url_wait_seconds)
    keep_environment: bool = _input(False, parse_bool)
    runner_pool: str = _input("", _runner_pool)  # an id or a name
    test_results: bool = _input(True, parse_bool)
    junit_report: str = _input("", parse_junit_report)
    instruction: str = _input("", parse_instruction)
    conversation_timeout_seconds: float = _input(120.0, _Number(minimum=0, maximum=3600))
    diagnose: bool = _input(True, parse_bool)
    github_token: str = _input("", _unless_expression)
    check_run: bool = _input(False, parse_bool)
    pr_comment: str = _input("off", partial(_choice, ("off", "always", "on-failure")))

    @property
    def publishes(self) -> bool:
        return self.check_run or self.pr_comment != "off"

    @property
    def gate(self) -> GateSwitches:
        return GateSwitches(*(getattr(self, switch) for switch in GateSwitches._fields))

    @property
    def temporary_environment_label(self) -> str:
        return environment_label(self.context, self.job_index)

    @property
    def metadata(self) -> RunMetadata:
        """From the context; every non-empty metadata input wins."""
        ctx = self.context
        head = _mapping(ctx.pull_request().get("head")) if ctx.is_pull_request else {}  # on a PR: its head
        commit = _text(head.get("sha")) or ctx.sha
        context_ref = (ctx.head_ref if ctx.is_pull_request else "") or _text(head.get("ref")) or ctx.ref_name
        run_url = f"{ctx.server_url}/{ctx.repository}/actions/runs/{ctx.run_id}"
        run_url = run_url if ctx.repository and ctx.run_id else ""
        attempt_url = f"{run_url}/attempts/{ctx.run_attempt}" if run_url and ctx.run_attempt else run_url
        job_url = f"{run_url}/job/{self.check_run_id}" if run_url and self.check_run_id else ""
        run_name = f"{ctx.workflow or 'workflow run'} #{ctx.run_number}" if ctx.run_number else ""
        if run_name and ctx.run_attempt not in ("", "1"):
            run_name += f", attempt {ctx.run_attempt}"
        repository, commit = self.repository or ctx.repository, self.commit_sha or commit
        commit_url = f"{ctx.server_url}/{repository}/commit/{commit}"
        return RunMetadata(
            repository=repository,
            ref=self.ref or context_ref,
            commit_sha=commit,
            event=self.event or ctx.event_name,
            external_url=self.external_url or job_url or attempt_url,
            job_url=job_url or attempt_url,
            run_url=attempt_url,
            job_name=ctx.job,
            run_name=run_name,
            commit_url=commit_url if _REPOSITORY.fullmatch(repository) and _SHA.fullmatch(commit) else "",
        )


def raw_input(env: Mapping[str, str], name: str) -> str | None:
    """The input as the runner passes it (``INPUT_API-KEY``), or as a shell can (``INPUT_API_KEY``)."""
    upper = name.upper().replace(" ", "_")
    return env.get(f"INPUT_{upper}", env.get(f"INPUT_{upper.replace('-', '_')}"))


def read_settings(
    env: Mapping[str, str],
    payload: Mapping[str, Any] | None = None,
    *,
    random_hex: Random = secrets.token_hex,
) -> Settings:
    """Every input read with the GitHub context (``payload``: the event's); :class:`InputErrors` lists each
    problem. ``random_hex`` makes the keys outside GitHub Actions unique."""
    ctx = GitHubContext.from_env(env, payload or {})
    reader = _Reader(env)
    api_key = reader.get("api-key", "", str)
    if not api_key:
        reader.fail(
            "api-key",
            missing_key_hint(ctx)
            or "required and empty: pass your Certyn API key from a secret, e.g. "
            "`api-key: ${{ secrets.CERTYN_API_KEY }}`, and check the secret exists in this repository",
        )
    elif not all("!" <= ch <= "~" for ch in api_key):
        reader.fail(
            "api-key",
            "contains spaces, line breaks, control or non-ASCII characters: re-save the secret as the bare key",
        )
    project_slug = reader.get("project-slug", "", str)
    if not project_slug:
        reader.fail("project-slug", "required: set it to the slug of your Certyn project, e.g. `my-app`")
    process_slug, tags = reader.get("process-slug", "", str), reader.get("tags", (), parse_tags)
    run_id = reader.get("run-id", "", parse_run_id)
    variables = reader.get("variables", (), parse_variables, strip=False)
    if process_slug and tags:
        reader.fail("tags", "give either `process-slug` or `tags`, not both")
    elif not (process_slug or tags or run_id) and not {"tags", "run-id"} & reader.errors.keys():
        # The runner passes "" for an absent input and an empty expression alike: a `run-id` read from a job
        # that maps no `outputs:` looks unset, so the one error names every way to say what to run. (An error of
        # `process-slug` itself stays: `fail` keeps an input's first error.)
        reader.fail(
            "process-slug",
            "set `process-slug` (the suite to run), `tags` (tests to select) or `run-id` (an existing run to "
            "wait for). A `run-id` from another job (`${{ needs.<job>.outputs.run-id }}`) is empty when that job "
            "has no `outputs:` mapping: add `outputs: { run-id: ${{ steps.<step>.outputs.run-id }} }` to that job",
        )
    read = {
        each.name: reader.get(each.name.replace("_", "-"), each.default, each.metadata["parse"])
        for each in fields(Settings)
        if "parse" in each.metadata
    }
    floor, ceiling = read["poll_interval_seconds"], read["max_poll_interval_seconds"]
    job_index, check_run_id, given_key = read["job_index"], read["check_run_id"], read["idempotency_key"]
    adjustments: tuple[InputError, ...] = ()
    if ceiling < floor and reader.get(
        "max-poll-interval-seconds", "", str
    ):  # not when only the floor was raised
        message = f"{ceiling:g} is below `poll-interval-seconds` ({floor:g}): polling every {floor:g}s"
        adjustments = (InputError("max-poll-interval-seconds", message),)
    read["idempotency_key"] = given_key or idempotency_key(ctx, job_index, check_run_id, random_hex)
    s = Settings(
        api_key=api_key,
        project_slug=project_slug,
        process_slug=process_slug,
        tags=tags,
        run_id=run_id,
        variables=variables,
        context=ctx,
        temporary_environment_key=environment_key(ctx, job_index, check_run_id, random_hex=random_hex),
        github_api_url=encodable(env.get("GITHUB_API_URL", "").strip()).rstrip("/")
        or "https://api.github.com",
        adjustments=adjustments,
        **read | {"max_poll_interval_seconds": max(floor, ceiling)},
    )
    for name, message in _conflicts(s, own_idempotency_key=bool(given_key)):
        reader.fail(name, message)
    if reader.errors:
        raise InputErrors(list(reader.errors.values()))
    return s


def _conflicts(s: Settings, *, own_idempotency_key: bool) -> Iterator[tuple[str, str]]:
    """Every combination refused: (the input to change, the message naming the inputs and the fix). With
    ``run-id``, the input named is the one only a create uses."""
    if s.junit_report and not s.test_results:
        yield ("junit-report", "is written from the per-test results: remove `test-results: false`")
    for name, is_set, why in (
        ("process-slug", s.process_slug, "whose suite is already chosen"),
        ("tags", s.tags, "whose tests are already chosen"),
        ("base-url", s.base_url, "that already runs against its environment"),
        ("environment-key", s.environment_key, "that already runs against its environment"),
        ("instruction", s.instruction, "and sends no create request to carry it"),
        ("keep-environment", s.keep_environment, "and makes no temporary environment to keep"),
        ("idempotency-key", own_idempotency_key, "and sends no create request to carry it"),
    ):
        if s.run_id and is_set:
            yield (
                name,
                f"cannot be combined with `run-id`: `run-id` attaches to an existing run {why}. Remove `{name}`, "
                "or remove `run-id` to create a new run",
            )
    if s.run_id and not s.wait:
        yield (
            "wait",
            "`wait: false` cannot be combined with `run-id`: `run-id` attaches to an existing run only to wait for "
            "it and gate on it. Remove `wait: false`, or remove the step",
        )
    if s.check_run and not s.wait:
        yield (
            "check-run",
            "`check-run: true` cannot be combined with `wait: false`: the check run is completed with the run's "
            "result, and a step that does not wait would leave it in progress for ever. Remove `wait: false`, or "
            "remove `check-run: true`",
        )
    if s.publishes and not s.github_token:
        yield (
            "github-token",
            "is empty, but `check-run` or `pr-comment` writes to GitHub with it: leave `github-token` out (its "
            "default is `${{ github.token }}`), or pass a token with `checks: write` / `pull-requests: write`",
        )
    elif s.publishes:
        try:
            normalize_api_url(s.github_api_url)  # the token goes only where the API key could
        except ValueError as err:
            yield ("github-token", f"cannot be used: the runner's GITHUB_API_URL {err}")
    if s.base_url and s.environment_key:
        yield (
            "environment-key",
            "cannot be combined with `base-url`: `base-url` runs against a temporary environment made for that "
            "URL. Give either `base-url` (a deployment to test) or `environment-key` (an existing Certyn "
            "environment), not both",
        )
    for name, what, given in (
        ("variables", "they are set", s.variables),
        ("runner-pool", "it runs the tests", s.runner_pool),
    ):
        if given and not s.base_url:
            yield (
                name,
                f"is only for `base-url`: {what} on the temporary environment this step creates for that URL, never "
                f"on an environment other pipelines share. Add `base-url`, or remove `{name}`",
            )
    if s.base_url and not (s.wait or s.keep_environment or s.run_id):
        yield (
            "wait",
            "`wait: false` cannot be combined with `base-url` unless `keep-environment: true`: the temporary "
            "environment is deleted when this step ends, which would pull the ground from under a run nobody "
            "waits for. Remove `wait: false`, or set `keep-environment: true` (and delete the environment yourself "
            "later)",
        )


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.errors: dict[str, InputError] = {}  # the first error of each input, in the order found

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, InputError(name, message))

    def get(self, name: str, default: Any, parse: Callable[[str], Any], *, strip: bool = True) -> Any:
        value = raw_input(self.env, name) or ""
        if _NOT_UTF8.search(value):  # bytes that are not UTF-8 arrive from the environment as \udcXX escapes
            self.fail(name, "holds bytes that are not valid UTF-8 text: write it as UTF-8")
        elif value.strip():  # empty means "not set": an unset variable or secret arrives as ""
            try:
                return parse(value.strip() if strip else value)
            except ValueError as err:
                self.fail(name, str(err))
        return default


# -- the GitHub context and the keys derived from it -----------------------------------------------------------


def missing_key_hint(ctx: GitHubContext) -> str | None:
    """Why ``api-key`` is empty when GitHub withholds secrets, and how to guard the step; else None."""
    if ctx.actor == "dependabot[bot]":
        return (
            "is empty because this run was triggered by Dependabot, and GitHub gives Dependabot runs only "
            "Dependabot secrets: add CERTYN_API_KEY under Settings → Secrets → Dependabot, or skip the step "
            "with `if: github.actor != 'dependabot[bot]'`."
        )
    # pull_request_target runs in the base repository and does get its secrets. Only "head repository differs
    # from base repository" means a fork PR: head.repo.fork is also true for a same-repository PR inside a
    # repository that is itself a fork, where secrets are available.
    pr = ctx.pull_request()
    head = _mapping(_mapping(pr.get("head")).get("repo"))
    head_name = _text(head.get("full_name"))
    base_name = _text(_mapping(_mapping(pr.get("base")).get("repo")).get("full_name"))
    if head_name and base_name:
        fork = head_name.lower() != base_name.lower()
    else:
        fork = head.get("fork") is True and not base_name  # only the flag to go by
    if ctx.is_pull_request and ctx.event_name != "pull_request_target" and fork:
        return (
            "is empty because this pull request comes from a fork, and GitHub does not pass repository "
            "secrets to workflows triggered by a fork's pull request. Guard the step, e.g. "
            "`if: github.event.pull_request.head.repo.full_name == github.repository`, "
            "or run it on `push`/`workflow_dispatch` instead."
        )
    return None


def idempotency_key(
    ctx: GitHubContext, job_index: str, check_run_id: str, random_hex: Random = secrets.token_hex
) -> str:
    """The create's Idempotency-Key, ``gha:<repo>:<run>:<attempt>:<job>:<leg>:<check run>:<step>``: the same for
    every retry of the create in one step execution, different between attempts, legs, jobs and steps;
    printable ASCII, at most 200 characters. Outside Actions nothing ties processes together: random."""
    if not ctx.run_id:
        return f"certyn-run-action:{random_hex(16)}"
    raw = ":".join(["gha", *ctx.step_parts(job_index, check_run_id)])
    safe = _UNSAFE_KEY_CHARS.sub("_", raw)
    if safe != raw or len(safe) > MAX_IDEMPOTENCY_KEY:
        # Readable, and exact again: a digest of the raw parts tells apart values sanitising or cutting made equal.
        digest = hashlib.sha256(raw.encode()).hexdigest()[:24]
        safe = f"{safe[: MAX_IDEMPOTENCY_KEY - len(digest) - 1]}~{digest}"
    return safe


def environment_key(
    ctx: GitHubContext, job_index: str, check_run_id: str, *, random_hex: Random = secrets.token_hex
) -> str:
    """``gha-<repo>-<run>-<attempt>-<job>-<leg>-<digest>``: derived like the Idempotency-Key and from each call of
    a reusable workflow (the uuid of the step's GITHUB_OUTPUT file), so a 409 for the key can only mean an earlier
    attempt of this same step made it; the digest of the exact parts keeps apart steps whose readable parts cut to
    the same text. Outside Actions: ``local-`` and 24 random hex digits."""
    if not ctx.run_id:
        return f"local-{random_hex(12)}"
    exact = ctx.step_parts(job_index, check_run_id) + ([ctx.step_files] if ctx.step_files else [])
    joined = "\x00".join(f"{len(part)}:{part}" for part in exact)  # a separator in a part cannot shift it
    number = int.from_bytes(hashlib.sha256(joined.encode()).digest(), "big")
    digest = "".join(_BASE36[number // 36**i % 36] for i in range(DIGEST_LENGTH))
    readable = [
        _sanitise(ctx.repository.rsplit("/", 1)[-1])[:14].strip("-"),  # cannot push the run id out
        _sanitise(ctx.run_id),
        _sanitise(ctx.run_attempt or "1"),
        _sanitise(ctx.job)[:10].strip("-"),
        _sanitise(job_index or "0"),
    ]
    prefix = "-".join(["gha", *(part for part in readable if part)])
    return f"{prefix[: KEY_MAX_LENGTH - DIGEST_LENGTH - 1].rstrip('-')}-{digest}"


def environment_label(ctx: GitHubContext, job_index: str) -> str:
    """What people see in Certyn: the repository, workflow run (and attempt) and job (and matrix leg)."""
    if not ctx.run_id:
        return "certyn run-action (outside GitHub Actions)"
    parts = [f"GitHub Actions {ctx.repository or 'unknown repository'}", f"run {ctx.run_id}"]
    if ctx.run_attempt and ctx.run_attempt != "1":
        parts[1] += f" attempt {ctx.run_attempt}"
    if ctx.job:
        parts.append(f"job {ctx.job}" + (f" leg {job_index}" if job_index else ""))
    label = collapsed(", ".join(parts))
    return truncate(label, LABEL_MAX_LENGTH)


def _sanitise(text: str) -> str:
    return _NOT_ENV_KEY_CHARS.sub("-", text.lower()).strip("-")


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str:
    return encodable(value.strip()) if isinstance(value, str) else ""  # "\ud800" is valid JSON


def _show(value: str) -> str:
    return (
        "`" + "".join(ch if ch.isprintable() else "?" for ch in truncate(value, 40)).replace("`", "'") + "`"
    )
