"""A small in-process sliding-window rate limiter, and the Open311 intake's limits.

Limits on POST /open311/v2/requests.json (settings, env ``CITYGRID_OPEN311_RATE_*``), each
counted over the last ``open311_rate_window_s`` seconds (default 60):

- per ``device_id`` (the phone):            ``open311_rate_per_device``  (default 10)
- per ``api_key`` (the client app):         ``open311_rate_per_api_key`` (default 300)
- per client address (the TCP peer):        ``open311_rate_per_address`` (default 600)

The address ceiling is the loosest because many phones share one address (carrier NAT, a
city office's Wi-Fi). A request over any limit is refused with HTTP 429, a ``Retry-After``
header (whole seconds) and the Open311 error list ``[{"code": 429, "description": ...}]``;
refused requests are not counted, so a client that waits ``Retry-After`` gets through.
The peer address is the socket's (``X-Forwarded-For`` is not trusted). State is per process:
run one API process per limit domain, or put the same limits on the reverse proxy.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from fastapi import Request

from citygrid.errors import TooManyRequests


class SlidingWindow:
    """Counts events per key over the last ``window`` seconds (exact: one timestamp per event)."""

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._events: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque:
        q = self._events.get(key)
        if q is None:
            return deque()
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def check(self, limits: list[tuple[str, int]]) -> float | None:
        """Admit one event on every ``(key, limit)`` or none: returns None when admitted,
        otherwise the seconds until the tightest refusing key has room again."""
        with self._lock:
            now = self.clock()
            wait = 0.0
            for key, limit in limits:
                q = self._prune(key, now)
                if len(q) >= limit:
                    wait = max(wait, q[len(q) - limit] + self.window - now)
            if wait > 0:
                return wait
            if len(self._events) > self.max_keys:
                self._sweep(now)
            for key, _ in limits:
                self._events.setdefault(key, deque()).append(now)
            return None

    def _sweep(self, now: float) -> None:
        for key in list(self._events):
            if not self._prune(key, now):
                del self._events[key]

    def count(self, key: str) -> int:
        """Events counted for ``key`` in the current window."""
        with self._lock:
            return len(self._prune(key, self.clock()))


def open311_limits(device_id: str | None, api_key: str | None, address: str | None, settings) -> list[tuple[str, int]]:
    """The ``(key, limit)`` pairs one intake request counts against: its client address always, its
    ``api_key`` and ``device_id`` when sent."""
    limits = [(f"addr:{address or '?'}", settings.open311_rate_per_address)]
    if api_key:
        limits.append((f"key:{api_key}", settings.open311_rate_per_api_key))
    if device_id:
        limits.append((f"device:{device_id}", settings.open311_rate_per_device))
    return limits


def _limiter(request: Request) -> SlidingWindow:
    state = request.app.state
    lim = getattr(state, "open311_limiter", None)
    if lim is None:
        with _create_lock:
            lim = getattr(state, "open311_limiter", None)
            if lim is None:
                lim = state.open311_limiter = SlidingWindow(state.settings.open311_rate_window_s)
    return lim


_create_lock = threading.Lock()


def enforce_open311(request: Request, fields: dict[str, list[str]]) -> None:
    """Raise TooManyRequests when this intake request is over a limit; otherwise count it."""
    settings = request.app.state.settings

    def one(name):
        values = [v.strip() for v in fields.get(name, []) if v.strip()]
        return values[-1] if values else None

    api_key = one("api_key") or request.query_params.get("api_key")
    address = request.client.host if request.client else None
    wait = _limiter(request).check(open311_limits(one("device_id"), api_key, address, settings))
    if wait is not None:
        retry = max(1, math.ceil(wait))
        raise TooManyRequests(f"too many requests; retry after {retry} s "
                              f"(limits per {settings.open311_rate_window_s:g} s: "
                              f"{settings.open311_rate_per_device} per device, "
                              f"{settings.open311_rate_per_api_key} per api_key, "
                              f"{settings.open311_rate_per_address} per address)", retry)
