"""Exports read back by their peer readers: the .plan against QGroundControl's documented
fields, the WPL with pymavlink, the .kmz with lxml; broadcasts as holds + sidecar/res."""
from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import datetime

import pytest
from lxml import etree
from pymavlink import mavwp

from citygrid.errors import InvalidInput
from tests import mavlink_spec, wpml_spec
from citygrid.workcal import TZ
from drone import context, plan, rules, speaker
from drone.export import export_file
from drone.model import xy

DAY = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
WPML = "http://www.dji.com/wpmz/1.0.2"
KML = "http://www.opengis.net/kml/2.2"
NS = {"wpml": WPML, "kml": KML}


@pytest.fixture(scope="module")
def ctx(built_layers):
    return context.from_layers(built_layers)


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    text = speaker.render(speaker.DEFAULT_TEMPLATES["occupied_road"][1], {"place": "福海夜市"})
    return text, speaker.synthesize(text, tmp_path_factory.mktemp("tts"))


@pytest.fixture(scope="module")
def talk_plan(ctx, audio):
    text, a = audio
    b = speaker.broadcast_params(a, text, plays=2, volume=70, template="occupied_road")
    # a target whose route must go around a prohibited zone, so fences are present
    sub = next(z for z in ctx.zones if z.id == "GEN-substation-02").geom.centroid
    p = plan.plan_target(ctx, (sub.x + 900, sub.y), start=DAY, broadcasts=[b], capture="video")
    assert rules.check(p, ctx) == []
    return p


def test_tts_wav_length_from_header(audio):
    text, a = audio
    assert a.path.exists() and a.duration_s > 1.0
    assert a.sha256 == hashlib.sha256(a.path.read_bytes()).hexdigest()
    assert abs(speaker.wav_duration(a.path) - a.duration_s) < 0.01


def test_qgc_plan_fields(talk_plan, ctx, tmp_path, audio):
    path = tmp_path / "m.plan"
    files = export_file(talk_plan, ctx, path)
    doc = json.loads(path.read_text())
    assert mavlink_spec.check_plan(doc) == []
    assert doc["fileType"] == "Plan" and doc["version"] == 1 and doc["groundStation"] == "QGroundControl"
    m = doc["mission"]
    assert m["version"] == 2 and len(m["plannedHomePosition"]) == 3
    for k in ("firmwareType", "vehicleType", "cruiseSpeed", "hoverSpeed", "globalPlanAltitudeMode"):
        assert k in m
    items = m["items"]
    for n, it in enumerate(items, start=1):
        assert it["type"] == "SimpleItem" and len(it["params"]) == 7
        assert isinstance(it["command"], int) and isinstance(it["frame"], int)
        assert it["autoContinue"] is True and it["doJumpId"] == n
    cmds = [it["command"] for it in items]
    assert cmds[0] == 22 and cmds[-1] == 20
    assert {16, 19, 195, 2500}.issubset(cmds)
    assert cmds.index(195) < cmds.index(19)
    loiters = [it for it in items if it["command"] == 19]
    _, a = audio
    assert loiters[0]["params"][0] == pytest.approx(a.duration_s * 2, abs=0.01)
    assert doc["geoFence"]["version"] == 2 and doc["rallyPoints"]["version"] == 2
    polys = doc["geoFence"]["polygons"]
    assert polys and all(p["inclusion"] is False and p["version"] == 1 and len(p["polygon"]) >= 3 for p in polys)
    lat0, lon0 = polys[0]["polygon"][0]
    assert 34 < lat0 < 36 and 118 < lon0 < 120  # [lat, lon] order
    assert doc["rallyPoints"]["points"][0][:2] == m["plannedHomePosition"][:2]
    # sidecar
    side = tmp_path / "m.broadcasts.json"
    assert side in files
    s = json.loads(side.read_text())["broadcasts"]
    assert len(s) == 1 and s[0]["command"] == 19 and s[0]["plays"] == 2 and s[0]["volume"] == 70
    assert items[s[0]["sequence"] - 1]["command"] == 19  # doJumpId of the hold
    wav = tmp_path / s[0]["audio_file"]
    assert hashlib.sha256(wav.read_bytes()).hexdigest() == s[0]["sha256"] == a.sha256


def test_wpl_read_back_by_pymavlink(talk_plan, ctx, tmp_path, audio):
    path = tmp_path / "m.waypoints"
    export_file(talk_plan, ctx, path)
    assert path.read_text().splitlines()[0] == "QGC WPL 110"
    assert mavlink_spec.check_wpl(path.read_text()) == []
    loader = mavwp.MAVWPLoader()
    n = loader.load(str(path))
    wps = [loader.wp(i) for i in range(n)]
    assert n == len(path.read_text().splitlines()) - 1
    cmds = [w.command for w in wps]
    assert cmds[1] == 22 and cmds[-1] == 20 and 195 in cmds and 19 in cmds
    st_lon, st_lat = talk_plan.waypoints[0].lonlat
    assert wps[0].x == pytest.approx(st_lat, abs=1e-6) and wps[0].y == pytest.approx(st_lon, abs=1e-6)
    tgt = next(w for w in talk_plan.waypoints if w.kind == "target")
    hold = next(w for w in wps if w.command == 19)
    assert (hold.x, hold.y) == pytest.approx(tgt.lonlat[::-1], abs=1e-6)
    _, a = audio
    assert hold.param1 == pytest.approx(a.duration_s * 2, abs=0.01)
    assert all(w.z <= 120 for w in wps)
    s = json.loads((tmp_path / "m.broadcasts.json").read_text())["broadcasts"][0]
    assert wps[s["sequence"]].command == 19 and wps[s["sequence"]].seq == s["sequence"]


def test_kmz_parsed_with_lxml(talk_plan, ctx, tmp_path, audio):
    path = tmp_path / "m.kmz"
    export_file(talk_plan, ctx, path)
    assert wpml_spec.check_kmz(str(path)).problems == []
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        assert "wpmz/template.kml" in names and "wpmz/waylines.wpml" in names
        wavs = [n for n in names if n.startswith("wpmz/res/") and n.endswith(".wav")]
        assert len(wavs) == 1
        _, a = audio
        assert hashlib.sha256(z.read(wavs[0])).hexdigest() == a.sha256
        for name in ("wpmz/template.kml", "wpmz/waylines.wpml"):
            root = etree.fromstring(z.read(name))
            assert root.nsmap["wpml"] == WPML and root.tag == f"{{{KML}}}kml"
            mc = root.find("kml:Document/wpml:missionConfig", NS)
            for tag in ("flyToWaylineMode", "finishAction", "exitOnRCLost", "executeRCLostAction",
                        "takeOffSecurityHeight", "globalTransitionalSpeed"):
                assert mc.find(f"wpml:{tag}", NS) is not None, tag
            assert mc.findtext("wpml:droneInfo/wpml:droneEnumValue", namespaces=NS)
        root = etree.fromstring(z.read("wpmz/waylines.wpml"))
        pms = root.findall(".//kml:Placemark", NS)
        assert [int(p.findtext("wpml:index", namespaces=NS)) for p in pms] == list(range(len(talk_plan.waypoints)))
        for p in pms:
            assert float(p.findtext("wpml:executeHeight", namespaces=NS)) <= 120
            assert float(p.findtext("wpml:waypointSpeed", namespaces=NS)) > 0
        hovers = root.findall(".//wpml:action[wpml:actionActuatorFunc='hover']", NS)
        times = [float(h.findtext("wpml:actionActuatorFuncParam/wpml:hoverTime", namespaces=NS)) for h in hovers]
        assert pytest.approx(a.duration_s * 2, abs=0.01) in times
        group = hovers[0].getparent()
        assert group.findtext("wpml:actionTrigger/wpml:actionTriggerType", namespaces=NS) == "reachPoint"
        funcs = [e.text for e in root.iter(f"{{{WPML}}}actionActuatorFunc")]
        assert "startRecord" in funcs and "stopRecord" in funcs
        manifest = json.loads(z.read("wpmz/res/broadcasts.json"))["broadcasts"]
        assert manifest[0]["audio_file"] == wavs[0][len("wpmz/"):] and manifest[0]["sha256"] == a.sha256


def test_survey_exports(ctx, tmp_path):
    import shapely

    x, y = xy(119.55, 35.44)
    poly = shapely.box(x - 300, y - 200, x + 300, y + 200)
    p = plan.plan_survey(ctx, poly, start=DAY, altitude_m=100)
    assert rules.check(p, ctx) == []
    export_file(p, ctx, tmp_path / "s.kmz")
    export_file(p, ctx, tmp_path / "s.waypoints")
    assert wpml_spec.check_kmz(str(tmp_path / "s.kmz")).problems == []
    assert mavlink_spec.check_wpl((tmp_path / "s.waypoints").read_text()) == []
    loader = mavwp.MAVWPLoader()
    n = loader.load(str(tmp_path / "s.waypoints"))
    cmds = [loader.wp(i).command for i in range(n)]
    assert 2000 in cmds and 2001 in cmds
    with zipfile.ZipFile(tmp_path / "s.kmz") as z:
        root = etree.fromstring(z.read("wpmz/waylines.wpml"))
        trig = root.findall(".//wpml:actionTrigger/wpml:actionTriggerType", NS)
        assert "multipleDistance" in [t.text for t in trig]


def test_export_refuses_a_rule_breaking_plan(ctx, tmp_path):
    p = plan.plan_target(ctx, xy(119.55, 35.44), start=DAY, altitude_m=150)
    with pytest.raises(Exception) as exc:
        export_file(p, ctx, tmp_path / "bad.plan")
    assert isinstance(exc.value, InvalidInput)  # the API answers it 422
    assert not (tmp_path / "bad.plan").exists()
