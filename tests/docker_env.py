"""Docker set-up shared by the container and act tests: engine, base image, the action image.

Without a Docker engine these tests skip on a developer machine and fail in CI (``CI=true``), so CI can
never pass by silently not running them. A broken base image or Dockerfile build always fails.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE_SCRIPT = ROOT / "scripts" / "docker-engine.sh"
BASE_IMAGE_SCRIPT = ROOT / "scripts" / "base-image.sh"
IMAGE = "certyn-run-action:test"
ACT_JOB_IMAGE = "certyn-act-job:local"


@dataclass
class Timings:
    """Seconds spent on each set-up step (printed with ``pytest -s`` / ``-rA``)."""

    steps: dict[str, float] = field(default_factory=dict)

    def report(self) -> str:
        return ", ".join(f"{name} {seconds:.1f}s" for name, seconds in self.steps.items())


def no_engine(reason: str) -> NoReturn:
    """Skip, or fail when running in CI where a Docker engine is part of the job."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"a Docker engine is required in CI: {reason}")
    pytest.skip(f"no Docker engine: {reason}")


def run(argv: Sequence[str], *, timeout: float, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing output; a failure raises with the command's output attached."""
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT)
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {proc.returncode}\n--- stdout ---\n{proc.stdout[-4000:]}"
            f"\n--- stderr ---\n{proc.stderr[-4000:]}"
        )
    return proc


def engine_running() -> bool:
    try:
        return run(["bash", str(ENGINE_SCRIPT), "status"], timeout=60, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def start_engine(timings: Timings) -> bool:
    """Make an engine answer; return True when this call started it (so the caller stops it)."""
    if engine_running():
        return False
    started = time.monotonic()
    try:
        proc = run(["bash", str(ENGINE_SCRIPT), "start"], timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        no_engine(f"scripts/docker-engine.sh start: {err}")
    if proc.returncode != 0:
        no_engine(f"scripts/docker-engine.sh start exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    timings.steps["engine start"] = time.monotonic() - started
    return True


def stop_engine() -> None:
    run(["bash", str(ENGINE_SCRIPT), "stop"], timeout=60, check=False)


def ensure_base_image(timings: Timings, *extra: str) -> None:
    started = time.monotonic()
    run(["bash", str(BASE_IMAGE_SCRIPT), *extra], timeout=900)
    timings.steps["base image" + (" + act job image" if extra else "")] = time.monotonic() - started


def build_image(timings: Timings, tag: str = IMAGE) -> None:
    """Build the action image from the repository's Dockerfile (the runner's ``docker build``, host net)."""
    started = time.monotonic()
    run(
        ["docker", "build", "--network", "host", "--pull=false", "--force-rm", "-t", tag, str(ROOT)],
        timeout=900,
    )
    timings.steps["image build"] = time.monotonic() - started


def containers_with_label(label: str) -> list[str]:
    """IDs of containers (running or not) that carry ``label``."""
    out = run(["docker", "ps", "-a", "-q", "--filter", f"label={label}"], timeout=60).stdout
    return out.split()


def remove_containers(ids: Sequence[str]) -> None:
    if ids:
        run(["docker", "rm", "-f", *ids], timeout=60, check=False)
