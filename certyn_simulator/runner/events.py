"""The event that triggered the workflow: its payload (``GITHUB_EVENT_PATH``) and ``GITHUB_*`` ref variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .files import DEFAULT_REPOSITORY, new_sha

# Events -----------------------------------------------------------------------------------------


def _repo_payload(repository: str) -> dict[str, Any]:
    owner, _, name = repository.partition("/")
    return {
        "id": 123456789,
        "name": name,
        "full_name": repository,
        "private": True,
        "owner": {"login": owner, "id": 4242, "type": "Organization"},
        "html_url": f"https://github.com/{repository}",
        "default_branch": "main",
    }


@dataclass(frozen=True)
class Event:
    """The triggering event: its name, payload (written to ``event.json``) and the event-specific
    ``GITHUB_*`` variables (SHA, REF, REF_NAME, REF_TYPE, HEAD_REF, BASE_REF). ``raw_payload``, when
    set, is written to ``event.json`` verbatim instead (e.g. to test a broken file)."""

    name: str
    payload: Mapping[str, Any]
    env: Mapping[str, str]
    raw_payload: str | None = None

    @classmethod
    def push(
        cls, branch: str = "main", sha: str | None = None, repository: str = DEFAULT_REPOSITORY
    ) -> Event:
        sha = sha or new_sha()
        ref = f"refs/heads/{branch}"
        payload = {
            "ref": ref,
            "before": new_sha(),
            "after": sha,
            "repository": _repo_payload(repository),
            "head_commit": {"id": sha, "message": "Update checkout flow", "author": {"name": "Octo Cat"}},
            "pusher": {"name": "octocat"},
            "sender": {"login": "octocat", "id": 583231, "type": "User"},
        }
        return cls("push", payload, _ref_env(sha, ref, branch, "branch"))

    @classmethod
    def tag(cls, tag: str = "v1.2.3", sha: str | None = None, repository: str = DEFAULT_REPOSITORY) -> Event:
        sha = sha or new_sha()
        ref = f"refs/tags/{tag}"
        payload = {
            "ref": ref,
            "before": "0" * 40,
            "after": sha,
            "created": True,
            "base_ref": "refs/heads/main",
            "repository": _repo_payload(repository),
            "head_commit": {"id": sha, "message": f"Release {tag}"},
            "sender": {"login": "octocat", "id": 583231, "type": "User"},
        }
        return cls("push", payload, _ref_env(sha, ref, tag, "tag"))

    @classmethod
    def pull_request(
        cls,
        number: int = 42,
        head_ref: str = "feature/checkout",
        base_ref: str = "main",
        head_sha: str | None = None,
        merge_sha: str | None = None,
        repository: str = DEFAULT_REPOSITORY,
        name: str = "pull_request",
    ) -> Event:
        """``GITHUB_SHA`` is the synthetic merge commit; ``pull_request.head.sha`` the PR head (they differ)."""
        head_sha = head_sha or new_sha()
        merge_sha = merge_sha or new_sha()
        repo = _repo_payload(repository)
        payload = {
            "action": "synchronize",
            "number": number,
            "pull_request": {
                "number": number,
                "title": "Make checkout faster",
                "html_url": f"https://github.com/{repository}/pull/{number}",
                "head": {"ref": head_ref, "sha": head_sha, "repo": repo},
                "base": {"ref": base_ref, "sha": new_sha(), "repo": repo},
                "merge_commit_sha": merge_sha,
            },
            "repository": repo,
            "sender": {"login": "octocat", "id": 583231, "type": "User"},
        }
        env = _ref_env(merge_sha, f"refs/pull/{number}/merge", f"{number}/merge", "branch")
        env.update({"GITHUB_HEAD_REF": head_ref, "GITHUB_BASE_REF": base_ref})
        return cls(name, payload, env)

    @classmethod
    def workflow_dispatch(
        cls, branch: str = "main", sha: str | None = None, repository: str = DEFAULT_REPOSITORY
    ) -> Event:
        sha = sha or new_sha()
        ref = f"refs/heads/{branch}"
        payload = {
            "inputs": {},
            "ref": ref,
            "repository": _repo_payload(repository),
            "workflow": ".github/workflows/ci.yml",
        }
        return cls("workflow_dispatch", payload, _ref_env(sha, ref, branch, "branch"))

    @classmethod
    def named(cls, name: str) -> Event:
        """``push``, ``tag``, ``pull_request``, ``pull_request_target`` or ``workflow_dispatch`` with defaults."""
        if name == "push":
            return cls.push()
        if name == "tag":
            return cls.tag()
        if name in ("pull_request", "pull_request_target"):
            return cls.pull_request(name=name)
        if name == "workflow_dispatch":
            return cls.workflow_dispatch()
        raise ValueError(f"unknown event {name!r}")


def _ref_env(sha: str, ref: str, ref_name: str, ref_type: str) -> dict[str, str]:
    return {
        "GITHUB_SHA": sha,
        "GITHUB_REF": ref,
        "GITHUB_REF_NAME": ref_name,
        "GITHUB_REF_TYPE": ref_type,
        "GITHUB_HEAD_REF": "",
        "GITHUB_BASE_REF": "",
    }
