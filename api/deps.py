"""Request-level dependencies: settings, database, the caller and ``require_role``."""
from __future__ import annotations

from dataclasses import dataclass

from datetime import datetime, timezone

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from citygrid.auth import read_token
from citygrid.org import caller_for_token
from citygrid.errors import Forbidden, Unauthorized
from citygrid.settings import Settings
from citygrid.vocab import STAFF_ROLES

oauth2 = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


# The dependencies below do no I/O, so they are ``async def``: FastAPI runs a plain ``def``
# dependency in its thread pool, a thread hand-off per dependency per request.


async def get_settings(request: Request) -> Settings:
    """The app's settings (dependency)."""
    return request.app.state.settings


async def get_engine(request: Request) -> Engine:
    """The app's SQLAlchemy engine (dependency)."""
    return request.app.state.engine


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's username and role (``anonymous`` / ``public`` without a token)."""
    username: str
    role: str

    @property
    def is_staff(self) -> bool:
        """Whether the role is a staff role (any but ``public``): staff see reporters' personal data."""
        return self.role in STAFF_ROLES


ANONYMOUS = Caller("anonymous", "public")


async def current_caller(token: str | None = Depends(oauth2), settings: Settings = Depends(get_settings),
                         engine: Engine = Depends(get_engine)) -> Caller:
    """The signed-in caller, or an anonymous public reader when no token is sent.

    A valid signature is not enough: the user is looked up on every request (one indexed
    read, in the thread pool), so a deactivated user's tokens stop working at once and a
    changed role applies at once. Anonymous reads (the public map) pay nothing."""
    if not token:
        return ANONYMOUS
    claims = read_token(settings, token)
    issued = datetime.fromtimestamp(int(claims.get("iat", 0)), timezone.utc)
    user = await run_in_threadpool(caller_for_token, engine, claims["sub"], issued)
    return Caller(user["username"], user["role"])


def require_role(*roles: str):
    """Dependency that admits only signed-in callers holding one of ``roles``."""
    async def check(caller: Caller = Depends(current_caller)) -> Caller:
        if caller is ANONYMOUS:
            raise Unauthorized("sign in first: this action needs one of the roles " + ", ".join(roles))
        if caller.role not in roles:
            raise Forbidden(f"role {caller.role!r} may not do this; needs one of: {', '.join(roles)}")
        return caller
    return check
