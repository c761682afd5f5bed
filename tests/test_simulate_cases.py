"""The simulated case history: determinism, realistic structure (in real numbers), the
published KPIs, planted hotspots, file outputs, and the bulk COPY loader against PostGIS."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from citygrid import vocab
from cases.simulate import planted as planted_mod
from citygrid.worktable import WorkTable, local_seconds, to_aware
from cases.simulate.cases import (TARGET_CLOSURE, TARGET_DISPOSAL, Prepared, kpis,
                                     simulate_cases, write_cases)
from cases.simulate.hours import week_matrix
from cases.simulate.load import bulk_load_cases
from citygrid.workcal import TZ, default_calendar
from gis.crs import to_metric

N = 20_000
SEED = 42
PERIOD = (date(2023, 1, 1), date(2025, 12, 31))
AS_OF = datetime(2026, 6, 30, tzinfo=TZ)


@pytest.fixture(scope="module")
def prepared(built_layers):
    return Prepared.build(built_layers)


@pytest.fixture(scope="module")
def sample(prepared, locator):
    return simulate_cases(n=N, seed=SEED, prepared=prepared, locator=locator)


@pytest.fixture(scope="module")
def xy(sample):
    return to_metric(sample["lon"].to_numpy(), sample["lat"].to_numpy())


def _days_off(index: pd.Series) -> np.ndarray:
    local = index.dt.tz_convert(TZ).dt.tz_localize(None).to_numpy()
    return ~default_calendar().workdays_mask(local)


# --- building blocks -------------------------------------------------------------------


def test_vectorised_deadlines_match_the_work_calendar():
    cal = default_calendar()
    table = WorkTable.for_years((2023, 2024, 2025))
    rng = np.random.default_rng(0)
    start = datetime(2023, 1, 1, tzinfo=TZ)
    moments = [start + timedelta(minutes=int(m)) for m in rng.integers(0, 3 * 365 * 24 * 60, 400)]
    # plus the edges: office start/end, lunch, midnight, a holiday eve
    moments += [datetime(2024, 2, 9, h, m, tzinfo=TZ) for h, m in ((8, 30), (12, 0), (13, 30), (18, 0), (0, 0))]
    t = local_seconds(moments)
    for value, unit in ((1, vocab.WORKING_HOURS), (2, vocab.WORKING_HOURS), (4, vocab.WORKING_HOURS),
                        (1, vocab.WORKING_DAYS), (3, vocab.WORKING_DAYS), (5, vocab.WORKING_DAYS)):
        ours = to_aware(table.deadline(t, value, unit))
        theirs = [cal.deadline(m, value, unit) for m in moments]
        assert list(ours) == theirs, (value, unit)
    later = t + rng.integers(0, 30 * 86400, len(t))
    expect = [cal.working_hours_between(a, b) for a, b in zip(moments, to_aware(later))]
    assert np.allclose(table.working_hours_between(t, later), expect)


def test_week_matrix_reads_osm_hours():
    m = week_matrix("Mo-Fr 07:00-08:00,16:30-17:30")
    assert m[0, 7] == 1 and m[0, 16] == 0.5 and m[5, 7] == 0 and m.sum() == 5 * 2
    night = week_matrix("Fr-Sa 21:00-01:00")
    assert night[4, 23] == 1 and night[5, 0] == 1 and night[6, 0] == 1 and night[0, 0] == 0
    assert week_matrix("24/7").sum() == 7 * 24
    assert week_matrix("off").sum() == 0 and week_matrix("sometimes") is None


# --- the history -----------------------------------------------------------------------


def test_same_seed_same_history_other_seed_other(prepared, locator):
    a = simulate_cases(n=3_000, seed=7, prepared=prepared, locator=locator)
    b = simulate_cases(n=3_000, seed=7, prepared=prepared, locator=locator)
    pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")),
                                  pd.DataFrame(b.drop(columns="geometry")))
    assert a.geometry.geom_equals_exact(b.geometry, 0).all()
    c = simulate_cases(n=3_000, seed=8, prepared=prepared, locator=locator)
    assert not np.allclose(a["lon"], c["lon"])


def test_shape_of_the_sample(sample):
    assert len(sample) == N
    assert set(sample["category"]) == set(vocab.CATEGORY_SLUGS)
    assert set(sample["source"]) <= set(vocab.SOURCES)
    assert set(sample["status"]) <= set(vocab.CASE_STATES)
    years = sample["reported_at"].dt.year
    assert set(years) == {2023, 2024, 2025}
    assert years.value_counts().sort_index().is_monotonic_increasing  # more use each year
    assert sample.crs.to_epsg() == 4326
    in_grid = sample["grid_code"].notna().mean()
    assert 0.9 < in_grid < 1.0  # mostly in the grids, some in towns and at the fringe
    assert (sample["outside_grid"] == sample["grid_code"].isna()).all()
    assert sample["in_service_area"].mean() > 0.99
    assert sample["external_id"].is_unique


def test_vending_hugs_markets_and_night_markets(sample, prepared, xy, built_layers):
    pois = prepared.scene.pois
    markets = pois[pois["kind"].isin(["market", "night_market"])]
    tree = shapely.STRtree(shapely.points(markets["x"], markets["y"]))

    def median_distance(x, y):
        pts = shapely.points(x, y)
        return float(np.median(shapely.distance(pts, tree.geometries[tree.nearest(pts)])))

    occ = (sample["category"] == "occupied_road").to_numpy()
    vending = median_distance(xy[0][occ], xy[1][occ])
    rng = np.random.default_rng(1)
    grids = prepared.scene.grids["geometry"].to_numpy()
    minx, miny, maxx, maxy = shapely.total_bounds(grids)
    rx, ry = rng.uniform(minx, maxx, 40_000), rng.uniform(miny, maxy, 40_000)
    keep = shapely.contains_xy(shapely.union_all(grids), rx, ry)
    random = median_distance(rx[keep], ry[keep])
    assert vending < 300 < 600 < random, (vending, random)


def test_noise_is_a_night_problem(sample):
    hour = sample.loc[sample["category"] == "noise", "reported_at"].dt.hour
    assert ((hour >= 20) | (hour < 2)).mean() >= 0.6


def test_weekly_rhythm(sample):
    off = _days_off(sample["reported_at"])
    days = pd.Series(pd.date_range("2023-01-01", "2025-12-31", freq="D"))
    day_off = ~default_calendar().workdays_mask(days.to_numpy())
    n_off, n_work = day_off.sum(), (~day_off).sum()

    def per_day_ratio(mask):
        return ((mask & off).sum() / n_off) / ((mask & ~off).sum() / n_work)

    vending = sample["category"].isin(["occupied_road", "storefront_extension", "unlicensed_vendor"]).to_numpy()
    ads = (sample["category"] == "outdoor_advertising").to_numpy()
    assert per_day_ratio(vending) > 1.15  # more stalls when people are off work
    assert per_day_ratio(ads) < 0.8  # found on working-day patrols


def test_seasons_and_spring_festival(sample):
    rep = sample["reported_at"]
    vending = sample["category"].isin(["occupied_road", "unlicensed_vendor"])
    evening = rep.dt.hour.between(18, 23)
    summer = vending & evening & rep.dt.month.isin([6, 7, 8])
    winter = vending & evening & rep.dt.month.isin([12, 1, 2])
    assert summer.sum() > 2 * winter.sum()
    # the Spring Festival break (from the work calendar) is quiet
    local = rep.dt.tz_localize(None)
    festival = local.between("2024-02-10", "2024-02-18", inclusive="left")
    assert festival.sum() / 8 < 0.75 * len(sample) / 1096


def test_sources_mix(sample):
    share = sample["source"].value_counts(normalize=True)
    assert 0.57 < share["citizen"] < 0.63
    assert 0.22 < share["patrol"] < 0.28
    for source in ("drone", "sensor", "hotline"):
        assert 0.02 < share[source] < 0.10
    # sensors only report what IoT devices measure; drones fly by day
    sensed = set(sample.loc[sample["source"] == "sensor", "category"])
    assert sensed <= {"noise", "cooking_fumes", "gas_safety", "illegal_discharge", "garbage_sorting",
                      "construction_waste"}
    drone_hours = sample.loc[sample["source"] == "drone", "reported_at"].dt.hour
    assert drone_hours.between(7, 19).mean() > 0.9


def test_workflow_timings(sample):
    s = sample
    for a, b in (("reported_at", "filed_at"), ("filed_at", "dispatched_at"), ("dispatched_at", "handled_at"),
                 ("handled_at", "feedback_at"), ("feedback_at", "closed_at"), ("closed_at", "evaluated_at")):
        both = s[a].notna() & s[b].notna()
        assert (s.loc[both, b] >= s.loc[both, a]).all(), (a, b)
    filing = (s["filed_at"] - s["reported_at"]).dt.total_seconds() / 60
    assert 5 < filing.median() < 60 and filing.quantile(0.99) < 12 * 60  # minutes to hours
    # deadlines are the category limits on the work calendar, from the dispatch
    cal = default_calendar()
    for row in s.sample(50, random_state=0).itertuples():
        cat = vocab.category(row.category)
        assert row.due_at == cal.deadline(row.dispatched_at, cat.limit_value, cat.limit_unit)
    closed = s["closed_at"].notna()
    overdue = (s.loc[closed, "closed_at"] > s.loc[closed, "due_at"]).mean()
    assert 0.005 < overdue < 0.1  # mostly within the limit, some overdue
    rework = (s["rework_count"] > 0).mean()
    assert 0.01 <= rework <= 0.02
    # states follow the timestamps
    assert (s.loc[s["status"] == "evaluated", "evaluated_at"].notna()).all()
    assert s.loc[s["status"] == "dispatched", "closed_at"].isna().all()


def test_kpis_come_out_at_rizhaos_figures(sample):
    k = kpis(sample, *PERIOD, as_of=AS_OF)
    assert abs(k["disposal_rate"] - TARGET_DISPOSAL) <= 0.003, k
    assert abs(k["closure_rate"] - TARGET_CLOSURE) <= 0.003, k
    assert k["dispatched"] > 0.99 * N


def test_planted_hotspots_file_matches_the_layers(prepared, locator):
    doc = planted_mod.document(planted_mod.resolve(prepared.scene), locator)
    assert planted_mod.load() == json.loads(json.dumps(doc)), "run `citygrid simulate planted`"
    assert len(doc["hotspots"]) >= 3
    assert all(h["place"]["grid_code"] for h in doc["hotspots"])


def test_planted_hotspots_stand_out(sample, xy):
    rep = sample["reported_at"]
    span_days = 1096
    for h in planted_mod.load()["hotspots"]:
        p, per = h["place"], h["period"]
        hx, hy = to_metric(p["lon"], p["lat"])
        near = np.hypot(xy[0] - hx, xy[1] - hy) <= p["radius_m"]
        cat = (sample["category"] == h["category"]).to_numpy()
        start, end = pd.Timestamp(per["start"], tz=TZ), pd.Timestamp(per["end"], tz=TZ)
        inside = ((rep >= start) & (rep < end)).to_numpy()
        days_in = (end - start).days
        here_now = (near & cat & inside).sum()
        assert here_now >= 0.7 * h["share"] * N, h["id"]
        # the same category's density over the whole city in the same period (per km2 per day)
        area_km2 = np.pi * (p["radius_m"] / 1000) ** 2
        city_km2 = 262.0  # the 76 grids
        city_density = (cat & inside).sum() / city_km2 / days_in
        assert here_now / area_km2 / days_in > 20 * city_density, h["id"]
        if h["pattern"] == "growing":
            years = rep[near & cat].dt.year.value_counts()
            assert years[2025] > 1.8 * years[2023], years
        elif days_in < span_days:
            # the same place outside the period: far quieter
            before_after = (near & cat & ~inside).sum() / (span_days - days_in)
            assert here_now / days_in > 3 * before_after, h["id"]


def test_geojson_and_geoparquet_round_trip(prepared, locator, tmp_path):
    frame = simulate_cases(n=2_000, seed=5, prepared=prepared, locator=locator)
    for name in ("cases.geojson", "cases.parquet"):
        path = tmp_path / name
        write_cases(frame, path)
        back = gpd.read_parquet(path) if name.endswith("parquet") else gpd.read_file(path)
        assert len(back) == len(frame)
        assert back.crs.to_epsg() == 4326
        assert back["category"].value_counts().to_dict() == frame["category"].value_counts().to_dict()
        assert np.allclose(back.geometry.x, frame["lon"]) and np.allclose(back.geometry.y, frame["lat"])
        assert (pd.to_datetime(back["reported_at"]) == frame["reported_at"]).all()


# --- bulk loading into PostGIS ----------------------------------------------------------


@pytest.fixture(scope="module")
def loaded(layers, engine, owner_engine, sample, prepared, locator):
    """The sample, COPYed by the application role (locations assigned by the loader)."""
    bare = pd.DataFrame(sample.drop(columns=["geometry", "grid_code", "community_code",
                                             "subdistrict_code", "county_code", "post_code",
                                             "outside_grid", "in_service_area"]))
    written = bulk_load_cases(engine, bare, locator=locator, posts=prepared.scene.posts, attributes=True)
    yield written
    with owner_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM cases WHERE external_id LIKE 'sim-%'"))


def test_bulk_load_writes_every_case_with_its_location(loaded, engine, sample):
    assert loaded == N
    with engine.connect() as conn:
        rows = pd.DataFrame(conn.execute(sa.text(
            "SELECT external_id, category, source, status, grid_code, community_code, county_code, "
            "post_code, outside_grid, ST_X(geom) AS lon, ST_Y(geom) AS lat, reported_at, due_at, "
            "closed_at, rework_count, attributes->>'driver' AS driver, service_request_id "
            "FROM cases WHERE external_id LIKE :p ORDER BY external_id"), {"p": f"sim-{SEED}-%"}).mappings().all())
    assert len(rows) == N
    expect = pd.DataFrame(sample.drop(columns="geometry")).sort_values("external_id").reset_index(drop=True)
    for col in ("category", "source", "status", "grid_code", "community_code", "county_code", "post_code",
                "driver"):
        assert (rows[col].fillna("-").to_numpy() == expect[col].fillna("-").to_numpy()).all(), col
    assert (rows["outside_grid"].to_numpy() == expect["outside_grid"].to_numpy()).all()
    assert np.allclose(rows["lon"], expect["lon"]) and np.allclose(rows["lat"], expect["lat"])
    for col in ("reported_at", "due_at", "closed_at"):
        got = pd.to_datetime(rows[col], utc=True)
        want = expect[col].dt.tz_convert("UTC")
        assert ((got == want) | (got.isna() & want.isna())).all(), col
    assert (rows["rework_count"].to_numpy() == expect["rework_count"].to_numpy()).all()
    year = expect["reported_at"].dt.year.astype(str)
    assert rows["service_request_id"].str.slice(3, 7).tolist() == year.tolist()


def test_loaded_history_kpis_by_the_kpi_module(loaded, engine, sample):
    from cases.kpi import compute

    city = compute(engine, "city", *PERIOD, as_of=AS_OF)[0]
    assert abs(city["disposal_rate"] - TARGET_DISPOSAL) <= 0.003, city
    assert abs(city["closure_rate"] - TARGET_CLOSURE) <= 0.003, city
    mine = kpis(sample, *PERIOD, as_of=AS_OF)
    # the in-process twin counts the same cohorts (give or take a few cases other tests file
    # in these years)
    for key in ("dispatched", "disposed", "due", "closed", "closed_on_time", "reworked"):
        assert 0 <= city[key] - mine[key] <= 20, key


def test_loaded_cases_are_served_as_a_collection(loaded, engine, http):
    with engine.connect() as conn:
        sid, category, grid = conn.execute(sa.text(
            "SELECT service_request_id, category, grid_code FROM cases WHERE external_id = :e"),
            {"e": f"sim-{SEED}-0000123"}).one()
    r = http.get("/collections/cases/items", params={
        "datetime": "2023-01-01T00:00:00+08:00/2025-12-31T23:59:59+08:00", "limit": 5})
    assert r.status_code == 200, r.text
    assert r.json()["numberMatched"] >= N
    r = http.get(f"/collections/cases/items/{sid}")
    assert r.status_code == 200, r.text
    props = r.json()["properties"]
    assert props["category"] == category and props["grid_code"] == grid


def test_repeated_load_is_refused_or_skipped(loaded, engine, sample):
    from citygrid.errors import Conflict

    part = pd.DataFrame(sample.drop(columns="geometry")).iloc[:100]
    with pytest.raises(Conflict):
        bulk_load_cases(engine, part)
    assert bulk_load_cases(engine, part, on_conflict="skip") == 0
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM cases WHERE external_id LIKE :p"),
                            {"p": f"sim-{SEED}-%"}).scalar() == N


def test_owner_rebuild_keeps_the_index_definitions(loaded, owner_engine, prepared, locator):
    with owner_engine.connect() as conn:
        before = conn.execute(sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cases' ORDER BY 1")).all()
    extra = pd.DataFrame(simulate_cases(n=1_500, seed=99, prepared=prepared, locator=locator).drop(columns="geometry"))
    assert bulk_load_cases(owner_engine, extra, indexes="rebuild") == 1_500
    with owner_engine.connect() as conn:
        after = conn.execute(sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cases' ORDER BY 1")).all()
        assert conn.execute(sa.text("SELECT count(*) FROM cases WHERE external_id LIKE 'sim-99-%'")).scalar() == 1_500
    assert after == before


def test_index_rebuild_needs_the_owner(loaded, engine, sample):
    from citygrid.errors import Forbidden

    part = pd.DataFrame(sample.drop(columns="geometry")).iloc[:10].assign(
        external_id=lambda d: d["external_id"] + "-x")
    with pytest.raises(Forbidden):
        bulk_load_cases(engine, part, indexes="rebuild")


def test_bad_rows_are_refused_before_writing(engine, sample):
    from citygrid.errors import InvalidInput

    bad = pd.DataFrame(sample.drop(columns="geometry")).iloc[:10].copy()
    bad.loc[bad.index[0], "category"] = "parking"
    with pytest.raises(InvalidInput) as err:
        bulk_load_cases(engine, bad)
    assert "category" in str(err.value.__dict__) or "category" in str(err.value)


def test_streamed_history_is_the_same_history(prepared):
    from cases.simulate.cases import stream_cases

    whole = simulate_cases(n=5_000, seed=11, prepared=prepared, assign=False, geometry=False)
    stream = stream_cases(prepared, n=5_000, seed=11, chunk_rows=1_300)
    chunks = list(stream)
    assert [len(c) for c in chunks] == [1_300, 1_300, 1_300, 1_100]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole)


def test_streamed_load_matches_the_frame_load(layers, engine, owner_engine, prepared, locator):
    from cases.simulate.cases import stream_cases
    from cases.simulate.load import copy_chunk

    stream = stream_cases(prepared, n=3_000, seed=12, chunk_rows=1_000)
    # the two encoder inputs (a located DataFrame, plain columns + locations) give the same bytes
    frame = simulate_cases(n=3_000, seed=12, prepared=prepared, locator=locator, geometry=False)
    from cases.simulate.load import _location_columns

    cols = stream.draw.columns(slice(0, 1_000))
    cols.update(_location_columns(locator.assign(cols["lon"], cols["lat"]), prepared.scene.posts))
    assert copy_chunk(cols, attributes=True) == copy_chunk(frame.iloc[:1_000], attributes=True)
    # with responsible departments (a squad per subdistrict) too; dictionary-encoded columns
    # (the worker path) give the same bytes as plain ones
    from cases.simulate.load import _unpack

    squads = {code: 100 + k for k, code in enumerate(sorted(layers["subdistricts"]["code"]))}
    assert copy_chunk(cols, departments=squads) == copy_chunk(frame.iloc[:1_000], departments=squads)
    assert copy_chunk(cols, departments=squads) != copy_chunk(cols)
    codes = locator.assign(cols["lon"], cols["lat"])
    packed = {c: pd.factorize(codes[c].astype(object), use_na_sentinel=True) for c in
              ("grid_code", "community_code", "subdistrict_code", "county_code")}
    dict_cols = {**stream.draw.columns(slice(0, 1_000)),
                 **_unpack(({c: (k.astype(np.int32), np.asarray(u, dtype=object)) for c, (k, u) in packed.items()},
                            codes["in_service_area"].to_numpy()), prepared.scene.posts)}
    assert copy_chunk(dict_cols, departments=squads) == copy_chunk(cols, departments=squads)
    try:
        assert bulk_load_cases(engine, stream, locator=locator, posts=prepared.scene.posts, workers=2) == 3_000
        with engine.connect() as conn:
            got = conn.execute(sa.text(
                "SELECT external_id, grid_code FROM cases WHERE external_id LIKE 'sim-12-%' ORDER BY external_id"
            )).all()
        expect = frame.sort_values("external_id")["grid_code"].astype(object)
        assert [g for _, g in got] == expect.where(expect.notna(), None).tolist()
    finally:
        with owner_engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM cases WHERE external_id LIKE 'sim-12-%'"))


def test_cli_writes_a_history_file_and_checks_the_planted_file(tmp_path):
    from typer.testing import CliRunner

    from cli.main import app

    out = tmp_path / "history.parquet"
    runner = CliRunner()
    r = runner.invoke(app, ["simulate", "cases", "--years", "3", "--seed", "3", "--n", "2000", "--out", str(out)])
    assert r.exit_code == 0, r.output
    back = gpd.read_parquet(out)
    assert len(back) == 2_000 and set(back["reported_at"].dt.year) == {2023, 2024, 2025}
    assert "处置率" in r.output
    r = runner.invoke(app, ["simulate", "planted", "--check"])
    assert r.exit_code == 0, r.output
