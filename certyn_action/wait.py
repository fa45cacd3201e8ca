"""Polling a run until it is terminal or the deadline passes. An outage is backed off and said when it starts and
ends (the first as a ``::warning`` and a ``::notice``, later ones as log lines); a 404 or a redirect is waited out
for a grace period (a new run may not be visible yet); a heartbeat reaches the log at least every minute."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from .api.client import ApiError, CertynClient, NotFound, Outage, RetryPolicy, TimedOut, classify
from .clock import Clock, Deadline
from .render import words
from .render.escape import format_duration
from .render.words import ProgressLog, describe_counts, describe_state
from .runner.workflow import WorkflowLog

if TYPE_CHECKING:
    from .api.models import RunStatus

# A brand-new run may 404 for a moment (and a proxy redirect): wait at least this many polls in a row AND
# this long before giving up.
NOT_FOUND_GRACE_POLLS = 6
NOT_FOUND_GRACE_SECONDS = 15.0
# The last poll goes out this long before the deadline, so a run that finished just in time is seen.
FINAL_POLL_SECONDS = 2.0


class PollSettings(NamedTuple):
    floor: float
    ceiling: float
    deadline: Deadline
    started: float  # clock.monotonic() value when the action started
    attached: bool = False  # `run-id`: an existing run, so a 404 before any status means it does not exist


class Poller:
    """``run()``: the run's first terminal status; raises :class:`TimedOut` or a non-transient :class:`ApiError`."""

    def __init__(
        self,
        client: CertynClient,
        run_id: str,
        settings: PollSettings,
        clock: Clock,
        log: WorkflowLog,
        on_status: Callable[[RunStatus], None],
    ) -> None:
        self.client, self.run_id, self.settings = client, run_id, settings
        self.clock, self.log, self.on_status = clock, log, on_status
        self.progress = ProgressLog()
        self.outage = self._fresh_outage()
        self.outage_since: float | None = None
        self.outage_error = ""
        self.outages = self.suspect_polls = 0
        self.last: RunStatus | None = None
        self.suspect_since: float | None = None

    def run(self) -> RunStatus:
        while True:
            now = self.clock.monotonic()
            if self.settings.deadline.passed():
                raise TimedOut(self.last, self._outage())
            try:
                status = self.client.status(self.run_id, self.settings.deadline, idle=self._idle)
            except ApiError as err:
                if isinstance(err, NotFound) or (err.status is not None and 300 <= err.status < 400):
                    delay = self._suspect(now, err)
                elif classify(err):
                    delay = self._failed(now, err)
                else:
                    raise
            else:
                if self._seen(self.clock.monotonic(), status):  # when it arrived, not when asked
                    return status
                hint = status.retry_after_seconds or 0.0  # none (or 0): the floor
                delay = min(max(hint, self.settings.floor), self.settings.ceiling)
                # Between polls: from when this one went out, not from the end of its validation.
                self._sleep(delay, since=self.client.poll_sent_at)
                continue
            self._sleep(delay)

    def _suspect(self, now: float, err: ApiError) -> float:
        """A 404 (a new run not visible yet, a lagging replica) or a redirect (a proxy's login or maintenance
        page) is waited out for a grace period, then it is the error it says it is."""
        self.suspect_polls += 1
        self.suspect_since = now if self.suspect_since is None else self.suspect_since
        in_grace = (
            self.suspect_polls <= NOT_FOUND_GRACE_POLLS or now - self.suspect_since < NOT_FOUND_GRACE_SECONDS
        )
        if isinstance(err, NotFound):
            if self.settings.attached and self.last is None:
                raise NotFound(words.RUN_DOES_NOT_EXIST.format(run_id=self.run_id), status=404)
            if not in_grace:
                raise NotFound(words.run_not_found(self.run_id, self.suspect_polls), status=404)
            if self.last is None:
                self.log.info(words.RUN_NOT_VISIBLE_YET.format(run_id=self.run_id, poll=self.suspect_polls))
                return self.settings.floor
        elif not in_grace:
            raise err
        self.log.info(words.polling_on(self.run_id, err.message, self.suspect_polls))
        return self.settings.floor

    def _outage(self) -> Outage | None:
        if self.outage_since is None:
            return None
        return Outage(self.outage_since - self.settings.started, self.outage.failures, self.outage_error)

    def _failed(self, now: float, err: ApiError) -> float:
        self.outage_error = err.message
        if self.outage_since is None:
            self.outage_since = now
            self.outages += 1
            text = words.outage_warning(err.message, format_duration(self.settings.deadline.at - now))
            if self.outages == 1:
                self.log.warning(text, title=words.OUTAGE)
            else:  # a flapping API must not use up the step's annotations (GitHub keeps 10 of each kind)
                self.log.info(words.OUTAGE_AGAIN.format(outages=self.outages, text=text))
        self.outage = self.outage.after_failure("GET", self.run_id) or self.outage
        return max(self.settings.floor, self.outage.delay(err.retry_after))

    def _seen(self, now: float, status: RunStatus) -> bool:
        """Record a status; True when it is terminal."""
        self.last = status
        self.suspect_polls, self.suspect_since = 0, None
        self.on_status(status)
        if self.outage_since is not None:
            took = format_duration(now - self.outage_since)
            text = words.reachable_again(self.run_id, took, self.outage.failures)
            if self.outages == 1:  # the outage that had a ::warning: a notice beside it says it recovered
                self.log.notice(text, title=words.RECOVERED)
            else:  # the later ones were log lines: so is their end
                self.log.info(text)
            self.outage_since, self.outage = None, self._fresh_outage()
        if line := self.progress.on_status(status, now - self.settings.started):
            self.log.info(line)
        return status.is_terminal

    def _sleep(self, delay: float, since: float | None = None) -> None:
        # the wake-ups are points on the clock, as the deadline's ``at``
        now, deadline = self.clock.monotonic(), self.settings.deadline.at
        start = now if since is None else min(since, now)
        last_poll = deadline - FINAL_POLL_SECONDS
        wake = min(start + delay, deadline)
        if now < last_poll < wake:
            # Wake for one last poll just before the deadline rather than sleep through it; unless that
            # would poll again sooner than the floor allows.
            wake = last_poll if last_poll - start >= self.settings.floor else deadline
        while (left := wake - self.clock.monotonic()) > 0:
            self.clock.sleep(min(left, self._idle()))
        self._idle()

    def _idle(self) -> float:
        """The heartbeat, while sleeping or while a request is in flight: prints it when it is due, and
        returns the seconds until the next one."""
        now = self.clock.monotonic()
        if self.outage_since is not None:
            still = words.STILL_FAILING.format(failing=format_duration(now - self.outage_since))
        elif self.last is None:
            still = words.STILL_WAITING_FOR_THE_RUN
        else:
            still = words.STILL.format(state=describe_state(self.last), counts=describe_counts(self.last))
        if line := self.progress.heartbeat(now - self.settings.started, still):
            self.log.info(line)
        return self.progress.until_heartbeat(now - self.settings.started)

    def _fresh_outage(self) -> RetryPolicy:
        return RetryPolicy.create(
            None, backoff_factor=self.settings.floor, backoff_max=max(self.settings.ceiling, 60.0)
        )
