"""The map page in a real headless Chromium, with the internet unreachable."""
from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = shutil.which("chromium")
ARTEFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is installed by make test")
def test_portal_in_headless_chromium_offline(layers, server):
    from playwright.sync_api import sync_playwright

    outside, console_errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        def guard(route):
            host = urlparse(route.request.url).hostname
            if host not in ("127.0.0.1", "localhost"):
                outside.append(route.request.url)  # an isolated network: nothing else answers
                return route.abort()
            return route.continue_()

        page.route("**/*", guard)
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console_errors.append(str(e)))
        page.goto(server + "/", wait_until="load")
        page.wait_for_function("window.citygridLayers && window.citygridLayers.grids.getLayers().length === 76 "
                               "&& window.citygridLayers.posts.getLayers().length === 117",
                               timeout=30_000)
        n_posts = page.evaluate("window.citygridLayers.posts.getLayers().length")
        assert n_posts == 117
        assert page.evaluate("window.citygridMap.hasLayer(window.citygridLayers.grids)") is True
        # The layer control toggles the grid layer off and on again.
        label = page.locator(".leaflet-control-layers-overlays label", has_text="Grids")
        label.locator("input").click()
        assert page.evaluate("window.citygridMap.hasLayer(window.citygridLayers.grids)") is False
        label.locator("input").click()
        assert page.evaluate("window.citygridMap.hasLayer(window.citygridLayers.grids)") is True
        ARTEFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTEFACTS / "portal.png"))
        browser.close()
    assert outside == []
    assert console_errors == []
