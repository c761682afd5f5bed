"""The map page in a real headless Chromium, with the internet unreachable: layers, control,
legend, grid search, period filter, sign-in, the Gaode (GCJ-02) switch, and the whole city
with 191,000 cases (its load time: ``python -m bench portal``)."""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa

CHROMIUM = shutil.which("chromium")
ARTEFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
LOCAL = ("127.0.0.1", "localhost")
CITY_CASES = 191_000

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is installed by make test")


class Browser:
    """One page with the offline guard: requests off loopback are recorded and aborted."""

    def __init__(self, p, allow_outside: tuple[str, ...] = ()):
        self.browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        self.page = self.browser.new_page(viewport={"width": 1280, "height": 900})
        self.outside, self.console_errors, self.requests = [], [], []
        self.allow_outside = allow_outside

        def guard(route):
            host = urlparse(route.request.url).hostname
            if host not in LOCAL:
                if not host.endswith(self.allow_outside or ("\0",)):
                    self.outside.append(route.request.url)  # an isolated network: nothing else answers
                return route.abort()
            return route.continue_()

        self.page.route("**/*", guard)
        self.page.on("request", lambda r: self.requests.append(r))
        self.page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def open(self, url: str) -> None:
        self.page.goto(url + "/", wait_until="load")
        self.page.wait_for_function("window.citygridPortal && window.citygridPortal.state.ready === true",
                                    timeout=30_000)

    def close(self):
        self.browser.close()


def wait_until(page, condition, what: str, timeout_s: float = 30) -> None:
    """Let the page run until ``condition()`` (on what the test recorded) holds; the limit only
    ends a wait for something that never happens, it is no speed requirement."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(100)


CENTRE_IN_GRID = """code => { var c = window.citygridMap.getCenter(), ok = false;
    window.citygridLayers.grids.eachLayer(function (l) {
        if (l.feature.id === code) { ok = l.getBounds().contains(c); } });
    return ok && !window.citygridMap._animatingZoom; }"""
# [code, west, moved]: the grid's west edge has moved off ``west`` (moved) or is back on it.
GRID_WEST = """([code, w, moved]) => { var b = null; window.citygridLayers.grids.eachLayer(function (l) {
    if (l.feature.id === code) b = l.getBounds(); });
    return b !== null && (Math.abs(b.getWest() - w) > 1e-7) === moved; }"""


def _bounds(page, code: str) -> dict:
    return page.evaluate("""code => { var b = null; window.citygridLayers.grids.eachLayer(function (l) {
        if (l.feature.id === code) { var x = l.getBounds(); b = {s: x.getSouth(), w: x.getWest(), n: x.getNorth(),
        e: x.getEast()}; } }); return b; }""", code)


def test_portal_in_headless_chromium_offline(layers, server, make_user):
    from playwright.sync_api import sync_playwright

    page_size = len(__import__("httpx").get(server + "/", headers={"accept": "text/html"}).content)
    assert page_size < 200_000  # a shell: no layer data inlined
    make_user("portal-commander", "commander")
    with sync_playwright() as p:
        b = Browser(p)
        page = b.page
        b.open(server)
        assert page.evaluate("window.citygridLayers.grids.getLayers().length") == 76
        assert page.evaluate("window.citygridLayers.posts.getLayers().length") == 117
        assert page.evaluate("window.citygridMap.hasLayer(window.citygridLayers.grids)") is True
        # Only what exists is asked for; nothing answered 4xx/5xx.
        assert page.evaluate("Object.keys(window.citygridLayers)").count("grids") == 1
        # The layer control toggles the grid layer off and on again.
        label = page.locator(".leaflet-control-layers-overlays label", has_text="Grids")
        label.locator("input").click()
        assert page.evaluate("window.citygridMap.hasLayer(window.citygridLayers.grids)") is False
        label.locator("input").click()
        assert page.evaluate("window.citygridMap.hasLayer(window.citygridLayers.grids)") is True
        # The legend is there, with the choropleth's title.
        assert "Open cases" in page.locator(".cg-legend").inner_text()
        page.locator("input[name=cg-metric][value=density_per_km2]").check()
        assert "Cases / km²" in page.locator(".cg-legend").inner_text()

        # Layers that start switched off are fetched when switched on: the Gi* hot spots.
        with page.expect_request(lambda r: "/collections/hotspots/items" in r.url and "method=gi_star" in r.url):
            page.locator(".leaflet-control-layers-overlays label", has_text="Hot spots").locator("input").click()
        page.wait_for_function("window.citygridPortal.state.loaded.hotspots !== undefined")
        assert "hot 99%" in page.locator(".cg-legend").inner_text()

        # Grid search by code zooms to that grid.
        grid = layers["grids"].iloc[20]
        code = grid["code"]
        zoom0 = page.evaluate("window.citygridMap.getZoom()")
        page.fill("#cg-search-q", code)
        page.press("#cg-search-q", "Enter")
        page.wait_for_function("window.citygridMap.getZoom() > %d" % zoom0, timeout=30_000)
        page.wait_for_function(CENTRE_IN_GRID, arg=code, timeout=30_000)  # the zoom animation ends there
        centre = page.evaluate("(function(c){return [c.lat, c.lng];})(window.citygridMap.getCenter())")
        box = _bounds(page, code)
        assert box["s"] <= centre[0] <= box["n"] and box["w"] <= centre[1] <= box["e"]
        assert code in page.locator("#cg-search-msg").inner_text()
        # ...and by name.
        other = layers["grids"].iloc[5]
        page.evaluate("name => window.citygridPortal.searchGrid(name)", other["name"])
        page.wait_for_function(CENTRE_IN_GRID, arg=other["code"], timeout=30_000)
        box = _bounds(page, other["code"])
        centre = page.evaluate("(function(c){return [c.lat, c.lng];})(window.citygridMap.getCenter())")
        assert box["s"] <= centre[0] <= box["n"] and box["w"] <= centre[1] <= box["e"]

        # The period filter re-queries the period layers with datetime=.
        n_before = len(b.requests)
        with page.expect_request(lambda r: "/api/portal/grid-stats" in r.url and "datetime=" in r.url):
            page.select_option("#cg-period", "week")
        page.wait_for_function("window.citygridPortal.state.datetime !== null")

        def dated_so_far():
            later = [urlparse(r.url) for r in b.requests[n_before:]]
            return {u.path.split("/")[2] if u.path.startswith(("/collections/", "/tiles/")) else u.path
                    for u in later if "datetime" in parse_qs(u.query)}

        wait_until(page, lambda: {"/api/portal/grid-stats", "cases"} <= dated_so_far(), "the dated requests")
        dated = dated_so_far()
        assert "/api/portal/grid-stats" in dated
        assert "cases" in dated  # the case tiles (zoomed in past 13 by the search)
        interval = page.evaluate("window.citygridPortal.state.datetime")
        start, stop = interval.split("/")
        assert len(start) == len(stop) == 10 and start <= stop
        with page.expect_request(lambda r: "grid-stats" in r.url and "datetime=2024-01-01%2F2024-01-31" in r.url):
            page.select_option("#cg-period", "custom")
            page.fill("#cg-from", "2024-01-01")
            page.fill("#cg-to", "2024-01-31")
            page.click("#cg-apply")

        # Sign in as a commander: the token goes as a Bearer header; staff view shown.
        page.fill("#cg-user", "portal-commander")
        page.fill("#cg-pass", "pw-portal-commander-commander")
        n_before = len(b.requests)
        page.click("#cg-login button")
        page.wait_for_function("document.getElementById('cg-who').textContent.indexOf('commander') >= 0")
        assert "staff view" in page.locator("#cg-who").inner_text()
        assert page.evaluate("sessionStorage.getItem('citygrid.token')").count(".") == 2  # a JWT

        def authed_so_far():
            return [r for r in b.requests[n_before:] if "/collections/" in r.url or "/api/drone/positions" in r.url]

        wait_until(page, lambda: any("/api/drone/positions" in r.url for r in authed_so_far()), "the staff requests")
        authed = authed_so_far()
        assert authed and all(r.headers.get("authorization", "").startswith("Bearer ") for r in authed)
        assert any("/api/drone/positions" in r.url for r in authed)  # live drones: staff only
        assert page.locator(".leaflet-control-layers-overlays label", has_text="Drones live").count() == 1
        page.click("#cg-logout")
        assert "Public view" in page.locator("#cg-who").inner_text()
        assert page.locator(".leaflet-control-layers-overlays label", has_text="Drones live").count() == 0
        assert page.evaluate("sessionStorage.getItem('citygrid.token')") is None

        page.evaluate("window.citygridMap.setView([35.42, 119.5], 11, {animate: false})")
        page.wait_for_timeout(300)
        ARTEFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTEFACTS / "portal.png"))
        b.close()
    assert b.outside == []
    assert b.console_errors == []


def test_gaode_basemap_switches_overlays_to_gcj02(layers, server):
    """Choosing Gaode asks the server for GCJ-02 overlays: the grids move ~500 m north-east."""
    from playwright.sync_api import sync_playwright

    from gis.crs import wgs84_to_gcj02

    with sync_playwright() as p:
        b = Browser(p, allow_outside=(".autonavi.com",))  # the basemap tiles simply fail offline
        page = b.page
        b.open(server)
        code = layers["grids"].iloc[0]["code"]
        before = _bounds(page, code)
        n_before = len(b.requests)
        page.locator(".leaflet-control-layers-base label", has_text="Gaode").locator("input").click()
        page.wait_for_function("window.citygridPortal.state.coordSys === 'gcj02'")
        page.wait_for_function(GRID_WEST, arg=[code, before["w"], True], timeout=30_000)  # back, shifted
        urls = [r.url for r in b.requests[n_before:] if "/collections/" in r.url]
        assert urls and all("coord_sys=gcj02" in u for u in urls)
        after = _bounds(page, code)
        lon, lat = wgs84_to_gcj02(before["w"], before["s"])
        assert after["w"] == pytest.approx(float(lon), abs=2e-5) and after["s"] == pytest.approx(float(lat), abs=2e-5)
        # Back to the plain background: WGS84 again.
        page.locator(".leaflet-control-layers-base label", has_text="Plain").locator("input").click()
        page.wait_for_function("window.citygridPortal.state.coordSys === 'wgs84'")
        page.wait_for_function(GRID_WEST, arg=[code, before["w"], False], timeout=30_000)
        assert _bounds(page, code)["w"] == pytest.approx(before["w"], abs=1e-7)
        b.close()
    assert b.outside == []
    assert [e for e in b.console_errors if "ERR_FAILED" not in e and "Failed to load resource" not in e] == []


# --- the whole city ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def city_server(settings, built_layers):
    """A second server over its own database holding the whole city's 191,000 cases."""
    from citygrid.db.engine import drop_database, get_engine
    from tests.harness import fresh_database, load_city_cases, thread_server

    city = fresh_database(settings, settings.db_name + "_portal", built_layers)
    owner = get_engine(city, role="owner")
    load_city_cases(owner, CITY_CASES)
    with thread_server(city) as url:
        yield url, owner
    owner.dispose()
    get_engine(city).dispose()
    drop_database(city)


def test_whole_city_portal_loads_every_case(city_server):
    """The portal over the whole city's 191,000 cases: every grid, post and case is there, cold
    (the server's first page, no grid stats cached) and warm. Its load time is measured by
    ``python -m bench portal`` (speed is measured in benchmarks, not timed tests)."""
    from playwright.sync_api import sync_playwright

    base, owner = city_server
    with owner.connect() as conn:
        n_cases = conn.execute(sa.text("SELECT count(*) FROM cases")).scalar()
    assert n_cases >= CITY_CASES
    with sync_playwright() as p:
        b = Browser(p)
        page = b.page
        totals = []
        for run in range(2):
            page.goto(base + "/?run=%d" % run, wait_until="commit")
            page.wait_for_function("window.citygridPortal && window.citygridPortal.state.ready === true "
                                   "&& window.citygridLayers.grids.getLayers().length === 76 "
                                   "&& window.citygridLayers.posts.getLayers().length === 117", timeout=60_000)
            totals.append(page.evaluate("Object.values(window.citygridPortal.state.gridStats)"
                                        ".reduce(function(a, g) { return a + g.cases; }, 0)"))
            print(f"\nportal load {run}: ready {page.evaluate('window.citygridPortal.state.readyAt') / 1000:.3f} s "
                  f"after navigation start (a figure, not a check: see bench portal)")
        b.close()
    assert totals == [n_cases, n_cases]
    assert b.console_errors == [] and b.outside == []


# --- what a commander sees on the demo ------------------------------------------------------

DRAWN_JS = """() => {
  var out = {}, L_ = window.citygridLayers;
  window.citygridPortal.config.overlays.forEach(function (spec) {
    var layer = L_[spec.key], n = 0;
    if (spec.kind === 'tiles') {  // paths drawn on the canvas of each loaded vector tile
      Object.keys(layer._vectorTiles || {}).forEach(function (k) {
        n += Object.keys(layer._vectorTiles[k]._layers || {}).length;
      });
    } else {
      n = layer.getLayers().length;  // features (polygons, lines, markers) of the GeoJSON layer
    }
    out[spec.key] = {drawn: n, shown: window.citygridMap.hasLayer(layer)};
  });
  return out;
}"""


def test_every_overlay_draws_features_on_the_demo(demo_server):
    """Signed in as the demo's commander, every overlay of the portal switched on draws
    features from the demo data: reference layers, grids, hot spots and clusters (the runs
    the portal asks for), cases (vector tiles), patrol tracks of today and this week, drone
    missions and live drone positions."""
    from playwright.sync_api import sync_playwright

    from citygrid.db.engine import get_engine

    url, s, creds = demo_server
    with get_engine(s).connect() as conn:  # the grid with the most cases: where the commander looks
        lon, lat = conn.execute(sa.text(
            "SELECT ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)) FROM grids g "
            "JOIN cases c ON c.grid_code = g.code GROUP BY g.code, g.geom ORDER BY count(*) DESC LIMIT 1")).one()
        case_id, squad = conn.execute(sa.text(
            "SELECT c.service_request_id, d.name FROM cases c JOIN departments d ON d.id = c.department_id "
            "WHERE c.status = 'closed' ORDER BY c.id LIMIT 1")).one()
    with sync_playwright() as p:
        b = Browser(p)
        page = b.page
        b.open(url)
        role = page.evaluate("([u, pw]) => window.citygridPortal.signIn(u, pw)",
                             ["demo_commander", creds["demo_commander"]])
        assert role == "commander"
        # switch on every overlay in the layer control
        boxes = page.locator(".leaflet-control-layers-overlays input[type=checkbox]")
        for i in range(boxes.count()):
            if not boxes.nth(i).is_checked():
                boxes.nth(i).click()
        page.evaluate("([lat, lon]) => window.citygridMap.setView([lat, lon], 15, {animate: false})", [lat, lon])
        keys = page.evaluate("window.citygridPortal.config.overlays.map(function (s) { return s.key; })")
        assert {"grids", "hotspots", "clusters", "cases", "tracks_today", "tracks_week", "missions",
                "drones", "posts", "roads", "airspace"} <= set(keys)
        try:
            page.wait_for_function(f"(function () {{ var d = ({DRAWN_JS})(); return Object.keys(d).every("
                                   "function (k) { return d[k].shown && d[k].drawn > 0; }); })()", timeout=30_000)
        except Exception:
            pass  # the assertion below names what is missing
        drawn = page.evaluate(DRAWN_JS)
        page.screenshot(path=str(ARTEFACTS / "portal_demo.png"))
        # a case's popup for staff: its responsible squad and its workflow history
        details = page.evaluate("id => window.citygridPortal.caseDetails(id)", case_id)
        b.close()
    print("\ndrawn per overlay on the demo:", {k: v["drawn"] for k, v in drawn.items()})
    empty = {k: v for k, v in drawn.items() if not (v["shown"] and v["drawn"] > 0)}
    assert empty == {}, f"overlays drawing nothing: {empty}"
    assert drawn["grids"]["drawn"] == 76 and drawn["posts"]["drawn"] == 117
    assert drawn["hotspots"]["drawn"] == 76  # Gi* per grid, all categories: the portal's own request
    assert squad in details and all(step in details for step in ("reported", "filed", "dispatched", "closed"))
    assert b.outside == [] and b.console_errors == []
