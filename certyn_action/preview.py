"""``variables`` and ``runner-pool``: what a ``base-url`` run adds to its temporary environment.

- ``runner-pool`` is resolved before anything is created (unknown, inactive or ambiguous: an input error); the
  environment then runs on it, and a ``base-url`` this runner cannot reach is only a warning (it may be
  private to the pool's network).
- ``variables`` are set one request each, in order, after the environment's create and before the run's.
  No line here ever holds a value, nor the server's words about it (they may quote it). A variable that
  cannot be set means no run: the environment is deleted at once, whatever ``keep-environment`` says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .api.client import ApiError, AuthError, GaveUp, list_runner_pools
from .clock import Clock
from .render import words
from .render.escape import without_secrets
from .settings import InputError, InputErrors, Settings

if TYPE_CHECKING:
    from .api.client import CertynClient
    from .api.models import RunnerPool
    from .resources import Journal as Reporter  # the step: what preview learns goes to its report
    from .resources import TemporaryEnvironment

DISCARD_SECONDS = 5.0  # to delete the environment whose variables could not all be set (as a release)
SERVER_SAID = " Server said: "


class Preview:
    def __init__(self, client: CertynClient, reporter: Reporter, settings: Settings, clock: Clock) -> None:
        self.client, self.reporter, self.settings, self.clock = client, reporter, settings, clock
        self.pool: RunnerPool | None = None

    def resolve_pool(self, deadline: float) -> None:
        """``runner-pool`` as a pool of this key's, active and named once; else an input error."""
        wanted = self.settings.runner_pool
        if not wanted:
            return
        pools = list_runner_pools(self.client, deadline)
        from .api.models import find_pool  # noqa: PLC0415 - loaded by now: reading the answer loads the models

        found = find_pool(pools, wanted)
        if not found:
            active = [(pool.name or pool.id, pool.id) for pool in pools if pool.is_active]
            raise _pool_refused(words.unknown_pool(wanted, active))
        if len(found) > 1:
            raise _pool_refused(words.ambiguous_pool(wanted, [pool.id for pool in found]))
        if not found[0].is_active:
            raise _pool_refused(words.inactive_pool(wanted))
        self.pool = found[0]
        self.reporter.log.info(words.pool_line(self.pool.name or self.pool.id, self.pool.id))

    def environment_fields(self) -> dict[str, str]:
        """What the environment's create body adds for the pool."""
        return {"executionTarget": "self_hosted", "runnerPoolId": self.pool.id} if self.pool else {}

    def deployment_unreachable(self, error: str) -> bool:
        """With ``runner-pool``, a ``base-url`` this runner cannot reach is a warning: True, the run goes ahead.
        Without it, False: the step ends (``step.py`` says why)."""
        settings = self.settings
        if not settings.runner_pool:
            return False
        message = words.deployment_not_reached(
            without_secrets(settings.base_url), error, settings.runner_pool
        )
        self.reporter.log.warning(message, title=words.DEPLOYMENT_NOT_REACHED)
        self.reporter.note(message)
        return True

    def set_variables(self, environment: TemporaryEnvironment, deadline: float) -> None:
        """On the first that fails, the environment is deleted and an :class:`ApiError` names the variable."""
        variables = self.settings.variables
        if not variables or environment.environment is None:
            return
        for name, value in variables:
            try:
                environment.api.set_variable(environment.environment.id, name, value, deadline)
            except ApiError as err:
                self._not_set(environment, name, err)
            environment.variables += (name,)  # a kept environment keeps those set so far
        self.reporter.log.info(words.variables_set(environment.variables, environment.key))

    def _not_set(self, environment: TemporaryEnvironment, name: str, err: ApiError) -> None:
        message = words.variable_not_set(name, _without_values(err.message))
        environment.discard(
            f"the variable `{name}` could not be set", self.clock.monotonic() + DISCARD_SECONDS
        )
        # Not a 404 (it would read "project not found"); a refused key, retries given up or the deadline keep
        # their meaning.
        kind = type(err) if isinstance(err, AuthError | GaveUp) else ApiError
        last = _without_values(err.last)
        raise kind(message, status=err.status, kind=err.kind, attempts=err.attempts, last=last) from None


def _pool_refused(message: str) -> InputErrors:
    return InputErrors([InputError("runner-pool", message)])  # nothing was created


def _without_values(text: str) -> str:
    """``text`` without the server's words: they may quote the value, whole, cut short or escaped."""
    ours, said, _ = text.partition(SERVER_SAID)
    return (
        ours.rstrip(". ") + " (the server's words are left out: they may quote the value)" if said else text
    )
