"""Multipath outliers among GPS fixes (step 2 of :mod:`patrol.clean`): whole bursts, fixes
off the running median, and spikes. Vectorised over all fixes of all tracks at once (arrays
laid end to end, an integer track index per fix)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gis.crs import plane_m
from patrol.arrays import group_bounds, ranges, time_key, track_median

if TYPE_CHECKING:
    from patrol.clean import CleanParams


def neighbour_steps(x, y, t, track):
    """Distance and time to the previous fix (same track; inf/0 across a boundary)."""
    d = np.full(len(x), np.inf)
    dt = np.zeros(len(x))
    if len(x) > 1:
        d[1:] = plane_m(np.diff(x), np.diff(y))
        dt[1:] = np.diff(t)
    first = np.r_[True, track[1:] != track[:-1]] if len(x) else np.zeros(0, bool)
    d[first] = np.inf
    return d, dt, first


def median_outliers(x, y, t, track, start, end, p: CleanParams, steps=None, seen=None):
    """Fixes farther than ``p.outlier_m`` from the running median of their track.

    Only fixes near a suspicious step (beyond the speed cap plus ``p.noise_step_m``, or beyond
    ``p.jump_m``) are tested, against the coordinate-wise median over +-``p.median_window_s``
    (in fixes; none more than twice that away in ``seen`` time: the phone's time with a
    signal, default ``t``).
    Bursts longer than half that window are :func:`bursts`' work. Returns a mask over fixes.
    """
    n = len(x)
    if n < 3:
        return np.zeros(n, bool)
    d, dt, first = neighbour_steps(x, y, t, track) if steps is None else steps
    # a step longer than the speed cap allows plus a noise allowance, or a plain jump
    jump = ~first & ((d > p.speed_cap_mps * dt + p.noise_step_m) | (d > p.jump_m))
    sus = jump.copy()
    sus[:-1] |= jump[1:]
    ht = median_half_fixes(track, dt, first, len(start), p)
    # dilate by the window (cumsum window count), within the track: a jump at the end of the
    # track before must not make this one's first fixes candidates
    c = np.r_[0, np.cumsum(sus)]
    i = np.arange(n)
    h = ht[track]
    cand = np.flatnonzero(c[np.minimum(i + h + 1, end[track])] - c[np.maximum(i - h, start[track])] > 0)
    if not len(cand):
        return np.zeros(n, bool)
    g = track[cand]
    h = ht[g]
    # a window of 2h+1 fixes, slid inside the track at its ends (clipping would repeat the end
    # fix h+1 times and make a jump there its own median)
    lo = np.clip(cand - h, start[g], np.maximum(start[g], end[g] - (2 * h + 1)))
    k = np.arange(2 * p.median_half + 1)[None, :]
    idx = np.minimum(lo[:, None] + k, end[g][:, None] - 1)
    # only fixes within twice the window in time (what the window spans when slid at a
    # track's end): across a hole the fixes taken out leave (a burst), the fixes are the walk
    # far on, and the few before the hole were taken for outliers from them (open-ground
    # gm-236, seed 43: a burst from the 7th fix on, and the 6 fixes before it went with the
    # 41 s of walk they started). Across a dropout it reaches as far as without one (a
    # phone standing through a 9 min dropout came back into a burst: the fixes before the
    # dropout told the median where it stood)
    seen = t if seen is None else seen
    inside = (k <= 2 * h[:, None]) & (np.abs(seen[idx] - seen[cand][:, None]) <= 2 * p.median_window_s)
    m = inside.sum(axis=1)[:, None]
    # the median of a row's m values, inf padding it past them (np.nanmedian over NaN pads
    # took 3 x as long)
    mx, my = ((np.take_along_axis(srt, (m - 1) // 2, 1) + np.take_along_axis(srt, m // 2, 1))[:, 0] / 2
              for srt in (np.sort(np.where(inside, v[idx], np.inf), axis=1) for v in (x, y)))
    out = np.zeros(n, bool)
    out[cand] = plane_m(x[cand] - mx, y[cand] - my) > p.outlier_m
    return out


def typical_interval_s(track, dt, first, n_tracks: int):
    """Per track, the mean time between its fixes over steps of a minute or less, and how
    many such steps it has."""
    small = ~first & (dt <= 60)
    cnt = np.bincount(track[small], minlength=n_tracks)
    return np.bincount(track[small], dt[small], minlength=n_tracks) / np.maximum(cnt, 1), cnt


def median_half_fixes(track, dt, first, n_tracks: int, p: CleanParams) -> np.ndarray:
    """Per track, the running median's half window in fixes: +-``median_window_s`` at the
    track's typical interval, at least 2 and at most ``median_half`` fixes a side."""
    mdt, cnt = typical_interval_s(track, dt, first, n_tracks)
    ht = np.clip(np.round(p.median_window_s / np.maximum(mdt, 1e-3)), 2, p.median_half).astype(np.int64)
    return np.where(cnt > 0, ht, p.median_half)


def burst_stretches(track, dt, first) -> np.ndarray:
    """Mask of the fixes that start a stretch for the burst tests: a track's first fix, and
    the first after a dropout, a gap longer than BURST_DROPOUT_S or, where the track's fixes
    come more often than one per BURST_DROPOUT_S / BURST_GAP_K, than BURST_GAP_K x its typical
    interval (at least BURST_GAP_MIN_S). Inside a stretch a burst begins and ends with a
    jump; at its edges it may begin or end unseen.

    Why the shorter gap: open-ground gm-112 (walks of 1-2 km, seed 42, 1 s fixes): standing,
    the phone lost the signal for 19 s and came back 44 m off (a step walkable in that time,
    so no jump), and jumped back 22 s later: +7.0 %. At 5 s fixes, or a phone that skips most of
    its fixes (4 s apart on average, up to 20 s), gaps of 10-20 s are its normal sampling:
    cut there, the seed-11 campaign with three quarters skipped went from a worst of 3.6 % to
    9.5 %."""
    if not len(track):
        return np.zeros(0, bool)
    mdt, _ = typical_interval_s(track, dt, first, int(track[-1]) + 1)
    limit = np.clip(BURST_GAP_K * mdt, BURST_GAP_MIN_S, BURST_DROPOUT_S)
    return first | (dt > limit[track])


def short_dropouts(track, dt, first, cut) -> np.ndarray:
    """Mask of the fixes after a gap longer than SHORT_DROPOUT_K x the track's typical
    interval (at least BURST_GAP_MIN_S) that :func:`burst_stretches` does not cut at (``cut``;
    a track's first fix is always cut at): a burst may begin or end unseen there too, but
    only one whose other jump is big (:func:`_burst_at_ends`: twice what the speed cap
    allows, 1.5 x in one step) and that no pair of jumps took (:func:`bursts`).

    Why: open-ground gm-045 (walks of 1-2 km, seed 43, 5 s fixes): walking, the phone lost the
    signal for 20 s (3 missed fixes; stretches are cut at 5 s fixes only past 20 s) and came
    back 72 m off (26 m walked: a step walkable in 20 s, so no jump), then jumped back 45 s
    later: +6.6 %. Why not a stretch cut there: a phone's own sampling leaves such gaps, and
    cut at each of them (as ``BURST_DROPOUT_S`` 19.9 s) a burst that ended in a second,
    overlapping one across such a gap was walked (open-ground walks in issue 15's range with
    bursts of 10-60 s, gm-126, seed 46: -0.5 -> +2.1 %)."""
    if not len(track) or SHORT_DROPOUT_K <= 0:
        return np.zeros(len(track), bool)
    mdt, _ = typical_interval_s(track, dt, first, int(track[-1]) + 1)
    return ~cut & (dt > np.maximum(SHORT_DROPOUT_K * mdt, BURST_GAP_MIN_S)[track])


BURST_MIN_M = 15.0  # a multipath burst: a jump (fast steps) of >= 15 m in all,
BURST_CANCEL = 0.5  # taken back (the jumps from it to there adding up to < 0.5 x the larger of
BURST_NEXT = 10  # the two) by one of the next 10 jumps, within burst_max_s
BURST_CLOSE = 0.25  # ... the nearest that leaves < 0.25 x, if any
BURST_BETTER = 3.0  # ... or a farther close one that leaves < 1/3 of the nearer's metres (> BURST_MIN_M)
BURST_STEP_K = 3.0  # ... and >= 3 x the track's median step between fixes
REV_COS = -0.5  # a run of fast steps turning back by > 120 degrees splits there
BURST_DROPOUT_S = 20.0  # a burst may begin or end unseen in a dropout longer than this
BURST_GAP_K = 5.0  # ... or than 5 x the track's typical interval, when that is shorter,
BURST_GAP_MIN_S = 10.0  # but not shorter than this (burst_stretches)
SHORT_DROPOUT_K = 3.0  # a gap over 3 x the typical interval (>= BURST_GAP_MIN_S): a burst with a
# big jump may begin or end in it (short_dropouts)
BURST_ACROSS = 0.25  # the last jump before a dropout and the first after it pair when they leave < 0.25 x
ACROSS_FIT = 0.25  # ... or, with longer sides, the fixes either side fit within 0.25 x the larger jump
ONE_STEP_BIG_K = 1.5  # ... or 1.5 x, when the jump is one step between two fixes (_burst_at_ends)
ENDS_CANCEL = 0.25  # ... or a burst at a dropout whose jump puts the phone back within 0.25 x of it
CROSS_FIT = 0.25  # a burst whose pair crosses another's: its fixes within 0.25 x the larger jump


def bursts(x, y, t, track, p: CleanParams, steps, cut, short=None):
    """Fixes inside multipath bursts: from a jump (steps faster than the speed cap allows,
    one or a run of them as the phone slides off, >= BURST_MIN_M and BURST_STEP_K x the
    track's median step in all) to one of the next
    BURST_NEXT jumps that takes it back within ``burst_max_s`` and no dropout
    (:func:`burst_stretches`) between (the jumps from the first to
    it add up to < BURST_CANCEL x the larger of the two; bursts that begin and end in
    between, or end with it, cancel on the way; the nearest that leaves < BURST_CLOSE x wins
    over a nearer one that leaves more: back-to-back bursts with one clean fix between merge
    the steps out of one and into the next into one jump, which nearly takes the first back
    and left the second in; and a farther one that leaves under 1 / BURST_BETTER of the
    metres the nearer leaves, when those are a jump's worth), when most of the fixes in
    between sit where
    the walk from the fix before to the fix after puts them plus the fast steps since the
    burst began (within half the larger of the jump and the jump back). A jump that takes one
    burst back opens none (it and the jump into the next burst can cancel too), but when one
    lies inside an open burst and is taken back only after that burst ended, its jump back
    may (and its burst must fit within CROSS_FIT x the larger of its two jumps). At a
    stretch's start or end (a dropout's edge), a jump may also be taken back by the jump after
    next, the one between left to
    :func:`_burst_at_ends` (a burst begun or ended in the dropout, a second one overlapping
    it). Across a dropout, the last jump before it and the first after it (not the step
    across) pair when they leave < BURST_ACROSS x and each side lies within the running
    median's window, or the fix after the dropout sits where the one before it, walked on,
    puts it (ACROSS_FIT): a burst the phone lost the signal in. A stretch's first (last) jump
    that puts the phone back where it was on the dropout's other side pairs with no later
    (earlier) jump that leaves BURST_CLOSE x or more (:func:`_unpair_ways_at_dropouts`). A pair whose first jump
    opens a stretch (or whose last closes one) may also carry the way back of a burst the
    stretch began in (the way into one it ends in): :func:`_bursts_under_a_pair`. Bursts no longer than half
    the median window (in time and in fixes: :func:`_beyond_median`) are left to
    :func:`median_outliers`, which took them out before.
    ``steps``: :func:`neighbour_steps`; ``cut``: :func:`burst_stretches`; ``short``:
    :func:`short_dropouts`, where a burst with a big jump may also begin or end. Returns (mask over
    the fixes in bursts, mask over the steps into fix k that make up a jump), for
    :func:`burst_offsets`.

    Why: the median takes out bursts shorter than half its window only. A burst of 10-60 s
    20-150 m off (the phone between tall buildings) stayed: on open-ground walks with such
    bursts (``open_ground_walks(multipath_s=(10, 30), multipath_m=(60, 150))``) the median
    error per track was 3.5 %, worst 18 %."""
    n = len(x)
    out = np.zeros(n, bool)
    if p.burst_max_s <= 0 or n < 3:
        return out, out.copy()
    d, dt, first = steps  # :func:`neighbour_steps`
    fast = ~first & (d > p.speed_cap_mps * dt + p.noise_step_m)
    s, e, dx, dy, mag = _find_jumps(x, y, track, d, first, fast, cut if SPLIT_AT_CUT else None)
    if not len(s):
        return out, out.copy()
    jumps = _jump_steps(s, e, n)
    # Stretches: a track cut at dropouts, inside which a burst can begin or end unseen
    stretch = np.cumsum(cut) - 1
    edge = np.r_[True, stretch[s[1:]] != stretch[s[:-1]]]  # a stretch's first jump
    back = _pair_jumps_back(s, dx, dy, mag, t, stretch, p)
    bounds = group_bounds(stretch, int(stretch[-1]) + 1)  # each stretch's first fix, one past its last
    if LOOSE_AT_DROPOUT:
        _unpair_ways_at_dropouts(s, e, dx, dy, mag, x, y, track, stretch, edge, bounds, back)
    ends = _pair_round_stretch_edges(s, dx, dy, mag, t, stretch, edge, back, p)
    half = median_half_fixes(track, dt, first, int(track[-1]) + 1, p)[track[s]]
    key = time_key(t, track)
    _pair_across_dropout(s, e, dx, dy, mag, x, y, t, key, track, cut, stretch, edge, bounds, half, back, p)
    opens, crossing = _open_in_order(back)
    used = opens.copy()
    used[back[opens]] = True
    mark = np.zeros(n + 1, np.int64)
    if UNDER_PAIR:
        _bursts_under_a_pair(s, e, dx, dy, x, y, t, track, stretch, edge, bounds, back, opens, half, p, mark)
    if NEXT_TO_PAIR:
        used |= _bursts_next_to_a_pair(s, e, dx, dy, mag, x, y, t, key, track, stretch, back, opens, used, p,
                                       mark)
    used |= _burst_at_ends(s, e, mag, used, t, cut, stretch, p, mark, half, ends, (x, y, track), bounds)
    if short is not None and short.any():
        # again with stretches also cut at the short dropouts: a burst whose big jump nothing
        # above took may begin or end unseen in one
        cut2 = cut | short
        _burst_at_ends(s, e, mag, used, t, cut2, np.cumsum(cut2) - 1, p, mark, half)
    _mark_bursts_that_fit(x, y, t, fast, s, e, mag, back, opens, crossing, half, p, mark)
    return np.cumsum(mark[:-1]) > 0, jumps


SPLIT_AT_CUT = True  # a run of fast steps ends at a dropout (False: off)


def _find_jumps(x, y, track, d, first, fast, cut=None):
    """The jumps of :func:`bursts`: runs of fast steps (split where one turns back,
    :func:`_turns_back`, and at a dropout: ``cut``, :func:`burst_stretches`) that add up to
    >= BURST_MIN_M and BURST_STEP_K x the track's median step. Returns per jump ``s``, the fix
    its first step leads into (it starts at fix s - 1), its last fix ``e``, and its dx, dy and
    metres.

    Why the dropout: open-ground walk of 1-2 km in issue 15's range (simulator variant, seed
    46, 1 s fixes): walking, 85 m off for 58 s across a 27 s dropout, the last fix before the
    dropout in a second burst. The step into that fix and the fast step across the dropout
    made one jump of 24 m (out to one fix and back: no turn back), which was no burst's edge,
    and the burst's 17 s before the dropout were walked: +7.5 %, now +2.1 %."""
    rev = _turns_back(x, y, fast)
    if cut is not None:
        rev |= cut & fast
    # a jump: a run of fast steps, from the fix before its first (s - 1) to its last (e)
    s = np.flatnonzero(fast & (~np.r_[False, fast[:-1]] | rev))
    e = np.flatnonzero(fast & (~np.r_[fast[1:], False] | np.r_[rev[1:], False]))
    dx, dy = x[e] - x[s - 1], y[e] - y[s - 1]
    mag = plane_m(dx, dy)
    # a jump stands out of the track's steps (at 5 s fixes and sigma ~10 m, steps of 20 m
    # come by chance: two of them 100 s apart took 100 s of an out-and-back for a burst,
    # simulated spring-0045, seed 23, -3.4 % and -6.2 % with the pacing test of patrol.clean)
    # (every 4th step: the median of a sample is as good here, at a quarter of the sort)
    step = track_median(np.where(first, 0.0, np.minimum(d, 2.0 ** 20 - 1))[::4], track[::4],
                        int(track[-1]) + 1, 0.0)
    big = mag >= np.maximum(BURST_MIN_M, BURST_STEP_K * step[track[s]])
    return s[big], e[big], dx[big], dy[big], mag[big]


def _turns_back(x, y, fast):
    """Mask of the fast steps that turn back on the fast step before by more than REV_COS
    allows, and are no spike: a run of fast steps splits there into two jumps."""
    # a run of fast steps turning back on itself holds the end of one burst and the start
    # of the next (one clean fix between them): it splits there. Open-ground gm-083 (seed
    # 45, 5 s fixes, bursts of 10-60 s): back from a burst for one fix and off again into
    # two overlapping ones, the run's sum took back neither, and the jump back out of all
    # came 125 s after the first: +13.9 %
    ddx, ddy = np.r_[0.0, np.diff(x)], np.r_[0.0, np.diff(y)]
    la, lb = plane_m(ddx[:-1], ddy[:-1]), plane_m(ddx[1:], ddy[1:])
    rev = np.zeros(len(x), bool)
    rev[1:] = (fast[1:] & fast[:-1] & (ddx[1:] * ddx[:-1] + ddy[1:] * ddy[:-1] < REV_COS * la * lb)
               # (not a spike: out to one fix and straight back)
               & (plane_m(ddx[1:] + ddx[:-1], ddy[1:] + ddy[:-1]) >= BURST_CANCEL * np.maximum(la, lb)))
    return rev


def _jump_steps(s, e, n):
    """Mask over the ``n`` fixes of the steps (into fix k) that make up a jump."""
    jumps = np.zeros(n + 1, np.int64)
    np.add.at(jumps, s, 1)
    np.add.at(jumps, e + 1, -1)
    return np.cumsum(jumps[:-1]) > 0


def _pair_jumps_back(s, dx, dy, mag, t, stretch, p: CleanParams):
    """Per jump, the index of the jump that takes it back (-1: none): one of the next
    BURST_NEXT in its stretch, within ``burst_max_s``, the jumps from the first to it adding up
    to < BURST_CANCEL x the larger of the two. The nearest such wins, but the nearest that
    leaves < BURST_CLOSE x wins over it, and a farther one that leaves under 1 / BURST_BETTER
    of the metres the nearer leaves (when those are over BURST_MIN_M) over both."""
    # no jump back across a dropout (but for the pair either side of one,
    # :func:`_pair_across_dropout`): a burst that
    # ended unseen in one is :func:`_burst_at_ends`' work, and the jump into the next burst
    # after it took it back by chance and the walk between for a burst (simulated
    # spring-0268, seed 11, 1 s fixes, unflagged bursts of 10-60 s: 80 m off for 8 s, 53 s
    # dropout, 19 s of walk, then 115 m off for 42 s: +4.0 %).
    sx, sy = np.r_[0.0, np.cumsum(dx)], np.r_[0.0, np.cumsum(dy)]
    back = np.full(len(s), -1)
    close = np.full(len(s), -1)
    # per jump and each of the next BURST_NEXT that may take it back closely (same stretch,
    # within burst_max_s, leaving < BURST_CLOSE): the metres left
    rem = np.full((len(s), BURST_NEXT + 1), np.inf)
    for o in range(BURST_NEXT, 0, -1):  # the nearest jump that takes it back wins (written last)
        a = np.arange(len(s) - o)
        b = a + o
        ok = (stretch[s[a]] == stretch[s[b]]) & (t[s[b]] - t[s[a]] <= p.burst_max_s)
        # (the jump back may be the smaller one: in overlapping bursts each jump is one's part)
        rem_m = plane_m(sx[b + 1] - sx[a], sy[b + 1] - sy[a])
        left = rem_m / np.maximum(mag[a], mag[b])
        rem[a[ok & (left <= BURST_CLOSE)], o] = rem_m[ok & (left <= BURST_CLOSE)]
        for found, share in ((back, BURST_CANCEL), (close, BURST_CLOSE)):
            found[a[ok & (left <= share)]] = b[ok & (left <= share)]
    # a jump that takes it back closely wins over a nearer one that leaves half of it: back to
    # back bursts, the fast steps out of one and into the next merged into one jump
    back = np.where(close >= 0, close, back)
    # and a farther one that leaves under a third of what the nearer leaves, when that is a
    # jump's worth: back-to-back bursts whose jump between nearly takes the first back (open-
    # ground gm-252 of 1-2 km, seed 42, 5 s fixes: 128 m off for 15 s, then 39 m the other
    # way for 25 s; the jump between left 39 m, 0.25 of it, and the second burst was walked
    # out and back: +7.4 %)
    a = np.flatnonzero(back >= 0)
    o_near = back[a] - a
    left_m = plane_m(sx[back[a] + 1] - sx[a], sy[back[a] + 1] - sy[a])
    o_all = np.arange(BURST_NEXT + 1)[None, :]
    better = (o_all > o_near[:, None]) & (rem[a] < left_m[:, None] / BURST_BETTER) \
        & (left_m[:, None] > BURST_MIN_M)
    has = better.any(axis=1)
    back[a[has]] = a[has] + better[has].argmax(axis=1)
    return back


EDGE_MID_FREE = True  # the jump a pair round a stretch's edge leaves out pairs with no other


def _pair_round_stretch_edges(s, dx, dy, mag, t, stretch, edge, back, p: CleanParams):
    """At a stretch's start or end (``edge``: per jump, the first of its stretch), a jump that
    :func:`_pair_jumps_back` paired with none and that lies inside no burst it found is taken
    back by the jump after next (in the stretch, within ``burst_max_s``, leaving
    < BURST_CLOSE x the larger of the two), written into ``back``. Returns ``ends``: the jump
    between, left to :func:`_burst_at_ends` as its stretch's first (row 0) or last (row 1)."""
    # a burst begun in a dropout whose end a second burst overlaps: the jumps are into the
    # second, out of the first, out of the second. The first and last cancel with the one
    # between left out, and the one between is the first burst's way back (and so for a
    # burst that ends in a dropout, the second overlapping its start). Simulated spring-0268
    # (seed 7, 1 s fixes, unflagged bursts of 10-60 s): back from a 430 s dropout 92 m off,
    # 22 s later 131 m further for 36 s; the first jump was taken for the way back and the
    # overlap walked: +4.5 %
    # (not inside a burst the pairs :func:`_pair_jumps_back` found: overlapping ones cancel
    # there in full)
    inside = np.zeros(len(s), bool)
    for o in range(1, BURST_NEXT + 1):
        inside[o:] |= back[:-o] >= np.arange(o, len(s))
    a = np.arange(len(s) - 2)
    b = a + 2
    left = plane_m(dx[a] + dx[b], dy[a] + dy[b]) / np.maximum(mag[a], mag[b])
    ok = (back[a] < 0) & ~inside[a] & (stretch[s[a]] == stretch[s[b]]) \
        & (t[s[b]] - t[s[a]] <= p.burst_max_s) & (left <= BURST_CLOSE)
    # the jump left out of such a pair: the way back of a burst the stretch begins in, or the
    # way into one it ends in
    ends = np.zeros((2, len(s)), bool)
    for side, at in enumerate((edge[a], np.r_[edge[3:], True])):
        ends[side, a[ok & at] + 1] = True
        back[a[ok & at]] = b[ok & at]
        if EDGE_MID_FREE:
            # the jump left out is no pair's: it and the pair's last were paired too, by
            # chance (simulator variant gm-132, seed 52, 5 s fixes: 98 m off, 82 m further
            # for 43 s from 50 s on, the second ending in a dropout; the jump into the second
            # opened a burst the first's way back closed, and its own 15 s before the dropout
            # were walked: +5.7 %)
            mid = a[ok & at] + 1
            back[mid[back[mid] == b[ok & at]]] = -1
    return ends


def _pair_across_dropout(s, e, dx, dy, mag, x, y, t, key, track, cut, stretch, edge, bounds, half, back,
                         p: CleanParams):
    """The last jump before a dropout and the first after it (not the step across), when
    :func:`_pair_jumps_back` took the first back by none: written into ``back`` when they
    leave < BURST_ACROSS x the larger of the two, within ``burst_max_s``, and each side lies
    within the running median's window (``half``: per jump, its half in fixes), or the fix
    after the dropout sits where the one before it, walked on, puts it (ACROSS_FIT).
    ``bounds``: per stretch its first fix and one past its last."""
    # a burst the phone lost the signal in, each side of the dropout within the running
    # median's window (median_window_s, its half in fixes): the last jump before the dropout
    # and the first after it pair when they cancel closely (BURST_ACROSS). Open-ground walks
    # of 1-2 km: gm-129 (all on curves, seed 42, 5 s fixes; standing, 124 m off for 2 fixes,
    # a 35 s dropout, 2 more off): each side too short for :func:`_burst_at_ends`, and the
    # median, reading across the dropout, saw both, most of its window off: +29 %. gm-176 (seed
    # 46, 5 s): 130 m off for 2 fixes, 40 s dropout, 3 more; the jump back, first of its
    # stretch, paired with the jump into the next burst 80 s on (leaving half), and the
    # standing between was moved 84 m off: +20 %. Longer sides pair only where the fix after
    # the dropout sits where the one before it, walked on at the pace before the burst, puts
    # it (within ACROSS_FIT x the larger jump): gm-212 (seed 46, 1 s: 107 m off for 32 s, a
    # 12 s dropout, 12 s more; the same chance pairing, +9.0 -> -0.7 %), while a burst that
    # ended unseen in the dropout and the jump into the next after 19 s of walk, which can
    # cancel by chance, do not (test_bursts_either_side_of_a_dropout)
    a = np.arange(len(s) - 1)
    b = a + 1
    f_start, f_end = bounds
    sa, sb = stretch[s[a]], stretch[s[b]]
    left = plane_m(dx[a] + dx[b], dy[a] + dy[b]) / np.maximum(mag[a], mag[b])
    # (not the step across the dropout itself: walk and way back unknown, as at a stretch's ends)
    ok = edge[b] & ~cut[s[b]] & (sb == sa + 1) & (track[s[a]] == track[s[b]]) & (back[a] < 0) \
        & (left < BURST_ACROSS)
    ok &= t[s[b]] - t[s[a]] <= p.burst_max_s
    fa, fb = f_end[sa] - 1, f_start[sb]  # the fixes either side of the dropout
    fits = np.ones(len(a), bool)
    for dur, cnt in ((t[fa] - t[s[a]], fa - s[a] + 1), (t[e[b] - 1] - t[fb], e[b] - fb)):
        fits &= (dur <= p.median_window_s) & (cnt <= half[a])
    if ACROSS_FIT > 0:  # the pace: over the BURST_PACE_S before the burst, inside the track
        # (the fix before the jump: in the burst's track, a jump is never its first)
        vx, vy = _velocity(x, y, t, key, s[a] - 1, BURST_PACE_S)
        gap = t[fb] - t[fa]
        miss = plane_m(x[fb] - x[fa] - vx * gap, y[fb] - y[fa] - vy * gap)
        fits |= miss <= ACROSS_FIT * np.maximum(mag[a], mag[b])
    ok &= fits
    back[a[ok]] = b[ok]


def _velocity(x, y, t, key, at, before_s):
    """Per fix ``at``: the walker's velocity (x, y metres per second) over the ``before_s``
    seconds before it in its track (``key``: :func:`patrol.arrays.time_key`), or after it
    when ``before_s`` is negative; 0 where that spans under a second."""
    other = np.searchsorted(key, key[at] - before_s, side="left" if before_s > 0 else "right")
    other = np.clip(np.where(before_s > 0, other, other - 1), 0, len(x) - 1)
    span = np.abs(t[at] - t[other])
    inv = np.where(span >= 1.0, np.sign(before_s) / np.maximum(span, 1.0), 0.0)
    return (x[at] - x[other]) * inv, (y[at] - y[other]) * inv


def _pair_left(a, b, dx, dy):
    """Per pair of jumps a .. b (indices into the jumps): what the jumps from a to b leave
    (dx, dy)."""
    sx, sy = np.r_[0.0, np.cumsum(dx)], np.r_[0.0, np.cumsum(dy)]
    return sx[b + 1] - sx[a], sy[b + 1] - sy[a]


def _across_dropout(x, y, track, near, far, shift_x, shift_y, tol_m):
    """Per case: fix ``near`` lies where fix ``far``, across a dropout in the same track (not
    past the track's start or end), puts it shifted by (shift_x, shift_y), within tol_m."""
    n = len(x)
    ok = (far >= 0) & (far < n)
    near, far = np.clip(near, 0, n - 1), np.clip(far, 0, n - 1)
    ok &= track[far] == track[near]
    return ok & (plane_m(x[near] - x[far] - shift_x, y[near] - y[far] - shift_y) <= tol_m)


NEXT_TO_PAIR = True  # a jump next to a pair that takes back what the pair leaves (False: off)


def _bursts_next_to_a_pair(s, e, dx, dy, mag, x, y, t, key, track, stretch, back, opens, used,
                           p: CleanParams, mark):
    """A pair of jumps (``opens``, ``back``: :func:`_open_in_order`) that leaves r (>=
    BURST_MIN_M), and the next jump after it (or the one before it), in the same stretch
    within ``burst_max_s`` and taken by no pair (``used``), that takes r back (leaving <
    BURST_CANCEL x the larger, once the walk in the jumps' steps is taken off: the walker's
    velocity over BURST_PACE_S on that jump's far side): a second burst, overlapping the
    pair's end (start), whose way in (way back) merged with the pair's last (first) jump.
    Its fixes are marked in ``mark``; returns the mask of the jumps taken.

    Why: open-ground walk of 1-2 km in issue 15's range (simulator variant, seed 46, gm-112,
    5 s fixes): 126 m off for 40 s across a 23 s dropout, then 43 m off in a second burst
    begun as the first ended. The way into the first and the way out of it (merged with the
    way into the second) paired across the dropout and left 37 m, the second's offset; its
    way back paired with nothing, and the second burst was walked: +6.6 %, now +1.4 %. On the
    variant's seeds 42-49 (4,800 walks) four others moved, each closer (-2.0 -> -0.0 %,
    -3.8 -> -3.2 %); on the street simulator (seeds 7-23) two, closer."""
    took = np.zeros(len(s), bool)
    a = np.flatnonzero(opens)
    b = back[a]
    m = len(s)
    if not len(a):
        return took
    rx, ry = _pair_left(a, b, dx, dy)
    r = plane_m(rx, ry)
    step_s = np.r_[0.0, np.cumsum(t[e] - t[s - 1])]  # the jumps' own time, summed
    for after, c, near, lo, hi in ((True, b + 1, b, e[b], s[np.minimum(b + 1, m - 1)]),
                                   (False, a - 1, a, e[np.maximum(a - 1, 0)], s[a])):
        ok = (c >= 0) & (c < m) & (r >= BURST_MIN_M)
        c = np.clip(c, 0, m - 1)
        ok &= ~used[c] & (stretch[s[c]] == stretch[s[near]]) & (track[s[c]] == track[s[near]])
        ok &= np.abs(t[s[c]] - t[s[near]]) <= p.burst_max_s
        # the walker's velocity just beyond jump c (after it, or before it)
        vx, vy = _velocity(x, y, t, key, e[c], -BURST_PACE_S) if after else \
            _velocity(x, y, t, key, s[c] - 1, BURST_PACE_S)
        walk_s = step_s[b + 1] - step_s[a] + (t[e[c]] - t[s[c] - 1])
        left = plane_m(rx + dx[c] - vx * walk_s, ry + dy[c] - vy * walk_s)
        ok &= left < BURST_CANCEL * np.maximum(r, mag[c])
        np.add.at(mark, lo[ok], 1)
        np.add.at(mark, hi[ok], -1)
        took[c[ok]] = True
    return took


LOOSE_AT_DROPOUT = True  # a jump back to before a dropout is no loose pair's way in (False: off)


def _unpair_ways_at_dropouts(s, e, dx, dy, mag, x, y, track, stretch, edge, bounds, back):
    """A stretch's first jump that takes the phone back to where it was before the dropout
    (within ENDS_CANCEL x the jump) is the way back of a burst begun in the dropout, not the
    way into one the next jump takes back loosely (leaving BURST_CLOSE x or more; a pair
    with jumps between, which cancel, is kept: seed 48's gm-219, two overlapping bursts
    paired in four jumps, fell from +3.1 % to -6.4 % when undone, its walk after the second
    burst having brought it near where it was after the dropout); so is a
    stretch's last jump that puts the phone where it is after the dropout the way into one
    ended in it: such pairs are undone (``back``), for :func:`_burst_at_ends`. ``edge``: per
    jump, the first of its stretch; ``bounds``: per stretch its first fix and one past its last.

    Why: open-ground walk of 1-2 km in issue 15's range (simulator variant, seed 45, sigma
    7.4 m, tau 70 s): standing, a 25 s dropout, back 56 m off for 20 s, then 95 s later a
    second burst 75 m off. The way back from the first and the way into the second left 0.49
    of the larger (under BURST_CANCEL) and paired: the 95 s between were moved 56 m off and
    the first burst stayed, +8.4 % / +7.3 % (5 s / 1 s fixes), now -2.3 % / -2.2 %."""
    a = np.flatnonzero(back == np.arange(len(back)) + 1)  # pairs with no jump between
    b = back[a]
    loose = plane_m(*_pair_left(a, b, dx, dy)) >= BURST_CLOSE * np.maximum(mag[a], mag[b])
    f_start, f_end = bounds
    last = np.r_[edge[1:], True]
    # the fix before the first jump against the one before the dropout, moved by the jump
    # back; the fix the last jump lands on against the one after the dropout, moved by it
    for j, sign, at_edge, near, far in ((a, -1.0, edge[a], s[a] - 1, f_start[stretch[s[a]]] - 1),
                                        (b, 1.0, last[b], e[b], f_end[stretch[s[b]]])):
        ok = loose & at_edge
        ok &= _across_dropout(x, y, track, near, far, sign * dx[j], sign * dy[j], ENDS_CANCEL * mag[j])
        back[a[ok]] = -1


UNDER_PAIR = True  # a burst at a dropout whose other end is part of a pair's jump (False: off)


def _bursts_under_a_pair(s, e, dx, dy, x, y, t, track, stretch, edge, bounds, back, opens, half,
                         p: CleanParams, mark):
    """A burst a stretch begins in (after a dropout) whose way back is part of the first
    jump of a pair (that jump also goes into a second burst, which overlapped its end), or
    one it ends in whose way in is part of the last jump of a pair: the pair leaves what the
    burst moved the phone by (r, the jumps' sum). The fixes before the first jump (after the
    last) are that burst when they sit where the phone was on the dropout's other side,
    moved by -r (+r after), within ENDS_CANCEL x |r| (a phone that stood, or barely moved,
    through the dropout and the burst), and last no more than ``burst_max_s`` and more than
    the running median takes out (:func:`_beyond_median`). ``opens``, ``back``: the pairs
    (:func:`_open_in_order`); ``edge``: per jump, the first of its stretch; ``bounds``: per
    stretch its first fix and one past its last. Marked +1 / -1 in ``mark``; :func:`burst_offsets` moves them by the pair's jumps with the
    pair's burst (one run of burst fixes, held on the side away from the dropout).

    Why: open-ground walk of 1-2 km in issue 15's range, 5 s fixes (sigma 5.1 m, tau 65 s):
    standing, a 20 s dropout, back 84 m off for 25 s, when a second burst 143 m off began
    (both for 3 s). The jumps were into the second with the first's way back merged in, and
    out of the second: they paired, leaving 85 m, and the first burst's 25 s stayed, walked
    out and back (+14.7 %)."""
    a = np.flatnonzero(opens)
    b = back[a]
    n = len(x)
    f_start, f_end = bounds
    st = stretch[s[a]]
    rx, ry = _pair_left(a, b, dx, dy)
    r = plane_m(rx, ry)
    # the head (fixes lo .. hi - 1) before the pair's first jump, the fix before the dropout;
    # the tail from the pair's last jump's landing on, the fix after the dropout
    for sign, first, lo, hi, near, far in ((-1.0, edge[a], f_start[st], s[a], s[a] - 1, f_start[st] - 1),
                                           (1.0, np.r_[edge[1:], True][b], e[b], f_end[st], e[b], f_end[st])):
        ok = first & (r >= BURST_MIN_M) & (stretch[s[b]] == st)
        ok &= _across_dropout(x, y, track, near, far, sign * rx, sign * ry, ENDS_CANCEL * r)
        dur = t[np.maximum(hi - 1, 0)] - t[np.minimum(lo, n - 1)]
        ok &= (dur <= p.burst_max_s) & _beyond_median(dur, hi - lo, half[a], p)
        np.add.at(mark, lo[ok], 1)
        np.add.at(mark, hi[ok], -1)


def _open_in_order(back):
    """Along the track, the jumps that open a burst (its jump back: ``back``), and of those the
    ones whose pair crosses an open burst's (their burst must fit within CROSS_FIT x the larger
    of its two jumps)."""
    # in order along the track, a jump opens a burst unless it takes an open one back. Pairs
    # can cross: a jump inside an open burst, taken back only after that burst ended. One of
    # the two is a chance sum, and which one the jumps do not say: the crossing one opens its
    # burst, but must fit it closer (CROSS_FIT x its jump, not half), and its jump back may
    # still open the next. Simulated spring-0089 (seed 7, 1 s fixes, unflagged bursts of
    # 10-60 s): a jump inside a tangle of two bursts cancelled with the jump into the next
    # burst 8 s later, which then opened none, and that burst, 34 s 116 m off, was walked:
    # +8.3 %. Letting the crossing one open no burst instead fixed that but undid spring-0083
    # (5 s fixes: 0.1 -> -3.0 %), where the enclosing pair was the chance one; without the
    # closer fit, spring-0380 (1 s) lost the 65 s of walk between two bursts (-0.4 -> -4.4 %).
    # One pass over the paired jumps (a few per burst)
    opens = np.zeros(len(back), bool)
    crossing = np.zeros(len(back), bool)
    closes: set = set()
    cover = -1  # the last jump back of the bursts open so far
    for a, b in zip(np.flatnonzero(back >= 0).tolist(), back[back >= 0].tolist()):
        if a in closes:
            continue
        opens[a] = True
        crossing[a] = a <= cover < b
        if not crossing[a]:
            closes.add(b)
        cover = max(cover, b)
    return opens, crossing


def _mark_bursts_that_fit(x, y, t, fast, s, e, mag, back, opens, crossing, half, p: CleanParams, mark):
    """The bursts the jumps that ``opens`` and their jumps back (``back``) enclose, longer than
    the running median takes out (:func:`_beyond_median`), whose fixes sit, in the median,
    where the walk from the fix before to the fix after puts them plus the fast steps since
    the burst began: within half the larger of the two jumps (CROSS_FIT x for a ``crossing``
    pair). Marked +1 / -1 in ``mark`` (its cumulative sum > 0 inside)."""
    a = np.flatnonzero(opens)
    lo, hi = s[a], e[back[a]]  # the burst: fixes lo .. hi - 1; lo - 1 and hi are clean
    keep = _beyond_median(t[hi] - t[lo], hi - lo, half[a], p)
    a, lo, hi = a[keep], lo[keep], hi[keep]
    if not len(a):
        return
    rep, k = ranges(hi - lo)
    idx = lo[rep] + k
    w = (t[idx] - t[lo - 1][rep]) / np.maximum(t[hi] - t[lo - 1], 1e-9)[rep]
    # the fast steps since the burst began: how far off each fix should be
    jx = np.cumsum(np.where(fast, np.r_[0.0, np.diff(x)], 0.0))
    jy = np.cumsum(np.where(fast, np.r_[0.0, np.diff(y)], 0.0))
    ex = x[lo - 1][rep] + w * (x[hi] - x[lo - 1])[rep] + jx[idx] - jx[lo - 1][rep]
    ey = y[lo - 1][rep] + w * (y[hi] - y[lo - 1])[rep] + jy[idx] - jy[lo - 1][rep]
    dev = np.minimum(plane_m(x[idx] - ex, y[idx] - ey), 2.0 ** 20 - 1)
    # within half the larger of the two jumps: in overlapping bursts the first may be the
    # smaller, and the phone's error drifts over a long burst (open-ground gm-269 of 1-2 km,
    # seed 42, 5 s fixes: 28 m off and 20 s on 75 m further, at a stop's end; half the first
    # jump left the burst in: +13.2 %, now -0.5 %)
    tol = np.where(crossing[a], CROSS_FIT, 0.5) * np.maximum(mag[a], mag[back[a]])
    good = track_median(dev, rep, len(a), np.inf) <= tol
    np.add.at(mark, lo[good], 1)
    np.add.at(mark, hi[good], -1)


BURST_PACE_S = 10.0  # the walk in a burst's jump: the walker's velocity over the steps within 10 s
BURST_SIDE_S = 15.0  # a burst's offset is known from a side held this long (burst_offsets)


def burst_offsets(bad, jumps, x, y, t, track, p: CleanParams, steps, cut, short=None):
    """Where the fixes of the bursts ``bad`` were taken (``bad``, ``jumps``: :func:`bursts`'
    fixes in bursts and steps in jumps): per fix the multipath offset (ox, oy) to take off,
    and the mask of the fixes it is known for.

    The offset is the jumps' sum: each step of a jump since the burst began, less the walk over
    its time (the walker's velocity from the other steps within ``BURST_PACE_S`` of that
    step). A burst held on both sides (a clean fix before and after it in its stretch, a
    track cut at dropouts (:func:`burst_stretches`), with no other jump or cut within
    ``BURST_SIDE_S``) blends the sum from its start with the jumps still to come to its end,
    by time (a multipath offset that drifts, jumps that do not quite cancel); one held on one
    side (one the stretch begins or ends in, one next to another burst) takes that side's.
    A burst held on neither is dropped. A short dropout (``short``: :func:`short_dropouts`)
    with a burst on one side only is that burst's edge, as a stretch's is, even where the
    step across it is a jump: that step holds 10-20 s of walk no fix saw, and the offset from
    the burst's other side came out better (open-ground walks in issue 15's range with bursts
    of 10-60 s, 5 s fixes, seeds 42, 43 of 1-2 km and 46 of 3-6 km: 4 walks by 0.07-0.77
    points, none worse, than with that side held).

    Why: a burst's fixes are the walk moved off by the multipath, and dropping them bridged
    the walk under it straight: open-ground walks of 1-2 km (issue 15's range, bursts of
    10-60 s) came out -0.3 % / -0.5 % on average (1 s / 5 s fixes) with the burst fixes known
    and dropped, against -0.2 % / -0.1 % with no bursts at all."""
    n = len(x)
    ox, oy = np.zeros(n), np.zeros(n)
    movable = np.zeros(n, bool)
    if not bad.any():
        return ox, oy, movable
    _, dt, first = steps  # :func:`neighbour_steps`; ``cut``: :func:`burst_stretches`
    if short is not None:
        cut = cut | (short & (bad != np.r_[False, bad[:-1]]))
    lo = np.flatnonzero(bad & (~np.r_[False, bad[:-1]] | cut))
    hi = np.flatnonzero(bad & ~np.r_[bad[1:] & ~cut[1:], False]) + 1  # one past each run
    # a side counts when the fix there is clean, in the run's stretch, and held for
    # BURST_SIDE_S without another jump or a dropout: a pair of jumps can hold the walk between
    # two bursts (the way back from one, the way into the next), and moved it off by a burst
    # (a phone back from a 9 min dropout into a burst for 8 s, back for 25 s, off again for 7 s:
    # +400 m of a 650 m walk). Neither side: the fixes go
    event = jumps | cut
    idx = np.arange(n)
    prev_ev = np.maximum.accumulate(np.where(event, idx, 0))
    next_ev = np.minimum.accumulate(np.where(np.r_[event[1:], True], idx, n - 1)[::-1])[::-1]
    before = ~cut[lo] & (t[np.maximum(lo - 1, 0)] - t[prev_ev[np.maximum(lo - 1, 0)]] >= BURST_SIDE_S)
    after = np.zeros(len(lo), bool)
    h = hi[hi < n]
    after[hi < n] = ~cut[h] & (t[next_ev[h]] - t[h] >= BURST_SIDE_S)
    ddx, ddy = np.r_[0.0, np.diff(x)], np.r_[0.0, np.diff(y)]
    # per run its steps lo .. hi (into its first fix, between its fixes, out of its last)
    rep, k = ranges(hi - lo + 1)
    si = np.minimum(lo[rep] + k, n - 1)
    real = (lo[rep] + k < n) & ((k < (hi - lo)[rep]) | after[rep])
    # the walk in a jump's step: the walker's velocity over the other steps (no jump's, not
    # across a track's start) within BURST_PACE_S of it, inside the burst or out (the fast
    # steps GPS noise makes now and then at 5 s fixes are no jump: they are left in)
    slow = ~jumps & ~first
    cx, cy, ct = (np.r_[0.0, np.cumsum(np.where(slow, v, 0.0))] for v in (ddx, ddy, dt))
    key = time_key(t, track)
    a = np.searchsorted(key, key[si] - BURST_PACE_S, side="left") + 1
    b = np.searchsorted(key, key[si] + BURST_PACE_S, side="right")
    span = ct[b] - ct[a]
    span = np.where(span > 0, span, 1.0)
    jx, jy = (np.where(jumps[si] & real, dv[si] - (cv[b] - cv[a]) / span * dt[si], 0.0)
              for dv, cv in ((ddx, cx), (ddy, cy)))
    fx, fy = np.cumsum(jx), np.cumsum(jy)
    end = np.cumsum(hi - lo + 1) - 1  # each run's last step in rep order
    base = end - (hi - lo)  # its first
    fx, fy = fx - (fx[base] - jx[base])[rep], fy - (fy[base] - jy[base])[rep]
    tot_x, tot_y = fx[end], fy[end]
    fix = k < (hi - lo)[rep]  # rows that are the run's fixes (the last row is the step out)
    i = si[fix]
    r = rep[fix]
    both = before & after
    t_in = t[np.maximum(lo - 1, 0)]
    t_out = t[np.minimum(hi, n - 1)]
    w = np.where(both[r], (t[i] - t_in[r]) / np.maximum(t_out - t_in, 1e-9)[r],
                 np.where(after[r], 1.0, 0.0))
    ox[i] = fx[fix] - w * tot_x[r]
    oy[i] = fy[fix] - w * tot_y[r]
    movable[i] = (before | after)[r]
    return ox, oy, movable


def _beyond_median(duration_s, n_fixes, half, p: CleanParams) -> np.ndarray:
    """Bursts the running median does not take out: longer than half its window in time, or
    more fixes than half its window holds (:func:`median_half_fixes`: the window is counted
    in fixes at the track's typical interval, and a phone that samples unevenly packs more
    fixes into a few seconds). Simulated campaign, seed 13, 1 s fixes of which a phone kept
    a random quarter (``simulate_patrols(skip=0.75)``): a burst of 5 fixes 287 m off within 4 s,
    against a median of 4 fixes a side, stayed (spring-0377: +7.5 %); with 15 % kept, one of 3
    fixes within 4 s and 34 s without a fix after it (a dropout) +12 % (spring-0197)."""
    return (duration_s > p.median_window_s / 2) | (n_fixes > half)


def _burst_at_ends(s, e, mag, used, t, cut, stretch, p: CleanParams, mark, half, ends=None, xy=None,
                   bounds=None):
    """A burst a stretch begins or ends in (a stretch: a track, cut at dropouts,
    :func:`burst_stretches`; the phone lost the signal, or switched off, inside the burst): its last
    jump (fast steps ``s`` .. ``e``), taken back by none, or one only such jumps follow, within
    ``burst_max_s`` of the stretch's end (the fixes from it on), or its first jump, taking none
    back, or one only such jumps precede, within ``burst_max_s`` of its start (the fixes
    before its end); longer than half the median
    window (``half``: per jump, its half in fixes; :func:`_beyond_median`) and shorter than
    the rest of the stretch. With no jump back to check the fixes
    against, the jump must be twice what the speed cap allows (at 5 s fixes walking and GPS
    noise reach a 20 m step now and then), ONE_STEP_BIG_K (1.5) x when it is one step between
    two fixes (a run of fast steps can add up by chance; one step that long is a jump:
    open-ground walks of 1-2 km in issue 15's range, 5 s fixes, seeds 42, 43: a walk begun in
    a burst 39 m off for 36 s, one ended in one 32 m off, one back from a dropout 36 m off,
    +2.4 to +3.7 % -> -1.3 to +1.2 %; on seeds 44, 45, 47 four walks better, none worse;
    1.5 x for runs of steps too took a 1 s track's last 113 s at sigma 9.5 m for a burst),
    or put the phone back where it was on the dropout's
    other side (within ENDS_CANCEL x the jump; ``xy``: x, y and track of the fixes): open-ground
    gm-087 (walks of 1-2 km, seed 43, 5 s fixes): standing, back from a 25 s dropout 41 m off
    for 20 s, then a 36 m jump back to where it stood (under the 40 m then asked at 5 s): +7.4 ->
    -0.2 %. ``ends``: jumps that count as their stretch's first
    (row 0) or last (row 1), a pair round them having cancelled
    (:func:`_pair_round_stretch_edges`). Marked
    +1 / -1 in ``mark`` (its cumulative sum > 0 inside). Returns the mask of the jumps (of
    ``s``) it took: a jump is one burst's edge, not also the edge of another.

    Why the dropouts: with bursts of 10-60 s, 20-150 m about every 8 min on the street
    simulator, a burst begun or ended in a dropout was walked as a detour (+4-8 % on the worst
    tracks; 16 and 26 of 388 tracks beyond 3 % at 1 s and 5 s fixes, seed 7, street layer).
    ``cut``, ``stretch``: per fix, the first of a stretch; its stretch (see :func:`bursts`);
    ``bounds``: per stretch its first fix and one past its last, when the caller has them."""
    took = np.zeros(len(s), bool)
    # a jump across the dropout itself (from one burst into the next) is neither stretch's
    k = ~cut[s]
    as_first, as_last = np.zeros((2, len(s)), bool) if ends is None else ends
    s, e, mag, used, as_first, as_last = s[k], e[k], mag[k], used[k], as_first[k], as_last[k]
    half = half[k]
    if not len(s):
        return took
    tr = stretch[s]
    big = mag > np.where(e == s, ONE_STEP_BIG_K, 2.0) * (p.speed_cap_mps * (t[e] - t[s - 1]) + p.noise_step_m)
    bounds = group_bounds(stretch, int(stretch[-1]) + 1) if bounds is None else bounds
    f_start, f_end = (b[tr] for b in bounds)
    big_head, big_tail = big.copy(), big.copy()
    if xy is not None and ENDS_CANCEL > 0:
        x, y, track = xy
        # the fix after a head's jump back, and the fix before the dropout (for a tail: the
        # fix before its jump, and the fix after the dropout)
        for big_at, near, far in ((big_head, e, f_start - 1), (big_tail, s - 1, f_end)):
            big_at |= _across_dropout(x, y, track, near, far, 0.0, 0.0, ENDS_CANCEL * mag)
    # the stretch's last jump, or one that only such jumps follow: bursts that overlap and
    # end in the dropout both (open-ground walks of 1-2 km, gm-275, seed 42, 1 s fixes: 140 m
    # off, 14 s later 77 m further, a 30 s dropout; the first stayed: +18.8 %); and so its
    # first jumps. (Or the jump a pair of a second burst's jumps left out next to the
    # stretch's end.)
    cand = ~used & (big_head | big_tail)
    j_start, j_end = group_bounds(tr, int(tr[-1]) + 1)
    no = np.r_[0, np.cumsum(~cand)]
    i = np.arange(len(s))
    last = ((no[j_end[tr]] - no[i] == 0) | as_last) & cand & big_tail
    first = ((no[i + 1] - no[j_start[tr]] == 0) | as_first) & cand & big_head
    t0, t1 = t[f_start], t[f_end - 1]
    tail = last & (t1 - t[s] <= p.burst_max_s) & _beyond_median(t1 - t[s], f_end - s, half, p)
    head = first & (t[e] - t0 <= p.burst_max_s) & _beyond_median(t[s - 1] - t0, s - f_start, half, p)
    # the burst is the shorter side: a spike at a stretch's last fix after a minute of
    # walking is no jump back from a burst that began in the dropout before
    tail &= t[s - 1] - t0 > t1 - t[s]
    head &= t1 - t[e] > t[s - 1] - t0
    np.add.at(mark, s[tail], 1)
    np.add.at(mark, f_end[tail], -1)
    np.add.at(mark, f_start[head], 1)
    np.add.at(mark, e[head], -1)
    took[np.flatnonzero(k)[tail | head]] = True
    return took


def spikes(x, y, t, track, p: CleanParams):
    """Single fixes reached and left faster than the speed cap while the way across them is
    walkable: a one-fix excursion. Returns a boolean mask over the fixes."""
    n = len(x)
    d, dt, first = neighbour_steps(x, y, t, track)
    if n < 3:
        return np.zeros(n, bool)
    last = np.r_[first[1:], True]
    v_in = d / np.maximum(dt, 1e-3)
    v_out = np.r_[v_in[1:], 0.0]
    across = np.full(n, np.inf)
    across[1:-1] = plane_m(x[2:] - x[:-2], y[2:] - y[:-2]) / np.maximum(t[2:] - t[:-2], 1e-3)
    cap = p.speed_cap_mps
    return ~first & ~last & (v_in > cap) & (v_out > cap) & (across <= cap)
