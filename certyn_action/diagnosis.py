"""Why a failing test failed, pure: its agent session's events in, a reason (the Certyn CLI's checks, in its order,
first match wins) and its evidence out; with its artifacts and flakiness mark, a :class:`DiagnosedTest`; all of them
with the run's observations, a :class:`Diagnosis` (the ``failures`` output). ``diagnosis.py`` reads them.
Event text is untrusted: URLs lose query, fragment and credentials; only http(s) ones become links, never fetched.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from .render.escape import one_line, safe_url, without_secrets

if TYPE_CHECKING:
    from .api.models import Artifact, Flakiness, RunItem

MAX_TESTS = 10
MAX_SAMPLES = 3
MAX_ERROR_TEXT = 240
MAX_ARTIFACTS = 10

SUCCEEDED = frozenset({"", "succeeded", "success", "completed", "ok", "passed"})
TOOL_FAILED = frozenset({"failed", "error", "errored", "denied", "blocked", "aborted"})
TOOL_FAILED |= {"cancelled", "canceled", "timeout", "timed_out"}
_ORDER = {"failed": 0, "blocked": 1, "aborted": 2}
_SPACES = re.compile(r"\s+")


def _text(value: object) -> str:
    """A payload string: text as is, a JSON number without decimals, anything else absent."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return str(int(value)) if abs(value) < 1e18 else ""
    return ""


def _first(payload: Mapping[str, Any], *keys: str) -> str:
    return next((text for key in keys if (text := _text(payload.get(key)))), "")


def _int(value: object) -> int | None:
    """A JSON integer, or digits in a string."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def clean_url(url: str) -> str:
    return one_line(without_secrets(url), 1000)


def link(url: str) -> str:
    """``url`` cleaned when it is http(s) with a host, else "" (shown as text, never as a link)."""
    cleaned = clean_url(url)
    return cleaned if safe_url(cleaned) is not None else ""


class NetworkFailure(NamedTuple):
    method: str
    url: str  # without query and fragment
    status: int


class ToolFailure(NamedTuple):
    tool: str
    error: str  # whitespace collapsed, at most MAX_ERROR_TEXT characters and "…"


class Evidence(NamedTuple):
    """What a test's agent-session events say (the CLI's counters), with the first samples of each failure."""

    completion: str = ""  # the last conversation_completed.status, else job_completed.status
    tool_errors: int = 0
    tools: tuple[ToolFailure, ...] = ()
    denials: int = 0
    client_errors: int = 0  # 4xx responses
    server_errors: int = 0  # 5xx responses
    network: tuple[NetworkFailure, ...] = ()  # 5xx samples first, then 4xx; at most MAX_SAMPLES
    scanned: int = 0


class _Scan:
    """The CLI's reading of the events, one method per event type it reads."""

    def __init__(self) -> None:
        self.tool_names: dict[str, str] = {}  # call id -> tool name
        self.requests: dict[str, tuple[str, str]] = {}  # request id -> (method, url)
        self.conversation = self.job = ""
        self.tools: list[ToolFailure] = []
        self.samples: dict[bool, list[NetworkFailure]] = {True: [], False: []}  # by "is 5xx"
        self.tool_errors = self.denials = self.client = self.server = 0

    def tool_use_requested(self, payload: Mapping[str, Any]) -> None:
        if call := _text(payload.get("toolCallId")):
            self.tool_names[call] = _text(payload.get("toolName"))

    def tool_result(self, payload: Mapping[str, Any]) -> None:
        if _first(payload, "status").strip().lower() not in TOOL_FAILED:
            return
        self.tool_errors += 1
        meta = payload.get("metadata")
        meta = meta if isinstance(meta, Mapping) else {}
        call = _first(meta, "toolCallId") or _first(payload, "toolCallId", "commandId")
        name = _first(meta, "toolName") or _first(payload, "toolName") or self.tool_names.get(call, "")
        said = _first(payload, "error", "output", "status")
        detail = _SPACES.sub(" ", one_line(said, 4 * MAX_ERROR_TEXT)).strip()
        if len(self.tools) < MAX_SAMPLES:
            cut = detail if len(detail) <= MAX_ERROR_TEXT else detail[:MAX_ERROR_TEXT] + "…"
            self.tools.append(ToolFailure(one_line(name, 100), cut))

    def policy_decision(self, payload: Mapping[str, Any]) -> None:
        allowed = payload.get("allowed")
        self.denials += allowed is False or (isinstance(allowed, str) and allowed.strip().lower() == "false")

    def browser_network_request(self, payload: Mapping[str, Any]) -> None:
        if request := _text(payload.get("requestId")):
            self.requests[request] = (_text(payload.get("method")), _text(payload.get("url")))

    def browser_network_response(self, payload: Mapping[str, Any]) -> None:
        status = _int(payload.get("status"))
        if status is None or not 400 <= status <= 599:
            return
        is_5xx = status >= 500
        self.server += is_5xx
        self.client += not is_5xx
        if len(self.samples[is_5xx]) < MAX_SAMPLES:
            method, url = self.requests.get(_text(payload.get("requestId")), ("", ""))
            method = one_line(_text(payload.get("method")) or method, 20).upper()
            self.samples[is_5xx].append(
                NetworkFailure(method, clean_url(_text(payload.get("url")) or url), status)
            )

    def conversation_completed(self, payload: Mapping[str, Any]) -> None:
        self.conversation = _text(payload.get("status")).strip() or self.conversation

    def job_completed(self, payload: Mapping[str, Any]) -> None:
        self.job = _text(payload.get("status")).strip() or self.job


_READ = frozenset(name for name in vars(_Scan) if not name.startswith("_"))


def scan(events: Iterable[tuple[str, Mapping[str, Any]]]) -> Evidence:
    """The evidence in ``(type, payload)`` events, oldest first (types lower case); other types are ignored."""
    seen = _Scan()
    scanned = 0
    for kind, payload in events:
        scanned += 1
        if kind in _READ:
            getattr(seen, kind)(payload)
    return Evidence(
        completion=one_line(seen.conversation or seen.job, 100),
        tool_errors=seen.tool_errors,
        tools=tuple(seen.tools),
        denials=seen.denials,
        client_errors=seen.client,
        server_errors=seen.server,
        network=tuple((seen.samples[True] + seen.samples[False])[:MAX_SAMPLES]),
        scanned=scanned,
    )


# The checks in the CLI's order, first match wins: reason -> does it hold for (said, evidence); words.py words them.
_CHECKS: dict[str, Callable[[set[str], Evidence], bool]] = {
    "blocked": lambda said, _: "blocked" in said,
    "aborted": lambda said, _: "aborted" in said,
    "agent-failed": lambda _, ev: ev.completion.lower() not in SUCCEEDED,
    "tool-error": lambda _, ev: ev.tool_errors > 0,
    "app-server-error": lambda _, ev: ev.server_errors >= max(ev.client_errors, 1),
    "app-client-error": lambda _, ev: ev.client_errors > 0,
    "failed": lambda said, _: "failed" in said,
}
REASONS = (*_CHECKS, "unknown")


def classify(outcome: str, status: str, evidence: Evidence) -> str:
    said = {outcome.strip().lower(), status.strip().lower()}
    return next((reason for reason, holds in _CHECKS.items() if holds(said, evidence)), "unknown")


class Link(NamedTuple):
    type: str
    description: str
    url: str  # cleaned; an http(s) link when ``is_link``, else text to show as such
    is_link: bool


class FlakyMark(NamedTuple):
    quarantined: bool
    rate: float | None  # failed runs / runs, else Certyn's flakiness score


def flaky_mark(flaky: Flakiness) -> FlakyMark:
    runs, failed = flaky.total_runs, flaky.failed_runs
    rate = failed / runs if runs and failed is not None and failed <= runs else flaky.flakiness_score
    return FlakyMark(flaky.is_quarantined, rate)


class DiagnosedTest(NamedTuple):
    key: tuple[str, str, str]  # of its per-test row (see :func:`item_key`)
    name: str
    outcome: str
    reason: str
    summary: str  # the reason in one sentence, by the caller's ``describe``
    evidence: Evidence
    artifacts: tuple[Link, ...] = ()
    mark: FlakyMark | None = None  # Certyn's flakiness data on it, when it has any

    def output(self) -> dict[str, object]:
        return {
            "name": self.name,
            "outcome": self.outcome,
            "reason": self.reason,
            "summary": self.summary,
            "flaky": self.mark is not None,
            "quarantined": self.mark is not None and self.mark.quarantined,
            "artifacts": [{"type": link.type, "url": link.url} for link in self.artifacts if link.is_link],
            "network": [failure._asdict() for failure in self.evidence.network],
        }


def item_key(item: RunItem) -> tuple[str, str, str]:
    return (item.id, item.execution_id, item.display_name)


def diagnose_test(
    item: RunItem,
    events: Iterable[tuple[str, Mapping[str, Any]]],
    artifacts: Sequence[Artifact] = (),
    flaky: Flakiness | None = None,
    *,
    describe: Callable[[str, str, Evidence], str],
) -> DiagnosedTest:
    """``describe(reason, outcome, evidence)``: the reason in one sentence (``render/words.describe``)."""
    evidence, outcome = scan(events), str(item.outcome)
    reason = classify(outcome, item.status, evidence)
    links = tuple(
        Link(one_line(art.type, 60), one_line(art.description, 200), clean_url(art.uri), bool(link(art.uri)))
        for art in artifacts[:MAX_ARTIFACTS]
        if art.uri.strip()
    )
    summary = describe(reason, outcome, evidence)
    mark = flaky_mark(flaky) if flaky is not None else None
    return DiagnosedTest(item_key(item), item.display_name, outcome, reason, summary, evidence, links, mark)


def chosen(items: Iterable[RunItem]) -> list[RunItem]:
    """The tests to diagnose: failed, then blocked, then aborted (server order within each), at most 10."""
    failing = [item for item in items if str(item.outcome) in _ORDER]
    return sorted(failing, key=lambda item: _ORDER[str(item.outcome)])[:MAX_TESTS]


@dataclass(frozen=True)
class Diagnosis:
    """What the diagnosis found; ``problem`` says what could not be read ("" when all was)."""

    tests: tuple[DiagnosedTest, ...] = ()
    observations: tuple[str, ...] = ()
    problem: str = ""
    marks: Mapping[str, FlakyMark] = field(default_factory=dict)  # by test case id: every flaky test

    def mark(self, item: RunItem) -> FlakyMark | None:
        return self.marks.get(item.test_case_id) if item.test_case_id else None

    def of(self, item: RunItem) -> DiagnosedTest | None:
        return next((test for test in self.tests if test.key == item_key(item)), None)

    def failures_output(self) -> str:
        """The ``failures`` output: a JSON array, one object per diagnosed test."""
        return json.dumps([test.output() for test in self.tests], ensure_ascii=False)
