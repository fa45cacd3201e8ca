"""settings.py, the derived keys: one key per step execution, different for everything that is a different execution."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certyn_action.settings import MAX_IDEMPOTENCY_KEY, GitHubContext, idempotency_key

BASE_ENV = {
    "GITHUB_REPOSITORY": "acme/shop",
    "GITHUB_RUN_ID": "123456789",
    "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_JOB": "test",
    "GITHUB_ACTION": "certyn",
}
PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")


def _key(env: dict[str, str] | None = None, job_index: str = "", check_run_id: str = "") -> str:
    ctx = GitHubContext.from_env(BASE_ENV | (env or {}), {})
    return idempotency_key(ctx, job_index, check_run_id)


def _valid(key: str) -> bool:
    return 0 < len(key) <= MAX_IDEMPOTENCY_KEY and PRINTABLE_ASCII.fullmatch(key) is not None


def test_same_environment_same_key() -> None:
    assert _key() == _key()
    assert _key(job_index="2", check_run_id="99") == _key(job_index="2", check_run_id="99")


def test_key_is_readable() -> None:
    key = _key(job_index="3", check_run_id="777")
    assert key == "gha:acme/shop:123456789:1:test:3:777:certyn"


@pytest.mark.parametrize(
    ("env", "job_index", "check_run_id"),
    [
        ({"GITHUB_RUN_ATTEMPT": "2"}, "", ""),  # re-run
        ({"GITHUB_JOB": "e2e"}, "", ""),  # another job
        ({}, "1", ""),  # another matrix leg
        ({}, "", "42"),  # another job id
        ({"GITHUB_ACTION": "certyn_2"}, "", ""),  # the action used twice in one job
        ({"GITHUB_ACTION": "__certyn_run-action"}, "", ""),
        ({"GITHUB_REPOSITORY": "acme/other"}, "", ""),
        ({"GITHUB_RUN_ID": "123456790"}, "", ""),
    ],
)
def test_key_differs(env: dict[str, str], job_index: str, check_run_id: str) -> None:
    assert _key(env, job_index, check_run_id) != _key()


def test_every_matrix_leg_gets_its_own_key() -> None:
    keys = {_key(job_index=str(i), check_run_id=str(9000 + i)) for i in range(32)}
    assert len(keys) == 32


def test_missing_attempt_and_leg_read_as_first_attempt_and_leg_zero() -> None:
    assert _key({"GITHUB_RUN_ATTEMPT": ""}) == _key({"GITHUB_RUN_ATTEMPT": "1"})
    assert _key(job_index="") == _key(job_index="0")


def test_outside_actions_random_per_call() -> None:
    ctx = GitHubContext.from_env({}, {})
    keys = {idempotency_key(ctx, "", "") for _ in range(20)}
    assert len(keys) == 20
    assert all(_valid(k) for k in keys)


def test_long_parts_are_cut_to_200_with_a_digest() -> None:
    a = _key({"GITHUB_JOB": "j" * 300})
    b = _key({"GITHUB_JOB": "j" * 301})
    assert len(a) == len(b) == MAX_IDEMPOTENCY_KEY
    assert a != b
    assert _valid(a)


def test_unsafe_characters_replaced_but_keys_stay_distinct() -> None:
    a = _key({"GITHUB_ACTION": "stép"})
    b = _key({"GITHUB_ACTION": "st p"})
    c = _key({"GITHUB_ACTION": "st_p"})
    assert len({a, b, c}) == 3
    assert all(_valid(k) for k in (a, b, c))
    assert "st_p" in a  # still readable


_part = st.text(max_size=300)
_PART_NAMES = ("repository", "run_id", "run_attempt", "job", "action")


@settings(max_examples=300, deadline=None)
@given(
    repository=_part,
    run_id=_part.filter(bool),
    run_attempt=_part,
    job=_part,
    action=_part,
    job_index=_part,
    check_run_id=_part,
)
def test_key_always_printable_ascii_at_most_200(
    repository: str, run_id: str, run_attempt: str, job: str, action: str, job_index: str, check_run_id: str
) -> None:
    ctx = GitHubContext(repository=repository, run_id=run_id, run_attempt=run_attempt, job=job, action=action)
    key = idempotency_key(ctx, job_index, check_run_id)
    assert _valid(key), key
    assert key == idempotency_key(ctx, job_index, check_run_id)


@settings(max_examples=300, deadline=None)
@given(
    which=st.sampled_from([*_PART_NAMES, "job_index", "check_run_id"]),
    first=st.text(max_size=250),
    second=st.text(max_size=250),
)
def test_keys_differing_in_one_part_stay_distinct(which: str, first: str, second: str) -> None:
    # Values that the defaults treat alike are the same execution.
    def canon(value: str) -> str:
        if which == "run_attempt":
            return value or "1"
        if which == "job_index":
            return value or "0"
        return value

    if canon(first) == canon(second):
        return
    base = GitHubContext(repository="acme/shop", run_id="1", run_attempt="1", job="test", action="certyn")

    def key(value: str) -> str:
        if which == "job_index":
            return idempotency_key(base, value, "7")
        if which == "check_run_id":
            return idempotency_key(base, "0", value)
        if which == "run_id" and not value:
            return idempotency_key(base._replace(run_id="", action=""), "0", "7")  # random
        changes: dict[str, Any] = {which: value}
        return idempotency_key(base._replace(**changes), "0", "7")

    assert key(first) != key(second)


def test_outside_actions_the_key_is_128_random_bits_in_hex() -> None:
    key = idempotency_key(GitHubContext.from_env({}, {}), "", "")
    assert re.fullmatch(r"certyn-run-action:[0-9a-f]{32}", key), key


def _raw_of_length(length: int) -> tuple[str, str]:
    """A job name that makes the raw key exactly ``length`` characters long, and that raw key."""
    job = "j" * (length - len("gha:acme/shop:123456789:1::0::certyn"))
    return job, f"gha:acme/shop:123456789:1:{job}:0::certyn"


def test_a_safe_key_of_exactly_200_characters_is_kept_as_is() -> None:
    job, raw = _raw_of_length(200)
    assert len(raw) == 200
    assert _key({"GITHUB_JOB": job}) == raw


def test_a_key_cut_to_200_ends_with_a_24_hex_digest_of_the_raw_key() -> None:
    job, raw = _raw_of_length(201)
    key = _key({"GITHUB_JOB": job})
    assert len(key) == 200
    assert key == raw[:175] + "~" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


def test_safe_punctuation_is_kept_and_anything_else_replaced_with_a_digest() -> None:
    assert (
        _key({"GITHUB_ACTION": "a.b_c~d:e/f@g+h=i-j"})
        == "gha:acme/shop:123456789:1:test:0::a.b_c~d:e/f@g+h=i-j"
    )
    raw = "gha:acme/shop:123456789:1:test:0::a b"
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]
    assert _key({"GITHUB_ACTION": "a b"}) == f"gha:acme/shop:123456789:1:test:0::a_b~{digest}"
