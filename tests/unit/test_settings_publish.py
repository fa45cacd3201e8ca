"""settings.py: the publishing inputs (issue 21) read, defaulted and refused before anything is sent."""

from __future__ import annotations

import pytest

from certyn_action.settings import InputErrors, Settings, read_settings


def read(env: dict[str, str] | None = None, **inputs: str) -> Settings:
    values = {"api-key": "k" * 20, "project-slug": "shop", "process-slug": "smoke"}
    values |= {name.replace("_", "-"): value for name, value in inputs.items()}
    return read_settings({**{f"INPUT_{n.upper()}": v for n, v in values.items()}, **(env or {})})


def errors(env: dict[str, str] | None = None, **inputs: str) -> dict[str, str]:
    with pytest.raises(InputErrors) as raised:
        read(env, **inputs)
    return {error.name: error.message for error in raised.value.errors}


def test_nothing_is_published_by_default() -> None:
    settings = read(github_token="ghs_x")
    assert (settings.check_run, settings.pr_comment, settings.publishes) == (False, "off", False)
    assert settings.github_api_url == "https://api.github.com"


def test_the_inputs_and_github_enterprise_server_api_url() -> None:
    env = {"GITHUB_API_URL": "https://ghe.example.com/api/v3/"}
    settings = read(env, github_token="ghs_x", check_run="TRUE", pr_comment="On-Failure")
    assert (settings.check_run, settings.pr_comment, settings.publishes) == (True, "on-failure", True)
    assert settings.github_api_url == "https://ghe.example.com/api/v3"


def test_check_run_without_waiting_is_an_input_error_naming_the_fix() -> None:
    message = errors(github_token="ghs_x", check_run="true", wait="false")["check-run"]
    assert "`wait: false`" in message
    assert "Remove" in message


def test_a_pr_comment_mode_must_be_one_of_three() -> None:
    assert "`off`, `always` or `on-failure`" in errors(github_token="ghs_x", pr_comment="yes")["pr-comment"]


def test_publishing_without_a_token_is_an_input_error() -> None:
    message = errors(pr_comment="always")["github-token"]
    assert "${{ github.token }}" in message


def test_the_token_goes_only_to_a_plain_https_github_api_url() -> None:
    env = {"GITHUB_API_URL": "http://github.example.com"}
    assert "GITHUB_API_URL" in errors(env, github_token="ghs_x", check_run="true")["github-token"]
    assert read(env, github_token="ghs_x").publishes is False  # unused unless publishing: no error
