"""The location rules agree in SQL and in process, edge points included."""
from __future__ import annotations

import numpy as np
import shapely

from gis.location import locate_many_sql, locate_sql


def edge_points(grids, n: int, rng) -> tuple[np.ndarray, np.ndarray, list[set]]:
    """Points on edges shared by two grids: shared vertices first, then points along the edges.
    Returns lon, lat and, for each point, the set of grid codes whose boundary it lies on."""
    geoms = grids.geometry.values
    codes = grids["code"].to_numpy()
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="touches")
    keep = a < b
    shared = shapely.intersection(shapely.boundary(geoms[a[keep]]), shapely.boundary(geoms[b[keep]]))
    pairs = list(zip(codes[a[keep]], codes[b[keep]]))
    pts, owners = [], []
    for geom, pair in zip(shared, pairs):
        coords = shapely.get_coordinates(geom)
        for x, y in coords:
            pts.append((x, y))
            owners.append(set(pair))
    pts = np.array(pts)
    idx = rng.choice(len(pts), size=min(n // 2, len(pts)), replace=False)
    vx, vy = pts[idx, 0], pts[idx, 1]
    vo = [owners[i] for i in idx]
    # Points interpolated along shared edges (not exactly representable: both sides must still agree).
    lines = shapely.get_parts(shared)
    lines = lines[shapely.get_type_id(lines) == 1]
    pick = rng.integers(0, len(lines), n - len(vx))
    along = shapely.line_interpolate_point(lines[pick], rng.random(len(pick)), normalized=True)
    return (np.concatenate([vx, shapely.get_x(along)]), np.concatenate([vy, shapely.get_y(along)]), vo)


def test_sql_and_in_process_agree_on_100k_points(layers, locator, engine):
    rng = np.random.default_rng(20261126)
    grids = layers["grids"]
    minx, miny, maxx, maxy = grids.total_bounds
    n_edge = 1_000
    ex, ey, vertex_owners = edge_points(grids, n_edge, rng)
    rx = rng.uniform(minx - 0.05, maxx + 0.05, 100_000 - n_edge)
    ry = rng.uniform(miny - 0.05, maxy + 0.05, 100_000 - n_edge)
    lon, lat = np.concatenate([ex, rx]), np.concatenate([ey, ry])

    inproc = locator.assign(lon, lat)
    with engine.connect() as conn:
        insql = locate_many_sql(conn, lon, lat)
    cols = ["grid_code", "community_code", "subdistrict_code", "county_code", "in_service_area"]
    a = inproc[cols].astype(object).fillna("-").astype(str)
    b = insql[cols].astype(object).fillna("-").astype(str)
    mismatch = (a != b).any(axis=1)
    assert int(mismatch.sum()) == 0, a[mismatch].head().to_string() + "\n" + b[mismatch].head().to_string()

    # Every edge point lies in exactly one grid, and a shared vertex goes to the lower code.
    assert inproc["grid_code"].iloc[:n_edge].notna().all()
    # Brute force: every grid covering each vertex (a corner may touch three or four grids).
    nv = len(vertex_owners)
    polys = np.asarray(grids.geometry.values, dtype=object)
    covers = shapely.covers(polys[None, :], shapely.points(ex[:nv], ey[:nv])[:, None])
    codes = grids["code"].to_numpy()
    expected = [min(codes[row]) for row in covers]
    assert all(len(o) >= 2 and o <= set(codes[row]) for o, row in zip(vertex_owners, covers))
    assert list(inproc["grid_code"].iloc[:nv]) == expected
    # The random points are a real mix: some in grids, some outside every grid.
    in_grid = inproc["grid_code"].iloc[n_edge:].notna().mean()
    assert 0.05 < in_grid < 0.95


def test_single_point_rule_matches(layers, engine):
    grid = layers["grids"].iloc[5]
    p = grid.geometry.representative_point()
    with engine.connect() as conn:
        got = locate_sql(conn, p.x, p.y)
    assert got["grid_code"] == grid["code"]
    assert got["subdistrict_code"] == grid["subdistrict_code"]
    assert got["county_code"] == grid["county_code"]
    assert got["in_service_area"] is True or got["in_service_area"] == np.True_
    with engine.connect() as conn:
        far = locate_sql(conn, 121.47, 31.23)  # Shanghai
    assert far["grid_code"] is None and not far["in_service_area"]
