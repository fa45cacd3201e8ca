"""AI conversations started by a run create with an ``instruction``: they answer ``processing`` for
a scenario-set number of polls (or forever), then ``idle`` with the answer, or ``failed``."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .payloads import Response, error, json_response
from .records import RunRecord
from .scenario import Scenario


@dataclass
class Conversation:
    conversation_id: str
    run_id: str
    instruction: str
    answer_after: int | None  # polls answered "processing" first; None: never answers
    final_status: str
    answer: str
    polls: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "conversationId": self.conversation_id,
            "runId": self.run_id,
            "instruction": self.instruction,
            "polls": self.polls,
        }


class Conversations:
    def __init__(self, lock: threading.RLock | threading.Condition) -> None:
        self._lock = lock
        self.by_id: dict[str, Conversation] = {}

    def clear(self) -> None:
        with self._lock:
            self.by_id.clear()

    def on_create(self, run: RunRecord, sc: Scenario) -> Mapping[str, Any]:
        """Start a conversation when the create body has an ``instruction``; the create answer's extra fields."""
        instruction = run.request.get("instruction") if isinstance(run.request, dict) else None
        if not isinstance(instruction, str) or not instruction.strip():
            return {}
        conv = Conversation(
            conversation_id=str(uuid.uuid4()),
            run_id=run.run_id,
            instruction=instruction,
            answer_after=sc.conversation_polls,
            final_status=sc.conversation_status,
            answer=sc.conversation_answer,
        )
        with self._lock:
            self.by_id[conv.conversation_id] = conv
            run.conversation_id = conv.conversation_id
        return {"conversationId": conv.conversation_id}

    def serve(self, conversation_id: str | None) -> Response:
        with self._lock:
            conv = self.by_id.get(conversation_id or "")
            if conv is None:
                return error(404, "Conversation not found.")
            conv.polls += 1
            done = conv.answer_after is not None and conv.polls > conv.answer_after
            messages: list[dict[str, str]] = [{"role": "user", "content": conv.instruction}]
            if not done:
                status = "processing"
            elif conv.final_status == "failed":
                status = "failed"
            else:
                status = "idle"
                messages.append({"role": "assistant", "content": conv.answer})
            return json_response(200, {"id": conv.conversation_id, "status": status, "messages": messages})
