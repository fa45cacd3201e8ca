"""Tolerant field parsers shared by the models of the endpoints beyond the CI ones. Pure.

Projects overview, process run, assistant conversation: every field may be null, missing or of the wrong
type, so nothing here ever fails on a field; unusable values become "" or None. All text is untrusted
and cut to a sane length here; escaping for each destination is the renderers' job.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from ..render.escape import encodable, truncate

MAX_ID = 200
MAX_NAME = 500
MAX_WORD = 100
MAX_FINDING = 20_000
# The answer goes whole into the `conversation-response` output; the runner allows 1 MiB for all of a
# job's outputs, so a runaway answer is cut here (100,000 characters are at most 400 KB of UTF-8).
MAX_ANSWER = 100_000
# Tests of a run, messages of a conversation: more are cut before they are validated, so a huge answer
# costs neither time nor memory (each kept one becomes a model, an annotation, a JUnit test case).
MAX_ITEMS = 5_000

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


def _items(value: Any, last: bool = False) -> Any:
    """A list of objects, at most ``MAX_ITEMS`` (the first ones, or the ``last``); anything else is an empty
    list, and non-objects in it are left out."""
    if not isinstance(value, list | tuple):
        return ()
    entries = (entry for entry in (reversed(value) if last else value) if isinstance(entry, Mapping))
    kept = tuple(itertools.islice(entries, MAX_ITEMS))
    return kept[::-1] if last else kept


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
