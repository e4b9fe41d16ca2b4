"""The test helper that picks ordinary days: checked on the hard weeks it exists for."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest

from office.core import clock
from tests.calendar_days import (
    in_days,
    is_ordinary,
    ordinary_day,
    ordinary_days,
    ordinary_week,
    utc_offset_changes,
    weekday_holidays,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def on(request):
    """on("2026-12-01"): the app's clock at 09:00 that day in Stockholm, for the test."""
    def travel(day: str):
        clock.set_now(datetime.fromisoformat(day).replace(hour=9, tzinfo=STOCKHOLM), frozen=True)

    yield travel
    clock.reset()


def test_four_thursdays_from_december_skip_julafton_and_nyarsafton(on):
    on("2026-12-01")
    assert ordinary_days(4, weekday=3, weeks_apart=1) == [
        date(2027, 1, 7), date(2027, 1, 14), date(2027, 1, 21), date(2027, 1, 28)]


def test_closed_days_are_not_ordinary():
    for closed in (date(2026, 12, 24), date(2026, 12, 31), date(2027, 1, 6), date(2027, 3, 26),
                   date(2027, 3, 29), date(2027, 5, 6), date(2027, 6, 25), date(2027, 12, 31)):
        assert not is_ordinary(closed), closed
    assert is_ordinary(date(2027, 3, 25))  # Skärtorsdagen is a working day
    assert not is_ordinary(date(2027, 3, 27))  # a Saturday


def test_the_next_ordinary_day_after_ascension_and_midsommar(on):
    on("2027-05-05")
    assert ordinary_day() == date(2027, 5, 7)
    on("2027-06-24")  # midsommarafton is Friday 25 June
    assert ordinary_day() == date(2027, 6, 28)
    assert ordinary_day(days_ahead=1) == date(2027, 6, 28)
    assert in_days(1) == date(2027, 6, 25)


def test_one_utc_offset_starts_again_after_the_dst_change(on):
    on("2027-03-22")
    days = ordinary_days(5, one_utc_offset=True)
    assert days == [date(2027, 3, 30), date(2027, 3, 31), date(2027, 4, 1), date(2027, 4, 2),
                    date(2027, 4, 5)]
    assert utc_offset_changes(date(2027, 3, 26), date(2027, 3, 30))
    assert not utc_offset_changes(days[0], days[-1])


def test_an_ordinary_week_has_no_closed_day(on):
    on("2026-12-21")
    assert ordinary_week() == [date(2027, 1, 11) + timedelta(days=n) for n in range(5)]


def test_weekday_holidays_in_order(on):
    on("2026-12-21")
    assert list(islice(weekday_holidays(), 4)) == [
        date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 31), date(2027, 1, 1)]
