"""Organisation: departments, squads and officers. Reads are for staff; writes for commanders."""
from typing import Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from api.deps import Caller, get_engine, require_role
from api.routing import JSONRoute
from citygrid.db.schema import departments
from citygrid.org import add_department
from citygrid.vocab import STAFF_ROLES

router = APIRouter(prefix="/api/org", tags=["organisation"], route_class=JSONRoute)


class DepartmentIn(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["department", "squad", "subteam"]
    parent_code: str | None = None
    county_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    grid_code: str | None = Field(default=None, pattern=r"^\d{14}$")


@router.get("/departments")
def list_departments(engine: Engine = Depends(get_engine), _: Caller = Depends(require_role(*STAFF_ROLES))):
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(departments).order_by(departments.c.code)).mappings()]


@router.post("/departments", status_code=201)
def create_department(body: DepartmentIn, engine: Engine = Depends(get_engine),
                      _: Caller = Depends(require_role("commander"))):
    dep_id = add_department(engine, body.code, body.name, body.kind, body.parent_code, body.county_code, body.grid_code)
    return {"id": dep_id, **body.model_dump()}
