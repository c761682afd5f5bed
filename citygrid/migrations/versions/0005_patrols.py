"""patrols: outings (the `patrol_tracks` collection) and their raw GPS fixes

Revision ID: 0005
Revises: 0004

* ``patrols``: one row per outing (live from a phone, or imported from a GPX/GeoJSON/CSV
  file): officer, team (a squad/subteam in ``departments``), campaign, times, and once
  stopped the cleaned track (LineString) with its mileage (patrol.clean + patrol.mileage).
* ``patrol_fixes``: every fix as received, in WGS84, with the numbers and frame the phone
  sent. The primary key (device_id, t) is the natural idempotency key: a retried batch is
  ``INSERT ... ON CONFLICT DO NOTHING``. The points have their GiST index like every geometry
  (who was near a place at a time); ``device_id`` sorts by bytes (COLLATE "C"), a cheaper key.
  ``county_code`` is the patrol's, so an outing and its fixes share the distribution key.

Cases are linked to an officer through ``cases.reporter_username`` -> ``users.officer_id``
(set by the case intake for staff reports), so ``cases`` gets no new column.
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2
from sqlalchemy.dialects import postgresql

from citygrid.db.grants import grant

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('patrols',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('county_code', sa.String(length=6), nullable=True),
    sa.Column('campaign', sa.Text(), nullable=True),
    sa.Column('patrol_date', sa.Date(), nullable=False),
    sa.Column('source', sa.Text(), server_default=sa.text("'live'"), nullable=False),
    sa.Column('status', sa.Text(), server_default=sa.text("'active'"), nullable=False),
    sa.Column('external_id', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.Column('raw_distance_m', sa.Float(), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('moving_time_s', sa.Float(), nullable=True),
    sa.Column('stop_time_s', sa.Float(), nullable=True),
    sa.Column('points', sa.Integer(), nullable=True),
    sa.Column('dropped_points', sa.Integer(), nullable=True),
    sa.Column('dropped_by_reason', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('per_grid_m', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('stops', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='LINESTRING', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.CheckConstraint("source IN ('live','import')", name='patrol_source'),
    sa.CheckConstraint("status IN ('active','stopped')", name='patrol_status'),
    sa.CheckConstraint("stopped_at IS NULL OR stopped_at >= started_at", name='patrol_times'),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['departments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    )
    for col in ('officer_id', 'team_id', 'campaign', 'started_at', 'county_code'):
        op.create_index(f'ix_patrols_{col}', 'patrols', [col], unique=False)
    # An imported track is imported once (natural key: device and first fix time).
    op.create_index('uq_patrols_external_id', 'patrols', ['external_id'], unique=True,
                    postgresql_where=sa.text('external_id IS NOT NULL'))

    op.create_table('patrol_fixes',
    sa.Column('device_id', sa.Text(collation='C'), nullable=False),
    sa.Column('t', sa.DateTime(timezone=True), nullable=False),
    sa.Column('patrol_id', sa.BigInteger(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('orig_lon', sa.Float(), nullable=False),
    sa.Column('orig_lat', sa.Float(), nullable=False),
    sa.Column('coord_sys', sa.Text(), server_default=sa.text("'wgs84'"), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('speed_mps', sa.Float(), nullable=True),
    sa.Column('county_code', sa.String(length=6), nullable=True),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='POINT', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("coord_sys IN ('wgs84','gcj02','bd09')", name='patrol_fix_coord_sys'),
    # No foreign key to patrols: the one write path (patrol.store.insert_fixes) inner-joins
    # patrols, and patrols are never deleted (no DELETE grant); the per-row RI trigger
    # would double the cost of an insert.
    # The natural key of a fix: one device is in one place at one time.
    sa.PrimaryKeyConstraint('device_id', 't', name='uq_patrol_fixes_device_t'),
    )
    op.create_index('ix_patrol_fixes_patrol_t', 'patrol_fixes', ['patrol_id', 't'], unique=False)

    grant('patrols', 'SELECT, INSERT, UPDATE')
    grant('patrol_fixes', 'SELECT, INSERT')  # fixes are evidence: never changed or deleted


def downgrade() -> None:
    op.drop_table('patrol_fixes')
    op.drop_table('patrols')
