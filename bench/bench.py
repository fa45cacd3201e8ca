"""Benchmark of the action: start-up, memory, requests per scenario, reaction time, image size, imports.

    make bench                          # = .venv/bin/python bench/bench.py --start-docker
    .venv/bin/python bench/bench.py --runs 15 --docker-runs 5 [--no-docker | --require-docker] [--json]

Everything runs against the bundled simulator on 127.0.0.1, in this process, so the simulator's request
log (``received_at``, ``terminal_served_at``: ``time.monotonic()``) and the process start and exit times
measured here share one clock. The action is started with the environment and files of
``certyn_simulator.runner.FakeRunner``: through ``PythonLauncher`` (``python -s entrypoint.py``) and through
``DockerLauncher`` (the runner's own ``docker run`` flags and mounts, plus ``--network host``).

Cold start is timed to the same kind of point for the action and its baselines: the action to the moment the
simulator receives its first request, each baseline (``python -c '<imports>; connect'``) to the moment a listener
of this process accepts the TCP connection the baseline opens to 127.0.0.1 right after its imports. The
baselines are also timed to process exit (for ``docker run --rm``: including the container's teardown), next to
the action's whole run to exit.

Figures are medians with min-max over the runs. Docker figures need an engine that answers
(``bash scripts/docker-engine.sh start``, or ``--start-docker``); without one they are reported as
unavailable, unless ``--require-docker``. The image is built from the repository's Dockerfile
(``scripts/base-image.sh`` first) unless ``--image`` names one.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from certyn_simulator import Fault, RunRecord, Scenario, Simulator, snapshot  # noqa: E402
from certyn_simulator.runner import Event, FakeRunner, Launcher, PythonLauncher, RunnerFiles  # noqa: E402
from certyn_simulator.runner.docker import DockerLauncher  # noqa: E402
from certyn_simulator.runner.filecommands import FileCommandError, decode_file_command, parse_outputs  # noqa: E402

IMAGE_TAG = "certyn-run-action:bench"
API_KEY = "bench-key"
RUN_TIMEOUT = 60.0
STEADY_POLLS = 4  # the steady scenario completes on the 4th poll
OUTAGE_SECONDS = 2.5
STAND_IN_LABEL = "org.certyn.stand-in-for"


# Statistics ---------------------------------------------------------------------------------------


@dataclass
class Series:
    """Samples of one figure (seconds, or KiB for memory)."""

    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def to_dict(self, scale: float = 1.0) -> dict[str, Any]:
        if not self.values:
            return {"n": 0}
        return {
            "n": len(self.values),
            "median": round(self.median * scale, 3),
            "min": round(min(self.values) * scale, 3),
            "max": round(max(self.values) * scale, 3),
        }

    def ms(self) -> str:
        if not self.values:
            return "n/a"
        return (
            f"{self.median * 1000:7.0f} ms  ({min(self.values) * 1000:.0f}-{max(self.values) * 1000:.0f}, "
            f"n={len(self.values)})"
        )

    def mib(self) -> str:
        if not self.values:
            return "n/a"
        return (
            f"{self.median / 1024:7.1f} MiB ({min(self.values) / 1024:.1f}-{max(self.values) / 1024:.1f}, "
            f"n={len(self.values)})"
        )


# Launching the action -----------------------------------------------------------------------------


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
    on_start: Callable[[], None] | None = None,
) -> tuple[float, float, int, int, str, str]:
    """Start ``argv`` like ``FakeRunner.start`` does (own session, stdin closed), wait with ``wait4``.

    Returns (started, exited, exit code, ru_maxrss KiB, stdout, stderr)."""
    out_path, err_path = log_dir / "stdout", log_dir / "stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        watchdog = threading.Timer(timeout, _kill_group, args=(proc.pid,))
        watchdog.daemon = True
        watchdog.start()
        if on_start is not None:
            on_start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
            exited = time.monotonic()
        finally:
            watchdog.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # wait4 reaped it; tell Popen
    return started, exited, proc.returncode, usage.ru_maxrss, _read(out_path), _read(err_path)


class ActionLauncher:
    """Runs the action once: the fake runner's env and files, the launcher's argv, our own ``wait4``."""

    def __init__(self, launcher: Launcher, *, poll_container_memory: bool = False) -> None:
        self.launcher = launcher
        self.runner = FakeRunner(ROOT, launcher)
        self.poll_container_memory = poll_container_memory

    def run(self, inputs: Mapping[str, str]) -> Launch:
        root = Path(tempfile.mkdtemp(prefix="certyn-bench-"))
        try:
            files = RunnerFiles.create(root)
            event = Event.push()
            files.event_file.write_text(json.dumps(event.payload), encoding="utf-8")
            env = self.runner.build_env(inputs, files, event=event)
            argv, proc_env = self.launcher.command(env, files)
            watcher: ContainerMemory | None = None

            def on_start() -> None:
                nonlocal watcher
                if self.poll_container_memory and isinstance(self.launcher, DockerLauncher):
                    name = self.launcher.last_container_name
                    if name:
                        watcher = ContainerMemory(name)
                        watcher.start()

            started, exited, code, rss, out, err = spawn(
                argv, proc_env, files.workspace, root, on_start=on_start
            )
            output_text = decode_file_command(files.output_file.read_bytes())
            try:
                outputs = parse_outputs(output_text)
            except FileCommandError:
                outputs = {}
            hwm = watcher.finish() if watcher is not None else None
            return Launch(argv, started, exited, code, rss, out, err, outputs, hwm)
        finally:
            shutil.rmtree(root, ignore_errors=True)


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


class Beacon:
    """A TCP listener on 127.0.0.1 that records when it accepts each connection (``time.monotonic()``).

    A baseline ends its ``-c`` code with ``connect()``, so it is timed to its first contact with 127.0.0.1,
    the point where the action's first request reaches the simulator."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port: int = self._sock.getsockname()[1]
        self.accepted: list[float] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="beacon")
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            at = time.monotonic()
            with self._lock:
                self.accepted.append(at)
            conn.close()

    def connect_code(self, imports: str) -> str:
        """``-c`` code: the imports (may be empty), then one connection to this beacon."""
        connect = f"import socket; socket.create_connection(('127.0.0.1', {self.port})).close()"
        return f"{imports}; {connect}" if imports else connect

    def first_after(self, started: float) -> float | None:
        with self._lock:
            later = [t for t in self.accepted if t >= started]
        return min(later) if later else None

    def close(self) -> None:
        with suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(timeout=2)


# Scenarios ----------------------------------------------------------------------------------------


def instant() -> Scenario:
    """Completed on the first poll: create + 1 poll, nothing to wait for."""
    return Scenario(
        name="instant", snapshots=[snapshot("completed", total=1, passed=1)], retry_after_seconds=1
    )


def steady(polls: int = STEADY_POLLS) -> Scenario:
    """In progress until the ``polls``-th poll, which serves ``completed``; retryAfterSeconds 1."""
    running = snapshot("in_progress", total=3, passed=0, pending=3)
    return Scenario(
        name="steady",
        snapshots=[*([running] * (polls - 1)), snapshot("completed", total=3, passed=3)],
        retry_after_seconds=1,
    )


def action_inputs(sim: Simulator) -> dict[str, str]:
    return {
        "api-key": sim.api_key,
        "project-slug": "bench",
        "process-slug": "smoke",
        "api-url": sim.base_url,
        "poll-interval-seconds": "1",
        "max-poll-interval-seconds": "30",
        "timeout-seconds": "120",
    }


@dataclass
class Observed:
    launch: Launch
    first_request_at: float | None
    run: RunRecord | None
    requests: list[dict[str, Any]]

    @property
    def cold_start(self) -> float | None:
        return None if self.first_request_at is None else self.first_request_at - self.launch.started

    @property
    def reaction(self) -> float | None:
        if self.run is None or self.run.terminal_served_at is None:
            return None
        return self.launch.exited - self.run.terminal_served_at


def observe(sim: Simulator, action: ActionLauncher, scenario: Scenario) -> Observed:
    sim.reset(scenario)
    launch = action.run(action_inputs(sim))
    api = sim.api_requests()
    runs = list(sim.runs.values())
    if launch.result != "passed":
        raise BenchError(
            f"the action did not pass ({launch.result}, exit {launch.exit_code}) with {' '.join(launch.argv[:3])}"
            f"\n--- stdout ---\n{launch.stdout[-3000:]}\n--- stderr ---\n{launch.stderr[-3000:]}"
        )
    return Observed(
        launch,
        api[0].received_at if api else None,
        runs[-1] if runs else None,
        [
            {
                "endpoint": r.endpoint,
                "status": r.response_status,
                "fault": r.fault,
                "at": round(r.received_at - launch.started, 3),
                "replayed": r.endpoint == "create" and r.response_status == 200,
            }
            for r in api
        ],
    )


class BenchError(RuntimeError):
    pass


# Machine ------------------------------------------------------------------------------------------


def cpu_model() -> str:
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = ""
    with suppress(OSError):
        match = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(encoding="ascii"), re.M)
        if match:
            mem = f"{int(match.group(1)) / 1024 / 1024:.0f} GiB"
    load = ""
    with suppress(OSError):
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "load_average_at_start": load,
    }


# Docker -------------------------------------------------------------------------------------------


def _run(argv: Sequence[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT)


def docker_version() -> str | None:
    if shutil.which("docker") is None:
        return None
    try:
        proc = _run(
            ["docker", "version", "--format", "client {{.Client.Version}}, engine {{.Server.Version}}"],
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = proc.stdout.strip()
    return text if proc.returncode == 0 and not text.endswith("engine") else None


def base_image_name() -> str:
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.strip().upper().startswith("FROM "):
            return line.split()[1]
    raise BenchError("no FROM line in the Dockerfile")


def build_image(tag: str) -> float:
    started = time.monotonic()
    for argv in (
        ["bash", "scripts/base-image.sh"],
        ["docker", "build", "--network", "host", "--pull=false", "--force-rm", "-q", "-t", tag, "."],
    ):
        proc = _run(argv, timeout=900)
        if proc.returncode != 0:
            raise BenchError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()[-1500:]}")
    return time.monotonic() - started


def image_size(image: str) -> int:
    proc = _run(["docker", "image", "inspect", "--format", "{{.Size}}", image])
    if proc.returncode != 0:
        raise BenchError(f"docker image inspect {image}: {proc.stderr.strip()}")
    return int(proc.stdout.strip())


def history(image: str) -> list[tuple[int, str]]:
    proc = _run(
        ["docker", "history", "--no-trunc", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", image]
    )
    if proc.returncode != 0:
        raise BenchError(f"docker history {image}: {proc.stderr.strip()}")
    rows = []
    for line in proc.stdout.splitlines():
        size, _, created_by = line.partition("\t")
        rows.append((int(size or 0), created_by))
    return rows


def _short_layer(created_by: str) -> str:
    text = re.sub(r"^/bin/sh -c (#\(nop\) )?", "", created_by).strip()
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= 70 else text[:67] + "..."


def image_figures(image: str) -> dict[str, Any]:
    base = base_image_name()
    total, base_size = image_size(image), image_size(base)
    ours = history(image)[: max(len(history(image)) - len(history(base)), 0)]
    stand_in = _run(
        ["docker", "image", "inspect", "--format", f'{{{{index .Config.Labels "{STAND_IN_LABEL}"}}}}', base]
    )
    python_v = _run(
        ["docker", "run", "--rm", "--network", "host", "--entrypoint", "/usr/local/bin/python", image, "-V"]
    )
    return {
        "image": image,
        "size_bytes": total,
        "base": base,
        "base_size_bytes": base_size,
        "base_is_local_stand_in": stand_in.stdout.strip() not in ("", "<no value>"),
        "added_bytes": total - base_size,
        "layers": [{"bytes": size, "created_by": _short_layer(cmd)} for size, cmd in ours if size > 0],
        "python": (python_v.stdout or python_v.stderr).strip(),
    }


def remove_labelled(label: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ids = _run(["docker", "ps", "-a", "-q", "--filter", f"label={label}"]).stdout.split()
        if not ids:
            return
        time.sleep(0.2)
    _run(["docker", "rm", "-f", *ids])


# Import analysis ----------------------------------------------------------------------------------

_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


@dataclass
class ImportNode:
    name: str
    self_us: int
    cumulative_us: int
    children: list[ImportNode] = field(default_factory=list)
    parent: ImportNode | None = None


def parse_importtime(stderr: str) -> tuple[list[ImportNode], list[ImportNode]]:
    """(top-level imports up to ``certyn_action.main``, each with its subtree; the imports after it, flat).

    Up to ``certyn_action.main`` one thread imports, so the tree is exact. Later imports may come from two
    threads at once (pydantic on the main thread, requests' lazy ``netrc`` on the create's worker), which
    garbles ``-X importtime``'s nesting; those are only summed (self times) and named."""
    roots: list[ImportNode] = []
    later: list[ImportNode] = []
    pending: dict[int, list[ImportNode]] = {}  # children waiting for their parent, by depth
    for line in stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if not match:
            continue
        depth = (len(match.group(3)) - 1) // 2
        node = ImportNode(match.group(4), int(match.group(1)), int(match.group(2)))
        if roots and roots[-1].name == "certyn_action.main":
            later.append(node)
            continue
        node.children = pending.pop(depth + 1, [])
        for child in node.children:
            child.parent = node
        if depth == 0:
            roots.append(node)
        else:
            pending.setdefault(depth, []).append(node)
    if not roots or roots[-1].name != "certyn_action.main":
        raise BenchError("no 'certyn_action.main' in the -X importtime output")
    return roots, later


def walk(nodes: Sequence[ImportNode]) -> Iterator[ImportNode]:
    for node in nodes:
        yield node
        yield from walk(node.children)


def import_profile(roots: list[ImportNode], later: list[ImportNode]) -> dict[str, Any]:
    """Split the imports into interpreter start-up, the path to the first request, and later (lazy)."""
    first_ours = next(i for i, r in enumerate(roots) if r.name.startswith("certyn_action"))
    startup, before = roots[:first_ours], roots[first_ours:]
    # External imports made directly by our modules, with what they cost (cumulative).
    external: dict[str, int] = {}
    importer: dict[str, str] = {}
    for node in walk(before):
        if node.name.startswith("certyn_action"):
            for child in node.children:
                if not child.name.startswith("certyn_action"):
                    external[child.name] = external.get(child.name, 0) + child.cumulative_us
                    importer.setdefault(child.name, node.name)
    packages: list[str] = []
    for node in later:
        top = node.name.split(".")[0]
        if top not in packages:
            packages.append(top)
    return {
        "interpreter_us": sum(r.cumulative_us for r in startup),
        "before_first_request_us": sum(r.cumulative_us for r in before),
        "lazy_us": sum(n.self_us for n in later),
        "lazy_packages": packages,
        "external": external,
        "importer": importer,
        "self": {n.name: n.self_us for n in walk(before)},
        "nodes": {n.name: n.cumulative_us for n in walk(before)},
    }


# The benchmark ------------------------------------------------------------------------------------


@dataclass
class Options:
    runs: int
    docker_runs: int
    reaction_runs: int
    import_runs: int
    docker: bool
    require_docker: bool
    start_docker: bool
    image: str | None
    as_json: bool


def progress(opts: Options, message: str) -> None:
    if not opts.as_json:
        print(f"  .. {message}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, opts: Options, workdir: Path) -> None:
        self.opts = opts
        self.workdir = workdir
        self.figures: dict[str, Any] = {"machine": machine(), "options": {}}
        pycache = workdir / "pycache"
        # Bytecode of everything (stdlib, site-packages, the action) cached in a private tree, as in the
        # image (compileall at build time); nothing is written into the checkout.
        self.warm_env = {
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPYCACHEPREFIX": str(pycache),
        }
        self.python = ActionLauncher(PythonLauncher(ROOT, extra_env=self.warm_env))
        self.python_fill = ActionLauncher(
            PythonLauncher(ROOT, extra_env={"PYTHONUNBUFFERED": "1", "PYTHONPYCACHEPREFIX": str(pycache)})
        )
        # PythonLauncher's defaults: PYTHONDONTWRITEBYTECODE=1 and no cache for the action's own modules.
        self.python_nocache = ActionLauncher(PythonLauncher(ROOT))
        self.beacon = Beacon()

    # -- helpers ---------------------------------------------------------------------------------
    def base_env(self, extra: Mapping[str, str]) -> tuple[dict[str, str], Path]:
        files = RunnerFiles.create(Path(tempfile.mkdtemp(prefix="certyn-bench-", dir=self.workdir)))
        _, env = PythonLauncher(ROOT, extra_env=extra).command({}, files)
        return env, files.workspace

    def time_baseline(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> tuple[float, float]:
        """(process start -> connection accepted by the beacon, process start -> exit) of one baseline."""
        log_dir = Path(tempfile.mkdtemp(prefix="log-", dir=self.workdir))
        started, exited, code, *_ = spawn(argv, env, cwd, log_dir)
        if code != 0:
            raise BenchError(f"{' '.join(argv)} exited {code}: {_read(log_dir / 'stderr')[-1000:]}")
        connected = self.beacon.first_after(started)
        if connected is None or connected > exited:
            raise BenchError(f"{' '.join(argv)} exited without connecting to the beacon")
        return connected - started, exited - started

    # -- sections --------------------------------------------------------------------------------
    def python_section(self, sim: Simulator) -> None:
        opts, py = self.opts, sys.executable
        env, cwd = self.base_env(self.warm_env)
        fill_env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        code = self.beacon.connect_code
        baselines = {
            "python -c pass": [py, "-s", "-c", code("")],
            "python -c 'import requests'": [py, "-s", "-c", code("import requests")],
            "python -c 'import certyn_action.main'": [py, "-s", "-c", code("import certyn_action.main")],
        }
        progress(opts, "python: warm-up (fills the private bytecode cache)")
        for argv in baselines.values():
            self.time_baseline(argv, fill_env, ROOT)
        observe(sim, self.python_fill, instant())
        series = {name: Series() for name in baselines}
        to_exit = {name: Series() for name in baselines}
        cold, total, rss, nocache = Series(), Series(), Series(), Series()
        progress(opts, f"python: {opts.runs} rounds of start-up runs")
        for _ in range(opts.runs):  # interleaved, so drift on a shared machine hits every figure alike
            for name, argv in baselines.items():
                connected, exited = self.time_baseline(argv, env, ROOT if "certyn" in name else cwd)
                series[name].add(connected)
                to_exit[name].add(exited)
            seen = observe(sim, self.python, instant())
            assert seen.cold_start is not None  # noqa: S101 - the run passed, so it sent a create
            cold.add(seen.cold_start)
            total.add(seen.launch.exited - seen.launch.started)
            rss.add(seen.launch.maxrss_kib)
            unc = observe(sim, self.python_nocache, instant())
            if unc.cold_start is not None:
                nocache.add(unc.cold_start)
        self.figures["python"] = {
            "baselines_to_connect_s": {name: s.to_dict() for name, s in series.items()},
            "baselines_to_exit_s": {name: s.to_dict() for name, s in to_exit.items()},
            "cold_start_s": cold.to_dict(),
            "cold_start_action_bytecode_not_cached_s": nocache.to_dict(),
            "instant_run_to_exit_s": total.to_dict(),
            "peak_rss_kib": rss.to_dict(),
        }

    def shutdown_section(self) -> None:
        """Interpreter shutdown alone: from an atexit hook (the last Python code) to the process exit."""
        env, _ = self.base_env(self.warm_env)
        hook = "import atexit, time; atexit.register(lambda: print(time.monotonic(), flush=True))"
        cases = {
            "python -c pass": hook,
            "action modules loaded": f"import certyn_action.main, certyn_action.models; {hook}",
        }
        out: dict[str, Any] = {}
        progress(self.opts, f"interpreter shutdown: {self.opts.reaction_runs} runs")
        for name, code in cases.items():
            series = Series()
            for _ in range(self.opts.reaction_runs + 1):
                log_dir = Path(tempfile.mkdtemp(prefix="log-", dir=self.workdir))
                _, exited, exit_code, _, stdout, stderr = spawn(
                    [sys.executable, "-s", "-c", code], env, ROOT, log_dir
                )
                if exit_code != 0 or not stdout.strip():
                    raise BenchError(f"shutdown probe failed: {stderr[-1000:]}")
                series.add(exited - float(stdout.split()[-1]))
            series.values = series.values[1:]  # the first run fills the bytecode cache
            out[name] = series.to_dict()
        self.figures["python"]["shutdown_s"] = out

    def reaction_section(self, sim: Simulator, key: str, action: ActionLauncher, runs: int) -> Series:
        reaction, spacing = Series(), Series()
        progress(self.opts, f"{key}: {runs} runs of {STEADY_POLLS} polls (reaction time)")
        for _ in range(runs):
            seen = observe(sim, action, steady())
            if seen.reaction is not None:
                reaction.add(seen.reaction)
            polls = [r["at"] for r in seen.requests if r["endpoint"] == "status"]
            for a, b in itertools.pairwise(polls):
                spacing.add(b - a)
        self.figures.setdefault(key, {})["reaction_s"] = reaction.to_dict()
        self.figures[key]["poll_spacing_s"] = spacing.to_dict()
        return reaction

    def requests_section(self, sim: Simulator) -> None:
        progress(self.opts, "requests per scenario")
        cases = {
            "steady": (steady(), "none"),
            "outage": (
                steady().with_faults(status=[Fault.outage(OUTAGE_SECONDS)]),
                f"every poll answers 503 for {OUTAGE_SECONDS:g} s after the first one",
            ),
            "lost create": (
                steady().with_faults(create=[Fault.drop_after()]),
                "the create is processed (run made) but its response is lost",
            ),
        }
        out: dict[str, Any] = {}
        for name, (scenario, fault) in cases.items():
            seen = observe(sim, self.python, scenario)
            creates = [r for r in seen.requests if r["endpoint"] == "create"]
            statuses = [r for r in seen.requests if r["endpoint"] == "status"]
            minimum = 1 + STEADY_POLLS
            failed_polls = [r for r in statuses if r["status"] != 200]
            reasons = []
            if len(creates) > 1:
                replays = sum(1 for r in creates if r["replayed"])
                reasons.append(
                    f"{len(creates) - 1} create retried after "
                    f"{', '.join(str(r['fault'] or r['status']) for r in creates[:-1])}; "
                    f"{replays} answered 200 Idempotency-Replayed; runs created: {len(sim.runs)}"
                )
            if failed_polls:
                codes = sorted({str(r["status"]) for r in failed_polls})
                reasons.append(
                    f"{len(failed_polls)} poll(s) answered {'/'.join(codes)} during the fault, "
                    f"at +{', +'.join(format(r['at'], '.1f') for r in failed_polls)} s"
                )
            recovery = None
            if failed_polls and name == "outage":
                ended = failed_polls[0]["at"] + OUTAGE_SECONDS
                good = [r["at"] for r in statuses if r["status"] == 200 and r["at"] >= ended]
                recovery = round(good[0] - ended, 3) if good else None
                reasons.append(
                    f"backoff between failed polls: first good poll {recovery} s after the outage ended"
                )
            out[name] = {
                "fault": fault,
                "first_good_poll_after_outage_s": recovery,
                "requests": len(seen.requests),
                "creates": len(creates),
                "polls": len(statuses),
                "minimum": minimum,
                "extra": len(seen.requests) - minimum,
                "why": "; ".join(reasons) or "minimum",
                "runs_created": len(sim.runs),
                "duration_s": round(seen.launch.exited - seen.launch.started, 3),
                "timeline": [(r["endpoint"], r["status"], r["fault"], r["at"]) for r in seen.requests],
            }
        self.figures["requests"] = out

    def import_section(self, sim: Simulator) -> None:
        runs = self.opts.import_runs
        progress(self.opts, f"python -X importtime entrypoint.py: {runs} runs")
        action = ActionLauncher(
            PythonLauncher(ROOT, extra_env=self.warm_env, python_flags=("-X", "importtime", "-s"))
        )
        profiles = []
        for _ in range(runs):
            sim.reset(instant())
            launch = action.run(action_inputs(sim))
            if launch.result != "passed":
                raise BenchError(f"importtime run did not pass: {launch.stderr[-2000:]}")
            profiles.append(import_profile(*parse_importtime(launch.stderr)))

        def med(section: str, name: str | None = None) -> float:
            values = [p[section] if name is None else p[section].get(name) for p in profiles]
            present = [v for v in values if v is not None]
            return statistics.median(present) / 1e6 if present else 0.0

        first = profiles[0]
        watch = [
            "requests",
            "urllib3",
            "urllib3.http2",
            "importlib.metadata",
            "urllib3.util.ssl_",
            "ssl",
            "http.client",
            "email.parser",
            "charset_normalizer",
            "idna",
            "requests.certs",
            "certyn_action.inputs",
            "certyn_action.context",
            "certyn_action.retry",
        ]
        external = sorted(first["external"], key=lambda n: -first["external"][n])[:12]
        self.figures["imports"] = {
            "interpreter_s": med("interpreter_us"),
            "before_first_request_s": med("before_first_request_us"),
            "lazy_s": med("lazy_us"),
            "lazy_packages": first["lazy_packages"],
            "external": {
                name: {"s": med("external", name), "imported_by": first["importer"][name]}
                for name in external
            },
            "cumulative": {name: med("nodes", name) for name in watch if name in first["nodes"]},
            "top_self": dict(
                sorted(((n, med("self", n)) for n in first["self"]), key=lambda kv: -kv[1])[:12]
            ),
        }

    def docker_section(self, sim: Simulator) -> None:
        opts = self.opts
        version = docker_version()
        if version is None:
            self._docker_unavailable(
                "no Docker engine answers (start one: bash scripts/docker-engine.sh start)"
            )
            return
        image = opts.image or IMAGE_TAG
        try:
            if opts.image is None:
                progress(opts, "docker: base image + build from the Dockerfile")
                self.figures["docker"] = {"build_s": round(build_image(image), 1)}
            self.figures.setdefault("docker", {})["version"] = version
            self.figures["image"] = image_figures(image)
        except (BenchError, subprocess.TimeoutExpired, OSError) as err:
            self._docker_unavailable(str(err))
            return
        label = f"certyn-bench-{uuid.uuid4().hex}"
        docker = ActionLauncher(DockerLauncher(image, label=label))
        try:
            base_argv = ["docker", "run", "--rm", "--network", "host", "--label", label,
                         "--entrypoint", "/usr/local/bin/python", image, "-s", "-c"]  # fmt: skip
            env, cwd = self.base_env({})
            env = {**os.environ, **env}
            progress(opts, f"docker: {opts.docker_runs} rounds of start-up runs")
            observe(sim, docker, instant())  # warm-up
            code = self.beacon.connect_code
            baselines = {
                "docker run python -c pass": [*base_argv, code("")],
                "docker run python -c 'import requests'": [*base_argv, code("import requests")],
            }
            to_connect = {name: Series() for name in baselines}
            to_exit = {name: Series() for name in baselines}
            cold, total = Series(), Series()
            for _ in range(opts.docker_runs):
                for name, argv in baselines.items():
                    connected, exited = self.time_baseline(argv, env, cwd)
                    to_connect[name].add(connected)
                    to_exit[name].add(exited)
                seen = observe(sim, docker, instant())
                assert seen.cold_start is not None  # noqa: S101
                cold.add(seen.cold_start)
                total.add(seen.launch.exited - seen.launch.started)
            progress(opts, "docker: peak memory of the container's PID 1")
            hwm = Series()
            memory = ActionLauncher(DockerLauncher(image, label=label), poll_container_memory=True)
            for _ in range(2):
                seen = observe(sim, memory, steady(2))
                if seen.launch.container_hwm_kib:
                    hwm.add(seen.launch.container_hwm_kib)
            self.figures["docker"].update(
                {
                    "baselines_to_connect_s": {name: s.to_dict() for name, s in to_connect.items()},
                    "baselines_to_exit_s": {name: s.to_dict() for name, s in to_exit.items()},
                    "cold_start_s": cold.to_dict(),
                    "instant_run_to_exit_s": total.to_dict(),
                    "peak_rss_kib": hwm.to_dict(),
                }
            )
            self.reaction_section(sim, "docker", docker, opts.docker_runs)
        finally:
            remove_labelled(label)

    def _docker_unavailable(self, reason: str) -> None:
        if self.opts.require_docker:
            raise BenchError(f"docker required but unavailable: {reason}")
        self.figures["docker"] = {"unavailable": reason}

    def run(self) -> dict[str, Any]:
        opts = self.opts
        self.figures["options"] = {
            "runs": opts.runs,
            "docker_runs": opts.docker_runs,
            "reaction_runs": opts.reaction_runs,
            "import_runs": opts.import_runs,
        }
        if opts.require_docker and docker_version() is None:
            raise BenchError("docker required but unavailable: no Docker engine answers")
        try:
            with Simulator(api_key=API_KEY) as sim:
                self.python_section(sim)
                self.reaction_section(sim, "python", self.python, opts.reaction_runs)
                self.shutdown_section()
                self.requests_section(sim)
                self.import_section(sim)
                if opts.docker:
                    self.docker_section(sim)
                else:
                    self.figures["docker"] = {"unavailable": "--no-docker"}
        finally:
            self.beacon.close()
        return self.figures


# Report -------------------------------------------------------------------------------------------


def _ms(d: Mapping[str, Any]) -> str:
    if not d.get("n"):
        return "n/a"
    return f"{d['median'] * 1000:6.0f} ms  ({d['min'] * 1000:.0f}-{d['max'] * 1000:.0f}, n={d['n']})"


def _mib(d: Mapping[str, Any]) -> str:
    if not d.get("n"):
        return "n/a"
    return f"{d['median'] / 1024:6.1f} MiB ({d['min'] / 1024:.1f}-{d['max'] / 1024:.1f}, n={d['n']})"


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


W = 64  # label column of the text report


def _row(label: str, value: str) -> str:
    return f"  {label:<{W}}{value}"


def _docker_ok(f: Mapping[str, Any]) -> bool:
    return "unavailable" not in f["docker"]


def render_header(f: Mapping[str, Any]) -> list[str]:
    m, dk = f["machine"], f["docker"]
    docker = (
        f"unavailable ({dk['unavailable']})"
        if not _docker_ok(f)
        else f"{dk['version']}; image {f['image']['image']} runs {f['image']['python']}"
    )
    return [
        "certyn/run-action benchmark: median (min-max, n runs); all times on one monotonic clock",
        f"machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['memory']} RAM, {m['os']}, "
        f"load average at start {m['load_average_at_start']}",
        f"python:  {m['python']} (runs entrypoint.py and the simulator)",
        f"docker:  {docker}",
    ]


def render_start(f: Mapping[str, Any]) -> list[str]:
    py, dk = f["python"], f["docker"]
    lines = [
        "",
        "Cold start: process start -> first contact with 127.0.0.1",
        "  (action: its create request received by the simulator; baselines: `-c '<imports>; connect'`, the",
        "  connection accepted by a listener here; python: bytecode of everything cached in a private tree,",
        "  like the image's compileall)",
    ]
    lines += [_row(f"{name} -> connect", _ms(d)) for name, d in py["baselines_to_connect_s"].items()]
    lines.append(_row("python entrypoint.py -> create received", _ms(py["cold_start_s"])))
    lines.append(
        _row(
            "  same, action bytecode not cached (PythonLauncher default)",
            _ms(py["cold_start_action_bytecode_not_cached_s"]),
        )
    )
    if _docker_ok(f):
        lines += [_row(f"{name} -> connect", _ms(d)) for name, d in dk["baselines_to_connect_s"].items()]
        lines.append(_row("docker run <image> (DockerLauncher) -> create received", _ms(dk["cold_start_s"])))
    lines += ["", "Start to exit (docker run --rm: including the container's teardown)"]
    lines += [_row(f"{name} -> exit", _ms(d)) for name, d in py["baselines_to_exit_s"].items()]
    lines.append(
        _row("python entrypoint.py, whole run (create + 1 poll) -> exit", _ms(py["instant_run_to_exit_s"]))
    )
    if _docker_ok(f):
        lines += [_row(f"{name} -> exit", _ms(d)) for name, d in dk["baselines_to_exit_s"].items()]
        lines.append(
            _row("docker run <image>, whole run (create + 1 poll) -> exit", _ms(dk["instant_run_to_exit_s"]))
        )
    lines += ["", "Peak memory (RSS) of the action"]
    lines.append(_row("python entrypoint.py: ru_maxrss of the process (wait4)", _mib(py["peak_rss_kib"])))
    if _docker_ok(f):
        lines.append(
            _row("docker: VmHWM of the container's PID 1, read until it exits", _mib(dk["peak_rss_kib"]))
        )
    return lines


def render_requests(f: Mapping[str, Any]) -> list[str]:
    lines = [
        "",
        f"Requests per scenario (completes on poll {STEADY_POLLS}; retryAfterSeconds 1, poll-interval 1)",
    ]
    for name, r in f["requests"].items():
        lines.append(
            f"  {name:<12} {r['requests']:>2} requests ({r['creates']} create + {r['polls']} polls), "
            f"minimum {r['minimum']}, extra {r['extra']}; {r['duration_s']:.2f} s; runs created {r['runs_created']}"
        )
        if r["fault"] != "none":
            lines.append(f"  {'':<12} fault: {r['fault']}")
        if r["extra"]:
            lines.append(f"  {'':<12} why: {r['why']}")
    return lines


def render_reaction(f: Mapping[str, Any]) -> list[str]:
    py, dk = f["python"], f["docker"]
    lines = ["", "Reaction time: terminal state served -> process exit (poll-interval 1 s)"]
    lines.append(_row("python entrypoint.py", _ms(py["reaction_s"])))
    if _docker_ok(f):
        lines.append(_row("docker run <image> (until the docker client exits)", _ms(dk["reaction_s"])))
    lines += [
        _row(f"interpreter shutdown, {name} (atexit -> exit)", _ms(d)) for name, d in py["shutdown_s"].items()
    ]
    lines.append(_row("spacing of polls, python (hint 1 s)", _ms(py["poll_spacing_s"])))
    if _docker_ok(f):
        lines.append(_row("spacing of polls, docker", _ms(dk["poll_spacing_s"])))
    return lines


def render_image(f: Mapping[str, Any]) -> list[str]:
    if "image" not in f:
        return []
    im = f["image"]
    stand_in = " (local stand-in)" if im["base_is_local_stand_in"] else ""
    lines = [
        "",
        f"Image {im['image']}: {_mb(im['size_bytes'])} in total{' (on the local stand-in base)' if stand_in else ''}; "
        f"base {im['base']}{stand_in} {_mb(im['base_size_bytes'])}; our layers add {_mb(im['added_bytes'])}",
    ]
    lines += [f"  {_mb(layer['bytes']):>9}  {layer['created_by']}" for layer in im["layers"]]
    return lines


def render_imports(f: Mapping[str, Any]) -> list[str]:
    imp = f["imports"]
    lines = [
        "",
        "Imports: python -X importtime -s entrypoint.py (medians; the profiler inflates them)",
        _row(
            "interpreter start-up (site, encodings) + entrypoint's pathlib",
            f"{imp['interpreter_s'] * 1000:6.0f} ms",
        ),
        _row(
            "entrypoint -> certyn_action.main (before the first request)",
            f"{imp['before_first_request_s'] * 1000:6.0f} ms",
        ),
        _row("imported later, while/after the create is on the wire", f"{imp['lazy_s'] * 1000:6.0f} ms"),
    ]
    lines.append(f"    packages: {', '.join(imp['lazy_packages'])}")
    lines.append("  on the path to the first request, imported by our modules (cumulative):")
    lines += [
        _row(f"  {name} <- {d['imported_by']}", f"{d['s'] * 1000:6.0f} ms")
        for name, d in imp["external"].items()
        if d["s"] >= 0.001
    ]
    lines.append("  selected modules (cumulative):")
    lines += [_row(f"  {name}", f"{s * 1000:6.0f} ms") for name, s in imp["cumulative"].items()]
    lines.append("  largest self times before the first request:")
    lines += [_row(f"  {name}", f"{s * 1000:6.1f} ms") for name, s in imp["top_self"].items()]
    return lines


def render(f: Mapping[str, Any]) -> str:
    parts = (render_header, render_start, render_requests, render_reaction, render_image, render_imports)
    return "\n".join(line for part in parts for line in part(f))


# Entry point --------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> Options:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--runs", type=int, default=15, help="start-up runs of each python figure (default 15)")
    p.add_argument("--docker-runs", type=int, default=5, help="runs of each docker figure (default 5)")
    p.add_argument(
        "--reaction-runs", type=int, default=5, help=f"python runs of {STEADY_POLLS} polls (default 5)"
    )
    p.add_argument("--import-runs", type=int, default=5, help="-X importtime runs (default 5)")
    p.add_argument("--no-docker", action="store_true", help="skip the docker figures")
    p.add_argument("--require-docker", action="store_true", help="fail when Docker is unavailable")
    p.add_argument(
        "--start-docker",
        action="store_true",
        help="start an engine with scripts/docker-engine.sh when none answers (and stop it afterwards)",
    )
    p.add_argument("--image", help=f"use this image instead of building {IMAGE_TAG} from the Dockerfile")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    a = p.parse_args(argv)
    if min(a.runs, a.docker_runs, a.reaction_runs, a.import_runs) < 1:
        p.error("run counts must be at least 1")
    if a.no_docker and a.require_docker:
        p.error("--no-docker and --require-docker contradict each other")
    return Options(
        a.runs,
        a.docker_runs,
        a.reaction_runs,
        a.import_runs,
        not a.no_docker,
        a.require_docker,
        a.start_docker,
        a.image,
        a.json,
    )


@contextmanager
def docker_engine(opts: Options) -> Iterator[None]:
    """With ``--start-docker``: make an engine answer, and stop it afterwards when we started it."""
    started = False
    if opts.docker and opts.start_docker and docker_version() is None:
        progress(opts, "starting a Docker engine (scripts/docker-engine.sh start)")
        proc = _run(["bash", "scripts/docker-engine.sh", "start"], timeout=600)
        started = proc.returncode == 0
        if not started:
            progress(opts, f"could not start a Docker engine: {proc.stderr.strip()[-500:]}")
    try:
        yield
    finally:
        if started:
            _run(["bash", "scripts/docker-engine.sh", "stop"], timeout=60)


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="certyn-bench-") as tmp, docker_engine(opts):
        try:
            figures = Bench(opts, Path(tmp)).run()
        except BenchError as err:
            print(f"bench: {err}", file=sys.stderr)
            return 1
    print(json.dumps(figures, indent=2) if opts.as_json else render(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
