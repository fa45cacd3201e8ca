"""A stand-in for how the GitHub Actions runner runs a Docker container action.

``FakeRunner`` (``fake_runner``) prepares the runner's directories and files (``files``), builds the
environment the runner gives the action (``INPUT_<NAME>`` with action.yml defaults, ``actionyml``;
``GITHUB_*`` and the event payload, ``events``), starts the action through a :class:`Launcher`
(``launchers``: ``PythonLauncher`` runs ``entrypoint.py``; ``docker.DockerLauncher`` runs the image
like the runner), captures its log (``process``) and reads back outputs, summary and workflow commands
with the runner's rules (``results``, ``filecommands``).

    runner = FakeRunner(action_dir, PythonLauncher(action_dir))
    run = runner.run({"api-key": "k", "project-slug": "p", "process-slug": "s", "api-url": base})
    assert run.exit_code == 0 and run.outputs["result"] == "passed"
"""

from .events import Event
from .fake_runner import FakeRunner
from .filecommands import FileCommandError, WorkflowCommand
from .files import CONTAINER_PATHS, DEFAULT_REPOSITORY, RunnerFiles, input_env_name, translate_env
from .launchers import Launcher, PythonLauncher
from .process import RunningAction
from .results import ActionRun, CancelTimings, LogLine

__all__ = [
    "CONTAINER_PATHS",
    "DEFAULT_REPOSITORY",
    "ActionRun",
    "CancelTimings",
    "Event",
    "FakeRunner",
    "FileCommandError",
    "Launcher",
    "LogLine",
    "PythonLauncher",
    "RunnerFiles",
    "RunningAction",
    "WorkflowCommand",
    "input_env_name",
    "translate_env",
]
