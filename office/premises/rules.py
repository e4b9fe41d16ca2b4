"""Rules about when a site is open: opening hours, public holidays and closures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from office.core.extensions import db
from office.premises.models import Closure, OpeningHours, Site


@lru_cache(maxsize=16)
def _swedish_holidays(year: int) -> dict[date, str]:
    # Public holidays plus the de facto ones offices close on (julafton, midsommarafton,
    # nyårsafton); Sundays are handled by opening hours, not as holidays.
    return dict(holidays.Sweden(years=year, include_sundays=False, language="sv",
                                categories=("public", "de_facto")))


@dataclass(frozen=True)
class ClosedDay:
    day: date
    reason: str


def public_holiday(day: date) -> str | None:
    return _swedish_holidays(day.year).get(day)


def closed_days(site: Site, first: date, last: date) -> dict[date, ClosedDay]:
    """Public holidays and the coordinator's closures between two dates (inclusive)."""
    result: dict[date, ClosedDay] = {}
    for year in range(first.year, last.year + 1):
        for day, name in _swedish_holidays(year).items():
            if first <= day <= last:
                result[day] = ClosedDay(day, name)
    closures = db.session.scalars(
        select(Closure).where(Closure.site_id == site.id, Closure.day.between(first, last))
    )
    for closure in closures:
        result[closure.day] = ClosedDay(closure.day, closure.reason or str(_l("Closed")))
    return result


def opening_hours_by_weekday(site: Site) -> dict[int, tuple[time, time]]:
    rows = db.session.scalars(select(OpeningHours).where(OpeningHours.site_id == site.id))
    return {row.weekday: (row.opens, row.closes) for row in rows}


def opening_window(site: Site, day: date) -> tuple[datetime, datetime] | None:
    """The aware open-close interval of a day, or None when the site is closed."""
    if closed_days(site, day, day):
        return None
    hours = opening_hours_by_weekday(site).get(day.weekday())
    if hours is None:
        return None
    tz = ZoneInfo(site.timezone)
    return (datetime.combine(day, hours[0], tz), datetime.combine(day, hours[1], tz))


def set_standard_opening_hours(site: Site, opens: time, closes: time, weekdays=range(5)) -> None:
    site.opening_hours = [OpeningHours(weekday=w, opens=opens, closes=closes) for w in weekdays]


def natural_key(name: str) -> tuple:
    """Sort names as people read them: "Skrivbord 2" before "Skrivbord 10"."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part.casefold())
                 for part in re.split(r"(\d+)", name) if part)


def sorted_resources(resources) -> list:
    """Rooms before desks, each by name as people read it."""
    return sorted(resources, key=lambda r: (r.kind.value != "room", natural_key(r.name), r.id))
