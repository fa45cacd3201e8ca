"""The API's responses as pydantic models, tolerant the way a gate must be.

Unknown fields are ignored, missing or null counters are 0 (``absent`` records which, so the gate can
refuse to pass a run whose ``failed`` or ``blocked`` was not reported), unknown states are kept as text
(the waiter keeps polling). A counter that is present but not a number is an invalid response, never a silent 0:
treating garbage as "0 failed" could pass a build that should fail.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..render.escape import encodable, safe_url, truncate
from .fields import Identifier
from .vocabulary import COUNTERS, MAX_RUN_ID, TERMINAL_STATES

MAX_TEXT = 200

__all__ = ["COUNTERS", "TERMINAL_STATES", "CreatedRun", "RunStatus", "ValidationError"]


def _counter(value: Any) -> Any:
    if value is None:
        return 0
    if isinstance(value, bool | str):  # "0_0", " 0 " or "0.0" would read as 0: text proves no count
        raise ValueError("a counter must be a number")  # noqa: TRY004 - pydantic wants ValueError
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _text(value: Any) -> Any:
    """Informational text: anything unusable (null, an object) is "", never an invalid response.

    Cut to ``MAX_TEXT``: it goes into outputs (the runner allows 1 MiB for all of a job's outputs) and
    log lines, and nobody needs a 900 KB state."""
    if isinstance(value, str):
        return truncate(encodable(value), MAX_TEXT)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _url(value: Any) -> Any:
    """A link for people (``appUrl``): an http(s) URL of sane length, or "" (never a cut, broken link)."""
    text = encodable(value).strip() if isinstance(value, str) else ""
    return text if safe_url(text) is not None else ""


def _optional_count(value: Any) -> Any:
    """Informational count (``testCaseCount``): unusable means unknown (None)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None  # JSON's 1e999 reads as infinity, and int() of it raises OverflowError, not ValueError
    if value < 0 or value != int(value):
        return None
    return int(value)


def _run_id(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip(".") == "":
        # "." or "..": escaped or not, the URL would be normalised to another endpoint (/api/ci/cancel)
        raise ValueError("a run id cannot be made of dots only")
    return encodable(value) if isinstance(value, str) else value


Counter = Annotated[int, BeforeValidator(_counter), Field(ge=0)]
Text = Annotated[str, BeforeValidator(_text)]
Url = Annotated[str, BeforeValidator(_url)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class CreatedRun(_Model):
    """Only ``runId`` must be right; the rest is shown, never relied on, so it can never fail the create."""

    run_id: Annotated[
        str, BeforeValidator(_run_id), Field(alias="runId", min_length=1, max_length=MAX_RUN_ID)
    ]
    app_url: Url = Field(default="", alias="appUrl")
    test_case_count: Annotated[int | None, BeforeValidator(_optional_count)] = Field(
        default=None, alias="testCaseCount"
    )
    # Sent only with an `instruction`; "" when absent or unusable (then the answer is simply not read).
    conversation_id: Identifier = Field(default="", alias="conversationId")


class RunStatus(_Model):
    state: Text = ""
    conclusion: Text = ""
    total: Counter = 0
    passed: Counter = 0
    failed: Counter = 0
    blocked: Counter = 0
    pending: Counter = 0
    aborted: Counter = 0
    skipped: Counter = 0
    app_url: Url = Field(default="", alias="appUrl")
    commit_sha: Text = Field(default="", alias="commitSha")  # the commit the run tests (a replay: not ours)
    started_at: Text = Field(default="", validation_alias=AliasChoices("startedAt", "started_at"))
    completed_at: Text = Field(default="", validation_alias=AliasChoices("completedAt", "completed_at"))
    retry_after_seconds: float | None = Field(default=None, alias="retryAfterSeconds")
    # Counters the server left out or sent as null (read as 0 above): set from the body, never by it.
    absent: frozenset[str] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _note_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            absent = frozenset(name for name in COUNTERS if data.get(name) is None)
            data = {**{k: v for k, v in data.items() if k != "absent"}, "absent": absent}
        return data

    @field_validator("state", mode="after")
    @classmethod
    def _normalise_state(cls, value: str) -> str:
        state = value.strip().lower().replace("-", "_").replace(" ", "_")
        return "cancelled" if state == "canceled" else state

    @field_validator("retry_after_seconds", mode="before")
    @classmethod
    def _lenient_hint(cls, value: Any) -> Any:
        # Only a hint: anything unusable means "no hint", never an invalid response.
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return number if math.isfinite(number) and 0 <= number < 1e9 else None

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTERS}
