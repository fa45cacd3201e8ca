"""Waiting for the deployment under test (``base-url``) to answer; talks to the deployment, never to Certyn.

- A fresh session per attempt (``api/http.new_session``), never the API transport's: no key, no cookies.
- A plain GET, redirects not followed, the body never read. Any HTTP answer, even a 500, means "up": the
  tests judge the application, this only proves something answers.
- Connection failures are retried with a small backoff until ``wait_seconds`` have passed (0: one try). Each
  attempt runs on a daemon thread, abandoned a second past its timeout (requests' does not bound DNS).
- Error text names the kind of failure only: never the URL (a preview URL may carry a token in its query)
  nor anything the server sent.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import requests

from . import __version__
from .api.http import NETWORK_FAILURES, network_failure, new_session
from .clock import Clock
from .gate import Cause, Result, Stopped, Verdict
from .github.workflow import WorkflowLog
from .render import words
from .render.escape import format_duration, plural, without_secrets
from .settings import Settings

ATTEMPT_TIMEOUT_SECONDS = 5.0  # as the Certyn CLI's check of `run --url`
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 2.0  # small: a deployment that comes up is seen within 2 s
GRACE_SECONDS = 1.0  # how long past its timeout an attempt may run (DNS is not bounded by requests)
USER_AGENT = f"certyn-run-action/{__version__} (deployment check)"


@dataclass(frozen=True)
class DeploymentCheck:
    up: bool
    attempts: int
    status: int | None  # the HTTP status of the answer that proved it up
    error: str  # why the last attempt failed; "" when up. Secret-free: no URL, nothing the server sent.
    waited_seconds: float


def check_deployment(
    inputs: Settings,
    deadline: float,
    clock: Clock,
    env: Mapping[str, str],
    log: WorkflowLog,
    unreached: Callable[[str], bool] = lambda error: False,
) -> None:
    """``base-url`` answers (any HTTP answer) before anything is created; else :class:`Stopped` ends the
    step, unless ``unreached(error)`` says to go ahead. The wait never outlasts what ``timeout-seconds``
    leaves: an answer after it is too late."""
    left = max(deadline - clock.monotonic(), 0.0)
    seconds = min(inputs.base_url_wait_seconds, left)
    wait = format_duration(seconds)
    log.info(words.checking_deployment(without_secrets(inputs.base_url), wait))  # issue 19: the URL tested

    def on_retry(attempt: int, error: str, delay: float) -> None:
        log.info(words.BASE_URL_RETRY.format(attempt=attempt, error=error, delay=delay))

    check = wait_until_up(inputs.base_url, seconds, clock, env=env, on_retry=on_retry)
    late = check.up and clock.monotonic() >= deadline
    if not check.up and unreached(check.error):  # ``unreached`` says to go ahead (runner-pool)
        return
    if check.up and not late:
        log.info(
            words.BASE_URL_ANSWERED.format(status=check.status, attempts=plural(check.attempts, "attempt"))
        )
        return
    message = words.deployment_down(
        wait,
        check.attempts,
        words.ANSWERED_TOO_LATE.format(status=check.status) if late else check.error,
        url=without_secrets(inputs.base_url),
        limit=format_duration(inputs.timeout_seconds)
        if seconds < inputs.base_url_wait_seconds or late
        else "",
    )
    raise Stopped(Verdict(Result.ERROR, (message,), cause=Cause.DEPLOYMENT_DOWN))


def wait_until_up(
    url: str,
    wait_seconds: float,
    clock: Clock,
    *,
    attempt_timeout: float = ATTEMPT_TIMEOUT_SECONDS,
    env: Mapping[str, str] | None = None,
    on_retry: Callable[[int, str, float], None] | None = None,
) -> DeploymentCheck:
    """GET ``url`` until anything answers over HTTP, or ``wait_seconds`` have passed (0: one try); no attempt
    starts after that. ``env``: the proxy and CA bundle variables (default: the process environment).
    ``on_retry(attempt, error, delay)`` is told of each failed attempt that will be retried."""
    start = clock.monotonic()
    deadline = start + max(wait_seconds, 0.0)
    attempts, delay = 0, FIRST_BACKOFF_SECONDS
    while True:
        attempts += 1
        outcome = _attempt(url, attempt_timeout, os.environ if env is None else env)
        if isinstance(outcome, int):
            return DeploymentCheck(True, attempts, outcome, "", clock.monotonic() - start)
        if outcome is None:
            error, retry = NETWORK_FAILURES["no answer"].format(timeout=attempt_timeout), True
        else:  # a malformed URL cannot get better; a deployment still coming up may
            error = network_failure(outcome, attempt_timeout)[1]
            retry = isinstance(outcome, requests.ConnectionError | requests.Timeout)
        remaining = deadline - clock.monotonic()
        if not retry or remaining <= 0:
            return DeploymentCheck(False, attempts, None, error, clock.monotonic() - start)
        pause = min(delay, remaining)
        if on_retry is not None:
            on_retry(attempts, error, pause)
        clock.sleep(pause)
        delay = min(delay * 2, MAX_BACKOFF_SECONDS)


def _attempt(url: str, timeout: float, env: Mapping[str, str]) -> int | BaseException | None:
    """One GET, bounded by ``timeout`` plus a grace second: the HTTP status, the error, or None (no answer)."""
    outcome: list[int | BaseException] = []

    def exchange() -> None:
        try:  # a session per attempt: an abandoned attempt shares nothing with the next
            with (
                new_session(url, env, {"User-Agent": USER_AGENT, "Accept": "*/*"}) as session,
                session.get(url, timeout=(timeout, timeout), allow_redirects=False, stream=True) as response,
            ):
                outcome.append(response.status_code)
        except BaseException as err:  # handed to the caller's thread
            outcome.append(err)

    worker = threading.Thread(target=exchange, name="deployment check", daemon=True)
    worker.start()
    worker.join(timeout + GRACE_SECONDS)
    return outcome[0] if outcome else None
