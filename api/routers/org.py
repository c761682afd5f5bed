"""Organisation: departments, squads, officers and users. Reads are for staff (the user list
for commanders); writes for commanders. Thin: the work is in citygrid.org."""
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from api.deps import Caller, get_engine, require_role
from api.routing import JSONRoute
from citygrid import org
from citygrid.vocab import ROLES, STAFF_ROLES

router = APIRouter(prefix="/api/org", tags=["organisation"], route_class=JSONRoute)
COMMANDER = require_role("commander")


class DepartmentIn(BaseModel):
    """A city bureau, a squad (执法中队, serving a subdistrict) or a subteam (分队, often stationed in a grid)."""
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["department", "squad", "subteam"]
    parent_code: str | None = None
    county_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    grid_code: str | None = Field(default=None, pattern=r"^\d{14}$")
    subdistrict_code: str | None = Field(default=None, pattern=r"^\d{9}$",
                                         description="the town/street a squad serves")


class OfficerIn(BaseModel):
    """An officer: badge, name, and the department, squad or subteam they serve in."""
    badge: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    department_code: str | None = Field(default=None, description="the officer's department, squad or subteam")
    county_code: str | None = Field(default=None, pattern=r"^\d{6}$")


class UserIn(BaseModel):
    """A sign-in with its role; a patrol officer's must be linked to an officer."""
    username: str = Field(min_length=1, max_length=64)
    role: Literal[ROLES]  # type: ignore[valid-type]
    password: str = Field(min_length=8, max_length=200)
    display_name: str | None = Field(default=None, max_length=200)
    officer: str | None = Field(default=None, max_length=64,
                                description="badge (or id) of the officer this user is; required for patrol_officer")


@router.get("/departments")
def list_departments(engine: Engine = Depends(get_engine), _: Caller = Depends(require_role(*STAFF_ROLES))):
    """Departments, squads and subteams with their parents. Staff only."""
    return org.list_departments(engine)


@router.post("/departments", status_code=201)
def create_department(body: DepartmentIn, engine: Engine = Depends(get_engine), _: Caller = Depends(COMMANDER)):
    """Add a department, squad or subteam (or rename one). Commanders only."""
    dep_id = org.add_department(engine, body.code, body.name, body.kind, body.parent_code, body.county_code,
                                body.grid_code, body.subdistrict_code)
    return {"id": dep_id, **body.model_dump()}


@router.get("/officers")
def list_officers(engine: Engine = Depends(get_engine), _: Caller = Depends(require_role(*STAFF_ROLES))):
    """Officers with their department and whether they are active. Staff only."""
    return org.list_officers(engine)


@router.post("/officers", status_code=201)
def create_officer(body: OfficerIn, engine: Engine = Depends(get_engine), _: Caller = Depends(COMMANDER)):
    """Add an officer (or rename one and move them to a department). Commanders only."""
    oid = org.add_officer(engine, body.badge, body.name, body.department_code, body.county_code)
    return {"id": oid, **body.model_dump()}


@router.post("/officers/{badge}/retire")
def retire_officer(badge: str, engine: Engine = Depends(get_engine), caller: Caller = Depends(COMMANDER)):
    """Retire an officer: their patrols stay, they start no new one, and the user linked to
    them is deactivated (their tokens stop working now). Commanders only."""
    return org.set_officer_active(engine, badge, False, actor=caller.username)


@router.post("/officers/{badge}/reinstate")
def reinstate_officer(badge: str, engine: Engine = Depends(get_engine), caller: Caller = Depends(COMMANDER)):
    """Reinstate a retired officer (their user is reactivated separately). Commanders only."""
    return org.set_officer_active(engine, badge, True, actor=caller.username)


@router.get("/users")
def list_users(active: bool | None = None, engine: Engine = Depends(get_engine), _: Caller = Depends(COMMANDER)):
    """Users (no password hashes) with their officer and department; ``active`` filters. Commanders only."""
    return org.list_users(engine, active=active)


@router.post("/users", status_code=201)
def create_user(body: UserIn, engine: Engine = Depends(get_engine), caller: Caller = Depends(COMMANDER)):
    """Add a user (or reset an existing one's role, password and officer link)."""
    return org.add_user(engine, body.username, body.role, body.password, display_name=body.display_name,
                        officer=body.officer, actor=caller.username)


@router.post("/users/{username}/deactivate")
def deactivate_user(username: str, engine: Engine = Depends(get_engine), caller: Caller = Depends(COMMANDER)):
    """Deactivate a user: they cannot sign in, and every token they hold stops working now."""
    return org.set_user_active(engine, username, False, actor=caller.username)


@router.post("/users/{username}/activate")
def activate_user(username: str, engine: Engine = Depends(get_engine), caller: Caller = Depends(COMMANDER)):
    """Reactivate a user; they sign in again (tokens from before the deactivation stay revoked)."""
    return org.set_user_active(engine, username, True, actor=caller.username)
