"""The repeat choices of the booking form become RFC 5545 rules that dateutil expands."""

from __future__ import annotations

from datetime import date

import pytest

from office.booking.recurrence import repeat_rule
from office.booking.rules import expand_days

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`


def test_no_repeat_is_a_single_booking():
    assert repeat_rule("none", date(2026, 2, 3)) is None


@pytest.mark.parametrize("repeat,interval,expected,days", [
    ("weekly", None, "FREQ=WEEKLY;COUNT=3", [date(2026, 2, 3), date(2026, 2, 10), date(2026, 2, 17)]),
    ("every_other_week", None, "FREQ=WEEKLY;INTERVAL=2;COUNT=3",
     [date(2026, 2, 3), date(2026, 2, 17), date(2026, 3, 3)]),
    ("every_n_weeks", 3, "FREQ=WEEKLY;INTERVAL=3;COUNT=3",
     [date(2026, 2, 3), date(2026, 2, 24), date(2026, 3, 17)]),
    ("every_n_weeks", 1, "FREQ=WEEKLY;COUNT=3", [date(2026, 2, 3), date(2026, 2, 10), date(2026, 2, 17)]),
    # 2026-02-03 is the first Tuesday of February.
    ("monthly_nth_weekday", None, "FREQ=MONTHLY;BYDAY=1TU;COUNT=3",
     [date(2026, 2, 3), date(2026, 3, 3), date(2026, 4, 7)]),
])
def test_rules_by_count(repeat, interval, expected, days):
    rule = repeat_rule(repeat, date(2026, 2, 3), interval=interval, count=3)
    assert rule == expected
    assert expand_days(date(2026, 2, 3), rule) == days


def test_until_is_inclusive():
    rule = repeat_rule("weekly", date(2026, 2, 3), until=date(2026, 2, 17))
    assert rule == "FREQ=WEEKLY;UNTIL=20260217T235959"
    assert expand_days(date(2026, 2, 3), rule)[-1] == date(2026, 2, 17)


def test_second_tuesday_and_fifth_weekday_means_last():
    assert repeat_rule("monthly_nth_weekday", date(2026, 2, 10), count=2) == "FREQ=MONTHLY;BYDAY=2TU;COUNT=2"
    # 2026-03-31 is the fifth Tuesday of March: "the last Tuesday" each month.
    rule = repeat_rule("monthly_nth_weekday", date(2026, 3, 31), count=3)
    assert rule == "FREQ=MONTHLY;BYDAY=-1TU;COUNT=3"
    assert expand_days(date(2026, 3, 31), rule) == [date(2026, 3, 31), date(2026, 4, 28), date(2026, 5, 26)]


@pytest.mark.parametrize("kwargs", [
    {}, {"count": 3, "until": date(2026, 3, 1)}, {"count": 0}, {"until": date(2026, 1, 1)},
])
def test_a_series_ends_exactly_one_sensible_way(kwargs):
    with pytest.raises(ValueError):
        repeat_rule("weekly", date(2026, 2, 3), **kwargs)


def test_unknown_repeat_and_bad_interval():
    with pytest.raises(ValueError):
        repeat_rule("daily", date(2026, 2, 3), count=2)
    with pytest.raises(ValueError):
        repeat_rule("every_n_weeks", date(2026, 2, 3), interval=0, count=2)
