"""Patrol mileage: geodesic metres per track, times, stops and distance per grid.

Path. The cleaned fixes (see :mod:`patrol.clean`: outliers out, smoothed, stops collapsed)
become one LineString per continuous piece in the track's local metric plane:

1. Pieces: a track, cut at ``split`` gaps, at bridged gaps shorter than a stop radius (a
   phone that lost the signal indoors comes back a GPS error away: no distance), and at
   turn-back fixes (:func:`turn_points`: U-turns, the sharp ends of zig-zags; on quiet
   tracks also the tips of short pacing, :func:`short_turn_points`), because
   Douglas-Peucker drops the tip of an out-and-back that lies on its chord. Next to a
   dropout the test reads 30 s of the walk seen beyond it, and takes a turn-back when that
   walk comes back along the way in (a U-turn whose tip the phone did not see: -3.4 % on
   simulated spring-0135, seed 23, 5 s fixes, before).
2. Vertices: Douglas-Peucker on the smoothed path, tolerance per track ``SIMPLIFY_K`` x
   :func:`noise_m` x sqrt(noise_m / ``SIMPLIFY_REF_M``) within [``simplify_m``,
   ``SIMPLIFY_MAX_M``] = 4-20 m. noise_m is the part of the GPS error the smoothing left
   out; it grows with sigma^2/tau of a Gauss-Markov error, and the wiggles that error draws
   into the smoothed path grow faster than it (at noise_m ~3 m, sigma ~9 m and tau ~30 s,
   a tolerance of 4 x noise_m left wiggles that added +3-4 % on the worst tracks).
3. Where the vertices go (:func:`_vertices`): interior vertices at the smoothed position;
   piece ends at the unsmoothed fix; corners (legs turning by > ~25 degrees, each with >= 2
   fixes over >= 5 m) at the intersection of straight lines fitted (total least squares) to
   the unsmoothed fixes of the legs either side - short legs between, as around a rounded
   corner or at a turn-back tip, collapse onto it. The smoothing rounds corners; chords
   through them were the main loss (-1 to -3 % per track before). A leg is straight: its
   fixes spread across the fitted line by no more than the noise explains plus
   ``STRAIGHT_RATIO`` of their spread along it; a short bent piece round a corner (its fixes
   on both legs) is no leg - a line fitted to it cut the corner.
4. Stops (:func:`_stop_core`): the path goes straight from the fix on the way into a stop to
   the fix on the way out and skips the stop's centroid. The centroid is the mean GPS error
   over the whole stop, an offset unrelated to the arrival's and the departure's: the detour
   through it added 10-30 m per stop at sigma 10 m (+0.5-1 % on a track with 4-6 stops). A
   stop at a corner keeps its corner (the two legs' fitted lines meet there, step 3); a stop
   at a turn-back tip (the way in and the way out 45 s before and after point apart; when a
   dropout lies next to the stop, 45 s of seen walking that comes back along the way in)
   keeps its centroid, which is the tip. A stationary run shorter than 75 s at a turn-back
   tip is no stop but the turn of an out-and-back the GPS error held back (every one on the
   simulator was walked): :mod:`patrol.clean` puts it at its tip, and the path and the
   refit's moving time run through it (spring-0178, seed 19, 5 s fixes: -4.3 -> -2.1 %).
   A U-turn tip left at its fix (no corner, legs running
   back along each other: :func:`_extend_tips`) moves out along the way in by a quarter of a
   sampling interval's walk - the fix nearest the true tip is that much short on average
   (at 5 s fixes an out-and-back came out ~3 m short).
5. Refit (:mod:`patrol.refit`, on by default): every vertex off a stop is fitted again to
   all raw fixes of the legs either side, each fix placed between its two vertices by the
   time walked and weighted for the phone error's correlation from fix to fix (generalised
   least squares). A vertex then carries the GPS offset averaged over its legs, not that of
   the fixes nearest it: the per-walk spread on plain walks fell from 0.99 % / 0.95 % to
   0.85 % / 0.76 % (1 s / 5 s fixes; see (a) below). Then a vertex the fixes fit about as
   well with the path straight through it is GPS wander Douglas-Peucker kept, not a turn:
   it goes, and the rest are fitted again (:func:`patrol.refit.refit_path`; at sigma 8-10 m
   those wiggles added +0.25 % with the street layer and +0.5-0.6 % without it, on average).
6. With a street layer (``streets=``, optional): corners move onto street junctions and legs
   onto the streets they run along, on walks that keep to the layer (:mod:`patrol.streets`).

Distance = the sum of the geodesic (WGS84 ellipsoid) lengths of the segments. For the grid
split each segment is cut into k equal pieces of at most ``segment_m`` (20 m), each carrying
1/k of its geodesic length. Each track also says how far to trust it: ``distance_sd_m``
(:func:`distance_sd_m`), one standard deviation of its distance against the length walked,
from the noise its fixes show and the turns of its path (the corner offsets of (a) below);
about 95 % of simulated tracks lie within 2 of it.

Assumes: people walk in mostly straight legs between corners (streets, paths across a
square); the GPS error is smooth over ~10-20 s (a Gauss-Markov error with a correlation time
of 30 s or more plus small white noise), so a moving average removes the white part and the
rest is a slowly wandering offset; multipath comes as bursts that jump away and back within
120 s, or begin or end in a dropout (:mod:`patrol.outliers`: a burst that drifts in and out
slowly, or outlasts that, is walked); a stop lies on the walked line, and standing, the smoothed
position wanders slower than a walker (< ~0.7 m/s; see :mod:`patrol.clean`). Measured per track on
:mod:`patrol.simulate` (388 outings, seed 7: sigma 3-10 m, tau 30-180 s, curved streets,
zig-zags, doubling back, stops, dropouts, multipath): median |error| 0.45 % (1 s fixes) /
0.46 % (5 s), p95 1.5 % / 1.6 %, worst 3.0 % / 3.75 %; with the street layer (the CLI, the
API) median 0.34 % / 0.29 %, p95 1.15 % / 1.45 %, worst 2.8 % / 2.4 % (``python -m
patrol.accuracy [--streets]``; tests/test_patrol.py); seed 11 with the street layer median
0.35 % / 0.36 %, worst 2.7 % / 2.7 %; six seeds (7-23) with the street layer, 4,656 tracks:
4 beyond 3 % (one by 0.002 points), worst 3.8 %, all at sigma 8-10 m. On walks across open ground
(:func:`patrol.simulate.open_ground_walks`, not on the street layer; ``--open-ground``), 300
walks, seeds 42-44: median 0.55-0.63 % / 0.51-0.58 %, worst 3.3-3.8 % / 2.7-3.7 %, and in
the range issue 15 was measured on (sigma 3-8 m, tau 30-120 s, with bursts of 10-60 s,
seeds 42-45) median 0.49-0.59 % / 0.48-0.57 %, worst 2.8-3.1 % / 2.65-3.4 % (5 of 2,400
tracks beyond 3 %). Per-track means per cell are -0.20 to +0.15 %. Shorter walks carry the
same metres of error at each corner and stop over fewer metres walked: walks of 1-2 km in
that range (``--open-ground --length-m 1000 2000``, 300 walks, seeds 42 / 43) median 0.93 %
/ 0.85 % (1 s), 0.93 % / 0.93 % (5 s), worst 6.7 % / 5.2 % and 5.05 % / 10.6 %; with the GPS
error alone (no stops, bursts, dropouts or curves; seed 42) 6 of 300 walks were beyond 3 % at
1 s fixes and 14 at 5 s, worst 4.4 % and 4.6 %: on walks that short a worst track <= 3 % is
more than the fixes hold. Without GPS error corners come out within 0.3 %
(tests/test_patrol.py::test_exact_walk_keeps_its_corners). The issue-15 target (worst <= 3 %
per track) is reached on seed 7 with the street layer; not in general - see (a), (g).

Where it breaks: (a) the error at each corner and each turn-back tip is a GPS offset no
smoothing can see: a corner is known to about one GPS error, and a line fitted to a leg the
walker crosses in about one correlation time is offset by about sigma too. Measured on a
staircase walked 100 times (7 right-angle corners, 200 m legs; ``python -m patrol.accuracy
--corners --sigma 4 8 --tau 30 120``): each corner puts a spread of 4.6-6.1 m into the
walk's length at sigma 4 m and 9.0-12.7 m at sigma 8 m (tau 120-30 s). A 4-5 km walk has 20-30
corners, so its length carries a spread of ~1-1.5 % at sigma 8-10 m from corners alone
(per-track sd in ``python -m patrol.accuracy``), and the worst of a few hundred such walks
(3-4 sd out) is 3.5-6 %. This is the information in the fixes, not a fault of the fitting:
on plain walks (straight legs, GPS error alone; ``python -m patrol.accuracy --floor``, 300
walks, sigma 3-8 m, tau 30-120 s) an oracle told the walk's shape (which fixes belong to which
leg and each leg's direction) has a per-walk spread of 0.88 % / 0.75 % (1 s / 5 s fixes) and
worst 3.9 % / 2.75 %; this method 0.80 % / 0.71 % and 3.25 % / 2.5 % (0.99 % / 0.95 % and
3.9 % / 4.05 % before the vertex refit of :mod:`patrol.refit`, 0.85 % / 0.76 % and 3.45 % /
3.0 % before its wander vertices were dropped); oracles also told that each
leg is walked at a steady pace (0.75 % / 0.65 %, worst 2.5 % / 2.2 %) or where along the walk
each fix was taken (0.75 % / 0.63 %, worst 2.7 % / 2.1 %: the floor of any unbiased linear
estimate from these fixes) do better; seed 43: this method worst 2.8 % / 3.4 %, the timing
oracle 2.6 % / 2.9 % (the worst walk of 300 per run beyond 3 % in 2 of 4 runs here, never for
the oracles: in this range the target is within the fixes, barely). Over the full range
(sigma 3-10 m, tau 30-180 s, seeds 42-44) even that floor's worst walk of 300 was 3.2-3.5 %
in 5 of 6 runs: a worst track <= 3 % everywhere is more than the fixes hold. The refit
assumes a steady pace within each leg (not across legs or stops); the walker's pace varying
+-10 % per 100 m puts up to 0.5 % into a walk with almost no GPS error
(tests/test_patrol.py::test_oracles_are_exact_without_gps_error).
Only a map takes that off: the street layer moves corners onto junctions and
legs across straight streets, not along them (a turn-back tip keeps its offset along the
street) nor off the layer (squares, curved paths the layer draws straight). At sigma ~9 m
and tau ~30-60 s the wandering error also draws wiggles longer than the tolerance on legs the
layer does not match (+3-3.5 % on the worst such tracks). Leg matching can pull a path that
runs near and nearly parallel to a street (a curve bulging < 20 m, a shallow zig-zag) onto
it: short; so can the bridging of step 6 at high noise (a zig-zag or a bulge within ~2.8
sigma of the street, ~25 m at sigma 9 m). On the simulator with the layer the sigma 8-10 m
band's mean came down from +0.43 % / +0.31 % to +0.15 % / +0.11 % with the bridging (six
seeds; 1 s / 5 s), and its worst tracks are now as often short: walking hidden in stops
(a walker pacing out and back over 20-40 m at sigma ~9 m tests as standing, limitation (g);
at an out-and-back's tip, when the run is shorter than 75 s, it counts: step 4).
The error trends with noise: with the street layer about -0.15 % mean at sigma 3-5 m
(short out-and-backs under ~15 m and chords through curves are lost, walking taken for a
stop) and -0.1 to +0.1 % at sigma 8-10 m (wiggles of the wandering error the vertex test of
step 5 cannot tell from a bend; GPS wander while still standing at a stop's end, which the
stop test, with its 60 s window, takes for walking); without it -0.2 to -0.3 % and +0.1 to
+0.4 %.
(b) A dropout is bridged by a straight line: a corner or zig-zag walked unseen is cut. A
U-turn in a dropout of <= 60 s while walking keeps its out-and-back (step 1), and its tip
moves out by half the walk the dropout hid at the walker's pace on the leg the other side of
the tip, when that leg lasts 20 s or more (:func:`_extend_tips`); the walk either side of a
longer dropout, or of one at a stop, says nothing of what was walked.
(c) Curves are drawn as polygons, and a polygon fitted to the fixes of an arc (step 5) runs
outside it: its vertices sit out by about 2/3 of each segment's sagitta, and it overstates the
arc by about phi^2 / 24 of each segment (phi: the arc's turn per segment), which grows with the
tolerance and so with the noise. Walks made only of curved legs (radius 80-300 m, the phone's
error alone, 150 walks, seed 50) come out +0.14 % at sigma 3-4 m (5 s fixes) and +0.86 % /
+0.66 % at 8-10 m (5 s / 1 s), the same walks with straight legs -0.17 % and -0.06 % / -0.19 %;
on the open-ground walks (a third of the legs curved; 600 walks at sigma 8-10 m) the curves put
+0.24 % / +0.20 % into the mean and much of its tail (beyond 3 %: 25 / 17 walks, 6 / 9 without
the curves), the stops +0.11 % / +0.17 %. Tried and left: a correction per segment from the
fixes' parabola across it (8 s^2 / 3L) took the curved walks' mean to ~0, but the wandering
error draws parabolas as large on straight legs (mean abs error per track 0.680 -> 0.731-0.748
% over 3,176 open-ground and street tracks; only where both ends turn the same way and the
parabola is 2 sd out, it over-corrected at sigma 3-4 m, -0.22 %); a finer tolerance
(``SIMPLIFY_MAX_M`` 12 m or ``SIMPLIFY_K`` 3) kept wander instead (5,504 tracks: 0.613 -> 0.620
/ 0.630 %, beyond 3 %: 22 -> 26 / 41). An arc needs a model of its own in the refit, not more
vertices. (d) Legs shorter than ~2 tolerances (a 40 m jog across an arterial at
high noise) are cut. (e) Across a long gap whose two ends lie less than a stop radius apart
nothing counts, whatever was walked unseen in between.
(f) Slow walking (< ~0.6 m/s; on a quiet track, where a standing phone wanders slower, from
~0.5 m/s up a run is walked: :func:`patrol.clean._walked_runs`) tests as standing. (g) Pacing
out and back over less than ~40 m on a noisy track (noise_m > 1.6 m): its tips are lost (the
smoothing flattens them and the turn-back test looks 30 s either way), and at high noise it
is taken for a stop. On quieter tracks the tips come from :func:`short_turn_points`
(tests/test_patrol.py::test_pacing_back_and_forth_is_walking_not_a_stop: 25 m at sigma 3 m
comes out -1.3 % / -3.1 % (1 s / 5 s; -24 % without the short turn-backs), 60 m at sigma 6 m
-0.5 % / -1.3 %; with the stop tests alone -33 % and -16 to -24 %, reported as stops). Longer pacing, which
the stop tests took for standing before (up to 170 m of walking in one stretch on the
simulator), now counts: the walking the stop tests hide on the simulator halved
(``walking_hidden_in_stops_m`` in ``python -m patrol.accuracy``).
(h) Sampling (seed 13, street layer; uneven: ``python -m patrol.accuracy --skip``): 1 s fixes
with a random three quarters skipped (1-20 s apart, 4 s on average) measure as 1 s fixes do
(median 0.39 %, worst 2.8 %), and so do fixes every 10 s (0.41 %, 2.7 %); on open ground (300
walks, seeds 42 / 43) median 0.70 / 0.64 %, worst 3.0 / 4.7 % (evenly 3.3 / 3.8 %), with
bursts of 10-60 s 0.64 / 0.62 %, worst 3.5 / 4.9 % (open-ground gm-026, seed 43: a burst with
a 37 s dropout inside and a 15 m shift of its own before it stays, +4.9 %; taking the last
large jump before a dropout for a burst's start also took walks for bursts on the street
simulator). Sparser it breaks: 5 s fixes with half skipped (5-40 s apart) median 0.62 %,
worst 5.0 %, mean -0.5 %; with three quarters skipped (20 s on average) -4.8 % on average;
every 20 s median 0.8 %, worst +11.6 % at sigma ~9 m and tau ~30 s (the 10 s smoothing sees
one fix: no noise is measured and none smoothed; smoothing over +-1 fix instead made every
track short, -2 % on average). Steps longer than 20 s count as dropouts to the burst and
turn-back tests (and to the burst tests those longer than 10 s where fixes come every 2 s
or more often: :func:`patrol.outliers.burst_stretches`), and a corner walked between two
fixes is cut unless the street layer puts it back (step 6).

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

from gis.crs import plane_m, short_steps_m
from patrol.arrays import by_track_time, epoch_s, ranges, signal_time_s, time_key, window_bounds, windows
from patrol.clean import (EARTH_R_M, TIP_S, TURN_COS, TURN_MIN_M, Cleaned, CleanParams, apart, clean,
                          moving_average, residual_noise_m)
from patrol.refit import refit_path
from patrol.streets import onto_streets, street_layer

OUTSIDE = "outside"
SIMPLIFY_M = 4.0
SEGMENT_M = 20.0
SIMPLIFY_K = 4.0  # Douglas-Peucker tolerance per track: SIMPLIFY_K x noise_m x
SIMPLIFY_REF_M = 1.6  # sqrt(noise_m / SIMPLIFY_REF_M), in
SIMPLIFY_MAX_M = 20.0  # [simplify_m, SIMPLIFY_MAX_M]
CORNER_SIN = 0.42  # legs turning by > ~25 degrees meet at their intersection
CORNER_SHIFT_M = 20.0  # ... when it is this close to the corner fix
STRAIGHT_RATIO = 0.2  # a leg: spread across its line <= 0.2 x along it (beyond the noise)
TURN_HALF_S = 30.0  # turn-back test: displacement over 30 s before and after a fix,
# each longer than TURN_MIN_M (10 m), pointing apart by > TURN_COS (~107 degrees): patrol.clean
SHORT_TURN_HALF_S = 12.0  # short pacing: the same over 12 s either way, each longer than
SHORT_TURN_MIN_M = 8.0  # 8 m, on lightly smoothed positions,
SHORT_TURN_NOISE_M = 1.6  # on tracks with noise_m <= 1.6 m
DROPOUT_S = 20.0  # turn-back and stop tip tests: a step longer than this is a dropout
TIP_COS = -0.9  # a U-turn tip: the legs either side run back along each other (> ~155 degrees)
SD_K = 2.58  # distance_sd_m = SD_K x noise_m ^ SD_NOISE_POW x (turns + 2) ^ SD_TURNS_POW,
SD_NOISE_POW = 1.17  # fitted on simulated tracks (see distance_sd_m)
SD_TURNS_POW = 0.59
SD_TURN_DEG = 5.0  # a turn: consecutive pieces of the path whose directions differ by more


def geodesic_steps_m(lon, lat, track):
    """Geodesic metres from each fix to the next one in the same track (0 at track ends)."""
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    d = np.zeros(len(lon))
    if len(lon) > 1:
        s = short_steps_m(lon[:-1], lat[:-1], lon[1:], lat[1:])
        d[:-1] = np.where(track[1:] == track[:-1], s, 0.0)
    return d


def raw_distance_m(fixes: pd.DataFrame) -> pd.Series:
    """Sum of geodesic steps over the raw fixes, per track (sorted by track, time)."""
    f, codes, ids = by_track_time(fixes)
    d = geodesic_steps_m(f["lon"].to_numpy(), f["lat"].to_numpy(), codes)
    return pd.Series(np.bincount(codes, d, minlength=len(ids)), index=pd.Index(ids, name="track_id"))


def noise_m(c: Cleaned) -> np.ndarray:
    """Per track, the GPS noise the smoothing left out: per-axis scale of the unsmoothed minus
    smoothed positions of the moving fixes (robust: from the median of the squared 2-D
    residual). It grows with sigma^2 / tau of a Gauss-Markov error, which is what draws
    wiggles into the smoothed path; 0 for a track with no moving fix."""
    mv = c.run < 0
    return residual_noise_m(c.xr[mv], c.yr[mv], c.x[mv], c.y[mv], c.track[mv], len(c.track_ids))


def _keys(c: Cleaned):
    """Per kept fix: :func:`patrol.arrays.time_key`; the same without the time of dropouts
    (steps longer than DROPOUT_S: windows in it reach across a dropout to as much seen walk
    as without one); the number of dropouts before the fix in its track. Computed once per path
    (``keys=`` of the tests below)."""
    key = time_key(c.t_s, c.track)
    same = c.track[1:] == c.track[:-1]
    seen = c.track * 1e9 + signal_time_s(key, c.track, DROPOUT_S)
    return key, seen, np.r_[0, np.cumsum(same & (np.diff(key) > DROPOUT_S))]


def turn_points(c: Cleaned, half_s: float = TURN_HALF_S, min_m: float = TURN_MIN_M,
                cos_max: float = TURN_COS, xy=None, keys=None):
    """Indices of the kept fixes where the walk turns back on itself (U-turns, the sharp
    ends of zig-zags): the smoothed displacements (of ``xy`` when given) over the ``half_s``
    seconds before and after the fix are both longer than ``min_m`` and point apart (cosine
    below ``cos_max``). One fix per such run: the one with the longest way in plus way out
    (the tip)."""
    n = len(c.t_s)
    if n < 3:
        return np.zeros(0, np.int64)
    x, y = (c.x, c.y) if xy is None else xy
    first = np.r_[True, c.track[1:] != c.track[:-1]]
    key, seen, drops = _keys(c) if keys is None else keys
    turn, la, lb, lo, hi = _points_apart(x, y, key, half_s, min_m, cos_max)
    # next to a dropout, windows of seen walk reach across it: a U-turn whose tip the phone
    # did not see, when the walk comes back along the way in (TIP_COS)
    near = np.flatnonzero(drops[np.minimum(hi + 1, n - 1)] > drops[np.maximum(lo - 1, 0)])
    turn2, la2, lb2, lo2, hi2 = _points_apart(x, y, seen, half_s, min_m, TIP_COS, at=near)
    turn2 &= (drops[hi2] > drops[lo2]) & ~turn[near]
    turn[near[turn2]] = True
    la[near[turn2]], lb[near[turn2]] = la2[turn2], lb2[turn2]
    if not turn.any():
        return np.zeros(0, np.int64)
    start = turn & (first | ~np.r_[False, turn[:-1]])
    run = np.cumsum(start) - 1
    idx = np.flatnonzero(turn)
    score = (la + lb)[idx]
    # per run, the fix with the highest score: sort by (run, -score), take each run's first
    order = np.lexsort((-score, run[idx]))
    r = run[idx][order]
    return idx[order][np.r_[True, r[1:] != r[:-1]]]


def _points_apart(x, y, key, half_s, min_m, cos_max, at=None):
    """Per fix (of ``at``, default all): the displacements over ``half_s`` of ``key`` before
    and after it are both longer than min_m and point apart (cosine below cos_max); their
    lengths; the fixes where the two windows start and end."""
    if at is None:
        at = np.arange(len(key))
        lo, hi = window_bounds(key, half_s)
    else:
        lo = np.searchsorted(key, key[at] - half_s, side="left")
        hi = np.searchsorted(key, key[at] + half_s, side="right")
    hi = hi - 1
    ok, la, lb = apart(x[at] - x[lo], y[at] - y[lo], x[hi] - x[at], y[hi] - y[at], min_m, cos_max)
    return ok, la, lb, lo, hi


def short_turn_points(c: Cleaned, found, noise, keys=None) -> np.ndarray:
    """Turn-backs of short pacing (10-40 m out and back: checking stalls along a row) that
    :func:`turn_points` misses: its 30 s windows span more than one way and the smoothing
    flattens the tips. The same test over ``SHORT_TURN_HALF_S`` on positions smoothed over
    only +-``pace_smooth_s`` (:class:`patrol.clean.CleanParams`), on tracks whose
    :func:`noise_m` (``noise``) is at most ``SHORT_TURN_NOISE_M`` (noisier GPS draws such
    turns by itself: with the limit at 2.2 m the worst track of the simulator's seed 7 at
    5 s, no street layer, went from 3.4 % to 4.1 %), outside stops, and not within
    ``SHORT_TURN_HALF_S`` of a turn-back ``found`` already."""
    n = len(c.t_s)
    if n < 3:
        return np.zeros(0, np.int64)
    keys = _keys(c) if keys is None else keys
    key = keys[0]
    xy = moving_average(c.xr, c.yr, np.ones(n), key, c.params.pace_smooth_s)
    tp = turn_points(c, SHORT_TURN_HALF_S, SHORT_TURN_MIN_M, xy=xy, keys=keys)
    tp = tp[(noise[c.track[tp]] <= SHORT_TURN_NOISE_M) & (c.run[tp] < 0)]
    is_found = np.zeros(n, np.int64)
    is_found[found] = 1
    had = np.r_[0, np.cumsum(is_found)]
    lo = np.searchsorted(key, key[tp] - SHORT_TURN_HALF_S, side="left")
    hi = np.searchsorted(key, key[tp] + SHORT_TURN_HALF_S, side="right")
    return tp[had[hi] == had[lo]]


def _vertices(c: Cleaned, vi, li, min_sin: float | None = None, max_shift_m: float | None = None,
              skip=None, noise=None):
    """Where the path's vertices go (plane metres). ``vi`` are the kept fixes Douglas-Peucker
    chose on the smoothed path (``li`` their line). A vertex is the unsmoothed position of its
    fix (the smoothing rounds corners; the raw fix is the true corner plus GPS error), except
    at a corner: there it is the intersection of the straight lines fitted (total least
    squares) to the unsmoothed fixes of the two legs, when the legs turn by more than
    asin(``min_sin``), each has >= 2 fixes spanning >= 5 m, and the intersection lies within
    ``max_shift_m`` of the raw fix. (The fix nearest a corner is up to half a sampling
    interval, and the chosen fix sometimes one fix, away from it: a chord cut the corner.)"""
    min_sin = CORNER_SIN if min_sin is None else min_sin
    max_shift_m = CORNER_SHIFT_M if max_shift_m is None else max_shift_m
    xr, yr = c.xr, c.yr
    seg_ok = li[1:] == li[:-1]  # segment s: vertex s -> s + 1
    end = ~np.r_[seg_ok, False] | ~np.r_[False, seg_ok]
    xy = np.where(end[:, None], np.column_stack([xr[vi], yr[vi]]),
                  np.column_stack([c.x[vi], c.y[vi]]))
    m = len(vi)
    if m < 3:
        return xy
    # interior fixes of each segment (no vertex): segment = last vertex at or before the fix
    j = np.arange(int(vi[0]), int(vi[-1]) + 1)
    j = j[~np.isin(j, vi)]
    if skip is not None:
        j = j[~skip[j]]
    s = np.searchsorted(vi, j, side="right") - 1
    keep = (s >= 0) & (s < m - 1)
    j, s = j[keep], s[keep]
    keep = seg_ok[s]
    j, s = j[keep], s[keep]
    ns = m - 1
    dx, dy = xr[j] - xy[s, 0], yr[j] - xy[s, 1]  # relative to the segment's first vertex
    cnt = np.bincount(s, minlength=ns)
    w = np.maximum(cnt, 1)
    mx, my = np.bincount(s, dx, ns) / w, np.bincount(s, dy, ns) / w
    sxx = np.bincount(s, dx * dx, ns) / w - mx * mx
    syy = np.bincount(s, dy * dy, ns) / w - my * my
    sxy = np.bincount(s, dx * dy, ns) / w - mx * my
    th = 0.5 * np.arctan2(2 * sxy, sxx - syy)
    ux, uy = np.cos(th), np.sin(th)
    spread = np.sqrt(np.maximum(sxx + syy, 0.0)) * np.sqrt(12.0)  # ~ length covered
    # a leg is straight: its fixes' spread across the fitted line is no more than the GPS
    # noise explains plus a fraction of its spread along it (a short bent piece round a
    # rounded corner is no leg: its diagonal line cut the corner)
    half = (sxx + syy) / 2
    rad = np.sqrt(((sxx - syy) / 2) ** 2 + sxy ** 2)
    minor, major = np.maximum(half - rad, 0.0), np.maximum(half + rad, 0.0)
    nz = (noise if noise is not None else np.zeros(int(c.track.max()) + 1 if len(c.track) else 1))
    nz2 = nz[c.track[vi[:-1]]] ** 2
    straight = np.maximum(minor - nz2, 0.0) <= STRAIGHT_RATIO ** 2 * np.maximum(major - nz2, 0.0)
    good = seg_ok & (cnt >= 2) & (spread >= 5.0) & straight
    px, py = mx + xy[:-1, 0], my + xy[:-1, 1]  # a point on each fitted line
    # vertex k (1..m-2): the last good leg before it and the first good leg after it (short
    # legs between them, e.g. around a rounded corner, collapse onto the intersection)
    seg = np.arange(ns)
    # a line break stops the search, except where a line was cut at a turn-back fix (the same
    # fix ends one line and starts the next): the legs either side of the tip meet there
    junction = ~seg_ok & (vi[1:] == vi[:-1])
    stop = good | (~seg_ok & ~junction)
    a = np.maximum.accumulate(np.where(stop, seg, -1))[:-1]  # for k = 1..m-2: <= k-1
    b = np.minimum.accumulate(np.where(stop, seg, ns)[::-1])[::-1][1:]  # >= k
    k = np.arange(1, m - 1)
    has = (a >= 0) & (b < ns)
    a, b = np.where(has, a, 0), np.where(has, b, 0)
    has &= good[a] & good[b]
    cross = ux[a] * uy[b] - uy[a] * ux[b]
    ok = has & (np.abs(cross) >= min_sin)
    rx, ry = px[b] - px[a], py[b] - py[a]
    t1 = (rx * uy[b] - ry * ux[b]) / np.where(ok, cross, 1.0)
    ix, iy = px[a] + t1 * ux[a], py[a] + t1 * uy[a]
    ok &= plane_m(ix - xr[vi[k]], iy - yr[vi[k]]) <= max_shift_m
    xy[k[ok], 0], xy[k[ok], 1] = ix[ok], iy[ok]
    return xy


def _extend_tips(c: Cleaned, xy, vi, li, keys=None):
    """U-turn tips (a turn-back fix where the legs either side run back along each other, no
    corner found) move out along the way in by the walk the sampling missed on average: the
    true tip lies between the fix before and after, the turn-back fix is the one nearest it,
    on average a quarter of a sampling interval's walk short (so the out-and-back came out
    half an interval's walk short)."""
    m = len(vi)
    k = np.flatnonzero((vi[1:] == vi[:-1]) & (li[1:] != li[:-1]))
    if not len(k):
        return xy
    f = vi[k]
    ok = (k >= 1) & (k + 2 < m)
    k, f = k[ok], f[ok]
    ok = (li[k - 1] == li[k]) & (li[k + 2] == li[k + 1])
    ok &= (xy[k, 0] == c.xr[f]) & (xy[k, 1] == c.yr[f])  # no corner put there
    k, f = k[ok], f[ok]
    if not len(k):
        return xy
    a, b = xy[k] - xy[k - 1], xy[k + 2] - xy[k + 1]
    la, lb = plane_m(*a.T), plane_m(*b.T)
    cos = np.einsum("ij,ij->i", a, b) / np.maximum(la * lb, 1e-9)
    u = a / np.maximum(la, 1e-9)[:, None] - b / np.maximum(lb, 1e-9)[:, None]
    u /= np.maximum(plane_m(*u.T), 1e-9)[:, None]
    ta = c.t_s[f] - c.t_s[vi[k - 1]]
    tb = c.t_s[vi[k + 2]] - c.t_s[f]
    speed = (la + lb) / np.maximum(ta + tb, 1e-9)
    # the sampling interval there: the time to the fixes either side
    n = len(c.t_s)
    fa, fb = np.maximum(f - 1, 0), np.minimum(f + 1, n - 1)
    dt = (c.t_s[fb] - c.t_s[fa]) / 2
    ext = np.where(cos < TIP_COS, speed * dt / 4, 0.0)  # unbiased on average, not per tip
    # a dropout of <= 60 s while walking next to the tip (the turn-back test read across it):
    # the walker kept the pace of the way in (out) through it and turned at its far end,
    # half the walk the dropout hid beyond the fix, along the way in (out)
    seen = (_keys(c) if keys is None else keys)[1]
    back = _points_apart(c.x, c.y, seen, TURN_HALF_S, TURN_MIN_M, TIP_COS, at=f)[0]
    ua = a / np.maximum(la, 1e-9)[:, None]
    ub = -b / np.maximum(lb, 1e-9)[:, None]
    for gap, near, v, w, paced in ((c.t_s[fb] - c.t_s[f], fb, la / np.maximum(ta, 1e-9), ua, ta),
                                   (c.t_s[f] - c.t_s[fa], fa, lb / np.maximum(tb, 1e-9), ub, tb)):
        chord = plane_m(c.xr[near] - c.xr[f], c.yr[near] - c.yr[f])
        walking = (c.run[f] < 0) & (c.run[near] < 0) & (gap <= 2 * TURN_HALF_S)
        walking &= paced >= DROPOUT_S  # a pace read off a leg of a few seconds is noise
        hid = np.where((gap > DROPOUT_S) & back & walking, (v * gap - chord) / 2, 0.0)
        u = np.where((hid > ext)[:, None], w, u)
        ext = np.maximum(ext, hid)
    out = xy.copy()
    out[k] += u * ext[:, None]
    out[k + 1] = out[k]
    return out


def _stop_core(c: Cleaned, tip_cos: float = TURN_COS, tip_s: float = TIP_S, keys=None):
    """Kept fixes at a stop's centroid (the core of a stationary run lasting a stop) that the
    path skips: it goes straight from the fix on the way in to the fix on the way out (the
    centroid is the mean GPS error over the stop, an offset unrelated to both: the detour
    through it added ~10-30 m per stop at sigma 10 m). Kept: a stop at a turn-back tip
    (way in and way out point apart by > ~107 degrees: the tip is the centroid; read across a
    dropout next to the stop, > ~155 degrees), and a stop at a track's start or end. Without
    the reading across a dropout, a stop at the tip of an out-and-back followed by a 60 s
    dropout lost the out-and-back (-3.4 % on simulated spring-0338, seed 19, 5 s fixes)."""
    n = len(c.t_s)
    if not n:
        return np.zeros(0, bool)
    core = c.in_stop() & (c.xr == c.x) & (c.yr == c.y)
    ci = np.flatnonzero(core)
    if not len(ci):
        return core
    runs, inv = np.unique(c.run[ci], return_inverse=True)
    fc = np.full(len(runs), n)
    lc = np.full(len(runs), -1)
    np.minimum.at(fc, inv, ci)
    np.maximum.at(lc, inv, ci)
    ok = (fc >= 1) & (lc < n - 1)
    ok &= c.track[np.maximum(fc - 1, 0)] == c.track[fc]
    ok &= c.track[np.minimum(lc + 1, n - 1)] == c.track[lc]
    # the way in and out: where the walker was tip_s before arriving and after leaving
    key, seen, drops = _keys(c) if keys is None else keys
    tip = _points_back(c, fc, *windows(key, fc, lc, tip_s), tip_cos)
    # a dropout next to the stop can leave a window with no way in or out (the phone came
    # back after the walker had left): read tip_s of seen walking (:func:`_keys`), and
    # take a tip only when that walk comes back along the way in (TIP_COS)
    i, o = windows(seen, fc, lc, tip_s)
    across = (drops[fc] > drops[i]) | (drops[o] > drops[lc])
    tip |= across & _points_back(c, fc, i, o, TIP_COS)
    return core & (ok & ~tip)[_run_pos(c.run, runs, core)]


def _points_back(c: Cleaned, fc, i, o, cos_max: float) -> np.ndarray:
    """Per stop: the way in (fix i to the stop) and the way out (the stop to fix o), each
    longer than TURN_MIN_M, point apart by more than arccos(cos_max)."""
    return apart(c.x[fc] - c.x[i], c.y[fc] - c.y[i], c.x[o] - c.x[fc], c.y[o] - c.y[fc],
                  TURN_MIN_M, cos_max)[0]


def _run_pos(run, runs, mask):
    """Per fix, the position of its run in ``runs`` (0 where not ``mask``)."""
    out = np.zeros(len(run), np.int64)
    out[mask] = np.searchsorted(runs, run[mask])
    return out


def path_pieces(c: Cleaned, simplify_m: float = SIMPLIFY_M, segment_m: float = SEGMENT_M,
                nodes=None, segs=None, refit: bool = True, noise=None):
    """<= segment_m pieces of the cleaned path: (track index, lon0, lat0, lon1, lat1, metres).
    ``refit``: the vertices are refitted to all fixes (:mod:`patrol.refit`); ``noise``: the
    tracks' :func:`noise_m` when the caller has it."""
    n = len(c.t_s)
    split = c.gap_before.copy()
    if c.params.gaps == "bridge" and n > 1:
        # bridged gaps: only when the two sides are farther apart than a stop's radius (a
        # phone that lost the signal indoors comes back a GPS error away from where it was)
        d = np.r_[np.inf, plane_m(np.diff(c.x), np.diff(c.y))]
        split &= d < c.params.stop_radius_m
    first = np.r_[True, c.track[1:] != c.track[:-1]] if n else np.zeros(0, bool)
    # a turn-back fix ends one line and starts the next (Douglas-Peucker would drop the tip
    # of an out-and-back that lies on the chord)
    noise = noise_m(c) if noise is None else noise
    keys = _keys(c)
    tp = turn_points(c, keys=keys)
    src = np.sort(np.r_[np.arange(n), tp, short_turn_points(c, tp, noise, keys)], kind="stable")
    skip = _stop_core(c, keys=keys)
    src = src[~skip[src]]
    # the time between a stop's first and last core fix is no gap: the path goes on through
    split &= ~(skip & np.r_[False, skip[:-1]] & np.r_[False, c.run[1:] == c.run[:-1]])
    dup = np.r_[False, src[1:] == src[:-1]] if len(src) else np.zeros(0, bool)
    cs = np.cumsum(first | split)
    cut = np.r_[True, cs[src[1:]] > cs[src[:-1]]] if len(src) else np.zeros(0, bool)
    piece = np.cumsum((cut & ~dup) | dup) - 1
    n_pieces = int(piece.max()) + 1 if len(piece) else 0
    size = np.bincount(piece, minlength=n_pieces)
    ok = size[piece] >= 2
    piece_track = np.zeros(n_pieces, np.int64)
    piece_track[piece] = c.track[src]
    ok_pieces = np.flatnonzero(size >= 2)
    if not len(ok_pieces):
        return (np.zeros(0, np.int64),) + tuple(np.zeros(0) for _ in range(5))
    remap = np.full(n_pieces, -1)
    remap[ok_pieces] = np.arange(len(ok_pieces))
    at = src[ok]  # fix index carried as z through the simplification
    lines = shapely.linestrings(np.column_stack([c.x[at], c.y[at], at.astype(float)]),
                                indices=remap[piece[ok]])
    if simplify_m > 0:
        tol = SIMPLIFY_K * noise * np.sqrt(noise / SIMPLIFY_REF_M)
        tol = np.clip(tol, simplify_m, max(simplify_m, SIMPLIFY_MAX_M))[piece_track[ok_pieces]]
        lines = shapely.simplify(lines, tol, preserve_topology=False)
    xyz, li = shapely.get_coordinates(lines, include_z=True, return_index=True)
    vi = xyz[:, 2].astype(np.int64)
    xy = _vertices(c, vi, li, skip=skip, noise=noise)
    xy = _extend_tips(c, xy, vi, li, keys)
    if refit:
        xy, vi, li = refit_path(c, xy, vi, li)
    tr = piece_track[ok_pieces][li]
    if nodes is not None:
        xy, vi, li, tr = onto_streets(c, xy, vi, li, tr, nodes, segs)
    lon0, lat0 = c.origin
    kx = np.radians(1.0) * EARTH_R_M * np.cos(np.radians(lat0))
    ky = np.radians(1.0) * EARTH_R_M
    lon = lon0[tr] + xy[:, 0] / kx[tr]
    lat = lat0[tr] + xy[:, 1] / ky
    a = np.flatnonzero(li[1:] == li[:-1])
    b = a + 1
    dist = short_steps_m(lon[a], lat[a], lon[b], lat[b])  # ellipsoidal, once per vertex pair
    # cut each simplified segment into k equal <= segment_m pieces (lon/lat interpolation is
    # exact enough over 20 m); each piece carries dist / k, so the pieces sum to the total
    planar = plane_m(xy[b, 0] - xy[a, 0], xy[b, 1] - xy[a, 1])
    k = np.maximum(1, np.ceil(planar / segment_m).astype(np.int64)) if segment_m > 0 \
        else np.ones(len(a), np.int64)
    rep, j = ranges(k)
    f0, f1 = j / k[rep], (j + 1) / k[rep]
    la, pa, lb, pb = lon[a][rep], lat[a][rep], lon[b][rep], lat[b][rep]
    return (tr[a][rep], la + f0 * (lb - la), pa + f0 * (pb - pa), la + f1 * (lb - la),
            pa + f1 * (pb - pa), dist[rep] / k[rep])


def path_turns(tr, lon_a, lat_a, lon_b, lat_b, n_tracks: int) -> np.ndarray:
    """Per track, how often its path turns: consecutive pieces (of one track) whose directions
    differ by more than ``SD_TURN_DEG``."""
    if len(tr) < 2:
        return np.zeros(n_tracks, np.int64)
    dx = (lon_b - lon_a) * np.cos(np.radians(lat_a))
    dy = lat_b - lat_a
    norm = np.maximum(plane_m(dx, dy), 1e-12)
    cos = (dx[1:] * dx[:-1] + dy[1:] * dy[:-1]) / (norm[1:] * norm[:-1])
    turn = (tr[1:] == tr[:-1]) & (cos < np.cos(np.radians(SD_TURN_DEG)))
    return np.bincount(tr[1:][turn], minlength=n_tracks)


def distance_sd_m(noise, turns) -> np.ndarray:
    """Per track, the spread (one standard deviation, metres) to expect of ``distance_m``
    against the length walked, from the track's :func:`noise_m` and its :func:`path_turns`.

    Why these two: what is left of the error is the GPS offset at each corner and each end
    of the path (see (a) of this module's docstring), so it grows with the number of turns
    and with the phone's error; noise_m is the part of that error the track shows (it grows
    with sigma^2 / tau), and a noisier track is one with a larger sigma too. The constants
    are fitted (Gaussian likelihood of the signed metres off) to simulated tracks: the street
    simulator with the street layer (seeds 7, 11, 17, 19; 388 outings each) and open ground
    (seeds 42, 44; 300 walks each), 1 s and 5 s fixes, sigma 3-10 m, tau 30-180 s; fitted
    again when the wander vertices began to be dropped (:func:`patrol.refit.refit_path`: fewer
    turns on a noisy track). On seeds held out (street layer 13, 23; no layer 7; open ground
    43; open ground with bursts of 10-60 s, seeds 42, 43) 93.3-96.9 % of tracks per cell lie
    within 2 sd of the length walked, and the metres off have 0.90-1.05 sd (``within_2sd``
    and ``z_sd`` of ``python -m patrol.accuracy``). The spread is 0.35-1.1 % of a track with
    the street layer (median 0.55-0.65 %), 0.55-1.5 % on open ground.

    Where it is wrong: the phone's sigma and tau are not seen apart (the fixes' residual
    about the path, tried as a third term, changed nothing), so on the held-out seeds the
    metres off have 0.87 / 0.99 / 1.12 sd at sigma 3-5 / 5-8 / 8-10 m and 0.87 / 1.02 / 1.06
    sd at tau 30-60 / 60-120 / 120-180 s: the spread is ~13 % too large for a quiet phone
    and ~12 % too small for the noisiest; on open ground at 1 s fixes 1.02-1.14 sd (89-94 %
    within 2 sd), with the street layer 0.89-1.02. It knows nothing of what the cleaning got wrong:
    multipath bursts of 10-60 s that nothing flagged (harsh simulated bursts: 1.2-1.45 x the
    spread, 89-91 % of tracks within 2 sd), walking taken for a stop, a corner walked in a
    dropout. It is each track's own spread: a bias common to many tracks (module docstring,
    (a): -0.15 to -0.3 % at sigma 3-5 m) does not average out over a campaign as the spreads
    do."""
    return SD_K * np.asarray(noise, float) ** SD_NOISE_POW * (np.asarray(turns) + 2.0) ** SD_TURNS_POW


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
            simplify_m: float = SIMPLIFY_M, segment_m: float = SEGMENT_M, streets=None,
            refit: bool = True, **kw) -> tuple[pd.DataFrame, Cleaned]:
    """Per-track summary (one row per track_id) and the cleaning result.

    Columns: distance_m, distance_sd_m (:func:`distance_sd_m`), raw_distance_m, duration_s,
    moving_time_s, stop_time_s, points, dropped_points, dropped_by_reason (dict), gaps,
    gap_time_s, per_grid_m (dict, when a grid index is given), stops (list of dicts).
    ``streets``: a GeoDataFrame of street
    LineStrings (WGS84), the same prepared once by :func:`patrol.streets.street_layer`, or a
    junction array (:func:`patrol.streets.street_nodes`: corners snap, legs are not matched).
    """
    tracks = by_track_time(fixes)
    fixes = tracks[0]
    c = clean(fixes, params, tracks=tracks, **kw)
    nt = len(c.track_ids)
    nodes = segs = None
    if isinstance(streets, np.ndarray):  # junctions only: corners snap, legs are not matched
        nodes = streets
    elif isinstance(streets, tuple):  # street_layer(roads), prepared once
        nodes, segs = streets
    elif streets is not None:
        nodes, segs = street_layer(streets)
    noise = noise_m(c)
    tr, la, pa, lb, pb, dist = path_pieces(c, simplify_m, segment_m, nodes, segs, refit, noise)
    distance = np.bincount(tr, dist, minlength=nt)
    sd = np.where(distance > 0, distance_sd_m(noise, path_turns(tr, la, pa, lb, pb, nt)), 0.0)

    codes = c.input_track
    t_all = epoch_s(fixes["t"])
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
    stopped = c.stopped_steps()
    gap = same & c.gap_before[1:]
    moving = same & ~stopped & ~(gap & (c.params.gaps == "split"))
    moving_time = np.bincount(c.track[1:][moving], dt[moving], minlength=nt)
    gaps = np.bincount(c.track[1:][gap & ~stopped], minlength=nt)
    gap_time = np.bincount(c.track[1:][gap & ~stopped], dt[gap & ~stopped], minlength=nt)
    stop_time = c.stops.groupby("track_id")["duration_s"].sum().reindex(c.track_ids, fill_value=0.0)

    out = pd.DataFrame({
        "track_id": c.track_ids,
        "distance_m": distance,
        "distance_sd_m": sd,
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
