"""Simulated foot patrols with phone-GPS errors, for tests, benchmarks and demos.

Each outing starts at a post, walks a random walk on the road graph (no U-turns unless at a
dead end) inside the grids until 4-8 km are covered, stops 1-10 min at a few problem spots,
and is sampled every ``interval_s`` seconds. The truth (the walked polyline) is known.

Street shapes beyond the straight road pieces (each drawn per street piece, seeded):

* ``curved``: the piece is walked along a circular arc through its end points that bulges
  10-35 % of the chord to one side (a crescent street, a path round a park);
* ``zigzag``: the piece is crossed in zig-zags 15-50 m to either side of it, legs 30-80 m
  (criss-crossing a square or a market between stalls);
* ``doubling back``: the officer walks 20-80 % of a piece, turns round on the spot and walks
  back to the junction before going on (checking something, then returning).

Walking speed is 0.9-1.6 m/s per outing. Phone errors (metres, per axis): a Gauss-Markov /
AR(1) process with sigma ``sigma_m`` (3-10 m) and correlation time ``tau_s`` (30-180 s)
per outing (errors correlated from fix to fix), small white jitter, bursts of multipath jumps
of 50-300 m lasting 2-10 s, short dropouts while walking and one long (> 120 s) dropout
indoors at some stops. Everything is seeded. ``truth`` has, per outing, the walked length
(geodesic), the stop time, sigma, tau and how many pieces of each shape were walked.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.crs import GEOD, from_metric, to_metric
from gis.location import UnitIndex

CAMPAIGNS = {"spring": "2026-03-02", "summer": "2026-06-01", "autumn": "2026-09-01",
             "winter": "2026-12-01"}
CN_OFFSET = pd.Timedelta(hours=8)


@dataclass
class Simulation:
    """Simulated outings: the phones' fixes, the truth per outing (length, stops, shapes, the
    error's sigma and tau), the true paths and the true position of every fix."""

    fixes: pd.DataFrame  # track_id, device_id, t (UTC), lon, lat, accuracy_m
    truth: pd.DataFrame  # track_id, true_length_m, stop_time_s, n_stops, post_code, curved, zigzag,
    #                      doubled_back, sigma_m, tau_s
    paths: dict  # track_id -> true path LineString (lon/lat)
    true_xy: pd.DataFrame | None = None  # track_id, t_s, x, y: true EPSG:4549 position per fix;
    # s_m: metres walked by then (walking hidden between two fixes: its growth minus their distance)

    def write_gpx(self, directory) -> list[Path]:
        """One GPX file per outing in ``directory``; their paths."""
        return write_gpx(self.fixes, directory)


def _road_graph(layers):
    """Roads whose midpoint lies in a grid, as a graph on shared end points (metric)."""
    roads = layers["roads"]
    grids = UnitIndex.from_frame(layers["grids"])
    geoms = roads.geometry.to_numpy()
    mids = shapely.line_interpolate_point(geoms, 0.5, normalized=True)
    keep = np.array([c is not None for c in grids.assign(mids)])
    coords, idx = shapely.get_coordinates(geoms[keep], return_index=True)
    x, y = to_metric(coords[:, 0], coords[:, 1])
    xy = np.column_stack([x, y])
    lines = [xy[idx == i] for i in range(int(idx.max()) + 1)]
    node_of = {}
    edges = []  # (a, b, coords a->b)
    for pts in lines:
        if len(pts) < 2 or np.hypot(*(pts[-1] - pts[0])) < 1.0:
            continue
        a, b = (node_of.setdefault(tuple(np.round(p, 1)), len(node_of)) for p in (pts[0], pts[-1]))
        edges.append((a, b, pts))
    adj: dict[int, list[tuple[int, np.ndarray]]] = {}
    for a, b, pts in edges:
        adj.setdefault(a, []).append((b, pts))
        adj.setdefault(b, []).append((a, pts[::-1]))
    nodes = np.array(sorted(node_of, key=node_of.get))
    return adj, nodes


SHAPE_P = {"curved": 0.08, "zigzag": 0.06, "back": 0.06}  # chance per street piece walked


def _arc(a, b, rng):
    """A circular arc from a to b bulging 10-35 % of the chord to a random side (~5 m steps)."""
    c = float(np.hypot(*(b - a)))
    h = rng.uniform(0.10, 0.35) * c * rng.choice([-1.0, 1.0])
    r = (c * c / 4 + h * h) / (2 * abs(h))
    half = np.arcsin(min(1.0, c / (2 * r)))
    half = np.pi - half if abs(h) > r else half  # sagitta beyond the radius: the major arc
    u = (b - a) / c
    nrm = np.array([-u[1], u[0]]) * np.sign(h)
    centre = (a + b) / 2 - nrm * (r - abs(h))
    k = max(4, int(np.ceil(2 * half * r / 5.0)))
    ang = np.linspace(-half, half, k + 1)
    # angle measured from the direction centre -> arc midpoint (along nrm)
    pts = centre + r * (np.cos(ang)[:, None] * nrm + np.sin(ang)[:, None] * u)
    pts[0], pts[-1] = a, b
    return pts


def _zigzag(a, b, rng):
    """Zig-zags across a square from a to b: legs 30-80 m, 15-50 m to either side."""
    c = float(np.hypot(*(b - a)))
    u = (b - a) / c
    nrm = np.array([-u[1], u[0]])
    n = max(2, int(round(c / rng.uniform(30, 80))))
    along = np.linspace(0, c, n + 1)
    side = rng.uniform(15, 50, n + 1) * np.where(np.arange(n + 1) % 2, 1.0, -1.0)
    side[0] = side[-1] = 0.0
    return a + along[:, None] * u + side[:, None] * nrm


def _walk(adj, start, target_m, rng, shapes=None):
    """Random walk on the road graph; ``shapes`` (a dict) counts the special pieces."""
    node, prev, parts, length = start, None, [], 0.0
    shapes = {} if shapes is None else shapes
    while length < target_m:
        options = [(b, pts) for b, pts in adj[node] if b != prev] or adj[node]
        b, pts = options[rng.integers(len(options))]
        draw = rng.random()
        kind = None
        if draw < SHAPE_P["curved"]:
            kind, pts = "curved", _arc(pts[0], pts[-1], rng)
        elif draw < SHAPE_P["curved"] + SHAPE_P["zigzag"]:
            kind, pts = "zigzag", _zigzag(pts[0], pts[-1], rng)
        elif draw < sum(SHAPE_P.values()):
            # walk part of the piece, turn round, walk back; stay at this node
            kind = "back"
            cum = np.r_[0.0, np.cumsum(np.hypot(*np.diff(pts, axis=0).T))]
            d = rng.uniform(0.2, 0.8) * cum[-1]
            j = int(np.searchsorted(cum, d))
            turn = pts[j - 1] + (pts[j] - pts[j - 1]) * (d - cum[j - 1]) / (cum[j] - cum[j - 1])
            out = np.vstack([pts[:j], turn])
            pts = np.vstack([out, out[-2::-1]])
            b = node
        if kind:
            shapes[kind] = shapes.get(kind, 0) + 1
        parts.append(pts if not parts else pts[1:])
        length += float(np.sum(np.hypot(*np.diff(pts, axis=0).T)))
        prev, node = (None, b) if kind == "back" else (node, b)
    return np.vstack(parts)


def _ar1_scan(eta, rho, track):
    """e_i = rho_i * e_{i-1} + eta_i within each track, by a log-depth (Hillis-Steele) scan."""
    e = eta.copy()
    k = 1
    n = len(e)
    while k < n:
        same = track[k:] == track[:-k]
        e[k:] = e[k:] + np.where(same, rho[k:] ** k, 0.0)[:, None] * e[:-k]
        k *= 2
    return e


def simulate_patrols(layers, n_outings: int = 388, seed: int = 7, interval_s: float = 1,
                     campaign: str = "spring", sigma_m=(3.0, 10.0), tau_s=(30.0, 180.0),
                     speed_mps=(0.9, 1.6), starts: list | None = None, multipath_s=(2.0, 10.0),
                     multipath_m=(50.0, 300.0), multipath_flagged: float = 0.5,
                     skip: float = 0.0) -> Simulation:
    """``n_outings`` simulated outings of ``campaign``: four a day from the campaign's first
    day (CAMPAIGNS), or at ``starts`` (UTC timestamps, one per outing) when given, e.g. a
    demo's outings of the last few days. Phone error is Gauss-Markov with sigma drawn from
    ``sigma_m`` (metres) and correlation time from ``tau_s`` (seconds) per outing; walking
    speed from ``speed_mps``. Multipath bursts about one per 8 min, ``multipath_s`` long,
    ``multipath_m`` off in one direction, a ``multipath_flagged`` share of them with a bad
    reported accuracy (60-120 m). ``skip``: the share of fixes the phone skips, at random (a
    phone that samples unevenly: with ``interval_s=1`` and ``skip=0.75`` the fixes come 4 s
    apart on average, 1 to ~20 s); each outing's first and last fix are kept."""
    if starts is not None and len(starts) != n_outings:
        raise ValueError(f"starts has {len(starts)} times for {n_outings} outings")
    if not 0 <= skip < 1:
        raise ValueError(f"skip {skip!r}: want a share of fixes from 0 up to (not including) 1")
    rng = np.random.default_rng(seed)
    adj, nodes = _road_graph(layers)
    posts = layers["posts"]
    px, py = to_metric(posts.geometry.x.to_numpy(), posts.geometry.y.to_numpy())
    day0 = pd.Timestamp(CAMPAIGNS.get(campaign, "2026-03-02"))

    tracks, truth, paths = [], [], {}
    for k in range(n_outings):
        p = rng.integers(len(posts))
        start = int(np.argmin(np.hypot(nodes[:, 0] - px[p], nodes[:, 1] - py[p])))
        shapes: dict = {}
        path = _walk(adj, start, rng.uniform(4000, 8000), rng, shapes)
        seg = np.hypot(*np.diff(path, axis=0).T)
        cum = np.r_[0.0, np.cumsum(seg)]
        length_m = cum[-1]
        v = rng.uniform(*speed_mps)
        n_stops = int(rng.integers(2, 7))
        stop_d = np.sort(rng.uniform(0.05, 0.95, n_stops)) * length_m
        stop_s = rng.uniform(60, 600, n_stops)
        # knots of distance-over-time: walk, stand, walk, ...
        kt, kd, t = [0.0], [0.0], 0.0
        last = 0.0
        for d, s in zip(stop_d, stop_s):
            t += (d - last) / v
            kt += [t, t + s]
            kd += [d, d]
            t += s
            last = d
        t += (length_m - last) / v
        kt.append(t)
        kd.append(length_m)
        ts = np.arange(0.0, t + 1e-9, interval_s)
        s_at = np.interp(ts, kt, kd)
        x = np.interp(s_at, cum, path[:, 0])
        y = np.interp(s_at, cum, path[:, 1])

        keep = np.ones(len(ts), bool)
        # short dropouts while walking (10-60 s)
        for _ in range(int(rng.integers(0, 3))):
            a = rng.uniform(0, t)
            keep &= ~((ts >= a) & (ts < a + rng.uniform(10, 60)))
        # one long dropout indoors during some stops (stop longer than 3 min)
        long_stops = np.flatnonzero(stop_s > 180)
        if len(long_stops) and rng.random() < 0.5:
            j = long_stops[0]
            a = kt[1 + 2 * j] + 20
            keep &= ~((ts >= a) & (ts < a + stop_s[j] - 40))

        lon_true, lat_true = from_metric(path[:, 0], path[:, 1])
        true_geod = float(GEOD.line_length(lon_true, lat_true))
        start_utc = (day0 + pd.Timedelta(days=int(k // 4)) + pd.Timedelta(hours=8 + 2 * (k % 4))
                     + pd.Timedelta(minutes=int(rng.integers(0, 30))) - CN_OFFSET)
        if starts is not None:  # (the draw above still happens: the same seed walks the same paths)
            start_utc = pd.Timestamp(starts[k]).tz_convert("UTC").tz_localize(None)
        tid = f"{campaign}-{k + 1:04d}"
        tracks.append(pd.DataFrame({"track_id": tid, "device_id": f"phone-{int(p) % 40:02d}",
                                    "t_s": ts[keep], "x": x[keep], "y": y[keep], "s_m": s_at[keep],
                                    "start": start_utc, "moving": np.diff(s_at, prepend=-1)[keep] > 0}))
        paths[tid] = shapely.linestrings(lon_true, lat_true)
        truth.append(dict(track_id=tid, true_length_m=true_geod, stop_time_s=float(stop_s.sum()),
                          n_stops=n_stops, post_code=posts["code"].iloc[p],
                          curved=shapes.get("curved", 0), zigzag=shapes.get("zigzag", 0),
                          doubled_back=shapes.get("back", 0)))

    df = pd.concat(tracks, ignore_index=True)
    truth = pd.DataFrame(truth)
    n = len(df)
    track = pd.factorize(df["track_id"])[0]
    sigma = rng.uniform(*sigma_m, n_outings)[track]
    tau = rng.uniform(*tau_s, n_outings)[track]
    rho = np.exp(-interval_s / tau)
    eta = rng.standard_normal((n, 2)) * (sigma * np.sqrt(1 - rho ** 2))[:, None]
    first = np.r_[True, track[1:] != track[:-1]]
    eta[first] = rng.standard_normal((int(first.sum()), 2)) * sigma[first][:, None]
    err = _ar1_scan(eta, rho, track) + rng.standard_normal((n, 2)) * 1.0
    accuracy = sigma * 1.5 + rng.uniform(-1, 3, n)
    # multipath bursts: about one per 8 min, in one direction
    dur_total = df.groupby(track)["t_s"].max().to_numpy()
    for tr in range(n_outings):
        rows = np.flatnonzero(track == tr)
        for _ in range(rng.poisson(dur_total[tr] / 480)):
            a = rng.uniform(0, dur_total[tr])
            hit = rows[(df["t_s"].to_numpy()[rows] >= a) & (df["t_s"].to_numpy()[rows] < a + rng.uniform(*multipath_s))]
            ang, mag = rng.uniform(0, 2 * np.pi), rng.uniform(*multipath_m)
            err[hit] += [mag * np.cos(ang), mag * np.sin(ang)]
            if rng.random() < multipath_flagged:
                accuracy[hit] = rng.uniform(60, 120)
    lon, lat = from_metric(df["x"].to_numpy() + err[:, 0], df["y"].to_numpy() + err[:, 1])
    # drawn last: the same seed walks the same outings with the same errors
    kept = _kept(first, skip, rng) if skip > 0 else np.ones(n, bool)
    fixes = pd.DataFrame({
        "track_id": df["track_id"], "device_id": df["device_id"],
        "t": (df["start"] + pd.to_timedelta(df["t_s"], unit="s")).dt.tz_localize("UTC"),
        "lon": lon, "lat": lat, "accuracy_m": accuracy.round(1)})[kept].reset_index(drop=True)
    truth["sigma_m"] = sigma[first]
    truth["tau_s"] = tau[first]
    true_xy = df[["track_id", "t_s", "x", "y", "s_m"]]
    return Simulation(fixes, truth, paths, true_xy)


def write_gpx(fixes: pd.DataFrame, directory) -> list[Path]:
    """One GPX 1.1 file per track (``<track_id>.gpx``); accuracy goes to ``<hdop>``-free
    ``<extensions>``-free form: lon, lat, time only, as phones usually export."""
    import gpxpy.gpx

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for tid, g in fixes.groupby("track_id", sort=True):
        gpx = gpxpy.gpx.GPX()
        trk = gpxpy.gpx.GPXTrack(name=str(tid))
        seg = gpxpy.gpx.GPXTrackSegment()
        seg.points = [gpxpy.gpx.GPXTrackPoint(la, lo, time=t.to_pydatetime())
                      for lo, la, t in zip(g["lon"], g["lat"], g["t"])]
        trk.segments.append(seg)
        gpx.tracks.append(trk)
        path = directory / f"{tid}.gpx"
        path.write_text(gpx.to_xml(), encoding="utf-8")
        out.append(path)
    return out


def to_geodataframe(sim: Simulation) -> gpd.GeoDataFrame:
    """The true paths as a GeoDataFrame (for maps and checks)."""
    return gpd.GeoDataFrame(sim.truth, geometry=[sim.paths[t] for t in sim.truth["track_id"]],
                            crs="EPSG:4326")


def open_ground_walks(n_tracks: int, interval_s: float, seed: int, sigma_m=(3.0, 10.0),
                      tau_s=(30.0, 180.0), lon0: float = 119.50, lat0: float = 35.40,
                      plain: bool = False, multipath_s=(1.0, 5.0), multipath_m=(50.0, 200.0),
                      skip: float = 0.0, length_m=(3000.0, 6000.0)):
    """Walks across open ground, drawn without the street layer (a check that the mileage
    method is not tuned to :func:`simulate_patrols`): legs of 60-400 m turning 30-150 degrees
    either way, a third of them curved (radius 80-300 m), speed 0.9-1.6 m/s varying +-10 % per
    100 m, 1-4 stops of 1-6 min, one 10-40 s dropout, up to 3 multipath bursts (``multipath_s``
    1-5 s long, ``multipath_m`` 50-200 m off in one direction); phone
    error a Gauss-Markov process (sigma from ``sigma_m``, tau from ``tau_s`` per walk) plus 1 m
    white noise. No accuracy column (as GPX files come). Returns (fixes, truth: track_id,
    sigma_m, tau_s, true_length_m).

    ``plain``: straight legs only, no stops, dropout or multipath - the phone's error alone
    (for :func:`patrol.accuracy.oracle_floor`); truth then also holds each walk's corners
    (``corners``: an array of (lon, lat), start and end included), the seconds after its
    first fix at which it passes them (``corners_t_s``), the metres walked when it passes them
    (``corners_s_m``) and when each fix is taken (``fixes_s_m``).

    ``skip``: the share of fixes the phone skips, at random, as in :func:`simulate_patrols`
    (drawn apart: the same seed walks the same walks; not with ``plain``).

    ``length_m``: each walk's length is drawn from this range (legs are added until it is
    reached), 3-6 km by default: a shift's patrol. Shorter walks carry the same GPS error at
    each corner and stop over fewer metres."""
    if not 0 <= skip < 1 or (plain and skip):
        raise ValueError(f"skip {skip!r}: want a share of fixes from 0 up to (not including) 1"
                         + (", and none on plain walks" if plain else ""))
    if not 0 < length_m[0] <= length_m[1] < np.inf:
        raise ValueError(f"length_m {tuple(length_m)!r}: want 0 < LO <= HI metres")
    rng = np.random.default_rng(seed)
    ky = 111_195.0
    kx = ky * np.cos(np.radians(lat0))
    rows, truth = [], []
    for k in range(n_tracks):
        pts, head, length = [np.zeros(2)], rng.uniform(0, 2 * np.pi), 0.0
        target = rng.uniform(*length_m)
        while length < target:
            leg = rng.uniform(60, 400)
            if not plain and rng.random() < 1 / 3:  # a curve: short steps turning steadily
                r = rng.uniform(80, 300)
                steps = max(4, int(leg / 5))
                dth = leg / r / steps * rng.choice([-1, 1])
                for _ in range(steps):
                    head += dth
                    pts.append(pts[-1] + leg / steps * np.array([np.cos(head), np.sin(head)]))
            else:
                pts.append(pts[-1] + leg * np.array([np.cos(head), np.sin(head)]))
            length += leg
            head += np.radians(rng.uniform(30, 150)) * rng.choice([-1, 1])
        p = np.array(pts)
        cum = np.r_[0, np.cumsum(np.hypot(*np.diff(p, axis=0).T))]
        v = rng.uniform(0.9, 1.6) * rng.uniform(0.9, 1.1, int(cum[-1] // 100) + 2)
        s_grid = np.arange(int(cum[-1]) + 1, dtype=float)
        t_grid = np.r_[0, np.cumsum(1 / v[s_grid[:-1].astype(int) // 100])]
        stops_at = np.empty(0) if plain else np.sort(rng.uniform(0.1, 0.9, rng.integers(1, 5))) * cum[-1]
        stop_len = rng.uniform(60, 360, len(stops_at))
        # every stop passed before a point adds its time
        t_grid = t_grid + np.r_[0.0, np.cumsum(stop_len)][np.searchsorted(stops_at, s_grid, side="left")]
        ts = np.arange(0, t_grid[-1], interval_s)
        s_at = np.interp(ts, t_grid, s_grid)  # flat while stopped
        x, y = np.interp(s_at, cum, p[:, 0]), np.interp(s_at, cum, p[:, 1])
        n = len(ts)
        sigma, tau = rng.uniform(*sigma_m), rng.uniform(*tau_s)
        e = gauss_markov_error(n, interval_s, sigma, tau, rng)
        for _ in range(0 if plain else rng.integers(0, 4)):
            a = ts[rng.integers(0, n)]
            hit = (ts >= a) & (ts < a + rng.uniform(*multipath_s))
            ang = rng.uniform(0, 2 * np.pi)
            e[:, hit] += rng.uniform(*multipath_m) * np.array([[np.cos(ang)], [np.sin(ang)]])
        keep = np.ones(n, bool)
        if not plain:
            a = rng.uniform(0.1, 0.9) * t_grid[-1]
            keep = ~((ts >= a) & (ts < a + rng.uniform(10, 40)))
        rows.append(pd.DataFrame({
            "track_id": f"gm-{k:03d}", "device_id": "d",
            "t": pd.Timestamp("2026-03-02T01:00:00Z") + pd.to_timedelta(ts[keep], unit="s"),
            "lon": lon0 + (x + e[0])[keep] / kx, "lat": lat0 + (y + e[1])[keep] / ky}))
        truth.append({"track_id": f"gm-{k:03d}", "sigma_m": sigma, "tau_s": tau,
                      "true_length_m": GEOD.line_length(lon0 + p[:, 0] / kx, lat0 + p[:, 1] / ky)})
        if plain:
            truth[-1].update(corners=np.c_[lon0 + p[:, 0] / kx, lat0 + p[:, 1] / ky],
                             corners_t_s=np.interp(cum, s_grid, t_grid), corners_s_m=cum,
                             fixes_s_m=s_at)
    fixes = pd.concat(rows, ignore_index=True)
    if skip > 0:
        walk = fixes["track_id"].to_numpy()
        kept = _kept(np.r_[True, walk[1:] != walk[:-1]], skip, np.random.default_rng([seed, 1]))
        fixes = fixes[kept].reset_index(drop=True)
    return fixes, pd.DataFrame(truth)


def _kept(first, skip: float, rng) -> np.ndarray:
    """Mask of the fixes a phone that skips a ``skip`` share at random keeps (``first``: each
    track's first fix; its first and last are always kept)."""
    return (rng.random(len(first)) >= skip) | first | np.r_[first[1:], True]


def gauss_markov_error(n: int, interval_s: float, sigma_m: float, tau_s: float, rng,
                       white_m: float = 1.0, count: int = 1) -> np.ndarray:
    """Phone error, metres, shape (2 * count, n) (x and y of each of ``count`` walks): per axis
    a Gauss-Markov (AR(1)) process with sigma ``sigma_m`` and correlation time ``tau_s``
    sampled every ``interval_s``, plus white noise."""
    from scipy.signal import lfilter

    rho = np.exp(-interval_s / tau_s)
    e = lfilter([np.sqrt(1 - rho ** 2) * sigma_m], [1, -rho], rng.standard_normal((2 * count, n)), axis=1)
    return e + white_m * rng.standard_normal((2 * count, n))
