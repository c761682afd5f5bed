"""Serving the app with uvicorn, in one process or several (``workers``).

uvicorn's multi-worker mode binds its listening socket with ``proto`` 0 (versions before the
fix of Kludex/uvicorn#3149; later ones bind with IPPROTO_TCP), and asyncio sets TCP_NODELAY
only on sockets whose ``proto`` is IPPROTO_TCP: every response then goes out in
two segments with Nagle on, and waits for the client's delayed ACK, about 40 ms a request
(measured on loopback: 44 ms instead of 0.6 ms for a bare ASGI answer with 2 workers).
``NoDelayH11Protocol`` sets the option itself; pass it as ``--http api.server:NoDelayH11Protocol``
when starting uvicorn by hand.
"""
from __future__ import annotations

import socket

from uvicorn.protocols.http.h11_impl import H11Protocol

APP = "api.app:create_app"
HTTP_PROTOCOL = "api.server:NoDelayH11Protocol"


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with TCP_NODELAY set on every TCP connection (see the module docstring)."""
    def connection_made(self, transport) -> None:
        """Set TCP_NODELAY on an IPv4 or IPv6 connection's socket, then let h11 take the connection."""
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def serve(host: str, port: int, workers: int = 1, log_level: str = "info") -> None:
    """Run the app with uvicorn on ``host``:``port`` in ``workers`` processes, TCP_NODELAY on every
    connection; returns when the server stops."""
    import uvicorn

    uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, http=NoDelayH11Protocol,
                log_level=log_level)
