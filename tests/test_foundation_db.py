"""The store: roles, grants, migrations, embedded cluster."""
from __future__ import annotations

import shutil
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, ProgrammingError

from citygrid.db.cluster import Cluster
from citygrid.db.engine import APP_ROLE
from citygrid.settings import PROJECT_ROOT, Settings
from tests.harness import free_port


def test_app_role_is_unprivileged_and_owns_nothing(engine):
    with engine.connect() as conn:
        who = conn.execute(sa.text("SELECT current_user")).scalar_one()
        superuser = conn.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar_one()
        owned = conn.execute(sa.text(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user")).scalar_one()
    assert who == APP_ROLE
    assert superuser is False
    assert owned == 0


def test_geometry_is_wgs84_with_gist_indexes(engine):
    with engine.connect() as conn:
        srids = dict(conn.execute(sa.text(
            "SELECT f_table_name, srid FROM geometry_columns WHERE f_table_schema = 'public'")).all())
        gist = set(conn.execute(sa.text(
            "SELECT tablename FROM pg_indexes WHERE schemaname = 'public' AND indexdef ILIKE '%USING gist%'")).scalars())
    assert {"grids", "posts", "districts", "airspace"} <= set(srids)
    assert set(srids.values()) == {4326}
    assert set(srids) <= gist


def test_app_role_cannot_alter_insert_only_table(engine, owner_engine):
    with engine.begin() as conn:
        new_id = conn.execute(sa.text(
            "INSERT INTO audit_log (actor, action, target) VALUES ('tester', 'probe', 'x') RETURNING id")).scalar_one()
    for stmt in ("UPDATE audit_log SET actor = 'mallory' WHERE id = :id", "DELETE FROM audit_log WHERE id = :id"):
        with pytest.raises(ProgrammingError, match="permission denied"):
            with engine.begin() as conn:
                conn.execute(sa.text(stmt), {"id": new_id})
    # Even the owner is stopped by the trigger.
    with pytest.raises(DBAPIError, match="append-only"):
        with owner_engine.begin() as conn:
            conn.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE id = :id"), {"id": new_id})
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT actor FROM audit_log WHERE id = :id"), {"id": new_id}).scalar_one() == "tester"


def test_reference_layers_are_read_only_for_the_service(engine):
    with pytest.raises(ProgrammingError, match="permission denied"):
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM grids"))


def test_migrate_is_idempotent(settings, owner_engine):
    from citygrid.db.migrate import migrate

    migrate(settings)
    with owner_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one() == 1


@pytest.mark.skipif(bool(Settings().database_url), reason="embedded cluster only")
def test_embedded_cluster_is_idempotent():
    # The state folder must be reachable by the unprivileged server user, so keep it in the
    # project's state folder rather than root's private pytest temp folder. A folder and a
    # free port of its own each run: other clones on the machine run this test too, and the
    # port is written into the cluster's configuration when it is created.
    state = PROJECT_ROOT / ".state" / f"test-cluster-{uuid.uuid4().hex[:8]}"
    s = Settings(state_dir=state, db_port=free_port())
    cluster = Cluster(s)
    try:
        assert cluster.start() in (True, False)
        assert cluster.start() is False  # already running
        assert cluster.status()["running"] is True
        eng = sa.create_engine(f"postgresql+psycopg://postgres@/postgres?host={cluster.sockdir}&port={s.db_port}")
        with eng.connect() as conn:
            assert conn.execute(sa.text("SELECT 1 + 1")).scalar_one() == 2
        eng.dispose()
        assert cluster.stop() is True
        assert cluster.stop() is False
        assert cluster.status()["running"] is False
        assert cluster.start() is True  # restart after a stop
        assert cluster.running()
    finally:
        cluster.stop()
        shutil.rmtree(state, ignore_errors=True)


def test_missing_binaries_are_named(monkeypatch):
    import citygrid.db.cluster as cl

    monkeypatch.setattr(cl.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(cl.shutil, "which", lambda name: None)
    with pytest.raises(cl.ClusterError, match="postgresql-15-postgis-3|postgis"):
        cl.find_bindir()


def test_service_sessions_run_without_jit_or_parallel_workers(engine):
    # citygrid.db.engine.SESSION_OPTIONS: many short queries side by side (see the comment there)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SHOW jit")).scalar() == "off"
        assert conn.execute(sa.text("SHOW max_parallel_workers_per_gather")).scalar() == "0"


def test_embedded_cluster_runs_with_its_server_settings(settings, engine):
    from citygrid.db.cluster import SERVER_SETTINGS

    if settings.database_url:
        pytest.skip("an external database keeps its own settings")
    with engine.connect() as conn:
        for name, value in SERVER_SETTINGS.items():
            assert conn.execute(sa.text(f"SHOW {name}")).scalar() == value


def test_shared_buffers_fit_the_machine():
    from citygrid.db.cluster import shared_buffers_for

    gib = 2**30
    assert shared_buffers_for(24 * gib) == "4GB"  # the bench machine: capped
    assert shared_buffers_for(8 * gib) == "2GB"
    assert shared_buffers_for(3 * gib) == "768MB"
    assert shared_buffers_for(256 * 2**20) == "128MB"  # PostgreSQL's own default as the floor
    assert shared_buffers_for(None) == "4GB"
