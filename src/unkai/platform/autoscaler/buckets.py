"""Per-second buckets averaged over a window: Knative's ``TimedFloat64Buckets``.

A ring of ``size`` buckets indexed by bucket number (``floor(time / bucket_size)``).
The rules are Knative's (``pkg/autoscaler/aggregation/bucketing.go``), because they
decide how fast a revision scales from and to zero:

* a gap between writes counts as zeros, but a gap of more than a window resets the
  ring: after a quiet spell, the average is over the buckets since the first new write
  (a partial window), so a burst after scale-to-zero is not diluted by old zeros;
* buckets after the last write are left out of the average (not counted as zeros);
* the linear average is floored to 6 decimals, as Knative's ``roundToNDigits``.

:class:`WeightedBuckets` is the ``weighted-exponential`` aggregation algorithm.
Indices passed to :meth:`Buckets.record` never go backwards; the meter guarantees it.
"""

from __future__ import annotations

import math

_PRECISION = 10**6
_MIN_EXPONENT = 0.2
_WEIGHT_PRECISION = 0.9999


class Buckets:
    """Window average with Knative's linear algorithm."""

    __slots__ = ("_first", "_last", "_ring", "_total")

    def __init__(self, size: int) -> None:
        self._ring = [0.0] * max(1, size)
        self._first = 0
        self._last: int | None = None
        self._total = 0.0

    @property
    def size(self) -> int:
        return len(self._ring)

    def record(self, index: int, value: float) -> None:
        """Add ``value`` to bucket ``index``, zeroing (or resetting over) any gap."""
        size = len(self._ring)
        last = self._last
        if last != index:
            if last is None or index - last > size:
                self._ring = [0.0] * size
                self._total = 0.0
                self._first = index
            else:
                for stale in range(last + 1, index + 1):
                    self._total -= self._ring[stale % size]
                    self._ring[stale % size] = 0.0
            self._last = index
        self._ring[index % size] += value
        self._total += value

    def empty(self, index: int) -> bool:
        """Nothing was written in the window that ends at bucket ``index``."""
        return self._last is None or index - self._last > len(self._ring)

    def average(self, index: int) -> float:
        """The average over the window ending at bucket ``index`` (0 when empty)."""
        last = self._last
        size = len(self._ring)
        if last is None or index - last >= size:
            return 0.0
        gap = max(0, index - last)
        total = self._total - sum(self._ring[i % size] for i in range(last + 1, last + gap + 1))
        valid = min(last - self._first + 1, size - gap)
        return math.floor(total / valid * _PRECISION) / _PRECISION

    def resized(self, size: int) -> Buckets:
        """The same recent data in a ring of another size (a window annotation changed)."""
        fresh = type(self)(size)
        if self._last is not None:
            start = max(self._first, self._last - min(size, self.size) + 1)
            for index in range(start, self._last + 1):
                fresh.record(index, self._ring[index % self.size])
        return fresh


class WeightedBuckets(Buckets):
    """Window average with Knative's ``weighted-exponential`` algorithm.

    Recent buckets weigh more: each older bucket's weight is the previous one's times
    ``1 - alpha``, with ``alpha`` chosen so that the window's weights sum to 0.9999
    (and at least 0.2, so very long windows do not degrade to a plain average).
    """

    __slots__ = ("_alpha",)

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self._alpha = max(1 - (1 - _WEIGHT_PRECISION) ** (1 / self.size), _MIN_EXPONENT)

    def average(self, index: int) -> float:
        last = self._last
        if last is None or self.empty(index):
            return 0.0
        size = self.size
        keep = 1 - self._alpha
        weight = self._alpha
        count = size
        if index > last:
            weight *= keep ** (index - last)
            count -= index - last
        result = 0.0
        for back in range(count):
            result += self._ring[(last - back) % size] * weight
            weight *= keep
        return result
