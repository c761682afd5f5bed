"""Patrols in PostGIS: live ingest over HTTP (idempotent, whole-batch refusal, roles), stop
(cleaned mileage as patrol.mileage computes it, with the streets in the database), the
campaign report, the patrol_tracks collection and the CLI import of simulated GPX files."""
from __future__ import annotations

import json
import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from citygrid.org import add_department, add_officer, upsert_user
from gis.crs import from_wgs84
from gis.location import UnitIndex
from patrol.mileage import mileage
from patrol.streets import street_layer
from patrol.simulate import simulate_patrols
from patrol.store import street_layer_of

SQUAD = "TPD-SQUAD"


@pytest.fixture(scope="module")
def sim(layers):
    """Six simulated outings (5 s fixes), the spring campaign's first days."""
    return simulate_patrols(layers, n_outings=6, seed=11, interval_s=5)


@pytest.fixture(scope="module")
def grid_index(layers):
    return UnitIndex.from_frame(layers["grids"])


@pytest.fixture(scope="module")
def streets(layers):
    return street_layer(layers["roads"])


@pytest.fixture(scope="module")
def org(engine, http, make_user):
    """A squad, two officers with linked patrol-officer logins, and other roles' headers."""
    add_department(engine, "TPD", "测试城管局", "department", county_code="371102")
    add_department(engine, SQUAD, "测试中队", "squad", parent_code="TPD", county_code="371102")
    ids, heads = {}, {}
    for badge, user in (("TP-001", "tp_officer_a"), ("TP-002", "tp_officer_b"), ("TP-003", "tp_officer_c")):
        oid = add_officer(engine, badge, f"巡查员{badge[-1]}", SQUAD, county_code="371102")
        upsert_user(engine, user, "patrol_officer", f"pw-{user}", officer_id=oid)
        r = http.post("/auth/token", data={"username": user, "password": f"pw-{user}"})
        assert r.status_code == 200, r.text
        ids[user], heads[user] = oid, {"Authorization": f"Bearer {r.json()['access_token']}"}
    heads["commander"] = make_user("tp_commander", "commander")
    heads["drone"] = make_user("tp_drone", "drone_operator")
    heads["public"] = make_user("tp_public", "public")
    heads["unlinked"] = make_user("tp_unlinked", "patrol_officer")
    return ids, heads


def _batch(fixes: pd.DataFrame, device: str, coord_sys: str = "wgs84") -> dict:
    lon, lat = from_wgs84(fixes["lon"].to_numpy(), fixes["lat"].to_numpy(), coord_sys)
    return {"device_id": device, "coord_sys": coord_sys, "fixes": [
        {"t": t.isoformat(), "lon": float(x), "lat": float(y), "accuracy_m": float(a)}
        for t, x, y, a in zip(fixes["t"], lon, lat, fixes["accuracy_m"])]}


def _start(http, head, **body) -> dict:
    r = http.post("/api/patrols", json=body, headers=head)
    assert r.status_code == 201, r.text
    return r.json()


def _count(engine, where: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM patrol_fixes WHERE {where}"), params).scalar()


def test_retried_batch_stores_each_fix_once(engine, http, org, sim):
    ids, heads = org
    head = heads["tp_officer_a"]
    p = _start(http, head, campaign="tp-retry")
    assert p["officer_id"] == ids["tp_officer_a"] and p["status"] == "active" and p["county_code"] == "371102"
    f = sim.fixes[sim.fixes["track_id"] == sim.truth["track_id"][0]].iloc[:300]
    url = f"/api/patrols/{p['id']}/fixes"
    r = http.post(url, json=_batch(f.iloc[:200], "phone-retry"), headers=head)
    assert r.status_code == 201, r.text
    assert r.json() == {"patrol_id": p["id"], "device_id": "phone-retry", "received": 200, "stored": 200,
                        "duplicates": 0}
    r = http.post(url, json=_batch(f.iloc[:200], "phone-retry"), headers=head)  # the same batch again
    assert r.status_code == 200 and r.json()["stored"] == 0 and r.json()["duplicates"] == 200
    r = http.post(url, json=_batch(f.iloc[150:300], "phone-retry"), headers=head)  # half old, half new
    assert r.status_code == 201 and r.json()["stored"] == 100 and r.json()["duplicates"] == 50
    assert _count(engine, "device_id = 'phone-retry'") == 300
    assert _count(engine, "patrol_id = :p", p=p["id"]) == 300
    # A repeated timestamp inside one batch keeps the first fix.
    b = _batch(f.iloc[:2], "phone-dup")
    b["fixes"][1]["t"] = b["fixes"][0]["t"]
    r = http.post(url, json=b, headers=head)
    assert r.json()["stored"] == 1 and _count(engine, "device_id = 'phone-dup'") == 1
    # Start is idempotent with the header too.
    key = {"Idempotency-Key": "tp-start-1"}
    a = http.post("/api/patrols", json={"campaign": "tp-retry"}, headers={**head, **key})
    b2 = http.post("/api/patrols", json={"campaign": "tp-retry"}, headers={**head, **key})
    assert a.status_code == 201 and b2.status_code == 200 and a.json()["id"] == b2.json()["id"]


@pytest.mark.parametrize("coord_sys", ["gcj02", "bd09"])
def test_chinese_frames_stored_as_wgs84_with_originals(engine, http, org, sim, coord_sys):
    _, heads = org
    head = heads["tp_officer_a"]
    p = _start(http, head)
    f = sim.fixes[sim.fixes["track_id"] == sim.truth["track_id"][1]].iloc[:50]
    batch = _batch(f, f"phone-{coord_sys}", coord_sys)
    r = http.post(f"/api/patrols/{p['id']}/fixes", json=batch, headers=head)
    assert r.status_code == 201, r.text
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT lon, lat, orig_lon, orig_lat, coord_sys, ST_X(geom) AS gx, ST_Y(geom) AS gy, county_code "
            "FROM patrol_fixes WHERE device_id = :d ORDER BY t"), {"d": f"phone-{coord_sys}"}).mappings().all()
    assert len(rows) == 50
    sent = batch["fixes"]
    for row, s, true_lon, true_lat in zip(rows, sent, f["lon"], f["lat"]):
        assert row["coord_sys"] == coord_sys and row["county_code"] == "371102"
        assert (row["orig_lon"], row["orig_lat"]) == (s["lon"], s["lat"])  # what the phone sent, exactly
        assert abs(row["lon"] - true_lon) < 1e-8 and abs(row["lat"] - true_lat) < 1e-8  # WGS84 (~1 mm)
        assert (row["gx"], row["gy"]) == (row["lon"], row["lat"])
        assert abs(row["orig_lon"] - true_lon) > 1e-4  # the offset is real (hundreds of metres)


def test_batch_with_bad_fixes_refused_whole_naming_each(engine, http, org, sim):
    from citygrid.errors import InvalidInput
    from patrol.store import check_batch

    _, heads = org
    head = heads["tp_officer_a"]
    p = _start(http, head)
    f = sim.fixes[sim.fixes["track_id"] == sim.truth["track_id"][2]].iloc[:20]
    batch = _batch(f, "phone-bad")
    batch["fixes"][3]["lon"] = 500.0  # off the globe
    lon7, lat7 = batch["fixes"][7]["lon"], batch["fixes"][7]["lat"]
    batch["fixes"][7].update(lon=lat7, lat=lon7)  # swapped
    batch["fixes"][12].update(lon=116.4, lat=39.9)  # Beijing
    batch["fixes"][15]["accuracy_m"] = -5
    r = http.post(f"/api/patrols/{p['id']}/fixes", json=batch, headers=head)
    assert r.status_code == 422, r.text
    body = r.json()
    assert [q["index"] for q in body["problems"]] == [3, 7, 12, 15]
    assert "fixes 3, 7, 12, 15" in body["description"]
    assert "swapped" in body["problems"][1]["problem"] and "outside Rizhao" in body["problems"][2]["problem"]
    assert _count(engine, "device_id = 'phone-bad'") == 0
    # NaN on the wire: the API's FiniteJSON middleware refuses the body (422) before the route
    batch = _batch(f, "phone-bad")
    batch["fixes"][3]["lon"] = float("nan")
    r = http.post(f"/api/patrols/{p['id']}/fixes", content=json.dumps(batch),
                  headers={**head, "Content-Type": "application/json"})
    assert r.status_code == 422 and "finite" in r.text
    # ... and the domain check names a NaN fix too (in-process callers, e.g. other transports)
    batch["fixes"][9]["lat"] = float("inf")
    with pytest.raises(InvalidInput) as err:
        check_batch("phone-bad", "wgs84", batch["fixes"])
    assert [q["index"] for q in err.value.problems] == [3, 9]
    # values of the wrong type are named with their fix too: a word for a number, an object for a time
    batch = _batch(f, "phone-bad")
    batch["fixes"][5]["lat"] = "north"
    batch["fixes"][8]["t"] = {"seconds": 5}
    batch["fixes"][11]["accuracy_m"] = [3]
    r = http.post(f"/api/patrols/{p['id']}/fixes", json=batch, headers=head)
    assert r.status_code == 422, r.text
    problems = {q["index"]: q["problem"] for q in r.json()["problems"]}
    assert sorted(problems) == [5, 8, 11]
    assert "lat is not a number: 'north'" in problems[5] and "time missing" in problems[8]
    assert "accuracy_m is not a number" in problems[11]
    # a fix that is not an object at all is refused by the schema, naming it
    batch = _batch(f, "phone-bad")
    batch["fixes"][4] = 119.5
    r = http.post(f"/api/patrols/{p['id']}/fixes", json=batch, headers=head)
    assert r.status_code == 422 and "fixes.4" in r.text
    assert _count(engine, "device_id = 'phone-bad'") == 0


def test_roles(http, org, sim):
    ids, heads = org
    p = _start(http, heads["tp_officer_a"])
    f = sim.fixes.iloc[:5]
    url = f"/api/patrols/{p['id']}/fixes"
    batch = _batch(f, "phone-roles")
    assert http.post(url, json=batch).status_code == 401
    assert http.post("/api/patrols", json={}).status_code == 401
    for who in ("public", "drone", "commander"):  # only patrol officers post fixes
        assert http.post(url, json=batch, headers=heads[who]).status_code == 403, who
    assert http.post(url, json=batch, headers=heads["tp_officer_b"]).status_code == 403  # not their patrol
    assert http.post(url, json=batch, headers=heads["unlinked"]).status_code == 403
    for who in ("public", "drone"):
        assert http.post("/api/patrols", json={}, headers=heads[who]).status_code == 403
    # an officer cannot start a patrol for someone else; a commander can (and must name the officer)
    r = http.post("/api/patrols", json={"officer_id": ids["tp_officer_b"]}, headers=heads["tp_officer_a"])
    assert r.status_code == 403
    assert http.post("/api/patrols", json={}, headers=heads["commander"]).status_code == 422
    r = http.post("/api/patrols", json={"officer_id": "TP-002"}, headers=heads["commander"])
    assert r.status_code == 201 and r.json()["officer_id"] == ids["tp_officer_b"]
    assert http.post(f"/api/patrols/{p['id']}/stop", headers=heads["drone"]).status_code == 403
    assert http.post(f"/api/patrols/{p['id']}/stop", headers=heads["tp_officer_b"]).status_code == 403
    assert http.get("/api/patrols/campaigns/whatever").status_code == 401


def _walk(http, head, fixes, device, campaign, batch_size=500) -> dict:
    start = fixes["t"].min().to_pydatetime()
    p = _start(http, head, campaign=campaign, started_at=start.isoformat())
    for i in range(0, len(fixes), batch_size):
        r = http.post(f"/api/patrols/{p['id']}/fixes", json=_batch(fixes.iloc[i:i + batch_size], device),
                      headers=head)
        assert r.status_code == 201, r.text
    stop = fixes["t"].max().to_pydatetime()
    r = http.post(f"/api/patrols/{p['id']}/stop", json={"stopped_at": stop.isoformat()}, headers=head)
    assert r.status_code == 200, r.text
    return r.json()


def test_stop_matches_patrol_mileage(engine, http, org, sim, grid_index, streets):
    _, heads = org
    tid = sim.truth["track_id"][3]
    f = sim.fixes[sim.fixes["track_id"] == tid].reset_index(drop=True)
    out = _walk(http, heads["tp_officer_a"], f, "phone-stop", "tp-stop")
    with engine.connect() as conn:  # the service measures with the streets in the database
        nodes, segs = street_layer_of(conn)
    assert np.array_equal(nodes, streets[0]) and np.array_equal(segs, streets[1])
    expected, _ = mileage(f.assign(track_id=str(out["id"])), grid_index, streets=streets)
    without, _ = mileage(f.assign(track_id=str(out["id"])), grid_index)
    assert abs(without["distance_m"].iloc[0] - out["distance_m"]) > 1.0
    e = expected.iloc[0]
    assert out["status"] == "stopped" and out["points"] == len(f) == e["points"]
    for k in ("distance_m", "distance_sd_m", "raw_distance_m", "moving_time_s", "stop_time_s", "duration_s"):
        assert math.isclose(out[k], e[k], rel_tol=1e-9, abs_tol=1e-6), k
    assert 0.001 < out["distance_sd_m"] / out["distance_m"] < 0.03
    assert out["dropped_points"] == e["dropped_points"]
    assert out["per_grid_m"] == {k: round(v, 3) for k, v in e["per_grid_m"].items()}
    assert len(out["stops"]) == len(e["stops"])
    assert 3000 < out["distance_m"] < 9000
    # stopping again recomputes the same numbers and keeps the stop time
    r = http.post(f"/api/patrols/{out['id']}/stop", headers=heads["tp_officer_a"])
    assert r.json()["distance_m"] == out["distance_m"] and r.json()["stopped_at"] == out["stopped_at"]


@pytest.fixture(scope="module")
def campaign(engine, http, org, sim, grid_index, streets):
    """Campaign tp-campaign: officer a walks two outings, officer b one; cases by them."""
    from cases import intake, workflow

    ids, heads = org
    name = "tp-campaign"
    tracks = list(sim.truth["track_id"][:3])
    fx = [sim.fixes[sim.fixes["track_id"] == t].reset_index(drop=True) for t in tracks]
    walkers = ["tp_officer_a", "tp_officer_a", "tp_officer_b"]
    outs = [_walk(http, heads[w], f, f"phone-camp-{i}", name) for i, (w, f) in enumerate(zip(walkers, fx))]

    def case(user, when, source="patrol", close=False):
        lon, lat = float(fx[0]["lon"].iloc[100]), float(fx[0]["lat"].iloc[100])
        rep = intake.Report(category="occupied_road", lon=lon, lat=lat, source=source,
                            description=f"tp {user} {when.isoformat()}", reporter_username=user,
                            reporter_role="patrol_officer", reported_at=when)
        summary, _ = intake.submit(engine, rep, principal=f"user:{user}")
        if close:
            for to, role, extra in (("filed", "commander", {}), ("dispatched", "commander",
                                                                   {"department_code": SQUAD}),
                                    ("handled", "patrol_officer", {}), ("feedback", "patrol_officer", {}),
                                    ("closed", "commander", {})):
                workflow.transition(engine, summary["id"], to, "tp_commander" if role == "commander" else user,
                                    role, **extra)
        return summary["id"]

    def during(i, minutes):
        return fx[i]["t"].min().to_pydatetime() + timedelta(minutes=minutes)

    case("tp_officer_a", during(0, 10), close=True)   # found, rectified
    case("tp_officer_a", during(1, 20))               # found, open
    case("tp_officer_b", during(2, 5))                # found, open
    case("tp_officer_a", during(2, 6))                # a was not out then: not counted
    case("tp_officer_b", during(2, 7), source="citizen")  # not a patrol report
    case("tp_officer_b", fx[2]["t"].max().to_pydatetime() + timedelta(hours=1))  # after the outing
    expected, _ = mileage(pd.concat([f.assign(track_id=str(o["id"])) for f, o in zip(fx, outs)]), grid_index,
                          streets=streets)
    return name, outs, expected


def test_campaign_report(engine, http, org, campaign):
    from patrol.report import campaign_report

    ids, heads = org
    name, outs, expected = campaign
    rep = campaign_report(engine, name)
    assert rep["outings"] == 3 and rep["officers"] == 2 and rep["active_outings"] == 0
    assert rep["km"] == round(float(expected["distance_m"].sum()) / 1000, 3)
    sd_km = dict(zip(expected["track_id"].astype(int), expected["distance_sd_m"] / 1000))
    officer_of = {o["id"]: o["officer_id"] for o in outs}
    for r in rep["by_officer"]:  # independent outings: their spreads add in quadrature
        own = [sd for pid, sd in sd_km.items() if officer_of[pid] == r["officer_id"]]
        assert r["km_sd"] > 0 and r["km_sd"] == pytest.approx(float(np.sqrt(np.sum(np.square(own)))), abs=1e-3)
    assert rep["problems_found"] == 3 and rep["rectified"] == 1 and rep["rectified_share"] == 0.3333
    by = {r["badge"]: r for r in rep["by_officer"]}
    assert (by["TP-001"]["outings"], by["TP-001"]["problems_found"], by["TP-001"]["rectified"]) == (2, 2, 1)
    assert (by["TP-002"]["outings"], by["TP-002"]["problems_found"], by["TP-002"]["rectified"]) == (1, 1, 0)
    r = http.get(f"/api/patrols/campaigns/{name}", headers=heads["commander"])
    assert r.status_code == 200 and r.json() == json.loads(json.dumps(rep))
    assert http.get("/api/patrols/campaigns/no-such", headers=heads["commander"]).status_code == 404


def test_mileage_reports_and_coverage(engine, http, org, campaign):
    from patrol.report import mileage as mileage_by, street_coverage

    _, heads = org
    name, outs, expected = campaign
    total = round(float(expected["distance_m"].sum()) / 1000, 3)
    officer = mileage_by(engine, "officer", campaign=name)
    assert [r["outings"] for r in officer] == [2, 1]
    assert math.isclose(sum(r["km"] for r in officer), total, abs_tol=2e-3)
    assert mileage_by(engine, "team", campaign=name)[0]["team_code"] == SQUAD
    assert sum(r["outings"] for r in mileage_by(engine, "day", campaign=name)) == 3
    assert mileage_by(engine, "campaign", campaign=name)[0]["km"] == total
    assert mileage_by(engine, "campaign", campaign=name)[0]["km_sd"] == pytest.approx(
        float(np.sqrt(np.square(expected["distance_sd_m"]).sum())) / 1000, abs=1e-3)
    grids = mileage_by(engine, "grid", campaign=name)
    assert math.isclose(sum(r["km"] for r in grids), total, abs_tol=5e-3)
    cov = street_coverage(engine, campaign=name)
    assert len(cov) == 76
    walked = [c for c in cov if c["covered_m"] > 0]
    assert walked and all(0 < c["share"] <= 1 for c in walked)
    # the tracks walk streets: covered street length is about the distance walked (streets
    # walked twice count once, and parallel streets within 15 m both count)
    assert 0.4 * total * 1000 < sum(c["covered_m"] for c in cov) < 1.6 * total * 1000
    r = http.get("/api/patrols/report", params={"by": "officer", "campaign": name}, headers=heads["commander"])
    assert r.status_code == 200 and r.json() == json.loads(json.dumps(officer))


def test_patrol_tracks_collection(http, org, campaign):
    _, heads = org
    name, outs, _ = campaign
    r = http.get("/collections/patrol_tracks/items", params={"campaign": name, "limit": 100})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["numberMatched"] == 3
    feats = {f["id"]: f for f in doc["features"]}
    assert set(feats) == {o["id"] for o in outs}
    f = feats[outs[0]["id"]]
    assert f["geometry"]["type"] == "LineString" and len(f["geometry"]["coordinates"]) > 50
    assert f["properties"]["campaign"] == name and "officer_id" not in f["properties"]  # staff-only
    assert math.isclose(f["properties"]["distance_m"], outs[0]["distance_m"])
    staff = http.get(f"/collections/patrol_tracks/items/{outs[0]['id']}", headers=heads["commander"]).json()
    assert staff["properties"]["officer_id"] == outs[0]["officer_id"]
    assert "patrol_tracks" in [c["id"] for c in http.get("/collections").json()["collections"]]
    day = outs[0]["started_at"][:10]
    r = http.get("/collections/patrol_tracks/items", params={"campaign": name, "datetime": f"{day}T00:00:00Z/.."})
    assert r.json()["numberMatched"] >= 1


def test_cli_import_simulated_gpx(engine, org, layers, grid_index, streets, tmp_path, monkeypatch):
    from cli import patrol as cli_patrol
    from cli.main import app
    from patrol.readers import read_track_files

    ids, _ = org
    monkeypatch.setattr(cli_patrol, "_engine", lambda: engine)
    monkeypatch.setattr(cli_patrol, "console", cli_patrol.Console(width=200))
    gsim = simulate_patrols(layers, n_outings=2, seed=5, interval_s=5, campaign="summer")
    files = gsim.write_gpx(tmp_path)
    args = ["patrol", "import", *map(str, files), "--officer", "TP-003", "--campaign", "tp-import", "--json"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert len(rows) == 2 and not any(x["already_imported"] for x in rows)
    fixes, _ = read_track_files(files)
    expected, _ = mileage(fixes, grid_index, streets=streets)
    for row, (_, e) in zip(sorted(rows, key=lambda x: x["track_id"]), expected.iterrows()):
        assert row["stored"] == e["points"] == (fixes["track_id"] == e["track_id"]).sum()
        assert row["distance_m"] == round(float(e["distance_m"]), 1)
        assert row["distance_sd_m"] == round(float(e["distance_sd_m"]), 1) > 0
    with engine.connect() as conn:
        got = conn.execute(sa.text(
            "SELECT officer_id, source, status, count(*) FROM patrols WHERE campaign = 'tp-import' "
            "GROUP BY 1, 2, 3")).all()
    assert got == [(ids["tp_officer_c"], "import", "stopped", 2)]
    # importing again stores nothing
    r = CliRunner().invoke(app, args[:-1])
    assert r.exit_code == 0 and "0 patrols imported" in r.output and "2 already there" in r.output
    assert _count(engine, "patrol_id = ANY(:ids)", ids=[x["patrol_id"] for x in rows]) == len(fixes)
    r = CliRunner().invoke(app, ["patrol", "report", "--campaign", "tp-import"])
    assert r.exit_code == 0 and "2 outings by 1 officers" in r.output, r.output
    # the report rounds km_sd to metres before the CLI prints it to 10 m (0.0546 -> 0.055 -> 0.06)
    km_sd = round(float(np.sqrt(np.square(expected["distance_sd_m"]).sum()) / 1000), 3)
    assert f"km +- {km_sd:.2f}," in r.output, r.output
    r = CliRunner().invoke(app, ["patrol", "import", str(files[0]), "--officer", "nobody"])
    assert r.exit_code == 1 and "not found" in r.output


def test_unparsable_time_named_with_the_other_bad_fixes(engine, http, org, sim):
    _, heads = org
    head = heads["tp_officer_a"]
    p = _start(http, head)
    f = sim.fixes[sim.fixes["track_id"] == sim.truth["track_id"][4]].iloc[:10]
    batch = _batch(f, "phone-badtime")
    batch["fixes"][2]["t"] = "yesterday"
    batch["fixes"][4]["t"] = "2099-01-01T00:00:00Z"  # clock far ahead
    batch["fixes"][6]["lat"] = 95.0  # off the globe
    r = http.post(f"/api/patrols/{p['id']}/fixes", json=batch, headers=head)
    assert r.status_code == 422, r.text
    probs = {q["index"]: q["problem"] for q in r.json()["problems"]}
    assert sorted(probs) == [2, 4, 6]
    assert "ISO 8601" in probs[2] and "future" in probs[4] and "off the globe" in probs[6]
    assert _count(engine, "device_id = 'phone-badtime'") == 0
    # times with an offset or none (UTC) are both read
    batch = _batch(f.iloc[:2], "phone-offset")
    batch["fixes"][0]["t"] = f["t"].iloc[0].tz_convert("Asia/Shanghai").isoformat()
    batch["fixes"][1]["t"] = f["t"].iloc[1].tz_localize(None).isoformat()
    r = http.post(f"/api/patrols/{p['id']}/fixes", json=batch, headers=head)
    assert r.status_code == 201, r.text
    with engine.connect() as conn:
        got = conn.execute(sa.text("SELECT t FROM patrol_fixes WHERE device_id = 'phone-offset' ORDER BY t")).scalars().all()
    assert [pd.Timestamp(t) for t in got] == list(f["t"].iloc[:2])


def test_outing_times_outside_2000_to_tomorrow_refused(http, org):
    ids, heads = org
    for body in ({"started_at": "0001-01-01T00:00:00+14:00"}, {"started_at": "9999-12-31T23:59:59-14:00"},
                 {"date": "1999-12-31"}):
        r = http.post("/api/patrols", json={"officer_id": ids["tp_officer_c"], **body}, headers=heads["commander"])
        assert r.status_code == 422, (body, r.text)
    p = _start(http, heads["commander"], officer_id=ids["tp_officer_c"])
    r = http.post(f"/api/patrols/{p['id']}/stop", json={"stopped_at": "3000-01-01T00:00:00Z"},
                  headers=heads["commander"])
    assert r.status_code == 422
    r = http.post(f"/api/patrols/{p['id']}/stop", headers=heads["commander"])  # no fixes: zero mileage
    assert r.status_code == 200 and r.json()["distance_m"] == 0 and r.json()["status"] == "stopped"
