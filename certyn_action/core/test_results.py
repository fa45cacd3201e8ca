"""Per-test results of a run and Certyn's AI conversation: tolerant models and the facts derived from them.

Pure. The shapes come from endpoints beyond the CI ones (projects overview, process run, assistant
conversation): every field may be null, missing or of the wrong type, so nothing here ever fails on a
field; unusable values become "" or None. All text is untrusted and cut to a sane length here; escaping
for each destination is the renderers' job.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from ..text import encodable, truncate

MAX_ID = 200
MAX_NAME = 500
MAX_WORD = 100
MAX_FINDING = 20_000
# The answer goes whole into the `conversation-response` output; the runner allows 1 MiB for all of a
# job's outputs, so a runaway answer is cut here (100,000 characters are at most 400 KB of UTF-8).
MAX_ANSWER = 100_000

COMPARED_COUNTERS = ("failed", "blocked", "aborted", "passed", "skipped")


# -- tolerant field parsers ---------------------------------------------------------------------------


def _text(limit: int) -> Any:
    def parse(value: Any) -> str:
        if isinstance(value, str):
            return truncate(encodable(value), limit)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return ""

    return parse


def _word(value: Any) -> str:
    """A state word (``status``, ``testOutcome``, ``role``): lower case, ``_`` for spaces and dashes."""
    if not isinstance(value, str):
        return ""
    return truncate(encodable(value), MAX_WORD).strip().lower().replace("-", "_").replace(" ", "_")


def _identifier(value: Any) -> str:
    """An id that may go into a URL path: text or a whole number; dots-only, blank or huge is unusable."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        return ""
    text = encodable(value).strip()
    if not text or text.strip(".") == "" or len(text) > MAX_ID:
        return ""
    return text


def _number(value: Any) -> int | None:
    """A test or run number: a non-negative whole number (also as digits in a string), else None."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value < 0 or value != int(value) or value >= 10**15:
        return None
    return int(value)


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_timestamp(value: object) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime, or None when unusable.

    Tolerates ``Z``, offsets, fractions of any length (.NET writes seven digits) and a missing offset
    (taken as UTC)."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    text = _FRACTION.sub(r"\1", value.strip())
    if text[-1:] in ("z", "Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def duration_seconds(started: datetime | None, completed: datetime | None) -> float | None:
    """Seconds from ``started`` to ``completed``; None when either is unknown or the order is wrong."""
    if started is None or completed is None:
        return None
    seconds = (completed - started).total_seconds()
    return seconds if seconds >= 0 else None


def _items(value: Any) -> Any:
    """A list of objects; anything else is an empty list, and non-objects in it are left out."""
    if not isinstance(value, list | tuple):
        return ()
    return tuple(entry for entry in value if isinstance(entry, Mapping))


def _hint(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and 0 <= number < 1e9 else None


Identifier = Annotated[str, BeforeValidator(_identifier)]
Name = Annotated[str, BeforeValidator(_text(MAX_NAME))]
Word = Annotated[str, BeforeValidator(_word)]
Finding = Annotated[str, BeforeValidator(_text(MAX_FINDING))]
Number = Annotated[int | None, BeforeValidator(_number)]
Timestamp = Annotated[datetime | None, BeforeValidator(parse_timestamp)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


# -- projects overview --------------------------------------------------------------------------------


class Project(_Model):
    id: Identifier = ""
    slug: Name = ""
    name: Name = ""


class ProjectsOverview(_Model):
    """``GET /api/projects/overview``."""

    default_project_id: Identifier = Field(default="", alias="defaultProjectId")
    projects: tuple[Project, ...] = ()

    @field_validator("projects", mode="before")
    @classmethod
    def _tolerant_projects(cls, value: Any) -> Any:
        return _items(value)


def resolve_project_id(overview: ProjectsOverview, slug: str) -> str | None:
    """The id of the project whose slug is ``slug``, compared case-insensitively, or None.

    An exact match wins; otherwise the case-insensitive match must name a single project (two projects
    whose slugs differ only in case, neither exact, is ambiguous: None). ``defaultProjectId`` is never a
    fallback: it may be another project."""
    wanted = slug.strip()
    if not wanted:
        return None
    usable = [project for project in overview.projects if project.id]
    for project in usable:
        if project.slug.strip() == wanted:
            return project.id
    ids = {project.id for project in usable if project.slug.strip().casefold() == wanted.casefold()}
    return ids.pop() if len(ids) == 1 else None


# -- per-test results ---------------------------------------------------------------------------------


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


def _tests_are(count: int) -> str:
    return "1 test is" if count == 1 else f"{count} tests are"


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
                f"Certyn's counts say {said} {name}, but {_tests_are(seen)} marked {name} in the per-test results"
            )
    total = counts.get("total", 0)
    if total and total != len(items):
        listed = "1 test" if len(items) == 1 else f"{len(items)} tests"
        found.append(f"Certyn's counts say {total} tests in total, but the per-test results list {listed}")
    return tuple(found)


# -- AI conversation ----------------------------------------------------------------------------------


class ConversationState(StrEnum):
    """The `conversation-state` output."""

    IDLE = "idle"
    FAILED = "failed"
    PROCESSING = "processing"
    UNAVAILABLE = "unavailable"


class Message(_Model):
    role: Word = ""
    content: Annotated[str, BeforeValidator(_text(MAX_ANSWER))] = ""


class Conversation(_Model):
    """``GET /api/assistant/conversations/{conversationId}``."""

    status: Word = ""
    messages: tuple[Message, ...] = ()
    retry_after_seconds: Annotated[float | None, BeforeValidator(_hint)] = Field(
        default=None, alias="retryAfterSeconds"
    )

    @field_validator("messages", mode="before")
    @classmethod
    def _tolerant_messages(cls, value: Any) -> Any:
        return _items(value)

    @property
    def state(self) -> ConversationState:
        """``idle`` and ``failed`` are final; anything else (``processing``, unknown words) is still going."""
        if self.status == "idle":
            return ConversationState.IDLE
        if self.status == "failed":
            return ConversationState.FAILED
        return ConversationState.PROCESSING

    @property
    def finished(self) -> bool:
        return self.state is not ConversationState.PROCESSING

    @property
    def answer(self) -> str | None:
        """The content of the last ``assistant`` message, or None when there is none."""
        for message in reversed(self.messages):
            if message.role == "assistant":
                return message.content
        return None


def conversation_state(conversation: Conversation | None) -> ConversationState:
    """The `conversation-state` output for the last conversation read (None: it could not be read)."""
    return ConversationState.UNAVAILABLE if conversation is None else conversation.state
