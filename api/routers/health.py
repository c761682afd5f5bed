"""Health check: the API is up and its PostGIS database answers."""
from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.engine import Engine

from api.deps import get_engine
from api.routing import JSONRoute

router = APIRouter(tags=["health"], route_class=JSONRoute)


@router.get("/health")
def health(engine: Engine = Depends(get_engine)) -> dict:
    """``ok`` and the PostGIS version when the database answers; 503 with Retry-After when it does
    not. Public."""
    with engine.connect() as conn:
        postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
    return {"status": "ok", "database": "ok", "postgis": postgis}
