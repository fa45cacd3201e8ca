"""The bench's options and its progress lines."""

from __future__ import annotations

import sys
from dataclasses import dataclass


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
