"""Importing a city's own layers: every problem named at once, nothing written on failure."""
from __future__ import annotations

import os
import subprocess
import sys

import geopandas as gpd
import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry import Polygon, box

from citygrid.errors import InvalidInput
from gis.layers.validate import read_layer_file, validate_layer

# A small synthetic block of four grids in Rizhao's centre, 0.01° squares.
X0, Y0, D = 119.50, 35.40, 0.01
SERVICE_AREA = box(119.0, 35.0, 119.9, 35.9)


def four_grids() -> gpd.GeoDataFrame:
    cells = [box(X0 + i * D, Y0 + j * D, X0 + (i + 1) * D, Y0 + (j + 1) * D) for j in range(2) for i in range(2)]
    codes = [f"371102001000{k + 1:02d}" for k in range(4)]
    return gpd.GeoDataFrame({"code": codes, "name": [f"网格{k}" for k in range(4)]}, geometry=cells, crs=4326)


def test_a_clean_file_gains_derived_columns():
    out = validate_layer("grids", four_grids(), SERVICE_AREA)
    assert list(out["subdistrict_code"]) == ["371102001"] * 4
    assert list(out["county_code"]) == ["371102"] * 4
    # 0.01° × 0.01° at 35.4°N is about 1.11 km × 0.91 km.
    assert out["area_km2"].iloc[0] == pytest.approx(1.113 * 0.907, rel=0.01)


def test_every_problem_is_named_with_its_feature():
    g = four_grids()
    bowtie = Polygon([(X0, Y0), (X0 + D, Y0 + D), (X0 + D, Y0), (X0, Y0 + D), (X0, Y0)])
    extra = gpd.GeoDataFrame(
        {"code": ["37110200100099", "37110200100001", "12AB", "37110200100077", "37110200100088"],
         "name": ["bowtie", "dup", "bad code", "far", "swapped"]},
        geometry=[
            bowtie,
            box(X0 + 0.5 * D, Y0, X0 + 1.5 * D, Y0 + D),             # grid 01's code, overlapping 01 and 02
            box(X0 + 3 * D, Y0, X0 + 4 * D, Y0 + D),
            box(121.0, 31.0, 121.01, 31.01),                          # Shanghai: outside Rizhao
            box(Y0 + 0.2, X0 + 0.2, Y0 + 0.21, X0 + 0.21),            # lat/lon swapped
        ], crs=4326)
    frame = gpd.GeoDataFrame(gpd.pd.concat([g, extra], ignore_index=True), crs=4326)
    with pytest.raises(InvalidInput) as info:
        validate_layer("grids", frame, SERVICE_AREA)
    problems = info.value.problems
    by = {(p["feature"], p["problem"].split(":")[0].split(" (")[0]) for p in problems}
    assert ("37110200100099", "invalid geometry") in by
    assert ("37110200100001", "duplicate code") in by
    assert ("12AB", "malformed code") in by
    assert ("37110200100077", "outside Rizhao's service area") in by
    assert any(p["feature"] == "37110200100088" and "swapped" in p["problem"] for p in problems)
    # The overlap is reported with both ids and its area (half a cell, ~0.5 km²).
    overlaps = [p for p in problems if "overlaps grid" in p["problem"]]
    assert len(overlaps) == 2
    assert all(4.5e5 < float(p["problem"].split(" by ")[1].split(" m")[0]) < 5.6e5 for p in overlaps)
    assert "nothing was written" in info.value.message


def test_gap_between_grids_is_found():
    g = four_grids()
    g.loc[3, "geometry"] = box(X0 + D, Y0 + D, X0 + 2 * D, Y0 + 2 * D).difference(
        box(X0 + D, Y0 + D, X0 + D + 0.001, Y0 + D + 0.001))  # a 0.001° notch: ~9,000 m² hole
    with pytest.raises(InvalidInput) as info:
        validate_layer("grids", g, SERVICE_AREA)
    gaps = [p for p in info.value.problems if "gap of" in p["problem"]]
    assert len(gaps) == 1
    area = float(gaps[0]["problem"].split("gap of ")[1].split(" m²")[0])
    assert 8_000 < area < 11_000


def test_metric_crs_is_converted_and_missing_crs_refused(tmp_path):
    g = four_grids().to_crs("EPSG:4549")
    path = tmp_path / "grids_4549.gpkg"
    g.to_file(path, driver="GPKG")
    frame = read_layer_file(path)
    out = validate_layer("grids", frame, SERVICE_AREA)
    assert out.crs.to_epsg() == 4326
    assert out.geometry.iloc[0].bounds[0] == pytest.approx(X0, abs=1e-7)

    shp = tmp_path / "grids.shp"
    four_grids().to_file(shp)
    (tmp_path / "grids.prj").unlink()
    with pytest.raises(InvalidInput, match="declares no CRS"):
        read_layer_file(shp)
    assert read_layer_file(shp, crs="EPSG:4326").crs.to_epsg() == 4326
    with pytest.raises(InvalidInput, match="unknown CRS"):
        read_layer_file(shp, crs="EPSG:999999")


def test_malformed_file_is_refused(tmp_path):
    bad = tmp_path / "broken.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [ {"type": "Feat')
    with pytest.raises(InvalidInput, match="not a readable"):
        read_layer_file(bad)


def test_cli_import_of_a_broken_file_writes_nothing(layers, settings, owner_engine, tmp_path):
    g = four_grids()
    g.loc[1, "code"] = g.loc[0, "code"]
    path = tmp_path / "broken.geojson"
    g.to_file(path, driver="GeoJSON")
    with owner_engine.connect() as conn:
        before = conn.execute(sa.text("SELECT count(*), md5(string_agg(code, ',' ORDER BY code)) FROM grids")).one()
    env = {**os.environ, "CITYGRID_DB_NAME": settings.db_name}
    res = subprocess.run([sys.executable, "-m", "cli.main", "layers", "import", "grids", str(path)],
                         capture_output=True, text=True, env=env)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "duplicate code" in res.stderr and "Traceback" not in res.stderr
    with owner_engine.connect() as conn:
        after = conn.execute(sa.text("SELECT count(*), md5(string_agg(code, ',' ORDER BY code)) FROM grids")).one()
    assert tuple(after) == tuple(before)
    assert before[0] == 76


def test_cli_export_then_reimport_round_trips(layers, settings, owner_engine, tmp_path):
    env = {**os.environ, "CITYGRID_DB_NAME": settings.db_name}
    gpkg = tmp_path / "rizhao.gpkg"
    res = subprocess.run([sys.executable, "-m", "cli.main", "layers", "export", "--format", "gpkg",
                          "--out", str(gpkg)], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    grids = gpd.read_file(gpkg, layer="grids")
    assert len(grids) == 76 and grids.crs.to_epsg() == 4326
    assert len(gpd.read_file(gpkg, layer="posts")) == 117
    folder = tmp_path / "geojson"
    res = subprocess.run([sys.executable, "-m", "cli.main", "layers", "export", "--format", "geojson",
                          "--out", str(folder)], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert len(gpd.read_file(folder / "subdistricts.geojson")) == 56

    def snapshot():
        with owner_engine.connect() as conn:
            return gpd.read_postgis("SELECT code, geom FROM grids ORDER BY code", conn, geom_col="geom")

    before = snapshot()
    res = subprocess.run([sys.executable, "-m", "cli.main", "layers", "import", "grids", str(folder / "grids.geojson")],
                         capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "imported 76 grids" in res.stdout
    after = snapshot()
    assert list(after["code"]) == list(before["code"])
    # GeoJSON keeps 15 significant digits: vertices come back within a micrometre.
    assert shapely.equals_exact(after.geometry.values, before.geometry.values, tolerance=1e-9).all()
