"""Serving: uvicorn's multi-worker socket loses TCP_NODELAY; api.server puts it back.

A worker serves on a socket uvicorn bound itself (``Config.bind_socket``, proto 0), the way
``--workers N`` runs. The test serves on such a socket, keeps a connection open and reads the
option from the server's side of it.
"""
from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import pytest
import uvicorn

from api.server import NoDelayH11Protocol


async def _hello(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _server_side_nodelay(http) -> int:
    config = uvicorn.Config(_hello, host="127.0.0.1", port=0, http=http, log_level="warning", lifespan="off")
    sock = config.bind_socket()  # what the multi-worker supervisor hands each worker
    assert sock.proto == 0
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        deadline = time.time() + 10
        while not server.started:
            assert time.time() < deadline, "server did not start"
            time.sleep(0.02)
        port = sock.getsockname()[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:  # keep-alive: one connection
            assert client.get("/").text == "ok"
            (protocol,) = server.server_state.connections
            return protocol.transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.mark.parametrize("http, expected", [("h11", 0), (NoDelayH11Protocol, 1)])
def test_multi_worker_socket_nodelay(http, expected):
    # "h11": the uvicorn behaviour the class works around (0: Nagle on, ~40 ms a response)
    assert bool(_server_side_nodelay(http)) == bool(expected)
