"""What the log says while waiting: a line when the state or counts change, a heartbeat otherwise. Pure."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .text import format_duration, one_line

if TYPE_CHECKING:
    from ..api.models import RunStatus

HEARTBEAT_SECONDS = 60.0


def describe_counts(status: RunStatus) -> str:
    # Done means a result came in. Counted from the outcomes, not as total - pending: ``pending`` may be
    # missing (then 0), and "5/5 done" for a run that has only just started would mislead.
    done = sum(getattr(status, name) for name in ("passed", "failed", "blocked", "aborted", "skipped"))
    shown = f"{done}/{status.total}" if done <= status.total else str(done)  # never "7/5"
    return f"{shown} done: {_outcomes(status)}"


def _outcomes(status: RunStatus) -> str:
    parts = [f"{status.passed} passed", f"{status.failed} failed", f"{status.blocked} blocked"]
    parts += [
        f"{getattr(status, name)} {name}"
        for name in ("aborted", "skipped", "pending")
        if getattr(status, name)
    ]
    return ", ".join(parts)


def describe_state(status: RunStatus) -> str:
    state = one_line(status.state or "unknown state", 40)
    if status.conclusion:
        state += f" ({one_line(status.conclusion, 40)})"
    return state


class ProgressLog:
    """Decides which progress lines to print; ``now`` is seconds since the action started."""

    def __init__(self, heartbeat_seconds: float = HEARTBEAT_SECONDS) -> None:
        self.heartbeat_seconds = heartbeat_seconds
        self._last_key: tuple[object, ...] | None = None
        self._last_line_at = 0.0

    def on_status(self, status: RunStatus, now: float) -> str | None:
        key = (status.state, status.conclusion, *status.counts().values())
        if key != self._last_key:
            self._last_key = key
            return self._line(now, f"{describe_state(status)} — {describe_counts(status)}")
        return self.heartbeat(now, f"still {describe_state(status)} — {describe_counts(status)}")

    def until_heartbeat(self, now: float) -> float:
        """Seconds until a heartbeat is due (at least a little, so that callers always make progress)."""
        return max(self._last_line_at + self.heartbeat_seconds - now, 0.001)

    def heartbeat(self, now: float, text: str) -> str | None:
        if now - self._last_line_at >= self.heartbeat_seconds:
            return self._line(now, text)
        return None

    def _line(self, now: float, text: str) -> str:
        self._last_line_at = now
        return f"[{format_duration(now)}] {text}"
