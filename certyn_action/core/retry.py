"""Retry policy as an immutable value, built on urllib3's ``Retry``.

urllib3's ``Retry`` supplies the attempt counting, exponential backoff with jitter, and ``Retry-After``
parsing (seconds or HTTP date) with a cap. It is not mounted on the HTTP adapter: there it would sleep
inside the request, where our whole-request deadline, the injected clock and the cancellation on SIGINT
cannot reach it. So the client asks this policy how long to wait and sleeps itself.
"""

from __future__ import annotations

from typing import NamedTuple

from urllib3.exceptions import InvalidHeader, MaxRetryError
from urllib3.util.retry import Retry

# The one rule for what may go away on retry. Statuses: 408 Request Timeout, 429 Too Many Requests and every
# server error but 501 Not Implemented and 505 HTTP Version Not Supported (a gateway's 52x included).
TRANSIENT_STATUSES = frozenset({408, 429, *range(500, 600)}) - {501, 505}
RETRY_AFTER_CAP_SECONDS = 60.0

# Kinds of failure that are not an HTTP status. No answer (network failure, timeout, a body over the cap) and
# an unusable 2xx body (a proxy's HTML page, a cut or ambiguous body) may go away; a certificate that does not
# verify, or a URL that would not reach the configured API host (nothing was sent), won't.
NO_ANSWER = "no answer"
UNUSABLE_BODY = "unusable body"
TLS = "tls"
UNSAFE_URL = "unsafe url"
TRANSIENT_KINDS = frozenset({NO_ANSWER, UNUSABLE_BODY})


def is_transient_status(status: int) -> bool:
    return status in TRANSIENT_STATUSES


def is_transient(kind: str | None = None, status: int | None = None) -> bool:
    """Whether a failure of this kind (or this HTTP status) may go away on retry."""
    if kind is not None:
        return kind in TRANSIENT_KINDS
    return status is not None and is_transient_status(status)


class RetryPolicy(NamedTuple):
    retry: Retry
    # Statuses this operation retries beyond the transient ones (the cancel: a brand-new run may 404).
    also: frozenset[int] = frozenset()

    @classmethod
    def create(
        cls,
        max_attempts: int | None,
        *,
        backoff_factor: float = 1.0,
        backoff_max: float = 30.0,
        jitter: float = 1.0,
        retry_after_max: float = RETRY_AFTER_CAP_SECONDS,
    ) -> RetryPolicy:
        """``max_attempts`` counts the first try; None retries without limit (the caller's deadline ends it)."""
        # Only what this module consults: increment() counts against total, get_backoff_time() and
        # parse_retry_after() read the backoff and the cap. Retry's methods, statuses and redirect or
        # raise settings apply only where it is mounted on an adapter, which it is not (see above).
        return cls(
            Retry(
                total=None if max_attempts is None else max_attempts - 1,
                backoff_factor=backoff_factor,
                backoff_max=backoff_max,
                backoff_jitter=jitter,
                retry_after_max=int(retry_after_max),
            )
        )

    def with_also(self, *statuses: int) -> RetryPolicy:
        return RetryPolicy(self.retry, self.also | frozenset(statuses))

    def is_retry(self, transient: bool, status: int | None = None) -> bool:
        """Whether a failure is worth another attempt (the way urllib3's ``Retry.is_retry`` decides):
        ``transient`` as classified by :func:`is_transient`, or a status this operation also retries."""
        return transient or (status is not None and status in self.also)

    @property
    def failures(self) -> int:
        return len(self.retry.history)

    def after_failure(self, method: str, url: str) -> RetryPolicy | None:
        """The policy after one more failed attempt, or None when no attempt is left."""
        try:
            return RetryPolicy(self.retry.increment(method, url), self.also)
        except MaxRetryError:
            return None

    def delay(self, retry_after: str | None = None) -> float:
        """Seconds to wait before the next attempt: the backoff, or the server's ``Retry-After`` (capped)
        when that is longer.

        Never shorter than the backoff: a ``Retry-After`` of 0, or a date in the past (clock skew), would
        otherwise spend every attempt within a second of a short outage.
        """
        backoff = self.retry.get_backoff_time()
        if retry_after:
            try:
                return max(self.retry.parse_retry_after(retry_after), backoff)
            except (InvalidHeader, ValueError, OverflowError):
                pass  # an unusable header (or a date out of range) means: use the backoff
        return backoff
