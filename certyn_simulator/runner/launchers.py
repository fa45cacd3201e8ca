"""How the action's process is started: a :class:`Launcher` turns the runner's env into an argv."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from .files import RunnerFiles

# Launchers --------------------------------------------------------------------------------------


class Launcher(Protocol):
    def command(self, env: Mapping[str, str], files: RunnerFiles) -> tuple[list[str], dict[str, str]]:
        """argv and the process environment to start the action with (env holds host paths)."""
        ...


DEFAULT_PASSTHROUGH = (
    "PATH",
    "LANG",
    "LC_ALL",
    "TZ",
    "SYSTEMROOT",
    "COVERAGE_PROCESS_START",
    "COVERAGE_FILE",
)


class PythonLauncher:
    """Run ``python -s action_dir/entrypoint.py`` (like the image's ENTRYPOINT) with this interpreter and
    only the runner's env plus what a Python process needs (``PATH``, locale, coverage hooks) and
    ``extra_env`` (by default ``PYTHONUNBUFFERED=1``, as the image sets, and ``PYTHONDONTWRITEBYTECODE=1``)."""

    def __init__(
        self,
        action_dir: Path | str,
        *,
        python: str = sys.executable,
        script: str = "entrypoint.py",
        extra_env: Mapping[str, str] | None = None,
        passthrough: tuple[str, ...] = DEFAULT_PASSTHROUGH,
        python_flags: tuple[str, ...] = ("-s",),
    ) -> None:
        self.action_dir = Path(action_dir).resolve()
        self.python = python
        self.python_flags = python_flags
        self.script = script
        self.extra_env = (
            dict(extra_env)
            if extra_env is not None
            else {
                "PYTHONUNBUFFERED": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        self.passthrough = passthrough

    def command(self, env: Mapping[str, str], files: RunnerFiles) -> tuple[list[str], dict[str, str]]:
        proc_env = {k: os.environ[k] for k in self.passthrough if k in os.environ}
        proc_env.setdefault("PATH", os.defpath)
        proc_env.update(self.extra_env)
        proc_env.update(env)
        return [self.python, *self.python_flags, str(self.action_dir / self.script)], proc_env
