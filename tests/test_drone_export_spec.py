"""Every export checked against its format's documentation (tests/wpml_spec.py for DJI WPML,
tests/mavlink_spec.py for the QGC .plan and QGC WPL 110), then against the plan it came
from; and the checkers themselves shown to fail on files missing what the documents require."""
from __future__ import annotations

import copy
import hashlib
import json
import re
import zipfile
from datetime import datetime

import pytest
import shapely
from lxml import etree
from pymavlink import mavutil

from tests import mavlink_spec, wpml_spec
from citygrid.workcal import TZ
from drone import context, plan, rules, speaker
from drone.export import export_file, qgc
from drone.model import lonlat, xy

DAY = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
KML = wpml_spec.KML
WPML = "http://www.dji.com/wpmz/1.0.2"
NS = {"kml": KML, "wpml": WPML}
PLANS = ("target_talk", "target_quiet", "survey")


@pytest.fixture(scope="module")
def ctx(built_layers):
    return context.from_layers(built_layers)


@pytest.fixture(scope="module")
def plans(ctx, tmp_path_factory):
    text = speaker.render(speaker.DEFAULT_TEMPLATES["occupied_road"][1], {"place": "福海夜市"})
    audio = speaker.synthesize(text, tmp_path_factory.mktemp("tts"))
    talk = [speaker.broadcast_params(audio, text, plays=2, volume=70, template="occupied_road"),
            speaker.broadcast_params(audio, text, plays=1, volume=90, template="occupied_road")]
    sub = next(z for z in ctx.zones if z.id == "GEN-substation-02").geom.centroid
    x, y = xy(119.55, 35.44)
    out = {
        # around a prohibited zone (transit points, fences), video, two broadcasts
        "target_talk": plan.plan_target(ctx, (sub.x + 900, sub.y), start=DAY, broadcasts=talk, capture="video"),
        # the issue's example: citygrid drone plan --target 119.548,35.445
        "target_quiet": plan.plan_target(ctx, xy(119.548, 35.445), start=DAY),
        "survey": plan.plan_survey(ctx, shapely.box(x - 300, y - 200, x + 300, y + 200), start=DAY, altitude_m=100),
    }
    for p in out.values():
        assert rules.check(p, ctx) == []
    return out


@pytest.fixture(scope="module")
def exports(plans, ctx, tmp_path_factory):
    """{plan name: {suffix: path}} for every format."""
    out = {}
    for name, p in plans.items():
        d = tmp_path_factory.mktemp(name)
        out[name] = {}
        for suffix in (".kmz", ".plan", ".waypoints"):
            export_file(p, ctx, d / f"m{suffix}")
            out[name][suffix] = d / f"m{suffix}"
    return out


def _docs(path) -> dict[str, etree._Element]:
    files = wpml_spec.read_kmz(str(path))
    return {"template": etree.fromstring(files["wpmz/template.kml"]),
            "waylines": etree.fromstring(files["wpmz/waylines.wpml"]), "files": files}


def _texts(el) -> dict[str, str]:
    return {etree.QName(c).localname: (c.text or "").strip() for c in el if len(c) == 0}


# --- DJI WPML --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PLANS)
def test_kmz_meets_dji_tables(exports, name):
    rep = wpml_spec.check_kmz(str(exports[name][".kmz"]))
    assert rep.problems == []
    d = _docs(exports[name][".kmz"])
    # the elements the issue found missing, by name
    t, w = d["template"], d["waylines"]
    for xp in ("kml:Document/kml:Folder/wpml:globalWaypointTurnMode", "kml:Document/kml:Folder/wpml:gimbalPitchMode",
               "kml:Document/wpml:missionConfig/wpml:globalRTHHeight"):
        assert t.find(xp, NS) is not None, xp
    assert w.find("kml:Document/wpml:missionConfig/wpml:globalRTHHeight", NS) is not None
    for pm in t.iterfind(".//kml:Placemark", NS):
        for tag in ("ellipsoidHeight", "useGlobalHeadingParam", "useGlobalTurnParam"):
            assert pm.find(f"wpml:{tag}", NS) is not None, tag


def _effective(pm, folder, local: str, flag: str, glob: str):
    """A template Placemark's heading or turn setting, resolving its useGlobal* flag."""
    if pm.findtext(f"wpml:{flag}", namespaces=NS) == "1":
        return folder.find(f"wpml:{glob}", NS)
    return pm.find(f"wpml:{local}", NS)


@pytest.mark.parametrize("name", PLANS)
def test_kmz_files_agree_with_each_other_and_the_plan(exports, plans, name):
    p = plans[name]
    d = _docs(exports[name][".kmz"])
    t, w = d["template"], d["waylines"]
    mc_t = _texts(t.find("kml:Document/wpml:missionConfig", NS))
    mc_w = _texts(w.find("kml:Document/wpml:missionConfig", NS))
    assert {k: v for k, v in mc_t.items() if k in mc_w} == mc_w
    for k in ("droneInfo", "payloadInfo"):
        assert _texts(t.find(f"kml:Document/wpml:missionConfig/wpml:{k}", NS)) == \
            _texts(w.find(f"kml:Document/wpml:missionConfig/wpml:{k}", NS))
    assert float(mc_w["globalRTHHeight"]) == p.max_height_m <= p.airframe.max_height_m
    assert float(mc_w["takeOffSecurityHeight"]) == p.waypoints[0].alt_m
    speed = p.airframe.cruise_speed_ms
    assert float(mc_w["globalTransitionalSpeed"]) == speed

    tf, wf = t.find("kml:Document/kml:Folder", NS), w.find("kml:Document/kml:Folder", NS)
    assert tf.findtext("wpml:waylineCoordinateSysParam/wpml:heightMode", namespaces=NS) == "relativeToStartPoint"
    assert wf.findtext("wpml:executeHeightMode", namespaces=NS) == "relativeToStartPoint"
    assert float(tf.findtext("wpml:autoFlightSpeed", namespaces=NS)) == speed
    assert float(wf.findtext("wpml:autoFlightSpeed", namespaces=NS)) == speed
    assert float(wf.findtext("wpml:distance", namespaces=NS)) == pytest.approx(p.distance_m, abs=0.1)
    assert float(wf.findtext("wpml:duration", namespaces=NS)) == pytest.approx(p.duration_s, abs=0.1)

    tp, wp = tf.findall("kml:Placemark", NS), wf.findall("kml:Placemark", NS)
    assert len(tp) == len(wp) == len(p.waypoints)
    roi_at = {i for i, x in enumerate(p.waypoints) if any(a.kind == "roi" for a in x.actions)}
    for i, (a, b, wpt) in enumerate(zip(tp, wp, p.waypoints)):
        ca = a.findtext("kml:Point/kml:coordinates", namespaces=NS)
        assert ca == b.findtext("kml:Point/kml:coordinates", namespaces=NS)
        assert tuple(map(float, ca.split(","))) == pytest.approx(wpt.lonlat, abs=1e-7)
        h = [float(a.findtext(f"wpml:{k}", namespaces=NS)) for k in ("height", "ellipsoidHeight")]
        assert h == [wpt.alt_m, wpt.alt_m] == [float(b.findtext("wpml:executeHeight", namespaces=NS))] * 2
        assert a.findtext("wpml:useGlobalSpeed", namespaces=NS) == "1"
        assert float(b.findtext("wpml:waypointSpeed", namespaces=NS)) == speed
        ha = _effective(a, tf, "waypointHeadingParam", "useGlobalHeadingParam", "globalWaypointHeadingParam")
        hb = b.find("wpml:waypointHeadingParam", NS)
        assert _texts(ha) == _texts(hb)
        if i + 1 in roi_at:  # the leg into the target faces it
            assert _texts(hb)["waypointHeadingMode"] == "towardPOI"
            lat, lon, z = map(float, _texts(hb)["waypointPoiPoint"].split(","))
            assert (lon, lat) == pytest.approx(lonlat(*p.target), abs=1e-7) and z == 0
        else:
            assert _texts(hb)["waypointHeadingMode"] == "followWayline"
        ta = _effective(a, tf, "waypointTurnParam", "useGlobalTurnParam", "globalWaypointTurnMode")
        turn = ta.text if ta.tag.endswith("globalWaypointTurnMode") else ta.findtext("wpml:waypointTurnMode",
                                                                                   namespaces=NS)
        assert turn == b.findtext("wpml:waypointTurnParam/wpml:waypointTurnMode", namespaces=NS)
        ga = [etree.tostring(g, method="c14n") for g in a.findall("wpml:actionGroup", NS)]
        gb = [etree.tostring(g, method="c14n") for g in b.findall("wpml:actionGroup", NS)]
        assert ga == gb  # the same actions in both files

    funcs = lambda pm: [f.text for f in pm.iterfind(".//wpml:actionActuatorFunc", NS)]  # noqa: E731
    for i, wpt in enumerate(p.waypoints):
        pm = wp[i]
        if wpt.kind == "target":
            hovers = [float(x) for x in pm.xpath(".//wpml:hoverTime/text()", namespaces=NS)]
            assert sum(hovers) == pytest.approx(wpt.dwell_s(), abs=0.02)
            talk = [round(b.params["duration_s"] * b.params["plays"], 2) for b in wpt.broadcasts()]
            assert hovers[:len(talk)] == pytest.approx(talk, abs=0.01)
            kinds = {a.kind for a in wpt.actions}
            want = ["gimbalRotate"] + (["takePhoto"] if "photo" in kinds else []) + \
                (["startRecord"] if "video" in kinds else []) + ["hover"] * len(hovers) + \
                (["stopRecord"] if "video" in kinds else [])
            assert funcs(pm) == want
            pitch = pm.findtext(".//wpml:gimbalPitchRotateAngle", namespaces=NS)
            assert float(pitch) == -90
    if p.kind == "survey":
        survey = [i for i, x in enumerate(p.waypoints) if x.kind == "survey"]
        trig = wf.xpath(".//wpml:actionGroup[wpml:actionTrigger/wpml:actionTriggerType='multipleDistance']",
                        namespaces=NS)
        assert len(trig) == 1
        g = trig[0]
        assert [int(g.findtext(f"wpml:actionGroup{k}Index", namespaces=NS)) for k in ("Start", "End")] == \
            [survey[0], survey[-1]]
        dist = next(a for a in p.waypoints[survey[0]].actions if a.kind == "photo").params["distance_m"]
        assert float(g.findtext("wpml:actionTrigger/wpml:actionTriggerParam", namespaces=NS)) == dist
        assert funcs(wp[survey[0]]) == ["gimbalRotate", "takePhoto"]

    # audio: one file in wpmz/res/ per broadcast, tied to its hover in the waylines
    files = d["files"]
    wavs = sorted(n for n in files if n.startswith("wpmz/res/") and n.endswith(".wav"))
    talks = [b for x in p.waypoints for b in x.broadcasts()]
    assert len(wavs) == len(talks)
    if not talks:
        assert "wpmz/res/broadcasts.json" not in files
        return
    manifest = json.loads(files["wpmz/res/broadcasts.json"])["broadcasts"]
    assert len(manifest) == len(talks)
    for m, b in zip(manifest, talks):
        data = files[f"wpmz/{m['audio_file']}"]
        assert hashlib.sha256(data).hexdigest() == m["sha256"] == b.params["sha256"]
        assert (m["plays"], m["volume"]) == (b.params["plays"], b.params["volume"])
        act = wp[m["waypoint"]].xpath(f"wpml:actionGroup[wpml:actionGroupId='{m['actionGroupId']}']"
                                      f"/wpml:action[wpml:actionId='{m['actionId']}']", namespaces=NS)
        assert len(act) == 1 and act[0].findtext("wpml:actionActuatorFunc", namespaces=NS) == "hover"
        assert float(act[0].findtext(".//wpml:hoverTime", namespaces=NS)) == m["hoverTime"] == \
            pytest.approx(b.params["duration_s"] * b.params["plays"], abs=0.01)


def _bytes(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _check(docs) -> list[str]:
    return wpml_spec.check_documents(_bytes(docs["template"]), _bytes(docs["waylines"])).problems


@pytest.mark.parametrize("name", PLANS)
def test_checker_fails_with_any_required_element_removed(exports, name):
    d = _docs(exports[name][".kmz"])
    rep = wpml_spec.check_documents(_bytes(d["template"]), _bytes(d["waylines"]))
    assert rep.problems == [] and len(rep.required) > 100
    missed, seen = [], set()
    for which, path, xpath in rep.required:
        key = (which, re.sub(r"\[\d+\]", "", path))  # the first Placemark, group… stands for the rest
        if key in seen:
            continue
        seen.add(key)
        parent, _, tag = path.rpartition("/")
        tag = tag.split("[")[0]
        docs = {k: copy.deepcopy(v) for k, v in d.items() if k != "files"}
        el = docs[which].xpath(xpath, namespaces=NS)[0]
        el.getparent().remove(el)
        name_tag = tag if tag.startswith("wpml:") else f"kml:{tag}"
        probs = _check(docs)
        if not any(p.startswith(f"{which} {parent}:") and f"{name_tag} missing" in p for p in probs):
            missed.append((which, path, probs[:3]))
    assert missed == []
    assert len(seen) > 40


ISSUE = [("template", "kml:Document/kml:Folder/wpml:globalWaypointTurnMode"),
         ("template", "kml:Document/kml:Folder/wpml:gimbalPitchMode"),
         ("template", "kml:Document/kml:Folder/kml:Placemark[2]/wpml:ellipsoidHeight"),
         ("template", "kml:Document/kml:Folder/kml:Placemark[2]/wpml:useGlobalHeadingParam"),
         ("template", "kml:Document/kml:Folder/kml:Placemark[2]/wpml:useGlobalTurnParam"),
         ("template", "kml:Document/wpml:missionConfig/wpml:globalRTHHeight"),
         ("waylines", "kml:Document/wpml:missionConfig/wpml:globalRTHHeight"),
         ("waylines", "kml:Document/kml:Folder/kml:Placemark[2]/wpml:waypointHeadingParam/"
                      "wpml:waypointHeadingPathMode")]


@pytest.mark.parametrize("which,xpath", ISSUE, ids=[x.rsplit("/", 1)[-1] + "@" + w for w, x in ISSUE])
def test_checker_names_the_elements_the_issue_found_missing(exports, which, xpath):
    d = _docs(exports["target_quiet"][".kmz"])
    el = d[which].xpath(xpath, namespaces=NS)[0]
    el.getparent().remove(el)
    probs = _check(d)
    tag = xpath.rsplit("/", 1)[-1]
    assert len(probs) == 1 and f"{tag} missing" in probs[0] and probs[0].startswith(which), probs


def _edit(d, which, xpath, text=None, remove=False, add=None):
    for el in d[which].xpath(xpath, namespaces=NS):
        if remove:
            el.getparent().remove(el)
        elif add is not None:
            etree.SubElement(el, f"{{{WPML}}}{add[0]}").text = add[1]
        else:
            el.text = text
    return _check(d)


def test_checker_conditions_enumerations_ranges_and_notes(exports):
    path = exports["target_talk"][".kmz"]
    poi = "kml:Document/kml:Folder/kml:Placemark/wpml:waypointHeadingParam[wpml:waypointHeadingMode='towardPOI']"
    # towardPOI needs its POI, in both files
    for which in ("template", "waylines"):
        probs = _edit(_docs(path), which, poi + "/wpml:waypointPoiPoint", remove=True)
        assert probs and all("waypointPoiPoint missing, required when wpml:waypointHeadingMode='towardPOI'" in p
                             for p in probs)
    # a POI that is not lat,lon,height
    assert any("waypointPoiPoint" in p for p in _edit(_docs(path), "waylines", poi + "/wpml:waypointPoiPoint",
                                                        "119.5,35.4"))
    # executeRCLostAction is required only with executeLostAction
    d = _docs(path)
    for which in ("template", "waylines"):
        _edit(d, which, "kml:Document/wpml:missionConfig/wpml:exitOnRCLost", "goContinue")
    assert _edit(d, "template", "kml:Document/wpml:missionConfig/wpml:executeRCLostAction", remove=True) == []
    # local speed and per-point gimbal pitch need their values
    probs = _edit(_docs(path), "template", "kml:Document/kml:Folder/kml:Placemark[1]/wpml:useGlobalSpeed", "0")
    assert len(probs) == 1 and "waypointSpeed missing" in probs[0]
    probs = _edit(_docs(path), "template", "kml:Document/kml:Folder/wpml:gimbalPitchMode", "usePointSetting")
    assert probs and all("gimbalPitchAngle missing" in p for p in probs)
    # a curved turn mode needs globalUseStraightLine; coordinateTurn a damping distance > 0
    d = _docs(path)
    _edit(d, "template", "kml:Document/kml:Folder/wpml:globalUseStraightLine", remove=True)
    assert _check(d) == []
    probs = _edit(d, "template", "kml:Document/kml:Folder/wpml:globalWaypointTurnMode",
                  "toPointAndPassWithContinuityCurvature")
    assert len(probs) == 1 and "globalUseStraightLine missing" in probs[0]
    probs = _edit(_docs(path), "waylines", ".//wpml:waypointTurnMode", "coordinateTurn")
    assert probs and all("waypointTurnDampingDist" in p and "outside (0" in p for p in probs)
    # enumerations and ranges
    cases = [("template", "kml:Document/wpml:missionConfig/wpml:finishAction", "returnHome", "not one of"),
             ("waylines", "kml:Document/wpml:missionConfig/wpml:takeOffSecurityHeight", "1.5", "outside [2, 1500]"),
             ("waylines", "kml:Document/wpml:missionConfig/wpml:globalTransitionalSpeed", "16", "outside [1, 15]"),
             ("waylines", "kml:Document/kml:Folder/kml:Placemark[1]/wpml:waypointSpeed", "0", "outside [1, 15]"),
             ("template", "kml:Document/kml:Folder/wpml:templateId", "70000", "outside [0, 65535]"),
             ("template", "kml:Document/wpml:missionConfig/wpml:droneInfo/wpml:droneSubEnumValue", "5",
              "not a sub-type"),
             ("waylines", ".//wpml:hoverTime", "0", "outside (0"),
             ("waylines", ".//wpml:payloadLensIndex", "wide,thermal", "not in"),
             ("template", "kml:Document/kml:Folder/kml:Placemark[1]/wpml:useGlobalHeight", "yes", "not 0 or 1"),
             ("waylines", ".//wpml:actionActuatorFunc[.='hover']", "megaphone", "not one of"),
             ("template", "kml:Document/kml:Folder/kml:Placemark[1]/kml:Point/kml:coordinates", "35.4,219.5",
              "out of range")]
    for which, xp, value, says in cases:
        probs = _edit(_docs(path), which, xp, value)
        assert probs and any(says in p for p in probs), (xp, value, probs)
    # an element DJI does not document here (a misspelling) is named
    probs = _edit(_docs(path), "waylines", "kml:Document/kml:Folder/kml:Placemark[1]", add=("waypointSped", "12"))
    assert len(probs) == 1 and "wpml:waypointSped is not an element DJI documents" in probs[0]
    # notes: indexes from 0 without gaps, group ids unique, end index >= start index
    probs = _edit(_docs(path), "waylines", "kml:Document/kml:Folder/kml:Placemark[2]/wpml:index", "7")
    assert any("wpml:index runs" in p for p in probs)
    d = _docs(path)
    first = d["waylines"].find(".//wpml:actionGroup", NS)
    first.getparent().append(copy.deepcopy(first))
    assert any("actionGroupId repeated" in p for p in _check(d))
    probs = _edit(_docs(path), "waylines", ".//wpml:actionGroup[1]/wpml:actionGroupEndIndex", "0")
    assert any("actionGroupEndIndex 0 < StartIndex" in p for p in probs)
    probs = _edit(_docs(path), "template", "kml:Document/kml:Folder/wpml:templateId", "3")
    assert any(p.startswith("templateId:") for p in probs)


def test_kmz_layout_is_checked(exports, tmp_path):
    files = wpml_spec.read_kmz(str(exports["target_quiet"][".kmz"]))
    bad = tmp_path / "bad.kmz"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("template.kml", files["wpmz/template.kml"])
        z.writestr("wpmz/waylines.wpml", files["wpmz/waylines.wpml"])
    probs = wpml_spec.check_kmz(str(bad)).problems
    assert "kmz: wpmz/template.kml missing" in probs and any("template.kml is outside" in p for p in probs)


# --- QGroundControl .plan and QGC WPL 110 --------------------------------------------------

@pytest.mark.parametrize("name", PLANS)
def test_plan_and_wpl_meet_their_documents(exports, plans, name):
    doc = json.loads(exports[name][".plan"].read_text())
    assert mavlink_spec.check_plan(doc) == []
    text = exports[name][".waypoints"].read_text()
    assert mavlink_spec.check_wpl(text) == []
    # the same items in both, the WPL after its home line
    rows = [line.split("\t") for line in text.splitlines()[1:]]
    items = doc["mission"]["items"]
    assert len(rows) == len(items) + 1
    for it, row in zip(items, rows[1:]):
        assert (int(row[2]), int(row[3])) == (it["frame"], it["command"])
        assert [float(v) for v in row[4:11]] == pytest.approx(it["params"], abs=1e-7)
    home = doc["mission"]["plannedHomePosition"]
    assert [float(v) for v in rows[0][8:10]] == pytest.approx(home[:2], abs=1e-7)
    p = plans[name]
    nav = [it for it in items if it["command"] == mavutil.mavlink.MAV_CMD_NAV_WAYPOINT]
    assert [it["params"][6] for it in nav] == [w.alt_m for w in p.waypoints[1:-1]]
    if p.kind == "target":
        roi = next(it for it in items if it["command"] == mavutil.mavlink.MAV_CMD_DO_SET_ROI_LOCATION)
        assert (roi["params"][5], roi["params"][4]) == pytest.approx(lonlat(*p.target), abs=1e-7)


def test_exporters_use_pymavlink_numbers():
    ml = mavutil.mavlink
    assert (qgc.NAV_WAYPOINT, qgc.NAV_LOITER_TIME, qgc.NAV_RETURN_TO_LAUNCH, qgc.NAV_TAKEOFF) == \
        (ml.MAV_CMD_NAV_WAYPOINT, ml.MAV_CMD_NAV_LOITER_TIME, ml.MAV_CMD_NAV_RETURN_TO_LAUNCH, ml.MAV_CMD_NAV_TAKEOFF)
    assert (qgc.DO_SET_ROI_LOCATION, qgc.DO_SET_ROI_NONE) == (ml.MAV_CMD_DO_SET_ROI_LOCATION, ml.MAV_CMD_DO_SET_ROI_NONE)
    assert (qgc.IMAGE_START_CAPTURE, qgc.IMAGE_STOP_CAPTURE, qgc.VIDEO_START_CAPTURE, qgc.VIDEO_STOP_CAPTURE) == \
        (ml.MAV_CMD_IMAGE_START_CAPTURE, ml.MAV_CMD_IMAGE_STOP_CAPTURE, ml.MAV_CMD_VIDEO_START_CAPTURE,
         ml.MAV_CMD_VIDEO_STOP_CAPTURE)
    assert (qgc.FRAME_GLOBAL, qgc.FRAME_MISSION, qgc.FRAME_GLOBAL_RELATIVE_ALT) == \
        (ml.MAV_FRAME_GLOBAL, ml.MAV_FRAME_MISSION, ml.MAV_FRAME_GLOBAL_RELATIVE_ALT)
    assert (qgc.FIRMWARE_PX4, qgc.VEHICLE_QUADROTOR) == (ml.MAV_AUTOPILOT_PX4, ml.MAV_TYPE_QUADROTOR)


def test_plan_checker_fails_with_a_required_field_removed(exports):
    doc = json.loads(exports["target_talk"][".plan"].read_text())
    assert doc["geoFence"]["polygons"], "the talk plan flies near a prohibited zone"
    where = [((), t) for t, _, r in mavlink_spec.PLAN_TOP if r]
    where += [(("mission",), t) for t, _, r in mavlink_spec.MISSION if r]
    where += [(("mission", "items", 0), t) for t, _, r in mavlink_spec.SIMPLE_ITEM if r]
    where += [(("geoFence",), t) for t, _, r in mavlink_spec.FENCE if r]
    where += [(("geoFence", "polygons", 0), t) for t, _, r in mavlink_spec.FENCE_POLYGON if r]
    where += [(("rallyPoints",), t) for t, _, r in mavlink_spec.RALLY if r]
    for keys, field in where:
        bad = copy.deepcopy(doc)
        obj = bad
        for k in keys:
            obj = obj[k]
        del obj[field]
        assert any(f"{field} missing" in p for p in mavlink_spec.check_plan(bad)), (keys, field)
    breakers = [(lambda d: d.update(fileType="plan"), "fileType"),
                (lambda d: d["mission"]["items"][1]["params"].pop(), "params must be 7"),
                (lambda d: d["mission"]["items"][1].update(command=99999), "not a MAV_CMD"),
                (lambda d: d["mission"]["items"][1].update(frame=99), "not a MAV_FRAME"),
                (lambda d: d["mission"]["items"][1].update(doJumpId=9), "doJumpId"),
                (lambda d: d["mission"]["items"][1].update(AltitudeMode=2), "AltitudeMode 2 with frame 3"),
                (lambda d: d["mission"].update(firmwareType=99), "MAV_AUTOPILOT"),
                (lambda d: d["geoFence"]["polygons"][0]["polygon"][0].reverse(), "[lat, lon]"),
                (lambda d: d["rallyPoints"]["points"][0].pop(), "[lat, lon, alt]")]
    for brk, says in breakers:
        bad = copy.deepcopy(doc)
        brk(bad)
        assert any(says in p for p in mavlink_spec.check_plan(bad)), says


def test_wpl_checker_fails_on_broken_files(exports):
    text = exports["target_talk"][".waypoints"].read_text()
    lines = text.splitlines()
    cases = [("QGC WPL 100\n" + "\n".join(lines[1:]) + "\n", "line 1"),
             (text.replace("\t", " ", 3), "tab-separated"),
             ("\n".join(lines[:2] + [lines[3]]) + "\n", "INDEX"),
             (text.replace("\t195\t", "\t99999\t"), "not a MAV_CMD"),
             ("\n".join(lines[:2] + ["\t".join(lines[2].split("\t")[:-1])]) + "\n", "fields"),
             (text.rstrip("\n"), "newline")]
    for bad, says in cases:
        assert any(says in p for p in mavlink_spec.check_wpl(bad)), says
