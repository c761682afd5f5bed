"""The one cache policy for what citygrid derives from the database and keeps in memory.

Each ``Cache`` keeps values for at most its ``ttl_s`` seconds, and every cache is emptied when
the reference layers load or the schema migrates (``invalidate_all``, called by
``gis.layers.load.load_layers`` and ``citygrid.db.migrate.migrate``). Caches live in one
process: another process that loads layers is seen here within the TTL, which is why each TTL is
short where the data moves (a minute at most).

Pure functions of their arguments (settings, PROJ transformers, the rendered portal page) are
memoised with ``functools.lru_cache`` instead: nothing in the database can make them stale.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")
_CACHES: list[Cache] = []


class Cache:
    """Values by key, each kept ``ttl_s`` seconds; thread-safe (a value may be computed twice
    when two threads miss at once, never stored half-made)."""

    def __init__(self, name: str, ttl_s: float):
        self.name = name
        self.ttl_s = ttl_s
        self._entries: dict[Hashable, tuple[float, object]] = {}
        self._lock = threading.Lock()
        _CACHES.append(self)

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value for ``key``, or ``compute()`` stored under it."""
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and now - hit[0] <= self.ttl_s:
            return hit[1]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            self._entries[key] = (now, value)
            for k in [k for k, (at, _) in self._entries.items() if now - at > self.ttl_s]:
                del self._entries[k]
        return value

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._entries.clear()


def invalidate_all() -> None:
    """Empty every cache (the reference layers or the schema changed)."""
    for cache in _CACHES:
        cache.clear()
