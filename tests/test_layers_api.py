"""The reference layers as served: counts through the OGC API, paging, bbox, items."""
from __future__ import annotations


def test_api_reports_the_reference_counts(layers, http):
    def matched(collection, **params):
        r = http.get(f"/collections/{collection}/items", params={"limit": 1, **params})
        assert r.status_code == 200, r.text
        return r.json()["numberMatched"]

    assert matched("grids") == 76
    assert matched("posts") == 117
    assert matched("subdistricts") == 56
    assert matched("communities") == 1679
    assert matched("communities", has_post="true") == 117
    districts = http.get("/collections/districts/items", params={"limit": 10}).json()["features"]
    real = [f for f in districts if not f["properties"]["generated"]]
    assert sorted(f["id"] for f in real) == ["371102", "371103", "371121", "371122"]
    assert [f["id"] for f in districts if f["properties"]["kind"] == "zone"] == ["371171"]
    ids = {c["id"] for c in http.get("/collections").json()["collections"]}
    assert {"districts", "subdistricts", "communities", "grids", "posts", "roads", "pois", "airspace"} <= ids


def test_community_polygons_are_the_117_with_posts(layers, owner_engine):
    import sqlalchemy as sa

    with owner_engine.connect() as conn:
        n_poly = conn.execute(sa.text("SELECT count(*) FROM communities WHERE geom IS NOT NULL")).scalar_one()
        bad = conn.execute(sa.text(
            "SELECT count(*) FROM posts p JOIN communities c ON c.code = p.community_code "
            "WHERE NOT ST_Covers(c.geom, p.geom)")).scalar_one()
    assert n_poly == 117
    assert bad == 0


def test_paging_links_and_bbox(layers, http):
    r = http.get("/collections/grids/items", params={"limit": 30}).json()
    assert r["numberReturned"] == 30 and r["numberMatched"] == 76
    nxt = next(link["href"] for link in r["links"] if link["rel"] == "next")
    page2 = http.get(nxt).json()
    assert page2["numberReturned"] == 30
    assert {f["id"] for f in page2["features"]}.isdisjoint({f["id"] for f in r["features"]})
    last = http.get("/collections/grids/items", params={"limit": 30, "offset": 60}).json()
    assert last["numberReturned"] == 16
    assert "next" not in {link["rel"] for link in last["links"]}
    # Lanshan's core lies far south of Donggang's: a bbox over it returns only Lanshan grids.
    south = http.get("/collections/grids/items", params={"bbox": "119.25,35.0,119.45,35.2", "limit": 100}).json()
    assert south["numberMatched"] > 0
    assert all(f["properties"]["county_code"] == "371103" for f in south["features"])


def test_single_item_and_geometry(layers, http):
    grid = layers["grids"].iloc[0]
    f = http.get(f"/collections/grids/items/{grid['code']}").json()
    assert f["id"] == grid["code"]
    assert f["properties"]["subdistrict_code"] == grid["code"][:9]
    assert f["geometry"]["type"] == "MultiPolygon"
    x, y = f["geometry"]["coordinates"][0][0][0]
    assert 119.2 < x < 119.6 and 35.0 < y < 35.5
