"""Wiring: the order of events, the outputs and summary on every exit path, and the exit code."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TextIO

from . import messages
from .api import Created, create_body
from .client import ApiError, AuthError, CertynClient, DeadlineExceeded, NotFound
from .clock import Clock, SystemClock, format_duration
from .context import GitHubContext, derive_metadata, missing_key_hint
from .files import EventPayloadError, OutputFile, SummaryFile, read_event_payload
from .gate import Result, Verdict, evaluate
from .http import Transport
from .idempotency import derive_key
from .inputs import InputErrors, Inputs, raw_input, read_inputs
from .report import Report
from .signals import CancelRequested, SignalGuard
from .summary import render_summary
from .text import one_line
from .waiter import PollSettings, TimedOut, wait_for_run
from .workflow import WorkflowLog

if TYPE_CHECKING:
    from .models import RunStatus

CANCEL_BUDGET_SECONDS = 5.0  # the runner sends SIGTERM 7.5 s after SIGINT, then kills

TransportFactory = Callable[[Inputs, Mapping[str, str], WorkflowLog], Transport]


def default_transport(inputs: Inputs, env: Mapping[str, str], log: WorkflowLog) -> Transport:
    return Transport(inputs.api_url, inputs.api_key, env=env, debug=log.debug)


def main(
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    clock: Clock | None = None,
    transport_factory: TransportFactory = default_transport,
    guard: SignalGuard | None = None,
) -> int:
    env = os.environ if env is None else env
    log = WorkflowLog(stdout or sys.stdout, debug=env.get("RUNNER_DEBUG") == "1")
    log.add_mask((raw_input(env, "api-key") or "").strip())  # before anything else is printed
    own_guard = guard is None
    guard = guard or SignalGuard()
    if own_guard:
        guard.install()
    try:
        step = Step(env, log, clock or SystemClock(), guard, transport_factory)
        return step.run()
    finally:
        if own_guard:
            guard.uninstall()


class Step:
    """One execution of the action."""

    def __init__(
        self,
        env: Mapping[str, str],
        log: WorkflowLog,
        clock: Clock,
        guard: SignalGuard,
        factory: TransportFactory,
    ) -> None:
        self.env, self.log, self.clock, self.guard, self.factory = env, log, clock, guard, factory
        self.started = clock.monotonic()
        self.report = Report()
        self.outputs = OutputFile(env.get("GITHUB_OUTPUT"))
        self.summary = SummaryFile(env.get("GITHUB_STEP_SUMMARY"))
        self.client: CertynClient | None = None  # set once the inputs are read

    def run(self) -> int:
        try:
            self._run()
        except CancelRequested as cancel:
            self._on_cancel(cancel.signal_name)
        except Exception as err:
            self._on_internal_error(err)
        finally:
            self._finish()
        return 0 if self.report.verdict.result.succeeds else 1

    # -- the happy path --------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            with self.guard.interruptible():  # reading is pure: a signal may end it at once
                try:
                    payload = read_event_payload(self.env.get("GITHUB_EVENT_PATH"))
                except EventPayloadError as err:
                    self.log.warning(str(err), title="Certyn: event payload not used")
                    payload = {}
                ctx = GitHubContext.from_env(self.env, payload)
                inputs = read_inputs(self.env, missing_key_hint=missing_key_hint(ctx))
        except InputErrors as errors:
            for error in errors.errors:
                self.log.error(str(error), title=f"Certyn: invalid input '{error.name}'")
            self.report.verdict = Verdict(Result.ERROR, tuple(str(e) for e in errors.errors))
            return
        for adjusted in inputs.adjustments:
            self.log.warning(str(adjusted), title=f"Certyn: input '{adjusted.name}' adjusted")
        meta = derive_metadata(ctx, inputs)
        key = inputs.idempotency_key or derive_key(ctx, inputs.job_index, inputs.check_run_id)
        self.report.inputs, self.report.metadata, self.report.idempotency_key = inputs, meta, key
        self.deadline = self.started + inputs.timeout_seconds
        self.client = client = CertynClient(
            self.factory(inputs, self.env, self.log),
            self.clock,
            request_timeout=inputs.request_timeout_seconds,
            max_attempts=inputs.http_max_attempts,
            project_slug=inputs.project_slug,
            on_retry=self._on_retry,
        )
        body = create_body(inputs, meta)
        with self.log.group("Creating Certyn run"):
            for line in messages.create_lines(inputs, body, key):
                self.log.info(line)
        try:
            with self.guard.interruptible():
                self._create(client, body, key)
                if not inputs.wait:
                    self.report.verdict = Verdict(Result.CREATED)
                    return
                status = wait_for_run(
                    client,
                    self.report.run_id,
                    PollSettings(
                        inputs.poll_interval_seconds,
                        inputs.max_poll_interval_seconds,
                        self.deadline,
                        self.started,
                    ),
                    self.clock,
                    self.log,
                    self._on_status,
                )
        except TimedOut:
            self._on_timeout(inputs)
            return
        except DeadlineExceeded as err:
            self._on_timeout(inputs, err.message)
            return
        except ApiError as err:
            self._on_api_error(err, inputs)
            return
        self.report.verdict = evaluate(status, inputs.gate)

    def _create(self, client: CertynClient, body: dict[str, object], key: str) -> None:
        created = client.create(body, key, self.deadline)
        with self.guard.deferred():  # outputs are written whole, then a pending signal is honoured
            self._on_created(created)

    def _on_created(self, created: Created) -> None:
        self.report.created = created
        self._write_outputs(after_create=True)
        run = created.run
        count = f" with {run.test_case_count} test cases" if run.test_case_count is not None else ""
        self.log.info(f"Created Certyn run {one_line(run.run_id, 80)}{count}")
        if run.app_url:
            self.log.info(f"Follow it in Certyn: {one_line(run.app_url, 500)}")
        if created.replayed:
            self.log.info(
                "The create was an idempotent replay: this step had already created this run "
                "(same Idempotency-Key), so it is reused rather than started twice."
            )

    def _on_status(self, status: RunStatus) -> None:
        self.report.status = status
        with self.guard.deferred():  # state and counts as outputs at once, written whole
            self._write_outputs()

    def _on_retry(self, operation: str, error: ApiError, delay: float, failures: int) -> None:
        inputs = self.report.inputs
        attempts = inputs.http_max_attempts if inputs else 0
        self.log.info(
            f"{operation.capitalize()} attempt {failures}/{attempts} failed ({one_line(error.message, 300)}); "
            f"retrying in {delay:.1f}s"
        )

    # -- the other endings -------------------------------------------------------------------------
    def _on_timeout(self, inputs: Inputs, detail: str = "") -> None:
        last = self.report.status
        state = f" (last state: {one_line(last.state, 40)})" if last else ""
        reasons = [
            f"no final result within timeout-seconds ({format_duration(inputs.timeout_seconds)}){state}"
        ]
        self.report.verdict = Verdict(Result.TIMED_OUT, (*reasons, *([detail] if detail else [])))
        self._stop("the action's timeout-seconds passed", "cancel-on-timeout", inputs.cancel_on_timeout)

    def _on_cancel(self, signal_name: str) -> None:
        self.log.info(f"Received {signal_name}: the job is being cancelled")
        self.report.verdict = Verdict(Result.CANCELLED, (f"the workflow job was cancelled ({signal_name})",))
        inputs = self.report.inputs
        if inputs is not None:
            self._stop(
                "the GitHub workflow job was cancelled", "cancel-on-job-cancel", inputs.cancel_on_job_cancel
            )

    def _on_api_error(self, err: ApiError, inputs: Inputs) -> None:
        self.report.verdict = Verdict(Result.ERROR, (err.message,))
        title = "Certyn API key rejected" if isinstance(err, AuthError) else "Certyn API error"
        if isinstance(err, NotFound) and self.report.created is None:
            title = "Certyn project or process not found"
        where = f" Certyn run: {one_line(self.report.app_url, 500)}" if self.report.app_url else ""
        if isinstance(err, AuthError) and self.client is not None and self.client.create_may_have_made_a_run:
            orphan = self._orphan_note("cannot cancel with a refused key")
            self.report.notes.append(orphan)
            where += " " + orphan
        self.log.error(err.message + where, title=title)
        if not isinstance(err, AuthError):  # a rejected key cannot cancel either
            self._stop(
                "the action stopped waiting after an API error", "cancel-on-timeout", inputs.cancel_on_timeout
            )

    def _on_internal_error(self, err: Exception) -> None:
        message = one_line(self.log.redact(f"{type(err).__name__}: {err}"), 500)
        self.report.verdict = Verdict(Result.ERROR, (f"internal error: {message}",))
        where = f" Certyn run: {one_line(self.report.app_url, 500)}" if self.report.app_url else ""
        self.log.error(
            f"Internal error in the action: {message.rstrip('.')}.{where}", title="Certyn action error"
        )
        inputs = self.report.inputs
        if inputs is not None:
            self._stop(
                "the action stopped after an internal error", "cancel-on-timeout", inputs.cancel_on_timeout
            )

    def _stop(self, cause: str, switch: str, enabled: bool) -> None:
        """We stop watching the run: find the run an interrupted create made, and cancel it (when enabled)."""
        if self.client is None:  # nothing was sent yet
            return
        if not enabled:
            if self.report.run_id:
                self.report.notes.append(f"The run was left running in Certyn ({switch} is false).")
            return
        budget = self._cancel_deadline()
        if self.report.created is None:
            recovered = self.client.recover_create(budget)
            if recovered is not None:
                self._on_created(recovered)
            elif self.client.create_may_have_made_a_run:
                orphan = self._orphan_note("could not learn, so could not cancel")
                self.log.info(orphan)
                self.report.notes.append(orphan)
        self._cancel(cause, budget)

    def _orphan_note(self, why: str) -> str:
        return (
            "An earlier create attempt got no answer, so a run may exist in Certyn that this step "
            f"{why}: look for Idempotency-Key `{self.report.idempotency_key}` in Certyn and cancel it there."
        )

    def _cancel_deadline(self) -> float:
        """CANCEL_BUDGET_SECONDS from the first signal if there was one (the runner's clock), else from now."""
        since_signal = (
            time.monotonic() - self.guard.received_at if self.guard.received_at is not None else 0.0
        )
        return self.clock.monotonic() + CANCEL_BUDGET_SECONDS - max(since_signal, 0.0)

    def _cancel(self, cause: str, budget: float) -> None:
        run_id = self.report.run_id
        if not run_id:
            return
        inputs = self.report.inputs
        assert inputs is not None  # noqa: S101 - a run exists only after inputs were read
        meta = self.report.metadata
        link = f" ({meta.run_url})" if meta and meta.run_url else ""
        reason = inputs.cancel_reason or f"Cancelled by GitHub Actions: {cause}{link}"
        self.log.info(f"Cancelling Certyn run {one_line(run_id, 80)}: {cause}")
        assert self.client is not None  # noqa: S101 - a run exists only after the client sent the create
        try:
            outcome = self.client.cancel(run_id, reason, budget)
        except ApiError as err:
            outcome = f"cancel failed: {err.message}"
        self.log.info(f"Certyn run {one_line(run_id, 80)}: {one_line(outcome, 300)}")
        self.report.notes.append(f"Cancel requested ({cause}): {outcome.rstrip('.')}.")

    # -- every exit path ---------------------------------------------------------------------------
    def _finish(self) -> None:
        report = self.report
        report.duration = self.clock.monotonic() - self.started
        self._write_outputs()
        try:
            self.summary.write(render_summary(report.redacted(self.log.redact)))
        except OSError as err:
            self.log.error(
                f"Could not write the job summary: {one_line(str(err), 300)}", title="Certyn action error"
            )
        self._log_verdict()

    def _write_outputs(self, *, after_create: bool = False) -> None:
        """The outputs known so far (only the create's right after it). Server text may echo the key: redacted."""
        public = self.report.redacted(self.log.redact)
        try:
            self.outputs.write(public.outputs_after_create() if after_create else public.outputs())
        except OSError as err:  # never lose the verdict (exit code, log) over an unwritable file
            self.log.error(
                f"Could not write the step outputs: {one_line(str(err), 300)}", title="Certyn action error"
            )

    def _log_verdict(self) -> None:
        lines, annotation = messages.verdict(self.report)
        for line in lines:
            self.log.info(line)
        if annotation is not None:
            write = self.log.notice if annotation.kind == "notice" else self.log.error
            write(annotation.message, title=annotation.title)
