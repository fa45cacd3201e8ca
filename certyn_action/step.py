"""One execution of the action, as a story of calls that return values: settings -> (the deployment check, the
temporary environment) -> create or attach the run -> wait -> gate -> per-test results and the AI answer. Only the
step writes the report (each output as soon as it is known); :meth:`Step.run`'s ``finally`` releases what is held
(``resources.py``), then writes out the outputs, the summary and the verdict."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from .api.client import ApiError, CertynClient
from .api.http import Transport
from .api.vocabulary import create_body
from .clock import Clock, Deadline
from .findings import Afterwards, not_read
from .gate import Cause, Result, Verdict, evaluate, verdict_for
from .render import words
from .render.escape import one_line
from .report import Findings, Report
from .resources import CertynRun, Held, TemporaryEnvironment, environment_body
from .runner.files import EventPayloadError, read_event_payload
from .runner.reporter import Reporter
from .runner.signals import CancelRequested, SignalGuard
from .runner.workflow import WorkflowLog
from .settings import InputErrors, Settings, read_settings

if TYPE_CHECKING:
    from .api.models import Created, RunStatus
    from .publish import Publisher

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
        self.report = Report()
        self.reporter = Reporter(env, log)
        self.held = Held(clock, guard)
        self.publisher: Publisher | None = None  # the check run and the pull-request comment, when asked for
        self._run: CertynRun | None = None
        self._other_commit_said = False  # once, not each poll (nor each commit a poll names)

    def run(self) -> int:
        try:
            self._story()
        except (Exception, CancelRequested) as err:
            self._stopped(err)
        finally:
            try:
                self._not_read()
                self.held.release(self.report.verdict)
            except Exception as err:  # a bug while releasing: still report, never lose the verdict
                self._stopped(err)
            if self._run is not None:  # the cancel it asked for, even when a later release raised
                self.report.cancel = self._run.cancel
            self.report.duration = self.clock.monotonic() - self.started
            self.reporter.finish(self.report)
            if self.publisher is not None:
                self.publisher.finish(self.report)  # after the cancel; never raises
        return 0 if self.report.verdict.result.succeeds else 1

    def _story(self) -> None:
        settings = self._read_settings()
        deadline = Deadline.after(self.clock, settings.timeout_seconds, since=self.started)
        client = self._client(settings)
        with self.guard.interruptible():
            if settings.base_url:
                key = self._environment(client, settings, deadline)
                with self.guard.deferred():
                    self.report.temporary_environment = key
                    self._outputs(words.ENVIRONMENT_CREATED.format(key=one_line(key, 80)))
            run = self._run = CertynRun(client, self, self.clock, settings)
            if settings.run_id:  # no create: the run is held from the start (the cancel switches apply)
                self.held.hold(run)
                with self.guard.deferred():
                    self.report.attached_run_id = settings.run_id
                    self._outputs(words.ATTACHED.format(run_id=one_line(settings.run_id, 80)))
            else:
                self.created(self._create(client, settings, deadline, run))
            if self.publisher is not None:
                self.publisher.started(self.report, deadline)  # the check run, in progress
            if not settings.wait:
                self.report.verdict = Verdict(Result.CREATED)
                return
            with self.guard.deferred():  # not needed before the create: imported after it, whole
                from .wait import Poller, PollSettings  # noqa: PLC0415

            floor, ceiling = settings.poll_interval_seconds, settings.max_poll_interval_seconds
            poll = PollSettings(floor, ceiling, deadline, self.started, attached=bool(settings.run_id))
            status = Poller(client, self.report.run_id, poll, self.clock, self.log, self.seen).run()
        self.report.verdict = evaluate(status, settings.gate)
        self.found(Afterwards(client, self, self.clock, self.guard, settings).run(status, deadline))

    # -- the stages ----------------------------------------------------------------------------------
    def _read_settings(self) -> Settings:
        with self.guard.interruptible():  # reading is pure: a signal may end it at once
            try:
                payload = read_event_payload(self.env.get("GITHUB_EVENT_PATH"))
            except EventPayloadError as err:
                self.log.warning(str(err), title=words.PAYLOAD_NOT_USED)
                payload = {}
            settings = read_settings(self.env, payload)
        for adjusted in settings.adjustments:
            self.log.warning(str(adjusted), title=words.ADJUSTED_INPUT.format(name=adjusted.name))
        self.report.inputs = settings
        if settings.publishes:
            from .publish import Publisher  # noqa: PLC0415 - only for check-run and pr-comment

            self.publisher = Publisher(self.env, self.log, self.clock, self.guard)
        return settings

    def _client(self, inputs: Settings) -> CertynClient:
        def on_retry(operation: str, error: ApiError, delay: float, failures: int) -> None:
            attempts = inputs.http_max_attempts
            self.log.info(words.retry_line(operation, failures, attempts, error.message, delay))

        return CertynClient(
            self.factory(inputs, self.env, self.log),
            self.clock,
            request_timeout_seconds=inputs.request_timeout_seconds,
            max_attempts=inputs.http_max_attempts,
            project_slug=inputs.project_slug,
            on_retry=on_retry,
        )

    def _environment(self, client: CertynClient, settings: Settings, deadline: Deadline) -> str:
        """Held from before its create is sent: its key."""
        with self.guard.deferred():  # only for base-url: imported whole, a signal waits for the end
            from .deployment import check_deployment  # noqa: PLC0415
            from .preview import Preview  # noqa: PLC0415

        preview = Preview(client, self, settings, self.clock)  # variables and runner-pool
        preview.resolve_pool(deadline)  # before anything is created
        # with runner-pool the deployment may be private to the pool's network: a warning, go ahead
        check_deployment(settings, deadline, self.clock, self.env, self.log, preview.deployment_unreachable)
        body = environment_body(settings) | preview.environment_fields()  # runner-pool
        environment = TemporaryEnvironment(client, self, body, settings.keep_environment)
        self.held.hold(environment)
        environment.create(deadline)
        preview.set_variables(environment, deadline)  # after its create, before the run's
        return environment.key

    def _create(
        self, client: CertynClient, settings: Settings, deadline: Deadline, run: CertynRun
    ) -> Created:
        """The run is held from before the create is sent: a create in flight is part of it."""
        body = create_body(settings, settings.metadata, self.report.temporary_environment)
        with self.log.group(words.CREATING_GROUP):
            for line in words.create_lines(settings, body, settings.idempotency_key):
                self.log.info(line)
        self.held.hold(run)
        return client.create(body, settings.idempotency_key, deadline)

    # -- what the stages learn, into the report: the outputs at once, written whole, then a pending signal --
    def _outputs(self, *lines: str) -> None:
        """The create's outputs (written whole: a signal waits for the end), then ``lines``."""
        with self.guard.deferred():
            self.reporter.outputs(self.report, after_create=True)
            for line in lines:
                self.log.info(line)

    def created(self, created: Created) -> None:
        with self.guard.deferred():
            self.report.created = created
            self._outputs(*words.created_lines(created))

    def seen(self, status: RunStatus) -> None:
        report = self.report
        with self.guard.deferred():
            first_link = bool(status.app_url) and not (report.status and report.status.app_url)
            report.status = status
            self.reporter.outputs(report)
            if report.attached_run_id and first_link:  # as a created run says, once
                self.log.info(words.follow(status.app_url))
            if report.other_commit and report.inputs and not self._other_commit_said:
                self._other_commit_said = True
                message = words.other_commit(
                    one_line(report.other_commit, 80),
                    one_line(report.inputs.metadata.commit_sha, 80),
                    one_line(report.inputs.idempotency_key, 200),
                    replayed=bool(report.created and report.created.replayed),
                )
                self.log.warning(message, title=words.OTHER_COMMIT)  # the gate still judges it
                self.note(message)

    def note(self, text: str) -> None:
        self.report.notes.append(text)

    def found(self, findings: Findings) -> None:
        self.report.findings = findings
        with self.guard.deferred():
            self.reporter.outputs(self.report)

    # -- the endings other than the gate's -----------------------------------------------------------
    def _stopped(self, err: BaseException) -> None:
        """Stopped short of the gate (bad inputs, a timeout, an API error, a signal, a bug): the verdict, said.
        Once the runner signalled, the job is being cancelled, whatever was raised since: code the signal's
        exception cut short may have raised another error in its place."""
        report = self.report
        if self.guard.signal_name is not None:
            self.guard.acted_on()
            if not isinstance(err, CancelRequested):
                self.log.info(words.AFTER_CANCEL.format(error=one_line(f"{type(err).__name__}: {err}", 300)))
                err = CancelRequested(self.guard.signal_name)
        timeout, seen = report.inputs.timeout_seconds if report.inputs else 0.0, report.status is not None
        verdict = verdict_for(err, timeout, seen=seen, run_known=bool(report.run_id), redact=self.log.redact)
        report.verdict = verdict
        if isinstance(err, CancelRequested):
            self.log.info(words.CANCEL_RECEIVED.format(signal_name=err.signal_name))
        if verdict.result is not Result.ERROR:
            return  # a timeout and a cancel are said by the verdict line
        if isinstance(err, InputErrors):
            for error in err.errors:
                self.log.error(str(error), title=words.INVALID_INPUT.format(name=error.name))
            return
        where = words.run_link(report.app_url, "Certyn run: ")
        if verdict.cause is Cause.KEY_REJECTED:  # a refused key cannot cancel
            where = self._key_refused() or where
        self.log.error(words.stopped(verdict.reasons[0], verdict.cause, where), title=words.title(verdict))

    def _key_refused(self) -> str:
        """No run can be cancelled with a refused key: the note on the run left running (one a lost create may
        have made, or the known one), also returned with a leading space for the error line; else ""."""
        report, run = self.report, self._run
        if run is None or report.inputs is None:  # refused before the run's turn: none was made
            return ""
        if run.client.create_may_have_made_a_run:
            note = words.orphan(report.inputs.idempotency_key, key_refused=True)
        elif report.run_id:
            note = words.still_running(one_line(report.run_id, 80), one_line(report.app_url, 500))
        else:
            return ""
        self.note(note)
        return " " + note

    def _not_read(self) -> None:
        """Why per-test results and the AI answer were not read (only after a run that ended here)."""
        report, verdict = self.report, self.report.verdict
        done = (Result.PASSED, Result.FAILED, Result.CREATED)  # read after the gate, or not waited for
        if report.inputs is None or verdict.result in done or verdict.cause is Cause.INPUT_ERROR:
            return  # an input error (runner-pool): nothing was created
        why = words.NOT_ENDED_HERE if report.run_id else words.NONE_CREATED
        if verdict.cause is Cause.RUN_NOT_FOUND and report.created is None and report.status is None:
            why = words.NONE_FOUND
        report.findings = not_read(self, report.inputs, why.format(ended=words.step_ended(verdict)))
