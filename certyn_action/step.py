"""One execution of the action, as a short pipeline: read the settings, acquire the run, wait, gate, report.

Whatever happens, the step ends through :meth:`Step.run`'s ``finally``: the lifecycle releases what is held
(``lifecycle.py``, ``core/endings.py``), then the outputs, the summary and the verdict are written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .afterwards import Afterwards, not_read
from .api.client import ApiError, AuthError, CertynClient, DeadlineExceeded, NotFound, Outage, TimedOut
from .api.http import Transport
from .api.vocabulary import create_body
from .clock import Clock
from .core.endings import Ending, switches
from .core.gate import Cause, Result, Verdict, evaluate
from .github.files import EventPayloadError, read_event_payload
from .github.reporter import Reporter
from .github.signals import CancelRequested, SignalGuard
from .github.workflow import WorkflowLog
from .lifecycle import Lifecycle
from .publish import Publisher  # publish (issue 21)
from .render import words
from .render.escape import format_duration, one_line, plural
from .resources import CertynRun, TemporaryEnvironment
from .settings import InputErrors, Settings, read_settings, shown_base_url

if TYPE_CHECKING:
    from .api.models import RunStatus

TransportFactory = Callable[[Settings, Mapping[str, str], WorkflowLog], Transport]


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
        self.reporter = Reporter(env, log)
        self.report = self.reporter.report  # what the pipeline learns; the reporter writes it out
        self.lifecycle = Lifecycle(clock, guard)
        self.publisher = Publisher(env, log, clock, guard)  # publish (issue 21)

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
                    self._not_read(ending, inputs)
                    self.lifecycle.end(ending, switches(inputs))
            except Exception as err:  # a bug while releasing: still report, never lose the verdict
                self._internal_error(err)
            self.reporter.finish(self.clock.monotonic() - self.started)
            self.publisher.finish(self.report)  # publish (issue 21): after the cancel; never raises
        return 0 if self.report.verdict.result.succeeds else 1

    # -- the pipeline ------------------------------------------------------------------------------
    def _pipeline(self) -> Ending:  # noqa: PLR0911 - one return per way the step ends
        settings = self._read_settings()
        if settings is None:
            return Ending.INPUT_ERROR
        deadline = self.started + settings.timeout_seconds
        client = self._client(settings)
        try:
            with self.guard.interruptible():
                if not self._acquire(client, settings, deadline):
                    return Ending.DEPLOYMENT_DOWN
                self.publisher.started(self.report, deadline)  # publish (issue 21): check run
                if not settings.wait:
                    self.report.verdict = Verdict(Result.CREATED)
                    return Ending.CREATED
                status = self._wait(client, settings, deadline)
        except TimedOut as err:
            return self._timed_out(settings, err.outage)
        except DeadlineExceeded as err:
            return self._deadline_exceeded(settings, err)
        except ApiError as err:
            return self._api_error(err, client)
        self.report.verdict = evaluate(status, settings.gate)
        Afterwards(client, self.reporter, self.clock, self.guard, settings).run(status, deadline)
        return Ending.PASSED if self.report.verdict.result is Result.PASSED else Ending.FAILED

    def _read_settings(self) -> Settings | None:
        try:
            with self.guard.interruptible():  # reading is pure: a signal may end it at once
                try:
                    payload = read_event_payload(self.env.get("GITHUB_EVENT_PATH"))
                except EventPayloadError as err:
                    self.log.warning(str(err), title=words.PAYLOAD_NOT_USED)
                    payload = {}
                settings = read_settings(self.env, payload)
        except InputErrors as errors:
            for error in errors.errors:
                self.log.error(str(error), title=words.invalid_input(error.name))
            self.report.verdict = Verdict(
                Result.ERROR, tuple(str(e) for e in errors.errors), cause=Cause.INPUT_ERROR
            )
            return None
        for adjusted in settings.adjustments:
            self.log.warning(str(adjusted), title=words.adjusted_input(adjusted.name))
        self.report.inputs, self.report.metadata = settings, settings.metadata
        self.report.idempotency_key = settings.idempotency_key
        self.report.findings.instruction = settings.instruction
        return settings

    def _client(self, inputs: Settings) -> CertynClient:
        def on_retry(operation: str, error: ApiError, delay: float, failures: int) -> None:
            self.log.info(
                words.retry_line(operation, failures, inputs.http_max_attempts, error.message, delay)
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
        body = create_body(settings, settings.metadata, self.report.temporary_environment)
        with self.log.group("Creating Certyn run"):
            for line in words.create_lines(settings, body, settings.idempotency_key):
                self.log.info(line)
        self.lifecycle.hold(CertynRun(client, self.reporter, self.clock))
        created = client.create(body, settings.idempotency_key, deadline)
        with self.guard.deferred():  # outputs are written whole, then a pending signal is honoured
            self.reporter.created(created)

    def _acquire(self, client: CertynClient, settings: Settings, deadline: float) -> bool:
        """What the step holds before it waits: the run (attached, or created in the temporary environment
        of ``base-url``). False when ``base-url`` never answered: nothing was created."""
        if settings.run_id:
            self._attach_run(client, settings.run_id)
            return True
        if settings.base_url:
            if not self._deployment_up(settings, deadline):
                return False
            self._acquire_environment(client, settings, deadline)
        self._acquire_run(client, settings, deadline)
        return True

    # -- base-url and run-id -------------------------------------------------------------------------
    def _deployment_up(self, inputs: Settings, deadline: float) -> bool:
        """``base-url`` answers (any HTTP answer), before anything is created; else the step ends here.
        The wait never outlasts what ``timeout-seconds`` leaves: an answer after it is too late."""
        from .deployment import wait_until_up  # noqa: PLC0415 - only for base-url

        left = max(deadline - self.clock.monotonic(), 0.0)
        capped = left < inputs.base_url_wait_seconds
        wait = format_duration(min(inputs.base_url_wait_seconds, left))
        self.log.info(f"Checking that base-url answers (waiting up to {wait})")

        def on_retry(attempt: int, error: str, delay: float) -> None:
            self.log.info(f"base-url: attempt {attempt}: {error}; retrying in {delay:.1f}s")

        check = wait_until_up(
            inputs.base_url,
            min(inputs.base_url_wait_seconds, left),
            self.clock,
            env=self.env,
            on_retry=on_retry,
        )
        late = check.up and self.clock.monotonic() >= deadline
        if check.up and not late:
            self.log.info(
                f"base-url answered (HTTP {check.status}) after {plural(check.attempts, 'attempt')}"
            )
            return True
        message = words.deployment_down(
            wait,
            check.attempts,
            f"it answered (HTTP {check.status}) only after the deadline" if late else check.error,
            url=shown_base_url(inputs.base_url),
            limit=format_duration(inputs.timeout_seconds) if capped or late else "",
        )
        self.report.verdict = Verdict(Result.ERROR, (message,), cause=Cause.DEPLOYMENT_DOWN)
        self.log.error(message, title=words.DEPLOYMENT_DOWN)
        return False

    def _acquire_environment(self, client: CertynClient, settings: Settings, deadline: float) -> None:
        """Create the temporary environment for ``base-url``; held from before the create is sent."""
        with self.guard.deferred():  # pydantic, loaded meanwhile on a helper thread: imported whole
            from .core.environment import plan_environment  # noqa: PLC0415

        plan = plan_environment(settings)
        environment = TemporaryEnvironment(client, self.reporter, plan.create_body())
        self.lifecycle.hold(environment)
        environment.create(deadline)
        with self.guard.deferred():  # the environment-key output is written whole
            self.reporter.environment()

    def _attach_run(self, client: CertynClient, run_id: str) -> None:
        """``run-id``: no create; the run is held from the start (the cancel switches apply to it)."""
        self.lifecycle.hold(CertynRun(client, self.reporter, self.clock))
        with self.guard.deferred():
            self.reporter.attached(run_id)

    def _wait(self, client: CertynClient, inputs: Settings, deadline: float) -> RunStatus:
        with self.guard.deferred():  # not needed before the create: imported after it, whole
            from .certyn.waiter import PollSettings, wait_for_run  # noqa: PLC0415

        settings = PollSettings(
            inputs.poll_interval_seconds,
            inputs.max_poll_interval_seconds,
            deadline,
            self.started,
            attached=bool(inputs.run_id),
        )
        return wait_for_run(client, self.report.run_id, settings, self.clock, self.log, self._seen)

    def _seen(self, status: RunStatus) -> None:
        with self.guard.deferred():  # state and counts as outputs at once, written whole
            self.reporter.seen(status)

    def _not_read(self, ending: Ending, inputs: Settings) -> None:
        """Per-test results and the AI answer are read only after the run ended in this step."""
        if ending not in (Ending.PASSED, Ending.FAILED, Ending.CREATED, Ending.INPUT_ERROR):
            why = "the run did not end within this step" if self.report.run_id else "no run was created"
            why = "the run was not found" if ending is Ending.RUN_NOT_FOUND else why
            not_read(self.reporter, inputs, f"{why} ({ending})")

    # -- the endings other than the gate's ----------------------------------------------------------
    def _timed_out(self, inputs: Settings, outage: Outage | None = None) -> Ending:
        last, limit = self.report.status, format_duration(inputs.timeout_seconds)
        if outage is not None:  # not "timed out" alone: the API was unreachable until the deadline
            reasons = (
                words.outage_reason(
                    format_duration(outage.since), outage.failures, one_line(outage.error), limit
                ),
                words.last_known(words.describe_counts(last) if last else None),
            )
            self.report.verdict = Verdict(Result.TIMED_OUT, reasons, cause=Cause.OUTAGE)
            return Ending.TIMED_OUT
        counts = f"; Certyn's last counts: {words.describe_counts(last)}" if last else ""
        reason = f"the run had not finished when timeout-seconds ({limit}) passed{counts}"
        self.report.verdict = Verdict(Result.TIMED_OUT, (reason,))
        return Ending.TIMED_OUT

    def _deadline_exceeded(self, inputs: Settings, err: DeadlineExceeded) -> Ending:
        """The create was still being retried when the deadline came."""
        if not err.unreachable:
            limit = format_duration(inputs.timeout_seconds)
            reasons = (f"no final result within timeout-seconds ({limit})", err.message)
            self.report.verdict = Verdict(Result.TIMED_OUT, reasons)
            return Ending.TIMED_OUT
        reason = (  # err.last says what was being done ("while creating the run", "... the environment")
            f"Certyn API unreachable ({plural(err.attempts, 'attempt')}, the last: {err.last.rstrip('.')}), "
            f"until timeout-seconds ({format_duration(inputs.timeout_seconds)}) passed"
        )
        self.report.verdict = Verdict(Result.TIMED_OUT, (reason,), cause=Cause.OUTAGE)
        return Ending.TIMED_OUT

    def _cancelled(self, signal_name: str) -> Ending:
        self.log.info(f"Received {signal_name}: the job is being cancelled")
        self.report.verdict = Verdict(Result.CANCELLED, (f"the workflow job was cancelled ({signal_name})",))
        return Ending.JOB_CANCELLED

    def _api_error(self, err: ApiError, client: CertynClient) -> Ending:
        cause = Cause.API_ERROR
        if isinstance(err, AuthError):
            cause = Cause.KEY_REJECTED
        elif isinstance(err, NotFound):
            known_run = self.report.created is not None or bool(self.report.attached_run_id)
            cause = Cause.RUN_NOT_FOUND if known_run else Cause.PROJECT_NOT_FOUND
        elif err.unreachable:  # the create's attempts were used up by failures that may pass
            cause = Cause.OUTAGE
        self.report.verdict = Verdict(Result.ERROR, (err.message,), cause=cause)
        where = self._where()
        if isinstance(err, AuthError):  # a refused key cannot cancel: say which run it may leave running
            where = self.reporter.key_refused(client.create_may_have_made_a_run) or where
        self.log.error(err.message + where, title=words.title(Result.ERROR, cause=cause))
        if cause is Cause.RUN_NOT_FOUND and self.report.created is None and self.report.status is None:
            return Ending.RUN_NOT_FOUND  # the attached run does not exist: nothing to cancel
        return Ending.KEY_REJECTED if isinstance(err, AuthError) else Ending.API_ERROR

    def _internal_error(self, err: Exception) -> None:
        message = one_line(self.log.redact(f"{type(err).__name__}: {err}"), 500)
        self.report.verdict = Verdict(
            Result.ERROR, (f"internal error: {message}",), cause=Cause.INTERNAL_ERROR
        )
        self.log.error(
            f"Internal error in the action: {message.rstrip('.')}.{self._where()}", title=words.ACTION_ERROR
        )

    def _where(self) -> str:
        return f" Certyn run: {one_line(self.report.app_url, 500)}" if self.report.app_url else ""
