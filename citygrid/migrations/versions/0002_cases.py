"""cases: the case file, its event log and escalations

Revision ID: 0002
Revises: 0001

Designed so a bulk COPY loader can fill ``cases`` directly: no triggers on it, every
derived value (location codes, deadlines) is a plain column the loader can compute in bulk,
and the public id is a generated column, so the loader simply leaves it out.
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2
from sqlalchemy.dialects import postgresql

from citygrid.db.grants import APPEND_ONLY, READ_WRITE, forbid_changes, grant

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# Public id "RZ-<year reported, Shanghai>-<id, at least 6 digits>". A stored generated column:
# unique by construction (id is), nothing to coordinate between writers, and COPY leaves it out.
SERVICE_REQUEST_ID = (
    "'RZ-' || extract(year from timezone('Asia/Shanghai', reported_at))::int::text || '-' "
    "|| lpad(id::text, greatest(6, length(id::text)), '0')"
)
CASE_STATES = "('reported','filed','dispatched','handled','feedback','closed','evaluated')"
SOURCES = "('citizen','patrol','drone','sensor','hotline')"


def upgrade() -> None:
    op.create_table('cases',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('service_request_id', sa.Text(), sa.Computed(SERVICE_REQUEST_ID, persisted=True), nullable=False),
    sa.Column('category', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), server_default=sa.text("'reported'"), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('media_urls', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
    sa.Column('attributes', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('address_string', sa.Text(), nullable=True),
    sa.Column('reporter_name', sa.Text(), nullable=True),
    sa.Column('reporter_phone', sa.Text(), nullable=True),
    sa.Column('reporter_email', sa.Text(), nullable=True),
    sa.Column('device_id', sa.Text(), nullable=True),
    sa.Column('account_id', sa.Text(), nullable=True),
    sa.Column('api_client_id', sa.Integer(), nullable=True),
    sa.Column('reporter_username', sa.Text(), nullable=True),
    sa.Column('external_id', sa.Text(), nullable=True),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='POINT', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('orig_lon', sa.Float(), nullable=True),
    sa.Column('orig_lat', sa.Float(), nullable=True),
    sa.Column('coord_sys', sa.Text(), server_default=sa.text("'wgs84'"), nullable=False),
    sa.Column('located_by', sa.Text(), server_default=sa.text("'point'"), nullable=False),
    sa.Column('grid_code', sa.String(length=14), nullable=True),
    sa.Column('community_code', sa.String(length=12), nullable=True),
    sa.Column('subdistrict_code', sa.String(length=9), nullable=True),
    sa.Column('county_code', sa.String(length=6), nullable=True),
    sa.Column('post_code', sa.String(length=12), nullable=True),
    sa.Column('outside_grid', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('rework_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.CheckConstraint(f"status IN {CASE_STATES}", name='case_status'),
    sa.CheckConstraint(f"source IN {SOURCES}", name='case_source'),
    sa.CheckConstraint("coord_sys IN ('wgs84','gcj02','bd09')", name='case_coord_sys'),
    sa.CheckConstraint("located_by IN ('point','address')", name='case_located_by'),
    sa.CheckConstraint("char_length(description) <= 4000", name='case_description_length'),
    sa.CheckConstraint("rework_count >= 0", name='case_rework_count'),
    sa.CheckConstraint("geom IS NOT NULL OR located_by = 'address'", name='case_has_location'),
    sa.ForeignKeyConstraint(['api_client_id'], ['api_clients.id'], ),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('service_request_id'),
    )
    # The GiST index idx_cases_geom comes with the Geometry column (GeoAlchemy2's create hook).
    for col in ('reported_at', 'category', 'grid_code', 'status', 'subdistrict_code', 'county_code',
                'dispatched_at', 'due_at'):
        op.create_index(f'ix_cases_{col}', 'cases', [col], unique=False)
    # The natural-key retry check (device + description + location within a minute).
    op.create_index('ix_cases_device_reported', 'cases', ['device_id', 'reported_at'], unique=False,
                    postgresql_where=sa.text('device_id IS NOT NULL'))
    # A bulk loader's idempotency: a source system's own id is loaded at most once.
    op.create_index('uq_cases_source_external_id', 'cases', ['source', 'external_id'], unique=True,
                    postgresql_where=sa.text('external_id IS NOT NULL'))

    op.create_table('case_events',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('case_id', sa.BigInteger(), nullable=False),
    sa.Column('from_state', sa.Text(), nullable=True),
    sa.Column('to_state', sa.Text(), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('county_code', sa.String(length=6), nullable=True),
    sa.CheckConstraint(f"to_state IN {CASE_STATES}", name='case_event_to_state'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_case_events_case_id', 'case_events', ['case_id', 'at'], unique=False)

    # One row per (case, department): "the grid blows the whistle, departments report in",
    # and each department reports in (acknowledges) on its own.
    op.create_table('escalations',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('case_id', sa.BigInteger(), nullable=False),
    sa.Column('grid_code', sa.String(length=14), nullable=True),
    sa.Column('subdistrict_code', sa.String(length=9), nullable=True),
    sa.Column('county_code', sa.String(length=6), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.Text(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('ack_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('ack_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_escalations_case_id', 'escalations', ['case_id'], unique=False)
    # At most one open whistle per case and department: a repeated escalation is a retry.
    op.create_index('uq_escalations_open', 'escalations', ['case_id', 'department_id'], unique=True,
                    postgresql_where=sa.text('acknowledged_at IS NULL'))
    op.create_index('ix_escalations_unacknowledged', 'escalations', ['ack_due_at'], unique=False,
                    postgresql_where=sa.text('acknowledged_at IS NULL'))

    grant('cases', 'SELECT, INSERT, UPDATE')  # cases are never deleted, only closed
    grant('case_events', APPEND_ONLY)
    forbid_changes('case_events')
    grant('escalations', READ_WRITE)


def downgrade() -> None:
    op.drop_table('escalations')
    op.drop_table('case_events')
    op.execute('DROP FUNCTION IF EXISTS case_events_append_only()')
    op.drop_table('cases')
