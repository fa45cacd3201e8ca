"""Medians with min-max (or the interquartile range) over repeated runs."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Series:
    """Samples of one figure (seconds, or KiB for memory)."""

    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def quartiles(self) -> tuple[float, float]:
        """The first and third quartiles: where the middle half of the samples lies."""
        if len(self.values) < 2:
            return self.median, self.median
        q1, _, q3 = statistics.quantiles(self.values, n=4, method="inclusive")
        return q1, q3

    def to_dict(self, scale: float = 1.0) -> dict[str, Any]:
        if not self.values:
            return {"n": 0}
        return {
            "n": len(self.values),
            "median": round(self.median * scale, 3),
            "min": round(min(self.values) * scale, 3),
            "max": round(max(self.values) * scale, 3),
            "q1": round(self.quartiles[0] * scale, 3),
            "q3": round(self.quartiles[1] * scale, 3),
        }

    def ms(self) -> str:
        if not self.values:
            return "n/a"
        return (
            f"{self.median * 1000:7.0f} ms  ({min(self.values) * 1000:.0f}-{max(self.values) * 1000:.0f}, "
            f"n={len(self.values)})"
        )

    def mib(self) -> str:
        if not self.values:
            return "n/a"
        return (
            f"{self.median / 1024:7.1f} MiB ({min(self.values) / 1024:.1f}-{max(self.values) / 1024:.1f}, "
            f"n={len(self.values)})"
        )
