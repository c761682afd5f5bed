"""Mission planning: pure functions on shapely geometry in EPSG:4549 metres.

* ``plan_target`` -- take off at a station, climb, transit, hold over the target (ROI set on
  it) with evidence capture and broadcasts, return and land. The station is the nearest one
  whose drone can fly the mission within its endurance (less reserve) and pilot range.
* ``plan_survey`` -- a lawnmower sweep over a polygon for a camera footprint and overlap.
* ``route`` -- the shortest path around no-fly polygons: a visibility graph over the
  vertices of the zones (buffered by ``MARGIN_M``, simplified), searched with Dijkstra.
  Prohibited zones are always avoided; controlled zones and crowds at their busy hours too,
  except inside the area of an approved flight application valid for the flight. A zone
  that holds an end point cannot be avoided: the route goes straight and ``drone.rules``
  refuses it.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import shapely
from shapely import affinity

from drone.model import Action, Airframe, Context, Plan, Station, Waypoint

MARGIN_M = 150.0       # keep this far from a no-fly polygon
SIMPLIFY_M = 40.0      # vertex reduction of the buffered polygons (< MARGIN_M)
DEFAULT_ALT_M = 60.0
DEFAULT_HOLD_S = 30.0


@dataclass(frozen=True)
class Obstacle:
    """A no-fly polygon a route goes around: ``poly`` is the area grown by ``MARGIN_M`` and simplified,
    ``core`` the area itself (a route starting or ending in it cannot avoid it)."""
    id: str
    poly: shapely.Polygon      # buffered, simplified: its vertices are graph nodes
    shrunk: shapely.Polygon    # poly minus 0.5 m: an edge blocked iff it meets this
    core: shapely.Geometry     # the zone itself


def _polygons(g):
    if g is None or g.is_empty:
        return []
    if g.geom_type == "Polygon":
        return [g]
    return [p for p in getattr(g, "geoms", []) if p.geom_type == "Polygon" and not p.is_empty]


def _make_obstacles(items: list[tuple[str, shapely.Geometry]]) -> list[Obstacle]:
    out = []
    for oid, g in items:
        grown = shapely.simplify(shapely.buffer(g, MARGIN_M, quad_segs=2), SIMPLIFY_M)
        for p in _polygons(grown):
            out.append(Obstacle(oid, p, p.buffer(-0.5, quad_segs=1), g))
    return out


def obstacles(ctx: Context, t0: datetime, t1: datetime) -> list[Obstacle]:
    """The polygons a route must go around for a flight within [t0, t1] (cached)."""
    apps = [a for a in ctx.applications if a.covers_time(t0, t1)]
    busy = [c for c in ctx.crowds if c.busy_during(t0, t1)]
    key = ("obstacles", tuple(a.reference for a in apps), tuple(c.id for c in busy))
    if key in ctx._cache:
        return ctx._cache[key]
    allowed = shapely.union_all([a.geom for a in apps]) if apps else None
    items = [(z.id, z.geom) for z in ctx.zones if z.kind == "prohibited"]
    for z in ctx.zones:
        if z.kind == "controlled":
            items.append((z.id, z.geom if allowed is None else shapely.difference(z.geom, allowed)))
    for c in busy:
        items.append((c.id, c.geom if allowed is None else shapely.difference(c.geom, allowed)))
    # overlapping zones merge into one polygon (no nodes hidden inside a neighbour)
    merged = shapely.union_all([g for _, g in items]) if items else None
    obs = []
    for part in _polygons(merged):
        names = [oid for oid, g in items if g.intersects(part)]
        obs.extend(_make_obstacles([("+".join(names), part)]))
    ctx._cache[key] = obs
    return obs


def _dijkstra(w: np.ndarray, src: int, dst: int) -> list[int] | None:
    n = len(w)
    dist = np.full(n, np.inf)
    prev = np.full(n, -1)
    dist[src] = 0.0
    done = np.zeros(n, bool)
    heap = [(0.0, src)]
    while heap:
        d, u = heapq.heappop(heap)
        if done[u]:
            continue
        if u == dst:
            break
        done[u] = True
        nd = d + w[u]
        better = nd < dist
        for v in np.flatnonzero(better & ~done):
            dist[v] = nd[v]
            prev[v] = u
            heapq.heappush(heap, (nd[v], v))
    if not np.isfinite(dist[dst]):
        return None
    path = [dst]
    while path[-1] != src:
        path.append(int(prev[path[-1]]))
    return path[::-1]


def route(a: tuple[float, float], b: tuple[float, float], obs: list[Obstacle]) -> list[tuple[float, float]]:
    """Shortest polyline a -> b that stays out of every obstacle (end points included)."""
    pa, pb = shapely.Point(a), shapely.Point(b)
    usable = []
    for o in obs:
        if o.poly.intersects(pa) or o.poly.intersects(pb):
            if o.core.intersects(pa) or o.core.intersects(pb):
                continue  # cannot avoid a zone we start or end in; the rules judge it
            o = _make_tight(o)
            if o.poly.intersects(pa) or o.poly.intersects(pb):
                continue
        usable.append(o)
    if not usable:
        return [a, b]
    tree = shapely.STRtree([o.shrunk for o in usable])
    direct = shapely.LineString([a, b])
    relevant = set(int(i) for i in tree.query(direct, predicate="intersects"))
    if not relevant:
        return [a, b]
    for _ in range(len(usable)):
        path = _visibility_path(a, b, [usable[i] for i in sorted(relevant)])
        if path is None:
            return [a, b]
        segs = shapely.linestrings(np.stack([np.asarray(path[:-1]), np.asarray(path[1:])], axis=1))
        hit = set(int(i) for i in tree.query(segs, predicate="intersects")[1]) - relevant
        if not hit:
            return path
        relevant |= hit
    return path


def _make_tight(o: Obstacle) -> Obstacle:
    g = shapely.buffer(o.core, 5.0, quad_segs=4)
    polys = _polygons(g)
    p = polys[0] if len(polys) == 1 else shapely.convex_hull(g)
    return Obstacle(o.id, p, p.buffer(-0.5, quad_segs=1), o.core)


def _visibility_path(a, b, obs: list[Obstacle]):
    nodes = [a, b]
    for o in obs:
        rings = [o.poly.exterior, *o.poly.interiors]
        for r in rings:
            nodes.extend(shapely.get_coordinates(r)[:-1].tolist())
    pts = np.asarray(nodes, dtype=float)
    n = len(pts)
    ii, jj = np.triu_indices(n, 1)
    segs = shapely.linestrings(np.stack([pts[ii], pts[jj]], axis=1))
    tree = shapely.STRtree([o.shrunk for o in obs])
    blocked = np.zeros(len(segs), bool)
    blocked[np.unique(tree.query(segs, predicate="intersects")[0])] = True
    w = np.full((n, n), np.inf)
    d = np.hypot(*(pts[jj] - pts[ii]).T)
    ok = ~blocked
    w[ii[ok], jj[ok]] = d[ok]
    w[jj[ok], ii[ok]] = d[ok]
    idx = _dijkstra(w, 0, 1)
    if idx is None:
        return None
    return [(float(pts[k][0]), float(pts[k][1])) for k in idx]


# --- target flights ------------------------------------------------------------

def _capability_ok(af: Airframe, need_speaker: bool, need_camera: bool) -> bool:
    return (af.has_speaker or not need_speaker) and (af.has_camera or not need_camera)


def _target_waypoints(st: Station, target, path, alt, hold_s, actions) -> list[Waypoint]:
    wps = [Waypoint(st.x, st.y, alt, "takeoff")]
    wps += [Waypoint(x, y, alt, "transit") for x, y in path[1:-1]]
    wps.append(Waypoint(target[0], target[1], alt, "target", hold_s=hold_s, actions=actions))
    wps += [Waypoint(x, y, alt, "transit") for x, y in path[-2:0:-1]]
    wps.append(Waypoint(st.x, st.y, alt, "land"))
    return wps


def _fits(plan: Plan) -> bool:
    """Endurance (with reserve) and pilot range: what makes a station able to reach."""
    if plan.duration_s > plan.airframe.usable_s:
        return False
    st = plan.station
    return all(math.hypot(w.x - st.x, w.y - st.y) <= plan.airframe.max_range_m for w in plan.waypoints)


def plan_target(ctx: Context, target: tuple[float, float], *, start: datetime,
                station_id: str | None = None, airframe_id: str | None = None,
                altitude_m: float = DEFAULT_ALT_M, hold_s: float = DEFAULT_HOLD_S,
                capture: str | None = "photo", broadcasts: list[dict] | None = None,
                quiet_override_by: str | None = None) -> Plan:
    """A target flight to ``target`` (metric x, y). ``broadcasts`` items carry
    ``duration_s, plays, volume, text, sha256, audio`` (see drone.speaker)."""
    broadcasts = broadcasts or []
    actions = [Action("roi", {"x": target[0], "y": target[1], "alt_m": 0.0})]
    if capture in ("photo", "video"):
        actions.append(Action(capture, {}))
    actions += [Action("broadcast", dict(b)) for b in broadcasts]
    need_speaker, need_camera = bool(broadcasts), capture is not None
    if station_id:
        stations = [ctx.station(station_id)]
    else:
        stations = sorted(ctx.stations, key=lambda s: math.hypot(s.x - target[0], s.y - target[1]))
    candidates = []
    for st in stations:
        frames = [a for a in ctx.airframes_at(st.id) if airframe_id in (None, a.id)]
        frames = [a for a in frames if _capability_ok(a, need_speaker, need_camera)] or frames
        candidates += [(st, af) for af in frames]
    if not candidates:
        raise LookupError("no station with a drone" + (f" (station {station_id})" if station_id else ""))
    first = None
    for st, af in candidates:
        straight = math.hypot(st.x - target[0], st.y - target[1])
        if first is not None and 2 * straight / af.cruise_speed_ms > af.usable_s:
            continue  # cannot fit even flying straight
        obs = obstacles(ctx, start, start + timedelta(seconds=af.usable_s))
        path = route((st.x, st.y), target, obs)
        plan = Plan("target", st, af, _target_waypoints(st, target, path, altitude_m, hold_s, actions),
                    start, target=target, quiet_override_by=quiet_override_by)
        if first is None:
            first = plan
        if _fits(plan):
            if plan is not first:
                plan.notes.append(f"nearest station {first.station.id} cannot reach within endurance/range; "
                                  f"using {st.id}")
            return plan
    first.notes.append("no station can reach the target within endurance and range")
    return first


# --- area survey ------------------------------------------------------------------

def sweep_lines(polygon, spacing: float, obs_union=None) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Boustrophedon passes over ``polygon`` along its longest side, ``spacing`` apart,
    with no-fly areas cut out. Returns (start, end) pairs in flying order."""
    rect = polygon.minimum_rotated_rectangle
    c = shapely.get_coordinates(rect)[:4]
    edges = c[1:] - c[:-1]
    k = int(np.argmax(np.hypot(*edges[:2].T)))
    angle = math.degrees(math.atan2(edges[k][1], edges[k][0]))
    origin = polygon.centroid
    area = polygon if obs_union is None else polygon.difference(obs_union)
    rot = affinity.rotate(area, -angle, origin=origin)
    minx, miny, maxx, maxy = rot.bounds
    ys = np.arange(miny + spacing / 2, maxy, spacing)
    if len(ys) == 0:
        ys = np.array([(miny + maxy) / 2])
    lines = shapely.linestrings(np.stack([np.stack([np.full_like(ys, minx - 1), ys], 1),
                                          np.stack([np.full_like(ys, maxx + 1), ys], 1)], axis=1))
    pieces = shapely.intersection(lines, rot)
    out = []
    for row, g in enumerate(pieces):
        segs = [s for s in getattr(g, "geoms", [g]) if s.geom_type == "LineString" and not s.is_empty]
        segs.sort(key=lambda s: s.bounds[0])
        if row % 2:
            segs = segs[::-1]
        for s in segs:
            (x0, y0), (x1, y1) = s.coords[0], s.coords[-1]
            if (x0 > x1) != bool(row % 2):
                (x0, y0), (x1, y1) = (x1, y1), (x0, y0)
            out.append(((x0, y0), (x1, y1)))
    if not out:
        return out
    flat = shapely.get_coordinates(shapely.linestrings([[a, b] for a, b in out]))
    back = affinity.rotate(shapely.MultiPoint(flat), angle, origin=origin)
    pts = shapely.get_coordinates(back)
    return [((float(pts[2 * i][0]), float(pts[2 * i][1])), (float(pts[2 * i + 1][0]), float(pts[2 * i + 1][1])))
            for i in range(len(out))]


def footprint_width(altitude_m: float, hfov_deg: float) -> float:
    """Ground width in metres seen across track by a camera of ``hfov_deg`` degrees horizontal
    field of view at ``altitude_m`` metres above flat ground."""
    return 2 * altitude_m * math.tan(math.radians(hfov_deg) / 2)


def plan_survey(ctx: Context, polygon, *, start: datetime, station_id: str | None = None,
                airframe_id: str | None = None, altitude_m: float = 80.0, hfov_deg: float = 84.0,
                side_overlap: float = 0.7, front_overlap: float = 0.8, aspect: float = 0.75) -> Plan:
    """Lawnmower survey of ``polygon`` (metric). Photos every ``front`` metres along track."""
    width = footprint_width(altitude_m, hfov_deg)
    spacing = width * (1 - side_overlap)
    along = width * aspect * (1 - front_overlap)
    cen = polygon.centroid
    if station_id:
        st = ctx.station(station_id)
    else:
        st = min((s for s in ctx.stations if ctx.airframes_at(s.id)),
                 key=lambda s: math.hypot(s.x - cen.x, s.y - cen.y))
    frames = [a for a in ctx.airframes_at(st.id) if airframe_id in (None, a.id)]
    af = next((a for a in frames if a.has_camera), frames[0])
    t1 = start + timedelta(seconds=af.usable_s)
    obs = obstacles(ctx, start, t1)
    # Passes skip prohibited zones and busy crowds; a survey inside controlled airspace is
    # planned as asked and left to the rules (it needs a flight application).
    cut = [z.geom for z in ctx.zones if z.kind == "prohibited"]
    cut += [c.geom for c in ctx.crowds if c.busy_during(start, t1)]
    cut = [g for g in cut if g.distance(polygon) < MARGIN_M]
    obs_union = shapely.buffer(shapely.union_all(cut), MARGIN_M, quad_segs=4) if cut else None
    passes = sweep_lines(polygon, spacing, obs_union)
    wps = [Waypoint(st.x, st.y, altitude_m, "takeoff")]
    here = (st.x, st.y)
    for k, (p0, p1) in enumerate(passes):
        path = route(here, p0, obs) if k == 0 or _blocked(here, p0, obs) else [here, p0]
        wps += [Waypoint(x, y, altitude_m, "transit") for x, y in path[1:-1]]
        acts = []
        if k == 0:
            acts.append(Action("photo", {"distance_m": round(along, 1)}))
        wps.append(Waypoint(p0[0], p0[1], altitude_m, "survey", actions=acts))
        wps.append(Waypoint(p1[0], p1[1], altitude_m, "survey"))
        here = p1
    if len(wps) > 1:
        wps[-1].actions.append(Action("photo_stop", {}))
    path = route(here, (st.x, st.y), obs)
    wps += [Waypoint(x, y, altitude_m, "transit") for x, y in path[1:-1]]
    wps.append(Waypoint(st.x, st.y, altitude_m, "land"))
    plan = Plan("survey", st, af, wps, start, target=(cen.x, cen.y))
    plan.notes.append(f"{len(passes)} passes, spacing {spacing:.1f} m, footprint {width:.1f} m, "
                      f"photo every {along:.1f} m")
    return plan


def _blocked(a, b, obs: list[Obstacle]) -> bool:
    seg = shapely.LineString([a, b])
    return any(o.shrunk.intersects(seg) for o in obs)
