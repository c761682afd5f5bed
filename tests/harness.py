"""Shared pieces for fuzz and soak runs: a fresh database of its own, the API served on a
loopback port (in a thread, or as a uvicorn subprocess that can be killed), sign-ins."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx

from citygrid.db.engine import drop_database, get_engine
from citygrid.db.migrate import migrate
from citygrid.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(base: Settings, name: str, layers=None, **overrides) -> Settings:
    """Drop and re-create database ``name`` at the current schema, with the reference layers."""
    s = base.model_copy(update={"db_name": name, **overrides})
    drop_database(s)
    migrate(s)
    if layers is not None:
        from gis.layers.load import load_layers

        load_layers(get_engine(s, role="owner"), layers)
    return s


def load_city_cases(engine, n: int) -> None:
    """n synthetic cases spread over the 76 grids (random points inside each), a third open:
    the whole city's load for the portal test and bench."""
    import sqlalchemy as sa

    per_grid = -(-n // 76)
    with engine.begin() as conn:
        conn.execute(sa.text("""
            INSERT INTO cases (category, source, status, grid_code, subdistrict_code, county_code, post_code,
                               reported_at, geom)
            SELECT (ARRAY['occupied_road','noise','garbage_sorting','unlicensed_vendor'])[1 + (d.path[1] % 4)],
                   'patrol', CASE WHEN d.path[1] % 3 = 0 THEN 'dispatched' ELSE 'closed' END,
                   g.code, g.subdistrict_code, g.county_code,
                   (SELECT p.code FROM posts p WHERE p.grid_code = g.code ORDER BY p.code LIMIT 1),
                   now() - make_interval(hours => (d.path[1] * 7919) % (24 * 1000)), d.geom
            FROM grids g, LATERAL ST_Dump(ST_GeneratePoints(g.geom, :k, 42)) d
        """), {"k": per_grid})
        conn.execute(sa.text("ANALYZE cases"))


@contextlib.contextmanager
def thread_server(settings: Settings):
    import uvicorn

    from api.app import create_app

    # Bound here and handed over, so no other process can take the port between a free_port()
    # and uvicorn's bind; IPPROTO_TCP so that asyncio sets TCP_NODELAY (see api/server.py).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120  # a limit for a server that never starts, not a speed
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()


def settings_env(settings: Settings) -> dict:
    """The environment that makes a child process build the same Settings."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"CITYGRID_{name.upper()}"] = str(value)
    if settings.database_url:
        env["CITYGRID_DATABASE_URL"] = settings.database_url
    env["CITYGRID_SECRET_KEY"] = settings.resolved_secret_key()
    return env


class ServerProcess:
    """``uvicorn api.app:create_app --factory`` as a child process on a fixed loopback port
    (with api.server's protocol, so several workers answer without the Nagle stall)."""

    def __init__(self, settings: Settings, port: int | None = None, workers: int = 1, log=None):
        self.settings = settings
        self.port = port or free_port()
        self.workers = workers
        self.proc: subprocess.Popen | None = None
        self.log = log or subprocess.DEVNULL
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:
        from api.server import APP, HTTP_PROTOCOL

        cmd = [sys.executable, "-m", "uvicorn", APP, "--factory", "--http", HTTP_PROTOCOL, "--host", "127.0.0.1",
               "--port", str(self.port), "--log-level", "warning", "--workers", str(self.workers)]
        self.proc = subprocess.Popen(cmd, env=settings_env(self.settings), stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        """kill -9 the server (and its workers: they share its process group)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def token_headers(settings: Settings, base_url: str, username: str, role: str, **user) -> dict:
    from citygrid.org import upsert_user

    password = f"pw-{username}"
    upsert_user(get_engine(settings), username, role, password, **user)
    r = httpx.post(f"{base_url}/auth/token", data={"username": username, "password": password}, timeout=30)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
