"""Work calendar: deadlines counted in working hours and working days, in Asia/Shanghai.

Official holidays and make-up working days (调休) come from the ``chinese_calendar`` package
(PyPI "chinesecalendar"), which knows each year only once the State Council has published
it. For a year it does not know we count weekends only and log a warning once per year; the
city can supply its own calendar file (``WorkCalendar.from_file``, or the environment
variable CITYGRID_CALENDAR_FILE for ``default_calendar()``) and that file wins over the
package.

Time semantics (all answers are aware datetimes in Asia/Shanghai; naive inputs are taken
as Shanghai wall time, aware ones are converted):

- Office hours are 08:30-12:00 and 13:30-18:00 on working days: 8 working hours a day.
- ``add_working_hours``: the clock runs only in office hours; a start outside them waits
  for the next office period. The deadline is the instant the given office time has run.
- ``add_working_days``: the deadline is the END of office hours (18:00) on the n-th working
  day after the start's calendar date. The day of the start itself never counts, since the
  clock usually starts part-way through it: dispatched Monday at any time, 1 working day,
  due Tuesday 18:00.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import numpy as np

from citygrid.vocab import WORKING_DAYS, WORKING_HOURS

log = logging.getLogger(__name__)

TZ = ZoneInfo("Asia/Shanghai")
WORKDAY_START = time(8, 30)
LUNCH_START = time(12, 0)
LUNCH_END = time(13, 30)
WORKDAY_END = time(18, 0)
OFFICE_PERIODS = ((WORKDAY_START, LUNCH_START), (LUNCH_END, WORKDAY_END))
HOURS_PER_WORKDAY = 8.0

CALENDAR_FILE_ENV = "CITYGRID_CALENDAR_FILE"
_DAY = timedelta(days=1)


def to_local(moment: datetime | date) -> datetime:
    """An aware Asia/Shanghai datetime; a bare date means its midnight."""
    if not isinstance(moment, datetime):
        return datetime.combine(moment, time(0), TZ)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=TZ)
    return moment.astimezone(TZ)


def _at(d: date, t: time) -> datetime:
    return datetime.combine(d, t, TZ)


class WorkCalendar:
    """Working days (chinese_calendar, overridden by the city's own dates) and deadlines counted in
    office time, in Asia/Shanghai; the rules are in the module docstring."""

    def __init__(self, holidays: Iterable[date] = (), workdays: Iterable[date] = (),
                 city_years: Iterable[int] = ()):
        """``holidays``/``workdays`` override the package; ``city_years`` are years the city
        vouches for (no fallback warning for them even when no date in them is listed)."""
        self._overrides = {d: False for d in holidays}
        for d in workdays:
            if d in self._overrides:
                raise ValueError(f"{d} is listed both as a holiday and as a workday")
            self._overrides[d] = True
        self._city_years = set(city_years) | {d.year for d in self._overrides}
        self._years: dict[int, np.ndarray] = {}  # year -> bool per day of year

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> WorkCalendar:
        """Read a city calendar.

        JSON: ``{"year": 2027, "holidays": ["2027-01-01", ...], "workdays": [...]}`` or a
        list of such objects. CSV: rows ``date,kind`` with kind holiday|workday (a header
        row ``date,kind`` is allowed).
        """
        path = Path(path)
        holidays, workdays, years = [], [], []
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            for entry in data if isinstance(data, list) else [data]:
                year = entry.get("year")
                for key, into in (("holidays", holidays), ("workdays", workdays)):
                    for text in entry.get(key, ()):
                        d = date.fromisoformat(text)
                        if year is not None and d.year != int(year):
                            raise ValueError(f"{path}: {text} is not in year {year}")
                        into.append(d)
                if year is not None:
                    years.append(int(year))
        elif path.suffix.lower() == ".csv":
            with path.open(newline="", encoding="utf-8") as f:
                for row in csv.reader(f):
                    if not row or not row[0].strip() or row[0].strip().lower() == "date":
                        continue
                    text, kind = row[0].strip(), row[1].strip().lower()
                    if kind not in ("holiday", "workday"):
                        raise ValueError(f"{path}: kind must be holiday or workday, not {kind!r}")
                    (holidays if kind == "holiday" else workdays).append(date.fromisoformat(text))
        else:
            raise ValueError(f"{path}: calendar file must be .json or .csv")
        return cls(holidays, workdays, years)

    # --- which days are working days --------------------------------------------------

    def _year(self, year: int) -> np.ndarray:
        mask = self._years.get(year)
        if mask is not None:
            return mask
        first = date(year, 1, 1)
        days = [first + timedelta(i) for i in range((date(year + 1, 1, 1) - first).days)]
        try:
            # One package call per day, once per year; everything after is array lookups.
            mask = np.array([chinese_calendar.is_workday(d) for d in days])
        except NotImplementedError:
            mask = np.array([d.weekday() < 5 for d in days])
            if year not in self._city_years:
                log.warning("no official holiday data for %d in chinesecalendar; counting "
                            "weekends only. Load the city's calendar with %s.",
                            year, CALENDAR_FILE_ENV)
        for d, working in self._overrides.items():
            if d.year == year:
                mask[(d - first).days] = working
        self._years[year] = mask
        return mask

    def is_workday(self, d: date | datetime) -> bool:
        """Whether ``d`` is a working day; a datetime counts by its Asia/Shanghai date."""
        if isinstance(d, datetime):
            d = to_local(d).date()
        return bool(self._year(d.year)[d.timetuple().tm_yday - 1])

    def workdays_mask(self, dates) -> np.ndarray:
        """Bool array, same shape as ``dates`` (datetime64 of any unit, read as Shanghai
        wall time); NaT is not a workday."""
        d = np.asarray(dates).astype("datetime64[D]")
        out = np.zeros(d.shape, dtype=bool)
        valid = ~np.isnat(d)
        year_start = d.astype("datetime64[Y]")
        years = year_start.astype(np.int64) + 1970
        day_of_year = (d - year_start).astype(np.int64)
        for year in np.unique(years[valid]):
            sel = valid & (years == year)
            out[sel] = self._year(int(year))[day_of_year[sel]]
        return out

    def next_workday(self, d: date) -> date:
        """The first working day on or after ``d``."""
        while not self.is_workday(d):
            d += _DAY
        return d

    # --- deadlines ---------------------------------------------------------------------

    def add_working_days(self, start: datetime | date, n: int) -> datetime:
        """18:00 on the n-th working day after the start's date (n = 0: the end of the start's
        day if it is a working day, else of the next working day)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        d = to_local(start).date()
        if n == 0:
            return _at(self.next_workday(d), WORKDAY_END)
        for _ in range(n):
            d = self.next_workday(d + _DAY)
        return _at(d, WORKDAY_END)

    def add_working_hours(self, start: datetime | date, hours: float) -> datetime:
        """The instant (Asia/Shanghai) when ``hours`` of office time (08:30-12:00 and 13:30-18:00
        on working days) have run from ``start``; a start outside office hours waits for the next
        office period. ``hours=0`` gives the start itself; ValueError for negative hours."""
        if hours < 0:
            raise ValueError("hours must be >= 0")
        now = to_local(start)
        remaining = timedelta(hours=hours)
        if not remaining:
            return now
        d = now.date()
        while True:
            if self.is_workday(d):
                for a, b in OFFICE_PERIODS:
                    begin, end = max(_at(d, a), now), _at(d, b)
                    if begin >= end:
                        continue
                    if remaining <= end - begin:
                        return begin + remaining
                    remaining -= end - begin
            d += _DAY

    def _office_time(self, d: date, lo: datetime, hi: datetime) -> timedelta:
        total = timedelta(0)
        if self.is_workday(d):
            for a, b in OFFICE_PERIODS:
                overlap = min(hi, _at(d, b)) - max(lo, _at(d, a))
                total += max(overlap, timedelta(0))
        return total

    def working_hours_between(self, a: datetime | date, b: datetime | date) -> float:
        """Office hours from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
        a, b = to_local(a), to_local(b)
        if b < a:
            return -self.working_hours_between(b, a)
        first, last = a.date(), b.date()
        if first == last:
            return self._office_time(first, a, b) / timedelta(hours=1)
        total = self._office_time(first, a, _at(first + _DAY, time(0)))
        total += self._office_time(last, _at(last, time(0)), b)
        between = np.arange(first + _DAY, last, dtype="datetime64[D]")
        full_days = int(self.workdays_mask(between).sum())
        return total / timedelta(hours=1) + full_days * HOURS_PER_WORKDAY

    def deadline(self, start: datetime | date, limit_value: float, limit_unit: str) -> datetime:
        """The deadline of a limit such as a ``vocab.Category``'s limit_value/limit_unit."""
        if limit_unit == WORKING_HOURS:
            return self.add_working_hours(start, limit_value)
        if limit_unit == WORKING_DAYS:
            if limit_value != int(limit_value):
                raise ValueError(f"working days must be whole, not {limit_value}")
            return self.add_working_days(start, int(limit_value))
        raise ValueError(f"unknown limit unit {limit_unit!r}; valid: {WORKING_HOURS}, {WORKING_DAYS}")


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    """The shared calendar; the setting CITYGRID_CALENDAR_FILE names an optional city file."""
    from citygrid.settings import Settings

    path = Settings().calendar_file  # read afresh: the calendar itself is cached here
    return WorkCalendar.from_file(path) if path else WorkCalendar()
