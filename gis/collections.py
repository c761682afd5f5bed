"""Feature collections served the OGC API Features way, as plain functions over PostGIS.

The collections are the catalog's (``citygrid.catalog``): each a table with an id column and a
WGS84 geometry. GeoJSON is assembled inside
PostgreSQL (one round trip, no per-row Python), and the API layer only wraps it.
"""
from __future__ import annotations

import math
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from citygrid.cache import Cache
from citygrid.db.where import Where
from citygrid.catalog import BY_ID, CATALOG, Collection
from citygrid.errors import InvalidInput, NotFound
from citygrid.workcal import TZ as SHANGHAI


def collections() -> list[Collection]:
    """Every collection of the catalog, in catalog order."""
    return list(CATALOG)


def get_collection(collection_id: str) -> Collection:
    """The catalog's collection ``collection_id``; NotFound names the ones there are."""
    try:
        return BY_ID[collection_id]
    except KeyError:
        raise NotFound(f"collection {collection_id!r} not found; available: {', '.join(BY_ID)}") from None


def parse_bbox(text: str | None, lonlat: bool = True) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` in CRS84 (or four numbers in another CRS when
    ``lonlat`` is false); anything else is refused with the reason."""
    if text is None or text == "":
        return None
    parts = text.split(",")
    if len(parts) != 4:
        raise InvalidInput(f"bbox needs 4 numbers minlon,minlat,maxlon,maxlat; got {len(parts)}")
    try:
        x1, y1, x2, y2 = (float(p) for p in parts)
    except ValueError:
        raise InvalidInput(f"bbox values must be numbers: {text!r}") from None
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise InvalidInput("bbox values must be finite")
    problems = []
    if not lonlat:
        if x1 > x2 or y1 > y2:
            raise InvalidInput("invalid bbox: bbox minimum exceeds maximum")
        return x1, y1, x2, y2
    if not (-180 <= x1 <= 180 and -180 <= x2 <= 180):
        problems.append("longitudes must lie in -180..180")
    if not (-90 <= y1 <= 90 and -90 <= y2 <= 90):
        problems.append("latitudes must lie in -90..90 (lon/lat swapped?)")
    if x1 > x2 or y1 > y2:
        problems.append("bbox minimum exceeds maximum")
    if problems:
        raise InvalidInput("invalid bbox: " + "; ".join(problems))
    return x1, y1, x2, y2


def bbox_to_crs84(box: tuple[float, float, float, float] | None, bbox_crs: str) -> tuple | None:
    """A bbox given in another output CRS (in that CRS's axis order) as a CRS84 envelope."""
    if box is None or bbox_crs == CRS84:
        return box
    from pyproj import Transformer

    srid, _ = OUTPUT_CRS[bbox_crs]
    # always_xy=False: the numbers follow the CRS's own axis order, as the standard says.
    t = Transformer.from_crs(f"EPSG:{srid}", "OGC:CRS84", always_xy=False)
    x1, y1, x2, y2 = t.transform_bounds(*box)
    return x1, y1, x2, y2


TABLE_COLUMNS = Cache("table columns", ttl_s=60.0)


def _table_columns(engine: Engine, table: str) -> list[str]:
    def read() -> list[str]:
        with engine.connect() as conn:
            cols = conn.execute(sa.text(
                "SELECT column_name FROM information_schema.columns WHERE table_name = :t "
                "AND table_schema = 'public' ORDER BY ordinal_position"), {"t": table}).scalars().all()
        if not cols:
            raise NotFound(f"collection table {table!r} does not exist (run `citygrid db migrate`)")
        return list(cols)

    return TABLE_COLUMNS.get((str(engine.url), table), read)


def property_columns(engine: Engine, coll: Collection, staff: bool) -> list[str]:
    """The columns of ``coll``'s table that become feature properties: all but ``geom``, and
    without the collection's staff-only columns unless ``staff``. NotFound if there is no table."""
    hidden = {"geom"} | (set() if staff else set(coll.staff_only))
    return [c for c in _table_columns(engine, coll.table) if c not in hidden]


def tile_columns(engine: Engine, coll: Collection) -> list[str]:
    """The public columns a tile of ``coll`` carries (Collection.tile_columns, or all)."""
    public = property_columns(engine, coll, staff=False)
    return [c for c in public if c in coll.tile_columns] if coll.tile_columns else public


CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
# Output frames: URI -> (SRID, whether the CRS's axis order is north-first). GeoJSON in an
# EPSG frame follows that frame's axis order (OGC API Features part 2); CRS84 is lon/lat.
OUTPUT_CRS = {
    CRS84: (4326, False),
    "http://www.opengis.net/def/crs/EPSG/0/4326": (4326, True),
    "http://www.opengis.net/def/crs/EPSG/0/4490": (4490, True),
    "http://www.opengis.net/def/crs/EPSG/0/4549": (4549, True),
}


def parse_crs(text: str | None) -> str:
    """Normalise a ``crs`` parameter to one of OUTPUT_CRS's URIs."""
    if not text:
        return CRS84
    uri = text.strip()
    if uri.upper().startswith("EPSG:"):
        uri = f"http://www.opengis.net/def/crs/EPSG/0/{uri[5:]}"
    if uri.upper() in ("CRS84", "OGC:CRS84"):
        uri = CRS84
    if uri not in OUTPUT_CRS:
        raise InvalidInput(f"unsupported crs {text!r}; supported: {', '.join(OUTPUT_CRS)}")
    return uri


# Output may be drawn in any of gis.crs.COORD_SYSTEMS for a Chinese basemap (gcj02 for
# Gaode, bd09 for Baidu; Tianditu/CGCS2000 needs no shift). Shifting happens only here, on
# output: what is stored stays WGS84.


def check_coord_sys_crs(coord_sys: str, crs: str) -> None:
    """Refuse (InvalidInput) a ``coord_sys`` other than wgs84 with an output ``crs`` that is not
    lon/lat: only CRS84 and EPSG:4326 output can be drawn for a Chinese basemap."""
    if coord_sys != "wgs84" and OUTPUT_CRS[crs][0] != 4326:
        raise InvalidInput(f"coord_sys={coord_sys} applies to lon/lat output only (crs CRS84 or EPSG:4326)")


def bbox_from_coord_sys(box: tuple | None, coord_sys: str) -> tuple | None:
    """A lon/lat bbox drawn in ``coord_sys`` (e.g. a Gaode map view) as a WGS84 envelope."""
    if box is None or coord_sys == "wgs84":
        return box
    from gis.crs import to_wgs84

    lon, lat = to_wgs84([box[0], box[2], box[0], box[2]], [box[1], box[1], box[3], box[3]], coord_sys)
    return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())


def _coordinate_pairs(coords, out: list) -> None:
    """Collect the innermost [x, y(, z)] lists of a GeoJSON coordinates array, in place."""
    if coords and isinstance(coords[0], (int, float)):
        out.append(coords)
    else:
        for c in coords:
            _coordinate_pairs(c, out)


def shift_geometry_objects(geometries: list[dict], coord_sys: str, flip: bool = False) -> None:
    """Shift GeoJSON geometry dicts from WGS84 to ``coord_sys`` in place, all vertices in one
    vectorised call of gis.crs; ``flip`` for lat/lon axis order."""
    if coord_sys == "wgs84":
        return
    import numpy as np

    from gis.crs import from_wgs84

    pairs: list = []
    stack = [g for g in geometries if g]
    while stack:
        g = stack.pop()
        if g.get("type") == "GeometryCollection":
            stack.extend(g.get("geometries") or [])
        else:
            _coordinate_pairs(g.get("coordinates") or [], pairs)
    if not pairs:
        return
    xy = np.array([(p[0], p[1]) for p in pairs], dtype=np.float64)
    ix, iy = (1, 0) if flip else (0, 1)
    lon, lat = from_wgs84(xy[:, ix], xy[:, iy], coord_sys)
    lon, lat = np.round(lon, 7).tolist(), np.round(lat, 7).tolist()
    for p, x, y in zip(pairs, lon, lat):
        p[ix], p[iy] = x, y


def shift_features_json(features_json: str, coord_sys: str, crs: str = CRS84) -> str:
    """A JSON array of GeoJSON features, or one feature, re-drawn in ``coord_sys``."""
    if coord_sys == "wgs84":
        return features_json
    import json

    data = json.loads(features_json)
    features = data if isinstance(data, list) else [data]
    shift_geometry_objects([f.get("geometry") for f in features], coord_sys, flip=OUTPUT_CRS[crs][1])
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def parse_datetime(text: str | None) -> tuple[datetime | None, datetime | None] | None:
    """RFC 3339 instant, or interval ``start/end`` with ``..`` for an open end."""
    if not text:
        return None

    def one(part: str, end: bool) -> datetime | None:
        if part in ("..", ""):
            return None
        try:
            if len(part) == 10:  # a bare date means the whole day
                d = date.fromisoformat(part)
                moment = datetime.combine(d, time.max if end else time.min, tzinfo=SHANGHAI)
                return moment
            moment = datetime.fromisoformat(part.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"datetime {part!r} is not RFC 3339 (e.g. 2025-01-01T00:00:00Z)") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)

    if "/" in text:
        a, b = text.split("/", 1)
        start, stop = one(a, False), one(b, True)
    else:
        start, stop = one(text, False), one(text, True)
    if start and stop and start > stop:
        raise InvalidInput("datetime interval starts after it ends")
    return start, stop


def where_clause(coll: Collection, props: list[str], *, bbox=None, datetime_range=None,
                 filters: dict[str, str] | None = None) -> tuple[str, dict]:
    """The WHERE shared by items and tiles: bbox (CRS84), datetime and property equality."""
    w = Where(*([coll.where] if coll.where else []))
    if bbox is not None:
        w.add("t.geom && ST_MakeEnvelope(:?, :?, :?, :?, 4326) "
              "AND ST_Intersects(t.geom, ST_MakeEnvelope(:?, :?, :?, :?, 4326))", *bbox, *bbox)
    if datetime_range is not None and coll.datetime_column:
        w.period(f't."{coll.datetime_column}"', *datetime_range, end_inclusive=True)
    for name, value in (filters or {}).items():
        if name not in props:
            raise InvalidInput(f"unknown property {name!r} for {coll.id}; queryable: {', '.join(props)}")
        w.add(f't."{name}"::text = :?', value)
    return w.sql(), w.params


def _geometry_sql(crs: str) -> str:
    srid, flip = OUTPUT_CRS[crs]
    geom = "t.geom" if srid == 4326 else f"ST_Transform(t.geom, {srid})"
    if flip:
        geom = f"ST_FlipCoordinates({geom})"
    digits = 3 if srid == 4549 else 7  # millimetres in metres, about a centimetre in degrees
    return f"ST_AsGeoJSON({geom}, {digits})::json"


def _feature_sql(props: list[str], coll: Collection, crs: str = CRS84) -> str:
    pairs = ", ".join(f"'{c}', t.\"{c}\"" for c in props)
    return (
        "json_build_object('type', 'Feature', 'id', t.\"{id}\", "
        "'geometry', {geom}, "
        "'properties', json_build_object({pairs}))"
    ).format(id=coll.id_column, pairs=pairs, geom=_geometry_sql(crs))


def query_items(engine: Engine, collection_id: str, *, bbox=None, datetime_range=None, limit: int = 10,
                offset: int = 0, filters: dict[str, str] | None = None, staff: bool = False,
                crs: str = CRS84, coord_sys: str = "wgs84") -> dict:
    """Return ``{"features_json": str, "number_matched": int, "number_returned": int}``.

    ``coord_sys="gcj02"`` draws the output (and reads ``bbox``) in GCJ-02 for Gaode basemaps."""
    check_coord_sys_crs(coord_sys, crs)
    bbox = bbox_from_coord_sys(bbox, coord_sys)
    coll = get_collection(collection_id)
    props = property_columns(engine, coll, staff)
    where_sql, params = where_clause(coll, props, bbox=bbox, datetime_range=datetime_range, filters=filters)
    params.update(limit=limit, offset=offset)
    # The page and the match count in one statement: one round trip.
    sql = sa.text(
        f"SELECT coalesce(json_agg(f.feature ORDER BY f.ord), '[]'::json)::text AS features, count(*) AS n, "
        f"(SELECT count(*) FROM {coll.table} t {where_sql}) AS matched "
        f"FROM (SELECT {_feature_sql(props, coll, crs)} AS feature, row_number() OVER () AS ord "
        f"FROM (SELECT * FROM {coll.table} t {where_sql} ORDER BY t.\"{coll.id_column}\" "
        f"LIMIT :limit OFFSET :offset) t) f"
    )
    with engine.connect() as conn:
        row = conn.execute(sql, params).one()
    return {"features_json": shift_features_json(row.features, coord_sys, crs), "number_matched": row.matched,
            "number_returned": row.n}


def get_item(engine: Engine, collection_id: str, feature_id: str, *, staff: bool = False,
             crs: str = CRS84, coord_sys: str = "wgs84") -> str:
    """One feature of ``collection_id`` as GeoJSON text, found by its id column (compared as text),
    in ``crs`` and drawn in ``coord_sys``; staff-only properties only for ``staff``. NotFound
    for an unknown collection or feature."""
    check_coord_sys_crs(coord_sys, crs)
    coll = get_collection(collection_id)
    props = property_columns(engine, coll, staff)
    sql = sa.text(f"SELECT {_feature_sql(props, coll, crs)}::text FROM {coll.table} t "
                  f"WHERE t.\"{coll.id_column}\"::text = :fid")
    with engine.connect() as conn:
        feature = conn.execute(sql, {"fid": feature_id}).scalar()
    if feature is None:
        raise NotFound(f"feature {feature_id!r} not found in collection {collection_id!r}")
    return shift_features_json(feature, coord_sys, crs)


def extent(engine: Engine, collection_id: str) -> list[float] | None:
    """``[minlon, minlat, maxlon, maxlat]`` (WGS84, 7 decimals) of every geometry in the
    collection's table; None when the table is empty."""
    coll = get_collection(collection_id)
    with engine.connect() as conn:
        box = conn.execute(sa.text(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM {coll.table}) s"
        )).one()
    return None if box[0] is None else [round(v, 7) for v in box]
