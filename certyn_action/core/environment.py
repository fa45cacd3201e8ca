"""The temporary Certyn environment a ``base-url`` run uses: its version and create body (its key and
label are derived with the other settings, in ``settings.py``; the API's answers about environments are in
``api/models.py``). Pure.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from ..settings import KEY_MAX_LENGTH, Settings

VERSION_LENGTH = 7  # the short commit, as git and GitHub show it
MAX_VERSION_LENGTH = 40  # a `commit-sha` override that is not a hex SHA is kept, cut to this
LIST_PAGE_SIZE = 100  # the API's page size for GET .../environments
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_HEX_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")


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


def plan_environment(settings: Settings) -> EnvironmentPlan:
    """The environment for ``base-url``: its key and label (``settings.py``), and the version of the commit
    the run is for (the PR head for a pull request, or the ``commit-sha`` input)."""
    return EnvironmentPlan(
        key=settings.temporary_environment_key,
        label=settings.temporary_environment_label,
        base_url=settings.base_url,
        version=environment_version(settings.metadata.commit_sha),
    )


def another_key(key: str, random_hex: Callable[[int], str] = secrets.token_hex) -> str:
    """``key`` with a short random suffix, for when ``key`` is taken by an environment this step did not make."""
    return f"{key[: KEY_MAX_LENGTH - 7].rstrip('-')}-{random_hex(3)}"


def list_query(page: int) -> dict[str, int]:
    """The query of ``GET .../environments`` for ``page`` (1-based)."""
    return {"page": page, "pageSize": LIST_PAGE_SIZE}
