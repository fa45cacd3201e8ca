"""Retrying one operation against the API: what the policy (``core/retry.py``) says is worth another
attempt, within a deadline, sleeping on the injected clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..clock import Clock
from ..core.retry import RetryPolicy
from ..render.escape import plural
from .errors import ApiError, DeadlineExceeded, gave_up

T = TypeVar("T")
MIN_ATTEMPT_SECONDS = 1.0  # an attempt (a replayed create, a last try) needs this long to be worth sending

RetryListener = Callable[[str, ApiError, float, int], None]  # operation, error, delay, failed attempts


def retrying(
    operation: str,
    url: str,
    policy: RetryPolicy,
    deadline: float,
    once: Callable[[float], T],
    clock: Clock,
    request_timeout: float,
    on_retry: RetryListener | None,
) -> T:
    """``once(deadline)``'s result, retried while ``policy`` allows and time is left; raises the last error."""
    last_chance = False
    while True:
        try:
            return once(deadline)
        except ApiError as err:
            if not policy.is_retry(err.transient, err.status):
                raise
            error = err
        next_policy = policy.after_failure("POST", url)
        remaining = deadline - clock.monotonic()
        if next_policy is None:
            message = f"{operation} failed after {plural(policy.failures + 1, 'attempt')}: {error.message}"
            raise gave_up(ApiError, message, error, policy.failures + 1)
        delay = next_policy.delay(error.retry_after)
        if delay >= remaining:
            # The server asks for more time than is left. Giving up now would waste what is left (and
            # leave a run orphaned when this is the cancel): wait what we can, and try one last time.
            final_try = min(request_timeout, remaining / 2)
            if last_chance or final_try < MIN_ATTEMPT_SECONDS:
                message = f"{operation} did not succeed before the deadline: {error.message}"
                raise gave_up(DeadlineExceeded, message, error, policy.failures + 1)
            delay, last_chance = remaining - final_try, True
        if on_retry is not None:
            on_retry(operation, error, delay, next_policy.failures)
        clock.sleep(delay)
        policy = next_policy
