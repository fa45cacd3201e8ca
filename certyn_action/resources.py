"""What the step holds, as resources of the lifecycle (``lifecycle.py``): each knows how to release itself
and how to say it was kept. Today the Certyn run; next a temporary environment."""

from __future__ import annotations

from .certyn.client import CertynClient
from .certyn.errors import ApiError
from .core import wording
from .core.endings import RUN, Rule
from .core.text import one_line
from .github.reporter import Reporter


class CertynRun:
    """The Certyn run this step created, or was creating: released by cancelling it, after learning the run
    an interrupted create made; kept with a note in the summary."""

    name = RUN

    def __init__(self, client: CertynClient, reporter: Reporter) -> None:
        self.client, self.reporter = client, reporter

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
            outcome = f"cancel failed: {err.message}"
        log.info(f"Certyn run {one_line(run_id, 80)}: {one_line(outcome, 300)}")
        self.reporter.note(wording.cancel_requested(cause, outcome))

    def keep(self, rule: Rule) -> None:
        if self.reporter.report.created is None:  # interrupted while the create's answer was being read
            answered = self.client.answered_create()  # sends nothing: the run is kept
            if answered is not None:
                self.reporter.created(answered)
        if self.reporter.report.run_id:
            self.reporter.note(wording.left_running(rule.switch))
