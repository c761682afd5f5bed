"""Cases: intake and location, the CJ/T 315 workflow, deadlines on the work calendar,
escalations, and the staff/public split on reads."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, ProgrammingError

from cases import intake, records, workflow
from citygrid.worktable import working_hours_vec
from citygrid.errors import Conflict, Forbidden, InvalidInput
from citygrid.org import add_department, add_officer, upsert_user
from citygrid.workcal import TZ, default_calendar


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def grid_point(layers, i: int = 0):
    """A point surely inside grid i (representative_point), with the grid's codes."""
    g = layers["grids"].sort_values("code").iloc[i]
    p = g.geometry.representative_point()
    return p.x, p.y, g["code"], g["subdistrict_code"]


def new_case(engine, layers, i=0, category="occupied_road", **kw) -> dict:
    lon, lat, _, _ = grid_point(layers, i)
    report = intake.Report(category=category, lon=lon, lat=lat, description=kw.pop("description", uid("desc")),
                           source=kw.pop("source", "patrol"), reporter_username=kw.pop("reporter_username", "tester"),
                           reporter_role="patrol_officer", **kw)
    summary, replayed = intake.submit(engine, report, principal="test")
    assert not replayed
    return records.get_case(engine, summary["id"])


@pytest.fixture(scope="module")
def department(engine):
    code = uid("DEP")
    add_department(engine, code, "东港区执法中队 (test)", "squad", county_code="371102")
    return code


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


# --- intake ----------------------------------------------------------------------------------

def test_intake_locates_the_case_in_its_grid_community_and_post(engine, layers, locator):
    year_before = datetime.now(TZ).year  # the case's year in Shanghai; both ends, for a run across New Year
    case = new_case(engine, layers, 3, reporter_phone="13800000001")
    years = {year_before, datetime.now(TZ).year}
    lon, lat, grid_code, sub = grid_point(layers, 3)
    expected = locator.assign([lon], [lat]).iloc[0]
    assert case["grid_code"] == grid_code == expected["grid_code"]
    assert case["subdistrict_code"] == sub == expected["subdistrict_code"]
    assert case["community_code"] == expected["community_code"]
    assert case["county_code"] == sub[:6]
    assert case["outside_grid"] is False
    assert case["status"] == "reported" and case["located_by"] == "point"
    assert case["lon"] == pytest.approx(lon, abs=1e-9) and case["orig_lon"] == pytest.approx(lon)
    posts = layers["posts"]
    want_post = posts.loc[posts["community_code"] == case["community_code"], "code"].min() \
        if case["community_code"] else None
    assert case["post_code"] == (want_post if isinstance(want_post, str) else None)
    assert case["service_request_id"] in {f"RZ-{year}-{case['id']:06d}" for year in years}
    events = records.get_case(engine, case["id"], with_events=True)["events"]
    assert [(e["from_state"], e["to_state"]) for e in events] == [(None, "reported")]


def test_intake_refuses_bad_reports_listing_every_problem(engine, layers):
    lon, lat, _, _ = grid_point(layers, 0)
    with pytest.raises(InvalidInput) as err:
        intake.submit(engine, intake.Report(category="nope", lon=lon, lat=lat, description="x" * 4001,
                                            coord_sys="utm"), principal="test")
    where = {p["where"] for p in err.value.problems}
    assert {"service_code", "description", "coord_sys"} <= where
    with pytest.raises(InvalidInput, match="swapped"):
        intake.submit(engine, intake.Report(category="noise", lon=lat, lat=lon), principal="test")
    with pytest.raises(InvalidInput, match="outside Rizhao's service area"):
        intake.submit(engine, intake.Report(category="noise", lon=117.0, lat=36.65), principal="test")


def test_case_events_are_append_only(engine, owner_engine, layers):
    case = new_case(engine, layers)
    with pytest.raises(ProgrammingError, match="permission denied"):
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE case_events SET actor = 'mallory' WHERE case_id = :id"), {"id": case["id"]})
    with pytest.raises(DBAPIError, match="append-only"):
        with owner_engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM case_events WHERE case_id = :id"), {"id": case["id"]})
    with pytest.raises(ProgrammingError, match="permission denied"):
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM cases WHERE id = :id"), {"id": case["id"]})


# --- workflow --------------------------------------------------------------------------------

def test_full_workflow_with_rework(engine, layers, department):
    case = new_case(engine, layers, 1, category="illegal_construction", reported_at=at("2025-03-03 08:00"))
    cid = case["id"]
    assert case["service_request_id"] == f"RZ-2025-{cid:06d}"
    t0 = at("2025-03-03 09:00")  # a Monday
    c = workflow.transition(engine, cid, "filed", "cmd-wf", "commander", "filed", at=t0)
    assert c["status"] == "filed" and c["filed_at"] == t0
    c = workflow.transition(engine, cid, "dispatched", "cmd-wf", "commander", department_code=department,
                            at=t0 + timedelta(hours=1))
    # 5 working days from Monday 10:00: Tue..Mon -> 18:00 on Monday 10 March.
    assert c["dispatched_at"] == at("2025-03-03 10:00") and c["due_at"] == at("2025-03-10 18:00")
    assert c["department_code"] == department
    c = workflow.transition(engine, cid, "handled", "po-wf", "patrol_officer", "demolished", at=at("2025-03-04 10:00"))
    c = workflow.transition(engine, cid, "feedback", "po-wf", "patrol_officer", at=at("2025-03-04 11:00"))
    c = workflow.transition(engine, cid, "dispatched", "cmd-wf", "commander", "not fully removed",
                            at=at("2025-03-05 09:00"))
    # Rework: counted, same department, and the clock is not restarted.
    assert c["rework_count"] == 1 and c["status"] == "dispatched"
    assert c["dispatched_at"] == at("2025-03-03 10:00") and c["due_at"] == at("2025-03-10 18:00")
    assert c["handled_at"] == at("2025-03-04 10:00")
    for state, who, role, when in (("handled", "po-wf", "patrol_officer", "2025-03-06 10:00"),
                                   ("feedback", "po-wf", "patrol_officer", "2025-03-06 11:00"),
                                   ("closed", "cmd-wf", "commander", "2025-03-07 09:00"),
                                   ("evaluated", "plan-wf", "planner", "2025-03-07 10:00")):
        c = workflow.transition(engine, cid, state, who, role, at=at(when))
    assert c["status"] == "evaluated" and c["closed_at"] == at("2025-03-07 09:00")
    assert c["overdue"] is False
    events = records.get_case(engine, cid, with_events=True)["events"]
    assert [e["to_state"] for e in events] == ["reported", "filed", "dispatched", "handled", "feedback",
                                              "dispatched", "handled", "feedback", "closed", "evaluated"]
    assert events[2]["department_code"] == department and events[5]["note"] == "not fully removed"


def test_illegal_moves_are_409_and_wrong_roles_403_naming_allowed_moves(engine, layers, department):
    cid = new_case(engine, layers, 2)["id"]
    with pytest.raises(Conflict, match=r"allowed from 'reported' for commander: filed"):
        workflow.transition(engine, cid, "closed", "cmd-x", "commander")
    with pytest.raises(Forbidden, match=r"needs one of: commander.*allowed from 'reported' for patrol_officer: none"):
        workflow.transition(engine, cid, "filed", "po-x", "patrol_officer")
    workflow.transition(engine, cid, "filed", "cmd-x", "commander")
    # A retry of the same move by the same caller changes nothing (no second event).
    again = workflow.transition(engine, cid, "filed", "cmd-x", "commander")
    assert again["status"] == "filed"
    assert len(records.get_case(engine, cid, with_events=True)["events"]) == 2
    # ...but another caller asking for the state the case is already in is told what is allowed.
    with pytest.raises(Conflict, match="allowed from 'filed' for commander: dispatched"):
        workflow.transition(engine, cid, "filed", "cmd-other", "commander")
    with pytest.raises(InvalidInput, match="department_code is required"):
        workflow.transition(engine, cid, "dispatched", "cmd-x", "commander")
    with pytest.raises(InvalidInput, match="unknown department_code"):
        workflow.transition(engine, cid, "dispatched", "cmd-x", "commander", department_code="NOPE-DEP")
    with pytest.raises(InvalidInput, match="unknown state"):
        workflow.transition(engine, cid, "lost", "cmd-x", "commander")


def test_deadline_runs_on_working_time_over_the_spring_festival(engine, layers, department):
    # Dispatched Monday 27 Jan 2025 17:00 (the last working day before the 28 Jan - 4 Feb
    # holiday), occupied_road, 2 working hours: 1 h runs until 18:00, the other 1 h on Wednesday
    # 5 Feb from 08:30, so the case is due at 09:30 on 5 Feb and is not overdue during the holiday.
    cid = new_case(engine, layers, 4, category="occupied_road", reported_at=at("2025-01-27 16:00"))["id"]
    workflow.transition(engine, cid, "filed", "cmd-sf", "commander", at=at("2025-01-27 16:30"))
    c = workflow.transition(engine, cid, "dispatched", "cmd-sf", "commander", department_code=department,
                            at=at("2025-01-27 17:00"))
    assert c["due_at"] == at("2025-02-05 09:30")
    ids = lambda now: {x["id"] for x in workflow.overdue(engine, now)}  # noqa: E731
    assert cid not in ids(at("2025-02-01 12:00"))
    assert cid not in ids(at("2025-02-05 09:00"))
    late = {x["id"]: x for x in workflow.overdue(engine, at("2025-02-05 10:00"))}
    assert late[cid]["working_hours_overdue"] == pytest.approx(0.5)
    assert records.get_case(engine, cid)["overdue"] is True
    # Dispatched at 16:00 instead, the same 2 working hours end at 18:00 the same day.
    cid2 = new_case(engine, layers, 4, category="occupied_road", reported_at=at("2025-01-27 14:00"))["id"]
    workflow.transition(engine, cid2, "filed", "cmd-sf", "commander", at=at("2025-01-27 15:00"))
    c2 = workflow.transition(engine, cid2, "dispatched", "cmd-sf", "commander", department_code=department,
                             at=at("2025-01-27 16:00"))
    assert c2["due_at"] == at("2025-01-27 18:00")
    assert cid2 in ids(at("2025-02-01 12:00"))


def test_working_hours_vec_matches_the_calendar(engine):
    cal = default_calendar()
    rng = np.random.default_rng(7)
    base = datetime(2025, 1, 20, tzinfo=TZ)
    a = [base + timedelta(minutes=int(m)) for m in rng.integers(0, 60 * 24 * 40, 200)]
    b = [x + timedelta(minutes=int(m)) for x, m in zip(a, rng.integers(0, 60 * 24 * 20, 200))]
    got = working_hours_vec(a, b)
    want = [cal.working_hours_between(x, y) for x, y in zip(a, b)]
    assert np.allclose(got, want)
    assert np.isnan(working_hours_vec([None], [base])[0])


# --- escalations -----------------------------------------------------------------------------

def test_grid_blows_the_whistle_departments_report_in(engine, layers):
    cid = new_case(engine, layers, 5, category="illegal_discharge")["id"]
    d1, d2 = uid("ENV"), uid("WATER")
    add_department(engine, d1, "生态环境分局 (test)", "department")
    add_department(engine, d2, "水务局 (test)", "department")
    t0 = at("2025-03-07 17:00")  # a Friday: 2 working hours end on Monday 09:30
    escs = workflow.escalate(engine, cid, [d1, d2], 2, "grid-leader", "patrol_officer", "sewage into the river", at=t0)
    assert [e["department_code"] for e in escs] == sorted([d1, d2])
    assert {e["ack_due_at"] for e in escs} == {at("2025-03-10 09:30")}
    assert escs[0]["grid_code"] == grid_point(layers, 5)[2]
    assert escs[0]["subdistrict_code"] == grid_point(layers, 5)[3]
    # Blowing the whistle again at the same departments is a retry.
    again = workflow.escalate(engine, cid, [d2, d1], 2, "grid-leader", "patrol_officer", at=t0)
    assert {e["id"] for e in again} == {e["id"] for e in escs}
    with pytest.raises(InvalidInput, match="unknown department codes: NOPE"):
        workflow.escalate(engine, cid, ["NOPE"], 2, "grid-leader", "patrol_officer")
    with pytest.raises(Forbidden):
        workflow.escalate(engine, cid, [d1], 2, "drone-op", "drone_operator")

    pending = {e["id"]: e for e in workflow.unacknowledged(engine, at("2025-03-10 10:00"))}
    assert {e["id"] for e in escs} <= set(pending)
    assert pending[escs[0]["id"]]["late"] is True
    assert pending[escs[0]["id"]]["working_hours_late"] == pytest.approx(0.5)
    assert escs[0]["id"] not in {e["id"] for e in workflow.unacknowledged(engine, at("2025-03-10 09:00"),
                                                                            late_only=True)}

    # An officer of another department may not report in for d1; one of d1 may.
    add_officer(engine, b1 := uid("B"), "王警官", department_code=d2)
    add_officer(engine, b2 := uid("B"), "李警官", department_code=d1)
    from citygrid.db.schema import officers
    with engine.connect() as conn:
        o1 = conn.execute(sa.select(officers.c.id).where(officers.c.badge == b1)).scalar_one()
        o2 = conn.execute(sa.select(officers.c.id).where(officers.c.badge == b2)).scalar_one()
    upsert_user(engine, u1 := uid("po"), "patrol_officer", "pw", officer_id=o1)
    upsert_user(engine, u2 := uid("po"), "patrol_officer", "pw", officer_id=o2)
    e1 = next(e for e in escs if e["department_code"] == d1)
    with pytest.raises(Forbidden, match="not an officer of department"):
        workflow.acknowledge(engine, e1["id"], u1, "patrol_officer")
    ack = workflow.acknowledge(engine, e1["id"], u2, "patrol_officer", "on our way", at=at("2025-03-10 09:00"))
    assert ack["acknowledged_by"] == u2 and ack["late"] is False
    assert workflow.acknowledge(engine, e1["id"], u2, "patrol_officer")["acknowledged_at"] == at("2025-03-10 09:00")
    left = {e["id"] for e in workflow.unacknowledged(engine, at("2025-03-10 10:00"))}
    assert e1["id"] not in left and (set(e["id"] for e in escs) - {e1["id"]}) <= left


def test_a_subteam_reports_in_for_its_squad_but_a_squad_not_for_its_bureau(engine, layers):
    from citygrid.db.schema import officers

    cid = new_case(engine, layers, 6, category="occupied_road")["id"]
    bureau, squad, team = uid("CG"), uid("SQ"), uid("ST")
    add_department(engine, bureau, "城管局 (test)", "department")
    add_department(engine, squad, "执法中队 (test)", "squad", parent_code=bureau)
    add_department(engine, team, "分队 (test)", "subteam", parent_code=squad)
    users = {}
    for dep in (squad, team):
        add_officer(engine, badge := uid("B"), "赵警官", department_code=dep)
        with engine.connect() as conn:
            oid = conn.execute(sa.select(officers.c.id).where(officers.c.badge == badge)).scalar_one()
        upsert_user(engine, users.setdefault(dep, uid("po")), "patrol_officer", "pw", officer_id=oid)
    to_bureau, to_squad = (workflow.escalate(engine, cid, [d], 2, "grid-leader", "patrol_officer")[0]
                           for d in (bureau, squad))
    with pytest.raises(Forbidden, match="not an officer of department"):
        workflow.acknowledge(engine, to_bureau["id"], users[squad], "patrol_officer")
    assert workflow.acknowledge(engine, to_squad["id"], users[team], "patrol_officer")["acknowledged_by"] == users[team]


# --- over HTTP -------------------------------------------------------------------------------

def test_transitions_over_http_roles_and_conflicts(http, engine, layers, make_user, department):
    commander = make_user(uid("cmd"), "commander")
    officer = make_user(uid("po"), "patrol_officer")
    drone = make_user(uid("drone"), "drone_operator")
    sid = new_case(engine, layers, 6, reporter_phone="13912345678")["service_request_id"]
    url = f"/api/cases/{sid}/transitions"
    assert http.post(url, json={"to_state": "filed"}).status_code == 401
    r = http.post(url, json={"to_state": "filed"}, headers=drone)
    assert r.status_code == 403 and "commander" in r.json()["description"]
    r = http.post(url, json={"to_state": "filed"}, headers=officer)
    assert r.status_code == 403 and "for patrol_officer: none" in r.json()["description"]
    r = http.post(url, json={"to_state": "dispatched", "department_code": department}, headers=commander)
    assert r.status_code == 409 and "allowed from 'reported' for commander: filed" in r.json()["description"]
    r = http.post(url, json={"to_state": "filed", "note": "ok"}, headers=commander)
    assert r.status_code == 200 and r.json()["status"] == "filed"
    r = http.post(url, json={"to_state": "dispatched", "department_code": department}, headers=commander)
    assert r.status_code == 200 and r.json()["due_at"] is not None
    r = http.post(url, json={"to_state": "closed"}, headers=officer)
    assert r.status_code == 409 and "for patrol_officer: handled" in r.json()["description"]

    staff_view = http.get(f"/api/cases/{sid}", headers=officer).json()
    public_view = http.get(f"/api/cases/{sid}").json()
    assert staff_view["reporter_phone"] == "13912345678"
    assert "reporter_phone" not in public_view and "13912345678" not in str(public_view)
    assert [e["to_state"] for e in public_view["events"]] == ["reported", "filed", "dispatched"]
    assert "actor" not in public_view["events"][1] and staff_view["events"][1]["actor"]
    listing = http.get("/api/cases", params={"grid_code": grid_point(layers, 6)[2], "page_size": 1000}).json()
    assert sid in {c["service_request_id"] for c in listing["cases"]}
    assert "13912345678" not in str(listing)
    assert http.get("/api/cases/RZ-1999-999999").status_code == 404


def test_escalation_overdue_and_kpi_endpoints(http, engine, layers, make_user, department):
    commander = make_user(uid("cmd"), "commander")
    public = make_user(uid("pub"), "public")
    sid = new_case(engine, layers, 7)["service_request_id"]
    r = http.post(f"/api/cases/{sid}/escalations", json={"department_codes": [department], "ack_hours": 1},
                  headers=commander)
    assert r.status_code == 201, r.text
    esc = r.json()[0]
    assert esc["department_code"] == department and esc["service_request_id"] == sid
    assert http.post(f"/api/cases/{sid}/escalations", json={"department_codes": [department]},
                     headers=public).status_code == 403
    pending = http.get("/api/escalations/unacknowledged", headers=commander).json()
    assert esc["id"] in {e["id"] for e in pending}
    r = http.post(f"/api/escalations/{esc['id']}/ack", json={"note": "received"}, headers=commander)
    assert r.status_code == 200 and r.json()["acknowledged_at"] and r.json()["ack_note"] == "received"
    assert esc["id"] not in {e["id"] for e in http.get("/api/escalations/unacknowledged", headers=commander).json()}

    assert http.get("/api/cases/overdue").status_code == 401
    assert http.get("/api/cases/overdue", headers=public).status_code == 403
    overdue = http.get("/api/cases/overdue", headers=commander)
    assert overdue.status_code == 200 and all(c["status"] not in ("closed", "evaluated") for c in overdue.json())
    r = http.get("/api/kpi", params={"by": "district", "from": "2025-01-01", "to": "2025-12-31"}, headers=commander)
    assert r.status_code == 200 and r.json()["by"] == "district"
    assert http.get("/api/kpi", params={"by": "planet"}, headers=commander).status_code == 422


def test_collection_items_hide_reporter_contact_from_the_public(http, engine, layers, make_user):
    planner = make_user(uid("plan"), "planner")
    case = new_case(engine, layers, 8, reporter_phone="13700000099", reporter_name="张三")
    public = http.get(f"/collections/cases/items/{case['service_request_id']}")
    assert public.status_code == 200
    props = public.json()["properties"]
    assert props["grid_code"] == case["grid_code"] and "reporter_phone" not in props
    assert "13700000099" not in public.text and "张三" not in public.text
    staff = http.get(f"/collections/cases/items/{case['service_request_id']}", headers=planner).json()
    assert staff["properties"]["reporter_phone"] == "13700000099"
    items = http.get("/collections/cases/items", params={"grid_code": case["grid_code"], "limit": 1000})
    assert items.status_code == 200 and "13700000099" not in items.text
    assert case["service_request_id"] in {f["id"] for f in items.json()["features"]}
    # Filtering on a hidden column is refused, not silently answered.
    assert http.get("/collections/cases/items", params={"reporter_phone": "13700000099"}).status_code == 422
    geometry = shapely.geometry.shape(staff["geometry"])
    assert geometry.distance(shapely.Point(grid_point(layers, 8)[:2])) < 1e-6


def test_staff_intake_over_http_is_idempotent(http, engine, layers, make_user):
    officer = make_user(uid("po"), "patrol_officer")
    public = make_user(uid("pub"), "public")
    lon, lat, grid, _ = grid_point(layers, 9)
    body = {"category": "construction_waste", "lon": lon, "lat": lat, "description": uid("muck"),
            "source": "patrol"}
    assert http.post("/api/cases", json=body, headers=public).status_code == 403
    key = {"Idempotency-Key": uid("k")}
    first = http.post("/api/cases", json=body, headers={**officer, **key})
    again = http.post("/api/cases", json=body, headers={**officer, **key})
    assert first.status_code == 201 and again.status_code == 200, first.text
    assert first.json()["id"] == again.json()["id"] and first.json()["grid_code"] == grid
    assert first.json()["reporter_username"] and first.json()["source"] == "patrol"
    events = records.get_case(engine, first.json()["id"], with_events=True)["events"]
    assert events[0]["role"] == "patrol_officer"
    r = http.post("/api/cases", json={**body, "lon": 117.0, "lat": 36.65}, headers=officer)
    assert r.status_code == 422 and "outside Rizhao's service area" in r.json()["description"]
