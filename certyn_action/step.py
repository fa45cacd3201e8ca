"""One execution of the action, as a short pipeline: read the settings, acquire the run, wait, gate, report.

Whatever happens, the step ends through :meth:`Step.run`'s ``finally``: the lifecycle releases what is held
(``lifecycle.py``, ``core/endings.py``), then the outputs, the summary and the verdict are written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from .certyn.client import CertynClient
from .certyn.errors import ApiError
from .certyn.http import Transport
from .certyn.readers import preload_models
from .clock import Clock
from .core import messages, wording
from .core.api import create_body
from .core.context import GitHubContext, RunMetadata, derive_metadata, missing_key_hint
from .core.idempotency import derive_key
from .core.inputs import InputErrors, Inputs, read_inputs
from .core.text import format_duration, one_line, plural
from .findings import Afterwards, not_read
from .gate import Cause, Result, Verdict, evaluate, verdict_for
from .github.files import EventPayloadError, read_event_payload
from .github.reporter import Reporter
from .github.signals import CancelRequested, SignalGuard
from .github.workflow import WorkflowLog
from .resources import CertynRun, Held, TemporaryEnvironment

if TYPE_CHECKING:
    from .core.models import RunStatus

TransportFactory = Callable[[Inputs, Mapping[str, str], WorkflowLog], Transport]


class Settings(NamedTuple):
    """What the step was asked to do, read and checked before anything is sent."""

    inputs: Inputs
    metadata: RunMetadata
    idempotency_key: str
    context: GitHubContext | None = None  # for the temporary environment's key and label (`base-url`)


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
        self.held = Held(clock, guard)
        self.client: CertynClient | None = None

    def run(self) -> int:
        try:
            self._pipeline()
        except (Exception, CancelRequested) as err:
            self._stopped(err)
        finally:
            inputs = self.report.inputs
            try:
                if inputs is not None:
                    self._not_read(inputs)
                    self.held.release(self.report.verdict)
            except Exception as err:  # a bug while releasing: still report, never lose the verdict
                self._stopped(err)
            self.reporter.finish(self.clock.monotonic() - self.started)
        return 0 if self.report.verdict.result.succeeds else 1

    # -- the pipeline ------------------------------------------------------------------------------
    def _pipeline(self) -> None:
        settings = self._read_settings()
        if settings is None:
            return
        inputs = settings.inputs
        deadline = self.started + inputs.timeout_seconds
        self.client = self._client(inputs)
        with self.guard.interruptible():
            if not self._acquire(self.client, settings, deadline):
                return
            if not inputs.wait:
                self.report.verdict = Verdict(Result.CREATED)
                return
            status = self._wait(self.client, inputs, deadline)
        self.report.verdict = evaluate(status, inputs.gate)
        Afterwards(self.client, self.reporter, self.clock, self.guard, inputs).run(status, deadline)

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
            self.report.verdict = Verdict(
                Result.ERROR, tuple(str(e) for e in errors.errors), cause=Cause.INPUT_ERROR
            )
            return None
        for adjusted in inputs.adjustments:
            self.log.warning(str(adjusted), title=wording.adjusted_input(adjusted.name))
        meta = derive_metadata(ctx, inputs)
        key = inputs.idempotency_key or derive_key(ctx, inputs.job_index, inputs.check_run_id)
        self.report.inputs, self.report.metadata, self.report.idempotency_key = inputs, meta, key
        self.report.findings.instruction = inputs.instruction
        return Settings(inputs, meta, key, ctx)

    def _client(self, inputs: Inputs) -> CertynClient:
        def on_retry(operation: str, error: ApiError, delay: float, failures: int) -> None:
            self.log.info(
                messages.retry_line(operation, failures, inputs.http_max_attempts, error.message, delay)
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
        body = create_body(settings.inputs, settings.metadata, self.report.temporary_environment)
        with self.log.group("Creating Certyn run"):
            for line in messages.create_lines(settings.inputs, body, settings.idempotency_key):
                self.log.info(line)
        self.held.hold(CertynRun(client, self.reporter, self.clock, settings.inputs))
        created = client.create(body, settings.idempotency_key, deadline, poll_ahead=settings.inputs.wait)
        with self.guard.deferred():  # outputs are written whole, then a pending signal is honoured
            self.reporter.created(created)

    def _acquire(self, client: CertynClient, settings: Settings, deadline: float) -> bool:
        """What the step holds before it waits: the run (attached, or created in the temporary environment
        of ``base-url``). False when ``base-url`` never answered: nothing was created."""
        inputs = settings.inputs
        if inputs.run_id:
            self._attach_run(client, inputs)
            return True
        if inputs.base_url:
            if not self._deployment_up(inputs, deadline):
                return False
            self._acquire_environment(client, settings, deadline)
        self._acquire_run(client, settings, deadline)
        return True

    # -- base-url and run-id -------------------------------------------------------------------------
    def _deployment_up(self, inputs: Inputs, deadline: float) -> bool:
        """``base-url`` answers (any HTTP answer), before anything is created; else the step ends here.
        The wait never outlasts what ``timeout-seconds`` leaves: an answer after it is too late."""
        from .core.preview_inputs import shown_base_url  # noqa: PLC0415
        from .deployment import wait_until_up  # noqa: PLC0415 - only for base-url

        preload_models()  # the environment's models load on a helper thread meanwhile
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
        message = messages.deployment_down(
            wait,
            check.attempts,
            f"it answered (HTTP {check.status}) only after the deadline" if late else check.error,
            url=shown_base_url(inputs.base_url),
            limit=format_duration(inputs.timeout_seconds) if capped or late else "",
        )
        self.report.verdict = Verdict(Result.ERROR, (message,), cause=Cause.DEPLOYMENT_DOWN)
        self.log.error(message, title=wording.DEPLOYMENT_DOWN)
        return False

    def _acquire_environment(self, client: CertynClient, settings: Settings, deadline: float) -> None:
        """Create the temporary environment for ``base-url``; held from before the create is sent."""
        with self.guard.deferred():  # pydantic, loaded meanwhile on a helper thread: imported whole
            from .core.environment import plan_environment  # noqa: PLC0415

        inputs = settings.inputs
        plan = plan_environment(
            settings.context or GitHubContext.from_env(self.env, {}),
            base_url=inputs.base_url,
            commit_sha=settings.metadata.commit_sha,
            job_index=inputs.job_index,
            check_run_id=inputs.check_run_id,
        )
        environment = TemporaryEnvironment(client, self.reporter, plan.create_body(), inputs.keep_environment)
        self.held.hold(environment)
        environment.create(deadline)
        with self.guard.deferred():  # the environment-key output is written whole
            self.reporter.environment()

    def _attach_run(self, client: CertynClient, inputs: Inputs) -> None:
        """``run-id``: no create; the run is held from the start (the cancel switches apply to it)."""
        self.held.hold(CertynRun(client, self.reporter, self.clock, inputs))
        with self.guard.deferred():
            self.reporter.attached(inputs.run_id)

    def _wait(self, client: CertynClient, inputs: Inputs, deadline: float) -> RunStatus:
        with self.guard.deferred():  # not needed before the create: imported after it, whole
            from .wait import PollSettings, wait_for_run  # noqa: PLC0415

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

    def _not_read(self, inputs: Inputs) -> None:
        """Per-test results and the AI answer are read only after the run ended in this step."""
        report, verdict = self.report, self.report.verdict
        if verdict.result in (Result.PASSED, Result.FAILED, Result.CREATED):
            return
        if verdict.cause is Cause.INPUT_ERROR:
            return
        why = "the run did not end within this step" if report.run_id else "no run was created"
        ended = wording.step_ended(verdict)
        if verdict.cause is Cause.RUN_NOT_FOUND and report.created is None and report.status is None:
            why, ended = "the run was not found", "run not found"
        not_read(self.reporter, inputs, f"{why} ({ended})")

    # -- the endings other than the gate's ----------------------------------------------------------
    def _stopped(self, err: BaseException) -> None:
        """The step stopped short of the gate (a timeout, an API error, a signal, a bug): its verdict,
        said in the log."""
        report = self.report
        timeout = report.inputs.timeout_seconds if report.inputs else 0.0
        run_known = report.created is not None or bool(report.attached_run_id)
        verdict = verdict_for(err, timeout, report.status, run_known=run_known, redact=self.log.redact)
        report.verdict = verdict
        if isinstance(err, CancelRequested):
            self.log.info(wording.cancel_received(err.signal_name))
        if verdict.result is not Result.ERROR:
            return
        where = f" Certyn run: {one_line(report.app_url, 500)}" if report.app_url else ""
        if verdict.cause is Cause.KEY_REJECTED and self.client is not None:  # a refused key cannot cancel
            where = self.reporter.key_refused(self.client.create_may_have_made_a_run) or where
        title = wording.title(verdict.result, cause=verdict.cause)
        if verdict.cause is Cause.INTERNAL_ERROR:
            title = wording.ACTION_ERROR
        self.log.error(wording.stopped(verdict.reasons[0], verdict.cause, where), title=title)
