"""DBSCAN clusters of case points, in metres (EPSG:4549).

A cluster is a street-level pile-up (e.g. a row of stalls); its outline is the convex
hull of its points, buffered so that a line of points still gives a polygon.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sklearn.cluster import DBSCAN

from gis.crs import METRIC, WGS84
from gis.location import UnitIndex

OUTLINE_BUFFER_M = 5.0
COLUMNS = ["cluster_id", "count", "first_reported", "last_reported", "grid_code", "geometry"]


def dbscan_clusters(points: gpd.GeoDataFrame, eps_m: float = 50.0, min_samples: int = 5,
                    grids: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """One row per cluster (noise dropped), WGS84 outline, grid by the Locator rule."""
    pts = points.to_crs(METRIC)
    if len(pts) == 0:
        return gpd.GeoDataFrame(columns=COLUMNS, geometry="geometry", crs=WGS84)
    xy = np.column_stack([pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()])
    labels = DBSCAN(eps=eps_m, min_samples=min_samples).fit_predict(xy)
    times = (pd.to_datetime(pts["reported_at"], utc=True) if "reported_at" in pts
             else pd.Series(pd.NaT, index=pts.index))
    frame = pd.DataFrame({"label": labels, "t": times.to_numpy()})
    frame = frame[frame["label"] >= 0]
    if frame.empty:
        return gpd.GeoDataFrame(columns=COLUMNS, geometry="geometry", crs=WGS84)
    grouped = frame.groupby("label")
    ids = np.asarray(sorted(grouped.groups))
    mp = [shapely.multipoints(xy[labels == k]) for k in ids]
    outlines = shapely.buffer(shapely.convex_hull(mp), OUTLINE_BUFFER_M)
    out = gpd.GeoDataFrame({
        "cluster_id": ids,
        "count": grouped.size().reindex(ids).to_numpy(),
        "first_reported": grouped["t"].min().reindex(ids).to_numpy(),
        "last_reported": grouped["t"].max().reindex(ids).to_numpy(),
    }, geometry=outlines, crs=METRIC).to_crs(WGS84)
    if grids is not None and len(grids):
        centroids = gpd.GeoSeries(shapely.centroid(outlines), crs=METRIC).to_crs(WGS84).values
        out["grid_code"] = UnitIndex.from_frame(grids.to_crs(WGS84)).assign(centroids)
    else:
        out["grid_code"] = None
    return out[COLUMNS]
