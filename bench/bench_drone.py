"""Drone planning: a target flight routed around the airport clearance area, and a
lawnmower survey of the largest grid; each must take under 50 ms (median), rules included.

Peer: the same shortest path from a visibility graph over *every* no-fly vertex (no pruning
to the zones the straight line meets); same route length checked.
"""
from __future__ import annotations

import statistics
import time
from datetime import datetime, timedelta

import shapely

from citygrid.workcal import TZ
from drone import context, plan, rules
from drone.model import xy
from gis.layers.build import build_all

LIMIT_MS = 50.0
START = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)


def timed(fn, repeat=30):
    out, times = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times), out


def main() -> None:
    layers = build_all()
    ctx = context.from_layers(layers)
    controlled = next(z.geom for z in ctx.zones if z.kind == "controlled")
    a_st = ctx.station("UAS-371102-01")
    target = xy(119.565, 35.345)  # the straight line from the station cuts the clearance area

    def target_flight():
        p = plan.plan_target(ctx, target, start=START, station_id=a_st.id)
        return p, rules.check(p, ctx)

    def target_any_station():
        p = plan.plan_target(ctx, xy(119.55, 35.44), start=START)
        return p, rules.check(p, ctx)

    t0 = time.perf_counter()
    ctx._cache.clear()
    target_flight()
    cold = (time.perf_counter() - t0) * 1000
    med_t, max_t, (p, v) = timed(target_flight)
    assert not p.route().intersects(controlled)
    med_n, max_n, _ = timed(target_any_station)

    obs = plan.obstacles(ctx, START, START + timedelta(hours=1))
    a, b = (a_st.x, a_st.y), target

    def peer():
        return plan._visibility_path(a, b, obs)

    med_p, _, peer_path = timed(peer, repeat=10)
    ours = plan.route(a, b, obs)
    assert abs(shapely.LineString(ours).length - shapely.LineString(peer_path).length) < 1.0

    grids = layers["grids"].to_crs("EPSG:4549")
    big = grids.geometry[grids.area.idxmax()]
    code = grids["code"][grids.area.idxmax()]

    def survey():
        s = plan.plan_survey(ctx, big, start=START, altitude_m=100)
        return s, rules.check(s, ctx)

    med_s, max_s, (s, sv) = timed(survey, repeat=15)
    print(f"target flight around ZSRZ clearance area: route {len(p.waypoints)} waypoints, "
          f"{p.distance_m / 1000:.1f} km; median {med_t:.2f} ms (max {max_t:.2f}; first call incl. "
          f"obstacle preparation {cold:.1f} ms)  [rules: {sorted({x['rule'] for x in v}) or 'ok'}]")
    print(f"target flight choosing the nearest able station: median {med_n:.2f} ms (max {max_n:.2f})")
    print(f"peer, visibility graph over all {sum(len(o.poly.exterior.coords) - 1 for o in obs)} no-fly vertices: "
          f"median {med_p:.2f} ms -> ours x{med_p / med_t:.1f} faster (same length)")
    print(f"survey of the largest grid {code} ({big.area / 1e6:.2f} km2): {len(s.waypoints)} waypoints, "
          f"{s.distance_m / 1000:.1f} km; median {med_s:.2f} ms (max {max_s:.2f})  "
          f"[rules: {sorted({x['rule'] for x in sv}) or 'ok'}]")
    ok = med_t < LIMIT_MS and med_s < LIMIT_MS
    print(f"limit {LIMIT_MS:.0f} ms median: {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
