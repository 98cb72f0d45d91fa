"""Per-token rate limits: requests per minute and query cost per minute (token buckets).

Anonymous requests (and requests whose token is refused) are limited per client address,
which is also what slows down token guessing. State is per server process: with N workers
a client may get up to N times the limit. Buckets live in a bounded LRU, so a flood of
addresses cannot grow memory without bound.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class Bucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp


class RateLimiter:
    """`take(key, amount)` returns 0.0 when allowed, else the seconds to wait."""

    def __init__(
        self,
        per_minute: float,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def take(self, key: str, amount: float = 1.0) -> float:
        now = self.clock()
        b = self._buckets.get(key)
        if b is None:
            b = Bucket(self.capacity, now)
            self._buckets[key] = b
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            b.tokens = min(self.capacity, b.tokens + (now - b.stamp) * self.rate)
            b.stamp = now
        if amount > self.capacity:
            return 60.0
        if b.tokens >= amount:
            b.tokens -= amount
            return 0.0
        return (amount - b.tokens) / self.rate
