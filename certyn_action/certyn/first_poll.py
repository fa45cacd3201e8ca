"""The first poll, sent ahead: on the wire as soon as the raw create reply names the run, while that reply is
validated (pydantic may still be loading). Only a raw id the model would read as is is polled
(``core/api.raw_run_id``), and the client uses the reply only for the very run the model read."""

from __future__ import annotations

from typing import NamedTuple

from ..clock import Clock
from ..core.api import raw_run_id, run_path
from .http import Call, Transport, TransportError
from .reply import Reply


class FirstPoll(NamedTuple):
    run_id: str  # as the raw create reply named it
    call: Call
    sent_at: float  # clock time it went out


def send_first_poll(
    transport: Transport, create_reply: Reply, timeout: float, clock: Clock
) -> FirstPoll | None:
    """The status request for the run a 2xx ``create_reply`` names, started; None when none is sent."""
    if not 200 <= create_reply.status < 300 or timeout <= 0:
        return None
    try:
        run_id = raw_run_id(create_reply.json())
    except ValueError:
        return None
    if run_id is None:
        return None
    sent_at = clock.monotonic()
    try:
        return FirstPoll(run_id, transport.start("GET", run_path(run_id), timeout=timeout), sent_at)
    except TransportError:  # refused before sending: the status request will say so itself
        return None
