"""``variables`` and ``runner-pool``: what a ``base-url`` run adds to its temporary environment.

- ``runner-pool`` (an id or a name) is resolved with ``GET /api/self-hosted/pools`` before anything is created:
  an unknown, inactive or ambiguous pool ends the step as an input error. The environment is then created
  with ``executionTarget: self_hosted`` and the pool's ``runnerPoolId``, and a ``base-url`` this runner cannot
  reach is a warning, not the end (the deployment may be private to the pool's network).
- ``variables`` are set on the temporary environment after its create and before the run's, one request each,
  in order. Their values were masked before anything was logged (``main.py``); no line here ever holds one,
  and the server's words are left out of the error (they may quote one). A variable that cannot be set means
  no run: the environment is deleted at once (whatever ``keep-environment`` says) and the step fails naming
  the variable. The variables go with the environment when it is deleted; a kept one keeps them (its note
  says so, ``resources.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .api.client import ApiError, AuthError, GaveUp, list_runner_pools
from .clock import Clock
from .gate import Cause, Result, Verdict
from .render import words
from .render.escape import without_secrets
from .settings import Settings

if TYPE_CHECKING:
    from .api.client import CertynClient
    from .api.models import RunnerPool
    from .resources import Journal as Reporter  # the step: what preview learns goes to its report
    from .resources import TemporaryEnvironment

DISCARD_SECONDS = 5.0  # to delete the environment whose variables could not all be set (as a release)
SERVER_SAID = " Server said: "


class PoolRefused(Exception):
    """``runner-pool`` names no usable pool; already reported as an input error. Nothing was created."""


class Preview:
    def __init__(self, client: CertynClient, reporter: Reporter, settings: Settings, clock: Clock) -> None:
        self.client, self.reporter, self.settings, self.clock = client, reporter, settings, clock
        self.pool: RunnerPool | None = None

    # -- runner-pool ------------------------------------------------------------------------------
    def resolve_pool(self, deadline: float) -> None:
        """``runner-pool`` as a pool of this key's, active and named once; else :class:`PoolRefused`."""
        wanted = self.settings.runner_pool
        if not wanted:
            return
        pools = list_runner_pools(self.client, deadline)
        from .api.models import find_pool  # noqa: PLC0415 - loaded by now: reading the answer loads the models

        found = find_pool(pools, wanted)
        if not found:
            active = [(pool.name or pool.id, pool.id) for pool in pools if pool.is_active]
            self._refuse(words.unknown_pool(wanted, active))
        if len(found) > 1:
            self._refuse(words.ambiguous_pool(wanted, [pool.id for pool in found]))
        if not found[0].is_active:
            self._refuse(words.inactive_pool(wanted))
        self.pool = found[0]
        self.reporter.log.info(words.pool_line(self.pool.name or self.pool.id, self.pool.id))

    def _refuse(self, message: str) -> None:
        error = f"Input 'runner-pool': {message}"
        self.reporter.report.verdict = Verdict(Result.ERROR, (error,), cause=Cause.INPUT_ERROR)
        self.reporter.log.error(error, title=words.invalid_input("runner-pool"))
        raise PoolRefused(message)

    def environment_fields(self) -> dict[str, str]:
        """What the environment's create body adds for the pool."""
        if self.pool is None:
            return {}
        return {"executionTarget": "self_hosted", "runnerPoolId": self.pool.id}

    # -- variables --------------------------------------------------------------------------------
    def set_variables(self, environment: TemporaryEnvironment, deadline: float) -> None:
        """Set every variable on the created ``environment``, in order; on the first that fails, delete the
        environment and raise an :class:`ApiError` naming that variable (never its value)."""
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
        message = words.variable_not_set(name, self._without_values(err.message))
        environment.discard(
            f"the variable `{name}` could not be set", self.clock.monotonic() + DISCARD_SECONDS
        )
        # Not a 404 (it would read "project not found"); a refused key, retries given up or the deadline keep
        # their meaning.
        kind = type(err) if isinstance(err, AuthError | GaveUp) else ApiError
        raise kind(
            message,
            status=err.status,
            kind=err.kind,
            attempts=err.attempts,
            last=self._without_values(err.last),
        ) from None

    @staticmethod
    def _without_values(text: str) -> str:
        """``text`` without the server's words: they may quote the value, whole, cut short or escaped (our own
        words never do)."""
        ours, said, _ = text.partition(SERVER_SAID)
        return (
            ours.rstrip(". ") + " (the server's words are left out: they may quote the value)"
            if said
            else text
        )


def deployment_unreachable(reporter: Reporter, settings: Settings, error: str) -> bool:
    """With ``runner-pool``, a ``base-url`` this runner cannot reach is a warning: True, the run goes ahead.
    Without it, False: the step ends (``step.py`` says why)."""
    if not settings.runner_pool:
        return False
    message = words.deployment_not_reached(without_secrets(settings.base_url), error, settings.runner_pool)
    reporter.log.warning(message, title=words.DEPLOYMENT_NOT_REACHED)
    reporter.note(message)
    return True
