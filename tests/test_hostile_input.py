"""Hostile input against the live server: SQL and filter injection in every query parameter of
/collections/{id}/items and the Open311 listing, path traversal in tile and collection ids and
in zip members, zip bombs, oversized bodies (413) on every POST route, deeply nested and huge
GeoJSON, NaN/Infinity in JSON (422), expired and forged tokens (401), and a patrol officer
trying to broadcast or approve a loudspeaker text (403 and an audit entry)."""
from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import httpx
import jwt
import pytest
import sqlalchemy as sa

from citygrid.errors import InvalidInput
from gis.layers.validate import read_layer_file
from tests.harness import thread_server

INJECTIONS = [
    "' OR '1'='1", "' OR 1=1 --", "1; DROP TABLE grids; --", "\"; DROP TABLE grids; --",
    "x') UNION SELECT username, password_hash FROM users --", "'; SELECT pg_sleep(5); --",
    "$$; DROP TABLE grids; $$", "name\" = name OR \"1", "%27%20OR%201%3D1", "\\'; --", "\x00", "a\x00b",
    "119.5,35.4,119.6,35.5) OR (1=1", "../../etc/passwd", "{\"$ne\": null}", "*", "%", "' || pg_sleep(5) || '",
    "9" * 400, "-1e309", "NaN", "Infinity", "1e999,1,2,3", "EPSG:4326' --", "urn:ogc:def:crs:EPSG::4549'; --",
    "2024-01-01T00:00:00Z/..'; DROP TABLE cases; --", "2024-13-45T99:99:99Z", "../../..", "😀" * 50,
]
ITEM_PARAMS = ["bbox", "bbox-crs", "datetime", "crs", "coord_sys", "limit", "offset"]


def table_counts(engine) -> dict:
    with engine.connect() as conn:
        return {t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar()
                for t in ("grids", "users", "cases", "subdistricts", "broadcast_audit")}


def no_5xx(r: httpx.Response, *allowed: int):
    assert r.status_code < 500, f"{r.request.method} {r.request.url} -> {r.status_code}: {r.text[:300]}"
    if allowed:
        assert r.status_code in allowed, f"{r.request.url} -> {r.status_code}: {r.text[:300]}"


# --- injection ---------------------------------------------------------------------------------
def test_injection_in_collection_items_parameters(http, engine, layers):
    before = table_counts(engine)
    collections = [c["id"] for c in http.get("/collections").json()["collections"]]
    assert "grids" in collections
    total = http.get("/collections/grids/items", params={"limit": 1}).json()["numberMatched"]
    for payload in INJECTIONS:
        for param in ITEM_PARAMS:
            r = http.get("/collections/grids/items", params={param: payload})
            no_5xx(r, 200, 400, 404, 422)
            if r.status_code == 200:  # a payload read as a value never widens the result
                assert r.json()["numberMatched"] <= total
        # property filters: the payload as a value of a real property matches nothing...
        r = http.get("/collections/grids/items", params={"name": payload})
        no_5xx(r, 200, 422)
        if r.status_code == 200:
            assert r.json()["numberMatched"] == 0, payload
        # ... and as a property name it is refused by name, never spliced into SQL.
        r = http.get("/collections/grids/items", params={payload: "1"})
        no_5xx(r, 200, 422)
        assert r.status_code == 422, (payload, r.text)
    for coll in collections:  # one sharp payload through every collection and its tiles
        for payload in ("' OR 1=1 --", "\x00", "1; DROP TABLE grids; --"):
            no_5xx(http.get(f"/collections/{coll}/items", params={"datetime": payload, "code": payload}))
            no_5xx(http.get(f"/collections/{coll}/items/{quote(payload, safe='')}"), 400, 404, 422)
            no_5xx(http.get(f"/tiles/{coll}/12/3400/1600.pbf", params={"code": payload}))
    assert table_counts(engine) == before


def test_injection_in_open311_listing(http, engine):
    before = table_counts(engine)
    params = ["service_code", "status", "start_date", "end_date", "service_request_id", "page", "page_size",
              "jurisdiction_id"]
    for payload in INJECTIONS:
        for p in params:
            r = http.get("/open311/v2/requests.json", params={p: payload})
            no_5xx(r, 200, 400)
            if r.status_code == 200:
                assert isinstance(r.json(), list)
                if p == "service_request_id":
                    assert r.json() == []
            else:
                assert r.json()[0]["code"] == 400
        no_5xx(http.get(f"/open311/v2/requests/{quote(payload, safe='')}.json"), 400, 404)
        no_5xx(http.get(f"/open311/v2/services/{quote(payload, safe='')}.json"), 400, 404)
    assert table_counts(engine) == before


# --- path traversal ----------------------------------------------------------------------------
TRAVERSALS = ["../../../../etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
              "....//....//etc/passwd", "..\\..\\..\\windows\\win.ini", "/etc/passwd", "grids/../../secret_key",
              "%252e%252e%252fetc%252fpasswd", "..;/..;/etc/passwd"]


def test_path_traversal_in_ids_and_static(http, server, settings):
    secret = settings.resolved_secret_key()
    for t in TRAVERSALS:
        for path in (f"/tiles/{t}.json", f"/tiles/{t}/1/1/1.pbf", f"/collections/{t}", f"/collections/{t}/items",
                     f"/collections/grids/items/{t}", f"/static/{t}", f"/static/../{t}", f"/open311/v2/services/{t}.json"):
            # send the raw path: httpx would otherwise normalise the dots away
            r = httpx.get(httpx.URL(server).copy_with(raw_path=path.encode()), timeout=30)
            no_5xx(r, 400, 404, 405, 422)
            assert "root:x:0:0" not in r.text and "[fonts]" not in r.text
            assert secret not in r.text


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_zip_import_refuses_traversal_and_bombs(tmp_path):
    for bad in ("../../evil.shp", "/abs/evil.shp", "a/../../evil.shp", "C:/evil.shp", "..\\evil.shp"):
        p = tmp_path / "layer.zip"
        p.write_bytes(_zip({bad: b"x" * 10}))
        with pytest.raises(InvalidInput, match="unsafe path"):
            read_layer_file(p)
    # A bomb: 64 MB of zeros in a few tens of kB.
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(_zip({"grids.geojson": b"\0" * (64 << 20)}))
    assert bomb.stat().st_size < 200_000
    with pytest.raises(InvalidInput, match="zip bomb"):
        read_layer_file(bomb)
    many = tmp_path / "many.zip"
    many.write_bytes(_zip({f"f{i}.txt": b"" for i in range(500)}, zipfile.ZIP_STORED))
    with pytest.raises(InvalidInput, match="at most"):
        read_layer_file(many)
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(InvalidInput):
        read_layer_file(junk)
    # Paths outside the accepted formats are refused by suffix before anything is read.
    with pytest.raises(InvalidInput):
        read_layer_file(tmp_path / ".." / ".." / "etc" / "passwd")


# --- bodies -------------------------------------------------------------------------------------
def _post_routes(http) -> list[str]:
    spec = http.get("/openapi.json").json()
    return [re.sub(r"\{[^}]+\}", "1", path) for path, ops in spec["paths"].items() if "post" in ops]


FORM_ROUTES = {"/auth/token", "/open311/v2/requests.json"}


@pytest.fixture(scope="module")
def small_body_server(settings):
    with thread_server(settings.model_copy(update={"max_body_bytes": 2048})) as url:
        yield url


def test_oversized_bodies_get_413_on_every_post_route(http, small_body_server, make_user):
    headers = make_user("hostile-commander", "commander")
    routes = _post_routes(http)
    assert len(routes) >= 15
    big = b'{"x": "' + b"a" * 5000 + b'"}'
    with httpx.Client(base_url=small_body_server, timeout=30, headers=headers) as c:
        for path in routes:
            r = c.post(path, content=big, headers={"content-type": "application/json"})
            assert r.status_code == 413, f"{path}: {r.status_code} {r.text[:200]}"
            # the API's error document, or GeoReport v2's error list under /open311/
            body = r.json()
            assert (body[0] if path.startswith("/open311/") else body)["code"] == 413
            # Without a Content-Length (chunked): counted while read, refused all the same.
            r = c.post(path, content=iter([big[:1000], big[1000:3000], big[3000:]]),
                       headers={"content-type": "application/json"})
            assert r.status_code == 413, f"{path} chunked: {r.status_code} {r.text[:200]}"
            r = c.post(path, content=iter([b"a=" + b"b" * 3000]),
                       headers={"content-type": "application/x-www-form-urlencoded"})
            if path in FORM_ROUTES:  # routes that read form bodies
                assert r.status_code == 413, f"{path} chunked form: {r.status_code} {r.text[:200]}"
            else:  # a JSON route never reads a form body, so nothing big is held: any non-5xx answer
                no_5xx(r)
    # The real limit on the real server (10 MB by default).
    r = http.post("/open311/v2/requests.json", content=b"a" * (10 * 1024 * 1024 + 1),
                  headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413


def _nested(depth: int) -> str:
    """JSON text of a position wrapped in ``depth`` arrays (built as text: json.dumps would recurse)."""
    return "[" * depth + "119.5, 35.4" + "]" * depth


def test_deeply_nested_and_huge_geojson(http, make_user, tmp_path):
    headers = make_user("hostile-commander", "commander")
    base = {"reference": f"deep-{uuid.uuid4().hex[:6]}", "valid_from": "2026-01-01T00:00:00+08:00",
            "valid_to": "2026-12-31T00:00:00+08:00"}
    for depth in (50, 5000, 100_000):
        body = json.dumps({**base, "area": {"type": "Polygon", "coordinates": "@"}}).replace('"@"', _nested(depth))
        r = http.post("/api/drone/applications", content=body, headers={**headers, "content-type": "application/json"})
        no_5xx(r, 400, 413, 422)
    # A huge but flat polygon: refused or accepted, never a crash (limit: 10 MB body).
    ring = [[119.4 + 0.01 * (i % 100) / 100, 35.4 + 0.01 * (i // 100) / 100] for i in range(200_000)]
    body = json.dumps({**base, "reference": base["reference"] + "h",
                       "area": {"type": "Polygon", "coordinates": [ring + ring[:1]]}})
    r = http.post("/api/drone/applications", content=body, headers={**headers, "content-type": "application/json"})
    no_5xx(r)
    # Layer import: nested and huge GeoJSON files give a clear error.
    deep = tmp_path / "deep.geojson"
    deep.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "1"}, "geometry": {"type": "Polygon", "coordinates": "@"}}]})
        .replace('"@"', _nested(20_000)))
    try:
        read_layer_file(deep, "EPSG:4326")
    except InvalidInput:
        pass


NON_FINITE = ["NaN", "Infinity", "-Infinity"]


def test_nan_and_infinity_in_json_are_refused(http, make_user, layers, engine):
    from citygrid.org import add_api_client

    headers = {**make_user("hostile-commander", "commander"), "content-type": "application/json"}
    for word in NON_FINITE:
        mission = '{"kind": "target", "lon": %s, "lat": 35.4}' % word
        r = http.post("/api/drone/missions/check", content=mission, headers=headers)
        assert r.status_code == 422, r.text
        assert "finite" in r.json()["description"]
        app = ('{"reference": "nan", "valid_from": "2026-01-01T00:00:00Z", "valid_to": "2026-02-01T00:00:00Z", '
               '"area": {"type": "Polygon", "coordinates": [[[119.4, 35.4], [%s, 35.5], [119.5, 35.5], [119.4, 35.4]]]}}'
               % word)
        r = http.post("/api/drone/applications", content=app, headers=headers)
        assert r.status_code == 422, r.text
        key = add_api_client(engine, f"nan-{uuid.uuid4().hex[:6]}")
        r = http.post("/open311/v2/requests.json", content='{"api_key": "%s", "service_code": "noise", '
                      '"lat": %s, "long": 119.5}' % (key, word), headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()[0]["code"] == 400 and "finite" in r.json()[0]["description"]
    # The words inside strings are fine.
    r = http.post("/api/drone/missions/check", content='{"kind": "target", "case_id": "NaN Infinity"}',
                  headers=headers)
    assert r.status_code != 422 or "finite" not in r.text


# --- tokens and roles ---------------------------------------------------------------------------
def test_expired_and_forged_tokens_get_401(http, settings):
    now = datetime.now(timezone.utc)
    secret = settings.resolved_secret_key()
    claims = {"sub": "commander-x", "role": "commander"}
    tokens = {
        "expired": jwt.encode({**claims, "iat": now - timedelta(days=2), "exp": now - timedelta(seconds=1)},
                              secret, algorithm="HS256"),
        "forged": jwt.encode({**claims, "exp": now + timedelta(hours=1)}, "not-the-key", algorithm="HS256"),
        "alg_none": jwt.encode({**claims, "exp": now + timedelta(hours=1)}, None, algorithm="none")
        if "none" in jwt.algorithms.get_default_algorithms() else "eyJhbGciOiJub25lIn0.e30.",
        "no_exp": jwt.encode(claims, secret, algorithm="HS256"),
        "garbage": "not.a.token",
        "empty_sig": jwt.encode({**claims, "exp": now + timedelta(hours=1)}, secret, algorithm="HS256")
        .rsplit(".", 1)[0] + ".",
    }
    for name, token in tokens.items():
        for path in ("/api/drone/audit", "/collections/grids/items", "/api/patrols/report"):
            r = http.get(path, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 401, (name, path, r.status_code, r.text)
            assert r.headers.get("www-authenticate") == "Bearer"


def test_patrol_officer_may_not_broadcast_or_approve_and_is_audited(http, make_user, engine, owner_engine):
    from drone.broadcast import create_template

    officer = f"hostile-officer-{uuid.uuid4().hex[:6]}"
    headers = make_user(officer, "patrol_officer")
    template = create_template(engine, text_zh="请勿占道经营", created_by="someone", kind="free_text")
    with engine.connect() as conn:
        drone_id = conn.execute(sa.text("SELECT id FROM drone_airframes ORDER BY id LIMIT 1")).scalar()

    def attempts():
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT outcome, template_code, drone_id FROM broadcast_audit "
                                        "WHERE ordered_by = :u ORDER BY id"), {"u": officer}).all()

    r = http.post(f"/api/drone/templates/{template['code']}/approve", headers=headers)
    assert r.status_code == 403, r.text
    assert attempts() == [("refused", template["code"], None)]
    r = http.post(f"/api/drone/{drone_id or 'DJI-1'}/broadcast", json={"text": "立即离开", "plays": 1},
                  headers=headers)
    assert r.status_code == 403, r.text
    assert len(attempts()) == 2 and attempts()[1][0] == "refused"
    # Still not approved.
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM broadcast_templates WHERE code = :c"),
                            {"c": template["code"]}).scalar() != "approved"
    # Anonymous callers are turned away before the domain (401), as before.
    assert http.post(f"/api/drone/templates/{template['code']}/approve").status_code == 401


def test_dates_at_the_edge_of_the_calendar(http, make_user):
    """Found by Schemathesis: /api/kpi?to=0001-01-01 overflowed computing the default `from` (500)."""
    headers = make_user("hostile-commander", "commander")
    for params in ({"to": "0001-01-01"}, {"to": "9999-12-31"}, {"from": "0001-01-01", "to": "0001-01-02"},
                   {"as_of": "0001-01-01T00:00:00+14:00"}, {"as_of": "9999-12-31T23:59:59-12:00"}):
        r = http.get("/api/kpi", params=params, headers=headers)
        assert r.status_code == 422, (params, r.status_code, r.text)
    assert http.get("/api/kpi", params={"to": "2026-01-31"}, headers=headers).status_code == 200


def test_hotspot_run_is_stored_over_http(http, make_user, engine, layers):
    """Found by the 413 sweep: POST /api/hotspots/runs with cases present answered 500 (the
    run's params, bound as VARCHAR, went into a jsonb column)."""
    from citygrid.org import add_api_client

    key = add_api_client(engine, f"hotspot-{uuid.uuid4().hex[:6]}")
    for i in range(3):
        p = layers["grids"].sort_values("code").iloc[20 + i].geometry.representative_point()
        r = http.post("/open311/v2/requests.json", data={"api_key": key, "service_code": "noise", "lat": p.y,
                                                          "long": p.x, "description": f"hotspot {i}"})
        assert r.status_code == 201, r.text
    r = http.post("/api/hotspots/runs", headers=make_user("hostile-commander", "commander"))
    assert r.status_code == 201, r.text
    with engine.connect() as conn:
        params = conn.execute(sa.text("SELECT params FROM hotspots WHERE run_id = :r LIMIT 1"),
                              {"r": r.json()["run_id"]}).scalar()
    assert params == {}
