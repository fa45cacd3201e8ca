"""What a ``base-url`` run adds to its temporary environment: ``runner-pool``, resolved before anything is created
(a ``base-url`` this runner cannot reach is then only a warning), and ``variables``, set one request each after the
environment's create; a variable not set deletes the environment at once. No line here holds a value, nor the
server's words about one (they may quote it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .api.client import ApiError, AuthError, GaveUp, list_runner_pools
from .clock import Clock, Deadline
from .render import words
from .render.escape import without_secrets
from .resources import RELEASE_BUDGET_SECONDS
from .settings import InputError, InputErrors, Settings

if TYPE_CHECKING:
    from .api.client import CertynClient
    from .api.models import RunnerPool
    from .resources import Journal as Reporter  # the step: what preview learns goes to its report
    from .resources import TemporaryEnvironment

SERVER_SAID = " Server said: "


class Preview:
    def __init__(self, client: CertynClient, reporter: Reporter, settings: Settings, clock: Clock) -> None:
        self.client, self.reporter, self.settings, self.clock = client, reporter, settings, clock
        self.pool: RunnerPool | None = None

    def resolve_pool(self, deadline: Deadline) -> None:
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
        """With ``runner-pool``, a ``base-url`` this runner cannot reach is a warning: True, the run goes ahead."""
        pool = self.settings.runner_pool
        if not pool:
            return False
        message = words.deployment_not_reached(without_secrets(self.settings.base_url), error, pool)
        self.reporter.log.warning(message, title=words.DEPLOYMENT_NOT_REACHED)
        self.reporter.note(message)
        return True

    def set_variables(self, environment: TemporaryEnvironment, deadline: Deadline) -> None:
        """On the first that fails, the environment is deleted and an :class:`ApiError` names the variable."""
        variables = self.settings.variables
        if not variables or environment.environment is None:
            return
        for name, value in variables:
            try:
                environment.api.set_variable(environment.environment.id, name, value, deadline)
            except ApiError as err:
                why = words.VARIABLE_NOT_SET.format(name=name)
                environment.discard(why, Deadline.after(self.clock, RELEASE_BUDGET_SECONDS))
                # not a 404 (it would read "project not found"); a refused key or retries given up keep theirs
                kind = type(err) if isinstance(err, AuthError | GaveUp) else ApiError
                message = words.variable_not_set(name, _without_values(err.message))
                last = _without_values(err.last)
                raise kind(
                    message, status=err.status, kind=err.kind, attempts=err.attempts, last=last
                ) from None
            environment.variables += (name,)  # a kept environment keeps those set so far
        self.reporter.log.info(words.variables_set(environment.variables, environment.key))


def _pool_refused(message: str) -> InputErrors:
    return InputErrors([InputError("runner-pool", message)])  # nothing was created


def _without_values(text: str) -> str:
    """``text`` without the server's words: they may quote the value, whole, cut short or escaped."""
    ours, said, _ = text.partition(SERVER_SAID)
    return ours.rstrip(". ") + words.SERVER_WORDS_LEFT_OUT if said else text
