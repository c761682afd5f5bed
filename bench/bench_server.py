"""Keep-alive latency: api.server.NoDelayH11Protocol vs uvicorn's plain h11 (the peer).

A bare ASGI answer, ``REQUESTS`` sequential requests on one keep-alive connection, median
and worst in ms:

1. in process, on listening sockets made with ``proto`` 0 and with IPPROTO_TCP: with ``proto``
   0 and plain h11 every response after the first waits for the client's delayed ACK (~40 ms
   on Linux); the ratio h11/ours shows the stall the class removes;
2. a real ``uvicorn --workers 2`` subprocess with each protocol (whether plain h11 stalls
   there depends on the uvicorn version: Kludex/uvicorn#3149).

The test (tests/test_server.py) checks the socket option; this measures what it buys.
``python -m bench server``.
"""
from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from api.server import HTTP_PROTOCOL
from tests.harness import free_port

REQUESTS = 40
ROOT = Path(__file__).resolve().parent.parent


async def hello(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def keep_alive_ms(url: str) -> tuple[float, float]:
    """(median, worst) ms of REQUESTS sequential GETs on one connection (after one warm-up)."""
    with httpx.Client(base_url=url) as client:
        client.get("/").raise_for_status()
        times = []
        for _ in range(REQUESTS):
            t = time.perf_counter()
            client.get("/").raise_for_status()
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times)


def in_process(http: str, proto: int) -> tuple[float, float]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = uvicorn.Server(uvicorn.Config(hello, http=http, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        return keep_alive_ms(f"http://127.0.0.1:{sock.getsockname()[1]}")
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def multi_worker(http: str, workers: int = 2) -> tuple[float, float]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "bench.bench_server:hello", "--app-dir", str(ROOT), "--http", http,
           "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
           "--lifespan", "off"]
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url, timeout=5).raise_for_status()
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not start")
                time.sleep(0.1)
        return keep_alive_ms(url)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(30)


def main() -> None:
    print(f"uvicorn {uvicorn.__version__}; {REQUESTS} keep-alive requests on one connection, median / worst ms")
    rows = []
    for label, run in [("in process, proto 0", lambda h: in_process(h, 0)),
                       ("in process, proto 6", lambda h: in_process(h, socket.IPPROTO_TCP)),
                       ("uvicorn --workers 2", multi_worker)]:
        (ours, ours_max), (peer, peer_max) = run(HTTP_PROTOCOL), run("h11")
        rows.append((label, ours, ours_max, peer, peer_max))
    print(f"{'':22} {'NoDelayH11Protocol':>19} {'plain h11':>16} {'h11/ours':>9}")
    for label, ours, ours_max, peer, peer_max in rows:
        print(f"{label:22} {ours:9.2f} / {ours_max:7.2f} {peer:7.2f} / {peer_max:6.2f} {peer / ours:9.1f}")


if __name__ == "__main__":
    main()
