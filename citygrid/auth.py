"""Signed access tokens (JWT, HS256 with the settings' secret key)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt

from citygrid.errors import Unauthorized
from citygrid.settings import Settings

ALGORITHM = "HS256"


class InvalidToken(Unauthorized):
    """A bearer token that is malformed, expired, or signed with another key."""


def issue_token(settings: Settings, username: str, role: str) -> tuple[str, int]:
    """A signed token for ``username`` with ``role`` (claims sub, role, iat, exp) and its lifetime
    in seconds (``token_expire_minutes`` x 60)."""
    expires_s = settings.token_expire_minutes * 60
    now = datetime.now(timezone.utc)
    claims = {"sub": username, "role": role, "iat": now, "exp": now + timedelta(seconds=expires_s)}
    return jwt.encode(claims, settings.resolved_secret_key(), algorithm=ALGORITHM), expires_s


def read_token(settings: Settings, token: str) -> dict:
    """The claims of ``token`` (sub, role and exp required); InvalidToken when it is expired,
    malformed or signed with another key."""
    try:
        return jwt.decode(token, settings.resolved_secret_key(), algorithms=[ALGORITHM],
                          options={"require": ["sub", "role", "exp"]})
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"invalid token: {exc}") from exc
