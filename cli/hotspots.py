"""``citygrid hotspots``: hot spots of cases from a GeoJSON file (or the cases table) to GeoJSON."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import typer
from rich.console import Console

from citygrid.workcal import TZ

console = Console()


def _when(text: str | None):
    """ISO 8601; a time without offset is Shanghai time (the city's clock)."""
    if not text:
        return None
    try:
        ts = pd.Timestamp(text)
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 time: {text!r}") from None
    return ts.tz_localize(TZ) if ts.tzinfo is None else ts


def _read_cases(input: Path | None):
    """Cases and grids: from the file (grids built in process) or from the database."""
    if input is not None:
        from gis.layers.build import build_all

        return gpd.read_file(input), build_all()["grids"]
    from citygrid.db.engine import get_engine
    from gis.hotspots.store import read_cases

    return read_cases(get_engine())


def hotspots_cmd(
    category: str = typer.Option(None, "--category", help="category slug, e.g. occupied_road (default: all)"),
    method: str = typer.Option("gi_star", "--method", help="gi_star | clusters | emerging"),
    unit: str = typer.Option("grid", "--unit", help="grid | h3_8 | h3_9 | fishnet_250m"),
    input: Path = typer.Option(None, "--input", help="GeoJSON points with category and reported_at; "
                               "default: the cases table"),
    out: Path = typer.Option(..., "--out", help="GeoJSON to write"),
    start: str = typer.Option(None, "--start", help="first instant, ISO 8601 (Shanghai time if no offset)"),
    end: str = typer.Option(None, "--end", help="end instant, exclusive"),
) -> None:
    """Hot spots of cases (Gi*, DBSCAN clusters or emerging hot spots) written as GeoJSON."""
    from gis.hotspots import hotspots

    cases, grids = _read_cases(input)
    result = hotspots(cases, method=method, unit=unit, category=category,
                      start=_when(start), end=_when(end), grids=grids)
    for col in result.columns:  # GeoJSON has no datetime type; ISO strings travel everywhere
        if pd.api.types.is_datetime64_any_dtype(result[col]):
            result[col] = result[col].map(lambda t: t.isoformat() if pd.notna(t) else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    result.to_file(out, driver="GeoJSON")
    if "gi_bin" in result:
        note = f"{int((result['gi_bin'] != 0).sum())} significant"
    elif method == "emerging":
        note = f"{int((result['pattern'] != 'no_pattern').sum())} with a pattern"
    else:
        note = "clusters"
    console.print(f"{len(result)} features ({note}) -> {out}")
