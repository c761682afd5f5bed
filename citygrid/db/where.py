"""The one way citygrid builds a dynamic SQL WHERE: conditions joined by AND, every value bound
as a parameter (never formatted into the SQL). Each ``:?`` in a condition takes the next value.

    w = Where("p.status = 'stopped'")
    w.add_if(campaign, "p.campaign = :?")
    w.period("p.started_at", start, end)
    conn.execute(sa.text(f"SELECT ... FROM patrols p {w.sql()}"), w.params)
"""
from __future__ import annotations

from typing import Any


class Where:
    """AND-joined conditions and their bound parameters."""

    def __init__(self, *conditions: str, prefix: str = "w"):
        self.conditions: list[str] = list(conditions)
        self.params: dict[str, Any] = {}
        self._prefix = prefix

    def add(self, condition: str, *values: Any) -> Where:
        """Add ``condition``; its ``:?`` markers bind ``values`` in order."""
        parts = condition.split(":?")
        if len(parts) - 1 != len(values):
            raise ValueError(f"{len(parts) - 1} markers for {len(values)} values in {condition!r}")
        out = parts[0]
        for value, rest in zip(values, parts[1:]):
            name = f"{self._prefix}{len(self.params)}"
            self.params[name] = value
            out += f":{name}{rest}"
        self.conditions.append(out)
        return self

    def add_if(self, value: Any, condition: str) -> Where:
        """Add ``condition`` bound to ``value`` unless ``value`` is None."""
        return self if value is None else self.add(condition, value)

    def period(self, column: str, start: Any, end: Any, *, end_inclusive: bool = False) -> Where:
        """``start <= column < end`` (``<= end`` when ``end_inclusive``); an absent bound is open."""
        self.add_if(start, f"{column} >= :?")
        return self.add_if(end, f"{column} {'<=' if end_inclusive else '<'} :?")

    def sql(self) -> str:
        """``WHERE a AND b ...``, or nothing when there is no condition."""
        return f"WHERE {' AND '.join(self.conditions)}" if self.conditions else ""

    def joined(self) -> str:
        """The conditions alone, AND-joined (``TRUE`` when there is none)."""
        return " AND ".join(self.conditions) if self.conditions else "TRUE"
