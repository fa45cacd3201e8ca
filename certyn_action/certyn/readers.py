"""Reading the API's 2xx answers into the pydantic models (``api/models.py``).

The models are not needed to send the first request: pydantic is imported only when the first answer is read
(:func:`load_models`), on the main thread with SIGINT and SIGTERM blocked, so a cancellation signal cannot cut
the import short and leave pydantic-core half loaded; the signal is handled as soon as the import is done.
"""

from __future__ import annotations

import importlib
import signal
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ..core.retry import UNUSABLE_BODY, is_transient
from ..core.text import one_line
from .errors import ApiError, json_object, server_message, validation_summary
from .reply import Reply

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ..api.models import Created, RunStatus

M = TypeVar("M", bound="BaseModel")


def load_models() -> None:
    """Import pydantic and the models (once; later calls cost nothing) with the cancellation signals held."""
    if "certyn_action.api.models" in sys.modules:
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        importlib.import_module("certyn_action.api.models")
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def read_created(reply: Reply) -> Created:
    """The run a 2xx create answer names; an answer without a usable ``runId`` is an error."""
    data = json_object(reply, "the create response")
    if not data.get("runId"):
        raise ApiError(
            f"Certyn answered the create with HTTP {reply.status} but no runId; the run cannot be followed. "
            f"Server said: {server_message(reply) or 'nothing'}",
            status=reply.status,
        )
    load_models()
    from ..api.models import Created, CreatedRun, ValidationError  # noqa: PLC0415 - see the module docstring

    try:
        run = CreatedRun.model_validate(data)
    except ValidationError as err:
        raise ApiError(
            f"the create response is invalid: {validation_summary(err)}", status=reply.status
        ) from None
    replayed = (reply.header("Idempotency-Replayed") or "").strip().lower() == "true"
    return Created(run, replayed)


def read_status(reply: Reply, run_id: str) -> RunStatus:
    data = json_object(reply, "the status response")
    _check_run_id(data, run_id, reply.status, "runid", "the status response")
    load_models()
    from ..api.models import RunStatus  # noqa: PLC0415 - see the module docstring

    return _validated(RunStatus, data, reply.status, "invalid status response")


def _check_run_id(data: Mapping[str, Any], run_id: str, status: int, field: str, what: str) -> None:
    """An answer naming another run in ``field`` (a caching proxy, a server bug) is an invalid answer,
    retried like a cut body and never gated on or reported. An answer without the field (or with null) is
    taken as the asked run's: the API does not promise it. Its name is matched ignoring case, as the backend
    binds it (a key named twice in any case never gets here: the reply refuses it)."""
    said = next((value for key, value in data.items() if key.lower() == field), None)
    if said is None:
        return
    if isinstance(said, int) and not isinstance(said, bool):
        said = str(said)
    if said != run_id:
        raise ApiError(
            f"{what} (HTTP {status}) is for run {one_line(repr(said), 80)}, not run {run_id}: "
            "a caching proxy or a server fault answered",
            status=status,
            transient=is_transient(UNUSABLE_BODY),
        )


def read_model(reply: Reply, model: type[M], what: str, run_id: str | None = None) -> M:
    """A 2xx answer of the endpoints beyond the CI ones, read into ``model`` (tolerant: only a body that is not
    a JSON object, or a field the model cannot do without, makes it invalid, like a cut body). With
    ``run_id``, an answer whose ``id`` names another run is refused like a status for another run."""
    data = json_object(reply, what)
    if run_id is not None:
        _check_run_id(data, run_id, reply.status, "id", what)
    load_models()
    return _validated(model, data, reply.status, f"{what} (HTTP {reply.status}) is invalid")


def _validated(model: type[M], data: Mapping[str, Any], status: int, invalid: str) -> M:
    """``data`` as ``model``; a field the model cannot do without makes the answer invalid, retried like a
    cut body."""
    from pydantic import ValidationError  # noqa: PLC0415 - loaded by now, see the module docstring

    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ApiError(
            f"{invalid}: {validation_summary(err)}", status=status, transient=is_transient(UNUSABLE_BODY)
        ) from None
