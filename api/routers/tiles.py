"""Vector tiles (WebMercatorQuad) and a TileJSON per collection."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.engine import Engine

from api.deps import get_engine
from api.routing import JSONRoute
from citygrid.catalog import REFERENCE_COLLECTIONS
from gis import collections as gc
from gis.crs import parse_coord_sys
from gis import tiles as gt

router = APIRouter(tags=["tiles"], route_class=JSONRoute)
MVT = "application/vnd.mapbox-vector-tile"


def _max_age(collection_id: str) -> int:
    # Reference layers change rarely; operational layers (cases, patrols, missions) often.
    return 3600 if collection_id in REFERENCE_COLLECTIONS else 30


@router.get("/tiles/{collection_id}.json")
def tilejson(collection_id: str, request: Request,
             coord_sys: str | None = Query(None, description="wgs84 (default), gcj02 or bd09: tiles for a Gaode / Baidu basemap"),
             engine: Engine = Depends(get_engine)) -> dict:
    """TileJSON 3.0.0 for the collection's vector tiles: URL template, zooms 0-22, fields and WGS84
    bounds; ``coord_sys=gcj02`` for tiles drawn on a Gaode basemap. 404 for an unknown collection. Public."""
    return gt.tilejson(engine, str(request.base_url).rstrip("/"), collection_id, parse_coord_sys(coord_sys))


@router.get("/tiles/{collection_id}/{z}/{x}/{y}.pbf", response_class=Response,
            responses={200: {"content": {MVT: {}}}})
def tile(collection_id: str, z: int, x: int, y: int, request: Request,
         datetime: str | None = Query(None),
         coord_sys: str | None = Query(None, description="wgs84 (default), gcj02 or bd09: for a Gaode / Baidu basemap"),
         engine: Engine = Depends(get_engine)) -> Response:
    """One Mapbox vector tile (WebMercatorQuad z/x/y) of the collection, filtered by ``datetime`` and
    property equality parameters; cached 1 h for reference layers, 30 s for operational ones. 422
    for an address outside zoom 0-22 or its grid. Public: staff-only properties never enter tiles."""
    filters = {k: v for k, v in request.query_params.items() if k not in ("datetime", "coord_sys")}
    data = gt.tile(engine, collection_id, z, x, y, datetime_range=gc.parse_datetime(datetime), filters=filters,
                   coord_sys=parse_coord_sys(coord_sys))
    return Response(data, media_type=MVT, headers={"Cache-Control": f"public, max-age={_max_age(collection_id)}"})
