"""Entry point of the certyn/run-action container (and of `python entrypoint.py` on a runner or laptop)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

# Handlers first, before the heavier imports: a cancellation that arrives while Python is still loading
# requests is recorded and honoured (outputs, summary, exit) instead of killing us mid-import.
from certyn_action.runner.signals import SignalGuard

guard = SignalGuard()
guard.install()

from certyn_action.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(guard=guard))
