"""Test doubles shared by the unit tests: a clock that never really waits, a transport that never connects."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields

from requests.structures import CaseInsensitiveDict

from certyn_action.api.http import Reply, Request, Transport, TransportError
from certyn_action.clock import Deadline
from certyn_action.settings import RunMetadata, Settings


@dataclass
class FakeClock:
    """Monotonic time that only moves when the code under test sleeps (or a test advances it)."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"negative sleep {seconds}"
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def at(self, when: float) -> Deadline:
        """The deadline ``when`` on this clock."""
        return Deadline(when, self)

    def after(self, seconds: float) -> Deadline:
        """The deadline ``seconds`` from now on this clock."""
        return Deadline.after(self, seconds)


def far() -> Deadline:
    """A deadline that does not bind (1000 s away, on a clock of its own that stands still): for a test of what
    is sent and read, not of time."""
    return FakeClock().after(1000)


class FakeTransport(Transport):
    """The Certyn API as a script: each request is recorded in ``sent`` and answered with the next of
    ``answers`` (a :class:`Reply`, or a :class:`TransportError` raised as the transport would)."""

    def __init__(self, *answers: Reply | TransportError) -> None:
        super().__init__("https://api.certyn.test", "sk-test-key", env={})
        self.answers = list(answers)
        self.sent: list[Request] = []

    def send(self, request: Request, deadline: Deadline, idle: Callable[[], float] | None = None) -> Reply:
        self.sent.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, TransportError):
            raise answer
        return answer


def reply(status: int = 200, data: object = None, headers: Mapping[str, str] | None = None) -> Reply:
    """A reply whose body is ``data`` as JSON (bytes are sent as they are); its headers, like the transport's,
    are looked up ignoring case."""
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return Reply(status, CaseInsensitiveDict(headers or {}), body)


@dataclass(frozen=True)
class _PinnedMetadata(Settings):
    pinned: RunMetadata | None = None

    @property
    def metadata(self) -> RunMetadata:
        assert self.pinned is not None
        return self.pinned


def with_metadata(settings: Settings, metadata: RunMetadata) -> Settings:
    """``settings`` whose run metadata is ``metadata`` as given: a renderer's test of values (a link, a name)
    that no GitHub context would make."""
    return _PinnedMetadata(**{f.name: getattr(settings, f.name) for f in fields(settings)}, pinned=metadata)
