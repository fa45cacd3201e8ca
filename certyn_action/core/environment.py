"""The temporary Certyn environment a ``base-url`` run uses: its key, label, version and create body,
Pure (the API's answers about environments are in ``api/models.py``).

The key is derived like the create's Idempotency-Key (``idempotency.py``): the same for every retry inside
one step execution, different between repositories, workflow runs, re-run attempts, jobs, matrix legs, check
runs, steps and the calls of a reusable workflow (by the uuid the runner puts in each step's GITHUB_OUTPUT file
name), so a retried create can never make two environments, and a 409 for the key can only mean an
earlier attempt of this same step made it. Outside Actions it is random.

Certyn keys are at most 63 lower-case letters, digits and hyphens: the key is a readable prefix
(``gha-<repo>-<run>-<attempt>-<job>-<leg>``, each part sanitised and cut short) and a digest of the exact,
unsanitised parts, so two steps whose readable parts sanitise or cut to the same text still differ.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from .context import GitHubContext

KEY_MAX_LENGTH = 63
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
LABEL_MAX_LENGTH = 120
VERSION_LENGTH = 7  # the short commit, as git and GitHub show it
MAX_VERSION_LENGTH = 40  # a `commit-sha` override that is not a hex SHA is kept, cut to this
LIST_PAGE_SIZE = 100  # the API's page size for GET .../environments
DIGEST_LENGTH = 12  # base 36: about 62 bits

# Room each readable part gets, so that a long repository name cannot push the run id out of the key.
_REPO_ROOM = 14
_JOB_ROOM = 10
_NOT_KEY_CHARS = re.compile(r"[^a-z0-9]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_HEX_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def derive_environment_key(
    ctx: GitHubContext,
    job_index: str,
    check_run_id: str,
    *,
    random_hex: Callable[[int], str] = secrets.token_hex,
) -> str:
    """``gha-<repo>-<run>-<attempt>-<job>-<leg>-<digest>`` (at most 63 characters, matches ``KEY_PATTERN``).

    ``job_index`` and ``check_run_id`` are the inputs of the same names (the matrix leg and the check run
    id the runner fills in). Outside Actions (no ``GITHUB_RUN_ID``) the key is ``local-`` and 24 random hex
    digits: nothing ties retries of this process to another process, so it must be unique.
    """
    if not ctx.run_id:
        return f"local-{random_hex(12)}"
    exact = ctx.step_parts(job_index, check_run_id)
    if ctx.step_files:  # a reusable workflow called twice repeats every other part
        exact.append(ctx.step_files)
    # The exact parts, unambiguously joined (a separator inside a part cannot shift it into the next).
    digest = _base36_digest("\x00".join(f"{len(part)}:{part}" for part in exact))
    repo_name = ctx.repository.rsplit("/", 1)[-1]
    readable = [
        _sanitise(repo_name)[:_REPO_ROOM].strip("-"),
        _sanitise(ctx.run_id),
        _sanitise(ctx.run_attempt or "1"),
        _sanitise(ctx.job)[:_JOB_ROOM].strip("-"),
        _sanitise(job_index or "0"),
    ]
    prefix = "-".join(["gha", *(part for part in readable if part)])
    prefix = prefix[: KEY_MAX_LENGTH - DIGEST_LENGTH - 1].rstrip("-")
    return f"{prefix}-{digest}"


def environment_label(ctx: GitHubContext, job_index: str) -> str:
    """What people see in Certyn: the repository, workflow run (and attempt) and job (and matrix leg)."""
    if not ctx.run_id:
        return "certyn run-action (outside GitHub Actions)"
    parts = [f"GitHub Actions {ctx.repository or 'unknown repository'}"]
    run = f"run {ctx.run_id}"
    if ctx.run_attempt and ctx.run_attempt != "1":
        run += f" attempt {ctx.run_attempt}"
    parts.append(run)
    if ctx.job:
        job = f"job {ctx.job}"
        if job_index:
            job += f" leg {job_index}"
        parts.append(job)
    label = " ".join(_CONTROL.sub(" ", ", ".join(parts)).split())
    return label if len(label) <= LABEL_MAX_LENGTH else label[: LABEL_MAX_LENGTH - 1] + "…"


def environment_version(commit_sha: str) -> str:
    """The short commit (7 hex digits, lower case); a non-SHA ``commit-sha`` override is kept, cut to 40;
    "" when there is no commit (the create body then leaves ``version`` out)."""
    text = " ".join(_CONTROL.sub(" ", commit_sha).split())
    if _HEX_SHA.match(text):
        return text[:VERSION_LENGTH].lower()
    return text[:MAX_VERSION_LENGTH]


@dataclass(frozen=True)
class EnvironmentPlan:
    """The temporary environment to create for ``base_url``."""

    key: str
    label: str
    base_url: str
    version: str

    def create_body(self) -> dict[str, str]:
        """The body of ``POST /api/projects/{projectId}/environments``; ``version`` only when known."""
        body = {"key": self.key, "label": self.label, "baseUrl": self.base_url}
        if self.version:
            body["version"] = self.version
        return body


def plan_environment(
    ctx: GitHubContext,
    *,
    base_url: str,
    commit_sha: str,
    job_index: str,
    check_run_id: str,
    random_hex: Callable[[int], str] = secrets.token_hex,
) -> EnvironmentPlan:
    """Key, label and version for ``base_url``; ``commit_sha`` is ``RunMetadata.commit_sha`` (the PR head
    for a pull request, or the ``commit-sha`` input)."""
    return EnvironmentPlan(
        key=derive_environment_key(ctx, job_index, check_run_id, random_hex=random_hex),
        label=environment_label(ctx, job_index),
        base_url=base_url,
        version=environment_version(commit_sha),
    )


def another_key(key: str, random_hex: Callable[[int], str] = secrets.token_hex) -> str:
    """``key`` with a short random suffix, for when ``key`` is taken by an environment this step did not make."""
    return f"{key[: KEY_MAX_LENGTH - 7].rstrip('-')}-{random_hex(3)}"


def list_query(page: int) -> dict[str, int]:
    """The query of ``GET .../environments`` for ``page`` (1-based)."""
    return {"page": page, "pageSize": LIST_PAGE_SIZE}


def _sanitise(text: str) -> str:
    return _NOT_KEY_CHARS.sub("-", text.lower()).strip("-")


def _base36_digest(text: str) -> str:
    number = int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest(), "big")
    chars = []
    for _ in range(DIGEST_LENGTH):
        number, rest = divmod(number, 36)
        chars.append(_BASE36[rest])
    return "".join(chars)
