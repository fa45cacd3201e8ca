"""Starting the action once with the stand-in runner's files, env and process start, timed with ``wait4``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from certyn_simulator.runner import Event, FakeRunner, Launcher
from certyn_simulator.runner.docker import DockerLauncher
from certyn_simulator.runner.filecommands import FileCommandError, decode_file_command, parse_outputs
from certyn_simulator.runner.process import start_process

from .common import ROOT, RUN_TIMEOUT


@dataclass
class Launch:
    """One finished process. Times are ``time.monotonic()``; ``maxrss_kib`` is ``wait4()``'s ``ru_maxrss``
    of that very process (for ``docker run``: of the docker client, not of the action)."""

    argv: list[str]
    started: float
    exited: float
    exit_code: int
    maxrss_kib: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    container_hwm_kib: int | None = None

    @property
    def result(self) -> str:
        return self.outputs.get("result", f"<no result; exit {self.exit_code}>")


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _kill_group(pid: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def spawn(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    log_dir: Path,
    *,
    timeout: float = RUN_TIMEOUT,
    on_start: Callable[[int], None] | None = None,
) -> tuple[float, float, int, int, str, str]:
    """Start ``argv`` with the stand-in runner's process start (own session, stdin closed), wait with
    ``wait4`` (so ``ru_maxrss`` is that very process's); ``on_start`` is given its pid.

    Returns (started, exited, exit code, ru_maxrss KiB, stdout, stderr)."""
    out_path, err_path = log_dir / "stdout", log_dir / "stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.monotonic()
        proc = start_process(argv, env, cwd, stdout=out, stderr=err)
        watchdog = threading.Timer(timeout, _kill_group, args=(proc.pid,))
        watchdog.daemon = True
        watchdog.start()
        if on_start is not None:
            on_start(proc.pid)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
            exited = time.monotonic()
        finally:
            watchdog.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # wait4 reaped it; tell Popen
    return started, exited, proc.returncode, usage.ru_maxrss, _read(out_path), _read(err_path)


class ActionLauncher:
    """Runs the action once: the stand-in runner prepares files, env and argv and starts the process;
    the bench waits with ``wait4``."""

    def __init__(self, launcher: Launcher, *, poll_container_memory: bool = False) -> None:
        self.launcher = launcher
        self.runner = FakeRunner(ROOT, launcher)
        self.poll_container_memory = poll_container_memory

    def run(self, inputs: Mapping[str, str], on_start: Callable[[int], None] | None = None) -> Launch:
        """``on_start`` is given the pid of the started process."""
        step = self.runner.prepare(inputs, event=Event.push())
        try:
            files = step.files
            watcher: ContainerMemory | None = None

            def started_process(pid: int) -> None:
                nonlocal watcher
                if on_start is not None:
                    on_start(pid)
                if self.poll_container_memory and isinstance(self.launcher, DockerLauncher):
                    name = self.launcher.last_container_name
                    if name:
                        watcher = ContainerMemory(name)
                        watcher.start()

            started, exited, code, rss, out, err = spawn(
                step.argv, step.proc_env, files.workspace, step.root, on_start=started_process
            )
            output_text = decode_file_command(files.output_file.read_bytes())
            try:
                outputs = parse_outputs(output_text)
            except FileCommandError:
                outputs = {}
            hwm = watcher.finish() if watcher is not None else None
            return Launch(step.argv, started, exited, code, rss, out, err, outputs, hwm)
        finally:
            step.remove()


class ContainerMemory(threading.Thread):
    """VmHWM of a container's PID 1 (host /proc), read every 10 ms until the process is gone; the last
    reading is the peak (VmHWM only grows)."""

    def __init__(self, container: str) -> None:
        super().__init__(daemon=True, name="container-memory")
        self.container = container
        self.hwm_kib: int | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        pid = 0
        deadline = time.monotonic() + 20
        while not pid and not self._halt.is_set() and time.monotonic() < deadline:
            proc = subprocess.run(
                ["docker", "inspect", "--format", "{{.State.Pid}}", self.container],
                capture_output=True,
                text=True,
                check=False,
            )
            pid = int(proc.stdout.strip() or 0) if proc.returncode == 0 else 0
            if not pid:
                time.sleep(0.02)
        while pid and not self._halt.is_set():
            value = _vm_hwm(pid)
            if value is None:
                return
            self.hwm_kib = value
            time.sleep(0.01)

    def finish(self) -> int | None:
        self._halt.set()
        self.join(timeout=5)
        return self.hwm_kib


def _vm_hwm(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None
