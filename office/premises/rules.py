"""Rules about when a site is open: opening hours, public holidays and closures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    bindparam,
    select,
)

from office.core.transaction import read_connection
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
    closures = read_connection().execute(_CLOSURES, {"site_id": site.id, "first": first,
                                                     "last": last})
    for day, reason in closures:
        result[day] = ClosedDay(day, reason or str(_l("Closed")))
    return result


# Prebuilt Core reads: every booking check asks these (docs/performance.md).
_CLOSURES = select(Closure.__table__.c.day, Closure.__table__.c.reason).where(
    Closure.__table__.c.site_id == bindparam("site_id"),
    Closure.__table__.c.day.between(bindparam("first"), bindparam("last")),
)
_OPENING_HOURS = select(OpeningHours.__table__.c.weekday, OpeningHours.__table__.c.opens,
                        OpeningHours.__table__.c.closes).where(
    OpeningHours.__table__.c.site_id == bindparam("site_id"))


def opening_hours_by_weekday(site: Site) -> dict[int, tuple[time, time]]:
    rows = read_connection().execute(_OPENING_HOURS, {"site_id": site.id})
    return {weekday: (opens, closes) for weekday, opens, closes in rows}


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


# --- what a closure or new opening hours would touch --------------------------------------

@dataclass(frozen=True)
class ClosureImpact:
    """Something booked at a time the site will no longer be open."""

    kind: str            # "booking", "meeting", "trepartssamtal", "seminar"
    title: str           # neutral for a trepartssamtal
    starts_at: datetime
    ends_at: datetime
    cancels: bool = True  # False: flagged for the coordinator, left in place (a seminar day)


# fn(site, first_day, last_day, fits, *, apply, actor) -> list[ClosureImpact]; `fits(start,
# end)` says whether an item still fits the site's new hours; with apply=True the feature
# cancels (or flags) what does not, in the caller's transaction, and tells the people.
_closure_impacts: list = []


def add_closure_impact(fn):
    """Registration point for features above premises (booking, seminars, ...)."""
    if fn not in _closure_impacts:
        _closure_impacts.append(fn)
    return fn


def never_fits(_start: datetime, _end: datetime) -> bool:
    return False


def within_hours(site: Site, hours: dict[int, tuple[time, time]]):
    """`fits` for new opening hours (weekday -> (opens, closes)); closed weekdays fit nothing."""
    zone = ZoneInfo(site.timezone)

    def fits(start: datetime, end: datetime) -> bool:
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        window = hours.get(local_start.date().weekday())
        return (window is not None and local_start.date() == local_end.date()
                and window[0] <= local_start.time() and local_end.time() <= window[1])

    return fits


def closure_impact(site: Site, first: date, last: date, fits=never_fits, *, apply: bool = False,
                   actor=None) -> list[ClosureImpact]:
    """What every registered feature has at `site` between the days that no longer fits."""
    items: list[ClosureImpact] = []
    for fn in _closure_impacts:
        items.extend(fn(site, first, last, fits, apply=apply, actor=actor))
    return sorted(items, key=lambda item: (item.starts_at, item.kind, item.title))
