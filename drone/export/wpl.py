"""MAVLink plain mission file, ``QGC WPL 110``: line 0 is the home position (the station),
then one tab-separated line per item: INDEX CURRENT_WP COORD_FRAME COMMAND P1 P2 P3 P4
LAT LON ALT AUTOCONTINUE. No fence or rally points in this format."""
from __future__ import annotations

from drone.model import Plan, lonlat


def _num(v: float) -> str:
    return f"{float(v):.8f}".rstrip("0").rstrip(".") if v == v else "0"


def document(plan: Plan, items: list[dict]) -> str:
    """The ``QGC WPL 110`` text: the station as home on line 0, then one line per mission item
    (WGS84 lat/lon to 8 decimals; waypoint altitudes in metres above home, frame 3)."""
    lon, lat = lonlat(plan.station.x, plan.station.y)
    lines = ["QGC WPL 110", "\t".join(["0", "1", "0", "16", "0", "0", "0", "0",
                                         f"{lat:.8f}", f"{lon:.8f}", "0", "1"])]
    for k, it in enumerate(items, start=1):
        p = it["params"]
        lines.append("\t".join([str(k), "0", str(it["frame"]), str(it["command"]),
                                *(_num(v) for v in p[:4]), f"{p[4]:.8f}", f"{p[5]:.8f}", _num(p[6]), "1"]))
    return "\n".join(lines) + "\n"
