"""The requests floor: what an action that keeps requests cannot beat.

``python -s -c REQUESTS_FLOOR`` imports requests and sends the one create, nothing else, with the very
environment and files the stand-in runner gives the action. The action's start -> create received is compared
with the floor's, in interleaved rounds (goal: at most ``FLOOR_GOAL`` times the floor).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from certyn_simulator import Simulator
from certyn_simulator.runner import Event, FakeRunner, RunnerFiles

from .common import ROOT, BenchError
from .launch import spawn
from .observe import action_inputs, instant

FLOOR_GOAL = 1.2

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


class _NoLauncher:
    """``FakeRunner`` wants a launcher; only its ``build_env`` is used here."""

    def command(self, env: Mapping[str, str], files: RunnerFiles) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError


def run_floor(sim: Simulator, warm_env: Mapping[str, str]) -> float:
    """One floor run: seconds from its start until the simulator received its create."""
    sim.reset(instant())
    root = Path(tempfile.mkdtemp(prefix="certyn-floor-"))
    try:
        files = RunnerFiles.create(root)
        event = Event.push()
        files.event_file.write_text(json.dumps(event.payload), encoding="utf-8")
        runner = FakeRunner(ROOT, _NoLauncher())
        env = {**warm_env, **runner.build_env(action_inputs(sim), files, event=event)}
        argv = [sys.executable, "-s", "-c", REQUESTS_FLOOR]
        started, _, code, _, _, err = spawn(argv, env, files.workspace, root)
        creates = sim.api_requests("create")
        if code != 0 or not creates:
            raise BenchError(f"the requests floor exited {code} without a create: {err[-1000:]}")
        return creates[0].received_at - started
    finally:
        shutil.rmtree(root, ignore_errors=True)
