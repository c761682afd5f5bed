"""Open311 GeoReport v2 under /open311/v2 (JSON format only).

Errors leave this router in the spec's shape, ``[{"code": 400, "description": "..."}]``, with
HTTP 403 (bad api_key), 404 (not found), 413 (body too large), 429 (rate limit, with
Retry-After), 503 (database restarting, with Retry-After) or 400 (anything else, including
validation and idempotency conflicts). The conversion lives with every other status in ``api/errors.py``.
"""
from __future__ import annotations

import json
import math

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from api.deps import Caller, current_caller, get_engine
from api.ratelimit import enforce_open311
from api.routing import JSONRoute
from citygrid import vocab
from cases import intake
from cases import open311 as o311
from citygrid.errors import Forbidden, InvalidInput
from citygrid.org import client_for_key


router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=JSONRoute)


@router.get("/services.json")
def services() -> list[dict]:
    """GeoReport v2 service list: one service per problem category. Public."""
    return o311.services()


@router.get("/services/{service_code}.json")
def service_definition(service_code: str) -> dict:
    """GeoReport v2 service definition: the attributes a request in this category takes; 404 for
    an unknown code. Public."""
    return o311.service_definition(service_code)


async def _fields(request: Request) -> dict[str, list[str]]:
    """The POST body as name -> values: form-encoded (the spec) or JSON (a convenience)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    out: dict[str, list[str]] = {}
    if ctype == "application/json":
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise InvalidInput("the JSON body does not parse") from None
        if not isinstance(body, dict):
            raise InvalidInput("the JSON body must be an object of request fields")
        for name, value in body.items():
            if name == "attribute" and isinstance(value, dict):  # {"attribute": {"code": value}}
                for code, v in value.items():
                    out[f"attribute[{code}]"] = [str(x) for x in (v if isinstance(v, list) else [v])]
            elif value is not None:
                out[name] = [str(x) for x in (value if isinstance(value, list) else [value])]
    else:
        form = await request.form()
        for name, value in form.multi_items():
            if isinstance(value, str):
                out.setdefault(name, []).append(value)
    return out


def _one(fields: dict[str, list[str]], name: str) -> str | None:
    values = [v for v in fields.get(name, []) if v.strip() != ""]
    return values[-1].strip() if values else None


def _float(fields: dict, name: str, problems: list) -> float | None:
    text = _one(fields, name)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        problems.append({"where": name, "problem": f"{name} must be a number, got {text!r}"})
        return None
    if not math.isfinite(value):
        problems.append({"where": name, "problem": f"{name} must be finite"})
        return None
    return value


def _report(fields: dict[str, list[str]], client: dict) -> intake.Report:
    problems: list[dict] = []
    code = _one(fields, "service_code")
    if code is None:
        raise InvalidInput("service_code is required; see services.json")
    lat, lon = _float(fields, "lat", problems), _float(fields, "long", problems)
    attrs = {k[len("attribute["):-1]: v for k, v in fields.items() if k.startswith("attribute[") and k.endswith("]")}
    attributes = o311.check_attributes(code, attrs) if code in vocab.CATEGORIES else {}
    if problems:
        raise InvalidInput("; ".join(p["problem"] for p in problems), problems)
    name = " ".join(p for p in (_one(fields, "first_name"), _one(fields, "last_name")) if p) or None
    description = fields.get("description", [None])[-1]
    return intake.Report(
        category=code, lon=lon, lat=lat, coord_sys=_one(fields, "coord_sys") or "wgs84",
        address_string=_one(fields, "address_string"), description=description,
        media_urls=[u.strip() for u in fields.get("media_url", []) if u.strip()], attributes=attributes,
        source="citizen", reporter_name=name, reporter_phone=_one(fields, "phone"),
        reporter_email=_one(fields, "email"), device_id=_one(fields, "device_id"),
        account_id=_one(fields, "account_id"), api_client_id=client["id"], reporter_role="public")


async def _rate_limited_fields(request: Request) -> dict[str, list[str]]:
    """The request's fields, once the intake's rate limits (api/ratelimit.py) admit it."""
    fields = await _fields(request)
    enforce_open311(request, fields)
    return fields


@router.post("/requests.json", status_code=201)
async def post_request(request: Request, engine: Engine = Depends(get_engine),
                       fields: dict = Depends(_rate_limited_fields)) -> JSONResponse:
    """Create a service request. Needs the ``api_key`` of a registered client (403 otherwise).
    A retry (same ``Idempotency-Key``, or same device + description + place within a minute)
    answers with the first request, HTTP 200 instead of 201. Rate-limited per device_id,
    per api_key and per client address (429 with Retry-After; see api/ratelimit.py)."""
    api_key = _one(fields, "api_key") or request.query_params.get("api_key")
    if not api_key:
        raise Forbidden("api_key is required: register the client with `citygrid users add-client`")
    client = await run_in_threadpool(client_for_key, engine, api_key)
    if client is None:
        raise Forbidden("api_key is not valid")
    report = _report(fields, client)
    summary, replayed = await run_in_threadpool(
        intake.submit, engine, report, principal=f"api_client:{client['id']}",
        idempotency_key=request.headers.get(vocab.IDEMPOTENCY_HEADER))
    body = [{"service_request_id": summary["service_request_id"], "service_notice": summary["service_notice"],
             "account_id": summary["account_id"]}]
    return JSONResponse(body, status_code=200 if replayed else 201)


@router.get("/requests.json")
def list_requests(
    service_code: str | None = Query(None, description="comma-separated service codes"),
    status: str | None = Query(None, description="open or closed"),
    start_date: str | None = Query(None, description="ISO 8601; default end_date - 90 days"),
    end_date: str | None = Query(None, description="ISO 8601; default now"),
    service_request_id: str | None = Query(None, description="comma-separated ids; overrides other filters"),
    page: int = Query(1),
    page_size: int = Query(o311.DEFAULT_PAGE_SIZE, description=f"at most {o311.MAX_PAGE_SIZE}"),
    jurisdiction_id: str | None = Query(None, description="ignored: one jurisdiction"),
    engine: Engine = Depends(get_engine), caller: Caller = Depends(current_caller),
) -> list[dict]:
    """Requests of at most 90 days; ``media_url`` only for signed-in staff (photos are personal data)."""
    def split(text):
        return [p.strip() for p in text.split(",") if p.strip()] if text else None

    return o311.list_requests(
        engine, service_codes=split(service_code), status=status,
        start=o311.parse_datetime(start_date, "start_date"), end=o311.parse_datetime(end_date, "end_date"),
        ids=split(service_request_id), page=page, page_size=page_size, staff=caller.is_staff)


@router.get("/requests/{service_request_id}.json")
def get_request(service_request_id: str, engine: Engine = Depends(get_engine),
                caller: Caller = Depends(current_caller)) -> list[dict]:
    """One request; ``media_url`` only for signed-in staff."""
    return o311.get_request(engine, service_request_id, staff=caller.is_staff)
