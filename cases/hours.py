"""Working hours between many pairs of instants at once (KPIs over a year of cases).

``WorkCalendar.working_hours_between`` answers one pair; calling it per case would be a
Python loop over every row. Here the same quantity is a difference of one cumulative
function, F(t) = 8 h x (working days before t's date) + office time already run on t's day,
so a whole column is a few numpy operations. Tests check it against the scalar version.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from citygrid.workcal import HOURS_PER_WORKDAY, OFFICE_PERIODS, TZ, WorkCalendar, default_calendar


def _seconds(t) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second


_PERIODS_S = [(_seconds(a), _seconds(b)) for a, b in OFFICE_PERIODS]


def _local_naive(values) -> np.ndarray:
    """Shanghai wall time as datetime64; naive inputs already are (the calendar's rule)."""
    s = pd.Series(list(values), dtype=object)
    try:
        d = pd.to_datetime(s)
    except (TypeError, ValueError):  # aware values with different offsets: normalise via UTC
        d = pd.to_datetime(s, utc=True)
    d = d.dt.tz_convert(TZ) if d.dt.tz is not None else d
    return d.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def working_hours_vec(start, end, calendar: WorkCalendar | None = None) -> np.ndarray:
    """Office hours from each ``start`` to the matching ``end`` (float array; NaN where either
    is missing). Aware datetimes of any zone; naive ones are Shanghai wall time, as in workcal."""
    cal = calendar or default_calendar()
    a, b = _local_naive(start), _local_naive(end)
    out = np.full(len(a), np.nan)
    valid = ~(np.isnat(a) | np.isnat(b))
    if not valid.any():
        return out
    a, b = a[valid], b[valid]
    da, db = a.astype("datetime64[D]"), b.astype("datetime64[D]")
    first = min(da.min(), db.min())
    days = np.arange(first, max(da.max(), db.max()) + np.timedelta64(1, "D"), dtype="datetime64[D]")
    mask = cal.workdays_mask(days)
    before = np.concatenate([[0], np.cumsum(mask)])  # working days strictly before days[i]

    def cumulative(t, d):
        i = (d - first).astype(np.int64)
        secs = (t - d).astype("timedelta64[s]").astype(np.float64)
        office = sum(np.clip(secs, lo, hi) - lo for lo, hi in _PERIODS_S)
        return before[i] * HOURS_PER_WORKDAY + np.where(mask[i], office / 3600.0, 0.0)

    out[valid] = cumulative(b, db) - cumulative(a, da)
    return out
