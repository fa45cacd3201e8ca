"""Fault injection: one queue of pending faults per endpoint, consumed by arriving requests."""

from __future__ import annotations

import copy
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .scenario import ENDPOINTS, Fault, Scenario, ScenarioError


@dataclass
class _FaultSlot:
    fault: Fault
    remaining: int
    first_used: float | None = None


class FaultQueues:
    """The faults still to apply, per endpoint (``ENDPOINTS``). Thread-safe under ``lock``."""

    def __init__(self, lock: threading.RLock | threading.Condition) -> None:
        self._lock = lock
        self._queues: dict[str, deque[_FaultSlot]] = {ep: deque() for ep in ENDPOINTS}

    def load(self, sc: Scenario) -> None:
        """Replace every queue by the scenario's faults."""
        with self._lock:
            self.clear()
            for endpoint, faults in sc.faults.items():
                self.add(endpoint, *faults)

    def add(self, endpoint: str, *faults: Fault | Mapping[str, Any] | str) -> None:
        if endpoint not in ENDPOINTS:
            raise ScenarioError(
                f"unknown fault endpoint {endpoint!r}; expected one of {', '.join(ENDPOINTS)}"
            )
        parsed = [f if isinstance(f, Fault) else Fault.from_dict(f) for f in faults]
        with self._lock:
            for fault in parsed:
                self._queues[endpoint].append(_FaultSlot(copy.deepcopy(fault), fault.times))

    def clear(self) -> None:
        with self._lock:
            for queue in self._queues.values():
                queue.clear()

    def pending(self) -> dict[str, list[Fault]]:
        with self._lock:
            return {ep: [slot.fault for slot in q] for ep, q in self._queues.items()}

    def take(self, endpoint: str) -> Fault | None:
        """The fault for the next request to ``endpoint``, or None; counts ``times``/``for_seconds``."""
        if endpoint not in self._queues:
            return None
        now = time.monotonic()
        with self._lock:
            queue = self._queues[endpoint]
            while queue:
                slot = queue[0]
                fault = slot.fault
                if fault.for_seconds is not None:
                    if slot.first_used is None:
                        slot.first_used = now
                    if now - slot.first_used < fault.for_seconds:
                        return fault
                    queue.popleft()
                    continue
                slot.remaining -= 1
                if slot.remaining <= 0:
                    queue.popleft()
                return fault
        return None
