"""One lifecycle for everything the step holds: a cleanup stack.

The step acquires resources in order (today the Certyn run; next a temporary environment) and, as it starts
acquiring each, registers how to release it. However the step ends (pass, gate failure, timeout, API error,
internal error, SIGINT/SIGTERM), :meth:`Lifecycle.end` goes through what is held in reverse order and asks the
table in ``core/endings.py`` whether this ending releases it, under which switch. Every release shares ONE
budget: ``RELEASE_BUDGET_SECONDS`` from the first signal (stamped by the signal guard on the step's clock), or
from the end when there was no signal; each release gets its share of what is left, so a hanging cancel
cannot starve the environment delete, and a release that raises does not stop the next. Each resource reports what it did (log, summary, outputs) itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
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
        """Release (or keep) what is held, the last acquired first, within the one budget: each release gets
        its share (time left / releases left), what it does not use passes on, and every release runs whatever
        an earlier one raised (what the last raised propagates, earlier exceptions chained as its context)."""
        deadline = self.deadline()
        held, self._held = self._held, []
        decisions = [(resource, decide(ending, resource.name, switches)) for resource in held]
        left = sum(1 for _, decision in decisions if decision.release)
        with ExitStack() as stack:
            for resource, decision in decisions:  # the stack runs them last acquired first
                if decision.rule is None:
                    continue
                if not decision.release:
                    stack.callback(resource.keep, decision.rule)
                    continue
                cause = decision.rule.cause

                def release(resource: Resource = resource, cause: str = cause) -> None:
                    nonlocal left
                    now = self._clock.monotonic()
                    share = now + max(0.0, deadline - now) / max(left, 1)
                    left -= 1
                    resource.release(cause, share)

                stack.callback(release)
