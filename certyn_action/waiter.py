"""Polling a run until it reaches a terminal state or the deadline passes.

Transient failures (5xx, 429, network errors, timeouts, HTML or cut bodies) never end the wait before the
deadline: the waiter backs off while an outage lasts and says so once when it starts and once when it ends.
A 404 on the first polls of a new run is waited out for a few polls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .client import ApiError, CertynClient, NotFound
from .clock import Clock, format_duration
from .progress import ProgressLog
from .retry import RetryPolicy
from .workflow import WorkflowLog

if TYPE_CHECKING:
    from .models import RunStatus

NOT_FOUND_GRACE_POLLS = 6


class TimedOut(Exception):
    def __init__(self, last: RunStatus | None) -> None:
        super().__init__("deadline reached")
        self.last = last


@dataclass(frozen=True)
class PollSettings:
    floor: float
    ceiling: float
    deadline: float  # clock.monotonic() value
    started: float  # clock.monotonic() value when the action started


def wait_for_run(
    client: CertynClient,
    run_id: str,
    settings: PollSettings,
    clock: Clock,
    log: WorkflowLog,
    on_status: Callable[[RunStatus], None],
) -> RunStatus:
    """The run's first terminal status; raises :class:`TimedOut` or a non-transient :class:`ApiError`."""
    progress = ProgressLog()

    def fresh_outage() -> RetryPolicy:
        return RetryPolicy.create(
            None, backoff_factor=settings.floor, backoff_max=max(settings.ceiling, 60.0)
        )

    outage = fresh_outage()
    outage_since: float | None = None
    seen = False
    not_found = 0
    last: RunStatus | None = None
    while True:
        now = clock.monotonic()
        if now >= settings.deadline:
            raise TimedOut(last)
        try:
            status = client.status(run_id, settings.deadline)
        except NotFound:
            not_found += 1
            if seen or not_found > NOT_FOUND_GRACE_POLLS:
                raise
            log.info(
                f"Run {run_id} is not visible yet (HTTP 404); waiting for it ({not_found}/{NOT_FOUND_GRACE_POLLS})"
            )
            delay = settings.floor
        except ApiError as err:
            if not err.transient:
                raise
            if outage_since is None:
                outage_since = now
                log.warning(
                    f"Polling run {run_id} failed: {err.message}. Retrying with backoff until the deadline "
                    f"(in {format_duration(settings.deadline - now)}); the gate is not affected.",
                    title="Certyn API unreachable",
                )
            outage = outage.after_failure("GET", run_id) or outage
            delay = max(settings.floor, outage.delay(err.retry_after))
            line = progress.heartbeat(
                now - settings.started,
                f"still waiting: the API has been failing for {format_duration(now - outage_since)}",
            )
            if line:
                log.info(line)
        else:
            seen = True
            last = status
            on_status(status)
            if outage_since is not None:
                log.notice(
                    f"Polling run {run_id} works again after {format_duration(now - outage_since)} "
                    f"({outage.failures} failed polls).",
                    title="Certyn API reachable again",
                )
                outage_since = None
                outage = fresh_outage()
            line = progress.on_status(status, now - settings.started)
            if line:
                log.info(line)
            if status.is_terminal:
                return status
            hint = status.retry_after_seconds if status.retry_after_seconds is not None else settings.floor
            delay = min(max(hint, settings.floor), settings.ceiling)
        clock.sleep(min(delay, max(settings.deadline - clock.monotonic(), 0.0)))
