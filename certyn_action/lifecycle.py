"""One lifecycle for everything the step holds: a cleanup stack.

The step acquires resources in order (today the Certyn run; next a temporary environment) and, as it starts
acquiring each, registers how to release it. However the step ends (pass, gate failure, timeout, API error,
internal error, SIGINT/SIGTERM), :meth:`Lifecycle.end` goes through what is held in reverse order and asks the
table in ``core/endings.py`` whether this ending releases it, under which switch. Every release shares ONE
budget: ``RELEASE_BUDGET_SECONDS`` from the first signal (stamped by the signal guard on the step's clock), or
from the end when there was no signal. Each resource reports what it did (log, summary, outputs) itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from .clock import Clock
from .core.endings import Ending, Rule, decide
from .github.signals import SignalGuard

RELEASE_BUDGET_SECONDS = 5.0  # the runner sends SIGTERM 7.5 s after SIGINT, then kills


class Resource(Protocol):
    """Something the step holds. ``name`` is its row in the endings table."""

    name: str

    def release(self, cause: str, deadline: float) -> None:
        """Release it by ``deadline`` (clock time), and report what happened."""

    def keep(self, rule: Rule) -> None:
        """The switch ``rule.switch`` keeps it: say so where it matters."""


class Lifecycle:
    def __init__(self, clock: Clock, guard: SignalGuard, budget: float = RELEASE_BUDGET_SECONDS) -> None:
        self._clock, self._guard, self._budget = clock, guard, budget
        self._held: list[Resource] = []

    def hold(self, resource: Resource) -> None:
        """``resource`` is being acquired: from now on every ending considers releasing it."""
        self._held.append(resource)

    @property
    def holding(self) -> tuple[str, ...]:
        return tuple(resource.name for resource in self._held)

    def deadline(self) -> float:
        """The end of the release budget: counted from the first signal if there was one, else from now."""
        since = self._guard.received_at
        start = self._clock.monotonic() if since is None else since
        return start + self._budget

    def end(self, ending: Ending, switches: Mapping[str, bool]) -> None:
        """Release (or keep) what is held, the last acquired first, within the one budget."""
        deadline = self.deadline()
        while self._held:
            resource = self._held.pop()
            decision = decide(ending, resource.name, switches)
            if decision.rule is None:
                continue
            if decision.release:
                resource.release(decision.rule.cause, deadline)
            else:
                resource.keep(decision.rule)
