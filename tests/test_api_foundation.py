"""The API start: health, tokens and roles, OGC API Features basics, errors."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt


def test_health_reports_postgis(http):
    r = http.get("/health")
    assert r.status_code == 200
    assert r.json()["postgis"].startswith("3.")


def test_openapi_and_landing(http):
    assert http.get("/openapi.json").json()["info"]["title"] == "citygrid"
    rels = {link["rel"] for link in http.get("/").json()["links"]}
    assert {"service-desc", "service-doc", "conformance", "data"} <= rels


def test_token_and_require_role_gate_a_write(http, make_user):
    commander = make_user("cmd1", "commander")
    planner = make_user("plan1", "planner")
    body = {"code": "DG-SQ1", "name": "东港区第一执法中队", "kind": "squad", "county_code": "371102"}
    assert http.post("/api/org/departments", json=body).status_code == 401
    r = http.post("/api/org/departments", json=body, headers=planner)
    assert r.status_code == 403
    assert "commander" in r.json()["description"]
    r = http.post("/api/org/departments", json=body, headers=commander)
    assert r.status_code == 201, r.text
    codes = [d["code"] for d in http.get("/api/org/departments", headers=planner).json()]
    assert "DG-SQ1" in codes
    assert http.get("/api/org/departments").status_code == 401


def test_wrong_password_forged_and_expired_tokens(http, make_user, settings):
    make_user("cmd2", "commander")
    assert http.post("/auth/token", data={"username": "cmd2", "password": "nope"}).status_code == 401
    forged = jwt.encode({"sub": "cmd2", "role": "commander", "exp": datetime.now(timezone.utc) + timedelta(hours=1)},
                        "not-the-key", algorithm="HS256")
    body = {"code": "X", "name": "x", "kind": "squad"}
    r = http.post("/api/org/departments", json=body, headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    expired = jwt.encode({"sub": "cmd2", "role": "commander", "exp": datetime.now(timezone.utc) - timedelta(minutes=1)},
                         settings.resolved_secret_key(), algorithm="HS256")
    r = http.post("/api/org/departments", json=body, headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401
    assert "expired" in r.json()["description"]


def test_token_claims_carry_role(http, make_user):
    headers = make_user("drone1", "drone_operator")
    assert http.get("/auth/me", headers=headers).json() == {"username": "drone1", "role": "drone_operator", "staff": True}
    assert http.get("/auth/me").json()["role"] == "public"


def test_unknown_collection_and_feature_are_404_json(http):
    r = http.get("/collections/nope")
    assert r.status_code == 404
    assert "nope" in r.json()["description"]
    r = http.get("/collections/grids/items/00000000000000")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")


def test_bad_bbox_is_named(http):
    r = http.get("/collections/grids/items", params={"bbox": "35.4,119.4,35.5,119.6"})
    assert r.status_code == 422
    assert "swapped" in r.json()["description"]
    assert http.get("/collections/grids/items", params={"bbox": "1,2,3"}).status_code == 422


def test_oversized_body_is_413(http, settings):
    r = http.post("/api/org/departments", content=b"x" * (settings.max_body_bytes + 1),
                  headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_first_map_page_is_self_contained(http):
    import re

    r = http.get("/", headers={"accept": "text/html"})
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert assets, "the page loads Leaflet"
    assert all(a.startswith("/static/") for a in assets), assets
    for a in assets:
        assert http.get(a).status_code == 200
    assert "/static/portal.js" in assets  # the page's script fetches the layers at run time
    assert "'/collections/' + spec.collection + '/items?'" in http.get("/static/portal.js").text
    # JSON clients still get the OGC landing page at the same address.
    assert http.get("/", headers={"accept": "application/json"}).json()["title"] == "citygrid"
