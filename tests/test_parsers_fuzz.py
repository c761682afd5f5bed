"""Hypothesis against the file parsers: random and broken GeoJSON, GPX, CSV and zipped
shapefiles through gis.layers.validate (read_layer_file, validate_layer) and patrol.readers.
Every input gives a correct result or a clear CitygridError, never an unhandled exception.
More examples: HYPOTHESIS_PROFILE=soak (used by `make soak`)."""
from __future__ import annotations

import io
import json
import math
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citygrid.errors import CitygridError
from gis.crs import RIZHAO_BOUNDS
from gis.layers.validate import SPECS, read_layer_file, validate_layer
from patrol.readers import COLUMNS, read_track_file

settings.register_profile("quick", max_examples=60, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
settings.register_profile("soak", max_examples=1000, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))  # applied per test, not globally

# --- building blocks --------------------------------------------------------------------
B = RIZHAO_BOUNDS
weird_floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(B[0], B[2]), st.floats(B[1], B[3]),  # inside Rizhao, so the happy path is reached
    st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, 119.5, 35.4, 35.4000001, 180.0, 90.0, 91.0]),
)
numbers = st.one_of(weird_floats, st.integers(-10**20, 10**20))
json_scalar = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=20))
json_any = st.recursive(json_scalar, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                            st.dictionaries(st.text(max_size=8), kids, max_size=4)),
                        max_leaves=20)
iso_times = st.one_of(
    st.datetimes().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat() + "+08:00"),
    st.sampled_from(["", "yesterday", "2024-02-30T00:00:00Z", "2024-01-01T25:00:00", "9999-12-31T23:59:59Z",
                     "0001-01-01T00:00:00", "2024-05-01T08:00:00Z", "1e10", "NaT"]),
    st.text(max_size=12),
)
position = st.one_of(st.lists(numbers, min_size=0, max_size=4), json_any)
ring = st.lists(st.tuples(st.floats(B[0], B[2]), st.floats(B[1], B[3])).map(list), min_size=0, max_size=8)


def closed(r):
    return r + r[:1] if r else r


geometry = st.one_of(
    st.fixed_dictionaries({"type": st.just("Point"), "coordinates": position}),
    st.fixed_dictionaries({"type": st.just("LineString"), "coordinates": st.lists(position, max_size=6)}),
    st.fixed_dictionaries({"type": st.just("Polygon"), "coordinates": st.lists(ring.map(closed), max_size=3)}),
    st.fixed_dictionaries({"type": st.just("Polygon"), "coordinates": st.lists(st.lists(position, max_size=5),
                                                                              max_size=2)}),
    st.fixed_dictionaries({"type": st.just("MultiPolygon"),
                           "coordinates": st.lists(st.lists(ring.map(closed), max_size=2), max_size=2)}),
    st.fixed_dictionaries({"type": st.sampled_from(["GeometryCollection", "Bogus", "MultiPoint"]),
                           "coordinates": json_any, "geometries": st.lists(json_any, max_size=2)}),
    st.none(), json_any,
)
properties = st.one_of(
    st.fixed_dictionaries({}, optional={
        "code": st.one_of(st.from_regex(r"\d{14}", fullmatch=True), st.from_regex(r"\d{12}", fullmatch=True),
                          json_scalar),
        "name": json_scalar, "community_code": st.one_of(st.from_regex(r"\d{12}", fullmatch=True), json_scalar),
        "id": json_scalar, "kind": json_scalar, "floor_m": numbers, "ceiling_m": numbers,
        "device_id": json_scalar, "track_id": json_scalar, "time": iso_times,
        "times": st.lists(iso_times, max_size=6), "accuracy_m": json_scalar, "speed_mps": json_scalar}),
    json_any,
)
feature = st.one_of(st.fixed_dictionaries({"type": st.just("Feature"), "geometry": geometry,
                                           "properties": properties}), json_any)
collection = st.one_of(
    st.fixed_dictionaries({"type": st.just("FeatureCollection"), "features": st.lists(feature, max_size=6)}),
    st.fixed_dictionaries({"type": st.just("FeatureCollection"), "features": json_any}),
    feature, json_any,
)
crs_choice = st.sampled_from([None, "EPSG:4326", "EPSG:4490", "EPSG:4549", "EPSG:99999", "not a crs", "+proj=longlat"])


def write(tmp: str, name: str, data: bytes | str) -> Path:
    p = Path(tmp) / name
    p.write_bytes(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    return p


def to_json(doc) -> str:
    return json.dumps(doc, allow_nan=True, ensure_ascii=False)


# --- layer files --------------------------------------------------------------------------------
def check_layer(path: Path, crs, layer: str):
    try:
        frame = read_layer_file(path, crs)
    except CitygridError:
        return
    try:
        ready = validate_layer(layer, frame)
    except CitygridError as exc:
        assert exc.message
        return
    # A frame that passes is loadable: valid, non-empty geometries of the right type, in WGS84.
    assert ready.crs.to_epsg() == 4326
    assert ready.geometry.notna().all() and ready.geometry.is_valid.all() and not ready.geometry.is_empty.any()
    assert set(ready.geometry.geom_type) <= set(SPECS[layer].geom_types)


@PROFILE
@given(doc=collection, crs=crs_choice, layer=st.sampled_from(list(SPECS)))
def test_layer_geojson_never_crashes(doc, crs, layer):
    with tempfile.TemporaryDirectory() as tmp:
        check_layer(write(tmp, "layer.geojson", to_json(doc)), crs, layer)


@PROFILE
@given(data=st.one_of(st.binary(max_size=300), st.text(max_size=300)),
       suffix=st.sampled_from([".geojson", ".json", ".gpkg", ".shp", ".zip", ".kml", ""]),
       layer=st.sampled_from(list(SPECS)))
def test_layer_garbage_files_are_refused(data, suffix, layer):
    with tempfile.TemporaryDirectory() as tmp:
        path = write(tmp, "garbage" + suffix, data)
        try:
            check_layer(path, "EPSG:4326", layer)
        except CitygridError:
            pass


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


@st.composite
def broken_shapefile_zip(draw):
    """A real shapefile (from a valid layer), zipped, with parts dropped, truncated or replaced."""
    import geopandas as gpd
    import shapely

    n = draw(st.integers(1, 3))
    frame = gpd.GeoDataFrame({"code": [f"37110200100{i}" for i in range(n)], "name": ["x"] * n},
                             geometry=[shapely.box(119.4 + i * 0.01, 35.4, 119.405 + i * 0.01, 35.405)
                                       for i in range(n)], crs="EPSG:4326")
    with tempfile.TemporaryDirectory() as tmp:
        frame.to_file(Path(tmp) / "a.shp", engine="pyogrio")
        parts = {p.name: p.read_bytes() for p in Path(tmp).iterdir()}
    for name in sorted(parts):
        action = draw(st.sampled_from(["keep", "keep", "drop", "truncate", "garbage"]))
        if action == "drop":
            del parts[name]
        elif action == "truncate":
            parts[name] = parts[name][: draw(st.integers(0, len(parts[name])))]
        elif action == "garbage":
            parts[name] = draw(st.binary(max_size=200))
    if draw(st.booleans()):
        parts = {f"{draw(st.sampled_from(['', 'dir/', '../', '/abs/']))}{k}": v for k, v in parts.items()}
    return _zip(parts)


@PROFILE
@given(data=broken_shapefile_zip(), crs=crs_choice)
def test_layer_broken_shapefile_zip(data, crs):
    with tempfile.TemporaryDirectory() as tmp:
        check_layer(write(tmp, "grids.zip", data), crs, "subdistricts")


# --- patrol tracks ----------------------------------------------------------------------------------
def check_track(path: Path, coord_sys="wgs84"):
    try:
        read = read_track_file(path, coord_sys)
    except CitygridError as exc:
        assert exc.message
        return None
    f = read.fixes
    assert list(f.columns) == COLUMNS and len(f) > 0
    lon, lat = f["lon"].to_numpy(float), f["lat"].to_numpy(float)
    assert np.isfinite(lon).all() and np.isfinite(lat).all()
    assert ((lon >= B[0]) & (lon <= B[2]) & (lat >= B[1]) & (lat <= B[3])).all()
    assert f["t"].notna().all() and not f.duplicated(["track_id", "t"]).any()
    for _, g in f.groupby("track_id"):
        assert g["t"].is_monotonic_increasing
    return read


@PROFILE
@given(doc=collection, coord_sys=st.sampled_from(["wgs84", "gcj02", "bd09", "utm"]))
def test_track_geojson(doc, coord_sys):
    with tempfile.TemporaryDirectory() as tmp:
        check_track(write(tmp, "track.geojson", to_json(doc)), coord_sys)


def _attr(v) -> str:
    return str(v).replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


gpx_point = st.fixed_dictionaries({"lat": st.one_of(numbers, st.text(max_size=6)),
                                   "lon": st.one_of(numbers, st.text(max_size=6)),
                                   "time": st.one_of(st.none(), iso_times),
                                   "hdop": st.one_of(st.none(), numbers, st.text(max_size=4)),
                                   "speed": st.one_of(st.none(), numbers, st.text(max_size=4))})


def gpx_text(tracks, version: str) -> str:
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="{version}" creator="fuzz" '
           f'xmlns="http://www.topografix.com/GPX/1/{version.replace(".", "/")}">']
    for segs in tracks:
        out.append("<trk><name>t</name>")
        for pts in segs:
            out.append("<trkseg>")
            for p in pts:
                inner = ""
                if p["time"] is not None:
                    inner += f"<time>{_attr(p['time'])}</time>"
                if p["hdop"] is not None:
                    inner += f"<hdop>{_attr(p['hdop'])}</hdop>"
                if p["speed"] is not None:
                    inner += f"<speed>{_attr(p['speed'])}</speed>"
                out.append(f'<trkpt lat="{_attr(p["lat"])}" lon="{_attr(p["lon"])}">{inner}</trkpt>')
            out.append("</trkseg>")
        out.append("</trk>")
    out.append("</gpx>")
    return "".join(out)


@PROFILE
@given(tracks=st.lists(st.lists(st.lists(gpx_point, max_size=5), max_size=2), max_size=2),
       version=st.sampled_from(["1.1", "1.0"]), cut=st.one_of(st.none(), st.integers(0, 400)))
def test_track_gpx(tracks, version, cut):
    text = gpx_text(tracks, version)
    if cut is not None:
        text = text[:cut]
    with tempfile.TemporaryDirectory() as tmp:
        check_track(write(tmp, "track.gpx", text))


@PROFILE
@given(data=st.one_of(st.binary(max_size=400), st.text(max_size=400)),
       suffix=st.sampled_from([".gpx", ".geojson", ".csv", ".json"]))
def test_track_garbage(data, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        check_track(write(tmp, "garbage" + suffix, data))


csv_cell = st.one_of(numbers.map(str), iso_times, st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
                     st.sampled_from(['"', '""', ",", "\n", "\r\n", "NaN", "inf", "-", " 119.5 ", "35.4"]))


@PROFILE
@given(header=st.one_of(st.just("device_id,time,lon,lat,accuracy_m,speed_mps"),
                        st.just("Device_ID , TIME,lat,lon"), st.just("device_id,time,lon,lat"),
                        st.lists(st.sampled_from(["device_id", "time", "lon", "lat", "x", "", '"']), max_size=6)
                        .map(",".join)),
       rows=st.lists(st.lists(csv_cell, max_size=8).map(",".join), max_size=8))
def test_track_csv(header, rows):
    with tempfile.TemporaryDirectory() as tmp:
        check_track(write(tmp, "track.csv", "\n".join([header, *rows])))


@PROFILE
@given(n=st.integers(1, 20), data=st.data())
def test_track_csv_good_rows_are_kept(n, data):
    """The happy path is reached and correct: in-bounds fixes with distinct times all survive."""
    lons = data.draw(st.lists(st.floats(119.2, 119.6), min_size=n, max_size=n))
    lats = data.draw(st.lists(st.floats(35.2, 35.6), min_size=n, max_size=n))
    lines = ["device_id,time,lon,lat"] + [f"d1,2024-05-01T08:{i // 60:02d}:{i % 60:02d}Z,{x!r},{y!r}"
                                          for i, (x, y) in enumerate(zip(lons, lats))]
    with tempfile.TemporaryDirectory() as tmp:
        read = check_track(write(tmp, "good.csv", "\n".join(lines)))
    assert read is not None and len(read.fixes) == n and read.dropped_total == 0
    assert np.allclose(read.fixes["lon"], lons) and np.allclose(read.fixes["lat"], lats)
    assert not any(math.isnan(v) for v in read.fixes["lon"])
