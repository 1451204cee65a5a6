"""Per-key rate limiting (a token bucket per key) and the short-lived key cache in front of the store."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


class RateLimiter:
    """`rate_per_minute` tokens per key, refilled continuously; a burst of up to a minute's worth is allowed."""

    def __init__(self) -> None:
        self._buckets: dict[int, tuple[float, float]] = {}  # key id -> (tokens, last refill)
        self._lock = threading.Lock()

    def allow(self, key_id: int, rate_per_minute: int | None) -> tuple[bool, float]:
        """(allowed, seconds until the next token) for one request of `key_id`."""
        if not rate_per_minute:
            return True, 0.0
        now = time.monotonic()
        per_second = rate_per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key_id, (float(rate_per_minute), now))
            tokens = min(float(rate_per_minute), tokens + (now - last) * per_second)
            if tokens >= 1.0:
                self._buckets[key_id] = (tokens - 1.0, now)
                return True, 0.0
            self._buckets[key_id] = (tokens, now)
            return False, (1.0 - tokens) / per_second


@dataclass(frozen=True)
class KeyInfo:
    id: int
    name: str
    revoked: bool
    rate_per_minute: int | None


class KeyCache:
    """Key hash -> KeyInfo (or None for no such key), kept `ttl` seconds: a revocation takes effect within `ttl`."""

    def __init__(self, lookup, ttl: float = 1.0):
        self._lookup = lookup
        self._ttl = ttl
        self._entries: dict[str, tuple[float, KeyInfo | None]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> KeyInfo | None:
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key_hash)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        info = self._lookup(key_hash)
        with self._lock:
            if len(self._entries) > 10_000:  # wrong keys must not grow it without bound
                self._entries.clear()
            self._entries[key_hash] = (now, info)
        return info
