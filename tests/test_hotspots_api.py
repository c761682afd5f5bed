"""Hot spots through the API on a loaded sample: computed, stored as the latest run, served."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

SEED = 7
PLANTED = json.loads((Path(__file__).resolve().parent.parent / "cases/simulate/planted.json").read_text())["hotspots"]
SURGE = next(h for h in PLANTED if h["id"] == "night_market_surge_2024")


@pytest.fixture(scope="module")
def loaded(layers, engine, owner_engine, built_layers, locator):
    from cases.simulate.cases import Prepared, simulate_cases
    from cases.simulate.load import bulk_load_cases

    prepared = Prepared.build(built_layers, (2023, 2024, 2025))
    sample = simulate_cases(n=20_000, seed=SEED, prepared=prepared, locator=locator, assign=False, geometry=False)
    written = bulk_load_cases(engine, pd.DataFrame(sample), locator=locator, posts=prepared.scene.posts)
    yield written
    with owner_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM cases WHERE external_id LIKE :p"), {"p": f"sim-{SEED}-%"})
        conn.execute(sa.text("DELETE FROM hotspots"))


def test_gi_star_finds_the_planted_night_market(loaded, http):
    assert loaded == 20_000
    params = {"category": SURGE["category"], "method": "gi_star", "unit": "h3_9",
              "start": "2024-06-01T00:00:00+08:00", "end": "2024-09-01T00:00:00+08:00"}
    r = http.get("/api/hotspots", params=params)
    assert r.status_code == 200, r.text
    feats = r.json()["features"]
    assert len(feats) > 1000 and {"statistic", "p_value", "gi_bin", "count"} <= set(feats[0]["properties"])
    centre = shapely.Point(SURGE["place"]["lon"], SURGE["place"]["lat"])
    hot = [f for f in feats if f["properties"]["gi_bin"] == 3]
    assert any(shapely.geometry.shape(f["geometry"]).distance(centre) < 0.003 for f in hot)


def test_stored_run_is_the_hotspots_collection(loaded, http, make_user):
    params = {"category": "occupied_road", "method": "clusters", "unit": "grid",
              "start": "2024-06-01T00:00:00+08:00", "end": "2024-09-01T00:00:00+08:00"}
    assert http.post("/api/hotspots/runs", params=params).status_code == 401
    assert http.post("/api/hotspots/runs", params=params, headers=make_user("hs-officer", "patrol_officer")).status_code == 403
    r = http.post("/api/hotspots/runs", params=params, headers=make_user("hs-planner", "planner"))
    assert r.status_code == 201, r.text
    n = r.json()["features"]
    assert n >= 1
    items = http.get("/collections/hotspots/items", params={"method": "clusters", "category": "occupied_road",
                                                             "limit": 1000}).json()
    assert items["numberMatched"] == n
    props = items["features"][0]["properties"]
    assert props["method"] == "clusters" and props["run_at"] and props["period_start"].startswith("2024-05-31T16")
    # A second run for the same method/unit/category replaces the first: still one run.
    http.post("/api/hotspots/runs", params=params, headers=make_user("hs-planner", "planner"))
    again = http.get("/collections/hotspots/items", params={"method": "clusters", "limit": 1000}).json()
    assert again["numberMatched"] == n
    assert len({f["properties"]["run_id"] for f in again["features"]}) == 1


def test_bad_requests_are_clear(loaded, http):
    r = http.get("/api/hotspots", params={"category": "nope"})
    assert r.status_code == 422 and "nope" in r.json()["description"]
    r = http.get("/api/hotspots", params={"category": "noise", "start": "2030-01-01T00:00:00Z",
                                          "end": "2030-02-01T00:00:00Z"})
    assert r.status_code in (404, 422) and "no cases" in r.json()["description"]
    assert http.get("/api/hotspots", params={"method": "kriging"}).status_code == 422
