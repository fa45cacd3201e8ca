"""settings.py, the keys derived from the GitHub context: the run's Idempotency-Key and the temporary environment's
key and label. Each is the same for every retry inside one step execution and different for every other execution
(another run, attempt, job, matrix leg, step or reusable-workflow call)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certyn_action.settings import (
    KEY_MAX_LENGTH,
    KEY_PATTERN,
    LABEL_MAX_LENGTH,
    MAX_IDEMPOTENCY_KEY,
    GitHubContext,
    environment_key,
    environment_label,
    idempotency_key,
    read_settings,
)
from tests.unit.settings.support import SETTINGS, input_env

# == the Idempotency-Key =====================================================================================

STEP_ENV = {
    "GITHUB_REPOSITORY": "acme/shop",
    "GITHUB_RUN_ID": "123456789",
    "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_JOB": "test",
    "GITHUB_ACTION": "certyn",
}
PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")


def _idempotency_key(env: dict[str, str] | None = None, job_index: str = "", check_run_id: str = "") -> str:
    ctx = GitHubContext.from_env(STEP_ENV | (env or {}), {})
    return idempotency_key(ctx, job_index, check_run_id)


def _valid(key: str) -> bool:
    return 0 < len(key) <= MAX_IDEMPOTENCY_KEY and PRINTABLE_ASCII.fullmatch(key) is not None


def test_same_environment_same_key() -> None:
    assert _idempotency_key() == _idempotency_key()
    assert _idempotency_key(job_index="2", check_run_id="99") == _idempotency_key(
        job_index="2", check_run_id="99"
    )


def test_key_is_readable() -> None:
    key = _idempotency_key(job_index="3", check_run_id="777")
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
    assert _idempotency_key(env, job_index, check_run_id) != _idempotency_key()


def test_every_matrix_leg_gets_its_own_key() -> None:
    keys = {_idempotency_key(job_index=str(i), check_run_id=str(9000 + i)) for i in range(32)}
    assert len(keys) == 32


def test_missing_attempt_and_leg_read_as_first_attempt_and_leg_zero() -> None:
    assert _idempotency_key({"GITHUB_RUN_ATTEMPT": ""}) == _idempotency_key({"GITHUB_RUN_ATTEMPT": "1"})
    assert _idempotency_key(job_index="") == _idempotency_key(job_index="0")


def test_outside_actions_random_per_call() -> None:
    ctx = GitHubContext.from_env({}, {})
    keys = {idempotency_key(ctx, "", "") for _ in range(20)}
    assert len(keys) == 20
    assert all(_valid(k) for k in keys)


def test_long_parts_are_cut_to_200_with_a_digest() -> None:
    a = _idempotency_key({"GITHUB_JOB": "j" * 300})
    b = _idempotency_key({"GITHUB_JOB": "j" * 301})
    assert len(a) == len(b) == MAX_IDEMPOTENCY_KEY
    assert a != b
    assert _valid(a)


def test_unsafe_characters_replaced_but_keys_stay_distinct() -> None:
    a = _idempotency_key({"GITHUB_ACTION": "stép"})
    b = _idempotency_key({"GITHUB_ACTION": "st p"})
    c = _idempotency_key({"GITHUB_ACTION": "st_p"})
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
    assert _idempotency_key({"GITHUB_JOB": job}) == raw


def test_a_key_cut_to_200_ends_with_a_24_hex_digest_of_the_raw_key() -> None:
    job, raw = _raw_of_length(201)
    key = _idempotency_key({"GITHUB_JOB": job})
    assert len(key) == 200
    assert key == raw[:175] + "~" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


def test_safe_punctuation_is_kept_and_anything_else_replaced_with_a_digest() -> None:
    assert (
        _idempotency_key({"GITHUB_ACTION": "a.b_c~d:e/f@g+h=i-j"})
        == "gha:acme/shop:123456789:1:test:0::a.b_c~d:e/f@g+h=i-j"
    )
    raw = "gha:acme/shop:123456789:1:test:0::a b"
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]
    assert _idempotency_key({"GITHUB_ACTION": "a b"}) == f"gha:acme/shop:123456789:1:test:0::a_b~{digest}"


# == the temporary environment's key and label ===============================================================

PREVIEW_STEP_ENV = {
    "GITHUB_REPOSITORY": "acme/shop",
    "GITHUB_RUN_ID": "12345678901",
    "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_JOB": "e2e",
    "GITHUB_ACTION": "__certyn_run-action",
}


def _preview_ctx(env: dict[str, str] | None = None) -> GitHubContext:
    return GitHubContext.from_env(PREVIEW_STEP_ENV | (env or {}), {})


def _environment_key(env: dict[str, str] | None = None, job_index: str = "", check_run_id: str = "") -> str:
    return environment_key(_preview_ctx(env), job_index, check_run_id)


# -- key -------------------------------------------------------------------------------------------


def test_key_is_stable_within_one_step() -> None:
    # Every retry of the create in one step derives the same key, so a 409 can only be our own earlier attempt.
    assert _environment_key(job_index="2", check_run_id="99") == _environment_key(
        job_index="2", check_run_id="99"
    )


def test_key_is_readable_and_valid() -> None:
    key = _environment_key(job_index="3", check_run_id="777")
    assert key.startswith("gha-shop-12345678901-1-e2e-3-")
    assert KEY_PATTERN.fullmatch(key)
    assert len(key) <= KEY_MAX_LENGTH


@pytest.mark.parametrize(
    ("env", "job_index", "check_run_id"),
    [
        ({"GITHUB_RUN_ATTEMPT": "2"}, "", ""),  # re-run
        ({"GITHUB_JOB": "unit"}, "", ""),  # another job
        ({}, "1", ""),  # another matrix leg
        ({}, "", "42"),  # another check run
        ({"GITHUB_ACTION": "certyn_2"}, "", ""),  # the action used twice in one job
        ({"GITHUB_REPOSITORY": "acme/other"}, "", ""),
        ({"GITHUB_REPOSITORY": "other/shop"}, "", ""),  # same name, other owner
        ({"GITHUB_RUN_ID": "12345678902"}, "", ""),
    ],
)
def test_key_differs_for_every_other_execution(
    env: dict[str, str], job_index: str, check_run_id: str
) -> None:
    assert _environment_key(env, job_index, check_run_id) != _environment_key()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # Sanitising makes these equal in the readable part; the digest must keep them apart.
        ({"GITHUB_JOB": "E2E"}, {"GITHUB_JOB": "e2e"}),
        ({"GITHUB_JOB": "e2e_tests"}, {"GITHUB_JOB": "e2e-tests"}),
        ({"GITHUB_REPOSITORY": "acme/My.Shop"}, {"GITHUB_REPOSITORY": "acme/my-shop"}),
        # Truncation makes these equal in the readable part.
        (
            {"GITHUB_JOB": "integration-tests-chrome"},
            {"GITHUB_JOB": "integration-tests-firefox"},
        ),
        (
            {"GITHUB_REPOSITORY": "acme/" + "a" * 80 + "1"},
            {"GITHUB_REPOSITORY": "acme/" + "a" * 80 + "2"},
        ),
        # A separator moved between parts.
        ({"GITHUB_JOB": "a-b", "GITHUB_ACTION": "c"}, {"GITHUB_JOB": "a", "GITHUB_ACTION": "b-c"}),
    ],
)
def test_sanitising_or_truncating_never_makes_two_steps_collide(
    first: dict[str, str], second: dict[str, str]
) -> None:
    one, two = _environment_key(first), _environment_key(second)
    assert one != two
    assert KEY_PATTERN.fullmatch(one)
    assert KEY_PATTERN.fullmatch(two)


@pytest.mark.parametrize(
    ("env", "job_index", "readable"),
    [
        ({"GITHUB_RUN_ATTEMPT": ""}, "", "gha-shop-12345678901-1-e2e-0"),  # the first attempt, leg 0
        ({"GITHUB_RUN_ATTEMPT": "2"}, "3", "gha-shop-12345678901-2-e2e-3"),
        # the repository's name cut to 14 characters, the job's to 10
        ({"GITHUB_REPOSITORY": "acme/Shop-Frontend-App"}, "", "gha-shop-frontend-12345678901-1-e2e-0"),
        ({"GITHUB_JOB": "e2e-tests-chrome"}, "", "gha-shop-12345678901-1-e2e-tests-0"),
        ({"GITHUB_REPOSITORY": "acme/team/shop"}, "", "gha-shop-12345678901-1-e2e-0"),  # the last part
        ({"GITHUB_RUN_ID": "1" * 40}, "", "gha-shop-" + "1" * 40),  # cut to 50 right after a hyphen
    ],
    ids=["no attempt or leg", "attempt and leg", "long repository", "long job", "nested name", "cut"],
)
def test_the_key_reads_repository_run_attempt_job_and_leg_then_a_digest(
    env: dict[str, str], job_index: str, readable: str
) -> None:
    # Each part is cut short without a hyphen left at its end: never two in a row, never one before the digest.
    key = _environment_key(env, job_index)
    assert re.fullmatch(re.escape(readable) + "-[0-9a-z]{12}", key), key


def test_both_keys_come_from_the_job_index_and_check_run_id_the_runner_passes() -> None:
    env = PREVIEW_STEP_ENV | input_env(job_index="3", check_run_id="777")
    settings = read_settings(env)
    assert settings.idempotency_key == "gha:acme/shop:12345678901:1:e2e:3:777:__certyn_run-action"
    assert settings.temporary_environment_key == environment_key(_preview_ctx(), "3", "777")
    assert settings.temporary_environment_key.startswith("gha-shop-12345678901-1-e2e-3-")


def test_outside_actions_both_keys_come_from_the_random_source_given() -> None:
    settings = read_settings(input_env(), random_hex=lambda n: "ab" * n)
    assert settings.idempotency_key == "certyn-run-action:" + "ab" * 16
    assert settings.temporary_environment_key == "local-" + "ab" * 12


def test_long_repository_cannot_push_the_run_out_of_the_key() -> None:
    key = _environment_key({"GITHUB_REPOSITORY": "acme/" + "very-long-repository-name" * 5})
    assert "-12345678901-" in key
    assert len(key) <= KEY_MAX_LENGTH


def test_outside_actions_the_key_is_random() -> None:
    ctx = GitHubContext()
    one, two = environment_key(ctx, "", ""), environment_key(ctx, "", "")
    assert one != two
    assert KEY_PATTERN.fullmatch(one)
    assert KEY_PATTERN.fullmatch(two)
    assert environment_key(ctx, "", "", random_hex=lambda n: "ab" * n) == "local-" + "ab" * 12


_ANY_TEXT = st.text(max_size=120)


@SETTINGS
@given(
    repository=_ANY_TEXT,
    run_id=st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != ""),
    attempt=_ANY_TEXT,
    job=_ANY_TEXT,
    action=_ANY_TEXT,
    job_index=_ANY_TEXT,
    check_run_id=_ANY_TEXT,
)
def test_any_context_gives_a_valid_key(
    repository: str, run_id: str, attempt: str, job: str, action: str, job_index: str, check_run_id: str
) -> None:
    ctx = GitHubContext(repository=repository, run_id=run_id, run_attempt=attempt, job=job, action=action)
    key = environment_key(ctx, job_index, check_run_id)
    assert KEY_PATTERN.fullmatch(key), key
    assert "--" not in key
    assert not key.endswith("-")
    assert key == environment_key(ctx, job_index, check_run_id)


_PART = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789-_. /", max_size=60)


@SETTINGS
@given(job=_PART, action=_PART, legs=st.lists(_PART, min_size=2, max_size=2, unique=True))
def test_different_matrix_legs_give_different_keys(job: str, action: str, legs: list[str]) -> None:
    ctx = _preview_ctx({"GITHUB_JOB": job, "GITHUB_ACTION": action})
    # "" and "0" are one leg (the default job index), as for the idempotency key.
    if {legs[0] or "0", legs[1] or "0"} == {"0"}:
        return
    assert environment_key(ctx, legs[0], "") != environment_key(ctx, legs[1], "")


@SETTINGS
@given(job=_PART, steps=st.lists(_PART, min_size=2, max_size=2, unique=True))
def test_different_steps_give_different_keys(job: str, steps: list[str]) -> None:
    ctx = _preview_ctx({"GITHUB_JOB": job})
    one = environment_key(ctx._replace(action=steps[0]), "", "")
    two = environment_key(ctx._replace(action=steps[1]), "", "")
    assert one != two


@SETTINGS
@given(attempts=st.lists(st.integers(min_value=1, max_value=10_000), min_size=2, max_size=2, unique=True))
def test_different_attempts_give_different_keys(attempts: list[int]) -> None:
    one = _environment_key({"GITHUB_RUN_ATTEMPT": str(attempts[0])})
    two = _environment_key({"GITHUB_RUN_ATTEMPT": str(attempts[1])})
    assert one != two


# -- label and version -----------------------------------------------------------------------------


def test_label_names_repository_run_and_job() -> None:
    label = environment_label(_preview_ctx({"GITHUB_RUN_ATTEMPT": "2"}), "3")
    assert label == "GitHub Actions acme/shop, run 12345678901 attempt 2, job e2e leg 3"


def test_label_of_a_first_attempt_does_not_mention_the_attempt() -> None:
    assert environment_label(_preview_ctx(), "") == "GitHub Actions acme/shop, run 12345678901, job e2e"


def test_label_is_one_line_and_capped() -> None:
    label = environment_label(_preview_ctx({"GITHUB_JOB": "x\n::error::y" + "z" * 300}), "")
    assert "\n" not in label
    assert len(label) <= LABEL_MAX_LENGTH
    assert label.endswith("…")


def test_label_outside_actions() -> None:
    assert environment_label(GitHubContext(), "") == "certyn run-action (outside GitHub Actions)"


def test_label_of_a_run_without_a_repository_says_so() -> None:
    label = environment_label(_preview_ctx({"GITHUB_REPOSITORY": ""}), "")
    assert label == "GitHub Actions unknown repository, run 12345678901, job e2e"


def test_a_control_character_in_the_label_is_one_space() -> None:
    label = environment_label(_preview_ctx({"GITHUB_JOB": "e2e\x1b[31mred"}), "")
    assert label == "GitHub Actions acme/shop, run 12345678901, job e2e [31mred"


def test_a_reusable_workflow_called_twice_gets_a_key_per_call() -> None:
    # The same repository, run, job, step id and no check run id: only the runner's per-step files differ.
    files = "_temp/_runner_file_commands/set_output_"  # the runner's per-step file names
    one = _environment_key({"GITHUB_OUTPUT": files + "0b6b4a7e-3a43-4a8e-9d1c-1f5e0f0a1b2c"})
    two = _environment_key({"GITHUB_OUTPUT": files + "5d1e2f3a-7b8c-4d9e-8f0a-1b2c3d4e5f60"})
    again = _environment_key({"GITHUB_OUTPUT": files + "0b6b4a7e-3a43-4a8e-9d1c-1f5e0f0a1b2c"})
    assert one != two
    assert one == again  # a retry inside the one step keeps its key


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({}, "gha-shop-12345678901-1-e2e-2-kpoppwu4bx23"),
        (
            {"GITHUB_RUN_ID": "9" * 60},
            "gha-shop-" + "9" * 41 + "-2autolwi01hz",
        ),  # cut to leave room for the digest
    ],
    ids=["ordinary", "a long run id"],
)
def test_the_environment_key_is_derived_the_same_way_every_time(env: dict[str, str], key: str) -> None:
    # the digest of the exact parts (length-prefixed, NUL-separated, SHA-256 read big-endian, base 36)
    assert _environment_key(env, job_index="2", check_run_id="99") == key
