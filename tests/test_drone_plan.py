"""Drone planning and rules with the real layers: going around the airport clearance area,
refusals that name every waypoint and rule, applications, the API and the CLI."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import shapely
import sqlalchemy as sa

from citygrid.errors import InvalidInput
from tests import mavlink_spec, wpml_spec
from citygrid.workcal import TZ
from drone import context, plan, rules
from drone.model import Application, parse_busy_hours, busy_overlap, xy

DAY = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)  # 10:00, outside every market's busy hours
CITY_A = (119.509, 35.423)     # Donggang, north-east of the clearance area
CITY_B = (119.565, 35.345)     # south-east of it: the straight line cuts its corner
AIRPORT_TARGET = (119.47, 35.40)  # inside the clearance area, in the city core
ISLANDS = "371103200"


@pytest.fixture(scope="module")
def ctx(built_layers):
    return context.from_layers(built_layers)


@pytest.fixture(scope="module")
def controlled(ctx):
    return next(z.geom for z in ctx.zones if z.kind == "controlled")


def rules_of(violations):
    return {v["rule"] for v in violations}


def test_route_between_two_city_points_goes_around_the_controlled_zone(ctx, controlled):
    a, b = xy(*CITY_A), xy(*CITY_B)
    straight = shapely.LineString([a, b])
    assert straight.intersects(controlled)
    obs = plan.obstacles(ctx, DAY, DAY + timedelta(hours=1))
    path = plan.route(a, b, obs)
    line = shapely.LineString(path)
    assert len(path) > 2
    assert not line.intersects(controlled)
    assert line.distance(controlled) >= plan.MARGIN_M - plan.SIMPLIFY_M - 1
    assert straight.length < line.length < 2 * straight.length
    assert path[0] == a and path[-1] == b


def test_stations_are_seeded_outside_controlled_airspace_in_both_counties(ctx, controlled):
    assert {s.county_code for s in ctx.stations} == {"371102", "371103"}
    assert not any(controlled.contains(s.point) for s in ctx.stations)


def test_target_in_airport_area_refused_without_application_accepted_with_one(ctx, controlled):
    tgt = xy(*AIRPORT_TARGET)
    p = plan.plan_target(ctx, tgt, start=DAY)
    v = rules.check(p, ctx)
    assert rules_of(v) == {"controlled_zone"}
    target_idx = next(i for i, w in enumerate(p.waypoints) if w.kind == "target")
    assert target_idx in {x["waypoint"] for x in v}
    assert all(x["zone"] == "ZSRZ-clearance" and f"waypoint {x['waypoint']}" in x["message"] for x in v)
    with pytest.raises(Exception) as exc:
        rules.enforce(p, ctx)
    assert isinstance(exc.value, InvalidInput) and exc.value.problems == v

    area = shapely.box(*p.route().buffer(500).bounds)
    app = Application("RZ-UAS-2026-0001", area, DAY - timedelta(hours=1), DAY + timedelta(hours=3), "ZSQD ATC")
    ctx2 = context.Context(ctx.zones, ctx.crowds, [app], ctx.stations, ctx.airframes)
    p2 = plan.plan_target(ctx2, tgt, start=DAY)
    assert rules.check(p2, ctx2) == []
    assert p2.application_ref == "RZ-UAS-2026-0001"
    # the same application does not cover a flight outside its time window
    late = DAY + timedelta(hours=5)
    p3 = plan.plan_target(ctx2, tgt, start=late)
    assert "controlled_zone" in rules_of(rules.check(p3, ctx2))


def test_121_m_refused_at_every_waypoint_120_allowed(ctx):
    tgt = xy(119.55, 35.44)
    p = plan.plan_target(ctx, tgt, start=DAY, altitude_m=121)
    v = rules.check(p, ctx)
    assert rules_of(v) == {"max_height"}
    assert [x["waypoint"] for x in v] == list(range(len(p.waypoints)))
    assert rules.check(plan.plan_target(ctx, tgt, start=DAY, altitude_m=120), ctx) == []


def test_offshore_islands_refused_from_every_mainland_station(ctx, built_layers):
    subs = built_layers["subdistricts"].to_crs(3857)
    isl = built_layers["subdistricts"][built_layers["subdistricts"]["code"] == ISLANDS].geometry.iloc[0]
    assert len(subs)
    for part in isl.geoms:
        c = part.representative_point()
        for st in ctx.stations:
            p = plan.plan_target(ctx, xy(c.x, c.y), start=DAY, station_id=st.id)
            v = rules.check(p, ctx)
            assert "endurance" in rules_of(v), st.id
            assert all(isinstance(x["waypoint"], int) for x in v)
    # and without naming a station: none can reach
    p = plan.plan_target(ctx, xy(*isl.geoms[0].representative_point().coords[0]), start=DAY)
    assert "endurance" in rules_of(rules.check(p, ctx))
    assert any("no station can reach" in n for n in p.notes)


def test_prohibited_zone_refused_even_with_an_application(ctx):
    sub = next(z for z in ctx.zones if z.id == "GEN-substation-01")
    c = sub.geom.centroid
    app = Application("RZ-UAS-ANY", sub.geom.buffer(20_000), DAY - timedelta(hours=1), DAY + timedelta(hours=3), "x")
    ctx2 = context.Context(ctx.zones, ctx.crowds, [app], ctx.stations, ctx.airframes)
    v = rules.check(plan.plan_target(ctx2, (c.x, c.y), start=DAY), ctx2)
    assert "prohibited_zone" in rules_of(v)
    assert all(x["zone"] == "GEN-substation-01" for x in v if x["rule"] == "prohibited_zone")


def test_route_avoids_prohibited_zone_between_points(ctx):
    sub = next(z for z in ctx.zones if z.id == "GEN-substation-01")
    c = sub.geom.centroid
    a, b = (c.x - 1500, c.y - 40), (c.x + 1500, c.y + 40)
    path = plan.route(a, b, plan.obstacles(ctx, DAY, DAY + timedelta(hours=1)))
    assert not shapely.LineString(path).intersects(sub.geom)


def test_night_market_crowd_needs_an_application_at_busy_hours(ctx):
    nm = next(c for c in ctx.crowds if c.kind == "night_market" and c.name == "福海夜市")
    tgt = (nm.geom.centroid.x, nm.geom.centroid.y)
    evening = datetime(2026, 12, 1, 20, 0, tzinfo=TZ)
    v = rules.check(plan.plan_target(ctx, tgt, start=evening), ctx)
    assert "crowd" in rules_of(v)
    assert rules.check(plan.plan_target(ctx, tgt, start=DAY), ctx) == []


def test_busy_hours_parsing():
    spans = parse_busy_hours("Mo-Su 06:00-09:00,16:30-18:00")
    assert len(spans) == 2 and spans[0][0] == frozenset(range(7))
    assert busy_overlap(spans, datetime(2026, 12, 1, 8, 50, tzinfo=TZ), datetime(2026, 12, 1, 9, 10, tzinfo=TZ))
    assert not busy_overlap(spans, datetime(2026, 12, 1, 9, 1, tzinfo=TZ), datetime(2026, 12, 1, 16, 0, tzinfo=TZ))
    late = parse_busy_hours("Fr-Sa 22:00-02:00")
    sat_1am = datetime(2026, 12, 5, 1, 0, tzinfo=TZ)  # Saturday 01:00 belongs to Friday's span
    assert busy_overlap(late, sat_1am, sat_1am + timedelta(minutes=5))
    with pytest.raises(ValueError):
        parse_busy_hours("Mo-Su 6-9")


def test_survey_sweeps_the_largest_grid(ctx, built_layers):
    g = built_layers["grids"].to_crs(3857)
    grids_m = built_layers["grids"].to_crs("EPSG:4549")
    poly = grids_m.geometry[grids_m.area.idxmax()]
    assert len(g)
    p = plan.plan_survey(ctx, poly, start=DAY, altitude_m=100, side_overlap=0.6)
    survey = [w for w in p.waypoints if w.kind == "survey"]
    assert len(survey) >= 10
    pts = shapely.MultiPoint([(w.x, w.y) for w in survey])
    assert poly.buffer(5).contains(pts)
    spacing = plan.footprint_width(100, 84.0) * 0.4
    # coverage: every point of the grid is within a footprint half-width of a pass
    passes = shapely.MultiLineString([[(a.x, a.y), (b.x, b.y)] for a, b in zip(survey[::2], survey[1::2])])
    assert passes.buffer(spacing / 2 + 1).union(poly.exterior.buffer(spacing)).covers(poly)


# --- with the database and the API ---------------------------------------------------

def test_api_refuses_then_accepts_with_recorded_application(drone_db, http, make_user):
    op = make_user("drone_op_plan", "drone_operator")
    cmd = make_user("drone_cmd_plan", "commander")
    body = {"lon": AIRPORT_TARGET[0], "lat": AIRPORT_TARGET[1], "start": DAY.isoformat()}
    r = http.post("/api/drone/missions", json=body, headers=op)
    assert r.status_code == 422, r.text
    problems = r.json()["problems"]
    assert problems and all(p["rule"] == "controlled_zone" and isinstance(p["waypoint"], int) for p in problems)

    chk = http.post("/api/drone/missions/check", json=body, headers=op).json()
    area = shapely.box(*shapely.LineString([(w["lon"], w["lat"]) for w in chk["plan"]["waypoints"]]).buffer(0.01).bounds)
    app = {"reference": "RZ-UAS-2026-0101", "area": shapely.geometry.mapping(area),
           "valid_from": (DAY - timedelta(hours=1)).isoformat(), "valid_to": (DAY + timedelta(hours=2)).isoformat(),
           "approver": "民航山东监管局 / 战区空管 (recorded)", "purpose": "enforcement evidence flight"}
    assert http.post("/api/drone/applications", json=app, headers=op).status_code == 403
    r = http.post("/api/drone/applications", json=app, headers=cmd)
    assert r.status_code == 201, r.text
    r = http.post("/api/drone/missions", json=body, headers={**op, "Idempotency-Key": "m-airport-1"})
    assert r.status_code == 201, r.text
    m = r.json()
    assert m["application_ref"] == "RZ-UAS-2026-0101" and m["route"]["type"] == "LineString"
    again = http.post("/api/drone/missions", json=body, headers={**op, "Idempotency-Key": "m-airport-1"})
    assert again.status_code == 200 and again.json()["id"] == m["id"]
    # served as the `missions` collection
    items = http.get("/collections/missions/items", headers=op)
    assert items.status_code == 200, items.text
    assert any(f["id"] == m["id"] for f in items.json()["features"])


def test_api_121_m_and_patrol_officer_refused(drone_db, http, make_user):
    op = make_user("drone_op_plan", "drone_operator")
    r = http.post("/api/drone/missions", json={"lon": 119.55, "lat": 35.44, "altitude_m": 121,
                                                "start": DAY.isoformat()}, headers=op)
    assert r.status_code == 422
    assert {p["rule"] for p in r.json()["problems"]} == {"max_height"}
    po = make_user("patrol_plan", "patrol_officer")
    assert http.post("/api/drone/missions", json={"lon": 119.55, "lat": 35.44}, headers=po).status_code == 403


def _cli(settings, *args):
    env = {**os.environ, "CITYGRID_DB_NAME": settings.db_name}
    if settings.database_url:
        env["CITYGRID_DATABASE_URL"] = settings.database_url
    exe = Path(sys.executable).parent / "citygrid"
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=120)


def test_cli_plan_exports_and_refuses(drone_db, settings, tmp_path):
    out = tmp_path / "m.plan"
    r = _cli(settings, "drone", "plan", "--target", "119.55,35.44", "--start", DAY.isoformat(), "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert mavlink_spec.check_plan(out.read_text()) == []
    # the example, as a new user would run it
    kmz = tmp_path / "x.kmz"
    r = _cli(settings, "drone", "plan", "--target", "119.548,35.445", "--start", DAY.isoformat(), "--out", str(kmz))
    assert r.returncode == 0, r.stdout + r.stderr
    assert wpml_spec.check_kmz(str(kmz)).problems == []
    r = _cli(settings, "drone", "plan", "--target", "119.55,35.44", "--altitude", "121",
             "--start", DAY.isoformat(), "--out", str(tmp_path / "bad.plan"))
    assert r.returncode == 2
    assert "max_height" in r.stderr and "Traceback" not in r.stderr and not (tmp_path / "bad.plan").exists()


def test_api_targets_from_a_case_and_a_hotspot(drone_db, http, make_user, owner_engine):
    op = make_user("drone_op_plan", "drone_operator")
    r = http.post("/api/cases", json={"category": "occupied_road", "lon": 119.552, "lat": 35.441,
                                      "description": "drone target probe", "source": "patrol"}, headers=op)
    assert r.status_code == 201, r.text
    case = r.json()
    chk = http.post("/api/drone/missions/check", json={"case_id": case["service_request_id"],
                                                       "start": DAY.isoformat()}, headers=op)
    assert chk.status_code == 200, chk.text
    tgt = chk.json()["plan"]["target"]
    assert (tgt["lon"], tgt["lat"]) == pytest.approx((119.552, 35.441), abs=1e-6)
    assert chk.json()["violations"] == []
    r = http.post("/api/drone/missions", json={"case_id": str(case["id"]), "start": DAY.isoformat()}, headers=op)
    assert r.status_code == 201 and r.json()["case_id"] == case["id"]

    with owner_engine.begin() as conn:
        hid = conn.execute(sa.text(
            "INSERT INTO hotspots (run_id, method, unit, category, count, geom) VALUES "
            "('drone-probe', 'gi_star', 'h3', 'all', 7, ST_SetSRID(ST_Point(119.548, 35.445), 4326)) RETURNING id")
        ).scalar_one()
    chk = http.post("/api/drone/missions/check", json={"hotspot_id": str(hid), "start": DAY.isoformat()},
                    headers=op).json()
    assert (chk["plan"]["target"]["lon"], chk["plan"]["target"]["lat"]) == pytest.approx((119.548, 35.445), abs=1e-6)
    assert http.post("/api/drone/missions/check", json={"hotspot_id": "999999999"}, headers=op).status_code == 404


def test_api_survey_refused_for_endurance_names_waypoint(drone_db, http, make_user, built_layers):
    op = make_user("drone_op_plan", "drone_operator")
    g = built_layers["grids"].to_crs("EPSG:4549")
    code = g["code"][g.area.idxmax()]
    r = http.post("/api/drone/missions", json={"kind": "survey", "grid_code": code, "start": DAY.isoformat(),
                                                "altitude_m": 100}, headers=op)
    assert r.status_code == 422
    p = r.json()["problems"]
    assert [x["rule"] for x in p] == ["endurance"] and p[0]["waypoint"] > 0


def test_api_telemetry_is_idempotent_and_served_as_positions(drone_db, http, make_user):
    op = make_user("drone_op_plan", "drone_operator")
    rep = [{"at": (DAY + timedelta(seconds=k)).isoformat(), "lon": 119.3 + k * 1e-4, "lat": 35.1, "alt_m": 50,
            "battery_pct": 90 - k} for k in range(3)]
    r = http.post("/api/drone/UAV-371103-02/telemetry", json=rep, headers=op)
    assert r.status_code == 200 and r.json()["stored"] == 3
    assert http.post("/api/drone/UAV-371103-02/telemetry", json=rep, headers=op).json()["stored"] == 0
    pos = {p["drone_id"]: p for p in http.get("/api/drone/positions", headers=op).json()}
    assert pos["UAV-371103-02"]["lon"] == pytest.approx(119.3002) and pos["UAV-371103-02"]["battery_pct"] == 88
    # for a Gaode basemap: shifted to GCJ-02 (hundreds of metres here), back to the stored point exactly
    from gis.crs import to_wgs84
    gaode = {p["drone_id"]: p for p in http.get("/api/drone/positions", params={"coord_sys": "gcj02"},
                                                headers=op).json()}["UAV-371103-02"]
    assert 1e-3 < abs(gaode["lon"] - 119.3002) < 1e-2
    back = to_wgs84(gaode["lon"], gaode["lat"], "gcj02")
    assert float(back[0]) == pytest.approx(119.3002, abs=1e-8) and float(back[1]) == pytest.approx(35.1, abs=1e-8)
    assert http.get("/api/drone/positions", params={"coord_sys": "mars"}, headers=op).status_code == 422
    po = make_user("patrol_plan", "patrol_officer")
    assert http.post("/api/drone/UAV-371103-02/telemetry", json=rep, headers=po).status_code == 403
