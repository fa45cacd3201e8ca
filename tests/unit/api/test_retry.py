"""The retry policies and the one rule for what may pass (api/client.py): attempts, growing capped backoff
with bounded jitter, Retry-After obeyed but capped, ``classify``."""

from __future__ import annotations

import email.utils
import random
import time

import pytest

from certyn_action.api.client import (
    CANCEL,
    CREATE,
    NO_ANSWER,
    READ,
    RELEASE,
    RETRY_AFTER_CAP_SECONDS,
    TLS,
    TRANSIENT_STATUSES,
    UNSAFE_URL,
    UNUSABLE_BODY,
    ApiError,
    RetryPolicy,
    classify,
)

URL = "https://api.certyn.io/api/ci/runs"


def _after(policy: RetryPolicy, failures: int) -> RetryPolicy:
    for _ in range(failures):
        nxt = policy.after_failure("POST", URL)
        assert nxt is not None
        policy = nxt
    return policy


@pytest.mark.parametrize("max_attempts", [1, 2, 5])
def test_attempts_counted(max_attempts: int) -> None:
    policy = RetryPolicy.create(max_attempts)
    assert policy.failures == 0
    policy = _after(policy, max_attempts - 1)
    assert policy.failures == max_attempts - 1
    assert policy.after_failure("POST", URL) is None


def test_one_attempt_means_no_retry() -> None:
    assert RetryPolicy.create(1).after_failure("POST", URL) is None


def test_unlimited_attempts() -> None:
    policy = _after(RetryPolicy.create(None, jitter=0), 200)
    assert policy.failures == 200
    assert policy.after_failure("GET", URL) is not None


def test_policy_is_immutable() -> None:
    policy = RetryPolicy.create(3)
    policy.after_failure("POST", URL)
    assert policy.failures == 0


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy.create(None, backoff_factor=1.0, backoff_max=30.0, jitter=0)
    delays = [_after(policy, n).delay() for n in range(1, 9)]
    # urllib3: the first retry is immediate, then factor * 2 ** (failures - 1), capped.
    assert delays == [0.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_backoff_factor_scales() -> None:
    policy = RetryPolicy.create(None, backoff_factor=0.25, backoff_max=1.0, jitter=0)
    assert [_after(policy, n).delay() for n in (2, 3, 4, 5)] == [0.5, 1.0, 1.0, 1.0]


def test_jitter_bounded() -> None:
    policy = _after(RetryPolicy.create(None, backoff_factor=1.0, backoff_max=30.0, jitter=1.0), 3)
    delays = {policy.delay() for _ in range(200)}
    assert all(4.0 <= d <= 5.0 for d in delays)
    assert len(delays) > 1  # it is random


def test_jitter_never_exceeds_the_cap() -> None:
    policy = _after(RetryPolicy.create(None, backoff_factor=1.0, backoff_max=3.0, jitter=5.0), 6)
    assert all(d <= 3.0 for d in (policy.delay() for _ in range(100)))


@pytest.mark.parametrize(
    ("header", "seconds"), [("0", 0), ("7", 7), (" 12 ", 12), ("60", 60), ("61", 60), ("86400", 60)]
)
def test_retry_after_seconds_obeyed_and_capped(header: str, seconds: float) -> None:
    policy = _after(RetryPolicy.create(5, jitter=0), 1)
    assert policy.delay(header) == seconds


def test_retry_after_is_capped_at_60_by_default() -> None:
    policy = _after(RetryPolicy.create(5), 1)
    assert policy.delay("3600") == RETRY_AFTER_CAP_SECONDS == 60.0
    assert policy.delay("59") == 59
    assert _after(RetryPolicy.create(5, retry_after_max=5), 1).delay("30") == 5


def test_retry_after_http_date() -> None:
    policy = _after(RetryPolicy.create(5, jitter=0), 1)
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= policy.delay(soon) <= 31
    assert policy.delay(email.utils.formatdate(time.time() + 3600, usegmt=True)) == 60
    assert policy.delay("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past: go now


def test_retry_after_never_shortens_the_backoff() -> None:
    # "Retry-After: 0" or a date in the past (clock skew) must not spend every attempt within a second
    policy = _after(RetryPolicy.create(5, backoff_factor=1.0, jitter=0), 3)
    assert policy.delay("0") == 4.0
    assert policy.delay("Wed, 21 Oct 2015 07:28:00 GMT") == 4.0
    assert policy.delay("2") == 4.0
    assert policy.delay("7") == 7


@pytest.mark.parametrize("header", ["soon", "1.5", "-5", "1e3", "   ", "NaN", "Tomorrow, 25:00", None, ""])
def test_invalid_retry_after_falls_back_to_backoff(header: str | None) -> None:
    policy = _after(RetryPolicy.create(5, backoff_factor=1.0, jitter=0), 3)
    assert policy.delay(header) == 4.0


def test_retry_after_date_out_of_range_falls_back_to_backoff() -> None:
    policy = _after(RetryPolicy.create(5, backoff_factor=1.0, jitter=0), 3)
    assert policy.delay("Mon, 01 Jan 99999999 00:00:00 GMT") == 4.0


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 507, 520, 599])
def test_transient_statuses(status: int) -> None:
    assert classify(ApiError("x", status=status))


@pytest.mark.parametrize("status", [200, 201, 301, 400, 401, 403, 404, 409, 422, 501, 505])
def test_permanent_statuses(status: int) -> None:
    assert not classify(ApiError("x", status=status))


def test_the_transient_set_and_the_rule_agree_on_every_status() -> None:
    # One rule: the set handed to urllib3 and the classification of replies never disagree (they did for
    # 506-599: retried by the client, absent from the set).
    assert {s for s in range(100, 600) if classify(ApiError("x", status=s))} == TRANSIENT_STATUSES
    assert {408, 429, 500, 502, 503, 504, 507, 520, 599} <= TRANSIENT_STATUSES
    assert not {501, 505} & TRANSIENT_STATUSES


def test_default_backoff_of_the_create_is_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    # The create's defaults: factor 1 s, doubling, jitter of up to 1 s, capped at 30 s (jitter included).
    monkeypatch.setattr(random, "random", lambda: 0.5)  # the middle of the jitter range
    policy = RetryPolicy.create(None)
    delays = [_after(policy, n).delay() for n in range(1, 8)]
    assert delays == [0.0, 2.5, 4.5, 8.5, 16.5, 30.0, 30.0]
    monkeypatch.setattr(random, "random", lambda: 0.999)
    assert _after(policy, 2).delay() == pytest.approx(2.999)


def test_limited_attempts_keep_the_default_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "random", lambda: 0.0)
    assert [_after(RetryPolicy.create(10), n).delay() for n in (2, 3, 9)] == [2.0, 4.0, 30.0]


# -- the one rule: what may go away on retry, and what an operation retries -------------------------


@pytest.mark.parametrize(
    ("kind", "transient"), [(NO_ANSWER, True), (UNUSABLE_BODY, True), (TLS, False), (UNSAFE_URL, False)]
)
def test_kinds_of_failure_that_may_go_away_on_retry(kind: str, transient: bool) -> None:
    # No answer or a proxy's page may go away; a certificate that does not verify, or a URL that would
    # take the key elsewhere (nothing was sent), will not.
    assert classify(ApiError("x", kind=kind)) is transient
    assert classify(ApiError("x", status=200, kind=kind)) is transient  # the kind says more than a 2xx


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        (408, True),
        (429, True),
        (503, True),
        (520, True),
        (400, False),
        (404, False),
        (409, False),
        (501, False),
    ],
)
def test_a_status_is_transient_by_the_same_rule(status: int, transient: bool) -> None:
    assert classify(ApiError("x", status=status)) is transient


def test_a_failure_with_neither_kind_nor_status_is_not_transient() -> None:
    assert classify(ApiError("x")) is False


def test_an_error_given_up_on_still_says_whether_the_api_was_unreachable() -> None:
    from certyn_action.api.client import DeadlineExceeded, GaveUp  # noqa: PLC0415

    assert classify(GaveUp("x", status=503))
    assert classify(DeadlineExceeded("x", kind=NO_ANSWER))
    assert not classify(GaveUp("x", status=404))


def test_only_the_cancel_also_retries_a_404_with_the_quick_backoff_of_a_release() -> None:
    # A brand-new run may not be visible yet; nothing else retries a status classify() does not.
    assert CANCEL.also == {404}
    assert CREATE.also == READ.also == RELEASE.also == frozenset()
    assert CANCEL.retry.get_backoff_time() == RELEASE.retry.get_backoff_time()
    assert (CANCEL.retry.backoff_factor, CANCEL.retry.backoff_max) == (0.25, 1.0)


def test_the_extra_statuses_stay_after_each_failure() -> None:
    policy = RetryPolicy.create(4)._replace(also=frozenset({404}))
    for failures in (1, 2, 3):
        nxt = policy.after_failure("DELETE", URL)
        assert nxt is not None
        policy = nxt
        assert policy.failures == failures
        assert policy.also == {404}
    assert policy.after_failure("DELETE", URL) is None  # the fourth attempt was the last
