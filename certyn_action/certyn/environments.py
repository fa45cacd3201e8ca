"""The temporary environment endpoints of ``base-url`` (beyond the CI ones), each a few lines on
:meth:`CertynClient.call`: create (a 409 for this step's own environment is found by listing and used; for
someone else's, another key is used), one page of
the list, find by key, delete. A 401/403 here says the key lacks environment rights, not that it is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from ..core.api import project_path
from ..core.retry import UNUSABLE_BODY, is_transient
from .client import CertynClient
from .errors import ApiError, AuthError, NotFound
from .ledger import Attempts
from .readers import read_model
from .reply import Reply

if TYPE_CHECKING:
    from ..core.environment import Environment, EnvironmentPage, RunnerPool

T = TypeVar("T")
ENVIRONMENTS = "environments"
CREATING = "creating the temporary environment"
ENVIRONMENT_RIGHTS = (
    "the API key lacks environment rights (HTTP {status} while {doing}): `base-url` creates and deletes a "
    "temporary Certyn environment, so the key needs environment create/delete access. Use such a key, or "
    "run against an existing environment with `environment-key` instead of `base-url`."
)


class EnvironmentsApi:
    def __init__(self, client: CertynClient) -> None:
        self.client = client
        self.create_attempts = Attempts()  # whether a failed create attempt may have made the environment
        self.key = ""  # the key the create uses
        self.taken_key = ""  # the key someone else's environment has: the create moved to ``key``
        self.create_sent = False  # a create went out (not just the project overview read before it)

    def create(self, body: Mapping[str, str], deadline: float) -> Environment:
        """Create the environment ``body`` describes (retried: its key makes a retry harmless).

        A 409 means the key is taken: by an earlier attempt of this same step when the listed environment has
        this key, ``baseUrl`` and label (it is used); else by someone else's, which is left alone: the create
        is sent once more under another key (``key`` is then that one, ``taken_key`` the one taken)."""
        from ..core.environment import another_key, made_by  # noqa: PLC0415 - pydantic: not before the first request

        self.key = body["key"]
        created = self._create(body, deadline)
        if created is not None:
            return created
        found = self.find(body["key"], deadline)
        if found is not None and made_by(found, body):
            return found
        self.taken_key, self.key = body["key"], another_key(body["key"])
        created = self._create({**body, "key": self.key}, deadline)
        if created is None:
            raise ApiError(
                f"HTTP 409 while {CREATING}: the keys `{self.taken_key}` and `{self.key}` are both taken by "
                "environments this step did not create. Re-run the job.",
                status=409,
            )
        return created

    def _create(self, body: Mapping[str, str], deadline: float) -> Environment | None:
        """One create (retried); None when the server answers 409 (the key is taken)."""
        from ..core.environment import Environment  # noqa: PLC0415 - see create()

        path = self._path(deadline)  # the project overview first: no create is sent until it is known
        self.create_sent = True
        try:
            return self._call(
                "POST",
                path,
                lambda reply: read_model(reply, Environment, "the environment create response"),
                deadline,
                doing=CREATING,
                policy=self.client.create_policy(),
                operation="environment create",
                json_body=body,
                attempts=self.create_attempts,
            )
        except ApiError as err:
            if err.status != 409:
                raise
        return None

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


# -- variables and runner pools (`variables`, `runner-pool`: preview.py) ---------------------------------

RUNNER_POOLS_PATH = "/api/self-hosted/pools"
POOL_RIGHTS = (
    "the API key may not read the self-hosted runner pools (HTTP {status} while listing them): `runner-pool` "
    "needs a key with access to them. Use such a key, or remove `runner-pool` to run in Certyn's cloud."
)


def set_variable(api: EnvironmentsApi, environment_id: str, name: str, value: str, deadline: float) -> bool:
    """``POST .../environments/{environmentId}/variables`` (retried). True when set; False when the
    environment already has it: this step made the environment and names are unique, so only an earlier
    attempt of this request, whose answer was lost, can have set it."""
    body = {"name": name, "value": value, "description": "Set by the Certyn GitHub Action (`variables`)"}
    try:
        api._call(
            "POST",
            api._path(deadline, environment_id, "variables"),
            lambda _reply: None,
            deadline,
            doing=f"setting the variable `{name}`",
            policy=api.client.create_policy(),
            operation="variable create",
            json_body=body,
        )
    except ApiError as err:
        if err.status != 409:
            raise
        return False
    return True


def list_runner_pools(client: CertynClient, deadline: float) -> tuple[RunnerPool, ...]:
    """``GET /api/self-hosted/pools``: a bare array (retried)."""
    from ..core.environment import runner_pools  # noqa: PLC0415 - pydantic: not before the first request

    def read(reply: Reply) -> tuple[RunnerPool, ...]:
        try:
            data = reply.json()
        except ValueError:
            data = None
        if not isinstance(data, list):
            raise ApiError(
                f"the runner pools list (HTTP {reply.status}) is not a JSON array: a proxy answered, or the body "
                "was cut",
                status=reply.status,
                transient=is_transient(UNUSABLE_BODY),
            )
        return runner_pools(data)

    try:
        return client.call(
            "GET",
            RUNNER_POOLS_PATH,
            read,
            deadline,
            doing="listing the self-hosted runner pools",
            policy=client.read_policy(),
            operation="runner pools list",
        )
    except AuthError as err:
        raise AuthError(POOL_RIGHTS.format(status=err.status), status=err.status) from None
