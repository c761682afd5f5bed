"""The case workflow (CJ/T 315): legal transitions by the right roles, deadlines on the work
calendar, rework, overdue cases, and escalations ("the grid blows the whistle, departments
report in", 网格吹哨、部门报到).

Decisions, and why:
- An illegal move from the current state is a Conflict; a legal move by a role that may
  not make it is Forbidden. Both messages name the moves the caller's role may make
  from the current state, so a client can recover without reading the docs.
- The clock starts at the first dispatch: ``due_at = default_calendar().deadline(dispatched_at,
  category limit)``. A rework (feedback -> dispatched) does NOT restart it: the deadline
  belongs to the citizen's problem, and a failed verification must not buy the department
  more time. ``dispatched_at`` stays the first dispatch, so KPIs count each case once.
- Retrying a transition (the case is already in ``to_state`` and the last move was the same
  caller's) returns the case unchanged: the workflow has no self-loops, so that can only be a
  retry (the natural key of this write).
- Escalation deadlines are in working hours on the same calendar: departments report in
  during office hours.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from citygrid import vocab
from citygrid.worktable import working_hours_vec
from cases.records import SELECT_SQL, case_ref_clause, fetch_case, local, to_dict
from citygrid.db.schema import case_events, cases, escalations
from citygrid.errors import Conflict, Forbidden, InvalidInput, NotFound
from citygrid.workcal import TZ, default_calendar, to_local

ESCALATE_ROLES = ("commander", "patrol_officer")
ACKNOWLEDGE_ROLES = ("commander", "patrol_officer")
MAX_ACK_HOURS = 80  # ten working days; longer is not a whistle any more


def _now(at: datetime | None) -> datetime:
    return to_local(at) if at is not None else datetime.now(TZ)


def _allowed_text(state: str, role: str) -> str:
    moves = vocab.allowed_transitions(state, role)
    return ", ".join(moves) if moves else "none"


def _department_id(conn: Connection, code: str) -> int:
    dep = conn.execute(sa.text("SELECT id FROM departments WHERE code = :c"), {"c": code}).scalar()
    if dep is None:
        raise InvalidInput(f"unknown department_code {code!r}",
                           [{"where": "department_code", "problem": "unknown department"}])
    return dep



def _lock_case(conn, case_id, columns: str):
    """The case row (id, public id, status, county and ``columns``), locked for this transaction."""
    clause, params = case_ref_clause(case_id)
    row = conn.execute(sa.text(
        f"SELECT c.id, c.service_request_id, c.status, c.county_code, {columns} "
        f"FROM cases c WHERE {clause} FOR UPDATE"), params).mappings().first()
    if row is None:
        raise NotFound(f"case {case_id} not found")
    return row

def transition(engine: Engine, case_id: int | str, to_state: str, caller_username: str, caller_role: str,
               note: str | None = None, department_code: str | None = None,
               at: datetime | None = None) -> dict:
    """Move a case one step; return the case as staff see it. ``at`` defaults to now."""
    at = _now(at)
    if to_state not in vocab.CASE_STATES:
        raise InvalidInput(f"unknown state {to_state!r}; states: {', '.join(vocab.CASE_STATES)}",
                           [{"where": "to_state", "problem": "unknown state"}])
    if department_code and to_state != "dispatched":
        raise InvalidInput("department_code applies only to a dispatch",
                           [{"where": "department_code", "problem": "only with to_state dispatched"}])
    with engine.begin() as conn:
        row = _lock_case(conn, case_id, "c.category, c.department_id")
        state, sid = row["status"], row["service_request_id"]
        if state == to_state:
            last = conn.execute(sa.select(case_events.c.actor).where(case_events.c.case_id == row["id"])
                                .order_by(case_events.c.at.desc(), case_events.c.id.desc()).limit(1)).scalar()
            if last == caller_username:
                return fetch_case(conn, row["id"], staff=True, now=at)
        if to_state not in vocab.TRANSITIONS[state]:
            raise Conflict(f"case {sid} is {state!r} and cannot move to {to_state!r}; "
                           f"allowed from {state!r} for {caller_role}: {_allowed_text(state, caller_role)}")
        if not vocab.can_transition(state, to_state, caller_role):
            roles = ", ".join(vocab.TRANSITIONS[state][to_state])
            raise Forbidden(f"role {caller_role!r} may not move case {sid} from {state!r} to {to_state!r} "
                            f"(needs one of: {roles}); allowed from {state!r} for {caller_role}: "
                            f"{_allowed_text(state, caller_role)}")

        values: dict = {"status": to_state, "updated_at": at}
        department_id = row["department_id"]
        if to_state == "dispatched":
            if department_code:
                department_id = _department_id(conn, department_code)
            elif department_id is None:
                raise InvalidInput("a dispatch names the department it goes to: department_code is required",
                                   [{"where": "department_code", "problem": "required for a dispatch"}])
            values["department_id"] = department_id
            if vocab.is_rework(state, to_state):
                values["rework_count"] = cases.c.rework_count + 1
            else:
                cat = vocab.category(row["category"])
                values["dispatched_at"] = at
                values["due_at"] = default_calendar().deadline(at, cat.limit_value, cat.limit_unit)
        elif to_state == "filed":
            values["filed_at"] = at
        elif to_state == "handled":
            # First disposal counts (处置); a rework's second handling does not move it.
            values["handled_at"] = sa.func.coalesce(cases.c.handled_at, at)
        elif to_state == "closed":
            values["closed_at"] = at
        elif to_state == "evaluated":
            values["evaluated_at"] = at
        conn.execute(sa.update(cases).where(cases.c.id == row["id"]).values(**values))
        conn.execute(sa.insert(case_events).values(
            case_id=row["id"], from_state=state, to_state=to_state, actor=caller_username, role=caller_role,
            at=at, note=note, department_id=department_id if to_state == "dispatched" else None,
            county_code=row["county_code"]))
        return fetch_case(conn, row["id"], staff=True, now=at)


def overdue(engine: Engine, now: datetime | None = None, *, limit: int = 1000,
            staff: bool = True) -> list[dict]:
    """Open cases past their deadline, most overdue first, with working hours overdue."""
    now = _now(now)
    closed = ", ".join(f"'{s}'" for s in vocab.CLOSED_STATES)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            f"{SELECT_SQL} WHERE c.status NOT IN ({closed}) AND c.due_at < :now "
            "ORDER BY c.due_at, c.id LIMIT :limit"), {"now": now, "limit": limit}).mappings().all()
    out = [to_dict(r, staff) for r in rows]
    hours = working_hours_vec([c["due_at"] for c in out], [now] * len(out))
    for case, h in zip(out, hours):
        case["working_hours_overdue"] = round(float(h), 2)
    return out


# --- escalations -----------------------------------------------------------------------------

_ESC_SELECT = (
    "SELECT e.*, c.service_request_id, d.code AS department_code, d.name AS department_name, "
    "(e.ack_due_at < coalesce(e.acknowledged_at, CAST(:now AS timestamptz))) AS late "
    "FROM escalations e JOIN cases c ON c.id = e.case_id JOIN departments d ON d.id = e.department_id"
)


def _esc_dicts(rows) -> list[dict]:
    return [{k: local(v) for k, v in dict(r).items()} for r in rows]


def escalate(engine: Engine, case_id: int | str, department_codes: list[str], ack_hours: float,
             caller_username: str, caller_role: str, note: str | None = None,
             at: datetime | None = None) -> list[dict]:
    """The grid blows the whistle: one escalation per department, each due to acknowledge
    within ``ack_hours`` working hours. Re-escalating to a department that has not yet
    acknowledged returns the open escalation (a retry), never a second one."""
    at = _now(at)
    if caller_role not in ESCALATE_ROLES:
        raise Forbidden(f"role {caller_role!r} may not escalate; needs one of: {', '.join(ESCALATE_ROLES)}")
    codes = list(dict.fromkeys(c.strip() for c in department_codes if c and c.strip()))
    problems = []
    if not codes:
        problems.append({"where": "department_codes", "problem": "name at least one department"})
    if not (0 < ack_hours <= MAX_ACK_HOURS):
        problems.append({"where": "ack_hours", "problem": f"must be > 0 and <= {MAX_ACK_HOURS} working hours"})
    if problems:
        raise InvalidInput("invalid escalation: " + "; ".join(p["problem"] for p in problems), problems)
    with engine.begin() as conn:
        case = _lock_case(conn, case_id, "c.grid_code, c.subdistrict_code")
        if case["status"] in vocab.CLOSED_STATES:
            raise Conflict(f"case {case['service_request_id']} is {case['status']}; a closed case is not escalated")
        deps = dict(conn.execute(sa.text("SELECT code, id FROM departments WHERE code = ANY(:codes)"),
                                 {"codes": codes}).all())
        unknown = [c for c in codes if c not in deps]
        if unknown:
            raise InvalidInput(f"unknown department codes: {', '.join(unknown)}",
                               [{"where": "department_codes", "problem": f"unknown: {c}"} for c in unknown])
        due = default_calendar().add_working_hours(at, ack_hours)
        rows = [{"case_id": case["id"], "grid_code": case["grid_code"], "subdistrict_code": case["subdistrict_code"],
                 "county_code": case["county_code"], "department_id": deps[c], "requested_by": caller_username,
                 "requested_at": at, "ack_due_at": due, "note": note} for c in codes]
        stmt = pg_insert(escalations).values(rows).on_conflict_do_nothing(
            index_elements=["case_id", "department_id"], index_where=sa.text("acknowledged_at IS NULL"))
        conn.execute(stmt)
        out = conn.execute(sa.text(
            f"{_ESC_SELECT} WHERE e.case_id = :case AND e.department_id = ANY(:deps) "
            "AND e.acknowledged_at IS NULL ORDER BY d.code"),
            {"case": case["id"], "deps": list(deps.values()), "now": at}).mappings().all()
    return _esc_dicts(out)


def _officer_department(conn: Connection, username: str) -> int | None:
    return conn.execute(sa.text(
        "SELECT o.department_id FROM users u JOIN officers o ON o.id = u.officer_id WHERE u.username = :u"),
        {"u": username}).scalar()


def acknowledge(engine: Engine, escalation_id: int, caller_username: str, caller_role: str,
                note: str | None = None, at: datetime | None = None) -> dict:
    """A department reports in. Commanders may acknowledge for any department; a patrol officer
    only for their own department, or, from a subteam (分队), for the squad it belongs to (not
    from a squad for the county bureau above it). Acknowledging twice is a retry."""
    at = _now(at)
    if caller_role not in ACKNOWLEDGE_ROLES:
        raise Forbidden(f"role {caller_role!r} may not acknowledge; needs one of: {', '.join(ACKNOWLEDGE_ROLES)}")
    with engine.begin() as conn:
        esc = conn.execute(sa.text(
            "SELECT e.id, e.department_id, e.acknowledged_at, d.code, d.parent_id FROM escalations e "
            "JOIN departments d ON d.id = e.department_id WHERE e.id = :id FOR UPDATE OF e"),
            {"id": escalation_id}).mappings().first()
        if esc is None:
            raise NotFound(f"escalation {escalation_id} not found")
        if caller_role != "commander":
            own = _officer_department(conn, caller_username)
            squad = conn.execute(sa.text(
                "SELECT p.id FROM departments d JOIN departments p ON p.id = d.parent_id "
                "WHERE d.id = :d AND d.kind = 'subteam' AND p.kind = 'squad'"), {"d": own}).scalar() \
                if own is not None else None
            if esc["department_id"] not in (own, squad):
                raise Forbidden(f"{caller_username} is not an officer of department {esc['code']}; "
                                "only that department (or a commander) may acknowledge")
        if esc["acknowledged_at"] is None:
            conn.execute(sa.update(escalations).where(escalations.c.id == escalation_id).values(
                acknowledged_at=at, acknowledged_by=caller_username, ack_note=note))
        row = conn.execute(sa.text(f"{_ESC_SELECT} WHERE e.id = :id"),
                           {"id": escalation_id, "now": at}).mappings().one()
    return _esc_dicts([row])[0]


def unacknowledged(engine: Engine, now: datetime | None = None, *, late_only: bool = False,
                   limit: int = 1000) -> list[dict]:
    """Escalations no department has acknowledged yet, oldest deadline first; ``late`` marks
    those past their acknowledgement deadline (``late_only`` keeps just those)."""
    now = _now(now)
    late = " AND e.ack_due_at < :now" if late_only else ""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            f"{_ESC_SELECT} WHERE e.acknowledged_at IS NULL{late} ORDER BY e.ack_due_at, e.id LIMIT :limit"),
            {"now": now, "limit": limit}).mappings().all()
    out = _esc_dicts(rows)
    hours = working_hours_vec([e["ack_due_at"] for e in out], [now] * len(out))
    for e, h in zip(out, hours):
        e["working_hours_late"] = round(max(float(h), 0.0), 2) if not np.isnan(h) else None
    return out
