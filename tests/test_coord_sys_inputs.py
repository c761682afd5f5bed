"""``coord_sys`` on every input that takes coordinates beyond cases and fixes: drone targets,
drone telemetry, flight-application areas and layer files. What is stored is WGS84, so a
point picked on a Gaode (GCJ-02) or Baidu (BD-09) map lands where it really is, not a few
hundred metres off."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import numpy as np
import pytest
import shapely
import sqlalchemy as sa

from citygrid.workcal import TZ
from gis.crs import geodesic_distance_m, wgs84_to_bd09, wgs84_to_gcj02

TARGET = (119.55, 35.44)  # open airspace in Donggang, as the broadcast tests fly
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=TZ)


@pytest.fixture(scope="module")
def who(drone_db, make_user):
    return {"op": make_user("cs_operator", "drone_operator"), "cmd": make_user("cs_commander", "commander")}


def shifted(frame, lon, lat):
    f = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}[frame]
    x, y = f(lon, lat)
    return float(x), float(y)


@pytest.mark.parametrize("frame", ["gcj02", "bd09"])
def test_drone_target_in_another_frame_is_flown_in_wgs84(http, who, frame):
    lon, lat = shifted(frame, *TARGET)
    assert geodesic_distance_m(lon, lat, *TARGET) > 300  # what would be wrong without the shift
    r = http.post("/api/drone/missions", headers=who["op"], json={
        "lon": lon, "lat": lat, "coord_sys": frame, "start": NOON.isoformat()})
    assert r.status_code == 201, r.text
    m = r.json()
    assert geodesic_distance_m(m["target_lon"], m["target_lat"], *TARGET) < 0.5
    # unknown frames and swapped numbers are refused, naming the field
    bad = http.post("/api/drone/missions/check", headers=who["op"], json={"lon": lon, "lat": lat, "coord_sys": "utm"})
    assert bad.status_code == 422 and "coord_sys" in bad.text
    swapped = http.post("/api/drone/missions/check", headers=who["op"],
                        json={"lon": TARGET[1], "lat": TARGET[0], "coord_sys": frame})
    assert swapped.status_code == 422 and "swapped" in swapped.text


def test_telemetry_in_gcj02_stored_in_wgs84(http, who, engine):
    drone = "UAV-371102-01"
    at = datetime.now(TZ) + timedelta(seconds=1)
    lon, lat = shifted("gcj02", *TARGET)
    r = http.post(f"/api/drone/{drone}/telemetry", params={"coord_sys": "gcj02"}, headers=who["op"],
                  json=[{"at": at.isoformat(), "lon": lon, "lat": lat, "alt_m": 50, "battery_pct": 80}])
    assert r.status_code == 200 and r.json()["stored"] == 1, r.text
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT lon, lat FROM drone_telemetry WHERE drone_id = :d AND at = :t"),
                           {"d": drone, "t": at}).one()
    assert geodesic_distance_m(row.lon, row.lat, *TARGET) < 0.5
    r = http.post(f"/api/drone/{drone}/telemetry", params={"coord_sys": "mars"}, headers=who["op"],
                  json=[{"at": at.isoformat(), "lon": lon, "lat": lat}])
    assert r.status_code == 422 and "coord_sys" in r.text


def test_flight_application_area_in_gcj02(http, who, engine):
    box = shapely.box(119.50, 35.40, 119.52, 35.42)
    drawn = shapely.transform(box, lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1])))
    ref = f"CS-{uuid.uuid4().hex[:6]}"
    r = http.post("/api/drone/applications", headers=who["cmd"], json={
        "reference": ref, "area": json.loads(shapely.to_geojson(drawn)), "coord_sys": "gcj02",
        "valid_from": NOON.isoformat(), "valid_to": (NOON + timedelta(hours=4)).isoformat(), "approver": "空管"})
    assert r.status_code == 201, r.text
    stored = shapely.geometry.shape(r.json()["area"])
    # stored back where it was drawn: the symmetric difference is a sliver, not a 500 m shift
    assert stored.symmetric_difference(box).area < box.area * 1e-6
    assert drawn.symmetric_difference(box).area > box.area * 0.05


def test_layer_file_digitised_on_gaode_is_shifted(tmp_path, built_layers):
    import geopandas as gpd

    from citygrid.errors import InvalidInput
    from gis.layers.validate import read_layer_file, shift_to_wgs84

    posts = built_layers["posts"].head(5)
    x, y = wgs84_to_gcj02(posts.geometry.x.to_numpy(), posts.geometry.y.to_numpy())
    gaode = gpd.GeoDataFrame(posts.drop(columns="geometry"), geometry=gpd.points_from_xy(x, y), crs=4326)
    path = tmp_path / "posts_gaode.geojson"
    gaode.to_file(path, driver="GeoJSON")
    back = shift_to_wgs84(read_layer_file(path), "gcj02")
    d = geodesic_distance_m(back.geometry.x.to_numpy(), back.geometry.y.to_numpy(),
                            posts.geometry.x.to_numpy(), posts.geometry.y.to_numpy())
    assert d.max() < 0.5
    metric = gaode.to_crs(4549)
    mpath = tmp_path / "posts_metric.gpkg"
    metric.to_file(mpath, driver="GPKG")
    with pytest.raises(InvalidInput, match="lon/lat files only"):
        shift_to_wgs84(read_layer_file(mpath), "gcj02")
    with pytest.raises(InvalidInput, match="coord_sys"):
        shift_to_wgs84(read_layer_file(path), "itrf")
