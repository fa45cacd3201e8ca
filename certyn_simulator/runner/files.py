"""The runner's directories and files for one step, and how their host paths appear inside the container."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_REPOSITORY = "certyn-demo/shop"


def new_sha() -> str:
    return secrets.token_hex(20)


def input_env_name(name: str) -> str:
    """``api-key`` → ``INPUT_API-KEY``: upper-cased, spaces to ``_``, hyphens kept (as the runner does)."""
    return "INPUT_" + name.replace(" ", "_").upper()


# Files ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunnerFiles:
    """Host-side locations the runner prepared for one step."""

    root: Path
    file_commands: Path
    workflow: Path
    home: Path
    workspace: Path
    runner_temp: Path
    output_file: Path
    summary_file: Path
    event_file: Path
    env_file: Path | None = None
    path_file: Path | None = None
    state_file: Path | None = None

    @classmethod
    def create(cls, root: Path, repository: str = DEFAULT_REPOSITORY) -> RunnerFiles:
        """Lay out ``root`` like a runner: ``_temp/{_runner_file_commands,_github_workflow,_github_home}``,
        ``work/<repo>/<repo>``, and empty file-command files with one fresh uuid suffix."""
        repo = repository.rsplit("/", maxsplit=1)[-1] or "repo"
        temp = root / "_temp"
        commands = temp / "_runner_file_commands"
        workflow = temp / "_github_workflow"
        home = temp / "_github_home"
        workspace = root / "work" / repo / repo
        for d in (commands, workflow, home, workspace):
            d.mkdir(parents=True, exist_ok=True)
        suffix = str(uuid.uuid4())
        files = cls(
            root=root,
            file_commands=commands,
            workflow=workflow,
            home=home,
            workspace=workspace,
            runner_temp=temp,
            output_file=commands / f"set_output_{suffix}",
            summary_file=commands / f"step_summary_{suffix}",
            event_file=workflow / "event.json",
            env_file=commands / f"set_env_{suffix}",
            path_file=commands / f"add_path_{suffix}",
            state_file=commands / f"save_state_{suffix}",
        )
        for f in (files.output_file, files.summary_file, files.env_file, files.path_file, files.state_file):
            if f is not None:
                f.touch()
        return files

    def mounts(self) -> list[tuple[Path, str]]:
        """(host dir, container dir) pairs of the ``docker run -v`` mounts, most specific first."""
        return [
            (self.file_commands, CONTAINER_PATHS["file_commands"]),
            (self.workflow, CONTAINER_PATHS["workflow"]),
            (self.home, CONTAINER_PATHS["home"]),
            (self.workspace, CONTAINER_PATHS["workspace"]),
            (self.runner_temp, CONTAINER_PATHS["runner_temp"]),
        ]


CONTAINER_PATHS = {
    "file_commands": "/github/file_commands",
    "workflow": "/github/workflow",
    "home": "/github/home",
    "workspace": "/github/workspace",
    "runner_temp": "/github/runner_temp",
}
"""Where the runner mounts each :class:`RunnerFiles` directory inside the container."""


def translate_env(env: Mapping[str, str], files: RunnerFiles) -> dict[str, str]:
    """Rewrite env values that start with a mounted host path to the container path (as the runner does)."""
    out: dict[str, str] = {}
    mounts = [(str(host), container) for host, container in files.mounts()]
    for key, value in env.items():
        out[key] = value
        for host, container in mounts:
            if value == host or value.startswith(host + os.sep):
                out[key] = container + value[len(host) :]
                break
    return out
