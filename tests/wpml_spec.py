"""DJI WPML (``.kmz`` for DJI Pilot 2 / FlightHub 2) as DJI documents it, as data, and a
checker built on those tables.

Sources (DJI Cloud API, "DJI WPML" reference, Chinese pages, which carry the 必需元素 column;
the same text is in github.com/dji-sdk/Cloud-API-Doc docs/cn/60.api-reference/00.dji-wpml/):

* TEMPLATE  -- "template.kml 说明",
  https://developer.dji.com/doc/cloud-api-tutorial/cn/api-reference/dji-wpml/template-kml.html
* WAYLINES  -- "waylines.wpml 说明",
  https://developer.dji.com/doc/cloud-api-tutorial/cn/api-reference/dji-wpml/waylines-wpml.html
* COMMON    -- "共用元素信息" (Common Elements),
  https://developer.dji.com/doc/cloud-api-tutorial/cn/api-reference/dji-wpml/common-element.html

Each row: is the element required (always, never, or when an XPath condition on its parent
holds -- DJI's "当且仅当 … 时必需"), its type, its enumeration or range, and the airframes
(``droneEnumValue``) the row applies to. A row DJI marks required only for some airframes
binds only files declaring one of them.

Structures the tables list with "-" (droneInfo, payloadInfo, waylineCoordinateSysParam,
actionTrigger, action, actionActuatorFuncParam) are treated as required: they hold required
elements and every one of DJI's sample files carries them. ``globalWaypointHeadingParam`` is
required when a Placemark says it uses the global heading. Where DJI's pages are silent the
elements DJI Pilot 2 itself writes are allowed (``PILOT2``); anything else is reported, so a
misspelt element cannot pass.
"""
from __future__ import annotations

import io
import math
import re
import zipfile
from dataclasses import dataclass, field

from lxml import etree

KML = "http://www.opengis.net/kml/2.2"
WPML_PREFIX = "http://www.dji.com/wpmz/"
TEMPLATE = "DJI template.kml 说明"
WAYLINES = "DJI waylines.wpml 说明"
COMMON = "DJI 共用元素信息"

# droneEnumValue (COMMON, droneInfo): 89 M350 RTK, 60 M300 RTK, 67 M30/M30T, 77 M3E/M3T/M3M,
# 91 M3D/M3TD; sub-types per type
M300, M350, M30, M3E, M3D = 60, 89, 67, 77, 91
ALL = frozenset({M300, M350, M30, M3E, M3D})
SUB_TYPES = {M30: {0, 1}, M3E: {0, 1, 2}, M3D: {0, 1}, M300: {0}, M350: {0}}
PAYLOADS = (42, 43, 52, 53, 61, 66, 67, 68, 80, 81, 65534, 82, 83)
MOUNTS = (0, 1, 2)
LENSES = ("wide", "zoom", "ir", "narrow_band", "visable")  # "visable" is DJI's spelling
TURN_MODES = ("coordinateTurn", "toPointAndStopWithDiscontinuityCurvature",
              "toPointAndStopWithContinuityCurvature", "toPointAndPassWithContinuityCurvature")
CURVED = ("wpml:{0}='toPointAndStopWithContinuityCurvature' or "
          "wpml:{0}='toPointAndPassWithContinuityCurvature'")


@dataclass(frozen=True)
class Rule:
    req: bool | str = False        # True, False or an XPath on the parent: required iff it holds
    kind: str = "str"              # int float bool enum list latlonalt lonlat struct str subenum
    values: tuple = ()             # enumeration (enum, list)
    range: tuple | None = None     # (lo, hi, "[]" | "(]" | "[)" | "()"); None bound = open
    models: frozenset = ALL        # droneEnumValue codes the row applies to
    source: str = COMMON
    many: bool = False             # may repeat
    value_if_required: bool = False  # value checked only when required (see damping distance)


def R(req=True, kind="str", values=(), rng=None, models=ALL, source=COMMON, many=False, lax=False) -> Rule:
    """A table row, required unless ``req`` says otherwise."""
    return Rule(req, kind, tuple(values), rng, frozenset(models), source, many, lax)


def _when(**eq) -> str:
    """XPath: sibling elements equal to these values (DJI's "当且仅当 X 为 Y 时必需")."""
    return " and ".join(f"wpml:{k}='{v}'" for k, v in eq.items())


# --- tables -------------------------------------------------------------------------------

MISSION_CONFIG = {  # TEMPLATE / WAYLINES: 任务信息 (parent wpml:missionConfig)
    "wpml:flyToWaylineMode": R(kind="enum", values=("safely", "pointToPoint"), source=TEMPLATE),
    "wpml:finishAction": R(kind="enum", values=("goHome", "noAction", "autoLand", "gotoFirstWaypoint"),
                           source=TEMPLATE),
    "wpml:exitOnRCLost": R(kind="enum", values=("goContinue", "executeLostAction"), source=TEMPLATE),
    "wpml:executeRCLostAction": R(_when(exitOnRCLost="executeLostAction"), "enum", ("goBack", "landing", "hover"),
                                  source=TEMPLATE),
    "wpml:takeOffSecurityHeight": R(kind="float", rng=(2, 1500, "[]"), source=TEMPLATE),
    "wpml:globalTransitionalSpeed": R(kind="float", rng=(1, 15, "[]"), source=TEMPLATE),
    "wpml:globalRTHHeight": R(kind="float", source=TEMPLATE),
    "wpml:droneInfo": R(kind="struct", source=TEMPLATE),
    "wpml:payloadInfo": R(kind="struct", source=TEMPLATE),
    "wpml:autoRerouteInfo": R(False, "struct", models={M3D}, source=TEMPLATE),
}
MISSION_CONFIG_TEMPLATE = {
    **MISSION_CONFIG,
    "wpml:takeOffRefPoint": R(False, "latlonalt", models={M30, M3E, M3D}, source=TEMPLATE),
    "wpml:takeOffRefPointAGLHeight": R(False, "float", models={M30, M3E, M3D}, source=TEMPLATE),
}
DRONE_INFO = {
    "wpml:droneEnumValue": R(kind="enum", values=tuple(str(v) for v in sorted(ALL))),
    # 必需 when the main type is a valid value
    "wpml:droneSubEnumValue": R("wpml:droneEnumValue='60' or wpml:droneEnumValue='89' or "
                                "wpml:droneEnumValue='67' or wpml:droneEnumValue='77' or "
                                "wpml:droneEnumValue='91'", "subenum"),
}
PAYLOAD_INFO = {
    "wpml:payloadEnumValue": R(kind="enum", values=tuple(str(v) for v in PAYLOADS)),
    "wpml:payloadPositionIndex": R(kind="enum", values=tuple(str(v) for v in MOUNTS)),
}
AUTO_REROUTE = {
    "wpml:missionAutoRerouteMode": R(kind="bool", models={M3D}),
    "wpml:transitionalAutoRerouteMode": R(kind="bool", models={M3D}),
}
PAYLOAD_PARAM = {  # COMMON / TEMPLATE: <wpml:payloadParam>
    "wpml:payloadPositionIndex": R(kind="enum", values=tuple(str(v) for v in MOUNTS)),
    "wpml:focusMode": R(False, "enum", ("firstPoint", "custom"), models={M300, M350}),
    "wpml:meteringMode": R(False, "enum", ("average", "spot"), models={M300, M350}),
    "wpml:dewarpingEnable": R(False, "bool", models={M300, M350}),
    "wpml:returnMode": R(False, "enum", ("singleReturnStrongest", "dualReturn", "tripleReturn"),
                         models={M300, M350}),
    "wpml:samplingRate": R(False, "enum", ("60000", "80000", "120000", "160000", "180000", "240000"),
                           models={M300, M350}),
    "wpml:scanningMode": R(False, "enum", ("repetitive", "nonRepetitive"), models={M300, M350}),
    "wpml:modelColoringEnable": R(False, "bool", models={M300, M350}),
    "wpml:imageFormat": R(kind="list", values=LENSES),
}
TEMPLATE_FOLDER = {  # TEMPLATE: 模板共用的元素 + 航点飞行模板元素 (parent Folder)
    "wpml:templateType": R(kind="enum", values=("waypoint", "mapping2d", "mapping3d", "mappingStrip"),
                           source=TEMPLATE),
    "wpml:templateId": R(kind="int", rng=(0, 65535, "[]"), source=TEMPLATE),
    "wpml:autoFlightSpeed": R(kind="float", rng=(1, 15, "[]"), source=TEMPLATE),
    "wpml:waylineCoordinateSysParam": R(kind="struct", source=TEMPLATE),
    "wpml:payloadParam": R(False, "struct", source=TEMPLATE),
    "wpml:globalWaypointTurnMode": R(kind="enum", values=TURN_MODES, source=TEMPLATE),
    "wpml:globalUseStraightLine": R(CURVED.format("globalWaypointTurnMode"), "bool", models={M30, M3E, M3D},
                                    source=TEMPLATE),
    "wpml:gimbalPitchMode": R(kind="enum", values=("manual", "usePointSetting"), source=TEMPLATE),
    "wpml:globalHeight": R(kind="float", source=TEMPLATE),
    "wpml:globalWaypointHeadingParam": R("kml:Placemark[wpml:useGlobalHeadingParam='1']", "struct",
                                        source=TEMPLATE),
    "kml:Placemark": R(kind="struct", many=True, source=TEMPLATE),
}
COORDINATE_SYS = {  # TEMPLATE: 坐标系参数信息 (parent wpml:waylineCoordinateSysParam)
    "wpml:coordinateMode": R(kind="enum", values=("WGS84",), source=TEMPLATE),
    "wpml:heightMode": R(kind="enum", values=("EGM96", "relativeToStartPoint", "aboveGroundLevel",
                                              "realTimeFollowSurface"), source=TEMPLATE),
    "wpml:positioningType": R(False, "enum", ("GPS", "RTKBaseStation", "QianXun", "Custom"), source=TEMPLATE),
    # only for the mapping templates (mapping2d, mapping3d, mappingStrip)
    "wpml:globalShootHeight": R("../wpml:templateType!='waypoint'", "float", source=TEMPLATE),
    "wpml:surfaceFollowModeEnable": R("../wpml:templateType!='waypoint'", "bool", source=TEMPLATE),
    "wpml:surfaceRelativeHeight": R("../wpml:templateType!='waypoint' and wpml:surfaceFollowModeEnable='1'",
                                    "float", source=TEMPLATE),
}
TEMPLATE_PLACEMARK = {  # TEMPLATE: 航点信息 (parent Placemark)
    "kml:Point": R(kind="struct", source=TEMPLATE),
    "wpml:index": R(kind="int", rng=(0, 65535, "[]"), source=TEMPLATE),
    "wpml:useGlobalHeight": R(kind="bool", source=TEMPLATE),
    "wpml:ellipsoidHeight": R(_when(useGlobalHeight=0), "float", source=TEMPLATE),
    "wpml:height": R(_when(useGlobalHeight=0), "float", source=TEMPLATE),
    "wpml:useGlobalSpeed": R(kind="bool", source=TEMPLATE),
    "wpml:waypointSpeed": R(_when(useGlobalSpeed=0), "float", rng=(1, 15, "[]"), source=TEMPLATE),
    "wpml:useGlobalHeadingParam": R(kind="bool", source=TEMPLATE),
    "wpml:waypointHeadingParam": R(_when(useGlobalHeadingParam=0), "struct", source=TEMPLATE),
    "wpml:useGlobalTurnParam": R(kind="bool", source=TEMPLATE),
    "wpml:waypointTurnParam": R(_when(useGlobalTurnParam=0), "struct", source=TEMPLATE),
    "wpml:useStraightLine": R(CURVED.format("waypointTurnParam/wpml:waypointTurnMode"), "bool", source=TEMPLATE),
    "wpml:gimbalPitchAngle": R("../wpml:gimbalPitchMode='usePointSetting'", "float", source=TEMPLATE),
    "wpml:actionGroup": R(False, "struct", many=True, source=TEMPLATE),
}
POINT = {"kml:coordinates": R(kind="lonlat", source=TEMPLATE)}
WAYLINES_FOLDER = {  # WAYLINES: 航线信息 (parent Folder)
    "wpml:templateId": R(kind="int", rng=(0, 65535, "[]"), source=WAYLINES),
    "wpml:waylineId": R(kind="int", rng=(0, 65535, "[]"), source=WAYLINES),
    "wpml:autoFlightSpeed": R(kind="float", rng=(1, 15, "[]"), source=WAYLINES),
    "wpml:executeHeightMode": R(kind="enum", values=("WGS84", "relativeToStartPoint", "realTimeFollowSurface"),
                                source=WAYLINES),
    "wpml:startActionGroup": R(False, "struct", models={M30, M3E, M3D}, source=WAYLINES),
    "kml:Placemark": R(kind="struct", many=True, source=WAYLINES),
}
WAYLINES_PLACEMARK = {  # WAYLINES: 航点信息 (parent Placemark). waylines.wpml has no
    # useGlobal* flags, so the rows "required when useGlobal… is 0" always bind here.
    "kml:Point": R(kind="struct", source=WAYLINES),
    "wpml:index": R(kind="int", rng=(0, 65535, "[]"), source=WAYLINES),
    "wpml:executeHeight": R(kind="float", source=WAYLINES),
    "wpml:waypointSpeed": R(kind="float", rng=(1, 15, "[]"), source=WAYLINES),
    "wpml:waypointHeadingParam": R(kind="struct", source=WAYLINES),
    "wpml:waypointTurnParam": R(kind="struct", source=WAYLINES),
    "wpml:useStraightLine": R(CURVED.format("waypointTurnParam/wpml:waypointTurnMode"), "bool",
                              models={M30, M3E, M3D}, source=WAYLINES),
    "wpml:actionGroup": R(False, "struct", many=True, source=WAYLINES),
}
HEADING = {  # COMMON: <wpml:waypointHeadingParam> & <wpml:globalWaypointHeadingParam>
    "wpml:waypointHeadingMode": R(kind="enum", values=("followWayline", "manually", "fixed", "smoothTransition",
                                                       "towardPOI")),
    "wpml:waypointHeadingAngle": R(_when(waypointHeadingMode="smoothTransition"), "float"),
    "wpml:waypointPoiPoint": R(_when(waypointHeadingMode="towardPOI"), "latlonalt"),
    "wpml:waypointHeadingPathMode": R(kind="enum", values=("clockwise", "counterClockwise", "followBadArc")),
}
TURN = {  # COMMON: <wpml:waypointTurnParam>
    "wpml:waypointTurnMode": R(kind="enum", values=TURN_MODES),
    # (0, leg length]; DJI's own samples write 0 where it is not required, so the value is
    # checked only when it is
    "wpml:waypointTurnDampingDist": R(_when(waypointTurnMode="coordinateTurn") + " or (" +
                                      _when(waypointTurnMode="toPointAndPassWithContinuityCurvature") +
                                      " and ../wpml:useStraightLine='1')", "float", rng=(0, None, "(]"), lax=True),
}
ACTION_GROUP = {  # COMMON: <wpml:actionGroup>
    "wpml:actionGroupId": R(kind="int", rng=(0, 65535, "[]")),
    "wpml:actionGroupStartIndex": R(kind="int", rng=(0, 65535, "[]")),
    "wpml:actionGroupEndIndex": R(kind="int", rng=(0, 65535, "[]")),
    "wpml:actionGroupMode": R(kind="enum", values=("sequence",)),
    "wpml:actionTrigger": R(kind="struct"),
    "wpml:action": R(kind="struct", many=True),
}
START_ACTION_GROUP = {"wpml:action": R(kind="struct", many=True, source=WAYLINES)}
ACTION_TRIGGER = {  # COMMON: <wpml:actionTrigger>
    "wpml:actionTriggerType": R(kind="enum", values=("reachPoint", "betweenAdjacentPoints", "multipleTiming",
                                                     "multipleDistance")),
    # the table leaves "-": its value is the interval (s or m) of the two "multiple" triggers
    "wpml:actionTriggerParam": R("wpml:actionTriggerType='multipleTiming' or "
                                 "wpml:actionTriggerType='multipleDistance'", "float", rng=(0, None, "()")),
}
FUNCS = ("takePhoto", "startRecord", "stopRecord", "focus", "zoom", "customDirName", "gimbalRotate", "rotateYaw",
         "hover", "gimbalEvenlyRotate", "accurateShoot", "orientedShoot")
ACTION = {  # COMMON: <wpml:action>
    "wpml:actionId": R(kind="int", rng=(0, 65535, "[]")),
    "wpml:actionActuatorFunc": R(kind="enum", values=FUNCS),
    "wpml:actionActuatorFuncParam": R(kind="struct"),
}
_MOUNT = R(kind="enum", values=tuple(str(v) for v in MOUNTS))
_CAMERA = {
    "wpml:payloadPositionIndex": _MOUNT,
    "wpml:fileSuffix": R(kind="str"),
    "wpml:payloadLensIndex": R(kind="list", values=LENSES, models={M30, M3D}),
    "wpml:useGlobalPayloadLensIndex": R(kind="bool"),
}
FUNC_PARAMS = {  # COMMON: <wpml:actionActuatorFuncParam>, one table per actionActuatorFunc
    "takePhoto": _CAMERA,
    "startRecord": _CAMERA,
    "stopRecord": {"wpml:payloadPositionIndex": _MOUNT,
                   "wpml:payloadLensIndex": R(False, "list", LENSES, models={M30})},
    "focus": {"wpml:payloadPositionIndex": _MOUNT, "wpml:isPointFocus": R(kind="bool"),
              "wpml:focusX": R(kind="float", rng=(0, 1, "[]")), "wpml:focusY": R(kind="float", rng=(0, 1, "[]")),
              "wpml:focusRegionWidth": R(_when(isPointFocus=0), "float", rng=(0, 1, "[]")),
              "wpml:focusRegionHeight": R(_when(isPointFocus=0), "float", rng=(0, 1, "[]")),
              "wpml:isInfiniteFocus": R(kind="bool", models={M3E, M3D})},
    "zoom": {"wpml:payloadPositionIndex": _MOUNT, "wpml:focalLength": R(kind="float", rng=(0, None, "()"))},
    "customDirName": {"wpml:payloadPositionIndex": _MOUNT, "wpml:directoryName": R(kind="str")},
    "gimbalRotate": {"wpml:payloadPositionIndex": _MOUNT,
                     "wpml:gimbalHeadingYawBase": R(kind="enum", values=("north",)),
                     "wpml:gimbalRotateMode": R(kind="enum", values=("relativeAngle", "absoluteAngle")),
                     "wpml:gimbalPitchRotateEnable": R(kind="bool"), "wpml:gimbalPitchRotateAngle": R(kind="float"),
                     "wpml:gimbalRollRotateEnable": R(kind="bool"), "wpml:gimbalRollRotateAngle": R(kind="float"),
                     "wpml:gimbalYawRotateEnable": R(kind="bool"), "wpml:gimbalYawRotateAngle": R(kind="float"),
                     "wpml:gimbalRotateTimeEnable": R(kind="bool"), "wpml:gimbalRotateTime": R(kind="float")},
    "gimbalEvenlyRotate": {"wpml:gimbalPitchRotateAngle": R(kind="float"), "wpml:payloadPositionIndex": _MOUNT},
    "rotateYaw": {"wpml:aircraftHeading": R(kind="float", rng=(-180, 180, "[]")),
                  "wpml:aircraftPathMode": R(kind="enum", values=("clockwise", "counterClockwise"))},
    "hover": {"wpml:hoverTime": R(kind="float", rng=(0, None, "()"))},
    # accurateShoot / orientedShoot (photo re-shoots from a reference image) are not tabled
    # here: the checker reports them rather than pass them unchecked
}

# Elements DJI Pilot 2 writes (public Pilot 2 / FlightHub 2 files) or DJI's own samples show,
# that the tables do not list: allowed, not required.
PILOT2 = {
    "missionConfig": {"wpml:waylineAvoidLimitAreaMode"},
    "payloadInfo": {"wpml:payloadSubEnumValue"},
    "templateFolder": {"wpml:useGlobalTransitionalSpeed", "wpml:transitionalSpeed", "wpml:caliFlightEnable"},
    "coordinateSys": {"wpml:isRealtimeSurfaceFollow", "wpml:dsmFile"},
    "payloadParam": {"wpml:photoSize"},
    "waylinesFolder": {"wpml:distance", "wpml:duration", "wpml:realTimeFollowSurfaceByFov"},
    "templatePlacemark": {"wpml:isRisky", "wpml:waypointWorkType"},
    "waylinesPlacemark": {"wpml:waypointGimbalHeadingParam", "wpml:isRisky", "wpml:waypointWorkType"},
    "heading": {"wpml:waypointHeadingAngleEnable", "wpml:waypointHeadingPoiIndex"},
    "focus": {"wpml:isCalibrationFocus"},
}

# (file, name, XPath from the root, table)
CONTEXTS = [
    ("template", "Document", "kml:Document", {
        "wpml:author": R(False, source=TEMPLATE), "wpml:createTime": R(False, "int", source=TEMPLATE),
        "wpml:updateTime": R(False, "int", source=TEMPLATE), "wpml:missionConfig": R(kind="struct", source=TEMPLATE),
        "kml:Folder": R(kind="struct", many=True, source=TEMPLATE)}),
    ("waylines", "Document", "kml:Document", {
        "wpml:missionConfig": R(kind="struct", source=WAYLINES),
        "kml:Folder": R(kind="struct", many=True, source=WAYLINES)}),
    ("template", "missionConfig", "kml:Document/wpml:missionConfig", MISSION_CONFIG_TEMPLATE),
    ("waylines", "missionConfig", "kml:Document/wpml:missionConfig", MISSION_CONFIG),
    (None, "droneInfo", "kml:Document/wpml:missionConfig/wpml:droneInfo", DRONE_INFO),
    (None, "payloadInfo", "kml:Document/wpml:missionConfig/wpml:payloadInfo", PAYLOAD_INFO),
    (None, "autoRerouteInfo", "kml:Document/wpml:missionConfig/wpml:autoRerouteInfo", AUTO_REROUTE),
    ("template", "templateFolder", "kml:Document/kml:Folder", TEMPLATE_FOLDER),
    ("template", "coordinateSys", "kml:Document/kml:Folder/wpml:waylineCoordinateSysParam", COORDINATE_SYS),
    ("template", "payloadParam", "kml:Document/kml:Folder/wpml:payloadParam", PAYLOAD_PARAM),
    ("template", "heading", "kml:Document/kml:Folder/wpml:globalWaypointHeadingParam", HEADING),
    ("template", "templatePlacemark", "kml:Document/kml:Folder/kml:Placemark", TEMPLATE_PLACEMARK),
    ("waylines", "waylinesFolder", "kml:Document/kml:Folder", WAYLINES_FOLDER),
    ("waylines", "waylinesPlacemark", "kml:Document/kml:Folder/kml:Placemark", WAYLINES_PLACEMARK),
    ("waylines", "startActionGroup", "kml:Document/kml:Folder/wpml:startActionGroup", START_ACTION_GROUP),
    (None, "Point", "kml:Document/kml:Folder/kml:Placemark/kml:Point", POINT),
    (None, "heading", "kml:Document/kml:Folder/kml:Placemark/wpml:waypointHeadingParam", HEADING),
    (None, "turn", "kml:Document/kml:Folder/kml:Placemark/wpml:waypointTurnParam", TURN),
    (None, "actionGroup", "kml:Document/kml:Folder/kml:Placemark/wpml:actionGroup", ACTION_GROUP),
    (None, "actionTrigger", "kml:Document/kml:Folder/kml:Placemark/wpml:actionGroup/wpml:actionTrigger",
     ACTION_TRIGGER),
    (None, "action", ".//wpml:action", ACTION),
]


# --- checker ------------------------------------------------------------------------------

@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    # every element a row required, as (file, readable path, lxml getpath): what a removal
    # test can take away (a repeatable element only when it is the single one)
    required: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, msg: str):
        self.problems.append(msg)


def _qname(tag: str, ns: dict) -> str:
    prefix, local = tag.split(":")
    return f"{{{ns[prefix]}}}{local}"


def _short(el, ns: dict) -> str:
    q = etree.QName(el)
    return f"{'wpml' if q.namespace == ns['wpml'] else 'kml'}:{q.localname}"


def path_of(el, ns: dict) -> str:
    """``Document/Folder/Placemark[3]/wpml:index``: kml elements bare, 1-based positions
    among same-named siblings where there are several."""
    parts = []
    while el is not None and el.getparent() is not None:
        name = _short(el, ns)
        same = [s for s in el.getparent() if s.tag == el.tag]
        pos = f"[{same.index(el) + 1}]" if len(same) > 1 else ""
        parts.append((name[4:] if name.startswith("kml:") else name) + pos)
        el = el.getparent()
    return "/".join(reversed(parts))


def _in_range(v: float, rng) -> bool:
    lo, hi, how = rng
    if lo is not None and (v < lo if how[0] == "[" else v <= lo):
        return False
    if hi is not None and (v > hi if how[1] == "]" else v >= hi):
        return False
    return True


_INT = re.compile(r"^-?\d+$")


def _value_problem(rule: Rule, el, drone: int | None) -> str | None:
    text = (el.text or "").strip()
    k = rule.kind
    if k == "struct":
        return None if len(el) else "is empty"
    if k == "str":
        return None if text else "is empty"
    if k == "bool":
        return None if text in ("0", "1") else f"{text!r} is not 0 or 1"
    if k == "enum":
        return None if text in rule.values else f"{text!r} is not one of {', '.join(rule.values)}"
    if k == "subenum":
        ok = SUB_TYPES.get(drone)
        if not _INT.match(text) or (ok is not None and int(text) not in ok):
            return f"{text!r} is not a sub-type of droneEnumValue {drone} ({sorted(ok or [])})"
        return None
    if k == "list":
        items = [t.strip() for t in text.split(",")]
        bad = [t for t in items if t not in rule.values]
        return f"{bad} not in {', '.join(rule.values)}" if bad or not text else None
    if k in ("int", "float"):
        if k == "int" and not _INT.match(text):
            return f"{text!r} is not an integer"
        try:
            v = float(text)
        except ValueError:
            return f"{text!r} is not a number"
        if not math.isfinite(v):
            return f"{text!r} is not finite"
        if rule.range and not _in_range(v, rule.range):
            lo, hi, how = rule.range
            return f"{text} outside {how[0]}{'' if lo is None else lo}, {'' if hi is None else hi}{how[1]}"
        return None
    if k in ("latlonalt", "lonlat"):
        parts = [p.strip() for p in text.split(",")]
        want = (3,) if k == "latlonalt" else (2, 3)
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            return f"{text!r} is not comma-separated numbers"
        if len(nums) not in want:
            return f"{text!r} has {len(nums)} values"
        lat, lon = (nums[0], nums[1]) if k == "latlonalt" else (nums[1], nums[0])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return f"{text!r} has latitude/longitude out of range"
        return None
    raise AssertionError(k)


def _check_table(rep: Report, which: str, node, table: dict, allowed_extra: set, ns: dict, drone):
    where = f"{which} {path_of(node, ns)}"
    known = {_qname(t, ns) for t in table} | {_qname(t, ns) for t in allowed_extra}
    for child in node:
        if not isinstance(child.tag, str):
            continue  # comments
        if child.tag not in known:
            rep.add(f"{where}: {_short(child, ns)} is not an element DJI documents here")
    for tag, rule in table.items():
        applies = drone is None or drone in rule.models
        if isinstance(rule.req, str):
            required = bool(node.xpath(rule.req, namespaces=ns))
        else:
            required = rule.req
        required = required and applies
        found = node.findall(_qname(tag, ns))
        if required and (len(found) == 1 or not rule.many):
            for el in found:
                rep.required.append((which, path_of(el, ns), el.getroottree().getpath(el)))
        if not found:
            if required:
                cond = "" if rule.req is True else f" when {rule.req}"
                rep.add(f"{where}: {tag} missing, required{cond} ({rule.source})")
            continue
        if len(found) > 1 and not rule.many:
            rep.add(f"{where}: {tag} appears {len(found)} times")
        if rule.value_if_required and not required:
            continue
        for el in found:
            bad = _value_problem(rule, el, drone)
            if bad:
                rep.add(f"{which} {path_of(el, ns)}: {bad} ({rule.source})")


def _parse(rep: Report, which: str, data: bytes):
    try:
        root = etree.fromstring(data)
    except etree.XMLSyntaxError as exc:
        rep.add(f"{which}: not well-formed XML ({exc})")
        return None, None
    wpml = root.nsmap.get("wpml", "")
    if root.tag != f"{{{KML}}}kml":
        rep.add(f"{which}: root is {root.tag}, not kml:kml")
    if not wpml.startswith(WPML_PREFIX):
        rep.add(f"{which}: no wpml namespace ({WPML_PREFIX}…) on the root")
    return root, {"kml": KML, "wpml": wpml or WPML_PREFIX + "1.0.2"}


def check_documents(template: bytes, waylines: bytes) -> Report:
    """Check a template.kml and a waylines.wpml against DJI's tables and notes."""
    rep = Report()
    roots = {}
    for which, data in (("template", template), ("waylines", waylines)):
        root, ns = _parse(rep, which, data)
        if root is not None:
            roots[which] = (root, ns)
    for which, (root, ns) in roots.items():
        drone_text = root.findtext("kml:Document/wpml:missionConfig/wpml:droneInfo/wpml:droneEnumValue",
                                   namespaces=ns)
        drone = int(drone_text) if drone_text and _INT.match(drone_text.strip()) else None
        for file, name, xpath, table in CONTEXTS:
            if file not in (None, which):
                continue
            for node in root.xpath(xpath, namespaces=ns):
                _check_table(rep, which, node, table, PILOT2.get(name, set()), ns, drone)
                if name == "action":
                    func = node.findtext("wpml:actionActuatorFunc", namespaces=ns)
                    param = node.find("wpml:actionActuatorFuncParam", namespaces=ns)
                    if param is not None and func in FUNC_PARAMS:
                        _check_table(rep, which, param, FUNC_PARAMS[func], PILOT2.get(func, set()), ns, drone)
                    elif param is not None and func in FUNCS:
                        rep.add(f"{which} {path_of(node, ns)}: {func} parameters are not tabled in this checker")
        if which == "template":
            for t in root.xpath("kml:Document/kml:Folder/wpml:templateType", namespaces=ns):
                if t.text != "waypoint":
                    rep.add(f"template {path_of(t, ns)}: only waypoint templates are checked, got {t.text!r}")
        _check_notes(rep, which, root, ns)
    if len(roots) == 2:
        ids = {w: [e.text for e in r.xpath("kml:Document/kml:Folder/wpml:templateId", namespaces=n)]
               for w, (r, n) in roots.items()}
        if sorted(ids["template"]) != sorted(set(ids["waylines"])):
            # TEMPLATE/WAYLINES: the templateId ties a template to the waylines made from it
            rep.add(f"templateId: template {ids['template']} vs waylines {ids['waylines']} ({WAYLINES})")
    return rep


def _ints(nodes) -> list[int | None]:
    return [int(n.text) if n.text and _INT.match(n.text.strip()) else None for n in nodes]


def _check_notes(rep: Report, which: str, root, ns: dict):
    """The notes beside the tables: numbering, id uniqueness, index order, trigger pairing."""
    for folder in root.xpath("kml:Document/kml:Folder", namespaces=ns):
        idx = _ints(folder.xpath("kml:Placemark/wpml:index", namespaces=ns))
        if idx != list(range(len(idx))):
            # 航点序号: 该序号必须从0开始单调连续递增
            rep.add(f"{which} {path_of(folder, ns)}: wpml:index runs {idx}, must be 0,1,2,… ({TEMPLATE})")
        for g in folder.xpath("kml:Placemark/wpml:actionGroup", namespaces=ns):
            s = _ints(g.findall("wpml:actionGroupStartIndex", ns))
            e = _ints(g.findall("wpml:actionGroupEndIndex", ns))
            if s and e and None not in s + e:
                if e[0] < s[0]:
                    rep.add(f"{which} {path_of(g, ns)}: actionGroupEndIndex {e[0]} < StartIndex {s[0]} ({COMMON})")
                if idx and max(s[0], e[0]) > len(idx) - 1:
                    rep.add(f"{which} {path_of(g, ns)}: action group indexes past the last waypoint")
            aids = _ints(g.findall("wpml:action/wpml:actionId", ns))
            if len(aids) != len(set(aids)):
                rep.add(f"{which} {path_of(g, ns)}: actionId repeated {aids} ({COMMON})")
            trig = g.findtext("wpml:actionTrigger/wpml:actionTriggerType", namespaces=ns)
            funcs = [f.text for f in g.findall("wpml:action/wpml:actionActuatorFunc", ns)]
            if ("gimbalEvenlyRotate" in funcs) != (trig == "betweenAdjacentPoints"):
                # betweenAdjacentPoints 需配合动作 gimbalEvenlyRotate 使用
                rep.add(f"{which} {path_of(g, ns)}: betweenAdjacentPoints goes with gimbalEvenlyRotate ({COMMON})")
    gids = _ints(root.xpath("kml:Document/kml:Folder/kml:Placemark/wpml:actionGroup/wpml:actionGroupId",
                            namespaces=ns))
    if len(gids) != len(set(gids)):
        rep.add(f"{which}: actionGroupId repeated {gids} (unique within the file, {COMMON})")


def read_kmz(data: bytes | str) -> dict[str, bytes]:
    """The members of a ``.kmz`` (path or bytes)."""
    src = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    with zipfile.ZipFile(src) as z:
        return {n: z.read(n) for n in z.namelist()}


def check_kmz(data: bytes | str) -> Report:
    """Check a ``.kmz``: layout (wpmz/template.kml, wpmz/waylines.wpml, wpmz/res/) and both files."""
    files = read_kmz(data)
    rep = Report()
    for name in ("wpmz/template.kml", "wpmz/waylines.wpml"):
        if name not in files:
            rep.add(f"kmz: {name} missing")
    for name in files:
        if name not in ("wpmz/template.kml", "wpmz/waylines.wpml") and not name.startswith("wpmz/res/"):
            rep.add(f"kmz: {name} is outside wpmz/template.kml, wpmz/waylines.wpml and wpmz/res/")
    if rep.problems:
        return rep
    inner = check_documents(files["wpmz/template.kml"], files["wpmz/waylines.wpml"])
    inner.problems[:0] = rep.problems
    return inner
