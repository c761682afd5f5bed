"""Organisation and access: users with roles, Open311 API clients, departments and officers."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import bcrypt
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from citygrid.db.schema import api_clients, audit_log, departments, officers, users
from citygrid.db.where import Where
from citygrid.errors import Conflict, InvalidInput, NotFound, Unauthorized
from citygrid.vocab import ROLES


class UnknownRole(InvalidInput, ValueError):
    """A role name that is not one of vocab.ROLES."""

    def __init__(self, role: str):
        super().__init__(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")


def hash_password(password: str) -> str:
    """bcrypt hash of ``password`` (10 rounds: ~50 ms, sign-ins are rare)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()


def check_password(password: str, hashed: str) -> bool:
    """Whether ``password`` matches the stored bcrypt ``hashed``."""
    return bcrypt.checkpw(password.encode(), hashed.encode())


def upsert_user(engine: Engine, username: str, role: str, password: str,
                display_name: str | None = None, officer_id: int | None = None) -> int:
    """Create ``username`` or reset its role, password, name and officer link; its id. A new
    password revokes every token issued with the old one (a reset after a leak must lock the
    leaked tokens out)."""
    with engine.begin() as conn:
        return _upsert_user(conn, username, role, password, display_name, officer_id)


def _upsert_user(conn, username: str, role: str, password: str, display_name: str | None,
                 officer_id: int | None) -> int:
    if role not in ROLES:
        raise UnknownRole(role)
    old_hash = conn.execute(sa.select(users.c.password_hash).where(users.c.username == username)
                            .with_for_update()).scalar()
    values = {"username": username, "role": role, "password_hash": hash_password(password),
              "display_name": display_name, "officer_id": officer_id}
    stmt = pg_insert(users).values(**values)
    changes = {k: stmt.excluded[k] for k in ("role", "password_hash", "display_name", "officer_id")}
    if old_hash is not None and not check_password(password, old_hash):
        changes["tokens_revoked_at"] = sa.func.now()
    stmt = stmt.on_conflict_do_update(index_elements=[users.c.username], set_=changes).returning(users.c.id)
    return conn.execute(stmt).scalar_one()


def authenticate(engine: Engine, username: str, password: str) -> dict | None:
    """The active user with this password, else None (a deactivated user cannot sign in)."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(users).where(users.c.username == username, users.c.active)
        ).mappings().first()
    if row is None or not check_password(password, row["password_hash"]):
        return None
    return dict(row)


def get_user(engine: Engine, username: str) -> dict | None:
    """The user row (password hash included: never send it out), or None."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.username == username)).mappings().first()
    return dict(row) if row else None


_USER_VIEW = """
SELECT u.id, u.username, u.role, u.display_name, u.active, u.created_at, u.tokens_revoked_at,
       o.id AS officer_id, o.badge AS officer_badge, o.name AS officer_name,
       d.code AS department_code, d.name AS department_name, d.kind AS department_kind
FROM users u LEFT JOIN officers o ON o.id = u.officer_id LEFT JOIN departments d ON d.id = o.department_id
"""


def list_users(engine: Engine, *, active: bool | None = None) -> list[dict]:
    """Every user (no password hashes) with their officer and that officer's department."""
    where = Where().add_if(active, "u.active = :?")
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(f"{_USER_VIEW} {where.sql()} ORDER BY u.id"),
                                              where.params).mappings()]


def user_view(engine: Engine, username: str) -> dict:
    """One user as ``list_users`` shows them; NotFound when there is none."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(_USER_VIEW + " WHERE u.username = :u"), {"u": username}).mappings().first()
    if row is None:
        raise NotFound(f"no user {username!r}")
    return dict(row)


def _officer_id(conn, ref: int | str) -> int:
    """An officer's id from its id or badge."""
    text = str(ref).strip()
    q = sa.select(officers.c.id)
    row = conn.execute(q.where(officers.c.badge == text)).scalar()
    if row is None and text.isascii() and text.isdigit():
        row = conn.execute(q.where(officers.c.id == int(text))).scalar()
    if row is None:
        raise InvalidInput(f"no officer with badge or id {text!r} (officer)",
                           [{"where": "officer", "problem": f"no officer {text!r}"}])
    return row


def add_user(engine: Engine, username: str, role: str, password: str, *, display_name: str | None = None,
             officer: int | str | None = None, actor: str = "system") -> dict:
    """Add (or update) a user, linked to an officer (badge or id) when given; audited.

    A ``patrol_officer`` needs the officer link: live patrols post fixes only for the
    officer of the signed-in user. One user per officer."""
    problems = []
    if not username or len(username) > 64 or not username.isprintable() or username != username.strip():
        problems.append({"where": "username", "problem": "1-64 printable characters, no surrounding spaces"})
    if role == "patrol_officer" and officer is None:
        problems.append({"where": "officer", "problem": "a patrol_officer user is linked to an officer "
                                                        "(give the officer's badge)"})
    if not password or len(password) < 8:
        problems.append({"where": "password", "problem": "at least 8 characters"})
    if role not in ROLES:  # named with the other problems, not alone by UnknownRole
        problems.append({"where": "role", "problem": f"unknown role {role!r}; expected one of {', '.join(ROLES)}"})
    if problems:
        raise InvalidInput("invalid user: " + "; ".join(f"{p['where']}: {p['problem']}" for p in problems), problems)
    # one transaction: the officer check, the write and its audit row commit together or not at
    # all; two adds racing for one officer meet the unique index (IntegrityError: a Conflict)
    with engine.begin() as conn:
        officer_id = _officer_id(conn, officer) if officer is not None else None
        if officer_id is not None:
            other = conn.execute(sa.select(users.c.username).where(
                users.c.officer_id == officer_id, users.c.username != username)).scalar()
            if other:
                raise Conflict(f"officer {officer!r} is already linked to user {other!r}")
        uid = _upsert_user(conn, username, role, password, display_name, officer_id)
        _audit(conn, actor, "user.add", username, {"role": role, "officer_id": officer_id})
    return user_view(engine, username) | {"id": uid}


def set_user_active(engine: Engine, username: str, active: bool, *, actor: str = "system",
                    now: datetime | None = None) -> dict:
    """Deactivate (or reactivate) a user. Deactivation also revokes every token issued so far:
    a reactivated user signs in again."""
    values: dict = {"active": active}
    if not active:
        values["tokens_revoked_at"] = now or sa.func.now()
    with engine.begin() as conn:
        found = conn.execute(sa.update(users).where(users.c.username == username).values(**values)
                             .returning(users.c.id)).scalar()
        if found is None:
            raise NotFound(f"no user {username!r}")
        _audit(conn, actor, "user.activate" if active else "user.deactivate", username, {})
    return user_view(engine, username)


def caller_for_token(engine: Engine, username: str, issued_at: datetime) -> dict:
    """The user a token names, checked now: the user exists, is active, and the token was
    issued after their last revocation. The role is the user's current one (a token carries
    the role it was issued with, which may have changed since)."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(users.c.username, users.c.role, users.c.active, users.c.tokens_revoked_at)
                           .where(users.c.username == username)).first()
    if row is None or not row.active:
        raise Unauthorized("this user is deactivated or unknown: the token is no longer valid")
    # JWT iat has whole seconds: a token of the revocation's own second is revoked too
    if row.tokens_revoked_at is not None and issued_at <= row.tokens_revoked_at.replace(microsecond=0):
        raise Unauthorized("this token was revoked: sign in again")
    return {"username": row.username, "role": row.role}


def _audit(conn, actor: str, action: str, target: str, detail: dict) -> None:
    """One audit row, in the caller's transaction."""
    conn.execute(sa.insert(audit_log).values(actor=actor, action=action, target=target, detail=detail))


def key_digest(api_key: str) -> str:
    """The stored form of an Open311 API key."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def add_api_client(engine: Engine, name: str) -> str:
    """Register a client and return its key; only the key's SHA-256 is stored."""
    key = secrets.token_urlsafe(24)
    with engine.begin() as conn:
        conn.execute(sa.insert(api_clients).values(name=name, key_sha256=key_digest(key)))
    return key


def client_for_key(engine: Engine, api_key: str) -> dict | None:
    """The active API client holding ``api_key``, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(api_clients).where(api_clients.c.key_sha256 == key_digest(api_key), api_clients.c.active)
        ).mappings().first()
    return dict(row) if row else None


def add_department(engine: Engine, code: str, name: str, kind: str, parent_code: str | None = None,
                   county_code: str | None = None, grid_code: str | None = None,
                   subdistrict_code: str | None = None) -> int:
    """Add or rename a department (a city bureau), squad (执法中队, under a department, serving
    ``subdistrict_code``) or subteam (分队, under a squad, often stationed in a grid); its id."""
    if kind not in ("department", "squad", "subteam"):
        raise InvalidInput(f"kind must be department, squad or subteam; got {kind!r}",
                           [{"where": "kind", "problem": "department|squad|subteam"}])
    with engine.begin() as conn:
        parent_id = None
        if parent_code:
            parent_id = conn.execute(sa.select(departments.c.id).where(departments.c.code == parent_code)).scalar()
            if parent_id is None:
                raise InvalidInput(f"no department with code {parent_code!r} (parent_code)")
        stmt = pg_insert(departments).values(
            code=code, name=name, kind=kind, parent_id=parent_id, county_code=county_code, grid_code=grid_code,
            subdistrict_code=subdistrict_code)
        stmt = stmt.on_conflict_do_update(index_elements=[departments.c.code],
                                          set_={"name": stmt.excluded.name}).returning(departments.c.id)
        return conn.execute(stmt).scalar_one()


def add_officer(engine: Engine, badge: str, name: str, department_code: str | None = None,
                county_code: str | None = None) -> int:
    """Add an officer (or rename one, and move them to ``department_code``); their id. The
    county defaults to the department's."""
    if not badge or not badge.strip() or not name or not name.strip():
        raise InvalidInput("an officer needs a badge and a name",
                           [{"where": "badge" if not (badge or "").strip() else "name", "problem": "required"}])
    with engine.begin() as conn:
        dep = None
        if department_code:
            dep = conn.execute(sa.select(departments.c.id).where(departments.c.code == department_code)).scalar()
            if dep is None:
                raise InvalidInput(f"no department with code {department_code!r} (department_code)")
            if county_code is None:
                county_code = conn.execute(sa.select(departments.c.county_code)
                                           .where(departments.c.id == dep)).scalar()
        stmt = pg_insert(officers).values(
            badge=badge, name=name, department_id=dep, county_code=county_code)
        set_ = {"name": stmt.excluded.name}
        if dep is not None:
            set_.update(department_id=stmt.excluded.department_id, county_code=stmt.excluded.county_code)
        stmt = stmt.on_conflict_do_update(index_elements=[officers.c.badge], set_=set_).returning(officers.c.id)
        return conn.execute(stmt).scalar_one()


def set_officer_active(engine: Engine, badge: str, active: bool, *, actor: str = "system",
                       now: datetime | None = None) -> dict:
    """Retire (or reinstate) an officer. Their patrols stay; a retired officer starts no new
    patrol. Retiring also deactivates the user linked to them (their phone's tokens stop
    working at once); reinstating leaves that user for a commander to reactivate."""
    with engine.begin() as conn:
        oid = conn.execute(sa.update(officers).where(officers.c.badge == badge).values(active=active)
                           .returning(officers.c.id)).scalar()
        if oid is None:
            raise NotFound(f"no officer with badge {badge!r}")
        _audit(conn, actor, "officer.reinstate" if active else "officer.retire", badge, {"officer_id": oid})
        if not active:
            user = conn.execute(sa.update(users).where(users.c.officer_id == oid, users.c.active)
                                .values(active=False, tokens_revoked_at=now or sa.func.now())
                                .returning(users.c.username)).scalar()
            if user is not None:
                _audit(conn, actor, "user.deactivate", user, {"officer_retired": badge})
    return next(o for o in list_officers(engine) if o["badge"] == badge)


def list_officers(engine: Engine) -> list[dict]:
    """Officers with their department (squad) and the user linked to them, if any."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(
            "SELECT o.id, o.badge, o.name, o.county_code, o.active, d.code AS department_code, "
            "d.name AS department_name, d.kind AS department_kind, u.username "
            "FROM officers o LEFT JOIN departments d ON d.id = o.department_id "
            "LEFT JOIN users u ON u.officer_id = o.id ORDER BY o.badge")).mappings()]


def list_departments(engine: Engine) -> list[dict]:
    """Departments, squads and subteams with their parent's code and officer count."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(
            "SELECT d.id, d.code, d.name, d.kind, p.code AS parent_code, d.county_code, d.subdistrict_code, "
            "d.grid_code, "
            "(SELECT count(*) FROM officers o WHERE o.department_id = d.id) AS officers "
            "FROM departments d LEFT JOIN departments p ON p.id = d.parent_id ORDER BY d.code")).mappings()]


def squads_by_subdistrict(engine: Engine) -> dict[str, int]:
    """{subdistrict code: id of the squad serving it}: where a case in that town/street is
    dispatched ("each town and street has a resident enforcement squad")."""
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(
            "SELECT DISTINCT ON (subdistrict_code) subdistrict_code, id FROM departments "
            "WHERE kind = 'squad' AND subdistrict_code IS NOT NULL ORDER BY subdistrict_code, id")).all())
