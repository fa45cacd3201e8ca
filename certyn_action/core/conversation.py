"""Certyn's AI conversation (``GET /api/assistant/conversations/{id}``) and the state it reports. Pure."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator

from .fields import MAX_ANSWER, Word, _hint, _items, _Model, _text


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
        return _items(value, last=True)  # the answer is the last assistant message

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
