"""Loudspeaker broadcasts: template approval, quiet-hour overrides, live broadcast orders,
the command queue (queued -> sent -> acknowledged -> played | failed) and the append-only
``broadcast_audit`` log (every order, refused attempts included; nothing edits it).

Rules: only a drone_operator orders a broadcast; the text is an approved template (filled
with its variables) or a free text a commander approved beforehand; between 22:00 and 06:00
(Asia/Shanghai) it also needs a commander's override for that drone, valid now. Orders are
idempotent on their Idempotency-Key (``citygrid.idempotency.run_once``).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from citygrid.db.schema import (broadcast_audit, broadcast_commands, broadcast_overrides,
                                broadcast_templates, drone_airframes, drone_telemetry)
from citygrid.errors import Conflict, Forbidden, InvalidInput, NotFound
from citygrid.idempotency import run_once
from citygrid.vocab import CATEGORIES, Role
from citygrid.workcal import TZ
from drone import speaker
from drone.variables import spoken_values
from gis.crs import from_wgs84, parse_coord_sys, screen_lonlat
from drone.rules import in_quiet_hours

ORDER_ROLES = (Role.DRONE_OPERATOR,)
APPROVE_ROLES = (Role.COMMANDER,)
COMMAND_MOVES = {"queued": ("sent", "failed"), "sent": ("acknowledged", "failed"),
                 "acknowledged": ("played", "failed"), "played": (), "failed": ()}


def clock() -> datetime:
    """Now (tests replace this to stand in the night)."""
    return datetime.now(TZ)


def audit(conn_or_engine, **row) -> int:
    """Append one row to the loudspeaker audit log (in ``conn``'s transaction, or a transaction of its
    own on an Engine); its id."""
    row.setdefault("detail", {})
    stmt = sa.insert(broadcast_audit).values(**row).returning(broadcast_audit.c.id)
    if isinstance(conn_or_engine, Engine):
        with conn_or_engine.begin() as conn:
            return conn.execute(stmt).scalar_one()
    return conn_or_engine.execute(stmt).scalar_one()


def _refuse(engine: Engine, exc, **row):
    """Record a refused attempt in its own transaction, then raise."""
    audit(engine, outcome="refused", reason=exc.message, **row)
    raise exc


# --- templates and free texts ---------------------------------------------------

def seed_templates(engine: Engine, created_by: str = "system") -> int:
    """The default templates, as drafts awaiting a commander's approval (idempotent)."""
    n = 0
    with engine.begin() as conn:
        for code, (cat, zh, en) in speaker.DEFAULT_TEMPLATES.items():
            r = conn.execute(pg_insert(broadcast_templates).values(
                code=code, kind="template", category=cat, text_zh=zh, text_en=en, created_by=created_by)
                .on_conflict_do_nothing(index_elements=["code"]).returning(broadcast_templates.c.id))
            n += len(r.all())
    return n


def _template_dict(r) -> dict:
    d = dict(r._mapping)
    d["variables"] = sorted(speaker.variables_of(d["text_zh"]))
    return d


def list_templates(engine: Engine, status: str | None = None) -> list[dict]:
    """Loudspeaker templates by id, optionally only those with ``status``."""
    q = sa.select(broadcast_templates).order_by(broadcast_templates.c.id)
    if status:
        q = q.where(broadcast_templates.c.status == status)
    with engine.connect() as conn:
        return [_template_dict(r) for r in conn.execute(q)]


def create_template(engine: Engine, *, text_zh: str, created_by: str, code: str | None = None,
                    category: str | None = None, text_en: str | None = None,
                    kind: str = "template") -> dict:
    """A draft template (or a free text, kind ``free_text``) awaiting a commander's approval."""
    problems = []
    if kind not in ("template", "free_text"):
        problems.append({"where": "kind", "problem": "template or free_text"})
    if category is not None and category not in CATEGORIES:
        problems.append({"where": "category", "problem": f"unknown category {category!r}"})
    if kind == "template" and not code:
        problems.append({"where": "code", "problem": "a template needs a code"})
    if problems:
        raise InvalidInput("invalid template", problems=problems)
    speaker.validate_template(text_zh)
    if kind == "free_text" and speaker.variables_of(text_zh):
        raise InvalidInput("a free text has no variables; make it a template instead")
    with engine.begin() as conn:
        if code is None:
            nid = conn.execute(sa.text("SELECT nextval(pg_get_serial_sequence('broadcast_templates','id'))")).scalar()
            code = f"FREE-{nid}"
        exists = conn.execute(sa.select(broadcast_templates.c.id).where(broadcast_templates.c.code == code)).first()
        if exists:
            raise Conflict(f"template {code!r} exists")
        row = conn.execute(sa.insert(broadcast_templates).values(
            code=code, kind=kind, category=category, text_zh=text_zh, text_en=text_en,
            created_by=created_by).returning(*broadcast_templates.c)).one()
    return _template_dict(row)


def approve_template(engine: Engine, code: str, username: str, role: str) -> dict:
    """Approve template ``code`` as a commander (audited; a refused attempt is audited too); the
    approved template."""
    if role not in APPROVE_ROLES:  # the refused attempt is audited too
        _refuse(engine, Forbidden("only a commander approves broadcast texts"), ordered_by=username,
                ordered_role=role, template_code=code)
    with engine.begin() as conn:
        row = conn.execute(sa.select(broadcast_templates).where(broadcast_templates.c.code == code)
                           .with_for_update()).first()
        if row is None:
            raise NotFound(f"template {code!r} not found")
        if row.status != "approved":
            row = conn.execute(sa.update(broadcast_templates).where(broadcast_templates.c.code == code).values(
                status="approved", approved_by=username, approved_at=sa.func.now())
                .returning(*broadcast_templates.c)).one()
            audit(conn, ordered_by=username, ordered_role=role, text_approved_by=username, template_code=code,
                  text=row.text_zh, outcome="text_approved" if row.kind == "free_text" else "template_approved")
    return _template_dict(row)


def resolve_text(conn: Connection, template: str | None, variables: dict | None, text: str | None):
    """(template code, exact text to be spoken, who approved it); refuses unapproved texts and
    variables out of their type or bounds (drone.variables: a place from the layers, a time,
    a number), naming each bad variable."""
    if bool(template) == bool(text):
        raise InvalidInput("give either an approved template code (with its variables) or an approved free text")
    if template:
        row = conn.execute(sa.select(broadcast_templates).where(broadcast_templates.c.code == template)).first()
        if row is None:
            raise NotFound(f"template {template!r} not found")
        if row.status != "approved":
            raise Forbidden(f"template {template!r} is not approved by a commander")
        spoken = spoken_values(conn, speaker.variables_of(row.text_zh), variables)
        return row.code, speaker.render(row.text_zh, spoken), row.approved_by
    if variables:
        raise InvalidInput("a free text has no variables", [{"where": "variables", "problem": "not allowed "
                                                             "with a free text"}])
    row = conn.execute(sa.select(broadcast_templates).where(
        broadcast_templates.c.kind == "free_text", broadcast_templates.c.text_zh == text,
        broadcast_templates.c.status == "approved")).first()
    if row is None:
        raise Forbidden("free text needs a commander's approval first (POST /api/drone/templates "
                        "with kind free_text, then approve)")
    return row.code, row.text_zh, row.approved_by


# --- overrides ------------------------------------------------------------------

def grant_override(engine: Engine, drone_id: str, username: str, role: str, reason: str,
                   minutes: float = 60, now: datetime | None = None) -> dict:
    """A commander's quiet-hours permission for ``drone_id``, valid ``minutes`` from ``now``; needs a
    reason."""
    if role not in APPROVE_ROLES:
        raise Forbidden("only a commander may override quiet hours")
    if not reason or not reason.strip():
        raise InvalidInput("an override needs a reason")
    if not 0 < minutes <= 12 * 60:
        raise InvalidInput("minutes must be in (0, 720]")
    now = now or clock()
    with engine.begin() as conn:
        _drone(conn, drone_id)
        row = conn.execute(sa.insert(broadcast_overrides).values(
            drone_id=drone_id, granted_by=username, reason=reason, valid_from=now,
            valid_to=now + timedelta(minutes=minutes)).returning(*broadcast_overrides.c)).one()
        audit(conn, drone_id=drone_id, ordered_by=username, ordered_role=role, override_by=username,
              outcome="override_granted", reason=reason,
              detail={"override_id": row.id, "valid_to": row.valid_to.isoformat()})
    return dict(row._mapping)


# --- live broadcasts ---------------------------------------------------------------

def _drone(conn: Connection, drone_id: str):
    row = conn.execute(sa.select(drone_airframes).where(drone_airframes.c.id == drone_id)).first()
    if row is None:
        raise NotFound(f"drone {drone_id!r} not found")
    return row


def position(conn: Connection, drone_id: str) -> tuple[float | None, float | None]:
    """Latest reported position, else the drone's station."""
    r = conn.execute(sa.text(
        "SELECT lon, lat FROM drone_telemetry WHERE drone_id = :d ORDER BY at DESC LIMIT 1"), {"d": drone_id}).first()
    if r is None:
        r = conn.execute(sa.text(
            "SELECT ST_X(s.geom) lon, ST_Y(s.geom) lat FROM drone_airframes a JOIN drone_stations s "
            "ON s.id = a.station_id WHERE a.id = :d"), {"d": drone_id}).first()
    return (r.lon, r.lat) if r else (None, None)


def order_broadcast(engine: Engine, drone_id: str, username: str, role: str, *, template: str | None = None,
                    variables: dict | None = None, text: str | None = None, plays: int = 2, volume: int = 80,
                    override_id: int | None = None, mission_id: int | None = None,
                    idempotency_key: str | None = None) -> tuple[dict, bool]:
    """Queue a broadcast on a drone; (command, replayed). Refusals are audited."""
    now = clock()
    # the operator's chosen variables go into every audit row of this order, refused or not
    base = dict(drone_id=drone_id, ordered_by=username, ordered_role=role, template_code=template, text=text,
                mission_id=mission_id, detail={"variables": variables or {}})
    with engine.connect() as conn:
        lon, lat = position(conn, drone_id)
    base.update(lon=lon, lat=lat)
    if role not in ORDER_ROLES:
        _refuse(engine, Forbidden(f"role {role!r} may not order a broadcast; needs drone_operator"), **base)
    problems = []
    if not 1 <= plays <= 20:
        problems.append({"where": "plays", "problem": "1..20"})
    if not 0 <= volume <= 100:
        problems.append({"where": "volume", "problem": "0..100"})
    if problems:
        _refuse(engine, InvalidInput("invalid broadcast", problems=problems), **base)
    with engine.connect() as conn:
        try:
            af = _drone(conn, drone_id)
            code, spoken, approved_by = resolve_text(conn, template, variables, text)
        except (NotFound, Forbidden, InvalidInput) as exc:
            _refuse(engine, exc, **base)
        base.update(template_code=code, text=spoken, text_approved_by=approved_by)
        if not af.has_speaker:
            _refuse(engine, InvalidInput(f"drone {drone_id} has no loudspeaker"), **base)
        override_by = None
        if in_quiet_hours(now):
            ov = None
            if override_id is not None:
                ov = conn.execute(sa.select(broadcast_overrides).where(
                    broadcast_overrides.c.id == override_id, broadcast_overrides.c.drone_id == drone_id,
                    broadcast_overrides.c.valid_from <= now, broadcast_overrides.c.valid_to >= now)).first()
            if ov is None:
                _refuse(engine, Forbidden(f"quiet hours (22:00-06:00, now {now.astimezone(TZ):%H:%M}): a broadcast "
                                          "needs a commander's valid override for this drone"),
                        **{**base, "detail": {**base["detail"], "override_id": override_id}})
            override_by = ov.granted_by
    audio = speaker.synthesize(spoken)
    payload = {"drone": drone_id, "template": template, "variables": variables, "text": text, "plays": plays,
               "volume": volume, "override_id": override_id, "mission_id": mission_id}

    def work(conn: Connection):
        cmd = conn.execute(sa.insert(broadcast_commands).values(
            drone_id=drone_id, mission_id=mission_id, template_code=code, text=spoken,
            audio_sha256=audio.sha256, audio_file=str(audio.path), duration_s=audio.duration_s,
            volume=volume, plays=plays, ordered_by=username, text_approved_by=approved_by,
            override_id=override_id if override_by else None, lon=lon, lat=lat)
            .returning(*broadcast_commands.c)).one()
        # text: exactly what the audio says (the template filled with the variables' spoken forms)
        audit(conn, **{**base, "override_by": override_by, "detail": {
                  **base["detail"], "plays": plays, "volume": volume, "duration_s": audio.duration_s,
                  "override_id": override_id if override_by else None}},
              command_id=cmd.id, audio_sha256=audio.sha256, outcome="queued")
        return _command_dict(cmd)

    return run_once(engine, "drone.broadcast", f"user:{username}", idempotency_key, payload, work)


def _command_dict(r) -> dict:
    d = dict(r._mapping)
    d.pop("audio_file", None)
    for k in ("created_at", "updated_at"):
        if d.get(k) is not None:
            d[k] = d[k].isoformat()
    return d


def list_commands(engine: Engine, drone_id: str, status: str | None = None) -> list[dict]:
    """Broadcast commands of ``drone_id`` in order, optionally only those with ``status``."""
    q = sa.select(broadcast_commands).where(broadcast_commands.c.drone_id == drone_id).order_by(broadcast_commands.c.id)
    if status:
        q = q.where(broadcast_commands.c.status == status)
    with engine.connect() as conn:
        return [_command_dict(r) for r in conn.execute(q)]


def set_command_status(engine: Engine, command_id: int, status: str, username: str, role: str, *,
                       lon: float | None = None, lat: float | None = None, reason: str | None = None) -> dict:
    """Move a command along its queue (reported by the drone's operator station)."""
    with engine.begin() as conn:
        cmd = conn.execute(sa.select(broadcast_commands).where(broadcast_commands.c.id == command_id)
                           .with_for_update()).first()
        if cmd is None:
            raise NotFound(f"broadcast command {command_id} not found")
        if status == cmd.status:
            return _command_dict(cmd)  # a retried report
        if status not in COMMAND_MOVES.get(cmd.status, ()):
            raise Conflict(f"command {command_id} is {cmd.status}; it may move to: "
                           f"{', '.join(COMMAND_MOVES.get(cmd.status, ())) or 'nothing'}")
        if lon is None:
            lon, lat = position(conn, cmd.drone_id)
        cmd = conn.execute(sa.update(broadcast_commands).where(broadcast_commands.c.id == command_id).values(
            status=status, updated_at=sa.func.now()).returning(*broadcast_commands.c)).one()
        audit(conn, drone_id=cmd.drone_id, command_id=cmd.id, mission_id=cmd.mission_id, ordered_by=cmd.ordered_by,
              ordered_role=role, text_approved_by=cmd.text_approved_by, template_code=cmd.template_code,
              text=cmd.text, audio_sha256=cmd.audio_sha256, lon=lon, lat=lat, outcome=status, reason=reason,
              detail={"reported_by": username})
    return _command_dict(cmd)


def audit_entries(engine: Engine, drone_id: str | None = None, limit: int = 200) -> list[dict]:
    """The newest ``limit`` audit rows, of one drone or all, as JSON-able dicts."""
    q = sa.select(broadcast_audit).order_by(broadcast_audit.c.id.desc()).limit(limit)
    if drone_id:
        q = q.where(broadcast_audit.c.drone_id == drone_id)
    with engine.connect() as conn:
        return [json.loads(json.dumps(dict(r._mapping), default=str)) for r in conn.execute(q)]


# --- telemetry ---------------------------------------------------------------------

def record_telemetry(engine: Engine, drone_id: str, reports: list[dict], coord_sys: str = "wgs84") -> int:
    """Store position reports; (drone, time) is the natural key, so a retry writes nothing.
    ``coord_sys``: the reports' frame (a ground station showing a Gaode map may send gcj02);
    stored in WGS84."""
    coord_sys = parse_coord_sys(coord_sys)
    if not reports:
        return 0
    # where a drone flies is the airspace rules' business; here only numbers that cannot be a position
    screen = screen_lonlat(np.array([r["lon"] for r in reports], dtype=float),
                           np.array([r["lat"] for r in reports], dtype=float), coord_sys)
    problems = [{"where": f"reports.{k}", "problem": "lon and lat look swapped"} for k in np.flatnonzero(screen.swapped)]
    problems += [{"where": f"reports.{k}", "problem": "lon/lat out of range"}
                 for k in np.flatnonzero(screen.missing | screen.off_globe)]
    problems += [{"where": f"reports.{k}.battery_pct", "problem": "0..100"}
                 for k, r in enumerate(reports) if not 0 <= r.get("battery_pct", 0) <= 100]
    if problems:
        raise InvalidInput("invalid telemetry", problems=problems)
    if coord_sys != "wgs84":  # the screen converted them already
        reports = [{**r, "lon": float(x), "lat": float(y)} for r, x, y in zip(reports, screen.lon, screen.lat)]
    with engine.begin() as conn:
        _drone(conn, drone_id)
        res = conn.execute(pg_insert(drone_telemetry).values(
            [dict(drone_id=drone_id, mission_id=r.get("mission_id"), at=r["at"], lon=r["lon"], lat=r["lat"],
                  alt_m=r.get("alt_m", 0.0), battery_pct=r.get("battery_pct", 100.0), state=r.get("state"))
             for r in reports]).on_conflict_do_nothing(index_elements=["drone_id", "at"])
            .returning(drone_telemetry.c.id))
        return len(res.all())


def positions(engine: Engine, coord_sys: str = "wgs84") -> list[dict]:
    """Each drone's latest report; ``coord_sys="gcj02"`` (or bd09) draws them for a Chinese
    basemap (stored positions stay WGS84)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT DISTINCT ON (drone_id) drone_id, mission_id, at, lon, lat, alt_m, battery_pct, state "
            "FROM drone_telemetry ORDER BY drone_id, at DESC")).all()
    out = [json.loads(json.dumps(dict(r._mapping), default=str)) for r in rows]
    located = [p for p in out if p["lon"] is not None and p["lat"] is not None]
    if coord_sys != "wgs84" and located:
        lon, lat = from_wgs84(np.array([p["lon"] for p in located]), np.array([p["lat"] for p in located]),
                              coord_sys)
        for p, x, y in zip(located, lon.tolist(), lat.tolist()):
            p["lon"], p["lat"] = x, y
    return out
