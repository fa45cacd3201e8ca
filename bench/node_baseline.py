"""The Node baseline: what a JavaScript action doing the same requests with the platform's own ``fetch`` costs.

    make bench                                         # a section of the whole benchmark
    .venv/bin/python -m bench.node_baseline [--runs 7] [--json]   # this section alone

``node -e NODE_ACTION`` gets the very environment and files the action gets from
``certyn_simulator.runner.FakeRunner`` (``INPUT_*``, ``GITHUB_OUTPUT``, ...), sends one create (POST with
``X-API-Key`` and ``Idempotency-Key``), polls the run (GET) until it is terminal when ``wait`` is not
``false``, sleeping ``max(poll-interval-seconds, retryAfterSeconds)`` between polls, appends ``run-id`` and
``result`` to ``GITHUB_OUTPUT`` and exits: the least a JavaScript action does, with no dependency at all.

Both the baseline and the action (``python -s entrypoint.py``, as in ``bench.py``) are timed the same way,
in this process, against one simulator on 127.0.0.1 and one clock (``time.monotonic()``):

- process start -> create received (the simulator's ``received_at``);
- create answered (the simulator's ``finished_at``) -> first poll received;
- process start -> exit, for a ``wait: false`` run, a run completing on poll 1 and one completing on poll 2;
- peak RSS (``wait4()``'s ``ru_maxrss``).

A third process, the "requests floor" (``python -s -c`` importing requests and sending the one create,
nothing else), is timed in every round too: the least an action that keeps requests can do.

Rounds are interleaved (Node, then the action, for each scenario, then the floor) so that drift on a shared
machine hits all alike. The ratios the start-up goals are stated in come from one such run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from certyn_simulator import Fault, Scenario, Simulator
from certyn_simulator.runner import Event, FakeRunner, PythonLauncher, RunnerFiles

from .common import API_KEY, ROOT
from .launch import ActionLauncher, spawn
from .observe import action_inputs, instant, steady

# CommonJS for ``node -e``. Only globals (fetch, crypto, setTimeout) until the outputs are written.
NODE_ACTION = r"""
const env = process.env;
const input = (name, fallback = "") => (env["INPUT_" + name.toUpperCase()] ?? fallback).trim();
const TERMINAL = new Set(["completed", "cancelled", "canceled"]);
(async () => {
  const base = input("api-url").replace(/\/+$/, "");
  const headers = { "X-API-Key": input("api-key"), Accept: "application/json" };
  const created = await fetch(base + "/api/ci/runs", {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
    body: JSON.stringify({ projectSlug: input("project-slug"), processSlug: input("process-slug") }),
  });
  if (!created.ok) throw new Error(`create: HTTP ${created.status}`);
  const run = await created.json();
  let result = "created";
  if (input("wait", "true") !== "false") {
    const floor = Number(input("poll-interval-seconds", "10"));
    for (;;) {
      const reply = await fetch(base + "/api/ci/runs/" + encodeURIComponent(run.runId), { headers });
      if (!reply.ok) throw new Error(`status: HTTP ${reply.status}`);
      const status = await reply.json();
      if (TERMINAL.has(String(status.state).toLowerCase())) {
        result = status.state === "completed" && !status.failed ? "passed" : "failed";
        break;
      }
      const hint = Number(status.retryAfterSeconds ?? floor);
      await new Promise((done) => setTimeout(done, 1000 * Math.max(floor, hint)));
    }
  }
  require("fs").appendFileSync(env.GITHUB_OUTPUT, `run-id=${run.runId}\nresult=${result}\n`);
})().catch((err) => {
  console.error(`::error::${err.message}`);
  process.exitCode = 1;
});
"""


# The floor for an action that keeps requests: import it, send the create, nothing else.
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


def node_executable() -> str | None:
    return shutil.which("node")


def node_version(node: str) -> str:
    proc = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False)
    return proc.stdout.strip() or proc.stderr.strip()


@dataclass
class Timed:
    """One process against the simulator: seconds from its start, and its peak RSS in KiB."""

    create_received: float
    first_poll_gap: float | None  # create answered -> first poll received
    exited: float
    maxrss_kib: int
    result: str


def _timed(sim: Simulator, started: float, exited: float, maxrss: int, result: str) -> Timed:
    creates = sim.api_requests("create")
    polls = sim.api_requests("status")
    if not creates:
        raise RuntimeError(f"no create reached the simulator (result {result!r})")
    create = creates[0]
    gap = None
    if polls and create.finished_at is not None:
        gap = polls[0].received_at - create.finished_at
    return Timed(create.received_at - started, gap, exited - started, maxrss, result)


def run_node(node: str, sim: Simulator, scenario: Scenario, inputs: Mapping[str, str]) -> Timed:
    """``node -e NODE_ACTION`` once, with the runner's environment and files (like ``ActionLauncher.run``)."""
    return _run_with_runner_env([node, "-e", NODE_ACTION], {}, sim, scenario, inputs)


def run_requests_floor(
    sim: Simulator, scenario: Scenario, inputs: Mapping[str, str], env: Mapping[str, str]
) -> Timed:
    """``python -s -c REQUESTS_FLOOR`` once (``env``: the bytecode cache the action uses)."""
    return _run_with_runner_env([sys.executable, "-s", "-c", REQUESTS_FLOOR], env, sim, scenario, inputs)


def _run_with_runner_env(
    argv: list[str],
    extra_env: Mapping[str, str],
    sim: Simulator,
    scenario: Scenario,
    inputs: Mapping[str, str],
) -> Timed:
    sim.reset(scenario)
    root = Path(tempfile.mkdtemp(prefix="certyn-baseline-"))
    try:
        files = RunnerFiles.create(root)
        event = Event.push()
        files.event_file.write_text(json.dumps(event.payload), encoding="utf-8")
        env = {**extra_env, **FakeRunner(ROOT, _NoLauncher()).build_env(inputs, files, event=event)}
        started, exited, code, rss, _, err = spawn(argv, env, files.workspace, root)
        if code != 0:
            raise RuntimeError(f"{argv[0]} exited {code}: {err[-1000:]}")
        outputs = dict(
            line.split("=", 1)
            for line in files.output_file.read_text(encoding="utf-8").splitlines()
            if "=" in line
        )
        return _timed(sim, started, exited, rss, outputs.get("result", "created"))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_action(
    action: ActionLauncher, sim: Simulator, scenario: Scenario, inputs: Mapping[str, str]
) -> Timed:
    sim.reset(scenario)
    launch = action.run(inputs)
    if launch.exit_code != 0:
        raise RuntimeError(f"the action exited {launch.exit_code}: {launch.stdout[-2000:]}")
    return _timed(sim, launch.started, launch.exited, launch.maxrss_kib, launch.result)


class _NoLauncher:
    """``FakeRunner`` wants a launcher; only its ``build_env`` is used here."""

    def command(self, env: Mapping[str, str], files: RunnerFiles) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError


@dataclass
class Figures:
    create_received: list[float] = field(default_factory=list)
    first_poll_gap: list[float] = field(default_factory=list)
    wait_false: list[float] = field(default_factory=list)
    wait_false_50ms: list[float] = field(default_factory=list)
    poll_1: list[float] = field(default_factory=list)
    poll_2: list[float] = field(default_factory=list)
    maxrss_kib: list[float] = field(default_factory=list)

    def add(self, scenario: str, timed: Timed) -> None:
        self.create_received.append(timed.create_received)
        self.maxrss_kib.append(timed.maxrss_kib)
        if timed.first_poll_gap is not None:
            self.first_poll_gap.append(timed.first_poll_gap)
        getattr(self, scenario).append(timed.exited)

    def medians(self) -> dict[str, float]:
        return {name: statistics.median(values) for name, values in vars(self).items() if values}


SCENARIOS = ("wait_false", "wait_false_50ms", "poll_1", "poll_2")
SLOW_CREATE_S = 0.050  # the simulator answers in about 1 ms; an API across a network takes longer
# figure -> (label, goal as a ratio to Node's, unit)
GOALS: dict[str, tuple[str, float | None, str]] = {
    "create_received": ("process start -> create received", 1.3, "ms"),
    "first_poll_gap": ("create answered -> first poll received", None, "ms"),
    "wait_false": ("whole `wait: false` run", 1.1, "ms"),
    "wait_false_50ms": ("same, the create answered after 50 ms", None, "ms"),
    "poll_1": ("whole run completing on poll 1", None, "ms"),
    "poll_2": ("whole run completing on poll 2", 1.05, "ms"),
    "maxrss_kib": ("peak RSS", 0.5, "MiB"),
}
FIRST_POLL_GOAL_S = 0.020
# With requests kept (the design), the create can come no sooner than the floor's: the goal met instead of
# 1.3x Node when the floor itself is above it.
FLOOR_GOAL = 1.1


def measure(node: str, runs: int, warm_env: Mapping[str, str], sim: Simulator) -> dict[str, Figures]:
    """``runs`` interleaved rounds of Node and the action over the three scenarios, and the floor."""
    action = ActionLauncher(PythonLauncher(ROOT, extra_env=warm_env))
    figures = {"node": Figures(), "action": Figures(), "floor": Figures()}
    scenarios: dict[str, Callable[[], Scenario]] = {
        "wait_false": instant,
        "wait_false_50ms": lambda: instant().with_faults(create=[Fault.delay(SLOW_CREATE_S)]),
        "poll_1": instant,
        "poll_2": lambda: steady(2),
    }
    base_inputs = action_inputs(sim)
    inputs = {
        name: {**base_inputs, "wait": "false" if name.startswith("wait_false") else "true"}
        for name in SCENARIOS
    }
    # warm-up: bytecode cache for the action and the floor, page cache for node
    run_action(action, sim, instant(), inputs["poll_1"])
    run_node(node, sim, instant(), inputs["poll_1"])
    run_requests_floor(sim, instant(), inputs["wait_false"], warm_env)
    for _ in range(runs):
        for name in SCENARIOS:
            expected = "created" if name.startswith("wait_false") else "passed"
            for who in ("node", "action"):
                timed = (
                    run_node(node, sim, scenarios[name](), inputs[name])
                    if who == "node"
                    else run_action(action, sim, scenarios[name](), inputs[name])
                )
                if timed.result != expected:
                    raise RuntimeError(f"{who} {name}: result {timed.result!r}, expected {expected!r}")
                figures[who].add(name, timed)
        floor = run_requests_floor(sim, instant(), inputs["wait_false"], warm_env)
        figures["floor"].create_received.append(floor.create_received)
        figures["floor"].wait_false.append(floor.exited)
        figures["floor"].maxrss_kib.append(floor.maxrss_kib)
    return figures


def summarise(version: str, runs: int, figures: Mapping[str, Figures]) -> dict[str, Any]:
    """Medians, ratios and goals, as the bench's JSON keeps them (``render`` prints them)."""
    node, ours, floor = (figures[who].medians() for who in ("node", "action", "floor"))
    rows: dict[str, Any] = {}
    for key, (label, goal, unit) in GOALS.items():
        if key not in ours:
            continue
        n, a = node.get(key), ours[key]
        row: dict[str, Any] = {"label": label, "unit": unit, "node": n, "action": a}
        row["ratio"] = a / n if n else None
        if key == "first_poll_gap":
            row["goal"], row["met"] = f"< {FIRST_POLL_GOAL_S * 1000:.0f} ms", a < FIRST_POLL_GOAL_S
        elif goal is not None and n:
            row["goal"], row["met"] = f"<= {goal:g}x Node", a / n <= goal
        rows[key] = row
    out: dict[str, Any] = {"node": version, "runs": runs, "figures": rows}
    if floor:
        out["floor"] = {
            "create_received": floor["create_received"],
            "wait_false": floor["wait_false"],
            "maxrss_kib": floor["maxrss_kib"],
            "floor_to_node": {
                "create_received": floor["create_received"] / node["create_received"],
                "wait_false": floor["wait_false"] / node["wait_false"],
            },
            "action_to_floor": {
                "create_received": ours["create_received"] / floor["create_received"],
                "wait_false": ours["wait_false"] / floor["wait_false"],
            },
            "goal": f"create received <= {FLOOR_GOAL:g}x the floor",
            "met": ours["create_received"] / floor["create_received"] <= FLOOR_GOAL,
        }
    out["samples"] = {who: vars(f) for who, f in figures.items()}
    return out


def render(summary: Mapping[str, Any]) -> list[str]:
    lines = [
        "",
        f"Node baseline ({summary['node']}, `node -e` with `fetch`) against the action (`python -s entrypoint.py`);",
        f"  medians of {summary['runs']} interleaved rounds",
        f"  {'figure':42s} {'node':>10s} {'action':>10s} {'ratio':>7s}  goal",
    ]
    for row in summary["figures"].values():
        scale = 1 / 1024 if row["unit"] == "MiB" else 1000
        n, a = row["node"], row["action"]
        node_text = f"{n * scale:6.1f} {row['unit']:3s}" if n is not None else "       n/a"
        ratio = f"{row['ratio']:6.2f}x" if row["ratio"] is not None else "    n/a"
        goal = f"{row['goal']}: {'met' if row['met'] else 'NOT met'}" if "goal" in row else ""
        lines.append(f"  {row['label']:42s} {node_text} {a * scale:6.1f} {row['unit']:3s} {ratio}  {goal}")
    floor = summary.get("floor")
    if floor:
        to_node, to_floor = floor["floor_to_node"], floor["action_to_floor"]
        lines += [
            "  requests floor (`python -s -c 'import requests; requests.post(<the create>)'`, nothing else):",
            f"    create received {floor['create_received'] * 1000:.1f} ms ({to_node['create_received']:.2f}x Node;"
            f" the action {to_floor['create_received']:.2f}x the floor: {floor['goal']}: "
            f"{'met' if floor['met'] else 'NOT met'})",
            f"    exit {floor['wait_false'] * 1000:.1f} ms ({to_node['wait_false']:.2f}x Node; the action's `wait:"
            f" false` run {to_floor['wait_false']:.2f}x the floor), peak RSS {floor['maxrss_kib'] / 1024:.1f} MiB",
        ]
    return lines


def node_section(runs: int, warm_env: Mapping[str, str], sim: Simulator) -> dict[str, Any]:
    """The Node comparison for ``python -m bench``; ``{"unavailable": reason}`` without node."""
    node = node_executable()
    if node is None:
        return {"unavailable": "node is not installed"}
    return summarise(node_version(node), runs, measure(node, runs, warm_env, sim))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--json", action="store_true", help="print the figures and samples as JSON")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="certyn-node-bench-"))
    try:
        # as the bench: bytecode of everything cached in a private tree, as in the image
        warm_env = {"PYTHONUNBUFFERED": "1", "PYTHONPYCACHEPREFIX": str(workdir / "pycache")}
        with Simulator(api_key=API_KEY) as sim:
            summary = node_section(args.runs, warm_env, sim)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if "unavailable" in summary:
        print(f"no Node baseline: {summary['unavailable']}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2) if args.json else "\n".join(render(summary)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
