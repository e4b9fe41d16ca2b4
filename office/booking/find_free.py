"""Finding a free room or desk: what is free and bookable for me, best fit first.

Every answer has passed office.booking.rules.check_booking(), the same rules as booking
itself (opening hours, closed days, allocations and releases, capacity, the horizon).
To stay fast, one `preloaded_checks()` first loads the occurrences, closed days, opening
hours and allocation windows of every candidate resource for the days asked about; the
hundreds of checks that follow ask the database nothing (bench/bench_find_free.py).

When nothing is free the answer carries the nearest free times: earlier and later the
same day, and the same time (or the nearest) on the next open days.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from office.accounts.models import User
from office.booking import rules as booking
from office.booking.grid import Filters, filtered_resources
from office.premises import rules as premises
from office.premises.models import Resource, ResourceKind, Site

STEP = 15  # minutes: bookings start on the quarter hour
NEXT_DAYS = 14  # how far ahead to look for another day
ALTERNATIVES = 2  # earlier and later the same day, each
OTHER_DAYS = 3

DEFAULT_TITLES = {ResourceKind.room: _l("Meeting"), ResourceKind.desk: _l("Desk for the day")}
# Problems about the asked time itself rather than one resource: said once, above the answer.
TIME_PROBLEMS = ("end_before_start", "nonexistent_time", "closed_day", "outside_hours",
                 "in_past", "beyond_horizon", "too_long")


@dataclass(frozen=True)
class FreeSearch:
    """What the person asked: a day, a time (or the whole day), how many, what it must have."""

    site: Site
    day: date
    start_time: time | None = None
    end_time: time | None = None
    whole_day: bool = False
    people: int = 1
    kind: str = ""  # "", "room" or "desk"
    screen: bool = False
    video: bool = False
    accessible: bool = False
    title: str = ""

    @property
    def filters(self) -> Filters:
        return Filters(kind=self.kind, screen=self.screen, video=self.video,
                       accessible=self.accessible, min_capacity=self.people)


@dataclass(frozen=True)
class FreeOption:
    """One resource free at one time: bookable by the person in one click."""

    resource: Resource
    day: date
    start_time: time
    end_time: time


@dataclass
class FreeAnswer:
    search: FreeSearch
    start_time: time | None  # what was checked (the opening hours for "the whole day")
    end_time: time | None
    candidates: int = 0  # resources with the features and room for everyone
    free: list[FreeOption] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why nothing is free, when it is the time
    earlier: list[FreeOption] = field(default_factory=list)
    later: list[FreeOption] = field(default_factory=list)
    other_days: list[FreeOption] = field(default_factory=list)

    @property
    def alternatives(self) -> bool:
        return bool(self.earlier or self.later or self.other_days)


def best_fit(resources: list[Resource]) -> list[Resource]:
    """The smallest that fits first; among equals, by name as people read it."""
    return sorted(resources, key=lambda r: (r.capacity, r.kind != ResourceKind.room,
                                            premises.natural_key(r.name), r.id))


def default_title(search: FreeSearch, resource: Resource) -> str:
    return search.title.strip() or str(DEFAULT_TITLES[resource.kind])


def find_free(search: FreeSearch, user: User, *, now: datetime) -> FreeAnswer:
    """The resources free and bookable for `user` at the asked time, best fit first;
    when there are none, the nearest free times."""
    candidates = best_fit(filtered_resources(search.site, search.filters))
    if not candidates:
        start, end = _times(search, search.day, premises.opening_hours_by_weekday(search.site), now)
        return FreeAnswer(search, start, end)
    problems: Counter = Counter()
    with booking.preloaded_checks(search.site, candidates, search.day, search.day, now=now) as loaded:
        hours = loaded.hours
        start, end = _times(search, search.day, hours, now)
        answer = FreeAnswer(search, start, end, candidates=len(candidates))
        length = _length(search, start, end)
        if start is not None and end is not None:
            for resource in candidates:
                if _surely_taken(loaded, resource, search.day, start, end):
                    continue
                check = _check(search, resource, user, search.day, start, end, now)
                if check.ok:
                    answer.free.append(FreeOption(resource, search.day, start, end))
                problems.update(p.message for p in check.problems if p.code in TIME_PROBLEMS)
        if answer.free:
            return answer
        answer.reasons = [message for message, _count in problems.most_common(2)]
        if length:
            answer.earlier, answer.later = _same_day(search, candidates, user, start, length,
                                                     now, loaded)
    if length or search.whole_day:
        answer.other_days = _other_days(search, candidates, user, start, length, hours, now)
    return answer


def _times(search: FreeSearch, day: date, hours, now: datetime) -> tuple[time | None, time | None]:
    """The interval to check: as asked, or the day's opening hours (from now on, today)."""
    if not search.whole_day:
        return search.start_time, search.end_time
    window = hours.get(day.weekday())
    if window is None:
        return None, None
    opens, closes = window
    local_now = now.astimezone(ZoneInfo(search.site.timezone))
    if local_now.date() == day and local_now.time() > opens:
        minutes = -(-(local_now.hour * 60 + local_now.minute + 1) // STEP) * STEP
        opens = time(minutes // 60, minutes % 60) if minutes < 24 * 60 else closes
    return (opens, closes) if opens < closes else (None, None)


def _length(search: FreeSearch, start, end) -> int:
    """The length in minutes to look for at other times (0: none to look for)."""
    if search.whole_day:
        return 0  # other days are whole days of their own opening hours
    if start is None or end is None or end <= start:
        return 0
    return _minutes(end) - _minutes(start)


def _check(search, resource, user, day, start, end, now) -> booking.Check:
    return booking.check_booking(booking.BookingRequest(
        resource=resource, title=default_title(search, resource), first_day=day,
        start_time=start, end_time=end, booked_by=user, attendees=search.people,
    ), now=now)


def _surely_taken(loaded, resource, day, start, end) -> bool:
    """Another booking holds the time: check_booking would say "taken" (its last rule), so the
    full check is skipped. A shortcut only: whatever passes still goes through check_booking."""
    zone = ZoneInfo(resource.site.timezone)
    try:
        starts_at, ends_at = booking.to_utc(day, start, zone), booking.to_utc(day, end, zone)
    except booking.NonexistentLocalTime:
        return False
    return (ends_at > starts_at and loaded.holds(resource.id, starts_at, ends_at)
            and loaded.conflict(resource.id, starts_at, ends_at, None) is not None)


def _first_free(search, candidates, user, day, start, end, now, loaded) -> FreeOption | None:
    for resource in candidates:
        if _surely_taken(loaded, resource, day, start, end):
            continue
        if _check(search, resource, user, day, start, end, now).ok:
            return FreeOption(resource, day, start, end)
    return None


def _minutes(clock: time) -> int:
    return clock.hour * 60 + clock.minute


def _clock(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def _starts(window: tuple[time, time], length: int) -> list[int]:
    first = -(-_minutes(window[0]) // STEP) * STEP
    return list(range(first, _minutes(window[1]) - length + 1, STEP))


def _same_day(search, candidates, user, start: time, length: int, now, loaded):
    """The nearest free times before and after the asked one, on the same day."""
    window = loaded.hours.get(search.day.weekday())
    if window is None or search.day in loaded.closed:
        return [], []
    asked = _minutes(start)
    starts = _starts(window, length)
    found = {"earlier": [], "later": []}
    for name, minutes in (("earlier", [m for m in reversed(starts) if m < asked]),
                          ("later", [m for m in starts if m > asked])):
        for minute in minutes:
            option = _first_free(search, candidates, user, search.day, _clock(minute),
                                 _clock(minute + length), now, loaded)
            if option is not None:
                found[name].append(option)
                if len(found[name]) >= ALTERNATIVES:
                    break
    return found["earlier"][::-1], found["later"]


def _other_days(search, candidates, user, start, length, hours, now) -> list[FreeOption]:
    """The next open days: the same time if free, else the nearest free time that day."""
    first, last = search.day + timedelta(days=1), search.day + timedelta(days=NEXT_DAYS)
    found: list[FreeOption] = []
    with booking.preloaded_checks(search.site, candidates, first, last, now=now) as loaded:
        day = first
        while day <= last and len(found) < OTHER_DAYS:
            window = hours.get(day.weekday())
            if window is not None and day not in loaded.closed:
                option = _free_on(search, candidates, user, day, window, start, length, now, loaded)
                if option is not None:
                    found.append(option)
            day += timedelta(days=1)
    return found


def _free_on(search, candidates, user, day, window, start, length, now, loaded) -> FreeOption | None:
    if search.whole_day:
        opens, closes = _times(search, day, {day.weekday(): window}, now)
        if opens is None:
            return None
        return _first_free(search, candidates, user, day, opens, closes, now, loaded)
    asked = _minutes(start)
    for minute in sorted(_starts(window, length), key=lambda m: (abs(m - asked), m)):
        option = _first_free(search, candidates, user, day, _clock(minute),
                             _clock(minute + length), now, loaded)
        if option is not None:
            return option
    return None


def suggested_time(site: Site | None, now: datetime) -> tuple[date, time, time]:
    """What the search offers before anything is asked: the next full hour while the site is
    open today, else the first hour of its next open day."""
    zone = ZoneInfo(site.timezone) if site is not None else ZoneInfo("Europe/Stockholm")
    local = now.astimezone(zone)
    hours = premises.opening_hours_by_weekday(site) if site is not None else {}
    closed = premises.closed_days(site, local.date(), local.date() + timedelta(days=NEXT_DAYS)) \
        if site is not None else {}
    for offset in range(NEXT_DAYS + 1):
        day = local.date() + timedelta(days=offset)
        window = hours.get(day.weekday())
        if window is None or day in closed:
            continue
        first = -(-_minutes(window[0]) // 60) * 60
        if offset == 0:
            first = max(first, (local.hour + 1) * 60)
        if first + 60 <= _minutes(window[1]):
            return day, _clock(first), _clock(first + 60)
    return local.date(), time(9), time(10)
