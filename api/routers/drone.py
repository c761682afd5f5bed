"""Drones: fleet, flight applications, missions (plan, check, store, export), loudspeaker
templates, quiet-hour overrides, live broadcasts, the command queue, telemetry and the
read-only broadcast audit log. Thin: the work is in ``drone``. No route edits or deletes
the audit log."""
from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from api.deps import Caller, current_caller, get_engine, require_role
from api.routing import JSONRoute
from citygrid import vocab
from citygrid.errors import InvalidInput, Unauthorized
from drone import broadcast, missions
from drone import context as drone_context
from drone.export import export_file
from gis.crs import parse_coord_sys

router = APIRouter(prefix="/api/drone", tags=["drone"], route_class=JSONRoute)
STAFF = require_role(*vocab.STAFF_ROLES)
COMMANDER = require_role(vocab.Role.COMMANDER)
OPERATOR = require_role(vocab.Role.DRONE_OPERATOR)
PLANNERS = require_role(*missions.PLAN_ROLES)
MEDIA = {"plan": "application/json", "waypoints": "text/plain", "kmz": "application/vnd.google-earth.kmz"}


class BroadcastSpec(BaseModel):
    """What a drone should say: an approved template with its typed variables, or free text a commander
    approved."""
    template: str | None = None
    # typed and bounded in drone.variables (a place from the layers, a time, a number of minutes)
    variables: dict[str, Annotated[str, Field(max_length=80)] | int] | None = Field(default=None, max_length=10)
    text: str | None = Field(default=None, max_length=500)
    plays: int = Field(2, ge=1, le=20)
    volume: int = Field(80, ge=0, le=100)


class MissionIn(BaseModel):
    """A mission to plan: its kind and target (a case, a hot spot or a lon/lat in ``coord_sys``), start
    time and optional broadcasts."""
    kind: str = "target"
    case_id: str | None = None
    hotspot_id: str | None = None
    lon: float | None = None
    lat: float | None = None
    coord_sys: str = Field("wgs84", description="frame of lon/lat: wgs84, gcj02 (Gaode) or bd09 (Baidu)")
    grid_code: str | None = None
    station_id: str | None = None
    airframe_id: str | None = None
    altitude_m: float | None = Field(default=None, gt=0)
    hold_s: float | None = Field(default=None, ge=0, le=1800)
    capture: str | None = "photo"
    start: datetime | None = None
    broadcasts: list[BroadcastSpec] = Field(default_factory=list, max_length=5)
    quiet_override_id: int | None = None


class ApplicationIn(BaseModel):
    """A flight application decided by the air-traffic authority: its reference, area (GeoJSON in
    ``coord_sys``) and validity."""
    reference: str = Field(min_length=1, max_length=100)
    area: dict
    coord_sys: str = Field("wgs84", description="frame of the area's lon/lat: wgs84, gcj02 or bd09")
    valid_from: datetime
    valid_to: datetime
    approver: str | None = None
    status: str = "approved"
    purpose: str | None = Field(default=None, max_length=1000)


class TemplateIn(BaseModel):
    """A loudspeaker text to be approved by a commander before any drone may say it."""
    text_zh: str = Field(max_length=500)
    code: str | None = Field(default=None, max_length=64)
    category: str | None = None
    text_en: str | None = Field(default=None, max_length=1000)
    kind: str = "template"


class OverrideIn(BaseModel):
    """A commander's permission for one drone to broadcast in quiet hours (22:00-06:00), with the reason."""
    drone_id: str
    reason: str = Field(min_length=1, max_length=1000)
    minutes: float = 60


class LiveBroadcastIn(BroadcastSpec):
    """A broadcast ordered now on a drone in the air, with the quiet-hours override and mission it
    belongs to."""
    override_id: int | None = None
    mission_id: int | None = None


class CommandStatusIn(BaseModel):
    """A drone's report on a broadcast command: sent, acknowledged, played or failed (with where and why)."""
    status: str
    lon: float | None = None
    lat: float | None = None
    reason: str | None = Field(default=None, max_length=1000)


class TelemetryIn(BaseModel):
    """One position report of a drone: time, lon/lat, height in metres and battery."""
    at: datetime
    lon: float
    lat: float
    alt_m: float = 0.0
    battery_pct: float = 100.0
    state: str | None = None
    mission_id: int | None = None


def _spec(body: MissionIn) -> dict:
    d = body.model_dump()
    d["broadcasts"] = [b.model_dump() for b in body.broadcasts]
    return d


# --- fleet and applications --------------------------------------------------------
@router.get("/stations")
def stations(engine: Engine = Depends(get_engine), _: Caller = Depends(STAFF)) -> dict:
    """Drone stations and airframes with their usable flight minutes. Staff only."""
    ctx = drone_context.load(engine)
    return {"stations": [{"id": s.id, "name": s.name, "kind": s.kind, "county_code": s.county_code}
                         for s in ctx.stations],
            "airframes": [a.__dict__ | {"usable_min": round(a.usable_s / 60, 1)} for a in ctx.airframes]}


@router.post("/applications", status_code=201)
def record_application(body: ApplicationIn, engine: Engine = Depends(get_engine),
                       caller: Caller = Depends(COMMANDER)) -> dict:
    """Record a flight application the air-traffic authority decided; its area counts for planning
    while valid. Commanders only."""
    return missions.record_application(engine, area_geojson=body.area, recorded_by=caller.username,
                                       role=caller.role, **body.model_dump(exclude={"area"}))


@router.get("/applications")
def applications(engine: Engine = Depends(get_engine), _: Caller = Depends(STAFF)) -> list[dict]:
    """Every recorded flight application with its area and validity. Staff only."""
    return missions.list_applications(engine)


# --- missions --------------------------------------------------------------------------
@router.post("/missions/check")
def check_mission(body: MissionIn, engine: Engine = Depends(get_engine), _: Caller = Depends(PLANNERS)) -> dict:
    """Plan and list every rule violation without storing anything."""
    return missions.check_spec(engine, _spec(body))


@router.post("/missions", status_code=201)
def create_mission(body: MissionIn, engine: Engine = Depends(get_engine), caller: Caller = Depends(PLANNERS),
                   idempotency_key: str | None = Header(None, alias=vocab.IDEMPOTENCY_HEADER)):
    """Plan a mission and store it if it breaks no rule (422 lists every violation)."""
    body_out, replayed = missions.create_mission(engine, _spec(body), caller.username, caller.role,
                                                         idempotency_key)
    return JSONResponse(jsonable_encoder(body_out), status_code=200 if replayed else 201)


@router.get("/missions/{mission_id}")
def get_mission(mission_id: str, engine: Engine = Depends(get_engine), _: Caller = Depends(STAFF)) -> dict:
    """One stored mission: plan, route, checks and status (404 when there is none). Staff only."""
    return missions.get_mission(engine, mission_id)


@router.get("/missions/{mission_id}/export.{fmt}")
def export_mission(mission_id: str, fmt: str, engine: Engine = Depends(get_engine),
                   _: Caller = Depends(STAFF)) -> Response:
    """The stored mission as a QGroundControl .plan, a QGC WPL 110 .waypoints or a DJI .kmz
    (re-checked against the rules as they stand now)."""
    if fmt not in MEDIA:
        raise InvalidInput(f"format must be one of {', '.join(MEDIA)}")
    m = missions.get_mission(engine, mission_id)
    plan, ctx = missions.plan_from_record(engine, m)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"mission-{m['id']}.{fmt}"
        export_file(plan, ctx, path)
        data = path.read_bytes()
    return Response(data, media_type=MEDIA[fmt],
                    headers={"Content-Disposition": f'attachment; filename="mission-{m["id"]}.{fmt}"'})


# --- loudspeaker -------------------------------------------------------------------------
@router.get("/templates")
def templates(status: str | None = None, engine: Engine = Depends(get_engine),
              _: Caller = Depends(STAFF)) -> list[dict]:
    """Loudspeaker templates, optionally only those with ``status`` (draft, approved). Staff only."""
    return jsonable_encoder(broadcast.list_templates(engine, status))


@router.post("/templates", status_code=201)
def create_template(body: TemplateIn, engine: Engine = Depends(get_engine),
                    caller: Caller = Depends(require_role(vocab.Role.DRONE_OPERATOR, vocab.Role.COMMANDER))):
    """A draft template or free text; usable once a commander approves it."""
    return jsonable_encoder(broadcast.create_template(engine, created_by=caller.username, **body.model_dump()))


@router.post("/templates/{code}/approve")
def approve_template(code: str, engine: Engine = Depends(get_engine), caller: Caller = Depends(current_caller)):
    """Approve a template or free text (commander). A signed-in caller of another role is refused
    (403) and the attempt lands in the audit log."""
    if not caller.is_staff:
        raise Unauthorized("sign in as a commander to approve a broadcast text")
    return jsonable_encoder(broadcast.approve_template(engine, code, caller.username, caller.role))


@router.post("/overrides", status_code=201)
def grant_override(body: OverrideIn, engine: Engine = Depends(get_engine), caller: Caller = Depends(COMMANDER)):
    """A commander's quiet-hours override for one drone (audited)."""
    return jsonable_encoder(broadcast.grant_override(engine, body.drone_id, caller.username, caller.role,
                                                     body.reason, body.minutes))


@router.post("/{drone_id}/broadcast", status_code=201)
def live_broadcast(drone_id: str, body: LiveBroadcastIn, engine: Engine = Depends(get_engine),
                   caller: Caller = Depends(current_caller),
                   idempotency_key: str | None = Header(None, alias=vocab.IDEMPOTENCY_HEADER)):
    """Queue a live broadcast (drone_operator; approved text; quiet hours need an override).
    Every attempt, refused ones included, lands in the audit log."""
    if not caller.is_staff:
        raise Unauthorized("sign in as a drone_operator to order a broadcast")
    cmd, replayed = broadcast.order_broadcast(
        engine, drone_id, caller.username, caller.role, template=body.template, variables=body.variables,
        text=body.text, plays=body.plays, volume=body.volume, override_id=body.override_id,
        mission_id=body.mission_id, idempotency_key=idempotency_key)
    return JSONResponse(jsonable_encoder(cmd), status_code=200 if replayed else 201)


@router.get("/{drone_id}/commands")
def commands(drone_id: str, status: str | None = None, engine: Engine = Depends(get_engine),
             _: Caller = Depends(STAFF)) -> list[dict]:
    """Broadcast commands queued for a drone, optionally by ``status``. Staff only."""
    return broadcast.list_commands(engine, drone_id, status)


@router.post("/commands/{command_id}/status")
def command_status(command_id: int, body: CommandStatusIn, engine: Engine = Depends(get_engine),
                   caller: Caller = Depends(OPERATOR)) -> dict:
    """The drone side reports progress: queued -> sent -> acknowledged -> played | failed."""
    return broadcast.set_command_status(engine, command_id, body.status, caller.username, caller.role,
                                        lon=body.lon, lat=body.lat, reason=body.reason)


@router.post("/{drone_id}/telemetry")
def telemetry(drone_id: str, body: list[TelemetryIn],
              coord_sys: str = Query("wgs84", description="frame of the reports: wgs84, gcj02 or bd09"),
              engine: Engine = Depends(get_engine), _: Caller = Depends(OPERATOR)) -> dict:
    """Position reports; (drone, time) is the natural key, so retries write nothing."""
    return {"stored": broadcast.record_telemetry(engine, drone_id, [t.model_dump() for t in body], coord_sys)}


@router.get("/positions")
def positions(coord_sys: str | None = Query(None, description="wgs84 (default), gcj02 for a Gaode basemap, bd09 for Baidu"),
              engine: Engine = Depends(get_engine), _: Caller = Depends(STAFF)) -> list[dict]:
    """Each drone's latest position (in ``coord_sys``: gcj02 for a Gaode basemap, bd09 for Baidu). Staff only."""
    return broadcast.positions(engine, parse_coord_sys(coord_sys))


@router.get("/audit")
def audit_log(drone_id: str | None = None, limit: int = Query(200, ge=1, le=5000),
              engine: Engine = Depends(get_engine), _: Caller = Depends(COMMANDER)) -> list[dict]:
    """The broadcast audit log, newest first (read-only: no route changes it)."""
    return broadcast.audit_entries(engine, drone_id, limit)
