"""Patrol mileage, offline (no database): simulated campaigns, per-track accuracy (on the
project's simulator and on walks generated here), readers' policy, the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from citygrid.errors import InvalidInput
from gis.layers.build import build_all
from gis.location import UnitIndex

from patrol.accuracy import (by_regime, oracle_floor, per_track_error, staircase_spread,
                              summarize, walking_hidden_in_stops_m)
from patrol.arrays import epoch_s, window_bounds
from patrol.mileage import mileage
from patrol.streets import street_layer
from patrol.readers import read_track_file
from patrol.simulate import gauss_markov_error, open_ground_walks, simulate_patrols


@pytest.fixture(scope="module")
def layers():
    return build_all()


@pytest.fixture(scope="module")
def grid_index(layers):
    return UnitIndex.from_frame(layers["grids"])


@pytest.fixture(scope="module", params=[1, 5], ids=["1s", "5s"])
def campaign(request, layers, grid_index):
    """The spring campaign (388 outings, seed 7: GPS error sigma 3-10 m, tau 30-180 s, curved
    streets, zig-zags, doubling back) sampled every 1 s or 5 s, and its mileage."""
    sim = simulate_patrols(layers, n_outings=388, seed=7, interval_s=request.param)
    table, cleaned = mileage(sim.fixes, grid_index)
    return request.param, sim, table.merge(sim.truth, on="track_id", suffixes=("", "_true"))


# Measured on this campaign (seed 7, 388 outings, 2,373.2 km walked); asserted below.
MEASURED = {1: {"cleaned": +0.0005, "raw": +2.1165}, 5: {"cleaned": +0.0003, "raw": +0.8423}}


def test_cleaned_within_2pct_raw_far_too_long(campaign):
    interval, sim, m = campaign
    true_m = m["true_length_m"].sum()
    cleaned_err = m["distance_m"].sum() / true_m - 1
    raw_err = m["raw_distance_m"].sum() / true_m - 1
    print(f"\ninterval {interval} s: true {true_m / 1000:,.1f} km, cleaned {cleaned_err:+.2%}, "
          f"raw {raw_err:+.2%}")
    assert 2300e3 < true_m < 2600e3  # 388 outings of 4-8 km
    assert abs(cleaned_err) < 0.02
    assert raw_err >= 0.15
    assert cleaned_err == pytest.approx(MEASURED[interval]["cleaned"], abs=0.002)
    assert raw_err == pytest.approx(MEASURED[interval]["raw"], abs=0.01)


def test_summary_is_per_track_not_the_total():
    """Errors of both signs: the total looks perfect, the per-track figures do not."""
    err = pd.DataFrame({"true_length_m": [1000.0, 1000.0, 2000.0, 2000.0],
                        "distance_m": [1030.0, 970.0, 2010.0, 1990.0]})
    err["error"] = err["distance_m"] / err["true_length_m"] - 1
    s = summarize(err)
    assert s["total"] == pytest.approx(0.0, abs=1e-12)
    assert s["mean"] == pytest.approx(0.0, abs=1e-12)
    assert s["worst_abs"] == pytest.approx(0.03)
    assert s["median_abs"] == pytest.approx(0.0175)
    assert s["sd"] == pytest.approx(np.sqrt((0.03 ** 2 * 2 + 0.005 ** 2 * 2) / 4))
    # each track's own spread: metres off in units of it +2, -2, +0.5, -5
    s = summarize(err.assign(distance_sd_m=[15.0, 15.0, 20.0, 2.0]))
    assert s["within_2sd"] == 0.75
    assert s["z_sd"] == pytest.approx(np.std([2.0, -2.0, 0.5, -5.0]))


def test_simulator_covers_the_range(campaign):
    _, _, m = campaign
    assert m["sigma_m"].min() < 3.2 and m["sigma_m"].max() > 9.8
    assert m["tau_s"].min() < 35 and m["tau_s"].max() > 175
    for shape in ("curved", "zigzag", "doubled_back"):
        assert (m[shape] > 0).mean() > 0.5, shape  # most outings walk each shape


# Per track |distance / walked - 1| (median, 95th percentile, worst of 388), measured; the
# worst tracks all have sigma > 8 m (see patrol.mileage: the GPS offset at each corner).
PER_TRACK = {1: (0.0043, 0.0150, 0.0299), 5: (0.0043, 0.0161, 0.0378)}
# ... and on open-ground walks of 1-2 km in issue 15's range, 150 walks (median, worst)
SHORT_WALKS = {1: (0.0087, 0.0427), 5: (0.0095, 0.0393)}
PER_TRACK_STREETS = {1: (0.0034, 0.0117, 0.0281), 5: (0.0029, 0.0140, 0.0240)}


def _report(title, err):
    t = by_regime(err)
    print(f"\n{title}\n" + t.to_string(float_format=lambda v: f"{v:.4f}"))
    return summarize(err)


def test_per_track_error(campaign):
    """Each officer's own mileage, not the campaign total: median <= 1 %, worst <= 5 %."""
    interval, sim, m = campaign
    s = _report(f"{interval} s fixes, per-track error", per_track_error(m, sim.truth))
    print(f"median {s['median_abs']:.2%} p95 {s['p95_abs']:.2%} worst {s['worst_abs']:.2%}")
    assert s["median_abs"] <= 0.01
    assert s["p95_abs"] <= 0.025
    assert s["worst_abs"] <= 0.05
    assert abs(s["mean"]) <= 0.005  # no bias the per-track spread would hide
    med, p95, worst = PER_TRACK[interval]
    assert s["median_abs"] == pytest.approx(med, abs=0.0005)
    assert s["p95_abs"] == pytest.approx(p95, abs=0.001)
    assert s["worst_abs"] == pytest.approx(worst, abs=0.001)


@pytest.fixture(scope="module")
def street_junctions(layers):
    """The street layer as the CLI uses it: junctions and straight pieces."""
    return street_layer(layers["roads"])


def test_per_track_error_with_street_junctions(campaign, grid_index, street_junctions):
    interval, sim, _ = campaign
    table, _ = mileage(sim.fixes, grid_index, streets=street_junctions)
    s = _report(f"{interval} s fixes, with the street layer (junctions, street pieces)",
                per_track_error(table, sim.truth))
    print(f"median {s['median_abs']:.2%} p95 {s['p95_abs']:.2%} worst {s['worst_abs']:.2%}, "
          f"within 2 sd {s['within_2sd']:.1%}, z sd {s['z_sd']:.2f}")
    med, p95, worst = PER_TRACK_STREETS[interval]
    assert s["median_abs"] == pytest.approx(med, abs=0.0005)
    assert s["worst_abs"] == pytest.approx(worst, abs=0.001)
    # the street layer takes corner offsets (junctions) and offsets across straight streets
    # (leg matching) off: median and p95 drop; the worst track is set by offsets elsewhere
    # (along the street at turn-back tips, off the layer, GPS wander at a stop's end)
    assert s["median_abs"] < PER_TRACK[interval][0]
    assert s["p95_abs"] < PER_TRACK[interval][1]
    assert s["median_abs"] <= 0.01
    # each track's distance_sd_m (fitted on this seed among others; held out: below)
    assert s["within_2sd"] >= 0.93 and 0.85 <= s["z_sd"] <= 1.1


@pytest.mark.parametrize("interval", [1, 5], ids=["1s", "5s"])
def test_each_track_says_how_far_to_trust_it(interval):
    """distance_sd_m on walks its constants were not fitted to (open ground, seed 45): about
    95 % of tracks lie within 2 sd of the length walked, and a track it calls noisy is."""
    fixes, truth = open_ground_walks(120, interval, seed=45)
    table, _ = mileage(fixes)
    err = per_track_error(table, truth)
    s = summarize(err)
    off_m = err["distance_m"] - err["true_length_m"]
    sd_pct = err["distance_sd_m"] / err["true_length_m"]
    calm, rough = sd_pct <= sd_pct.median(), sd_pct > sd_pct.median()
    rms = [float(np.sqrt(np.mean(err["error"][g] ** 2))) for g in (calm, rough)]
    print(f"\n{interval} s, 120 walks: within 2 sd {s['within_2sd']:.1%}, z sd {s['z_sd']:.2f}, "
          f"sd {sd_pct.min():.2%}-{sd_pct.max():.2%}; rms error of the calmer / rougher half "
          f"{rms[0]:.2%} / {rms[1]:.2%}")
    assert (err["distance_sd_m"] > 0).all()
    # open ground at 1 s fixes is its least kind cell: the spread ~10 % too narrow (z sd
    # 1.11 / 1.14 on the open-ground seeds fitted / this one: 89 % within 2 sd here)
    assert 0.88 <= s["within_2sd"] <= 0.995 and 0.8 <= s["z_sd"] <= 1.2
    assert (off_m.abs() <= 3 * err["distance_sd_m"]).mean() >= 0.97
    # the spread follows the phone's error: tracks it calls rougher are off by more
    assert rms[1] > 1.4 * rms[0]
    assert np.corrcoef(err["sigma_m"], sd_pct)[0, 1] > 0.6


def test_worst_track_within_3pct(campaign, request):
    """Issue 15's target, without the street layer (the layer only helps: see above). At 1 s
    it holds on this seed: worst 2.99 % (3.05 % while a second of standing at a corner could
    grow a stop's edges: patrol.clean._edge_seeds; 2.93 % before burst fixes were moved back,
    not dropped: a hair's breadth either way)."""
    interval, sim, m = campaign
    reason = {
        5: "worst per-track error 3.8 % without the street layer (spring-0284, sigma 9.3 m, tau "
           "93 s: its vertices are off by 16 m RMS, no less than its fixes), 2.4 % with it"}
    if interval in reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=(
            f"issue 15 target not reached at {interval} s: {reason[interval]}; an oracle told "
            "where along each walk every fix was taken has worst 3.2-3.5 % over 300 plain walks "
            "in 5 of 6 runs on the full range: patrol.accuracy --floor; see patrol.mileage")))
    assert summarize(per_track_error(m, sim.truth))["worst_abs"] <= 0.03


@pytest.mark.parametrize("interval", [1, 5], ids=["1s", "5s"])
def test_per_track_error_on_walks_generated_here(interval):
    """The method is not tuned to its own simulator: walks and errors made in this test."""
    fixes, truth = open_ground_walks(80, interval, seed=42)
    table, _ = mileage(fixes)
    err = per_track_error(table, truth)
    s = summarize(err)
    print(f"\n{interval} s, 80 walks generated here: median {s['median_abs']:.2%} "
          f"p95 {s['p95_abs']:.2%} worst {s['worst_abs']:.2%} mean {s['mean']:+.2%}")
    # measured: median 0.54 % / 0.65 %, p95 1.8 % / 2.7 %, worst 3.5 % / 3.8 % (1 s / 5 s)
    assert s["median_abs"] <= 0.01
    assert s["worst_abs"] <= 0.05
    assert abs(s["mean"]) <= 0.005
    raw = fixes.groupby("track_id").size()
    assert (raw > 500 / interval).all()  # real walks, not empty ones


@pytest.mark.parametrize("interval", [1, 5], ids=["1s", "5s"])
def test_short_walks_in_the_issue_range(interval):
    """Walks of 1-2 km (``open_ground_walks(length_m=(1000, 2000))``) in the range issue 15 was
    measured on (sigma 3-8 m, tau 30-120 s, bursts of 10-60 s, 30-150 m off): each corner, stop
    and burst puts the same metres into a shorter walk, so the per-track error is larger than
    on a shift's 3-6 km (median 0.5-0.6 %). Measured on 300 walks (``python -m patrol.accuracy
    --open-ground --length-m 1000 2000 ...``, seed 42): median 1.12 % / 0.97 %, worst 18.8 % /
    13.2 % (1 s / 5 s) while a burst's fixes were dropped, 0.94 % / 0.95 % and 5.7 % / 7.4 %
    moved back (patrol.outliers.burst_offsets) and with bursts begun in short dropouts
    found (burst_stretches). Pinned here on 150 of them: median 0.93 % / 1.00 % while a run
    read at walking pace in the median on a quiet track was taken for standing, 0.87 % /
    0.95 % now (patrol.clean._walked_runs)."""
    fixes, truth = open_ground_walks(150, interval, 42, sigma_m=(3, 8), tau_s=(30, 120),
                                     multipath_s=(10, 60), multipath_m=(30, 150), length_m=(1000, 2000))
    assert truth["true_length_m"].between(1000, 2000 + 400).all()  # the last leg may overshoot
    err = per_track_error(mileage(fixes)[0], truth)["error"].abs()
    print(f"\n{interval} s, 150 walks of 1-2 km: median {err.median():.2%}, worst {err.max():.2%}, "
          f"beyond 3 %: {(err > 0.03).sum()}")
    med, worst = SHORT_WALKS[interval]
    assert err.median() == pytest.approx(med, abs=0.0005)
    assert err.max() == pytest.approx(worst, abs=0.001)


def test_walks_off_the_street_layer_are_not_pulled_onto_it(street_junctions):
    """Walks across open ground near Rizhao's streets (made here, not on the layer): the
    street layer leaves them alone - matched to streets they ran by, the worst came out
    4.1 % instead of 3.7 % at 5 s (300 walks, sigma 3-8 m)."""
    fixes, truth = open_ground_walks(40, 5, seed=42)
    alone, _ = mileage(fixes)
    with_streets, _ = mileage(fixes, streets=street_junctions)
    np.testing.assert_allclose(with_streets["distance_m"], alone["distance_m"], rtol=1e-9)
    # while walks along the streets are matched (test_per_track_error_with_street_junctions)


def _exact_walk(corners_m, step_s, speed_mps=1.3, phase_s=0.0, tid="w"):
    """Fixes without GPS error along a polyline (local metres), one every step_s seconds from
    phase_s after the start, the last one on the end point; and its length."""
    p = np.asarray(corners_m, float)
    cum = np.r_[0, np.cumsum(np.hypot(*np.diff(p, axis=0).T))]
    t_s = np.r_[0, np.arange(phase_s or step_s, cum[-1] / speed_mps, step_s), cum[-1] / speed_mps]
    s = t_s * speed_mps
    x, y = np.interp(s, cum, p[:, 0]), np.interp(s, cum, p[:, 1])
    t = pd.Timestamp("2026-03-02T01:00:00Z") + pd.to_timedelta(t_s, unit="s")
    return pd.DataFrame({"track_id": tid, "t": t, "lon": 119.50 + x / 90_780,
                         "lat": 35.40 + y / 111_195}), cum[-1]


@pytest.mark.parametrize("shape", ["square", "staircase", "zigzag", "sharp"])
def test_exact_walk_keeps_its_corners(shape):
    """No GPS error: the corners are where the fixes say, whatever the walking speed and
    where the fixes fall. The smoothing rounds every corner; a short bent piece round one is
    no straight leg (a line fitted to it cut the corner: -0.6 % on a square before)."""
    corners = {
        "square": [(0, 0), (200, 0), (200, 200), (0, 200), (0, 0)],
        "staircase": [(0, 0), (150, 0), (150, 120), (300, 120), (300, 240), (450, 240)],
        "zigzag": [(0, 0), (120, 60), (240, 0), (360, 60), (480, 0)],
        "sharp": [(0, 0), (200, 0), (30, 60), (230, 120)],  # turns of ~160 degrees
    }[shape]
    walks = [_exact_walk(corners, 1, v, ph, f"{v}-{ph}") for v in (1.0, 1.3, 1.6)
             for ph in (0.0, 0.25, 0.5, 0.75)]
    table, _ = mileage(pd.concat([w[0] for w in walks], ignore_index=True))
    err = table["distance_m"].to_numpy() / walks[0][1] - 1
    print(f"\n{shape}: {walks[0][1]:.0f} m walked, 12 walks, worst error {err[np.abs(err).argmax()]:+.3%}, "
          f"largest sd {table['distance_sd_m'].max():.2f} m")
    assert np.abs(err).max() < 0.004
    assert table["distance_sd_m"].max() < 0.002 * walks[0][1]  # no GPS error, next to no spread


def test_out_and_back_tip_not_short_on_average():
    """An out-and-back with fixes every 5 s: the turn-back fix is the one nearest the true
    tip, a quarter interval's walk short on average (half an interval's walk off the length);
    the tip moves out by that much, so over where the fixes fall the length comes out right."""
    walks = [_exact_walk([(0, 0), (250, 0), (0, 0), (0, 150)], 5, 1.3, ph, f"p{ph}")
             for ph in np.arange(0.25, 5.0, 0.25)]
    table, _ = mileage(pd.concat([w[0] for w in walks], ignore_index=True))
    err = table["distance_m"].to_numpy() / walks[0][1] - 1
    print(f"\nout-and-back, 5 s fixes, {len(walks)} phases: mean {err.mean():+.3%}, "
          f"worst {err[np.abs(err).argmax()]:+.3%}")
    assert abs(err.mean()) < 0.001  # -0.48 % (-3.1 m of 650) without moving the tip
    assert np.abs(err).max() < 0.006


def _stop_at_tip_then_dropout(seed, drop_s, step_s=5, sigma_m=4.0, tau_s=60.0):
    """400 m out, 3 min standing at the tip, back and 200 m on (1,000 m at 1.25 m/s) under
    Gauss-Markov error; the phone loses the signal for drop_s as the walker leaves the tip."""
    rng = np.random.default_rng(seed)
    v, stand_s = 1.25, 180.0
    t = np.arange(0, 1000 / v + stand_s, step_s)
    s = np.clip(t, 0, 400 / v) * v + np.clip(t - 400 / v - stand_s, 0, None) * v  # metres walked
    x = np.where(s <= 400, s, np.clip(800 - s, 0, None))
    y = np.clip(s - 800, 0, None)
    a = np.exp(-step_s / tau_s)
    e = np.zeros((len(t), 2))
    e[0] = rng.normal(0, sigma_m, 2)
    for i in range(1, len(t)):
        e[i] = a * e[i - 1] + rng.normal(0, sigma_m * np.sqrt(1 - a * a), 2)
    left = 400 / v + stand_s
    keep = ~((t >= left) & (t < left + drop_s))
    return pd.DataFrame({"track_id": f"tip-{seed}",
                         "t": pd.Timestamp("2026-03-02T01:00:00Z") + pd.to_timedelta(t[keep], unit="s"),
                         "lon": 119.50 + (x + e[:, 0])[keep] / 90_780,
                         "lat": 35.40 + (y + e[:, 1])[keep] / 111_195})


@pytest.mark.parametrize("drop_s", [0.0, 60.0], ids=["no-dropout", "dropout-60s"])
def test_stop_at_a_tip_keeps_the_out_and_back_across_a_dropout(drop_s):
    """A stop at the tip of an out-and-back is the tip, also when the phone loses the signal
    as the walker leaves it: the tip test reads the walk beyond the dropout (mean -3.0 %,
    worst -4.9 % over these 20 walks when it read only the 45 s the dropout left empty)."""
    table, _ = mileage(pd.concat([_stop_at_tip_then_dropout(k, drop_s) for k in range(20)],
                                 ignore_index=True))
    err = table["distance_m"].to_numpy() / 1000 - 1
    print(f"\nstop at a tip, dropout {drop_s:.0f} s: mean {err.mean():+.3%} "
          f"worst {err[np.abs(err).argmax()]:+.3%}")
    assert abs(err.mean()) < 0.005
    assert np.abs(err).max() < 0.03
    assert (table["stop_time_s"] >= 120).all()  # the stand is still a stop


def _gm_walk(corners_m, seed, sigma_m, tau_s, step_s=1, speed_mps=1.3, dropout_s=None):
    """Fixes along a polyline (local metres) under Gauss-Markov error, none within
    ``dropout_s`` (start, end) when given; and its length."""
    p = np.asarray(corners_m, float)
    cum = np.r_[0, np.cumsum(np.hypot(*np.diff(p, axis=0).T))]
    t = np.arange(0, cum[-1] / speed_mps, step_s)
    x, y = np.interp(t * speed_mps, cum, p[:, 0]), np.interp(t * speed_mps, cum, p[:, 1])
    rng = np.random.default_rng(seed)
    a = np.exp(-step_s / tau_s)
    e = np.zeros((len(t), 2))
    e[0] = rng.normal(0, sigma_m, 2)
    for i in range(1, len(t)):
        e[i] = a * e[i - 1] + rng.normal(0, sigma_m * np.sqrt(1 - a * a), 2)
    keep = np.ones(len(t), bool) if dropout_s is None else ~((t >= dropout_s[0]) & (t < dropout_s[1]))
    return pd.DataFrame({"track_id": f"gm-{seed}",
                         "t": pd.Timestamp("2026-03-02T01:00:00Z") + pd.to_timedelta(t[keep], unit="s"),
                         "lon": 119.50 + (x + e[:, 0])[keep] / 90_780,
                         "lat": 35.40 + (y + e[:, 1])[keep] / 111_195}), cum[-1]


@pytest.mark.parametrize("interval", [1, 5], ids=["1s", "5s"])
def test_turn_back_whose_tip_fell_in_a_dropout(interval):
    """Walking 80 m on past a junction, back to it and round the corner, the phone losing the
    signal for 45 s round the turn: the turn-back test reads the seen walk beyond the
    dropout, so the out-and-back is not drawn as one line through it (-6.0 % / -7.5 % mean
    over these 20 walks before, 1 s / 5 s fixes), and the tip moves out by half the walk the
    dropout hid (at 5 s the last fix before it is up to ~40 m short of the tip: -1.7 % mean
    without that, -0.8 % with it)."""
    corners = [(0, 0), (400, 0), (480, 0), (400, 0), (400, 400)]
    tip_s = 480 / 1.3
    walks = [_gm_walk(corners, k, 4.0, 90.0, interval, dropout_s=(tip_s - 20, tip_s + 25))
             for k in range(20)]
    table, _ = mileage(pd.concat([w[0] for w in walks], ignore_index=True))
    err = table["distance_m"].to_numpy() / walks[0][1] - 1
    print(f"\ntip in a dropout, {interval} s: mean {err.mean():+.3%}, worst {err[np.abs(err).argmax()]:+.3%}")
    assert err.mean() > -0.012
    assert np.abs(err).max() < 0.03


def test_a_track_measures_the_same_alone_and_among_others():
    """A track's mileage does not depend on the tracks before it in the file. It did: the
    refit thinned 1 s fixes to one per 2 s counted from the file's first track (a track after
    one of an odd number of seconds kept the other half: simulated spring-0245, seed 7, was
    -1.61 % alone and +0.03 % in its campaign), and a jump at the end of one track made the
    next one's first fixes outlier candidates (a first fix 30 m off the median, no jump to
    it, was dropped only after such a track)."""
    ahead, _ = _gm_walk([(0, 0), (301, 0), (301, 200)], 1, 6.0, 60.0)
    ahead.loc[ahead.index[-1], "lon"] += 120 / 90_780  # multipath on the last fix
    walks = [_gm_walk([(0, 0), (400, 0), (400, 300), (150, 300)], k, 9.0, 60.0)[0] for k in (2, 3, 4)]
    ramp = walks[0].copy()  # the phone settling: first fixes 30, 27, ... m off, 3 m apart
    ramp.loc[ramp.index[:11], "lat"] += np.arange(30, -1, -3) / 111_195
    walks[0] = ramp
    together, _ = mileage(pd.concat([ahead, *walks], ignore_index=True))
    together = together.set_index("track_id")["distance_m"]
    for w in walks:
        alone, _ = mileage(w)
        assert alone["distance_m"].iloc[0] == pytest.approx(together[w["track_id"].iloc[0]], rel=1e-9)


def test_window_bounds_are_the_two_searches():
    """Each fix's time window from one search (the start of i's window is the inverse of the
    windows' ends) is the two searches' result, ties at the window's edges included."""
    rng = np.random.default_rng(0)
    t = np.sort(rng.integers(0, 2000, 3000)) / 4.0  # quarter seconds: many exact ties
    key = np.r_[t, 1e9 + t[:1000], 2e9 + t[:1]]  # three tracks, the last of one fix
    for half in (0.0, 0.25, 2.5, 7.5, 30.0, 600.0):
        lo, hi = window_bounds(key, half)
        np.testing.assert_array_equal(lo, np.searchsorted(key, key - half, side="left"))
        np.testing.assert_array_equal(hi, np.searchsorted(key, key + half, side="right"))
    assert [len(a) for a in window_bounds(np.zeros(0), 5.0)] == [0, 0]


def test_rows_in_any_order_measure_the_same():
    """Fixes come in files in any order (tracks interleaved, a phone's late uploads last):
    mileage sorts them by track, then time, and only when they are not (checking is cheap,
    sorting a million fixes is not). Shuffled, reversed and sorted rows give one result."""
    walks = [_gm_walk([(0, 0), (300, 0), (300, 150)], k, 7.0, 60.0)[0].assign(track_id=f"w{k}")
             for k in (5, 6, 7)]
    rows = pd.concat(walks, ignore_index=True)
    base, _ = mileage(rows)
    assert base["distance_m"].gt(400).all()  # each walks its 450 m, give or take the error
    for other in (rows.sample(frac=1.0, random_state=3), rows.iloc[::-1]):
        table, _ = mileage(other)
        assert list(table["track_id"]) == ["w5", "w6", "w7"]
        np.testing.assert_allclose(table["distance_m"], base["distance_m"], rtol=1e-12)
        assert list(table["stops"]) == list(base["stops"])
        assert list(table["raw_distance_m"]) == pytest.approx(list(base["raw_distance_m"]), rel=1e-12)


@pytest.mark.parametrize("interval", [1, 5], ids=["1s", "5s"])
def test_long_multipath_bursts_are_taken_out(interval):
    """Multipath bursts of 10-60 s, 30-150 m off (one to three per walk): the running median
    takes out only bursts shorter than half its window, so the longer ones were walked as
    detours (median error per track 4.7 % / 4.4 %, worst 19 % / 16 %, 1 s / 5 s fixes).
    Taken out whole from the jump away to the jump back (patrol.outliers.bursts), the walks
    come out as they do without bursts."""
    fixes, truth = open_ground_walks(60, interval, 3, sigma_m=(3, 8), tau_s=(30, 120),
                                     multipath_s=(10, 60), multipath_m=(30, 150))
    now = per_track_error(mileage(fixes)[0], truth)["error"].abs()
    before = per_track_error(mileage(fixes, burst_max_s=0)[0], truth)["error"].abs()
    print(f"\nbursts of 10-60 s, {interval} s fixes: median {now.median():.2%}, worst {now.max():.2%}; "
          f"median alone {before.median():.2%}, worst {before.max():.2%}")
    assert before.median() > 0.03
    assert now.median() < 0.01
    assert now.max() < 0.035


@pytest.mark.parametrize("where", ["start", "end"])
def test_a_track_that_begins_or_ends_in_a_burst(where):
    """A burst with no jump back (the phone switched off, or on, inside it): the first 40 s
    or the last 40 s of a 600 m walk 90 m off. Those fixes are moved back by the one jump
    there is, and the 52 m walked while they were taken are measured (when they were dropped
    548 m were left to measure; without the burst step the walk came out at 658 m / 696 m:
    the jump, and the GPS wander inside the burst)."""
    walk, length = _gm_walk([(0, 0), (300, 0), (300, 300)], 5, 4.0, 60.0, step_s=5)
    no_burst = mileage(walk)[0]["distance_m"].iloc[0]
    t_s = (walk["t"] - walk["t"].iloc[0]).dt.total_seconds().to_numpy()
    inside = t_s < 40 if where == "start" else t_s > t_s[-1] - 40
    walk.loc[inside, "lon"] += 60 / 90_780
    walk.loc[inside, "lat"] += 67 / 111_195
    table, c = mileage(walk)
    assert c.moved[0] == inside.sum() == 8
    assert table["dropped_by_reason"].iloc[0]["outlier"] == 0
    assert no_burst == pytest.approx(length, abs=12)
    assert table["distance_m"].iloc[0] == pytest.approx(no_burst, abs=8)


def _offset(walk, t_lo, t_hi, dx_m, dy_m):
    """Fixes of ``walk`` taken t_lo <= t < t_hi seconds after its first moved dx_m, dy_m."""
    t_s = (walk["t"] - walk["t"].iloc[0]).dt.total_seconds().to_numpy()
    inside = (t_s >= t_lo) & (t_s < t_hi)
    walk.loc[inside, "lon"] += dx_m / 90_780
    walk.loc[inside, "lat"] += dy_m / 111_195
    return walk


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_the_fixes_before_a_burst_near_the_start_are_kept(seed):
    """A burst from the 7th fix on (1 s fixes), 41 s long and 132 m off: taken out, it
    leaves a 41 s hole after the track's first 6 fixes. The running median of those fixes
    (+-15 fixes, slid inside the track at its start) reached across the hole into the walk
    55-75 m on, took them for outliers, and with them the walk from the first fix to the
    hole's end went (open-ground gm-236, seed 43: -3.05 %; here -71 / -57 / -61 m of a 700 m
    walk). The median now takes only fixes within 30 s: the 6 fixes stay and the hole was
    bridged (-12 / +1 / +6 m). The burst's 41 fixes are now moved back, not dropped: there
    is no hole."""
    walk, length = _gm_walk([(0, 0), (0, 400), (300, 400)], seed, 4.0, 50.0)
    walk = _offset(walk, 6, 47, 92.0, 95.0)
    table, c = mileage(walk)
    assert c.moved[0] == 41
    assert table["dropped_by_reason"].iloc[0]["outlier"] == 0
    assert table["distance_m"].iloc[0] == pytest.approx(length, abs=20)


@pytest.mark.parametrize("seed", [51, 52, 53])
def test_a_phone_back_from_a_dropout_inside_a_burst(seed):
    """A phone standing through a 9 min dropout comes back inside a burst 190 m off for 8 s,
    is back at its place for 25 s, off again for 7 s, then walks on. The running median of
    the fixes after the dropout is the burst's own place; the fixes before the dropout tell
    where the phone stood, so the median's window keeps to the phone's time with a signal
    and reaches across the dropout (keeping to the clock, the bursts stayed: +379 to +468 m
    of a 650 m walk; the bench's spring-0118, first 2,500 fixes: +1.3 -> +21 %)."""
    t = np.arange(0.0, 1214.0)
    x = np.where(t < 200, 1.3 * t, 260.0)
    y = np.where(t < 914, 0.0, 1.3 * (t - 914))
    e = gauss_markov_error(len(t), 1.0, 4.0, 60.0, np.random.default_rng(seed))
    x, y = x + e[0], y + e[1]
    for a, b, dx, dy in ((874, 882, 145.0, -125.0), (907, 914, 140.0, -133.0)):
        x[(t >= a) & (t < b)] += dx
        y[(t >= a) & (t < b)] += dy
    seen = ~((t >= 330) & (t < 874))
    fixes = pd.DataFrame({"track_id": "s", "t": pd.Timestamp("2026-03-02T01:00:00Z")
                          + pd.to_timedelta(t[seen], unit="s"),
                          "lon": 119.50 + x[seen] / 90_780, "lat": 35.40 + y[seen] / 111_195})
    table, _ = mileage(fixes)
    assert table["distance_m"].iloc[0] == pytest.approx(260.0 + 1.3 * 300, abs=30)


@pytest.mark.parametrize("case", ["chance", "across"])
@pytest.mark.parametrize("seed", [31, 32, 33])
def test_bursts_either_side_of_a_dropout(case, seed):
    """Two bursts with a dropout between them (1 s fixes, a 500 m walk).

    ``chance``: 80 m off for 8 s, a 53 s dropout, 19 s of walk, then 115 m off for 42 s. The
    jump into the second burst took the first one's back by chance (the two offsets
    nearly cancel), and the 19 s of walk were taken for a burst and the second burst kept
    (simulated spring-0268, seed 11, unflagged bursts: +4.0 %; here +41 / +62 / +41 m). No
    jump back is looked for across a dropout now: each burst is its stretch's own (the jumps
    either side of a dropout pair only where the fixes either side fit one burst, BURST_ACROSS
    and ACROSS_FIT; these 19 s of walk do not).

    ``across``: 141 m off for 24 s, a 37 s dropout, another 108 m off for 26 s, then back; the
    step across the dropout, from one burst into the other, is a jump too. As its stretch's
    first it hid the second burst's jump back from the test for bursts begun in a dropout
    (+193 / +200 / +204 m when only the pairing changed); it is neither stretch's now."""
    drop, bursts = {"chance": ((68, 121), [(60, 68, 70.0, -40.0), (140, 182, -90.0, 62.0)]),
                    "across": ((224, 261), [(200, 224, -130.0, -54.0), (261, 287, 60.0, 90.0)])}[case]
    walk, length = _gm_walk([(0, 0), (500, 0)], seed, 4.0, 60.0, dropout_s=drop)
    for a, b, dx, dy in bursts:
        walk = _offset(walk, a, b, dx, dy)
    table, c = mileage(walk)
    # each burst found whole: its fixes moved back, or dropped where no side is known
    assert c.moved[0] + table["dropped_by_reason"].iloc[0]["outlier"] == sum(b - a for a, b, _, _ in bursts)
    assert table["distance_m"].iloc[0] == pytest.approx(length, abs=10)


@pytest.mark.parametrize("interval", [1, 5], ids=["1s", "5s"])
def test_long_unflagged_bursts_on_the_street_simulator(layers, street_junctions, interval):
    """The street simulator with bursts of 10-60 s, 20-150 m off, about one per 8 min, none
    with a bad reported accuracy (``--multipath-s 10 60 --multipath-m 20 150
    --multipath-flagged 0``), 100 outings (seed 5) with the street layer: median 0.54 % /
    0.51 % per track (1 s / 5 s fixes), 0 / 1 tracks beyond 3 %, worst 2.6 % / 4.0 %. Before
    bursts were sought at dropouts 3 / 8 tracks were beyond 3 %, worst 6.2 % / 6.5 % (a burst
    begun or ended in a dropout stayed); before back-to-back bursts were, 0 / 2, worst 2.6 % /
    5.1 %; without the burst step the median is 28 % / 25 %."""
    sim = simulate_patrols(layers, n_outings=100, seed=5, interval_s=interval, multipath_s=(10, 60),
                           multipath_m=(20, 150), multipath_flagged=0.0)
    now = per_track_error(mileage(sim.fixes, streets=street_junctions)[0], sim.truth)["error"].abs()
    without = per_track_error(mileage(sim.fixes, streets=street_junctions, burst_max_s=0)[0],
                              sim.truth)["error"].abs()
    print(f"\n{interval} s fixes: median {now.median():.2%}, worst {now.max():.2%}, beyond 3 %: "
          f"{(now > 0.03).sum()}; without the burst step median {without.median():.2%}")
    assert without.median() > 0.15
    assert now.median() < 0.01
    assert (now > 0.03).sum() <= {1: 0, 5: 1}[interval]
    assert now.max() < {1: 0.03, 5: 0.045}[interval]


@pytest.mark.parametrize("where", ["begins", "ends"])
@pytest.mark.parametrize("interval", [1, 5], ids=["1s", "5s"])
def test_a_burst_begun_or_ended_in_a_dropout(where, interval):
    """The phone loses the signal for 40 s on a straight 800 m walk and comes back 90 m off
    for 40 s (or goes 90 m off 40 s before it loses the signal): one jump, no jump back to
    pair it with. The burst's fixes are moved back by that jump as at a track's end, and the
    line across the dropout runs straight on: without that the walk came out 110-190 m long."""
    walk, length = _gm_walk([(0, 0), (800, 0)], 9, 3.0, 60.0, step_s=interval, dropout_s=(300, 340))
    lo, hi = (340, 380) if where == "begins" else (260, 300)
    table, c = mileage(_offset(walk, lo, hi, 40, 80))
    assert c.moved[0] == 40 // interval
    assert table["distance_m"].iloc[0] == pytest.approx(length, abs=10)


def test_a_spike_after_a_dropout_and_a_walk_takes_no_walk_away():
    """A spike at a track's last fix, 95 s of walking after a 60 s dropout, is no jump back
    from a burst begun in the dropout: the shorter side of a lone jump is the burst (the
    walk after the dropout went when either side could be)."""
    walk, length = _gm_walk([(0, 0), (300, 0), (300, 230)], 4, 3.0, 60.0, step_s=5, dropout_s=(250, 310))
    last_s = (walk["t"].iloc[-1] - walk["t"].iloc[0]).total_seconds()
    table, _ = mileage(_offset(walk, last_s, last_s + 1, -90, 50))
    assert table["distance_m"].iloc[0] == pytest.approx(length - 5 * 1.3, abs=10)  # the last step goes


def _uneven_walk(seed, gaps_s, sigma_m=4.0, tau_s=60.0, speed_mps=1.3, length_m=700.0):
    """A straight walk whose phone samples unevenly: fixes ``gaps_s`` seconds apart (cycled),
    under Gauss-Markov error; and its length."""
    gaps = np.resize(np.asarray(gaps_s, float), int(length_m / speed_mps))
    t = np.r_[0.0, np.cumsum(gaps)]
    t = t[t <= length_m / speed_mps]
    rng = np.random.default_rng(seed)
    e = np.zeros((len(t), 2))
    e[0] = rng.normal(0, sigma_m, 2)
    for i in range(1, len(t)):
        a = np.exp(-(t[i] - t[i - 1]) / tau_s)
        e[i] = a * e[i - 1] + rng.normal(0, sigma_m * np.sqrt(1 - a * a), 2)
    return pd.DataFrame({"track_id": f"u-{seed}",
                         "t": pd.Timestamp("2026-03-02T01:00:00Z") + pd.to_timedelta(t, unit="s"),
                         "lon": 119.50 + (t * speed_mps + e[:, 0]) / 90_780,
                         "lat": 35.40 + e[:, 1] / 111_195}), t[-1] * speed_mps


@pytest.mark.parametrize("seed", [61, 62, 63])
def test_a_burst_packed_into_uneven_fixes_is_taken_out(seed):
    """A phone that samples unevenly (here 7 s, then 1 s apart, 3.5 s on average) puts 5 fixes
    of a 4 s burst 250 m off in a row. The running median counts its window in fixes at the
    track's typical interval (4 a side): 5 fixes outvoted it, and the burst, no longer than
    half the median's window in time, was left to it: on simulated spring-0377 (seed 13, 1 s
    fixes of which a random quarter kept) +7.5 %. Here the 5 fixes stayed too (the refit of
    the path to every fix took most of the detour out again: +15 / -1 / +0 m)."""
    walk, length = _uneven_walk(seed, [7, 1, 1, 1, 1, 1, 1, 1, 7, 7, 7, 7])
    t_s = (walk["t"] - walk["t"].iloc[0]).dt.total_seconds().to_numpy()
    start = t_s[np.flatnonzero(t_s > 250)[0]]  # the first of a run of 1 s fixes after 250 s
    start = t_s[np.flatnonzero((t_s >= start) & (np.diff(t_s, prepend=-9) == 1.0))[0] - 1]
    walk = _offset(walk, start, start + 4.5, 170.0, 180.0)
    assert (((t_s >= start) & (t_s < start + 4.5)).sum()) == 5
    table, c = mileage(walk)
    assert c.moved[0] + table["dropped_by_reason"].iloc[0]["outlier"] >= 5
    assert table["distance_m"].iloc[0] == pytest.approx(length, abs=15)


@pytest.mark.parametrize("seed", [71, 72, 73])
def test_a_burst_before_a_dropout_among_sparse_fixes_is_taken_out(seed):
    """Sparse uneven fixes (2-12 s apart, ~7 s on average: the median's window is 2 fixes a
    side) and a burst of 3 fixes within 4 s, 250 m off, that ends in a dropout (the next fix
    45 s on): no jump back pairs it, and as a burst at a stretch's end it was no longer than
    half the median's window in time, so it stayed (spring-0197, seed 13, 15 % of 1 s fixes
    kept: +12 %; here +265-271 m on a 700 m walk)."""
    walk, length = _uneven_walk(seed, [12, 2, 9, 6, 11, 2, 8])
    t_s = (walk["t"] - walk["t"].iloc[0]).dt.total_seconds().to_numpy()
    k = int(np.flatnonzero(t_s > 300)[0])
    burst = pd.DataFrame({"track_id": walk["track_id"].iloc[0],
                          "t": walk["t"].iloc[k] + pd.to_timedelta([1.0, 3.0, 5.0], unit="s"),
                          "lon": walk["lon"].iloc[k] + (np.array([1.0, 3.0, 5.0]) * 1.3 + 170) / 90_780,
                          "lat": walk["lat"].iloc[k] + 180 / 111_195})
    gap = (t_s > t_s[k]) & (t_s < t_s[k] + 39)  # the burst's 3 fixes are all there is
    walk = pd.concat([walk[~gap], burst]).sort_values("t", kind="stable").reset_index(drop=True)
    table, c = mileage(walk)
    assert c.moved[0] + table["dropped_by_reason"].iloc[0]["outlier"] >= 3
    assert table["distance_m"].iloc[0] == pytest.approx(length, abs=20)


def test_a_phone_that_skips_fixes_walks_the_same_outings(layers):
    """``skip`` drops a share of fixes at random and changes nothing else: the kept fixes are
    those of the same seed without skipping, each outing's first and last among them (on the
    street simulator and on open ground)."""
    full = simulate_patrols(layers, n_outings=6, seed=3, interval_s=1).fixes
    some = simulate_patrols(layers, n_outings=6, seed=3, interval_s=1, skip=0.6).fixes
    both = some.merge(full, on=["track_id", "t"], suffixes=("", "_full"))
    assert len(both) == len(some)
    np.testing.assert_array_equal(both[["lon", "lat"]].to_numpy(), both[["lon_full", "lat_full"]].to_numpy())
    assert 0.35 < len(some) / len(full) < 0.45
    for agg in ("first", "last"):
        pd.testing.assert_series_equal(some.groupby("track_id")["t"].agg(agg), full.groupby("track_id")["t"].agg(agg))
    with pytest.raises(ValueError, match="skip 1"):
        simulate_patrols(layers, n_outings=2, seed=3, skip=1.0)
    # and so on open ground (not on plain walks, whose truth holds every fix)
    full, truth = open_ground_walks(5, 1, 4)
    some, truth_some = open_ground_walks(5, 1, 4, skip=0.5)
    pd.testing.assert_frame_equal(truth, truth_some)
    both = some.merge(full, on=["track_id", "t"], suffixes=("", "_full"))
    assert len(both) == len(some) and 0.45 < len(some) / len(full) < 0.55
    np.testing.assert_array_equal(both[["lon", "lat"]].to_numpy(), both[["lon_full", "lat_full"]].to_numpy())
    with pytest.raises(ValueError, match="none on plain walks"):
        open_ground_walks(2, 1, 4, plain=True, skip=0.5)


def test_uneven_sampling_on_the_street_simulator(layers, street_junctions):
    """The spring campaign (seed 11, 388 outings) at 1 s fixes of which the phone skips a
    random three quarters (``python -m patrol.accuracy --skip 0.75``: fixes 1-20 s apart, 4 s
    on average), with the street layer: median 0.31 %, worst 3.6 %, 2 tracks beyond 3 %
    (evenly at 1 s: 0.32 %, 2.75 %, 0). Before bursts were counted in fixes as well as in
    seconds (patrol.outliers._beyond_median): worst 11.4 %, 5 tracks beyond 3 %. (Before
    burst fixes were moved back, not dropped: median 0.31 %, worst 3.1 %, mean abs error
    0.505 -> 0.495 %; the worst track, spring-0135, -3.1 -> -3.6 %, moved by 7 fixes.)"""
    sim = simulate_patrols(layers, n_outings=388, seed=11, interval_s=1, skip=0.75)
    same = (sim.fixes["track_id"].to_numpy()[1:] == sim.fixes["track_id"].to_numpy()[:-1])
    gaps = np.diff(epoch_s(sim.fixes["t"]))[same]
    assert 3.8 < gaps.mean() < 4.6 and gaps.min() == 1.0  # uneven: 1 s at the least, 4 s on average
    err = per_track_error(mileage(sim.fixes, streets=street_junctions)[0], sim.truth)["error"].abs()
    print(f"\nuneven 1 s fixes, 75 % skipped: median {err.median():.2%}, worst {err.max():.2%}, "
          f"beyond 3 %: {(err > 0.03).sum()}")
    assert err.median() < 0.005
    assert (err > 0.03).sum() <= 2
    assert err.max() < 0.037


def test_overlapping_bursts_are_taken_out():
    """Two bursts overlap (100 m east for 60 s; 30 s in, a second one 52 m north for 60 s):
    the jumps are in A, in B, out of A, out of B. Only all four add up to nothing, and the
    last (out of B) is half the first: a rule that a jump back be at least half the jump
    away left both bursts in (+170 m on an 800 m walk)."""
    walk, length = _gm_walk([(0, 0), (800, 0)], 2, 2.0, 60.0, step_s=5)
    walk = _offset(_offset(walk, 200, 260, 100, 0), 230, 290, 0, 52)
    table, _ = mileage(walk)
    assert table["distance_m"].iloc[0] == pytest.approx(length, abs=10)


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_a_burst_just_after_a_tangle_of_two(seed):
    """Simulated spring-0089 (seed 7, 1 s fixes, unflagged bursts of 10-60 s): two bursts
    overlap (120 m north for 33 s; 12 s in, 100 m east for 30 s), then 8 s of walk, then a
    third 115 m north for 34 s. The four jumps of the tangle add up to nothing, and so do
    the jump into the second burst, the two out of the tangle and the jump into the third:
    that chance pair took the jump into the third burst for a jump back, and the third burst
    stayed (+178 to +195 m on these 800 m). Pairs that cross (a jump inside an open burst
    taken back only after that burst ended) leave their jump back free to open the next
    burst (0 / -3 / -5 m)."""
    walk, length = _gm_walk([(0, 0), (800, 0)], seed, 3.0, 60.0)
    walk = _offset(_offset(walk, 200, 233, 0, 120), 212, 242, 100, 0)
    walk = _offset(walk, 250, 284, 10, 115)
    table, _ = mileage(walk)
    assert table["distance_m"].iloc[0] == pytest.approx(length, abs=15)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_walk_between_bursts_whose_jumps_cross_stays(seed, monkeypatch):
    """Simulated spring-0380 (seed 7, 1 s fixes, unflagged bursts of 10-60 s): a burst that
    shifts twice inside (77 m south, then 109 m west and 16 m south of the walk), 65 s of walk
    round a corner, then a burst 44 m south-west. A jump inside the first burst and the jump
    into the second add up to under half the jump: that pair crosses the first burst's own
    and, fitted within half the jump, took the 65 s of walk for a burst; with the jump into
    the second burst free to open it too, the corner went (-70 to -79 m on these 980 m, when
    a burst's fixes were dropped; before the crossing rule the second burst stayed: +13 to
    -32 m). Taken for a burst now, the walk would be moved by the chance pair's jumps."""
    import patrol.outliers as outliers

    def measured(cross_fit):
        monkeypatch.setattr(outliers, "CROSS_FIT", cross_fit)
        walk, length = _gm_walk([(0, 0), (383, 0), (383, 600)], seed, 2.0, 60.0)
        for a, b, dx, dy in ((200, 250, 13, -77), (250, 253, -97, -92), (253, 262, -109, -16),
                             (327, 386, -22, -38)):
            walk = _offset(walk, a, b, dx, dy)
        table, c = mileage(walk)
        return table["distance_m"].iloc[0] - length, c.moved[0] + table["dropped_by_reason"].iloc[0]["outlier"]

    err, in_bursts = measured(outliers.CROSS_FIT)
    loose_err, loose_in_bursts = measured(0.5)  # fitted as loosely as any burst
    assert abs(err) < 15
    assert in_bursts == 62 + 59  # the two bursts' fixes
    assert loose_in_bursts - in_bursts >= 50  # most of the 65 s of walk between


def _drop_bursts(monkeypatch):
    """Burst fixes dropped, as before they were moved back (a counterfactual)."""
    import patrol.clean as clean_mod

    real = clean_mod.burst_offsets

    def dropped(*args):
        ox, oy, movable = real(*args)
        return ox, oy, np.zeros_like(movable)

    monkeypatch.setattr(clean_mod, "burst_offsets", dropped)


@pytest.mark.parametrize("interval", [1, 5], ids=["1s", "5s"])
@pytest.mark.parametrize("seed", [41, 42, 43])
def test_the_walk_under_a_burst_is_measured(seed, interval, monkeypatch):
    """A 60 s burst 100 m off while the walker turns a corner: the jumps into and out of it
    say where its fixes were taken, and moved back they keep the corner: the walk measures as
    it does without the burst (within 0-5 m). Dropped, the path bridged the burst straight and
    cut the corner (-10 to -32 m on this 600 m walk; on open-ground
    walks of 1-2 km in issue 15's range a per-track mean of -0.3 % / -0.5 %, 1 s / 5 s fixes)."""
    walk, _ = _gm_walk([(0, 0), (300, 0), (300, 300)], seed, 4.0, 60.0, step_s=interval)
    no_burst = mileage(walk)[0]["distance_m"].iloc[0]
    walk = _offset(walk, 200, 260, -60, 80)
    table, c = mileage(walk)
    assert c.moved[0] == 60 // interval
    assert table["distance_m"].iloc[0] == pytest.approx(no_burst, abs=7)
    _drop_bursts(monkeypatch)
    assert mileage(walk)[0]["distance_m"].iloc[0] - no_burst < -15


def _standing_walk(seed, offsets, seen=None, sigma_m=5.0, tau_s=60.0, step_s=1.0, stand_s=400.0):
    """300 m east, ``stand_s`` standing, 300 m north (fixes every ``step_s``, Gauss-Markov
    error), ``offsets`` (t0, t1, dx, dy) added, only the fixes ``seen`` (a mask over the
    seconds) kept; and its length (600 m)."""
    t = np.arange(0.0, 231 + stand_s + 231, step_s)
    x = np.minimum(t, 231) * 1.3
    y = np.maximum(t - 231 - stand_s, 0) * 1.3
    e = gauss_markov_error(len(t), step_s, sigma_m, tau_s, np.random.default_rng(seed))
    x, y = x + e[0], y + e[1]
    for a, b, dx, dy in offsets:
        x[(t >= a) & (t < b)] += dx
        y[(t >= a) & (t < b)] += dy
    seen = np.ones(len(t), bool) if seen is None else seen(t)
    return pd.DataFrame({"track_id": f"s-{seed}", "t": pd.Timestamp("2026-03-02T01:00:00Z")
                         + pd.to_timedelta(t[seen], unit="s"),
                         "lon": 119.50 + x[seen] / 90_780, "lat": 35.40 + y[seen] / 111_195}), 600.0


@pytest.mark.parametrize("seed", [44, 45, 46])
def test_overlapping_bursts_that_end_in_a_dropout(seed):
    """Open-ground walk gm-275 of 1-2 km (seed 42, 1 s fixes, the issue's range): standing,
    the phone went 140 m off, 14 s later 77 m further in a second burst, and lost the signal
    for 30 s before either ended. Neither jump is taken back; the last one was taken for a
    burst the stretch ends in, the first was not, and its 14 s were walked there and back
    (+18.8 % on that track, +280 m). Every jump that only such jumps follow to the stretch's
    end opens the burst now."""
    walk, length = _standing_walk(seed, [(300, 347, 110, 87), (314, 347, -60, 48)],
                                  seen=lambda t: ~((t >= 342) & (t < 372)))
    table, c = mileage(walk)
    assert c.moved[0] + table["dropped_by_reason"].iloc[0]["outlier"] == 42  # 300-341: both found
    assert table["distance_m"].iloc[0] == pytest.approx(length, abs=15)


@pytest.mark.parametrize("seed", [50, 51, 52])
def test_a_burst_begun_in_a_short_dropout(seed, monkeypatch):
    """Open-ground gm-112 (walks of 1-2 km, seed 42, 1 s fixes): standing, the phone lost the
    signal for 19 s and came back 44 m off (a step walkable in 19 s: no jump), and jumped back
    22 s later. With stretches cut only at dropouts over 20 s the jump back had no jump to pair
    with and no stretch edge to start from, and the burst was walked: +7.0 %. At 1 s fixes a
    stretch now ends at a gap of 10 s (5 x the track's interval, at least 10 s:
    patrol.outliers.burst_stretches), and the burst is one the stretch begins in. (Its jump
    back, 44 m in 1 s, is big enough for a short dropout too: patrol.outliers.short_dropouts.)"""
    from patrol import outliers

    def seen(t):
        return ~((t >= 400) & (t < 419))

    no_burst = mileage(_standing_walk(seed, [], seen=seen)[0])[0]["distance_m"].iloc[0]
    walk, _ = _standing_walk(seed, [(400, 441, -30, 32)], seen=seen)
    table, c = mileage(walk)
    assert c.moved[0] == 22
    assert table["distance_m"].iloc[0] == pytest.approx(no_burst, abs=3)
    monkeypatch.setattr(outliers, "BURST_GAP_K", 100.0)  # cut at BURST_DROPOUT_S only
    assert mileage(walk)[0]["distance_m"].iloc[0] == pytest.approx(no_burst, abs=3)
    monkeypatch.setattr(outliers, "SHORT_DROPOUT_K", 0.0)  # ... and no short dropouts
    assert mileage(walk)[0]["distance_m"].iloc[0] > no_burst + 60


@pytest.mark.parametrize("seed", [53, 54, 55])
def test_a_burst_begun_in_a_dropout_of_a_few_missed_fixes(seed, monkeypatch):
    """As open-ground gm-045 (walks of 1-2 km, seed 43, 5 s fixes: walking, 3 missed fixes,
    back 72 m off, the jump back 45 s later: +6.6 %): here 3 missed fixes (a 20 s gap: no
    stretch cut at 5 s fixes) and back 58 m off, a step walkable in 20 s, then the jump back
    45 s later. The jump back paired with nothing and the burst was walked (+2 x ~58 m).
    Such a gap is now a short dropout (patrol.outliers.short_dropouts) a burst with a big jump
    may begin in, and the burst's fixes are moved back by the jump."""
    plain, _ = _gm_walk([(0, 0), (500, 0), (500, 300)], seed, 4.0, 60.0, step_s=5,
                        dropout_s=(201, 216))
    _assert_burst_taken_out(plain, (216, 261, -20.0, -55.0), moved=9, within_m=5,
                            monkeypatch=monkeypatch, without=("SHORT_DROPOUT_K", 0.0), longer_m=60)


@pytest.mark.parametrize("seed", [56, 57, 58])
def test_a_jump_is_the_edge_of_one_burst_only(seed):
    """Walking east at 5 s fixes: 3 fixes missed (a short dropout, 300-320 s), then a burst
    60 m off from 340 s that ends unseen in a 45 s dropout (a stretch cut). Its jump is the
    first edge of a burst the dropout ends; with stretches also cut at the short dropout, the
    same jump also read as the last edge of a burst begun there, the 20 s of walk before it
    was taken for burst, and with no side held all of it was dropped (found in review)."""
    walk, _ = _gm_walk([(0, 0), (800, 0)], seed, 4.0, 60.0, step_s=5)
    t_s = (walk["t"] - walk["t"].iloc[0]).dt.total_seconds().to_numpy()
    plain = walk[~((t_s > 300) & (t_s < 320)) & ~((t_s >= 370) & (t_s < 410))].reset_index(drop=True)
    no_burst = mileage(plain)[0]["distance_m"].iloc[0]
    table, c = mileage(_offset(plain.copy(), 340, 370, 0.0, 60.0))
    assert c.moved[0] == 6  # 340-365 s
    assert c.dropped.loc[f"gm-{seed}", "outlier"] == 0
    assert table["distance_m"].iloc[0] == pytest.approx(no_burst, abs=5)


@pytest.mark.parametrize("seed", [59, 60, 61])
def test_a_track_begun_in_a_burst_whose_jump_back_is_one_step(seed, monkeypatch):
    """Open-ground gm-040 (walks of 1-2 km, seed 42, 5 s fixes): the phone's first 36 s were
    39 m off, and one step took it back. A burst the track begins in has no jump into it to
    check against, so its jump back must be big: twice what walking and noise allow in 5 s
    (40 m) asked too much, and the burst was walked (+3.7 %). One step between two fixes now
    needs 1.5 x (30 m; patrol.outliers.ONE_STEP_BIG_K): here 34 m back after 40 s."""
    walk, _ = _gm_walk([(0, 0), (600, 0), (600, 300)], seed, 4.0, 60.0, step_s=5)
    _assert_burst_taken_out(walk, (0, 40, -10.0, 33.0), moved=8, within_m=4,
                            monkeypatch=monkeypatch, without=("ONE_STEP_BIG_K", 2.0), longer_m=20)


def _assert_burst_taken_out(plain, burst, moved, within_m, monkeypatch, without, longer_m):
    """``plain`` with the fixes of ``burst`` (t_lo, t_hi, dx_m, dy_m; :func:`_offset`) moved
    off: ``moved`` fixes are moved back and the walk measures within ``within_m`` of ``plain``;
    with patrol.outliers' constant ``without`` (name, value) set, more than ``longer_m`` longer."""
    from patrol import outliers

    no_burst = mileage(plain)[0]["distance_m"].iloc[0]
    walk = _offset(plain.copy(), *burst)
    table, c = mileage(walk)
    assert c.moved[0] == moved
    assert table["distance_m"].iloc[0] == pytest.approx(no_burst, abs=within_m)
    monkeypatch.setattr(outliers, *without)
    assert mileage(walk)[0]["distance_m"].iloc[0] > no_burst + longer_m


@pytest.mark.parametrize("seed", [47, 48, 49])
def test_the_standing_between_a_spike_and_a_burst_is_not_moved(seed, monkeypatch):
    """Simulated spring-0269 (seed 7, 1 s fixes): standing, a 2-fix spike 264 m off, a 21 s
    dropout, and 108 s on a burst 215 m off for 8 s, in about the spike's direction. The
    spike's way back, across the dropout, and the jump into the burst cancel and fit: taken
    for a burst, the 108 s of standing between were dropped (which cost nothing) and, once a
    burst's fixes were moved back, moved 215 m off (+5.8 %). Its far side (the 8 s burst) is
    held for less than BURST_SIDE_S, its near side begins after a dropout: no side says how far,
    so its fixes are dropped as before."""
    from patrol import outliers

    walk, length = _standing_walk(seed, [(400, 402, 250, 85), (531, 539, 205, 70)],
                                  seen=lambda t: ~((t >= 402) & (t < 423)))
    table, _ = mileage(walk)
    assert table["distance_m"].iloc[0] == pytest.approx(length, abs=15)
    monkeypatch.setattr(outliers, "BURST_SIDE_S", 0.0)
    assert mileage(walk)[0]["distance_m"].iloc[0] > length + 200

@pytest.mark.parametrize("seed", [4, 5, 6])
def test_a_burst_begun_in_a_dropout_with_another_over_its_end(seed):
    """Simulated spring-0268 (seed 7, 1 s fixes, unflagged bursts of 10-60 s): the phone
    comes back from a 200 s dropout 92 m off, and 22 s later a second burst puts it 131 m
    further for 36 s, overlapping the first one's end. The jumps: into the second, out of the
    first, out of the second. The first jump was taken for the way back from the burst begun
    in the dropout, and the 31 s of overlap, 150 m off, were walked (+292 to +309 m on these
    1,000 m). The first and last jumps cancel with the one between left out, and that one is
    the way back (-1 to +2 m)."""
    walk, length = _gm_walk([(0, 0), (700, 0), (700, 300)], seed, 3.0, 60.0, dropout_s=(100, 300))
    walk = _offset(_offset(walk, 300, 353, 56, -73), 322, 358, 93, 92)
    table, _ = mileage(walk)
    assert table["distance_m"].iloc[0] == pytest.approx(length, abs=15)


def test_back_to_back_bursts_with_one_clean_fix_between():
    """Simulated spring-0162 (seed 7, 5 s fixes, street simulator with bursts of 10-60 s): a
    burst 146 m south for 30 s, one clean fix, a burst 128 m north for 30 s. The steps out of
    the first and into the second are one run of fast steps; with it the jump away nearly
    cancels (128 m left of 146 m and 272 m, under half), so it closed the first burst and the
    second stayed (+3.7 % on that track; 1,013 m for these 800 m). The jump back out of both, which leaves
    nothing, now wins over the nearer one that leaves half."""
    walk, length = _gm_walk([(0, 0), (800, 0)], 3, 2.0, 60.0, step_s=5)
    walk = _offset(_offset(walk, 200, 230, 28, -143), 235, 265, 1, 128)
    table, _ = mileage(walk)
    assert table["distance_m"].iloc[0] == pytest.approx(length, abs=10)


@pytest.mark.parametrize("seed", [3, 4, 6, 7])
def test_back_to_back_bursts_whose_jump_between_nearly_takes_the_first_back(seed, monkeypatch):
    """Open-ground gm-252 (walks of 1-2 km, seed 42, 5 s fixes): 128 m off for 15 s, then
    straight on 39 m the other way for 25 s. The jump between the two leaves 39 m, under a
    quarter of the larger of the two jumps (the jump between, 157 m), so it closed the first
    burst, and the second was walked out and back (+7.4 % on that walk; here 35 m the other
    way, 1 s fixes walking: +57 to +77 m of 800 m). The jump out of the second leaves ~0 m: a
    farther jump that leaves under a third of the nearer's metres (a jump's worth) now wins.
    The jump out of the second, next to the pair that closed the first and leaving what it
    left, also closes the second as a burst of its own (patrol.outliers.NEXT_TO_PAIR): either
    rule alone takes both bursts out."""
    from patrol import outliers

    walk, length = _gm_walk([(0, 0), (800, 0)], seed, 3.0, 60.0)
    walk = _offset(_offset(walk, 300, 315, -110, -66), 315, 340, 34, -8)
    now = mileage(walk)[0]["distance_m"].iloc[0]
    monkeypatch.setattr(outliers, "BURST_BETTER", np.inf)  # the nearest that leaves < 1/4 wins
    next_to_pair = mileage(walk)[0]["distance_m"].iloc[0]
    monkeypatch.setattr(outliers, "NEXT_TO_PAIR", False)
    before = mileage(walk)[0]["distance_m"].iloc[0]
    print(f"\nback-to-back bursts: {before - length:+.0f} m before, {now - length:+.0f} m now")
    assert before - length > 40
    assert now == pytest.approx(length, abs=10)
    assert next_to_pair == pytest.approx(length, abs=10)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_burst_the_signal_is_lost_in_while_standing(seed, monkeypatch):
    """Open-ground gm-129 (walks of 1-2 km all on curves, seed 42, 5 s fixes): standing, the
    phone went 124 m off for 2 fixes, lost the signal for 35 s and came back still off for 2
    fixes. Each side was too short for a burst at a dropout's edge (the running median's
    work), and the median, which reads across a dropout, saw both sides: 4 of its 7 fixes
    off, they stayed (+29 %; here 120 m off, 2 fixes either side of a 35 s dropout: +365 to
    +486 m of 600 m). The last jump before the dropout and the first after it now pair: moved back."""
    from patrol import outliers

    fixes, length = _standing_walk(seed, [(255, 310, 30, 115)], lambda t: ~((t >= 265) & (t < 300)),
                                   sigma_m=4.0, step_s=5)
    table, c = mileage(fixes)
    assert c.moved.sum() == 4
    assert table["distance_m"].iloc[0] == pytest.approx(length, abs=15)
    monkeypatch.setattr(outliers, "BURST_ACROSS", 0.0)
    assert mileage(fixes)[0]["distance_m"].iloc[0] > length + 300


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_way_back_from_a_burst_over_a_dropout_is_not_paired_on(seed, monkeypatch):
    """Open-ground gm-176 (walks of 1-2 km, seed 46, 5 s fixes): standing, the phone went
    130 m off for 2 fixes, lost the signal for 40 s, came back off for 3 more fixes, jumped
    back, and 80 s on went 84 m off for 40 s. The jump back, first of its stretch, left half
    of itself with the jump into the next burst, paired with it, and the standing between
    was moved 84 m off while the second burst stayed (+20 %; here +258 to +298 m). The jumps
    either side of the dropout now pair first."""
    from patrol import outliers

    fixes, length = _standing_walk(seed, [(325, 385, 126, -28), (465, 505, 67, -51)],
                                   lambda t: ~((t >= 335) & (t < 370)), sigma_m=4.0, step_s=5)
    assert mileage(fixes)[0]["distance_m"].iloc[0] == pytest.approx(length, abs=12)
    monkeypatch.setattr(outliers, "BURST_ACROSS", 0.0)
    assert mileage(fixes)[0]["distance_m"].iloc[0] > length + 200


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_long_burst_over_a_dropout_while_walking(seed, monkeypatch):
    """Open-ground gm-212 (walks of 1-2 km, seed 46, 1 s fixes): walking, 107 m off for 32 s,
    a 12 s dropout, 12 s more off, back, and 40 s on off again. The side before the dropout
    is longer than the running median's window: the jumps either side pair only because the
    fix after the dropout sits where the one before it, walked on at the pace before the
    burst, puts it.
    Without that the jump back paired with the jump into the next burst (+9.0 %; here +209 to
    +234 m of 910 m)."""
    from patrol import outliers

    walk, length = _gm_walk([(0, 0), (910, 0)], seed, 4.0, 60.0, dropout_s=(332, 344))
    walk = _offset(_offset(walk, 300, 356, 60, 88), 395, 435, 70, 100)
    assert mileage(walk)[0]["distance_m"].iloc[0] == pytest.approx(length, abs=10)
    monkeypatch.setattr(outliers, "ACROSS_FIT", 0.0)
    assert mileage(walk)[0]["distance_m"].iloc[0] > length + 150


@pytest.mark.parametrize("seed", [1, 4, 5, 7, 9])
def test_a_small_burst_begun_in_a_dropout_at_a_stop(seed, monkeypatch):
    """Open-ground gm-087 (walks of 1-2 km, seed 43, 5 s fixes): standing, the phone came back
    from a 25 s dropout 41 m off for 20 s and jumped back 36 m to where it stood. A burst begun
    in a dropout has no jump into it to check its way back against, so that jump had to be
    twice what the speed cap allows in 5 s (40 m): the burst stayed (+7.4 %). A jump back to
    where the phone was on the dropout's other side (within ENDS_CANCEL x the jump) now counts.
    Here 35 m off for 25 s at a stop, sigma 4 m: +55 to +77 m before, within 10 m now, in 7
    of seeds 1-12; in the other 5 the phone's own drift over the 50 s puts the jump back
    further off than that, and the burst stays (+36 to +82 m) - these seeds are the 5 of
    those 7 with 68 m or more to take back. The jump back is one step of 35 m, so 1.5 x what
    the speed cap allows in 5 s (patrol.outliers.ONE_STEP_BIG_K) takes the burst out too."""
    from patrol import outliers

    fixes, length = _standing_walk(seed, [(480, 505, 0, -35)], lambda t: ~((t >= 455) & (t < 480)),
                                   sigma_m=4.0, step_s=5)
    table, c = mileage(fixes)
    assert c.moved.sum() == 5
    assert table["distance_m"].iloc[0] == pytest.approx(length, abs=10)
    monkeypatch.setattr(outliers, "ENDS_CANCEL", 0.0)
    assert mileage(fixes)[0]["distance_m"].iloc[0] == pytest.approx(length, abs=10)
    monkeypatch.setattr(outliers, "ONE_STEP_BIG_K", 2.0)
    table, c = mileage(fixes)
    assert c.moved.sum() == 0
    # seed 9: the stop's halves either side of the burst, their edges tested against where the
    # phone showed the stop's ends (patrol.clean._stop_edges), join into one stop of 420 s
    # that hides the burst
    import patrol.clean

    monkeypatch.setattr(patrol.clean, "EDGE_DRIFT_M", np.inf)
    assert mileage(fixes)[0]["distance_m"].iloc[0] > length + 50


@pytest.mark.parametrize("case", ["begun in the dropout", "ended in the dropout"])
@pytest.mark.parametrize("seed", [1, 5, 9])
def test_a_burst_at_a_dropout_whose_other_end_a_second_burst_overlaps(case, seed, monkeypatch):
    """Open-ground walk of 1-2 km in issue 15's range (seed 42, 5 s fixes; a variant of the
    simulator): standing, a 20 s dropout, back 84 m off for 25 s, when a second burst 143 m
    off began. The jump into the second with the first's way back merged in and the jump out
    of the second paired, leaving 85 m, and the first burst's 25 s stayed, walked out and
    back: +14.7 %. The fixes before such a pair that sit where the phone stood before the
    dropout, moved by what the pair leaves, are a burst now (and so at a dropout after the
    pair). Here at a stop, 5 s fixes, sigma 5 m: within 8 m; +97 to +226 m without."""
    from patrol import outliers

    if case == "begun in the dropout":
        offsets, seen = [(480, 508, 60, 55), (505, 557, -30, -140)], lambda t: ~((t >= 455) & (t < 480))
    else:
        offsets, seen = [(400, 452, -30, -140), (449, 477, 60, 55)], lambda t: ~((t >= 477) & (t < 502))
    fixes, length = _standing_walk(seed, offsets, seen, step_s=5)
    assert mileage(fixes)[0]["distance_m"].iloc[0] == pytest.approx(length, abs=10)
    monkeypatch.setattr(outliers, "UNDER_PAIR", False)
    assert mileage(fixes)[0]["distance_m"].iloc[0] > length + 90


@pytest.mark.parametrize("seed", [1, 5, 9])
def test_a_burst_begun_in_a_dropout_whose_way_back_a_later_jump_loosely_cancels(seed, monkeypatch):
    """Open-ground walk of 1-2 km in issue 15's range (simulator variant, seed 45, sigma 7.4 m,
    tau 70 s): standing, a 25 s dropout, back 56 m off for 20 s, then 95 s later a second
    burst 75 m off for 35 s. The way back from the first and the way into the second left
    0.49 of the larger, under BURST_CANCEL: they paired, the 95 s of standing between were
    moved 56 m off and the first burst stayed (+8.4 % / +7.3 % at 5 s / 1 s). A stretch's
    first jump that takes the phone back to where it stood before the dropout is that
    burst's way back now, unless a jump takes it back closely. Here within 8 m; +137 to
    +157 m without."""
    from patrol import outliers

    fixes, length = _standing_walk(seed, [(300, 345, 48, -29), (440, 475, 39, -64)],
                                   lambda t: ~((t >= 300) & (t < 325)), step_s=5)
    assert mileage(fixes)[0]["distance_m"].iloc[0] == pytest.approx(length, abs=8)
    monkeypatch.setattr(outliers, "LOOSE_AT_DROPOUT", False)
    assert mileage(fixes)[0]["distance_m"].iloc[0] > length + 120


@pytest.mark.parametrize("seed", [1, 4, 6])
def test_a_burst_across_a_dropout_with_a_spike_at_its_edge(seed, monkeypatch):
    """Open-ground walk of 1-2 km in issue 15's range (simulator variant, seed 46, 1 s fixes,
    sigma 4.7 m): walking, the phone went 85 m off for 58 s, across a 27 s dropout, and the
    last fix before the dropout was in a second burst besides. The step into that fix and
    the step across the dropout, both fast, made one jump of 24 m; it was no burst's edge,
    and the 17 s of the burst before the dropout were walked: +7.5 %, now +2.1 %. A run of
    fast steps ends at a dropout now (the step across it is a jump of its own). Here within
    2 m of the same walk without the bursts; +113 to +156 m without."""
    from patrol import outliers

    fixes, length = _gm_walk([(0, 0), (600, 0), (600, 500)], seed, 4.5, 50.0, dropout_s=(318, 345))
    clean_m = mileage(fixes.copy())[0]["distance_m"].iloc[0]
    fixes = _offset(_offset(fixes, 300, 359, -60, -57), 317, 318, -50, 40)
    assert mileage(fixes)[0]["distance_m"].iloc[0] == pytest.approx(clean_m, abs=2.5)
    monkeypatch.setattr(outliers, "SPLIT_AT_CUT", False)
    assert mileage(fixes)[0]["distance_m"].iloc[0] > clean_m + 100


@pytest.mark.parametrize("seed", [2, 5, 10])
def test_a_burst_whose_way_in_merged_with_the_way_back_of_a_burst_across_a_dropout(seed, monkeypatch):
    """Open-ground walk of 1-2 km in issue 15's range (simulator variant, seed 46, 5 s fixes,
    sigma 4.4 m): 126 m off for 40 s across a 23 s dropout, then 43 m off in a second burst
    that began as the first ended. The jump into the first and the one out of it (merged
    with the way into the second) paired across the dropout, leaving the second's offset;
    the second's way back, paired with nothing, left it walked: +6.6 %, now +1.4 %. The jump
    next to a pair that takes back what the pair leaves (the walk in the jumps' steps taken
    off) closes a burst there now. Here walking: within 0.5 m of the same walk without the
    bursts; +24 to +42 m without."""
    from patrol import outliers

    fixes, length = _gm_walk([(0, 0), (900, 0)], seed, 4.4, 48.0, step_s=5, dropout_s=(200, 225))
    clean_m = mileage(fixes.copy())[0]["distance_m"].iloc[0]
    fixes = _offset(_offset(fixes, 190, 236, 46, 117), 235, 272, -10, -35)
    assert mileage(fixes)[0]["distance_m"].iloc[0] == pytest.approx(clean_m, abs=0.5)
    monkeypatch.setattr(outliers, "NEXT_TO_PAIR", False)
    assert mileage(fixes)[0]["distance_m"].iloc[0] > clean_m + 20


@pytest.mark.parametrize("seed", [1, 4, 9])
def test_a_second_burst_that_ends_in_a_dropout_is_no_pair_of_the_first(seed, monkeypatch):
    """Open-ground walk of 1-2 km in issue 15's range (simulator variant, seed 52, gm-132, 5 s
    fixes): 98 m off for 60 s; from 50 s on 82 m further in a second burst that ended in a
    dropout. The way into the first and the first's way back (out of the overlap) paired
    round the stretch's end, the jump into the second left out for a burst the stretch ends
    in; but that jump had paired with the first's way back too, by chance, and so took no
    burst of its own: its 15 s before the dropout were walked (+5.7 % / +5.4 % at 5 s / 1 s;
    now -0.7 % / -0.2 %). The jump left out pairs with no other now. Here walking: within
    3 m of the same walk without the bursts; +75 to +96 m without."""
    from patrol import outliers

    fixes, length = _gm_walk([(0, 0), (900, 0)], seed, 5.0, 100.0, step_s=5, dropout_s=(278, 309))
    clean_m = mileage(fixes.copy())[0]["distance_m"].iloc[0]
    fixes = _offset(_offset(fixes, 200, 260, 12, 99), 250, 293, 30, 76)
    assert mileage(fixes)[0]["distance_m"].iloc[0] == pytest.approx(clean_m, abs=3)
    monkeypatch.setattr(outliers, "EDGE_MID_FREE", False)
    assert mileage(fixes)[0]["distance_m"].iloc[0] > clean_m + 60


def _two_stops_round_a_corner(seed, gap_m, step_s, sigma_m=5.0, tau_s=60.0):
    """300 m south, 200 s standing, ``gap_m`` east, 200 s standing, 300 m north, at 1.3 m/s
    (fixes every ``step_s``, Gauss-Markov error); and its length."""
    legs = [(300 / 1.3, 0.0, -1.3), (200.0, 0.0, 0.0), (gap_m / 1.3, 1.3, 0.0), (200.0, 0.0, 0.0),
            (300 / 1.3, 0.0, 1.3)]
    ends = np.cumsum([leg[0] for leg in legs])
    t = np.arange(0.0, ends[-1], step_s)
    x, y = np.zeros(len(t)), np.zeros(len(t))
    px = py = t0 = 0.0
    for (dur, vx, vy), t1 in zip(legs, ends):
        on = (t >= t0) & (t < t1)
        x[on], y[on] = px + vx * (t[on] - t0), py + vy * (t[on] - t0)
        px, py, t0 = px + vx * dur, py + vy * dur, t1
    e = gauss_markov_error(len(t), step_s, sigma_m, tau_s, np.random.default_rng(seed))
    return pd.DataFrame({"track_id": f"s-{seed}", "t": pd.Timestamp("2026-03-02T01:00:00Z")
                         + pd.to_timedelta(t, unit="s"),
                         "lon": 119.50 + (x + e[0]) / 90_780, "lat": 35.40 + (y + e[1]) / 111_195}), 600.0 + gap_m


@pytest.mark.parametrize("interval", [1, 5], ids=["1s", "5s"])
def test_two_stops_a_short_walk_apart_are_two_stops(interval, monkeypatch):
    """Two stops 30 m apart round a corner (an officer at one shop, then at the next), sigma
    5 m: the stop window reaches across the walk between them, the stops' edges join its
    fixes, and one run hid the walk. A run whose fixes sit at two places, crossed quickly, is
    two stops now (patrol.clean._two_places). Seeds 1-8, mean |error| per walk: 12.2 m / 11.7 m
    (1 s / 5 s fixes), 15.9 m / 14.6 m without; the mean error -4.3 m / -9.5 m, -13.0 m /
    -14.6 m without; worst 27.3 m / 22.6 m (the corners at the stops are still cut: the path
    skips a stop's centroid)."""
    import patrol.clean

    walks = [_two_stops_round_a_corner(seed, 30.0, interval) for seed in range(1, 9)]
    err = np.array([mileage(f)[0]["distance_m"].iloc[0] - length for f, length in walks])
    monkeypatch.setattr(patrol.clean, "TWO_PLACES_M", 0.0)
    before = np.array([mileage(f)[0]["distance_m"].iloc[0] - length for f, length in walks])
    assert np.abs(err).mean() < np.abs(before).mean() - 2.5
    assert err.mean() > before.mean() + 4
    assert np.abs(err).max() < 28


def test_overlapping_bursts_at_a_stop_with_one_clean_fix_between(monkeypatch):
    """Open-ground walk gm-083 (seed 45, 5 s fixes, bursts of 10-60 s, 30-150 m: the issue's
    range): standing, the phone went 99 m off for 50 s, came back for one fix, and went off
    again for 60 s in two overlapping bursts. The step back and the two steps out were one
    run of fast steps, whose sum took back neither burst, and the jump back out of both came
    125 s after the first jump, beyond the 120 s a burst may last: 24 fixes stayed and the
    walk came out +13.9 %. A run of fast steps that turns back on itself (and is no spike,
    out to one fix and straight back) now splits there: two bursts, each taken back."""
    from patrol import outliers

    kw = dict(sigma_m=(3, 8), tau_s=(30, 120), multipath_s=(10, 60), multipath_m=(30, 150))
    fixes, truth = open_ground_walks(300, 5, 45, **kw)
    one = fixes[fixes["track_id"] == "gm-083"]
    true_m = truth.set_index("track_id").loc["gm-083", "true_length_m"]
    now = mileage(one)[0]["distance_m"].iloc[0] / true_m - 1
    monkeypatch.setattr(outliers, "REV_COS", -2.0)  # no run turns back by more than that
    before = mileage(one)[0]["distance_m"].iloc[0] / true_m - 1
    print(f"\ngm-083: {before:+.2%} before, {now:+.2%} now")
    assert before > 0.10
    assert abs(now) < 0.01


def test_a_turn_fix_just_before_a_stop_lends_no_pace(monkeypatch):
    """520 s of simulated spring-0064 (seed 11, 1 s fixes, the street simulator with bursts of
    10-60 s; tests/data): a stop next to two multipath bursts. The burst taken out before the
    stop left a 47 s hole, the fix after it tested as a turn-back 2 s before the stop, and the
    tip moved out by half the walk the hole hid at the pace of that 2 s leg (7 m/s): the 185 m
    walked came out at 708 m. A pace now comes from a leg of 20 s or more.

    The bursts' fixes are moved back now (patrol.outliers.burst_offsets), so there is no hole:
    the case is kept with them dropped, as they are where no side of a burst is held."""
    _drop_bursts(monkeypatch)
    table, _ = mileage(_spring_0064())
    assert table["distance_m"].iloc[0] == pytest.approx(185, abs=10)


@pytest.mark.xfail(strict=True, reason=(
    "issue 15: with the bursts' fixes moved back the walk comes out at 142 m of 185 m: the stop "
    "is taken to start at the walk's tip, 30 s before the walker stands, and the way back is "
    "hidden in it (walking hidden in stops); the dropped burst's hole had moved the tip out"))
def test_the_way_back_into_a_stop_next_to_a_burst_is_walked():
    """spring-0064 as above, its bursts' fixes moved back."""
    table, _ = mileage(_spring_0064())
    assert table["distance_m"].iloc[0] == pytest.approx(185, abs=10)


def _spring_0064():
    """520 s of simulated spring-0064 (tests/data): a stop next to two multipath bursts."""
    fixes = pd.read_csv(Path(__file__).parent / "data" / "turn_before_a_stop_next_to_a_burst.csv")
    fixes["t"] = pd.to_datetime(fixes["t"], utc=True)
    return fixes.assign(track_id="spring-0064")


def _l_streets():
    """Two 1.5 km streets meeting at a right angle, as a street layer."""
    import shapely

    line = lambda pts: shapely.linestrings([(119.50 + x / 90_780, 35.40 + y / 111_195) for x, y in pts])
    return street_layer(np.array([line([(0, 0), (1500, 0)]), line([(1500, 0), (1500, 1500)])]))


@pytest.mark.parametrize("interval", [1, 5], ids=["1s", "5s"])
def test_a_corner_the_snap_missed_is_walked_round(interval, monkeypatch):
    """Walking the L of two streets under sigma 8 m, with the GPS error pulling 20 m into the
    turn over the minute round the corner: where the junction snap missed, the path cut the
    corner (-1.1 % / -1.0 % mean over these 20 walks, 1 s / 5 s fixes; -0.56 % / -0.63 % now:
    -0.53 % / -0.45 % before GPS wiggles stopped being vertices, 9 and 7 walks moved of the
    9 and 9 then). A stretch off the
    street from a leg along one street to a leg along the other, within the bridging limit
    of the way round, now goes round the junction (patrol.streets.bridge_corners)."""
    import patrol.streets as ps

    corner_s = 1500 / 1.3
    errs = {}
    for name in ("with", "without"):
        if name == "without":
            monkeypatch.setattr(ps, "bridge_corners", lambda c, xy, *args: xy)
        e = []
        for k in range(20):
            walk, length = _gm_walk([(0, 0), (1500, 0), (1500, 1500)], k, 8.0, 60.0, interval)
            t = (walk["t"] - walk["t"].iloc[0]).dt.total_seconds().to_numpy()
            pull = 20.0 * np.clip(1 - np.abs(t - corner_s) / 60.0, 0, 1)  # into the turn: west, north
            walk["lon"] -= pull / 90_780
            walk["lat"] += pull / 111_195
            e.append(mileage(walk, streets=_l_streets())[0]["distance_m"].iloc[0] / length - 1)
        errs[name] = np.array(e)
    moved = errs["with"] != errs["without"]
    print(f"\n{interval} s: mean {errs['without'].mean():+.2%} -> {errs['with'].mean():+.2%}, "
          f"{moved.sum()} of 20 walks moved")
    assert moved.sum() >= 5
    assert (errs["with"][moved] > errs["without"][moved]).all()  # round the corner, not across
    assert errs["with"].mean() > errs["without"].mean() + 0.0035
    assert np.abs(errs["with"]).mean() < np.abs(errs["without"]).mean()


@pytest.mark.parametrize("interval", [1, 5], ids=["1s", "5s"])
def test_a_corner_turned_inside_a_hole_is_walked_round(interval, monkeypatch):
    """Walking the L of two streets, the phone loses the signal for 110 s round the corner
    (70 m before it to 73 m after): the straight line across the hole cut the corner, 42 m
    of 3,000 (-1.6 % / -1.7 % mean over these 20 walks, 1 s / 5 s fixes, against -0.17 % /
    -0.24 % for the same walks without the hole). With the street layer the way round the
    junction goes in: it fits the hole's time at 2 m/s, and the legs either side run along
    the two streets. Judged on the legs' ends (within 35 degrees): at 1 s a leg of 11 m into
    the hole's far side ran 34 degrees off the street and two walks missed the corner."""
    import patrol.streets as pm

    # the step alone: the corner bridging takes some of these corners round too
    monkeypatch.setattr(pm, "bridge_corners", lambda c, xy, *args: xy)
    mean = {}
    for hole in ((1100, 1210), None):
        walks = [_gm_walk([(0, 0), (1500, 0), (1500, 1500)], k, 5.0, 60.0, step_s=interval,
                          dropout_s=hole) for k in range(20)]
        fixes = pd.concat([w[0] for w in walks], ignore_index=True)
        for mps in (2.0, 0.0):
            monkeypatch.setattr(pm, "HOLE_MPS", mps)
            table, _ = mileage(fixes, streets=_l_streets())
            err = table["distance_m"].to_numpy() / walks[0][1] - 1
            mean[hole, mps] = err.mean()
            if hole:
                print(f"\n{interval} s, hole, HOLE_MPS {mps}: mean {err.mean():+.3%}, worst {err.min():+.3%}")
    assert mean[None, 2.0] == mean[None, 0.0]  # no hole, nothing added
    assert mean[(1100, 1210), 0.0] < mean[None, 0.0] - 0.01
    assert mean[(1100, 1210), 2.0] == pytest.approx(mean[None, 0.0], abs=0.001)


@pytest.mark.parametrize("shape", ["straight", "zigzag"])
def test_wander_across_a_street_is_taken_off_a_square_is_not(shape, monkeypatch):
    """With the street layer, GPS error wandering 20-30 m across a straight street (sigma
    9 m, tau 40 s) left wiggles the leg matching does not take (their segments run steeply
    to the street): +0.77 % mean over these 20 walks, +0.11 % with the stretches between two
    vertices on the street moved onto it (+0.39 % and -0.02 % since the wiggles the fixes
    cannot tell from a straight walk stopped being vertices: patrol.refit.refit_path). A
    zig-zag across a square beside the street (40 m either side) is walked, not error: it
    stays, also at sigma 9 m (+0.36 %, now +0.09 %; the bridging still takes the wander off
    the rest of the walk: +0.68 %, now +0.31 %, without)."""
    import patrol.streets as pm

    corners = {"straight": [(0, 0), (1500, 0), (1500, 1500)],
               "zigzag": [(0, 0), (400, 0), (460, 40), (520, -40), (580, 40), (640, -40), (700, 0),
                          (1500, 0), (1500, 1500)]}[shape]
    walks = [_gm_walk(corners, k, 9.0, 40.0) for k in range(20)]
    fixes = pd.concat([w[0] for w in walks], ignore_index=True)
    streets = _l_streets()
    mean, on = {}, pm.BRIDGE_K
    for k in (on, 0.0):
        monkeypatch.setattr(pm, "BRIDGE_K", k)
        table, _ = mileage(fixes, streets=streets)
        err = table["distance_m"].to_numpy() / walks[0][1] - 1
        mean[k] = err.mean()
        print(f"\n{shape}, sigma 9 m, BRIDGE_K {k}: mean {err.mean():+.3%}, "
              f"worst {err[np.abs(err).argmax()]:+.3%}")
    if shape == "straight":
        assert mean[0.0] > 0.003  # the wiggles
        assert abs(mean[on]) < 0.003
    else:
        # flattened onto the street, the zig-zag (444 m for 300 m of street) would be -4.6 %
        assert abs(mean[on]) < 0.01


def test_corner_floor_is_the_gps_error_at_each_corner():
    """What no fitting removes: a staircase walked under Gauss-Markov error; the spread of its
    length grows with sigma (each corner is known to about one GPS error), while with almost
    no error the corners come out exact."""
    calm = staircase_spread(0.01, 60, n_walks=40)
    rough = staircase_spread(8, 60, n_walks=40)
    print(f"\nstaircase: sigma 0 m sd {calm['sd']:.2%}, sigma 8 m sd {rough['sd']:.2%} "
          f"({rough['per_corner_m']:.1f} m per corner)")
    assert calm["sd"] < 0.002 and abs(calm["mean"]) < 0.003
    assert 0.01 < rough["sd"] < 0.025  # measured 1.5-1.9 % (tau 120-30 s, 100 walks)
    assert 6 < rough["per_corner_m"] < 15


def test_oracles_are_exact_without_gps_error():
    """With only the 1 m white noise on the fixes the known-shape oracle of the floor study
    measures true walks exactly (a wrong leg assignment or intersection would show here); the
    steady-pace oracle is off by what its assumption misses (the walker's pace varies +-10 %
    per 100 m: up to 0.58 % measured); the known-timing oracle has no such error. Ours is
    off by what the vertex refit's own steady pace within a leg misses (up to 0.5 % measured; at
    most 0.3 % without the refit, whose gain under GPS error is far larger)."""
    err = oracle_floor(20, seed=5, intervals=(1,), sigma_m=(0.01, 0.01))[1]
    assert err["known_shape"].abs().max() < 0.001
    assert err["known_timing"].abs().max() < 0.0005
    assert 0.001 < err["steady_pace"].abs().max() < 0.006
    assert err["ours"].abs().max() < 0.006  # the method itself: corners, ends, pace


def test_spread_per_track_is_below_the_known_shape_oracle():
    """Issue 15's range (sigma 3-8 m, tau 30-120 s) on plain walks: the spread of our
    per-walk error is below that of an oracle told the walk's shape (which fixes belong to
    which leg and each leg's direction: it fits each leg's line alone; the vertex refit uses
    the time along the legs as well), and only oracles also told the pace or where along
    the walk each fix was taken do better."""
    for iv, err in oracle_floor(80, seed=42, sigma_m=(3, 8), tau_s=(30, 120)).items():
        sd = err[["ours", "known_shape", "steady_pace", "known_timing"]].std(ddof=0)
        worst = err[["ours", "known_shape", "steady_pace", "known_timing"]].abs().max()
        print(f"\n{iv} s, 80 plain walks: sd {sd.round(4).to_dict()}, worst {worst.round(4).to_dict()}")
        assert sd["ours"] < sd["known_shape"]  # 80 walks: 0.87x (1 s), 0.91x (5 s)
        assert sd["steady_pace"] < sd["known_shape"]
        assert sd["known_timing"] < sd["known_shape"]
        assert 0.005 < sd["known_shape"] < 0.012  # the GPS offsets of the legs: ~1 %
        assert err["ours"].abs().median() < 0.01


def _pacing_walks(n_walks, interval_s, pace_m, sigma_m=6.0, tau_s=90.0, seed=3):
    """Walks of 200 m east with a 5-min stop half-way, then four times ``pace_m`` up a market
    row and back (checking stalls), then 200 m on east, at 1.3 m/s under Gauss-Markov GPS
    error; and their length."""
    p = np.array([(0, 0), (200, 0)] + [(200, pace_m), (200, 0)] * 4 + [(400, 0)], float)
    cum = np.r_[0, np.cumsum(np.hypot(*np.diff(p, axis=0).T))]
    # metres walked over time: walk 100 m, stand 300 s, walk the rest
    kt = [0, 100 / 1.3, 100 / 1.3 + 300, 300 + cum[-1] / 1.3]
    t_s = np.arange(0, kt[-1], interval_s)
    s = np.interp(t_s, kt, [0, 100, 100, cum[-1]])
    x, y = np.interp(s, cum, p[:, 0]), np.interp(s, cum, p[:, 1])
    e = gauss_markov_error(len(t_s), interval_s, sigma_m, tau_s, np.random.default_rng(seed), count=n_walks)
    t = pd.Timestamp("2026-03-02T01:00:00Z") + pd.to_timedelta(t_s, unit="s")
    walks = [pd.DataFrame({"track_id": f"p{k:02d}", "t": t, "lon": 119.50 + (x + e[2 * k]) / 90_780,
                           "lat": 35.40 + (y + e[2 * k + 1]) / 111_195}) for k in range(n_walks)]
    return pd.concat(walks, ignore_index=True), cum[-1]


# measured median error per (pace, interval); the stop tests alone lost -33 % and -20 to
# -25 %. The 25 m tips come from patrol.mileage.short_turn_points (without it -24 % / -25 %:
# no stop, but the 30 s turn-back test and the smoothing lost the tips); at 5 s a 25 m leg
# holds only ~4 fixes, and some walks still lose their tips (worst -29 %). The vertex refit
# (patrol.refit) took the medians from -2.8 / -8.3 / -2.0 / -2.3 % to these
PACING_MEDIAN = {(25, 1): -0.013, (25, 5): -0.031, (60, 1): -0.005, (60, 5): -0.013}


@pytest.mark.parametrize("pace_m, sigma_m", [(25, 3.0), (60, 6.0)])
@pytest.mark.parametrize("interval", [1, 5], ids=["1s", "5s"])
def test_pacing_back_and_forth_is_walking_not_a_stop(interval, pace_m, sigma_m):
    """Pacing out and back within a stop's radius passes the stop tests (the smoothed
    positions a window before and after are close); a path running on at walking pace says
    it is no stop: the smoothed path for 60 m, the lightly smoothed one for 25 m (the
    smoothing flattens its tips), faster than the same track's real stop. Without those
    checks the pacing counted as standing and was reported as a stop."""
    fixes, length = _pacing_walks(30, interval, pace_m, sigma_m)
    table, _ = mileage(fixes)
    err = table["distance_m"].to_numpy() / length - 1
    old, _ = mileage(fixes, walk_rate_mps=np.inf, tip_run_s=0)  # the stop tests alone
    old_err = old["distance_m"].to_numpy() / length - 1
    stops, old_stops = table["stops"].map(len), old["stops"].map(len)
    print(f"\npacing {pace_m} m, sigma {sigma_m:g} m, {interval} s fixes, 30 walks of {length:.0f} m: "
          f"median error {np.median(err):+.2%}, worst {err[np.abs(err).argmax()]:+.2%}, one stop found "
          f"{(stops == 1).mean():.0%}; stop tests alone: median {np.median(old_err):+.2%}, one stop "
          f"{(old_stops == 1).mean():.0%}")
    assert (old_stops == 1).mean() < 0.2  # the pacing taken for a second stop (or one long one)
    assert (stops == 1).mean() >= 0.9  # the real stop only
    assert (table["stop_time_s"] > 250).all()
    assert np.median(err) > np.median(old_err) + 0.05
    assert np.median(err) == pytest.approx(PACING_MEDIAN[pace_m, interval], abs=0.01)


def _zigzag(seed, step_s=5.0, speed_mps=0.8):
    """150 m, four legs of 60 m turning 150 degrees left and right in turn, 150 m; walked at
    ``speed_mps`` under slow GPS wander (sigma 8.6 m, tau 155 s); and its length."""
    h, p = 0.0, [np.zeros(2)]
    for leg, turn in zip([150, 60, 60, 60, 60, 150], [150, -150, 150, -150, 150, 0]):
        p.append(p[-1] + leg * np.array([np.cos(np.radians(h)), np.sin(np.radians(h))]))
        h += turn
    return _gm_walk(p, seed, 8.6, 155.0, step_s=step_s, speed_mps=speed_mps)


def test_a_slow_zigzag_under_slow_wander_is_walked_not_a_stop():
    """A slow walker (0.8 m/s) zig-zagging across a square under GPS error that wanders
    slowly (open-ground gm-199, seed 44, 5 s fixes: a 120 s stop at three turns of 130-147
    degrees, -4.9 %): the smoothed path reads 0.6-0.8 m/s, under the per-fix walking check
    (0.7 m/s), and the turns passed the stop tests. On so quiet a track a standing phone's
    smoothed position wanders at 0.2-0.3 m/s: a run reading 0.5 m/s in the median is walked
    (patrol.clean._walked_runs). Measured on these 20 walks: the stop tests reported a stop
    on 18 and took 84 m of 540 m off on average; now none, and 5 m (the worst walk, 58 m off,
    is the corners' GPS error on legs of 60 m)."""
    walks = [_zigzag(seed) for seed in range(1, 21)]
    fixes = pd.concat([w for w, _ in walks], ignore_index=True)
    length = np.array([n for _, n in walks])
    table, _ = mileage(fixes)
    old, _ = mileage(fixes, run_walk_mps=np.inf)
    off, old_off = table["distance_m"].to_numpy() - length, old["distance_m"].to_numpy() - length
    print(f"\n20 zig-zags of {length[0]:.0f} m: stops on {(table['stops'].map(len) > 0).sum()}, mean "
          f"{off.mean():+.1f} m; without the run check: {(old['stops'].map(len) > 0).sum()}, {old_off.mean():+.1f} m")
    assert (old["stops"].map(len) > 0).sum() >= 12 and old_off.mean() < -35
    assert (table["stops"].map(len) == 0).all()
    assert abs(off.mean()) < 10 and np.median(np.abs(off)) < 15
    # a quiet phone standing still is still a stop: 400 s between two walks
    standing = pd.concat([_standing_walk(seed, [], sigma_m=8.6, tau_s=155.0, step_s=5.0)[0]
                          for seed in range(1, 6)], ignore_index=True)
    stood, _ = mileage(standing)
    assert (stood["stops"].map(len) == 1).all() and (stood["stop_time_s"] >= 380).all()


@pytest.mark.parametrize("seed", [45, 47, 48])
def test_a_stop_split_by_a_moment_of_quick_wander_is_one_stop(seed):
    """Hidden street walk spring-0152 (seed 13, sigma 9.1 m, tau 41 s, 1 s fixes): over a
    544 s stop the GPS error wandered 24 m off for a few seconds, the stationary test failed
    there, and the stop split in two 3 s apart with the wander between walked out and back
    (+3.8 % with the street layer, +5.3 % without). Here 400 s of standing with the phone
    swinging 30 m off and back within 20 s: on these seeds the two halves are 3-4 s apart,
    their centres 5-15 m, and come back together (patrol.clean._rejoined; on other seeds the
    swing splits the stop 20 s apart, or not at all)."""
    walk, length = _standing_walk(seed, [])
    t = (walk["t"] - walk["t"].iloc[0]).dt.total_seconds().to_numpy()
    bump = (t >= 431) & (t < 451)
    walk.loc[bump, "lat"] += 30.0 * np.sin(np.pi * (t[bump] - 431) / 20) / 111_195
    split, _ = mileage(walk, rejoin_s=0.0)
    table, _ = mileage(walk)
    assert len(split["stops"].iloc[0]) == 2 and split["distance_m"].iloc[0] > length + 15
    assert len(table["stops"].iloc[0]) == 1 and table["stop_time_s"].iloc[0] >= 400
    assert table["distance_m"].iloc[0] == pytest.approx(length, abs=12)


def test_only_runs_close_in_time_and_place_in_one_track_are_rejoined():
    """patrol.clean._rejoined on fixes 1 s apart: a 3 s break between two runs 5 m apart is
    filled; a 15 s break, runs 40 m apart, a run without core fixes and two runs either side
    of a track's end are left alone."""
    from patrol.clean import _rejoined
    track = np.r_[np.zeros(40, int), np.ones(10, int)]
    t = np.r_[np.arange(40.0), np.arange(10.0)]
    first = np.r_[True, track[1:] != track[:-1]]
    stat = np.zeros(50, bool)
    x = np.full(50, 30.0)
    y = np.zeros(50)
    for lo, hi, at in [(0, 5, 0.0), (8, 13, 5.0), (28, 33, 0.0), (36, 40, 40.0), (43, 47, 40.0)]:
        stat[lo:hi], x[lo:hi] = True, at
    core = stat.copy()
    expect = stat.copy()
    expect[5:8] = True  # 3 s between the first two runs, 5 m apart
    assert (_rejoined(stat, core, first, track, t, x, y, 10.0, 17.5) == expect).all()
    assert (_rejoined(stat, core, first, track, t, x, y, 2.0, 17.5) == stat).all()
    assert (_rejoined(stat, core, first, track, t, x, y, 10.0, 4.0) == stat).all()
    core[8:13] = False  # the second run has no core: no centroid to compare
    assert (_rejoined(stat, core, first, track, t, x, y, 10.0, 17.5) == stat).all()
    # the 15 s break (13-27) fills with a longer limit; nothing crosses into track 1
    expect[13:28] = True
    assert (_rejoined(stat, stat, first, track, t, x, y, 16.0, 17.5) == expect).all()


def test_stops_hide_less_walking(campaign):
    """On the simulator: the metres walked between fixes the stop tests took for standing
    (pacing out and back, walking round a small square). The walking-pace checks take out
    three fifths of them (before the pacing rate was read over 40 s at 1.5 x a standing
    phone's, issue 15: 60 s at 2 x, about half: 2,449 m / 2,722 m at 1 s / 5 s; 1,972 m /
    1,957 m while a second of standing could grow a stop's edges, patrol.clean._edge_seeds;
    1,684 m / 1,749 m while a run read at walking pace in the median on a quiet track was
    taken for standing, patrol.clean._walked_runs; 1,494 m / 1,672 m while a stop's edges were
    tested against its mean alone, not the place a drifting phone showed at its ends,
    patrol.clean._stop_edges: those edges take in a little more of the way in and out); what
    is left is pacing over a few metres and at high noise (see patrol.mileage (g))."""
    interval, sim, _ = campaign
    now = walking_hidden_in_stops_m(sim)
    before = walking_hidden_in_stops_m(sim, walk_rate_mps=np.inf)
    worst = (now / sim.truth.set_index("track_id")["true_length_m"]).max()
    print(f"\n{interval} s: walking hidden in stops {now.sum():.0f} m (worst track {worst:.2%}), "
          f"stop tests alone {before.sum():.0f} m")
    assert (now >= -1e-6).all() and (before >= -1e-6).all()  # a chord is never longer than the walk
    assert now.sum() < 0.45 * before.sum()
    assert now.sum() == pytest.approx({1: 1623, 5: 1715}[interval], rel=0.02)


@pytest.fixture(scope="module")
def seed23_5s(layers):
    """Two simulated outings of seed 23 at 5 s fixes (the whole campaign is drawn: the phone
    errors follow from all of it) and their truth."""
    sim = simulate_patrols(layers, n_outings=388, seed=23, interval_s=5)
    ids = ["spring-0011", "spring-0045"]
    return sim.fixes[sim.fixes["track_id"].isin(ids)], sim.truth.set_index("track_id").loc[ids]


def test_doubling_back_at_a_walkers_pace_is_no_stop(seed23_5s):
    """spring-0011 (sigma 8.4 m, tau 98 s) walks 46 m down a street and back in 70 s. Its
    lightly smoothed path ran at 1.3-1.9 x a standing phone's rate over the 60 s stop window,
    under the 2 x the pacing test wanted: a 70 s stop was reported and 60 m of walking hidden
    (-1.8 % when found, -2.1 % on today's path; -3.6 % with the street layer). Read over 40 s
    at 1.5 x, the walk counts and no stop is reported there (+0.16 %, both with the whole-run
    walking check of patrol.clean._walked_runs off; with it, which takes this stop as well,
    +0.37 %)."""
    from patrol.clean import CleanParams

    fixes, truth = seed23_5s
    one = fixes[fixes["track_id"] == "spring-0011"]
    true_m = truth.loc["spring-0011", "true_length_m"]
    # the whole-run walking check (patrol.clean._walked_runs) off in both: it takes this stop too
    now, c = mileage(one, params=CleanParams(run_walk_mps=np.inf))
    before, c0 = mileage(one, params=CleanParams(pace_rate_k=2.0, pace_window_s=60.0, run_walk_mps=np.inf))
    err, err0 = now["distance_m"].iloc[0] / true_m - 1, before["distance_m"].iloc[0] / true_m - 1
    print(f"\nspring-0011: {err0:+.2%} before, {err:+.2%} now")
    t0 = one["t"].min()
    at = lambda stops: ((stops["start"] - t0).dt.total_seconds().between(1900, 2100)).sum()
    assert at(c0.stops) == 1 and at(c.stops) == 0
    assert err0 < -0.015
    assert abs(err) < 0.006


def test_chance_fast_steps_open_no_burst(seed23_5s, monkeypatch):
    """spring-0045 (sigma 9.8 m, tau 33 s, 5 s fixes: steps of ~8 m, the fast-step test's 20 m
    now and then by chance) had two such steps, 21 m east and 21 m west, 100 s apart, round
    the tip of an out-and-back: taken for a burst, 100 s of the walk went (-6.0 %, and with the
    street layer -6.2 %, with the 40 s pacing test; -3.4 % before it). A jump must also be 3 x
    the track's median step. (Without that rule it is -3.9 % since the running median keeps
    to its time window, two fixes next to the 100 s hole staying, and stop edges grow only from
    a stop's seeds, patrol.clean._edge_seeds; -4.8 % before that.)"""
    from patrol import outliers
    from patrol.clean import clean

    fixes, truth = seed23_5s
    one = fixes[fixes["track_id"] == "spring-0045"]
    true_m = truth.loc["spring-0045", "true_length_m"]
    def in_bursts():
        c = clean(one)
        return c.dropped.loc["spring-0045", "outlier"] + c.moved[0]

    now = mileage(one)[0]["distance_m"].iloc[0] / true_m - 1
    kept_now = in_bursts()
    monkeypatch.setattr(outliers, "BURST_STEP_K", 0.0)
    before = mileage(one)[0]["distance_m"].iloc[0] / true_m - 1
    kept_before = in_bursts()
    print(f"\nspring-0045: {before:+.2%} before ({kept_before} outliers), {now:+.2%} now ({kept_now})")
    assert kept_before - kept_now >= 20  # the 100 s of 5 s fixes between the two steps
    assert before < -0.035
    assert abs(now) < 0.035


def test_short_turns_of_out_and_backs_are_walked_not_stops(campaign):
    """Runs shorter than 75 s at the tip of an out-and-back (way in and way out pointing
    apart) are no longer reported as stops: on the campaign every one of them was walking
    (true pace >= 0.5 m/s over the run; it is ~1 m/s), while of the stops still reported
    2-3 % are walking. Their tip stays in the path (see patrol.clean._walked_tips)."""
    from patrol.accuracy import walked_in_stops_m
    from patrol.clean import clean

    interval, sim, _ = campaign
    # without the whole-run walking check (patrol.clean._walked_runs), which takes some first
    now = clean(sim.fixes, run_walk_mps=np.inf).stops
    before = clean(sim.fixes, tip_run_s=0, run_walk_mps=np.inf).stops
    gone = ~before.set_index(["track_id", "start"]).index.isin(now.set_index(["track_id", "start"]).index)
    taken = before[gone]
    pace = walked_in_stops_m(sim, taken) / taken["duration_s"].to_numpy()
    reported = clean(sim.fixes).stops
    pace_kept = walked_in_stops_m(sim, reported) / reported["duration_s"].to_numpy()
    print(f"\n{interval} s: {len(taken)} stops taken for walked turns, true pace median "
          f"{np.median(pace):.2f} m/s, min {pace.min():.2f}; of the {len(reported)} reported, "
          f"{(pace_kept >= 0.5).mean():.1%} walking")
    assert len(now) == len(before) - len(taken)
    assert len(taken) >= 3  # 3 at 5 s: the pacing test (patrol.clean._pacing) takes most first
    assert (pace >= 0.5).all()
    assert (pace_kept >= 0.5).mean() < 0.05
    assert (taken["duration_s"] < 75).all()


def test_per_grid_sums_to_distance(campaign):
    _, _, m = campaign
    sums = m["per_grid_m"].map(lambda d: sum(d.values()))
    np.testing.assert_allclose(sums, m["distance_m"], rtol=1e-3)
    outside = m["per_grid_m"].map(lambda d: d.get("outside", 0.0)).sum()
    assert outside / m["distance_m"].sum() < 0.005  # the walks stay on roads inside grids
    assert all(len(k) == 14 for d in m["per_grid_m"] for k in d if k != "outside")


def test_stops_found_and_times_add_up(campaign):
    _, _, m = campaign
    # measured 1.03 at 1 s and 0.97 at 5 s on the widened simulator (a stop's edges join it:
    # patrol.clean._stop_edges; without them 0.85-0.90, the first and last half-window counted
    # as moving; the edges now run a little long at slow walkers and 120 s windows; 1.04 and
    # 0.98 while the turns of out-and-backs walked in 60-75 s were reported as stops; 1.016 and
    # 0.964 since edges grow only from a stop's seeds, patrol.clean._edge_seeds)
    interval = campaign[0]
    ratio = m["stop_time_s"].sum() / m["stop_time_s_true"].sum()
    print(f"\nstop time found / true: {ratio:.3f}")
    assert 0.92 < ratio < 1.08
    assert ratio == pytest.approx({1: 1.016, 5: 0.964}[interval], abs=0.01)
    assert (m["moving_time_s"] + m["stop_time_s"] <= m["duration_s"] + 1).all()


def _fixes(lon, lat, t0="2026-03-02T01:00:00Z", step_s=5, tid="t1", accuracy=5.0):
    n = len(lon)
    return pd.DataFrame({"track_id": tid, "device_id": "d", "lon": lon, "lat": lat,
                         "t": pd.Timestamp(t0) + pd.to_timedelta(np.arange(n) * step_s, unit="s"),
                         "accuracy_m": accuracy})


def test_standing_still_adds_no_distance(grid_index):
    rng = np.random.default_rng(1)
    n = 240  # 20 min standing, 5 s fixes, AR(1) jitter sigma ~8 m
    e = np.zeros((n, 2))
    for i in range(1, n):
        e[i] = 0.9 * e[i - 1] + rng.normal(0, 8 * np.sqrt(1 - 0.81), 2)
    lon = 119.53 + e[:, 0] / 90_800
    lat = 35.41 + e[:, 1] / 111_000
    table, _ = mileage(_fixes(lon, lat), grid_index)
    row = table.iloc[0]
    print(f"\nstanding 20 min: raw {row.raw_distance_m:.0f} m, cleaned {row.distance_m:.1f} m")
    assert row.raw_distance_m > 300
    assert row.distance_m < 10
    assert row.stop_time_s >= 1100


def test_walk_with_stop_counts_only_the_walk(grid_index):
    # 1 km east at 1.25 m/s, 10 min stop, 1 km on: the stop adds nothing
    walk = np.linspace(0, 1000, 161)
    x = np.r_[walk, np.full(120, 1000.0), 1000 + walk[1:]]
    rng = np.random.default_rng(3)
    x = x + rng.normal(0, 2, len(x))
    y = rng.normal(0, 2, len(x))
    table, _ = mileage(_fixes(119.45 + x / 90_800, 35.40 + y / 111_000), grid_index)
    row = table.iloc[0]
    assert row.distance_m == pytest.approx(2000, rel=0.02)
    assert 500 <= row.stop_time_s <= 650


def test_gaps_bridge_or_split(grid_index):
    x = np.r_[np.arange(0, 500, 6.25), np.arange(800, 1300, 6.25)]  # 300 m / 240 s hole
    f = _fixes(119.45 + x / 90_800, np.full(len(x), 35.40))
    f.loc[80:, "t"] += pd.Timedelta(seconds=235)
    bridged, _ = mileage(f, grid_index, gaps="bridge")
    split, _ = mileage(f, grid_index, gaps="split")
    assert bridged.iloc[0].gaps == 1 and split.iloc[0].gaps == 1
    # the bridge: the 300 m hole plus the few metres the one-sided smoothing takes off each edge
    assert 295 < bridged.iloc[0].distance_m - split.iloc[0].distance_m < 330
    assert bridged.iloc[0].distance_m == pytest.approx(1293.75, rel=0.01)
    assert split.iloc[0].moving_time_s < bridged.iloc[0].moving_time_s - 200


# --- readers -----------------------------------------------------------------------------

CSV_HEADER = "device_id,time,lon,lat,accuracy_m\n"


def _csv(tmp_path, rows, name="t.csv"):
    p = tmp_path / name
    p.write_text(CSV_HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return p


def _good_rows(n=10, start=0):
    return [f"p1,2026-03-02T01:00:{start + i * 5:02d}Z,{119.45 + i * 0.0001:.6f},35.40,5"
            for i in range(n)]


def test_csv_bad_rows_counted_and_named(tmp_path):
    rows = _good_rows()
    rows.insert(3, "p1,not-a-time,119.45,35.40,5")          # line 5: malformed
    rows.insert(5, "p1,2026-03-02T01:00:07Z,abc,35.40,5")   # line 7: malformed
    rows.append("p1,2026-03-02T01:00:50Z,35.40,119.4510,5")  # swapped
    rows.append("p1,2026-03-02T01:00:55Z,116.40,39.90,5")   # Beijing: outside Rizhao
    rows.append(rows[1])                                      # duplicate timestamp
    rows.append("p1,2026-03-02T01:00:01Z,119.4501,35.40,5")   # out of order
    rows.append("p1,2026-03-02T01:00:02Z,119.4501,35.40,5,9,9")  # too many fields
    r = read_track_file(_csv(tmp_path, rows))
    assert r.dropped == {"malformed": 3, "swapped": 1, "outside_rizhao": 1, "duplicate_time": 1}
    assert r.reordered >= 1
    assert len(r.fixes) == 11 and r.fixes["t"].is_monotonic_increasing
    lines = {p["line"] for p in r.problems}
    assert {"line 5", "line 7", f"line {len(rows) + 1} (too many fields)"} <= lines
    assert all(p["file"].endswith("t.csv") for p in r.problems)


def test_times_out_of_range_are_malformed_and_the_track_stays_in_order(tmp_path):
    """Found by tests/test_parsers_fuzz.py: a GPX point in the year 2263 overflowed the
    nanosecond clock the track is sorted by, and the track came out of order. A time before
    the GPS epoch (1980-01-06) or from 2200 on is malformed now."""
    times = ["2263-01-01T00:00:00Z", "2000-01-01T00:00:00Z", "1970-01-01T00:00:00Z",
             "2026-03-02T01:00:05Z", "2026-03-02T01:00:00Z"]
    pts = "".join(f'<trkpt lat="35.40" lon="{119.45 + i * 1e-4:.4f}"><time>{t}</time></trkpt>'
                  for i, t in enumerate(times))
    gpx = tmp_path / "far.gpx"
    gpx.write_text('<?xml version="1.0"?><gpx version="1.1" creator="t" '
                   f'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>{pts}</trkseg></trk></gpx>')
    r = read_track_file(gpx)
    assert r.dropped["malformed"] == 2
    assert [p["line"] for p in r.problems] == ["track 1 segment 1 point 1", "track 1 segment 1 point 3"]
    assert "out-of-range time" in r.problems[0]["problem"]
    assert r.fixes["t"].dt.year.tolist() == [2000, 2026, 2026]
    assert r.fixes["t"].is_monotonic_increasing and str(r.fixes["t"].dtype) == "datetime64[ns, UTC]"


def test_all_swapped_file_refused(tmp_path):
    rows = [f"p1,2026-03-02T01:00:{i * 5:02d}Z,35.40,{119.45 + i * 1e-4:.6f},5" for i in range(5)]
    with pytest.raises(InvalidInput) as exc:
        read_track_file(_csv(tmp_path, rows))
    assert "swapped" in exc.value.message and "line 2" in exc.value.message


def test_unreadable_files_raise_invalid_input(tmp_path):
    bad_header = tmp_path / "h.csv"
    bad_header.write_text("a,b\n1,2\n")
    with pytest.raises(InvalidInput, match="missing column"):
        read_track_file(bad_header)
    gpx = tmp_path / "broken.gpx"
    gpx.write_text("<gpx><trk><trkseg><trkpt lat='35.4' lon='119.4'></trkseg>")
    with pytest.raises(InvalidInput, match="broken.gpx"):
        read_track_file(gpx)
    with pytest.raises(InvalidInput, match="no usable fix"):
        read_track_file(_csv(tmp_path, ["p1,2026-03-02T01:00:00Z,116.4,39.9,5"], "beijing.csv"))
    with pytest.raises(InvalidInput, match="unknown file type"):
        read_track_file(tmp_path / "x.kml")
    with pytest.raises(InvalidInput, match="coord_sys"):
        read_track_file(bad_header, coord_sys="utm")


def test_gpx_malformed_points_counted(tmp_path):
    pts = [f"<trkpt lat='35.40' lon='{119.45 + i * 1e-4:.4f}'><time>2026-03-02T01:00:{i * 5:02d}Z</time></trkpt>"
           for i in range(6)]
    seg1 = "".join(pts) + "<trkpt lat='35.40' lon='119.46'></trkpt>"  # no time
    seg2 = "".join(pts[:2])
    p = tmp_path / "g.gpx"
    p.write_text(f"<?xml version='1.0'?><gpx version='1.1' creator='t' xmlns='http://www.topografix.com/GPX/1/1'>"
                 f"<trk><name>x</name><trkseg>{seg1}</trkseg><trkseg>{seg2}</trkseg></trk></gpx>")
    r = read_track_file(p)
    assert r.dropped["malformed"] == 1
    assert r.dropped["duplicate_time"] >= 1  # the second segment repeats the first's times
    assert r.problems[0]["line"] == "track 1 segment 1 point 7"


def test_geojson_points_and_linestring(tmp_path):
    feats = [{"type": "Feature", "properties": {"device_id": "p9", "time": f"2026-03-02T01:00:{i * 5:02d}Z"},
              "geometry": {"type": "Point", "coordinates": [119.45 + i * 1e-4, 35.40]}} for i in range(5)]
    feats.append({"type": "Feature", "properties": {"device_id": "p8", "times": ["2026-03-02T02:00:00Z", "2026-03-02T02:00:05Z"]},
                  "geometry": {"type": "LineString", "coordinates": [[119.45, 35.40], [119.4501, 35.40]]}})
    p = tmp_path / "g.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    r = read_track_file(p)
    assert sorted(r.fixes["track_id"].unique()) == ["g:p8", "g:p9"]
    assert len(r.fixes) == 7


def test_gcj02_input_converted(tmp_path):
    from gis.crs import wgs84_to_gcj02

    glon, glat = wgs84_to_gcj02(119.45, 35.40)
    r = read_track_file(_csv(tmp_path, [f"p1,2026-03-02T01:00:00Z,{float(glon):.8f},{float(glat):.8f},5"]),
                        coord_sys="gcj02")
    assert r.fixes["lon"].iloc[0] == pytest.approx(119.45, abs=1e-7)
    assert r.fixes["lat"].iloc[0] == pytest.approx(35.40, abs=1e-7)


# --- CLI ---------------------------------------------------------------------------------

def test_cli_mileage_json_on_simulated_gpx(tmp_path, layers):
    from cli.main import app

    sim = simulate_patrols(layers, n_outings=2, seed=11, interval_s=5)
    paths = sim.write_gpx(tmp_path)
    res = CliRunner().invoke(app, ["patrol", "mileage", *map(str, paths), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert [o["track_id"] for o in out] == list(sim.truth["track_id"])
    for o, true_m in zip(out, sim.truth["true_length_m"]):
        assert set(o) >= {"track_id", "distance_m", "distance_sd_m", "raw_distance_m", "duration_s",
                          "moving_time_s", "stop_time_s", "points", "dropped_points", "per_grid_m"}
        assert o["distance_m"] == pytest.approx(true_m, rel=0.05)
        assert 0.001 * o["distance_m"] < o["distance_sd_m"] < 0.03 * o["distance_m"]
        assert o["raw_distance_m"] > o["distance_m"]
        assert sum(o["per_grid_m"].values()) == pytest.approx(o["distance_m"], rel=1e-3)
        assert o["points"] > 0 and o["dropped_points"] >= 0
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n")
    res = CliRunner().invoke(app, ["patrol", "mileage", str(bad), "--json"])
    assert res.exit_code == 2


def test_bad_cleaning_options_are_named_together():
    from citygrid.errors import InvalidInput
    from patrol.clean import CleanParams

    with pytest.raises(InvalidInput) as exc:
        CleanParams(mode="rocket", gaps="teleport")
    assert [p["where"] for p in exc.value.problems] == ["mode", "gaps"]
    assert CleanParams(mode="e_bike").speed_cap_mps == 8.0


def test_accuracy_cli_names_every_bad_range(capsys):
    """``python -m patrol.accuracy`` refuses reversed or negative ranges and a flagged or
    skipped share outside its range, naming each, before it simulates anything."""
    from patrol.accuracy import main

    with pytest.raises(SystemExit) as out:
        main(["--outings", "2", "--sigma", "5", "3", "--multipath-m", "-1", "4", "--multipath-flagged", "2",
              "--skip", "1", "--length-m", "0", "500"])
    assert out.value.code == 2
    err = capsys.readouterr().err
    assert "--sigma 5 3" in err and "--multipath-m -1 4" in err and "--multipath-flagged 2" in err
    assert "--skip 1: want a share from 0 up to (not including) 1" in err
    assert "--length-m 0 500: want 0 < LO <= HI" in err
    with pytest.raises(SystemExit):
        main(["--open-ground", "--multipath-flagged", "0.5"])
    assert "no accuracy column" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--length-m", "1000", "2000"])
    assert "--length-m: only with --open-ground" in capsys.readouterr().err


def test_standing_a_moment_at_a_corner_does_not_chain_a_stop_to_the_walk(monkeypatch):
    """Open-ground gm-173 (seed 43, 1 s fixes, the range issue 15 was measured on): at a sharp
    corner 80 s before a real stop the GPS error held the smoothed walker still for 2-3 s. The
    edges grown from those fixes reached the stop's, and the stop swallowed the corner and the
    70 m out to it (patrol.clean._edge_seeds). Without the seeds, the run's two places
    (patrol.clean._two_places) give back part of it."""
    import patrol.clean

    fixes, truth = open_ground_walks(174, 1, 43, sigma_m=(3, 8), tau_s=(30, 120),
                                     multipath_s=(10, 60), multipath_m=(30, 150))
    walk = fixes[fixes["track_id"] == "gm-173"]
    true_m = truth.set_index("track_id").loc["gm-173", "true_length_m"]
    now, c = mileage(walk)
    two_places = mileage(walk, stop_seed_s=0)[0]["distance_m"].iloc[0] / true_m - 1
    monkeypatch.setattr(patrol.clean, "TWO_PLACES_M", 0.0)
    assert mileage(walk)[0]["distance_m"].iloc[0] == now["distance_m"].iloc[0]
    before, c0 = mileage(walk, stop_seed_s=0)
    err, err0 = now["distance_m"].iloc[0] / true_m - 1, before["distance_m"].iloc[0] / true_m - 1
    print(f"\ngm-173: {err0:+.2%} -> {err:+.2%}; stops {c0.stops['duration_s'].round().tolist()} -> "
          f"{c.stops['duration_s'].round().tolist()}")
    # measured -3.16 % -> -2.23 %; -2.66 % with the run's two places alone (-3.28 % -> -2.28 %
    # before the session of 2026-12-08, -3.79 % -> -2.64 % before a run read at walking pace
    # in the median was walked: patrol.clean._walked_runs)
    assert err0 < -0.03 and abs(err) < 0.025
    assert err0 + 0.005 < two_places < err
    # the same stops are reported; the one after the corner no longer starts 100 s early
    assert len(c.stops) == len(c0.stops)
    assert (c.stops["duration_s"] <= c0.stops["duration_s"] + 1e-9).all()
    assert (c0.stops["duration_s"] - c.stops["duration_s"]).max() >= 60


def _drifting_at_a_stop(drift_m, step_s):
    """Offsets for :func:`_standing_walk` with a 500 s stop: the phone ``drift_m`` west of the
    walk until two minutes into the stop, moving round to ``drift_m`` south by two minutes
    before its end and staying there (each an offset along the leg it joins, so the walk
    itself measures true)."""
    a, b = 231 + 120, 731 - 120
    ramp = [(t, t + step_s, -drift_m * (1 - (t - a) / (b - a)), -drift_m * (t - a) / (b - a))
            for t in np.arange(a, b, step_s)]
    return [(0, a, -drift_m, 0.0)] + ramp + [(b, np.inf, 0.0, -drift_m)]


@pytest.mark.parametrize("interval", [1, 5], ids=["1s", "5s"])
def test_the_standing_where_a_drifting_phone_showed_a_stops_ends_is_no_walk(interval, monkeypatch):
    """Over a long stop the GPS error wanders: the phone shows the stop's first and last minutes
    25 m from the mean of all of it. Those fixes failed the edge test against that mean and were
    walked path; a stop's edges are tested against the place its first (last) half-minute
    showed when that lies more than patrol.clean.EDGE_DRIFT_M from the mean (spring-0228)."""
    import patrol.clean

    walks = [_standing_walk(seed, _drifting_at_a_stop(25.0, interval), sigma_m=2.0,
                            step_s=interval, stand_s=500.0) for seed in range(5)]
    err_m = np.array([mileage(w)[0]["distance_m"].iloc[0] - length for w, length in walks])
    monkeypatch.setattr(patrol.clean, "EDGE_DRIFT_M", np.inf)
    err0_m = np.array([mileage(w)[0]["distance_m"].iloc[0] - length for w, length in walks])
    print(f"\n{interval} s: error {err0_m.round(1)} -> {err_m.round(1)} m")
    # measured: -5.8 -5.5 +3.6 -7.6 +0.1 m (1 s), +0.1 +4.7 +14.0 +2.3 -9.8 m (5 s); against
    # the mean alone +33.7 -4.4 +29.3 -8.5 +30.1 m and +33.7 -2.7 -2.7 +34.2 +34.5 m (the rule
    # is not better on every walk: 5 s seed 2, -2.7 -> +14.0 m)
    assert np.abs(err_m).max() < 16.0
    assert err0_m.max() > 25.0
    assert np.abs(err_m).mean() < 0.5 * np.abs(err0_m).mean()


@pytest.mark.parametrize("seed", range(8))
def test_a_stop_with_the_signal_lost_inside_stays_one_stop(seed):
    """Indoors the phone loses the signal 20 s after the officer stops and finds it again a
    minute before they leave. The standing seen before the dropout can be too short to grow a
    stop's edges by its time alone (seed 2: the stop came out 72 s, the part after the
    dropout); it borders a dropout, so it grows them and the stop spans the dropout."""
    rng = np.random.default_rng(seed)
    walk_s, stand_s = 200, 600
    t_s = np.arange(0, 2 * walk_s + stand_s, 1.0)
    x = np.clip(t_s, 0, walk_s) * 1.25  # east 250 m, stand, then north 250 m
    y = np.clip(t_s - walk_s - stand_s, 0, walk_s) * 1.25
    e = gauss_markov_error(len(t_s), 1.0, 6.0, 70.0, rng)
    lost = (t_s > walk_s + 20) & (t_s < walk_s + stand_s - 60)
    fixes = pd.DataFrame({"track_id": "indoors", "t": pd.Timestamp("2026-03-02T01:00:00Z")
                          + pd.to_timedelta(t_s, unit="s"),
                          "lon": 119.50 + (x + e[0]) / 90_780, "lat": 35.40 + (y + e[1]) / 111_195})[~lost]
    table, c = mileage(fixes)
    print(f"\nseed {seed}: stops {c.stops['duration_s'].round().tolist()}, "
          f"{table['distance_m'].iloc[0]:.0f} m of 500")
    assert len(c.stops) == 1
    assert c.stops["duration_s"].iloc[0] >= stand_s - 60  # measured 619-636 s
    assert abs(table["distance_m"].iloc[0] / 500 - 1) < 0.05  # measured 482-514 m
