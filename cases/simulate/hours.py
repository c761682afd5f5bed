"""A small reader of OSM-style hour strings ("Mo-Su 18:00-23:30", "Mo-Fr 07:00-08:00,16:30-17:30;
Sa 08:00-12:00", "24/7") into a 7 x 24 weekly matrix: the fraction of each hour (Monday first)
the rule covers. Ranges past midnight ("18:00-02:00") spill into the next day. Anything it
cannot read gives ``None`` (the caller falls back to the kind's typical hours); "off" rules
clear their days."""
from __future__ import annotations

import re

import numpy as np

DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


def _days(spec: str) -> list[int] | None:
    out: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-", 1)
            if a not in DAYS or b not in DAYS:
                return None
            i, j = DAYS.index(a), DAYS.index(b)
            out += [(i + k) % 7 for k in range(((j - i) % 7) + 1)]
        elif part in DAYS:
            out.append(DAYS.index(part))
        else:
            return None
    return out


def _minutes(spec: str) -> list[tuple[int, int]] | None:
    out = []
    for part in spec.split(","):
        m = _TIME.match(part.strip())
        if not m:
            return None
        h1, m1, h2, m2 = map(int, m.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start > 24 * 60 or end > 24 * 60:
            return None
        if end <= start:
            end += 24 * 60  # past midnight
        out.append((start, end))
    return out


def week_matrix(text: str | None) -> np.ndarray | None:
    """7 x 24 fractions of each hour covered (Monday row 0), or None when unreadable."""
    if text is None or not isinstance(text, str) or not text.strip():
        return None
    text = text.strip()
    if text == "24/7":
        return np.ones((7, 24))
    week = np.zeros(7 * 24 * 60, dtype=bool)  # minute of the week
    for rule in text.split(";"):
        rule = rule.strip()
        if not rule:
            continue
        head, _, rest = rule.partition(" ")
        days = _days(head)
        if days is None:  # a rule without days means every day
            days, rest = list(range(7)), rule
        rest = rest.strip()
        if rest == "off" or rest == "closed":
            for d in days:
                week[d * 1440:(d + 1) * 1440] = False
            continue
        spans = _minutes(rest)
        if spans is None:
            return None
        for d in days:
            for start, end in spans:
                idx = (d * 1440 + np.arange(start, end)) % week.size
                week[idx] = True
    return week.reshape(7, 24, 60).mean(axis=2)
