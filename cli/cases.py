"""``citygrid cases ...``: KPIs and workflow lists from the command line."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import typer
from rich.console import Console
from rich.table import Table

from citygrid.db.engine import get_engine
from citygrid.workcal import TZ

cases_app = typer.Typer(help="Cases: KPIs, overdue cases, unacknowledged escalations.", no_args_is_help=True)
console = Console()


def _pct(v) -> str:
    return "—" if v is None else f"{100 * v:.2f}%"


def _date(text: str | None, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {text!r}") from None


@cases_app.command("kpi")
def kpi_cmd(
    by: str = typer.Option("city", "--by", help="grid | subdistrict | district | city"),
    date_from: str = typer.Option(None, "--from", help="first day YYYY-MM-DD (default: 29 days before --to)"),
    date_to: str = typer.Option(None, "--to", help="last day YYYY-MM-DD, inclusive (default: today)"),
    as_of: str = typer.Option(None, "--as-of", help="count what was known at this instant (ISO 8601, "
                              "Shanghai time if no offset); default now"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
) -> None:
    """Disposal, closure, on-time closure and rework rates, median working hours to close.

    Definitions: see `cases.kpi` (dispatched cohort by first dispatch in the
    period; due cohort by deadline in the period)."""
    from cases import kpi

    end = _date(date_to, datetime.now(TZ).date())
    start = _date(date_from, end - timedelta(days=29))
    try:
        moment = datetime.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 datetime: {as_of!r}", param_hint="--as-of") from None
    rows = kpi.compute(get_engine(), by, start, end, as_of=moment)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    table = Table(title=f"KPIs by {by}, {start} .. {end}")
    for col in ("unit", "name", "dispatched", "处置率 disposal", "rework", "due", "结案率 closure",
                "按期结案率 on time", "median h to close"):
        table.add_column(col, justify="left" if col in ("unit", "name") else "right")
    for r in rows:
        median = "—" if r["median_hours_to_close"] is None else f"{r['median_hours_to_close']:.2f}"
        table.add_row(r["unit"] or "", r["name"] or "", str(r["dispatched"]), _pct(r["disposal_rate"]),
                      _pct(r["rework_rate"]), str(r["due"]), _pct(r["closure_rate"]), _pct(r["on_time_rate"]),
                      median)
    console.print(table)


@cases_app.command("overdue")
def overdue_cmd(limit: int = typer.Option(50, "--limit")) -> None:
    """Open cases past their deadline, most overdue first."""
    from cases import workflow

    table = Table("case", "category", "status", "grid", "due", "working h overdue")
    for c in workflow.overdue(get_engine(), limit=limit):
        table.add_row(c["service_request_id"], c["category"], c["status"], c["grid_code"] or "",
                      c["due_at"].strftime("%Y-%m-%d %H:%M"), f"{c['working_hours_overdue']:.1f}")
    console.print(table)
