"""Feature collections served the OGC API Features way, as plain functions over PostGIS.

A collection is a table with an id column and a WGS84 geometry. GeoJSON is assembled inside
PostgreSQL (one round trip, no per-row Python), and the API layer only wraps it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from citygrid import vocab
from citygrid.errors import InvalidInput, NotFound
from citygrid.workcal import TZ as SHANGHAI


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    table: str
    id_column: str
    description: str = ""
    datetime_column: str | None = None
    # Columns only staff may read (personal data); hidden from public readers.
    staff_only: tuple[str, ...] = ()
    # Restrict rows, e.g. only communities that have a polygon.
    where: str | None = None
    item_type: str = "feature"
    properties: tuple[str, ...] = field(default=())


_REGISTRY: dict[str, Collection] = {}


def register(coll: Collection) -> Collection:
    _REGISTRY[coll.id] = coll
    return coll


for _c in (
    Collection(vocab.DISTRICTS, "Districts and counties", "districts", "code",
               "Rizhao's county-level units: real outlines (Amap, converted GCJ-02 to WGS84) and the development zone."),
    Collection(vocab.SUBDISTRICTS, "Subdistricts (街道/乡镇)", "subdistricts", "code",
               "56 towns and streets with official codes; boundaries GENERATED."),
    Collection(vocab.COMMUNITIES, "Communities (社区/村)", "communities", "code",
               "All official village-level units; polygons (GENERATED) for the 117 with service posts."),
    Collection(vocab.GRIDS, "Urban-management grids (城市网格)", "grids", "code",
               "76 grids tiling the urban cores; 14-digit CJ/T 213 codes; GENERATED geometry."),
    Collection(vocab.POSTS, "Community service posts (城市管理服务岗)", "posts", "code",
               "117 posts, one per community; GENERATED locations."),
    Collection(vocab.ROADS, "Streets", "roads", "id", "GENERATED street network of the urban cores."),
    Collection(vocab.POIS, "Places of interest", "pois", "id",
               "GENERATED markets, night markets, schools, nightlife, construction sites, urban villages."),
    Collection(vocab.AIRSPACE, "Airspace: prohibited and controlled zones", "airspace", "id",
               "Airport clearance area (published local rule) and other zones."),
):
    register(_c)


def collections() -> list[Collection]:
    return list(_REGISTRY.values())


def get_collection(collection_id: str) -> Collection:
    try:
        return _REGISTRY[collection_id]
    except KeyError:
        raise NotFound(f"collection {collection_id!r} not found; available: {', '.join(_REGISTRY)}") from None


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


def _columns(engine: Engine, coll: Collection) -> list[str]:
    return _table_columns(engine, coll.table)


_COLUMN_CACHE: dict[tuple[str, str], list[str]] = {}


def _table_columns(engine: Engine, table: str) -> list[str]:
    key = (str(engine.url), table)
    if key not in _COLUMN_CACHE:
        with engine.connect() as conn:
            cols = conn.execute(sa.text(
                "SELECT column_name FROM information_schema.columns WHERE table_name = :t "
                "AND table_schema = 'public' ORDER BY ordinal_position"), {"t": table}).scalars().all()
        if not cols:
            raise NotFound(f"collection table {table!r} does not exist (run `citygrid db migrate`)")
        _COLUMN_CACHE[key] = list(cols)
    return _COLUMN_CACHE[key]


def property_columns(engine: Engine, coll: Collection, staff: bool) -> list[str]:
    hidden = {"geom"} | (set() if staff else set(coll.staff_only))
    return [c for c in _columns(engine, coll) if c not in hidden]


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
    where, params = [], {}
    if coll.where:
        where.append(coll.where)
    if bbox is not None:
        where.append("t.geom && ST_MakeEnvelope(:x1, :y1, :x2, :y2, 4326) "
                     "AND ST_Intersects(t.geom, ST_MakeEnvelope(:x1, :y1, :x2, :y2, 4326))")
        params.update(x1=bbox[0], y1=bbox[1], x2=bbox[2], y2=bbox[3])
    if datetime_range is not None and coll.datetime_column:
        start, stop = datetime_range
        if start is not None:
            where.append(f"t.\"{coll.datetime_column}\" >= :dt_start")
            params["dt_start"] = start
        if stop is not None:
            where.append(f"t.\"{coll.datetime_column}\" <= :dt_stop")
            params["dt_stop"] = stop
    for i, (name, value) in enumerate((filters or {}).items()):
        if name not in props:
            raise InvalidInput(f"unknown property {name!r} for {coll.id}; queryable: {', '.join(props)}")
        where.append(f"t.\"{name}\"::text = :f{i}")
        params[f"f{i}"] = value
    return ("WHERE " + " AND ".join(where)) if where else "", params


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
                crs: str = CRS84) -> dict:
    """Return ``{"features_json": str, "number_matched": int, "number_returned": int}``."""
    coll = get_collection(collection_id)
    props = property_columns(engine, coll, staff)
    where_sql, params = where_clause(coll, props, bbox=bbox, datetime_range=datetime_range, filters=filters)
    params.update(limit=limit, offset=offset)
    sql = sa.text(
        f"SELECT coalesce(json_agg(f.feature ORDER BY f.ord), '[]'::json)::text AS features, count(*) AS n "
        f"FROM (SELECT {_feature_sql(props, coll, crs)} AS feature, row_number() OVER () AS ord "
        f"FROM (SELECT * FROM {coll.table} t {where_sql} ORDER BY t.\"{coll.id_column}\" "
        f"LIMIT :limit OFFSET :offset) t) f"
    )
    count_sql = sa.text(f"SELECT count(*) FROM {coll.table} t {where_sql}")
    with engine.connect() as conn:
        row = conn.execute(sql, params).one()
        matched = conn.execute(count_sql, params).scalar_one()
    return {"features_json": row.features, "number_matched": matched, "number_returned": row.n}


def get_item(engine: Engine, collection_id: str, feature_id: str, *, staff: bool = False,
             crs: str = CRS84) -> str:
    coll = get_collection(collection_id)
    props = property_columns(engine, coll, staff)
    sql = sa.text(f"SELECT {_feature_sql(props, coll, crs)}::text FROM {coll.table} t "
                  f"WHERE t.\"{coll.id_column}\"::text = :fid")
    with engine.connect() as conn:
        feature = conn.execute(sql, {"fid": feature_id}).scalar()
    if feature is None:
        raise NotFound(f"feature {feature_id!r} not found in collection {collection_id!r}")
    return feature


def extent(engine: Engine, collection_id: str) -> list[float] | None:
    coll = get_collection(collection_id)
    with engine.connect() as conn:
        box = conn.execute(sa.text(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM {coll.table}) s"
        )).one()
    return None if box[0] is None else [round(v, 7) for v in box]
