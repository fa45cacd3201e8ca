"""settings.py: the temporary environment's key and label, derived with the other settings: the same
for every retry inside one step execution, different for every other execution."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certyn_action.settings import (
    KEY_MAX_LENGTH,
    KEY_PATTERN,
    LABEL_MAX_LENGTH,
    GitHubContext,
    environment_key,
    environment_label,
)

BASE_ENV = {
    "GITHUB_REPOSITORY": "acme/shop",
    "GITHUB_RUN_ID": "12345678901",
    "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_JOB": "e2e",
    "GITHUB_ACTION": "__certyn_run-action",
}
SETTINGS = settings(max_examples=200, deadline=None)


def _ctx(env: dict[str, str] | None = None) -> GitHubContext:
    return GitHubContext.from_env(BASE_ENV | (env or {}), {})


def _key(env: dict[str, str] | None = None, job_index: str = "", check_run_id: str = "") -> str:
    return environment_key(_ctx(env), job_index, check_run_id)


# -- key -------------------------------------------------------------------------------------------


def test_key_is_stable_within_one_step() -> None:
    # Every retry of the create in one step derives the same key, so a 409 can only be our own earlier attempt.
    assert _key(job_index="2", check_run_id="99") == _key(job_index="2", check_run_id="99")


def test_key_is_readable_and_valid() -> None:
    key = _key(job_index="3", check_run_id="777")
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
    assert _key(env, job_index, check_run_id) != _key()


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
    one, two = _key(first), _key(second)
    assert one != two
    assert KEY_PATTERN.fullmatch(one)
    assert KEY_PATTERN.fullmatch(two)


def test_long_repository_cannot_push_the_run_out_of_the_key() -> None:
    key = _key({"GITHUB_REPOSITORY": "acme/" + "very-long-repository-name" * 5})
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
    ctx = _ctx({"GITHUB_JOB": job, "GITHUB_ACTION": action})
    # "" and "0" are one leg (the default job index), as for the idempotency key.
    if {legs[0] or "0", legs[1] or "0"} == {"0"}:
        return
    assert environment_key(ctx, legs[0], "") != environment_key(ctx, legs[1], "")


@SETTINGS
@given(job=_PART, steps=st.lists(_PART, min_size=2, max_size=2, unique=True))
def test_different_steps_give_different_keys(job: str, steps: list[str]) -> None:
    ctx = _ctx({"GITHUB_JOB": job})
    one = environment_key(ctx._replace(action=steps[0]), "", "")
    two = environment_key(ctx._replace(action=steps[1]), "", "")
    assert one != two


@SETTINGS
@given(attempts=st.lists(st.integers(min_value=1, max_value=10_000), min_size=2, max_size=2, unique=True))
def test_different_attempts_give_different_keys(attempts: list[int]) -> None:
    one = _key({"GITHUB_RUN_ATTEMPT": str(attempts[0])})
    two = _key({"GITHUB_RUN_ATTEMPT": str(attempts[1])})
    assert one != two


# -- label and version -----------------------------------------------------------------------------


def test_label_names_repository_run_and_job() -> None:
    label = environment_label(_ctx({"GITHUB_RUN_ATTEMPT": "2"}), "3")
    assert label == "GitHub Actions acme/shop, run 12345678901 attempt 2, job e2e leg 3"


def test_label_of_a_first_attempt_does_not_mention_the_attempt() -> None:
    assert environment_label(_ctx(), "") == "GitHub Actions acme/shop, run 12345678901, job e2e"


def test_label_is_one_line_and_capped() -> None:
    label = environment_label(_ctx({"GITHUB_JOB": "x\n::error::y" + "z" * 300}), "")
    assert "\n" not in label
    assert len(label) <= LABEL_MAX_LENGTH
    assert label.endswith("…")


def test_label_outside_actions() -> None:
    assert "outside GitHub Actions" in environment_label(GitHubContext(), "")


def test_a_reusable_workflow_called_twice_gets_a_key_per_call() -> None:
    # The same repository, run, job, step id and no check run id: only the runner's per-step files differ.
    files = "_temp/_runner_file_commands/set_output_"  # the runner's per-step file names
    one = _key({"GITHUB_OUTPUT": files + "0b6b4a7e-3a43-4a8e-9d1c-1f5e0f0a1b2c"})
    two = _key({"GITHUB_OUTPUT": files + "5d1e2f3a-7b8c-4d9e-8f0a-1b2c3d4e5f60"})
    again = _key({"GITHUB_OUTPUT": files + "0b6b4a7e-3a43-4a8e-9d1c-1f5e0f0a1b2c"})
    assert one != two
    assert one == again  # a retry inside the one step keeps its key
