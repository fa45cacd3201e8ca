"""What the step holds (the Certyn run, ``base-url``'s temporary environment) and the cleanup stack that releases
it: each resource decides from the verdict and its own switch to release it, keep it (and say so) or leave it
alone. :meth:`Held.release` runs every release, last acquired first, whatever an earlier one raised, within ONE
budget from the first signal, shared out (time left / releases left): a hanging cancel cannot starve the delete.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import ExitStack
from typing import TYPE_CHECKING, NamedTuple, Protocol

from .api.client import MIN_ATTEMPT_SECONDS, ApiError, CertynClient, EnvironmentsApi
from .clock import Clock, Deadline
from .gate import Cause, Result, Verdict
from .render import words
from .render.escape import collapsed, one_line, plural
from .report import CancelRequest, Findings, Report
from .runner.signals import SignalGuard
from .runner.workflow import WorkflowLog
from .settings import Settings

if TYPE_CHECKING:
    from .api.models import Created, Environment, RunStatus

RELEASE_BUDGET_SECONDS = 5.0  # the runner sends SIGTERM 7.5 s after SIGINT, then kills
_HEX_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")


class Journal(Protocol):
    """The step, as a stage tells it what it learns: only the step writes the report."""

    report: Report  # read only
    log: WorkflowLog
    env: Mapping[str, str]

    def created(self, created: Created) -> None: ...

    def seen(self, status: RunStatus) -> None: ...

    def note(self, text: str) -> None: ...

    def found(self, findings: Findings) -> None: ...


class Decision(NamedTuple):
    release: bool  # False: the switch keeps it
    switch: str  # the input that decided
    cause: str  # why it is released, in words for the log, the summary and Certyn


class Resource(Protocol):  # decide None: this ending leaves it alone
    def decide(self, verdict: Verdict) -> Decision | None: ...

    def release(self, cause: str, deadline: Deadline) -> None: ...

    def keep(self, switch: str) -> None: ...


class Held:
    def __init__(self, clock: Clock, guard: SignalGuard) -> None:
        self._clock, self._guard = clock, guard
        self.resources: list[Resource] = []

    def hold(self, resource: Resource) -> None:
        """``resource`` is being acquired: from now on every ending considers releasing it."""
        self.resources.append(resource)

    def release(self, verdict: Verdict) -> None:
        """What the last release raised propagates, earlier exceptions chained as its context."""
        deadline = Deadline.after(self._clock, RELEASE_BUDGET_SECONDS, since=self._guard.received_at)
        held, self.resources = self.resources, []
        decisions = [(resource, decision) for resource in held if (decision := resource.decide(verdict))]
        left = sum(decision.release for _, decision in decisions)

        def release(resource: Resource, cause: str) -> None:
            nonlocal left
            share = deadline.capped(max(0.0, deadline.left()) / max(left, 1))  # the last: all that is left
            left -= 1
            resource.release(cause, share)

        with ExitStack() as stack:
            for resource, decision in decisions:  # the stack runs them last acquired first
                if decision.release:
                    stack.callback(release, resource, decision.cause)
                else:
                    stack.callback(resource.keep, decision.switch)


class CertynRun:
    """The run this step created, was creating (an interrupted create's run is learnt first) or attached to."""

    def __init__(self, client: CertynClient, step: Journal, clock: Clock, inputs: Settings) -> None:
        self.client, self.step, self.clock, self.inputs = client, step, clock, inputs
        self.cancel: CancelRequest | None = None  # the cancel this step asked for, and Certyn's answer

    def decide(self, verdict: Verdict) -> Decision | None:
        report, cause = self.step.report, verdict.cause
        if verdict.result is Result.TIMED_OUT:
            return Decision(self.inputs.cancel_on_timeout, "cancel-on-timeout", words.CANCEL_TIMED_OUT)
        if verdict.result is Result.CANCELLED:
            return Decision(self.inputs.cancel_on_job_cancel, "cancel-on-job-cancel", words.CANCEL_JOB)
        if verdict.result is not Result.ERROR or cause is Cause.KEY_REJECTED:
            return None
        if cause is Cause.RUN_NOT_FOUND and report.created is None and report.status is None:
            return None  # an attached run that does not exist
        why = words.CANCEL_BUG if cause is Cause.INTERNAL_ERROR else words.CANCEL_API_ERROR
        return Decision(self.inputs.cancel_on_timeout, "cancel-on-timeout", why)

    def release(self, cause: str, deadline: Deadline) -> None:
        report, log = self.step.report, self.step.log
        if report.created is None:
            recovered = self.client.recover_create(deadline)
            if recovered is not None:
                self.step.created(recovered)
            elif self.client.create_may_have_made_a_run:
                orphan = words.orphan(self.inputs.idempotency_key)
                log.info(orphan)
                self.step.note(orphan)
        run_id = report.run_id
        if not run_id:
            return
        reason = self.inputs.cancel_reason or words.cancel_reason(cause, self.inputs.metadata.run_url)
        log.info(words.CANCELLING.format(run_id=one_line(run_id, 80), cause=cause))
        try:
            outcome = self.client.cancel(run_id, reason, deadline)
        except ApiError as err:
            tries = words.TRIES.format(attempts=plural(err.attempts, "attempt")) if err.attempts > 1 else ""
            self.cancel = CancelRequest(cause, accepted=False, outcome=tries + err.last)
            failed = words.cancel_note(self.cancel)
            log.info(one_line(failed, 800) + words.run_link(report.app_url))
            return
        log.info(words.CANCEL_ANSWERED.format(outcome=one_line(outcome, 300)))
        self.cancel = CancelRequest(cause, accepted=True, outcome=outcome)
        # the state after the cancel, when one was shown and the budget leaves time: `state` is Certyn's latest
        if report.status is None or deadline.left() < MIN_ATTEMPT_SECONDS:
            return
        try:
            status = self.client.status(run_id, deadline)
        except ApiError:
            return
        self.step.seen(status)
        self.cancel = self.cancel._replace(read_after=True)

    def keep(self, switch: str) -> None:
        if self.step.report.created is None:  # interrupted while the create's answer was being read
            answered = self.client.answered_create()  # sends nothing: the run is kept
            if answered is not None:
                self.step.created(answered)
        if self.step.report.run_id:
            self.step.note(words.LEFT_RUNNING.format(switch=switch))


def environment_body(settings: Settings) -> dict[str, str]:
    """The create body of ``base-url``'s environment; its version: the short commit (7 hex digits, lower case;
    a ``commit-sha`` that is not a SHA is kept, cut to 40)."""
    commit = collapsed(settings.metadata.commit_sha)
    version = commit[:7].lower() if _HEX_SHA.match(commit) else commit[:40]
    key, label = settings.temporary_environment_key, settings.temporary_environment_label
    body = {"key": key, "label": label, "baseUrl": settings.base_url}
    return body | {"version": version} if version else body


class TemporaryEnvironment:
    """``base-url``'s environment, held from before its create is sent, deleted on every ending unless
    ``keep-environment``. An interrupted create may have made it: the release looks its (unique) key up."""

    def __init__(
        self, client: CertynClient, step: Journal, body: Mapping[str, str], keep: bool = False
    ) -> None:
        self.api, self.step, self.body, self.keep_it = EnvironmentsApi(client), step, body, keep
        self.api.key = body["key"]
        self.environment: Environment | None = None
        self.refused = False  # the server answered the create with a refusal: none was made
        self.variables: tuple[str, ...] = ()  # the names preview.py set: a kept one keeps them

    @property
    def key(self) -> str:  # another one when its own was taken
        return self.api.key

    def create(self, deadline: Deadline) -> Environment:
        try:
            self.environment = self.api.create(self.body, deadline)
        except ApiError as err:
            refusal = err.status is not None and 400 <= err.status < 500 and err.status not in (408, 429)
            # no earlier attempt may have made it
            self.refused = refusal and not (self.api.creating is not None and self.api.creating.may_have_made)
            raise
        if self.api.taken_key:
            message = words.ENVIRONMENT_KEY_TAKEN_NOTE.format(
                taken=one_line(self.api.taken_key, 80), used=one_line(self.key, 80)
            )
            self.step.log.warning(message, title=words.ENVIRONMENT_KEY_TAKEN)
            self.step.note(message)
        return self.environment

    def decide(self, verdict: Verdict) -> Decision:
        ended = words.step_ended(verdict)
        return Decision(not self.keep_it, "keep-environment", words.STEP_ENDED.format(ended=ended))

    def release(self, cause: str, deadline: Deadline) -> None:
        log, key = self.step.log, one_line(self.key, 80)
        environment = self.environment
        try:
            if environment is None and self.api.create_sent and not self.refused:
                # an interrupted create: its answer, when one came; else looked up by its key
                environment = self.api.answered(deadline) or self.api.find(self.key, deadline)
            if environment is None:
                return
            log.info(words.DELETING_ENVIRONMENT.format(key=key, cause=cause))
            outcome = self.api.delete(environment.id, deadline)
        except ApiError as err:
            why = one_line(err.message, 300)
            message = (
                words.ENVIRONMENT_NOT_DELETED_NOTE.format(key=key, why=why)
                if environment is not None
                else words.environment_may_exist(self.key, why)  # it could not even be looked up
            )
            log.warning(message, title=words.ENVIRONMENT_NOT_DELETED)
            self.step.note(message)
            return
        log.info(words.ENVIRONMENT_OUTCOME.format(key=key, outcome=outcome))
        self.step.note(words.environment_deleted(self.key, outcome))

    def discard(self, cause: str, deadline: Deadline) -> None:
        """Deleted now, whatever ``keep-environment`` says (a variable was not set): nothing left to release."""
        self.release(cause, deadline)
        self.environment, self.refused = None, True

    def keep(self, switch: str) -> None:
        if self.environment is not None:  # the note says its variables stay with it
            message = words.environment_kept(self.key, switch, self.variables)
            self.step.log.info(message)
            self.step.note(message)
