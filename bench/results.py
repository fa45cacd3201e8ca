"""The bench section on per-test results: the requests a run with them adds, and the time from the final poll
to exit, with and without them (and with the AI answer on top)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from certyn_simulator import Scenario, Simulator, snapshot

from .common import BenchError
from .observe import action_inputs
from .options import progress
from .stats import Series

if TYPE_CHECKING:
    from .sections import Bench

ROWS = 5
VARIANTS: Mapping[str, Mapping[str, str]] = {
    "without results": {"test-results": "false"},
    "with results": {"test-results": "true"},
    "with results + AI answer": {"test-results": "true", "instruction": "Explain the run."},
}


def finished(rows: int = ROWS) -> Scenario:
    """Completed on the first poll, with ``rows`` per-test rows; the AI answers at its first read."""
    return Scenario(
        name="results",
        snapshots=[snapshot("completed", total=rows, passed=rows)],
        retry_after_seconds=1,
        conversation_polls=0,
    )


def results_section(bench: Bench, sim: Simulator) -> None:
    """Figures under ``results``: per variant, the requests of one run by endpoint and final poll → exit."""
    runs = bench.opts.reaction_runs
    progress(bench.opts, f"per-test results: requests and final poll to exit ({runs} runs per variant)")
    out: dict[str, Any] = {}
    for name, extra in VARIANTS.items():
        tail = Series()
        endpoints: list[str] = []
        for _ in range(runs):
            sim.reset(finished())
            launch = bench.python.run({**action_inputs(sim), **extra})
            if launch.result != "passed":
                raise BenchError(
                    f"results section ({name}): the action ended {launch.result}\n{launch.stdout[-2000:]}"
                )
            api = sim.api_requests()
            polls = [r.received_at for r in api if r.endpoint == "status"]
            tail.add(launch.exited - polls[-1])
            endpoints = [r.endpoint for r in api]
        out[name] = {
            "requests": len(endpoints),
            "endpoints": endpoints,
            "final_poll_to_exit_s": tail.to_dict(),
        }
    base = out["without results"]["requests"]
    for figures in out.values():
        figures["added"] = figures["requests"] - base
    bench.figures["results"] = out


def render_results(f: Mapping[str, Any]) -> list[str]:
    results = f.get("results")
    if not results:
        return []
    lines = ["", f"Per-test results (a run completed on the first poll, {ROWS} tests)"]
    for name, r in results.items():
        added = f", +{r['added']} ({', '.join(r['endpoints'][-r['added'] :])})" if r["added"] else ""
        tail = r["final_poll_to_exit_s"]
        timing = f"{tail['median'] * 1000:.0f} ms ({tail['min'] * 1000:.0f}-{tail['max'] * 1000:.0f}, n={tail['n']})"
        lines.append(f"  {name:<26} {r['requests']} requests{added}; final poll to exit {timing}")
    return lines
