"""Light read endpoints for the map portal: per-grid (and per-post) case counts for a period,
so the grid choropleth needs one small JSON instead of the case points."""
from __future__ import annotations


import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from api.deps import get_engine
from api.routing import JSONRoute
from citygrid import vocab
from citygrid.cache import Cache
from citygrid.db.where import Where
from gis import collections as gc

router = APIRouter(prefix="/api/portal", tags=["portal"], route_class=JSONRoute)

_CLOSED = ", ".join(f"'{s}'" for s in vocab.CLOSED_STATES)
# Counts over the whole case table take ~0.2 s at 191,000 cases: several commanders opening
# the portal within a few seconds share one computation. Short, so the map stays current.
CACHE_SECONDS = 15.0
GRID_STATS = Cache("portal grid stats", ttl_s=CACHE_SECONDS)


def _compute(engine: Engine, datetime: str | None) -> dict:
    rng = gc.parse_datetime(datetime) or (None, None)
    where = Where("(c.grid_code IS NOT NULL OR c.post_code IS NOT NULL)")
    where.period("c.reported_at", *rng, end_inclusive=True)
    with engine.connect() as conn:
        counts: dict = {}
        if sa.inspect(conn).has_table("cases"):
            # One pass over the cases for both the grid and the post counts.
            rows = conn.execute(sa.text(f"""
                SELECT c.grid_code, c.post_code, GROUPING(c.grid_code) AS by_post, count(*) AS n,
                       count(*) FILTER (WHERE c.status NOT IN ({_CLOSED})) AS open
                FROM cases c {where.sql()}
                GROUP BY GROUPING SETS ((c.grid_code), (c.post_code))"""), where.params).all()
            for r in rows:
                key = ("post", r.post_code) if r.by_post else ("grid", r.grid_code)
                counts[key] = (r.n, r.open)
        grids = []
        for g in conn.execute(sa.text("SELECT code, name, area_km2 FROM grids ORDER BY code")):
            n, open_ = counts.get(("grid", g.code), (0, 0))
            grids.append({"code": g.code, "name": g.name, "cases": n, "open_cases": open_,
                          "density_per_km2": round(n / g.area_km2, 2) if g.area_km2 else None})
        posts = [{"code": p.code, "community": p.community, "open_cases": counts.get(("post", p.code), (0, 0))[1]}
                 for p in conn.execute(sa.text(
                     "SELECT p.code, m.name AS community FROM posts p "
                     "LEFT JOIN communities m ON m.code = p.community_code ORDER BY p.code"))]
    return {"datetime": datetime, "grids": grids, "posts": posts}


@router.get("/grid-stats")
def grid_stats(datetime: str | None = Query(None, description="RFC 3339 instant or interval start/end ('..' open); "
                                            "cases reported in it (all time when absent)"),
               engine: Engine = Depends(get_engine)) -> JSONResponse:
    """Per grid: cases reported in the period, those still open, and cases per km²; per post:
    its community's name and open cases. Aggregates only (no personal data): open to all
    readers. Cached for 15 s per period."""
    gc.parse_datetime(datetime)  # refuse a malformed period before the cache
    stats = GRID_STATS.get((str(engine.url), datetime), lambda: _compute(engine, datetime))
    return JSONResponse(stats, headers={"Cache-Control": f"max-age={int(CACHE_SECONDS)}"})
