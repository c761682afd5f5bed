"""Performance indicators (CJ/T 292 style) per grid, subdistrict, district or the whole city.

The period is whole days ``date_from`` .. ``date_to`` inclusive, Asia/Shanghai, i.e. the
instants [date_from 00:00, date_to + 1 day 00:00). ``as_of`` (default now) is the moment the
report is made: nothing after it is counted, so a report on a past period is reproducible.

Two cohorts, each chosen so a case counts in exactly one period:

- **dispatched**: cases whose FIRST dispatch (``dispatched_at``) falls in the period.
  - **disposed** (处置): of those, the ones handled (``handled_at``) by ``as_of``.
  - **disposal rate** 处置率 = disposed / dispatched.
  - **reworked** (返工): of those, the ones sent back at least once (``rework_count > 0``).
  - **rework rate** 返工率 = reworked / dispatched.
- **due**: cases whose deadline (``due_at``) falls in the period and has passed by ``as_of``.
  "Due" follows the deadline, not the dispatch, because 结案率 asks "of the cases that had to
  be closed in this period, how many were": a case dispatched on 31 December with five
  working days belongs to January's count. A deadline still in the future is not due yet.
  - **closed** (结案): of those, the ones closed (``closed_at``) by ``as_of``.
  - **closure rate** 结案率 = closed / due.
  - **closed on time**: of those, closed at or before the deadline (``closed_at <= due_at``).
  - **on-time closure rate** 按期结案率 = closed on time / due.
  - **median working hours to close**: over the closed due cases, office hours (work
    calendar) from first dispatch to closure.

Rates are fractions rounded to 4 decimals, None when their denominator is 0. Cases without a grid (``outside_grid``) form a
row with unit None when grouped by grid.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from citygrid import vocab
from citygrid.worktable import working_hours_vec
from citygrid.errors import InvalidInput
from citygrid.workcal import TZ, to_local

LEVELS = {"grid": "grid_code", "subdistrict": "subdistrict_code", "district": "county_code", "city": None}
MAX_SPAN_DAYS = 3 * 366

COLUMNS = ("unit", "name", "dispatched", "disposed", "disposal_rate", "reworked", "rework_rate", "due",
           "closed", "closure_rate", "closed_on_time", "on_time_rate", "median_hours_to_close")


def default_period(date_from: date | None, date_to: date | None, today: date) -> tuple[date, date]:
    """``to`` defaults to today, ``from`` to 29 days before ``to``; both within years 1900-2199."""
    date_to = date_to or today
    for name, d in (("to", date_to), ("from", date_from)):
        if d is not None and not 1900 <= d.year < 2200:
            raise InvalidInput(f"`{name}` {d} is outside the years 1900-2199")
    return date_from or date_to - timedelta(days=29), date_to


def period_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """The instants [date_from 00:00, date_to + 1 day 00:00) in Asia/Shanghai. InvalidInput when
    a date lies outside 1900-2199, the period ends before it starts or spans more than
    MAX_SPAN_DAYS days."""
    for d in (date_from, date_to):
        if not 1900 <= d.year < 2200:
            raise InvalidInput(f"{d} is outside the years 1900-2199")
    if date_to < date_from:
        raise InvalidInput(f"the period ends ({date_to}) before it starts ({date_from})")
    if (date_to - date_from).days > MAX_SPAN_DAYS:
        raise InvalidInput(f"the period spans more than {MAX_SPAN_DAYS} days")
    return datetime.combine(date_from, time(0), TZ), datetime.combine(date_to + timedelta(days=1), time(0), TZ)


FACT_COLUMNS = ["unit", "dispatched_at", "handled_at", "rework_count", "due_at", "closed_at"]


def indicators(df: pd.DataFrame, start, end, as_of) -> pd.DataFrame:
    """The definitions above, written once: per ``unit`` of ``df`` (columns FACT_COLUMNS, aware
    datetimes or NaT) over the period [start, end) as of ``as_of``, one row of COLUMNS[2:].
    ``compute`` feeds it rows from the database; the history simulator its own frame."""
    if df.empty:
        return pd.DataFrame(columns=list(COLUMNS[2:]))
    as_of = pd.Timestamp(as_of)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    t = {c: pd.to_datetime(df[c], utc=True) for c in ("dispatched_at", "handled_at", "due_at", "closed_at")}
    unit = df["unit"].astype(object).where(df["unit"].notna(), "")  # groupby drops None keys
    disp = ((t["dispatched_at"] >= start) & (t["dispatched_at"] < end) & (t["dispatched_at"] <= as_of)).to_numpy()
    due = ((t["due_at"] >= start) & (t["due_at"] < end) & (t["due_at"] <= as_of)).to_numpy()
    closed = due & (t["closed_at"] <= as_of).to_numpy()
    on_time = closed & (t["closed_at"] <= t["due_at"]).to_numpy()
    hours = np.full(len(df), np.nan)
    if closed.any():
        hours[closed] = working_hours_vec(t["dispatched_at"][closed], t["closed_at"][closed])
    facts = pd.DataFrame({
        "unit": unit.to_numpy(),
        "dispatched": disp.astype(int),
        "disposed": (disp & (t["handled_at"] <= as_of).to_numpy()).astype(int),
        "reworked": (disp & (pd.to_numeric(df["rework_count"]).fillna(0) > 0).to_numpy()).astype(int),
        "due": due.astype(int),
        "closed": closed.astype(int),
        "closed_on_time": on_time.astype(int),
        "hours": hours,
    })
    g = facts.groupby("unit", sort=True)
    out = g[["dispatched", "disposed", "reworked", "due", "closed", "closed_on_time"]].sum()
    out["median_hours_to_close"] = g["hours"].median().round(2)
    out["disposal_rate"] = _rate(out["disposed"], out["dispatched"])
    out["rework_rate"] = _rate(out["reworked"], out["dispatched"])
    out["closure_rate"] = _rate(out["closed"], out["due"])
    out["on_time_rate"] = _rate(out["closed_on_time"], out["due"])
    return out[list(COLUMNS[2:])]


def _rate(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den > 0)).round(4).astype(object).where(den > 0, None)


def _names(engine: Engine, by: str) -> dict:
    if by == "district":
        return dict(vocab.COUNTY_NAMES)
    if by == "city":
        return {None: "日照市"}
    table = {"grid": "grids", "subdistrict": "subdistricts"}[by]
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(f"SELECT code, name FROM {table}")).all())


def compute(engine: Engine, by: str, date_from: date, date_to: date,
            as_of: datetime | None = None) -> list[dict]:
    """One dict per unit (see ``COLUMNS``), units sorted by code."""
    if by not in LEVELS:
        raise InvalidInput(f"unknown level {by!r}; valid: {', '.join(LEVELS)}")
    start, end = period_bounds(date_from, date_to)
    if as_of is not None and not 1900 <= as_of.year < 2200:
        raise InvalidInput(f"as_of {as_of.isoformat()} is outside the years 1900-2199")
    as_of = to_local(as_of) if as_of is not None else datetime.now(TZ)
    unit_col = LEVELS[by]
    unit_sql = f"c.{unit_col}" if unit_col else "NULL::text"
    # One scan: every case in either cohort, with the facts the indicators need.
    sql = sa.text(f"""
        SELECT {unit_sql} AS unit, c.dispatched_at, c.handled_at, c.rework_count, c.due_at, c.closed_at
        FROM cases c
        WHERE (c.dispatched_at >= :start AND c.dispatched_at < :end)
           OR (c.due_at >= :start AND c.due_at < :end)
    """)
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(sql, {"start": start, "end": end}).mappings().all(), columns=FACT_COLUMNS)
    out = indicators(df, start, end, as_of)
    if out.empty:
        return []
    names = _names(engine, by)
    rows = []
    for unit, rec in out.to_dict("index").items():
        key = unit or None
        row = {"unit": key, "name": names.get(key) if key or by == "city" else "(outside any grid)"}
        for col in COLUMNS[2:]:
            v = rec[col]
            if isinstance(v, (np.integer,)):
                v = int(v)
            elif isinstance(v, (float, np.floating)):
                v = None if np.isnan(v) else float(v)
            row[col] = v
        rows.append(row)
    return rows
