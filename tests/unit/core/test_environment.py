"""core/environment.py: the temporary environment's key, label, version and create body; the API's
environment answers and finding ours by key."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certyn_action.api.models import (
    Environment,
    EnvironmentPage,
    ValidationError,
    find_environment,
    next_page_number,
)
from certyn_action.core.context import GitHubContext
from certyn_action.core.environment import (
    KEY_MAX_LENGTH,
    KEY_PATTERN,
    LABEL_MAX_LENGTH,
    LIST_PAGE_SIZE,
    derive_environment_key,
    environment_label,
    environment_version,
    list_query,
    plan_environment,
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
    return derive_environment_key(_ctx(env), job_index, check_run_id)


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
    one, two = derive_environment_key(ctx, "", ""), derive_environment_key(ctx, "", "")
    assert one != two
    assert KEY_PATTERN.fullmatch(one)
    assert KEY_PATTERN.fullmatch(two)
    assert derive_environment_key(ctx, "", "", random_hex=lambda n: "ab" * n) == "local-" + "ab" * 12


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
    key = derive_environment_key(ctx, job_index, check_run_id)
    assert KEY_PATTERN.fullmatch(key), key
    assert "--" not in key
    assert not key.endswith("-")
    assert key == derive_environment_key(ctx, job_index, check_run_id)


_PART = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789-_. /", max_size=60)


@SETTINGS
@given(job=_PART, action=_PART, legs=st.lists(_PART, min_size=2, max_size=2, unique=True))
def test_different_matrix_legs_give_different_keys(job: str, action: str, legs: list[str]) -> None:
    ctx = _ctx({"GITHUB_JOB": job, "GITHUB_ACTION": action})
    # "" and "0" are one leg (the default job index), as for the idempotency key.
    if {legs[0] or "0", legs[1] or "0"} == {"0"}:
        return
    assert derive_environment_key(ctx, legs[0], "") != derive_environment_key(ctx, legs[1], "")


@SETTINGS
@given(job=_PART, steps=st.lists(_PART, min_size=2, max_size=2, unique=True))
def test_different_steps_give_different_keys(job: str, steps: list[str]) -> None:
    ctx = _ctx({"GITHUB_JOB": job})
    one = derive_environment_key(ctx._replace(action=steps[0]), "", "")
    two = derive_environment_key(ctx._replace(action=steps[1]), "", "")
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


@pytest.mark.parametrize(
    ("commit", "version"),
    [
        ("0123456789ABCDEF0123456789abcdef01234567", "0123456"),
        ("abcdef1", "abcdef1"),
        ("", ""),
        ("release 1.2", "release 1.2"),  # a commit-sha override that is not a SHA is kept
        ("line\nbreak", "line break"),
        ("v" * 100, "v" * 40),
    ],
)
def test_version_is_the_short_commit(commit: str, version: str) -> None:
    assert environment_version(commit) == version


def test_create_body_has_the_api_field_names() -> None:
    plan = plan_environment(
        _ctx(),
        base_url="https://pr-42.example.com",
        commit_sha="0123456789abcdef0123456789abcdef01234567",
        job_index="1",
        check_run_id="55",
    )
    assert plan.key == _key(job_index="1", check_run_id="55")
    assert plan.create_body() == {
        "key": plan.key,
        "label": "GitHub Actions acme/shop, run 12345678901, job e2e leg 1",
        "baseUrl": "https://pr-42.example.com",
        "version": "0123456",
    }


def test_create_body_leaves_out_an_unknown_version() -> None:
    plan = plan_environment(_ctx(), base_url="http://x.test", commit_sha="", job_index="", check_run_id="")
    assert "version" not in plan.create_body()


# -- models ----------------------------------------------------------------------------------------

CREATED = {
    "id": "env_1",
    "projectId": "p1",
    "key": "gha-shop-1",
    "label": "L",
    "baseUrl": "https://x.test",
    "isDefault": False,
    "version": "abc1234",
    "somethingNew": {"x": 1},
}


def test_environment_reads_the_create_answer() -> None:
    env = Environment.model_validate(CREATED)
    assert (env.id, env.key, env.label, env.base_url, env.project_id, env.version, env.is_default) == (
        "env_1",
        "gha-shop-1",
        "L",
        "https://x.test",
        "p1",
        "abc1234",
        False,
    )


def test_environment_is_frozen() -> None:
    env = Environment.model_validate(CREATED)
    with pytest.raises(ValidationError):
        env.id = "other"  # type: ignore[misc]


def test_numeric_id_becomes_text() -> None:
    assert Environment.model_validate({"id": 42}).id == "42"


@pytest.mark.parametrize("bad_id", [None, "", "  ", ".", "..", "a\nb", True, {"x": 1}, "x" * 201])
def test_an_unusable_id_is_an_invalid_environment(bad_id: Any) -> None:
    # The id goes into the DELETE path: a wrong one could delete something else, or nothing.
    with pytest.raises(ValidationError):
        Environment.model_validate({"id": bad_id, "key": "k"})


def test_missing_or_null_informational_fields_are_empty() -> None:
    env = Environment.model_validate({"id": "e", "key": None, "label": {"x": 1}, "isDefault": "yes"})
    assert (env.key, env.label, env.base_url, env.is_default) == ("", "", "", False)


def _page(items: list[Any], **extra: Any) -> EnvironmentPage:
    return EnvironmentPage.model_validate({"items": items, **extra})


def test_page_reads_the_paging_fields() -> None:
    page = _page([CREATED], totalCount=101, page=1, pageSize=100, totalPages=2, hasNextPage=True)
    assert (page.total_count, page.page, page.page_size, page.total_pages, page.has_next_page) == (
        101,
        1,
        100,
        2,
        True,
    )
    assert page.items[0].id == "env_1"


def test_page_skips_unusable_items_and_tolerates_garbage() -> None:
    page = _page(
        [{"id": ".."}, "text", None, {"key": "no-id"}, {"id": "ok", "key": "k"}],
        totalCount="many",
        hasNextPage="true",
    )
    assert [env.id for env in page.items] == ["ok"]
    assert page.total_count == 0
    assert page.has_next_page is False  # only a real true pages on


def test_page_without_items() -> None:
    assert EnvironmentPage.model_validate({}).items == ()
    assert EnvironmentPage.model_validate({"items": None}).items == ()


def test_find_environment_by_key() -> None:
    page = _page(
        [{"id": "1", "key": "other"}, {"id": "2", "key": "GHA-Shop-1"}, {"id": "3", "key": "gha-shop-1"}]
    )
    found = find_environment(page, "gha-shop-1")
    assert found is not None
    assert found.id == "2"
    assert find_environment(page, "gha-shop-2") is None
    assert find_environment(page, "") is None
    assert find_environment(_page([{"id": "9"}]), "") is None  # an item without a key is never "ours"


def test_next_page_number() -> None:
    more = _page([{"id": "1"}], hasNextPage=True)
    assert next_page_number(more, 1) == 2
    assert next_page_number(_page([{"id": "1"}], hasNextPage=False), 1) is None
    assert next_page_number(_page([], hasNextPage=True), 1) is None  # an empty page cannot lead anywhere
    assert next_page_number(more, 50) is None  # a server that always says "more" is not followed for ever
    assert next_page_number(more, 3, max_pages=3) is None


def test_list_query() -> None:
    assert list_query(2) == {"page": 2, "pageSize": LIST_PAGE_SIZE}


def test_a_reusable_workflow_called_twice_gets_a_key_per_call() -> None:
    # The same repository, run, job, step id and no check run id: only the runner's per-step files differ.
    files = "/home/runner/work/_temp/_runner_file_commands/set_output_"
    one = _key({"GITHUB_OUTPUT": files + "0b6b4a7e-3a43-4a8e-9d1c-1f5e0f0a1b2c"})
    two = _key({"GITHUB_OUTPUT": files + "5d1e2f3a-7b8c-4d9e-8f0a-1b2c3d4e5f60"})
    again = _key({"GITHUB_OUTPUT": files + "0b6b4a7e-3a43-4a8e-9d1c-1f5e0f0a1b2c"})
    assert one != two
    assert one == again  # a retry inside the one step keeps its key
