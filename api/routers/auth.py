"""Sign-in: ``POST /auth/token`` issues a signed token, ``GET /auth/me`` says whose it is."""
from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from api.deps import Caller, current_caller, get_engine, get_settings
from api.routing import JSONRoute
from citygrid.auth import issue_token
from citygrid.errors import Unauthorized
from citygrid.org import authenticate
from citygrid.settings import Settings

router = APIRouter(prefix="/auth", tags=["auth"], route_class=JSONRoute)


class Token(BaseModel):
    """A bearer token: send it as ``Authorization: Bearer <access_token>``; ``expires_in`` is its
    lifetime in seconds, ``role`` the user's role."""
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str


@router.post("/token", response_model=Token)
def token(form: OAuth2PasswordRequestForm = Depends(), engine: Engine = Depends(get_engine),
          settings: Settings = Depends(get_settings)) -> Token:
    """OAuth2 password flow: a signed JWT carrying the user's role."""
    user = authenticate(engine, form.username, form.password)
    if user is None:
        raise Unauthorized("wrong username or password")
    access, expires = issue_token(settings, user["username"], user["role"])
    return Token(access_token=access, expires_in=expires, role=user["role"])


@router.get("/me")
def me(caller: Caller = Depends(current_caller)) -> dict:
    """The caller: username, role and whether the role counts as staff. Anyone may call; without
    a token the answer is ``anonymous`` with role ``public``."""
    return {"username": caller.username, "role": caller.role, "staff": caller.is_staff}
