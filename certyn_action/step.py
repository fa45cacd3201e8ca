"""One execution of the action, as a short pipeline: read the settings, acquire the run, wait, gate, report.

Whatever happens, the step ends through :meth:`Step.run`'s ``finally``: the lifecycle releases what is held
(``lifecycle.py``, ``core/endings.py``), then the outputs, the summary and the verdict are written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from .certyn.client import CertynClient
from .certyn.errors import ApiError, AuthError, DeadlineExceeded, NotFound, TimedOut
from .certyn.http import Transport
from .clock import Clock
from .core import messages, wording
from .core.api import Created, create_body
from .core.context import GitHubContext, RunMetadata, derive_metadata, missing_key_hint
from .core.endings import RUN, Ending, Rule
from .core.gate import Result, Verdict, evaluate
from .core.idempotency import derive_key
from .core.inputs import InputErrors, Inputs, read_inputs
from .core.report import Report
from .core.text import format_duration, one_line
from .github.files import EventPayloadError, OutputFile, SummaryFile, read_event_payload
from .github.signals import CancelRequested, SignalGuard
from .github.workflow import WorkflowLog
from .lifecycle import Lifecycle

if TYPE_CHECKING:
    from .core.models import RunStatus

TransportFactory = Callable[[Inputs, Mapping[str, str], WorkflowLog], Transport]


class Settings(NamedTuple):
    """What the step was asked to do, read and checked before anything is sent."""

    inputs: Inputs
    metadata: RunMetadata
    idempotency_key: str


def switches(inputs: Inputs) -> dict[str, bool]:
    """The inputs that decide what an ending releases (see ``core/endings.py``), by name."""
    return {
        "cancel-on-timeout": inputs.cancel_on_timeout,
        "cancel-on-job-cancel": inputs.cancel_on_job_cancel,
    }


class Step:
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
        self.lifecycle = Lifecycle(clock, guard)
        self.outputs = OutputFile(env.get("GITHUB_OUTPUT"))
        self.summary = SummaryFile(env.get("GITHUB_STEP_SUMMARY"))

    def run(self) -> int:
        ending = Ending.INTERNAL_ERROR
        try:
            ending = self._pipeline()
        except CancelRequested as cancel:
            ending = self._cancelled(cancel.signal_name)
        except Exception as err:
            self._internal_error(err)
        finally:
            inputs = self.report.inputs
            try:
                if inputs is not None:
                    self.lifecycle.end(ending, switches(inputs))
            except Exception as err:  # a bug while releasing: still report, never lose the verdict
                self._internal_error(err)
            self._finish()
        return 0 if self.report.verdict.result.succeeds else 1

    # -- the pipeline ------------------------------------------------------------------------------
    def _pipeline(self) -> Ending:
        settings = self._read_settings()
        if settings is None:
            return Ending.INPUT_ERROR
        inputs = settings.inputs
        deadline = self.started + inputs.timeout_seconds
        client = self._client(inputs)
        try:
            with self.guard.interruptible():
                self._acquire_run(client, settings, deadline)
                if not inputs.wait:
                    self.report.verdict = Verdict(Result.CREATED)
                    return Ending.CREATED
                status = self._wait(client, inputs, deadline)
        except TimedOut:
            return self._timed_out(inputs)
        except DeadlineExceeded as err:
            return self._timed_out(inputs, err.message)
        except ApiError as err:
            return self._api_error(err, client)
        self.report.verdict = evaluate(status, inputs.gate)
        return Ending.PASSED if self.report.verdict.result is Result.PASSED else Ending.FAILED

    def _read_settings(self) -> Settings | None:
        try:
            with self.guard.interruptible():  # reading is pure: a signal may end it at once
                try:
                    payload = read_event_payload(self.env.get("GITHUB_EVENT_PATH"))
                except EventPayloadError as err:
                    self.log.warning(str(err), title=wording.payload_not_used())
                    payload = {}
                ctx = GitHubContext.from_env(self.env, payload)
                inputs = read_inputs(self.env, missing_key_hint=missing_key_hint(ctx))
        except InputErrors as errors:
            for error in errors.errors:
                self.log.error(str(error), title=wording.invalid_input(error.name))
            self.report.verdict = Verdict(Result.ERROR, tuple(str(e) for e in errors.errors))
            return None
        for adjusted in inputs.adjustments:
            self.log.warning(str(adjusted), title=wording.adjusted_input(adjusted.name))
        meta = derive_metadata(ctx, inputs)
        key = inputs.idempotency_key or derive_key(ctx, inputs.job_index, inputs.check_run_id)
        self.report.inputs, self.report.metadata, self.report.idempotency_key = inputs, meta, key
        return Settings(inputs, meta, key)

    def _client(self, inputs: Inputs) -> CertynClient:
        def on_retry(operation: str, error: ApiError, delay: float, failures: int) -> None:
            self.log.info(
                f"{operation.capitalize()} attempt {failures}/{inputs.http_max_attempts} failed "
                f"({one_line(error.message, 300)}); retrying in {delay:.1f}s"
            )

        return CertynClient(
            self.factory(inputs, self.env, self.log),
            self.clock,
            request_timeout=inputs.request_timeout_seconds,
            max_attempts=inputs.http_max_attempts,
            project_slug=inputs.project_slug,
            on_retry=on_retry,
        )

    def _acquire_run(self, client: CertynClient, settings: Settings, deadline: float) -> None:
        """Create the run. It is held from before the create is sent: a create in flight is part of it."""
        body = create_body(settings.inputs, settings.metadata)
        with self.log.group("Creating Certyn run"):
            for line in messages.create_lines(settings.inputs, body, settings.idempotency_key):
                self.log.info(line)
        self.lifecycle.hold(CertynRun(self, client))
        created = client.create(body, settings.idempotency_key, deadline)
        with self.guard.deferred():  # outputs are written whole, then a pending signal is honoured
            self.created(created)

    def _wait(self, client: CertynClient, inputs: Inputs, deadline: float) -> RunStatus:
        with self.guard.deferred():  # not needed before the create: imported after it, whole
            from .certyn.waiter import PollSettings, wait_for_run  # noqa: PLC0415

        settings = PollSettings(
            inputs.poll_interval_seconds, inputs.max_poll_interval_seconds, deadline, self.started
        )
        return wait_for_run(client, self.report.run_id, settings, self.clock, self.log, self._seen)

    # -- what the step learns, reported at once -------------------------------------------------------
    def created(self, created: Created) -> None:
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

    def _seen(self, status: RunStatus) -> None:
        self.report.status = status
        with self.guard.deferred():  # state and counts as outputs at once, written whole
            self._write_outputs()

    # -- the endings other than the gate's ----------------------------------------------------------
    def _timed_out(self, inputs: Inputs, detail: str = "") -> Ending:
        last = self.report.status
        state = f" (last state: {one_line(last.state, 40)})" if last else ""
        reasons = [
            f"no final result within timeout-seconds ({format_duration(inputs.timeout_seconds)}){state}"
        ]
        self.report.verdict = Verdict(Result.TIMED_OUT, (*reasons, *([detail] if detail else [])))
        return Ending.TIMED_OUT

    def _cancelled(self, signal_name: str) -> Ending:
        self.log.info(f"Received {signal_name}: the job is being cancelled")
        self.report.verdict = Verdict(Result.CANCELLED, (f"the workflow job was cancelled ({signal_name})",))
        return Ending.JOB_CANCELLED

    def _api_error(self, err: ApiError, client: CertynClient) -> Ending:
        self.report.verdict = Verdict(Result.ERROR, (err.message,))
        title = wording.KEY_REJECTED if isinstance(err, AuthError) else wording.API_ERROR
        if isinstance(err, NotFound) and self.report.created is None:
            title = wording.NOT_FOUND_ON_CREATE
        where = self._where()
        if isinstance(err, AuthError) and client.create_may_have_made_a_run:
            orphan = wording.orphan("cannot cancel with a refused key", self.report.idempotency_key)
            self.note(orphan)
            where += " " + orphan
        self.log.error(err.message + where, title=title)
        return Ending.KEY_REJECTED if isinstance(err, AuthError) else Ending.API_ERROR

    def _internal_error(self, err: Exception) -> None:
        message = one_line(self.log.redact(f"{type(err).__name__}: {err}"), 500)
        self.report.verdict = Verdict(Result.ERROR, (f"internal error: {message}",))
        self.log.error(
            f"Internal error in the action: {message.rstrip('.')}.{self._where()}", title=wording.ACTION_ERROR
        )

    def _where(self) -> str:
        return f" Certyn run: {one_line(self.report.app_url, 500)}" if self.report.app_url else ""

    # -- every exit path -------------------------------------------------------------------------------
    def _finish(self) -> None:
        from .core.summary import render_summary  # noqa: PLC0415 - not needed before the create

        self.report.duration = self.clock.monotonic() - self.started
        self._write_outputs()
        try:
            self.summary.write(render_summary(self.report.redacted(self.log.redact)))
        except OSError as err:
            self.log.error(
                f"Could not write the job summary: {one_line(str(err), 300)}", title=wording.ACTION_ERROR
            )
        lines, annotation = messages.verdict(self.report)
        for line in lines:
            self.log.info(line)
        if annotation is not None:
            write = self.log.notice if annotation.kind == "notice" else self.log.error
            write(annotation.message, title=annotation.title)

    def _write_outputs(self, *, after_create: bool = False) -> None:
        """The outputs known so far (only the create's right after it). Server text may echo the key: redacted."""
        public = self.report.redacted(self.log.redact)
        try:
            self.outputs.write(public.outputs_after_create() if after_create else public.outputs())
        except OSError as err:  # never lose the verdict (exit code, log) over an unwritable file
            self.log.error(
                f"Could not write the step outputs: {one_line(str(err), 300)}", title=wording.ACTION_ERROR
            )

    def note(self, text: str) -> None:
        self.report.notes.append(text)


class CertynRun:
    """The Certyn run as a resource: released by cancelling it (after learning the run an interrupted create
    made), kept with a note in the summary."""

    name = RUN

    def __init__(self, step: Step, client: CertynClient) -> None:
        self.step, self.client = step, client

    def release(self, cause: str, deadline: float) -> None:
        step = self.step
        if step.report.created is None:
            recovered = self.client.recover_create(deadline)
            if recovered is not None:
                step.created(recovered)
            elif self.client.create_may_have_made_a_run:
                orphan = wording.orphan("could not learn, so could not cancel", step.report.idempotency_key)
                step.log.info(orphan)
                step.note(orphan)
        run_id, inputs = step.report.run_id, step.report.inputs
        if not run_id or inputs is None:
            return
        meta = step.report.metadata
        reason = inputs.cancel_reason or wording.cancel_reason(cause, meta.run_url if meta else "")
        step.log.info(f"Cancelling Certyn run {one_line(run_id, 80)}: {cause}")
        try:
            outcome = self.client.cancel(run_id, reason, deadline)
        except ApiError as err:
            outcome = f"cancel failed: {err.message}"
        step.log.info(f"Certyn run {one_line(run_id, 80)}: {one_line(outcome, 300)}")
        step.note(wording.cancel_requested(cause, outcome))

    def keep(self, rule: Rule) -> None:
        if self.step.report.run_id:
            self.step.note(wording.left_running(rule.switch))
