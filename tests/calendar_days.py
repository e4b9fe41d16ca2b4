"""Days chosen with the calendar in mind, so a test's world is ordinary on any day it runs.

The next weeks are not always ordinary: julafton, Easter, Ascension Day, midsommar, the DST
weekends and the turn of the year all fall in them some time. Tests take their days from
here, judged by the app's own rule (office/premises.py: public and de facto holidays) and
counted from the app's clock (office/core/clock.py), never from the machine's date.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from office.core import clock
from office.premises.rules import public_holiday

STOCKHOLM = ZoneInfo("Europe/Stockholm")
_SEARCHED_DAYS = 3 * 366  # far beyond any gap in the Swedish calendar


def today() -> date:
    """Today in Stockholm on the app's clock."""
    return clock.today(STOCKHOLM)


def in_days(days: int) -> date:
    return today() + timedelta(days=days)


def is_ordinary(day: date) -> bool:
    """A weekday the premises are open by default: no public or de facto holiday."""
    return day.weekday() < 5 and public_holiday(day) is None


def utc_offset_changes(first: date, last: date, zone: ZoneInfo = STOCKHOLM) -> bool:
    """Whether daylight saving time starts or ends between two days."""
    def offset(day: date) -> timedelta | None:
        return datetime.combine(day, time(12), zone).utcoffset()

    return offset(first) != offset(last)


def ordinary_days(count: int = 4, *, weekday: int | None = None, after: date | None = None,
                  days_ahead: int | None = None, weeks_apart: int | None = None,
                  one_utc_offset: bool = False) -> list[date]:
    """The first `count` ordinary days after `after` (default: today).

    weekday: only that weekday (0 = Monday). days_ahead: from that many days after today on.
    weeks_apart: a series, the days exactly that many weeks apart, every one ordinary.
    one_utc_offset: no DST change between the first and the last day.
    """
    if days_ahead is not None:
        after = in_days(days_ahead - 1)
    start = (after or today()) + timedelta(days=1)
    candidates = (start + timedelta(days=n) for n in range(_SEARCHED_DAYS))
    found: list[date] = []
    for first in candidates:
        if not is_ordinary(first) or (weekday is not None and first.weekday() != weekday):
            continue
        if weeks_apart is not None:
            found = [first + timedelta(weeks=weeks_apart * n) for n in range(count)]
            if not all(is_ordinary(day) for day in found):
                continue
        else:
            if found and one_utc_offset and utc_offset_changes(found[0], first):
                found = []
            found.append(first)
        if len(found) == count and not (one_utc_offset and utc_offset_changes(found[0], found[-1])):
            return found
    raise AssertionError(f"no {count} ordinary days after {start}: the helper is wrong")


def ordinary_day(*, weekday: int | None = None, after: date | None = None,
                 days_ahead: int | None = None) -> date:
    """The first ordinary day after `after` (default: today), or from `days_ahead` days on."""
    return ordinary_days(1, weekday=weekday, after=after, days_ahead=days_ahead)[0]


def ordinary_week(*, after: date | None = None, days_ahead: int | None = None) -> list[date]:
    """Monday to Friday of the first week after `after` (default: today) with no closed day."""
    if days_ahead is not None:
        after = in_days(days_ahead - 1)
    start = (after or today()) + timedelta(days=1)
    first_monday = start + timedelta(days=-start.weekday() % 7)
    for n in range(_SEARCHED_DAYS // 7):
        week = [first_monday + timedelta(weeks=n, days=d) for d in range(5)]
        if all(is_ordinary(day) for day in week):
            return week
    raise AssertionError("no ordinary week: the helper is wrong")


def weekday_holidays(*, after: date | None = None, days_ahead: int | None = None):
    """Holidays on weekdays (closed days) after `after`, in order, as long as asked for."""
    if days_ahead is not None:
        after = in_days(days_ahead - 1)
    day = (after or today()) + timedelta(days=1)
    for _ in range(_SEARCHED_DAYS):
        if day.weekday() < 5 and public_holiday(day) is not None:
            yield day
        day += timedelta(days=1)
