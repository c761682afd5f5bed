"""Open311 GeoReport v2: services, posting requests (form and JSON), retries, coordinate
frames, the service area, listing with the 90-day rule and paging, errors in the spec's form."""
from __future__ import annotations

import uuid

import pytest
import shapely
import sqlalchemy as sa

from citygrid.org import add_api_client
from gis.crs import geodesic_distance_m, wgs84_to_bd09, wgs84_to_gcj02

BASE = "/open311/v2"


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def api_key(engine):
    return add_api_client(engine, uid("rizhao-app"))


def grid_point(layers, i: int = 0):
    g = layers["grids"].sort_values("code").iloc[i]
    p = g.geometry.representative_point()
    return p.x, p.y, g["code"], g["subdistrict_code"]


def assert_spec_error(r, status: int, *words: str):
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body, list) and len(body) == 1 and body[0]["code"] == status
    for w in words:
        assert w in body[0]["description"], body[0]["description"]


def post(http, data: dict, **kw):
    return http.post(f"{BASE}/requests.json", data=data, **kw)


def count_cases(engine, **where) -> int:
    clause = " AND ".join(f"{k} = :{k}" for k in where)
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM cases WHERE {clause}"), where).scalar_one()


def test_services_and_definitions(http):
    services = http.get(f"{BASE}/services.json").json()
    by_code = {s["service_code"]: s for s in services}
    assert len(services) == 12 and {s["type"] for s in services} == {"realtime"}
    assert by_code["occupied_road"]["metadata"] is True and by_code["illegal_construction"]["metadata"] is False
    assert "占道经营" in by_code["occupied_road"]["service_name"]
    noise = http.get(f"{BASE}/services/noise.json").json()
    assert noise["service_code"] == "noise"
    attrs = {a["code"]: a for a in noise["attributes"]}
    assert attrs["time_of_day"]["datatype"] == "singlevaluelist"
    assert {v["key"] for v in attrs["time_of_day"]["values"]} == {"day", "night"}
    assert http.get(f"{BASE}/services/illegal_construction.json").json()["attributes"] == []
    assert_spec_error(http.get(f"{BASE}/services/flying_saucer.json"), 404, "flying_saucer")


def test_api_key_is_required_and_checked(http, layers):
    lon, lat, _, _ = grid_point(layers)
    assert_spec_error(post(http, {"service_code": "noise", "lat": lat, "long": lon}), 403, "api_key")
    assert_spec_error(post(http, {"service_code": "noise", "lat": lat, "long": lon, "api_key": "forged"}), 403)


def test_post_form_and_read_back(http, engine, layers, api_key, make_user):
    lon, lat, grid, sub = grid_point(layers, 10)
    phone = "13811112222"
    r = post(http, {"api_key": api_key, "service_code": "noise", "lat": f"{lat}", "long": f"{lon}",
                    "description": "广场舞音响太吵", "media_url": "https://img.example.cn/a.jpg",
                    "email": "li@example.cn", "first_name": "Li", "last_name": "Lei", "phone": phone,
                    "device_id": uid("dev"), "account_id": "acct-7", "attribute[time_of_day]": "night"})
    assert r.status_code == 201, r.text
    [answer] = r.json()
    assert answer["account_id"] == "acct-7" and "working hours" in answer["service_notice"]
    sid = answer["service_request_id"]
    [req] = http.get(f"{BASE}/requests/{sid}.json").json()
    assert req["service_request_id"] == sid and req["status"] == "open" and req["service_code"] == "noise"
    assert req["lat"] == pytest.approx(lat) and req["long"] == pytest.approx(lon)
    # the photo is staff-only: public readers get null, staff the URL
    assert req["media_url"] is None and req["expected_datetime"] is None
    [staff_req] = http.get(f"{BASE}/requests/{sid}.json", headers=make_user("o311-planner", "planner")).json()
    assert staff_req["media_url"] == "https://img.example.cn/a.jpg"
    assert req["requested_datetime"].endswith("+08:00")
    assert phone not in str(req) and "li@example.cn" not in str(req)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT grid_code, subdistrict_code, reporter_phone, reporter_name, attributes, "
                                   "api_client_id FROM cases WHERE service_request_id = :s"), {"s": sid}).mappings().one()
    assert (row["grid_code"], row["subdistrict_code"]) == (grid, sub)
    assert row["reporter_phone"] == phone and row["reporter_name"] == "Li Lei"
    assert row["attributes"] == {"time_of_day": "night"} and row["api_client_id"] is not None
    assert_spec_error(http.get(f"{BASE}/requests/RZ-1999-000000.json"), 404)


def test_post_json_and_attribute_checks(http, layers, api_key):
    lon, lat, _, _ = grid_point(layers, 11)
    r = http.post(f"{BASE}/requests.json", json={"api_key": api_key, "service_code": "occupied_road",
                                                 "lat": lat, "long": lon, "attribute": {"still_there": "yes"}})
    assert r.status_code == 201, r.text
    assert r.json()[0]["service_request_id"].startswith("RZ-")
    r = post(http, {"api_key": api_key, "service_code": "occupied_road", "lat": lat, "long": lon,
                    "attribute[still_there]": "maybe"})
    assert_spec_error(r, 400, "still_there", "maybe")
    r = post(http, {"api_key": api_key, "service_code": "occupied_road", "lat": lat, "long": lon,
                    "attribute[colour]": "red"})
    assert_spec_error(r, 400, "colour")


def test_retries_make_one_case(http, engine, layers, api_key):
    lon, lat, _, _ = grid_point(layers, 12)
    device = uid("dev")
    form = {"api_key": api_key, "service_code": "storefront_extension", "lat": lat, "long": lon,
            "description": "水果摊占了人行道", "device_id": device}
    # 1) The same Idempotency-Key: the first answer is replayed (200), whatever else changed.
    key = uid("key")
    first = post(http, form, headers={"Idempotency-Key": key})
    again = post(http, form, headers={"Idempotency-Key": key})
    assert first.status_code == 201 and again.status_code == 200
    assert first.json() == again.json()
    # 2) No key, same device + description + place within a minute: the natural key finds it.
    third = post(http, form)
    assert third.status_code == 200 and third.json() == first.json()
    assert count_cases(engine, device_id=device) == 1
    # A different description from the same device and place is a new report.
    other = post(http, {**form, "description": "另一个摊位"})
    assert other.status_code == 201
    assert other.json()[0]["service_request_id"] != first.json()[0]["service_request_id"]
    assert count_cases(engine, device_id=device) == 2
    # Reusing a key for a different request is refused.
    r = post(http, {**form, "description": "换了内容"}, headers={"Idempotency-Key": key})
    assert_spec_error(r, 400, "Idempotency-Key")


def test_gcj02_and_bd09_input_is_stored_as_wgs84_keeping_the_original(http, engine, layers, api_key, make_user):
    staff = make_user(uid("plan"), "planner")
    lon, lat, grid, _ = grid_point(layers, 13)
    for frame, convert in (("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)):
        slon, slat = (float(v) for v in convert(lon, lat))
        r = post(http, {"api_key": api_key, "service_code": "garbage_sorting", "lat": slat, "long": slon,
                        "coord_sys": frame})
        assert r.status_code == 201, r.text
        case = http.get(f"/api/cases/{r.json()[0]['service_request_id']}", headers=staff).json()
        assert case["coord_sys"] == frame
        assert (case["orig_lon"], case["orig_lat"]) == (pytest.approx(slon), pytest.approx(slat))
        assert geodesic_distance_m(case["lon"], case["lat"], lon, lat) < 0.01
        shift = float(geodesic_distance_m(case["lon"], case["lat"], slon, slat))
        # Around Rizhao the GCJ-02 offset is about 500 m; BD-09 adds roughly another 700 m.
        assert (300 < shift < 700) if frame == "gcj02" else (700 < shift < 2000), shift
        assert case["grid_code"] == grid


def test_location_rules(http, engine, layers, locator, api_key):
    lon, lat, _, _ = grid_point(layers, 14)
    base = {"api_key": api_key, "service_code": "landscaping"}
    # Outside the service area (Jinan): refused, saying so.
    assert_spec_error(post(http, {**base, "lat": 36.65, "long": 117.0}), 400, "outside Rizhao's service area")
    # Swapped lon/lat: refused, saying so.
    assert_spec_error(post(http, {**base, "lat": lon, "long": lat}), 400, "swapped")
    assert_spec_error(post(http, {**base, "lat": lat}), 400, "together")
    assert_spec_error(post(http, {**base, "lat": "north", "long": lon}), 400, "number")
    # Inside the service area but in no grid: accepted, flagged, routed to its subdistrict.
    subs = layers["subdistricts"].sort_values("code")
    grids_union = shapely.union_all(layers["grids"].geometry.values)
    candidates = [(s["code"], s.geometry.representative_point()) for _, s in subs.iterrows()]
    sub_code, p = next((c, p) for c, p in candidates if not grids_union.covers(p)
                       and bool(locator.assign([p.x], [p.y])["in_service_area"].iloc[0]))
    r = post(http, {**base, "lat": p.y, "long": p.x})
    assert r.status_code == 201, r.text
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT grid_code, subdistrict_code, county_code, outside_grid FROM cases "
                                   "WHERE service_request_id = :s"), {"s": r.json()[0]["service_request_id"]}).one()
    assert row == (None, sub_code, sub_code[:6], True)


def test_address_only_reports(http, engine, api_key):
    base = {"api_key": api_key, "service_code": "outdoor_advertising"}
    r = post(http, {**base, "address_string": "山东省日照市东港区秦楼街道海曲东路88号门口"})
    assert r.status_code == 201, r.text
    sid = r.json()[0]["service_request_id"]
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT grid_code, subdistrict_code, county_code, outside_grid, located_by, geom "
                                   "FROM cases WHERE service_request_id = :s"), {"s": sid}).one()
    assert row == (None, "371102004", "371102", True, "address", None)
    [req] = http.get(f"{BASE}/requests/{sid}.json").json()
    assert req["lat"] is None and req["address"].startswith("山东省日照市")
    # A community name routes to its subdistrict too (日升社区 is in 日照街道).
    r = post(http, {**base, "address_string": "日升社区北门"})
    assert r.status_code == 201, r.text
    assert_spec_error(post(http, {**base, "address_string": "火星基地三号楼"}), 400, "address_string")
    assert_spec_error(post(http, base), 400, "location")


def test_bad_fields_are_400(http, layers, api_key):
    lon, lat, _, _ = grid_point(layers, 15)
    base = {"api_key": api_key, "lat": lat, "long": lon}
    assert_spec_error(post(http, {**base, "service_code": "noise", "description": "吵" * 4001}), 400,
                      "description", "4000")
    assert_spec_error(post(http, {**base, "service_code": "flying_saucer"}), 400, "service_code", "flying_saucer")
    assert_spec_error(post(http, {"api_key": api_key, "lat": lat, "long": lon}), 400, "service_code")
    assert_spec_error(post(http, {**base, "service_code": "noise", "coord_sys": "utm"}), 400, "coord_sys")
    assert_spec_error(post(http, {**base, "service_code": "noise", "media_url": "ftp://x"}), 400, "media_url")
    ok = post(http, {**base, "service_code": "noise", "description": "吵" * 4000})
    assert ok.status_code == 201


def test_listing_rules_paging_and_privacy(http, layers, api_key, make_user):
    lon, lat, _, _ = grid_point(layers, 16)
    phone = "13655554444"
    made = []
    for i in range(3):
        r = post(http, {"api_key": api_key, "service_code": "cooking_fumes", "lat": lat, "long": lon,
                        "description": f"烧烤油烟 {uid('x')}", "phone": phone})
        made.append(r.json()[0]["service_request_id"])
    listing = http.get(f"{BASE}/requests.json", params={"service_code": "cooking_fumes", "page_size": 1000})
    assert listing.status_code == 200
    ids = [q["service_request_id"] for q in listing.json()]
    assert set(made) <= set(ids) and phone not in listing.text
    # Newest first; pages are disjoint slices of the same order.
    p1 = http.get(f"{BASE}/requests.json", params={"service_code": "cooking_fumes", "page_size": 2}).json()
    p2 = http.get(f"{BASE}/requests.json", params={"service_code": "cooking_fumes", "page_size": 2, "page": 2}).json()
    assert [q["service_request_id"] for q in p1 + p2] == ids[:4]
    assert [q["service_request_id"] for q in p1][:1] == [made[-1]]
    # Several ids at once override the other filters.
    both = http.get(f"{BASE}/requests.json", params={"service_request_id": f"{made[0]},{made[1]}",
                                                     "service_code": "noise"}).json()
    assert {q["service_request_id"] for q in both} == {made[0], made[1]}
    assert {q["status"] for q in http.get(f"{BASE}/requests.json", params={"status": "closed"}).json()} <= {"closed"}
    # The 90-day rule and the page size cap.
    assert_spec_error(http.get(f"{BASE}/requests.json", params={"start_date": "2025-01-01", "end_date": "2025-06-01"}),
                      400, "90 days")
    assert http.get(f"{BASE}/requests.json", params={"start_date": "2025-01-01T00:00:00+08:00",
                                                     "end_date": "2025-03-31T00:00:00+08:00"}).status_code == 200
    assert_spec_error(http.get(f"{BASE}/requests.json", params={"start_date": "2025-05-01", "end_date": "2025-04-01"}),
                      400, "after")
    assert_spec_error(http.get(f"{BASE}/requests.json", params={"page_size": 1001}), 400, "1000")
    assert_spec_error(http.get(f"{BASE}/requests.json", params={"start_date": "yesterday"}), 400, "ISO 8601")
    assert_spec_error(http.get(f"{BASE}/requests.json", params={"page": "two"}), 400, "page")
    # Reporter contact stays out of the public collection; staff see it.
    items = http.get("/collections/cases/items", params={"category": "cooking_fumes", "limit": 1000})
    assert items.status_code == 200 and phone not in items.text
    staff = http.get("/collections/cases/items", params={"category": "cooking_fumes", "limit": 1000},
                     headers=make_user(uid("cmd"), "commander"))
    assert phone in staff.text
