"""Command line: ``serve`` (run the simulator until SIGINT/SIGTERM), ``demo``, ``scenarios``."""

from __future__ import annotations

import argparse
import ipaddress
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .catalogue import builtin_scenario, builtin_scenarios, load_scenario
from .demo import run_demo
from .github import DEFAULT_GITHUB_TOKEN
from .scenario import ScenarioError
from .server import DEFAULT_API_KEY, Simulator


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(args.scenario)
    except (ScenarioError, ValueError) as exc:
        print(f"certyn-sim: {exc}", file=sys.stderr)
        return 2
    if args.status_base_url:
        scenario.status_base_url = args.status_base_url
    if not _is_loopback(args.host):
        print(f"certyn-sim: warning: listening on non-loopback address {args.host}", file=sys.stderr)
    sim = Simulator(
        scenario,
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        verbose=not args.quiet,
        github_token=args.github_token,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        base = sim.start()
    except OSError as exc:
        print(f"certyn-sim: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    if args.port_file:
        Path(args.port_file).write_text(f"{sim.port}\n", encoding="utf-8")
    print(base, flush=True)
    print(
        f"certyn-sim: scenario {scenario.name!r}, API key {args.api_key!r}; control surface at {base}/_sim/",
        file=sys.stderr,
        flush=True,
    )
    while not stop.wait(0.5):
        pass
    sim.stop()
    print("certyn-sim: stopped", file=sys.stderr, flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m certyn_simulator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run the Certyn CI Runs API simulator")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)")
    p.add_argument("--port", type=int, default=8080, help="port (0 picks a free one; default 8080)")
    p.add_argument(
        "--api-key", default=DEFAULT_API_KEY, help=f"the accepted X-API-Key (default {DEFAULT_API_KEY})"
    )
    p.add_argument(
        "--scenario", default="pass", help="built-in scenario name or scenario JSON file (default pass)"
    )
    p.add_argument(
        "--github-token",
        default=DEFAULT_GITHUB_TOKEN,
        help=f"the token the fake GitHub API under /github accepts (default {DEFAULT_GITHUB_TOKEN})",
    )
    p.add_argument("--status-base-url", default=None, help="host used in the statusUrl of create responses")
    p.add_argument("--port-file", default=None, help="write the bound port number to this file")
    p.add_argument("--quiet", action="store_true", help="do not log requests to stderr")
    p.set_defaults(func=serve)

    d = sub.add_parser("demo", help="run the action against the simulator through the fake runner")
    d.add_argument("--scenario", default="pass", help="built-in scenario name or scenario JSON file")
    d.add_argument("--action-dir", default=None, help="directory with action.yml and entrypoint.py")
    d.add_argument("--event", default="push", help="push, pull_request, tag or workflow_dispatch")
    d.add_argument(
        "--preview",
        action="store_true",
        help="test a stand-in preview deployment (base-url) with a test login in variables",
    )
    d.set_defaults(func=_demo)

    s = sub.add_parser("scenarios", help="print the built-in scenarios as JSON")
    s.add_argument("name", nargs="?", help="only this scenario")
    s.set_defaults(func=_scenarios)
    return parser


def _demo(args: argparse.Namespace) -> int:
    return run_demo(
        scenario=args.scenario, action_dir=args.action_dir, event=args.event, preview=args.preview
    )


def _scenarios(args: argparse.Namespace) -> int:
    try:
        items = {args.name: builtin_scenario(args.name)} if args.name else builtin_scenarios()
    except ScenarioError as exc:
        print(f"certyn-sim: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({name: sc.to_dict() for name, sc in items.items()}, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result
