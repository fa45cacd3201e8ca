"""What loads before the first request: none of the modules the start-up work keeps off that path.

Not a timing test (``bench/`` measures): a guard that a new import does not quietly bring them back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# dataclasses pulls inspect, ast and dis (and builds each class with exec); pydantic loads on a helper thread
# while the create is on the wire; html.entities only with the summary; netrc (and shlex) never, since the
# session's auth is explicit.
OFF_THE_PATH = ("dataclasses", "inspect", "ast", "dis", "pydantic", "pydantic_core", "html.entities", "netrc")


def test_the_modules_before_the_first_request_leave_out_the_slow_ones() -> None:
    # Everything entrypoint.py imports, then one request as the create sends it (to a port that refuses it:
    # requests prepares it whole, netrc lookup included, before connecting).
    code = (
        "import sys, json, certyn_action.main\n"
        "from certyn_action.certyn.http import Transport, TransportError\n"
        "try:\n"
        "    Transport('http://127.0.0.1:9', 'k', env={}).request('POST', '/api/ci/runs', timeout=5, json_body={})\n"
        "except TransportError:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-s", "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = set(json.loads(proc.stdout))
    assert {"requests", "certyn_action.step", "certyn_action.certyn.client"} <= loaded  # the probe sees them
    assert sorted(loaded.intersection(OFF_THE_PATH)) == []
