"""Per-track mileage error on simulated patrols: median and worst |error| per track.

A campaign total hides per-track errors of both signs that cancel; an officer's own mileage
is what a commander checks. So the error is reported per track (measured distance / walked
distance - 1), summarised as the median, 95th percentile and worst |error|, overall and per
regime (GPS error sigma, correlation time tau, street shapes walked).

    .venv/bin/python -m patrol.accuracy [--outings 200] [--seed 7] [--streets] [--open-ground]
                                        [--sigma 3 10] [--tau 30 180] [--length-m 3000 6000]
                                        [--corners] [--floor]
"""
from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from patrol.arrays import epoch_s

SIGMA_BANDS = [3, 5, 8, 10.01]
TAU_BANDS = [30, 60, 120, 180.01]


def per_track_error(table: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """One row per track: the truth columns plus ``distance_m`` (and ``distance_sd_m`` when the
    table has it) and the signed ``error``."""
    cols = [c for c in ("track_id", "distance_m", "distance_sd_m") if c in table]
    m = truth.merge(table[cols], on="track_id", how="left")
    m["error"] = m["distance_m"] / m["true_length_m"] - 1
    return m


def summarize(err: pd.DataFrame) -> dict:
    """Per-track error figures of ``err`` (one row per track): count, median, p95 and worst
    |error|, the mean signed error and its spread (``sd``: what no bias correction removes),
    and, where ``err`` has the distances, the error of the total (where signs cancel); where it
    has ``distance_sd_m``, how well that spread holds: the share of tracks within 2 sd of the
    length walked (``within_2sd``, ~95 % if it is right) and the sd of the metres off in units
    of it (``z_sd``, ~1)."""
    a = err["error"].abs()
    out = {"tracks": len(err), "median_abs": float(a.median()), "p95_abs": float(a.quantile(0.95)),
           "worst_abs": float(a.max()), "mean": float(err["error"].mean()),
           "sd": float(err["error"].std(ddof=0))}
    if "distance_m" in err:
        out["total"] = float(err["distance_m"].sum() / err["true_length_m"].sum() - 1)
    if "distance_sd_m" in err:
        ok = err["distance_sd_m"] > 0
        z = (err["distance_m"] - err["true_length_m"])[ok] / err["distance_sd_m"][ok]
        out["within_2sd"] = float((z.abs() <= 2).mean())
        out["z_sd"] = float(z.std(ddof=0))
    return out


def by_regime(err: pd.DataFrame) -> pd.DataFrame:
    """Summaries overall, per sigma band, per tau band and per street shape walked."""
    groups = {"all": np.ones(len(err), bool)}
    for lo, hi in zip(SIGMA_BANDS[:-1], SIGMA_BANDS[1:]):
        groups[f"sigma {lo:g}-{int(hi)} m"] = ((err["sigma_m"] >= lo) & (err["sigma_m"] < hi)).to_numpy()
    for lo, hi in zip(TAU_BANDS[:-1], TAU_BANDS[1:]):
        groups[f"tau {lo:g}-{int(hi)} s"] = ((err["tau_s"] >= lo) & (err["tau_s"] < hi)).to_numpy()
    for col in ("curved", "zigzag", "doubled_back"):
        if col in err:
            groups[f"with {col}"] = (err[col] > 0).to_numpy()
    rows = {k: summarize(err[g]) for k, g in groups.items() if g.any()}
    return pd.DataFrame(rows).T


def evaluate(layers, n_outings: int = 200, seed: int = 7, intervals=(1, 5), grid_index=None,
             streets=None, **sim_kw) -> dict:
    """{interval_s: per-track error frame} for simulated campaigns measured by patrol.mileage
    (with ``streets``, a prepared street layer, as the CLI measures); the frame also holds
    :func:`walking_hidden_in_stops_m` per track."""
    from patrol.mileage import mileage
    from patrol.simulate import simulate_patrols

    out = {}
    for iv in intervals:
        sim = simulate_patrols(layers, n_outings=n_outings, seed=seed, interval_s=iv, **sim_kw)
        table, _ = mileage(sim.fixes, grid_index, streets=streets)
        err = per_track_error(table, sim.truth)
        err["hidden_in_stops_m"] = walking_hidden_in_stops_m(sim).reindex(err["track_id"]).to_numpy()
        out[iv] = err
    return out


def _true_at(sim, track_ids, t_s, t_first_s):
    """True (metres walked, x, y) of a :func:`patrol.simulate.simulate_patrols` outing at
    seconds ``t_s`` (epoch) of fixes of ``track_ids``; ``t_first_s``: each track's first fix."""
    tr = pd.factorize(sim.true_xy["track_id"], sort=True)[0]
    codes = pd.Index(np.sort(sim.true_xy["track_id"].unique())).get_indexer(track_ids)
    ts = sim.true_xy["t_s"].to_numpy()
    ts0 = np.full(tr.max() + 1, np.inf)
    np.minimum.at(ts0, tr, ts)  # the outing's time at its first fix
    q = codes * 1e6 + (t_s - t_first_s + ts0[codes])  # (track, outing seconds)
    key = tr * 1e6 + ts
    return tuple(np.interp(q, key, sim.true_xy[k].to_numpy()) for k in ("s_m", "x", "y"))


def _first_fix_s(sim) -> pd.Series:
    """Per track, its first fix (epoch seconds)."""
    t = sim.fixes.groupby("track_id")["t"].min()
    return pd.Series(epoch_s(t), index=t.index)


def walking_hidden_in_stops_m(sim, **clean_kw) -> pd.Series:
    """Per track of a :func:`patrol.simulate.simulate_patrols` campaign, the metres walked
    that the stop tests hid: between consecutive kept fixes of one stationary run, the true
    metres walked (``sim.true_xy.s_m``) minus the straight line between their true places.
    A stop that swallows pacing out and back shows here; standing adds nothing."""
    from patrol.clean import clean

    c = clean(sim.fixes, **clean_kw)
    ids = c.track_ids[c.track]
    s, x, y = _true_at(sim, ids, c.t_s, _first_fix_s(sim)[ids].to_numpy())
    same = (c.track[1:] == c.track[:-1]) & (c.run[1:] >= 0) & (c.run[1:] == c.run[:-1])
    hidden = np.diff(s) - np.hypot(np.diff(x), np.diff(y))
    return pd.Series(np.bincount(c.track[1:][same], hidden[same], minlength=len(c.track_ids)),
                     index=pd.Index(c.track_ids, name="track_id"))


def walked_in_stops_m(sim, stops: pd.DataFrame) -> np.ndarray:
    """Per stop reported on a :func:`patrol.simulate.simulate_patrols` campaign (the
    ``stops`` of :func:`patrol.clean.clean`), the true metres walked from its start to its
    end (a real stop's edges add a few metres; a walk taken for a stop, its length)."""
    ids = stops["track_id"].to_numpy()
    t0 = _first_fix_s(sim)[ids].to_numpy()
    return (_true_at(sim, ids, epoch_s(stops["end"]), t0)[0]
            - _true_at(sim, ids, epoch_s(stops["start"]), t0)[0])


def evaluate_open_ground(n_walks: int = 200, seed: int = 42, intervals=(1, 5), streets=None,
                         **walk_kw) -> dict:
    """{interval_s: per-track error frame} for walks across open ground
    (:func:`patrol.simulate.open_ground_walks`, drawn without the street layer)."""
    from patrol.mileage import mileage
    from patrol.simulate import open_ground_walks

    out = {}
    for iv in intervals:
        fixes, truth = open_ground_walks(n_walks, iv, seed, **walk_kw)
        table, _ = mileage(fixes, streets=streets)
        out[iv] = per_track_error(table, truth)
    return out


def staircase_spread(sigma_m: float, tau_s: float, n_walks: int = 100, interval_s: float = 1.0,
                     seed: int = 1, corners: int = 7, leg_m: float = 200.0,
                     speed_mps: float = 1.3) -> dict:
    """The corner floor: a staircase (``corners`` right-angle corners between ``leg_m`` legs)
    walked ``n_walks`` times under Gauss-Markov GPS error (sigma, tau), each measured by
    :func:`patrol.mileage.mileage`. Returns the mean and spread (sd) of the per-walk length
    error, and the spread per corner in metres (sd x length / sqrt(corners)): what the GPS
    offset at each corner puts into a walk's length, which no fitting of the legs removes."""
    from patrol.mileage import mileage
    from patrol.simulate import gauss_markov_error

    rng = np.random.default_rng(seed)
    steps = np.where(np.arange(corners + 1) % 2 == 0, 0, 1)  # east, north, east, ...
    pts = np.vstack([[0.0, 0.0], np.cumsum(leg_m * np.eye(2)[steps], axis=0)])
    length = leg_m * (corners + 1)
    t = np.r_[np.arange(0.0, length / speed_mps, interval_s), length / speed_mps]
    s_at = t * speed_mps
    cum = np.r_[0.0, np.cumsum(np.full(corners + 1, leg_m))]
    x, y = np.interp(s_at, cum, pts[:, 0]), np.interp(s_at, cum, pts[:, 1])
    e = gauss_markov_error(len(t), interval_s, sigma_m, tau_s, rng, count=n_walks)
    ky = 111_195.0
    kx = ky * np.cos(np.radians(35.40))
    fixes = pd.DataFrame({
        "track_id": np.repeat([f"s{k:03d}" for k in range(n_walks)], len(t)),
        "t": np.tile(pd.Timestamp("2026-03-02T01:00:00Z") + pd.to_timedelta(t, unit="s"), n_walks),
        "lon": 119.50 + (x[None, :] + e[0::2]).ravel() / kx,
        "lat": 35.40 + (y[None, :] + e[1::2]).ravel() / ky})
    table, _ = mileage(fixes)
    err = table["distance_m"].to_numpy() / length - 1
    return {"walks": n_walks, "mean": float(err.mean()), "sd": float(err.std()),
            "per_corner_m": float(err.std() * length / np.sqrt(corners))}


def oracle_floor(n_walks: int = 300, seed: int = 42, intervals=(1, 5), **walk_kw) -> dict:
    """What the fixes themselves allow: plain walks across open ground (straight legs, the
    phone's Gauss-Markov error alone: ``open_ground_walks(plain=True)``) measured four ways,
    {interval_s: frame with track_id, sigma_m, tau_s and the per-walk error of each}:

    - ``ours``: :func:`patrol.mileage.mileage`, from the fixes alone;
    - ``known_shape``: an oracle told the walk's shape - each leg's direction and which fixes
      belong to it (the true times of the corners) - but not where it lies: each leg's line
      runs through the mean of its fixes, corners where consecutive lines meet, the ends where
      the first and last fix project onto their legs. It knows more than any method that has
      to find the shape in the fixes; what is left is each leg's GPS offset, which the error's
      correlation time keeps from averaging out over the leg;
    - ``steady_pace``: an oracle also told that each leg is walked at a steady pace (true but
      for the walker's +-10 % per 100 m) and the error's sigma and correlation time: the
      corners are the generalised least squares fit of every fix to its leg at the position
      its time gives;
    - ``known_timing``: an oracle told, instead of the pace, how far along the walk each fix
      was taken, so each fix's true place is a known mix of two corners: the same fit is then
      the best unbiased linear estimate of the corners from these fixes (Gauss-Markov). Its
      spread per walk is the floor for any method that sees only the fixes; its worst over
      many walks is what such a method can hope for.

    Errors are measured against the true corners in the same metric plane (EPSG:4549)."""
    from gis.crs import to_metric
    from patrol.mileage import mileage
    from patrol.simulate import open_ground_walks

    out = {}
    for iv in intervals:
        fixes, truth = open_ground_walks(n_walks, iv, seed, plain=True, **walk_kw)
        table, _ = mileage(fixes)
        err = per_track_error(table, truth)[["track_id", "sigma_m", "tau_s", "error"]]
        err = err.rename(columns={"error": "ours"})
        walk = pd.factorize(fixes["track_id"])[0]  # fixes come in truth's order
        t = epoch_s(fixes["t"])
        t_s = t - t[np.r_[0, np.flatnonzero(np.diff(walk)) + 1]][walk]
        xy = np.c_[to_metric(fixes["lon"].to_numpy(), fixes["lat"].to_numpy())]
        cxy = [np.c_[to_metric(c[:, 0], c[:, 1])] for c in truth["corners"]]
        true_m = np.array([np.hypot(*np.diff(c, axis=0).T).sum() for c in cxy])
        err["known_shape"] = _known_shape_m(xy, walk, t_s, truth["corners_t_s"], cxy) / true_m - 1
        for name, at, marks in (("steady_pace", t_s, "corners_t_s"),
                                ("known_timing", np.concatenate(truth["fixes_s_m"].to_list()), "corners_s_m")):
            err[name] = np.array([  # one small solve per walk
                _oracle_length_m(xy[walk == w], at[walk == w], truth[marks].iloc[w], iv,
                                 truth["sigma_m"].iloc[w], truth["tau_s"].iloc[w])
                for w in range(len(truth))]) / true_m - 1
        out[iv] = err
    return out


def _leg_of(walk, t_s, corners_t_s) -> np.ndarray:
    """Global leg number of each fix (legs numbered across walks), from the corners' times."""
    first_leg = np.r_[0, np.cumsum([len(c) - 1 for c in corners_t_s])]
    key = np.concatenate([w * 1e7 + c[:-1] for w, c in enumerate(corners_t_s)])
    return np.clip(np.searchsorted(key, walk * 1e7 + t_s, side="right") - 1,
                   first_leg[walk], first_leg[walk + 1] - 1)


def _known_shape_m(xy, walk, t_s, corners_t_s, corners_xy) -> np.ndarray:
    """Length per walk of the known-shape oracle (see :func:`oracle_floor`)."""
    leg = _leg_of(walk, t_s, corners_t_s)
    n = np.bincount(leg)  # every leg has fixes: >= 60 m walked at <= 1.8 m/s, fixes <= 5 s apart
    c = np.c_[np.bincount(leg, xy[:, 0]), np.bincount(leg, xy[:, 1])] / n[:, None]
    u = np.concatenate([np.diff(k, axis=0) for k in corners_xy])
    u /= np.hypot(*u.T)[:, None]
    leg_walk = np.repeat(np.arange(len(corners_xy)), [len(k) - 1 for k in corners_xy])
    # corners: consecutive lines of one walk meet where c1 + a u1 = c2 + b u2
    j = np.flatnonzero(leg_walk[1:] == leg_walk[:-1])
    dc, u1, u2 = c[j + 1] - c[j], u[j], u[j + 1]
    a = (dc[:, 0] * u2[:, 1] - dc[:, 1] * u2[:, 0]) / (u1[:, 0] * u2[:, 1] - u1[:, 1] * u2[:, 0])
    corner = c[j] + a[:, None] * u1
    first = np.r_[0, np.flatnonzero(np.diff(walk)) + 1]
    last = np.r_[first[1:] - 1, len(walk) - 1]
    ends = [c[leg[i]] + np.sum((xy[i] - c[leg[i]]) * u[leg[i]], axis=1)[:, None] * u[leg[i]]
            for i in (first, last)]
    pts = np.r_[ends[0], corner, ends[1]]
    order = np.r_[leg[first] - 0.25, j + 0.5, leg[last] + 0.25]  # along the walk
    w = np.r_[walk[first], leg_walk[j], walk[last]]
    o = np.argsort(order, kind="stable")
    pts, w = pts[o], w[o]
    same = w[1:] == w[:-1]
    return np.bincount(w[1:][same], np.hypot(*np.diff(pts, axis=0)[same].T), minlength=w.max() + 1)


def _oracle_length_m(xy, at, corners_at, interval_s, sigma_m, tau_s, white_m=1.0) -> float:
    """Length of one walk by an oracle that knows where each fix lies between two corners:
    fix k at ``at[k]`` (seconds or metres, like ``corners_at``) is its leg's start plus the
    leg times its share of the leg. The corners are the generalised least squares fit under
    the simulator's error (Gauss-Markov sigma ``sigma_m``, ``tau_s`` plus white noise): the
    inverse of that covariance is (w^2 I + K)^-1 = I/w^2 - (K^-1 + I/w^2)^-1 / w^4 with K^-1
    tridiagonal, so one banded solve whitens every column."""
    from scipy.linalg import solve_banded

    n, m = len(at), len(corners_at)
    leg = np.clip(np.searchsorted(corners_at, at, side="right") - 1, 0, m - 2)
    f = (at - corners_at[leg]) / np.diff(corners_at)[leg]
    a = np.zeros((n, m))
    a[np.arange(n), leg] = 1 - f
    a[np.arange(n), leg + 1] += f
    rho = np.exp(-interval_s / tau_s)
    q = 1 / (sigma_m ** 2 * (1 - rho ** 2))  # the AR(1) precision, scaled
    band = np.zeros((3, n))
    band[0, 1:] = band[2, :-1] = -rho * q
    band[1] = np.r_[q, np.full(n - 2, (1 + rho ** 2) * q), q] + 1 / white_m ** 2
    rhs = np.c_[a, xy]
    w = rhs / white_m ** 2 - solve_banded((1, 1), band, rhs) / white_m ** 4
    corners = np.linalg.solve(a.T @ w[:, :m], a.T @ w[:, m:])
    return float(np.hypot(*np.diff(corners, axis=0).T).sum())


def main(argv=None) -> None:
    """``python -m patrol.accuracy``: simulate outings, measure each, print the figures by regime."""
    from gis.layers.build import build_all
    from patrol.streets import street_layer

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--outings", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--streets", action="store_true", help="use the street layer, as the CLI does")
    ap.add_argument("--open-ground", action="store_true",
                    help="walks across open ground, drawn without the street layer (patrol.simulate."
                         "open_ground_walks), instead of the street simulator")
    ap.add_argument("--sigma", type=float, nargs=2, default=(3.0, 10.0), metavar=("LO", "HI"),
                    help="GPS error sigma range, metres")
    ap.add_argument("--tau", type=float, nargs=2, default=(30.0, 180.0), metavar=("LO", "HI"),
                    help="GPS error correlation time range, seconds")
    ap.add_argument("--multipath-s", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                    help="multipath bursts this long, seconds (default 2-10 s on the street "
                         "simulator, 1-5 s on open ground)")
    ap.add_argument("--multipath-m", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                    help="multipath bursts this far off, metres (default 50-300 m / 50-200 m)")
    ap.add_argument("--multipath-flagged", type=float, default=None, metavar="SHARE",
                    help="street simulator: the share of bursts with a bad reported accuracy (default 0.5)")
    ap.add_argument("--skip", type=float, default=None, metavar="SHARE",
                    help="the share of fixes the phone skips at random (uneven sampling: 0.75 at "
                         "1 s fixes gives 4 s on average)")
    ap.add_argument("--length-m", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                    help="open-ground walks: each walk's length, metres (default 3000 6000)")
    ap.add_argument("--corners", action="store_true",
                    help="the corner floor: a staircase walked 100 times at the ends of --sigma and --tau")
    ap.add_argument("--floor", action="store_true",
                    help="plain open-ground walks measured by us and by three oracles (oracle_floor)")
    a = ap.parse_args(argv)
    bad = [f"--{k.replace('_', '-')} {v[0]:g} {v[1]:g}: want 0 <= LO <= HI"
           for k, v in (("sigma", a.sigma), ("tau", a.tau), ("multipath_s", a.multipath_s),
                        ("multipath_m", a.multipath_m)) if v is not None and not 0 <= v[0] <= v[1]]
    if a.multipath_flagged is not None and not 0 <= a.multipath_flagged <= 1:
        bad.append(f"--multipath-flagged {a.multipath_flagged:g}: want a share from 0 to 1")
    if a.skip is not None and not 0 <= a.skip < 1:
        bad.append(f"--skip {a.skip:g}: want a share from 0 up to (not including) 1")
    if a.length_m is not None and not 0 < a.length_m[0] <= a.length_m[1] < np.inf:
        bad.append(f"--length-m {a.length_m[0]:g} {a.length_m[1]:g}: want 0 < LO <= HI")
    if a.length_m is not None and not a.open_ground:
        bad.append("--length-m: only with --open-ground (the street simulator's outings are its own)")
    if bad:
        ap.error("; ".join(bad))
    if a.corners:
        for sg in a.sigma:
            for tu in a.tau:
                r = staircase_spread(sg, tu)
                print(f"sigma {sg:g} m, tau {tu:g} s: staircase of 7 corners, {r['walks']} walks: length error "
                      f"mean {r['mean']:+.2%}, sd {r['sd']:.2%}; per corner {r['per_corner_m']:.1f} m")
        return
    if a.floor:
        for iv, err in oracle_floor(a.outings, a.seed, sigma_m=tuple(a.sigma), tau_s=tuple(a.tau)).items():
            t = pd.DataFrame({k: summarize(err.rename(columns={k: "error"}))
                              for k in ("ours", "known_shape", "steady_pace", "known_timing")}).T
            for c in ("median_abs", "p95_abs", "worst_abs", "mean", "sd"):
                t[c] = t[c].map(lambda v: f"{v:+.2%}" if c == "mean" else f"{v:.2%}")
            t["tracks"] = t["tracks"].astype(int)
            print(f"\n{iv} s fixes, {a.outings} plain walks across open ground, seed {a.seed}, sigma "
                  f"{a.sigma[0]:g}-{a.sigma[1]:g} m, tau {a.tau[0]:g}-{a.tau[1]:g} s: per-walk |error|")
            print(t.to_string())
        return
    # open-ground walks need the layers only for the street layer
    layers = build_all() if a.streets or not a.open_ground else None
    streets = street_layer(layers["roads"]) if a.streets else None
    rng_kw = {"sigma_m": tuple(a.sigma), "tau_s": tuple(a.tau)}
    burst_kw = {k: tuple(v) for k, v in (("multipath_s", a.multipath_s), ("multipath_m", a.multipath_m))
                if v is not None}
    bursts = (", multipath bursts " + ", ".join(
        f"{v[0]:g}-{v[1]:g} {'s' if k == 'multipath_s' else 'm off'}" for k, v in burst_kw.items())) if burst_kw else ""
    if a.open_ground:
        if a.multipath_flagged is not None:
            ap.error("--multipath-flagged: open-ground walks have no accuracy column")
        if a.skip:
            burst_kw["skip"] = a.skip
            bursts += f", {a.skip:.0%} of fixes skipped at random"
        if a.length_m is not None:
            burst_kw["length_m"] = tuple(a.length_m)
            bursts += f", {a.length_m[0]:g}-{a.length_m[1]:g} m long"
        res = evaluate_open_ground(a.outings, a.seed, streets=streets, **rng_kw, **burst_kw)
        what = "walks across open ground" + bursts
    else:
        if a.multipath_flagged is not None:
            burst_kw["multipath_flagged"] = a.multipath_flagged
            bursts += f", {a.multipath_flagged:.0%} flagged"
        if a.skip:
            burst_kw["skip"] = a.skip
            bursts += f", {a.skip:.0%} of fixes skipped at random"
        res = evaluate(layers, a.outings, a.seed, streets=streets, **rng_kw, **burst_kw)
        what = "outings on the street simulator" + bursts
    pd.set_option("display.width", 160)
    for iv, err in res.items():
        t = by_regime(err)
        t["tracks"] = t["tracks"].astype(int)
        for c in ("median_abs", "p95_abs", "worst_abs", "mean", "sd", "total", "within_2sd"):
            t[c] = t[c].map(lambda v: f"{v:+.2%}" if c in ("mean", "total") else f"{v:.2%}")
        t["z_sd"] = t["z_sd"].map(lambda v: f"{v:.2f}")
        how = "with the street layer" if a.streets else "no street layer"
        print(f"\n{iv} s fixes, {a.outings} {what}, seed {a.seed}, sigma {a.sigma[0]:g}-{a.sigma[1]:g} m, "
              f"tau {a.tau[0]:g}-{a.tau[1]:g} s, {how}: per-track |distance / walked - 1|")
        print(t.to_string())
        if "hidden_in_stops_m" in err:
            hid = err["hidden_in_stops_m"]
            print(f"walking the stop tests hid: {hid.sum() / 1000:.2f} km of "
                  f"{err['true_length_m'].sum() / 1000:,.1f} km (worst track "
                  f"{(hid / err['true_length_m']).max():.2%} of its length)")


if __name__ == "__main__":
    main()
