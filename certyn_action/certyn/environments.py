"""The temporary environment endpoints of ``base-url`` (beyond the CI ones), each a few lines on
:meth:`CertynClient.call`: create (a 409 for this step's own key is found by listing and used), one page of
the list, find by key, delete. A 401/403 here says the key lacks environment rights, not that it is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from ..core.api import project_path
from .client import CertynClient
from .errors import ApiError, AuthError, NotFound
from .ledger import Attempts
from .readers import read_model
from .reply import Reply

if TYPE_CHECKING:
    from ..core.environment import Environment, EnvironmentPage

T = TypeVar("T")
ENVIRONMENTS = "environments"
ENVIRONMENT_RIGHTS = (
    "the API key lacks environment rights (HTTP {status} while {doing}): `base-url` creates and deletes a "
    "temporary Certyn environment, so the key needs environment create/delete access. Use such a key, or "
    "run against an existing environment with `environment-key` instead of `base-url`."
)


class EnvironmentsApi:
    def __init__(self, client: CertynClient) -> None:
        self.client = client
        self.create_attempts = Attempts()  # whether a failed create attempt may have made the environment

    def create(self, body: Mapping[str, str], deadline: float) -> Environment:
        """Create the environment ``body`` describes (retried: its key makes a retry harmless).

        A 409 means the key is taken: by an earlier attempt of this same step (the key is unique per step),
        whose environment is found by listing and used."""
        from ..core.environment import Environment  # noqa: PLC0415 - pydantic: not before the first request

        doing = "creating the temporary environment"
        try:
            return self._call(
                "POST",
                self._path(deadline),
                lambda reply: read_model(reply, Environment, "the environment create response"),
                deadline,
                doing=doing,
                policy=self.client.create_policy(),
                operation="environment create",
                json_body=body,
                attempts=self.create_attempts,
            )
        except ApiError as err:
            if err.status != 409:
                raise
        found = self.find(body["key"], deadline)
        if found is None:
            raise ApiError(
                f"HTTP 409 while {doing}: the key `{body['key']}` is taken, yet no environment with it is "
                "listed. Re-run the job (a re-run attempt derives another key).",
                status=409,
            )
        return found

    def page(self, number: int, deadline: float) -> EnvironmentPage:
        """One page of the project's environments."""
        from ..core.environment import EnvironmentPage, list_query  # noqa: PLC0415 - see create()

        return self._call(
            "GET",
            f"{self._path(deadline)}?{urlencode(list_query(number))}",
            lambda reply: read_model(reply, EnvironmentPage, "the environments list"),
            deadline,
            doing="listing the environments",
            policy=self.client.read_policy(),
            operation="environments list",
        )

    def find(self, key: str, deadline: float) -> Environment | None:
        """The environment with ``key``, page after page (bounded), or None."""
        from ..core.environment import find_environment, next_page_number  # noqa: PLC0415 - see create()

        number: int | None = 1
        while number is not None:
            page = self.page(number, deadline)
            found = find_environment(page, key)
            if found is not None:
                return found
            number = next_page_number(page, number)
        return None

    def delete(self, environment_id: str, deadline: float) -> str:
        """Delete the environment within ``deadline`` (quick retries); returns what happened."""
        try:
            return self._call(
                "DELETE",
                self._path(deadline, environment_id),
                lambda _reply: "deleted",
                deadline,
                doing=f"deleting environment {environment_id}",
                policy=self.client.release_policy(),
                operation="environment delete",
            )
        except NotFound:
            return "already deleted"

    def _path(self, deadline: float, *segments: str) -> str:
        return project_path(self.client.project_id(deadline), ENVIRONMENTS, *segments)

    def _call(self, method: str, path: str, read: Callable[[Reply], T], deadline: float, **kw: Any) -> T:
        try:
            return self.client.call(method, path, read, deadline, **kw)
        except AuthError as err:
            raise AuthError(
                ENVIRONMENT_RIGHTS.format(status=err.status, doing=kw["doing"]), status=err.status
            ) from None
