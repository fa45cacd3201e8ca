"""GitHub's REST API through the project's transport, with GitHub's origin (``GITHUB_API_URL``) and the token as
``Authorization: Bearer`` (never a Certyn key). A rate limit or a transient failure is retried on the clock within
the budget (cut after a signal to the release budget); a POST that got no answer is never sent again (one check
run or comment per suite and leg). 401/403/404 are a refusal: a permission to add.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from .api.client import TRANSIENT_STATUSES, RetryPolicy
from .api.http import (
    Call,
    NotSent,
    Reply,
    Request,
    TlsVerificationFailed,
    Transport,
    TransportError,
    UnsafeUrl,
)
from .clock import Clock, Deadline
from .render.escape import one_line
from .resources import RELEASE_BUDGET_SECONDS
from .runner.signals import SignalGuard

BUDGET_SECONDS = 15.0  # GitHub's writes never delay the verdict by more than this
REQUEST_SECONDS = 10.0  # one exchange
API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 10  # comments listed: the sticky comment is among the first 1,000
REFUSALS = (401, 403, 404)


class GitHubTransport(Transport):
    PATH_PREFIX = ("/repos/", "/user")  # /user: who the token is
    CONFIGURED_BY = "the runner's GITHUB_API_URL"

    def _credentials(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }


class GitHubError(Exception):
    """A GitHub request that did not succeed. The message names no secret."""

    def __init__(self, message: str, status: int | None = None, *, rate_limited: bool = False) -> None:
        super().__init__(message)
        self.status, self.rate_limited = status, rate_limited

    @property
    def refused(self) -> bool:
        return not self.rate_limited and self.status in REFUSALS


def rate_limit_wait(reply: Reply, wall: Callable[[], float] = time.time) -> str | None:
    """A rate limit's wait as a ``Retry-After`` value; None for no rate limit (a 403 without these headers)."""
    if reply.status not in (403, 429):
        return None
    retry_after = reply.headers.get("Retry-After")
    if retry_after:
        return retry_after
    if reply.headers.get("x-ratelimit-remaining") == "0":
        try:
            return str(max(int(float(reply.headers.get("x-ratelimit-reset") or "")) - int(wall()), 1))
        except ValueError:
            return "60"
    return None


def _message(reply: Reply) -> str:
    try:
        data = reply.json()
    except ValueError:
        data = None
    said = data.get("message") if isinstance(data, dict) else None
    return f"HTTP {reply.status}" + (f" ({one_line(said, 200)})" if isinstance(said, str) and said else "")


class GitHub:
    def __init__(
        self,
        transport: GitHubTransport,
        clock: Clock,
        repository: str,
        *,
        wall: Callable[[], float] = time.time,
        on_retry: Callable[[str, str, float], None] | None = None,
        guard: SignalGuard | None = None,
    ) -> None:
        self.transport, self.clock, self.wall, self.on_retry = transport, clock, wall, on_retry
        self.guard = guard
        self.repo = f"/repos/{repository}"
        self._in_flight: Call | None = None  # an exchange a signal interrupted the wait for

    def answer_in_flight(self, deadline: Deadline) -> Any:
        """The JSON of a 2xx answer to the last exchange, which a signal may have interrupted (a check run create
        whose id must not be lost), awaited until ``deadline``; else None."""
        call, self._in_flight = self._in_flight, None
        if call is None:
            return None
        try:
            reply = call.wait(self._until(deadline).left())
            return reply.json() if 200 <= reply.status < 300 else None
        except (TransportError, ValueError):
            return None

    def request(
        self,
        method: str,
        path: str,
        deadline: Deadline,
        body: Mapping[str, Any] | None = None,
        *,
        under: str | None = None,
    ) -> tuple[Any, Reply]:
        policy = RetryPolicy.create(None, backoff_factor=0.5, backoff_max=4.0)
        prefix = self.repo if under is None else under
        while True:
            deadline = self._until(deadline)  # again at each attempt: a signal may have come since
            attempt = deadline.capped(REQUEST_SECONDS)
            try:
                with (
                    self.guard.deferred() if self.guard else contextlib.nullcontext()
                ):  # kept before a signal
                    self._in_flight = self.transport.begin(Request(method, prefix + path, body), attempt)
                # kept once answered too: a signal may land before the caller has kept what the answer says
                reply = self._in_flight.wait(attempt.left(), left=partial(self._left, attempt))
            except TransportError as err:
                self._in_flight, error, retry_after = None, GitHubError(str(err)), None
                # a POST that may have been sent may have made one: never two
                maybe_sent = method == "POST" and not isinstance(err, NotSent)
                if maybe_sent or isinstance(err, TlsVerificationFailed | UnsafeUrl):
                    raise error from None
            else:
                if 200 <= reply.status < 300:
                    try:
                        return reply.json(), reply
                    except ValueError:
                        raise GitHubError(f"HTTP {reply.status} with a body that is not JSON") from None
                retry_after = rate_limit_wait(reply, self.wall)
                error = GitHubError(_message(reply), reply.status, rate_limited=retry_after is not None)
                if retry_after is None and reply.status not in TRANSIENT_STATUSES:
                    raise error
            policy = policy.after_failure(method, path) or policy
            delay = policy.delay(retry_after)
            if delay >= deadline.left():
                raise error
            if self.on_retry is not None:
                self.on_retry(f"{method} {path}", str(error), delay)
            self.clock.sleep(delay)

    def _left(self, deadline: Deadline) -> float:
        """The seconds left before ``deadline``, cut by a signal that comes while a request is on the wire."""
        return self._until(deadline).left()

    def _until(self, deadline: Deadline) -> Deadline:
        """``deadline``, or the end of the release budget when a signal came: the runner kills soon after."""
        since = self.guard.received_at if self.guard else None
        if since is None:
            return deadline
        return deadline.earlier(Deadline.after(self.clock, RELEASE_BUDGET_SECONDS, since))

    def login(self, deadline: Deadline) -> str | None:
        """Who the token is (``GET /user``): a personal token's login; None when GitHub does not say (an
        installation token such as GITHUB_TOKEN is refused it), which is no failure."""
        try:
            data, _ = self.request("GET", "/user", deadline, under="")
        except GitHubError:
            return None
        login = data.get("login") if isinstance(data, Mapping) else None
        return login if isinstance(login, str) and login else None

    def pages(self, path: str, deadline: Deadline) -> list[Any]:
        """Every item of a paged list, following ``Link: rel="next"``."""
        items: list[Any] = []
        for page in range(1, MAX_PAGES + 1):
            data, reply = self.request("GET", f"{path}?per_page={PER_PAGE}&page={page}", deadline)
            if not isinstance(data, list):
                raise GitHubError("a list that is not a JSON array")
            items += data
            if 'rel="next"' not in (reply.headers.get("Link") or ""):
                break
        return items
