"""Serving: a listening socket made with ``proto`` 0 loses TCP_NODELAY; api.server puts it back.

asyncio sets TCP_NODELAY on an accepted connection only when the listening socket object says
``proto == IPPROTO_TCP``; one made with ``proto`` 0 (``uvicorn.Config.bind_socket``, which
``--workers N`` uses, did so until Kludex/uvicorn#3149 was fixed) gives connections with Nagle
on, and every response waits ~40 ms for the client's delayed ACK. Which ``proto`` the socket
uvicorn binds reports depends on the uvicorn version (and the platform), so the tests make both
kinds explicitly, serve on each with a keep-alive connection open, and read the option from
the server's side of that connection. The latency itself is measured by ``python -m bench
server`` (speed is measured in benchmarks, not timed tests).
"""
from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time

import httpx
import pytest
import uvicorn

from api.server import HTTP_PROTOCOL, NoDelayH11Protocol


async def _hello(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def listening_socket(proto: int) -> socket.socket:
    """A loopback listening socket made with ``proto`` (0 or IPPROTO_TCP), on a free port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


@contextlib.contextmanager
def serving(http, sock: socket.socket):
    """uvicorn serving ``_hello`` with protocol ``http`` on ``sock`` (in a thread); yields the Server."""
    config = uvicorn.Config(_hello, http=http, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60  # only a limit for a server that never starts
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        yield server
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def server_side_nodelay(http, proto: int) -> int:
    """TCP_NODELAY on the server's end of a keep-alive connection to a server on a ``proto`` socket."""
    sock = listening_socket(proto)
    assert sock.proto == proto  # what asyncio looks at (Python keeps the value it was given)
    port = sock.getsockname()[1]
    with serving(http, sock) as server:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:  # keep-alive: one connection
            assert client.get("/").text == "ok"
            assert client.get("/").text == "ok"
            (protocol,) = server.server_state.connections  # the same connection answered both
            accepted = protocol.transport.get_extra_info("socket")
            assert accepted.getsockname()[1] == port
            return accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


@pytest.mark.parametrize("proto", [0, socket.IPPROTO_TCP], ids=["proto0", "proto6"])
def test_our_protocol_sets_nodelay_whatever_the_listening_proto(proto):
    # HTTP_PROTOCOL: the import string uvicorn gets (`--http`, tests.harness.ServerProcess)
    assert server_side_nodelay(HTTP_PROTOCOL, proto) != 0


def test_http_protocol_string_loads_our_class():
    config = uvicorn.Config(_hello, http=HTTP_PROTOCOL, lifespan="off")
    config.load()
    assert config.http_protocol_class is NoDelayH11Protocol


def test_plain_h11_on_a_proto0_socket_leaves_nagle_on():
    """What the class works around, so the check above can tell its absence: plain h11 on a
    ``proto`` 0 socket leaves TCP_NODELAY off; on an IPPROTO_TCP socket asyncio sets it."""
    assert server_side_nodelay("h11", 0) == 0
    assert server_side_nodelay("h11", socket.IPPROTO_TCP) != 0
