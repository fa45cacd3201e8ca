"""An HTTP answer as the client reads it: status, headers, body, and its JSON, parsed strictly.

The JSON goes through the reply's ``scrub`` (the API key removed from every string, see ``scrub.py``) before
anyone reads it, and an object that names a key twice (in any case) is refused: which value counts would be
up to the parser. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from ..render.escape import one_line


def _unchanged(data: Any) -> Any:
    return data


class DuplicateKey(ValueError):
    """A JSON object names the same key twice: which value counts is up to the parser, so it is invalid."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Names are compared ignoring case: the backend (ASP.NET) binds them so, and {"failed": 0, "Failed": 2}
    # is as ambiguous to it as a key named twice is to us.
    data = dict(pairs)
    if len({key.lower() for key in data}) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key.lower() in seen or seen.add(key.lower()))  # type: ignore[func-returns-value]
        raise DuplicateKey(f"the key {one_line(repr(twice), 60)} appears twice in one object")
    return data


class Reply(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: bytes
    scrub: Callable[[Any], Any] = _unchanged  # applied to the parsed JSON (see scrub.py)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self) -> Any:
        """The body as JSON; raises ValueError when it is not JSON (an HTML proxy page, a cut body) or when
        an object repeats a key (:class:`DuplicateKey`), at any depth."""
        try:
            return self.scrub(json.loads(self.body.decode("utf-8"), object_pairs_hook=_unique_keys))
        except RecursionError:  # e.g. "[" * 100000: hostile or broken, never a crash
            raise ValueError("JSON nested too deeply") from None
