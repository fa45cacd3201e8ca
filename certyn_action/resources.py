"""What the step holds, as resources of the lifecycle (``lifecycle.py``): each knows how to release itself
and how to say it was kept. Today the Certyn run; next a temporary environment."""

from __future__ import annotations

from .certyn.client import CertynClient
from .certyn.errors import ApiError
from .clock import Clock
from .core import wording
from .core.endings import RUN, Rule
from .core.report import CancelRequest
from .core.text import one_line
from .github.reporter import Reporter

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
                orphan = wording.orphan("could not learn, so could not cancel", report.idempotency_key)
                log.info(orphan)
                self.reporter.note(orphan)
        run_id, inputs = report.run_id, report.inputs
        if not run_id or inputs is None:
            return
        meta = report.metadata
        reason = inputs.cancel_reason or wording.cancel_reason(cause, meta.run_url if meta else "")
        log.info(f"Cancelling Certyn run {one_line(run_id, 80)}: {cause}")
        try:
            outcome = self.client.cancel(run_id, reason, deadline)
        except ApiError as err:
            tries = f"{err.attempts} attempts, the last: " if err.attempts > 1 else ""
            report.cancel = CancelRequest(cause, accepted=False, outcome=tries + err.last)
            failed = wording.cancel_failed(cause, report.cancel.outcome)
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
        if self.reporter.report.run_id:
            self.reporter.note(wording.left_running(rule.switch))
