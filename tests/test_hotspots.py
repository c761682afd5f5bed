"""Hot spots: Gi* agrees with esda, planted clusters are found, randomness stays quiet,
DBSCAN, emerging-pattern rules, input errors and the CLI. No database needed."""
from __future__ import annotations

import json
import warnings

import esda
import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from libpysal.weights import WSP

from citygrid.errors import InvalidInput
from gis.crs import METRIC, WGS84, from_metric, to_metric
from gis.hotspots import emerging, gistar, hotspots, weights
from gis.hotspots.units import aggregate, h3_units


@pytest.fixture(scope="module")
def grids(built_layers):
    return built_layers["grids"]


@pytest.fixture(scope="module")
def h3_cells(grids):
    """H3 res 9 cells over the grids (~2,500) and their k=1 adjacency."""
    cells = h3_units(shapely.union_all(grids.geometry.values), 9)
    return cells, weights.h3_rings(cells["unit_id"])


def _esda_z(y, adj, transform):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # esda warns that it fills the diagonal; intended
        w = WSP(adj).to_W(silence_warnings=True)
        return esda.G_Local(y, w, transform=transform, star=True, permutations=0).Zs


@pytest.mark.parametrize("transform", ["R", "B"])
def test_gi_star_z_equals_esda_on_grids(grids, transform):
    units = aggregate(gpd.GeoDataFrame({"category": [], "reported_at": []}, geometry=[], crs=WGS84),
                      unit="grid", grids=grids)
    adj = weights.queen(units)
    assert len(units) == 76 and np.diff(adj.indptr).min() >= 1
    y = np.random.default_rng(7).gamma(2.0, 3.0, len(units))
    _, z = gistar.gi_star_z(y, gistar.star_weights(adj, transform))
    diff = np.abs(z - _esda_z(y, adj, transform)).max()
    print(f"grids ({transform}): max |z - esda Zs| = {diff:.2e}")
    assert diff < 1e-9


def test_gi_star_z_equals_esda_on_h3(h3_cells):
    cells, adj = h3_cells
    assert 1500 <= len(cells) <= 4000
    y = np.random.default_rng(8).poisson(3, len(cells)).astype(float)
    for transform in ("R", "B"):
        _, z = gistar.gi_star_z(y, gistar.star_weights(adj, transform))
        ok = np.diff(adj.indptr) > 0
        diff = np.abs(z[ok] - _esda_z(y, adj, transform)[ok]).max()
        print(f"{len(cells)} H3 cells ({transform}): max |z - esda Zs| = {diff:.2e}")
        assert diff < 1e-9


def test_fdr_cutoff_matches_esda():
    p = np.random.default_rng(3).uniform(size=500) ** 3
    for alpha in (0.01, 0.05, 0.1):
        cut = gistar.fdr_cutoff(p, alpha)
        assert ((p <= cut) == (p < esda.fdr(p, alpha))).all()


def _planted(cells, adj, rng, centres):
    planted = np.zeros(len(cells), dtype=bool)
    pos = {c: i for i, c in enumerate(cells["unit_id"])}
    for c in centres:
        planted[[pos[d] for d in h3.grid_disk(c, 1) if d in pos]] = True
    y = rng.poisson(1.0, len(cells)).astype(float)
    y[planted] = rng.poisson(8.0, planted.sum())
    return y, planted


@pytest.mark.parametrize("permutations", [0, 999])
def test_planted_clusters_found(h3_cells, permutations):
    cells, adj = h3_cells
    rng = np.random.default_rng(11)
    # Three centres well inside the area (their full rings exist).
    full = np.nonzero(np.diff(adj.indptr) == 6)[0]
    centres = cells["unit_id"].to_numpy()[rng.choice(full, 3, replace=False)]
    y, planted = _planted(cells, adj, rng, centres)
    # 999 permutations cannot reach BH cut-offs over ~3,500 cells (smallest p is 0.002), so
    # pseudo p-values are binned unadjusted and only recall is asserted for them.
    res = gistar.gi_star(y, adj, permutations=permutations, seed=1, fdr=not permutations)
    hot = res["bin"] > 0
    recall = (hot & planted).sum() / planted.sum()
    # Gi* smooths over the ring, so a planted cell's neighbours count as correct finds too.
    near = planted | ((adj @ planted.astype(float)) > 0)
    precision = (hot & near).sum() / max(hot.sum(), 1)
    print(f"planted (perms={permutations}): recall {recall:.3f}, precision {precision:.3f}, "
          f"{hot.sum()} hot cells, {planted.sum()} planted")
    assert recall >= 0.9
    if not permutations:
        assert precision >= 0.8


def test_permutation_p_agrees_with_esda(grids):
    units = aggregate(gpd.GeoDataFrame({"category": [], "reported_at": []}, geometry=[], crs=WGS84),
                      unit="grid", grids=grids)
    adj = weights.queen(units)
    y = np.random.default_rng(4).gamma(2.0, 3.0, len(units))  # continuous: no ties
    mine = gistar.permutation_p(y, adj, 9999, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = esda.G_Local(y, WSP(adj).to_W(silence_warnings=True), transform="R", star=True,
                         permutations=9999, seed=2, n_jobs=1)
    theirs = np.minimum(1.0, 2.0 * g.p_sim)  # esda's p_sim is one-sided (folded)
    diff = np.abs(mine - theirs)
    print(f"pseudo p vs esda: mean |diff| {diff.mean():.4f}, max {diff.max():.4f}")
    assert diff.max() < 0.05


def test_spatial_randomness_stays_quiet(h3_cells):
    cells, adj = h3_cells
    rates, raw = [], []
    for seed in range(20):
        y = np.random.default_rng(100 + seed).poisson(2.0, len(cells)).astype(float)
        res = gistar.gi_star(y, adj)
        rates.append((res["bin"] > 0).mean())
        raw.append(((res["p"] < 0.10) & (res["z"] > 0)).mean())
    print(f"Poisson null: FDR hot-spot rate {np.mean(rates):.4f} (nominal 0.10 two-sided), "
          f"unadjusted p<0.10 hot rate {np.mean(raw):.4f} (expected ~0.05)")
    assert np.mean(rates) <= 0.05
    assert np.mean(raw) <= 0.07  # the analytic z is calibrated, not just conservative


def test_islands_get_zero():
    adj = weights._csr(np.array([0, 1]), np.array([1, 0]), 3)  # unit 2 has no neighbours
    res = gistar.gi_star(np.array([5.0, 1.0, 9.0]), adj)
    assert res["island"].tolist() == [False, False, True]
    assert res["z"][2] == 0 and res["p"][2] == 1 and res["bin"][2] == 0


def _cases(lonlat, times, category="occupied_road"):
    lonlat = np.asarray(lonlat)
    return gpd.GeoDataFrame({"category": category, "reported_at": pd.to_datetime(times, utc=True)},
                            geometry=shapely.points(lonlat), crs=WGS84)


def test_dbscan_finds_a_line_of_stalls(grids):
    rng = np.random.default_rng(5)
    p = grids.geometry.iloc[10].representative_point()
    x0, y0 = to_metric(p.x, p.y)
    # 20 stalls 2.5 m apart along an east-west street (47.5 m), jittered 1 m.
    sx = x0 + np.arange(20) * 2.5 + rng.normal(0, 1, 20)
    sy = y0 + rng.normal(0, 1, 20)
    # 300 scattered reports over ~20 km: too sparse to cluster.
    nx = x0 + rng.uniform(-10_000, 10_000, 300)
    ny = y0 + rng.uniform(-10_000, 10_000, 300)
    lon, lat = from_metric(np.r_[sx, nx], np.r_[sy, ny])
    times = pd.Timestamp("2026-05-01", tz="UTC") + pd.to_timedelta(np.arange(320), "h")
    out = hotspots(_cases(np.c_[lon, lat], times), method="clusters", grids=grids)
    big = out[out["count"] >= 10]
    assert len(big) == 1
    row = big.iloc[0]
    assert 18 <= row["count"] <= 22
    assert row["grid_code"] == grids.sort_values("code")["code"].iloc[
        np.nonzero(grids.sort_values("code").covers(p).to_numpy())[0][0]]
    assert row["first_reported"] == times[0] and row["last_reported"] == times[19]
    assert gpd.GeoSeries([row.geometry], crs=WGS84).to_crs(METRIC).area.iloc[0] < 50 * 20


# --- emerging --------------------------------------------------------------------------

def _steps(hot_steps, cold_steps=(), t=12, z=None):
    bins = np.zeros((1, t), dtype=int)
    bins[0, list(hot_steps)] = 2
    bins[0, list(cold_steps)] = -2
    zz = np.where(bins != 0, 3.0 * np.sign(bins), 0.5) if z is None else np.asarray(z, float)[None]
    return emerging.classify(zz.astype(float), bins)[0][0]


def test_emerging_rules():
    t = 12
    assert _steps(range(t), z=np.linspace(2, 8, t)) == "intensifying_hot_spot"
    assert _steps(range(t), z=np.linspace(8, 2, t)) == "diminishing_hot_spot"
    assert _steps(range(t), z=[3, 4] * 6) == "persistent_hot_spot"
    assert _steps([11]) == "new_hot_spot"
    assert _steps([8, 9, 10, 11]) == "consecutive_hot_spot"
    assert _steps([2, 5, 10, 11]) == "sporadic_hot_spot"
    assert _steps([10, 11], cold_steps=[3]) == "oscillating_hot_spot"
    assert _steps(range(11)) == "historical_hot_spot"
    assert _steps([]) == "no_pattern"
    bins = -np.ones((1, t), dtype=int)
    assert emerging.classify(-np.linspace(2, 8, t)[None], bins)[0][0] == "intensifying_cold_spot"


def _monthly_cases(cells, counts_by_cell, rng):
    """Points at cell centres (jittered ~20 m) for a (cells, months) count matrix."""
    lonlat, times = [], []
    for i, c in enumerate(cells):
        lat, lng = h3.cell_to_latlng(c)
        for m in range(counts_by_cell.shape[1]):
            k = int(counts_by_cell[i, m])
            lonlat.append(np.c_[lng + rng.normal(0, 2e-4, k), lat + rng.normal(0, 2e-4, k)])
            times.extend([pd.Timestamp(f"2025-{m + 1:02d}-15 12:00", tz="Asia/Shanghai")] * k)
    return _cases(np.vstack(lonlat), times)


@pytest.mark.parametrize("shape,expected", [
    ("rising", {"intensifying_hot_spot"}),
    ("steady", {"persistent_hot_spot"}),
    ("late", {"consecutive_hot_spot", "new_hot_spot"}),
])
def test_emerging_synthetic(grids, shape, expected):
    rng = np.random.default_rng({"rising": 1, "steady": 2, "late": 3}[shape])
    cells = h3_units(shapely.union_all(grids.geometry.values), 8)["unit_id"].to_numpy()
    counts = rng.poisson(2.0, (len(cells), 12)).astype(float)
    centre = cells[len(cells) // 2]
    site = np.isin(cells, list(h3.grid_disk(centre, 1)))
    if shape == "rising":
        counts[site] = 6 + 3 * np.arange(12)
    elif shape == "steady":
        counts[site] = 12
    else:
        counts[site, 9:] = 15
    out = hotspots(_monthly_cases(cells, counts, rng), method="emerging", unit="h3_8", grids=grids)
    got = out.set_index("unit_id").loc[centre, "pattern"]
    print(f"emerging {shape}: centre -> {got}; patterns: {out['pattern'].value_counts().to_dict()}")
    assert got in expected


# --- errors and CLI ------------------------------------------------------------------

@pytest.fixture()
def two_cases():
    return _cases([[119.5, 35.4], [119.51, 35.41]], ["2026-05-01T08:00Z", "2026-05-02T08:00Z"])


def test_unknown_category_names_it(two_cases, grids):
    with pytest.raises(InvalidInput, match="parking_on_moon"):
        hotspots(two_cases, category="parking_on_moon", grids=grids)


def test_empty_period(two_cases, grids):
    with pytest.raises(InvalidInput, match="empty period"):
        hotspots(two_cases, start="2026-05-03", end="2026-05-01", grids=grids)
    with pytest.raises(InvalidInput, match="empty period"):
        hotspots(two_cases, start="2026-06-01", end="2026-07-01", grids=grids)


def test_single_case(two_cases, grids):
    with pytest.raises(InvalidInput, match="single case"):
        hotspots(two_cases, end="2026-05-01T12:00Z", grids=grids)


@pytest.mark.parametrize("kwargs,word", [
    ({"method": "kriging"}, "method"), ({"unit": "h3_12"}, "unit"), ({"unit": "grid"}, "grids"),
])
def test_bad_method_unit(two_cases, kwargs, word):
    with pytest.raises(InvalidInput, match=word):
        hotspots(two_cases, **kwargs)


def test_cli_writes_gi_bin(tmp_path, grids):
    from typer.testing import CliRunner

    from cli.main import app

    rng = np.random.default_rng(9)
    p = grids.geometry.iloc[5].representative_point()
    lon = np.r_[p.x + rng.normal(0, 0.002, 60), rng.uniform(119.3, 119.55, 60)]
    lat = np.r_[p.y + rng.normal(0, 0.002, 60), rng.uniform(35.1, 35.45, 60)]
    src = tmp_path / "cases.geojson"
    cases = _cases(np.c_[lon, lat], ["2026-05-01T08:00:00+08:00"] * 120)
    cases["reported_at"] = cases["reported_at"].map(lambda t: t.isoformat())
    cases.to_file(src, driver="GeoJSON")
    out = tmp_path / "hot.geojson"
    r = CliRunner().invoke(app, ["hotspots", "--category", "occupied_road", "--method", "gi_star",
                                 "--unit", "h3_9", "--input", str(src), "--out", str(out)])
    assert r.exit_code == 0, r.output
    feats = json.loads(out.read_text())["features"]
    assert feats and all("gi_bin" in f["properties"] for f in feats)
    assert any(f["properties"]["gi_bin"] == 3 for f in feats)
    r = CliRunner().invoke(app, ["hotspots", "--category", "nope", "--input", str(src), "--out", str(out)])
    assert r.exit_code == 2 and "nope" in r.output


def test_reads_cases_from_database(layers, engine):
    """Without --input the CLI reads the cases table; no located cases is a clear error."""
    from gis.hotspots.store import read_cases

    cases, grids = read_cases(engine)
    assert len(grids) == 76 and {"category", "reported_at"} <= set(cases.columns)
    if len(cases) < 2:
        with pytest.raises(InvalidInput):
            hotspots(cases, grids=grids)
    else:
        assert len(hotspots(cases, grids=grids)) == 76
