"""Aggregation units (grids, H3 res 8/9, a 250 m fishnet) and per-unit case counts.

Every unit covering the study area is returned, zero counts included: Gi* compares each
unit with the whole study area, so dropping empty units would bias every z-score upward.
"""
from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from citygrid.errors import InvalidInput
from gis.crs import METRIC, WGS84
from gis.location import UnitIndex

UNITS = ("grid", "h3_8", "h3_9", "fishnet_250m")
FISHNET_M = 250.0


def utc(value) -> pd.Timestamp:
    """A timestamp in UTC; naive values are taken as UTC."""
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def filter_points(points: gpd.GeoDataFrame, category: str | None = None,
                  start=None, end=None) -> gpd.GeoDataFrame:
    """Cases of one category in [start, end) (times compared in UTC), in WGS84."""
    pts = points if points.crs is not None else points.set_crs(WGS84)
    pts = pts.to_crs(WGS84)
    pts = pts[pts.geometry.notna() & ~pts.geometry.is_empty]
    if category is not None:
        pts = pts[pts["category"] == category]
    if start is not None or end is not None:
        t = pd.to_datetime(pts["reported_at"], utc=True)
        keep = np.ones(len(pts), dtype=bool)
        if start is not None:
            keep &= (t >= utc(start)).to_numpy()
        if end is not None:
            keep &= (t < utc(end)).to_numpy()
        pts = pts[keep]
    return pts


def _study_area(points: gpd.GeoDataFrame, grids: gpd.GeoDataFrame | None) -> shapely.Geometry:
    """The grids' union or, without grids, the points' bounding box (WGS84)."""
    if grids is not None and len(grids):
        return shapely.union_all(grids.to_crs(WGS84).geometry.values)
    if len(points) == 0:
        raise InvalidInput("no study area: no grids given and no points",
                           [{"field": "grids", "problem": "missing"}])
    return shapely.box(*points.total_bounds)


def grid_units(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The grids as aggregation units, sorted by code: unit_id = grid code, area_km2 from the layer
    (else measured in EPSG:4549), geometry in WGS84."""
    g = grids.to_crs(WGS84).sort_values("code")
    area = g["area_km2"].to_numpy(float) if "area_km2" in g else g.to_crs(METRIC).area.to_numpy() / 1e6
    return gpd.GeoDataFrame({"unit_id": g["code"].astype(str).to_numpy(), "area_km2": area},
                            geometry=g.geometry.values, crs=WGS84)


def h3_units(area: shapely.Geometry, res: int) -> gpd.GeoDataFrame:
    """Cells whose centre lies in the study area.

    Points outside it are not counted (as for grids and the fishnet): adding only the
    occupied outside cells would make a ragged area of non-empty cells and bias Gi*.
    """
    cells = sorted(h3.geo_to_cells(area, res))
    # cell_to_boundary gives (lat, lng) pairs; shapely wants (x=lng, y=lat).
    polys = [shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in cells]
    area_km2 = np.array([h3.cell_area(c, unit="km^2") for c in cells])
    return gpd.GeoDataFrame({"unit_id": cells, "area_km2": area_km2}, geometry=polys, crs=WGS84)


def _fishnet_ij(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Snap to multiples of the cell size from the CRS origin so ids are stable across runs.
    return np.floor(x / FISHNET_M).astype(np.int64), np.floor(y / FISHNET_M).astype(np.int64)


def fishnet_id(i, j) -> np.ndarray:
    """Fishnet unit ids ``fn250_<i>_<j>`` (object array) from cell indices, i.e. EPSG:4549
    easting and northing floor-divided by 250 m."""
    return np.char.add(np.char.add("fn250_", np.asarray(i).astype(str)),
                       np.char.add("_", np.asarray(j).astype(str))).astype(object)


def fishnet_units(area: shapely.Geometry) -> gpd.GeoDataFrame:
    """The 250 m squares of EPSG:4549 that intersect the study area, in WGS84. Squares are snapped
    to the CRS origin, so a square keeps its id across runs and areas."""
    area_m = gpd.GeoSeries([area], crs=WGS84).to_crs(METRIC).iloc[0]
    x0, y0, x1, y1 = area_m.bounds
    i0, j0 = _fishnet_ij(np.array([x0]), np.array([y0]))
    i1, j1 = _fishnet_ij(np.array([x1]), np.array([y1]))
    ii, jj = np.meshgrid(np.arange(i0[0], i1[0] + 1), np.arange(j0[0], j1[0] + 1))
    ii, jj = ii.ravel(), jj.ravel()
    boxes = shapely.box(ii * FISHNET_M, jj * FISHNET_M, (ii + 1) * FISHNET_M, (jj + 1) * FISHNET_M)
    keep = shapely.intersects(boxes, area_m)
    frame = gpd.GeoDataFrame({"unit_id": fishnet_id(ii[keep], jj[keep]),
                              "area_km2": FISHNET_M ** 2 / 1e6}, geometry=boxes[keep], crs=METRIC)
    return frame.to_crs(WGS84)


def assign_units(points: gpd.GeoDataFrame, unit: str, units: gpd.GeoDataFrame | None = None) -> np.ndarray:
    """unit_id per point (None where no unit covers it; grids follow the Locator rule)."""
    lon, lat = points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
    if unit == "grid":
        idx = UnitIndex.from_frame(units.rename(columns={"unit_id": "code"}))
        return idx.assign(points.geometry.values)
    if unit.startswith("h3_"):
        res = int(unit[3:])
        # A list comprehension over floats: h3 v4 has no vectorised call, ~1 µs per point.
        return np.array([h3.latlng_to_cell(a, b, res) for a, b in zip(lat.tolist(), lon.tolist())],
                        dtype=object)
    gx, gy = gpd.GeoSeries(points.geometry.values, crs=WGS84).to_crs(METRIC).pipe(lambda s: (s.x, s.y))
    return fishnet_id(*_fishnet_ij(gx.to_numpy(), gy.to_numpy()))


def build_units(unit: str, points: gpd.GeoDataFrame, grids: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """The units of kind ``unit`` (one of UNITS): the grids themselves, or H3 cells / fishnet
    squares over the study area (the grids' union, else the points' bounding box). InvalidInput
    for an unknown unit, or for ``grid`` without grids."""
    if unit not in UNITS:
        raise InvalidInput(f"unknown unit {unit!r}; valid: {', '.join(UNITS)}",
                           [{"field": "unit", "problem": "unknown", "value": unit}])
    if unit == "grid":
        if grids is None:
            raise InvalidInput("unit 'grid' needs the grids layer", [{"field": "grids", "problem": "missing"}])
        return grid_units(grids)
    area = _study_area(points, grids)
    if unit.startswith("h3_"):
        return h3_units(area, int(unit[3:]))
    return fishnet_units(area)


def aggregate(points_gdf: gpd.GeoDataFrame, unit: str = "grid", grids: gpd.GeoDataFrame | None = None,
              category: str | None = None, start=None, end=None,
              units: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Counts per unit: GeoDataFrame(unit_id, count, area_km2, density_per_km2, geometry), WGS84.

    ``units`` may be passed to reuse one unit layer across periods (emerging hot spots).
    """
    pts = filter_points(points_gdf, category, start, end)
    if units is None:
        units = build_units(unit, pts, grids)
    ids = assign_units(pts, unit, units) if len(pts) else np.array([], dtype=object)
    counts = pd.Series(ids[pd.notna(ids)]).value_counts()
    out = units.copy()
    out["count"] = counts.reindex(out["unit_id"]).fillna(0).astype(np.int64).to_numpy()
    out["density_per_km2"] = out["count"] / out["area_km2"]
    return out[["unit_id", "count", "area_km2", "density_per_km2", "geometry"]]
