"""Table definitions (SQLAlchemy Core). Alembic migrations own the real schema; these
mirror it for queries. Geometry is WGS84 (EPSG:4326) with GiST indexes; every large table
carries ``county_code`` (6-digit GB/T 2260), the future distribution key."""
from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

SRID = 4326


def geom(kind: str = "GEOMETRY", nullable: bool = False) -> sa.Column:
    return sa.Column("geom", Geometry(kind, srid=SRID, spatial_index=True), nullable=nullable)


def now() -> sa.TextClause:
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
    sa.CheckConstraint("kind IN ('department','squad','subteam')", name="department_kind"),
)

officers = sa.Table(
    "officers", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("badge", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("department_id", sa.Integer, sa.ForeignKey("departments.id")),
    sa.Column("county_code", sa.String(6)),
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
    sa.CheckConstraint(
        "role IN ('commander','drone_operator','planner','patrol_officer','public')", name="user_role"
    ),
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
    sa.Column("status_code", sa.Integer, nullable=False),
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

REFERENCE_TABLES = {
    "districts": districts, "subdistricts": subdistricts, "communities": communities,
    "grids": grids, "posts": posts, "roads": roads, "pois": pois, "airspace": airspace,
    "service_area": service_area,
}

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
    sa.Column("category", sa.Text, nullable=False, index=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'reported'"), index=True),
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
    sa.Column("grid_code", sa.String(14), index=True),
    sa.Column("community_code", sa.String(12)),
    sa.Column("subdistrict_code", sa.String(9), index=True),
    sa.Column("county_code", sa.String(6), index=True),
    sa.Column("post_code", sa.String(12)),
    sa.Column("outside_grid", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False, server_default=now(), index=True),
    sa.Column("filed_at", sa.DateTime(timezone=True)),
    sa.Column("dispatched_at", sa.DateTime(timezone=True), index=True),
    sa.Column("due_at", sa.DateTime(timezone=True), index=True),
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
