"""Hotspot runs in the database: read located cases, keep the latest run per
(method, unit, category) as the ``hotspots`` collection."""
from __future__ import annotations

import json
import uuid

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from citygrid.db.schema import hotspots as hotspots_table
from citygrid.db.where import Where

STORED = ("unit_id", "count", "density_per_km2", "statistic", "p_value", "gi_bin", "pattern",
          "first_report", "last_report", "grid_code")


def read_cases(engine: Engine, category: str | None = None, start=None, end=None) -> tuple:
    """Located cases (category, reported_at, point) and the grids, filtered in SQL."""
    where = Where("geom IS NOT NULL").add_if(category or None, "category = :?").period("reported_at", start, end)
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("cases"):
            from citygrid.errors import NotFound

            raise NotFound("no cases table in the database (run `citygrid db migrate`)")
        cases = gpd.read_postgis(
            sa.text(f"SELECT category, reported_at, geom FROM cases {where.sql()}"),
            conn, geom_col="geom", params=where.params)
        grids = gpd.read_postgis("SELECT code, area_km2, geom FROM grids ORDER BY code", conn, geom_col="geom")
    return cases, grids.rename_geometry("geometry")


def save_run(engine: Engine, result: gpd.GeoDataFrame, *, method: str, unit: str, category: str | None,
             start=None, end=None, params: dict | None = None) -> str:
    """Replace the stored run for (method, unit, category) with ``result``; return the run id."""
    run_id = uuid.uuid4().hex
    frame = result.to_crs(4326) if result.crs is not None else result
    n = len(frame)
    cols = {c: (frame[c] if c in frame else pd.Series([None] * n, index=frame.index)) for c in STORED}
    data = pd.DataFrame(cols)
    if "code" in frame and data["unit_id"].isna().all():
        data["unit_id"] = frame["code"]
    data["unit_id"] = data["unit_id"].astype(object).where(data["unit_id"].notna(), None).map(
        lambda v: None if v is None else str(v))
    data["grid_code"] = data["grid_code"].where(data["grid_code"].notna(), None)
    if unit == "grid":
        data["grid_code"] = data["unit_id"]
    data["county_code"] = data["grid_code"].map(lambda v: v[:6] if isinstance(v, str) else None)
    data = data.astype(object).where(data.notna(), None)
    records = data.to_dict("records")
    wkb = shapely.to_wkb(np.asarray(frame.geometry.values, dtype=object), hex=True)
    common = {"run_id": run_id, "method": method, "unit": unit, "category": category or "all",
              "period_start": start, "period_end": end, "params": json.dumps(params or {})}
    for rec, w in zip(records, wkb):
        rec.update(common, geom=w)
    cols = ["run_id", "method", "unit", "category", "period_start", "period_end", "params", *STORED,
            "county_code"]
    with engine.begin() as conn:
        conn.execute(sa.delete(hotspots_table).where(
            hotspots_table.c.method == method, hotspots_table.c.unit == unit,
            hotspots_table.c.category == (category or "all")))
        if records:
            conn.execute(sa.text(
                f"INSERT INTO hotspots ({', '.join(cols)}, geom) VALUES "
                f"({', '.join('CAST(:params AS jsonb)' if c == 'params' else ':' + c for c in cols)}, "
                f"ST_SetSRID(ST_GeomFromWKB(decode(:geom, 'hex')), 4326))"
            ).bindparams(sa.bindparam("params", type_=sa.Text)), records)
    return run_id
