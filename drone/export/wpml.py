"""DJI WPML ``.kmz``: a zip holding ``wpmz/template.kml``, ``wpmz/waylines.wpml`` and
``wpmz/res/`` (namespace http://www.dji.com/wpmz/1.0.2).

Each waypoint is a Placemark with ``wpml:index``, ``wpml:executeHeight`` (waylines; height
above the take-off point) and ``wpml:waypointSpeed``; the target holds with ``towardPOI``
heading and an action group (reachPoint): takePhoto/startRecord, then one ``hover`` per
broadcast lasting audio length x plays. The audio files go in ``wpmz/res/`` and
``wpmz/res/broadcasts.json`` ties each file to its waypoint and hover action (volume,
plays): we do not guess the airframe's megaphone element names. A survey photographs with a
``multipleDistance`` trigger between its first and last pass points.
"""
from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

from lxml import etree

from drone.model import Plan, lonlat

KML = "http://www.opengis.net/kml/2.2"
WPML = "http://www.dji.com/wpmz/1.0.2"
NSMAP = {None: KML, "wpml": WPML}


def _e(parent, tag, text=None, ns=WPML):
    el = etree.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        el.text = str(text)
    return el


def _num(v) -> str:
    return f"{float(v):.6f}".rstrip("0").rstrip(".")


def _mission_config(doc, plan: Plan):
    mc = _e(doc, "missionConfig")
    _e(mc, "flyToWaylineMode", "safely")
    _e(mc, "finishAction", "goHome")
    _e(mc, "exitOnRCLost", "executeLostAction")
    _e(mc, "executeRCLostAction", "goBack")
    _e(mc, "takeOffSecurityHeight", _num(min(max(plan.waypoints[0].alt_m, 1.2), 1500)))
    _e(mc, "globalTransitionalSpeed", _num(min(max(plan.airframe.cruise_speed_ms, 1), 15)))
    di = _e(mc, "droneInfo")
    _e(di, "droneEnumValue", 67)  # a light enterprise quadcopter; set to the real airframe
    _e(di, "droneSubEnumValue", 0)
    pi = _e(mc, "payloadInfo")
    _e(pi, "payloadEnumValue", 52)
    _e(pi, "payloadPositionIndex", 0)
    return mc


def _action(group, aid, func, params: dict):
    a = _e(group, "action")
    _e(a, "actionId", aid)
    _e(a, "actionActuatorFunc", func)
    p = _e(a, "actionActuatorFuncParam")
    for k, v in params.items():
        _e(p, k, v)
    return a


def _documents(plan: Plan, res_names: dict[int, list[str]]):
    speed = plan.airframe.cruise_speed_ms
    now_ms = int(time.time() * 1000)
    out = {}
    manifest = []
    for which in ("template", "waylines"):
        root = etree.Element(f"{{{KML}}}kml", nsmap=NSMAP)
        doc = etree.SubElement(root, f"{{{KML}}}Document")
        if which == "template":
            _e(doc, "author", "citygrid")
            _e(doc, "createTime", now_ms)
            _e(doc, "updateTime", now_ms)
        _mission_config(doc, plan)
        folder = etree.SubElement(doc, f"{{{KML}}}Folder")
        _e(folder, "templateId", 0)
        if which == "template":
            _e(folder, "templateType", "waypoint")
            cs = _e(folder, "waylineCoordinateSysParam")
            _e(cs, "coordinateMode", "WGS84")
            _e(cs, "heightMode", "relativeToStartPoint")
            _e(folder, "autoFlightSpeed", _num(speed))
            _e(folder, "globalHeight", _num(plan.waypoints[0].alt_m))
        else:
            _e(folder, "executeHeightMode", "relativeToStartPoint")
            _e(folder, "waylineId", 0)
            _e(folder, "distance", _num(plan.distance_m))
            _e(folder, "duration", _num(plan.duration_s))
            _e(folder, "autoFlightSpeed", _num(speed))
        group_id = 0
        survey = [i for i, w in enumerate(plan.waypoints) if w.kind == "survey"]
        for i, w in enumerate(plan.waypoints):
            lon, lat = w.lonlat
            pm = etree.SubElement(folder, f"{{{KML}}}Placemark")
            pt = etree.SubElement(pm, f"{{{KML}}}Point")
            etree.SubElement(pt, f"{{{KML}}}coordinates").text = f"{lon:.8f},{lat:.8f}"
            _e(pm, "index", i)
            if which == "template":
                _e(pm, "height", _num(w.alt_m))
                _e(pm, "useGlobalHeight", 0)
                _e(pm, "useGlobalSpeed", 1)
            else:
                _e(pm, "executeHeight", _num(w.alt_m))
            _e(pm, "waypointSpeed", _num(speed))
            hp = _e(pm, "waypointHeadingParam")
            roi = next((a for a in w.actions if a.kind == "roi"), None)
            if roi is not None:
                rlon, rlat = lonlat(roi.params["x"], roi.params["y"])
                _e(hp, "waypointHeadingMode", "towardPOI")
                _e(hp, "waypointPoiPoint", f"{rlat:.8f},{rlon:.8f},{_num(roi.params.get('alt_m', 0))}")
            else:
                _e(hp, "waypointHeadingMode", "followWayline")
            tp = _e(pm, "waypointTurnParam")
            _e(tp, "waypointTurnMode", "toPointAndStopWithDiscontinuityCurvature")
            _e(tp, "waypointTurnDampingDist", 0)
            kinds = [a.kind for a in w.actions]
            acts = []
            if w.kind == "target":
                if "photo" in kinds:
                    acts.append(("takePhoto", {"payloadPositionIndex": 0}))
                if "video" in kinds:
                    acts.append(("startRecord", {"payloadPositionIndex": 0}))
                talk = 0.0
                for b in w.broadcasts():
                    p = b.params
                    hover = round(p["duration_s"] * p.get("plays", 1), 2)
                    talk += hover
                    acts.append(("hover", {"hoverTime": _num(hover)}, p))
                if w.hold_s - talk > 0:
                    acts.append(("hover", {"hoverTime": _num(w.hold_s - talk)}))
                if "video" in kinds:
                    acts.append(("stopRecord", {"payloadPositionIndex": 0}))
            if acts:
                g = _e(pm, "actionGroup")
                _e(g, "actionGroupId", group_id)
                _e(g, "actionGroupStartIndex", i)
                _e(g, "actionGroupEndIndex", i)
                _e(g, "actionGroupMode", "sequence")
                trig = _e(g, "actionTrigger")
                _e(trig, "actionTriggerType", "reachPoint")
                for aid, act in enumerate(acts):
                    _action(g, aid, act[0], act[1])
                    if which == "waylines" and len(act) > 2:
                        p = act[2]
                        manifest.append({"waypoint": i, "actionGroupId": group_id, "actionId": aid,
                                         "hoverTime": float(act[1]["hoverTime"]),
                                         "audio_file": f"res/{res_names[id(p)]}", "sha256": p["sha256"],
                                         "duration_s": p["duration_s"], "volume": p["volume"],
                                         "plays": p["plays"], "text": p.get("text")})
                group_id += 1
            if survey and i == survey[0]:
                photo = next((a for a in w.actions if a.kind == "photo"), None)
                if photo is not None:
                    g = _e(pm, "actionGroup")
                    _e(g, "actionGroupId", group_id)
                    _e(g, "actionGroupStartIndex", survey[0])
                    _e(g, "actionGroupEndIndex", survey[-1])
                    _e(g, "actionGroupMode", "sequence")
                    trig = _e(g, "actionTrigger")
                    _e(trig, "actionTriggerType", "multipleDistance")
                    _e(trig, "actionTriggerParam", _num(photo.params.get("distance_m", 20)))
                    _action(g, 0, "takePhoto", {"payloadPositionIndex": 0})
                    group_id += 1
        out[which] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return out, manifest


def write(plan: Plan, path: str | Path) -> Path:
    path = Path(path)
    res_names: dict[int, str] = {}
    files = []
    for w in plan.waypoints:
        for b in w.broadcasts():
            p = b.params
            name = f"bcast-{len(files) + 1:02d}-{p['sha256'][:12]}.wav"
            res_names[id(p)] = name
            files.append((name, p["audio"]))
    docs, manifest = _documents(plan, res_names)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("wpmz/template.kml", docs["template"])
        z.writestr("wpmz/waylines.wpml", docs["waylines"])
        for name, src in files:
            z.write(src, f"wpmz/res/{name}")
        if manifest:
            z.writestr("wpmz/res/broadcasts.json", json.dumps({"broadcasts": manifest}, indent=2,
                                                             ensure_ascii=False))
    return path
