"""`citygrid db backup FILE` / `citygrid db restore FILE`: every table round-trips (row counts
and a checksum of every row), sequences too; the restored database keeps its grants and the
append-only triggers; a restore replaces what was there; a bad file changes nothing."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from citygrid.db.engine import admin_url, drop_database, get_engine
from citygrid.org import add_api_client, upsert_user
from citygrid.settings import Settings
from drone.broadcast import audit

CLI = str(Path(sys.executable).with_name("citygrid"))


def cli(*args, db: str):
    env = {**os.environ, "CITYGRID_DB_NAME": db}
    env["COLUMNS"] = "400"  # rich wraps the message otherwise
    return subprocess.run([CLI, "db", *args], capture_output=True, text=True, env=env, timeout=600)


def fingerprint(settings: Settings) -> dict[str, tuple]:
    """(rows, md5 of every row's text in order) per table, and last_value per sequence."""
    eng = sa.create_engine(admin_url(settings, settings.db_name))
    try:
        with eng.connect() as conn:
            tables = conn.execute(sa.text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).scalars().all()
            out = {}
            for t in tables:
                out[t] = tuple(conn.execute(sa.text(
                    f'SELECT count(*), md5(coalesce(string_agg(x.r, E\'\\n\' ORDER BY x.r), \'\')) '
                    f'FROM (SELECT t::text AS r FROM "{t}" t) x')).one())
            for s in conn.execute(sa.text(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")).scalars():
                out[f"seq:{s}"] = (conn.execute(sa.text(f'SELECT last_value FROM "{s}"')).scalar(),)
            return out
    finally:
        eng.dispose()


@pytest.fixture(scope="module")
def restore_settings(settings):
    s = settings.model_copy(update={"db_name": f"{settings.db_name}_restored"})
    yield s
    drop_database(s)


def test_backup_restore_round_trip(settings, engine, http, layers, restore_settings, tmp_path):
    RESTORE_DB = restore_settings.db_name
    # Something in the tables that matter most: users, a client, a case, an audit entry.
    upsert_user(engine, f"bk-{uuid.uuid4().hex[:6]}", "commander", "pw")
    key = add_api_client(engine, f"bk-app-{uuid.uuid4().hex[:6]}")
    p = layers["grids"].iloc[0].geometry.representative_point()
    r = http.post("/open311/v2/requests.json", data={"api_key": key, "service_code": "noise",
                                                      "lat": p.y, "long": p.x, "description": "备份测试"})
    assert r.status_code == 201, r.text
    audit(engine, ordered_by="backup-test", ordered_role="commander", outcome="refused", reason="test")

    dump = tmp_path / "citygrid.dump"
    res = cli("backup", str(dump), db=settings.db_name)
    assert res.returncode == 0, res.stdout + res.stderr
    assert dump.stat().st_size > 10_000
    before = fingerprint(settings)
    for table in ("users", "api_clients", "cases", "case_events", "broadcast_audit", "grids",
                  "alembic_version"):
        assert before[table][0] > 0, table

    res = cli("restore", str(dump), db=RESTORE_DB)
    assert res.returncode == 0, res.stdout + res.stderr
    after = fingerprint(restore_settings)
    assert after == before  # every table: same rows, same checksum; every sequence: same position

    # The app role of the restored database works, and the audit log is still append-only.
    app = get_engine(restore_settings)
    with app.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM cases")).scalar() == before["cases"][0]
    audit(app, ordered_by="after-restore", outcome="refused", reason="test")
    with pytest.raises(sa.exc.DBAPIError):
        with get_engine(restore_settings, role="owner").begin() as conn:
            conn.execute(sa.text("DELETE FROM broadcast_audit"))

    # Restoring again replaces the database: the row written since is gone.
    res = cli("restore", str(dump), db=RESTORE_DB)
    assert res.returncode == 0, res.stdout + res.stderr
    assert fingerprint(restore_settings) == before

    # A file that is not a dump is refused and the database is left as it was.
    junk = tmp_path / "junk.dump"
    junk.write_bytes(b"PGDMP not really" * 100)
    res = cli("restore", str(junk), db=RESTORE_DB)
    assert res.returncode == 2 and "not a pg_dump" in res.stderr
    assert fingerprint(restore_settings) == before
    res = cli("restore", str(tmp_path / "missing.dump"), db=RESTORE_DB)
    assert res.returncode == 2 and "no such backup file" in res.stderr
