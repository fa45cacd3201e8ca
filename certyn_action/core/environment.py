"""The temporary Certyn environment a ``base-url`` run uses: its version and create body (its key and
label are derived with the other settings, in ``settings.py``), and the API's answers about environments
(pydantic models, tolerant like ``models.py``). Pure.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ..settings import KEY_MAX_LENGTH, Settings

VERSION_LENGTH = 7  # the short commit, as git and GitHub show it
MAX_VERSION_LENGTH = 40  # a `commit-sha` override that is not a hex SHA is kept, cut to this
LIST_PAGE_SIZE = 100  # the API's page size for GET .../environments
MAX_ID_LENGTH = 200
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


# -- the API's answers ------------------------------------------------------------------------------


def _id(value: Any) -> Any:
    """The environment id goes into the DELETE path: a number or text, never only dots."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if text.strip(".") == "":
            raise ValueError("an environment id cannot be empty or made of dots only")
        if _CONTROL.search(text):
            raise ValueError("an environment id cannot hold control characters")
        return text
    return value


def _text(value: Any) -> Any:
    """Informational text: anything unusable is "", cut to 200 characters."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")[:200]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _count(value: Any) -> Any:
    """A paging number: unusable means 0 (unknown), never an invalid page."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0  # JSON's 1e999 reads as infinity, and int() of it raises OverflowError, not ValueError
    if value < 0 or value != int(value):
        return 0
    return int(value)


def _flag(value: Any) -> Any:
    """``hasNextPage``: only ``true`` means another page (anything else stops paging)."""
    return value is True


def _environments(value: Any) -> Any:
    """The usable environments of ``items``: an unusable entry is skipped, never an invalid page."""
    if not isinstance(value, list):
        return []
    usable: list[Environment] = []
    for item in value:
        try:
            usable.append(Environment.model_validate(item))
        except ValidationError:
            continue
    return usable


EnvironmentId = Annotated[str, BeforeValidator(_id), Field(min_length=1, max_length=MAX_ID_LENGTH)]
Text = Annotated[str, BeforeValidator(_text)]
Count = Annotated[int, BeforeValidator(_count)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Environment(_Model):
    """An environment as the API returns it (create answer, list item). Only ``id`` must be right."""

    id: EnvironmentId
    key: Text = ""
    label: Text = ""
    base_url: Text = Field(default="", alias="baseUrl")
    project_id: Text = Field(default="", alias="projectId")
    version: Text = ""
    is_default: Annotated[bool, BeforeValidator(_flag)] = Field(default=False, alias="isDefault")


class EnvironmentPage(_Model):
    """One page of ``GET /api/projects/{projectId}/environments``."""

    items: Annotated[tuple[Environment, ...], BeforeValidator(_environments)] = ()
    total_count: Count = Field(default=0, alias="totalCount")
    page: Count = 0
    page_size: Count = Field(default=0, alias="pageSize")
    total_pages: Count = Field(default=0, alias="totalPages")
    has_next_page: Annotated[bool, BeforeValidator(_flag)] = Field(default=False, alias="hasNextPage")


def find_environment(page: EnvironmentPage, key: str) -> Environment | None:
    """The environment of ``page`` with ``key`` (compared case-insensitively, as keys are lower case), or None."""
    wanted = key.strip().casefold()
    if not wanted:
        return None
    return next((env for env in page.items if env.key.strip().casefold() == wanted), None)


def next_page_number(page: EnvironmentPage, requested: int, max_pages: int = 50) -> int | None:
    """The page to ask for after ``requested``, or None: no next page, or ``max_pages`` read already
    (a server that always says ``hasNextPage`` cannot keep us paging)."""
    if not page.has_next_page or not page.items or requested >= max_pages:
        return None
    return requested + 1


def made_by(environment: Environment, body: Mapping[str, str]) -> bool:
    """Whether ``environment`` (listed under the key of ``body``) is provably the one ``body`` created:
    same key, same ``baseUrl`` and same label. Anything else is someone else's: never used, never deleted."""
    return (
        environment.key.strip().casefold() == body["key"].casefold()
        and environment.base_url == body["baseUrl"]
        and environment.label == body["label"]
    )


def another_key(key: str, random_hex: Callable[[int], str] = secrets.token_hex) -> str:
    """``key`` with a short random suffix, for when ``key`` is taken by an environment this step did not make."""
    return f"{key[: KEY_MAX_LENGTH - 7].rstrip('-')}-{random_hex(3)}"


def list_query(page: int) -> dict[str, int]:
    """The query of ``GET .../environments`` for ``page`` (1-based)."""
    return {"page": page, "pageSize": LIST_PAGE_SIZE}


# -- runner pools and variables (`runner-pool`, `variables`: preview.py) ----------------------------------


def _active(value: Any) -> Any:
    """``isActive``: only an explicit ``false`` retires a pool (the API's own check refuses it anyway)."""
    return value is not False


class RunnerPool(_Model):
    """A self-hosted runner pool of ``GET /api/self-hosted/pools``. Only ``id`` must be right."""

    id: EnvironmentId
    name: Text = ""
    pool_kind: Text = Field(default="", alias="poolKind")
    is_active: Annotated[bool, BeforeValidator(_active)] = Field(default=True, alias="isActive")


def runner_pools(data: Any) -> tuple[RunnerPool, ...]:
    """The usable pools of the bare array the endpoint answers; an unusable entry is skipped."""
    pools: list[RunnerPool] = []
    for item in data if isinstance(data, list) else []:
        try:
            pools.append(RunnerPool.model_validate(item))
        except ValidationError:
            continue
    return tuple(pools)


def find_pool(pools: tuple[RunnerPool, ...], wanted: str) -> tuple[RunnerPool, ...]:
    """The pools ``wanted`` names: the one with that id, else those with that name (ignoring case)."""
    by_id = tuple(pool for pool in pools if pool.id == wanted)
    if by_id:
        return by_id
    return tuple(pool for pool in pools if pool.name.strip().casefold() == wanted.strip().casefold())
