"""Entry point of the certyn/run-action container (and of `python entrypoint.py` on a runner or laptop)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from certyn_action.main import main  # the path above makes the package importable anywhere

if __name__ == "__main__":
    sys.exit(main())
