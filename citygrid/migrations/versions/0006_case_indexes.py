"""cases: fewer, cheaper indexes for bulk loads

Low-cardinality single-column btrees (category, status, subdistrict, county, grid) were rarely
chosen by the planner but cost most of a bulk load's index work. Overdue queries use a
partial index on open cases' deadlines; dispatch times, which arrive in time order, get BRIN.

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

DROPPED = ("ix_cases_category", "ix_cases_status", "ix_cases_subdistrict_code", "ix_cases_county_code",
           "ix_cases_due_at", "ix_cases_dispatched_at", "ix_cases_reported_at", "ix_cases_grid_code")


def upgrade() -> None:
    for name in DROPPED:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("CREATE INDEX ix_cases_open_due ON cases (due_at) WHERE status NOT IN ('closed', 'evaluated')")
    op.execute("CREATE INDEX ix_cases_dispatched_brin ON cases USING brin (dispatched_at)")
    # Reports arrive in time order: BRIN serves period filters at a fraction of a btree's cost.
    op.execute("CREATE INDEX ix_cases_reported_brin ON cases USING brin (reported_at)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_cases_open_due")
    op.execute("DROP INDEX IF EXISTS ix_cases_dispatched_brin")
    op.execute("DROP INDEX IF EXISTS ix_cases_reported_brin")
    for name in DROPPED:
        column = {"ix_cases_category": "category", "ix_cases_status": "status",
                  "ix_cases_subdistrict_code": "subdistrict_code", "ix_cases_county_code": "county_code",
                  "ix_cases_due_at": "due_at", "ix_cases_dispatched_at": "dispatched_at",
                  "ix_cases_reported_at": "reported_at", "ix_cases_grid_code": "grid_code"}[name]
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON cases ({column})")
