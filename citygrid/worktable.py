"""The work calendar as arrays: deadlines and office time for many cases at once.

``citygrid.workcal.WorkCalendar`` answers one moment at a time; KPIs over a year of cases and a
history of 191,000 simulated ones need the same answers vectorised, and this is the one place
that does it (``working_hours_vec`` for columns of instants, ``WorkTable`` underneath). ``WorkTable`` precomputes, for every day of a span, whether
it is a working day (from the WorkCalendar, so holidays and make-up days are the same) and the
office time before it; every question is then a ``searchsorted``.

Moments are int64 *local seconds*: seconds since 1970-01-01 00:00 Asia/Shanghai wall time
(China has had no daylight saving since 1991, so local = UTC + 8 h exactly). The semantics are
WorkCalendar's, and the tests compare the two on random moments:

- office hours 08:30-12:00 and 13:30-18:00 on working days;
- ``add_working_hours``: the instant the given office time has run (a start outside office
  hours waits for the next office period);
- ``add_working_days``: 18:00 on the n-th working day after the start's calendar date.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from citygrid.vocab import WORKING_DAYS, WORKING_HOURS
from citygrid.workcal import OFFICE_PERIODS, TZ, WorkCalendar, default_calendar

DAY = 86_400
HOUR = 3_600
UTC_OFFSET = 8 * HOUR  # Asia/Shanghai, no DST since 1991


def _clock_s(t) -> int:
    return t.hour * HOUR + t.minute * 60 + t.second


# workcal's office periods (08:30-12:00, 13:30-18:00) as seconds of the day
(AM_START, AM_END), (PM_START, PM_END) = ((_clock_s(a), _clock_s(b)) for a, b in OFFICE_PERIODS)
AM_LEN, PM_LEN = AM_END - AM_START, PM_END - PM_START
OFFICE_PER_DAY = AM_LEN + PM_LEN  # 8 h


def _local_datetime64(moments) -> np.ndarray:
    """Shanghai wall time as datetime64[s] (NaT where missing). Aware values of any zone, or
    with different offsets, are converted; naive ones already are wall time (workcal's rule)."""
    s = pd.Series(list(moments) if not isinstance(moments, pd.Series) else moments, dtype=object)
    try:
        d = pd.to_datetime(s)
    except (TypeError, ValueError):  # aware values with different offsets: normalise via UTC
        d = pd.to_datetime(s, utc=True)
    if d.dt.tz is not None:
        d = d.dt.tz_convert(TZ).dt.tz_localize(None)
    return d.to_numpy(dtype="datetime64[s]")


def local_seconds(moments) -> np.ndarray:
    """Aware (any zone) or naive (Shanghai wall time) datetimes -> int64 local seconds."""
    return _local_datetime64(moments).astype(np.int64)


def working_hours_vec(start, end, calendar: WorkCalendar | None = None) -> np.ndarray:
    """Office hours from each ``start`` to the matching ``end`` (float array; NaN where either
    is missing); negative when ``end`` comes first. Same answers as
    ``WorkCalendar.working_hours_between``, for whole columns."""
    a, b = _local_datetime64(start), _local_datetime64(end)
    out = np.full(len(a), np.nan)
    valid = ~(np.isnat(a) | np.isnat(b))
    if not valid.any():
        return out
    a, b = a[valid].astype(np.int64), b[valid].astype(np.int64)
    first, last = min(a.min(), b.min()) // DAY, max(a.max(), b.max()) // DAY + 1
    table = WorkTable(np.datetime64(int(first), "D"), np.datetime64(int(last), "D"), calendar)
    out[valid] = table.working_hours_between(a, b)
    return out


def to_aware(local_s: np.ndarray) -> pd.DatetimeIndex:
    """int64 local seconds (-1 or any negative = missing) -> aware Asia/Shanghai datetimes."""
    local_s = np.asarray(local_s, dtype=np.int64)
    utc = (local_s - UTC_OFFSET).astype("datetime64[s]").astype("datetime64[us]")
    utc = np.where(local_s < 0, np.datetime64("NaT"), utc)
    return pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert("Asia/Shanghai")


class WorkTable:
    """Working days and cumulative office seconds for each day in [first, last)."""

    def __init__(self, first: date | np.datetime64, last: date | np.datetime64,
                 calendar: WorkCalendar | None = None):
        cal = calendar or default_calendar()
        self.days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D"))
        self.day0 = int(self.days[0].astype(np.int64))
        self.work = cal.workdays_mask(self.days)
        # office seconds elapsed before the start of each day (and after the last one)
        per_day = self.work.astype(np.int64) * OFFICE_PER_DAY
        self.cum = np.concatenate([[0], np.cumsum(per_day)])
        self.work_days = self.days[self.work].astype(np.int64)  # day numbers since epoch
        self.work_cum = self.cum[:-1][self.work]  # office seconds before each working day

    @classmethod
    def for_years(cls, years, calendar: WorkCalendar | None = None) -> WorkTable:
        """A table from a year before the first to a year after the last (deadlines spill)."""
        return cls(date(min(years) - 1, 1, 1), date(max(years) + 2, 1, 1), calendar)

    def _day_index(self, t: np.ndarray) -> np.ndarray:
        idx = t // DAY - self.day0
        if len(idx) and (idx.min() < 0 or idx.max() >= len(self.days)):
            raise ValueError("moment outside the work table's span")
        return idx

    def is_workday(self, t) -> np.ndarray:
        """Whether each moment (local seconds) falls on a working day."""
        return self.work[self._day_index(np.asarray(t, dtype=np.int64))]

    def office_elapsed(self, t) -> np.ndarray:
        """Office seconds from the table's start to each moment."""
        t = np.asarray(t, dtype=np.int64)
        idx = self._day_index(t)
        sod = t % DAY
        within = np.clip(sod - AM_START, 0, AM_LEN) + np.clip(sod - PM_START, 0, PM_LEN)
        return self.cum[idx] + self.work[idx] * within

    def working_hours_between(self, a, b) -> np.ndarray:
        """Office hours from each ``a`` to the matching ``b`` (local seconds)."""
        return (self.office_elapsed(b) - self.office_elapsed(a)) / HOUR

    def add_working_hours(self, t, hours) -> np.ndarray:
        """The moment each ``t`` plus ``hours`` of office time is reached."""
        t = np.asarray(t, dtype=np.int64)
        hours = np.broadcast_to(np.asarray(hours, dtype=float), t.shape)
        target = self.office_elapsed(t) + np.round(hours * HOUR).astype(np.int64)
        k = np.searchsorted(self.work_cum + OFFICE_PER_DAY, target, side="left")
        if len(k) and k.max() >= len(self.work_days):
            raise ValueError("deadline beyond the work table's span")
        m = target - self.work_cum[k]
        tod = np.where(m <= AM_LEN, AM_START + m, PM_START + (m - AM_LEN))
        out = self.work_days[k] * DAY + tod
        return np.where(hours == 0, t, out)

    def add_working_days(self, t, n) -> np.ndarray:
        """18:00 on the n-th working day after each ``t``'s date (n = 0: that day or the next working one)."""
        t = np.asarray(t, dtype=np.int64)
        n = np.broadcast_to(np.asarray(n, dtype=np.int64), t.shape)
        # first working day on or after the start's date (n = 0), else strictly after it
        k0 = np.searchsorted(self.work_days, t // DAY + (n > 0), side="left")
        k = k0 + np.maximum(n - 1, 0)
        if len(k) and k.max() >= len(self.work_days):
            raise ValueError("deadline beyond the work table's span")
        return self.work_days[k] * DAY + PM_END

    def deadline(self, t, limit_value, limit_unit) -> np.ndarray:
        """Vectorised ``WorkCalendar.deadline``; value and unit may be arrays."""
        t = np.asarray(t, dtype=np.int64)
        value = np.broadcast_to(np.asarray(limit_value, dtype=float), t.shape)
        unit = np.broadcast_to(np.asarray(limit_unit, dtype=object), t.shape)
        hours = unit == WORKING_HOURS
        days = unit == WORKING_DAYS
        if not np.all(hours | days):
            raise ValueError(f"limit unit must be {WORKING_HOURS} or {WORKING_DAYS}")
        out = np.empty(t.shape, dtype=np.int64)
        out[hours] = self.add_working_hours(t[hours], value[hours])
        out[days] = self.add_working_days(t[days], value[days].astype(np.int64))
        return out
