"""hotspots: the latest hotspot runs, served as the `hotspots` collection

Revision ID: 0004
Revises: 0003
"""
import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from citygrid.db.grants import grant

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hotspots",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), primary_key=True),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),  # a slug, or 'all'
        sa.Column("period_start", sa.DateTime(timezone=True)),
        sa.Column("period_end", sa.DateTime(timezone=True)),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("unit_id", sa.Text()),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("density_per_km2", sa.Float()),
        sa.Column("statistic", sa.Float()),
        sa.Column("p_value", sa.Float()),
        sa.Column("gi_bin", sa.Integer()),
        sa.Column("pattern", sa.Text()),
        sa.Column("first_report", sa.DateTime(timezone=True)),
        sa.Column("last_report", sa.DateTime(timezone=True)),
        sa.Column("grid_code", sa.String(14)),
        sa.Column("county_code", sa.String(6)),
        sa.Column("params", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("geom", geoalchemy2.types.Geometry(srid=4326, spatial_index=True), nullable=False),
        sa.CheckConstraint("method IN ('gi_star','clusters','emerging')", name="hotspot_method"),
    )
    op.create_index("ix_hotspots_run", "hotspots", ["method", "unit", "category"])
    grant("hotspots", "SELECT, INSERT, DELETE")


def downgrade() -> None:
    op.drop_table("hotspots")
