"""settings.py: the GitHub context → run metadata, links, and why an api-key may be empty."""

from __future__ import annotations

from typing import Any

import pytest

from certyn_action.settings import (
    GitHubContext,
    InputErrors,
    RunMetadata,
    missing_key_hint,
    read_settings,
)
from tests.unit.settings.support import input_env

REPO = "acme/shop"
MERGE_SHA = "m" * 40
HEAD_SHA = "h" * 40
PUSH_SHA = "p" * 40


def _meta(context: tuple[dict[str, str], dict[str, Any]], inputs: dict[str, str]) -> RunMetadata:
    """The metadata read with the settings from this GitHub context (env, event payload) and these inputs."""
    env, payload = context
    return read_settings(env | inputs, payload).metadata


def _github_env(**overrides: str) -> dict[str, str]:
    env = {
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "1001",
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_JOB": "test",
        "GITHUB_ACTION": "certyn",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_SHA": PUSH_SHA,
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_REF_NAME": "main",
        "GITHUB_HEAD_REF": "",
        "GITHUB_ACTOR": "octocat",
    }
    env.update(overrides)
    return env


def _pr_payload(
    *, head_repo: str = REPO, base_repo: str = REPO, fork: bool = False, head_ref: str = "feature/x"
) -> dict[str, Any]:
    return {
        "number": 7,
        "pull_request": {
            "number": 7,
            "head": {"sha": HEAD_SHA, "ref": head_ref, "repo": {"full_name": head_repo, "fork": fork}},
            "base": {"sha": "b" * 40, "ref": "main", "repo": {"full_name": base_repo, "fork": False}},
            "merge_commit_sha": MERGE_SHA,
        },
    }


def _pr_env(event: str = "pull_request") -> dict[str, str]:
    return _github_env(
        GITHUB_EVENT_NAME=event,
        GITHUB_SHA=MERGE_SHA,
        GITHUB_REF="refs/pull/7/merge",
        GITHUB_REF_NAME="7/merge",
        GITHUB_HEAD_REF="feature/x",
    )


RUN_URL = f"https://github.com/{REPO}/actions/runs/1001"
ATTEMPT_URL = f"{RUN_URL}/attempts/2"


# -- from_env -------------------------------------------------------------------------------------


def test_from_env_reads_and_strips() -> None:
    ctx = GitHubContext.from_env(
        _github_env(GITHUB_REPOSITORY=" acme/shop \n", GITHUB_SERVER_URL="https://ghe.corp/"), {}
    )
    assert ctx.repository == REPO
    assert ctx.server_url == "https://ghe.corp"
    assert (ctx.run_id, ctx.run_attempt, ctx.job, ctx.action) == ("1001", "2", "test", "certyn")


def test_from_env_defaults_server_url_to_github_com() -> None:
    env = _github_env()
    del env["GITHUB_SERVER_URL"]
    assert GitHubContext.from_env(env, {}).server_url == "https://github.com"


def test_only_trailing_slashes_are_dropped_from_the_server_url() -> None:
    ctx = GitHubContext.from_env(_github_env(GITHUB_SERVER_URL="https://CODE.ACME.BOX//"), {})
    assert ctx.server_url == "https://CODE.ACME.BOX"  # a host in capitals is kept to its last letter


@pytest.mark.parametrize(
    "output",
    [
        "/github/file_commands/set_output_0b6b4a7e-3a43",  # as a container action sees it
        "/__w/_temp/_runner_file_commands/set_output_0b6b4a7e-3a43",  # a job in a container
        "D:\\a\\_temp\\_runner_file_commands\\set_output_0b6b4a7e-3a43",  # a Windows runner
    ],
)
def test_a_step_is_told_apart_by_the_name_of_its_output_file_alone(output: str) -> None:
    # The runner names each step's GITHUB_OUTPUT file by a uuid: what tells two calls of a reusable workflow apart.
    ctx = GitHubContext.from_env(_github_env(GITHUB_OUTPUT=output), {})
    assert ctx.step_files == "set_output_0b6b4a7e-3a43"


# -- metadata ------------------------------------------------------------------------------


def test_push() -> None:
    meta = _meta((_github_env(), {}), input_env())
    assert (meta.repository, meta.ref, meta.commit_sha, meta.event) == (REPO, "main", PUSH_SHA, "push")


def test_tag_push_reports_the_tag_name() -> None:
    env = _github_env(GITHUB_REF="refs/tags/v1.2.3", GITHUB_REF_NAME="v1.2.3", GITHUB_REF_TYPE="tag")
    meta = _meta((env, {"ref": "refs/tags/v1.2.3"}), input_env())
    assert meta.ref == "v1.2.3"
    assert meta.commit_sha == PUSH_SHA


@pytest.mark.parametrize("event", ["pull_request", "pull_request_target"])
def test_pull_request_reports_head_commit_and_branch_not_the_merge(event: str) -> None:
    meta = _meta((_pr_env(event), _pr_payload()), input_env())
    assert meta.commit_sha == HEAD_SHA
    assert meta.ref == "feature/x"
    assert meta.event == event
    assert MERGE_SHA not in (meta.commit_sha, meta.ref)
    assert "merge" not in meta.ref


def test_pull_request_branch_from_github_head_ref_first() -> None:
    payload = _pr_payload(head_ref="from-payload")
    meta = _meta((_pr_env(), payload), input_env())
    assert meta.ref == "feature/x"


def test_pull_request_branch_from_payload_when_head_ref_missing() -> None:
    env = _pr_env()
    env["GITHUB_HEAD_REF"] = ""
    meta = _meta((env, _pr_payload(head_ref="from-payload")), input_env())
    assert meta.ref == "from-payload"


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"pull_request": None},
        {"pull_request": "garbage"},
        {"pull_request": {}},
        {"pull_request": {"head": None}},
        {"pull_request": {"head": {"sha": None, "ref": 5}}},
        {"pull_request": {"head": {"sha": "  "}}},
        {"pull_request": []},
    ],
)
def test_pull_request_payload_missing_fields_falls_back_without_crashing(payload: dict[str, Any]) -> None:
    meta = _meta((_pr_env(), payload), input_env())
    assert meta.commit_sha == MERGE_SHA  # GITHUB_SHA is all that is left
    assert meta.ref == "feature/x"


def test_pull_request_with_nothing_at_all() -> None:
    env = _pr_env()
    env["GITHUB_HEAD_REF"] = ""
    meta = _meta((env, {}), input_env())
    assert (meta.commit_sha, meta.ref) == (MERGE_SHA, "7/merge")


def test_push_ignores_a_pull_request_key_in_the_payload() -> None:
    meta = _meta((_github_env(), _pr_payload()), input_env())
    assert (meta.commit_sha, meta.ref) == (PUSH_SHA, "main")


def test_overrides_win() -> None:
    inputs = input_env(
        repository="other/repo",
        ref="release",
        commit_sha="c0ffee",
        event="workflow_dispatch",
        external_url="https://ci.example/build/9",
    )
    meta = _meta((_pr_env(), _pr_payload()), inputs)
    assert (meta.repository, meta.ref, meta.commit_sha, meta.event) == (
        "other/repo",
        "release",
        "c0ffee",
        "workflow_dispatch",
    )
    assert meta.external_url == "https://ci.example/build/9"
    # the links we show stay ours
    assert meta.run_url == ATTEMPT_URL


# -- links ----------------------------------------------------------------------------------------


def test_job_url_with_check_run_id() -> None:
    meta = _meta((_github_env(), {}), input_env(check_run_id="5550001"))
    assert meta.job_url == f"{RUN_URL}/job/5550001"
    assert meta.external_url == f"{RUN_URL}/job/5550001"
    assert meta.run_url == ATTEMPT_URL


def test_attempt_url_without_check_run_id() -> None:
    meta = _meta((_github_env(), {}), input_env(check_run_id="${{ job.check_run_id }}"))
    assert meta.job_url == ATTEMPT_URL
    assert meta.external_url == ATTEMPT_URL


def test_run_url_without_attempt() -> None:
    assert _meta((_github_env(GITHUB_RUN_ATTEMPT=""), {}), input_env()).run_url == RUN_URL


def test_no_links_outside_actions() -> None:
    meta = _meta(({}, {}), input_env(check_run_id="12"))
    assert (meta.job_url, meta.run_url, meta.external_url) == ("", "", "")


def test_ghes_server_url_used_for_links() -> None:
    env = _github_env(GITHUB_SERVER_URL="https://github.example.corp/")
    meta = _meta((env, {}), input_env(check_run_id="77"))
    assert meta.job_url == f"https://github.example.corp/{REPO}/actions/runs/1001/job/77"
    assert meta.run_url.startswith("https://github.example.corp/")
    assert "github.com" not in meta.job_url + meta.run_url + meta.external_url


# -- missing_key_hint -----------------------------------------------------------------------------


def test_hint_for_fork_pull_request_by_repo_name() -> None:
    ctx = GitHubContext.from_env(_pr_env(), _pr_payload(head_repo="forker/shop"))
    hint = missing_key_hint(ctx)
    assert hint is not None
    assert "fork" in hint
    assert "if:" in hint


def test_no_fork_hint_for_a_same_repository_pr_in_a_repository_that_is_a_fork() -> None:
    # head.repo.fork is true for every PR inside a forked repository; secrets are there all the same.
    ctx = GitHubContext.from_env(_pr_env(), _pr_payload(fork=True))
    assert missing_key_hint(ctx) is None


def test_hint_by_fork_flag_when_the_base_repository_is_unknown() -> None:
    payload = _pr_payload(fork=True)
    del payload["pull_request"]["base"]["repo"]
    hint = missing_key_hint(GitHubContext.from_env(_pr_env(), payload))
    assert hint is not None
    assert "fork" in hint


def test_hint_for_dependabot() -> None:
    ctx = GitHubContext.from_env(_pr_env() | {"GITHUB_ACTOR": "dependabot[bot]"}, _pr_payload())
    hint = missing_key_hint(ctx)
    assert hint is not None
    assert "Dependabot" in hint


def test_hint_for_dependabot_on_push() -> None:
    hint = missing_key_hint(GitHubContext.from_env(_github_env(GITHUB_ACTOR="dependabot[bot]"), {}))
    assert hint is not None
    assert "Dependabot" in hint


@pytest.mark.parametrize(
    ("env", "payload"),
    [
        (_github_env(), {}),
        (_github_env(), _pr_payload(head_repo="forker/shop")),  # not a pull request event
        (_pr_env(), _pr_payload()),  # same-repository pull request
        (_pr_env(), {}),  # payload unknown: do not guess
        (_pr_env(), {"pull_request": {"head": {"repo": None}, "base": {"repo": {"full_name": REPO}}}}),
    ],
)
def test_no_hint_otherwise(env: dict[str, str], payload: dict[str, Any]) -> None:
    assert missing_key_hint(GitHubContext.from_env(env, payload)) is None


def test_no_fork_hint_for_pull_request_target() -> None:
    ctx = GitHubContext.from_env(_pr_env("pull_request_target"), _pr_payload(head_repo="forker/shop"))
    assert missing_key_hint(ctx) is None


def test_the_hints_say_why_the_key_is_empty_and_how_to_guard_the_step_word_for_word() -> None:
    def api_key_error(env: dict[str, str], payload: dict[str, Any]) -> str:
        with pytest.raises(InputErrors) as raised:
            read_settings(env | input_env(api_key=""), payload)
        [error] = raised.value.errors
        assert error.name == "api-key"
        return error.message

    assert api_key_error(_github_env(GITHUB_ACTOR="dependabot[bot]"), {}) == (
        "is empty because this run was triggered by Dependabot, and GitHub gives Dependabot runs only "
        "Dependabot secrets: add CERTYN_API_KEY under Settings → Secrets → Dependabot, or skip the step "
        "with `if: github.actor != 'dependabot[bot]'`."
    )
    assert api_key_error(_pr_env(), _pr_payload(head_repo="forker/shop")) == (
        "is empty because this pull request comes from a fork, and GitHub does not pass repository "
        "secrets to workflows triggered by a fork's pull request. Guard the step, e.g. "
        "`if: github.event.pull_request.head.repo.full_name == github.repository`, "
        "or run it on `push`/`workflow_dispatch` instead."
    )


# -- names and links for the job summary ----------------------------------------------------------


def test_run_and_job_named_as_github_shows_them() -> None:
    env = _github_env(GITHUB_WORKFLOW="CI", GITHUB_RUN_NUMBER="42")
    meta = _meta((env, {}), input_env())
    assert (meta.job_name, meta.run_name) == ("test", "CI #42, attempt 2")
    env = _github_env(GITHUB_WORKFLOW="", GITHUB_RUN_NUMBER="7", GITHUB_RUN_ATTEMPT="1")
    assert _meta((env, {}), input_env()).run_name == "workflow run #7"
    assert _meta((_github_env(GITHUB_WORKFLOW="CI"), {}), input_env()).run_name == ""  # no number: no name


def test_commit_url_on_the_server_for_the_reported_repository_and_commit() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    env = _github_env(GITHUB_SERVER_URL="https://ghe.corp/", GITHUB_SHA=sha)
    meta = _meta((env, {}), input_env())
    assert meta.commit_url == f"https://ghe.corp/{REPO}/commit/{sha}"
    overridden = input_env(repository="acme/other", commit_sha="abcdef1")
    meta = _meta((_github_env(), {}), overridden)
    assert meta.commit_url == "https://github.com/acme/other/commit/abcdef1"


@pytest.mark.parametrize(
    ("repository", "sha"), [("acme/shop", "not-a-sha"), ("no-owner", "abcdef1"), ("", "abcdef1")]
)
def test_no_commit_url_for_what_is_not_a_repository_and_sha(repository: str, sha: str) -> None:
    meta = _meta((_github_env(GITHUB_REPOSITORY=repository, GITHUB_SHA=sha), {}), input_env())
    assert meta.commit_url == ""


# -- context text that is not UTF-8 --------------------------------------------------------------------------


def test_context_text_that_is_not_utf8_is_never_sent_as_escapes() -> None:
    env = {"GITHUB_REF_NAME": "caf\udce9", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_SHA": "a" * 40}
    payload = {"pull_request": {"head": {"sha": "b\ud800", "ref": "x"}}}
    settings = read_settings(env | input_env(), payload)
    ctx, meta = settings.context, settings.metadata
    for value in (ctx.ref_name, meta.commit_sha, meta.ref):
        value.encode("utf-8")  # raises on a lone surrogate
    assert meta.commit_sha == "b?"
