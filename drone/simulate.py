"""A simulated drone: flies a plan at cruise speed (climb speed for height changes),
drains its battery linearly over its endurance, reports telemetry and plays each planned
broadcast when it reaches the waypoint (recorded in ``broadcast_audit`` with the position
it was played at). Also serves a drone's queued live broadcast commands.

Time is simulated (no sleeping): reports carry the planned times.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from drone.model import Plan, lonlat


@dataclass
class Sample:
    """One telemetry report: ``t_s`` seconds after the start of the take-off, x, y in EPSG:4549
    metres, ``alt_m`` metres above take-off, battery percent and the flight state (climb,
    transit, hold, land, landed)."""
    t_s: float
    x: float
    y: float
    alt_m: float
    battery_pct: float
    state: str
    waypoint: int  # the waypoint flown to / held at


def state_at(plan: Plan, t: float) -> Sample:
    """Where the drone is ``t`` seconds after take-off started."""
    wps, times, af = plan.waypoints, plan.times(), plan.airframe
    battery = max(0.0, 100.0 - 100.0 * t / (af.endurance_min * 60.0))
    w0 = wps[0]
    if t >= times[-1][1]:
        w = wps[-1]
        return Sample(t, w.x, w.y, 0.0, battery, "landed", len(wps) - 1)
    if t <= times[0][0]:
        return Sample(t, w0.x, w0.y, min(w0.alt_m, t * af.climb_speed_ms), battery, "climb", 0)
    for i, (arr, dep) in enumerate(times):
        if t <= arr and i > 0:
            prev_dep = times[i - 1][1]
            f = (t - prev_dep) / max(arr - prev_dep, 1e-9)
            a, b = wps[i - 1], wps[i]
            return Sample(t, a.x + f * (b.x - a.x), a.y + f * (b.y - a.y), a.alt_m + f * (b.alt_m - a.alt_m),
                          battery, "transit", i)
        if t <= dep:
            w = wps[i]
            if w.kind == "land" and t > arr + w.dwell_s():
                down = (t - arr - w.dwell_s()) * af.climb_speed_ms
                return Sample(t, w.x, w.y, max(0.0, w.alt_m - down), battery, "land", i)
            return Sample(t, w.x, w.y, w.alt_m, battery, "hold" if w.dwell_s() else "transit", i)
    w = wps[-1]
    return Sample(times[-1][1], w.x, w.y, 0.0, battery, "landed", len(wps) - 1)


def fly(plan: Plan, report: Callable[[Sample, datetime], None],
        on_broadcast: Callable[[int, dict, Sample, datetime], None] | None = None, step_s: float = 10.0) -> list[Sample]:
    """Step through the flight; report every sample and play broadcasts on arrival."""
    times = plan.times()
    events = sorted((times[i][0], i) for i, w in enumerate(plan.waypoints) if w.broadcasts())
    samples, t, k = [], 0.0, 0
    end = times[-1][1]
    while True:
        while k < len(events) and events[k][0] <= t:
            at_s, i = events[k]
            s = state_at(plan, at_s + 0.5)
            for b in plan.waypoints[i].broadcasts():
                if on_broadcast:
                    on_broadcast(i, b.params, s, plan.at(at_s))
            report(s, plan.at(s.t_s))
            samples.append(s)
            k += 1
        s = state_at(plan, t)
        report(s, plan.at(t))
        samples.append(s)
        if t >= end:
            break
        t = min(t + step_s, end)
    return samples


def fly_mission(engine: Engine, mission_id: int, step_s: float = 10.0, played_by: str = "simulator") -> dict:
    """Fly a stored mission: telemetry into ``drone_telemetry``, broadcasts into the audit log."""
    from drone import broadcast, missions

    m = missions.get_mission(engine, mission_id)
    plan, _ = missions.plan_from_record(engine, m)
    drone_id = plan.airframe.id
    buf: list[dict] = []
    played: list[dict] = []

    def report(s: Sample, at: datetime):
        lon, lat = lonlat(s.x, s.y)
        buf.append(dict(at=at, lon=lon, lat=lat, alt_m=s.alt_m, battery_pct=round(s.battery_pct, 2),
                        state=s.state, mission_id=mission_id))

    def on_broadcast(i: int, p: dict, s: Sample, at: datetime):
        lon, lat = lonlat(s.x, s.y)
        broadcast.audit(engine, drone_id=drone_id, mission_id=mission_id, ordered_by=m["created_by"],
                        ordered_role="mission", template_code=p.get("template"), text=p.get("text"),
                        audio_sha256=p.get("sha256"), lon=lon, lat=lat, outcome="played",
                        detail={"waypoint": i, "played_at": at.isoformat(), "plays": p.get("plays"),
                                "volume": p.get("volume"), "by": played_by})
        played.append({"waypoint": i, "lon": lon, "lat": lat, "at": at.isoformat(), "sha256": p.get("sha256")})

    missions.set_status(engine, mission_id, "flying")
    samples = fly(plan, report, on_broadcast, step_s=step_s)
    broadcast.record_telemetry(engine, drone_id, buf)
    missions.set_status(engine, mission_id, "completed")
    last = samples[-1]
    return {"mission_id": mission_id, "drone_id": drone_id, "samples": len(samples), "played": played,
            "duration_s": round(plan.duration_s, 1), "battery_left_pct": round(last.battery_pct, 1)}


def serve_commands(engine: Engine, drone_id: str, operator: str = "simulator") -> list[dict]:
    """Take the drone's queued live broadcasts through sent -> acknowledged -> played."""
    from drone import broadcast

    done = []
    for cmd in broadcast.list_commands(engine, drone_id, status="queued"):
        for status in ("sent", "acknowledged", "played"):
            c = broadcast.set_command_status(engine, cmd["id"], status, operator, "drone_operator")
        done.append(c)
    return done


def distance_m(lon1, lat1, lon2, lat2) -> float:
    """Geodesic distance in metres between two WGS84 points."""
    from gis.crs import geodesic_distance_m

    return float(geodesic_distance_m(lon1, lat1, lon2, lat2))

