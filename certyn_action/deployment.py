"""Waiting for the deployment under test (``base-url``) to answer. I/O; talks to the deployment, never
to Certyn.

- Its own fresh ``requests.Session`` per attempt, never the API transport's: no ``X-API-Key``, no cookies,
  no auth; proxies and the CA bundle decided as for the API (``api/http.new_session``).
- A plain GET, redirects not followed. Any HTTP answer, even a 500 or a redirect, means "up": the tests
  judge the application, this only proves something answers.
- Connection failures (refused, DNS, TLS, timeouts) are retried with a small backoff until
  ``wait_seconds`` have passed (0: one try). Each attempt runs on a daemon worker thread and is abandoned
  after ``attempt_timeout`` plus a second (requests' timeout does not bound DNS); the body is never read.
- Error text is built from the kind of failure only: never the URL (a preview URL may carry a token in
  its query) nor anything the server sent.
"""

from __future__ import annotations

import errno
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import requests
import urllib3.exceptions

from . import __version__
from .api.http import new_session
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
    """What waiting for the deployment found."""

    up: bool
    attempts: int
    status: int | None  # the HTTP status of the answer that proved it up
    error: str  # why the last attempt failed; "" when up. Secret-free: no URL, nothing the server sent.
    waited_seconds: float


class _Unanswered(Exception):
    """One attempt got no HTTP answer; ``retry`` says whether another attempt may get one."""

    def __init__(self, description: str, *, retry: bool) -> None:
        super().__init__(description)
        self.description = description
        self.retry = retry


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
    capped = left < inputs.base_url_wait_seconds
    wait = format_duration(min(inputs.base_url_wait_seconds, left))
    log.info(words.checking_deployment(without_secrets(inputs.base_url), wait))  # issue 19: the URL tested

    def on_retry(attempt: int, error: str, delay: float) -> None:
        log.info(words.BASE_URL_RETRY.format(attempt=attempt, error=error, delay=delay))

    check = wait_until_up(
        inputs.base_url, min(inputs.base_url_wait_seconds, left), clock, env=env, on_retry=on_retry
    )
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
        limit=format_duration(inputs.timeout_seconds) if capped or late else "",
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
    """GET ``url`` until anything answers over HTTP, or ``wait_seconds`` have passed (0: one try).

    No attempt starts after the deadline; the last one may run ``attempt_timeout`` past it.
    ``env`` is where the proxy and CA bundle variables are read (default: the process environment).
    ``on_retry(attempt, error, delay)`` is told of each failed attempt that will be retried.
    """
    environ = os.environ if env is None else env
    start = clock.monotonic()
    deadline = start + max(wait_seconds, 0.0)
    for attempts, delay in enumerate(_backoff(), start=1):
        try:
            status = _attempt(url, attempt_timeout, environ)
        except _Unanswered as failure:
            remaining = deadline - clock.monotonic()
            if not failure.retry or remaining <= 0:
                return DeploymentCheck(False, attempts, None, failure.description, clock.monotonic() - start)
            pause = min(delay, remaining)
            if on_retry is not None:
                on_retry(attempts, failure.description, pause)
            clock.sleep(pause)
        else:
            return DeploymentCheck(True, attempts, status, "", clock.monotonic() - start)
    raise AssertionError("unreachable: the backoff never ends")  # pragma: no cover


def _backoff() -> Iterator[float]:
    delay = FIRST_BACKOFF_SECONDS
    while True:
        yield delay
        delay = min(delay * 2, MAX_BACKOFF_SECONDS)


def _attempt(url: str, timeout: float, env: Mapping[str, str]) -> int:
    """One GET; the HTTP status, or :class:`_Unanswered`. Bounded by ``timeout`` plus a second."""
    outcome: list[int | BaseException] = []

    def exchange() -> None:
        # one per attempt: an abandoned attempt shares nothing with the next
        session = new_session(url, env, {"User-Agent": USER_AGENT, "Accept": "*/*"})
        try:
            with session.get(
                url,
                timeout=(timeout, timeout),
                allow_redirects=False,
                stream=True,  # the body is never read
            ) as response:
                outcome.append(response.status_code)
        except BaseException as err:  # handed to the caller's thread
            outcome.append(err)
        finally:
            session.close()

    worker = threading.Thread(target=exchange, name="deployment check", daemon=True)
    worker.start()
    worker.join(timeout + GRACE_SECONDS)
    if not outcome:
        raise _Unanswered(words.DEPLOYMENT_FAILURES["no answer"].format(timeout=timeout), retry=True)
    result = outcome[0]
    if isinstance(result, int):
        return result
    raise _Unanswered(describe_failure(result, timeout), retry=_retryable(result))


def _retryable(err: BaseException) -> bool:
    """Failures a deployment that is still coming up can cause; a malformed URL cannot get better."""
    return isinstance(err, requests.ConnectionError | requests.Timeout)


def _causes(err: BaseException) -> Iterator[BaseException]:
    """``err`` and what it wraps: requests keeps urllib3's error in ``args``, urllib3 its cause in ``reason``."""
    seen: set[int] = set()
    todo = [err]
    while todo and len(seen) < 20:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for linked in (getattr(current, "reason", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                todo.append(linked)


def describe_failure(err: BaseException, timeout: float) -> str:
    """What went wrong, in words of our own: never the URL, never text from the server."""
    causes = list(_causes(err))

    def caused_by(*kinds: type[BaseException]) -> bool:
        return any(isinstance(cause, kinds) for cause in causes)

    def errno_in(*numbers: int) -> bool:
        return any(_errno(cause) in numbers for cause in causes)

    checks = [  # the first that matches names the failure (words.DEPLOYMENT_FAILURES)
        ("dns", caused_by(urllib3.exceptions.NameResolutionError, socket.gaierror)),
        ("certificate", caused_by(ssl.SSLCertVerificationError)),
        ("tls", caused_by(requests.exceptions.SSLError, ssl.SSLError)),
        ("proxy", caused_by(requests.exceptions.ProxyError)),
        ("connect timeout", caused_by(requests.exceptions.ConnectTimeout)),
        ("read timeout", caused_by(requests.exceptions.ReadTimeout)),
        ("refused", caused_by(ConnectionRefusedError) or errno_in(errno.ECONNREFUSED)),
        ("reset", caused_by(ConnectionResetError) or errno_in(errno.ECONNRESET)),
        ("unreachable", errno_in(errno.ENETUNREACH, errno.EHOSTUNREACH)),
        ("connection", caused_by(requests.ConnectionError)),
        ("request", caused_by(requests.RequestException)),
    ]
    failure = next((name for name, matched in checks if matched), "unexpected")
    return words.DEPLOYMENT_FAILURES[failure].format(timeout=timeout, kind=type(err).__name__)


def _errno(err: BaseException) -> int | None:
    value = getattr(err, "errno", None)
    return value if isinstance(value, int) else None
