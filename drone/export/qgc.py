"""QGroundControl ``.plan`` (JSON): mission items with MAVLink command numbers, geofence
exclusion polygons for the no-fly areas near the route and a rally point at the station."""
from __future__ import annotations

import shapely

from drone.model import Context, Plan, lonlat

# MAV_CMD
NAV_WAYPOINT = 16
NAV_LOITER_TIME = 19
NAV_RETURN_TO_LAUNCH = 20
NAV_TAKEOFF = 22
DO_SET_ROI_LOCATION = 195
DO_SET_ROI_NONE = 197
IMAGE_START_CAPTURE = 2000
IMAGE_STOP_CAPTURE = 2001
VIDEO_START_CAPTURE = 2500
VIDEO_STOP_CAPTURE = 2501
# MAV_FRAME
FRAME_GLOBAL = 0
FRAME_MISSION = 2
FRAME_GLOBAL_RELATIVE_ALT = 3
# MAV_AUTOPILOT_PX4, MAV_TYPE_QUADROTOR
FIRMWARE_PX4 = 12
VEHICLE_QUADROTOR = 2
FENCE_NEAR_M = 3000.0


def _nav(cmd, w, p1=0.0, p2=0.0, p3=0.0, p4=0.0, **extra) -> dict:
    lon, lat = w.lonlat
    return {"command": cmd, "frame": FRAME_GLOBAL_RELATIVE_ALT, "alt": w.alt_m,
            "params": [p1, p2, p3, p4, round(lat, 8), round(lon, 8), w.alt_m], **extra}


def _do(cmd, p=(0, 0, 0, 0, 0, 0, 0), frame=FRAME_MISSION, **extra) -> dict:
    return {"command": cmd, "frame": frame, "params": [float(v) for v in p], **extra}


def mission_items(plan: Plan) -> list[dict]:
    """Format-neutral MAVLink mission items (home not included). Each item carries the
    index of the plan waypoint it belongs to; broadcast holds carry their audio."""
    items: list[dict] = []
    speed = plan.airframe.cruise_speed_ms
    for i, w in enumerate(plan.waypoints):
        kinds = {a.kind: a for a in w.actions}
        if w.kind == "takeoff":
            items.append(_nav(NAV_TAKEOFF, w, waypoint=i))
        elif w.kind == "land":
            items.append(_do(NAV_RETURN_TO_LAUNCH, waypoint=i))
        else:
            if "roi" in kinds:
                r = kinds["roi"].params
                lon, lat = lonlat(r["x"], r["y"])
                items.append(_do(DO_SET_ROI_LOCATION, (0, 0, 0, 0, round(lat, 8), round(lon, 8), r.get("alt_m", 0)),
                                 frame=FRAME_GLOBAL_RELATIVE_ALT, waypoint=i))
            items.append(_nav(NAV_WAYPOINT, w, waypoint=i))
            if "photo" in kinds:
                dist = kinds["photo"].params.get("distance_m")
                if dist:  # survey: a photo every `dist` metres at cruise speed, until stopped
                    items.append(_do(IMAGE_START_CAPTURE, (0, round(dist / speed, 2), 0, 0, 0, 0, 0), waypoint=i))
                else:
                    items.append(_do(IMAGE_START_CAPTURE, (0, 0, 1, 0, 0, 0, 0), waypoint=i))
            if "video" in kinds:
                items.append(_do(VIDEO_START_CAPTURE, (0, 1, 0, 0, 0, 0, 0), waypoint=i))
            talk = 0.0
            for b in w.broadcasts():
                p = b.params
                hold = round(p["duration_s"] * p.get("plays", 1), 2)
                talk += hold
                items.append(_nav(NAV_LOITER_TIME, w, p1=hold, waypoint=i, broadcast=p))
            rest = round(w.hold_s - talk, 2)
            if rest > 0:
                items.append(_nav(NAV_LOITER_TIME, w, p1=rest, waypoint=i))
            if "video" in kinds:
                items.append(_do(VIDEO_STOP_CAPTURE, waypoint=i))
            if "photo_stop" in kinds:
                items.append(_do(IMAGE_STOP_CAPTURE, waypoint=i))
            if "roi" in kinds:
                items.append(_do(DO_SET_ROI_NONE, waypoint=i))
    for k, it in enumerate(items, start=1):
        it["doJumpId"] = k
    return items


def _simple_item(it: dict) -> dict:
    out = {"autoContinue": True, "command": it["command"], "doJumpId": it["doJumpId"],
           "frame": it["frame"], "params": list(it["params"]), "type": "SimpleItem"}
    if it["frame"] == FRAME_GLOBAL_RELATIVE_ALT:
        out.update({"AMSLAltAboveTerrain": None, "Altitude": it["params"][6], "AltitudeMode": 1})
    return out


def fence_polygons(plan: Plan, ctx: Context) -> list[dict]:
    """Exclusion polygons ([lat, lon] vertices) of the no-fly areas within 3 km of the route;
    controlled airspace only when the plan flies without a flight application."""
    near = plan.route().buffer(FENCE_NEAR_M)
    out = []
    for z in ctx.zones:
        if z.kind == "controlled" and plan.application_ref:
            continue
        if not z.geom.intersects(near):
            continue
        g = shapely.simplify(z.geom, 10.0)
        for poly in getattr(g, "geoms", [g]):
            ring = shapely.get_coordinates(poly.exterior)[:-1]
            if shapely.LinearRing(ring).is_ccw is False:
                ring = ring[::-1]
            pts = []
            for x, y in ring:
                lon, lat = lonlat(x, y)
                pts.append([round(lat, 7), round(lon, 7)])
            out.append({"inclusion": False, "polygon": pts, "version": 1, "zone": z.id})
    return out


def plan_document(plan: Plan, ctx: Context, items: list[dict] | None = None) -> dict:
    """The QGroundControl ``.plan`` document (PX4 quadrotor): the mission ``items`` (built from the plan
    when None), the station as planned home at 0 m, ``fence_polygons`` as exclusion geofences and a
    rally point above the station at the take-off waypoint's height (metres above take-off)."""
    items = mission_items(plan) if items is None else items
    st = plan.station
    lon, lat = lonlat(st.x, st.y)
    fences = [{k: v for k, v in f.items() if k != "zone"} for f in fence_polygons(plan, ctx)]
    return {
        "fileType": "Plan",
        "version": 1,
        "groundStation": "QGroundControl",
        "mission": {
            "version": 2,
            "firmwareType": FIRMWARE_PX4,
            "vehicleType": VEHICLE_QUADROTOR,
            "cruiseSpeed": plan.airframe.cruise_speed_ms,
            "hoverSpeed": plan.airframe.climb_speed_ms,
            "globalPlanAltitudeMode": 1,
            "plannedHomePosition": [round(lat, 8), round(lon, 8), 0],
            "items": [_simple_item(it) for it in items],
        },
        "geoFence": {"version": 2, "polygons": fences, "circles": []},
        "rallyPoints": {"version": 2, "points": [[round(lat, 8), round(lon, 8), plan.waypoints[0].alt_m]]},
    }
