"""Patrol mileage: geodesic metres per track, times, stops and distance per grid.

Path: the cleaned fixes (see :mod:`patrol.clean`) become one LineString per continuous piece
(a track, or its parts between ``split`` gaps) in the track's local metric plane, simplified
with Douglas-Peucker at ``simplify_m`` (removes the residual few-metre wiggle that correlated
GPS error draws along a straight street, keeps corners). Distance = the sum of the geodesic
(WGS84 ellipsoid) lengths of the simplified segments. For the grid split each segment is cut
into k equal pieces of at most ``segment_m`` (20 m), each carrying 1/k of its geodesic length.

Per grid: each <= 20 m piece goes to the grid covering its midpoint by the location rule
(lowest covering code, gis.location.UnitIndex.assign). Because every piece lands in exactly
one bucket, ``per_grid_m`` sums to ``distance_m`` exactly (up to float rounding); distance
whose midpoint lies in no grid goes to the key ``"outside"``. A piece straddling a boundary
is misattributed by at most 10 m, which is below the GPS error anyway.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from gis.crs import GEOD
from patrol.clean import EARTH_R_M, Cleaned, CleanParams, clean

OUTSIDE = "outside"
SIMPLIFY_M = 4.0
SEGMENT_M = 20.0


def geodesic_steps_m(lon, lat, track):
    """Geodesic metres from each fix to the next one in the same track (0 at track ends)."""
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    d = np.zeros(len(lon))
    if len(lon) > 1:
        _, _, s = GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])
        d[:-1] = np.where(track[1:] == track[:-1], s, 0.0)
    return d


def raw_distance_m(fixes: pd.DataFrame) -> pd.Series:
    """Sum of geodesic steps over the raw fixes, per track (sorted by track, time)."""
    f = fixes.sort_values(["track_id", "t"], kind="stable")
    codes, ids = pd.factorize(f["track_id"], sort=True)
    d = geodesic_steps_m(f["lon"].to_numpy(), f["lat"].to_numpy(), codes)
    return pd.Series(np.bincount(codes, d, minlength=len(ids)), index=pd.Index(ids, name="track_id"))


def path_pieces(c: Cleaned, simplify_m: float = SIMPLIFY_M, segment_m: float = SEGMENT_M):
    """<= segment_m pieces of the cleaned path: (track index, lon0, lat0, lon1, lat1, metres)."""
    split = c.gap_before if c.params.gaps == "split" else np.zeros(len(c.t_s), bool)
    first = np.r_[True, c.track[1:] != c.track[:-1]] if len(c.t_s) else np.zeros(0, bool)
    piece = np.cumsum(first | split) - 1
    n_pieces = int(piece.max()) + 1 if len(piece) else 0
    size = np.bincount(piece, minlength=n_pieces)
    ok = size[piece] >= 2
    piece_track = np.zeros(n_pieces, np.int64)
    piece_track[piece] = c.track
    ok_pieces = np.flatnonzero(size >= 2)
    if not len(ok_pieces):
        return (np.zeros(0, np.int64),) + tuple(np.zeros(0) for _ in range(5))
    remap = np.full(n_pieces, -1)
    remap[ok_pieces] = np.arange(len(ok_pieces))
    lines = shapely.linestrings(np.column_stack([c.x[ok], c.y[ok]]), indices=remap[piece[ok]])
    if simplify_m > 0:
        lines = shapely.simplify(lines, simplify_m, preserve_topology=False)
    xy, li = shapely.get_coordinates(lines, return_index=True)
    tr = piece_track[ok_pieces][li]
    lon0, lat0 = c.origin
    kx = np.radians(1.0) * EARTH_R_M * np.cos(np.radians(lat0))
    ky = np.radians(1.0) * EARTH_R_M
    lon = lon0[tr] + xy[:, 0] / kx[tr]
    lat = lat0[tr] + xy[:, 1] / ky
    a = np.flatnonzero(li[1:] == li[:-1])
    b = a + 1
    _, _, dist = GEOD.inv(lon[a], lat[a], lon[b], lat[b])  # geodesic, once per vertex pair
    dist = np.asarray(dist, float)
    # cut each simplified segment into k equal <= segment_m pieces (lon/lat interpolation is
    # exact enough over 20 m); each piece carries dist / k, so the pieces sum to the total
    planar = np.hypot(xy[b, 0] - xy[a, 0], xy[b, 1] - xy[a, 1])
    k = np.maximum(1, np.ceil(planar / segment_m).astype(np.int64)) if segment_m > 0 \
        else np.ones(len(a), np.int64)
    rep = np.repeat(np.arange(len(a)), k)
    j = np.arange(len(rep)) - np.repeat(np.cumsum(k) - k, k)
    f0, f1 = j / k[rep], (j + 1) / k[rep]
    la, pa, lb, pb = lon[a][rep], lat[a][rep], lon[b][rep], lat[b][rep]
    return (tr[a][rep], la + f0 * (lb - la), pa + f0 * (pb - pa), la + f1 * (lb - la),
            pa + f1 * (pb - pa), dist[rep] / k[rep])


def per_grid_m(tr, lon_a, lat_a, lon_b, lat_b, dist, grid_index, n_tracks):
    """Metres per (track, grid) by the midpoint rule; returns a DataFrame (track, grid, m)."""
    if not len(dist):
        return pd.DataFrame({"track": [], "grid": [], "m": []})
    mid = shapely.points((lon_a + lon_b) / 2, (lat_a + lat_b) / 2)
    codes = grid_index.assign(mid)
    codes = np.where(pd.isna(codes), OUTSIDE, codes).astype(str)
    gc, gnames = pd.factorize(codes, sort=True)
    key = tr * len(gnames) + gc
    m = np.bincount(key, dist, minlength=n_tracks * len(gnames))
    hit = np.flatnonzero(m > 0)
    return pd.DataFrame({"track": hit // len(gnames), "grid": np.asarray(gnames)[hit % len(gnames)],
                         "m": m[hit]})


def mileage(fixes: pd.DataFrame, grid_index=None, params: CleanParams | None = None,
            simplify_m: float = SIMPLIFY_M, segment_m: float = SEGMENT_M, **kw) -> tuple[pd.DataFrame, Cleaned]:
    """Per-track summary (one row per track_id) and the cleaning result.

    Columns: distance_m, raw_distance_m, duration_s, moving_time_s, stop_time_s, points,
    dropped_points, dropped_by_reason (dict), gaps, gap_time_s, per_grid_m (dict, when a
    grid index is given), stops (list of dicts).
    """
    fixes = fixes.sort_values(["track_id", "t"], kind="stable")
    c = clean(fixes, params, presorted=True, **kw)
    nt = len(c.track_ids)
    tr, la, pa, lb, pb, dist = path_pieces(c, simplify_m, segment_m)
    distance = np.bincount(tr, dist, minlength=nt)

    codes = c.input_track
    t_all = fixes["t"].to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9
    points = np.bincount(codes, minlength=nt)
    t_first = np.full(nt, np.inf)
    t_last = np.full(nt, -np.inf)
    np.minimum.at(t_first, codes, t_all)
    np.maximum.at(t_last, codes, t_all)
    raw = np.bincount(codes, geodesic_steps_m(fixes["lon"].to_numpy(), fixes["lat"].to_numpy(), codes),
                      minlength=nt)

    # step i -> i+1 between kept fixes
    n = len(c.t_s)
    same = c.track[1:] == c.track[:-1] if n else np.zeros(0, bool)
    dt = np.diff(c.t_s) if n else np.zeros(0)
    in_stop_run = np.isin(c.run, c.stops["run"].to_numpy())
    stopped = same & (c.run[1:] >= 0) & (c.run[1:] == c.run[:-1]) & in_stop_run[1:]
    gap = same & c.gap_before[1:]
    moving = same & ~stopped & ~(gap & (c.params.gaps == "split"))
    moving_time = np.bincount(c.track[1:][moving], dt[moving], minlength=nt)
    gaps = np.bincount(c.track[1:][gap & ~stopped], minlength=nt)
    gap_time = np.bincount(c.track[1:][gap & ~stopped], dt[gap & ~stopped], minlength=nt)
    stop_time = c.stops.groupby("track_id")["duration_s"].sum().reindex(c.track_ids, fill_value=0.0)

    out = pd.DataFrame({
        "track_id": c.track_ids,
        "distance_m": distance,
        "raw_distance_m": raw,
        "duration_s": np.where(points > 0, t_last - t_first, 0.0),
        "moving_time_s": moving_time,
        "stop_time_s": stop_time.to_numpy(),
        "points": points,
        "dropped_points": c.dropped.sum(axis=1).to_numpy(),
        "dropped_by_reason": [dict(zip(c.dropped.columns, map(int, r))) for r in c.dropped.to_numpy()],
        "gaps": gaps,
        "gap_time_s": gap_time,
    })
    if grid_index is not None:
        pg = per_grid_m(tr, la, pa, lb, pb, dist, grid_index, nt)
        maps = [dict() for _ in range(nt)]
        for t_i, g, m in zip(pg["track"], pg["grid"], pg["m"]):
            maps[int(t_i)][str(g)] = float(m)
        out["per_grid_m"] = maps
    stops_by = {tid: [] for tid in c.track_ids}
    for s in c.stops.itertuples():
        stops_by[s.track_id].append({"lon": round(s.lon, 6), "lat": round(s.lat, 6),
                                     "start": s.start.isoformat(), "end": s.end.isoformat(),
                                     "duration_s": round(float(s.duration_s), 1)})
    out["stops"] = [stops_by[t] for t in c.track_ids]
    return out, c
