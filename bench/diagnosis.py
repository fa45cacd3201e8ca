"""The bench section on the diagnosis (``diagnose``): the requests and the time it adds to a failing run with 3
failing tests (the built-in ``fail`` scenario, completed on the first poll), from the final poll to exit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from certyn_simulator import Simulator, builtin_scenario

from .options import progress
from .results import Variants, milliseconds, variant_runs
from .stats import Series

if TYPE_CHECKING:
    from .launch import ActionLauncher
    from .options import Options

DIAGNOSIS = ("execution", "agent_conversation", "execution_artifacts", "flaky_testcases", "observations")
VARIANTS: Variants = {
    "diagnose: false": {"test-results": "true", "diagnose": "false"},
    "diagnose: true": {"test-results": "true", "diagnose": "true"},
}


def failing() -> Any:
    """The ``fail`` scenario (2 failed and 1 blocked of 5, each with a scripted diagnosis), completed at once."""
    scenario = builtin_scenario("fail")
    scenario.snapshots = scenario.snapshots[-1:]
    return scenario


def diagnosis_section(opts: Options, action: ActionLauncher, sim: Simulator) -> dict[str, Any]:
    """The figures under ``diagnosis``: per variant, the requests of one run by endpoint and final poll → exit."""
    runs = opts.reaction_runs
    progress(opts, f"diagnosis: requests and final poll to exit of a failing run ({runs} runs per variant)")
    out, requests = variant_runs(opts, action, sim, "diagnosis", failing, VARIANTS, "failed")
    for name, runs_made in requests.items():
        window = Series()
        for api in runs_made:
            reads = [r.received_at for r in api if r.endpoint in DIAGNOSIS]
            if reads:  # from the per-test results' request to the last diagnosis request received
                window.add(reads[-1] - next(r.received_at for r in api if r.endpoint == "process_run"))
        out[name]["reads_window_s"] = window.to_dict() if window.values else None
    off, on = out["diagnose: false"], out["diagnose: true"]
    on["added"] = on["requests"] - off["requests"]
    on["added_s"] = on["final_poll_to_exit_s"]["median"] - off["final_poll_to_exit_s"]["median"]
    return out


def render_diagnosis(f: Mapping[str, Any]) -> list[str]:
    figures = f.get("diagnosis")
    if not figures:
        return []
    lines = ["", "Diagnosis (a failing run completed on the first poll, 3 failing tests)"]
    for name, r in figures.items():
        tail = r["final_poll_to_exit_s"]
        timing = milliseconds(tail)
        lines.append(f"  {name:<16} {r['requests']} requests; final poll to exit {timing}")
    on = figures["diagnose: true"]
    added = sorted(set(on["endpoints"]) - set(figures["diagnose: false"]["endpoints"]))
    window = on["reads_window_s"]
    lines.append(
        f"  the diagnosis adds {on['added']} requests ({', '.join(added)}), {on['added_s'] * 1000:+.0f} ms to exit "
        f"(medians); its requests all sent within {window['median'] * 1000:.0f} ms of the per-test results' one "
        f"({window['min'] * 1000:.0f}-{window['max'] * 1000:.0f})"
    )
    return lines
