"""Standard map APIs: output CRSs, datetime, vector tiles, and a real client (GDAL OAPIF)."""
from __future__ import annotations

import json
import math
import shutil
import subprocess

import mapbox_vector_tile
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
