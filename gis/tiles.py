"""Mapbox vector tiles (WebMercatorQuad) built inside PostGIS with ST_AsMVT."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from citygrid.errors import InvalidInput
from gis import collections as gc

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22


def check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidInput(f"zoom {z} outside 0..{MAX_ZOOM}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise InvalidInput(f"tile {z}/{x}/{y} does not exist (x and y must lie in 0..{n - 1})")


def tile(engine: Engine, collection_id: str, z: int, x: int, y: int, *, datetime_range=None,
         filters: dict[str, str] | None = None) -> bytes:
    """One tile of one collection; tiles are public, so staff-only columns never enter them."""
    check_tile(z, x, y)
    coll = gc.get_collection(collection_id)
    props = gc.property_columns(engine, coll, staff=False)
    where_sql, params = gc.where_clause(coll, props, datetime_range=datetime_range, filters=filters)
    # Time and date columns have no MVT type: send them as text.
    cols = ", ".join(f"t.\"{c}\"::text AS \"{c}\"" if c.endswith(("_at", "_date")) else f"t.\"{c}\"" for c in props)
    extra = where_sql.replace("WHERE ", "AND ", 1) if where_sql else ""
    sql = sa.text(f"""
        WITH bounds AS (SELECT ST_TileEnvelope(:z, :x, :y) AS merc,
                               ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {BUFFER / EXTENT}), 4326) AS wgs)
        SELECT ST_AsMVT(m.*, :layer, {EXTENT}, 'geom') FROM (
          SELECT ST_AsMVTGeom(ST_Transform(t.geom, 3857), bounds.merc, {EXTENT}, {BUFFER}, true) AS geom, {cols}
          FROM {coll.table} t, bounds
          WHERE t.geom && bounds.wgs {extra}
        ) m WHERE m.geom IS NOT NULL
    """)
    with engine.connect() as conn:
        data = conn.execute(sql, {"z": z, "x": x, "y": y, "layer": coll.id, **params}).scalar()
    return bytes(data or b"")


def tilejson(engine: Engine, base_url: str, collection_id: str) -> dict:
    coll = gc.get_collection(collection_id)
    props = gc.property_columns(engine, coll, staff=False)
    bounds = gc.extent(engine, collection_id) or [-180, -85.05, 180, 85.05]
    return {
        "tilejson": "3.0.0",
        "name": coll.title,
        "description": coll.description,
        "scheme": "xyz",
        "tiles": [f"{base_url}/tiles/{coll.id}/{{z}}/{{x}}/{{y}}.pbf"],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 12],
        "vector_layers": [{"id": coll.id, "fields": {c: "String" for c in props}}],
    }
