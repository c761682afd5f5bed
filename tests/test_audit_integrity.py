"""The loudspeaker audit log (``broadcast_audit``) is append-only in the database itself:
the app role holds only SELECT, INSERT (grants), and a trigger refuses UPDATE, DELETE and
TRUNCATE even to the owner. Tried through the service's own engine and the owner's."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from drone.broadcast import audit

ATTEMPTS = {
    "update": "UPDATE broadcast_audit SET reason = 'tampered' WHERE id = :id",
    "delete": "DELETE FROM broadcast_audit WHERE id = :id",
    "truncate": "TRUNCATE broadcast_audit",
    "truncate_cascade": "TRUNCATE broadcast_audit CASCADE",
}


@pytest.fixture(scope="module")
def entry(engine):
    return audit(engine, ordered_by="integrity-test", ordered_role="commander", outcome="refused",
                 reason="original")


def snapshot(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*), md5(string_agg(b::text, '' ORDER BY id)) "
                                    "FROM broadcast_audit b")).one()


@pytest.mark.parametrize("who", ["app", "owner"])
@pytest.mark.parametrize("what", list(ATTEMPTS))
def test_audit_log_refuses_changes(engine, owner_engine, entry, who, what):
    eng = engine if who == "app" else owner_engine
    before = snapshot(engine)
    with pytest.raises(sa.exc.DBAPIError) as info:
        with eng.begin() as conn:
            conn.execute(sa.text(ATTEMPTS[what]), {"id": entry})
    text = str(info.value.orig)
    # The app role is stopped by its grants, the owner by the trigger.
    assert ("permission denied" in text) if who == "app" else ("append-only" in text), text
    assert snapshot(engine) == before
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT reason FROM broadcast_audit WHERE id = :id"),
                            {"id": entry}).scalar_one() == "original"


def test_app_role_may_append_and_read(engine, entry):
    new = audit(engine, ordered_by="integrity-test", outcome="refused", reason="second")
    assert new > entry
    with engine.connect() as conn:
        grants = set(conn.execute(sa.text(
            "SELECT privilege_type FROM information_schema.role_table_grants "
            "WHERE table_name = 'broadcast_audit' AND grantee = 'citygrid_app'")).scalars())
    assert grants == {"SELECT", "INSERT"}
