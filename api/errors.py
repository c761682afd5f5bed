"""The one exception → HTTP status map. Routes never catch errors themselves, and domain code
never names a status: everything that leaves the API as an error is decided here.

Two answer shapes: ``{"code", "description", "problems"?}`` everywhere, and the GeoReport v2
list ``[{"code", "description"}]`` under ``/open311/``, where the spec's 400, 403, 404, 429
and 503 are kept, and HTTP's 413 for an oversized body (anything else a client got wrong is
400 there).
"""
from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from citygrid.errors import (CitygridError, Conflict, Forbidden, InvalidInput, NotFound, OperationFailed,
                             PayloadTooLarge, TooManyRequests, Unauthorized)

# Looked up along the exception's class hierarchy: the most specific class wins.
STATUS: dict[type[Exception], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    Unauthorized: 401,
    Forbidden: 403,
    PayloadTooLarge: 413,
    TooManyRequests: 429,
    OperationFailed: 500,
    CitygridError: 400,
    RequestValidationError: 422,
    # the database refused a value (NUL byte in text, integer out of range, ...): bad input
    sa_exc.DataError: 422,
    # a unique or foreign key met a concurrent write: the request clashes with the current state
    sa_exc.IntegrityError: 409,
    # the database is restarting or unreachable: nothing was committed, a retry is safe
    sa_exc.OperationalError: 503,
    sa_exc.InterfaceError: 503,
}
OPEN311_PREFIX = "/open311/"
OPEN311_STATUSES = {400, 403, 404, 413, 429, 503}
UNAVAILABLE = "the database is unavailable (restarting?); retry shortly with the same Idempotency-Key"


def status_for(exc: BaseException) -> int | None:
    """The HTTP status for ``exc`` (None: not an error this map knows, a bug → 500)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return None


def database_refusal(exc: sa_exc.DataError) -> str:
    """The first line of PostgreSQL's complaint, without the SQL or its parameters."""
    text = str(getattr(exc, "orig", exc) or "").strip().splitlines()
    return f"invalid value: {text[0] if text else 'refused by the database'}"


def _message(exc: BaseException, status: int) -> tuple[str, list]:
    if isinstance(exc, CitygridError):
        return exc.message, exc.problems
    if isinstance(exc, RequestValidationError):
        problems = [{"where": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()]
        return "invalid request: " + "; ".join(f"{p['where']}: {p['problem']}" for p in problems), problems
    if isinstance(exc, (sa_exc.DataError, sa_exc.IntegrityError)):
        return database_refusal(exc), []
    if status == 503:
        return UNAVAILABLE, []
    return str(exc), []


def error_body(status: int, message: str, problems: list | None = None) -> dict:
    """The API's error document."""
    body = {"code": status, "description": message}
    if problems:
        body["problems"] = problems
    return body


def error_answer(exc: BaseException, path: str) -> tuple[int, object, dict]:
    """(status, JSON body, headers) for ``exc`` raised while serving ``path``."""
    status = status_for(exc) or 500
    message, problems = _message(exc, status)
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    if status == 503:
        headers["Retry-After"] = "2"
    if path.startswith(OPEN311_PREFIX):
        status = status if status in OPEN311_STATUSES else 400
        return status, [{"code": status, "description": message}], headers
    return status, error_body(status, message, problems), headers


def asgi_refusal(exc: CitygridError, path: str) -> tuple[int, list, bytes]:
    """The same answer for ASGI middleware, which runs outside FastAPI's handlers:
    (status, raw headers, body bytes)."""
    status, body, headers = error_answer(exc, path)
    data = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    return status, raw + [(k.lower().encode(), v.encode()) for k, v in headers.items()], data


def install(app: FastAPI) -> None:
    """Answer every mapped exception through ``error_answer``."""
    async def handle(request: Request, exc: Exception):
        status, body, headers = error_answer(exc, request.url.path)
        return JSONResponse(body, status_code=status, headers=headers or None)

    for cls in STATUS:
        app.add_exception_handler(cls, handle)
