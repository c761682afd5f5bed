"""Small geometry helpers shared by the layer builders (ordering, partitioning, areas; the
metric <-> WGS84 conversions are gis.crs.to_m / to_ll).  All vectorised; loops only over a handful of groups."""

from __future__ import annotations

import zlib

import numpy as np
import shapely

def km2(geom_m) -> np.ndarray:
    """Area in km² of geometries given in metres (EPSG:4549)."""
    return shapely.area(geom_m) / 1e6


def as_multipolygon(geom):
    """Polygon/MultiPolygon/GeometryCollection -> MultiPolygon of its polygonal parts."""
    if geom is None:
        return None
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]
    if not parts:
        parts = [q for p in shapely.get_parts(geom) if p.geom_type == "MultiPolygon"
                 for q in p.geoms]
    return shapely.MultiPolygon(parts)


def stable_seed(*keys) -> int:
    """Deterministic 32-bit seed from strings (never Python's salted hash())."""
    return zlib.crc32("|".join(map(str, keys)).encode("utf-8"))


def rng_for(*keys) -> np.random.Generator:
    """A NumPy generator seeded by ``stable_seed(*keys)``: same keys, same draws, every run."""
    return np.random.default_rng(stable_seed(*keys))


def reading_order(x, y, band: float) -> np.ndarray:
    """Indices sorting points west->east within north->south rows of height `band`
    (row 0 holds the northernmost points)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    row = np.floor((y.max() - y) / band).astype(int)
    return np.lexsort((np.arange(len(x)), x, row))


def split_by_key(key, weight, fractions) -> np.ndarray:
    """Label items 0..k-1 by cutting them, sorted by `key`, into runs whose weights
    follow `fractions` (midpoint rule). Every label gets at least one item."""
    key = np.asarray(key, float)
    weight = np.asarray(weight, float)
    n, k = len(key), len(fractions)
    if n < k:
        raise ValueError(f"cannot split {n} items into {k} groups")
    order = np.lexsort((np.arange(n), key))
    w = weight[order]
    mid = (np.cumsum(w) - w / 2) / w.sum()
    bounds = np.cumsum(fractions) / np.sum(fractions)
    lab_sorted = np.searchsorted(bounds[:-1], mid, side="right")
    # cut positions in the sorted order; keep every group non-empty
    cuts = [int(np.searchsorted(lab_sorted, m, side="left")) for m in range(1, k)]
    prev = 0
    for m in range(k - 1):
        cuts[m] = min(max(cuts[m], prev + 1), n - (k - 1 - m))
        prev = cuts[m]
    lab_sorted = np.searchsorted(np.asarray(cuts), np.arange(n), side="right")
    labels = np.empty(n, int)
    labels[order] = lab_sorted
    return labels


def bisect_partition(x, y, weight, n_parts: int) -> np.ndarray:
    """Recursive coordinate bisection of weighted points into `n_parts` compact groups
    (labels 0..n_parts-1). Splits the longer side of each group's extent, weights
    proportional to the number of parts on each side."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    weight = np.asarray(weight, float)
    labels = np.zeros(len(x), int)
    if n_parts > len(x):
        raise ValueError(f"cannot split {len(x)} items into {n_parts} parts")

    def rec(idx, parts, base):
        if parts == 1:
            labels[idx] = base
            return
        p1 = parts // 2
        p2 = parts - p1
        xs, ys = x[idx], y[idx]
        key = xs if (xs.max() - xs.min()) >= (ys.max() - ys.min()) else ys
        lab = split_by_key(key, weight[idx], [p1, p2])
        # each side needs at least as many items as parts
        order = np.lexsort((np.arange(len(idx)), key))
        n1 = int((lab == 0).sum())
        n1 = min(max(n1, p1), len(idx) - p2)
        left, right = idx[order[:n1]], idx[order[n1:]]
        rec(left, p1, base)
        rec(right, p2, base + p1)

    rec(np.arange(len(x)), n_parts, 0)
    return labels
