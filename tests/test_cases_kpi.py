"""KPIs against 20 cases worked out by hand.

The fixture is loaded the way a bulk loader would: plain INSERTs of finished cases with all
timestamps. Period: March 2019 (a year no other test uses), 1 Mar 2019 is a Friday, no
public holidays in March. Category garbage_sorting: 1 working day, so a case dispatched on a
working day is due at 18:00 on the next working day (checked against the calendar below).
Reported at ``as_of`` = 2019-04-30 18:00 unless said otherwise.

Working hours (office 08:30-12:00, 13:30-18:00) from dispatch to close, by hand:

grid A
 A1  disp Mon 03-04 09:00, due 03-05 18:00, handled 03-04 11:00, closed 03-04 15:00  3 + 1.5        =  4.5 on time
 A2  disp Tue 03-05 08:30, due 03-06 18:00, handled 03-05 10:00, closed 03-05 12:00  3.5            =  3.5 on time
 A3  disp Wed 03-06 09:00, due 03-07 18:00, handled 03-06 16:00, closed 03-07 09:00  7.5 + 0.5      =  8.0 on time
 A4  disp Thu 03-07 14:00, due 03-08 18:00, handled 03-08 10:00, closed Mon 03-11 10:00  4 + 8 + 1.5 = 13.5 LATE
 A5  disp Mon 03-11 10:00, due 03-12 18:00, rework 1, handled 03-11 15:00, closed 03-12 17:00
                                                                                     6.5 + 7        = 13.5 on time
 A6  disp Tue 03-12 09:00, due 03-13 18:00, handled 03-12 11:00, not closed (feedback)
 A7  disp Wed 03-13 09:00, due 03-14 18:00, not handled (dispatched)
 A8  disp Thu 02-28 10:00, due Fri 03-01 18:00, handled 02-28 15:00, closed 03-01 10:00
                                                                                     6.5 + 1.5      =  8.0 on time
     (due in March, dispatched in February: in the due cohort only)
 A9  disp Fri 03-29 10:00, due Mon 04-01 18:00, handled 03-29 11:00, closed 04-01 09:00
     (dispatched in March, due in April: in the dispatched cohort only)
 A10 reported 03-15, never dispatched: in neither cohort

grid B
 B1  disp Mon 03-04 10:00, due 03-05 18:00, handled 03-04 12:00, closed 03-05 10:00  6.5 + 1.5      =  8.0 on time
 B2  disp Tue 03-05 09:00, due 03-06 18:00, rework 1, handled 03-05 11:00, closed 03-07 09:00
                                                                                     7.5 + 8 + 0.5  = 16.0 LATE
 B3  disp Wed 03-06 10:00, due 03-07 18:00, handled 03-06 11:00, closed 03-06 11:30  1.5            =  1.5 on time
 B4  disp Thu 03-07 09:00, due 03-08 18:00, rework 2, handled 03-07 10:00, closed 03-08 18:00 (at the deadline)
                                                                                     7.5 + 8        = 15.5 on time
 B5  disp Fri 03-08 16:00, due Mon 03-11 18:00, handled 03-11 09:00, closed Tue 03-12 09:00
                                                                                     2 + 8 + 0.5    = 10.5 LATE
 B6  disp Mon 03-18 09:00, due 03-19 18:00, handled 03-18 10:00, not closed (handled)
 B7  disp Tue 03-19 09:00, due 03-20 18:00, not handled (dispatched)
 B8  disp Wed 03-20 14:00, due 03-21 18:00, handled 03-20 15:00, closed 03-20 17:00  3.0            =  3.0 on time
 B9  disp Thu 03-28 10:00, due Fri 03-29 18:00, handled 03-28 11:00, closed Tue 04-02 10:00
                                                                                     6.5 + 8 + 8 + 1.5 = 24.0 LATE
 B10 disp Wed 03-27 10:00, due Thu 03-28 18:00, handled 03-27 11:00, closed 2019-05-06 10:00:
     after as_of, so not closed as of 04-30 (and late when it was)
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cases import kpi
from citygrid.vocab import WORKING_DAYS
from citygrid.workcal import TZ, default_calendar

AS_OF = datetime(2019, 4, 30, 18, 0, tzinfo=TZ)
MARCH = (date(2019, 3, 1), date(2019, 3, 31))

# name: (dispatched, due, handled, closed, rework, status); None = never happened.
CASES = {
    "A1": ("03-04 09:00", "03-05 18:00", "03-04 11:00", "03-04 15:00", 0, "closed"),
    "A2": ("03-05 08:30", "03-06 18:00", "03-05 10:00", "03-05 12:00", 0, "closed"),
    "A3": ("03-06 09:00", "03-07 18:00", "03-06 16:00", "03-07 09:00", 0, "evaluated"),
    "A4": ("03-07 14:00", "03-08 18:00", "03-08 10:00", "03-11 10:00", 0, "closed"),
    "A5": ("03-11 10:00", "03-12 18:00", "03-11 15:00", "03-12 17:00", 1, "closed"),
    "A6": ("03-12 09:00", "03-13 18:00", "03-12 11:00", None, 0, "feedback"),
    "A7": ("03-13 09:00", "03-14 18:00", None, None, 0, "dispatched"),
    "A8": ("02-28 10:00", "03-01 18:00", "02-28 15:00", "03-01 10:00", 0, "closed"),
    "A9": ("03-29 10:00", "04-01 18:00", "03-29 11:00", "04-01 09:00", 0, "closed"),
    "A10": (None, None, None, None, 0, "reported"),
    "B1": ("03-04 10:00", "03-05 18:00", "03-04 12:00", "03-05 10:00", 0, "closed"),
    "B2": ("03-05 09:00", "03-06 18:00", "03-05 11:00", "03-07 09:00", 1, "closed"),
    "B3": ("03-06 10:00", "03-07 18:00", "03-06 11:00", "03-06 11:30", 0, "closed"),
    "B4": ("03-07 09:00", "03-08 18:00", "03-07 10:00", "03-08 18:00", 2, "closed"),
    "B5": ("03-08 16:00", "03-11 18:00", "03-11 09:00", "03-12 09:00", 0, "closed"),
    "B6": ("03-18 09:00", "03-19 18:00", "03-18 10:00", None, 0, "handled"),
    "B7": ("03-19 09:00", "03-20 18:00", None, None, 0, "dispatched"),
    "B8": ("03-20 14:00", "03-21 18:00", "03-20 15:00", "03-20 17:00", 0, "closed"),
    "B9": ("03-28 10:00", "03-29 18:00", "03-28 11:00", "04-02 10:00", 0, "closed"),
    "B10": ("03-27 10:00", "03-28 18:00", "03-27 11:00", "05-06 10:00", 0, "closed"),
}

EXPECTED_A = {
    "dispatched": 8,            # A1-A7, A9 (A8 was dispatched in February, A10 never)
    "disposed": 7,              # all of those but A7
    "disposal_rate": 0.875,     # 7 / 8
    "reworked": 1,              # A5
    "rework_rate": 0.125,       # 1 / 8
    "due": 8,                   # A1-A8 (A9 is due in April, A10 never)
    "closed": 6,                # A1-A5, A8
    "closure_rate": 0.75,       # 6 / 8
    "closed_on_time": 5,        # A1, A2, A3, A5, A8 (A4 late)
    "on_time_rate": 0.625,      # 5 / 8
    "median_hours_to_close": 8.0,  # 3.5, 4.5, 8.0, 8.0, 13.5, 13.5 -> (8.0 + 8.0) / 2
}
EXPECTED_B = {
    "dispatched": 10,           # B1-B10
    "disposed": 9,              # all but B7
    "disposal_rate": 0.9,       # 9 / 10
    "reworked": 2,              # B2, B4
    "rework_rate": 0.2,         # 2 / 10
    "due": 10,                  # B1-B10, all due in March
    "closed": 7,                # B1-B5, B8, B9 (B10 closed after as_of)
    "closure_rate": 0.7,        # 7 / 10
    "closed_on_time": 4,        # B1, B3, B4, B8
    "on_time_rate": 0.4,        # 4 / 10
    "median_hours_to_close": 10.5,  # 1.5, 3.0, 8.0, 10.5, 15.5, 16.0, 24.0 -> the 4th
}
EXPECTED_BOTH = {  # A and B lie in one subdistrict, district and the city
    "dispatched": 18,           # 8 + 10
    "disposed": 16,             # 7 + 9
    "disposal_rate": 0.8889,    # 16 / 18 = 0.88888...
    "reworked": 3,              # 1 + 2
    "rework_rate": 0.1667,      # 3 / 18 = 0.16666...
    "due": 18,                  # 8 + 10
    "closed": 13,               # 6 + 7
    "closure_rate": 0.7222,     # 13 / 18 = 0.72222...
    "closed_on_time": 9,        # 5 + 4
    "on_time_rate": 0.5,        # 9 / 18
    # 1.5, 3.0, 3.5, 4.5, 8.0, 8.0, 8.0, 10.5, 13.5, 13.5, 15.5, 16.0, 24.0 -> the 7th
    "median_hours_to_close": 8.0,
}


def t(text: str | None) -> datetime | None:
    return None if text is None else datetime.strptime(f"2019-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=TZ)


@pytest.fixture(scope="module")
def fixture_cases(engine, layers):
    grids = layers["grids"].sort_values("code")
    sub = grids.groupby("subdistrict_code")["code"].count().pipe(lambda s: s[s >= 2]).index[0]
    grid_a, grid_b = grids.loc[grids["subdistrict_code"] == sub, "code"].iloc[:2]
    points = {g: grids.set_index("code").loc[g].geometry.representative_point() for g in (grid_a, grid_b)}
    rows = []
    for name, (disp, due, handled, closed, rework, status) in CASES.items():
        grid = grid_a if name.startswith("A") else grid_b
        reported = t(disp) - timedelta(hours=1) if disp else t("03-15 09:00")
        rows.append({
            "category": "garbage_sorting", "source": "patrol", "status": status, "description": f"kpi {name}",
            "external_id": f"kpi-fixture-{name}", "lon": points[grid].x, "lat": points[grid].y,
            "grid_code": grid, "subdistrict_code": sub, "county_code": sub[:6],
            "reported_at": reported, "filed_at": reported + timedelta(minutes=30) if disp else None,
            "dispatched_at": t(disp), "due_at": t(due), "handled_at": t(handled), "closed_at": t(closed),
            "rework_count": rework, "updated_at": reported})
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO cases (category, source, status, description, external_id, geom, grid_code, subdistrict_code, "
            "county_code, reported_at, filed_at, dispatched_at, due_at, handled_at, closed_at, rework_count, updated_at) "
            "VALUES (:category, :source, :status, :description, :external_id, "
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :grid_code, :subdistrict_code, :county_code, :reported_at, "
            ":filed_at, :dispatched_at, :due_at, :handled_at, :closed_at, :rework_count, :updated_at) "
            "ON CONFLICT (source, external_id) WHERE external_id IS NOT NULL DO NOTHING"), rows)
    return {"grid_a": grid_a, "grid_b": grid_b, "subdistrict": sub, "county": sub[:6]}


def test_fixture_deadlines_follow_the_calendar():
    cal = default_calendar()
    for name, (disp, due, *_rest) in CASES.items():
        if disp:
            assert cal.deadline(t(disp), 1, WORKING_DAYS) == t(due), name


def check(row: dict, expected: dict):
    for key, value in expected.items():
        assert row[key] == pytest.approx(value), (row["unit"], key, row[key], value)


def test_kpis_by_grid_subdistrict_district_city(engine, fixture_cases):
    fx = fixture_cases
    by_grid = {r["unit"]: r for r in kpi.compute(engine, "grid", *MARCH, as_of=AS_OF)}
    assert set(by_grid) == {fx["grid_a"], fx["grid_b"]}
    check(by_grid[fx["grid_a"]], EXPECTED_A)
    check(by_grid[fx["grid_b"]], EXPECTED_B)
    assert by_grid[fx["grid_a"]]["name"].endswith("网格")
    [sub] = kpi.compute(engine, "subdistrict", *MARCH, as_of=AS_OF)
    assert sub["unit"] == fx["subdistrict"]
    check(sub, EXPECTED_BOTH)
    [dist] = kpi.compute(engine, "district", *MARCH, as_of=AS_OF)
    assert dist["unit"] == fx["county"] and dist["name"]
    check(dist, EXPECTED_BOTH)
    [city] = kpi.compute(engine, "city", *MARCH, as_of=AS_OF)
    assert city["unit"] is None and city["name"] == "日照市"
    check(city, EXPECTED_BOTH)


def test_as_of_counts_only_what_was_known(engine, fixture_cases):
    # As of Wed 2019-03-06 12:00, grid A: dispatched so far A1, A2, A3 (09:00) = 3, handled so
    # far A1, A2 = 2 -> 2/3; due so far A8 (03-01) and A1 (03-05) = 2, both closed, both on time.
    by_grid = {r["unit"]: r for r in kpi.compute(engine, "grid", *MARCH,
                                                 as_of=datetime(2019, 3, 6, 12, tzinfo=TZ))}
    check(by_grid[fixture_cases["grid_a"]], {
        "dispatched": 3, "disposed": 2, "disposal_rate": 0.6667, "due": 2, "closed": 2, "closure_rate": 1.0,
        "closed_on_time": 2, "on_time_rate": 1.0,
        "median_hours_to_close": 6.25,  # A8 8.0, A1 4.5 -> (8.0 + 4.5) / 2
    })
    assert kpi.compute(engine, "grid", date(2019, 6, 1), date(2019, 6, 30), as_of=AS_OF) == []


def test_kpi_rejects_bad_arguments(engine):
    from citygrid.errors import InvalidInput

    with pytest.raises(InvalidInput, match="unknown level"):
        kpi.compute(engine, "planet", *MARCH)
    with pytest.raises(InvalidInput, match="before it starts"):
        kpi.compute(engine, "city", date(2019, 3, 31), date(2019, 3, 1))


def test_cli_prints_the_same_numbers(engine, fixture_cases, monkeypatch):
    import cli.cases as cli_cases
    from cli.main import app

    monkeypatch.setattr(cli_cases, "get_engine", lambda: engine)
    runner = CliRunner()
    args = ["cases", "kpi", "--by", "grid", "--from", "2019-03-01", "--to", "2019-03-31",
            "--as-of", "2019-04-30T18:00:00+08:00"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["unit"]: r for r in json.loads(result.output)}
    check(rows[fixture_cases["grid_a"]], EXPECTED_A)
    check(rows[fixture_cases["grid_b"]], EXPECTED_B)
    monkeypatch.setattr(cli_cases, "console", cli_cases.Console(width=200))
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    assert fixture_cases["grid_a"] in table.output and "87.50%" in table.output and "62.50%" in table.output
    bad = runner.invoke(app, ["cases", "kpi", "--by", "planet"])
    assert bad.exit_code == 2 and "unknown level" in bad.output


def test_kpi_over_http_matches(http, make_user, fixture_cases):
    headers = make_user("kpi-planner-1", "planner")
    r = http.get("/api/kpi", params={"by": "city", "from": "2019-03-01", "to": "2019-03-31",
                                     "as_of": "2019-04-30T18:00:00+08:00"}, headers=headers)
    assert r.status_code == 200, r.text
    [city] = r.json()["units"]
    check(city, EXPECTED_BOTH)
    assert "结案率" in r.json()["definitions"]
