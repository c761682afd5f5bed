"""Organisation over the CLI and the API: departments and squads, officers, users linked to
officers (what a live patrol needs), listing, and deactivation revoking tokens at once."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:6]


@pytest.fixture
def cli(engine, monkeypatch):
    """Run ``citygrid ...`` against the test database."""
    import citygrid.db.engine as db_engine
    from cli.main import app

    monkeypatch.setattr(db_engine, "get_engine", lambda *a, **k: engine)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args), env={"COLUMNS": "200"})

    return run


def _token(http, username: str, password: str) -> dict:
    r = http.post("/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_cli_adds_squad_officer_and_linked_patrol_user(cli, engine, tag):
    r = cli("org", "add-department", f"D-{tag}", "东港区综合行政执法局", "--kind", "department", "--county", "371102")
    assert r.exit_code == 0, r.output
    r = cli("org", "add-department", f"SQ-{tag}", "秦楼中队", "--kind", "squad", "--parent", f"D-{tag}")
    assert r.exit_code == 0, r.output
    r = cli("users", "add", f"wang-{tag}", "--role", "patrol_officer", "--officer", f"B{tag}",
            "--officer-name", "王警官", "--department", f"SQ-{tag}", "--password", "long-enough-1")
    assert r.exit_code == 0, r.output
    assert f"officer B{tag} 王警官" in r.output and f"SQ-{tag}" in r.output
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT o.badge, o.county_code, d.code, p.code AS parent FROM users u JOIN officers o ON o.id = u.officer_id "
            "JOIN departments d ON d.id = o.department_id JOIN departments p ON p.id = d.parent_id "
            "WHERE u.username = :u"), {"u": f"wang-{tag}"}).one()
    # the squad sits under its department; the officer inherits the department's county
    assert tuple(row) == (f"B{tag}", None, f"SQ-{tag}", f"D-{tag}")
    listing = cli("users", "list")
    assert listing.exit_code == 0 and f"wang-{tag}" in listing.output and f"B{tag}" in listing.output
    officers = cli("org", "list", "officers")
    assert officers.exit_code == 0 and f"wang-{tag}" in officers.output
    deps = cli("org", "list", "departments")
    assert f"SQ-{tag}" in deps.output and f"D-{tag}" in deps.output


def test_cli_refuses_patrol_user_without_officer_and_unknown_officer(cli, tag):
    r = cli("users", "add", f"nobody-{tag}", "--role", "patrol_officer", "--password", "long-enough-1")
    assert r.exit_code == 2 and "officer" in r.output
    r = cli("users", "add", f"ghost-{tag}", "--role", "patrol_officer", "--officer", f"NOPE-{tag}",
            "--password", "long-enough-1")
    assert r.exit_code == 2 and f"NOPE-{tag}" in r.output
    r = cli("users", "add", f"x-{tag}", "--role", "emperor", "--password", "long-enough-1")
    assert r.exit_code == 2 and "unknown role" in r.output


def test_one_user_per_officer(engine, tag):
    from citygrid.errors import Conflict
    from citygrid.org import add_officer, add_user

    add_officer(engine, f"C{tag}", "陈警官")
    add_user(engine, f"chen-{tag}", "patrol_officer", "long-enough-1", officer=f"C{tag}")
    with pytest.raises(Conflict, match=f"chen-{tag}"):
        add_user(engine, f"chen2-{tag}", "patrol_officer", "long-enough-1", officer=f"C{tag}")


def test_deactivated_users_token_stops_working(cli, http, engine, tag):
    from citygrid.org import add_user

    add_user(engine, f"plan-{tag}", "planner", "long-enough-1")
    headers = _token(http, f"plan-{tag}", "long-enough-1")
    assert http.get("/api/kpi", params={"by": "city"}, headers=headers).status_code == 200
    assert http.get("/auth/me", headers=headers).json()["role"] == "planner"
    r = cli("users", "deactivate", f"plan-{tag}")
    assert r.exit_code == 0, r.output
    # the same, still unexpired and correctly signed token: refused now
    assert http.get("/auth/me", headers=headers).status_code == 401
    assert http.get("/api/kpi", params={"by": "city"}, headers=headers).status_code == 401
    assert http.post("/auth/token", data={"username": f"plan-{tag}", "password": "long-enough-1"}).status_code == 401
    listing = cli("users", "list", "--inactive")
    assert f"plan-{tag}" in listing.output
    # reactivated: a new sign-in works, the old token stays revoked
    assert cli("users", "activate", f"plan-{tag}").exit_code == 0
    import time

    time.sleep(1.1)  # JWT iat has whole seconds
    fresh = _token(http, f"plan-{tag}", "long-enough-1")
    assert http.get("/auth/me", headers=fresh).status_code == 200
    assert http.get("/auth/me", headers=headers).status_code == 401
    with engine.connect() as conn:
        actions = conn.execute(sa.text("SELECT action FROM audit_log WHERE target = :u ORDER BY id"),
                               {"u": f"plan-{tag}"}).scalars().all()
    assert actions == ["user.add", "user.deactivate", "user.activate"]


def test_role_change_applies_to_existing_tokens(http, engine, tag):
    from citygrid.org import add_user

    add_user(engine, f"cmd-{tag}", "commander", "long-enough-1")
    headers = _token(http, f"cmd-{tag}", "long-enough-1")
    assert http.get("/api/org/users", headers=headers).status_code == 200
    add_user(engine, f"cmd-{tag}", "public", "long-enough-1")  # demoted
    assert http.get("/api/org/users", headers=headers).status_code == 403


def test_a_password_reset_revokes_the_old_tokens_but_not_a_same_password_update(http, engine, tag):
    import time

    from citygrid.org import add_user

    add_user(engine, f"rst-{tag}", "planner", "long-enough-1")
    old = _token(http, f"rst-{tag}", "long-enough-1")
    time.sleep(1.1)  # JWT iat has whole seconds: the revocation must fall in a later second
    add_user(engine, f"rst-{tag}", "planner", "long-enough-1", display_name="same password")
    assert http.get("/auth/me", headers=old).status_code == 200  # nothing leaked, nothing revoked
    add_user(engine, f"rst-{tag}", "planner", "a-new-secret-2")  # a reset
    assert http.get("/auth/me", headers=old).status_code == 401
    time.sleep(1.1)
    assert http.get("/auth/me", headers=_token(http, f"rst-{tag}", "a-new-secret-2")).status_code == 200


def test_org_api_officers_users_and_deactivation(http, make_user, engine, tag):
    boss = make_user(f"org-boss-{tag}", "commander")
    r = http.post("/api/org/departments", json={"code": f"SQA-{tag}", "name": "岚山中队", "kind": "squad",
                                                "county_code": "371103"}, headers=boss)
    assert r.status_code == 201, r.text
    r = http.post("/api/org/officers", json={"badge": f"L{tag}", "name": "李警官",
                                             "department_code": f"SQA-{tag}"}, headers=boss)
    assert r.status_code == 201, r.text
    r = http.post("/api/org/users", json={"username": f"li-{tag}", "role": "patrol_officer",
                                          "password": "long-enough-1", "officer": f"L{tag}"}, headers=boss)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["officer_badge"] == f"L{tag}" and body["department_code"] == f"SQA-{tag}"
    assert "password_hash" not in body
    officers = {o["badge"]: o for o in http.get("/api/org/officers", headers=boss).json()}
    assert officers[f"L{tag}"]["username"] == f"li-{tag}" and officers[f"L{tag}"]["county_code"] == "371103"
    # the linked user can start their own live patrol
    li = _token(http, f"li-{tag}", "long-enough-1")
    p = http.post("/api/patrols", json={}, headers=li)
    assert p.status_code == 201, p.text
    assert p.json()["officer_id"] == officers[f"L{tag}"]["id"]
    # a patrol_officer without an officer is refused by the API with the field named
    bad = http.post("/api/org/users", json={"username": f"x-{tag}", "role": "patrol_officer",
                                            "password": "long-enough-1"}, headers=boss)
    assert bad.status_code == 422 and "officer" in bad.text
    users = {u["username"]: u for u in http.get("/api/org/users", headers=boss).json()}
    assert users[f"li-{tag}"]["active"] is True and "password_hash" not in users[f"li-{tag}"]
    r = http.post(f"/api/org/users/li-{tag}/deactivate", headers=boss)
    assert r.status_code == 200 and r.json()["active"] is False
    assert http.post(f"/api/patrols/{p.json()['id']}/stop", json={}, headers=li).status_code == 401
    assert http.post("/api/org/users/nobody-at-all/deactivate", headers=boss).status_code == 404


def test_retiring_an_officer_keeps_their_patrols_and_ends_their_access(http, make_user, cli, engine, tag):
    boss = make_user(f"ret-boss-{tag}", "commander")
    planner = make_user(f"ret-plan-{tag}", "planner")
    assert http.post("/api/org/officers", json={"badge": f"R{tag}", "name": "赵警官"},
                     headers=boss).status_code == 201
    assert http.post("/api/org/users", json={"username": f"zhao-{tag}", "role": "patrol_officer",
                                             "password": "long-enough-1", "officer": f"R{tag}"},
                     headers=boss).status_code == 201
    zhao = _token(http, f"zhao-{tag}", "long-enough-1")
    p = http.post("/api/patrols", json={}, headers=zhao)
    assert p.status_code == 201, p.text
    pid, oid = p.json()["id"], p.json()["officer_id"]
    # only a commander retires
    assert http.post(f"/api/org/officers/R{tag}/retire", headers=planner).status_code == 403
    r = http.post(f"/api/org/officers/R{tag}/retire", headers=boss)
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False and r.json()["username"] == f"zhao-{tag}"
    # their phone's token stops working; their patrol stays; nobody starts a new one for them
    assert http.get("/auth/me", headers=zhao).status_code == 401
    assert http.get(f"/api/patrols/{pid}", headers=boss).status_code == 200
    again = http.post("/api/patrols", json={"officer_id": oid}, headers=boss)
    assert again.status_code == 409 and "retired" in again.text
    assert http.post("/api/org/officers/NO-SUCH-BADGE/retire", headers=boss).status_code == 404
    with engine.connect() as conn:
        actions = conn.execute(sa.text(
            "SELECT action, target FROM audit_log WHERE target IN (:b, :u) ORDER BY id"),
            {"b": f"R{tag}", "u": f"zhao-{tag}"}).all()
    assert [tuple(a) for a in actions] == [("user.add", f"zhao-{tag}"), ("officer.retire", f"R{tag}"),
                                           ("user.deactivate", f"zhao-{tag}")]
    # reinstated from the command line: a commander can start their patrols again
    r = cli("org", "reinstate-officer", f"R{tag}")
    assert r.exit_code == 0 and "active" in r.output, r.output
    assert http.post("/api/patrols", json={"officer_id": oid}, headers=boss).status_code == 201
    r = cli("org", "retire-officer", f"R{tag}")
    assert r.exit_code == 0 and "retired" in r.output, r.output
    assert cli("org", "retire-officer", "NO-SUCH-BADGE").exit_code == 1
