"""Start the action's Docker image exactly the way the GitHub runner starts a container action.

actions/runner (``ContainerActionHandler`` + ``DockerCommandManager``) runs::

    docker run --name <image>_<hex> --label <hex> --workdir /github/workspace --rm
      -e NAME ...                      (names only: the values come from the docker client's environment)
      -e GITHUB_ACTIONS=true -e CI=true
      -v /var/run/docker.sock:/var/run/docker.sock
      -v <temp>:/github/runner_temp -v <temp>/_github_home:/github/home
      -v <temp>/_github_workflow:/github/workflow -v <temp>/_runner_file_commands:/github/file_commands
      -v <workspace>:/github/workspace
      <image>

with every environment value that starts with a mounted host path rewritten to the container path. No
``--init``, no ``-t``/``-i``: the docker client forwards SIGINT/SIGTERM to the action as PID 1. The only
difference here is ``--network host`` (on this project's machines all traffic stays on 127.0.0.1, where the
simulator listens; the runner itself uses the default network).

    runner = FakeRunner(action_dir, launcher=DockerLauncher("certyn-run-action:test"))
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from pathlib import Path

from .files import CONTAINER_PATHS, RunnerFiles, translate_env

CONTAINER_WORKSPACE = CONTAINER_PATHS["workspace"]
CONTAINER_HOME = CONTAINER_PATHS["home"]
DOCKER_SOCKET = "/var/run/docker.sock"

_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")


def container_name(image: str, suffix: str) -> str:
    """``<image>_<hex>`` as the runner names it: the image's repository without registry, tag or digest."""
    repository = image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]
    base = _NAME_UNSAFE.sub("_", repository).lstrip("_.-") or "action"
    return f"{base}_{suffix}"


class DockerLauncher:
    """A ``Launcher`` for :class:`certyn_simulator.runner.FakeRunner` that runs ``image`` like the runner.

    ``label`` is the ``--label`` every container gets (``docker ps --filter label=<label>`` finds leftovers).
    ``network`` is ``host`` by default (see the module docstring); ``None`` leaves Docker's default.
    """

    def __init__(
        self,
        image: str,
        *,
        docker: str = "docker",
        network: str | None = "host",
        label: str | None = None,
        mount_docker_socket: bool = True,
    ) -> None:
        self.image = image
        self.docker = docker
        self.network = network
        self.label = label or uuid.uuid4().hex
        self.mount_docker_socket = mount_docker_socket
        self.last_container_name: str | None = None

    def mounts(self, files: RunnerFiles) -> list[tuple[Path, str]]:
        """The runner's ``-v`` mounts (besides the Docker socket), host path to container path, in its order."""
        return [
            (files.runner_temp, CONTAINER_PATHS["runner_temp"]),
            (files.home, CONTAINER_PATHS["home"]),
            (files.workflow, CONTAINER_PATHS["workflow"]),
            (files.file_commands, CONTAINER_PATHS["file_commands"]),
            (files.workspace, CONTAINER_PATHS["workspace"]),
        ]

    def container_env(self, env: Mapping[str, str], files: RunnerFiles) -> dict[str, str]:
        """The environment the action sees: host paths rewritten, as the runner does, and HOME set."""
        result = translate_env(env, files)
        result["HOME"] = CONTAINER_HOME  # the runner sets HOME to its _github_home, mounted here
        return result

    def command(self, env: Mapping[str, str], files: RunnerFiles) -> tuple[list[str], dict[str, str]]:
        """``docker run`` argv and the docker client's environment (which carries the values of ``-e NAME``)."""
        name = container_name(self.image, uuid.uuid4().hex)
        self.last_container_name = name
        container_env = self.container_env(env, files)
        argv = [
            self.docker,
            "run",
            "--name",
            name,
            "--label",
            self.label,
            "--workdir",
            CONTAINER_WORKSPACE,
            "--rm",
        ]
        for key in container_env:
            argv += ["-e", key]
        argv += ["-e", "GITHUB_ACTIONS=true"]
        if "CI" not in container_env:  # the runner adds CI=true only when the step's env has no CI
            argv += ["-e", "CI=true"]
        if self.network:
            argv += ["--network", self.network]
        if self.mount_docker_socket:
            argv += ["-v", f"{DOCKER_SOCKET}:{DOCKER_SOCKET}"]
        for host, container in self.mounts(files):
            argv += ["-v", f"{host}:{container}"]
        argv.append(self.image)
        process_env = dict(os.environ)
        process_env.update(container_env)
        return argv, process_env
