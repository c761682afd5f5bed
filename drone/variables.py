"""Typed, bounded loudspeaker variables: what an operator may fill into an approved template.

A commander approves a template's words; the operator only chooses its variables. Free text
in a variable would let an operator make a drone say anything, so each variable has a type
and bounds, and its spoken form is made here, not typed by the operator:

========  ===================================================================  ==================
name      accepted value                                                       spoken as
========  ===================================================================  ==================
place     the name (or code) of a place in the reference layers: a POI,        the layer's name
          road, community, service post, grid or subdistrict
time      a clock time ``HH:MM`` (24 h)                                        ``22点30分``
deadline  a clock time ``HH:MM`` today, or a date ``YYYY-MM-DD`` within        ``18点00分`` /
          the next 30 days                                                     ``12月5日``
minutes   a whole number of minutes, 1..120                                    ``15分钟``
========  ===================================================================  ==================

Every problem names its variable (``variables.place`` ...) so the refusal, which is audited,
says what was wrong.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from citygrid.errors import InvalidInput
from citygrid.workcal import TZ

MAX_PLACE_CHARS = 40
MAX_DEADLINE_DAYS = 30
MINUTES_RANGE = (1, 120)
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Where a place may come from: (table, name column, code column or None). Layers are the
# city's published names, so a place is always one a commander could look up on the map.
PLACE_SOURCES = (("pois", "name", None), ("roads", "name", None), ("communities", "name", "code"),
                 ("posts", "name", "code"), ("grids", "name", "code"), ("subdistricts", "name", "code"))

TYPES = {
    "place": "a place in the reference layers (POI, road, community, post, grid or subdistrict name or code)",
    "time": "a clock time HH:MM",
    "deadline": f"HH:MM today or a date YYYY-MM-DD within {MAX_DEADLINE_DAYS} days",
    "minutes": f"a whole number of minutes {MINUTES_RANGE[0]}..{MINUTES_RANGE[1]}",
}
NAMES = tuple(TYPES)


def _clock(text: str) -> str | None:
    m = _CLOCK.match(text)
    return f"{int(m.group(1))}点{int(m.group(2)):02d}分" if m else None


def _place(conn: Connection, text: str) -> str | None:
    """The layer name of the place ``text`` names (by name or code), or None."""
    for table, name_col, code_col in PLACE_SOURCES:
        cond = f"{name_col} = :v" + (f" OR {code_col} = :v" if code_col else "")
        name = conn.execute(sa.text(f"SELECT {name_col} FROM {table} WHERE {cond} LIMIT 1"), {"v": text}).scalar()
        if name:
            return name
    return None


def spoken_value(conn: Connection, name: str, value, today: date | None = None) -> str:
    """The spoken form of one variable, or InvalidInput naming ``variables.<name>``."""
    where = f"variables.{name}"
    if name not in TYPES:
        raise InvalidInput(f"unknown variable {name!r}", [{"where": where, "problem": "unknown variable; "
                                                           f"known: {', '.join(NAMES)}"}])
    bad = InvalidInput(f"{where}: {value!r} is not {TYPES[name]}",
                       [{"where": where, "problem": f"{str(value)[:60]!r} is not {TYPES[name]}"}])
    if isinstance(value, bool) or value is None:
        raise bad
    if name == "minutes":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or not MINUTES_RANGE[0] <= value <= MINUTES_RANGE[1]:
            raise bad
        return f"{value}分钟"
    if not isinstance(value, str):
        raise bad
    text = value.strip()
    if name == "time":
        spoken = _clock(text)
    elif name == "deadline":
        spoken = _clock(text)
        if spoken is None and _DATE.match(text):
            try:
                day = date.fromisoformat(text)
            except ValueError:
                raise bad from None
            today = today or datetime.now(TZ).date()
            if today <= day <= today + timedelta(days=MAX_DEADLINE_DAYS):
                spoken = f"{day.month}月{day.day}日"
    else:  # place
        spoken = _place(conn, text) if 0 < len(text) <= MAX_PLACE_CHARS and text.isprintable() else None
    if spoken is None:
        raise bad
    return spoken


def spoken_values(conn: Connection, needed: set[str], given: dict | None, today: date | None = None) -> dict[str, str]:
    """The spoken form of every variable a template uses; every problem is listed (missing,
    unused, out of type or bounds), each naming its variable."""
    given = dict(given or {})
    problems = [{"where": f"variables.{m}", "problem": f"required by the template: {TYPES.get(m, m)}"}
                for m in sorted(needed - set(given))]
    problems += [{"where": f"variables.{e}", "problem": "not used by the template"}
                 for e in sorted(set(given) - needed)]
    out = {}
    for name in sorted(needed & set(given)):
        try:
            out[name] = spoken_value(conn, name, given[name], today)
        except InvalidInput as exc:
            problems += exc.problems
    if problems:
        raise InvalidInput("template variables refused: " + "; ".join(f"{p['where']}: {p['problem']}"
                                                                      for p in problems), problems)
    return out
