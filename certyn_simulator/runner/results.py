"""The finished step as the runner sees it: log lines, outputs, summary, workflow commands, cancel timings."""

from __future__ import annotations

from dataclasses import dataclass, field

from .filecommands import (
    FileCommandError,
    WorkflowCommand,
    parse_commands,
    parse_outputs,
)
from .files import RunnerFiles

# Results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogLine:
    """One line of the action's log as the runner reads it; ``at`` is ``time.monotonic()``."""

    stream: str
    text: str
    at: float


@dataclass(frozen=True)
class CancelTimings:
    """``time.monotonic()`` values of a runner-style cancel."""

    sigint_at: float
    sigterm_at: float | None
    sigkill_at: float | None
    exited_at: float

    @property
    def exit_after(self) -> float:
        """Seconds from the first signal until the process exited."""
        return self.exited_at - self.sigint_at


@dataclass(frozen=True)
class ActionRun:
    """The finished step. ``exit_code`` is the raw return code (negative: killed by that signal)."""

    exit_code: int
    stdout: str
    stderr: str
    lines: list[LogLine]
    output_text: str
    summary: str
    env: dict[str, str]
    argv: list[str]
    started_at: float
    ended_at: float
    timed_out: bool = False
    cancel: CancelTimings | None = None
    runner_messages: list[str] = field(default_factory=list)
    files: RunnerFiles | None = None

    @property
    def duration(self) -> float:
        return self.ended_at - self.started_at

    @property
    def outputs(self) -> dict[str, str]:
        """Outputs parsed from ``GITHUB_OUTPUT`` like the runner; raises :class:`FileCommandError`."""
        return parse_outputs(self.output_text)

    @property
    def output_error(self) -> str | None:
        try:
            parse_outputs(self.output_text)
        except FileCommandError as exc:
            return str(exc)
        return None

    @property
    def commands(self) -> list[WorkflowCommand]:
        """Workflow commands the runner would process, from stdout and stderr in arrival order."""
        return parse_commands((line.stream, line.text) for line in self.lines)

    def commands_named(self, name: str) -> list[WorkflowCommand]:
        return [c for c in self.commands if c.name == name.lower()]

    @property
    def log(self) -> str:
        """stdout and stderr interleaved in arrival order."""
        return "".join(line.text + "\n" for line in self.lines)

    @property
    def conclusion(self) -> str:
        """``success`` when the runner would mark the step green (exit 0 and a readable GITHUB_OUTPUT)."""
        return (
            "success"
            if self.exit_code == 0 and self.output_error is None and not self.timed_out
            else "failure"
        )
