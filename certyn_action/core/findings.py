"""What Certyn said about the run after it ended: its per-test results and the AI's answer to the
``instruction``. Part of the report (``report.py``): the source of the ``failed-tests`` and
``conversation-*`` outputs and of their summary section. Pure.

Best effort: none of it ever changes the verdict. pydantic is not imported here at run time (this module is
on the path to the first request); the models arrive only after the run ended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..render.escape import visible

if TYPE_CHECKING:
    from ..api.models import Conversation, ProcessRun
    from .diagnosis import Diagnosis

RESULTS_OUTPUTS = (
    "failed-tests",
    "conversation-id",
    "conversation-state",
    "conversation-response",
    "failures",
)


class Findings:
    """A plain class, not a dataclass: the report imports this module before the first request."""

    def __init__(
        self,
        *,
        instruction: str = "",
        conversation_id: str = "",
        asked: bool = False,
        conversation: Conversation | None = None,
        conversation_note: str = "",
        results: ProcessRun | None = None,
        results_note: str = "",
        contradictions: tuple[str, ...] = (),
        notes: list[str] | None = None,
        expected_failing: int = 0,
    ) -> None:
        self.instruction = instruction  # sent with the create ("" when none)
        self.conversation_id = conversation_id  # from the create's answer
        self.asked = asked  # the run ended and an instruction was sent: the answer is reported
        self.conversation = conversation  # the last read, None when it could not be read
        self.conversation_note = conversation_note  # why the answer could not be read
        self.results = results
        self.results_note = results_note  # why the per-test results are missing
        self.contradictions = contradictions
        self.notes = [] if notes is None else notes  # the JUnit report, said in the summary
        self.expected_failing = expected_failing  # failed + blocked + aborted, from the status counts
        self.diagnosis: Diagnosis | None = None  # diagnosis (issue 20): why each failing test failed

    def failed_tests(self) -> str:
        """The ``failed-tests`` output: a JSON array of names, or "" when unknown.

        Unknown: no per-test results, results without rows, or rows that list fewer failing tests than
        the status counts (the list would be provably incomplete)."""
        if self.results is None or not self.results.items:
            return ""
        from ..api.models import failed_test_names, failed_tests_output  # noqa: PLC0415 - after the run

        if len(failed_test_names(self.results.items)) < self.expected_failing:
            return ""
        return failed_tests_output(self.results.items)

    def outputs(self) -> dict[str, str]:
        """The outputs; the answer is text for people: its bidirectional and invisible characters neutralised."""
        state = answer = ""
        if self.asked:  # "unavailable" is ConversationState.UNAVAILABLE, named without importing pydantic
            state = str(self.conversation.state) if self.conversation is not None else "unavailable"
            answer = visible(self.conversation.answer or "") if self.conversation is not None else ""
        return {
            "failed-tests": self.failed_tests(),
            "conversation-id": self.conversation_id,
            "conversation-state": state,
            "conversation-response": answer,
            "failures": self.diagnosis.failures_output() if self.diagnosis is not None else "",  # issue 20
        }

    def redacted(self, redact: Callable[[str], str]) -> Findings:
        conversation = self.conversation
        if conversation is not None and conversation.answer is not None:
            from ..api.models import Message  # noqa: PLC0415

            messages = (Message(role="assistant", content=redact(conversation.answer)),)
            conversation = conversation.model_copy(update={"messages": messages})
        copy = Findings.__new__(Findings)
        copy.__dict__.update(vars(self))  # every other field as it is
        copy.conversation = conversation
        copy.conversation_note = redact(self.conversation_note)
        copy.results_note = redact(self.results_note)
        copy.notes = [redact(note) for note in self.notes]
        return copy
