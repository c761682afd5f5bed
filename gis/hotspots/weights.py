"""Spatial weights as binary scipy.sparse CSR matrices without the diagonal (neighbours only).

Gi* adds the self weight and row-standardises later, so every builder returns plain
adjacency: queen contiguity for polygons, H3 k=1 rings for hexagons, a distance band
for the fishnet.
"""
from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import scipy.sparse as sp
import shapely
from scipy.spatial import cKDTree

from gis.crs import METRIC

# Grid polygons built separately can leave sub-metre slivers between neighbours; a small
# tolerance keeps them queen neighbours.
QUEEN_TOL_M = 0.5


def _csr(i: np.ndarray, j: np.ndarray, n: int) -> sp.csr_matrix:
    keep = i != j
    a = sp.csr_matrix((np.ones(keep.sum()), (i[keep], j[keep])), shape=(n, n))
    a.data[:] = 1.0  # duplicates summed by the constructor; binary again
    a = ((a + a.T) > 0).astype(np.float64)  # symmetric even if a predicate was not
    return a.tocsr()


def queen(units: gpd.GeoDataFrame) -> sp.csr_matrix:
    """Queen contiguity of polygon units: neighbours when they touch, or come within QUEEN_TOL_M
    (0.5 m) of each other in EPSG:4549, bridging slivers between grids drawn separately."""
    geoms = units.to_crs(METRIC).geometry.values
    tree = shapely.STRtree(geoms)
    i, j = tree.query(shapely.buffer(geoms, QUEEN_TOL_M), predicate="intersects")
    return _csr(i, j, len(geoms))


def h3_rings(cell_ids, k: int = 1) -> sp.csr_matrix:
    """H3 cells within ``k`` rings of each other (k=1: the 6 adjacent cells), among ``cell_ids``
    only; rows and columns in the order given."""
    cells = list(cell_ids)
    pos = {c: n for n, c in enumerate(cells)}
    rows, cols = [], []
    # One grid_disk per cell (a few µs each); neighbours outside the unit set are dropped.
    for n, c in enumerate(cells):
        for d in h3.grid_disk(c, k):
            m = pos.get(d)
            if m is not None:
                rows.append(n)
                cols.append(m)
    return _csr(np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64), len(cells))


def distance_band(units: gpd.GeoDataFrame, threshold_m: float) -> sp.csr_matrix:
    """Units whose centroids lie within ``threshold_m`` metres of each other (EPSG:4549)."""
    c = units.to_crs(METRIC).geometry.centroid
    xy = np.column_stack([c.x.to_numpy(), c.y.to_numpy()])
    pairs = cKDTree(xy).query_pairs(threshold_m, output_type="ndarray")
    return _csr(pairs[:, 0], pairs[:, 1], len(xy))


def for_unit(unit: str, units: gpd.GeoDataFrame) -> sp.csr_matrix:
    """The weights Gi* uses for ``unit``: H3 k=1 rings for hexagons, a 375 m distance band for the
    250 m fishnet (its 8 queen neighbours), queen contiguity for grids."""
    if unit.startswith("h3_"):
        return h3_rings(units["unit_id"])
    if unit == "fishnet_250m":
        # 1.5 cell sizes: the 8 queen neighbours of a square (diagonal 354 m < 375 m).
        return distance_band(units, 375.0)
    return queen(units)
