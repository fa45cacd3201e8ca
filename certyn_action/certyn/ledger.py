"""What the step knows about its create, so that an interrupted create can still be found and cancelled.

A create may make a run that we never hear of: the answer is still on the wire when a signal comes, or the
exchange broke after the server acted on it, or a gateway answered 500/502/504 for a backend that went on.
The ledger keeps the exchange in flight, whether some attempt went unanswered, and the run once it is known.
:class:`Attempts` keeps only the last of these, for a create retried by :meth:`CertynClient.call` (the
temporary environment's). Pure bookkeeping: the client does the I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import ApiError, may_have_made_a_run

if TYPE_CHECKING:
    from ..core.api import Created
    from .http import Call

T = TypeVar("T")

class CreateLedger:
    def __init__(self, body: Mapping[str, Any], key: str) -> None:
        self.body = body
        self.key = key  # the Idempotency-Key: every attempt and every replay sends the same one
        self.in_flight: Call | None = None  # the attempt whose answer has not been read yet
        self.created: Created | None = None
        self._unanswered = False  # some attempt may have made a run we never heard of
        self._unanswered_before = False  # the same, not counting the attempt in flight
        self._sending = False  # sending() was called for the attempt not yet sent()

    @property
    def may_hold_a_run(self) -> bool:
        """Whether replaying the create (same key) could return a run an earlier attempt made."""
        return self.created is None and self._unanswered

    def sending(self) -> None:
        """An attempt is about to go out: from here on it may reach the server unseen, even when a signal
        lands before :meth:`sent` (the worker thread is already sending)."""
        self._unanswered_before = self._unanswered
        self._unanswered = self._sending = True

    def not_sent(self) -> None:
        """The attempt was refused before anything went out."""
        self._unanswered, self._sending = self._unanswered_before, False

    def sent(self, call: Call) -> None:
        """An attempt is on the wire: until it is answered it may reach the server unseen."""
        if not self._sending:
            self.sending()
        self._sending = False
        self.in_flight = call

    def answered(self, created: Created) -> None:
        self.created = created
        self.in_flight, self._unanswered = None, False

    def refused(self, status: int | None) -> None:
        """The attempt in flight was answered without a usable run (``status``; None: no answer at all)."""
        self.in_flight = None
        self._unanswered = self._unanswered_before or may_have_made_a_run(status)

    def lost(self) -> None:
        """The attempt in flight failed without an answer: it may have made a run."""
        self.in_flight = None


class Attempts:
    """Whether some failed attempt of a create may have made what it creates unseen: no answer, or an answer
    that may hide it (:func:`may_have_made_a_run`), as :class:`CreateLedger` counts them for the run.
    :meth:`CertynClient.call` records each failed attempt here when given one."""

    def __init__(self) -> None:
        self.may_have_made = False

    def failed(self, status: int | None) -> None:
        """An attempt failed with ``status``. None (no HTTP answer) counts, even when nothing went out (an
        unsafe URL, no time left): the cautious side is a look-up that finds nothing."""
        self.may_have_made = self.may_have_made or may_have_made_a_run(status)

    def recording(self, attempt: Callable[[float], T]) -> Callable[[float], T]:
        """``attempt`` (one exchange, by deadline), recording here how it failed."""

        def recorded(deadline: float) -> T:
            try:
                return attempt(deadline)
            except ApiError as err:
                self.failed(err.status)
                raise

        return recorded
