"""Plain data for drone planning: fleet, airspace context, waypoints and plans.

All geometry is shapely in EPSG:4549 metres (``gis.crs.METRIC``); heights are metres above
the take-off point. With no terrain model in the service, the take-off point's ground is
taken as the ground everywhere (the urban cores are flat coastal plain), so a waypoint's
height above take-off is its true height. Times are timezone-aware datetimes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import shapely
from shapely.geometry.base import BaseGeometry

from citygrid.workcal import TZ
from gis.crs import from_metric, to_metric

# True-height ceilings by class (interim regulation: micro <= 50 m; light/small in open
# airspace below 120 m, above which is controlled airspace).
MAX_TRUE_HEIGHT_M = {"micro": 50.0, "light": 120.0, "small": 120.0}


def xy(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 lon/lat -> (x, y) metres in EPSG:4549."""
    x, y = to_metric(lon, lat)
    return float(x), float(y)


def lonlat(x: float, y: float) -> tuple[float, float]:
    """EPSG:4549 (x, y) metres -> WGS84 (lon, lat)."""
    lon, lat = from_metric(x, y)
    return float(lon), float(lat)


@dataclass(frozen=True)
class Station:
    """Where drones take off and land (enforcement station or service post); x, y in EPSG:4549 metres."""
    id: str
    name: str
    kind: str
    county_code: str
    x: float
    y: float

    @property
    def point(self) -> shapely.Point:
        """The station as a shapely point in EPSG:4549."""
        return shapely.Point(self.x, self.y)


@dataclass(frozen=True)
class Airframe:
    """A drone and its flight profile: speeds in m/s, endurance in minutes less ``reserve_pct``
    percent kept in reserve, ``max_range_m`` the farthest it may fly from its station (the pilot)."""
    id: str
    model: str
    station_id: str
    drone_class: str = "light"
    cruise_speed_ms: float = 12.0
    climb_speed_ms: float = 5.0
    endurance_min: float = 38.0
    reserve_pct: float = 25.0
    max_range_m: float = 8000.0
    has_speaker: bool = True
    has_camera: bool = True

    @property
    def usable_s(self) -> float:
        """Flight time available before the battery reserve."""
        return self.endurance_min * 60.0 * (1.0 - self.reserve_pct / 100.0)

    @property
    def max_height_m(self) -> float:
        """True-height ceiling of the airframe's class, metres above take-off (micro 50; light,
        small and an unknown class 120)."""
        return MAX_TRUE_HEIGHT_M.get(self.drone_class, 120.0)


@dataclass(frozen=True)
class Zone:
    """An airspace zone between ``floor_m`` and ``ceiling_m`` (metres above take-off): ``prohibited``
    (never flown) or ``controlled`` (flown only under an approved flight application)."""
    id: str
    name: str
    kind: str  # prohibited | controlled
    floor_m: float
    ceiling_m: float
    geom: BaseGeometry


# "Mo-Su 06:00-09:00,16:30-18:00" (the subset of OSM opening_hours the layers use)
_DAYS = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
_RULE = re.compile(r"^\s*(?:(Mo|Tu|We|Th|Fr|Sa|Su)(?:-(Mo|Tu|We|Th|Fr|Sa|Su))?\s+)?(.+?)\s*$")


def parse_busy_hours(text: str | None) -> list[tuple[frozenset[int], time, time]]:
    """``"Mo-Su HH:MM-HH:MM[,HH:MM-HH:MM]"`` (rules separated by ``;``) into
    (weekdays, start, end) triples; an end at or before its start runs past midnight."""
    out: list[tuple[frozenset[int], time, time]] = []
    if not text:
        return out
    for rule in text.split(";"):
        if not rule.strip():
            continue
        m = _RULE.match(rule)
        if not m:
            raise ValueError(f"cannot read busy hours {rule!r}")
        d1, d2, spans = m.groups()
        if d1 is None:
            days = frozenset(range(7))
        else:
            a, b = _DAYS.index(d1), _DAYS.index(d2 or d1)
            days = frozenset(range(a, b + 1)) if a <= b else frozenset(list(range(a, 7)) + list(range(0, b + 1)))
        for span in spans.split(","):
            try:
                s, e = span.strip().split("-")
                hs, ms = (int(v) for v in s.split(":"))
                he, me = (int(v) for v in e.split(":"))
            except ValueError:
                raise ValueError(f"cannot read busy hours span {span!r} in {text!r}") from None
            out.append((days, time(hs, ms), time(0, 0) if (he, me) == (24, 0) else time(he, me)))
    return out


def busy_overlap(spans, t0: datetime, t1: datetime) -> bool:
    """Does [t0, t1] (aware) overlap any busy span (Shanghai wall time)?"""
    a, b = t0.astimezone(TZ), t1.astimezone(TZ)
    day = a.date() - timedelta(days=1)
    while day <= b.date():
        for days, s, e in spans:
            if day.weekday() in days:
                start = datetime.combine(day, s, TZ)
                end = datetime.combine(day, e, TZ)
                if end <= start:
                    end += timedelta(days=1)
                if start < b and a < end:
                    return True
        day += timedelta(days=1)
    return False


@dataclass(frozen=True)
class Crowd:
    """A place that draws crowds at its busy hours (markets, night markets)."""
    id: str
    name: str
    kind: str
    busy: tuple
    geom: BaseGeometry  # the crowd's footprint

    def busy_during(self, t0: datetime, t1: datetime) -> bool:
        """Whether [t0, t1] overlaps the place's busy hours (Asia/Shanghai wall time)."""
        return busy_overlap(self.busy, t0, t1)


@dataclass(frozen=True)
class Application:
    """An approved flight application (飞行申请) recorded in the service."""
    reference: str
    geom: BaseGeometry
    valid_from: datetime
    valid_to: datetime
    approver: str
    status: str = "approved"

    def covers_time(self, t0: datetime, t1: datetime) -> bool:
        """Whether the application is approved and its validity window holds all of [t0, t1]."""
        return self.status == "approved" and self.valid_from <= t0 and t1 <= self.valid_to


@dataclass
class Context:
    """Everything a plan is checked against: airspace zones, crowds, approved flight applications and
    the fleet (stations and airframes), geometry in EPSG:4549."""
    zones: list[Zone] = field(default_factory=list)
    crowds: list[Crowd] = field(default_factory=list)
    applications: list[Application] = field(default_factory=list)
    stations: list[Station] = field(default_factory=list)
    airframes: list[Airframe] = field(default_factory=list)
    _cache: dict = field(default_factory=dict, repr=False)

    def station(self, station_id: str) -> Station:
        """The station with this id; KeyError when there is none."""
        for s in self.stations:
            if s.id == station_id:
                return s
        raise KeyError(station_id)

    def airframes_at(self, station_id: str) -> list[Airframe]:
        """The airframes based at the station (empty when it has none)."""
        return [a for a in self.airframes if a.station_id == station_id]


@dataclass
class Action:
    """Something done at a waypoint: ``roi`` (point the camera), ``photo``, ``video`` or ``broadcast``
    (``params`` holds the audio, its ``duration_s``, ``plays`` and volume)."""
    kind: str  # roi | photo | video | broadcast
    params: dict = field(default_factory=dict)


@dataclass
class Waypoint:
    """A point of the route: x, y in EPSG:4549 metres, ``alt_m`` metres above take-off, ``hold_s``
    seconds of hover, and the actions done there."""
    x: float
    y: float
    alt_m: float
    kind: str  # takeoff | transit | target | survey | land
    hold_s: float = 0.0
    actions: list[Action] = field(default_factory=list)

    @property
    def lonlat(self) -> tuple[float, float]:
        """The waypoint's WGS84 (lon, lat)."""
        return lonlat(self.x, self.y)

    def broadcasts(self) -> list[Action]:
        """The waypoint's broadcast actions, in order."""
        return [a for a in self.actions if a.kind == "broadcast"]

    def dwell_s(self) -> float:
        """Hover time here: the hold, or the broadcasts' length x plays if longer."""
        talk = sum(a.params["duration_s"] * a.params.get("plays", 1) for a in self.broadcasts())
        return max(self.hold_s, talk)


@dataclass
class Plan:
    """A flight: one airframe from its station through ``waypoints`` (the first is the take-off, the
    last lands), starting at ``start``; ``target`` is in EPSG:4549 metres, ``application_ref`` the
    flight application(s) it flies under, ``quiet_override_by`` the commander who allowed
    broadcasts in quiet hours."""
    kind: str  # target | survey
    station: Station
    airframe: Airframe
    waypoints: list[Waypoint]
    start: datetime
    target: tuple[float, float] | None = None  # metric x, y
    application_ref: str | None = None
    quiet_override_by: str | None = None
    notes: list[str] = field(default_factory=list)
    _times: list[tuple[float, float]] | None = field(default=None, repr=False)

    def times(self) -> list[tuple[float, float]]:
        """(arrival, departure) seconds after take-off start for every waypoint."""
        if self._times is None:
            self._times = timeline(self.waypoints, self.airframe)
        return self._times

    @property
    def duration_s(self) -> float:
        """Seconds from the start of the take-off to landing."""
        return self.times()[-1][1]

    @property
    def end(self) -> datetime:
        """When the drone lands (``start`` plus ``duration_s``)."""
        return self.start + timedelta(seconds=self.duration_s)

    def at(self, seconds: float) -> datetime:
        """The moment ``seconds`` after the start of the take-off."""
        return self.start + timedelta(seconds=seconds)

    def route(self) -> shapely.LineString:
        """The horizontal route through the waypoints, in EPSG:4549."""
        return shapely.LineString([(w.x, w.y) for w in self.waypoints])

    @property
    def distance_m(self) -> float:
        """Horizontal length of the route in metres (climbs and descents not counted)."""
        return float(self.route().length)

    @property
    def max_height_m(self) -> float:
        """The highest waypoint, in metres above take-off."""
        return max(w.alt_m for w in self.waypoints)

    def to_dict(self) -> dict:
        """The plan as JSON-ready data: WGS84 lon/lat (7 decimals), ISO times, seconds, metres; each
        waypoint with its hover, arrival and departure seconds after the start and its actions (the
        audio file itself left out)."""
        times = self.times()
        wps = []
        for i, (w, (ta, td)) in enumerate(zip(self.waypoints, times)):
            lon, lat = w.lonlat
            wps.append({"index": i, "kind": w.kind, "lon": round(lon, 7), "lat": round(lat, 7),
                        "alt_m": w.alt_m, "hold_s": round(w.dwell_s(), 2),
                        "arrive_s": round(ta, 1), "depart_s": round(td, 1),
                        "actions": [{"kind": a.kind, **{k: v for k, v in a.params.items() if k != "wav"}}
                                    for a in w.actions]})
        tl = lonlat(*self.target) if self.target else None
        return {"kind": self.kind, "station_id": self.station.id, "airframe_id": self.airframe.id,
                "start": self.start.isoformat(), "end": self.end.isoformat(),
                "duration_s": round(self.duration_s, 1), "distance_m": round(self.distance_m, 1),
                "max_height_m": self.max_height_m, "usable_s": round(self.airframe.usable_s, 1),
                "target": None if tl is None else {"lon": round(tl[0], 7), "lat": round(tl[1], 7)},
                "application_ref": self.application_ref, "notes": self.notes, "waypoints": wps}


def timeline(waypoints: list[Waypoint], airframe: Airframe) -> list[tuple[float, float]]:
    """Arrival/departure seconds: vertical legs at climb speed, horizontal at cruise speed
    (the slower of the two governs a leg that does both); the take-off starts on the ground
    and the last waypoint descends to land."""
    out = []
    t = waypoints[0].alt_m / airframe.climb_speed_ms  # climb at the station
    prev = waypoints[0]
    out.append((t, t + prev.dwell_s()))
    t += prev.dwell_s()
    for w in waypoints[1:]:
        d = ((w.x - prev.x) ** 2 + (w.y - prev.y) ** 2) ** 0.5
        t += max(d / airframe.cruise_speed_ms, abs(w.alt_m - prev.alt_m) / airframe.climb_speed_ms)
        arrive = t
        t += w.dwell_s()
        if w.kind == "land":
            t += w.alt_m / airframe.climb_speed_ms
        out.append((arrive, t))
        prev = w
    return out
