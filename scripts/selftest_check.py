"""Helper of .github/workflows/selftest.yml: talks to the simulator's control API and checks the outcomes
and outputs of the self-test's action steps (passed in by the workflow as environment variables).

    python3 scripts/selftest_check.py wait-ready URL        wait until the simulator answers
    python3 scripts/selftest_check.py scenario URL NAME     use the built-in scenario NAME for new runs
    python3 scripts/selftest_check.py outputs URL           check the steps (exit 1 listing every mismatch)

Stdlib only: it runs on the job's python3, before and without any install.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any


def _call(base: str, method: str, path: str, body: Any = None, timeout: float = 5.0) -> Any:
    if not base.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise SystemExit(f"refusing a simulator URL that is not on loopback: {base}")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base.rstrip("/") + path, data=data, method=method)  # noqa: S310 (loopback only)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback only)
        return json.load(response)


def wait_ready(base: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _call(base, "GET", "/_sim/health", timeout=1.0)
        except (OSError, urllib.error.URLError) as err:
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"the simulator at {base} did not answer within {timeout:.0f}s: {err}"
                ) from err
            time.sleep(0.2)
        else:
            print(f"simulator ready at {base}")
            return


def check_outputs(base: str, env: dict[str, str]) -> list[str]:
    problems: list[str] = []

    def expect(name: str, wanted: str) -> None:
        if env.get(name, "") != wanted:
            problems.append(f"{name} is {env.get(name, '')!r}, expected {wanted!r}")

    expect("BAD_OUTCOME", "failure")
    expect("BAD_RESULT", "error")
    if env.get("ACT") != "true":
        # On GitHub-hosted runners the action container cannot reach the job's 127.0.0.1 (see the workflow).
        expect("PASS_OUTCOME", "skipped")
        expect("FAIL_OUTCOME", "skipped")
        return problems

    expect("PASS_OUTCOME", "success")
    expect("PASS_RESULT", "passed")
    expect("PASS_STATE", "completed")
    expect("PASS_TOTAL", "5")
    expect("PASS_PASSED", "5")
    expect("FAIL_OUTCOME", "failure")
    expect("FAIL_RESULT", "failed")
    expect("FAIL_FAILED", "2")

    creates = _call(base, "GET", "/_sim/requests?endpoint=create")["requests"]
    if len(creates) != 2:
        problems.append(
            f"the simulator saw {len(creates)} create requests, expected 2 (none from the bad input)"
        )
    runs = {run["runId"]: run for run in _call(base, "GET", "/_sim/runs")["runs"]}
    run_id = env.get("PASS_RUN_ID", "")
    if run_id not in runs:
        problems.append(f"run-id output {run_id!r} is not a run the simulator created ({sorted(runs)})")
    elif runs[run_id].get("terminalState") != "completed":
        problems.append(f"run {run_id} was not followed to completion: {runs[run_id].get('terminalState')!r}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "wait-ready":
        wait_ready(argv[1])
        return 0
    if len(argv) == 3 and argv[0] == "scenario":
        _call(argv[1], "PUT", "/_sim/scenario", argv[2])
        print(f"simulator scenario: {argv[2]}")
        return 0
    if len(argv) == 2 and argv[0] == "outputs":
        problems = check_outputs(argv[1], dict(os.environ))
        for problem in problems:
            print(f"::error title=Self-test::{problem}")
        if not problems:
            print("self-test: every outcome and output is as expected")
        return 1 if problems else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
