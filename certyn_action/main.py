"""The action's entry: the log (every secret masked before anything is printed), the clock, one :class:`Step`."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

from .api.http import Transport
from .clock import Clock, SystemClock
from .render.escape import MIN_SCRUBBED_KEY
from .runner.signals import SignalGuard
from .runner.workflow import WorkflowLog
from .settings import Settings, base_url_secrets, raw_input, variable_secrets
from .step import Step


def default_transport(inputs: Settings, env: Mapping[str, str], log: WorkflowLog) -> Transport:
    # every reply scrubbed of every secret as it arrives: before any of it is cut, escaped or shown anywhere
    return Transport(inputs.api_url, inputs.api_key, env=env, debug=log.debug, redact=log.redact)


def main(
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    clock: Clock | None = None,
    *,
    guard: SignalGuard,  # installed first thing by the entry point
) -> int:
    env = os.environ if env is None else env
    clock = clock or SystemClock()
    log = WorkflowLog(stdout or sys.stdout, debug=env.get("RUNNER_DEBUG") == "1")
    log.add_mask((raw_input(env, "api-key") or "").strip())  # before anything else is printed
    for secret in base_url_secrets(raw_input(env, "base-url") or ""):  # a preview URL's token
        log.add_mask(secret)
    # `variables`: every value, valid or not; redacted as written (a short one such as "1" only by the runner:
    # redacting it would rewrite every count)
    for value in variable_secrets(raw_input(env, "variables") or ""):
        log.add_mask(value, redact="exact" if len(value.strip()) >= MIN_SCRUBBED_KEY else "none")
    guard.use_clock(clock.monotonic)  # the release budget counts from the signal on the step's clock
    return Step(env, log, clock, guard, default_transport).run()
