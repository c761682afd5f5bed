"""Live loudspeaker broadcasts through the API: who may order, approved texts only, quiet
hours and overrides, idempotency, the command queue, the append-only audit log, and a
simulated flight that plays its broadcast over the target."""
from __future__ import annotations

import uuid
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from tests import mavlink_spec, wpml_spec

from citygrid.workcal import TZ
from drone import broadcast, simulate
from drone.simulate import distance_m

DRONE = "UAV-371102-01"
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=TZ)
NIGHT = datetime(2026, 12, 1, 23, 30, tzinfo=TZ)


@pytest.fixture(scope="module")
def users(drone_db, make_user):
    return {"op": make_user("bc_operator", "drone_operator"), "cmd": make_user("bc_commander", "commander"),
            "po": make_user("bc_patrol", "patrol_officer")}


@pytest.fixture(scope="module")
def approved(http, users):
    r = http.post("/api/drone/templates/occupied_road/approve", headers=users["cmd"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["approved_by"] == "bc_commander"
    return "occupied_road"


@pytest.fixture()
def at(monkeypatch):
    def set_time(moment):
        monkeypatch.setattr(broadcast, "clock", lambda: moment)
    set_time(NOON)
    return set_time


def audit_rows(engine, **where):
    q = sa.select(broadcast.broadcast_audit).order_by(broadcast.broadcast_audit.c.id)
    for k, v in where.items():
        q = q.where(getattr(broadcast.broadcast_audit.c, k) == v)
    with engine.connect() as conn:
        return [r._mapping for r in conn.execute(q)]


BODY = {"template": "occupied_road", "variables": {"place": "福海夜市"}, "plays": 2, "volume": 80}


def test_only_a_commander_approves_templates(http, users):
    r = http.post("/api/drone/templates/noise/approve", headers=users["op"])
    assert r.status_code == 403


def test_patrol_officer_refused_and_audited(http, users, approved, engine, at):
    r = http.post(f"/api/drone/{DRONE}/broadcast", json=BODY, headers=users["po"])
    assert r.status_code == 403, r.text
    rows = audit_rows(engine, ordered_by="bc_patrol")
    assert rows and rows[-1]["outcome"] == "refused" and rows[-1]["ordered_role"] == "patrol_officer"
    assert rows[-1]["drone_id"] == DRONE and rows[-1]["lon"] is not None and "drone_operator" in rows[-1]["reason"]


def test_unapproved_template_and_free_text_refused_and_audited(http, users, approved, engine, at):
    before = len(audit_rows(engine, ordered_by="bc_operator", outcome="refused"))
    r = http.post(f"/api/drone/{DRONE}/broadcast", json={**BODY, "template": "noise",
                                                         "variables": {"place": "x", "time": "y"}}, headers=users["op"])
    assert r.status_code == 403
    text = "请立即停止占道经营，谢谢配合。"
    r = http.post(f"/api/drone/{DRONE}/broadcast", json={"text": text}, headers=users["op"])
    assert r.status_code == 403 and "approval" in r.json()["description"]
    assert len(audit_rows(engine, ordered_by="bc_operator", outcome="refused")) == before + 2
    # a commander approves the free text; then it may be broadcast
    r = http.post("/api/drone/templates", json={"text_zh": text, "kind": "free_text"}, headers=users["op"])
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert http.post(f"/api/drone/templates/{code}/approve", headers=users["cmd"]).status_code == 200
    r = http.post(f"/api/drone/{DRONE}/broadcast", json={"text": text}, headers=users["op"])
    assert r.status_code == 201, r.text
    assert r.json()["text"] == text and r.json()["text_approved_by"] == "bc_commander"


def test_night_broadcast_needs_a_commanders_override(http, users, approved, engine, at):
    at(NIGHT)
    r = http.post(f"/api/drone/{DRONE}/broadcast", json=BODY, headers=users["op"])
    assert r.status_code == 403 and "quiet hours" in r.json()["description"]
    last = audit_rows(engine, ordered_by="bc_operator")[-1]
    assert last["outcome"] == "refused" and "quiet hours" in last["reason"] and "福海夜市" in last["text"]
    # an operator cannot grant an override
    assert http.post("/api/drone/overrides", json={"drone_id": DRONE, "reason": "x"},
                     headers=users["op"]).status_code == 403
    r = http.post("/api/drone/overrides", json={"drone_id": DRONE, "reason": "夜间油烟扰民投诉处置", "minutes": 30},
                  headers=users["cmd"])
    assert r.status_code == 201, r.text
    oid = r.json()["id"]
    assert audit_rows(engine, outcome="override_granted")[-1]["override_by"] == "bc_commander"
    r = http.post(f"/api/drone/{DRONE}/broadcast", json={**BODY, "override_id": oid}, headers=users["op"])
    assert r.status_code == 201, r.text
    row = audit_rows(engine, command_id=r.json()["id"])[-1]
    assert row["outcome"] == "queued" and row["override_by"] == "bc_commander"


def test_broadcast_idempotent_queue_and_audit(http, users, approved, engine, at):
    key = str(uuid.uuid4())
    h = {**users["op"], "Idempotency-Key": key}
    r1 = http.post(f"/api/drone/{DRONE}/broadcast", json=BODY, headers=h)
    r2 = http.post(f"/api/drone/{DRONE}/broadcast", json=BODY, headers=h)
    assert r1.status_code == 201 and r2.status_code == 200
    cmd = r1.json()
    assert r2.json()["id"] == cmd["id"] and cmd["status"] == "queued"
    assert len(audit_rows(engine, command_id=cmd["id"])) == 1
    assert http.post(f"/api/drone/{DRONE}/broadcast", json={**BODY, "plays": 3}, headers=h).status_code == 409
    row = audit_rows(engine, command_id=cmd["id"])[0]
    assert row["audio_sha256"] == cmd["audio_sha256"] and len(cmd["audio_sha256"]) == 64
    assert row["text_approved_by"] == "bc_commander" and row["ordered_by"] == "bc_operator"
    assert row["text"] == "福海夜市的经营户请注意：占道经营违反城市管理规定，请立即将摊位和物品收回店内或规定区域。"
    # the queue moves forward only
    st = lambda s: http.post(f"/api/drone/commands/{cmd['id']}/status", json={"status": s}, headers=users["op"])
    assert st("played").status_code == 409
    for s in ("sent", "acknowledged", "played"):
        assert st(s).status_code == 200
    assert [r["outcome"] for r in audit_rows(engine, command_id=cmd["id"])] == ["queued", "sent", "acknowledged",
                                                                                 "played"]
    assert st("failed").status_code == 409
    # the simulator serves whatever is still queued
    done = simulate.serve_commands(engine, DRONE)
    assert all(c["status"] == "played" for c in done)


def test_audit_log_cannot_be_altered(http, users, engine, owner_engine):
    rows = audit_rows(engine)
    assert rows
    rid = rows[0]["id"]
    for method in ("put", "patch", "delete"):
        r = getattr(http, method)("/api/drone/audit", headers=users["cmd"])
        assert r.status_code in (404, 405)
        r = http.request(method.upper(), f"/api/drone/audit/{rid}", headers=users["cmd"])
        assert r.status_code in (404, 405)
    assert http.get("/api/drone/audit", headers=users["op"]).status_code == 403
    assert http.get("/api/drone/audit", headers=users["cmd"]).status_code == 200
    for sql in ("UPDATE broadcast_audit SET outcome = 'played' WHERE id = :i",
                "DELETE FROM broadcast_audit WHERE id = :i"):
        for eng in (engine, owner_engine):
            with pytest.raises(DBAPIError) as exc:
                with eng.begin() as conn:
                    conn.execute(sa.text(sql), {"i": rid})
            assert "permission denied" in str(exc.value) or "append-only" in str(exc.value)
    with pytest.raises(DBAPIError) as exc:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE broadcast_audit SET outcome = 'played' WHERE id = :i"), {"i": rid})
    assert "permission denied" in str(exc.value)
    assert audit_rows(engine)[0]["outcome"] == rows[0]["outcome"]


def test_simulated_flight_plays_broadcast_over_target(http, users, approved, engine):
    tgt = (119.55, 35.44)
    r = http.post("/api/drone/missions", headers=users["op"], json={
        "lon": tgt[0], "lat": tgt[1], "start": NOON.isoformat(), "capture": "video",
        "broadcasts": [{"template": "occupied_road", "variables": {"place": "兴业夜市"}, "plays": 2}]})
    assert r.status_code == 201, r.text
    m = r.json()
    out = simulate.fly_mission(engine, m["id"], step_s=5)
    assert len(out["played"]) == 1
    p = out["played"][0]
    assert distance_m(p["lon"], p["lat"], *tgt) < 5
    rows = audit_rows(engine, mission_id=m["id"], outcome="played")
    assert len(rows) == 1 and distance_m(rows[0]["lon"], rows[0]["lat"], *tgt) < 5
    assert out["battery_left_pct"] > 25  # landed above the reserve
    pos = http.get("/api/drone/positions", headers=users["op"]).json()
    mine = next(x for x in pos if x["drone_id"] == m["airframe_id"])
    assert mine["state"] == "landed" and mine["mission_id"] == m["id"]
    assert http.get(f"/api/drone/missions/{m['id']}", headers=users["op"]).json()["status"] == "completed"
    check = {"plan": mavlink_spec.check_plan, "waypoints": mavlink_spec.check_wpl,
             "kmz": lambda data: wpml_spec.check_kmz(data).problems}
    for fmt in ("plan", "waypoints", "kmz"):
        r = http.get(f"/api/drone/missions/{m['id']}/export.{fmt}", headers=users["op"])
        assert r.status_code == 200 and len(r.content) > 100
        assert check[fmt](r.content) == [], fmt


def test_planned_night_broadcast_needs_override_for_the_whole_flight(http, users, approved, engine, at):
    body = {"lon": 119.55, "lat": 35.44, "start": NIGHT.isoformat(),
            "broadcasts": [{"template": "occupied_road", "variables": {"place": "石榴夜市"}}]}
    r = http.post("/api/drone/missions", json=body, headers=users["op"])
    assert r.status_code == 422
    assert [p["rule"] for p in r.json()["problems"]] == ["quiet_hours"]
    plan = http.post("/api/drone/missions/check", json=body, headers=users["op"]).json()["plan"]
    at(NIGHT)
    ov = http.post("/api/drone/overrides", json={"drone_id": plan["airframe_id"], "reason": "夜市噪声专项",
                                                 "minutes": 60}, headers=users["cmd"]).json()
    r = http.post("/api/drone/missions", json={**body, "quiet_override_id": ov["id"]}, headers=users["op"])
    assert r.status_code == 201, r.text


# --- typed, bounded template variables -----------------------------------------------------

@pytest.fixture(scope="module")
def noise_and_minutes(http, users):
    """The noise template ({place}, {time}) and a template with {minutes}, both approved."""
    assert http.post("/api/drone/templates/noise/approve", headers=users["cmd"]).status_code == 200
    code = f"leave-{uuid.uuid4().hex[:6]}"
    r = http.post("/api/drone/templates", json={"code": code, "category": "unlicensed_vendor",
                                                "text_zh": "{place}的摊贩请注意：请在{minutes}内离开。"},
                  headers=users["op"])
    assert r.status_code == 201, r.text
    assert sorted(r.json()["variables"]) == ["minutes", "place"]
    assert http.post(f"/api/drone/templates/{code}/approve", headers=users["cmd"]).status_code == 200
    return code


@pytest.mark.parametrize("variables, bad", [
    ({"place": "请立即交罚款到这个账户"}, "place"),        # free words are not a place
    ({"place": "x" * 50}, "place"),                    # longer than a place name may be
    ({"place": "福海夜市", "time": "25:00"}, "time"),
    ({"place": "福海夜市", "time": "现在马上"}, "time"),
    ({"place": "福海夜市", "time": "21:30", "shout": "走开"}, "shout"),  # a variable the template lacks
])
def test_noise_variables_out_of_type_refused_naming_the_variable(http, users, noise_and_minutes, engine, at,
                                                                  variables, bad):
    body = {"template": "noise", "variables": variables}
    r = http.post(f"/api/drone/{DRONE}/broadcast", json=body, headers=users["op"])
    assert r.status_code == 422, r.text
    wheres = [p["where"] for p in r.json()["problems"]]
    assert f"variables.{bad}" in wheres, r.text
    last = audit_rows(engine, ordered_by="bc_operator")[-1]
    # the refusal is audited with what the operator tried, and nothing was spoken
    assert last["outcome"] == "refused" and f"variables.{bad}" in last["reason"]
    assert last["detail"]["variables"] == variables and last["text"] is None and last["command_id"] is None


def test_minutes_bounded(http, users, noise_and_minutes, at):
    for value in (0, 121, "十分钟", 2.5):
        r = http.post(f"/api/drone/{DRONE}/broadcast", headers=users["op"], json={
            "template": noise_and_minutes, "variables": {"place": "福海夜市", "minutes": value}})
        assert r.status_code == 422 and "variables.minutes" in r.text, (value, r.text)


def test_spoken_text_audited_as_spoken(http, users, noise_and_minutes, engine, at, layers):
    # a place may be given by its layer code: the drone says the layer's name
    post = layers["grids"].iloc[3]  # (a grid: its 14-digit code names nothing else)
    r = http.post(f"/api/drone/{DRONE}/broadcast", headers=users["op"], json={
        "template": "noise", "variables": {"place": post["code"], "time": "21:05"}})
    assert r.status_code == 201, r.text
    spoken = f"{post['name']}的经营者请注意：现在是21点05分，请立即降低音量，不得使用高音喇叭招揽顾客。"
    assert r.json()["text"] == spoken
    [row] = audit_rows(engine, command_id=r.json()["id"])
    assert row["text"] == spoken and row["detail"]["variables"] == {"place": post["code"], "time": "21:05"}
    # the audio is that text, spoken: its hash is the TTS of exactly these words
    from drone import speaker

    assert row["audio_sha256"] == speaker.synthesize(spoken).sha256
    r = http.post(f"/api/drone/{DRONE}/broadcast", headers=users["op"], json={
        "template": noise_and_minutes, "variables": {"place": "福海夜市", "minutes": 15}})
    assert r.status_code == 201, r.text
    assert audit_rows(engine, command_id=r.json()["id"])[0]["text"] == "福海夜市的摊贩请注意：请在15分钟内离开。"


def test_deadline_is_a_time_or_a_near_date(engine, layers):
    from datetime import date

    from citygrid.errors import InvalidInput
    from drone.variables import spoken_value

    today = date(2026, 12, 4)
    with engine.connect() as conn:
        assert spoken_value(conn, "deadline", "18:00", today) == "18点00分"
        assert spoken_value(conn, "deadline", "2026-12-10", today) == "12月10日"
        for bad in ("2027-03-01", "2026-12-01", "tomorrow", "2026-13-40"):
            with pytest.raises(InvalidInput) as exc:
                spoken_value(conn, "deadline", bad, today)
            assert exc.value.problems[0]["where"] == "variables.deadline"
