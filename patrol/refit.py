"""Refit the path's vertices to all raw fixes: generalised least squares under Gauss-Markov
phone error, each fix placed between its two vertices by the time walked.

Why: a vertex Douglas-Peucker picks (and a corner fitted to its two legs) carries the GPS
offset of the fixes nearest it. Fitting every vertex to all fixes of the legs either side,
with the error's correlation from fix to fix taken into account, averages that offset over
the legs as far as the fixes allow. On plain walks (``python -m patrol.accuracy --floor
--sigma 3 8 --tau 30 120``, 300 walks) the per-walk spread fell from 0.99 % / 0.95 % (1 s /
5 s fixes) to 0.85 % / 0.76 %, that of an oracle told each walk's shape (0.88 % / 0.75 %),
and to 0.80 % / 0.71 % (worst 3.45 % / 3.0 % -> 3.25 % / 2.5 %) with the vertices that are
only GPS wander dropped (:func:`refit_path`); an oracle told where along the walk every fix
was taken reaches 0.75 % / 0.63 %.

What it assumes, and where it breaks:

- Between two vertices the walker keeps a steady pace in *moving time* (the time inside
  stops is left out). A pace change inside a leg (a pause too short to be a stop, a slow
  stretch) moves fixes along the leg and with them the vertices a little.
- The phone's error is a Gauss-Markov process with a correlation time of about
  ``REFIT_TAU_S``; the fit barely depends on it (plain walks: correlation times of 20-150 s
  assumed against true 30-120 s gave the same spread). White noise is not modelled: with
  1 m of it alone a staircase's length spreads 0.2 % (0.1 % without the refit); a shorter
  assumed correlation time takes that out but adds +0.2-0.3 % under real GPS error.
- Fixes are thinned to one per ``REFIT_STEP_S`` of walking (for speed: 1 M fixes at 1 s refit
  in ~0.3 s). Thinning 1 s fixes to 5 s left the spread the same but the vertices noisier
  and lengths +0.2 % longer on average; at 2 s, +0.05-0.1 %.
- The vertices are the walk's real turns. Douglas-Peucker also keeps GPS wiggles longer than
  its tolerance, and the fit follows the error there: at sigma 8-10 m the per-walk mean was
  +0.4-0.6 % (open ground, no street layer), against +0.1-0.35 % for the oracle told where
  every fix was taken. So each vertex is tested (:func:`refit_path`): with its neighbours
  held, how much worse the fixes fit if the path ran straight through it, in units of the
  track's own whitened misfit (a chi-square with 2 degrees of freedom for a vertex that is
  only wander). Below ``STRAIGHT_CHI2`` (the 1 % point) it is dropped, the weaker of two
  neighbours only (two vertices round one corner each look dispensable while the other
  stays), and the rest fitted again. A real corner scores in the hundreds; a shallow bend a
  few metres off the chord at sigma 8 m does not, and is cut. Measured on the cells of
  issue 15's notes (1 s + 5 s; street simulator seeds 7-23, open ground seeds 42-44): with
  the street layer the sigma 9-10 m mean fell from +0.25 / +0.24 % to +0.05 / +0.09 %,
  without it from +0.53 / +0.61 % to +0.12 / +0.38 %; mean abs error per track 0.475 ->
  0.473 % (4,656 tracks) and 0.722 -> 0.695 % (2,576), tracks beyond 3 % 5 -> 3 and 30 ->
  20; on seeds never used in tuning (street layer 29, 31; open ground 46, with bursts 46)
  0.586 -> 0.576 %, worst 4.4 -> 3.9 %, beyond 2.5 % 42 -> 28 of 2,752. The mean at sigma
  3-8 m moved by +0.01 to -0.24 % (the cut bends, and losses elsewhere the wiggles had
  offset). Tried: testing only tracks with noise_m >= 1.5 m (about sigma 5 m and up) took
  0.001 points more off the held-out mean abs error, and tied distance_sd_m less to the
  phone's noise (wiggles kept as turns on the quiet tracks). A corner missed by
  Douglas-Peucker is not found here either.
- Each vertex's time is where the legs either side, fitted as steady walks along their
  lines, reach it (``REFIT_ROUNDS`` rounds of re-timing and fit; the first walks the legs
  to the vertices as picked). Without the re-timing a vertex's time is that of the fix it
  was picked at, up to half a sampling interval off, and the fit cuts corners (plain walks:
  -0.2 % at 1 s, -0.6 % at 5 s).

Vertices at stops keep their place (the stop's centroid), and so do a vertex no fix
reaches and one the fit would move more than ``REFIT_MAX_MOVE_M`` (seen by too few fixes to
say where it is). Vectorised: one banded solve for all tracks per round.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import solveh_banded

from gis.crs import plane_m

REFIT_TAU_S = 60.0  # the phone error's correlation time the weights assume
REFIT_ROUNDS = 3  # rounds of re-timing the vertices, each followed by a fit (noise-free
# zig-zags come out within 0.2 %; tests/test_refit.py)
REFIT_STEP_S = 2.0  # fixes closer in time are thinned to one (for speed: under an error
# correlated over a minute they add little)
REFIT_MIN_PACE_MPS = 0.3  # a leg slower than this says nothing about its vertices' times
STRAIGHT_CHI2 = 9.2  # a vertex whose fixes fit a straight line through it this well (chi-square,
# 2 degrees of freedom, 1 %) is GPS wander, not a turn: dropped (straight_vertices)
STRAIGHT_HOLD_M = 10.0  # ... unless the fit without it moves a neighbour further: it held a turn
REFIT_MAX_MOVE_M = 30.0  # a vertex the fit moves further is not a GPS offset but a vertex
# the fixes barely see (a short leg next to a stop): it is held where it was and refitted
_SAME_M = 0.5  # consecutive vertices closer than this are one
_BAND = 3  # a whitened row spans at most 4 consecutive knots
_HOLD = 1e9  # ridge weight that keeps a vertex where it is
_FREE = 1e-6  # ridge weight for every vertex: one that no fix sees stays put


def moving_time_s(c) -> np.ndarray:
    """A time axis that stands still inside stops: seconds of walking before each kept fix,
    increasing over all fixes (tracks 1e6 s apart, so no key of one track meets another's)."""
    if not len(c.t_s):
        return np.zeros(0)
    dt = np.r_[1e6, np.diff(c.t_s)]
    dt[1:][c.stopped_steps()] = 0.0
    dt[1:][c.track[1:] != c.track[:-1]] = 1e6
    return np.cumsum(dt)


def refit_vertices(c, xy, vi, li, tau_s: float | None = None, rounds: int | None = None,
                   evidence: bool = False):
    """New positions (plane metres) for the vertices ``xy`` of the lines ``li`` picked at the
    kept fixes ``vi`` (see the module docstring); with ``evidence``, also each vertex's
    evidence for a turn (:func:`_evidence`)."""
    tau_s = REFIT_TAU_S if tau_s is None else tau_s
    rounds = REFIT_ROUNDS if rounds is None else rounds
    m = len(vi)
    if m < 2:  # no segment to fit (and no vertex between two to test)
        return (xy, np.full(m, np.inf)) if evidence else xy
    # a turn-back fix ends one line and starts the next: both are one vertex (knot)
    shared = np.r_[False, (vi[1:] == vi[:-1]) & (li[1:] != li[:-1])]
    seg_ok = li[1:] == li[:-1]  # segment s: vertex s -> s + 1
    chain = np.cumsum(np.r_[True, (li[1:] != li[:-1]) & ~shared[1:]])  # lines joined at tips
    # so is a corner the fixes either side of a short bent piece were both moved to: the
    # walker passed it once, at one time
    walking = c.run[vi] < 0
    shared[1:] |= (seg_ok & walking[1:] & walking[:-1]
                   & (plane_m(*np.diff(xy, axis=0).T) < _SAME_M))
    knot = np.cumsum(~shared) - 1
    nk = int(knot[-1]) + 1
    tm = moving_time_s(c)
    tv = (np.bincount(knot, tm[vi]) / np.bincount(knot))[knot]
    # no steady pace across a stop (its way in and out count as standing): such a segment's
    # fixes are left out, its vertices fitted from the legs either side
    in_stop = np.cumsum(c.in_stop())
    fit_ok = seg_ok & (in_stop[np.maximum(vi[1:] - 1, 0)] - in_stop[vi[:-1]] <= 0)
    j = np.flatnonzero(c.run < 0)  # moving fixes (a stop's fixes sit at its centroid)
    # bins counted from each track's start: a track's result must not depend on the tracks
    # before it in the file (1e-6: moving times of whole seconds land in the same bin)
    first = np.r_[True, c.track[1:] != c.track[:-1]]
    t_start = tm[first][np.cumsum(first) - 1]
    step = np.floor((tm[j] - t_start[j]) / REFIT_STEP_S + 1e-6)
    j = j[np.r_[True, step[1:] != step[:-1]]]
    lam = np.full(nk, _FREE)
    lam[knot[c.run[vi] >= 0]] = _HOLD
    x0 = np.zeros((nk, 2))
    x0[knot] = xy
    p, band = x0, None  # the first re-timing walks the legs to the vertices as they are
    for r in range(rounds + 1):
        s, u, jj = _place(tv, fit_ok, tm, j)
        if r > 0:
            band, rhs = _normal(c, jj, knot[s], knot[s + 1], u, chain[s], nk, tau_s)
            p = _solve(band, rhs, lam, x0)
            wild = plane_m(*(p - x0).T) > REFIT_MAX_MOVE_M
            if wild.any():  # held where they were: the fixes' system stays, the prior changes
                lam[wild] = _HOLD
                p = _solve(band, rhs, lam, x0)
        if r < rounds:
            tv = _retime(tv, fit_ok, knot, p, s, tm[jj], np.c_[c.xr[jj], c.yr[jj]])
    if evidence:
        ok = fit_ok[:-1] & fit_ok[1:] & ~shared[1:-1] & ~shared[2:] & (lam[knot[1:-1]] < 1.0)
        inner = np.r_[False, ok, False] if m > 2 else np.zeros(m, bool)
        return p[knot], _evidence(c, vi, p, tv, knot, inner, jj, s, u, band, chain, tau_s)
    return p[knot]


def refit_path(c, xy, vi, li):
    """The vertices refitted (:func:`refit_vertices`) and those that are only GPS wander
    dropped (:func:`straight_vertices`), their tracks fitted again: (xy, vi, li). A dropped
    vertex whose neighbour the second fit moves by more than ``STRAIGHT_HOLD_M`` held a turn
    the fixes place poorly on their own (a corner next to an out-and-back whose tip fell in a
    dropout moved 18 m along the street without the vertex after it): it stays, and its
    track is fitted once more. A track's fit is its own, so fitting some tracks again leaves
    the others as they were."""
    xy, evidence = refit_vertices(c, xy, vi, li, evidence=True)
    track = c.track[vi]
    drop = straight_vertices(evidence)
    if not drop.any():
        return xy, vi, li
    keep, out = ~drop, xy.copy()
    again = keep & np.isin(track, track[drop])
    out[again] = refit_vertices(c, xy[again], vi[again], li[again])
    moved = again & (plane_m(*(out - xy).T) > STRAIGHT_HOLD_M)
    back = drop & (np.r_[False, moved[:-1]] | np.r_[moved[1:], False])
    if back.any():
        keep |= back
        again = keep & np.isin(track, track[back])
        out[again] = refit_vertices(c, xy[again], vi[again], li[again])
    return out[keep], vi[keep], li[keep]


def straight_vertices(ev) -> np.ndarray:
    """Mask of the vertices whose evidence for a turn (:func:`refit_vertices` with
    ``evidence``) is below ``STRAIGHT_CHI2``, the weaker of two such neighbours only (two
    vertices sharing one rounded corner each look dispensable while the other stays)."""
    before = np.r_[np.inf, ev[:-1]]
    after = np.r_[ev[1:], np.inf]
    return (ev < STRAIGHT_CHI2) & (ev <= before) & (ev < after)


def _evidence(c, vi, p, tv, knot, inner, j, s, u, band, chain, tau_s):
    """Per vertex: how much worse the fixes would fit with the path straight through it (the
    vertex on the line between its neighbours, at its time, they held), in units of the
    track's own whitened misfit: ~ chi-square with 2 degrees of freedom where the vertex is
    only GPS wander; inf where it is no ``inner`` vertex (line ends, turn-back tips, stops)."""
    out = np.full(len(knot), np.inf)
    if not inner.any() or not len(j) or band is None:  # no fit: nothing to test
        return out
    ka, kb = knot[s], knot[s + 1]
    e = np.c_[c.xr[j], c.yr[j]] - ((1 - u)[:, None] * p[ka] + u[:, None] * p[kb])
    rho, sc, prev, _ = _ar1(c, j, ka, kb, chain[s], tau_s)
    w = (e - rho[:, None] * e[prev]) * sc[:, None]
    tr = c.track[j]
    nt = int(c.track.max()) + 1
    var = np.bincount(tr, (w ** 2).sum(axis=1), nt)
    var /= np.maximum(2 * np.bincount(tr, minlength=nt), 1)  # per fix and axis
    tk = np.zeros(len(p))
    tk[knot] = tv
    v = np.flatnonzero(inner)
    k0, k, k1 = knot[v - 1], knot[v], knot[v + 1]
    f = (tk[k] - tk[k0]) / np.maximum(tk[k1] - tk[k0], 1e-9)
    q = p[k0] + f[:, None] * (p[k1] - p[k0])
    # with its neighbours held, the misfit grows by the knot's own weight times the move
    out[v] = band[_BAND, k] * ((p[k] - q) ** 2).sum(axis=1) / np.maximum(var[c.track[vi[v]]], 1e-9)
    return out


def _ar1(c, j, ka, kb, chain, tau_s):
    """Whitening of the fixes ``j`` (in segments ``ka`` -> ``kb`` of ``chain``) for an AR(1)
    error: row k is (e_k - rho_k e_prev) x sc_k; ``start`` (rho 0) where a chain starts or
    the fixes are too far apart in knots for the band. Returns rho, sc, prev, start."""
    dt = np.r_[np.inf, np.diff(c.t_s[j])]
    start = np.r_[True, chain[1:] != chain[:-1]]
    start |= dt <= 0.0
    start[1:] |= (kb[1:] - ka[:-1]) > _BAND  # too far apart for the band: no whitening
    rho = np.exp(-np.where(start, np.inf, dt) / tau_s)  # 0 at a chain's start (no overflow where dt < 0)
    return rho, 1.0 / np.sqrt(1.0 - rho ** 2), np.maximum(np.arange(len(j)) - 1, 0), start


def _place(tv, fit_ok, tm, j):
    """Segment of each fix (by moving time) and its share of the segment's time; fixes
    outside every segment (before a line starts, in a gap between lines) are left out."""
    m = len(tv)
    s = np.searchsorted(tv, tm[j], side="right") - 1
    keep = (s >= 0) & (s < m - 1)
    keep[keep] = fit_ok[s[keep]]
    s, j = s[keep], j[keep]
    span = tv[s + 1] - tv[s]
    u = np.clip((tm[j] - tv[s]) / np.where(span > 0, span, 1.0), 0.0, 1.0)
    return s, u, j


def _solve(band, rhs, lam, x0):
    """Knot positions from the fixes' normal system (:func:`_normal`) and a prior holding
    each knot at ``x0`` with weight ``lam``."""
    b = band.copy()
    b[_BAND] += lam
    return solveh_banded(b, rhs + lam[:, None] * x0)


def _normal(c, j, ka, kb, u, chain, nk, tau_s):
    """The fixes' banded normal system over all knots (band, right-hand side): least squares
    of the fixes, each the mix (1 - u, u) of its segment's two knots, after whitening
    consecutive fixes of one chain for the AR(1) error (e_k - rho e_k-1, rho = exp(-dt / tau))."""
    n = len(j)
    w = _BAND + 1
    if not n:
        return np.zeros((w, nk)), np.zeros((nk, 2))
    rho, sc, prev, start = _ar1(c, j, ka, kb, chain, tau_s)
    # each whitened row as coefficients on the w knots from ``base`` on (coef[d]: on base + d)
    base = np.where(start, ka, ka[prev])
    row = np.arange(n)
    coef = np.zeros(w * n)
    for k, v in ((ka, (1 - u) * sc), (kb, u * sc)):
        coef[row + n * (k - base)] += v
    rs = rho * sc
    for k, v in ((ka, -rs * (1 - u[prev])), (kb, -rs * u[prev])):
        coef[row + n * np.where(start, 0, k[prev] - base)] += v
    coef = coef.reshape(w, n)
    yx, yy = ((v - rho * v[prev]) * sc for v in (c.xr[j], c.yr[j]))
    # consecutive rows of one base knot summed first (base runs in order), then placed: half
    # the time of one bincount per product over all rows
    first = np.flatnonzero(np.r_[True, base[1:] != base[:-1]])
    knot = base[first]
    band = np.zeros((w, nk + w))  # columns past the last knot get only zeros
    rhs = np.zeros((2, nk + w))
    for d2 in range(w):
        for d1 in range(d2 + 1):
            np.add.at(band[_BAND - (d2 - d1)], knot + d2, np.add.reduceat(coef[d1] * coef[d2], first))
        for axis, obs in enumerate((yx, yy)):
            np.add.at(rhs[axis], knot + d2, np.add.reduceat(coef[d2] * obs, first))
    return band[:, :nk], rhs[:, :nk].T


def _retime(tv, fit_ok, knot, p, s, t, xy):
    """Vertex times where the steady walks fitted along the legs either side reach them
    (a line's first and last vertex keep theirs: one leg alone would extrapolate)."""
    m, nk = len(tv), int(knot[-1]) + 1
    a, b = p[knot[:-1]], p[knot[1:]]  # segment ends
    length = plane_m(*(b - a).T)
    d = (b - a) / np.maximum(length, 1e-9)[:, None]
    along = np.einsum("ij,ij->i", xy - a[s], d[s])
    tt = t - tv[s]
    ns = m - 1
    w = np.bincount(s, minlength=ns).astype(float)
    st, sa = np.bincount(s, tt, ns), np.bincount(s, along, ns)
    stt, sta = np.bincount(s, tt * tt, ns), np.bincount(s, tt * along, ns)
    den = w * stt - st * st
    pace = (w * sta - st * sa) / np.where(den > 0, den, 1.0)
    ok = fit_ok & (w >= 3) & (den > 0) & (pace >= REFIT_MIN_PACE_MPS) & (length >= 1.0)
    off = (sa - pace * st) / np.maximum(w, 1.0)
    pace = np.where(ok, pace, 1.0)
    t_in = tv[:-1] + (0.0 - off) / pace  # when the leg's steady walk is at its first knot
    t_out = tv[:-1] + (length - off) / pace  # ... and at its last
    ka, kb = knot[:-1], knot[1:]
    est = np.bincount(kb[ok], t_out[ok], nk) + np.bincount(ka[ok], t_in[ok], nk)
    cnt = np.bincount(kb[ok], minlength=nk) + np.bincount(ka[ok], minlength=nk)
    inner = np.zeros(nk, bool)  # knots with a segment ending and one starting there
    inner[np.intersect1d(kb[fit_ok], ka[fit_ok])] = True
    tk = np.zeros(nk)
    tk[knot] = tv
    upd = inner & (cnt > 0)
    upd[[0, -1]] = False
    k = np.flatnonzero(upd)
    lo, hi = (tk[k - 1] + tk[k]) / 2, (tk[k] + tk[k + 1]) / 2  # keeps the order
    tk[k] = np.clip(est[k] / cnt[k], lo, hi)
    return tk[knot]
