"""The command line: options, the Docker engine when asked for, the run, the report."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from . import __doc__ as PACKAGE_DOC
from .common import IMAGE_TAG, STEADY_POLLS, BenchError
from .machine import _run, docker_version
from .options import Options, progress
from .render import render
from .sections import Bench

DESCRIPTION = (PACKAGE_DOC or "").split("\n\n")[0]


def parse_args(argv: Sequence[str] | None) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench", description=DESCRIPTION)
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
