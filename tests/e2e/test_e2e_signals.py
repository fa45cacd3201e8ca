"""Cancellation end to end: real SIGINT/SIGTERM to the real process at every moment of its life.

The runner signals SIGINT, then SIGTERM 7.5 s later, then kills. Whatever the action is doing, it must
cancel the Certyn run it created (or was creating), write outputs and the summary, and exit within 7 s.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from certyn_simulator import DEFAULT_API_KEY, Fault, Scenario, Simulator, snapshot
from certyn_simulator.runner import ActionRun, FakeRunner, RunningAction
from tests.e2e_support import ROOT, explain, inputs, signal_and_wait

NEVER_ENDS = [snapshot("in_progress", total=4, passed=1, pending=3)]
EXIT_WITHIN = 7.0


def start(sim: Simulator, **extra: str) -> RunningAction:
    """The shared e2e inputs (``extra`` with '_' for '-'); requests may take long, the signal must not."""
    values = {"api_key": DEFAULT_API_KEY, "timeout_seconds": "60", "request_timeout_seconds": "20", **extra}
    return FakeRunner(ROOT).start(inputs(sim.base_url, **values))


def assert_cancelled_cleanly(result: ActionRun, took: float) -> None:
    assert took < EXIT_WITHIN, f"exited {took:.1f}s after the signal"
    assert result.exit_code == 1, result.log
    assert result.outputs["result"] == "cancelled"
    assert "Certyn: GitHub job cancelled" in result.summary
    assert "Traceback" not in result.stderr
    # cancelled by the workflow (a newer push, `concurrency`): a warning, never an error annotation
    assert [c.properties.get("title") for c in result.commands_named("warning")][-1:] == [
        "Certyn: GitHub job cancelled"
    ], result.log
    assert not result.commands_named("error"), result.log


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_while_polling_cancels_the_run(sig: signal.Signals) -> None:
    scenario = Scenario(snapshots=NEVER_ENDS).with_faults(status=[Fault.stall(30)])
    with Simulator(scenario) as sim, start(sim) as action:
        sim.wait_for(lambda r: r.endpoint == "status", timeout=10)  # the poll is on the wire, stalled
        result, took = signal_and_wait(action, sig)
        record = sim.run()
    assert_cancelled_cleanly(result, took)
    assert len(record.cancel_requests) == 1
    assert "cancelled" in (record.cancel_reasons[0] or "")
    assert result.outputs["run-id"] == record.run_id
    cancel = sim.api_requests("cancel")[0]
    assert cancel.header("Idempotency-Key") is None
    assert cancel.header("X-API-Key") == DEFAULT_API_KEY


def test_signal_while_sleeping_between_polls_cancels_the_run() -> None:
    with (
        Simulator(Scenario(snapshots=NEVER_ENDS, retry_after_seconds=30)) as sim,
        start(sim, poll_interval_seconds="20", max_poll_interval_seconds="30") as action,
    ):
        sim.wait_for(lambda r: r.endpoint == "status", timeout=10)
        action.wait_for_line(lambda line: line.text.startswith("[0s]"), timeout=10)  # asleep now
        result, took = signal_and_wait(action, signal.SIGTERM)
        record = sim.run()
    assert_cancelled_cleanly(result, took)
    assert len(record.cancel_requests) == 1
    assert result.outputs["state"] == "cancelled"  # Certyn's word, read again after the cancel
    assert result.outputs["passed"] == "1"


def test_signal_during_the_create_cancels_the_run_it_was_creating() -> None:
    # The create is processed after 2 s: the signal arrives while it is in flight.
    scenario = Scenario(snapshots=NEVER_ENDS).with_faults(create=[Fault.delay(2)])
    with Simulator(scenario) as sim, start(sim) as action:
        sim.wait_for(lambda r: r.endpoint == "create", timeout=10)
        result, took = signal_and_wait(action, signal.SIGINT)
        runs = list(sim.runs.values())
    assert_cancelled_cleanly(result, took)
    assert len(runs) == 1
    assert len(runs[0].cancel_requests) == 1
    assert result.outputs["run-id"] == runs[0].run_id


def test_sigterm_one_second_into_a_create_answered_after_three_seconds_cancels_that_run() -> None:
    # A slow server answers each create 3 s after it arrived; SIGTERM comes 1 s in. The answer comes sooner
    # than any replay could (a replay would be as slow): the action awaits it within the cancel budget and
    # cancels the run it names, without a second create.
    scenario = Scenario(snapshots=NEVER_ENDS).with_faults(create=[Fault.delay(3, times=2)])
    with Simulator(scenario) as sim, start(sim) as action:
        sim.wait_for(lambda r: r.endpoint == "create", timeout=10)
        time.sleep(1.0)
        result, took = signal_and_wait(action, signal.SIGTERM)
        runs = list(sim.runs.values())
        creates = sim.api_requests("create")
    assert_cancelled_cleanly(result, took)
    assert len(runs) == 1, result.log
    assert len(runs[0].cancel_requests) == 1, result.log
    assert result.outputs["run-id"] == runs[0].run_id
    assert creates[0].response_status == 201  # the first create's own answer named the run


def test_signal_during_a_create_whose_response_never_comes_replays_it_and_cancels() -> None:
    # The server makes the run, then holds the response for 60 s: the action replays the create with the
    # same Idempotency-Key to learn the run id, and cancels that run — still exactly one run.
    scenario = Scenario(snapshots=NEVER_ENDS).with_faults(create=[Fault.stall(60)])
    with Simulator(scenario) as sim, start(sim) as action:
        sim.wait_until(lambda: len(sim.runs) == 1, timeout=10)
        result, took = signal_and_wait(action, signal.SIGINT)
        runs = list(sim.runs.values())
        keys = {r.header("Idempotency-Key") for r in sim.api_requests("create")}
    assert_cancelled_cleanly(result, took)
    assert len(runs) == 1
    assert len(runs[0].cancel_requests) == 1, result.log
    assert len(keys) == 1
    assert result.outputs["idempotency-replayed"] == "true"


def test_signal_after_a_gateway_error_on_create_still_finds_and_cancels_the_run() -> None:
    # The backend made the run but the gateway answered 504 and asked for 30 s: the signal comes during
    # that wait. A 504 may hide a run, so the create is replayed with its key, and that run is cancelled.
    scenario = Scenario(snapshots=NEVER_ENDS).with_faults(
        create=[Fault.http(504, retry_after=30, process=True)]
    )
    with Simulator(scenario) as sim, start(sim) as action:
        sim.wait_until(lambda: len(sim.runs) == 1, timeout=10)
        time.sleep(0.3)  # into the backoff sleep
        result, took = signal_and_wait(action, signal.SIGINT)
        runs = list(sim.runs.values())
        creates = sim.api_requests("create")
    assert_cancelled_cleanly(result, took)
    assert len(runs) == 1
    assert len(runs[0].cancel_requests) == 1
    assert len(creates) == 2
    assert len({r.header("Idempotency-Key") for r in creates}) == 1
    assert result.outputs["run-id"] == runs[0].run_id


def test_a_cancel_answered_404_for_a_run_too_new_to_see_is_retried() -> None:
    scenario = Scenario(snapshots=NEVER_ENDS).with_faults(
        cancel=[Fault.http(404, {"error": "run not found"})]
    )
    with Simulator(scenario) as sim, start(sim) as action:
        sim.wait_for(lambda r: r.endpoint == "status", timeout=10)
        result, took = signal_and_wait(action, signal.SIGINT)
        record = sim.run()
        cancels = sim.api_requests("cancel")
    assert_cancelled_cleanly(result, took)
    assert cancels[0].response_status == 404
    assert len(cancels) == 2
    assert len(record.cancel_requests) == 1  # the retry got through
    assert record.cancelled_at is not None
    assert "Certyn accepted it" in result.summary


def handles(pid: int, sig: signal.Signals) -> bool:
    """Whether the process has installed a handler for ``sig`` (the SigCgt mask in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    return False


def test_signal_before_the_create_sends_nothing_and_still_reports() -> None:
    with Simulator(Scenario(snapshots=NEVER_ENDS)) as sim, start(sim) as action:
        # As soon as the handlers are in (first thing entrypoint.py does), while Python still loads
        # requests: the create cannot have been sent yet.
        deadline = time.monotonic() + 10
        while not handles(action.pid, signal.SIGTERM) and time.monotonic() < deadline:
            time.sleep(0.002)
        result, took = signal_and_wait(action, signal.SIGTERM)
        requests = sim.requests
    assert_cancelled_cleanly(result, took)
    assert requests == []
    assert result.outputs["run-id"] == ""


def test_a_second_signal_does_not_abort_the_cancel_in_flight() -> None:
    scenario = Scenario(snapshots=NEVER_ENDS).with_faults(cancel=[Fault.delay(2)])
    with Simulator(scenario) as sim, start(sim) as action:
        sim.wait_for(lambda r: r.endpoint == "status", timeout=10)
        sent = time.monotonic()
        action.send_signal(signal.SIGINT)
        sim.wait_for(lambda r: r.endpoint == "cancel", timeout=5)
        action.send_signal(signal.SIGTERM)  # while the cancel request is on the wire
        result = action.wait(timeout=15)
        took = time.monotonic() - sent
        record = sim.run()
    assert_cancelled_cleanly(result, took)
    assert len(record.cancel_requests) == 1
    assert record.cancelled_at is not None
    assert "cancelled" in result.outputs["result"]


def test_the_cancel_is_bounded_when_the_server_hangs() -> None:
    scenario = Scenario(snapshots=NEVER_ENDS).with_faults(cancel=[Fault.stall(60)])
    with Simulator(scenario) as sim, start(sim) as action:
        sim.wait_for(lambda r: r.endpoint == "status", timeout=10)
        result, took = signal_and_wait(action, signal.SIGINT)
    assert_cancelled_cleanly(result, took)
    assert "may still be running in Certyn" in result.summary


def test_runner_style_cancel_needs_no_sigterm() -> None:
    with Simulator(Scenario(snapshots=NEVER_ENDS)) as sim, start(sim) as action:
        sim.wait_for(lambda r: r.endpoint == "status", timeout=10)
        result = action.cancel_like_runner()
        record = sim.run()
    assert result.cancel is not None
    assert result.cancel.sigterm_at is None  # done before the runner's SIGTERM at 7.5 s
    assert result.cancel.exit_after < EXIT_WITHIN
    assert result.outputs["result"] == "cancelled"
    assert len(record.cancel_requests) == 1


def test_cancel_on_job_cancel_false_leaves_the_run() -> None:
    with (
        Simulator(Scenario(snapshots=NEVER_ENDS)) as sim,
        start(sim, cancel_on_job_cancel="false") as action,
    ):
        sim.wait_for(lambda r: r.endpoint == "status", timeout=10)
        result, took = signal_and_wait(action, signal.SIGINT)
        record = sim.run()
    assert_cancelled_cleanly(result, took)
    assert record.cancel_requests == []
    assert "left running" in result.summary


# -- a signal while huge inputs are read ---------------------------------------------------------------------


def _many_tags(count: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"

    def name(i: int) -> str:
        out = ""
        while True:
            i, r = divmod(i, 36)
            out = digits[r] + out
            if i == 0:
                return out

    return ",".join(name(i) for i in range(count))


def test_a_signal_while_huge_tags_are_read_ends_the_step_promptly() -> None:
    tags = _many_tags(30_000)  # about 120 KB, just under the 128 KiB a single variable may hold
    assert len(tags) < 128 * 1024
    values = inputs("http://127.0.0.1:9", tags=tags, process_slug="")
    with FakeRunner(ROOT).start(values) as action:
        action.wait_for_line(lambda line: line.text.startswith("::add-mask::"), timeout=20)
        sent = time.monotonic()
        action.send_signal(signal.SIGTERM)
        run = action.wait(timeout=30)
        took = time.monotonic() - sent
    assert took < 3.0, f"the step ended {took:.1f}s after SIGTERM:\n{explain(run)}"
    assert run.exit_code == 1
    assert run.outputs["result"] == "cancelled", explain(run)
    assert "Certyn" in run.summary
