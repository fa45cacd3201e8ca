"""Everything known about this step so far, the source of the outputs and of the job summary (pure); with
:class:`Findings`, what Certyn said after the run ended (best effort: it never changes the verdict)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from .api.vocabulary import COUNTERS, run_path
from .gate import Result, Verdict
from .render.escape import visible
from .settings import Settings

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .api.models import Conversation, Created, ProcessRun, RunStatus
    from .diagnosis import Diagnosis

T = TypeVar("T", bound="BaseModel")


# The outputs known once the run is created or attached, written at once.
AFTER_CREATE = frozenset({"run-id", "status-url", "app-url", "test-case-count", "idempotency-replayed"})
AFTER_CREATE |= {"conversation-id", "environment-key"}
STOPPED_UNEXPECTEDLY = Verdict(Result.ERROR, ("the action stopped unexpectedly",))


@dataclass
class Findings:
    asked: bool = False  # the run ended and an instruction was sent: the answer is reported
    conversation: Conversation | None = None  # the last read, None when it could not be read
    conversation_note: str = ""  # why the answer could not be read
    waited: float = 0.0  # how long the step waited for the answer (seconds)
    results: ProcessRun | None = None
    results_note: str = ""  # why the per-test results are missing
    contradictions: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)  # the JUnit report, said in the summary
    expected_failing: int = 0  # failed + blocked + aborted, from the status counts
    diagnosis: Diagnosis | None = None  # why each failing test failed

    def failed_tests(self) -> str:
        """A JSON array of names; "" when unknown: no rows, or fewer failing rows than the status counts."""
        if self.results is None or not self.results.items:
            return ""
        from .api.models import failed_test_names, failed_tests_output  # noqa: PLC0415 - after the run

        if len(failed_test_names(self.results.items)) < self.expected_failing:
            return ""
        return failed_tests_output(self.results.items)

    def outputs(self, conversation_id: str = "") -> dict[str, str]:
        """The outputs; the answer is text for people: its bidirectional and invisible characters neutralised."""
        state = answer = ""
        if self.asked:  # "unavailable" is ConversationState.UNAVAILABLE, named without importing pydantic
            state = str(self.conversation.state) if self.conversation is not None else "unavailable"
            answer = visible(self.conversation.answer or "") if self.conversation is not None else ""
        return {
            "failed-tests": self.failed_tests(),
            "conversation-id": conversation_id,
            "conversation-state": state,
            "conversation-response": answer,
            "failures": self.diagnosis.failures_output() if self.diagnosis is not None else "",
        }

    def redacted(self, redact: Callable[[str], str]) -> Findings:
        conversation = self.conversation
        if conversation is not None and conversation.answer is not None:
            from .api.models import Message  # noqa: PLC0415

            messages = (Message(role="assistant", content=redact(conversation.answer)),)
            conversation = conversation.model_copy(update={"messages": messages})
        return replace(
            self,
            conversation=conversation,
            conversation_note=redact(self.conversation_note),
            results_note=redact(self.results_note),
            notes=[redact(note) for note in self.notes],
        )


class CancelRequest(NamedTuple):
    """The cancel this step asked for; ``outcome``: Certyn's answer in words, or why the cancel failed."""

    cause: str
    accepted: bool
    outcome: str
    read_after: bool = False  # the state shown was read after it (else Certyn's last word from before)


@dataclass
class Report:
    inputs: Settings | None = None
    created: Created | None = None
    status: RunStatus | None = None
    verdict: Verdict = STOPPED_UNEXPECTEDLY
    notes: list[str] = field(default_factory=list)
    duration: float = 0.0
    cancel: CancelRequest | None = None
    attached_run_id: str = ""  # `run-id`: the existing run this step attached to (no create)
    temporary_environment: str = ""  # `base-url`: its temporary environment's key
    findings: Findings = field(default_factory=Findings)  # per-test results and the AI answer

    @property
    def conversation_id(self) -> str:
        """The AI conversation the create started, read only when an instruction was sent."""
        if self.created is None or self.inputs is None or not self.inputs.instruction:
            return ""
        return self.created.run.conversation_id

    @property
    def run_id(self) -> str:
        return self.created.run.run_id if self.created else self.attached_run_id

    @property
    def environment_key(self) -> str:
        """The environment the run used: the temporary one, else `environment-key` as given."""
        return self.temporary_environment or (self.inputs.environment_key if self.inputs else "")

    @property
    def app_url(self) -> str:
        if self.status is not None and self.status.app_url:
            return self.status.app_url
        return self.created.run.app_url if self.created else ""

    @property
    def other_commit(self) -> str:
        """The commit the created run reports testing when it is not the one this step sent, else "" (a fixed
        ``idempotency-key`` reused on a new commit replays the old run; the derived key never does)."""
        if self.created is None or self.status is None or self.inputs is None:
            return ""
        theirs, ours = self.status.commit_sha.strip().lower(), self.inputs.metadata.commit_sha.strip().lower()
        same = not (theirs and ours) or theirs.startswith(ours) or ours.startswith(theirs)  # a short SHA too
        return "" if same else self.status.commit_sha

    @property
    def status_url(self) -> str:
        # from the configured API base, never the server: a later step that sends the key there stays there
        if not (self.run_id and self.inputs):
            return ""
        return self.inputs.api_url + run_path(self.run_id)

    def redacted(self, redact: Callable[[str], str]) -> Report:
        """A copy whose server-supplied and error text went through ``redact``."""

        def clean(model: T) -> T:
            texts = {name: redact(value) for name, value in dict(model).items() if isinstance(value, str)}
            return model.model_copy(update=texts)

        created = self.created._replace(run=clean(self.created.run)) if self.created else None
        return replace(
            self,
            created=created,
            status=clean(self.status) if self.status is not None else None,
            verdict=replace(
                self.verdict,
                reasons=tuple(redact(r) for r in self.verdict.reasons),
                waived=tuple(redact(w) for w in self.verdict.waived),
            ),
            notes=[redact(note) for note in self.notes],
            findings=self.findings.redacted(redact),
        )

    def outputs(self) -> dict[str, str]:
        values = {
            "result": self.verdict.result.value,
            "run-id": self.run_id,
            "status-url": self.status_url,
            "app-url": self.app_url,
            "test-case-count": "",
            "idempotency-replayed": "true" if self.created and self.created.replayed else "false",
            # Server text for people: shown neutralised. The other outputs are data, kept exact.
            "state": visible(self.status.state) if self.status else "",
            "conclusion": visible(self.status.conclusion) if self.status else "",
            "environment-key": self.environment_key,
        }
        if self.created and self.created.run.test_case_count is not None:
            values["test-case-count"] = str(self.created.run.test_case_count)
        counts = {name: str(getattr(self.status, name)) if self.status else "" for name in COUNTERS}
        return values | counts | self.findings.outputs(self.conversation_id)

    def outputs_after_create(self) -> dict[str, str]:
        return {name: value for name, value in self.outputs().items() if name in AFTER_CREATE}
