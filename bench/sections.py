"""The benchmark: each section runs the action against the simulator and records figures."""

from __future__ import annotations

import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from certyn_simulator import Fault, Simulator
from certyn_simulator.runner import PythonLauncher, RunnerFiles
from certyn_simulator.runner.docker import DockerLauncher

from .beacon import Beacon
from .common import API_KEY, IMAGE_TAG, OUTAGE_SECONDS, ROOT, STEADY_POLLS, BenchError
from .diagnosis import diagnosis_section
from .floor import FLOOR_GOAL, FloorLauncher, to_create
from .importtime import import_profile, parse_importtime
from .launch import ActionLauncher, _read, spawn
from .machine import build_image, docker_version, image_figures, machine, remove_labelled
from .observe import action_inputs, instant, observe, steady
from .options import Options, progress
from .results import results_section
from .stats import Series


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
        self.floor = ActionLauncher(FloorLauncher(self.python.launcher))
        self.floor_fill = ActionLauncher(FloorLauncher(self.python_fill.launcher))
        self.beacon = Beacon()

    # -- helpers ---------------------------------------------------------------------------------
    def base_env(self, extra: Mapping[str, str]) -> tuple[dict[str, str], Path]:
        files = RunnerFiles.create(Path(tempfile.mkdtemp(prefix="certyn-bench-", dir=self.workdir)))
        _, env = PythonLauncher(ROOT, extra_env=extra).command({}, files)
        return env, files.workspace

    def time_baseline(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> tuple[float, float]:
        """(process start -> connection accepted by the beacon, process start -> exit) of one baseline."""
        for _ in range(3):  # a sample whose accept the scheduler delayed past the exit is taken again
            log_dir = Path(tempfile.mkdtemp(prefix="log-", dir=self.workdir))
            started, exited, code, *_ = spawn(argv, env, cwd, log_dir)
            if code != 0:
                raise BenchError(f"{' '.join(argv)} exited {code}: {_read(log_dir / 'stderr')[-1000:]}")
            connected = self.beacon.first_after(started, wait=1.0)
            if connected is not None and connected <= exited:
                return connected - started, exited - started
        raise BenchError(f"{' '.join(argv)} exited without connecting to the beacon (3 tries)")

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
        total, rss, nocache = Series(), Series(), Series()
        pairs = {side: {clock: Series() for clock in ("wall", "cpu")} for side in ("floor", "action")}
        ratios = {clock: Series() for clock in ("wall", "cpu")}
        to_create(sim, self.floor_fill)  # warm-up: what only the floor imports (netrc), into the cache
        progress(opts, f"python: {opts.runs} rounds of start-up runs")
        for round_ in range(opts.runs):  # interleaved, so drift on a shared machine hits every figure alike
            for name, argv in baselines.items():
                connected, exited = self.time_baseline(argv, env, ROOT if "certyn" in name else cwd)
                series[name].add(connected)
                to_exit[name].add(exited)
            # the floor and the action back to back, the first of the pair alternating (ABBA)
            sides = {"floor": self.floor, "action": self.python}
            order = ("floor", "action") if round_ % 2 == 0 else ("action", "floor")
            seen = {side: to_create(sim, sides[side]) for side in order}
            for clock in ("wall", "cpu"):
                for side in order:
                    pairs[side][clock].add(getattr(seen[side], clock))
                ratios[clock].add(getattr(seen["action"], clock) / getattr(seen["floor"], clock))
            whole = observe(sim, self.python, instant())  # answered at once: the whole run, its memory
            total.add(whole.launch.exited - whole.launch.started)
            rss.add(whole.launch.maxrss_kib)
            unc = observe(sim, self.python_nocache, instant())
            if unc.cold_start is not None:
                nocache.add(unc.cold_start)
        self.figures["python"] = {
            "baselines_to_connect_s": {name: s.to_dict() for name, s in series.items()},
            "baselines_to_exit_s": {name: s.to_dict() for name, s in to_exit.items()},
            "cold_start_s": pairs["action"]["wall"].to_dict(),
            "floor_to_create_s": pairs["floor"]["wall"].to_dict(),
            "cpu_to_create_s": {side: by_clock["cpu"].to_dict() for side, by_clock in pairs.items()},
            "action_to_floor": {
                clock: r.to_dict() for clock, r in ratios.items()
            },  # per pair: median, quartiles
            "action_to_floor_ratio_of_medians": round(
                pairs["action"]["wall"].median / pairs["floor"]["wall"].median, 3
            ),
            "floor_goal": FLOOR_GOAL,
            "cold_start_action_bytecode_not_cached_s": nocache.to_dict(),
            "instant_run_to_exit_s": total.to_dict(),
            "peak_rss_kib": rss.to_dict(),
        }

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
            "certyn_action.settings",
            "certyn_action.api.client",
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
                self.requests_section(sim)
                self.figures["results"] = results_section(opts, self.python, sim)
                self.figures["diagnosis"] = diagnosis_section(opts, self.python, sim)
                self.import_section(sim)
                if opts.docker:
                    self.docker_section(sim)
                else:
                    self.figures["docker"] = {"unavailable": "--no-docker"}
        finally:
            self.beacon.close()
        return self.figures
