"""The bench's start -> create against the requests floor: the floor is started exactly as the action is, and the
CPU time read at the create is what the process ran up to it: neither what it waited nor what it did after."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bench.floor import FloorLauncher, to_create
from bench.launch import ActionLauncher
from certyn_simulator import Simulator
from certyn_simulator.runner import PythonLauncher, RunnerFiles

REPO_ROOT = Path(__file__).resolve().parents[2]

# burns 0.2 s of CPU, sleeps 0.4 s, sends the create, then burns 0.3 s more once it is answered
BURN_SLEEP_CREATE_BURN = """
import json, os, time, urllib.request
def burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
burn(0.2)
time.sleep(0.4)
env = os.environ
body = {"projectSlug": env["INPUT_PROJECT-SLUG"], "processSlug": env["INPUT_PROCESS-SLUG"]}
headers = {"X-API-Key": env["INPUT_API-KEY"], "Content-Type": "application/json", "Idempotency-Key": "bench-1"}
url = env["INPUT_API-URL"] + "/api/ci/runs"
request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
urllib.request.urlopen(request, timeout=10).read()
burn(0.3)
"""


class Burner:
    def __init__(self) -> None:
        self.action = PythonLauncher(REPO_ROOT)

    def command(self, env: Mapping[str, str], files: RunnerFiles) -> tuple[list[str], dict[str, str]]:
        argv, proc_env = self.action.command(env, files)
        return [argv[0], "-c", BURN_SLEEP_CREATE_BURN], proc_env


def test_the_cpu_time_at_the_create_is_what_the_process_ran_before_it(sim: Simulator) -> None:
    seen = to_create(sim, ActionLauncher(Burner()))
    assert seen.wall >= 0.6  # the burn and the sleep
    # the first burn and the start-up; not the sleep, nor the burn after the create
    assert 0.2 <= seen.cpu < 0.45
    assert seen.launch.exited - seen.launch.started >= seen.wall + 0.3


def test_the_floor_is_started_with_the_actions_files_environment_and_interpreter(tmp_path: Path) -> None:
    action = PythonLauncher(REPO_ROOT, extra_env={"PYTHONPYCACHEPREFIX": str(tmp_path / "cache")})
    files = RunnerFiles.create(tmp_path / "runner")
    env = {"INPUT_API-KEY": "k", "GITHUB_EVENT_PATH": str(files.event_file)}
    action_argv, action_env = action.command(env, files)
    floor_argv, floor_env = FloorLauncher(action).command(env, files)
    assert floor_env == action_env
    assert floor_argv[:3] == [action_argv[0], "-s", "-c"]
    assert "requests.post(" in floor_argv[3]
