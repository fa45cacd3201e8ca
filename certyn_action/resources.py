"""What the step holds, as resources of the lifecycle (``lifecycle.py``): each knows how to release itself
and how to say it was kept. The Certyn run, and the temporary environment of ``base-url``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .api.client import ApiError, CertynClient, EnvironmentsApi
from .clock import Clock
from .core.endings import ENVIRONMENT, RUN, Rule
from .core.report import CancelRequest
from .github.reporter import Reporter
from .render import words
from .render.escape import one_line, plural

if TYPE_CHECKING:
    from .api.models import Environment

READ_AGAIN_MIN_SECONDS = 1.0  # of the release budget: less than this left, the state is not read again


class CertynRun:
    """The Certyn run this step created, or was creating: released by cancelling it, after learning the run
    an interrupted create made; kept with a note in the summary."""

    name = RUN

    def __init__(self, client: CertynClient, reporter: Reporter, clock: Clock) -> None:
        self.client, self.reporter, self.clock = client, reporter, clock

    def release(self, cause: str, deadline: float) -> None:
        report, log = self.reporter.report, self.reporter.log
        if report.created is None:
            recovered = self.client.recover_create(deadline)
            if recovered is not None:
                self.reporter.created(recovered)
            elif self.client.create_may_have_made_a_run:
                orphan = words.orphan("could not learn, so could not cancel", report.idempotency_key)
                log.info(orphan)
                self.reporter.note(orphan)
        run_id, inputs = report.run_id, report.inputs
        if not run_id or inputs is None:
            return
        meta = report.metadata
        reason = inputs.cancel_reason or words.cancel_reason(cause, meta.run_url if meta else "")
        log.info(f"Cancelling Certyn run {one_line(run_id, 80)}: {cause}")
        try:
            outcome = self.client.cancel(run_id, reason, deadline)
        except ApiError as err:
            tries = f"{plural(err.attempts, 'attempt')}, the last: " if err.attempts > 1 else ""
            report.cancel = CancelRequest(cause, accepted=False, outcome=tries + err.last)
            failed = words.cancel_failed(cause, report.cancel.outcome)
            where = f" {one_line(report.app_url, 500)}" if report.app_url else ""
            log.info(one_line(failed, 800) + where)
            return
        log.info(f"Certyn answered the cancel: {one_line(outcome, 300)}")
        report.cancel = CancelRequest(cause, accepted=True, outcome=outcome)
        if report.status is not None and self._read_again(run_id, deadline):  # else no state was shown
            report.cancel = report.cancel._replace(read_after=True)

    def _read_again(self, run_id: str, deadline: float) -> bool:
        """Certyn's state after the cancel, when the budget leaves time for one read: the ``state`` output
        stays Certyn's own word, and the latest one."""
        if deadline - self.clock.monotonic() < READ_AGAIN_MIN_SECONDS:
            return False
        try:
            status = self.client.status(run_id, deadline)
        except ApiError:
            return False
        self.reporter.seen(status)
        return True

    def keep(self, rule: Rule) -> None:
        if self.reporter.report.created is None:  # interrupted while the create's answer was being read
            answered = self.client.answered_create()  # sends nothing: the run is kept
            if answered is not None:
                self.reporter.created(answered)
        if self.reporter.report.run_id:
            self.reporter.note(words.left_running(rule.switch))


class TemporaryEnvironment:
    """The temporary Certyn environment of ``base-url``: created by :meth:`create` (held from before the
    create is sent), released by deleting it; kept, and said so, under ``keep-environment: true``.

    A create that was interrupted, or got no answer, may still have made it: its key is unique to this step,
    so the release looks it up by key and deletes what it finds, or says one may exist when it cannot look.
    A create the server refused at every attempt made nothing. A 409 for an environment this step did not
    create (another ``baseUrl`` or label) moves the create to another key: the other is never used nor deleted.
    """

    name = ENVIRONMENT

    def __init__(self, client: CertynClient, reporter: Reporter, body: Mapping[str, str]) -> None:
        self.api, self.reporter, self.body = EnvironmentsApi(client), reporter, body
        self.api.key = body["key"]
        self.environment: Environment | None = None
        self.refused = False  # the server answered the create with a refusal: none was made

    @property
    def key(self) -> str:
        """The key of the environment this step creates (another one when its own was taken)."""
        return self.api.key

    def create(self, deadline: float) -> Environment:
        try:
            self.environment = self.api.create(self.body, deadline)
        except ApiError as err:
            refusal = err.status is not None and 400 <= err.status < 500 and err.status not in (408, 429)
            # no earlier attempt may have made it
            self.refused = refusal and not (self.api.creating is not None and self.api.creating.may_have_made)
            raise
        if self.api.taken_key:
            message = (
                f"The environment key `{one_line(self.api.taken_key, 80)}` is taken by an environment this step "
                f"did not create (another base URL or label): created `{one_line(self.key, 80)}` instead and "
                "left the other alone."
            )
            self.reporter.log.warning(message, title="Certyn environment key taken")
            self.reporter.note(message)
        self.reporter.report.temporary_environment = self.key  # its outputs: Reporter.environment()
        return self.environment

    def release(self, cause: str, deadline: float) -> None:
        log = self.reporter.log
        shown = f"`{one_line(self.key, 80)}`"
        environment = self.environment
        try:
            if environment is None and self.api.create_sent and not self.refused:
                environment = self.api.find(self.key, deadline)  # an interrupted create
            if environment is None:
                return
            log.info(f"Deleting the temporary Certyn environment {shown} ({cause})")
            outcome = self.api.delete(environment.id, deadline)
        except ApiError as err:
            why = one_line(err.message, 300)
            message = (
                f"Could not delete the temporary Certyn environment {shown}: {why}. Delete it in Certyn (Environments)."
                if environment is not None
                else words.environment_may_exist(self.key, why)  # it could not even be looked up
            )
            log.warning(message, title=words.ENVIRONMENT_NOT_DELETED)
            self.reporter.note(message)
            return
        log.info(f"Temporary Certyn environment {shown}: {outcome}")
        self.reporter.note(words.environment_deleted(self.key, outcome))

    def keep(self, rule: Rule) -> None:
        if self.environment is not None:
            message = words.environment_kept(self.key, rule.switch)
            self.reporter.log.info(message)
            self.reporter.note(message)
