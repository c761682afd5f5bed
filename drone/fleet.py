"""The fleet: stations (enforcement stations and service posts hosting drones), airframes
with their flight profile, pilots. ``seed`` picks a few Donggang and Lanshan service posts
outside controlled airspace (spread out, deterministic) and gives each a drone and a pilot."""
from __future__ import annotations

import numpy as np
import shapely
import sqlalchemy as sa
from geoalchemy2.shape import from_shape
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from citygrid.db.schema import drone_airframes, drone_pilots, drone_stations
from drone.model import Airframe, Station, lonlat, xy

# county -> number of stations to seed
SEED_COUNTIES = {"371102": 3, "371103": 2}
COUNTY_SHORT = {"371102": "东港", "371103": "岚山"}

# A light-class enforcement quadcopter (empty <= 4 kg) with megaphone and zoom camera;
# figures typical of the class (≈40 min nominal endurance, 15 m/s max, 12 m/s cruise).
DEFAULT_PROFILE = dict(model="enforcement quadcopter, light class, megaphone + zoom camera",
                       drone_class="light", cruise_speed_ms=12.0, climb_speed_ms=5.0,
                       endurance_min=38.0, reserve_pct=25.0, max_range_m=8000.0,
                       has_speaker=True, has_camera=True)


def pick_posts(posts: list[tuple[str, str, str, float, float]], controlled, per_county=SEED_COUNTIES):
    """From (code, name, county, x, y) rows, per county the posts outside ``controlled``
    chosen by farthest-point sampling from the lowest code."""
    chosen = []
    for county, n in sorted(per_county.items()):
        rows = sorted(r for r in posts if r[2] == county
                      and (controlled is None or not controlled.contains(shapely.Point(r[3], r[4]))))
        if not rows:
            continue
        pts = np.array([(r[3], r[4]) for r in rows])
        picked = [0]
        d = np.hypot(*(pts - pts[0]).T)
        while len(picked) < min(n, len(rows)):
            k = int(np.argmax(d))
            picked.append(k)
            d = np.minimum(d, np.hypot(*(pts - pts[k]).T))
        chosen += [rows[k] for k in picked]
    return chosen


def station_rows(chosen) -> list[dict]:
    """Station records for the posts ``pick_posts`` chose: per county the first becomes the
    enforcement station ``UAS-<county>-01``, the rest service posts ``UAS-<county>-NN``; x, y
    in EPSG:4549 metres."""
    out, count = [], {}
    for code, name, county, x, y in chosen:
        count[county] = count.get(county, 0) + 1
        k = count[county]
        kind = "enforcement_station" if k == 1 else "service_post"
        label = (f"{COUNTY_SHORT.get(county, county)}综合执法无人机站 ({name})" if k == 1
                 else f"{name}无人机停机点")
        out.append(dict(id=f"UAS-{county}-{k:02d}", name=label, kind=kind, post_code=code,
                        county_code=county, x=x, y=y))
    return out


def fleet_from_rows(rows: list[dict]) -> tuple[list[Station], list[Airframe]]:
    """Stations from ``station_rows`` records, and one ``DEFAULT_PROFILE`` airframe per station
    (``UAS-...`` becomes ``UAV-...``)."""
    stations = [Station(r["id"], r["name"], r["kind"], r["county_code"], r["x"], r["y"]) for r in rows]
    frames = [Airframe(id=s.id.replace("UAS-", "UAV-"), station_id=s.id, **DEFAULT_PROFILE) for s in stations]
    return stations, frames


def seed(engine: Engine) -> dict:
    """Insert the seed stations, drones and pilots (idempotent: existing ids are kept)."""
    with engine.begin() as conn:
        posts = conn.execute(sa.text("SELECT code, name, county_code, ST_X(geom), ST_Y(geom) FROM posts")).all()
        ctl = conn.execute(sa.text("SELECT ST_AsBinary(ST_Union(geom)) FROM airspace WHERE kind = 'controlled'")).scalar()
        if not posts:
            raise LookupError("no posts loaded: run `citygrid layers load` (or `demo load`) first")
        controlled = shapely.from_wkb(bytes(ctl)) if ctl else None
        controlled_m = None
        if controlled is not None:
            from gis.crs import to_m
            controlled_m = to_m(controlled)
        rows = [(c, n, cc, *xy(lon, lat)) for c, n, cc, lon, lat in posts]
        srows = station_rows(pick_posts(rows, controlled_m))
        stations, frames = fleet_from_rows(srows)
        for s, r in zip(stations, srows):
            lon, lat = lonlat(s.x, s.y)
            conn.execute(pg_insert(drone_stations).values(
                id=s.id, name=s.name, kind=s.kind, post_code=r["post_code"], county_code=s.county_code,
                geom=from_shape(shapely.Point(lon, lat), srid=4326)).on_conflict_do_nothing())
        for a in frames:
            conn.execute(pg_insert(drone_airframes).values(
                id=a.id, model=a.model, station_id=a.station_id, drone_class=a.drone_class,
                cruise_speed_ms=a.cruise_speed_ms, climb_speed_ms=a.climb_speed_ms,
                endurance_min=a.endurance_min, reserve_pct=a.reserve_pct, max_range_m=a.max_range_m,
                has_speaker=a.has_speaker, has_camera=a.has_camera).on_conflict_do_nothing())
        for k, s in enumerate(stations, start=1):
            conn.execute(pg_insert(drone_pilots).values(
                name=f"{s.county_code}飞手{k:02d}", licence_no=f"UTC-{s.county_code}-{k:04d}",
                station_id=s.id).on_conflict_do_nothing())
    return {"stations": [s.id for s in stations], "airframes": [a.id for a in frames]}
