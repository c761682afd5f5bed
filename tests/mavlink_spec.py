"""QGroundControl ``.plan`` and MAVLink plain-text ``QGC WPL 110`` missions as documented,
as data, and checkers built on them. Numbers (MAV_CMD, MAV_FRAME, MAV_AUTOPILOT, MAV_TYPE)
come from pymavlink's generated ``mavutil.mavlink`` constants, not from this file.

Sources:

* PLAN -- QGroundControl Developer Guide, "Plan File Format",
  https://docs.qgroundcontrol.com/master/en/qgc-dev-guide/file_formats/plan.html
  (also dev.qgroundcontrol.com/en/file_formats/plan.html)
* WPL  -- MAVLink Developer Guide, "File Formats" / "Mission Plain-Text File Format",
  https://mavlink.io/en/file_formats/
"""
from __future__ import annotations

import json
import math

from pymavlink import mavutil

PLAN = "QGC Plan File Format"
WPL = "MAVLink File Formats (QGC WPL)"
ML = mavutil.mavlink
MAV_CMD = set(ML.enums["MAV_CMD"]) - {max(ML.enums["MAV_CMD"])}  # minus the generated *_ENUM_END
MAV_FRAME = set(ML.enums["MAV_FRAME"]) - {max(ML.enums["MAV_FRAME"])}
MAV_AUTOPILOT = set(ML.enums["MAV_AUTOPILOT"]) - {max(ML.enums["MAV_AUTOPILOT"])}
MAV_TYPE = set(ML.enums["MAV_TYPE"]) - {max(ML.enums["MAV_TYPE"])}
# frames whose x, y are latitude, longitude
GLOBAL_FRAMES = {ML.MAV_FRAME_GLOBAL, ML.MAV_FRAME_GLOBAL_RELATIVE_ALT, ML.MAV_FRAME_GLOBAL_INT,
                 ML.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, ML.MAV_FRAME_GLOBAL_TERRAIN_ALT,
                 ML.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT}
# PLAN, SimpleItem "AltitudeMode" -> the frame it implies (1 relative, 2 absolute, 4 terrain frame)
ALTITUDE_MODE_FRAME = {1: ML.MAV_FRAME_GLOBAL_RELATIVE_ALT, 2: ML.MAV_FRAME_GLOBAL,
                       4: ML.MAV_FRAME_GLOBAL_TERRAIN_ALT}

# (key, type(s), required) per object, from PLAN's field tables
PLAN_TOP = [("fileType", str, True), ("version", int, True), ("groundStation", str, True),
            ("mission", dict, True), ("geoFence", dict, False), ("rallyPoints", dict, False)]
MISSION = [("version", int, True), ("firmwareType", int, True), ("globalPlanAltitudeMode", int, True),
           ("vehicleType", int, True), ("cruiseSpeed", (int, float), True), ("hoverSpeed", (int, float), True),
           ("items", list, True), ("plannedHomePosition", list, True)]
SIMPLE_ITEM = [("type", str, True), ("autoContinue", bool, True), ("command", int, True),
               ("doJumpId", int, True), ("frame", int, True), ("params", list, True),
               ("AltitudeMode", int, False), ("Altitude", (int, float), False),
               ("AMSLAltAboveTerrain", (int, float, type(None)), False)]
FENCE = [("version", int, True), ("polygons", list, True), ("circles", list, True)]
FENCE_POLYGON = [("inclusion", bool, True), ("polygon", list, True), ("version", int, True)]
FENCE_CIRCLE = [("circle", dict, True), ("inclusion", bool, True), ("version", int, True)]
RALLY = [("version", int, True), ("points", list, True)]
VERSIONS = {"plan": 1, "mission": 2, "geoFence": 2, "rallyPoints": 2, "fence item": 1}
WPL_HEADER = "QGC WPL 110"
WPL_COLUMNS = ("INDEX", "CURRENT_WP", "COORD_FRAME", "COMMAND", "PARAM1", "PARAM2", "PARAM3", "PARAM4",
               "LATITUDE", "LONGITUDE", "ALTITUDE", "AUTOCONTINUE")


def _fields(out: list, where: str, obj, table):
    if not isinstance(obj, dict):
        out.append(f"{where}: not an object")
        return
    for key, typ, required in table:
        if key not in obj:
            if required:
                out.append(f"{where}: {key} missing ({PLAN})")
            continue
        v = obj[key]
        bad_bool = isinstance(v, bool) and bool not in (typ if isinstance(typ, tuple) else (typ,))
        if bad_bool or not isinstance(v, typ):
            out.append(f"{where}: {key} is {type(v).__name__}, not {getattr(typ, '__name__', typ)}")


def _latlon_ok(lat, lon) -> bool:
    return (isinstance(lat, (int, float)) and isinstance(lon, (int, float))
            and -90 <= lat <= 90 and -180 <= lon <= 180)


def check_plan(doc: dict | str | bytes) -> list[str]:
    """Problems of a QGroundControl ``.plan`` (parsed or JSON text)."""
    if not isinstance(doc, dict):
        doc = json.loads(doc)
    out: list[str] = []
    _fields(out, "plan", doc, PLAN_TOP)
    if doc.get("fileType") != "Plan":
        out.append(f"plan: fileType must be \"Plan\" ({PLAN})")
    if doc.get("version") != VERSIONS["plan"]:
        out.append(f"plan: version must be {VERSIONS['plan']}")
    m = doc.get("mission")
    if isinstance(m, dict):
        _fields(out, "mission", m, MISSION)
        if m.get("version") != VERSIONS["mission"]:
            out.append(f"mission: version must be {VERSIONS['mission']}")
        if m.get("firmwareType") not in MAV_AUTOPILOT:
            out.append(f"mission: firmwareType {m.get('firmwareType')} is not a MAV_AUTOPILOT")
        if m.get("vehicleType") not in MAV_TYPE:
            out.append(f"mission: vehicleType {m.get('vehicleType')} is not a MAV_TYPE")
        home = m.get("plannedHomePosition")
        if not (isinstance(home, list) and len(home) == 3 and _latlon_ok(home[0], home[1])):
            out.append("mission: plannedHomePosition must be [lat, lon, alt]")
        items = m.get("items") or []
        if not items:
            out.append(f"mission: items must hold at least one item ({PLAN})")
        jump_ids = []
        for k, it in enumerate(items):
            where = f"mission.items[{k}]"
            if not isinstance(it, dict) or it.get("type") != "SimpleItem":
                missing = isinstance(it, dict) and "type" not in it
                out.append(f"{where}: type missing ({PLAN})" if missing else
                           f"{where}: only SimpleItem is written by citygrid")
                continue
            _fields(out, where, it, SIMPLE_ITEM)
            jump_ids.append(it.get("doJumpId"))
            if it.get("command") not in MAV_CMD:
                out.append(f"{where}: command {it.get('command')} is not a MAV_CMD")
            if it.get("frame") not in MAV_FRAME:
                out.append(f"{where}: frame {it.get('frame')} is not a MAV_FRAME")
            p = it.get("params")
            if not (isinstance(p, list) and len(p) == 7):
                out.append(f"{where}: params must be 7 values ({PLAN})")
                continue
            if any(v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))) for v in p):
                out.append(f"{where}: params must be numbers or null")
            elif it.get("frame") in GLOBAL_FRAMES and not _latlon_ok(p[4], p[5]):
                out.append(f"{where}: params[4:6] are not a latitude, longitude")
            mode = it.get("AltitudeMode")
            if mode is not None:
                if mode in ALTITUDE_MODE_FRAME and it.get("frame") != ALTITUDE_MODE_FRAME[mode]:
                    out.append(f"{where}: AltitudeMode {mode} with frame {it.get('frame')}")
                if it.get("Altitude") != p[6]:
                    out.append(f"{where}: Altitude {it.get('Altitude')} differs from params[6] {p[6]}")
        if jump_ids != list(range(1, len(jump_ids) + 1)):
            out.append("mission: doJumpId must number the items 1, 2, 3, …")
    fence = doc.get("geoFence")
    if fence is not None:
        _fields(out, "geoFence", fence, FENCE)
        if fence.get("version") != VERSIONS["geoFence"]:
            out.append(f"geoFence: version must be {VERSIONS['geoFence']}")
        for k, poly in enumerate(fence.get("polygons") or []):
            where = f"geoFence.polygons[{k}]"
            _fields(out, where, poly, FENCE_POLYGON)
            pts = poly.get("polygon") or []
            if len(pts) < 3 or not all(isinstance(q, list) and len(q) == 2 and _latlon_ok(*q) for q in pts):
                out.append(f"{where}: polygon must be 3+ [lat, lon] vertices")
            if poly.get("version") != VERSIONS["fence item"]:
                out.append(f"{where}: version must be 1")
        for k, c in enumerate(fence.get("circles") or []):
            where = f"geoFence.circles[{k}]"
            _fields(out, where, c, FENCE_CIRCLE)
            circ = c.get("circle") or {}
            if not (_latlon_ok(*(circ.get("center") or [None, None])[:2]) and (circ.get("radius") or 0) > 0):
                out.append(f"{where}: circle needs center [lat, lon] and radius > 0")
    rally = doc.get("rallyPoints")
    if rally is not None:
        _fields(out, "rallyPoints", rally, RALLY)
        if rally.get("version") != VERSIONS["rallyPoints"]:
            out.append(f"rallyPoints: version must be {VERSIONS['rallyPoints']}")
        for k, q in enumerate(rally.get("points") or []):
            if not (isinstance(q, list) and len(q) == 3 and _latlon_ok(q[0], q[1])):
                out.append(f"rallyPoints.points[{k}]: must be [lat, lon, alt]")
    return out


def check_wpl(text: str | bytes) -> list[str]:
    """Problems of a ``QGC WPL 110`` plain-text mission."""
    if isinstance(text, bytes):
        text = text.decode()
    out: list[str] = []
    lines = text.splitlines()
    if not lines or lines[0].strip() != WPL_HEADER:
        out.append(f"line 1 must be {WPL_HEADER!r} ({WPL})")
    if not text.endswith("\n"):
        out.append("the file must end with a newline")
    rows = lines[1:]
    if not rows:
        out.append("no mission items")
    for n, line in enumerate(rows):
        where = f"line {n + 2}"
        cols = line.split("\t")
        if len(cols) != len(WPL_COLUMNS):
            out.append(f"{where}: {len(cols)} tab-separated fields, want {len(WPL_COLUMNS)} ({WPL})")
            continue
        try:
            vals = [float(c) for c in cols]
        except ValueError:
            out.append(f"{where}: a field is not a number")
            continue
        if not all(math.isfinite(v) for v in vals):
            out.append(f"{where}: a field is not finite")
        idx, cur, frame, cmd, *_p, lat, lon, _alt, auto = vals
        for name, v in (("INDEX", idx), ("CURRENT_WP", cur), ("COORD_FRAME", frame), ("COMMAND", cmd),
                        ("AUTOCONTINUE", auto)):
            if v != int(v):
                out.append(f"{where}: {name} {v} is not an integer")
        if int(idx) != n:
            out.append(f"{where}: INDEX {int(idx)}, want {n} (items numbered from 0)")
        if cur not in (0, 1) or auto not in (0, 1):
            out.append(f"{where}: CURRENT_WP and AUTOCONTINUE are 0 or 1")
        if int(frame) not in MAV_FRAME:
            out.append(f"{where}: COORD_FRAME {int(frame)} is not a MAV_FRAME")
        if int(cmd) not in MAV_CMD:
            out.append(f"{where}: COMMAND {int(cmd)} is not a MAV_CMD")
        if int(frame) in GLOBAL_FRAMES and not _latlon_ok(lat, lon):
            out.append(f"{where}: LATITUDE/LONGITUDE out of range")
    return out
