"""Table definitions (SQLAlchemy Core). Alembic migrations own the real schema; these
mirror it for queries. Geometry is WGS84 (EPSG:4326) with GiST indexes; every large table
carries ``county_code`` (6-digit GB/T 2260), the future distribution key."""
from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

from citygrid.catalog import CATALOG

metadata = sa.MetaData()

SRID = 4326


def geom(kind: str = "GEOMETRY", nullable: bool = False) -> sa.Column:
    """The ``geom`` column: a PostGIS ``kind`` geometry in EPSG:4326 with a GiST index, NOT NULL
    unless ``nullable``."""
    return sa.Column("geom", Geometry(kind, srid=SRID, spatial_index=True), nullable=nullable)


def now() -> sa.TextClause:
    """Server default ``now()``: the start time of the inserting transaction."""
    return sa.text("now()")


# --- organisation and access -------------------------------------------------
departments = sa.Table(
    "departments", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    # department (a city bureau), squad (执法中队), subteam (分队)
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("departments.id")),
    sa.Column("county_code", sa.String(6)),
    sa.Column("grid_code", sa.String(14)),
    sa.Column("subdistrict_code", sa.String(9)),  # 0008: the town/street a squad serves
    sa.CheckConstraint("kind IN ('department','squad','subteam')", name="department_kind"),
)

officers = sa.Table(
    "officers", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("badge", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("department_id", sa.Integer, sa.ForeignKey("departments.id")),
    sa.Column("county_code", sa.String(6)),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),  # 0008
)

users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.Text, nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("display_name", sa.Text),
    sa.Column("officer_id", sa.Integer, sa.ForeignKey("officers.id")),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    # 0008: tokens issued before this instant are refused (set on deactivation and password reset)
    sa.Column("tokens_revoked_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint(
        "role IN ('commander','drone_operator','planner','patrol_officer','public')", name="user_role"
    ),
    # 0008: one user per officer
    sa.Index("ux_users_officer_id", "officer_id", unique=True, postgresql_where=sa.text("officer_id IS NOT NULL")),
)

api_clients = sa.Table(
    "api_clients", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    # Only a SHA-256 of the key is stored; the key itself is shown once at creation.
    sa.Column("key_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
)

idempotency_keys = sa.Table(
    "idempotency_keys", metadata,
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("principal", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("request_sha256", sa.String(64), nullable=False),
    sa.Column("response", JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
)

# Append-only: the application role may INSERT and SELECT only (see the migration).
audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target", sa.Text),
    sa.Column("detail", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
)

# --- reference layers (filled by gis.layers) --------------------------------
districts = sa.Table(
    "districts", metadata,
    sa.Column("code", sa.String(6), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("name_en", sa.Text),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("source", sa.Text),
    sa.Column("generated", sa.Boolean, nullable=False),
    sa.Column("area_km2", sa.Float),
    geom("MULTIPOLYGON"),
)

subdistricts = sa.Table(
    "subdistricts", metadata,
    sa.Column("code", sa.String(9), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("county_code", sa.String(6), nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("urban_core", sa.Boolean, nullable=False),
    sa.Column("generated", sa.Boolean, nullable=False),
    sa.Column("area_km2", sa.Float),
    geom("MULTIPOLYGON"),
)

communities = sa.Table(
    "communities", metadata,
    sa.Column("code", sa.String(12), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("subdistrict_code", sa.String(9), nullable=False, index=True),
    sa.Column("county_code", sa.String(6), nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("has_post", sa.Boolean, nullable=False),
    sa.Column("grid_code", sa.String(14)),
    sa.Column("generated", sa.Boolean, nullable=False),
    geom("MULTIPOLYGON", nullable=True),
)

grids = sa.Table(
    "grids", metadata,
    sa.Column("code", sa.String(14), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("subdistrict_code", sa.String(9), nullable=False, index=True),
    sa.Column("county_code", sa.String(6), nullable=False, index=True),
    sa.Column("leader", sa.Text),
    sa.Column("party_branch", sa.Text),
    sa.Column("area_km2", sa.Float),
    sa.Column("generated", sa.Boolean, nullable=False),
    geom("MULTIPOLYGON"),
)

posts = sa.Table(
    "posts", metadata,
    sa.Column("code", sa.String(12), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("community_code", sa.String(12), nullable=False),
    sa.Column("grid_code", sa.String(14), index=True),
    sa.Column("subdistrict_code", sa.String(9), nullable=False),
    sa.Column("county_code", sa.String(6), nullable=False, index=True),
    sa.Column("opening_hours", sa.Text),
    sa.Column("phone", sa.Text),
    sa.Column("generated", sa.Boolean, nullable=False),
    geom("POINT"),
)

roads = sa.Table(
    "roads", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("county_code", sa.String(6), nullable=False, index=True),
    sa.Column("length_m", sa.Float),
    sa.Column("generated", sa.Boolean, nullable=False),
    geom("LINESTRING"),
)

pois = sa.Table(
    "pois", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("kind", sa.Text, nullable=False, index=True),
    sa.Column("opening_hours", sa.Text),
    sa.Column("busy_hours", sa.Text),
    sa.Column("county_code", sa.String(6), nullable=False, index=True),
    sa.Column("grid_code", sa.String(14)),
    sa.Column("generated", sa.Boolean, nullable=False),
    geom("POINT"),
)

airspace = sa.Table(
    "airspace", metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("floor_m", sa.Float, nullable=False),
    sa.Column("ceiling_m", sa.Float, nullable=False),
    sa.Column("source", sa.Text),
    sa.Column("generated", sa.Boolean, nullable=False),
    geom("MULTIPOLYGON"),
    sa.CheckConstraint("kind IN ('prohibited','controlled')", name="airspace_kind"),
)

service_area = sa.Table(
    "service_area", metadata,
    sa.Column("name", sa.Text, primary_key=True),
    geom("MULTIPOLYGON"),
)

# Layer name -> table for the loader: the catalog's reference collections, plus the service
# area (a layer the location rule reads, not served as a collection).
REFERENCE_TABLES = {c.id: metadata.tables[c.table] for c in CATALOG if c.reference} | {"service_area": service_area}

# --- cases (migration 0002) ---------------------------------------------------
# The public id is generated in the database from id and the report's year (Shanghai time).
CASE_SERVICE_REQUEST_ID = (
    "'RZ-' || extract(year from timezone('Asia/Shanghai', reported_at))::int::text || '-' "
    "|| lpad(id::text, greatest(6, length(id::text)), '0')"
)

cases = sa.Table(
    "cases", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("service_request_id", sa.Text, sa.Computed(CASE_SERVICE_REQUEST_ID, persisted=True),
              nullable=False, unique=True),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'reported'")),
    sa.Column("description", sa.Text),
    sa.Column("media_urls", sa.ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'::text[]")),
    sa.Column("attributes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("address_string", sa.Text),
    # Reporter contact: personal data, staff-only on read.
    sa.Column("reporter_name", sa.Text),
    sa.Column("reporter_phone", sa.Text),
    sa.Column("reporter_email", sa.Text),
    sa.Column("device_id", sa.Text),
    sa.Column("account_id", sa.Text),
    sa.Column("api_client_id", sa.Integer, sa.ForeignKey("api_clients.id")),
    sa.Column("reporter_username", sa.Text),
    sa.Column("external_id", sa.Text),
    geom("POINT", nullable=True),  # NULL only for address-only reports (located_by = 'address')
    sa.Column("orig_lon", sa.Float),
    sa.Column("orig_lat", sa.Float),
    sa.Column("coord_sys", sa.Text, nullable=False, server_default=sa.text("'wgs84'")),
    sa.Column("located_by", sa.Text, nullable=False, server_default=sa.text("'point'")),
    sa.Column("grid_code", sa.String(14)),
    sa.Column("community_code", sa.String(12)),
    sa.Column("subdistrict_code", sa.String(9)),
    sa.Column("county_code", sa.String(6)),
    sa.Column("post_code", sa.String(12)),
    sa.Column("outside_grid", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    sa.Column("filed_at", sa.DateTime(timezone=True)),
    sa.Column("dispatched_at", sa.DateTime(timezone=True)),
    sa.Column("due_at", sa.DateTime(timezone=True)),
    sa.Column("handled_at", sa.DateTime(timezone=True)),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.Column("evaluated_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    sa.Column("department_id", sa.Integer, sa.ForeignKey("departments.id")),
    sa.Column("rework_count", sa.Integer, nullable=False, server_default=sa.text("0")),
)

# Append-only (grant + trigger in the migration): every workflow transition, in order.
case_events = sa.Table(
    "case_events", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("case_id", sa.BigInteger, sa.ForeignKey("cases.id"), nullable=False),
    sa.Column("from_state", sa.Text),  # NULL for the report itself
    sa.Column("to_state", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    sa.Column("note", sa.Text),
    sa.Column("department_id", sa.Integer, sa.ForeignKey("departments.id")),
    sa.Column("county_code", sa.String(6)),
)

# One row per (case, department) whistle; acknowledged when the department reports in.
escalations = sa.Table(
    "escalations", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("case_id", sa.BigInteger, sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("grid_code", sa.String(14)),
    sa.Column("subdistrict_code", sa.String(9)),
    sa.Column("county_code", sa.String(6)),
    sa.Column("department_id", sa.Integer, sa.ForeignKey("departments.id"), nullable=False),
    sa.Column("requested_by", sa.Text, nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    sa.Column("ack_due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
    sa.Column("acknowledged_by", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("ack_note", sa.Text),
)

# --- drone (migration 0003) ----------------------------------------------------
drone_stations = sa.Table(
    "drone_stations", metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),  # enforcement_station | service_post
    sa.Column("post_code", sa.String(12)),
    sa.Column("county_code", sa.String(6), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    geom("POINT"),
)

drone_airframes = sa.Table(
    "drone_airframes", metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("station_id", sa.Text, sa.ForeignKey("drone_stations.id"), nullable=False),
    sa.Column("drone_class", sa.Text, nullable=False),  # micro | light | small
    sa.Column("cruise_speed_ms", sa.Float, nullable=False),
    sa.Column("climb_speed_ms", sa.Float, nullable=False),
    sa.Column("endurance_min", sa.Float, nullable=False),
    sa.Column("reserve_pct", sa.Float, nullable=False),
    sa.Column("max_range_m", sa.Float, nullable=False),
    sa.Column("has_speaker", sa.Boolean, nullable=False),
    sa.Column("has_camera", sa.Boolean, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
)

drone_pilots = sa.Table(
    "drone_pilots", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("officer_id", sa.Integer, sa.ForeignKey("officers.id")),
    sa.Column("username", sa.Text),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("licence_no", sa.Text, nullable=False, unique=True),
    sa.Column("station_id", sa.Text, sa.ForeignKey("drone_stations.id")),
)

flight_applications = sa.Table(
    "flight_applications", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("reference", sa.Text, nullable=False, unique=True),
    sa.Column("status", sa.Text, nullable=False),  # approved | pending | rejected | revoked
    sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
    sa.Column("valid_to", sa.DateTime(timezone=True), nullable=False),
    sa.Column("approver", sa.Text),
    sa.Column("purpose", sa.Text),
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    geom("MULTIPOLYGON"),
)

missions = sa.Table(
    "missions", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),  # target | survey
    sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'planned'")),
    sa.Column("station_id", sa.Text, sa.ForeignKey("drone_stations.id"), nullable=False),
    sa.Column("airframe_id", sa.Text, sa.ForeignKey("drone_airframes.id"), nullable=False),
    sa.Column("case_id", sa.BigInteger, sa.ForeignKey("cases.id")),
    sa.Column("grid_code", sa.String(14)),
    sa.Column("application_ref", sa.Text),
    sa.Column("county_code", sa.String(6), index=True),
    sa.Column("planned_start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("planned_end", sa.DateTime(timezone=True), nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.Column("distance_m", sa.Float, nullable=False),
    sa.Column("max_height_m", sa.Float, nullable=False),
    sa.Column("target_lon", sa.Float),
    sa.Column("target_lat", sa.Float),
    sa.Column("plan", JSONB, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    geom("LINESTRING"),
)

broadcast_templates = sa.Table(
    "broadcast_templates", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("code", sa.Text, nullable=False, unique=True),
    sa.Column("kind", sa.Text, nullable=False),  # template | free_text
    sa.Column("category", sa.Text),
    sa.Column("text_zh", sa.Text, nullable=False),
    sa.Column("text_en", sa.Text),
    sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'draft'")),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    sa.Column("approved_by", sa.Text),
    sa.Column("approved_at", sa.DateTime(timezone=True)),
)

broadcast_overrides = sa.Table(
    "broadcast_overrides", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("drone_id", sa.Text, sa.ForeignKey("drone_airframes.id"), nullable=False),
    sa.Column("granted_by", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
    sa.Column("valid_to", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
)

broadcast_commands = sa.Table(
    "broadcast_commands", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("drone_id", sa.Text, sa.ForeignKey("drone_airframes.id"), nullable=False),
    sa.Column("mission_id", sa.BigInteger, sa.ForeignKey("missions.id")),
    sa.Column("template_code", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("audio_sha256", sa.String(64), nullable=False),
    sa.Column("audio_file", sa.Text, nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.Column("volume", sa.Integer, nullable=False),
    sa.Column("plays", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'queued'")),
    sa.Column("ordered_by", sa.Text, nullable=False),
    sa.Column("text_approved_by", sa.Text, nullable=False),
    sa.Column("override_id", sa.BigInteger, sa.ForeignKey("broadcast_overrides.id")),
    sa.Column("lon", sa.Float),
    sa.Column("lat", sa.Float),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
)

# Append-only (grant + trigger in 0003), refused attempts included.
broadcast_audit = sa.Table(
    "broadcast_audit", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    sa.Column("drone_id", sa.Text),
    sa.Column("command_id", sa.BigInteger),
    sa.Column("mission_id", sa.BigInteger),
    sa.Column("ordered_by", sa.Text, nullable=False),
    sa.Column("ordered_role", sa.Text),
    sa.Column("text_approved_by", sa.Text),
    sa.Column("override_by", sa.Text),
    sa.Column("template_code", sa.Text),
    sa.Column("text", sa.Text),
    sa.Column("audio_sha256", sa.String(64)),
    sa.Column("lon", sa.Float),
    sa.Column("lat", sa.Float),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("detail", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
)

drone_telemetry = sa.Table(
    "drone_telemetry", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("drone_id", sa.Text, sa.ForeignKey("drone_airframes.id"), nullable=False),
    sa.Column("mission_id", sa.BigInteger, sa.ForeignKey("missions.id")),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("alt_m", sa.Float, nullable=False),
    sa.Column("battery_pct", sa.Float, nullable=False),
    sa.Column("state", sa.Text),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
)


# --- hotspots: the latest run per (method, unit, category) -----------------------------
hotspots = sa.Table(
    "hotspots", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("period_start", sa.DateTime(timezone=True)),
    sa.Column("period_end", sa.DateTime(timezone=True)),
    sa.Column("run_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    sa.Column("unit_id", sa.Text),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("density_per_km2", sa.Float),
    sa.Column("statistic", sa.Float),
    sa.Column("p_value", sa.Float),
    sa.Column("gi_bin", sa.Integer),
    sa.Column("pattern", sa.Text),
    sa.Column("first_report", sa.DateTime(timezone=True)),
    sa.Column("last_report", sa.DateTime(timezone=True)),
    sa.Column("grid_code", sa.String(14)),
    sa.Column("county_code", sa.String(6)),
    sa.Column("params", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    geom("GEOMETRY"),
)


# --- patrols (migration 0005) ----------------------------------------------------
# One row per outing; the cleaned track and its mileage are filled in when it stops.
patrols = sa.Table(
    "patrols", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("officer_id", sa.Integer, sa.ForeignKey("officers.id"), nullable=False, index=True),
    sa.Column("team_id", sa.Integer, sa.ForeignKey("departments.id"), index=True),  # squad/subteam
    sa.Column("county_code", sa.String(6), index=True),
    sa.Column("campaign", sa.Text, index=True),
    sa.Column("patrol_date", sa.Date, nullable=False),  # Shanghai date of the start
    sa.Column("source", sa.Text, nullable=False, server_default=sa.text("'live'")),  # live | import
    sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'active'")),  # active | stopped
    sa.Column("external_id", sa.Text),  # imports: device + first fix time, unique
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("stopped_at", sa.DateTime(timezone=True)),
    sa.Column("distance_m", sa.Float),
    sa.Column("distance_sd_m", sa.Float),  # 0009: one sd of distance_m (patrol.mileage.distance_sd_m)
    sa.Column("raw_distance_m", sa.Float),
    sa.Column("duration_s", sa.Float),
    sa.Column("moving_time_s", sa.Float),
    sa.Column("stop_time_s", sa.Float),
    sa.Column("points", sa.Integer),
    sa.Column("dropped_points", sa.Integer),
    sa.Column("dropped_by_reason", JSONB),
    sa.Column("per_grid_m", JSONB),
    sa.Column("stops", JSONB),
    geom("LINESTRING", nullable=True),  # the cleaned track
)

# Raw fixes as received, WGS84 plus what the phone sent; PK (device_id, t) is the retry key.
patrol_fixes = sa.Table(
    "patrol_fixes", metadata,
    sa.Column("device_id", sa.Text(collation="C"), primary_key=True),
    sa.Column("t", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("patrol_id", sa.BigInteger, nullable=False),  # no FK: see migration 0005
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("orig_lon", sa.Float, nullable=False),
    sa.Column("orig_lat", sa.Float, nullable=False),
    sa.Column("coord_sys", sa.Text, nullable=False, server_default=sa.text("'wgs84'")),
    sa.Column("accuracy_m", sa.Float),
    sa.Column("speed_mps", sa.Float),
    sa.Column("county_code", sa.String(6)),
    geom("POINT"),
)
