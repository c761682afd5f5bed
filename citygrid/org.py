"""Organisation and access: users with roles, Open311 API clients, departments and officers."""
from __future__ import annotations

import hashlib
import secrets

import bcrypt
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from citygrid.db.schema import api_clients, departments, officers, users
from citygrid.errors import InvalidInput
from citygrid.vocab import ROLES


class UnknownRole(InvalidInput, ValueError):
    """A role name that is not one of vocab.ROLES."""

    def __init__(self, role: str):
        super().__init__(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")


def hash_password(password: str) -> str:
    """bcrypt hash (10 rounds) of ``password``, as stored in ``users.password_hash``."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()


def check_password(password: str, hashed: str) -> bool:
    """Whether ``password`` matches the bcrypt hash ``hashed``."""
    return bcrypt.checkpw(password.encode(), hashed.encode())


def upsert_user(engine: Engine, username: str, role: str, password: str,
                display_name: str | None = None, officer_id: int | None = None) -> int:
    """Create user ``username``, or replace the role, password, display name and officer of an
    existing one (``active`` is left as it is); returns the user's id. UnknownRole unless
    ``role`` is one of vocab.ROLES."""
    if role not in ROLES:
        raise UnknownRole(role)
    values = {"username": username, "role": role, "password_hash": hash_password(password),
              "display_name": display_name, "officer_id": officer_id}
    stmt = pg_insert(users).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[users.c.username],
        set_={k: stmt.excluded[k] for k in ("role", "password_hash", "display_name", "officer_id")},
    ).returning(users.c.id)
    with engine.begin() as conn:
        return conn.execute(stmt).scalar_one()


def authenticate(engine: Engine, username: str, password: str) -> dict | None:
    """The user's row when the user is active and ``password`` is right; None otherwise (unknown,
    inactive and wrong password are not told apart)."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(users).where(users.c.username == username, users.c.active)
        ).mappings().first()
    if row is None or not check_password(password, row["password_hash"]):
        return None
    return dict(row)


def get_user(engine: Engine, username: str) -> dict | None:
    """The row of user ``username`` (active or not), or None."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.username == username)).mappings().first()
    return dict(row) if row else None


def list_users(engine: Engine) -> list[dict]:
    """Every user row, by id (``password_hash`` included: pick the columns to show)."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(users).order_by(users.c.id)).mappings()]


def key_digest(api_key: str) -> str:
    """SHA-256 hex of an API key: the only form in which keys are stored (``key_sha256``)."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def add_api_client(engine: Engine, name: str) -> str:
    """Register a client and return its key; only the key's SHA-256 is stored."""
    key = secrets.token_urlsafe(24)
    with engine.begin() as conn:
        conn.execute(sa.insert(api_clients).values(name=name, key_sha256=key_digest(key)))
    return key


def client_for_key(engine: Engine, api_key: str) -> dict | None:
    """The active API client that holds ``api_key``, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(api_clients).where(api_clients.c.key_sha256 == key_digest(api_key), api_clients.c.active)
        ).mappings().first()
    return dict(row) if row else None


def add_department(engine: Engine, code: str, name: str, kind: str, parent_code: str | None = None,
                   county_code: str | None = None, grid_code: str | None = None) -> int:
    """Create department ``code`` (kind department|squad|subteam) under ``parent_code``, or rename
    an existing one (only the name changes); returns its id. InvalidInput for an unknown parent."""
    with engine.begin() as conn:
        parent_id = None
        if parent_code:
            parent_id = conn.execute(sa.select(departments.c.id).where(departments.c.code == parent_code)).scalar()
            if parent_id is None:
                raise InvalidInput(f"no department with code {parent_code!r} (parent_code)")
        stmt = pg_insert(departments).values(
            code=code, name=name, kind=kind, parent_id=parent_id, county_code=county_code, grid_code=grid_code)
        stmt = stmt.on_conflict_do_update(index_elements=[departments.c.code],
                                          set_={"name": stmt.excluded.name}).returning(departments.c.id)
        return conn.execute(stmt).scalar_one()


def add_officer(engine: Engine, badge: str, name: str, department_code: str | None = None,
                county_code: str | None = None) -> int:
    """Create officer ``badge`` in department ``department_code``, or rename an existing one (only
    the name changes); returns the id. InvalidInput for an unknown department code."""
    with engine.begin() as conn:
        dep = None
        if department_code:
            dep = conn.execute(sa.select(departments.c.id).where(departments.c.code == department_code)).scalar()
            if dep is None:
                raise InvalidInput(f"no department with code {department_code!r} (department_code)")
        stmt = pg_insert(officers).values(
            badge=badge, name=name, department_id=dep, county_code=county_code)
        stmt = stmt.on_conflict_do_update(index_elements=[officers.c.badge],
                                          set_={"name": stmt.excluded.name}).returning(officers.c.id)
        return conn.execute(stmt).scalar_one()
