"""DJI WPML ``.kmz``: a zip holding ``wpmz/template.kml``, ``wpmz/waylines.wpml`` and
``wpmz/res/`` (namespace http://www.dji.com/wpmz/1.0.2), written to DJI's Cloud API WPML
reference (template.kml, waylines.wpml and common-elements pages): every element those
tables mark required (必需元素), unconditionally or under the condition the plan meets.

Both files carry the same mission config, waypoints and action groups:

* heights are metres above the take-off point (``relativeToStartPoint``), so a template
  Placemark's ``ellipsoidHeight`` equals its ``height`` (DJI: the same position in two
  height references, identical in this mode) and the waylines ``executeHeight``;
* every leg is flown at the airframe's cruise speed, stopping at each point;
* the leg into the target turns the nose towards it (``towardPOI``, the POI on the waypoint
  the leg starts from, as DJI defines it); the other legs follow the wayline;
* at the target (reachPoint, in sequence): gimbal straight down, photo or video start, one
  ``hover`` per broadcast lasting audio length x plays, a hover for the rest of the hold,
  video stop. The audio files go in ``wpmz/res/`` and ``wpmz/res/broadcasts.json`` ties each
  to its waypoint and hover action (volume, plays): DJI documents a megaphone action only
  for the M4D/M4TD (Opus files), not for the airframe declared here;
* a survey turns the gimbal down at its first pass point and photographs with a
  ``multipleDistance`` trigger from its first to its last pass point.
"""
from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

from lxml import etree

from drone.model import Plan, Waypoint, lonlat

KML = "http://www.opengis.net/kml/2.2"
WPML = "http://www.dji.com/wpmz/1.0.2"
NSMAP = {None: KML, "wpml": WPML}

# The airframe declared to DJI Pilot 2 / FlightHub 2 (DJI enumeration values): M30 (67,
# sub-type 0) with its dual-light camera (52) on the main gimbal (0). Set to the real fleet.
DRONE_ENUM, DRONE_SUB_ENUM = 67, 0
PAYLOAD_ENUM, PAYLOAD_POSITION = 52, 0
LENS = "wide"
TURN_MODE = "toPointAndStopWithDiscontinuityCurvature"  # straight legs, stop at each point
HEADING_PATH = "followBadArc"  # DJI's name for turning the shorter way round
NADIR_DEG = -90.0
# DJI's documented ranges for the mission config and speeds
TAKEOFF_SECURITY_M = (2.0, 1500.0)
SPEED_MS = (1.0, 15.0)


def _e(parent, tag, text=None, ns=WPML):
    el = etree.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        el.text = str(text)
    return el


def _num(v) -> str:
    return f"{float(v):.6f}".rstrip("0").rstrip(".")


def _clamp(v: float, lo_hi: tuple[float, float]) -> float:
    return min(max(float(v), lo_hi[0]), lo_hi[1])


def _mission_config(doc, plan: Plan):
    mc = _e(doc, "missionConfig")
    _e(mc, "flyToWaylineMode", "safely")
    _e(mc, "finishAction", "goHome")
    _e(mc, "exitOnRCLost", "executeLostAction")
    _e(mc, "executeRCLostAction", "goBack")
    # the plan climbs vertically at the station to its first waypoint's height
    _e(mc, "takeOffSecurityHeight", _num(_clamp(plan.waypoints[0].alt_m, TAKEOFF_SECURITY_M)))
    _e(mc, "globalTransitionalSpeed", _num(_clamp(plan.airframe.cruise_speed_ms, SPEED_MS)))
    # a return to home climbs to this first: the route's highest point, already within the rules
    _e(mc, "globalRTHHeight", _num(plan.max_height_m))
    di = _e(mc, "droneInfo")
    _e(di, "droneEnumValue", DRONE_ENUM)
    _e(di, "droneSubEnumValue", DRONE_SUB_ENUM)
    pi = _e(mc, "payloadInfo")
    _e(pi, "payloadEnumValue", PAYLOAD_ENUM)
    _e(pi, "payloadPositionIndex", PAYLOAD_POSITION)
    return mc


def _heading(parent, tag: str, poi: tuple[float, float] | None):
    hp = _e(parent, tag)
    if poi is None:
        _e(hp, "waypointHeadingMode", "followWayline")
    else:
        lon, lat = poi
        _e(hp, "waypointHeadingMode", "towardPOI")
        # "lat,lon,height"; DJI does not aim at a POI's height, 0 is its documented filler
        _e(hp, "waypointPoiPoint", f"{lat:.8f},{lon:.8f},0")
    _e(hp, "waypointHeadingPathMode", HEADING_PATH)
    return hp


def _camera(func: str, suffix: str) -> tuple[str, dict]:
    return func, {"payloadPositionIndex": PAYLOAD_POSITION, "fileSuffix": suffix,
                  "payloadLensIndex": LENS, "useGlobalPayloadLensIndex": 0}


def _gimbal_down() -> tuple[str, dict]:
    return "gimbalRotate", {"gimbalHeadingYawBase": "north", "gimbalRotateMode": "absoluteAngle",
                            "gimbalPitchRotateEnable": 1, "gimbalPitchRotateAngle": _num(NADIR_DEG),
                            "gimbalRollRotateEnable": 0, "gimbalRollRotateAngle": 0,
                            "gimbalYawRotateEnable": 0, "gimbalYawRotateAngle": 0,
                            "gimbalRotateTimeEnable": 0, "gimbalRotateTime": 0,
                            "payloadPositionIndex": PAYLOAD_POSITION}


def _target_actions(w: Waypoint) -> list[tuple]:
    """(func, params[, broadcast]) at a target, in the order they run."""
    kinds = {a.kind for a in w.actions}
    acts: list[tuple] = []
    if kinds & {"photo", "video"}:
        acts.append(_gimbal_down())
    if "photo" in kinds:
        acts.append(_camera("takePhoto", "target"))
    if "video" in kinds:
        acts.append(_camera("startRecord", "target"))
    talk = 0.0
    for b in w.broadcasts():
        p = b.params
        hover = round(p["duration_s"] * p.get("plays", 1), 2)
        talk += hover
        acts.append(("hover", {"hoverTime": _num(hover)}, p))
    if round(w.hold_s - talk, 2) > 0:
        acts.append(("hover", {"hoverTime": _num(round(w.hold_s - talk, 2))}))
    if "video" in kinds:
        acts.append(("stopRecord", {"payloadPositionIndex": PAYLOAD_POSITION, "payloadLensIndex": LENS}))
    return acts


def action_groups(plan: Plan) -> dict[int, list[dict]]:
    """Action groups by the waypoint index whose Placemark holds them (ids unique per file)."""
    out: dict[int, list[dict]] = {}
    gid = 0
    survey = [i for i, w in enumerate(plan.waypoints) if w.kind == "survey"]
    for i, w in enumerate(plan.waypoints):
        groups = []
        if w.kind == "target":
            acts = _target_actions(w)
            if acts:
                groups.append({"start": i, "end": i, "trigger": ("reachPoint", None), "actions": acts})
        if survey and i == survey[0]:
            photo = next((a for a in w.actions if a.kind == "photo"), None)
            if photo is not None:
                groups.append({"start": i, "end": i, "trigger": ("reachPoint", None), "actions": [_gimbal_down()]})
                groups.append({"start": survey[0], "end": survey[-1],
                               "trigger": ("multipleDistance", _num(photo.params.get("distance_m", 20))),
                               "actions": [_camera("takePhoto", "survey")]})
        for g in groups:
            g["id"] = gid
            gid += 1
        if groups:
            out[i] = groups
    return out


def poi_headings(plan: Plan) -> dict[int, tuple[float, float]]:
    """Waypoint index -> POI (lon, lat) for the leg into each waypoint with an ROI action:
    DJI's towardPOI applies from the waypoint that carries it to the next one."""
    out = {}
    for i, w in enumerate(plan.waypoints):
        roi = next((a for a in w.actions if a.kind == "roi"), None)
        if roi is not None and i > 0:
            out[i - 1] = lonlat(roi.params["x"], roi.params["y"])
    return out


def _write_groups(pm, groups: list[dict]):
    for g in groups:
        el = _e(pm, "actionGroup")
        _e(el, "actionGroupId", g["id"])
        _e(el, "actionGroupStartIndex", g["start"])
        _e(el, "actionGroupEndIndex", g["end"])
        _e(el, "actionGroupMode", "sequence")
        trig = _e(el, "actionTrigger")
        kind, param = g["trigger"]
        _e(trig, "actionTriggerType", kind)
        if param is not None:
            _e(trig, "actionTriggerParam", param)
        for aid, act in enumerate(g["actions"]):
            a = _e(el, "action")
            _e(a, "actionId", aid)
            _e(a, "actionActuatorFunc", act[0])
            p = _e(a, "actionActuatorFuncParam")
            for k, v in act[1].items():
                _e(p, k, v)


def _documents(plan: Plan, groups: dict[int, list[dict]]) -> dict[str, bytes]:
    speed = _num(_clamp(plan.airframe.cruise_speed_ms, SPEED_MS))
    pois = poi_headings(plan)
    now_ms = int(time.time() * 1000)
    out = {}
    for which in ("template", "waylines"):
        root = etree.Element(f"{{{KML}}}kml", nsmap=NSMAP)
        doc = etree.SubElement(root, f"{{{KML}}}Document")
        if which == "template":
            _e(doc, "author", "citygrid")
            _e(doc, "createTime", now_ms)
            _e(doc, "updateTime", now_ms)
        _mission_config(doc, plan)
        folder = etree.SubElement(doc, f"{{{KML}}}Folder")
        if which == "template":
            _e(folder, "templateType", "waypoint")
            _e(folder, "templateId", 0)
            cs = _e(folder, "waylineCoordinateSysParam")
            _e(cs, "coordinateMode", "WGS84")
            _e(cs, "heightMode", "relativeToStartPoint")
            _e(cs, "positioningType", "GPS")
            _e(folder, "autoFlightSpeed", speed)
            _e(folder, "globalHeight", _num(plan.waypoints[0].alt_m))
            # gimbal pitch is set by explicit gimbalRotate actions, the pilot may tilt between
            _e(folder, "gimbalPitchMode", "manual")
            _heading(folder, "globalWaypointHeadingParam", None)
            _e(folder, "globalWaypointTurnMode", TURN_MODE)
            _e(folder, "globalUseStraightLine", 1)
        else:
            _e(folder, "templateId", 0)
            _e(folder, "executeHeightMode", "relativeToStartPoint")
            _e(folder, "waylineId", 0)
            _e(folder, "distance", _num(round(plan.distance_m, 1)))
            _e(folder, "duration", _num(round(plan.duration_s, 1)))
            _e(folder, "autoFlightSpeed", speed)
        for i, w in enumerate(plan.waypoints):
            lon, lat = w.lonlat
            pm = etree.SubElement(folder, f"{{{KML}}}Placemark")
            pt = etree.SubElement(pm, f"{{{KML}}}Point")
            etree.SubElement(pt, f"{{{KML}}}coordinates").text = f"{lon:.8f},{lat:.8f}"
            _e(pm, "index", i)
            poi = pois.get(i)
            if which == "template":
                _e(pm, "ellipsoidHeight", _num(w.alt_m))
                _e(pm, "height", _num(w.alt_m))
                _e(pm, "useGlobalHeight", 0)
                _e(pm, "useGlobalSpeed", 1)
                _e(pm, "useGlobalHeadingParam", 0 if poi else 1)
                if poi:
                    _heading(pm, "waypointHeadingParam", poi)
                _e(pm, "useGlobalTurnParam", 1)
            else:
                _e(pm, "executeHeight", _num(w.alt_m))
                _e(pm, "waypointSpeed", speed)
                _heading(pm, "waypointHeadingParam", poi)
                tp = _e(pm, "waypointTurnParam")
                _e(tp, "waypointTurnMode", TURN_MODE)
                _e(tp, "waypointTurnDampingDist", 0)
            _write_groups(pm, groups.get(i, []))
        if which == "template":
            pp = _e(folder, "payloadParam")
            _e(pp, "payloadPositionIndex", PAYLOAD_POSITION)
            _e(pp, "imageFormat", LENS)
        out[which] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return out


def write(plan: Plan, path: str | Path) -> Path:
    """Write ``plan`` as a DJI WPML ``.kmz`` at ``path`` (template, waylines, audio in res/)."""
    path = Path(path)
    res_names: dict[int, str] = {}
    files = []
    for w in plan.waypoints:
        for b in w.broadcasts():
            p = b.params
            name = f"bcast-{len(files) + 1:02d}-{p['sha256'][:12]}.wav"
            res_names[id(p)] = name
            files.append((name, p["audio"]))
    groups = action_groups(plan)
    docs = _documents(plan, groups)
    manifest = []
    for i, gs in sorted(groups.items()):
        for g in gs:
            for aid, act in enumerate(g["actions"]):
                if len(act) > 2:
                    p = act[2]
                    manifest.append({"waypoint": i, "actionGroupId": g["id"], "actionId": aid,
                                     "hoverTime": float(act[1]["hoverTime"]),
                                     "audio_file": f"res/{res_names[id(p)]}", "sha256": p["sha256"],
                                     "duration_s": p["duration_s"], "volume": p["volume"],
                                     "plays": p["plays"], "text": p.get("text")})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("wpmz/template.kml", docs["template"])
        z.writestr("wpmz/waylines.wpml", docs["waylines"])
        for name, src in files:
            z.write(src, f"wpmz/res/{name}")
        if manifest:
            z.writestr("wpmz/res/broadcasts.json", json.dumps({"broadcasts": manifest}, indent=2,
                                                             ensure_ascii=False))
    return path
