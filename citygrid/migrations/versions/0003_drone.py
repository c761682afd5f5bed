"""drone: fleet, flight applications, missions, loudspeaker templates, commands and audit

Revision ID: 0003
Revises: 0002

Stations are seeded from the posts layer by ``citygrid drone seed`` (layers load after
migrations). ``broadcast_audit`` is append-only: the app role may only INSERT and SELECT,
and a trigger refuses UPDATE/DELETE/TRUNCATE even for the owner.
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2
from sqlalchemy.dialects import postgresql

from citygrid.db.grants import APPEND_ONLY, READ_WRITE, forbid_changes, grant

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _geom(kind: str, nullable: bool = False) -> sa.Column:
    return sa.Column('geom', geoalchemy2.types.Geometry(geometry_type=kind, srid=4326, dimension=2,
                     from_text='ST_GeomFromEWKT', name='geometry', nullable=nullable), nullable=nullable)


def _now():
    return sa.text('now()')


COMMAND_STATES = "('queued','sent','acknowledged','played','failed')"


def upgrade() -> None:
    op.create_table('drone_stations',
    sa.Column('id', sa.Text(), primary_key=True),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('post_code', sa.String(12), nullable=True),
    sa.Column('county_code', sa.String(6), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    _geom('POINT'),
    sa.CheckConstraint("kind IN ('enforcement_station','service_post')", name='drone_station_kind'),
    )
    op.create_table('drone_airframes',
    sa.Column('id', sa.Text(), primary_key=True),
    sa.Column('model', sa.Text(), nullable=False),
    sa.Column('station_id', sa.Text(), sa.ForeignKey('drone_stations.id'), nullable=False),
    sa.Column('drone_class', sa.Text(), nullable=False),
    sa.Column('cruise_speed_ms', sa.Float(), nullable=False),
    sa.Column('climb_speed_ms', sa.Float(), nullable=False),
    sa.Column('endurance_min', sa.Float(), nullable=False),
    sa.Column('reserve_pct', sa.Float(), nullable=False),
    sa.Column('max_range_m', sa.Float(), nullable=False),
    sa.Column('has_speaker', sa.Boolean(), nullable=False),
    sa.Column('has_camera', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.CheckConstraint("drone_class IN ('micro','light','small')", name='drone_airframe_class'),
    sa.CheckConstraint("cruise_speed_ms > 0 AND climb_speed_ms > 0 AND endurance_min > 0 "
                       "AND reserve_pct >= 0 AND reserve_pct < 100 AND max_range_m > 0",
                       name='drone_airframe_profile'),
    )
    op.create_index('ix_drone_airframes_station', 'drone_airframes', ['station_id'])
    op.create_table('drone_pilots',
    sa.Column('id', sa.Integer(), primary_key=True),
    sa.Column('officer_id', sa.Integer(), sa.ForeignKey('officers.id'), nullable=True),
    sa.Column('username', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('licence_no', sa.Text(), nullable=False, unique=True),
    sa.Column('station_id', sa.Text(), sa.ForeignKey('drone_stations.id'), nullable=True),
    )
    op.create_table('flight_applications',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), primary_key=True),
    sa.Column('reference', sa.Text(), nullable=False, unique=True),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approver', sa.Text(), nullable=True),
    sa.Column('purpose', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    _geom('MULTIPOLYGON'),
    sa.CheckConstraint("status IN ('approved','pending','rejected','revoked')", name='flight_application_status'),
    sa.CheckConstraint("valid_to > valid_from", name='flight_application_window'),
    sa.CheckConstraint("status <> 'approved' OR approver IS NOT NULL", name='flight_application_approver'),
    )
    op.create_table('missions',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), primary_key=True),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), server_default=sa.text("'planned'"), nullable=False),
    sa.Column('station_id', sa.Text(), sa.ForeignKey('drone_stations.id'), nullable=False),
    sa.Column('airframe_id', sa.Text(), sa.ForeignKey('drone_airframes.id'), nullable=False),
    sa.Column('case_id', sa.BigInteger(), sa.ForeignKey('cases.id'), nullable=True),
    sa.Column('grid_code', sa.String(14), nullable=True),
    sa.Column('application_ref', sa.Text(), nullable=True),
    sa.Column('county_code', sa.String(6), nullable=True),
    sa.Column('planned_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('planned_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('distance_m', sa.Float(), nullable=False),
    sa.Column('max_height_m', sa.Float(), nullable=False),
    sa.Column('target_lon', sa.Float(), nullable=True),
    sa.Column('target_lat', sa.Float(), nullable=True),
    sa.Column('plan', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    _geom('LINESTRING'),
    sa.CheckConstraint("kind IN ('target','survey')", name='mission_kind'),
    sa.CheckConstraint("status IN ('planned','flying','completed','aborted')", name='mission_status'),
    )
    for col in ('status', 'county_code', 'planned_start'):
        op.create_index(f'ix_missions_{col}', 'missions', [col])

    op.create_table('broadcast_templates',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), primary_key=True),
    sa.Column('code', sa.Text(), nullable=False, unique=True),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('category', sa.Text(), nullable=True),
    sa.Column('text_zh', sa.Text(), nullable=False),
    sa.Column('text_en', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), server_default=sa.text("'draft'"), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    sa.Column('approved_by', sa.Text(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('template','free_text')", name='broadcast_template_kind'),
    sa.CheckConstraint("status IN ('draft','approved','withdrawn')", name='broadcast_template_status'),
    sa.CheckConstraint("status <> 'approved' OR approved_by IS NOT NULL", name='broadcast_template_approver'),
    sa.CheckConstraint("char_length(text_zh) <= 500", name='broadcast_template_length'),
    )
    op.create_table('broadcast_overrides',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), primary_key=True),
    sa.Column('drone_id', sa.Text(), sa.ForeignKey('drone_airframes.id'), nullable=False),
    sa.Column('granted_by', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    sa.CheckConstraint("valid_to > valid_from", name='broadcast_override_window'),
    )
    op.create_table('broadcast_commands',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), primary_key=True),
    sa.Column('drone_id', sa.Text(), sa.ForeignKey('drone_airframes.id'), nullable=False),
    sa.Column('mission_id', sa.BigInteger(), sa.ForeignKey('missions.id'), nullable=True),
    sa.Column('template_code', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('audio_sha256', sa.String(64), nullable=False),
    sa.Column('audio_file', sa.Text(), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('volume', sa.Integer(), nullable=False),
    sa.Column('plays', sa.Integer(), nullable=False),
    sa.Column('status', sa.Text(), server_default=sa.text("'queued'"), nullable=False),
    sa.Column('ordered_by', sa.Text(), nullable=False),
    sa.Column('text_approved_by', sa.Text(), nullable=False),
    sa.Column('override_id', sa.BigInteger(), sa.ForeignKey('broadcast_overrides.id'), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    sa.CheckConstraint(f"status IN {COMMAND_STATES}", name='broadcast_command_status'),
    sa.CheckConstraint("volume BETWEEN 0 AND 100 AND plays BETWEEN 1 AND 20", name='broadcast_command_levels'),
    )
    op.create_index('ix_broadcast_commands_drone_status', 'broadcast_commands', ['drone_id', 'status'])
    # Append-only: who ordered, who approved the text, when, where the drone was, the exact
    # text, the audio's SHA-256 and the outcome -- refused attempts included.
    op.create_table('broadcast_audit',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), primary_key=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    sa.Column('drone_id', sa.Text(), nullable=True),
    sa.Column('command_id', sa.BigInteger(), nullable=True),
    sa.Column('mission_id', sa.BigInteger(), nullable=True),
    sa.Column('ordered_by', sa.Text(), nullable=False),
    sa.Column('ordered_role', sa.Text(), nullable=True),
    sa.Column('text_approved_by', sa.Text(), nullable=True),
    sa.Column('override_by', sa.Text(), nullable=True),
    sa.Column('template_code', sa.Text(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('audio_sha256', sa.String(64), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.CheckConstraint("outcome IN ('refused','queued','sent','acknowledged','played','failed',"
                       "'override_granted','template_approved','text_approved')", name='broadcast_audit_outcome'),
    )
    op.create_index('ix_broadcast_audit_drone_at', 'broadcast_audit', ['drone_id', 'at'])
    op.create_table('drone_telemetry',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), primary_key=True),
    sa.Column('drone_id', sa.Text(), sa.ForeignKey('drone_airframes.id'), nullable=False),
    sa.Column('mission_id', sa.BigInteger(), sa.ForeignKey('missions.id'), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('alt_m', sa.Float(), nullable=False),
    sa.Column('battery_pct', sa.Float(), nullable=False),
    sa.Column('state', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    )
    # A telemetry report's natural key is (drone, time): a retry writes nothing.
    op.create_index('uq_drone_telemetry_drone_at', 'drone_telemetry', ['drone_id', 'at'], unique=True)

    for table in ('drone_stations', 'drone_airframes', 'drone_pilots', 'flight_applications',
                  'broadcast_templates', 'broadcast_overrides', 'broadcast_commands'):
        grant(table, READ_WRITE)
    grant('missions', 'SELECT, INSERT, UPDATE')
    grant('drone_telemetry', APPEND_ONLY)
    grant('broadcast_audit', APPEND_ONLY)
    forbid_changes('broadcast_audit')


def downgrade() -> None:
    for table in ('drone_telemetry', 'broadcast_audit', 'broadcast_commands', 'broadcast_overrides',
                  'broadcast_templates', 'missions', 'flight_applications', 'drone_pilots',
                  'drone_airframes', 'drone_stations'):
        op.drop_table(table)
    op.execute('DROP FUNCTION IF EXISTS broadcast_audit_append_only()')
