"""Reading cases back: one projection for staff and one for the public, shared by the API,
the Open311 view and the CLI."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from citygrid.catalog import CASE_PERSONAL_COLUMNS
from citygrid.db.schema import cases
from citygrid.db.where import Where
from citygrid.errors import InvalidInput, NotFound
from citygrid.workcal import TZ

# Personal data of the reporter, what identifies them, and photos: staff-only on every read path.
PERSONAL_COLUMNS = CASE_PERSONAL_COLUMNS

_PLAIN = [c.name for c in cases.columns if c.name != "geom"]

# A case is overdue when its deadline passed before it was closed (or before now, if open).
OVERDUE_SQL = "(c.due_at IS NOT NULL AND c.due_at < coalesce(c.closed_at, CAST(:now AS timestamptz)))"

SELECT_SQL = (
    "SELECT " + ", ".join(f"c.{n}" for n in _PLAIN)
    + ", ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat, d.code AS department_code, "
    "d.name AS department_name, " + OVERDUE_SQL + " AS overdue "
    "FROM cases c LEFT JOIN departments d ON d.id = c.department_id"
)


def local(value: Any) -> Any:
    """Datetimes as Asia/Shanghai wall time (what the city reads); anything else unchanged."""
    return value.astimezone(TZ) if isinstance(value, datetime) else value


def to_dict(row, staff: bool) -> dict:
    """A case row as a dict, datetimes in Asia/Shanghai; without ``staff`` the reporter's personal
    columns (PERSONAL_COLUMNS) are left out."""
    out = {k: local(v) for k, v in dict(row).items()}
    if not staff:
        for name in PERSONAL_COLUMNS:
            out.pop(name, None)
    return out


def case_ref_clause(ref: int | str) -> tuple[str, dict]:
    """``ref`` is the numeric id or the public id (RZ-2025-000123)."""
    text = str(ref).strip()
    if text.isdigit():
        return "c.id = :ref_id", {"ref_id": int(text)}
    if text.upper().startswith("RZ-"):
        return "c.service_request_id = :ref_sid", {"ref_sid": text.upper()}
    raise NotFound(f"case {text!r} not found: give its numeric id or its RZ-YYYY-NNNNNN number")


def fetch_case(conn: Connection, ref: int | str, *, staff: bool = True, now: datetime | None = None) -> dict:
    """One case by numeric id or RZ- number, read on ``conn``, with ``overdue`` as of ``now``
    (default: now); personal columns only for ``staff``. NotFound when there is no such case."""
    clause, params = case_ref_clause(ref)
    row = conn.execute(sa.text(f"{SELECT_SQL} WHERE {clause}"),
                       {**params, "now": now or datetime.now(TZ)}).mappings().first()
    if row is None:
        raise NotFound(f"case {ref} not found")
    return to_dict(row, staff)


def get_case(engine: Engine, ref: int | str, *, staff: bool = True, with_events: bool = False) -> dict:
    """One case (see ``fetch_case``); ``with_events`` adds its workflow events in time order, the
    acting user shown to staff only."""
    with engine.connect() as conn:
        case = fetch_case(conn, ref, staff=staff)
        if with_events:
            events = conn.execute(sa.text(
                "SELECT e.id, e.from_state, e.to_state, e.actor, e.role, e.at, e.note, d.code AS department_code "
                "FROM case_events e LEFT JOIN departments d ON d.id = e.department_id "
                "WHERE e.case_id = :id ORDER BY e.at, e.id"), {"id": case["id"]}).mappings().all()
            # Who moved a case is staff business; the public sees what happened and when.
            case["events"] = [{k: local(v) for k, v in e.items() if staff or k not in ("actor",)}
                              for e in events]
    return case


FILTERS = ("status", "category", "grid_code", "community_code", "subdistrict_code", "county_code", "source")


def list_cases(engine: Engine, *, filters: dict[str, str | None] | None = None,
               start: datetime | None = None, end: datetime | None = None,
               limit: int = 50, offset: int = 0, staff: bool = False) -> tuple[list[dict], int]:
    """Cases newest first, filtered on equality of ``FILTERS`` and reported_at in [start, end)."""
    where = Where()
    for name, value in (filters or {}).items():
        if value is None or value == "":
            continue
        if name not in FILTERS:
            raise InvalidInput(f"unknown filter {name!r}; valid: {', '.join(FILTERS)}")
        where.add(f"c.{name} = :?", value)
    where.period("c.reported_at", start, end)
    params = {**where.params, "limit": limit, "offset": offset, "now": datetime.now(TZ)}
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"{SELECT_SQL} {where.sql()} ORDER BY c.reported_at DESC, c.id DESC "
                                    "LIMIT :limit OFFSET :offset"), params).mappings().all()
        total = conn.execute(sa.text(f"SELECT count(*) FROM cases c {where.sql()}"), where.params).scalar_one()
    return [to_dict(r, staff) for r in rows], total
