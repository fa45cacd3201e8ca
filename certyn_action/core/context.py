"""The GitHub context (GITHUB_* variables and the event payload) and the run metadata derived from it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from ..render.escape import encodable
from .inputs import Inputs

DEFAULT_SERVER_URL = "https://github.com"
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_SHA = re.compile(r"[0-9a-fA-F]{7,64}")


class GitHubContext(NamedTuple):
    repository: str = ""
    server_url: str = DEFAULT_SERVER_URL
    run_id: str = ""
    run_attempt: str = ""
    job: str = ""
    action: str = ""
    event_name: str = ""
    sha: str = ""
    ref_name: str = ""
    head_ref: str = ""
    actor: str = ""
    payload: Mapping[str, Any] = MappingProxyType({})
    workflow: str = ""
    run_number: str = ""
    step_files: str = ""  # the name of this step's GITHUB_OUTPUT file: a uuid per step

    @classmethod
    def from_env(cls, env: Mapping[str, str], payload: Mapping[str, Any]) -> GitHubContext:
        def get(name: str) -> str:
            return encodable(env.get(name, "").strip())  # bytes that are not UTF-8 become "?"

        return cls(
            repository=get("GITHUB_REPOSITORY"),
            server_url=(get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/"),
            run_id=get("GITHUB_RUN_ID"),
            run_attempt=get("GITHUB_RUN_ATTEMPT"),
            job=get("GITHUB_JOB"),
            action=get("GITHUB_ACTION"),
            event_name=get("GITHUB_EVENT_NAME"),
            sha=get("GITHUB_SHA"),
            ref_name=get("GITHUB_REF_NAME"),
            head_ref=get("GITHUB_HEAD_REF"),
            actor=get("GITHUB_ACTOR"),
            payload=payload,
            workflow=get("GITHUB_WORKFLOW"),
            run_number=get("GITHUB_RUN_NUMBER"),
            step_files=get("GITHUB_OUTPUT").replace("\\", "/").rsplit("/", 1)[-1],
        )

    @property
    def is_pull_request(self) -> bool:
        return self.event_name.startswith("pull_request")

    def pull_request(self) -> Mapping[str, Any]:
        return _mapping(self.payload.get("pull_request"))

    @property
    def run_url(self) -> str:
        if not (self.repository and self.run_id):
            return ""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"

    @property
    def attempt_url(self) -> str:
        if not self.run_url:
            return ""
        return f"{self.run_url}/attempts/{self.run_attempt}" if self.run_attempt else self.run_url

    @property
    def run_name(self) -> str:
        """The run as GitHub names it on its pages: "CI #42", "CI #42, attempt 2"; "" when unknown."""
        if not self.run_number:
            return ""
        name = f"{self.workflow or 'workflow run'} #{self.run_number}"
        return f"{name}, attempt {self.run_attempt}" if self.run_attempt not in ("", "1") else name

    def step_parts(self, job_index: str, check_run_id: str) -> list[str]:
        """What tells this execution of the step apart from every other: repository, run, attempt, job, matrix
        leg (``job_index``), check run and step. The idempotency key and the temporary environment's key are
        both derived from these, so a retry inside the step reuses, and anything else gets its own."""
        return [
            self.repository,
            self.run_id,
            self.run_attempt or "1",
            self.job,
            job_index or "0",
            check_run_id,
            self.action,
        ]

    def job_url(self, check_run_id: str) -> str:
        if not (self.run_url and check_run_id):
            return ""
        return f"{self.run_url}/job/{check_run_id}"


class RunMetadata(NamedTuple):
    """What the create request tells Certyn about this CI run, plus the links we show."""

    repository: str
    ref: str
    commit_sha: str
    event: str
    external_url: str
    job_url: str
    run_url: str
    job_name: str = ""  # GITHUB_JOB
    run_name: str = ""  # GitHubContext.run_name
    commit_url: str = ""  # the commit's page, when the repository and a commit SHA are known


def derive_metadata(ctx: GitHubContext, inputs: Inputs) -> RunMetadata:
    """Metadata from the context; every non-empty override input wins."""
    pr = ctx.pull_request() if ctx.is_pull_request else {}
    head = _mapping(pr.get("head"))
    if ctx.is_pull_request:
        commit = _text(head.get("sha")) or ctx.sha
        ref = ctx.head_ref or _text(head.get("ref")) or ctx.ref_name
    else:
        commit, ref = ctx.sha, ctx.ref_name
    job_url = ctx.job_url(inputs.check_run_id)
    repository, commit = inputs.repository or ctx.repository, inputs.commit_sha or commit
    return RunMetadata(
        repository=repository,
        ref=inputs.ref or ref,
        commit_sha=commit,
        event=inputs.event or ctx.event_name,
        external_url=inputs.external_url or job_url or ctx.attempt_url,
        job_url=job_url or ctx.attempt_url,
        run_url=ctx.attempt_url,
        job_name=ctx.job,
        run_name=ctx.run_name,
        commit_url=_commit_url(ctx.server_url, repository, commit),
    )


def _commit_url(server_url: str, repository: str, sha: str) -> str:
    if not (_REPOSITORY.fullmatch(repository) and _SHA.fullmatch(sha)):
        return ""
    return f"{server_url}/{repository}/commit/{sha}"


def missing_key_hint(ctx: GitHubContext) -> str | None:
    """Why ``api-key`` is empty when GitHub withholds secrets, and how to guard the step; else None."""
    guard = (
        "Guard the step, e.g. `if: github.event.pull_request.head.repo.full_name == github.repository`, "
        "or run it on `push`/`workflow_dispatch` instead."
    )
    if ctx.actor == "dependabot[bot]":
        return (
            "is empty because this run was triggered by Dependabot, and GitHub gives Dependabot runs only "
            "Dependabot secrets: add CERTYN_API_KEY under Settings → Secrets → Dependabot, or skip the step "
            "with `if: github.actor != 'dependabot[bot]'`."
        )
    # pull_request_target runs in the base repository and does get its secrets.
    if ctx.is_pull_request and ctx.event_name != "pull_request_target" and is_fork_pull_request(ctx):
        return (
            "is empty because this pull request comes from a fork, and GitHub does not pass repository "
            f"secrets to workflows triggered by a fork's pull request. {guard}"
        )
    return None


def is_fork_pull_request(ctx: GitHubContext) -> bool:
    pr = ctx.pull_request()
    # Only "head repository differs from base repository" means a fork PR: head.repo.fork is also true for
    # a same-repository PR inside a repository that is itself a fork, where secrets are available.
    head_repo = _mapping(_mapping(pr.get("head")).get("repo"))
    base_repo = _mapping(_mapping(pr.get("base")).get("repo"))
    head_name, base_name = _text(head_repo.get("full_name")), _text(base_repo.get("full_name"))
    if head_name and base_name:
        return head_name.lower() != base_name.lower()
    return head_repo.get("fork") is True and not base_name  # only the flag to go by


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str:
    return encodable(value.strip()) if isinstance(value, str) else ""  # "\ud800" is valid JSON
