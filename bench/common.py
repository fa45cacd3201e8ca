"""Where the repository is, the bench's constants, and its error."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

IMAGE_TAG = "certyn-run-action:bench"
# As long as a real key (about 40 characters): the scrubber's patterns, compiled before the create, grow with
# the key.
API_KEY = "VZlCrtfPUTirJNLkdHJGXF7DOqYm1nxUNGKZ4q8W"  # 40 letters and digits
RUN_TIMEOUT = 60.0
STEADY_POLLS = 4  # the steady scenario completes on the 4th poll
OUTAGE_SECONDS = 2.5
STAND_IN_LABEL = "org.certyn.stand-in-for"


class BenchError(RuntimeError):
    pass
