"""Feature collections served the OGC API Features way, as plain functions over PostGIS.

A collection is a table with an id column and a WGS84 geometry. GeoJSON is assembled inside
PostgreSQL (one round trip, no per-row Python), and the API layer only wraps it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from citygrid import vocab
from citygrid.errors import InvalidInput, NotFound


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


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` in CRS84; anything else is refused with the reason."""
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
    if not (-180 <= x1 <= 180 and -180 <= x2 <= 180):
        problems.append("longitudes must lie in -180..180")
    if not (-90 <= y1 <= 90 and -90 <= y2 <= 90):
        problems.append("latitudes must lie in -90..90 (lon/lat swapped?)")
    if x1 > x2 or y1 > y2:
        problems.append("bbox minimum exceeds maximum")
    if problems:
        raise InvalidInput("invalid bbox: " + "; ".join(problems))
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


def _feature_sql(props: list[str], coll: Collection) -> str:
    pairs = ", ".join(f"'{c}', t.\"{c}\"" for c in props)
    return (
        "json_build_object('type', 'Feature', 'id', t.\"{id}\", "
        "'geometry', ST_AsGeoJSON(t.geom, 7)::json, "
        "'properties', json_build_object({pairs}))"
    ).format(id=coll.id_column, pairs=pairs)


def query_items(engine: Engine, collection_id: str, *, bbox=None, limit: int = 10, offset: int = 0,
                filters: dict[str, str] | None = None, staff: bool = False) -> dict:
    """Return ``{"features_json": str, "number_matched": int, "number_returned": int}``."""
    coll = get_collection(collection_id)
    props = property_columns(engine, coll, staff)
    where, params = [], {"limit": limit, "offset": offset}
    if coll.where:
        where.append(coll.where)
    if bbox is not None:
        where.append("t.geom && ST_MakeEnvelope(:x1, :y1, :x2, :y2, 4326) "
                     "AND ST_Intersects(t.geom, ST_MakeEnvelope(:x1, :y1, :x2, :y2, 4326))")
        params.update(x1=bbox[0], y1=bbox[1], x2=bbox[2], y2=bbox[3])
    for i, (name, value) in enumerate((filters or {}).items()):
        if name not in props:
            raise InvalidInput(f"unknown property {name!r} for {collection_id}; queryable: {', '.join(props)}")
        where.append(f"t.\"{name}\"::text = :f{i}")
        params[f"f{i}"] = value
    where_sql = ("WHERE " + " AND ".join(where)) if where else ""
    sql = sa.text(
        f"SELECT coalesce(json_agg(f.feature ORDER BY f.ord), '[]'::json)::text AS features, count(*) AS n "
        f"FROM (SELECT {_feature_sql(props, coll)} AS feature, row_number() OVER () AS ord "
        f"FROM (SELECT * FROM {coll.table} t {where_sql} ORDER BY t.\"{coll.id_column}\" "
        f"LIMIT :limit OFFSET :offset) t) f"
    )
    count_sql = sa.text(f"SELECT count(*) FROM {coll.table} t {where_sql}")
    with engine.connect() as conn:
        row = conn.execute(sql, params).one()
        matched = conn.execute(count_sql, params).scalar_one()
    return {"features_json": row.features, "number_matched": matched, "number_returned": row.n}


def get_item(engine: Engine, collection_id: str, feature_id: str, *, staff: bool = False) -> str:
    coll = get_collection(collection_id)
    props = property_columns(engine, coll, staff)
    sql = sa.text(f"SELECT {_feature_sql(props, coll)}::text FROM {coll.table} t "
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
