"""The commanders' map page: a light folium (Leaflet) shell whose layers load at run time
from the collections, tiles and portal endpoints (api/static/portal.js). Every script,
stylesheet and icon is served by citygrid itself, so the page works on an isolated government
network with no basemap reachable; no layer data is inlined in the page."""
from __future__ import annotations

import functools
import json

import folium

from citygrid import vocab
from gis import collections as gc

RIZHAO_CENTRE = (35.42, 119.50)
START_ZOOM = 11
LEAFLET_JS = [("leaflet", "/static/vendor/leaflet/leaflet.js"),
              ("vectorgrid", "/static/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js")]
LEAFLET_CSS = [("leaflet_css", "/static/vendor/leaflet/leaflet.css"), ("portal_css", "/static/portal.css")]

# Overlays, in drawing order. kind: items (GeoJSON from /collections/{id}/items), tiles (vector
# tiles from /tiles/{id}/...), positions (GET /api/drone/positions). period: re-queried with
# the period filter's datetime; fixed: a datetime of its own ("today", "week"). on: shown at
# start. staff: loaded only for signed-in staff.
OVERLAYS = [
    {"key": "districts", "collection": vocab.DISTRICTS, "label": "Districts 区县", "kind": "items", "on": True,
     "style": {"color": "#444", "weight": 2, "fill": False}},
    {"key": "subdistricts", "collection": vocab.SUBDISTRICTS, "label": "Subdistricts 街道/乡镇", "kind": "items",
     "style": {"color": "#888", "weight": 1, "dashArray": "4", "fill": False}},
    {"key": "grids", "collection": vocab.GRIDS, "label": "Grids 网格 (choropleth)", "kind": "items", "on": True,
     "style": {"color": "#1f6feb", "weight": 1.2, "fillOpacity": 0.55}},
    {"key": "communities", "collection": vocab.COMMUNITIES, "label": "Communities 社区", "kind": "items",
     "style": {"color": "#2da44e", "weight": 0.8, "fillOpacity": 0.0}},
    {"key": "roads", "collection": vocab.ROADS, "label": "Streets 道路", "kind": "tiles",
     "style": {"color": "#8c8c8c", "weight": 1}},
    {"key": "airspace", "collection": vocab.AIRSPACE, "label": "No-fly / controlled 空域", "kind": "items",
     "on": True, "style": {"color": "#cf222e", "weight": 1, "fillOpacity": 0.1, "dashArray": "6"}},
    {"key": "hotspots", "collection": vocab.HOTSPOTS, "label": "Hot spots Gi* 热点", "kind": "items",
     "query": {"method": "gi_star", "unit": "grid", "category": "all"},
     "style": {"color": "#555", "weight": 0.5, "fillOpacity": 0.6}},
    {"key": "clusters", "collection": vocab.HOTSPOTS, "label": "Clusters 聚集", "kind": "items",
     "query": {"method": "clusters", "category": "all"},
     "style": {"color": "#8250df", "weight": 2, "fillOpacity": 0.25}},
    {"key": "cases", "collection": vocab.CASES, "label": "Cases 案卷 (zoom ≥ 13)", "kind": "tiles", "on": True,
     "period": True, "minZoom": 13, "style": {"radius": 3, "color": "#bf8700", "fillOpacity": 0.8, "weight": 1}},
    {"key": "tracks_today", "collection": vocab.PATROL_TRACKS, "label": "Patrol tracks today 今日巡查", "kind": "items",
     "fixed": "today", "style": {"color": "#0969da", "weight": 3}},
    {"key": "tracks_week", "collection": vocab.PATROL_TRACKS, "label": "Patrol tracks this week 本周巡查",
     "kind": "items", "fixed": "week", "style": {"color": "#54aeff", "weight": 2, "opacity": 0.7}},
    {"key": "missions", "collection": vocab.MISSIONS, "label": "Drone missions 无人机任务", "kind": "items",
     "period": True, "style": {"color": "#6639ba", "weight": 2, "dashArray": "2 4"}},
    {"key": "posts", "collection": vocab.POSTS, "label": "Service posts 服务岗", "kind": "items", "on": True,
     "style": {"radius": 5, "color": "#d1242f", "fillOpacity": 0.9}},
    {"key": "drones", "endpoint": "/api/drone/positions", "label": "Drones live 无人机位置", "kind": "positions",
     "staff": True, "on": True, "style": {"radius": 7, "color": "#000", "fillColor": "#ffd33d", "fillOpacity": 1}},
]

BASEMAPS = {
    # 天地图 (CGCS2000 ≈ WGS84: overlays need no shift); vector map + annotation layer.
    "tianditu": {"label": "天地图 Tianditu", "coord_sys": "wgs84", "subdomains": "01234567", "urls": [
        "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default"
        "&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}",
        "https://t{s}.tianditu.gov.cn/cva_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=cva&STYLE=default"
        "&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}"],
        "attribution": "© 天地图 国家地理信息公共服务平台"},
    # 高德 (GCJ-02: overlays are requested with coord_sys=gcj02 and shifted by the server).
    "gaode": {"label": "高德 Gaode (GCJ-02)", "coord_sys": "gcj02", "subdomains": "1234", "urls": [
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"],
        "attribution": "© 高德地图 AutoNavi"},
}

PANEL = """
<div id="cg-panel" class="cg-panel">
  <div class="cg-title">日照城市管理 · citygrid</div>
  <form id="cg-search" autocomplete="off">
    <input id="cg-search-q" list="cg-grid-list" placeholder="Grid code or name 网格编码/名称">
    <datalist id="cg-grid-list"></datalist><button type="submit">Go</button>
  </form>
  <div id="cg-search-msg" class="cg-msg"></div>
  <label>Period 时段
    <select id="cg-period">
      <option value="all">All time 全部</option><option value="today">Today 今日</option>
      <option value="week">This week 本周</option><option value="month">This month 本月</option>
      <option value="custom">Custom 自定义</option>
    </select></label>
  <span id="cg-custom" style="display:none"><input type="date" id="cg-from"> – <input type="date" id="cg-to">
    <button type="button" id="cg-apply">Apply</button></span>
  <div>Grids by 网格着色:
    <label><input type="radio" name="cg-metric" value="open_cases" checked> open cases</label>
    <label><input type="radio" name="cg-metric" value="density_per_km2"> cases/km²</label></div>
  <form id="cg-login">
    <input id="cg-user" placeholder="user" size="8" autocomplete="username"><input id="cg-pass" type="password" placeholder="password" size="8" autocomplete="current-password">
    <button type="submit">Sign in</button></form>
  <div id="cg-who" class="cg-msg"></div><button type="button" id="cg-logout" style="display:none">Sign out</button>
</div>
"""


def app_routes(app) -> list[tuple[str, frozenset, object]]:
    """Every HTTP route of ``app`` as (path, methods, endpoint). Newer FastAPI keeps included
    routers as wrappers in ``app.routes``; they are unfolded here (mounts are skipped)."""
    out = []

    def add(route, path):
        methods = getattr(route, "methods", None)
        if methods:
            out.append((path, frozenset(methods), getattr(route, "endpoint", None)))

    for r in app.routes:
        if hasattr(r, "effective_route_contexts"):
            for ctx in r.effective_route_contexts():
                add(ctx.original_route, ctx.path or getattr(ctx.original_route, "path", ""))
        else:
            add(r, getattr(r, "path", ""))
    return out


def portal_config(app_paths: set[str], tianditu_key: str | None, map_name: str) -> dict:
    """What the page may load: only registered collections and existing endpoints, so the page
    never asks for something absent (a 404 would show as a console error)."""
    registered = {c.id for c in gc.collections()}
    overlays = [o for o in OVERLAYS if (o.get("collection") in registered if "collection" in o
                                        else o["endpoint"] in app_paths)]
    basemaps = {k: v for k, v in BASEMAPS.items() if k != "tianditu" or tianditu_key}
    return {"map": map_name, "centre": RIZHAO_CENTRE, "zoom": START_ZOOM, "overlays": overlays,
            "basemaps": basemaps, "tianditu_key": tianditu_key or None,
            "default_basemap": "tianditu" if tianditu_key else None,
            "grid_stats": "/api/portal/grid-stats" in app_paths}


@functools.lru_cache(maxsize=8)
def render_portal(app_paths: frozenset[str] = frozenset(), tianditu_key: str | None = None) -> str:
    """The page for an app with these routes (rendered once: it holds no data)."""
    m = folium.Map(location=RIZHAO_CENTRE, zoom_start=START_ZOOM, tiles=None, control_scale=True)
    m.default_js = LEAFLET_JS
    m.default_css = LEAFLET_CSS
    html = m.get_root().render()
    config = portal_config(set(app_paths), tianditu_key, m.get_name())
    tail = (PANEL + "<script>window.CITYGRID_CONFIG = " + json.dumps(config, ensure_ascii=False) + ";</script>\n"
            '<script src="/static/portal.js"></script>\n')
    # A served icon: the browser's own /favicon.ico request would 404 and show as a console error.
    html = html.replace("<head>", '<head>\n<title>citygrid · 日照城市管理</title>\n'
                        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">', 1)
    return html.replace("</html>", tail + "</html>")
