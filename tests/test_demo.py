"""What ``citygrid demo load`` leaves in the database (cli.demo.load_demo, with a tenth of the
history): a commander can dispatch on day one. Each layer of the portal has data, and the
portal's own requests find it."""
from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import DEMO_CASES


@pytest.fixture(scope="module")
def db(demo):
    from citygrid.db.engine import get_engine

    s, _ = demo
    return get_engine(s)


def one(db, sql: str, **params):
    with db.connect() as conn:
        return conn.execute(sa.text(sql), params).one()


def test_organisation_and_linked_officers(db):
    kinds = dict(one(db, "SELECT jsonb_object_agg(kind, n) FROM (SELECT kind, count(*) n FROM departments "
                         "GROUP BY kind) t")[0])
    assert kinds["department"] >= 6 and kinds["squad"] == 56 and kinds["subteam"] == 17
    # every squad serves a subdistrict and sits under its county's bureau
    bad = one(db, "SELECT count(*) FROM departments d LEFT JOIN departments p ON p.id = d.parent_id "
                  "WHERE d.kind = 'squad' AND (d.subdistrict_code IS NULL OR p.county_code <> d.county_code)")[0]
    assert bad == 0
    assert one(db, "SELECT count(*) FROM officers o JOIN departments d ON d.id = o.department_id "
                   "WHERE d.kind = 'squad'")[0] >= 100
    linked = one(db, "SELECT count(*) FROM users u JOIN officers o ON o.id = u.officer_id "
                     "WHERE u.role = 'patrol_officer' AND u.active")[0]
    assert linked >= 3


def test_cases_have_events_and_departments(db):
    n, dispatched, with_dep, no_place = one(
        db, "SELECT count(*), count(dispatched_at), count(*) FILTER (WHERE dispatched_at IS NOT NULL AND "
            "department_id IS NOT NULL), count(*) FILTER (WHERE dispatched_at IS NOT NULL AND subdistrict_code IS NULL) "
            "FROM cases")
    # every dispatched case located in a town/street has its squad (the few outside any have none)
    assert n == DEMO_CASES and dispatched > 0.9 * n and with_dep == dispatched - no_place and no_place < 0.01 * n
    # the responsible department is the squad of the case's subdistrict
    assert one(db, "SELECT count(*) FROM cases c JOIN departments d ON d.id = c.department_id "
                   "WHERE d.subdistrict_code <> c.subdistrict_code")[0] == 0
    # every case has its events, and they replay to the case's state
    assert one(db, "SELECT count(DISTINCT case_id) FROM case_events")[0] == n
    assert one(db, """SELECT count(*) FROM cases c JOIN LATERAL (SELECT to_state FROM case_events e
                      WHERE e.case_id = c.id ORDER BY e.at DESC, e.id DESC LIMIT 1) last ON true
                      WHERE last.to_state <> c.status""")[0] == 0
    # each move is one vocab.TRANSITIONS allows to the role recorded
    from citygrid.vocab import TRANSITIONS

    rows = db.connect().execute(sa.text("SELECT DISTINCT from_state, to_state, role FROM case_events "
                                        "WHERE from_state IS NOT NULL")).all()
    assert rows and all(r.role in TRANSITIONS[r.from_state][r.to_state] for r in rows)
    assert one(db, "SELECT count(*) FROM case_events e JOIN cases c ON c.id = e.case_id WHERE "
                   "e.to_state = 'dispatched' AND e.department_id IS DISTINCT FROM c.department_id")[0] == 0


def test_patrol_campaign_by_several_officers(db):
    from cli.demo import CAMPAIGN

    officers, tracks, km = one(db, "SELECT count(DISTINCT officer_id), count(*), sum(distance_m) / 1000 "
                                   "FROM patrols WHERE campaign = :c AND geom IS NOT NULL AND distance_m > 0",
                               c=CAMPAIGN)
    assert officers >= 3 and tracks >= 12 and km > 40


def test_missions_with_broadcasts(db):
    missions = one(db, "SELECT count(*) FROM missions WHERE status = 'completed' AND jsonb_path_exists("
                       "plan, '$.waypoints[*].actions[*] ? (@.kind == \"broadcast\")')")[0]
    assert missions >= 3
    played_in_flight = one(db, "SELECT count(DISTINCT mission_id) FROM broadcast_audit WHERE outcome = 'played' "
                               "AND ordered_role = 'mission'")[0]
    commands = one(db, "SELECT count(*) FROM broadcast_commands WHERE mission_id IS NOT NULL AND status = 'played'")[0]
    assert played_in_flight >= 3 and commands >= 3
    # what was spoken names a real place of the layers, of a kind that fits the problem
    from cli.demo import PLACE_KINDS

    with db.connect() as conn:
        rows = conn.execute(sa.text("SELECT template_code, text FROM broadcast_commands")).all()
        kinds = dict(conn.execute(sa.text("SELECT name, kind FROM pois")).all())
    assert rows
    for template, text in rows:
        place = next(nm for nm in kinds if text.startswith(nm + "的") or text.startswith(nm + "正在"))
        assert kinds[place] in PLACE_KINDS[template], (template, text)
    assert one(db, "SELECT count(DISTINCT drone_id) FROM drone_telemetry")[0] >= 1


def test_portal_requests_find_the_demo_data(demo_server):
    """The overlays' own queries (api/portal.py OVERLAYS, what portal.js asks for) find features."""
    from api.portal import OVERLAYS

    url, _, creds = demo_server
    with httpx.Client(base_url=url, timeout=60) as http:
        token = http.post("/auth/token", data={"username": "demo_commander",
                                               "password": creds["demo_commander"]}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for spec in OVERLAYS:
            if spec["kind"] != "items" or spec.get("fixed"):
                continue
            r = http.get(f"/collections/{spec['collection']}/items",
                         params={"limit": 10, **spec.get("query", {})}, headers=headers)
            assert r.status_code == 200 and r.json()["numberReturned"] > 0, (spec["key"], r.text[:200])
        assert len(http.get("/api/drone/positions", headers=headers).json()) >= 1
        # the linked patrol officer can start a live patrol
        po = http.post("/auth/token", data={"username": "demo_patrol_officer",
                                            "password": creds["demo_patrol_officer"]}).json()["access_token"]
        r = http.post("/api/patrols", json={}, headers={"Authorization": f"Bearer {po}"})
        assert r.status_code == 201, r.text
