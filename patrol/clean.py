"""Cleaning GPS fixes, vectorised over all fixes of all tracks at once.

Input: fixes sorted by (track_id, t) with columns track_id, t (UTC), lon, lat and optionally
accuracy_m. Track boundaries travel as an integer track index per fix; every step is numpy
over the whole array (a handful of passes is the only loop). Steps, in order, each counted:

1. ``accuracy``: fixes whose reported accuracy is worse than ``max_accuracy_m`` (50 m).
2. ``outlier``: multipath jumps and spikes. First whole bursts (:func:`patrol.outliers.bursts`): a jump
   away (a step faster than the speed cap, >= 15 m) and a later one that takes it back
   within ``burst_max_s`` (120 s) and no dropout, the fixes between sitting off by the jump
   (a burst begun or ended in a dropout has a test of its own, and so has one with a big
   jump at a gap of a few missed fixes; one is a burst too when it
   holds more fixes than half the median's window below, as an unevenly sampling phone packs
   into a few seconds). A burst's fixes are moved back by the jumps, less the walk in them
   (:func:`patrol.outliers.burst_offsets`: the walk under the burst is measured, not
   bridged), and dropped only where no side of the burst is held long enough to say by how
   much (``Cleaned.moved`` counts the moved fixes per track). Then fixes near
   a suspicious step (longer than the
   mode's speed cap allows plus ``noise_step_m``, or a jump > ``jump_m``) are compared with
   the coordinate-wise median of the fixes within +-``median_window_s`` (2 to ``median_half``
   fixes a side, slid inside the track at its ends, and none more than 2 x
   ``median_window_s`` away in the phone's time with a signal: not across a hole the steps
   before left, but across a dropout); farther than ``outlier_m`` -> dropped.
   Up to three passes (the rest of overlapping bursts). The median alone kept bursts longer
   than half its window.
3. ``speed``: what is left of a spike: a fix reached and left faster than the speed cap
   while its neighbours are close to each other (two passes).
4. smoothing: a centred moving average over +-``smooth_s`` seconds, weighted by
   1/accuracy^2 where the device reports accuracy (nothing is dropped).
5. ``stationary``: standing still adds no distance. A fix is stationary when the smoothed
   positions ``stop_window_s/2`` before and after it are within ``stop_radius_m`` of each
   other (as a rate: radius per window, so one-sided windows at gaps and ends still work)
   and each within ``stop_half_m`` of the fix itself (a U-turn brings the walker back to
   where they were, but the fix between is far from both: without this the tip of every
   doubling back collapsed), or the same over ``stop_long_s`` with ``stop_long_radius_m`` /
   ``stop_long_half_m`` (high, fast-wandering GPS error breaks the short test) - but never
   where the smoothed path within the window runs on faster than ``walk_rate_mps`` (0.7 m/s)
   and ``walk_rate_k`` x the track's :func:`residual_noise_m` per second: a walker pacing
   out and back, or round a small square, stays within the radius too (the tests took such
   stretches, up to 170 m of walking, for stops and counted nothing), while the smoothed
   GPS wander of a standing phone covers 0.2-0.6 m/s (99 % below 0.95 m/s at sigma 10 m,
   tau 30 s, measured on :mod:`patrol.simulate`) and walkers 0.8 m/s or more. A whole run
   (edges included, below) whose core fixes' rates have a median of ``run_walk_mps``
   (0.5 m/s) or more and of ``walk_rate_k`` x the residual noise per second is walking too:
   on a quiet track a standing phone wanders slower than that, and a slow walker on a
   zig-zag reads 0.6-0.8 m/s (:func:`_walked_runs`). Pacing over
   10-40 m, whose tips the smoothing flattens, is caught on positions smoothed over only
   +-``pace_smooth_s``: their path over ``pace_window_s`` (40 s) runs at >= ``pace_rate_k``
   (1.5) x the rate of the track's other fixes taken for standing (:func:`_pacing`). The fixes
   at a run's edges within ``stop_radius_m/2`` of its centre join it (stop time), grown from
   fixes with ``stop_seed_s`` (10 s) of standing near them or a dropout there (a second of
   standing at a corner walked under GPS error chained stops to the walk: :func:`_edge_seeds`).
   Two consecutive runs whose cores' centroids lie within ``stop_radius_m/2`` of each
   other, the second beginning within ``rejoin_s`` (10 s) of the first's end, are one run (a
   moment of quick GPS wander split the stop: :func:`_rejoined`). A run whose fixes sit at
   two places, the parts' centroids ``TWO_PLACES_M`` (25 m) or more apart and the phone
   crossing between them at walking pace, is two stops with the walk between them
   (:func:`_two_places`: an officer at one shop, then at the next).
   Each run collapses onto the centroid of its core (not of its edges, which lie on the way
   in and out and pulled a stop made at a corner into a short cut): its first and last core fix
   are kept there, its first and last fix, when edges, where they were measured. Runs
   lasting >= ``min_stop_s`` are reported as stops. A run shorter than ``tip_run_s`` (75 s)
   whose way in and way out (``TIP_S`` before and after it) point apart is the turn of an
   out-and-back walked under GPS error that held the smoothed walker back, not a stop
   (:func:`_walked_tips`): it collapses onto its tip instead, and is not reported.
6. gaps: consecutive kept fixes more than ``gap_s`` apart (signal lost). ``bridge`` counts
   the straight line across; ``split`` leaves it out (distance and moving time). Reported.

Planar work uses a local equirectangular plane per track (metres; errors far below GPS
noise over a city); distances reported by :mod:`patrol.mileage` are geodesic.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from citygrid.errors import InvalidInput
from gis.crs import plane_m
from patrol.arrays import (by_track_time, epoch_s, group_bounds, signal_time_s, time_key,
                           track_median, window_bounds, windows)
from patrol.outliers import (BURST_DROPOUT_S, burst_offsets, burst_stretches, bursts, median_outliers,
                             neighbour_steps, short_dropouts, spikes)

SPEED_CAP_MPS = {"foot": 3.0, "e_bike": 8.0, "vehicle": 25.0}
GAP_MODES = ("bridge", "split")
DROP_REASONS = ("accuracy", "outlier", "speed", "stationary")
EARTH_R_M = 6371008.8
TURN_MIN_M = 10.0  # a turn back: the way in and the way out each longer than 10 m,
TURN_COS = -0.3  # pointing apart (> ~107 degrees)
TIP_S = 45.0  # a stop's way in and way out: where the walker was 45 s before and after it


@dataclass(frozen=True)
class CleanParams:
    """How tracks are cleaned: the way of moving (``foot``, ``e_bike``, ``vehicle``: its speed
    cap), what a gap does (``bridge`` counts the straight line, ``split`` leaves it out) and the
    worst reported accuracy kept, in metres; the stop tests' windows and radii, and the
    walking-pace checks that overrule them (``walk_rate_mps=inf`` turns those off;
    ``run_walk_mps``: a whole run's, :func:`_walked_runs`, ``inf`` turns it alone off), the
    stationary time near a fix before it grows a stop's edges (``stop_seed_s``, 0: any), the
    longest break between two consecutive runs at one place (their cores' centroids within
    ``stop_radius_m/2``) that are one stop (``rejoin_s``, 0: none); the longest run at an
    out-and-back's tip taken for a walked turn (``tip_run_s``, 0 turns it off) and the longest
    multipath burst taken out whole (``burst_max_s``, 0 turns it off)."""

    mode: str = "foot"
    gaps: str = "bridge"
    max_accuracy_m: float = 50.0
    jump_m: float = 40.0
    noise_step_m: float = 5.0
    median_half: int = 15
    median_window_s: float = 15.0
    outlier_m: float = 25.0
    smooth_s: float = 10.0
    stop_window_s: float = 60.0
    stop_radius_m: float = 35.0
    min_stop_s: float = 60.0
    stop_half_m: float = 20.0
    stop_long_s: float = 120.0
    stop_long_radius_m: float = 50.0
    stop_long_half_m: float = 35.0
    walk_rate_mps: float = 0.7
    walk_rate_k: float = 0.3
    run_walk_mps: float = 0.5
    pace_smooth_s: float = 2.5
    pace_rate_k: float = 1.5
    pace_window_s: float = 40.0
    tip_run_s: float = 75.0
    stop_seed_s: float = 10.0
    rejoin_s: float = 10.0
    burst_max_s: float = 120.0
    gap_s: float = 120.0

    def __post_init__(self):
        problems = []
        if self.mode not in SPEED_CAP_MPS:
            problems.append({"where": "mode", "problem": f"unknown mode {self.mode!r}; expected one of "
                             f"{', '.join(SPEED_CAP_MPS)}"})
        if self.gaps not in GAP_MODES:
            problems.append({"where": "gaps", "problem": f"unknown gap handling {self.gaps!r}; expected one of "
                             f"{', '.join(GAP_MODES)}"})
        if problems:
            raise InvalidInput("; ".join(p["problem"] for p in problems), problems)

    @property
    def speed_cap_mps(self) -> float:
        """Fastest believable speed for ``mode``, metres per second."""
        return SPEED_CAP_MPS[self.mode]


@dataclass
class Cleaned:
    """Kept fixes (arrays aligned, sorted by track then time) plus what was dropped."""
    track_ids: np.ndarray  # codes -> track_id
    track: np.ndarray  # int track index per kept fix
    t_s: np.ndarray  # seconds since the epoch (float)
    lon: np.ndarray
    lat: np.ndarray
    x: np.ndarray  # local plane metres (per track origin), smoothed
    y: np.ndarray
    run: np.ndarray  # stationary run id per kept fix, -1 when moving
    gap_before: np.ndarray  # bool: the step into this fix spans a gap > gap_s
    stops: pd.DataFrame
    dropped: pd.DataFrame  # index track_id, one column per reason
    origin: tuple  # (lon0, lat0) per track
    params: CleanParams = field(default_factory=CleanParams)
    input_track: np.ndarray | None = None  # track index of every input fix, sorted order
    xr: np.ndarray | None = None  # unsmoothed plane metres of the kept fixes (stop centroid in runs)
    yr: np.ndarray | None = None
    moved: np.ndarray | None = None  # per track: fixes moved back out of a multipath burst
    # (the later steps may still drop some of them)

    def in_stop(self) -> np.ndarray:
        """Mask of the kept fixes in a reported stop (a stationary run long enough)."""
        return np.isin(self.run, self.stops["run"].to_numpy())

    def stopped_steps(self) -> np.ndarray:
        """Mask over the steps i -> i+1 between kept fixes: both fixes in one reported stop."""
        run = self.run
        return (self.track[1:] == self.track[:-1]) & (run[1:] >= 0) & (run[1:] == run[:-1]) \
            & self.in_stop()[1:]


def moving_average(x, y, w, key, half_s):
    """Centred moving average of (x, y) weighted by ``w`` over +-``half_s`` seconds, within
    each track (``key``: track index x 1e9 + seconds since the track's first fix, sorted)."""
    lo, hi = window_bounds(key, half_s)
    cw = np.r_[0.0, np.cumsum(w)]
    cx = np.r_[0.0, np.cumsum(w * x)]
    cy = np.r_[0.0, np.cumsum(w * y)]
    sw = cw[hi] - cw[lo]
    return (cx[hi] - cx[lo]) / sw, (cy[hi] - cy[lo]) / sw


def _count(track_ids, track, mask, reason, dropped):
    dropped[reason] += np.bincount(track[mask], minlength=len(track_ids))


def _edge_seeds(stat, t, track, bounds, seed_s):
    """The stationary fixes a stop's edges grow from (:func:`_stop_edges`): those with
    ``seed_s`` or more of stationary time within their window (``bounds``: first fix, one
    past the last), or a dropout (longer than ``BURST_DROPOUT_S``) there.

    Why: at a corner walked under GPS error the smoothed walker can slow enough for a fix or
    two to test as standing. Their edges reached 30 s into the walk either way and chained a
    real stop 50-75 s on to the walk before it, which the stop then hid (open-ground gm-173,
    seed 43, 1 s fixes: 100 s of walking, -3.8 %; now -2.6 %, and -2.3 % since a run read at
    walking pace is walked, :func:`_walked_runs`). A phone that loses the signal
    indoors leaves only a second or two of standing before the dropout, and the edges grown
    from those carry the stop across it (spring-0308, seed 7: a 592 s stop, reported).

    Measured (``stop_seed_s`` 0 -> 10; per track, 1 s and 5 s fixes): street simulator with
    the layer, seeds 7-23, 4,656 tracks: mean abs error 0.473 -> 0.469 %, beyond 3 %: 3 -> 2,
    worst 3.64 -> 3.44 %; open ground seeds 42-44, 1,800: 0.741 -> 0.739 %, 18 -> 17, worst
    4.17 -> 3.93 %; issue 15's range with bursts, seeds 42-45, 2,400: 0.681 -> 0.681 %, 8 -> 7,
    worst 3.79 -> 3.69 %; seeds never used in tuning (street layer 29, 31, open ground 46,
    with bursts 46; 2,752): 0.576 -> 0.575 %, 11 -> 11, worst 3.90 -> 3.55 %. 5 s or 20 s
    instead of 10 s (eight of those cells, 5,504 tracks: 0.613 -> 0.611 %, 22 -> 18): 0.611 /
    0.609 %, 21 / 19, worst 3.99 / 4.31 %. Stops on the street simulator (seed 7, 388
    outings; a true stop found when a reported one overlaps it): 1,498 -> 1,492 / 1,430 ->
    1,430 of 1,552 / 1,536 found (1 s / 5 s), reported on no true stop 33 -> 27 / 41 -> 37,
    walking hidden in stops 1,972 -> 1,691 m / 1,957 -> 1,771 m. Without the dropout rule a
    stop with the signal lost 20 s into it came out as its last 72 s on one draw of eight
    (tests/test_patrol.py::test_a_stop_with_the_signal_lost_inside_stays_one_stop); with
    seeds of >= 10 s alone and no dropout rule, spring-0308's 592 s stop went unreported.

    Tried and left (same cells): a run's end fixes farther than 20 / 30 m from its median
    released: 0.615 / 0.612 %, 21 / 21; short cores at an out-and-back's tip growing no edges:
    0.608-0.610 %, 23-25; edges over 1.5 x the half window or 1.4 x the radius: 0.621 / 0.615 %,
    23 / 23."""
    if seed_s <= 0 or not stat.any():
        return stat
    last = np.r_[track[1:] != track[:-1], True]
    dt = np.minimum(np.r_[np.diff(t), 0.0], seed_s)  # a dropout is no standing seen
    dt[last] = 0.0
    lo, hi = bounds
    standing = np.r_[0.0, np.cumsum(np.where(stat, dt, 0.0))]
    gap = (np.r_[np.diff(t), 0.0] > BURST_DROPOUT_S) & ~last
    gaps = np.r_[0, np.cumsum(gap)]
    return stat & ((standing[hi] - standing[lo] >= seed_s) | (gaps[hi] > gaps[lo]))


EDGE_DRIFT_M = 8.0


def _stop_edges(stat, seed, first, track, t, key, x, y, half_s, radius_m):
    """Stationary fixes plus a stop's edges. The centred window reaches into the walk before
    and after a stop, so its first and last half-window tested as moving (stops came out
    10-15% short). A fix within half a window before or after a ``seed`` (:func:`_edge_seeds`)
    joins its stationary run when it, and every fix between it and the run, lies within
    ``radius_m`` of the run's centre: its centroid, or, on the way in, the mean of its first
    ``half_s`` of fixes (on the way out, its last) when that lies more than ``EDGE_DRIFT_M``
    from the centroid.

    Why the run's ends: over a stop of several minutes the GPS error wanders by about sigma,
    so the phone shows the stop's first and last half-minute away from the mean over all of
    it. The fixes of the standing there failed the test against the centroid and were walked
    path (street simulator spring-0228, seed 13, 5 s fixes, sigma 9.1 m, a 555 s stop: 29 m
    walked into the stop and 34 m out of it where it stood; +3.28 % -> +1.34 % with the street
    layer). Measured (per track, 1 s + 5 s): tuning cells 0.8861 -> 0.8787 % mean abs error,
    beyond 3 %: 132 -> 125; held out 0.8032 -> 0.7990 %, 65 -> 66; the street simulator with
    the layer, seeds 7-23 (4,656 tracks): 0.4670 -> 0.4603 %, 4 -> 4, worst 3.44 -> 3.83 %
    (spring-0315: 13 s of the way in and 30 s of the way out, with a corner, now in a stop);
    walking hidden in stops on seed 7: 1,494 -> 1,623 m / 1,672 -> 1,715 m. Tried: a run's
    ends always (not only past ``EDGE_DRIFT_M``): 0.8763 % / 0.8007 %, 129 / 67; either
    centre: 0.8788 % / 0.8006 %; the ends' means over 60 s: 0.8807 % / 0.8004 %, 128 / 65,
    street 0.4616 %, worst 4.40 %; ``EDGE_DRIFT_M`` 5-12 m: within 0.002 points; no edge fix
    whose step toward the run is faster than 0.7 m/s: 0.9204 % (at sigma 9 m a standing
    phone wanders that fast)."""
    n = len(stat)
    if not stat.any():
        return stat
    run, rf, rl, _, _, cx, cy = _run_places(stat, stat, first, x, y)
    idx = np.arange(n)
    # the means of each run's first and last half_s
    sx, sy = np.r_[0.0, np.cumsum(x)], np.r_[0.0, np.cumsum(y)]
    head = np.minimum(np.searchsorted(key, key[rf] + half_s, "right"), rl + 1)
    tail = np.maximum(np.searchsorted(key, key[rl] - half_s, "left"), rf)
    ends = ((sx[head] - sx[rf]) / (head - rf), (sy[head] - sy[rf]) / (head - rf)), \
           ((sx[rl + 1] - sx[tail]) / (rl + 1 - tail), (sy[rl + 1] - sy[tail]) / (rl + 1 - tail))
    out = stat.copy()
    # nearest seed at or after each fix (the way in), then at or before it (the way out)
    for (ex, ey), nearest in zip(ends, (np.minimum.accumulate(np.where(seed, idx, n)[::-1])[::-1],
                                        np.maximum.accumulate(np.where(seed, idx, -1)))):
        has = (nearest >= 0) & (nearest < n)
        j = np.where(has, nearest, 0)
        near = has & ~stat & (track[j] == track) & (np.abs(t[j] - t) <= half_s)
        drifted = plane_m(ex - cx, ey - cy) > EDGE_DRIFT_M
        r = run[j]
        px, py = np.where(drifted, ex, cx)[r], np.where(drifted, ey, cy)[r]
        close = near & (plane_m(x - px, y - py) <= radius_m)
        # every fix between this one and the run must be close too: no far fix in between
        far = np.cumsum(~close & ~stat)
        lo, hi = np.minimum(idx, j), np.maximum(idx, j)
        between_far = far[hi] - np.where(lo > 0, far[np.maximum(lo - 1, 0)], 0)
        out |= close & (between_far == 0)
    return out


def apart(ax, ay, bx, by, min_m, cos_max):
    """Way in (ax, ay) and way out (bx, by) both longer than min_m and pointing apart (cosine
    below cos_max); and their lengths."""
    la, lb = plane_m(ax, ay), plane_m(bx, by)
    return (la > min_m) & (lb > min_m) & (ax * bx + ay * by < cos_max * la * lb), la, lb


def _walked_tips(run, r_first, r_last, key, t, x, y, short_s):
    """Per stationary run: shorter than ``short_s`` with its way in and way out (``TIP_S``
    before its first fix and after its last) pointing apart - the turn of an out-and-back,
    walked; and where its tip is: the run's fix farthest out along the bisector of the way in
    and the way out.

    Why: at sigma ~9 m the smoothed positions of a walker doubling back 20-40 m stay within
    a stop's radius for 60-75 s (95 % of the runs shorter than 75 s on both simulators were
    walking, against 15 % of those of 75-90 s), and collapsing the run onto its centroid,
    halfway out, took half the out-and-back off (spring-0178, seed 19, 5 s fixes: -4.3 %).
    Left as walking, the GPS wander at turns of open-ground walks was counted (-> +3.2 % on
    one walk); one vertex at the tip gives the out-and-back and no wander. A real stop this
    short at a tip loses its report; its tip is its place, give or take the GPS error."""
    i, o = windows(key, r_first, r_last, TIP_S)
    mx, my = (x[r_first] + x[r_last]) / 2, (y[r_first] + y[r_last]) / 2
    ax, ay, bx, by = mx - x[i], my - y[i], x[o] - mx, y[o] - my
    tip, la, lb = apart(ax, ay, bx, by, TURN_MIN_M, TURN_COS)
    tip &= (t[r_last] - t[r_first]) < short_s
    ux = ax / np.maximum(la, 1e-9) - bx / np.maximum(lb, 1e-9)
    uy = ay / np.maximum(la, 1e-9) - by / np.maximum(lb, 1e-9)
    j = np.flatnonzero(run >= 0)
    r = run[j]
    out = (x[j] - mx[r]) * ux[r] + (y[j] - my[r]) * uy[r]
    best = np.full(len(r_first), -np.inf)
    np.maximum.at(best, r, out)
    far = r_first.copy()
    far[r[out >= best[r]]] = j[out >= best[r]]
    return tip, x[far], y[far]


def residual_noise_m(xr, yr, x, y, track, n_tracks: int) -> np.ndarray:
    """Per track, the GPS noise the smoothing left out: per-axis scale of the unsmoothed
    (``xr``, ``yr``) minus smoothed (``x``, ``y``) positions, robust (from the median of the
    squared 2-D residual; a Rayleigh median is sigma x sqrt(2 ln 2)). It grows with
    sigma^2 / tau of a Gauss-Markov error; 0 for a track with no fix."""
    # a residual beyond 1 km is an outlier the median ignores anyway
    med = track_median(np.minimum((xr - x) ** 2 + (yr - y) ** 2, 2.0 ** 20 - 1), track, n_tracks, 0.0)
    return np.sqrt(med / (2 * np.log(2)))


def _pacing(xr, yr, w, t, key, first, track, stat, n_tracks, p):
    """Fixes taken for standing where the walker paces out and back faster than the smoothing
    lets through: the path of the lightly smoothed positions (+-``pace_smooth_s``) within
    ``pace_window_s`` runs at ``walk_rate_mps`` or more and at ``pace_rate_k`` x the median
    such rate of the track's fixes taken for standing (which, most of them real stops, says
    how fast GPS error alone moves a standing phone's lightly smoothed position).

    Why 40 s and 1.5 x (60 s, the stop window, and 2 x before): GPS noise adds to a walker's
    path rate, so a walker at ~1 m/s doubling back over 40-50 m ran at only 1.3-1.9 x a
    standing phone's rate at sigma ~8-10 m and hid 60-90 m in a reported stop (simulated
    spring-0011, seed 23, 5 s fixes: -3.6 %). Over 60 s at 1.5 x, the window of a short real
    stop's every fix reached the walk before or after it, and ~2 % of real stops were lost;
    over 40 s none are (seed 7, 388 outings: 1,460 / 1,412 real stops reported at 1 s / 5 s
    fixes before, 1,464 / 1,406 now) and the walking hidden in stops falls by a fifth to a
    quarter (2,449 -> 1,972 m at 1 s, 2,722 -> 1,957 m at 5 s). Over 30 s the rate is too
    noisy at 5 s fixes (a walk's worst track 4.0 -> 5.0 %)."""
    path_m = _path_m(*moving_average(xr, yr, w, key, p.pace_smooth_s), first)
    rate = _path_rate(path_m, t, *_window(key, p.pace_window_s))
    standing = track_median(np.minimum(rate[stat], 2.0 ** 20 - 1), track[stat], n_tracks, np.inf)
    return stat & (rate >= np.maximum(p.walk_rate_mps, p.pace_rate_k * standing)[track])


def _walked_runs(stat, core, first, track, t, path_m, win, noise, p):
    """The fixes of stationary runs (``stat``, edges included) the walker walked through:
    the median over the run's ``core`` fixes of the smoothed path's rate within the stop
    window (``win``: :func:`patrol.arrays.window_bounds` of half of it) is at
    ``run_walk_mps`` or more and at ``walk_rate_k`` x the track's residual ``noise`` per
    second. A run with a dropout inside is left alone (a phone indoors: the few fixes either
    side of the dropout read the walk in and out).

    Why: the per-fix walking check (``walk_rate_mps``, 0.7 m/s) must pass the fastest wander
    of a standing phone at any noise, but on a quiet track a standing phone's smoothed
    position wanders far slower: over the stop window at 0.18-0.47 m/s in the median and
    under 0.33 x the residual noise per second at 99.99 % of fixes (seed 7, 388 outings,
    fixes standing for 60 s; 0.30 x at 5 s fixes; a run's median stays further under: at
    most 0.24 x / 0.23 x over the 956 / 1,018 runs of 30 s or more standing there), while a
    walker slowed by the GPS error drifting along with them, or by the smoothing rounding the
    turns of a zig-zag, reads 0.6-0.8 m/s. Such a run was taken for a stop and the walk in it
    went (open-ground plain walk gm-199, seed 44, 5 s fixes, 1-2 km: three turns of 130-147
    degrees within 170 s at 0.95 m/s under sigma 8.6 m, tau 155 s, read 0.64-0.79 m/s, a
    120 s stop, -4.9 %, now -1.0 %; tests/test_patrol.py: a zig-zag of 60 m legs at 0.8 m/s,
    18 of 20 walks). A few
    fast fixes (a moment of quick wander) do not make a standing phone walk: the median over
    the run does not move.

    Measured (per track, 1 s + 5 s; run_walk_mps inf -> 0.5): og42, ogB42, sh42, sh43, pl42,
    pl43 (open ground; sh: 1-2 km in issue 15's range with bursts, pl: plain 1-2 km), st7L,
    hs7L, st7 (street simulator, 200 outings), 4,800 tracks: mean |error| 0.8947 ->
    0.8894 %, beyond 3 %: 138 -> 135; held out (og46, ogB46, sh46, pl46, st29L, st31L),
    3,200: 0.8049 -> 0.8033 %, 68 -> 65. Stops (seed 7, 388 outings, 1 s / 5 s): true stops
    found 1,495 / 1,443 as before, reported on no true stop 24 -> 17 / 25 -> 20, walking
    hidden in stops 1,684 -> 1,494 m / 1,749 -> 1,672 m. Floors of 0.4-0.55 m/s came out the
    same (0.8888-0.8890 % in a first form of the test); 0.6: 0.8917 %. Tried and left: the
    test on the runs before their edges grow (a short piece of a long stop, its wander quick
    for a while, split the stop: 0.8888 % but held-out sh46 worst 4.91 -> 5.75 %, true
    stops found 1,495 -> 1,431 at 1 s without the dropout rule); only on runs of 30 s / 60 s
    or more: 0.8905 / 0.8909 %."""
    rate = _path_rate(path_m, t, win[0], win[1] - 1)
    starts, run = _runs(stat, first)
    n_runs = int(starts.sum())
    med = track_median(np.minimum(rate[core], 2.0 ** 20 - 1), run[core], n_runs, 0.0)
    walked = med >= np.maximum(p.run_walk_mps, p.walk_rate_k * noise)[track[starts]]
    dropout = stat[1:] & stat[:-1] & ~first[1:] & (np.diff(t) > BURST_DROPOUT_S)
    walked[run[1:][dropout]] = False
    return stat & walked[np.maximum(run, 0)]


def _rejoined(stat, core, first, track, t, x, y, within_s, radius_m):
    """``stat`` with the fixes between two consecutive runs of a track added where the runs
    are one stop: the second begins within ``within_s`` of the first's last fix and the
    centroids of their ``core`` fixes lie within ``radius_m`` of each other.

    Why: over a long stop under high, quick GPS error the smoothed position can wander off
    fast enough for a few seconds to fail the stationary test. The stop split in two at the
    same place, with the wandered fixes between as a walk out and back (hidden street walk
    spring-0152, seed 13, sigma 9.1 m, tau 41 s, 1 s fixes: a 544 s stop split 3 s apart
    around two fixes 24 m off: +3.80 -> +2.39 % with the street layer, +5.30 -> +3.11 %
    without). Within ``within_s`` (10 s) a walker who left can have gone ~7 m out and back,
    under the GPS error; longer gaps (15-30 s) hid real walks between two stops near each
    other (a walk out and back between them).

    Measured (per track, 1 s + 5 s; rejoin_s 0 -> 10): tuning cells (og42, ogB42, sh42, sh43,
    pl42, pl43, st7L, hs7L, st7), 4,800 tracks: mean |error| 0.8894 -> 0.8888 %, beyond 3 %
    135 -> 134 (street walk spring-0071, seed 7, 1 s: +3.4 -> +1.6 %); held out (og46, ogB46,
    sh46, pl46, st29L, st31L), 3,200: 0.8033 % either way; the street simulator with the
    layer, seeds 11 and 13 and sigma 8-10 m at seed 13, 1,200: 0.5374 -> 0.5361 %, worst at 1 s
    3.80 -> 3.23 %. Rare: on seed 7's 388 outings at 1 s fixes, 1,476 stops reported became
    1,475, and none changed at 5 s. Gaps of 30 s: the same on the tuning cells but walks
    between two stops hidden (street walk spring-0089, seed 7, 5 s: -1.8 -> -2.7 %); gaps up
    to 60 s whose wander no walker could cover at the speed cap (less the edge radius): no
    track changed."""
    run, r0, last, _, cnt, cx, cy = _run_places(stat, core, first, x, y)
    if len(r0) < 2:
        return stat
    a, b = last[:-1], r0[1:]
    one = (track[a] == track[b]) & (t[b] - t[a] <= within_s) & (cnt[:-1] > 0) & (cnt[1:] > 0)
    one &= plane_m(cx[1:] - cx[:-1], cy[1:] - cy[:-1]) <= radius_m
    # a fix numbered r (run at or before it) that is not stationary lies between runs r, r+1
    return stat | ((run >= 0) & np.r_[one, False][np.maximum(run, 0)])


def _run_places(stat, core, first, x, y):
    """The runs of ``stat`` and where they are: run number per fix (as :func:`_runs`: that of
    the run at or before it), each run's first and last fix, its ``core`` fixes, their count
    per run and their centroid (x, y) per run."""
    starts, run = _runs(stat, first)
    n_runs = int(starts.sum())
    r_first = np.flatnonzero(starts)
    r_last = r_first + np.bincount(run[stat], minlength=n_runs) - 1
    ci = np.flatnonzero(core & stat)
    cnt = np.bincount(run[ci], minlength=n_runs)
    cx, cy = (np.bincount(run[ci], v[ci], minlength=n_runs) / np.maximum(cnt, 1) for v in (x, y))
    return run, r_first, r_last, ci, cnt, cx, cy


def _runs(mask, first):
    """Runs of consecutive ``mask`` fixes within a track: (mask of each run's first fix, run
    number per fix, counted over all fixes: that of the run at or before it, -1 before the
    first)."""
    starts = mask & (first | ~np.r_[False, mask[:-1]])
    return starts, np.cumsum(starts) - 1


def _path_rate(path_m, t, lo, hi) -> np.ndarray:
    """Metres per second along the path (``path_m``: :func:`_path_m`) from fix ``lo`` to fix
    ``hi`` (each a per-fix index array: the window's first and last fix)."""
    return (path_m[hi] - path_m[lo]) / np.maximum(t[hi] - t[lo], 1.0)


def _path_m(x, y, first) -> np.ndarray:
    """Cumulative metres along each track's path through (x, y) (restarting at ``first``)."""
    step = np.r_[0.0, plane_m(np.diff(x), np.diff(y))] if len(x) else np.zeros(0)
    return np.cumsum(np.where(first, 0.0, step))


def _window(key, window_s):
    """Per fix, the first and last fix of its track within +-``window_s``/2 (``key``: track
    index x 1e9 + seconds, sorted)."""
    lo, hi = window_bounds(key, window_s / 2)
    return lo, hi - 1


def _stationary(x, y, t, key, window_s, radius_m, half_m, path_m=None, walk_mps=None, bounds=None):
    """Fixes whose smoothed positions ``window_s/2`` before and after are within ``radius_m``
    of each other (as a rate: radius per window, so one-sided windows at gaps and ends still
    work; over at least half a window), and each within ``half_m`` of the fix itself (a turn
    back on the spot brings the walker back to where they were a window ago, but the fix
    between is far from both), unless the smoothed path covered within the window
    (``path_m``: cumulative metres along the track) runs at ``walk_mps`` (per fix) or more.
    ``bounds``: :func:`patrol.arrays.window_bounds` for half the window, when the caller has it."""
    half = window_s / 2
    lo, hi = _window(key, window_s) if bounds is None else (bounds[0], bounds[1] - 1)
    span = t[hi] - t[lo]
    moved = plane_m(x[hi] - x[lo], y[hi] - y[lo])
    stat = (span >= half) & (moved < radius_m * np.maximum(span, 1.0) / window_s)
    if half_m > 0:
        far = np.maximum(plane_m(x - x[lo], y - y[lo]), plane_m(x[hi] - x, y[hi] - y))
        stat &= far < half_m
    if path_m is not None:
        stat &= path_m[hi] - path_m[lo] < walk_mps * np.maximum(span, 1.0)
    return stat


def _drop_outliers(track_ids, track, t, x, y, acc, seen, p, dropped):
    """Step 2, ``outlier``: multipath bursts moved back by their jumps (dropped where they
    cannot be), then the fixes far from the running median, in up to three passes. Returns
    the kept ``track, t, x, y, acc`` and the fixes moved back per track; counts the drops in
    ``dropped``."""
    nt = len(track_ids)
    steps = neighbour_steps(x, y, t, track)
    cut = burst_stretches(track, steps[1], steps[2])  # for the burst tests, found once
    short = short_dropouts(track, steps[1], steps[2], cut)
    bad, jumps = bursts(x, y, t, track, p, steps, cut, short)
    moved = np.zeros(nt, np.int64)
    if bad.any():
        # a burst's fixes are moved back where the jumps say the walk was; dropped only where
        # no side of the burst says how far
        ox, oy, movable = burst_offsets(bad, jumps, x, y, t, track, p, steps, cut, short)
        x, y = x - ox, y - oy
        moved = np.bincount(track[bad & movable], minlength=nt)
        bad &= ~movable
        _count(track_ids, track, bad, "outlier", dropped)
        keep = ~bad
        track, t, x, y, acc, seen = track[keep], t[keep], x[keep], y[keep], acc[keep], seen[keep]
        steps = None
    for _ in range(3):
        start, end = group_bounds(track, nt)
        bad = median_outliers(x, y, t, track, start, end, p, steps, seen)
        steps = None
        if not bad.any():
            break
        _count(track_ids, track, bad, "outlier", dropped)
        keep = ~bad
        track, t, x, y, acc, seen = track[keep], t[keep], x[keep], y[keep], acc[keep], seen[keep]
    return track, t, x, y, acc, moved


def _drop_spikes(track_ids, track, t, x, y, acc, p, dropped):
    """Step 3, ``speed``: what is left of a spike (:func:`patrol.outliers.spikes`), in up to
    two passes. Returns the kept ``track, t, x, y, acc``; counts the drops in ``dropped``."""
    for _ in range(2):
        bad = spikes(x, y, t, track, p)
        if not bad.any():
            break
        _count(track_ids, track, bad, "speed", dropped)
        keep = ~bad
        track, t, x, y, acc = track[keep], t[keep], x[keep], y[keep], acc[keep]
    return track, t, x, y, acc


def _stationary_runs(x, y, xr, yr, w, t, key, first, track, nt, p):
    """Step 5, finding the stationary runs: the fixes the stop tests take for standing, less
    pacing (:func:`_pacing`), grown by their edges (:func:`_edge_seeds`, :func:`_stop_edges`),
    less the runs walked through (:func:`_walked_runs`), with the breaks between runs at one
    place filled (:func:`_rejoined`). Returns the mask of the runs' fixes (``stat``, edges
    included) and of their ``core`` (the fixes the tests took, edges not)."""
    half = p.stop_window_s / 2
    path_m = _path_m(x, y, first)
    noise = residual_noise_m(xr, yr, x, y, track, nt)
    walk_mps = np.maximum(p.walk_rate_mps, p.walk_rate_k * noise)[track]
    win = window_bounds(key, half)  # the stop window's fixes, once for the tests and the seeds
    stat = _stationary(x, y, t, key, p.stop_window_s, p.stop_radius_m, p.stop_half_m, path_m, walk_mps,
                       win)
    if p.stop_long_s > 0:
        stat |= _stationary(x, y, t, key, p.stop_long_s, p.stop_long_radius_m, p.stop_long_half_m,
                            path_m, walk_mps)
    if stat.any():
        stat &= ~_pacing(xr, yr, w, t, key, first, track, stat, nt, p)
    core = stat
    seed = _edge_seeds(stat, t, track, win, p.stop_seed_s)
    stat = _stop_edges(stat, seed, first, track, t, key, x, y, half, p.stop_radius_m / 2)
    if stat.any() and np.isfinite(p.walk_rate_mps) and np.isfinite(p.run_walk_mps):
        through = _walked_runs(stat, core, first, track, t, path_m, win, noise, p)
        stat, core = stat & ~through, core & ~through
    if stat.any() and p.rejoin_s > 0:
        stat = _rejoined(stat, core, first, track, t, x, y, p.rejoin_s, p.stop_radius_m / 2)
    if stat.any() and TWO_PLACES_M > 0:
        stat = _two_places(stat, first, t, x, y)
        core &= stat
    return stat, core


TWO_PLACES_M = 25.0  # a run whose two parts' centroids lie >= 25 m apart,
TWO_PLACES_K = 3.0  # >= 3 x the spread of the run's fixes about them,
TWO_PLACES_SIDE_S = 60.0  # each part lasting >= 60 s,
TWO_PLACES_MPS = 1.2  # the phone crossing the middle half between them at >= 1.2 m/s: two stops
TWO_PLACES_U = 0.25  # (the middle half: a quarter of the way from either centroid)


def _two_places(stat, first, t, x, y):
    """Stationary runs (``stat``) whose fixes sit at two places are two stops with the walk
    between them: per run the split where the centroids before and after it lie furthest
    apart (weighted by the parts' sizes, as a change in the mean); when they lie
    TWO_PLACES_M or more apart and TWO_PLACES_K x the spread of the run's smoothed positions
    (``x``, ``y``) about them, each part lasts TWO_PLACES_SIDE_S, and the phone crossed the
    middle half of the way (from the last fix within TWO_PLACES_U of the way from the first
    centroid to the first fix as near the second) at TWO_PLACES_MPS or more, the fixes of that
    crossing are walking (at least one fix: the runs stay apart).

    Why: two stops 20-60 m apart, a short walk between them (an officer at one shop, then at
    the next), were one run: its test window reaches across the walk, whose fixes the edges
    then joined, and the walk was hidden: on open-ground walks of 1-2 km in issue 15's range,
    whose stops fall anywhere along them, 166 of 1,730 walks between two stops (seeds 42-43,
    1 s and 5 s fixes), 66 of the 91 of 20-40 m and 15 of the 77 of 40-60 m. Measured per
    track, 1 s + 5 s (``python -m patrol.accuracy --open-ground --length-m 1000 2000 --sigma
    3 8 --tau 30 120 --multipath-s 10 60 --multipath-m 30 150 --outings 300 --seed S``), seeds
    44, 45, 47-50 (3,600 walks, none used in tuning): mean |error| 1.1724 -> 1.1630 %, beyond
    3 %: 192 -> 187; the same walks drawn with the phone's error from a stream of its own,
    seeds 42-53 (7,200): 1.1338 -> 1.1283 %, 359 -> 345, walks between two stops hidden 908
    -> 596 of 10,420. Tuning cells of the issue notes 0.8787 -> 0.8776 % (125 -> 127 beyond
    3 %), held out 0.7989 -> 0.7986 % (66 -> 65), street simulator seeds 7-23 with the layer
    0.4603 % either way (4 -> 4). Where it breaks: the walk it finds still counts short where
    a stop lies at a corner (the path skips a stop's centroid, :func:`patrol.mileage._stop_core`),
    and tracks whose stops already came out long (the GPS offset jumps between a stop's way
    in and way out) come out longer: the tracks it made worse are those, at sigma 7-8 m. GPS
    wander over a long stop at high sigma and long correlation time can shift the mean as far;
    its crossing is slower (at 0.7 m/s instead of 1.2 it split a 575 s stop at sigma 8.3 m,
    tau 120 s: street simulator spring-0035, seed 23, +2.98 -> +3.41 %)."""
    n = len(stat)
    run, rf, rl = _run_places(stat, stat, first, x, y)[:3]
    n_runs = len(rf)
    # every split: fix i opens the second part
    i = np.flatnonzero(stat)
    i = i[i != rf[run[i]]]
    r = run[i]
    ok = (t[i - 1] - t[rf[r]] >= TWO_PLACES_SIDE_S) & (t[rl[r]] - t[i] >= TWO_PLACES_SIDE_S)
    i, r = i[ok], r[ok]
    if not len(i):
        return stat
    sx, sy, sq = (np.r_[0.0, np.cumsum(v)] for v in (x, y, x * x + y * y))
    na, nb = i - rf[r], rl[r] + 1 - i
    ax, ay = (sx[i] - sx[rf[r]]) / na, (sy[i] - sy[rf[r]]) / na
    bx, by = (sx[rl[r] + 1] - sx[i]) / nb, (sy[rl[r] + 1] - sy[i]) / nb
    d = plane_m(bx - ax, by - ay)
    o = np.lexsort((d * d * na * nb / (na + nb), r))
    best = o[np.r_[r[o][1:] != r[o][:-1], True]]  # per run, its best split
    rb = r[best]
    spread = np.sqrt(np.maximum(sq[rl[rb] + 1] - sq[rf[rb]] - na[best] * (ax[best] ** 2 + ay[best] ** 2)
                                - nb[best] * (bx[best] ** 2 + by[best] ** 2), 0.0) / (na[best] + nb[best]))
    best = best[(d[best] >= TWO_PLACES_M) & (d[best] >= TWO_PLACES_K * spread)]
    if not len(best):
        return stat
    # each fix of those runs: how far along the way from the first centroid to the second
    rb = r[best]
    which = np.full(n_runs, -1)
    which[rb] = np.arange(len(rb))
    k = np.flatnonzero(stat & (which[np.maximum(run, 0)] >= 0))
    w = which[run[k]]
    b = best[w]
    u = ((x[k] - ax[b]) * (bx[b] - ax[b]) + (y[k] - ay[b]) * (by[b] - ay[b])) / (d[b] * d[b])
    in_b = k >= i[b]
    at_a, at_b = ~in_b & (u <= TWO_PLACES_U), in_b & (u >= 1 - TWO_PLACES_U)
    la, fb = np.full(len(rb), -1), np.full(len(rb), n)
    np.maximum.at(la, w[at_a], k[at_a])
    np.minimum.at(fb, w[at_b], k[at_b])
    la = np.where(la >= 0, la, i[best] - 1)
    fb = np.where(fb < n, fb, i[best])
    quick = d[best] / np.maximum(t[fb] - t[la], 1.0) >= TWO_PLACES_MPS
    la, fb = la[quick], fb[quick]
    walk = np.zeros(n + 1, np.int64)
    np.add.at(walk, la + 1, 1)
    np.add.at(walk, fb, -1)
    out = stat & (np.cumsum(walk[:-1]) == 0)
    out[fb[fb == la + 1]] = False
    return out


def _collapse_runs(stat, core, first, track, t, key, x, y, xr, yr, tip_run_s):
    """Step 5, collapsing the runs (``stat``, their ``core``: :func:`_stationary_runs`) onto
    their places: the centroid of the core, or the tip of a walked turn (:func:`_walked_tips`).
    Moves the run's fixes in ``x``, ``y``, ``xr``, ``yr`` (in place) and picks the fixes kept.
    Returns the run number per fix (-1 when moving), the mask of the fixes kept, and per run
    (for :func:`_stops_table`) its track, first and last fix's time, place (x, y) and whether
    it is a walked turn."""
    n = len(x)
    # the stop's place: the centroid of its core (its edges, on the way in and out, would
    # pull it off a corner it was made at)
    run, r_first, r_last, ci, rc, cx, cy = _run_places(stat, core, first, x, y)
    run = np.where(stat, run, -1)
    n_runs = len(r_first)
    in_run = run >= 0
    cr = run[ci]
    walked, tx, ty = _walked_tips(run, r_first, r_last, key, t, x, y, tip_run_s)
    cx, cy = np.where(walked, tx, cx), np.where(walked, ty, cy)
    # the run collapses onto the centroid: its first and last core fix are kept there; its
    # first and last fix, when edges (on the way in and out), are kept where measured
    fc = np.full(n_runs, n)
    lc = np.full(n_runs, -1)
    np.minimum.at(fc, cr, ci)
    np.maximum.at(lc, cr, ci)
    edge_end = np.zeros(n, bool)
    edge_end[r_first[r_first < fc]] = True
    edge_end[r_last[(r_last > lc) & (lc >= 0)]] = True
    inner = in_run & ~edge_end
    r_idx = run[inner]
    x[inner], y[inner] = cx[r_idx], cy[r_idx]
    xr[inner], yr[inner] = cx[r_idx], cy[r_idx]
    keep = ~in_run | edge_end
    keep[fc[rc > 0]] = True
    keep[lc[rc > 0]] = True
    return run, keep, (track[r_first], t[r_first], t[r_last], cx, cy, walked)


def _gap_before(track, t, gap_s):
    """Step 6, gaps: per kept fix, whether the step into it from the fix before in its track
    spans more than ``gap_s`` (signal lost)."""
    gap_before = np.zeros(len(t), bool)
    if len(t) > 1:
        gap_before[1:] = (np.diff(t) > gap_s) & (track[1:] == track[:-1])
    return gap_before


def _stops_table(runs, track_ids, lon0, lat0, kx, ky, min_stop_s):
    """The stops table: the runs (per run as :func:`_collapse_runs` returns them) lasting
    ``min_stop_s`` or more that are not walked turns, at their place in lon/lat."""
    r_track, r_t0, r_t1, cx, cy, walked = runs
    slon = lon0[r_track] + cx / kx[r_track]
    slat = lat0[r_track] + cy / ky
    is_stop = ((r_t1 - r_t0) >= min_stop_s) & ~walked
    return pd.DataFrame({
        "track_id": track_ids[r_track[is_stop]],
        "lon": slon[is_stop], "lat": slat[is_stop],
        "start": pd.to_datetime(r_t0[is_stop], unit="s", utc=True),
        "end": pd.to_datetime(r_t1[is_stop], unit="s", utc=True),
        "duration_s": (r_t1 - r_t0)[is_stop],
        "run": np.flatnonzero(is_stop),
    })


def clean(fixes: pd.DataFrame, params: CleanParams | None = None, tracks=None, **kw) -> Cleaned:
    """Clean ``fixes``; ``tracks``: what :func:`patrol.arrays.by_track_time` returned for
    them, when the caller has it (then ``fixes`` are its sorted frame)."""
    p = params or CleanParams(**kw)
    fixes, codes, track_ids = tracks if tracks is not None else by_track_time(fixes)
    track_ids = np.asarray(track_ids, dtype=object)
    nt = len(track_ids)
    track = codes.astype(np.int64)
    t = epoch_s(fixes["t"])
    lon = fixes["lon"].to_numpy(dtype=float)
    lat = fixes["lat"].to_numpy(dtype=float)
    acc = (fixes["accuracy_m"].to_numpy(dtype=float) if "accuracy_m" in fixes
           else np.full(len(fixes), np.nan))
    dropped = {r: np.zeros(nt, np.int64) for r in DROP_REASONS}

    # local plane per track
    cnt = np.maximum(np.bincount(track, minlength=nt), 1)
    lon0 = np.bincount(track, lon, minlength=nt) / cnt
    lat0 = np.bincount(track, lat, minlength=nt) / cnt
    kx = np.radians(1.0) * EARTH_R_M * np.cos(np.radians(lat0))
    ky = np.radians(1.0) * EARTH_R_M

    # the phone's time with a signal (dropouts longer than BURST_DROPOUT_S left out): the
    # running median's window keeps to it, so it reaches across a dropout as far as without
    # one, but not across the fixes the next steps take out
    seen = signal_time_s(t, track, BURST_DROPOUT_S)

    # 1. accuracy
    bad = acc > p.max_accuracy_m
    _count(track_ids, track, bad, "accuracy", dropped)
    keep = ~bad
    track, t, lon, lat, acc, seen = track[keep], t[keep], lon[keep], lat[keep], acc[keep], seen[keep]
    x = (lon - lon0[track]) * kx[track]
    y = (lat - lat0[track]) * ky

    # 2. multipath bursts (a jump away and one back), then outliers against the running
    # median; again on what is left (bursts that overlap can fill more than half a window:
    # the first pass takes their majority)
    track, t, x, y, acc, moved = _drop_outliers(track_ids, track, t, x, y, acc, seen, p, dropped)

    # 3. residual spikes over the speed cap
    track, t, x, y, acc = _drop_spikes(track_ids, track, t, x, y, acc, p, dropped)

    # 4. smoothing, accuracy-weighted
    key = time_key(t, track)
    w = np.where(np.isfinite(acc), 1.0 / np.maximum(acc, 3.0) ** 2, 1.0 / 100.0)
    xr, yr = x.copy(), y.copy()
    if p.smooth_s > 0 and len(x):
        x, y = moving_average(x, y, w, key, p.smooth_s)

    # 5. stationary runs collapse to their centroid
    first = np.r_[True, track[1:] != track[:-1]] if len(x) else np.zeros(0, bool)
    stat, core = _stationary_runs(x, y, xr, yr, w, t, key, first, track, nt, p)
    run, keep, runs = _collapse_runs(stat, core, first, track, t, key, x, y, xr, yr, p.tip_run_s)
    _count(track_ids, track, ~keep, "stationary", dropped)
    track, t, x, y, run = track[keep], t[keep], x[keep], y[keep], run[keep]
    xr, yr = xr[keep], yr[keep]

    # 6. gaps
    gap_before = _gap_before(track, t, p.gap_s)

    lon = lon0[track] + x / kx[track]
    lat = lat0[track] + y / ky
    stops = _stops_table(runs, track_ids, lon0, lat0, kx, ky, p.min_stop_s)
    dropped_df = pd.DataFrame(dropped, index=pd.Index(track_ids, name="track_id"))
    return Cleaned(track_ids, track, t, lon, lat, x, y, run, gap_before, stops, dropped_df,
                   (lon0, lat0), p, codes.astype(np.int64), xr, yr, moved)
