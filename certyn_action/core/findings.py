"""What Certyn said about the run after it ended: its per-test results and the AI's answer to the
``instruction``. Part of the report (``report.py``): the source of the ``failed-tests`` and
``conversation-*`` outputs and of their summary section. Pure.

Best effort: none of it ever changes the verdict. pydantic is not imported here at run time (this module is
on the path to the first request); the models arrive only after the run ended.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .conversation import Conversation
    from .results import ProcessRun

RESULTS_OUTPUTS = ("failed-tests", "conversation-id", "conversation-state", "conversation-response")


@dataclass
class Findings:
    instruction: str = ""  # sent with the create ("" when none)
    conversation_id: str = ""  # from the create's answer
    asked: bool = False  # the run ended and an instruction was sent: the answer is reported
    conversation: Conversation | None = None  # the last read, None when it could not be read
    conversation_note: str = ""  # why the answer could not be read
    results: ProcessRun | None = None
    results_note: str = ""  # why the per-test results are missing
    contradictions: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)  # the JUnit report, said in the summary
    expected_failing: int = 0  # failed + blocked + aborted, from the status counts

    def failed_tests(self) -> str:
        """The ``failed-tests`` output: a JSON array of names, or "" when unknown.

        Unknown: no per-test results, results without rows, or rows that list fewer failing tests than
        the status counts (the list would be provably incomplete)."""
        if self.results is None or not self.results.items:
            return ""
        from .results import failed_test_names, failed_tests_output  # noqa: PLC0415 - after the run

        if len(failed_test_names(self.results.items)) < self.expected_failing:
            return ""
        return failed_tests_output(self.results.items)

    def outputs(self) -> dict[str, str]:
        state = answer = ""
        if self.asked:  # "unavailable" is ConversationState.UNAVAILABLE, named without importing pydantic
            state = str(self.conversation.state) if self.conversation is not None else "unavailable"
            answer = (self.conversation.answer or "") if self.conversation is not None else ""
        return {
            "failed-tests": self.failed_tests(),
            "conversation-id": self.conversation_id,
            "conversation-state": state,
            "conversation-response": answer,
        }

    def redacted(self, redact: Callable[[str], str]) -> Findings:
        conversation = self.conversation
        if conversation is not None and conversation.answer is not None:
            from .conversation import Message  # noqa: PLC0415

            messages = (Message(role="assistant", content=redact(conversation.answer)),)
            conversation = conversation.model_copy(update={"messages": messages})
        return replace(
            self,
            conversation=conversation,
            conversation_note=redact(self.conversation_note),
            results_note=redact(self.results_note),
            notes=[redact(note) for note in self.notes],
        )
