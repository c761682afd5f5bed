"""The one exception → status map; routes never catch domain errors themselves."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from citygrid.auth import InvalidToken
from citygrid.errors import CitygridError
from citygrid.vocab import UnknownCategory

STATUS: dict[type[Exception], int] = {
    InvalidToken: 401,
    UnknownCategory: 422,
}


def error_body(status: int, message: str, problems: list | None = None) -> dict:
    body = {"code": status, "description": message}
    if problems:
        body["problems"] = problems
    return body


UNAVAILABLE = "the database is unavailable (restarting?); retry shortly with the same Idempotency-Key"


def database_refusal(exc: sa_exc.DataError) -> str:
    """The first line of PostgreSQL's complaint, without the SQL or its parameters."""
    text = str(getattr(exc, "orig", exc) or "").strip().splitlines()
    return f"invalid value: {text[0] if text else 'refused by the database'}"


def install(app: FastAPI) -> None:
    @app.exception_handler(CitygridError)
    async def _domain(request: Request, exc: CitygridError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if getattr(exc, "retry_after", None):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(error_body(exc.status, exc.message, exc.problems), status_code=exc.status,
                            headers=headers)

    for cls, status in STATUS.items():
        def handler(request: Request, exc: Exception, status: int = status):
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return JSONResponse(error_body(status, str(exc)), status_code=status, headers=headers)
        app.add_exception_handler(cls, handler)

    @app.exception_handler(sa_exc.DataError)
    async def _data(request: Request, exc: sa_exc.DataError):
        # The database refused a value (NUL byte in text, integer out of range, ...): bad input.
        return JSONResponse(error_body(422, database_refusal(exc)), status_code=422)

    @app.exception_handler(sa_exc.OperationalError)
    @app.exception_handler(sa_exc.InterfaceError)
    async def _database_down(request: Request, exc: Exception):
        # The database is restarting or unreachable: nothing was committed, a retry is safe.
        return JSONResponse(error_body(503, UNAVAILABLE), status_code=503, headers={"Retry-After": "2"})

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        problems = [{"where": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()]
        msg = "; ".join(f"{p['where']}: {p['problem']}" for p in problems)
        return JSONResponse(error_body(422, f"invalid request: {msg}", problems), status_code=422)
