"""Entry point of the certyn/run-action container (and of `python entrypoint.py` on a runner or laptop)."""

import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Handlers first, before the heavier imports: a cancellation that arrives while Python is still loading
# requests and pydantic is recorded and honoured (outputs, summary, exit) instead of killing us mid-import.
from certyn_action.github.signals import SignalGuard  # the path above makes the package importable anywhere

guard = SignalGuard()
guard.install()

from certyn_action.main import main  # noqa: E402

if __name__ == "__main__":
    code = main(guard=guard)  # outputs and summary are written and closed by now
    # Tearing down requests, pydantic and friends spends most of the exit time in the garbage collector;
    # freezing the heap first lets the step end ~60 ms sooner after Certyn reports the result.
    gc.freeze()
    sys.exit(code)
