"""Repeat rules: the booking form's choices, the meeting structure's rules and the edits of a
series are built as RFC 5545 rules (icalendar's vRecur) that dateutil expands."""

from __future__ import annotations

from datetime import date

import pytest

from office.booking import recurrence
from office.booking.recurrence import repeat_rule
from office.booking.rules import expand_days

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`


def test_no_repeat_is_a_single_booking():
    assert repeat_rule("none", date(2026, 2, 3)) is None


@pytest.mark.parametrize("repeat,interval,expected,days", [
    ("weekly", None, "FREQ=WEEKLY;COUNT=3", [date(2026, 2, 3), date(2026, 2, 10), date(2026, 2, 17)]),
    ("every_other_week", None, "FREQ=WEEKLY;COUNT=3;INTERVAL=2",
     [date(2026, 2, 3), date(2026, 2, 17), date(2026, 3, 3)]),
    ("every_n_weeks", 3, "FREQ=WEEKLY;COUNT=3;INTERVAL=3",
     [date(2026, 2, 3), date(2026, 2, 24), date(2026, 3, 17)]),
    ("every_n_weeks", 1, "FREQ=WEEKLY;COUNT=3", [date(2026, 2, 3), date(2026, 2, 10), date(2026, 2, 17)]),
    # 2026-02-03 is the first Tuesday of February.
    ("monthly_nth_weekday", None, "FREQ=MONTHLY;COUNT=3;BYDAY=1TU",
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
    assert repeat_rule("monthly_nth_weekday", date(2026, 2, 10), count=2) == "FREQ=MONTHLY;COUNT=2;BYDAY=2TU"
    # 2026-03-31 is the fifth Tuesday of March: "the last Tuesday" each month.
    rule = repeat_rule("monthly_nth_weekday", date(2026, 3, 31), count=3)
    assert rule == "FREQ=MONTHLY;COUNT=3;BYDAY=-1TU"
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


def test_ending_a_series_before_a_day_drops_its_count():
    rule = recurrence.ending_before("FREQ=WEEKLY;COUNT=10;INTERVAL=2", date(2026, 3, 3))
    assert rule == "FREQ=WEEKLY;UNTIL=20260302T235959;INTERVAL=2"
    assert expand_days(date(2026, 2, 3), rule) == [date(2026, 2, 3), date(2026, 2, 17)]


def test_ending_a_series_reads_any_spelling_of_the_rule():
    rule = recurrence.ending_before("freq=weekly;until=20261231T235959;byday=TU", date(2026, 2, 17))
    assert expand_days(date(2026, 2, 3), rule) == [date(2026, 2, 3), date(2026, 2, 10)]


def test_what_remains_of_a_counted_series():
    assert recurrence.without_first("FREQ=WEEKLY;COUNT=5", 3) == "FREQ=WEEKLY;COUNT=2"
    assert recurrence.without_first("FREQ=WEEKLY;COUNT=5", 9) == "FREQ=WEEKLY;COUNT=1"
    assert recurrence.without_first("FREQ=WEEKLY;UNTIL=20260331T235959", 3) == \
        "FREQ=WEEKLY;UNTIL=20260331T235959"


@pytest.mark.parametrize("day,week,last,nth", [
    (date(2026, 2, 3), 1, False, 1),    # first Tuesday of February
    (date(2026, 2, 24), 4, True, 4),    # fourth and last
    (date(2026, 3, 31), 5, True, -1),   # a fifth Tuesday: "the last" in a rule
    (date(2026, 3, 24), 4, False, 4),   # fourth, but March has a fifth
])
def test_which_weekday_of_its_month_a_day_is(day, week, last, nth):
    assert recurrence.week_of_month(day) == week
    assert recurrence.is_last_of_month(day) == last
    assert recurrence.nth_weekday(day) == nth


def test_the_meeting_structures_rules_are_built_as_rules():
    from office.allocations.models import Term, TermKind
    from office.meetings import rules as meetings

    weekly = meetings.weekly_rule(3, date(2026, 2, 26))
    assert weekly == "FREQ=WEEKLY;UNTIL=20260226T235959;INTERVAL=1;BYDAY=TH"
    assert expand_days(date(2026, 2, 2), weekly) == [date(2026, 2, 5), date(2026, 2, 12),
                                                     date(2026, 2, 19), date(2026, 2, 26)]
    spring = Term(year=2026, kind=TermKind.spring, first_day=date(2026, 1, 1), last_day=date(2026, 6, 30))
    steering = meetings.twice_per_term_rule(spring, 2)
    assert expand_days(date(2026, 1, 1), steering) == [date(2026, 2, 11), date(2026, 5, 13)]
