"""Street layer for patrol mileage: corners onto junctions, legs onto streets.

:func:`patrol.mileage.mileage` with ``streets=`` (a GeoDataFrame of street LineStrings in WGS84,
or :func:`street_layer` prepared once) calls :func:`onto_streets` on the refitted vertices of
the path. Four steps, each only on a walk that keeps to the layer (:func:`on_street_share`
>= ``ON_STREET_MIN``, 30 % of its length along streets; the simulator's walks have 45 % or
more, walks across open ground by Rizhao's streets 17 % at most): one that merely runs by
streets here and there was pulled onto them.

1. Junctions (:func:`snap_corners`): a corner turning by >= 35 degrees within 25 m of a
   street junction moves onto the junction (its GPS error there is gone). A corner at a
   turn-back fix (patrol.mileage cuts the line there; sharp corners test as turn-backs too)
   counts as a corner between the line before and the line after, but moves onto a junction
   only when both its legs run along a street (within 20 degrees of the nearest street piece
   within 25 m): a zig-zag tip across a square or a turn-back in mid-street is not at a
   junction, and snapping it there added up to 2 x 25 m. A bare junction array (``streets=``
   an ndarray of :func:`street_nodes`) snaps corners only, on every walk.
2. Legs (:func:`match_legs`): any other vertex whose nearest street piece is within 20 m and
   whose path segments either side run within 20 degrees of it (or against it: a turn-back
   tip) is projected onto the piece - its GPS offset across the street is gone, the offset
   along it stays.
3. Bridges (:func:`bridge_streets`): a stretch of path off the street between two vertices on
   it, whose chord runs along one street, moves onto the chord when all its vertices lie
   within ``BRIDGE_K`` (2.8) x the track's GPS error across streets (:func:`street_noise_m`;
   and 30 m) of it: at sigma ~9 m the error wanders 20-30 m across a street over ~100 m, and
   the wiggles it drew, too steep for the leg matching, added +0.4-0.7 % per walk at sigma
   8-10 m (+4.3 % on the worst of 388 walks of straight streets, seed 11 with the simulator's
   shapes turned off; 2.4 % with this). Round a corner the junction snap missed (a stretch
   off the street from a leg along one street to a leg along another crossing it), the
   stretch moves onto the junction when it lies as close to the way round
   (:func:`bridge_corners`).
4. Holes (:func:`corners_in_holes`): where no fix was kept for >= ``HOLE_S`` (15 s: a
   multipath burst taken out, a dropout) between a leg along one street and a leg along
   another, the junction where they cross goes in as a vertex when the way round it fits the
   hole's time at ``HOLE_MPS`` (2 m/s): the straight line across the hole cut the corner.

Where it breaks: leg matching can pull a path that runs near and nearly parallel to a street
(a curve bulging < 20 m, a shallow zig-zag) onto it, and so can the bridging at high noise (a
zig-zag or a bulge within ~2.8 sigma of the street, ~25 m at sigma 9 m): short. A walker who
cut across a square or a plot inside a hole is given the way round by the streets. A turn-back
tip keeps its offset along the street, and a path off the layer (squares, curved paths the
layer draws straight) keeps all of its offset. Tried and left out (issue 15 notes): carrying
the GPS offset a junction reveals to the vertices either side, weighted as a Gauss-Markov
error bridges it (sigma 8-10 m plain street walks: per-track spread 0.62 -> 0.60 %; on the
simulator with its shapes 1,653 tracks better, 1,776 worse).
"""
from __future__ import annotations

import numpy as np
import shapely

from gis.crs import from_metric, plane_m, to_metric
from patrol.arrays import ranges, track_median
from patrol.clean import EARTH_R_M, Cleaned

SNAP_M = 25.0  # with a street layer: a corner within 25 m of a junction moves onto it
SNAP_TURN_DEG = 35.0  # (corners turning by >= 35 degrees)
MATCH_M = 20.0  # with a street layer: a vertex within 20 m of a street piece whose path
MATCH_DEG = 20.0  # segments either side run within 20 degrees of it moves onto the piece
BRIDGE_K = 2.8  # with a street layer: a stretch between two vertices on one street whose
BRIDGE_M = 30.0  # vertices all lie within 2.8 x the GPS error across streets (and 30 m) of it
BRIDGE_DEG = 10.0  # moves onto the chord (chord within 10 degrees of the street piece at its
BRIDGE_MID_M = 3.0  # midpoint, within 3 m)
ON_STREET_MIN = 0.3  # ... only on a walk with >= 30 % of its length along streets
HOLE_S = 15.0  # a hole: >= 15 s without a kept fix (a burst taken out, a dropout) ...
HOLE_MPS = 2.0  # ... turns a corner it could have walked round at 2 m/s, when the legs
HOLE_LEG_DEG = 35.0  # either side run within 35 degrees of the streets at their ends


def street_nodes(roads) -> np.ndarray:
    """Junctions and ends of a street layer (GeoDataFrame of LineStrings, WGS84) as EPSG:4549
    metres, one row each (the end points of the street pieces, de-duplicated to 0.1 m)."""
    geoms = np.asarray(roads.geometry if hasattr(roads, "geometry") else roads)
    ends = np.vstack([shapely.get_coordinates(shapely.get_point(geoms, 0)),
                      shapely.get_coordinates(shapely.get_point(geoms, -1))])
    x, y = to_metric(ends[:, 0], ends[:, 1])
    return np.unique(np.round(np.column_stack([x, y]), 1), axis=0)


def snap_corners(c: Cleaned, xy, li, tr, nodes, radius_m: float, min_turn_deg: float,
                  vi=None, segs=None, allowed=None):
    """Corners of the path (turning by >= min_turn_deg between legs >= 10 m) that have a
    street junction within radius_m move onto it (xy: plane metres, changed in place).
    A turn-back fix that ends one line and starts the next (``vi``: the fix of each vertex,
    twice there) is a corner between the line before and the line after; both copies move,
    but only when both legs run along a street (``segs``, :func:`street_segments`: within
    MATCH_DEG of the nearest piece within radius_m), not at a zig-zag tip across a square.
    Returns xy and the mask of vertices moved."""
    m = len(xy)
    if m < 3 or nodes is None or not len(nodes):
        return xy, np.zeros(m, bool)
    k = np.arange(1, m - 1)
    same = np.r_[li[1:] == li[:-1], False]  # vertex j and j + 1 in one line
    copy = np.zeros(m, bool)  # vertex j ends a line at a fix that starts the next one
    if vi is not None:
        copy[:-1] = ~same[:-1] & (vi[1:] == vi[:-1])
    start_copy = np.r_[False, copy[:-1]]
    a = np.where(start_copy[k], k - 2, k - 1)
    b = np.where(copy[k], k + 2, k + 1)
    inner = (a >= 0) & (b < m)
    a, b = np.clip(a, 0, m - 1), np.clip(b, 0, m - 1)
    inner &= np.where(start_copy[k], same[np.maximum(k - 2, 0)], same[k - 1])
    inner &= np.where(copy[k], same[np.minimum(k + 1, m - 1)], same[k])
    v1, v2 = xy[k] - xy[a], xy[b] - xy[k]
    l1, l2 = plane_m(*v1.T), plane_m(*v2.T)
    cos = np.einsum("ij,ij->i", v1, v2) / np.maximum(l1 * l2, 1e-9)
    corner = inner & (l1 >= 10) & (l2 >= 10) & (cos <= np.cos(np.radians(min_turn_deg)))
    if allowed is not None:
        corner &= allowed[k]
    if segs is not None and corner.any():
        # the legs either side run along a street (a zig-zag tip across a square does not)
        along = np.ones(len(k), bool)
        ci = np.flatnonzero(corner)
        ci = ci[(copy[k] | start_copy[k])[ci]]
        if len(ci):
            ok = np.ones(len(ci), bool)
            for end in (a[ci], b[ci]):
                mid = (xy[end] + xy[k[ci]]) / 2
                ex, ey = _to_metric_xy(c, mid, tr[k[ci]])
                fx, fy = _to_metric_xy(c, xy[end], tr[k[ci]])
                kx_, ky_ = _to_metric_xy(c, xy[k[ci]], tr[k[ci]])
                ok &= _along_street(ex, ey, fx - kx_, fy - ky_, segs, radius_m, MATCH_DEG)
            along[ci] = ok
        corner &= along
    kc = k[corner]
    if not len(kc):
        return xy, np.zeros(m, bool)
    t = tr[kc]
    d, j = _node_tree(nodes).query(np.column_stack(_to_metric_xy(c, xy[kc], t)), distance_upper_bound=radius_m)
    hit = np.isfinite(d)
    if hit.any():
        xy[kc[hit]] = _to_plane_xy(c, nodes[j[hit], 0], nodes[j[hit], 1], t[hit])
    snapped = np.zeros(m, bool)
    snapped[kc[hit]] = True
    return xy, snapped


def street_segments(roads) -> np.ndarray:
    """The straight pieces of a street layer (GeoDataFrame of LineStrings, WGS84) as EPSG:4549
    metres, one row (x0, y0, x1, y1) per pair of consecutive vertices."""
    geoms = np.asarray(roads.geometry if hasattr(roads, "geometry") else roads)
    xy, idx = shapely.get_coordinates(geoms, return_index=True)
    x, y = to_metric(xy[:, 0], xy[:, 1])
    same = idx[1:] == idx[:-1]
    seg = np.column_stack([x[:-1], y[:-1], x[1:], y[1:]])[same]
    return seg[plane_m(seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1]) > 0.5]


def street_layer(roads) -> tuple[np.ndarray, np.ndarray]:
    """A street layer prepared for :func:`mileage` (``streets=``): its junctions
    (:func:`street_nodes`) and its straight pieces (:func:`street_segments`)."""
    return street_nodes(roads), street_segments(roads)


def _to_metric_xy(c: Cleaned, xy, t):
    """Plane metres of track ``t`` (per row) -> EPSG:4549 metres."""
    lon0, lat0 = c.origin
    kx = np.radians(1.0) * EARTH_R_M * np.cos(np.radians(lat0[t]))
    ky = np.radians(1.0) * EARTH_R_M
    return to_metric(lon0[t] + xy[:, 0] / kx, lat0[t] + xy[:, 1] / ky)


def _to_plane_xy(c: Cleaned, mx, my, t) -> np.ndarray:
    """EPSG:4549 metres -> plane metres of track ``t`` (per row): the inverse of
    :func:`_to_metric_xy`."""
    lon0, lat0 = c.origin
    lon, lat = from_metric(mx, my)
    return np.column_stack([(lon - lon0[t]) * np.radians(1.0) * EARTH_R_M * np.cos(np.radians(lat0[t])),
                            (lat - lat0[t]) * np.radians(1.0) * EARTH_R_M])


_TREE: dict = {}


def _street_tree(segs):
    """The search tree of the street pieces ``segs``, built once per street layer (a call
    measures with it three times)."""
    if _TREE.get("segs") is not segs:
        _TREE.clear()
        _TREE.update(segs=segs, tree=shapely.STRtree(shapely.linestrings(segs.reshape(-1, 2, 2))))
    return _TREE["tree"]


_NODE_TREE: dict = {}


def _node_tree(nodes):
    """The search tree of the street junctions ``nodes``, built once per street layer."""
    from scipy.spatial import cKDTree

    if _NODE_TREE.get("nodes") is not nodes:
        _NODE_TREE.clear()
        _NODE_TREE.update(nodes=nodes, tree=cKDTree(nodes))
    return _NODE_TREE["tree"]


def _street_line(x, y, dx, dy, segs, radius_m, max_deg):
    """Per point (x, y) with direction (dx, dy): whether the nearest street piece within
    radius_m runs within max_deg of it, and that piece's first end and unit direction."""
    n = len(x)
    ok, p, u = np.zeros(n, bool), np.zeros((n, 2)), np.zeros((n, 2))
    if not n:
        return ok, p, u
    qi, si = _street_tree(segs).query_nearest(shapely.points(x, y), max_distance=radius_m, all_matches=False)
    sv = segs[si, 2:] - segs[si, :2]
    sv /= np.maximum(plane_m(*sv.T), 1e-9)[:, None]
    cos = np.abs(dx[qi] * sv[:, 0] + dy[qi] * sv[:, 1]) / np.maximum(plane_m(dx[qi], dy[qi]), 1e-9)
    ok[qi] = cos >= np.cos(np.radians(max_deg))
    p[qi], u[qi] = segs[si, :2], sv
    return ok, p, u


def _along_street(x, y, dx, dy, segs, radius_m, max_deg):
    """Per point (x, y) with direction (dx, dy): the nearest street piece within radius_m
    runs within max_deg of the direction (either way)."""
    return _street_line(x, y, dx, dy, segs, radius_m, max_deg)[0]


def on_street_share(c: Cleaned, xy, li, tr, segs) -> np.ndarray:
    """Per track, the share of the path's length (segments between vertices ``xy``, plane
    metres, lines ``li``, tracks ``tr``) that runs along the street layer: its midpoint within
    MATCH_M of a street piece running within MATCH_DEG of it."""
    n = len(c.track_ids)
    a = np.flatnonzero(li[1:] == li[:-1])
    if not len(a) or segs is None or not len(segs):
        return np.zeros(n)
    ax, ay = _to_metric_xy(c, xy[a], tr[a])
    bx, by = _to_metric_xy(c, xy[a + 1], tr[a])
    along = _along_street((ax + bx) / 2, (ay + by) / 2, bx - ax, by - ay, segs, MATCH_M, MATCH_DEG)
    length = plane_m(bx - ax, by - ay)
    total = np.bincount(tr[a], length, minlength=n)
    return np.bincount(tr[a], length * along, minlength=n) / np.maximum(total, 1e-9)


def match_legs(c: Cleaned, xy, li, tr, segs, radius_m: float, max_deg: float, fixed=None):
    """Vertices on a straight stretch of street move onto it: a vertex whose nearest street
    piece is within ``radius_m`` and whose path segments either side (in its line) run within
    ``max_deg`` of that piece (or against it: a turn-back tip) is projected onto the piece
    (its GPS offset across the street is gone; the offset along it stays). ``fixed``: vertices
    left alone (corners already on a junction). Returns xy and the mask of vertices moved."""
    m = len(xy)
    moved = np.zeros(m, bool)
    if m < 2 or segs is None or not len(segs):
        return xy, moved
    mx, my = _to_metric_xy(c, xy, tr)
    pts = shapely.points(mx, my)
    qi, si = _street_tree(segs).query_nearest(pts, max_distance=radius_m, all_matches=False)
    if not len(qi):
        return xy, moved
    # segment directions (metric) either side of each vertex, within the same line
    dx, dy = np.diff(mx), np.diff(my)
    same = li[1:] == li[:-1]
    ln = plane_m(dx, dy)
    ok_seg = same & (ln > 1.0)
    ux, uy = dx / np.maximum(ln, 1e-9), dy / np.maximum(ln, 1e-9)
    sx, sy = segs[si, 2] - segs[si, 0], segs[si, 3] - segs[si, 1]
    sl = plane_m(sx, sy)
    sx, sy = sx / sl, sy / sl
    cmin = np.cos(np.radians(max_deg))
    k = qi
    prev_ok = (k >= 1) & ok_seg[np.maximum(k - 1, 0)]
    next_ok = (k < m - 1) & ok_seg[np.minimum(k, m - 2)]
    kp, kn = np.maximum(k - 1, 0), np.minimum(k, m - 2)
    par_p = np.abs(ux[kp] * sx + uy[kp] * sy) >= cmin
    par_n = np.abs(ux[kn] * sx + uy[kn] * sy) >= cmin
    good = (prev_ok | next_ok) & (~prev_ok | par_p) & (~next_ok | par_n)
    if fixed is not None:
        good &= ~fixed[k]
    k, si = k[good], si[good]
    if not len(k):
        return xy, moved
    ax, ay = segs[si, 0], segs[si, 1]
    bx, by = segs[si, 2] - ax, segs[si, 3] - ay
    f = np.clip(((mx[k] - ax) * bx + (my[k] - ay) * by) / (bx * bx + by * by), 0.0, 1.0)
    xy = xy.copy()
    xy[k] = _to_plane_xy(c, ax + f * bx, ay + f * by, tr[k])
    moved[k] = True
    return xy, moved


def street_noise_m(c: Cleaned, xy, vi, li, tr, on) -> np.ndarray:
    """Per track, the GPS error across streets: the median distance of the unsmoothed fixes
    between two vertices on a street (``on``) from the line through them, / 0.6745 (the
    median of |N(0, s)| is 0.6745 s); 0 for a track with no such fix. On the simulator's
    walks it follows the GPS error's sigma (within ~10 %)."""
    n = len(c.track_ids)
    a = np.flatnonzero((li[1:] == li[:-1]) & on[:-1] & on[1:] & (vi[1:] > vi[:-1] + 1))
    if not len(a):
        return np.zeros(n)
    r, k = ranges(vi[a + 1] - vi[a] - 1)
    seg = a[r]
    fi = vi[seg] + 1 + k
    u = xy[seg + 1] - xy[seg]
    u /= np.maximum(plane_m(*u.T), 1e-9)[:, None]
    wx, wy = c.xr[fi] - xy[seg, 0], c.yr[fi] - xy[seg, 1]
    perp = np.minimum(np.abs(wx * u[:, 1] - wy * u[:, 0]), 2.0 ** 20 - 1)
    return track_median(perp, tr[seg], n, 0.0) / 0.6745


def bridge_limit_m(c: Cleaned, xy, vi, li, tr, on) -> np.ndarray:
    """Per track, how far off a street a stretch of path may lie and be taken for GPS error
    across it: BRIDGE_K x :func:`street_noise_m`, and BRIDGE_M at most."""
    return np.minimum(BRIDGE_M, BRIDGE_K * street_noise_m(c, xy, vi, li, tr, on))


def bridge_streets(c: Cleaned, xy, vi, li, tr, segs, on, allowed, limit_m):
    """A stretch of path off the street between two vertices on it (``on``), whose chord runs
    along one street, is GPS error across that street, not a walk beside it: its vertices
    move onto the chord when all lie within BRIDGE_K x :func:`street_noise_m` (and BRIDGE_M)
    of it. The leg matching takes only vertices whose own segments run along the street; at
    sigma ~9 m the error wanders 20-30 m across a street over ~100 m of walking, which left
    steep wiggles that added +0.4-0.7 % per walk at sigma 8-10 m (+4.3 % on the worst).
    A zig-zag across a square or a curve that stays that close to the street is flattened."""
    m = len(xy)
    off = ~on
    if m < 3 or not off.any() or not on.any():
        return xy
    start = off & ~np.r_[False, off[:-1]]
    first = np.flatnonzero(start)
    last = np.flatnonzero(off & ~np.r_[off[1:], False])
    a, b = first - 1, last + 1
    ok = (a >= 0) & (b < m)
    a, b = np.clip(a, 0, m - 1), np.clip(b, 0, m - 1)
    ok &= on[a] & on[b] & (li[a] == li[b]) & allowed[tr[a]]
    ax, ay = _to_metric_xy(c, xy[a], tr[a])
    bx, by = _to_metric_xy(c, xy[b], tr[b])
    ok &= plane_m(bx - ax, by - ay) > 2 * BRIDGE_MID_M
    ok &= _along_street((ax + bx) / 2, (ay + by) / 2, bx - ax, by - ay, segs, BRIDGE_MID_M, BRIDGE_DEG)
    # each off-street vertex against its stretch's chord (plane metres)
    k = np.flatnonzero(off)
    r = (np.cumsum(start) - 1)[k]
    p0 = xy[a[r]]
    u = xy[b[r]] - p0
    length = np.maximum(plane_m(*u.T), 1e-9)
    u /= length[:, None]
    w = xy[k] - p0
    along = np.einsum("ij,ij->i", w, u)
    perp = np.abs(w[:, 0] * u[:, 1] - w[:, 1] * u[:, 0])
    limit = limit_m[tr[k]]
    close = (perp <= limit) & (along > 0) & (along < length)
    ok &= np.bincount(r, ~close, minlength=len(a)) == 0
    sel = ok[r]
    if not sel.any():
        return xy
    xy = xy.copy()
    xy[k[sel]] = p0[sel] + along[sel, None] * u[sel]
    return xy


def _junction_between(pa, da, pb, db, segs, nodes, radius_m, max_deg, min_leg_m):
    """Per pair of legs - one ending at ``pa`` heading ``da``, the next starting at ``pb``
    heading ``db`` (metric; each >= ``min_leg_m`` long) - whether each runs along a street
    (the nearest piece within ``radius_m``, within ``max_deg``), the two streets cross by >=
    SNAP_TURN_DEG at a junction within SNAP_M of their crossing, and the walk goes on into
    the junction and out of it; and that junction (metric)."""
    ok_a, qa, ua = _street_line(*pa.T, *da.T, segs, radius_m, max_deg)
    ok_b, qb, ub = _street_line(*pb.T, *db.T, segs, radius_m, max_deg)
    cross = ua[:, 0] * ub[:, 1] - ua[:, 1] * ub[:, 0]
    ok = ok_a & ok_b & (plane_m(*da.T) >= min_leg_m) & (plane_m(*db.T) >= min_leg_m)
    ok &= np.abs(cross) >= np.sin(np.radians(SNAP_TURN_DEG))
    w = qb - qa
    j = qa + ((w[:, 0] * ub[:, 1] - w[:, 1] * ub[:, 0]) / np.where(ok, cross, 1.0))[:, None] * ua
    d, k = _node_tree(nodes).query(j, distance_upper_bound=SNAP_M)
    ok &= np.isfinite(d)
    j[ok] = nodes[k[ok]]
    ok &= (np.einsum("ij,ij->i", j - pa, da) > 0) & (np.einsum("ij,ij->i", pb - j, db) > 0)
    return ok, j


def corners_in_holes(c: Cleaned, xy, vi, li, tr, nodes, segs, allowed):
    """A hole in the path (>= HOLE_S without a kept fix: a burst taken out, a dropout)
    between a leg along one street and a leg along another that crosses it at a junction:
    the walk turned the corner there, and the straight line across the hole cut it. A vertex
    on the junction goes in when the way round it could be walked in the hole's time at
    HOLE_MPS. Returns xy, vi, li, tr with the vertices added (``vi`` of the one before).

    Why: with bursts of 10-60 s about every 8 min on the street simulator, each burst taken
    out cut the corners walked inside it (spring-0130, seed 7, 5 s fixes: -3.05 % against
    -0.66 % for the same walk without the bursts). Where it breaks: a walker who cut across
    a square or a plot inside the hole is given the way round by the streets."""
    m = len(xy)
    if m < 4 or segs is None or not len(segs) or nodes is None or not len(nodes):
        return xy, vi, li, tr
    holes = np.r_[0, np.cumsum(np.diff(c.t_s) >= HOLE_S)]  # holes before each kept fix
    a = np.flatnonzero(li[1:] == li[:-1])
    a = a[(holes[vi[a + 1]] > holes[vi[a]]) & (a >= 1) & (a + 2 < m)]
    b = a + 1
    a = a[(li[a - 1] == li[a]) & (li[b + 1] == li[b]) & allowed[a]]
    if not len(a):
        return xy, vi, li, tr
    b = a + 1
    pa, pa0, pb, pb1 = (np.column_stack(_to_metric_xy(c, xy[i], tr[i])) for i in (a, a - 1, b, b + 1))
    ok, j = _junction_between(pa, pa - pa0, pb, pb1 - pb, segs, nodes, MATCH_M, HOLE_LEG_DEG, 10.0)
    # the way round fits the hole's time
    way = plane_m(*(j - pa).T) + plane_m(*(pb - j).T)
    ok &= way <= HOLE_MPS * (c.t_s[vi[b]] - c.t_s[vi[a]])
    if not ok.any():
        return xy, vi, li, tr
    a, j = a[ok], j[ok]
    new = _to_plane_xy(c, j[:, 0], j[:, 1], tr[a])
    at = a + 1
    return (np.insert(xy, at, new, axis=0), np.insert(vi, at, vi[a]), np.insert(li, at, li[a]),
            np.insert(tr, at, tr[a]))


def _to_segment_m(p, s0, s1) -> np.ndarray:
    """Distance of each point ``p`` from the segment ``s0`` - ``s1`` (rows of (x, y))."""
    v = s1 - s0
    f = np.clip(np.einsum("ij,ij->i", p - s0, v) / np.maximum(np.einsum("ij,ij->i", v, v), 1e-9), 0.0, 1.0)
    return plane_m(*(p - s0 - f[:, None] * v).T)


def bridge_corners(c: Cleaned, xy, vi, li, tr, nodes, segs, on, allowed, limit_m):
    """A stretch of path off the street between a vertex on one street and a vertex on
    another that crosses it at a junction (each with its leg along its street, within
    MATCH_DEG), is GPS error round a corner the junction snap missed: its vertices move onto
    the junction when all lie within the bridging limit (:func:`bridge_streets`) of the way
    round it. :func:`bridge_streets` takes stretches along one street only; round a corner
    the wandering error left the corner rounded or cut and the legs' ends off the streets.

    Why: on the simulator with the street layer, mean |error| per track fell in all 12 cells
    (seeds 7-23, 1 s and 5 s fixes: 0.481 -> 0.475 %; 699 tracks better, 548 worse), none of
    the worst tracks moved. A zig-zag or a curve cut across a corner within the limit is
    taken round it."""
    m = len(xy)
    off = ~on
    if m < 5 or not off.any() or not on.any() or nodes is None or not len(nodes):
        return xy
    start = off & ~np.r_[False, off[:-1]]
    first = np.flatnonzero(start)
    last = np.flatnonzero(off & ~np.r_[off[1:], False])
    a, b = first - 1, last + 1
    ok = (a >= 1) & (b < m - 1)
    a, b = np.clip(a, 1, m - 2), np.clip(b, 1, m - 2)
    ok &= on[a] & on[b] & on[a - 1] & on[b + 1] & allowed[tr[a]]
    ok &= (li[a - 1] == li[a]) & (li[a] == li[b]) & (li[b] == li[b + 1])
    pa, pa0, pb, pb1 = (np.column_stack(_to_metric_xy(c, xy[i], tr[i])) for i in (a, a - 1, b, b + 1))
    at_j, j = _junction_between(pa, pa - pa0, pb, pb1 - pb, segs, nodes, 1.0, MATCH_DEG, 5.0)
    ok &= at_j
    if not ok.any():
        return xy
    jp = _to_plane_xy(c, j[:, 0], j[:, 1], tr[a])
    kk = np.flatnonzero(off)
    r = (np.cumsum(start) - 1)[kk]
    # each off vertex against the way round, a -> junction -> b (plane metres)
    dist = np.minimum(_to_segment_m(xy[kk], xy[a[r]], jp[r]), _to_segment_m(xy[kk], jp[r], xy[b[r]]))
    limit = limit_m[tr[kk]]
    ok &= np.bincount(r, dist > limit, minlength=len(a)) == 0
    sel = ok[r]
    if not sel.any():
        return xy
    xy = xy.copy()
    xy[kk[sel]] = jp[r[sel]]
    return xy


def onto_streets(c: Cleaned, xy, vi, li, tr, nodes, segs=None):
    """The path's vertices (plane metres ``xy``; ``vi`` the fix of each vertex, ``li`` its
    line, ``tr`` its track) moved onto the street layer: junctions, then (with ``segs``) legs,
    bridges and corners turned in holes (vertices added). ``nodes`` alone: corners snap on
    every walk. Returns xy, vi, li, tr."""
    allowed = None
    if segs is not None:
        # only a walk that keeps to the street layer is moved onto it: one across open
        # ground that runs by streets here and there would be pulled onto them
        allowed = (on_street_share(c, xy, li, tr, segs) >= ON_STREET_MIN)[tr]
    xy, snapped = snap_corners(c, xy, li, tr, nodes, SNAP_M, SNAP_TURN_DEG,
                               None if segs is None else vi, segs, allowed)
    if segs is not None:
        xy, matched = match_legs(c, xy, li, tr, segs, MATCH_M, MATCH_DEG, fixed=snapped | ~allowed)
        on = (snapped | matched) & allowed
        # (bridging moves vertices off the street only: the error across streets stays)
        limit_m = bridge_limit_m(c, xy, vi, li, tr, on)
        xy = bridge_streets(c, xy, vi, li, tr, segs, on, allowed, limit_m)
        xy = bridge_corners(c, xy, vi, li, tr, nodes, segs, on, allowed, limit_m)
        xy, vi, li, tr = corners_in_holes(c, xy, vi, li, tr, nodes, segs, allowed)
    return xy, vi, li, tr
