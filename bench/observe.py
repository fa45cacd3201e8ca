"""The scenarios the bench runs and what one run of the action shows in the simulator's log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from certyn_simulator import RunRecord, Scenario, Simulator, snapshot

from .common import STEADY_POLLS, BenchError
from .launch import ActionLauncher, Launch


def instant() -> Scenario:
    """Completed on the first poll: create + 1 poll, nothing to wait for."""
    return Scenario(
        name="instant", snapshots=[snapshot("completed", total=1, passed=1)], retry_after_seconds=1
    )


def steady(polls: int = STEADY_POLLS) -> Scenario:
    """In progress until the ``polls``-th poll, which serves ``completed``; retryAfterSeconds 1."""
    running = snapshot("in_progress", total=3, passed=0, pending=3)
    return Scenario(
        name="steady",
        snapshots=[*([running] * (polls - 1)), snapshot("completed", total=3, passed=3)],
        retry_after_seconds=1,
    )


def action_inputs(sim: Simulator) -> dict[str, str]:
    return {
        "api-key": sim.api_key,
        "project-slug": "bench",
        "process-slug": "smoke",
        "api-url": sim.base_url,
        "poll-interval-seconds": "1",
        "max-poll-interval-seconds": "30",
        "timeout-seconds": "120",
        "test-results": "false",  # the CI endpoints alone; bench/results.py measures what the results add
    }


@dataclass
class Observed:
    launch: Launch
    first_request_at: float | None
    run: RunRecord | None
    requests: list[dict[str, Any]]

    @property
    def cold_start(self) -> float | None:
        return None if self.first_request_at is None else self.first_request_at - self.launch.started

    @property
    def reaction(self) -> float | None:
        if self.run is None or self.run.terminal_served_at is None:
            return None
        return self.launch.exited - self.run.terminal_served_at


def observe(sim: Simulator, action: ActionLauncher, scenario: Scenario) -> Observed:
    sim.reset(scenario)
    launch = action.run(action_inputs(sim))
    api = sim.api_requests()
    runs = list(sim.runs.values())
    if launch.result != "passed":
        raise BenchError(
            f"the action did not pass ({launch.result}, exit {launch.exit_code}) with {' '.join(launch.argv[:3])}"
            f"\n--- stdout ---\n{launch.stdout[-3000:]}\n--- stderr ---\n{launch.stderr[-3000:]}"
        )
    return Observed(
        launch,
        api[0].received_at if api else None,
        runs[-1] if runs else None,
        [
            {
                "endpoint": r.endpoint,
                "status": r.response_status,
                "fault": r.fault,
                "at": round(r.received_at - launch.started, 3),
                "replayed": r.endpoint == "create" and r.response_status == 200,
            }
            for r in api
        ],
    )
