"""Connections: the admin (bootstrap), the owner (migrations) and the application role.

The service connects as ``citygrid_app``: not a superuser, owns nothing, so table grants
(e.g. insert-only audit tables) bind it. Migrations run as ``citygrid_owner``. Role passwords
are derived from the secret key, so nothing secret is stored in the repo.
"""
from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from citygrid.db.cluster import Cluster
from citygrid.settings import Settings, get_settings

OWNER_ROLE = "citygrid_owner"
APP_ROLE = "citygrid_app"


def role_password(settings: Settings, role: str) -> str:
    """The database password of ``role``: hex HMAC-SHA256 of the role name under the secret key,
    so the same key always gives the same password and nothing is stored."""
    key = settings.resolved_secret_key().encode()
    return hmac.new(key, f"db-role:{role}".encode(), hashlib.sha256).hexdigest()


def admin_url(settings: Settings, database: str | None = None) -> URL:
    """A superuser (or CREATEROLE) connection used only to bootstrap roles and the database."""
    if settings.database_url:
        url = make_url(settings.database_url).set(drivername="postgresql+psycopg")
        return url.set(database=database or url.database or "postgres")
    cluster = Cluster(settings)
    return URL.create(
        "postgresql+psycopg", username="postgres", database=database or "postgres",
        query={"host": str(cluster.sockdir), "port": str(cluster.port)},
    )


def _role_url(settings: Settings, role: str) -> URL:
    if settings.database_url:
        base = make_url(settings.database_url).set(drivername="postgresql+psycopg")
        host, port = base.host or "127.0.0.1", base.port or 5432
    else:
        host, port = "127.0.0.1", settings.db_port
    return URL.create(
        "postgresql+psycopg", username=role, password=role_password(settings, role),
        host=host, port=port, database=settings.db_name,
    )


def owner_url(settings: Settings) -> URL:
    """Connection URL of the owner role (``citygrid_owner``, runs migrations) over TCP to the
    configured server, or to the embedded cluster when no database URL is set."""
    return _role_url(settings, OWNER_ROLE)


def app_url(settings: Settings) -> URL:
    """Connection URL of the application role (``citygrid_app``, what the service uses) over TCP
    to the configured server, or to the embedded cluster when no database URL is set."""
    return _role_url(settings, APP_ROLE)


# Session settings for the service's connections. JIT off: LLVM compiles a plan once its cost
# passes jit_above_cost, and on a map tile of the 191,000-case layer that compilation took
# 1.1 s for a 0.5 s query (EXPLAIN ANALYZE, z12 tile); the service's queries are many and
# short, and a compiled plan is not cached between them. No parallel workers: with requests
# already running side by side, a tile's two workers only ship its rows through shared-memory
# queues (16 clients on 2 cores, case tiles: 37 tiles/s with them, 57 without). Time zone
# UTC: timestamps come back (and the API writes them) with the same offset whatever zone the
# server was initialised in (initdb takes the machine's), the same on every machine.
SESSION_OPTIONS = "-c jit=off -c max_parallel_workers_per_gather=0 -c timezone=UTC"


def session_settings() -> dict[str, str]:
    """SESSION_OPTIONS as name -> value (for clients that take settings, not libpq options)."""
    return dict(opt.strip().split("=", 1) for opt in SESSION_OPTIONS.split("-c ") if opt.strip())


@lru_cache(maxsize=16)
def _engine(url_str: str, pool_size: int) -> Engine:
    return sa.create_engine(url_str, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                            connect_args={"options": SESSION_OPTIONS})


def get_engine(settings: Settings | None = None, role: str = "app") -> Engine:
    """The pooled engine of the application role (``role="app"``) or, for any other ``role``, of
    the owner; one engine per URL per process (10 connections + 10 overflow, SESSION_OPTIONS).
    ``settings`` default to ``get_settings()``."""
    settings = settings or get_settings()
    url = app_url(settings) if role == "app" else owner_url(settings)
    return _engine(url.render_as_string(hide_password=False), 10)


def bootstrap(settings: Settings) -> None:
    """Create both roles, the database and the PostGIS extension (idempotent)."""
    admin = sa.create_engine(admin_url(settings), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for role in (OWNER_ROLE, APP_ROLE):
                pw = role_password(settings, role)
                exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
                verb = "ALTER" if exists else "CREATE"
                # Passwords come from an HMAC hex digest, so quoting is safe.
                conn.execute(sa.text(f"{verb} ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{pw}'"))
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": settings.db_name}).scalar():
                conn.execute(sa.text(f'CREATE DATABASE "{settings.db_name}" OWNER {OWNER_ROLE}'))
    finally:
        admin.dispose()
    admin_db = sa.create_engine(admin_url(settings, settings.db_name), isolation_level="AUTOCOMMIT")
    try:
        with admin_db.connect() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
            conn.execute(sa.text(f'GRANT CONNECT ON DATABASE "{settings.db_name}" TO {APP_ROLE}'))
            conn.execute(sa.text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
            conn.execute(sa.text(f"GRANT USAGE, CREATE ON SCHEMA public TO {OWNER_ROLE}"))
            conn.execute(sa.text(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}"))
    finally:
        admin_db.dispose()


def drop_database(settings: Settings) -> None:
    """Drop the configured database if it exists, disconnecting its sessions (``WITH (FORCE)``);
    the roles stay."""
    admin = sa.create_engine(admin_url(settings), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{settings.db_name}" WITH (FORCE)'))
    finally:
        admin.dispose()
