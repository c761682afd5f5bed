"""Mapbox vector tiles (WebMercatorQuad) built inside PostGIS with ST_AsMVT."""
from __future__ import annotations

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from citygrid.cache import Cache
from citygrid.errors import InvalidInput
from gis import collections as gc

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22


def check_tile(z: int, x: int, y: int) -> None:
    """Refuse (InvalidInput) an address outside WebMercatorQuad: zoom 0-22, x and y 0 .. 2^z - 1."""
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidInput(f"zoom {z} outside 0..{MAX_ZOOM}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise InvalidInput(f"tile {z}/{x}/{y} does not exist (x and y must lie in 0..{n - 1})")


def _mvt_column(c: str) -> str:
    # Time and date columns have no MVT type: send them as text.
    return f"t.\"{c}\"::text" if c.endswith(("_at", "_date")) else f"t.\"{c}\""


def tile(engine: Engine, collection_id: str, z: int, x: int, y: int, *, datetime_range=None,
         filters: dict[str, str] | None = None, coord_sys: str = "wgs84") -> bytes:
    """One tile of one collection; tiles are public, so staff-only columns never enter them.

    ``coord_sys="gcj02"`` draws the tile for a Gaode (GCJ-02) basemap: every vertex shifted."""
    check_tile(z, x, y)
    coll = gc.get_collection(collection_id)
    props = gc.property_columns(engine, coll, staff=False)
    where_sql, params = gc.where_clause(coll, props, datetime_range=datetime_range, filters=filters)
    shown = gc.tile_columns(engine, coll)  # filters may name any public column; tiles carry these
    cols = ", ".join(f"{_mvt_column(c)} AS \"{c}\"" for c in shown)
    extra = where_sql.replace("WHERE ", "AND ", 1) if where_sql else ""
    if coord_sys != "wgs84":
        return _shifted_tile(engine, coll, shown, z, x, y, extra, params, coord_sys)
    sql = sa.text(f"""
        WITH bounds AS (SELECT ST_TileEnvelope(:z, :x, :y) AS merc,
                               ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {BUFFER / EXTENT}), 4326) AS wgs)
        SELECT ST_AsMVT(m.*, :layer, {EXTENT}, 'geom') FROM (
          SELECT ST_AsMVTGeom(ST_Transform(t.geom, 3857), bounds.merc, {EXTENT}, {BUFFER}, true) AS geom, {cols}
          FROM {coll.table} t, bounds
          WHERE t.geom && bounds.wgs {extra}
        ) m
    """)  # no "WHERE m.geom IS NOT NULL": the planner would run ST_AsMVTGeom twice a row, and
    # ST_AsMVT already leaves out rows whose geometry clips away (same features, ~10% faster)
    with engine.connect() as conn:
        return _bytea(conn, sql, {"z": z, "x": x, "y": y, "layer": coll.id, **params})


def _bytea(conn, sql: sa.TextClause, params: dict) -> bytes:
    """A bytea scalar in PostgreSQL's binary format: as text the server spells a tile out in
    hex and the driver turns it back (a case tile is ~140 kB)."""
    compiled = sql.bindparams(**params).compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    try:
        with conn.connection.driver_connection.cursor(binary=True) as cur:
            row = cur.execute(str(compiled), compiled.params).fetchone()
    except psycopg.Error as exc:  # as SQLAlchemy would raise it: the API's error map knows those
        raise sa.exc.DBAPIError.instance(str(compiled), compiled.params, exc, psycopg.Error) from exc
    return bytes(row[0]) if row and row[0] is not None else b""


ID_TYPES = Cache("collection id column types", ttl_s=60.0)


def _id_type(conn, table: str, column: str) -> str:
    return ID_TYPES.get((str(conn.engine.url), table, column), lambda: conn.execute(sa.text(
        "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = CAST(:t AS regclass) AND a.attname = :c"), {"t": table, "c": column}).scalar_one())


def _tile_lonlat_box(z: int, x: int, y: int, margin: float) -> tuple[float, float, float, float]:
    import math

    n = 2 ** z
    x0, x1, y0, y1 = x - margin, x + 1 + margin, y - margin, y + 1 + margin
    lat = lambda t: math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * t / n))))  # noqa: E731
    return x0 / n * 360 - 180, lat(y1), x1 / n * 360 - 180, lat(y0)


def _shifted_tile(engine: Engine, coll, props: list[str], z: int, x: int, y: int, extra: str, params: dict,
                  coord_sys: str) -> bytes:
    """Read the WGS84 geometries that land in the tile once shifted (the tile's envelope mapped
    back to WGS84, plus a little), shift every vertex in numpy (gis.crs), and let PostGIS clip
    and encode them with the row's public columns in a second statement."""
    import numpy as np
    import shapely

    from gis.crs import from_wgs84

    box = gc.bbox_from_coord_sys(_tile_lonlat_box(z, x, y, BUFFER / EXTENT), coord_sys)
    pad = 0.0005  # ~50 m: the offset's change across the tile and rounding
    cols = ", ".join(f"{_mvt_column(c)} AS \"{c}\"" for c in props)
    read = sa.text(f"""
        SELECT t."{coll.id_column}" AS fid, ST_AsBinary(t.geom) AS wkb FROM {coll.table} t
        WHERE t.geom && ST_MakeEnvelope(:bx1, :by1, :bx2, :by2, 4326) {extra}
    """)
    box_params = {"bx1": box[0] - pad, "by1": box[1] - pad, "bx2": box[2] + pad, "by2": box[3] + pad}
    with engine.connect() as conn:
        rows = conn.execute(read, {**box_params, **params}).all()
        if not rows:
            return b""
        geoms = shapely.from_wkb([r.wkb for r in rows])

        def shift(xy: np.ndarray) -> np.ndarray:
            lon, lat = from_wgs84(xy[:, 0], xy[:, 1], coord_sys)
            return np.column_stack([lon, lat])

        shifted = shapely.to_wkb(shapely.transform(geoms, shift))
        id_type = _id_type(conn, coll.table, coll.id_column)
        encode = sa.text(f"""
            WITH bounds AS (SELECT ST_TileEnvelope(:z, :x, :y) AS merc),
                 u AS (SELECT * FROM unnest(CAST(:ids AS {id_type}[]), CAST(:wkbs AS bytea[])) AS u(fid, wkb))
            SELECT ST_AsMVT(m.*, :layer, {EXTENT}, 'geom') FROM (
              SELECT ST_AsMVTGeom(ST_Transform(ST_GeomFromWKB(u.wkb, 4326), 3857), bounds.merc, {EXTENT}, {BUFFER},
                                  true) AS geom, {cols}
              FROM u JOIN {coll.table} t ON t."{coll.id_column}" = u.fid, bounds
            ) m
        """)
        return _bytea(conn, encode, {"z": z, "x": x, "y": y, "layer": coll.id, "ids": [r.fid for r in rows],
                                     "wkbs": list(shifted)})


def tilejson(engine: Engine, base_url: str, collection_id: str, coord_sys: str = "wgs84") -> dict:
    """The TileJSON 3.0.0 document of a collection's tiles under ``base_url``: URL template (with
    ``?coord_sys=`` unless wgs84), zooms 0-22, the tile columns as String fields, and bounds =
    the collection's WGS84 extent (the whole Web Mercator world when it is empty)."""
    coll = gc.get_collection(collection_id)
    props = gc.tile_columns(engine, coll)
    bounds = gc.extent(engine, collection_id) or [-180, -85.05, 180, 85.05]
    return {
        "tilejson": "3.0.0",
        "name": coll.title,
        "description": coll.description,
        "scheme": "xyz",
        "tiles": [f"{base_url}/tiles/{coll.id}/{{z}}/{{x}}/{{y}}.pbf"
                  + ("" if coord_sys == "wgs84" else f"?coord_sys={coord_sys}")],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 12],
        "vector_layers": [{"id": coll.id, "fields": {c: "String" for c in props}}],
    }
