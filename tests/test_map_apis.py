"""Standard map APIs: output CRSs, datetime, vector tiles, and a real client (GDAL OAPIF)."""
from __future__ import annotations

import json
import math
import shutil
import subprocess

import mapbox_vector_tile
import numpy as np
import pytest
from pyproj import Transformer


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_items_in_cgcs2000_frames(layers, http):
    grid = layers["grids"].iloc[0]
    code = grid["code"]
    lon, lat = grid.geometry.exterior.coords[0]
    r = http.get(f"/collections/grids/items/{code}", params={"crs": "EPSG:4549"})
    assert r.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4549>"
    north, east = r.json()["geometry"]["coordinates"][0][0][0]
    # EPSG:4549 axis order is northing, easting; near 119.5°E the easting is about 455 km.
    e, n = Transformer.from_crs(4326, 4549, always_xy=True).transform(lon, lat)
    assert east == pytest.approx(e, abs=0.01) and north == pytest.approx(n, abs=0.01)
    r = http.get(f"/collections/grids/items/{code}", params={"crs": "http://www.opengis.net/def/crs/EPSG/0/4490"})
    first = r.json()["geometry"]["coordinates"][0][0][0]
    assert first == pytest.approx([lat, lon], abs=1e-6)  # CGCS2000 ≈ WGS84, lat/lon order
    assert http.get("/collections/grids/items", params={"crs": "EPSG:3857"}).status_code == 422


def test_bbox_crs_in_metres(layers, http):
    grid = layers["grids"].iloc[10]
    c = grid.geometry.representative_point()
    e, n = Transformer.from_crs(4326, 4549, always_xy=True).transform(c.x, c.y)
    bbox = f"{n - 10},{e - 10},{n + 10},{e + 10}"  # northing/easting order of EPSG:4549
    r = http.get("/collections/grids/items", params={"bbox": bbox, "bbox-crs": "EPSG:4549"}).json()
    assert [f["id"] for f in r["features"]] == [grid["code"]]


def test_conformance_declares_crs(http):
    classes = http.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes
    doc = http.get("/collections/grids").json()
    assert "http://www.opengis.net/def/crs/EPSG/0/4549" in doc["crs"]


def test_vector_tile_holds_the_features_of_its_bounds(layers, http):
    grid = layers["grids"].iloc[3]
    c = grid.geometry.representative_point()
    z = 14
    x, y = lonlat_to_tile(c.x, c.y, z)
    r = http.get(f"/tiles/grids/{z}/{x}/{y}.pbf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert "max-age" in r.headers["cache-control"]
    decoded = mapbox_vector_tile.decode(r.content)
    codes = {f["properties"]["code"] for f in decoded["grids"]["features"]}
    # Every grid that intersects the tile's bounds, and only those (within the tile buffer).
    n = 2 ** z
    west, east = x / n * 360 - 180, (x + 1) / n * 360 - 180
    north = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
    south = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 1) / n))))
    from shapely.geometry import box

    expected = set(layers["grids"][layers["grids"].intersects(box(west, south, east, north))]["code"])
    assert grid["code"] in codes
    assert expected <= codes
    assert len(codes - expected) <= 4  # neighbours reaching only into the 64/4096 buffer
    empty = http.get("/tiles/grids/14/0/0.pbf")
    assert empty.status_code == 200 and mapbox_vector_tile.decode(empty.content) == {}
    assert http.get("/tiles/grids/3/9/9.pbf").status_code == 422


def test_tilejson(layers, http, server):
    tj = http.get("/tiles/posts.json").json()
    assert tj["tilejson"] == "3.0.0"
    assert tj["tiles"] == [f"{server}/tiles/posts/{{z}}/{{x}}/{{y}}.pbf"]
    assert "opening_hours" in tj["vector_layers"][0]["fields"]
    assert 119.2 < tj["bounds"][0] < tj["bounds"][2] < 119.7


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin is installed by make test")
def test_gdal_ogc_api_features_driver_reads_every_collection(layers, server):
    out = subprocess.run(["ogrinfo", "-ro", "-q", f"OAPIF:{server}"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for coll in ("districts", "subdistricts", "communities", "grids", "posts", "roads", "pois", "airspace"):
        assert coll in out.stdout
    out = subprocess.run(["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", f"OAPIF:{server}", "grids"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    fc = json.loads(out.stdout)
    codes = sorted(f["properties"]["code"] for f in fc["features"])
    assert len(codes) == 76 and codes == sorted(layers["grids"]["code"])


# --- GCJ-02 output for Gaode basemaps ------------------------------------------------------

def test_items_shifted_to_gcj02_for_gaode(layers, http):
    from gis.crs import geodesic_distance_m, wgs84_to_gcj02

    plain = http.get("/collections/posts/items", params={"limit": 200}).json()
    shifted = http.get("/collections/posts/items", params={"limit": 200, "coord_sys": "gcj02"}).json()
    assert [f["id"] for f in plain["features"]] == [f["id"] for f in shifted["features"]]
    assert len(plain["features"]) == 117
    for a, b in zip(plain["features"], shifted["features"]):
        (lon, lat), (glon, glat) = a["geometry"]["coordinates"], b["geometry"]["coordinates"]
        elon, elat = wgs84_to_gcj02(lon, lat)
        assert glon == pytest.approx(float(elon), abs=2e-7) and glat == pytest.approx(float(elat), abs=2e-7)
        assert 300 < float(geodesic_distance_m(lon, lat, glon, glat)) < 700  # ~500 m around Rizhao
        assert a["properties"] == b["properties"]
    # Polygons: every vertex, and a single item the same way.
    code = layers["grids"].iloc[7]["code"]
    g = http.get(f"/collections/grids/items/{code}").json()["geometry"]["coordinates"]
    s = http.get(f"/collections/grids/items/{code}", params={"coord_sys": "gcj02"}).json()["geometry"]["coordinates"]
    ring, sring = np.array(g[0][0] if isinstance(g[0][0][0], list) else g[0]), \
        np.array(s[0][0] if isinstance(s[0][0][0], list) else s[0])
    elon, elat = wgs84_to_gcj02(ring[:, 0], ring[:, 1])
    assert np.allclose(sring[:, 0], elon, atol=2e-7) and np.allclose(sring[:, 1], elat, atol=2e-7)
    # A bbox drawn on the Gaode map (GCJ-02) finds the post drawn there.
    post = shifted["features"][3]
    glon, glat = post["geometry"]["coordinates"]
    box = f"{glon - 0.0005},{glat - 0.0005},{glon + 0.0005},{glat + 0.0005}"
    found = http.get("/collections/posts/items", params={"bbox": box, "coord_sys": "gcj02"}).json()
    assert post["id"] in [f["id"] for f in found["features"]]
    # Only lon/lat output can be shifted; unknown frames are refused.
    assert http.get("/collections/posts/items", params={"coord_sys": "gcj02", "crs": "EPSG:4549"}).status_code == 422
    assert http.get("/collections/posts/items", params={"coord_sys": "bd09x"}).status_code == 422


def test_vector_tiles_shifted_to_gcj02(layers, http):
    from gis.crs import wgs84_to_gcj02

    post = layers["posts"].iloc[10]
    glon, glat = (float(v) for v in wgs84_to_gcj02(post.geometry.x, post.geometry.y))
    z = 13
    x, y = lonlat_to_tile(glon, glat, z)
    r = http.get(f"/tiles/posts/{z}/{x}/{y}.pbf", params={"coord_sys": "gcj02"})
    assert r.status_code == 200
    feats = {f["properties"]["code"]: f for f in mapbox_vector_tile.decode(r.content)["posts"]["features"]}
    assert post["code"] in feats
    px, py = feats[post["code"]]["geometry"]["coordinates"]

    def pixel(lon, lat):  # tile pixel, origin bottom-left (the decoder's default)
        n = 2 ** z
        fx = (lon + 180) / 360 * n
        fy = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
        return (fx - x) * 4096, (1 - (fy - y)) * 4096

    ex, ey = pixel(glon, glat)
    assert abs(px - ex) <= 1.5 and abs(py - ey) <= 1.5
    wx, wy = pixel(post.geometry.x, post.geometry.y)
    assert math.hypot(ex - wx, ey - wy) > 100  # ~500 m is ~400 px at z13: clearly not the WGS84 place
    plain = http.get(f"/tiles/posts/{z}/{x}/{y}.pbf").content
    if plain:
        d = {f["properties"]["code"]: f for f in mapbox_vector_tile.decode(plain).get("posts", {}).get("features", [])}
        if post["code"] in d:
            qx, qy = d[post["code"]]["geometry"]["coordinates"]
            assert abs(qx - wx) <= 1.5 and abs(qy - wy) <= 1.5
    assert http.get(f"/tiles/posts/{z}/{x}/{y}.pbf", params={"coord_sys": "nope"}).status_code == 422
    tj = http.get("/tiles/posts.json", params={"coord_sys": "gcj02"}).json()
    assert tj["tiles"][0].endswith("/tiles/posts/{z}/{x}/{y}.pbf?coord_sys=gcj02")


def test_portal_grid_stats(layers, http):
    r = http.get("/api/portal/grid-stats")
    assert r.status_code == 200
    doc = r.json()
    assert len(doc["grids"]) == 76 and len(doc["posts"]) == 117
    g = doc["grids"][0]
    assert set(g) == {"code", "name", "cases", "open_cases", "density_per_km2"}
    assert all(x["open_cases"] <= x["cases"] for x in doc["grids"])
    assert all(p["community"] for p in doc["posts"])
    assert "reporter_phone" not in r.text
    r = http.get("/api/portal/grid-stats", params={"datetime": "2000-01-01/2000-01-02"}).json()
    assert sum(x["cases"] for x in r["grids"]) == 0
    assert http.get("/api/portal/grid-stats", params={"datetime": "yesterday"}).status_code == 422


def test_portal_page_is_a_light_local_shell(http):
    import re

    from api.portal import render_portal

    r = http.get("/", headers={"accept": "text/html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert len(r.content) < 200_000 and '"FeatureCollection"' not in html  # no inline layer data
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(u.startswith("/static/") for u in refs), refs
    for u in refs:
        if u.startswith("/static/"):
            assert http.get(u).status_code == 200, u
    # Tianditu is offered only with a key (and is then the default); Gaode always, never default.
    assert "tianditu.gov.cn" not in html and "autonavi.com" in html and '"default_basemap": null' in html
    keyed = render_portal(frozenset({"/api/portal/grid-stats"}), "KEY123")
    assert "tianditu.gov.cn" in keyed and '"default_basemap": "tianditu"' in keyed and "KEY123" in keyed
    # Layers whose collection or endpoint is absent are left out of the page.
    bare = render_portal(frozenset(), None)
    assert '"/api/drone/positions"' not in bare and '"grid_stats": false' in bare
    assert http.get("/", headers={"accept": "application/json"}).json()["title"] == "citygrid"
