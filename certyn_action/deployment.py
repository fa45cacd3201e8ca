"""Waiting for the deployment under test (``base-url``) to answer; never talks to Certyn.

Any HTTP answer, even a 500, means up: the tests judge the application. Each attempt is a plain GET in a fresh
session (no key, no cookies, no redirect followed, the body never read) on a daemon thread; error text names the
kind of failure only: never the URL (it may carry a token) nor what the server sent.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import NamedTuple

import requests

from .api.http import NETWORK_FAILURES, USER_AGENT, network_failure, new_session, signals_held
from .clock import Clock, Deadline
from .gate import Cause, Result, Stopped, Verdict
from .render import words
from .render.escape import format_duration, plural, without_secrets
from .runner.workflow import WorkflowLog
from .settings import Settings

ATTEMPT_TIMEOUT_SECONDS = 5.0  # as the Certyn CLI's check of `run --url`
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 2.0  # small: a deployment that comes up is seen within 2 s
GRACE_SECONDS = 1.0  # how long past its timeout an attempt may run (DNS is not bounded by requests)


class DeploymentCheck(NamedTuple):
    up: bool
    attempts: int
    status: int | None  # of the answer that proved it up
    error: str  # why the last attempt failed


def check_deployment(
    inputs: Settings,
    deadline: Deadline,
    clock: Clock,
    env: Mapping[str, str],
    log: WorkflowLog,
    unreached: Callable[[str], bool],
) -> None:
    """``base-url`` answers before anything is created, within what ``timeout-seconds`` leaves; else
    :class:`Stopped` ends the step, unless ``unreached(error)`` says to go ahead."""
    seconds = min(inputs.base_url_wait_seconds, max(deadline.left(), 0.0))
    wait, url = format_duration(seconds), without_secrets(inputs.base_url)
    log.info(words.checking_deployment(url, wait))

    def on_retry(attempt: int, error: str, delay: float) -> None:
        log.info(words.BASE_URL_RETRY.format(attempt=attempt, error=error, delay=delay))

    check = wait_until_up(inputs.base_url, seconds, clock, env=env, on_retry=on_retry)
    late = check.up and deadline.passed()
    if not check.up and unreached(check.error):
        return
    if check.up and not late:
        attempts = plural(check.attempts, "attempt")
        log.info(words.BASE_URL_ANSWERED.format(status=check.status, attempts=attempts))
        return
    error = words.ANSWERED_TOO_LATE.format(status=check.status) if late else check.error
    capped = seconds < inputs.base_url_wait_seconds or late  # by timeout-seconds, or it passed first
    limit = format_duration(inputs.timeout_seconds) if capped else ""
    message = words.deployment_down(wait, check.attempts, error, url=url, limit=limit)
    raise Stopped(Verdict(Result.ERROR, (message,), cause=Cause.DEPLOYMENT_DOWN))


def wait_until_up(
    url: str,
    wait_seconds: float,
    clock: Clock,
    *,
    attempt_timeout_seconds: float = ATTEMPT_TIMEOUT_SECONDS,
    env: Mapping[str, str] | None = None,
    on_retry: Callable[[int, str, float], None] | None = None,
) -> DeploymentCheck:
    """GET ``url`` until anything answers, retrying connection failures with a small backoff until
    ``wait_seconds`` have passed (0: one try). ``env``: proxies and CA bundle (default: the process's)."""
    deadline = Deadline.after(clock, max(wait_seconds, 0.0))
    attempts, delay = 0, FIRST_BACKOFF_SECONDS
    while True:
        attempts += 1
        outcome = _attempt(url, attempt_timeout_seconds, os.environ if env is None else env)
        if isinstance(outcome, int):
            return DeploymentCheck(True, attempts, outcome, "")
        if outcome is None:
            error, retry = NETWORK_FAILURES["no answer"].format(timeout=attempt_timeout_seconds), True
        else:  # a malformed URL cannot get better; a deployment still coming up may
            error = network_failure(outcome, attempt_timeout_seconds)[1]
            retry = isinstance(outcome, requests.ConnectionError | requests.Timeout)
        remaining = deadline.left()
        if not retry or remaining <= 0:
            return DeploymentCheck(False, attempts, None, error)
        pause = min(delay, remaining)
        if on_retry is not None:
            on_retry(attempts, error, pause)
        clock.sleep(pause)
        delay = min(delay * 2, MAX_BACKOFF_SECONDS)


def _attempt(url: str, timeout: float, env: Mapping[str, str]) -> int | BaseException | None:
    """One GET, abandoned a grace second past ``timeout`` (requests' does not bound DNS): the HTTP status, the
    error, or None (no answer)."""
    outcome: list[int | BaseException] = []

    def exchange() -> None:
        try:  # a session per attempt: an abandoned attempt shares nothing with the next
            with (
                new_session(
                    url, env, {"User-Agent": f"{USER_AGENT} (deployment check)", "Accept": "*/*"}
                ) as session,
                session.get(url, timeout=(timeout, timeout), allow_redirects=False, stream=True) as response,
            ):
                outcome.append(response.status_code)
        except BaseException as err:  # handed to the caller's thread
            outcome.append(err)

    worker = threading.Thread(target=exchange, name="deployment check", daemon=True)
    # threading's code under its locks, out of a signal's reach; the worker never takes one
    with signals_held():
        worker.start()
    worker.join(timeout + GRACE_SECONDS)
    return outcome[0] if outcome else None
