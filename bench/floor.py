"""The requests floor: what an action that keeps requests cannot beat.

``python -s -c REQUESTS_FLOOR`` imports requests and sends the one create, nothing else, started by the stand-in
runner exactly as the action is (the same files, environment, locale and bytecode cache: only the argv differs).
The action's start -> create is compared with the floor's in pairs run back to back, the first of the pair
alternating (ABBA), so that drift on a shared machine lands on both sides of each ratio; the figure is the
median of the paired ratios, with its interquartile range (goal: at most ``FLOOR_GOAL`` times the floor).

Each side is timed twice: on the wall clock (start -> create received) and in CPU time (what all the process's
threads had run when the create arrived, from ``/proc/<pid>/task/*/schedstat``; the create is answered
``CREATE_HELD`` seconds late so that the process waits, not runs, while it is read). On a shared machine the wall
clock mostly measures the wait for a free core (other jobs'), which swings from one run to the next; the CPU
time is the start-up's own cost, and the goal is judged on it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from certyn_simulator import Fault, Simulator
from certyn_simulator.runner import Launcher, RunnerFiles

from .common import RUN_TIMEOUT, BenchError
from .launch import ActionLauncher, Launch
from .observe import action_inputs, instant

FLOOR_GOAL = 1.2
CREATE_HELD = 0.3  # seconds the create's answer waits: the process is idle while its CPU time is read

REQUESTS_FLOOR = """
import os, requests
env = os.environ
requests.post(
    env["INPUT_API-URL"].rstrip("/") + "/api/ci/runs",
    json={"projectSlug": env["INPUT_PROJECT-SLUG"], "processSlug": env["INPUT_PROCESS-SLUG"]},
    headers={"X-API-Key": env["INPUT_API-KEY"], "Idempotency-Key": os.urandom(8).hex()},
    timeout=10,
).raise_for_status()
"""


class FloorLauncher:
    """The action's launcher with the floor's argv: ``python -s -c REQUESTS_FLOOR``."""

    def __init__(self, action: Launcher) -> None:
        self.action = action

    def command(self, env: Mapping[str, str], files: RunnerFiles) -> tuple[list[str], dict[str, str]]:
        argv, proc_env = self.action.command(env, files)
        return [argv[0], "-s", "-c", REQUESTS_FLOOR], proc_env


class ToCreate(NamedTuple):
    """Process start -> create received: on the wall clock, and the CPU time the process had used by then."""

    launch: Launch
    wall: float
    cpu: float


def cpu_seconds(pid: int) -> float:
    """CPU time of every live thread of ``pid`` (nanoseconds in ``schedstat``: no tick rounding)."""
    tasks = Path(f"/proc/{pid}/task")
    return sum(int((tasks / tid / "schedstat").read_text().split()[0]) for tid in os.listdir(tasks)) / 1e9


def to_create(sim: Simulator, launcher: ActionLauncher) -> ToCreate:
    """One run of ``launcher`` (the floor or the action), its create answered ``CREATE_HELD`` s late."""
    sim.reset(instant().with_faults(create=[Fault.delay(CREATE_HELD)]))
    read: list[float] = []
    readers: list[threading.Thread] = []

    def at_create(pid: int) -> None:
        sim.wait_for(lambda r: r.endpoint == "create", timeout=RUN_TIMEOUT)
        read.append(cpu_seconds(pid))

    def on_start(pid: int) -> None:
        readers.append(threading.Thread(target=at_create, args=(pid,), daemon=True))
        readers[0].start()

    launch = launcher.run(action_inputs(sim), on_start=on_start)
    for reader in readers:
        reader.join(RUN_TIMEOUT)
    creates = sim.api_requests("create")
    if launch.exit_code != 0 or not creates or not read:
        raise BenchError(
            f"{launch.argv[:3]} exited {launch.exit_code} without a create: {launch.stderr[-1000:]}"
        )
    return ToCreate(launch, creates[0].received_at - launch.started, read[0])
