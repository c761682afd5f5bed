import logging
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from citygrid import workcal
from citygrid.vocab import category
from citygrid.workcal import TZ, WorkCalendar, default_calendar


def sh(*args):
    return datetime(*args, tzinfo=TZ)


@pytest.fixture
def cal():
    return WorkCalendar()


# --- Spring Festival 2025: holiday 01-28..02-04, make-up workdays 01-26 (Sun), 02-08 (Sat)

def test_spring_festival_2025_days(cal):
    assert date(2025, 1, 26).weekday() == 6 and cal.is_workday(date(2025, 1, 26))
    assert date(2025, 2, 8).weekday() == 5 and cal.is_workday(date(2025, 2, 8))
    for i in range(8):
        assert not cal.is_workday(date(2025, 1, 28) + timedelta(i))
    assert cal.is_workday(date(2025, 1, 27)) and cal.is_workday(date(2025, 2, 5))
    assert not cal.is_workday(date(2025, 2, 9))  # plain Sunday


def test_spring_festival_2025_working_hours(cal):
    due = cal.add_working_hours(datetime(2025, 1, 27, 16, 0), 4)
    assert due == sh(2025, 2, 5, 10, 30) and due.tzinfo is TZ
    # The same instant given in UTC gives the same answer.
    assert cal.add_working_hours(datetime(2025, 1, 27, 8, 0, tzinfo=timezone.utc), 4) == due
    assert cal.deadline(datetime(2025, 1, 27, 16, 0), 4, "working_hours") == due
    assert cal.working_hours_between(datetime(2025, 1, 27, 16), date(2025, 2, 4)) == 2.0
    assert cal.working_hours_between(datetime(2025, 1, 27, 16), datetime(2025, 2, 4, 23)) == 2.0
    assert cal.working_hours_between(datetime(2025, 1, 27, 16), due) == 4.0
    assert cal.working_hours_between(due, datetime(2025, 1, 27, 16)) == -4.0


# --- National Day 2024: holiday 10-01..10-07, make-up workdays 09-29 (Sun), 10-12 (Sat)

def test_national_day_2024_working_days(cal):
    assert cal.add_working_days(datetime(2024, 9, 30, 10), 1) == sh(2024, 10, 8, 18)
    # Friday + 2: the make-up Sunday 09-29 counts, so due on Monday 09-30, not after the holiday.
    assert cal.add_working_days(datetime(2024, 9, 27, 15), 2) == sh(2024, 9, 30, 18)
    # 10-08..10-11 then the make-up Saturday 10-12.
    assert cal.add_working_days(datetime(2024, 9, 30, 10), 5) == sh(2024, 10, 12, 18)
    start = datetime(2024, 9, 30, 10)
    c = category("illegal_construction")
    assert cal.deadline(start, c.limit_value, c.limit_unit) == sh(2024, 10, 12, 18)


def test_working_days_semantics(cal):
    monday = datetime(2025, 3, 10, 8, 0)
    assert cal.add_working_days(monday, 1) == sh(2025, 3, 11, 18)
    assert cal.add_working_days(monday.replace(hour=23), 1) == sh(2025, 3, 11, 18)
    assert cal.add_working_days(datetime(2025, 3, 15, 10), 1) == sh(2025, 3, 17, 18)  # Saturday
    assert cal.add_working_days(datetime(2025, 3, 15, 10), 0) == sh(2025, 3, 17, 18)
    assert cal.add_working_days(monday, 0) == sh(2025, 3, 10, 18)


def test_working_hours_office_periods(cal):
    monday = datetime(2025, 3, 10)
    assert cal.add_working_hours(monday.replace(hour=11), 1) == sh(2025, 3, 10, 12)  # not 13:30
    assert cal.add_working_hours(monday.replace(hour=11), 1.5) == sh(2025, 3, 10, 14)
    assert cal.add_working_hours(monday.replace(hour=6), 2) == sh(2025, 3, 10, 10, 30)
    assert cal.add_working_hours(monday.replace(hour=12, minute=30), 0.5) == sh(2025, 3, 10, 14)
    assert cal.add_working_hours(monday.replace(hour=19), 8) == sh(2025, 3, 11, 18)
    assert cal.add_working_hours(datetime(2025, 3, 14, 17), 2) == sh(2025, 3, 17, 9, 30)  # Fri->Mon
    assert cal.working_hours_between(monday, monday + timedelta(days=7)) == 40.0
    for start in (monday.replace(hour=9, minute=17), datetime(2024, 9, 28, 20), datetime(2025, 1, 20, 12)):
        for hours in (0.25, 1, 3.5, 8, 30, 100):
            assert cal.working_hours_between(start, cal.add_working_hours(start, hours)) == pytest.approx(hours)


def test_deadline_rejects_bad_units(cal):
    with pytest.raises(ValueError, match="fortnights"):
        cal.deadline(datetime(2025, 3, 10), 1, "fortnights")
    with pytest.raises(ValueError):
        cal.deadline(datetime(2025, 3, 10), 1.5, "working_days")


def test_workdays_mask_matches_is_workday(cal):
    days = np.arange("2024-09-20", "2027-01-15", dtype="datetime64[D]")
    mask = cal.workdays_mask(days)
    assert mask.dtype == bool and mask.shape == days.shape
    expected = [cal.is_workday(d.astype(object)) for d in days]
    assert mask.tolist() == expected
    stamps = np.array(["2025-01-26T10:00", "2025-01-28T10:00", "NaT"], dtype="datetime64[s]")
    assert cal.workdays_mask(stamps).tolist() == [True, False, False]
    assert cal.workdays_mask(stamps.reshape(3, 1)).shape == (3, 1)


# --- years the package does not know

def test_unknown_year_falls_back_to_weekends(cal, caplog):
    with caplog.at_level(logging.WARNING, logger="citygrid.workcal"):
        assert cal.is_workday(date(2030, 1, 1))  # Tuesday
        assert not cal.is_workday(date(2030, 1, 5))  # Saturday
        assert cal.is_workday(datetime(2030, 1, 2, 9))
    warnings = [r for r in caplog.records if "2030" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


def test_deadline_into_unknown_year_does_not_crash(cal, caplog):
    with caplog.at_level(logging.WARNING, logger="citygrid.workcal"):
        # 12-31 (Thu), then 2027 weekends only: 01-01 (Fri), 01-04, 01-05, 01-06.
        assert cal.add_working_days(datetime(2026, 12, 30, 10), 5) == sh(2027, 1, 6, 18)
        assert cal.add_working_hours(datetime(2029, 12, 31, 17), 2) == sh(2030, 1, 1, 9, 30)
        assert cal.working_hours_between(datetime(2026, 12, 30), datetime(2030, 1, 3)) > 0
    assert any("2027" in r.getMessage() for r in caplog.records)


def test_city_file_json(tmp_path, caplog):
    path = tmp_path / "rizhao.json"
    path.write_text('[{"year": 2030, "holidays": ["2030-01-01"], "workdays": ["2030-01-05"]},'
                    ' {"year": 2027, "holidays": ["2027-01-01"]}]')
    cal = WorkCalendar.from_file(path)
    with caplog.at_level(logging.WARNING, logger="citygrid.workcal"):
        assert not cal.is_workday(date(2030, 1, 1))
        assert cal.is_workday(date(2030, 1, 5))
        assert cal.add_working_days(datetime(2026, 12, 30, 10), 5) == sh(2027, 1, 7, 18)
    assert not caplog.records  # the city vouches for 2027 and 2030
    # The file also overrides years the package knows.
    path.write_text('{"holidays": ["2025-03-10"]}')
    assert not WorkCalendar.from_file(path).is_workday(date(2025, 3, 10))


def test_city_file_csv_and_errors(tmp_path):
    path = tmp_path / "rizhao.csv"
    path.write_text("date,kind\n2030-01-01,holiday\n2030-01-05,workday\n\n")
    cal = WorkCalendar.from_file(path)
    assert not cal.is_workday(date(2030, 1, 1)) and cal.is_workday(date(2030, 1, 5))
    path.write_text("2030-01-01,vacation\n")
    with pytest.raises(ValueError, match="vacation"):
        WorkCalendar.from_file(path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"year": 2030, "holidays": ["2031-01-01"]}')
    with pytest.raises(ValueError, match="2031-01-01"):
        WorkCalendar.from_file(bad)
    with pytest.raises(ValueError, match="both"):
        WorkCalendar(holidays=[date(2030, 1, 1)], workdays=[date(2030, 1, 1)])


def test_default_calendar_reads_env(tmp_path, monkeypatch):
    path = tmp_path / "city.json"
    path.write_text('{"year": 2030, "holidays": ["2030-01-01"]}')
    default_calendar.cache_clear()
    try:
        monkeypatch.setenv(workcal.CALENDAR_FILE_ENV, str(path))
        assert default_calendar() is default_calendar()
        assert not default_calendar().is_workday(date(2030, 1, 1))
    finally:
        default_calendar.cache_clear()
    monkeypatch.delenv(workcal.CALENDAR_FILE_ENV)
    assert default_calendar().is_workday(date(2025, 1, 26))
    default_calendar.cache_clear()
