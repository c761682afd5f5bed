"""Grants for the application role, used by migrations.

The service's role owns nothing: each table says exactly what it may do, so an insert-only
table (the audit log) stays insert-only whatever bug the service has.
"""
from __future__ import annotations

from alembic import op

from citygrid.db.engine import APP_ROLE

READ = "SELECT"
READ_WRITE = "SELECT, INSERT, UPDATE, DELETE"
APPEND_ONLY = "SELECT, INSERT"


def grant(table: str, privileges: str) -> None:
    """Give the application role exactly ``privileges`` on ``table`` (READ, READ_WRITE or
    APPEND_ONLY), revoking whatever it had, plus USAGE, SELECT on every sequence existing now."""
    op.execute(f"REVOKE ALL ON TABLE {table} FROM {APP_ROLE}")
    op.execute(f"GRANT {privileges} ON TABLE {table} TO {APP_ROLE}")
    op.execute(
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}"
    )


def forbid_changes(table: str) -> None:
    """A trigger that refuses UPDATE, DELETE and TRUNCATE, binding even the owner."""
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'insufficient_privilege';
        END $$;
        """
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
    )
