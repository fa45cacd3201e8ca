"""SignalGuard: SIGINT/SIGTERM become one cancellation request, raised only where it is safe."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from certyn_action.runner.signals import CancelRequested, SignalGuard


@pytest.fixture
def guard() -> Iterator[SignalGuard]:
    g = SignalGuard()
    g.install()
    try:
        yield g
    finally:
        g.uninstall()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_inside_an_interruptible_block_raises(guard: SignalGuard, sig: signal.Signals) -> None:
    with pytest.raises(CancelRequested) as err, guard.interruptible():
        signal.raise_signal(sig)
    assert err.value.signal_name == sig.name
    assert guard.signal_name is not None


def test_a_signal_outside_is_recorded_and_raised_at_the_next_checkpoint(guard: SignalGuard) -> None:
    signal.raise_signal(signal.SIGTERM)  # e.g. while a file is being written: nothing is torn
    assert guard.signal_name is not None
    with pytest.raises(CancelRequested), guard.interruptible():
        pytest.fail("the block must not start once cancellation was requested")


def test_a_second_signal_does_not_interrupt_the_cleanup(guard: SignalGuard) -> None:
    with pytest.raises(CancelRequested), guard.interruptible():
        signal.raise_signal(signal.SIGINT)
    cleaned_up = False
    with guard.interruptible():  # the cleanup's own waits
        signal.raise_signal(signal.SIGTERM)
        cleaned_up = True
    guard.checkpoint()
    assert cleaned_up
    assert guard.signal_name == "SIGINT"


def test_uninstall_restores_the_previous_handlers() -> None:
    before = signal.getsignal(signal.SIGTERM)
    g = SignalGuard()
    g.install()
    assert signal.getsignal(signal.SIGTERM) != before
    g.uninstall()
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_signal_inside_a_deferred_block_waits_for_its_end(guard: SignalGuard) -> None:
    steps: list[str] = []

    def write_outputs_then_go_on() -> None:
        with guard.interruptible():
            with guard.deferred():  # e.g. writing the outputs
                signal.raise_signal(signal.SIGINT)
                steps.append("outputs written")
            steps.append("went on")  # must not happen: the pending signal is raised first

    with pytest.raises(CancelRequested):
        write_outputs_then_go_on()
    assert steps == ["outputs written"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_cancel_that_a_finalizer_swallowed_is_raised_at_the_next_checkpoint(guard: SignalGuard) -> None:
    # Python reports and drops an exception raised while a dropped generator is being closed (next() on a
    # generator expression leaves it suspended): a signal handled at that moment must not lose the cancel.
    def first_match() -> Iterator[int]:
        try:
            yield 1
        finally:  # run when the generator is dropped
            signal.raise_signal(signal.SIGTERM)

    steps: list[str] = []

    def poll_then_write_outputs() -> None:
        with guard.interruptible():
            next(first_match())
            steps.append("went on")
            with guard.deferred():
                steps.append("outputs written")
            steps.append("polled again")  # must not happen: the cancel is raised at the deferred block's end

    with pytest.raises(CancelRequested):
        poll_then_write_outputs()
    assert steps == ["went on", "outputs written"]
