"""Every hour of the simulated years with what shapes activity in it: hour of day, weekday,
working day or not (the work calendar: weekends, official holidays, make-up days), the Spring
Festival and the days before it, school terms, month. Components of the generator multiply
profiles over these hours into an intensity and sample case times from it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from citygrid.worktable import DAY, HOUR, WorkTable


@dataclass
class Timeline:
    """Every hour of ``years`` (Asia/Shanghai local time) as parallel arrays: its start, calendar
    fields and the day flags the generator's rhythms use."""
    years: tuple[int, ...]
    start: np.ndarray  # int64 local seconds of each hour's start
    hod: np.ndarray  # hour of day 0..23
    dow: np.ndarray  # 0 = Monday
    month: np.ndarray  # 1..12
    year: np.ndarray
    frac: np.ndarray  # 0..1 position in the whole span
    workday: np.ndarray  # per the work calendar
    holiday: np.ndarray  # official holiday (not an ordinary weekend)
    spring_festival: np.ndarray  # the Spring Festival holiday
    pre_festival: np.ndarray  # the 14 days before it (New Year shopping, 年货)
    school_day: np.ndarray  # a working day in term time
    day_index: np.ndarray  # day number within the span

    @classmethod
    def build(cls, years, table: WorkTable) -> Timeline:
        """The timeline of ``years`` from the work ``table``. Official holidays: runs of days off
        that include a weekday; the Spring Festival: such a run of 7+ days starting in January
        or February; school holidays: 10 Jul-31 Aug, and from two weeks before the festival to
        ten days after it."""
        years = tuple(sorted(years))
        first = np.datetime64(date(years[0], 1, 1), "D")
        last = np.datetime64(date(years[-1] + 1, 1, 1), "D")
        days = np.arange(first, last)
        d_num = days.astype(np.int64)
        work = table.work[d_num - table.day0]
        weekday = (d_num + 3) % 7  # 1970-01-01 was a Thursday
        month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
        year = days.astype("datetime64[Y]").astype(np.int64) + 1970
        # official holidays: non-working weekdays, and the whole run of days off around them
        off = ~work
        run_id = np.cumsum(np.r_[True, off[1:] != off[:-1]])
        holiday_run = np.zeros(len(days), dtype=bool)
        spring = np.zeros(len(days), dtype=bool)
        for r in np.unique(run_id[off]):
            sel = run_id == r
            if (weekday[sel] < 5).any():
                holiday_run[sel] = True
                # the Spring Festival: the long (7+ day) break in January/February
                if sel.sum() >= 7 and month[sel][0] in (1, 2):
                    spring[sel] = True
        pre = np.zeros(len(days), dtype=bool)
        starts = np.flatnonzero(spring & ~np.r_[False, spring[:-1]])
        for s in starts:
            pre[max(0, s - 14):s] = True
        # school terms: no school in the summer (Jul 10 - Aug 31) and winter holidays
        # (two weeks before the Spring Festival to ten days after it)
        doy_md = (month * 100 + (days - days.astype("datetime64[M]")).astype(np.int64) + 1)
        vacation = (doy_md >= 710) & (doy_md <= 831)
        ends = np.flatnonzero(spring & ~np.r_[spring[1:], False])
        for s, e in zip(starts, ends):
            vacation[max(0, s - 14):e + 11] = True
        school = work & ~vacation

        n_days = len(days)
        hours = np.arange(n_days * 24)
        di = hours // 24
        start = d_num[di] * DAY + (hours % 24) * HOUR
        return cls(years, start, hours % 24, weekday[di], month[di], year[di],
                   hours / len(hours), work[di], holiday_run[di], spring[di], pre[di],
                   school[di], di)

    def __len__(self) -> int:
        return len(self.start)

    # --- profile helpers ------------------------------------------------------------

    def by_hour(self, profile) -> np.ndarray:
        """A 24-value hour-of-day profile spread over every hour."""
        return np.asarray(profile, dtype=float)[self.hod]

    def by_month(self, profile) -> np.ndarray:
        """A 12-value month profile (January first) spread over every hour."""
        return np.asarray(profile, dtype=float)[self.month - 1]

    def by_week(self, matrix: np.ndarray) -> np.ndarray:
        """A 7 x 24 weekly matrix (Monday first) over all hours."""
        return matrix[self.dow, self.hod]

    def by_year(self, factors: dict[int, float]) -> np.ndarray:
        """``{year: factor}`` spread over every hour (1.0 for years not given)."""
        per_year = np.array([factors.get(y, 1.0) for y in self.years])
        return per_year[np.searchsorted(np.asarray(self.years), self.year)]

    def sample(self, intensity: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` moments (local seconds) drawn with probability proportional to intensity
        per hour, uniform within the hour."""
        if n == 0:
            return np.empty(0, dtype=np.int64)
        p = np.clip(intensity, 0, None)
        h = rng.choice(len(p), size=n, p=p / p.sum())
        return self.start[h] + rng.integers(0, HOUR, size=n)
