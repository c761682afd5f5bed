"""The planning context (airspace zones, crowds, flight applications, fleet) in EPSG:4549,
loaded from PostGIS or built from in-memory layers (tests, benchmarks)."""
from __future__ import annotations


import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from drone import fleet
from drone.model import Airframe, Application, Context, Crowd, Station, Zone, parse_busy_hours, xy
from citygrid.cache import Cache
from gis.crs import METRIC, to_m

CROWD_KINDS = ("market", "night_market")
CROWD_RADIUS_M = 100.0  # a market's crowd footprint around its point


def _crowd(pid, name, kind, busy, geom_m) -> Crowd:
    return Crowd(f"poi-{pid}", name or kind, kind, tuple(parse_busy_hours(busy)),
                 shapely.buffer(geom_m, CROWD_RADIUS_M, quad_segs=4))


def from_layers(layers: dict, applications: list[Application] | None = None) -> Context:
    """A context from ``gis.layers.build_all()`` output with the seed fleet."""
    air = layers["airspace"].to_crs(METRIC)
    zones = [Zone(r.id, r.name, r.kind, r.floor_m, r.ceiling_m, r.geometry) for r in air.itertuples()]
    pois = layers["pois"]
    pois = pois[pois["kind"].isin(CROWD_KINDS)].to_crs(METRIC)
    crowds = [_crowd(r.id, r.name, r.kind, r.busy_hours, r.geometry) for r in pois.itertuples()]
    posts = layers["posts"].to_crs(METRIC)
    ctl = shapely.union_all([z.geom for z in zones if z.kind == "controlled"])
    rows = [(r.code, r.name, r.county_code, r.geometry.x, r.geometry.y) for r in posts.itertuples()]
    stations, frames = fleet.fleet_from_rows(fleet.station_rows(fleet.pick_posts(rows, ctl)))
    return Context(zones, crowds, list(applications or []), stations, frames)


# zones and crowds come from the layers, stations and airframes from `drone seed`
STATIC = Cache("drone planning context", ttl_s=60.0)


def load(engine: Engine, *, fresh: bool = False) -> Context:
    """Zones, crowds and fleet (``citygrid.cache`` policy) plus the current applications."""
    if fresh:
        STATIC.clear()
    base = STATIC.get(str(engine.url), lambda: _load_static(engine))
    ctx = Context(base.zones, base.crowds, load_applications(engine), base.stations, base.airframes,
                  base._cache)
    return ctx


def _load_static(engine: Engine) -> Context:
    with engine.connect() as conn:
        zones = [Zone(r.id, r.name, r.kind, r.floor_m, r.ceiling_m, to_m(shapely.from_wkb(bytes(r.g))))
                 for r in conn.execute(sa.text(
                     "SELECT id, name, kind, floor_m, ceiling_m, ST_AsBinary(geom) g FROM airspace ORDER BY id"))]
        crowds = [_crowd(r.id, r.name, r.kind, r.busy_hours, to_m(shapely.from_wkb(bytes(r.g))))
                  for r in conn.execute(sa.text(
                      "SELECT id, name, kind, busy_hours, ST_AsBinary(geom) g FROM pois "
                      "WHERE kind = ANY(:k) ORDER BY id"), {"k": list(CROWD_KINDS)})]
        stations = [Station(r.id, r.name, r.kind, r.county_code, *_xy(r.lon, r.lat))
                    for r in conn.execute(sa.text(
                        "SELECT id, name, kind, county_code, ST_X(geom) lon, ST_Y(geom) lat FROM drone_stations "
                        "WHERE active ORDER BY id"))]
        frames = [Airframe(r.id, r.model, r.station_id, r.drone_class, r.cruise_speed_ms, r.climb_speed_ms,
                           r.endurance_min, r.reserve_pct, r.max_range_m, r.has_speaker, r.has_camera)
                  for r in conn.execute(sa.text("SELECT * FROM drone_airframes WHERE active ORDER BY id"))]
    return Context(zones, crowds, [], stations, frames)


def _xy(lon, lat):
    return xy(lon, lat)


def load_applications(engine: Engine) -> list[Application]:
    """The approved flight applications on record, areas in EPSG:4549; read on every call (not cached)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT reference, status, valid_from, valid_to, approver, ST_AsBinary(geom) g "
            "FROM flight_applications WHERE status = 'approved' ORDER BY id")).all()
    return [Application(r.reference, to_m(shapely.from_wkb(bytes(r.g))), r.valid_from, r.valid_to,
                        r.approver, r.status) for r in rows]


def invalidate() -> None:
    """Forget the cached context (the fleet changed)."""
    STATIC.clear()
