"""The hotspots planted by the case simulator are found in its history (seeded sample)."""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from citygrid.workcal import TZ
from gis.hotspots import hotspots

PLANTED = json.loads((Path(__file__).resolve().parent.parent / "cases/simulate/planted.json").read_text())["hotspots"]


@pytest.fixture(scope="module")
def history(built_layers):
    from cases.simulate.cases import simulate_cases

    return simulate_cases(built_layers, n=20_000, seed=42)


@pytest.mark.parametrize("spot", [h for h in PLANTED if h["pattern"] in ("surge", "new", "growing")],
                         ids=lambda h: h["id"])
def test_planted_hotspot_is_a_significant_gi_star_hot_spot(history, built_layers, spot):
    start = pd.Timestamp(spot["period"]["start"], tz=TZ)
    end = pd.Timestamp(spot["period"]["end"], tz=TZ)
    res = hotspots(history, method="gi_star", unit="h3_9", category=spot["category"], start=start, end=end,
                   grids=built_layers["grids"])
    centre = shapely.Point(spot["place"]["lon"], spot["place"]["lat"])
    disc = gpd.GeoSeries([centre], crs=4326).to_crs(4549).buffer(spot["place"]["radius_m"]).to_crs(4326).iloc[0]
    near = res[res.intersects(disc)]
    assert len(near) > 0
    # The planted place holds a 99%-confidence hot spot after FDR correction ...
    assert near["gi_bin"].max() == 3, near[["unit_id", "count", "statistic", "gi_bin"]].to_string()
    # ... and the hottest cell of the whole city for that category and period is there.
    top = res.sort_values("statistic", ascending=False).iloc[0]
    assert top.geometry.distance(centre) < 0.01  # about a kilometre


def test_growing_noise_spot_is_an_emerging_hot_spot(history, built_layers):
    """On the 20,000-case sample the bar street is hot in most months with a rising trend
    (on the full 191,000-case history it is hot in nearly all of them)."""
    spot = next(h for h in PLANTED if h["pattern"] == "growing")
    res = hotspots(history, method="emerging", unit="h3_8", category=spot["category"], grids=built_layers["grids"])
    centre = shapely.Point(spot["place"]["lon"], spot["place"]["lat"])
    near = res[res.intersects(centre.buffer(0.002))]
    assert len(near) >= 1
    best = near.sort_values("n_hot", ascending=False).iloc[0]
    assert best["pattern"].endswith("_hot_spot"), near.drop(columns="geometry").to_string()
    assert best["n_hot"] >= 0.75 * best["periods"]
    assert best["statistic"] > 1.96  # Mann-Kendall: a significant upward trend
    # Elsewhere in the city noise shows no pattern in the vast majority of cells.
    assert (res["pattern"] == "no_pattern").mean() > 0.9
