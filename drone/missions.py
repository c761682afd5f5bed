"""Missions in the database: flight applications, planning a target flight or a survey
from a case / hotspot / point / grid, checking it against the rules, storing it (the
``missions`` collection) and exporting a stored mission.

A plan that breaks any rule is never stored: ``InvalidInput`` lists every violation.
"""
from __future__ import annotations

import json
from datetime import datetime

import shapely
import sqlalchemy as sa
from shapely.geometry import shape
from geoalchemy2.shape import from_shape
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from citygrid import vocab
from citygrid.db.schema import flight_applications, missions
from citygrid.errors import Conflict, Forbidden, InvalidInput, NotFound
from citygrid.idempotency import run_once
from citygrid.workcal import TZ
from drone import context as drone_context
from drone import plan as planner
from drone import rules, speaker
from drone.broadcast import resolve_text
from drone.model import Action, Context, Plan, Waypoint, xy
from gis.crs import geometry_to_wgs84, parse_coord_sys, point_to_wgs84, to_m


PLAN_ROLES = (vocab.Role.DRONE_OPERATOR, vocab.Role.COMMANDER)
APPLICATION_ROLES = (vocab.Role.COMMANDER,)


# --- flight applications ---------------------------------------------------------

def record_application(engine: Engine, *, reference: str, area_geojson: dict, valid_from: datetime,
                       valid_to: datetime, approver: str | None, recorded_by: str, role: str,
                       status: str = "approved", purpose: str | None = None, coord_sys: str = "wgs84") -> dict:
    """Record a flight application decided by the air-traffic authority (by a commander).
    ``coord_sys``: the frame the area's lon/lat are drawn in (wgs84, gcj02 from a Gaode map,
    bd09); it is stored in WGS84."""
    if role not in APPLICATION_ROLES:
        raise Forbidden("only a commander records flight applications")
    problems = []
    coord_sys = parse_coord_sys(coord_sys)
    try:
        g = geometry_to_wgs84(shape(area_geojson), coord_sys)
    except Exception as exc:  # noqa: BLE001 -- any malformed GeoJSON
        g = None
        problems.append({"where": "area", "problem": f"not a GeoJSON geometry: {exc}"})
    if g is not None and (g.geom_type not in ("Polygon", "MultiPolygon") or not g.is_valid or g.is_empty):
        problems.append({"where": "area", "problem": "must be a valid (Multi)Polygon in WGS84"})
    if valid_from.tzinfo is None or valid_to.tzinfo is None:
        problems.append({"where": "valid_from/valid_to", "problem": "need a time zone"})
    elif valid_to <= valid_from:
        problems.append({"where": "valid_to", "problem": "must be after valid_from"})
    if status == "approved" and not approver:
        problems.append({"where": "approver", "problem": "an approved application names its approver"})
    if status not in ("approved", "pending", "rejected", "revoked"):
        problems.append({"where": "status", "problem": "approved|pending|rejected|revoked"})
    if not reference:
        problems.append({"where": "reference", "problem": "required"})
    if problems:
        raise InvalidInput("invalid flight application", problems=problems)
    if g.geom_type == "Polygon":
        g = shapely.MultiPolygon([g])
    with engine.begin() as conn:
        row = conn.execute(pg_insert(flight_applications).values(
            reference=reference, status=status, valid_from=valid_from, valid_to=valid_to, approver=approver,
            purpose=purpose, recorded_by=recorded_by, geom=from_shape(g, srid=4326))
            .on_conflict_do_nothing(index_elements=["reference"])
            .returning(flight_applications.c.id)).first()
        if row is None:
            raise Conflict(f"flight application {reference!r} is already recorded")
    return get_application(engine, reference)


def get_application(engine: Engine, reference: str) -> dict:
    """Flight application ``reference`` with its area as GeoJSON; NotFound when there is none."""
    with engine.connect() as conn:
        r = conn.execute(sa.text(
            "SELECT reference, status, valid_from, valid_to, approver, purpose, recorded_by, "
            "ST_AsGeoJSON(geom)::json area FROM flight_applications WHERE reference = :r"), {"r": reference}).first()
    if r is None:
        raise NotFound(f"flight application {reference!r} not found")
    return json.loads(json.dumps(dict(r._mapping), default=str))


def list_applications(engine: Engine) -> list[dict]:
    """Every flight application, in the order recorded."""
    with engine.connect() as conn:
        refs = conn.execute(sa.text("SELECT reference FROM flight_applications ORDER BY id")).scalars().all()
    return [get_application(engine, r) for r in refs]


# --- targets ------------------------------------------------------------------------

def case_point(conn: Connection, case_id: str) -> tuple[float, float, int]:
    """(lon, lat, id) of a case given its numeric id or its public id (RZ-YYYY-NNNNNN)."""
    r = conn.execute(sa.text(
        "SELECT id, ST_X(geom) lon, ST_Y(geom) lat FROM cases WHERE id::text = :c OR service_request_id = :c"),
        {"c": str(case_id)}).first()
    if r is None:
        raise NotFound(f"case {case_id!r} not found")
    if r.lon is None:
        raise InvalidInput(f"case {case_id!r} has no location (address-only report)")
    return r.lon, r.lat, r.id


def hotspot_point(conn: Connection, hotspot_id) -> tuple[float, float]:
    """A hotspot cluster's point (a point on its surface, for a polygon unit)."""
    r = conn.execute(sa.text(
        "SELECT ST_X(p) lon, ST_Y(p) lat FROM (SELECT ST_PointOnSurface(geom) p FROM hotspots "
        "WHERE id::text = :h) s"), {"h": str(hotspot_id)}).first()
    if r is None:
        raise NotFound(f"hotspot {hotspot_id!r} not found")
    return r.lon, r.lat


def _county_at(conn: Connection, lon: float, lat: float) -> str | None:
    return conn.execute(sa.text(
        "SELECT county_code FROM subdistricts WHERE ST_Intersects(geom, ST_SetSRID(ST_Point(:x, :y), 4326)) "
        "ORDER BY code LIMIT 1"), {"x": lon, "y": lat}).scalar()


def _grid(conn: Connection, code: str):
    r = conn.execute(sa.text("SELECT county_code, ST_AsBinary(geom) g FROM grids WHERE code = :c"), {"c": code}).first()
    if r is None:
        raise NotFound(f"grid {code!r} not found")
    return r.county_code, to_m(shapely.from_wkb(bytes(r.g)))


def _broadcast_params(conn: Connection, spec: dict) -> list[dict]:
    out = []
    for b in spec.get("broadcasts") or []:
        code, text, _approved_by = resolve_text(conn, b.get("template"), b.get("variables"), b.get("text"))
        audio = speaker.synthesize(text)
        out.append(speaker.broadcast_params(audio, text, plays=int(b.get("plays", 2)),
                                            volume=int(b.get("volume", 80)), template=code))
    return out


def build_plan(engine: Engine, spec: dict, ctx: Context | None = None) -> tuple[Plan, dict]:
    """Plan from a request: ``kind`` target (``case_id`` | ``hotspot_id`` | ``lon``/``lat``) or survey
    (``grid_code``); options ``station_id, airframe_id, altitude_m, hold_s, capture, start,
    broadcasts [{template, variables | text, plays, volume}], quiet_override_by``."""
    ctx = ctx or drone_context.load(engine)
    if not ctx.stations:
        raise NotFound("no drone stations: run `citygrid drone seed`")
    start = spec.get("start") or datetime.now(TZ)
    if isinstance(start, str):
        start = datetime.fromisoformat(start)
    if start.tzinfo is None:
        start = start.replace(tzinfo=TZ)
    kind = spec.get("kind", "target")
    extra: dict = {}
    with engine.connect() as conn:
        if kind == "survey":
            if not spec.get("grid_code"):
                raise InvalidInput("a survey needs grid_code")
            county, poly = _grid(conn, spec["grid_code"])
            p = planner.plan_survey(ctx, poly, start=start, station_id=spec.get("station_id"),
                                    airframe_id=spec.get("airframe_id"),
                                    altitude_m=float(spec.get("altitude_m") or 80.0),
                                    side_overlap=float(spec.get("side_overlap") or 0.7))
            extra.update(grid_code=spec["grid_code"], county_code=county)
        elif kind == "target":
            if spec.get("case_id") is not None:
                lon, lat, cid = case_point(conn, spec["case_id"])
                extra["case_id"] = cid
            elif spec.get("hotspot_id") is not None:
                lon, lat = hotspot_point(conn, spec["hotspot_id"])
            elif spec.get("lon") is not None and spec.get("lat") is not None:
                # a target picked on a Gaode (gcj02) or Baidu (bd09) map: stored and flown in WGS84
                lon, lat = point_to_wgs84(float(spec["lon"]), float(spec["lat"]),
                                          parse_coord_sys(spec.get("coord_sys")))
            else:
                raise InvalidInput("a target flight needs case_id, hotspot_id or lon/lat")
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise InvalidInput("lon/lat out of range")
            bparams = _broadcast_params(conn, spec)
            try:
                p = planner.plan_target(ctx, xy(lon, lat), start=start, station_id=spec.get("station_id"),
                                        airframe_id=spec.get("airframe_id"),
                                        altitude_m=float(spec.get("altitude_m") or planner.DEFAULT_ALT_M),
                                        hold_s=float(spec.get("hold_s") or planner.DEFAULT_HOLD_S),
                                        capture=spec.get("capture", "photo"), broadcasts=bparams,
                                        quiet_override_by=None)
            except KeyError as exc:
                raise NotFound(f"station {exc.args[0]!r} not found") from None
            except LookupError as exc:
                raise NotFound(str(exc)) from None
            extra.update(county_code=_county_at(conn, lon, lat), target_lon=lon, target_lat=lat)
            if spec.get("quiet_override_id") is not None:
                p.quiet_override_by = _override_by(conn, spec["quiet_override_id"], p)
        else:
            raise InvalidInput("kind must be target or survey")
    return p, extra


def _override_by(conn: Connection, override_id, p: Plan) -> str:
    """The commander whose override (for this drone, valid over the whole flight) allows
    broadcasts in quiet hours."""
    r = conn.execute(sa.text("SELECT granted_by, drone_id, valid_from, valid_to FROM broadcast_overrides "
                             "WHERE id = :i"), {"i": int(override_id)}).first()
    if r is None:
        raise NotFound(f"override {override_id} not found")
    if r.drone_id != p.airframe.id or r.valid_from > p.start or r.valid_to < p.end:
        raise InvalidInput(f"override {override_id} is for {r.drone_id} from {r.valid_from} to {r.valid_to}; "
                           f"the flight is {p.airframe.id} {p.start}..{p.end}")
    return r.granted_by


def check_spec(engine: Engine, spec: dict) -> dict:
    """Plan and check without storing: the plan and its violations."""
    ctx = drone_context.load(engine)
    p, _ = build_plan(engine, spec, ctx)
    return {"plan": p.to_dict(), "violations": rules.check(p, ctx)}


def create_mission(engine: Engine, spec: dict, username: str, role: str,
                   idempotency_key: str | None = None) -> tuple[dict, bool]:
    """Plan, enforce every rule, store; (mission, replayed)."""
    if role not in PLAN_ROLES:
        raise Forbidden(f"role {role!r} may not plan drone missions")
    ctx = drone_context.load(engine)
    p, extra = build_plan(engine, spec, ctx)
    rules.enforce(p, ctx)
    payload = json.loads(json.dumps(spec, default=str))

    def work(conn: Connection):
        route = shapely.LineString([w.lonlat for w in p.waypoints])
        mid = conn.execute(sa.insert(missions).values(
            kind=p.kind, station_id=p.station.id, airframe_id=p.airframe.id, application_ref=p.application_ref,
            planned_start=p.start, planned_end=p.end, duration_s=p.duration_s, distance_m=p.distance_m,
            max_height_m=p.max_height_m, plan=p.to_dict(), created_by=username,
            geom=from_shape(route, srid=4326), **extra).returning(missions.c.id)).scalar_one()
        return _mission(conn, mid)

    return run_once(engine, "drone.mission", f"user:{username}", idempotency_key, payload, work)


def _mission(conn: Connection, mission_id) -> dict:
    r = conn.execute(sa.text(
        "SELECT id, kind, status, station_id, airframe_id, case_id, grid_code, application_ref, county_code, "
        "planned_start, planned_end, duration_s, distance_m, max_height_m, target_lon, target_lat, plan, "
        "created_by, created_at, ST_AsGeoJSON(geom, 7)::json route FROM missions WHERE id::text = :i"),
        {"i": str(mission_id)}).first()
    if r is None:
        raise NotFound(f"mission {mission_id!r} not found")
    return json.loads(json.dumps(dict(r._mapping), default=str))


def get_mission(engine: Engine, mission_id) -> dict:
    """Stored mission ``mission_id`` (plan, route, checks, status); NotFound when there is none."""
    with engine.connect() as conn:
        return _mission(conn, mission_id)


def set_status(engine: Engine, mission_id: int, status: str) -> None:
    """Set a stored mission's status (planned, flying, done, ...)."""
    with engine.begin() as conn:
        conn.execute(sa.update(missions).where(missions.c.id == mission_id).values(status=status))


def plan_from_record(engine: Engine, mission: dict, ctx: Context | None = None) -> tuple[Plan, Context]:
    """Rebuild a Plan from a stored mission (for export and simulation)."""
    ctx = ctx or drone_context.load(engine)
    d = mission["plan"]
    wps = []
    for w in d["waypoints"]:
        x, y = xy(w["lon"], w["lat"])
        acts = [Action(a["kind"], {k: v for k, v in a.items() if k != "kind"}) for a in w["actions"]]
        talk = sum(a.params["duration_s"] * a.params.get("plays", 1) for a in acts if a.kind == "broadcast")
        hold = w["hold_s"] if w["hold_s"] > talk else 0.0
        wps.append(Waypoint(x, y, w["alt_m"], w["kind"], hold_s=hold, actions=acts))
    st = ctx.station(d["station_id"])
    af = next(a for a in ctx.airframes if a.id == d["airframe_id"])
    start = datetime.fromisoformat(d["start"])
    tgt = xy(d["target"]["lon"], d["target"]["lat"]) if d.get("target") else None
    p = Plan(d["kind"], st, af, wps, start, target=tgt, application_ref=d.get("application_ref"))
    return p, ctx
