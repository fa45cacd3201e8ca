"""Entry point of the certyn/run-action container (and of `python entrypoint.py` on a runner or laptop)."""

import contextlib
import gc
import os
import sys

# The imports below allocate objects that all live until the exit: a collection cannot free anything, so
# none runs until they are done, then they are frozen out of every later collection.
gc.disable()
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))  # os.path: pathlib costs an import

# Handlers first, before the heavier imports: a cancellation that arrives while Python is still loading
# requests and pydantic is recorded and honoured (outputs, summary, exit) instead of killing us mid-import.
from certyn_action.github.signals import SignalGuard  # noqa: E402 - after gc.disable() and the path above

guard = SignalGuard()
guard.install()

from certyn_action.main import main  # noqa: E402

gc.freeze()
gc.enable()

if __name__ == "__main__":
    code = main(guard=guard)  # outputs, summary and log files are written and closed by now
    # Nothing is left to do but flush the log: end without tearing down requests, pydantic and friends (the
    # interpreter's teardown is most of the time from the verdict to the exit). Exchanges still in flight
    # are abandoned either way (daemon threads); the action registers no atexit hook.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed log pipe: nothing more can be said anyway
            stream.flush()
    if "coverage" in sys.modules:  # measured as a subprocess (COVERAGE_PROCESS_START): coverage saves at exit
        sys.exit(code)
    os._exit(code)
