"""Intake: turn a report (citizen app, Open311 client, patrol officer, drone, sensor) into a case.

Rules, in order:
1. Validate every field and report all problems at once (InvalidInput, problems listed).
2. Coordinates arrive in the sender's frame (wgs84 | gcj02 | bd09). Swapped lon/lat is refused
   (the most common client bug); the point is converted to WGS84 for storage and the original
   numbers and frame are kept, so a disputed location can be traced to what was sent.
3. Location codes are assigned with ``gis.location.locate_sql`` inside the same transaction
   as the insert. A point outside the service area is refused; one inside it but outside
   every grid is accepted, flagged ``outside_grid`` and routed to its subdistrict.
4. Without coordinates, an ``address_string`` naming a subdistrict, community or grid is
   accepted and routed to that subdistrict only (no point is invented); otherwise refused.
5. Retries never make a second case: the ``Idempotency-Key`` (``citygrid.idempotency.run_once``)
   and the natural key "same device, same description, same place within a minute" (checked
   under an advisory lock in the same transaction as the insert).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from citygrid import vocab
from citygrid.db.schema import case_events, cases
from citygrid.errors import InvalidInput
from citygrid.idempotency import run_once
from citygrid.workcal import TZ
from gis.crs import parse_coord_sys, screen_lonlat, to_wgs84
from gis.location import locate_sql

MAX_DESCRIPTION = 4000
MAX_MEDIA_URLS = 10
# A retry of the same report (same device, text and place) within this window is the same case.
NATURAL_KEY_WINDOW = timedelta(minutes=1)
# "Same place": retries resend the same numbers; 1 m absorbs float formatting differences.
NATURAL_KEY_METRES = 1.0
OUTSIDE_MESSAGE = "outside Rizhao's service area"
IDEMPOTENCY_SCOPE = "cases.intake"
SWAPPED_MESSAGE = ("lat and long look swapped: long={lon}, lat={lat} lies in Rizhao only when read the other "
                   "way round; send long as the east coordinate (about 119) and lat as the north (about 35)")


@dataclass
class Report:
    """One incoming report as intake receives it: category slug, location (lon/lat in
    ``coord_sys``, or an ``address_string``), what was seen, who sent it and through what.
    ``reported_at`` None means now, by the server's clock."""
    category: str
    lon: float | None = None
    lat: float | None = None
    coord_sys: str = "wgs84"
    address_string: str | None = None
    description: str | None = None
    media_urls: list[str] = field(default_factory=list)
    attributes: dict = field(default_factory=dict)
    source: str = "citizen"
    reporter_name: str | None = None
    reporter_phone: str | None = None
    reporter_email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    api_client_id: int | None = None
    reporter_username: str | None = None
    reporter_role: str = "public"  # the role recorded on the case's first event
    external_id: str | None = None
    reported_at: datetime | None = None  # None: now (the server's clock)


def _problem(where: str, problem: str) -> dict:
    return {"where": where, "problem": problem}


def validate(report: Report) -> list[dict]:
    """Every problem with the report's own fields (location checks need the database)."""
    problems = []
    if report.category not in vocab.CATEGORIES:
        problems.append(_problem("service_code", f"unknown service_code {report.category!r}; valid: "
                                 + ", ".join(vocab.CATEGORY_SLUGS)))
    if report.source not in vocab.SOURCES:
        problems.append(_problem("source", f"unknown source {report.source!r}; valid: {', '.join(vocab.SOURCES)}"))
    if report.description is not None and len(report.description) > MAX_DESCRIPTION:
        problems.append(_problem("description", f"description has {len(report.description)} characters; "
                                 f"at most {MAX_DESCRIPTION} are allowed"))
    try:
        parse_coord_sys(report.coord_sys)
    except InvalidInput as exc:
        problems += exc.problems
    has_lon, has_lat = report.lon is not None, report.lat is not None
    if has_lon != has_lat:
        problems.append(_problem("lat" if has_lon else "long", "lat and long must be given together"))
    elif has_lon:
        # Swapped comes first: Rizhao read the wrong way round has lat ~119, which is also out of
        # range, and "swapped" is the message that lets the sender fix it. Outside the city is
        # the service area's call (locate_point), finer than a bounding box.
        screen = screen_lonlat(report.lon, report.lat)
        if screen.swapped.item():
            problems.append(_problem("long", SWAPPED_MESSAGE.format(lon=report.lon, lat=report.lat)))
        elif screen.missing.item() or screen.off_globe.item():
            problems.append(_problem("lat", f"lat {report.lat} / long {report.lon} are not valid coordinates"))
    elif not (report.address_string or "").strip():
        problems.append(_problem("location", "a location is required: lat and long, or address_string"))
    if len(report.media_urls) > MAX_MEDIA_URLS:
        problems.append(_problem("media_url", f"at most {MAX_MEDIA_URLS} media URLs"))
    for url in report.media_urls:
        if not re.match(r"^https?://\S+$", url) or len(url) > 2000:
            problems.append(_problem("media_url", f"media_url must be an http(s) URL: {url[:80]!r}"))
    if report.reporter_email and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", report.reporter_email):
        problems.append(_problem("email", f"not an email address: {report.reporter_email!r}"))
    return problems


def service_notice(category: str) -> str:
    """The bilingual handling promise of ``category`` (Open311 ``service_notice``), e.g.
    "占道经营: 派遣后2个工作时内处置 / Occupied-road vending: handled within 2 working hours
    of dispatch"; UnknownCategory for an unknown slug."""
    cat = vocab.category(category)
    unit = "working hours" if cat.limit_unit == vocab.WORKING_HOURS else "working days"
    zh_unit = "个工作时" if cat.limit_unit == vocab.WORKING_HOURS else "个工作日"
    value = f"{cat.limit_value:g}"
    return (f"{cat.name_zh}: 派遣后{value}{zh_unit}内处置 / {cat.name_en}: "
            f"handled within {value} {unit} of dispatch")


# --- location ----------------------------------------------------------------------------

def locate_point(conn: Connection, report: Report) -> dict:
    """WGS84 point and location codes for a report with coordinates, or InvalidInput."""
    lon, lat, frame = float(report.lon), float(report.lat), parse_coord_sys(report.coord_sys)
    wlon, wlat = (float(np.asarray(v)) for v in to_wgs84(lon, lat, frame))
    loc = locate_sql(conn, wlon, wlat)
    if not bool(loc["in_service_area"]):
        raise InvalidInput(f"the point long={lon}, lat={lat} ({frame}) is {OUTSIDE_MESSAGE}",
                           [_problem("location", OUTSIDE_MESSAGE)])
    grid = loc["grid_code"] or None
    return {
        "lon": wlon, "lat": wlat, "located_by": "point",
        "grid_code": grid, "community_code": loc["community_code"] or None,
        "subdistrict_code": loc["subdistrict_code"] or None, "county_code": loc["county_code"] or None,
        # Inside the service area but in no grid: accepted, routed to its subdistrict, flagged.
        "outside_grid": grid is None,
    }


# Names carry administrative suffixes that addresses usually drop: 秦楼街道 -> 秦楼,
# 日升社区居委会 -> 日升社区 (the 社区 stays: "日升" alone would be too loose).
_PLACE_NAMES_SQL = """
SELECT kind, code, subdistrict_code, name FROM (
  SELECT 'subdistrict' AS kind, code, code AS subdistrict_code, name,
         regexp_replace(name, '(街道办事处|街道|镇|乡)$', '') AS stem FROM subdistricts
  UNION ALL
  SELECT 'community', code, subdistrict_code, name,
         regexp_replace(name, '(居民委员会|村民委员会|居委会|村委会)$', '') FROM communities
  UNION ALL
  SELECT 'grid', code, subdistrict_code, name, name FROM grids
) u
WHERE (char_length(name) >= 2 AND strpos(:addr, name) > 0)
   OR (char_length(stem) >= 2 AND strpos(:addr, stem) > 0)
ORDER BY kind, char_length(name) DESC, code
"""


_ADMIN_PREFIX = re.compile(r"^\s*(中国)?\s*(山东省|山东)?\s*(日照市)?")


def geocode_address(conn: Connection, address: str) -> dict:
    """Route an address-only report to a subdistrict by the unit names it mentions.

    A named subdistrict wins (it is what we route to); else the subdistricts of the named
    communities/grids must agree. Ambiguous or unknown addresses are refused, naming why.
    """
    # Drop the province and city ("山东省日照市..."): the stem of 日照街道 is 日照, which every
    # full address contains, and so is the development zone's name (日照经济技术开发区).
    text = _ADMIN_PREFIX.sub("", address.replace("日照经济技术开发区", "经济技术开发区"))
    rows = conn.execute(sa.text(_PLACE_NAMES_SQL), {"addr": text}).mappings().all()
    subs = sorted({r["subdistrict_code"] for r in rows if r["kind"] == "subdistrict"})
    if not subs:
        subs = sorted({r["subdistrict_code"] for r in rows})
    if not subs:
        raise InvalidInput(
            f"address_string {address!r} names no subdistrict, community or grid of Rizhao that we know; "
            "send lat and long, or name the street (街道), town or community",
            [_problem("address_string", "cannot be located")])
    if len(subs) > 1:
        names = ", ".join(sorted({r["name"] for r in rows}))
        raise InvalidInput(
            f"address_string {address!r} is ambiguous: it names places in {len(subs)} subdistricts ({names}); "
            "send lat and long, or name the street (街道) or town",
            [_problem("address_string", "ambiguous")])
    sub = subs[0]
    return {"lon": None, "lat": None, "located_by": "address", "grid_code": None, "community_code": None,
            "subdistrict_code": sub, "county_code": sub[:6], "outside_grid": True}


def _post_code(conn: Connection, community_code: str | None) -> str | None:
    if not community_code:
        return None
    return conn.execute(sa.text("SELECT code FROM posts WHERE community_code = :c ORDER BY code LIMIT 1"),
                        {"c": community_code}).scalar()


# --- the insert ----------------------------------------------------------------------------

def _find_retry(conn: Connection, report: Report, place: dict, at: datetime) -> dict | None:
    """The earlier case this report repeats (natural key), if any. Caller holds the lock."""
    params = {"device": report.device_id, "desc": report.description or "",
              "lo": at - NATURAL_KEY_WINDOW, "hi": at + NATURAL_KEY_WINDOW}
    if place["lon"] is not None:
        same_place = ("c.geom IS NOT NULL AND ST_DWithin(c.geom::geography, "
                      "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :metres)")
        params.update(lon=place["lon"], lat=place["lat"], metres=NATURAL_KEY_METRES)
    else:
        same_place = "c.geom IS NULL AND c.address_string = :addr"
        params["addr"] = report.address_string
    row = conn.execute(sa.text(
        "SELECT c.id, c.service_request_id FROM cases c WHERE c.device_id = :device "
        "AND coalesce(c.description, '') = :desc AND c.reported_at BETWEEN :lo AND :hi "
        f"AND {same_place} ORDER BY c.id LIMIT 1"), params).mappings().first()
    return dict(row) if row else None


def insert_case(conn: Connection, report: Report) -> tuple[dict, bool]:
    """Validate, locate and insert in ``conn``'s transaction; return (summary, is_retry).

    The summary is JSON-able (it is what ``run_once`` stores for a replay).
    """
    problems = validate(report)
    if problems:
        raise InvalidInput("invalid report: " + "; ".join(f"{p['where']}: {p['problem']}" for p in problems),
                           problems)
    report.coord_sys = parse_coord_sys(report.coord_sys)
    if report.lon is not None:
        place = locate_point(conn, report)
    else:
        place = geocode_address(conn, report.address_string.strip())
    at = report.reported_at or datetime.now(TZ)

    if report.device_id:
        # Serialise reports from one device so two concurrent retries cannot both miss each other.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                     {"k": f"cases.natural\x1f{report.device_id}"})
        earlier = _find_retry(conn, report, place, at)
        if earlier is not None:
            return _summary(earlier, report), True

    values = {
        "category": report.category, "source": report.source, "status": vocab.CASE_STATES[0],
        "description": report.description, "media_urls": list(report.media_urls),
        "attributes": dict(report.attributes), "address_string": report.address_string,
        "reporter_name": report.reporter_name, "reporter_phone": report.reporter_phone,
        "reporter_email": report.reporter_email, "device_id": report.device_id,
        "account_id": report.account_id, "api_client_id": report.api_client_id,
        "reporter_username": report.reporter_username, "external_id": report.external_id,
        "orig_lon": report.lon, "orig_lat": report.lat, "coord_sys": report.coord_sys,
        "located_by": place["located_by"], "grid_code": place["grid_code"],
        "community_code": place["community_code"], "subdistrict_code": place["subdistrict_code"],
        "county_code": place["county_code"], "outside_grid": place["outside_grid"],
        "post_code": _post_code(conn, place["community_code"]),
        "reported_at": at, "updated_at": at,
    }
    if place["lon"] is not None:
        values["geom"] = sa.func.ST_SetSRID(sa.func.ST_MakePoint(place["lon"], place["lat"]), 4326)
    row = conn.execute(sa.insert(cases).values(**values)
                       .returning(cases.c.id, cases.c.service_request_id)).mappings().one()
    conn.execute(sa.insert(case_events).values(
        case_id=row["id"], from_state=None, to_state=vocab.CASE_STATES[0],
        actor=report.reporter_username or (f"api_client:{report.api_client_id}" if report.api_client_id
                                           else report.source),
        role=report.reporter_role,
        at=at, note="reported", county_code=place["county_code"]))
    return _summary(row, report), False


def _summary(row, report: Report) -> dict:
    return {"id": int(row["id"]), "service_request_id": row["service_request_id"],
            "service_notice": service_notice(report.category), "account_id": report.account_id}


def submit(engine: Engine, report: Report, *, principal: str, idempotency_key: str | None = None) -> tuple[dict, bool]:
    """Create a case once; return (summary, replayed). ``principal`` scopes the key (who sent it)."""
    payload = {k: v for k, v in asdict(report).items() if v not in (None, [], {})}

    def work(conn: Connection):
        summary, retry = insert_case(conn, report)
        return {**summary, "retry": retry}

    body, replayed = run_once(engine, IDEMPOTENCY_SCOPE, principal, idempotency_key, payload, work)
    replayed = replayed or body.pop("retry", False)
    body.pop("retry", None)
    return body, bool(replayed)
