"""Patrols: start an outing, post fixes from the phone (idempotent on device + time), stop it
(cleaned track and mileage), reports. Thin: the work is in patrol.store and patrol.report."""
from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, TypeAdapter
from sqlalchemy.engine import Engine
from typing_extensions import NotRequired, TypedDict

from api.deps import Caller, get_engine, require_role
from api.routing import JSONRoute
from citygrid import vocab
from patrol import report, store  # importing store registers the `patrol_tracks` collection

router = APIRouter(prefix="/api/patrols", tags=["patrols"], route_class=JSONRoute)
STAFF = require_role(*vocab.STAFF_ROLES)


class PatrolIn(BaseModel):
    """An outing to start: the officer (a patrol officer's own by default), team, service date,
    start time (default now; without an offset, UTC) and campaign."""
    officer_id: int | str | None = Field(None, description="id or badge; a patrol officer's own by default")
    team: int | str | None = Field(None, description="department id or code; the officer's by default")
    date: dt.date | None = Field(None, description="service date (Shanghai); the start's by default")
    started_at: datetime | None = None
    campaign: str | None = Field(None, max_length=200)


class FixIn(TypedDict):
    """One fix: the schema the API documents. The route takes the fixes as plain objects and
    patrol.store.check_batch checks them as columns, naming every bad one: validated here one
    by one, a 1,000-fix batch cost the worker 11.5 ms of CPU instead of 3.4 ms."""
    # RFC 3339 text, parsed for the whole batch at once by check_batch (an unparsable time is
    # named with the batch's other bad fixes); no offset means UTC
    t: Annotated[str, Field(max_length=40, examples=["2026-03-02T08:15:00+08:00"])]
    lon: float
    lat: float
    accuracy_m: NotRequired[float | None]
    speed_mps: NotRequired[float | None]


_FIX_SCHEMA = TypeAdapter(FixIn).json_schema()


class BatchIn(BaseModel):
    """GPS fixes from one phone (``device_id``), at most 10,000 a batch, lon/lat in ``coord_sys``
    (wgs84, gcj02 or bd09); each fix: ``t`` (RFC 3339; no offset means UTC), ``lon``, ``lat``
    and optionally ``accuracy_m`` (metres) and ``speed_mps`` (metres per second)."""
    device_id: str = Field(min_length=1, max_length=200)
    coord_sys: str = "wgs84"
    fixes: list[dict] = Field(max_length=store.MAX_BATCH, json_schema_extra={"items": _FIX_SCHEMA})


class StopIn(BaseModel):
    """When the outing ended: default the stored stop time, else now; without an offset, UTC."""
    stopped_at: datetime | None = None


@router.post("", status_code=201)
def start(body: PatrolIn, engine: Engine = Depends(get_engine),
          caller: Caller = Depends(require_role(*store.START_ROLES)),
          idempotency_key: str | None = Header(None, alias=vocab.IDEMPOTENCY_HEADER)):
    """Start an outing (patrol officer: their own; commander: any officer's)."""
    patrol, replayed = store.start_patrol(
        engine, username=caller.username, role=caller.role, officer_id=body.officer_id, team=body.team,
        patrol_date=body.date, started_at=body.started_at, campaign=body.campaign,
        idempotency_key=idempotency_key)
    return JSONResponse(jsonable_encoder(patrol), status_code=200 if replayed else 201)


@router.get("/report")
def mileage_report(by: str = Query("officer", description="officer | team | grid | day | campaign"),
                   campaign: str | None = None, start: datetime | None = None, end: datetime | None = None,
                   engine: Engine = Depends(get_engine), _: Caller = Depends(STAFF)) -> list[dict]:
    """Outings, officers and kilometres of stopped outings per officer, team, grid, day or campaign,
    for a campaign and/or outings started in [start, end). Staff only."""
    return report.mileage(engine, by, campaign=campaign, start=start, end=end)


@router.get("/coverage")
def coverage(campaign: str | None = None, start: datetime | None = None, end: datetime | None = None,
             grid_code: list[str] | None = Query(None), engine: Engine = Depends(get_engine),
             _: Caller = Depends(STAFF)) -> list[dict]:
    """Share of each grid's street length within 15 m of a cleaned patrol track."""
    return report.street_coverage(engine, campaign=campaign, start=start, end=end, grid_codes=grid_code)


@router.get("/campaigns/{name}")
def campaign(name: str, engine: Engine = Depends(get_engine), _: Caller = Depends(STAFF)) -> dict:
    """Outings, officers, km, problems found and rectified share; tracks: the patrol_tracks
    collection filtered by ``campaign``."""
    return report.campaign_report(engine, name)


@router.get("/{patrol_id}")
def get_patrol(patrol_id: int, engine: Engine = Depends(get_engine), _: Caller = Depends(STAFF)) -> dict:
    """One outing: officer, team, status, times and, once stopped, its measures (distance in metres,
    durations in seconds, metres per grid, dropped fixes); the track itself is in the
    ``patrol_tracks`` collection. 404 when there is none. Staff only."""
    return store.get_patrol(engine, patrol_id)


@router.post("/{patrol_id}/fixes")
def post_fixes(patrol_id: int, body: BatchIn, engine: Engine = Depends(get_engine),
               caller: Caller = Depends(require_role(*store.FIX_ROLES))):
    """A batch of fixes; stored once per (device_id, t), committed before the answer (201 when
    new fixes were stored, 200 when all were retries). One bad fix refuses the batch (422)."""
    out = store.add_fixes(engine, patrol_id, device_id=body.device_id, coord_sys=body.coord_sys,
                          fixes=body.fixes, username=caller.username, role=caller.role)
    return JSONResponse(out, status_code=201 if out["stored"] else 200)


@router.post("/{patrol_id}/stop")
def stop(patrol_id: int, body: StopIn = Body(default_factory=StopIn), engine: Engine = Depends(get_engine),
         caller: Caller = Depends(require_role(*store.STOP_ROLES))) -> dict:
    """Stop an outing (again, to take late fixes in): clean and measure its fixes, store the track
    and return the outing as GET does. Patrol officers their own outings, commanders any."""
    return store.stop_patrol(engine, patrol_id, username=caller.username, role=caller.role,
                             stopped_at=body.stopped_at)
