"""Per-test results of a run (``GET /api/projects/{projectId}/process-runs/{runId}``) and the facts derived
from them: outcomes, order, the failed-tests output, contradictions with the status counts. Pure."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator

from ..render.escape import encodable, plural
from .fields import (
    COMPARED_COUNTERS,
    Finding,
    Identifier,
    Name,
    Number,
    Timestamp,
    Word,
    _items,
    _Model,
    _text,
    _word,
    duration_seconds,
)


class Outcome(StrEnum):
    FAILED = "failed"
    BLOCKED = "blocked"
    ABORTED = "aborted"
    SKIPPED = "skipped"
    PASSED = "passed"
    NO_RESULT = "no result"

    @property
    def failing(self) -> bool:
        """Failed, blocked or aborted: what the `failed-tests` output lists and the annotations show."""
        return self in FAILING


FAILING = frozenset({Outcome.FAILED, Outcome.BLOCKED, Outcome.ABORTED})
_WORDS = {
    "failed": Outcome.FAILED,
    "blocked": Outcome.BLOCKED,
    "aborted": Outcome.ABORTED,
    "cancelled": Outcome.ABORTED,
    "canceled": Outcome.ABORTED,
    "skipped": Outcome.SKIPPED,
    "passed": Outcome.PASSED,
}
# Failing first (server order kept among them), then tests without a result, then skipped, then passed.
_RANK = {
    Outcome.FAILED: 0,
    Outcome.BLOCKED: 0,
    Outcome.ABORTED: 0,
    Outcome.NO_RESULT: 1,
    Outcome.SKIPPED: 2,
    Outcome.PASSED: 3,
}


def derive_outcome(test_outcome: str, status: str) -> Outcome:
    """``testOutcome`` when it is a known word, else ``status`` when it is one; else no result.

    ``status: completed`` alone proves nothing about the result: no result."""
    return _WORDS.get(_word(test_outcome)) or _WORDS.get(_word(status)) or Outcome.NO_RESULT


class RunItem(_Model):
    """One test of a process run (an entry of ``items[]``)."""

    id: Identifier = ""
    test_case_id: Identifier = Field(default="", alias="testCaseId")
    name: Name = Field(default="", alias="testCaseName")
    number: Number = Field(default=None, alias="testCaseNumber")
    status: Word = ""
    test_outcome: Word = Field(default="", alias="testOutcome")
    finding: Finding = Field(default="", alias="summaryMarkdown")
    started_at: Timestamp = Field(default=None, alias="startedAt")
    completed_at: Timestamp = Field(default=None, alias="completedAt")
    execution_id: Identifier = Field(default="", alias="executionId")  # diagnosis (issue 20)
    agent_session_id: Identifier = Field(default="", alias="agentSessionId")  # diagnosis (issue 20)

    @property
    def outcome(self) -> Outcome:
        return derive_outcome(self.test_outcome, self.status)

    @property
    def duration_seconds(self) -> float | None:
        return duration_seconds(self.started_at, self.completed_at)

    @property
    def display_name(self) -> str:
        """The test's name; a stand-in built from its number or id when the server gave none."""
        if self.name.strip():
            return self.name
        if self.number is not None:
            return f"test #{self.number}"
        return f"test {self.test_case_id or self.id}" if (self.test_case_id or self.id) else "unnamed test"


class ProcessRun(_Model):
    """``GET /api/projects/{projectId}/process-runs/{runId}``: the run with its tests."""

    id: Identifier = ""
    number: Number = None
    process_slug: Name = Field(default="", alias="processSlug")
    process_name: Name = Field(default="", alias="processName")
    status: Word = ""
    started_at: Timestamp = Field(default=None, alias="startedAt")
    completed_at: Timestamp = Field(default=None, alias="completedAt")
    items: tuple[RunItem, ...] = ()
    listed: int = Field(default=0, alias="_listed")  # how many the answer listed (items keeps MAX_ITEMS)

    @model_validator(mode="before")
    @classmethod
    def _count_items(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        items = data.get("items")
        return {**data, "_listed": len(items) if isinstance(items, list | tuple) else 0}

    @field_validator("items", mode="before")
    @classmethod
    def _tolerant_items(cls, value: Any) -> Any:
        return _items(value)

    @property
    def duration_seconds(self) -> float | None:
        return duration_seconds(self.started_at, self.completed_at)


_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t]|$)")
# Markdown markers at the start of a line (heading, quote, list item), dropped when a finding is flattened.
_LINE_MARKER = re.compile(r"^\s*(?:#{1,6}(?:\s+|$)|>\s*|[-*+]\s+|\d{1,9}[.)]\s+)+")
FINDING_LINES = 3


def finding_excerpt(finding: str, lines: int = FINDING_LINES) -> str:
    """The first ``lines`` lines of a finding that say something, joined on one line: blank lines and
    headings ("## Finding") are passed over (headings are used only when there is nothing else), line
    markers of quotes and lists dropped. Plain text, still to be escaped for where it goes."""
    body: list[str] = []
    headings: list[str] = []
    for line in encodable(finding).splitlines():
        text = _LINE_MARKER.sub("", line).strip()
        if text:
            (headings if _HEADING.match(line) else body).append(text)
        if len(body) == lines:
            break
    return " ".join(body or headings[:lines])


def ordered(items: Iterable[RunItem]) -> tuple[RunItem, ...]:
    """Failing tests (failed, blocked, aborted) first, then no result, skipped, passed; stable."""
    return tuple(sorted(items, key=lambda item: _RANK[item.outcome]))


def failed_test_names(items: Iterable[RunItem]) -> list[str]:
    """Names of the tests that failed, were blocked or aborted, in the server's order."""
    return [item.display_name for item in items if item.outcome.failing]


def failed_tests_output(items: Iterable[RunItem]) -> str:
    """The `failed-tests` output: a JSON array of names on one line, ``[]`` when none failed."""
    return json.dumps(failed_test_names(items), ensure_ascii=False)


def outcome_counts(items: Iterable[RunItem]) -> dict[Outcome, int]:
    """How many tests have each outcome (every outcome present, zeros included)."""
    counts = dict.fromkeys(Outcome, 0)
    for item in items:
        counts[item.outcome] += 1
    return counts


def contradictions(counts: Mapping[str, int], items: Sequence[RunItem]) -> tuple[str, ...]:
    """Where the per-test results disagree with the status counts (``RunStatus.counts()``), in words.

    Nothing is compared when there are no per-test results (they were unavailable, not contradicting).
    The gate stays on the counts; these sentences are for the summary."""
    if not items:
        return ()
    tally = outcome_counts(items)
    found: list[str] = []
    for name in COMPARED_COUNTERS:
        said = counts.get(name, 0)
        seen = tally[Outcome(name)]
        if said != seen:
            found.append(
                f"Certyn's counts say {said} {name}, but {plural(seen, 'test is', 'tests are')} "
                f"marked {name} in the per-test results"
            )
    total = counts.get("total", 0)
    if total and total != len(items):
        found.append(
            f"Certyn's counts say {plural(total, 'test')} in total, "
            f"but the per-test results list {plural(len(items), 'test')}"
        )
    return tuple(found)


# -- diagnosis (issue 20): the endpoints a failing test's diagnosis reads ----------------------------------
# Tolerant like every model here; the events' payloads stay raw mappings, read leniently by diagnosis.py.

MAX_URL = 2_000


def _flag(value: Any) -> bool:
    """A JSON boolean, or the strings "true"/"false"; anything else is false."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _score(value: Any) -> float | None:
    """A rate between 0 and 1, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value <= 1 else None


def _payload(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


Url = Annotated[str, BeforeValidator(_text(MAX_URL))]
Flag = Annotated[bool, BeforeValidator(_flag)]
Rate = Annotated[float | None, BeforeValidator(_score)]
Payload = Annotated[Mapping[str, Any], BeforeValidator(_payload)]


class _Page(_Model):
    """The paged envelope: ``items`` (tolerant) and whether another page follows."""

    has_next_page: Flag = Field(default=False, alias="hasNextPage")

    @field_validator("items", mode="before", check_fields=False)
    @classmethod
    def _tolerant_items(cls, value: Any) -> Any:
        return _items(value)


class Execution(_Model):
    """``GET /api/projects/{projectId}/executions/{executionId}``: only its agent session is read."""

    id: Identifier = ""
    agent_session_id: Identifier = Field(default="", alias="agentSessionId")


class SessionEvent(_Model):
    type: Word = ""
    payload: Payload = Field(default_factory=dict)


class EventPage(_Page):
    """One page of ``GET /api/projects/{projectId}/agentsessions/{id}/conversation``."""

    items: tuple[SessionEvent, ...] = ()


class Artifact(_Model):
    type: Name = ""
    uri: Url = ""
    description: Name = ""


class ArtifactPage(_Page):
    """``GET /api/projects/{projectId}/executions/{executionId}/artifacts``."""

    items: tuple[Artifact, ...] = ()


class Flakiness(_Model):
    test_case_id: Identifier = Field(default="", alias="testCaseId")
    flakiness_score: Rate = Field(default=None, alias="flakinessScore")
    total_runs: Number = Field(default=None, alias="totalRuns")
    failed_runs: Number = Field(default=None, alias="failedRuns")
    is_quarantined: Flag = Field(default=False, alias="isQuarantined")


class FlakyTestCases(_Page):
    """``GET /api/projects/{projectId}/flaky-testcases``: a bare array, read as ``{"items": [...]}``."""

    items: tuple[Flakiness, ...] = ()


class Observation(_Model):
    title: Name = ""


class ObservationPage(_Page):
    """``GET /api/projects/{projectId}/observations?processRunId=``."""

    items: tuple[Observation, ...] = ()
