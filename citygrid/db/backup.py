"""Backup and restore of the service's database with the cluster's own pg_dump / pg_restore.

- ``backup(settings, file)``: ``pg_dump -Fc`` of ``settings.db_name`` as the admin (the
  embedded cluster's superuser over its socket, or the configured server's user), so every
  table, sequence, grant and trigger is in the file.
- ``restore(settings, file)``: restores into a *fresh* database (``<name>__restore``) first,
  then swaps it in place of the configured one (the old one is dropped only once the restore
  has fully succeeded) and re-runs the role/database grants (``bootstrap``). Loading into an
  empty database means the append-only triggers on audit tables never see an UPDATE/DELETE/
  TRUNCATE: data is COPYed, triggers are created after it (pg_restore's post-data section).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from citygrid.db.cluster import Cluster, find_bindir
from citygrid.db.engine import admin_url, bootstrap
from citygrid.errors import InvalidInput, OperationFailed
from citygrid.settings import Settings


class BackupError(OperationFailed):
    """pg_dump or pg_restore failed, or the restored database could not be swapped in."""


def _conn_args(settings: Settings, database: str) -> tuple[list[str], dict]:
    """libpq options (host, port, user, dbname) and environment for the admin connection."""
    env = dict(os.environ)
    if settings.database_url:
        url = make_url(settings.database_url)
        args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432)]
        if url.username:
            args += ["-U", url.username]
        if url.password:
            env["PGPASSWORD"] = url.password
    else:
        cluster = Cluster(settings)
        args = ["-h", str(cluster.sockdir), "-p", str(cluster.port), "-U", "postgres"]
    return args + ["-d", database], env


def _run(cmd: list[str], env: dict) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd="/")
    if res.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed ({res.returncode}):\n{res.stderr.strip()[-4000:]}")


def _admin(settings: Settings):
    return sa.create_engine(admin_url(settings), isolation_level="AUTOCOMMIT")


def backup(settings: Settings, file: Path) -> Path:
    """Write a custom-format dump of the configured database to ``file``."""
    file = Path(file).resolve()
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(file.name + ".partial")
    args, env = _conn_args(settings, settings.db_name)
    try:
        _run([str(find_bindir() / "pg_dump"), "-Fc", "--no-password", "-f", str(tmp), *args], env)
        tmp.replace(file)  # a half-written dump never takes the real name
    finally:
        tmp.unlink(missing_ok=True)
    return file


def restore(settings: Settings, file: Path) -> None:
    """Replace the configured database with the dump in ``file``."""
    file = Path(file)
    if not file.is_file():
        raise InvalidInput(f"{file}: no such backup file")
    bindir = find_bindir()
    args, env = _conn_args(settings, settings.db_name)
    listing = subprocess.run([str(bindir / "pg_restore"), "-l", str(file)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise InvalidInput(f"{file}: not a pg_dump custom-format file ({listing.stderr.strip()})")
    bootstrap(settings)  # both roles exist before their grants are restored
    name, fresh = settings.db_name, f"{settings.db_name}__restore"
    admin = _admin(settings)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{fresh}" OWNER citygrid_owner TEMPLATE template0'))
        args, env = _conn_args(settings, fresh)
        try:
            _run([str(bindir / "pg_restore"), "--no-password", "--exit-on-error", "--single-transaction",
                  *args, str(file)], env)
        except BackupError:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
            raise
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'ALTER DATABASE "{fresh}" RENAME TO "{name}"'))
    finally:
        admin.dispose()
    bootstrap(settings)  # CONNECT and schema grants for the app role live on the database
