"""Cases for staff and the public: reads (reporter contact for staff only), intake by staff,
workflow transitions, escalations, overdue lists and KPIs. Thin: the work is in cases."""
from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Body, Depends, Header, Query
from fastapi.responses import JSONResponse
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from api.deps import Caller, current_caller, get_engine, require_role
from api.routing import JSONRoute
from citygrid import vocab
from cases import intake, kpi, records, workflow
from citygrid.workcal import TZ

router = APIRouter(prefix="/api", tags=["cases"], route_class=JSONRoute)

# Anyone who may make at least one move; the domain then checks the move itself.
TRANSITION_ROLES = tuple(sorted({r for moves in vocab.TRANSITIONS.values() for rs in moves.values() for r in rs}))
STAFF = require_role(*vocab.STAFF_ROLES)


class CaseIn(BaseModel):
    """A case reported by staff: category slug; location as ``lon``/``lat`` in ``coord_sys`` (wgs84,
    gcj02 or bd09) or an ``address_string`` naming a subdistrict, community or grid; what was seen;
    photo URLs; the source (patrol, drone, sensor, hotline, citizen) and the sending system's own id."""
    category: str
    lon: float | None = None
    lat: float | None = None
    coord_sys: str = "wgs84"
    address_string: str | None = Field(default=None, max_length=500)
    description: str | None = None
    media_urls: list[str] = Field(default_factory=list)
    source: str = "patrol"
    external_id: str | None = Field(default=None, max_length=200)


class TransitionIn(BaseModel):
    """A workflow move: the state to move to, a note shown to the public, and for a dispatch the
    department to send the case to."""
    to_state: str
    # Public: shown as Open311 status_notes and in the case's public history.
    note: str | None = Field(default=None, max_length=2000,
                             description="public: shown to citizens as the request's status notes")
    department_code: str | None = None


class EscalationIn(BaseModel):
    """An escalation to one or more departments (codes), each to acknowledge within ``ack_hours``
    working hours, with an optional note."""
    department_codes: list[str] = Field(min_length=1, max_length=50)
    ack_hours: float = 2
    note: str | None = Field(default=None, max_length=2000)


class AckIn(BaseModel):
    """A department's acknowledgement of an escalation, with an optional note."""
    note: str | None = Field(default=None, max_length=2000)


@router.post("/cases", status_code=201)
def create_case(body: CaseIn, engine: Engine = Depends(get_engine), caller: Caller = Depends(STAFF),
                idempotency_key: str | None = Header(None, alias=vocab.IDEMPOTENCY_HEADER)):
    """Staff report a case (patrol, drone, sensor, hotline). Retries with the same
    Idempotency-Key return the first case (HTTP 200)."""
    report = intake.Report(**body.model_dump(), reporter_username=caller.username, reporter_role=caller.role)
    summary, replayed = intake.submit(engine, report, principal=f"user:{caller.username}",
                                      idempotency_key=idempotency_key)
    case = records.get_case(engine, summary["id"], staff=True)
    return JSONResponse(jsonable_encoder(case), status_code=200 if replayed else 201)


@router.get("/cases")
def list_cases(
    status: str | None = None, category: str | None = None, grid_code: str | None = None,
    community_code: str | None = None, subdistrict_code: str | None = None, county_code: str | None = None,
    source: str | None = None,
    page: int = Query(1, ge=1), page_size: int = Query(50, ge=1, le=1000),
    engine: Engine = Depends(get_engine), caller: Caller = Depends(current_caller),
) -> dict:
    """Cases, newest first, a page at a time (``total`` counts every match); the filters match
    status, category, source and grid, community, subdistrict or county code exactly.
    Anyone may call; reporters' personal data and photos only for signed-in staff."""
    filters = {"status": status, "category": category, "grid_code": grid_code, "community_code": community_code,
               "subdistrict_code": subdistrict_code, "county_code": county_code, "source": source}
    rows, total = records.list_cases(engine, filters=filters, limit=page_size, offset=(page - 1) * page_size,
                                     staff=caller.is_staff)
    return {"total": total, "page": page, "page_size": page_size, "cases": rows}


@router.get("/cases/overdue")
def overdue_cases(limit: int = Query(1000, ge=1, le=10_000), engine: Engine = Depends(get_engine),
                  _: Caller = Depends(STAFF)) -> list[dict]:
    """Open cases past their deadline, most overdue first, with the working hours overdue.
    Staff only."""
    return workflow.overdue(engine, limit=limit)


@router.get("/cases/{case_id}")
def get_case(case_id: str, engine: Engine = Depends(get_engine), caller: Caller = Depends(current_caller)) -> dict:
    """One case by numeric id or RZ- number, with its workflow events in time order; 404 when there
    is none. Anyone may call; reporters' personal data, photos and who acted only for signed-in staff."""
    return records.get_case(engine, case_id, staff=caller.is_staff, with_events=True)


@router.post("/cases/{case_id}/transitions")
def transition(case_id: str, body: TransitionIn, engine: Engine = Depends(get_engine),
               caller: Caller = Depends(require_role(*TRANSITION_ROLES))) -> dict:
    """Move a case one workflow step (reported -> filed -> dispatched -> handled -> feedback ->
    closed -> evaluated; feedback -> dispatched is rework) and return it as staff see it.
    Commanders, patrol officers and planners may call, each move only by its own roles (403
    otherwise); a move the case's state does not allow is 409. Repeating your own last move
    returns the case unchanged."""
    return workflow.transition(engine, case_id, body.to_state, caller.username, caller.role,
                               note=body.note, department_code=body.department_code)


@router.post("/cases/{case_id}/escalations", status_code=201)
def escalate(case_id: str, body: EscalationIn, engine: Engine = Depends(get_engine),
             caller: Caller = Depends(require_role(*workflow.ESCALATE_ROLES))) -> list[dict]:
    """Escalate a case to departments: one escalation each, due to be acknowledged within
    ``ack_hours`` working hours. Re-escalating to a department that has not acknowledged yet
    returns its open escalation, not a second one. Commanders and patrol officers only."""
    return workflow.escalate(engine, case_id, body.department_codes, body.ack_hours, caller.username,
                             caller.role, note=body.note)


@router.post("/escalations/{escalation_id}/ack")
def acknowledge(escalation_id: int, body: AckIn = Body(default_factory=AckIn), engine: Engine = Depends(get_engine),
                caller: Caller = Depends(require_role(*workflow.ACKNOWLEDGE_ROLES))) -> dict:
    """A department reports in on an escalation; returns the escalation. Commanders may acknowledge
    for any department, patrol officers only for their own (or its parent squad). Acknowledging
    twice is a retry."""
    return workflow.acknowledge(engine, escalation_id, caller.username, caller.role, note=body.note)


@router.get("/escalations/unacknowledged")
def unacknowledged(late_only: bool = False, engine: Engine = Depends(get_engine),
                   _: Caller = Depends(STAFF)) -> list[dict]:
    """Escalations not yet acknowledged, oldest deadline first; ``late`` marks those past their
    deadline and ``late_only`` keeps just those. Staff only."""
    return workflow.unacknowledged(engine, late_only=late_only)


@router.get("/kpi")
def kpis(by: str = Query("city", description="grid | subdistrict | district | city"),
         date_from: date | None = Query(None, alias="from", description="first day, default 29 days before `to`"),
         date_to: date | None = Query(None, alias="to", description="last day (inclusive), default today"),
         as_of: datetime | None = Query(None, description="count what was known at this instant; default now"),
         engine: Engine = Depends(get_engine), _: Caller = Depends(STAFF)) -> dict:
    """Case KPIs per grid, subdistrict, district or for the city over the days ``from`` to ``to``
    (Asia/Shanghai), as known at ``as_of``; ``definitions`` explains every figure. Staff only."""
    date_from, date_to = kpi.default_period(date_from, date_to, datetime.now(TZ).date())
    return {"by": by, "from": date_from, "to": date_to, "definitions": kpi.__doc__,
            "units": kpi.compute(engine, by, date_from, date_to, as_of=as_of)}
