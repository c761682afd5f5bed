"""Per-track mileage error on simulated patrols: median and worst |error| per track.

A campaign total hides per-track errors of both signs that cancel; an officer's own mileage
is what a commander checks. So the error is reported per track (measured distance / walked
distance - 1), summarised as the median, 95th percentile and worst |error|, overall and per
regime (GPS error sigma, correlation time tau, street shapes walked).

    .venv/bin/python -m patrol.accuracy [--outings 200] [--seed 7] [--streets] [--open-ground]
                                        [--sigma 3 10] [--tau 30 180]
"""
from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

SIGMA_BANDS = [3, 5, 8, 10.01]
TAU_BANDS = [30, 60, 120, 180.01]


def per_track_error(table: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """One row per track: the truth columns plus ``distance_m`` and the signed ``error``."""
    m = truth.merge(table[["track_id", "distance_m"]], on="track_id", how="left")
    m["error"] = m["distance_m"] / m["true_length_m"] - 1
    return m


def summarize(err: pd.DataFrame) -> dict:
    """Per-track error figures of ``err`` (one row per track): count, median, p95 and worst
    |error|, the mean signed error and its spread (``sd``: what no bias correction removes),
    and the error of the total (where signs cancel)."""
    a = err["error"].abs()
    return {"tracks": len(err), "median_abs": float(a.median()), "p95_abs": float(a.quantile(0.95)),
            "worst_abs": float(a.max()), "mean": float(err["error"].mean()),
            "sd": float(err["error"].std(ddof=0)),
            "total": float(err["distance_m"].sum() / err["true_length_m"].sum() - 1)}


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
    (with ``streets``, a prepared street layer, as the CLI measures)."""
    from patrol.mileage import mileage
    from patrol.simulate import simulate_patrols

    out = {}
    for iv in intervals:
        sim = simulate_patrols(layers, n_outings=n_outings, seed=seed, interval_s=iv, **sim_kw)
        table, _ = mileage(sim.fixes, grid_index, streets=streets)
        out[iv] = per_track_error(table, sim.truth)
    return out


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


def main(argv=None) -> None:
    """``python -m patrol.accuracy``: simulate outings, measure each, print the figures by regime."""
    from gis.layers.build import build_all
    from patrol.mileage import street_layer

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
    a = ap.parse_args(argv)
    layers = build_all()
    streets = street_layer(layers["roads"]) if a.streets else None
    rng_kw = {"sigma_m": tuple(a.sigma), "tau_s": tuple(a.tau)}
    if a.open_ground:
        res = evaluate_open_ground(a.outings, a.seed, streets=streets, **rng_kw)
        what = "walks across open ground"
    else:
        res = evaluate(layers, a.outings, a.seed, streets=streets, **rng_kw)
        what = "outings on the street simulator"
    pd.set_option("display.width", 160)
    for iv, err in res.items():
        t = by_regime(err)
        t["tracks"] = t["tracks"].astype(int)
        for c in ("median_abs", "p95_abs", "worst_abs", "mean", "sd", "total"):
            t[c] = t[c].map(lambda v: f"{v:+.2%}" if c in ("mean", "total") else f"{v:.2%}")
        how = "with the street layer" if a.streets else "no street layer"
        print(f"\n{iv} s fixes, {a.outings} {what}, seed {a.seed}, sigma {a.sigma[0]:g}-{a.sigma[1]:g} m, "
              f"tau {a.tau[0]:g}-{a.tau[1]:g} s, {how}: per-track |distance / walked - 1|")
        print(t.to_string())


if __name__ == "__main__":
    main()
