"""Hot spots: computed on request (GET) or stored as the latest run (POST, staff)."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.engine import Engine

from api.deps import Caller, get_engine, require_role
from api.routing import JSONRoute
from gis.hotspots import hotspots
from gis.hotspots import store

router = APIRouter(prefix="/api/hotspots", tags=["hotspots"], route_class=JSONRoute)
GEOJSON = "application/geo+json"


def _compute(engine: Engine, category, start, end, method, unit):
    cases, grids = store.read_cases(engine, category, start, end)
    return hotspots(cases, method=method, unit=unit, category=category, start=start, end=end, grids=grids)


def _geojson(frame) -> Response:
    frame = frame.copy()
    for col in frame.columns:  # GeoJSON has no datetime type
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            frame[col] = frame[col].map(lambda t: t.isoformat() if pd.notna(t) else None)
    return Response(frame.to_crs(4326).to_json(na="null", drop_id=True), media_type=GEOJSON)


@router.get("", response_class=Response, responses={200: {"content": {GEOJSON: {}}}})
def get_hotspots(
    category: str | None = Query(None, description="category slug; all categories when absent"),
    start: datetime | None = Query(None), end: datetime | None = Query(None),
    method: str = Query("gi_star", description="gi_star | clusters | emerging"),
    unit: str = Query("grid", description="grid | h3_8 | h3_9 | fishnet_250m"),
    engine: Engine = Depends(get_engine),
) -> Response:
    """Hot spots of located cases, computed now, as a GeoJSON FeatureCollection (WGS84): ``gi_star``
    gives each unit its Getis-Ord Gi* z, p-value and bin; ``emerging`` each unit's trend pattern;
    ``clusters`` one feature per DBSCAN cluster. Cases of ``category`` (all when absent)
    reported in [start, end). Public."""
    return _geojson(_compute(engine, category, start, end, method, unit))


@router.post("/runs", status_code=201)
def store_run(
    category: str | None = Query(None), start: datetime | None = Query(None), end: datetime | None = Query(None),
    method: str = Query("gi_star"), unit: str = Query("grid"),
    engine: Engine = Depends(get_engine), _: Caller = Depends(require_role("planner", "commander")),
) -> dict:
    """Compute hot spots as the GET does and store them as the latest run for (method, unit,
    category), replacing the previous one; returns the run id and feature count. Planners and
    commanders only."""
    result = _compute(engine, category, start, end, method, unit)
    run_id = store.save_run(engine, result, method=method, unit=unit, category=category, start=start, end=end)
    return {"run_id": run_id, "features": len(result), "method": method, "unit": unit, "category": category or "all"}
