"""Flight rules, checked before a plan is saved or exported.

Every violation names the waypoint index (``plan.waypoints``; 0 is the take-off at the
station; a leg's problem is reported at the waypoint the leg flies *to*) and the rule:

* ``max_height`` -- true height above the class limit (light: 120 m). Heights are above
  the take-off point and the ground is taken as flat (no terrain model).
* ``prohibited_zone`` -- a leg (or the take-off) inside a prohibited zone, whatever papers.
* ``controlled_zone`` -- a leg inside controlled airspace (the airport clearance area) not
  covered by an approved flight application: its area must hold every part of the flight
  that lies in controlled airspace and its time window the whole flight, take-off to landing.
* ``crowd`` -- a leg over a market or night market during its busy hours, same cover needed.
* ``endurance`` -- the flight outlasts the battery less its reserve (reported at the first
  waypoint reached after the usable time has run out).
* ``pilot_range`` -- a waypoint farther from the pilot (the station) than the airframe's range.
* ``quiet_hours`` -- a broadcast between 22:00 and 06:00 (Asia/Shanghai) without a
  commander's override; ``no_speaker`` / ``no_camera`` -- the airframe lacks the payload.
"""
from __future__ import annotations

import math
from datetime import datetime, time

import shapely

from citygrid.errors import InvalidInput
from citygrid.workcal import TZ
from drone.model import Context, Plan

QUIET_START = time(22, 0)
QUIET_END = time(6, 0)


def in_quiet_hours(moment: datetime) -> bool:
    """Whether the moment falls in quiet hours, 22:00-06:00 Asia/Shanghai."""
    t = moment.astimezone(TZ).time()
    return t >= QUIET_START or t < QUIET_END


def _v(i: int, rule: str, message: str, **extra) -> dict:
    return {"waypoint": i, "rule": rule, "message": f"waypoint {i}: {message}", **extra}


def _legs(plan: Plan) -> list:
    w = plan.waypoints
    legs = [shapely.Point(w[0].x, w[0].y)]
    legs += [shapely.LineString([(a.x, a.y), (b.x, b.y)]) if (a.x, a.y) != (b.x, b.y)
             else shapely.Point(b.x, b.y) for a, b in zip(w[:-1], w[1:])]
    return legs


def check(plan: Plan, ctx: Context) -> list[dict]:
    """All violations of ``plan`` (empty when it may fly)."""
    out: list[dict] = []
    af, st, wps = plan.airframe, plan.station, plan.waypoints
    times = plan.times()
    legs = _legs(plan)
    apps = [a for a in ctx.applications if a.covers_time(plan.start, plan.end)]
    allowed = shapely.union_all([a.geom for a in apps]).buffer(1.0) if apps else None

    def covered(part) -> str | None:
        if allowed is not None and allowed.covers(part):
            for a in apps:
                if a.geom.buffer(1.0).covers(part):
                    return a.reference
            return "+".join(a.reference for a in apps)
        return None

    used_apps: set[str] = set()
    for i, w in enumerate(wps):
        if w.alt_m > af.max_height_m:
            out.append(_v(i, "max_height", f"height {w.alt_m:g} m exceeds {af.max_height_m:g} m "
                          f"for a {af.drone_class} drone", height_m=float(w.alt_m), limit_m=float(af.max_height_m)))
        d = math.hypot(w.x - st.x, w.y - st.y)
        if d > af.max_range_m:
            out.append(_v(i, "pilot_range", f"{d:.0f} m from the pilot at {st.id}, beyond the "
                          f"{af.max_range_m:.0f} m range of {af.id}", distance_m=round(float(d), 1),
                          limit_m=float(af.max_range_m)))
    tree = shapely.STRtree(legs)
    for z in ctx.zones:
        for i in sorted(int(k) for k in tree.query(z.geom, predicate="intersects")):
            lo = 0.0 if i == 0 else min(wps[i - 1].alt_m, wps[i].alt_m)
            hi = max(wps[i - 1].alt_m if i else 0.0, wps[i].alt_m)
            if hi < z.floor_m or lo > z.ceiling_m:
                continue
            part = shapely.intersection(legs[i], z.geom)
            if z.kind == "prohibited":
                out.append(_v(i, "prohibited_zone", f"{'take-off' if i == 0 else 'leg'} inside "
                              f"prohibited zone {z.id} ({z.name})", zone=z.id))
            else:
                ref = covered(part)
                if ref:
                    used_apps.add(ref)
                else:
                    out.append(_v(i, "controlled_zone", f"{'take-off' if i == 0 else 'leg'} inside "
                                  f"controlled airspace {z.id} ({z.name}) without an approved flight "
                                  f"application covering it (space and whole flight time)", zone=z.id))
    for c in ctx.crowds:
        for i in sorted(int(k) for k in tree.query(c.geom, predicate="intersects")):
            t0 = plan.at(times[i - 1][1] if i else 0.0)
            t1 = plan.at(times[i][1])
            if not c.busy_during(t0, t1):
                continue
            ref = covered(shapely.intersection(legs[i], c.geom))
            if ref:
                used_apps.add(ref)
            else:
                out.append(_v(i, "crowd", f"over the crowd at {c.name} ({c.kind}, busy "
                              f"{t0.astimezone(TZ):%H:%M}-{t1.astimezone(TZ):%H:%M}) without an approved "
                              f"flight application", poi=c.id))
    usable = af.usable_s
    for i, (_, dep) in enumerate(times):
        if dep > usable:
            out.append(_v(i, "endurance", f"flight needs {plan.duration_s / 60:.1f} min; {af.id} has "
                          f"{usable / 60:.1f} min ({af.endurance_min:g} min less {af.reserve_pct:g}% "
                          f"reserve), exhausted here", needed_s=round(float(plan.duration_s), 1),
                          usable_s=round(float(usable), 1)))
            break
    for i, w in enumerate(wps):
        acts = {a.kind for a in w.actions}
        if "broadcast" in acts:
            if not af.has_speaker:
                out.append(_v(i, "no_speaker", f"{af.id} has no loudspeaker"))
            when = plan.at(times[i][0])
            if in_quiet_hours(when) and not plan.quiet_override_by:
                out.append(_v(i, "quiet_hours", f"broadcast at {when.astimezone(TZ):%H:%M} falls in quiet "
                              f"hours 22:00-06:00 and has no commander's override"))
        if acts & {"photo", "video"} and not af.has_camera:
            out.append(_v(i, "no_camera", f"{af.id} has no camera"))
    out.sort(key=lambda v: (v["waypoint"], v["rule"]))
    if not out and used_apps:
        plan.application_ref = ",".join(sorted(used_apps))
    return out


def enforce(plan: Plan, ctx: Context) -> Plan:
    """Raise InvalidInput listing every violation; return the plan when it may fly."""
    problems = check(plan, ctx)
    if problems:
        raise InvalidInput(f"the flight plan breaks {len(problems)} rule(s): "
                           + "; ".join(p["message"] for p in problems[:5])
                           + (" ..." if len(problems) > 5 else ""), problems=problems)
    return plan
