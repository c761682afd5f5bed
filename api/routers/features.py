"""OGC API – Features: landing page, conformance, collections and items (GeoJSON)."""
from __future__ import annotations

import json
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.engine import Engine

from api.deps import Caller, current_caller, get_engine
from api.portal import app_routes, render_portal  # folium loads with the app, not on the first visit
from api.routing import JSONRoute
from gis import collections as gc
from gis.crs import parse_coord_sys

router = APIRouter(tags=["features"], route_class=JSONRoute)

GEOJSON = "application/geo+json"
RESERVED = {"bbox", "limit", "offset", "f", "datetime", "crs", "bbox-crs", "coord_sys"}
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/")
def landing(request: Request, f: str | None = None):
    """The portal for browsers; the OGC API landing page for clients asking for JSON."""
    wants_html = f == "html" or (f is None and "text/html" in request.headers.get("accept", ""))
    if wants_html:
        paths = frozenset(path for path, _, _ in app_routes(request.app))
        return HTMLResponse(render_portal(paths, request.app.state.settings.tianditu_key))
    base = _base(request)
    return {
        "title": "citygrid",
        "description": "Rizhao urban management: grids, posts, cases, patrols, hotspots, drone missions.",
        "links": [
            {"href": f"{base}/", "rel": "self", "type": "application/json", "title": "this document"},
            {"href": f"{base}/openapi.json", "rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0"},
            {"href": f"{base}/docs", "rel": "service-doc", "type": "text/html"},
            {"href": f"{base}/conformance", "rel": "conformance", "type": "application/json"},
            {"href": f"{base}/collections", "rel": "data", "type": "application/json"},
        ],
    }


@router.get("/conformance")
def conformance() -> dict:
    """The OGC API - Features conformance classes implemented (Part 1 core, GeoJSON, OpenAPI 3.0;
    Part 2 CRS). Public."""
    return {"conformsTo": CONFORMANCE}


def _collection_doc(base: str, coll: gc.Collection, extent: list[float] | None) -> dict:
    doc = {
        "id": coll.id, "title": coll.title, "description": coll.description, "itemType": coll.item_type,
        "crs": list(gc.OUTPUT_CRS),
        "storageCrs": gc.CRS84,
        "links": [
            {"href": f"{base}/collections/{coll.id}", "rel": "self", "type": "application/json"},
            {"href": f"{base}/collections/{coll.id}/items", "rel": "items", "type": GEOJSON},
        ],
    }
    if extent:
        doc["extent"] = {"spatial": {"bbox": [extent], "crs": gc.CRS84}}
    return doc


@router.get("/collections")
def list_collections(request: Request, engine: Engine = Depends(get_engine)) -> dict:
    """Every collection with its output CRSs, links and WGS84 extent (none for an empty one). Public."""
    base = _base(request)
    return {
        "links": [{"href": f"{base}/collections", "rel": "self", "type": "application/json"}],
        "collections": [_collection_doc(base, c, gc.extent(engine, c.id)) for c in gc.collections()],
    }


@router.get("/collections/{collection_id}")
def describe_collection(collection_id: str, request: Request, engine: Engine = Depends(get_engine)) -> dict:
    """One collection's description, output CRSs, links and WGS84 extent; 404 for an unknown id. Public."""
    coll = gc.get_collection(collection_id)
    return _collection_doc(_base(request), coll, gc.extent(engine, coll.id))


@router.get("/collections/{collection_id}/items", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}}})
def items(
    collection_id: str,
    request: Request,
    bbox: str | None = Query(None, description="minlon,minlat,maxlon,maxlat (CRS84, or bbox-crs)"),
    bbox_crs: str | None = Query(None, alias="bbox-crs", description="CRS of bbox (default CRS84)"),
    datetime: str | None = Query(None, description="RFC 3339 instant or interval start/end ('..' open)"),
    crs: str | None = Query(None, description="output CRS: CRS84 (default), EPSG 4326, 4490 or 4549"),
    coord_sys: str | None = Query(None, description="wgs84 (default), gcj02 or bd09: draw on a Gaode / Baidu basemap "
                                  "(bbox is then read in GCJ-02 too)"),
    limit: int = Query(10, ge=1, le=10_000),
    offset: int = Query(0, ge=0),
    engine: Engine = Depends(get_engine),
    caller: Caller = Depends(current_caller),
) -> Response:
    """A page of the collection's features as a GeoJSON FeatureCollection with ``numberMatched``,
    ``numberReturned`` and next/prev links. Filters: ``bbox``, ``datetime`` and any other query
    parameter naming a property (equality, e.g. ``status=dispatched``; an unknown property is 422).
    Coordinates in ``crs`` (CRS84 by default; EPSG 4326, 4490 or 4549, named in the Content-Crs
    header), or shifted for a Gaode basemap with ``coord_sys=gcj02``. Anyone may call; staff-only
    properties (reporters' personal data) only for signed-in staff."""
    out_crs, in_crs = gc.parse_crs(crs), gc.parse_crs(bbox_crs)
    box = gc.bbox_to_crs84(gc.parse_bbox(bbox, lonlat=in_crs == gc.CRS84), in_crs)
    filters = {k: v for k, v in request.query_params.items() if k not in RESERVED}
    page = gc.query_items(engine, collection_id, bbox=box, datetime_range=gc.parse_datetime(datetime),
                          limit=limit, offset=offset, filters=filters, staff=caller.is_staff, crs=out_crs,
                          coord_sys=parse_coord_sys(coord_sys))
    base = f"{_base(request)}/collections/{collection_id}/items"
    params = dict(request.query_params)
    links = [{"href": f"{base}?{urlencode(params)}", "rel": "self", "type": GEOJSON}]
    if offset + page["number_returned"] < page["number_matched"]:
        links.append({"href": f"{base}?{urlencode({**params, 'offset': offset + limit, 'limit': limit})}",
                      "rel": "next", "type": GEOJSON})
    if offset > 0:
        links.append({"href": f"{base}?{urlencode({**params, 'offset': max(0, offset - limit), 'limit': limit})}",
                      "rel": "prev", "type": GEOJSON})
    head = json.dumps({"type": "FeatureCollection", "numberMatched": page["number_matched"],
                       "numberReturned": page["number_returned"], "links": links})
    # Splice the features array PostgreSQL built, instead of parsing and re-serialising it.
    body = head[:-1] + ', "features": ' + page["features_json"] + "}"
    return Response(body, media_type=GEOJSON, headers={"Content-Crs": f"<{out_crs}>"})


@router.get("/collections/{collection_id}/items/{feature_id}", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}}})
def item(collection_id: str, feature_id: str, crs: str | None = Query(None),
         coord_sys: str | None = Query(None, description="wgs84 (default), gcj02 or bd09"),
         engine: Engine = Depends(get_engine), caller: Caller = Depends(current_caller)) -> Response:
    """One feature by id as GeoJSON, in ``crs`` / ``coord_sys`` as for the items; 404 for an unknown
    collection or feature. Anyone may call; staff-only properties only for signed-in staff."""
    out_crs = gc.parse_crs(crs)
    return Response(gc.get_item(engine, collection_id, feature_id, staff=caller.is_staff, crs=out_crs,
                                coord_sys=parse_coord_sys(coord_sys)),
                    media_type=GEOJSON, headers={"Content-Crs": f"<{out_crs}>"})
