"""Who may do what, for EVERY route of the app: each route is called by each role (anonymous,
public, patrol_officer, planner, drone_operator, commander).

* No call answers 5xx.
* Writes (POST/PUT/PATCH/DELETE) are refused (401/403) to anonymous callers and to roles not
  allowed. Known write routes have an explicit table below; a write route not in it (e.g. one
  added later) must at least refuse anonymous and ``public`` callers.
* Known staff-only reads refuse anonymous (401) and public (403) callers.
* Reference layers are readable by everyone; a case's reporter contact only by staff.

Routes come from the app itself, so new routes are covered without editing this file.
"""
from __future__ import annotations

import math
import re
import uuid

import mapbox_vector_tile
import pytest

from api.portal import app_routes

ROLES = ("anonymous", "public", "patrol_officer", "planner", "drone_operator", "commander")
STAFF = ("patrol_officer", "planner", "drone_operator", "commander")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
OPEN = "open"  # anyone, signed in or not
PHOTO = "https://photos.example.cn/matrix/face-and-plate.jpg"
API_KEY = "api_key"  # Open311 clients: refused (403) without a registered api_key, whatever the token

# (method, path) -> roles allowed. Literal on purpose: a change of policy must show up here.
WRITES = {
    ("POST", "/auth/token"): OPEN,
    ("POST", "/open311/v2/requests.json"): API_KEY,
    ("POST", "/api/org/departments"): ("commander",),
    ("POST", "/api/org/officers"): ("commander",),
    ("POST", "/api/org/users"): ("commander",),
    ("POST", "/api/org/users/{username}/deactivate"): ("commander",),
    ("POST", "/api/org/users/{username}/activate"): ("commander",),
    ("POST", "/api/cases"): STAFF,
    ("POST", "/api/cases/{case_id}/transitions"): ("commander", "patrol_officer", "planner"),
    ("POST", "/api/cases/{case_id}/escalations"): ("commander", "patrol_officer"),
    ("POST", "/api/escalations/{escalation_id}/ack"): ("commander", "patrol_officer"),
    ("POST", "/api/hotspots/runs"): ("commander", "planner"),
    ("POST", "/api/drone/applications"): ("commander",),
    ("POST", "/api/drone/missions/check"): ("commander", "drone_operator"),
    ("POST", "/api/drone/missions"): ("commander", "drone_operator"),
    ("POST", "/api/drone/templates"): ("commander", "drone_operator"),
    ("POST", "/api/drone/templates/{code}/approve"): ("commander",),
    ("POST", "/api/drone/overrides"): ("commander",),
    ("POST", "/api/drone/{drone_id}/broadcast"): ("drone_operator",),
    ("POST", "/api/drone/commands/{command_id}/status"): ("drone_operator",),
    ("POST", "/api/drone/{drone_id}/telemetry"): ("drone_operator",),
    ("POST", "/api/patrols"): ("commander", "patrol_officer"),
    ("POST", "/api/patrols/{patrol_id}/fixes"): ("patrol_officer",),
    ("POST", "/api/patrols/{patrol_id}/stop"): ("commander", "patrol_officer"),
}
# Allowed callers are not sent to these: the call would really run (a hotspot run is stored)
# or the domain itself refuses with 403 (a made-up drone; broadcasts are audited; a patrol
# needs a user linked to an officer).
NOT_CALLED_WHEN_ALLOWED = {("POST", "/api/hotspots/runs"), ("POST", "/api/drone/{drone_id}/broadcast"),
                           ("POST", "/api/patrols"),
                           # the matrix's own callers must keep working: nobody is deactivated here
                           ("POST", "/api/org/users/{username}/deactivate")}

# Reads only staff may make; (method, path) -> roles allowed.
STAFF_READS = {
    "/api/cases/overdue": STAFF,
    "/api/escalations/unacknowledged": STAFF,
    "/api/kpi": STAFF,
    "/api/org/departments": STAFF,
    "/api/org/officers": STAFF,
    "/api/org/users": ("commander",),
    "/api/drone/stations": STAFF,
    "/api/drone/applications": STAFF,
    "/api/drone/templates": STAFF,
    "/api/drone/positions": STAFF,
    "/api/drone/audit": ("commander",),
}
# Reads open to everyone, signed in or not: the reference layers and the public services.
PUBLIC_READS = ("/", "/conformance", "/collections", "/health", "/open311/v2/services.json",
                "/api/portal/grid-stats")


@pytest.fixture(scope="module")
def callers(make_user) -> dict[str, dict]:
    tag = uuid.uuid4().hex[:6]
    out = {"anonymous": {}}
    for role in ROLES[1:]:
        out[role] = make_user(f"matrix-{role}-{tag}", role)
    return out


@pytest.fixture(scope="module")
def reported_case(layers, engine, http) -> str:
    """A citizen's case with name, phone and a photo, through Open311."""
    from citygrid.org import add_api_client

    key = add_api_client(engine, f"matrix-{uuid.uuid4().hex[:6]}")
    c = layers["grids"].iloc[2].geometry.representative_point()
    r = http.post("/open311/v2/requests.json", data={
        "api_key": key, "service_code": "noise", "lat": c.y, "long": c.x, "description": "matrix test",
        "first_name": "Li", "last_name": "Matrix", "phone": "13800001234", "email": "li@example.cn",
        "media_url": PHOTO})
    assert r.status_code == 201, r.text
    return r.json()[0]["service_request_id"]


def _routes(app) -> list[tuple[str, str]]:
    return sorted({(m, path) for path, methods, _ in app_routes(app) for m in methods if m != "HEAD"})


def _fill(path: str, case_id: str, grid_code: str) -> str:
    values = {"collection_id": "grids", "feature_id": grid_code, "case_id": case_id, "service_request_id": case_id,
              "service_code": "noise", "z": "13", "x": "6814", "y": "3232", "fmt": "plan", "drone_id": "D-none",
              "code": "T-none", "name": "none", "username": "nobody-none"}
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), "999999"), path)


@pytest.fixture(scope="module")
def app():
    from api.app import create_app

    return create_app()


def test_every_route_by_every_role(app, layers, http, callers, reported_case):
    routes = _routes(app)
    paths = {p for _, p in routes}
    # The route list really is the app's: everything the OpenAPI document shows is in it.
    for p in app.openapi()["paths"]:
        assert p in paths, f"route {p} missing from the iteration"
    assert ("GET", "/api/portal/grid-stats") in routes and len(routes) > 40
    for key in WRITES:  # the table names real routes
        assert key in routes, f"{key} is in the table but not in the app"
    grid_code = layers["grids"].iloc[0]["code"]
    problems = []
    for method, path in routes:
        url = _fill(path, reported_case, grid_code)
        write = method in WRITE_METHODS
        allowed = WRITES.get((method, path)) if write else STAFF_READS.get(path)
        for role in ROLES:
            headers = callers[role]
            may = (allowed == OPEN or allowed is None and not write
                   or isinstance(allowed, tuple) and role in allowed)
            if write and may and allowed not in (OPEN, API_KEY) and (method, path) in NOT_CALLED_WHEN_ALLOWED:
                continue
            if write and may and allowed is None:  # an unknown write route: its own tests decide
                continue
            r = http.request(method, url, headers=headers, json={} if write else None,
                             params={"limit": 2} if "/items" in path else None)
            where = f"{method} {path} as {role}: {r.status_code} {r.text[:160]}"
            if r.status_code >= 500:
                problems.append("5xx: " + where)
            elif write and allowed is None and role in ("anonymous", "public") and r.status_code not in (401, 403):
                problems.append("unknown write not refused: " + where)
            elif allowed == API_KEY and r.status_code != 403:
                problems.append("api-key write not refused: " + where)
            elif allowed not in (None, OPEN, API_KEY) and not may:
                expected = (401,) if role == "anonymous" else (401, 403)
                if r.status_code not in expected:
                    problems.append(f"not refused (want {expected}): " + where)
            elif may and allowed not in (None, OPEN, API_KEY) and r.status_code in (401, 403):
                problems.append("allowed role refused: " + where)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("role", ROLES)
def test_reference_layers_and_public_reads_are_open_to_all(layers, http, callers, role):
    from citygrid.catalog import REFERENCE_COLLECTIONS

    for coll in REFERENCE_COLLECTIONS:
        r = http.get(f"/collections/{coll}/items", params={"limit": 1}, headers=callers[role])
        assert r.status_code == 200, (coll, role, r.text[:200])
        assert r.json()["numberReturned"] == 1
        assert http.get(f"/tiles/{coll}.json", headers=callers[role]).status_code == 200
        assert http.get(f"/tiles/{coll}/13/6814/3232.pbf", headers=callers[role]).status_code == 200
    for path in PUBLIC_READS:
        assert http.get(path, headers=callers[role]).status_code == 200, (path, role)


@pytest.mark.parametrize("role", ROLES)
def test_case_reporter_contact_only_for_staff(layers, http, callers, reported_case, role):
    staff = role in STAFF
    headers = callers[role]
    one = http.get(f"/api/cases/{reported_case}", headers=headers)
    item = http.get(f"/collections/cases/items/{reported_case}", headers=headers)
    listing = http.get("/api/cases", params={"page_size": 1000}, headers=headers)
    items = http.get("/collections/cases/items", params={"limit": 10000}, headers=headers)
    for r in (one, item, listing, items):
        assert r.status_code == 200, r.text[:200]
        assert ("13800001234" in r.text) is staff, (role, r.request.url)
        assert ("li@example.cn" in r.text) is staff
    if staff:
        assert one.json()["reporter_phone"] == "13800001234"
        assert item.json()["properties"]["reporter_phone"] == "13800001234"
    else:
        assert "reporter_phone" not in item.json()["properties"]
    # Photos (they show faces, plates, homes) only for staff, on every read path.
    for r in (one, item, listing, items):
        assert (PHOTO in r.text) is staff, (role, r.request.url)
    if staff:
        assert one.json()["media_urls"] == [PHOTO]
        assert item.json()["properties"]["media_urls"] == [PHOTO]
    else:
        assert "media_urls" not in one.json() and "media_urls" not in item.json()["properties"]
    # Open311 and the vector tiles are public views: never the contact, whoever asks.
    o = http.get(f"/open311/v2/requests/{reported_case}.json", headers=headers)
    assert o.status_code == 200 and "13800001234" not in o.text
    assert o.json()[0]["media_url"] == (PHOTO if staff else None)
    listed = http.get("/open311/v2/requests.json", params={"service_request_id": reported_case}, headers=headers)
    assert listed.status_code == 200 and listed.json()[0]["service_request_id"] == reported_case
    assert listed.json()[0]["media_url"] == (PHOTO if staff else None)
    assert (PHOTO in listed.text) is staff
    c = layers["grids"].iloc[2].geometry.representative_point()
    z = 15
    x = int((c.x + 180) / 360 * 2 ** z)
    y = int((1 - math.asinh(math.tan(math.radians(c.y))) / math.pi) / 2 * 2 ** z)
    t = http.get(f"/tiles/cases/{z}/{x}/{y}.pbf", headers=headers)
    assert t.status_code == 200 and t.content
    props = [f["properties"] for f in mapbox_vector_tile.decode(t.content)["cases"]["features"]]
    assert reported_case in {p["service_request_id"] for p in props}
    assert all("reporter_phone" not in p and "reporter_name" not in p and "media_urls" not in p for p in props)
    assert PHOTO.encode() not in t.content
    # tiles carry the collection's map columns; filters may still name any public column
    from cases import CASES_COLLECTION

    keys = {k for p in props for k in p}  # (MVT leaves out NULLs, e.g. a case with no address)
    assert {"service_request_id", "category", "status", "reported_at"} <= keys <= set(CASES_COLLECTION.tile_columns)
    assert "description" not in keys and "located_by" not in keys
    county = item.json()["properties"]["county_code"]
    for value, present in ((county, True), ("999999", False)):
        f = http.get(f"/tiles/cases/{z}/{x}/{y}.pbf", params={"county_code": value}, headers=headers)
        ids = {q["properties"]["service_request_id"]
               for q in mapbox_vector_tile.decode(f.content).get("cases", {}).get("features", [])}
        assert (reported_case in ids) is present
