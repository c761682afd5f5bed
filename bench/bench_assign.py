"""Assigning 1,000,000 points to the 76 grids: citygrid's rule vs geopandas.sjoin.

Peer: ``geopandas.sjoin(points, grids, predicate="intersects")`` reduced to the lowest grid
code per point (the same rule). Same points, same answer checked for every point.
"""
from __future__ import annotations


import geopandas as gpd
import numpy as np
import shapely

from gis.layers.build import build_all
from gis.location import UnitIndex

from bench.timing import best_of  # noqa: E402

N = 1_000_000




def main() -> None:
    grids = build_all()["grids"]
    rng = np.random.default_rng(42)
    minx, miny, maxx, maxy = grids.total_bounds
    lon, lat = rng.uniform(minx, maxx, N), rng.uniform(miny, maxy, N)
    points = shapely.points(lon, lat)

    def ours():
        return UnitIndex.from_frame(grids).assign(points)

    def peer():
        pts = gpd.GeoDataFrame(geometry=gpd.GeoSeries(points, crs=4326))
        joined = gpd.sjoin(pts, grids[["code", "geometry"]], predicate="intersects", how="left")
        return joined.groupby(level=0)["code"].min().reindex(range(N)).to_numpy(dtype=object)

    t_ours, a = best_of(ours)
    t_peer, b = best_of(peer)
    b = np.where(gpd.pd.isna(b), None, b)
    same = int(np.sum(a == b))  # object arrays: None == None counts as the same answer
    print(f"points: {N:,}  grids: {len(grids)}  in a grid: {np.mean(a != None):.1%}")  # noqa: E711
    print(f"citygrid UnitIndex.assign: {t_ours:.3f} s  ({N / t_ours:,.0f} points/s)")
    print(f"geopandas.sjoin + min:     {t_peer:.3f} s  ({N / t_peer:,.0f} points/s)")
    print(f"ratio (peer / ours): {t_peer / t_ours:.2f}x   same answer: {same:,}/{N:,}")


if __name__ == "__main__":
    main()
