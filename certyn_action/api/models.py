"""The API's answers as pydantic models, tolerant the way a gate must be. Pure; imported after the create.

Informational fields that are unusable become "" or None and all text is cut to a sane length (escaped by the
renderers); what the gate relies on is strict: a counter that is not a number is an invalid answer, a missing
one is recorded in ``absent``, and an id that goes into a URL path is never dots only.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter as Tally
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from typing import Annotated, Any, Generic, NamedTuple, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from ..render.escape import CONTROLS, HEADING, encodable, safe_url, truncate
from ..settings import MAX_RUN_ID
from .vocabulary import COUNTERS, TERMINAL_STATES

__all__ = ["COUNTERS", "TERMINAL_STATES", "CreatedRun", "RunStatus", "ValidationError"]

MAX_TEXT = 200
MAX_ID = 200
MAX_NAME = 500
MAX_FINDING = 20_000
MAX_ANSWER = 100_000  # at most 400 KB in the `conversation-response` output (1 MiB for all of a job's)
MAX_ITEMS = 5_000  # tests, messages: more are cut before they are validated (time, memory)


def _text(value: Any, *, limit: int = MAX_TEXT) -> str:
    """Informational text: anything unusable (null, an object) is "", cut to ``limit``."""
    if isinstance(value, str):
        return truncate(encodable(value), limit)
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else ""


def _word(value: Any) -> str:
    """A state word (``status``, ``testOutcome``, ``role``): lower case, ``_`` for spaces and dashes."""
    if not isinstance(value, str):
        return ""
    return truncate(encodable(value), 100).strip().lower().replace("-", "_").replace(" ", "_")


def _identifier(value: Any) -> str:
    """An id that may go into a URL path: text or a whole number; dots-only, blank or huge is unusable ("")."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = encodable(value).strip() if isinstance(value, str) else ""
    return "" if text.strip(".") == "" or len(text) > MAX_ID else text


def _required_id(what: str, value: Any, *, strip: bool = True) -> Any:
    """An id the action cannot do without: it goes into a URL path, where "." or ".." would be normalised to
    another endpoint, so those (and control characters) make the answer invalid."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        return value
    text = value.strip() if strip else encodable(value)
    if text.strip(".") == "":
        raise ValueError(f"{what} cannot be empty or made of dots only")
    if strip and CONTROLS.search(text):
        raise ValueError(f"{what} cannot hold control characters")
    return text


def _whole(value: Any) -> int | None:
    """A non-negative whole number, else None (unknown). JSON's 1e999 reads as infinity."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value) if value >= 0 and value == int(value) else None


def _number(value: Any) -> int | None:
    """A test or run number: a non-negative whole number (also as digits in a string), else None."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    number = _whole(value)
    return number if number is not None and number < 10**15 else None


def _hint(value: Any) -> float | None:
    """``retryAfterSeconds``: only a hint, anything unusable means "no hint", never an invalid answer."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and 0 <= number < 1e9 else None


def _url(value: Any) -> str:
    """A link for people (``appUrl``): an http(s) URL of sane length, or "" (never a cut, broken link)."""
    text = encodable(value).strip() if isinstance(value, str) else ""
    return text if safe_url(text) is not None else ""


def _counter(value: Any) -> Any:
    if value is None:
        return 0
    if isinstance(value, bool | str):  # "0_0", " 0 " or "0.0" would read as 0: text proves no count
        raise ValueError("a counter must be a number")  # noqa: TRY004 - pydantic wants ValueError
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _items(value: Any, *, last: bool = False) -> Any:
    """A list of objects, at most ``MAX_ITEMS`` (the first ones, or the ``last``); anything else is an empty
    list, and non-objects in it are left out."""
    if not isinstance(value, list | tuple):
        return ()
    entries = (entry for entry in (reversed(value) if last else value) if isinstance(entry, Mapping))
    kept = tuple(itertools.islice(entries, MAX_ITEMS))
    return kept[::-1] if last else kept


M = TypeVar("M", bound=BaseModel)


def usable(model: type[M], value: Any) -> tuple[M, ...]:
    """The valid ``model`` entries of a list; an unusable entry is skipped, never an invalid list."""
    found: list[M] = []
    for item in value if isinstance(value, list) else []:
        try:
            found.append(model.model_validate(item))
        except ValidationError:
            continue
    return tuple(found)


def parse_timestamp(value: object) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime, or None; no offset is UTC, .NET's seven digits are fine."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "Z" if text.endswith("z") else text)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def duration_seconds(started: datetime | None, completed: datetime | None) -> float | None:
    """None when either is unknown or the order is wrong."""
    if started is None or completed is None:
        return None
    seconds = (completed - started).total_seconds()
    return seconds if seconds >= 0 else None


Identifier = Annotated[str, BeforeValidator(_identifier)]
Text = Annotated[str, BeforeValidator(_text)]
Name = Annotated[str, BeforeValidator(partial(_text, limit=MAX_NAME))]
Word = Annotated[str, BeforeValidator(_word)]
Number = Annotated[int | None, BeforeValidator(_number)]
Timestamp = Annotated[datetime | None, BeforeValidator(parse_timestamp)]
Url = Annotated[str, BeforeValidator(_url)]
Counter = Annotated[int, BeforeValidator(_counter), Field(ge=0)]
Hint = Annotated[float | None, BeforeValidator(_hint)]
Flag = Annotated[bool, BeforeValidator(lambda value: value is True)]  # only `true` is true
Items = BeforeValidator(_items)

RequiredId = Field(min_length=1, max_length=MAX_ID)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, alias_generator=to_camel)


class CreatedRun(_Model):
    """Only ``runId`` must be right; the rest is shown, never relied on, so it can never fail the create."""

    run_id: Annotated[
        str,
        BeforeValidator(partial(_required_id, "a run id", strip=False)),
        Field(min_length=1, max_length=MAX_RUN_ID),
    ]
    app_url: Url = ""
    test_case_count: Annotated[int | None, BeforeValidator(_whole)] = None
    conversation_id: Identifier = ""


class Created(NamedTuple):
    run: CreatedRun
    replayed: bool  # the server matched the Idempotency-Key of an earlier create


def _state(value: str) -> str:
    state = value.strip().lower().replace("-", "_").replace(" ", "_")
    return "cancelled" if state == "canceled" else state


class RunStatus(_Model):
    state: Annotated[Text, AfterValidator(_state)] = ""
    conclusion: Text = ""
    total: Counter = 0
    passed: Counter = 0
    failed: Counter = 0
    blocked: Counter = 0
    pending: Counter = 0
    aborted: Counter = 0
    skipped: Counter = 0
    app_url: Url = ""
    commit_sha: Text = ""  # the commit the run tests (a replay: not ours)
    started_at: Text = ""
    completed_at: Text = ""
    retry_after_seconds: Hint = None
    absent: frozenset[str] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _note_absent(cls, data: Any) -> Any:
        """The counters the server left out or sent as null (read as 0): set from the body, never by it."""
        absent = frozenset(name for name in COUNTERS if data.get(name) is None)
        return {**{key: value for key, value in data.items() if key != "absent"}, "absent": absent}

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTERS}


class Project(_Model):
    id: Identifier = ""
    slug: Name = ""


class ProjectsOverview(_Model):
    projects: Annotated[tuple[Project, ...], Items] = ()


def resolve_project_id(overview: ProjectsOverview, slug: str) -> str | None:
    """The id of the project ``slug`` names: an exact match, else the one match ignoring case, else None
    (``defaultProjectId`` is never a fallback: it may be another project)."""
    wanted = slug.strip()
    usable_ = [project for project in overview.projects if project.id]
    exact = next((project.id for project in usable_ if project.slug.strip() == wanted), None)
    ids = {project.id for project in usable_ if project.slug.strip().casefold() == wanted.casefold()}
    return None if not wanted else exact or (ids.pop() if len(ids) == 1 else None)


class Environment(_Model):
    """A create answer or list item: only ``id`` must be right."""

    id: Annotated[str, BeforeValidator(partial(_required_id, "an environment id")), RequiredId]
    key: Text = ""
    label: Text = ""
    base_url: Text = ""


class EnvironmentPage(_Model):
    items: Annotated[tuple[Environment, ...], BeforeValidator(partial(usable, Environment))] = ()
    has_next_page: Flag = False


def find_environment(page: EnvironmentPage, key: str) -> Environment | None:
    """The environment with ``key`` (ignoring case: keys are lower case), or None."""
    wanted = key.strip().casefold()
    return next((env for env in page.items if wanted and env.key.strip().casefold() == wanted), None)


class RunnerPool(_Model):
    id: Annotated[str, BeforeValidator(partial(_required_id, "a runner pool id")), RequiredId]
    name: Text = ""
    is_active: Annotated[bool, BeforeValidator(lambda value: value is not False)] = True


def find_pool(pools: Sequence[RunnerPool], wanted: str) -> tuple[RunnerPool, ...]:
    """The pool with the id ``wanted``, else those with that name (ignoring case)."""
    by_id = tuple(pool for pool in pools if pool.id == wanted)
    return by_id or tuple(pool for pool in pools if pool.name.strip().casefold() == wanted.strip().casefold())


class Outcome(StrEnum):
    FAILED = "failed"
    BLOCKED = "blocked"
    ABORTED = "aborted"
    SKIPPED = "skipped"
    PASSED = "passed"
    NO_RESULT = "no result"

    @property
    def failing(self) -> bool:
        return self in (Outcome.FAILED, Outcome.BLOCKED, Outcome.ABORTED)


_WORDS = {outcome.value: outcome for outcome in Outcome} | dict.fromkeys(
    ("cancelled", "canceled"), Outcome.ABORTED
)
# failing first (in the server's order), then no result, skipped, passed
_RANK = {Outcome.NO_RESULT: 1, Outcome.SKIPPED: 2, Outcome.PASSED: 3}


class RunItem(_Model):
    id: Identifier = ""
    test_case_id: Identifier = ""
    name: Name = Field(default="", alias="testCaseName")
    number: Number = Field(default=None, alias="testCaseNumber")
    status: Word = ""
    test_outcome: Word = ""
    finding: Annotated[str, BeforeValidator(partial(_text, limit=MAX_FINDING))] = Field(
        default="", alias="summaryMarkdown"
    )
    started_at: Timestamp = None
    completed_at: Timestamp = None
    execution_id: Identifier = ""
    agent_session_id: Identifier = ""

    @property
    def outcome(self) -> Outcome:
        """``testOutcome``, else ``status``, when a known word; else no result (``completed`` says no result)."""
        return _WORDS.get(self.test_outcome) or _WORDS.get(self.status) or Outcome.NO_RESULT

    @property
    def duration_seconds(self) -> float | None:
        return duration_seconds(self.started_at, self.completed_at)

    @property
    def display_name(self) -> str:
        if self.name.strip():
            return self.name
        if self.number is not None:
            return f"test #{self.number}"
        return f"test {self.test_case_id or self.id}" if (self.test_case_id or self.id) else "unnamed test"


class ProcessRun(_Model):
    id: Identifier = ""
    number: Number = None
    process_slug: Name = ""
    process_name: Name = ""
    status: Word = ""
    started_at: Timestamp = None
    completed_at: Timestamp = None
    items: Annotated[tuple[RunItem, ...], Items] = ()
    listed: int = Field(default=0, alias="_listed")  # how many the answer listed (items keeps MAX_ITEMS)

    @model_validator(mode="before")
    @classmethod
    def _count_items(cls, data: Any) -> Any:
        items = data.get("items")
        return {**data, "_listed": len(items) if isinstance(items, list | tuple) else 0}

    @property
    def duration_seconds(self) -> float | None:
        return duration_seconds(self.started_at, self.completed_at)


# Markdown markers at the start of a line (heading, quote, list item), dropped when a finding is flattened.
_LINE_MARKER = re.compile(r"^\s*(?:#{1,6}(?:\s+|$)|>\s*|[-*+]\s+|\d{1,9}[.)]\s+)+")


def finding_excerpt(finding: str, lines: int = 3) -> str:
    """The first ``lines`` lines of a finding that say something, on one line, without quote and list markers;
    headings ("## Finding") only when there is nothing else. Still to be escaped for where it goes."""
    body: list[str] = []
    headings: list[str] = []
    for line in encodable(finding).splitlines():
        text = _LINE_MARKER.sub("", line).strip()
        if text:
            (headings if re.match(HEADING, line) else body).append(text)
        if len(body) == lines:
            break
    return " ".join(body or headings[:lines])


def ordered(items: Iterable[RunItem]) -> tuple[RunItem, ...]:
    return tuple(sorted(items, key=lambda item: _RANK.get(item.outcome, 0)))


def failed_test_names(items: Iterable[RunItem]) -> list[str]:
    return [item.display_name for item in items if item.outcome.failing]


def failed_tests_output(items: Iterable[RunItem]) -> str:
    """The `failed-tests` output: a JSON array of names on one line, ``[]`` when none failed."""
    return json.dumps(failed_test_names(items), ensure_ascii=False)


def outcome_counts(items: Iterable[RunItem]) -> dict[Outcome, int]:
    """Every outcome, zeros included."""
    return dict.fromkeys(Outcome, 0) | Tally(item.outcome for item in items)


class ConversationState(StrEnum):
    """The `conversation-state` output."""

    IDLE = "idle"
    FAILED = "failed"
    PROCESSING = "processing"
    UNAVAILABLE = "unavailable"


class Message(_Model):
    role: Word = ""
    content: Annotated[str, BeforeValidator(partial(_text, limit=MAX_ANSWER))] = ""


class Conversation(_Model):
    status: Word = ""
    # the answer is the last assistant message: the last ones are kept
    messages: Annotated[tuple[Message, ...], BeforeValidator(partial(_items, last=True))] = ()
    retry_after_seconds: Hint = None

    @property
    def state(self) -> ConversationState:
        """``idle`` and ``failed`` are final; anything else is still going."""
        final = self.status in (ConversationState.IDLE, ConversationState.FAILED)
        return ConversationState(self.status) if final else ConversationState.PROCESSING

    @property
    def finished(self) -> bool:
        return self.state is not ConversationState.PROCESSING

    @property
    def answer(self) -> str | None:
        return next((m.content for m in reversed(self.messages) if m.role == "assistant"), None)


def conversation_state(conversation: Conversation | None) -> ConversationState:
    return ConversationState.UNAVAILABLE if conversation is None else conversation.state


# -- what a failing test's diagnosis reads (the events' payloads stay raw mappings)

T = TypeVar("T")


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _rate(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value <= 1 else None


LenientFlag = Annotated[bool, BeforeValidator(_flag)]


class Page(_Model, Generic[T]):
    items: Annotated[tuple[T, ...], Items] = ()
    has_next_page: LenientFlag = False


class Execution(_Model):
    agent_session_id: Identifier = ""  # all that is read of an execution


class SessionEvent(_Model):
    type: Word = ""
    payload: Annotated[Mapping[str, Any], BeforeValidator(lambda v: v if isinstance(v, Mapping) else {})] = (
        Field(default_factory=dict)
    )


class Artifact(_Model):
    type: Name = ""
    uri: Annotated[str, BeforeValidator(partial(_text, limit=2_000))] = ""  # any scheme: text unless http(s)
    description: Name = ""


class Flakiness(_Model):
    test_case_id: Identifier = ""
    flakiness_score: Annotated[float | None, BeforeValidator(_rate)] = None
    total_runs: Number = None
    failed_runs: Number = None
    is_quarantined: LenientFlag = False


class Observation(_Model):
    title: Name = ""


EventPage = Page[SessionEvent]
ArtifactPage = Page[Artifact]
FlakyTestCases = Page[Flakiness]  # a bare array, read as {"items": [...]}
ObservationPage = Page[Observation]
