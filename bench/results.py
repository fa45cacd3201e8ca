"""The bench section on per-test results: the requests a run with them adds, and the time from the final poll
to exit, with and without them (and with the AI answer on top)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from certyn_simulator import Scenario, Simulator, snapshot

from .common import BenchError
from .observe import action_inputs
from .options import progress
from .stats import Series

if TYPE_CHECKING:
    from .launch import ActionLauncher
    from .options import Options

Variants = Mapping[str, Mapping[str, str]]
ROWS = 5
VARIANTS: Variants = {
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


def variant_runs(
    opts: Options,
    action: ActionLauncher,
    sim: Simulator,
    what: str,
    scenario: Callable[[], Scenario],
    variants: Variants,
    ended: str,
) -> tuple[dict[str, Any], dict[str, list[list[Any]]]]:
    """Per variant (extra inputs), ``reaction_runs`` runs of ``scenario`` that must end ``ended``: the figures
    (the requests of one run by endpoint, final poll → exit), and every run's requests."""
    out: dict[str, Any] = {}
    requests: dict[str, list[list[Any]]] = {}
    for name, extra in variants.items():
        tail = Series()
        requests[name] = []
        for _ in range(opts.reaction_runs):
            sim.reset(scenario())
            launch = action.run({**action_inputs(sim), **extra})
            if launch.result != ended:
                raise BenchError(
                    f"{what} ({name}): the action ended {launch.result}\n{launch.stdout[-2000:]}"
                )
            api = sim.api_requests()
            tail.add(launch.exited - [r.received_at for r in api if r.endpoint == "status"][-1])
            requests[name].append(api)
        endpoints = [r.endpoint for r in requests[name][-1]]
        out[name] = {
            "requests": len(endpoints),
            "endpoints": endpoints,
            "final_poll_to_exit_s": tail.to_dict(),
        }
    return out, requests


def results_section(opts: Options, action: ActionLauncher, sim: Simulator) -> dict[str, Any]:
    """The figures under ``results``: per variant, the requests of one run by endpoint and final poll → exit."""
    runs = opts.reaction_runs
    progress(opts, f"per-test results: requests and final poll to exit ({runs} runs per variant)")
    out, _ = variant_runs(opts, action, sim, "results section", finished, VARIANTS, "passed")
    base = out["without results"]["requests"]
    for figures in out.values():
        figures["added"] = figures["requests"] - base
    return out


def milliseconds(tail: Mapping[str, Any]) -> str:
    """A series of seconds as "median ms (min-max, n=runs)"."""
    return (
        f"{tail['median'] * 1000:.0f} ms ({tail['min'] * 1000:.0f}-{tail['max'] * 1000:.0f}, n={tail['n']})"
    )


def render_results(f: Mapping[str, Any]) -> list[str]:
    results = f.get("results")
    if not results:
        return []
    lines = ["", f"Per-test results (a run completed on the first poll, {ROWS} tests)"]
    for name, r in results.items():
        added = f", +{r['added']} ({', '.join(r['endpoints'][-r['added'] :])})" if r["added"] else ""
        tail = r["final_poll_to_exit_s"]
        timing = milliseconds(tail)
        lines.append(f"  {name:<26} {r['requests']} requests{added}; final poll to exit {timing}")
    return lines
