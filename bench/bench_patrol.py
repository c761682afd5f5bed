"""Patrol mileage on 1,000,000 fixes in 400 tracks: citygrid's cleaning + mileage vs peers.

Fixes: the simulator (400 outings, 1 s fixes, seed 7), each track cut to its first 2,500
fixes. Peers, same fixes:

* MovingPandas: ``TrajectoryCollection`` -> ``OutlierCleaner(v_max=3 m/s)`` -> ``get_length``
  per trajectory. Its cleaner walks rows with ``iterrows``, so it runs on a 40-track
  (~100,000-fix) subset and its time is scaled by the fix count (said in the output).
* A bare ``pyproj.Geod.inv`` pass over consecutive fixes (+ bincount per track): no cleaning
  at all, the floor any geodesic mileage pays.

Ours: ``patrol.mileage.mileage`` with grids (reading excluded, like the peers); also with the
street junctions the CLI passes (corners snap to them).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from gis.crs import GEOD
from gis.layers.build import build_all
from gis.location import UnitIndex
from patrol.mileage import mileage
from patrol.streets import street_layer
from patrol.simulate import simulate_patrols

from bench.timing import best_of, best_of_each  # noqa: E402

N_TRACKS = 400
PER_TRACK = 2_500
SUBSET_TRACKS = 40




def bare_geod(lon, lat, codes) -> np.ndarray:
    """One Geod.inv over consecutive fixes, summed per track (track codes given)."""
    _, _, d = GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
    d = np.where(codes[1:] == codes[:-1], d, 0.0)
    return np.bincount(codes[1:], d, minlength=codes.max() + 1)


def movingpandas_run(fixes: pd.DataFrame) -> np.ndarray:
    import geopandas as gpd
    import movingpandas as mpd

    gdf = gpd.GeoDataFrame(fixes[["track_id", "t"]].assign(t=fixes["t"].dt.tz_localize(None)),
                           geometry=gpd.points_from_xy(fixes["lon"], fixes["lat"]), crs=4326)
    tc = mpd.TrajectoryCollection(gdf, traj_id_col="track_id", t="t")
    cleaned = mpd.OutlierCleaner(tc).clean(v_max=3, units=("m", "s"))
    return np.array([tr.get_length() for tr in cleaned.trajectories])


def main() -> None:
    layers = build_all()
    grid_index = UnitIndex.from_frame(layers["grids"])
    sim = simulate_patrols(layers, n_outings=N_TRACKS, seed=7, interval_s=1)
    fixes = sim.fixes.groupby("track_id", sort=True).head(PER_TRACK).reset_index(drop=True)
    n = len(fixes)
    print(f"fixes: {n:,} in {fixes['track_id'].nunique()} tracks (1 s, first {PER_TRACK:,} per track)")

    street = street_layer(layers["roads"])
    codes = pd.factorize(fixes["track_id"], sort=True)[0]
    lon, lat = fixes["lon"].to_numpy(), fixes["lat"].to_numpy()
    # in turns, best of 5: on a shared 2-core machine a spell of runs now and then takes
    # 20-30 % longer, which timed one after the other moved the ratio by as much
    (t_ours, (table, _)), (t_streets, _), (t_geod, raw) = best_of_each([
        lambda: mileage(fixes, grid_index), lambda: mileage(fixes, grid_index, streets=street),
        lambda: bare_geod(lon, lat, codes)])
    sub_ids = sorted(fixes["track_id"].unique())[:SUBSET_TRACKS]
    sub = fixes[fixes["track_id"].isin(sub_ids)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_mpd_sub, mpd_len = best_of(lambda: movingpandas_run(sub), repeat=1)
    t_mpd = t_mpd_sub * n / len(sub)

    print(f"citygrid clean + mileage + per grid: {t_ours:.3f} s  ({n / t_ours:,.0f} fixes/s)")
    print(f"  the same, with the street layer (the CLI): {t_streets:.3f} s")
    print(f"bare pyproj Geod.inv pass + bincount: {t_geod:.3f} s  ({n / t_geod:,.0f} fixes/s)")
    print(f"MovingPandas OutlierCleaner + get_length: {t_mpd_sub:.2f} s on {len(sub):,} fixes "
          f"({len(sub_ids)} tracks) -> scaled to {n:,}: {t_mpd:.1f} s")
    print(f"ratio MovingPandas / ours: {t_mpd / t_ours:.0f}x (target >= 50x)")
    print(f"ratio ours / bare Geod:    {t_ours / t_geod:.1f}x (target <= 5x); "
          f"with the street layer {t_streets / t_geod:.1f}x")
    ours_sub = table.set_index("track_id").loc[sub_ids, "distance_m"].to_numpy()
    print(f"subset km: ours {ours_sub.sum() / 1000:.1f}, MovingPandas {mpd_len.sum() / 1000:.1f}, "
          f"raw {raw[:SUBSET_TRACKS].sum() / 1000:.1f}")


if __name__ == "__main__":
    main()
