"""Open311 GeoReport v2 views of the categories (services) and cases (service requests).

What GeoReport v2 fields mean here:
- ``service_code`` is the category slug (vocab.CATEGORIES); ``status`` is open|closed, closed
  meaning vocab.CLOSED_STATES (verified and closed, or evaluated); ``status_notes`` carries the
  workflow state and the last transition's note (transition notes are public by design).
- ``expected_datetime`` is the handling deadline (``due_at``), set at dispatch.
- ``agency_responsible`` is the department the case is dispatched to.
- ``address_id`` and ``zipcode`` stay null: the city has no address register we can cite.
- Reporter contact never appears in these documents, for anyone: the Open311 request
  format has no field for it.
- ``media_url`` (the first photo) is staff-only, like every photo (catalog.CASE_PERSONAL_COLUMNS):
  photos show people, plates and homes. Public callers get ``media_url: null``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from citygrid import vocab
from cases.intake import service_notice
from cases.records import local
from citygrid.db.where import Where
from citygrid.errors import InvalidInput, NotFound
from citygrid.workcal import TZ

MAX_SPAN = timedelta(days=90)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Attribute:
    """One GeoReport v2 service attribute (a question asked with a report); by default a single
    choice among ``values``, (key, name) pairs."""
    code: str
    description: str
    datatype: str = "singlevaluelist"
    required: bool = False
    values: tuple[tuple[str, str], ...] = ()
    variable: bool = True

    def as_dict(self, order: int) -> dict:
        """The attribute as a GeoReport v2 service-definition entry at 1-based ``order``."""
        return {"variable": self.variable, "code": self.code, "datatype": self.datatype,
                "required": self.required, "datatype_description": None, "order": order,
                "description": self.description,
                "values": [{"key": k, "name": n} for k, n in self.values]}


_YES_NO = (("yes", "是 yes"), ("no", "否 no"))
_STILL_THERE = Attribute("still_there", "问题是否仍在现场? Is the problem still there?", values=_YES_NO)
# Service attributes: street-order problems move on (whether they are still there decides if a
# squad goes now); noise and gas need the one fact the dispatcher asks first.
ATTRIBUTES: dict[str, tuple[Attribute, ...]] = {
    **{c.slug: (_STILL_THERE,) for c in vocab.CATEGORIES.values() if c.main_class == "05"},
    "noise": (_STILL_THERE, Attribute("time_of_day", "何时发生? When does it happen?",
                                      values=(("day", "白天 day"), ("night", "夜间 night (22:00-06:00)")))),
    "gas_safety": (Attribute("smell_of_gas", "是否闻到燃气味? Can you smell gas?", values=_YES_NO),),
}


def _service(cat: vocab.Category) -> dict:
    return {
        "service_code": cat.slug,
        "service_name": f"{cat.name_zh} {cat.name_en}",
        "description": cat.description,
        "metadata": bool(ATTRIBUTES.get(cat.slug)),
        "type": "realtime",
        "keywords": ", ".join((cat.name_zh, cat.name_en, cat.code)),
        "group": f"{cat.main_class_zh} {cat.main_class_en}",
    }


def services() -> list[dict]:
    """GeoReport v2 ``GET services``: one entry per category, in vocabulary order."""
    return [_service(c) for c in vocab.CATEGORIES.values()]


def service_definition(code: str) -> dict:
    """GeoReport v2 ``GET services/{service_code}``: the category's attributes; NotFound for an
    unknown code."""
    if code not in vocab.CATEGORIES:
        raise NotFound(f"service_code {code!r} not found; valid: {', '.join(vocab.CATEGORY_SLUGS)}")
    return {"service_code": code,
            "attributes": [a.as_dict(i + 1) for i, a in enumerate(ATTRIBUTES.get(code, ()))]}


def check_attributes(code: str, given: dict[str, list[str]]) -> dict:
    """Validate ``attribute[CODE]`` values against the service definition; return them stored
    as {code: value} (a list for multivaluelist)."""
    defs = {a.code: a for a in ATTRIBUTES.get(code, ())}
    problems, out = [], {}
    for name, values in given.items():
        attr = defs.get(name)
        if attr is None:
            problems.append({"where": f"attribute[{name}]", "problem": f"service {code!r} has no attribute {name!r}"
                             + (f"; it has: {', '.join(defs)}" if defs else "")})
            continue
        keys = {k for k, _ in attr.values}
        bad = [v for v in values if keys and v not in keys]
        if bad:
            problems.append({"where": f"attribute[{name}]",
                             "problem": f"{bad[0]!r} is not one of {', '.join(sorted(keys))}"})
            continue
        out[name] = values if attr.datatype == "multivaluelist" else values[-1]
    for name, attr in defs.items():
        if attr.required and name not in out:
            problems.append({"where": f"attribute[{name}]", "problem": "required"})
    if problems:
        raise InvalidInput("invalid attributes: " + "; ".join(f"{p['where']}: {p['problem']}" for p in problems),
                           problems)
    return out


# --- requests --------------------------------------------------------------------------------

_REQUEST_SQL = """
SELECT c.id, c.service_request_id, c.status, c.category, c.description, c.address_string,
       c.media_urls, c.reported_at, c.updated_at, c.due_at, ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat,
       d.name AS department_name,
       (SELECT e.note FROM case_events e WHERE e.case_id = c.id ORDER BY e.at DESC, e.id DESC LIMIT 1) AS last_note
FROM cases c LEFT JOIN departments d ON d.id = c.department_id
"""


def _iso(value) -> str | None:
    return local(value).isoformat() if value is not None else None


def format_request(row, staff: bool = False) -> dict:
    """One GeoReport v2 request document; ``staff`` callers also get the photo's URL."""
    cat = vocab.CATEGORIES.get(row["category"])
    state = row["status"]
    notes = state if not row["last_note"] else f"{state}: {row['last_note']}"
    return {
        "service_request_id": row["service_request_id"],
        "status": "closed" if state in vocab.CLOSED_STATES else "open",
        "status_notes": notes,
        "service_name": f"{cat.name_zh} {cat.name_en}" if cat else row["category"],
        "service_code": row["category"],
        "description": row["description"],
        "agency_responsible": row["department_name"],
        "service_notice": None if cat is None else service_notice(cat.slug),
        "requested_datetime": _iso(row["reported_at"]),
        "updated_datetime": _iso(row["updated_at"]),
        "expected_datetime": _iso(row["due_at"]),
        "address": row["address_string"],
        "address_id": None,
        "zipcode": None,
        "lat": row["lat"],
        "long": row["lon"],
        "media_url": (row["media_urls"] or [None])[0] if staff else None,
    }


def parse_datetime(text: str | None, name: str) -> datetime | None:
    """An ISO 8601 date or datetime (``Z`` allowed; naive = Asia/Shanghai) as an aware datetime;
    None when empty. InvalidInput names the parameter ``name`` when it does not parse."""
    if text is None or text == "":
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO 8601 date or datetime, e.g. 2025-01-27T17:00:00+08:00; "
                           f"got {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=TZ)


def list_requests(engine: Engine, *, service_codes: list[str] | None = None, status: str | None = None,
                  start: datetime | None = None, end: datetime | None = None, ids: list[str] | None = None,
                  page: int = 1, page_size: int = DEFAULT_PAGE_SIZE, now: datetime | None = None,
                  staff: bool = False) -> list[dict]:
    """GeoReport v2 ``GET requests``: at most 90 days (default the last 90), newest first.
    ``ids`` (service_request_id list) overrides every other filter, as the spec says."""
    problems = []
    if page < 1:
        problems.append({"where": "page", "problem": "must be >= 1"})
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        problems.append({"where": "page_size", "problem": f"must be between 1 and {MAX_PAGE_SIZE}"})
    where = Where()
    if ids:
        where.add("c.service_request_id = ANY(:?)", [i.strip().upper() for i in ids])
    else:
        now = now or datetime.now(TZ)
        end = end or (start + MAX_SPAN if start is not None and start + MAX_SPAN < now else now)
        start = start or end - MAX_SPAN
        if start > end:
            problems.append({"where": "start_date", "problem": "start_date is after end_date"})
        elif end - start > MAX_SPAN:
            problems.append({"where": "end_date", "problem": f"the span from start_date to end_date is "
                             f"{(end - start).days} days; at most 90 days may be asked for"})
        where.period("c.reported_at", start, end, end_inclusive=True)
        if service_codes:
            unknown = [c for c in service_codes if c not in vocab.CATEGORIES]
            if unknown:
                problems.append({"where": "service_code", "problem": f"unknown service_code {unknown[0]!r}"})
            where.add("c.category = ANY(:?)", service_codes)
        if status:
            if status not in ("open", "closed"):
                problems.append({"where": "status", "problem": "status is open or closed"})
            closed = ", ".join(f"'{s}'" for s in vocab.CLOSED_STATES)
            where.add(f"c.status {'' if status == 'closed' else 'NOT '}IN ({closed})")
    if problems:
        raise InvalidInput("; ".join(f"{p['where']}: {p['problem']}" for p in problems), problems)
    sql = f"{_REQUEST_SQL} {where.sql()} ORDER BY c.reported_at DESC, c.id DESC LIMIT :limit OFFSET :offset"
    params = {**where.params, "limit": page_size, "offset": (page - 1) * page_size}
    with engine.connect() as conn:
        rows = conn.execute(sa.text(sql), params).mappings().all()
    return [format_request(r, staff) for r in rows]


def get_request(engine: Engine, service_request_id: str, staff: bool = False) -> list[dict]:
    """GeoReport v2 ``GET requests/{id}``: a one-element list, or NotFound."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(f"{_REQUEST_SQL} WHERE c.service_request_id = :sid"),
                           {"sid": service_request_id.strip().upper()}).mappings().first()
    if row is None:
        raise NotFound(f"service request {service_request_id!r} not found")
    return [format_request(row, staff)]

