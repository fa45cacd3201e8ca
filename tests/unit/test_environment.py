"""The temporary environment's create body (resources.environment_body); the API's environment answers and
finding ours by key."""

from __future__ import annotations

from typing import Any

import pytest

from certyn_action.api.models import (
    Environment,
    EnvironmentPage,
    ValidationError,
    find_environment,
)
from certyn_action.resources import environment_body
from certyn_action.settings import GitHubContext, Settings, environment_key, read_settings

BASE_ENV = {
    "GITHUB_REPOSITORY": "acme/shop",
    "GITHUB_RUN_ID": "12345678901",
    "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_JOB": "e2e",
    "GITHUB_ACTION": "__certyn_run-action",
}


def _settings(env: dict[str, str], **inputs: str) -> Settings:
    given = {"api-key": "k", "project-slug": "shop", "process-slug": "smoke"} | inputs
    return read_settings(BASE_ENV | env | {"INPUT_" + name.upper(): value for name, value in given.items()})


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
    body = environment_body(_settings({}, **{"base-url": "http://x.test", "commit-sha": commit}))
    assert body.get("version", "") == version


def test_create_body_has_the_api_field_names() -> None:
    body = environment_body(
        _settings(
            {"GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567"},
            **{"base-url": "https://pr-42.example.com", "job-index": "1", "check-run-id": "55"},
        )
    )
    assert body == {
        "key": environment_key(GitHubContext.from_env(BASE_ENV, {}), "1", "55"),
        "label": "GitHub Actions acme/shop, run 12345678901, job e2e leg 1",
        "baseUrl": "https://pr-42.example.com",
        "version": "0123456",
    }


def test_create_body_leaves_out_an_unknown_version() -> None:
    assert "version" not in environment_body(_settings({}, **{"base-url": "http://x.test"}))


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
    assert (env.id, env.key, env.label, env.base_url) == ("env_1", "gha-shop-1", "L", "https://x.test")


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
    assert (env.key, env.label, env.base_url) == ("", "", "")


def _page(items: list[Any], **extra: Any) -> EnvironmentPage:
    return EnvironmentPage.model_validate({"items": items, **extra})


def test_page_reads_whether_another_page_follows() -> None:
    page = _page([CREATED], totalCount=101, page=1, pageSize=100, totalPages=2, hasNextPage=True)
    assert page.has_next_page is True
    assert page.items[0].id == "env_1"


def test_page_skips_unusable_items_and_tolerates_garbage() -> None:
    page = _page(
        [{"id": ".."}, "text", None, {"key": "no-id"}, {"id": "ok", "key": "k"}],
        totalCount="many",
        hasNextPage="true",
    )
    assert [env.id for env in page.items] == ["ok"]
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
