"""The rules of allocations: which weeks a pattern covers, who may book, and releasing time.

Plain functions, no request or template, so views, the CLI, tests and benchmarks call them.

Weeks. "Every other week" is ISO week parity, chosen explicitly as odd or even weeks:
that is what people at Drivhuset say ("AF: odd weeks") and what a printed calendar shows.
Parity is not a 14-day cadence: a year with 53 ISO weeks (2026) ends with week 53 (odd)
followed by week 1 (odd), so an odd-weeks allocation applies two weeks running there and
an even-weeks one skips two. Who needs a strict cadence picks "every N weeks" with N = 2:
counted in whole weeks from the week of the first day, unaffected by the year boundary.

Rights (enforced through office.booking.rules.register_rule, so every entry point is covered):
inside an allocation window only staff of the allocation's agency may book, unless the
window is released; outside allocations anyone may book, except on a resource that is
"allocated only", which can be booked only inside the booker's agency's windows or in
released time. A window counts as released when someone released it (an AllocationRelease
row) or when its automatic release moment has passed (the site's ReleasePolicy, default
12:00 on the working day before). `flask --app wsgi release-unclaimed` records those
automatic releases too, so reports and the plan show them; the rule does not depend on it.
"""

from __future__ import annotations

import contextvars
import copy
import enum
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select

from office.accounts.models import Agency, Role, User
from office.allocations.models import (
    AgencyAllocationSettings,
    Allocation,
    AllocationRelease,
    ReleasePolicy,
    Term,
    TermKind,
    WeekPattern,
)
from office.booking import recurrence
from office.booking import rules as booking
from office.booking.models import OccurrenceState, Reservation, ReservationOccurrence
from office.booking.rules import NonexistentLocalTime, Problem, to_utc
from office.core.database import utcnow
from office.core.extensions import db
from office.core.transaction import transaction_memo
from office.premises import calendar_cache
from office.premises import rules as premises
from office.premises.models import Resource, Site

DEFAULT_WORKING_DAYS_BEFORE = 1
DEFAULT_RELEASE_TIME = time(12, 0)
LAST_WEEK_OF_MONTH = "L"


# --- which days a pattern covers ---------------------------------------------

def iso_week(day: date) -> int:
    return day.isocalendar().week


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_applies(allocation: Allocation, day: date) -> bool:
    """Whether the allocation's week pattern includes the week (or week of month) of `day`."""
    pattern = allocation.pattern
    if pattern == WeekPattern.every_week:
        return True
    if pattern == WeekPattern.odd_weeks:
        return iso_week(day) % 2 == 1
    if pattern == WeekPattern.even_weeks:
        return iso_week(day) % 2 == 0
    if pattern == WeekPattern.every_n_weeks:
        weeks = (_monday(day) - _monday(allocation.first_day)).days // 7
        return weeks % max(allocation.interval_weeks or 1, 1) == 0
    if pattern == WeekPattern.weeks_of_month:
        chosen = allocation.weeks_of_month or ""
        return (str(recurrence.week_of_month(day)) in chosen
                or (recurrence.is_last_of_month(day) and LAST_WEEK_OF_MONTH in chosen))
    raise ValueError(f"unknown week pattern {pattern!r}")


def applies_on(allocation: Allocation, day: date) -> bool:
    return (
        allocation.first_day <= day <= allocation.last_day
        and str(day.weekday()) in allocation.weekdays
        and week_applies(allocation, day)
    )


def pattern_days(allocation: Allocation, first: date | None = None,
                 last: date | None = None) -> list[date]:
    """The days the pattern covers between first and last (inclusive), closed days included."""
    day = max(first or allocation.first_day, allocation.first_day)
    end = min(last or allocation.last_day, allocation.last_day)
    days = []
    while day <= end:
        if applies_on(allocation, day):
            days.append(day)
        day += timedelta(days=1)
    return days


def _times_overlap(a: Allocation, b: Allocation) -> bool:
    return a.start_time < b.end_time and b.start_time < a.end_time


def allocations_overlap(a: Allocation, b: Allocation) -> bool:
    """Two allocations of one resource overlap when some day and hour is in both."""
    if a.resource_id != b.resource_id or not _times_overlap(a, b):
        return False
    if not set(a.weekdays) & set(b.weekdays):
        return False
    first, last = max(a.first_day, b.first_day), min(a.last_day, b.last_day)
    return any(applies_on(b, day) for day in pattern_days(a, first, last))


# --- windows: one allocated interval on one day --------------------------------

class WindowState(str, enum.Enum):
    allocated = "allocated"
    released = "released"


@dataclass(frozen=True)
class AllocationWindow:
    """One day's interval of an allocation, in UTC, and whether it is released."""

    allocation: Allocation
    day: date
    starts_at: datetime
    ends_at: datetime
    released: bool
    released_automatically: bool = False

    @property
    def agency(self) -> Agency:
        return self.allocation.agency

    @property
    def resource_id(self) -> int:
        return self.allocation.resource_id

    @property
    def hours(self) -> float:
        return (self.ends_at - self.starts_at).total_seconds() / 3600


def release_policy(site: Site) -> ReleasePolicy:
    """The site's policy, or the default (12:00 the working day before) when none is saved."""
    policy = db.session.get(ReleasePolicy, site.id)
    if policy is None:
        policy = ReleasePolicy(site_id=site.id, working_days_before=DEFAULT_WORKING_DAYS_BEFORE,
                               release_time=DEFAULT_RELEASE_TIME)
    return policy


class AllocationCalendar:
    """Everything needed to answer questions about allocations of some resources of one
    site between two dates, loaded with a few queries (the rule, the plan, the report)."""

    def __init__(self, site: Site, resource_ids, first: date, last: date,
                 now: datetime | None = None, *, allocations: list[Allocation] | None = None):
        self.site = site
        self.zone = ZoneInfo(site.timezone)
        self.first, self.last = first, last
        self.now = now or utcnow()
        ids = list(resource_ids)
        self.resource_ids = frozenset(ids)
        if allocations is None:
            allocations = list(db.session.scalars(
                select(Allocation).where(
                    Allocation.resource_id.in_(ids), Allocation.first_day <= last,
                    Allocation.last_day >= first,
                ).order_by(Allocation.resource_id, Allocation.start_time)
            ))
        self.allocations: list[Allocation] = allocations
        self.releases: dict[tuple[int, date], AllocationRelease] = {}
        if self.allocations:
            rows = db.session.scalars(select(AllocationRelease).where(
                AllocationRelease.allocation_id.in_([a.id for a in self.allocations]),
                AllocationRelease.day.between(first, last),
            ))
            self.releases = {(r.allocation_id, r.day): r for r in rows}
        self.by_resource: dict[int, list[Allocation]] = {}
        for allocation in self.allocations:
            self.by_resource.setdefault(allocation.resource_id, []).append(allocation)

    # Loaded only when some resource has allocations: most booking checks need none of it.
    @cached_property
    def policy(self) -> ReleasePolicy:
        return release_policy(self.site)

    @cached_property
    def closed(self):
        # Closed days back far enough to count the lead time in working days.
        lead = self.policy.working_days_before
        first = self.first - timedelta(days=14 + 3 * lead)
        known = calendar_cache.known_in_transaction(self.site.id)
        if known is None:
            return premises.closed_days(self.site, first, self.last)
        # The booking check read the site's calendar already in this transaction: the same
        # days and reasons as premises.closed_days, without asking the database again.
        return known.closed_between(first, self.last)

    @cached_property
    def open_weekdays(self) -> set[int]:
        known = calendar_cache.known_in_transaction(self.site.id)
        return set(known.hours if known is not None else premises.opening_hours_by_weekday(self.site))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.closed

    def release_moment(self, day: date) -> datetime:
        """When unclaimed allocated time on `day` is released automatically (aware UTC)."""
        moment = day
        remaining = max(self.policy.working_days_before, 0)
        while remaining > 0:
            moment -= timedelta(days=1)
            if self.is_working_day(moment):
                remaining -= 1
        local = datetime.combine(moment, self.policy.release_time).replace(tzinfo=self.zone)
        return local.astimezone(ZoneInfo("UTC"))

    def is_open(self, day: date) -> bool:
        return day not in self.closed and day.weekday() in self.open_weekdays

    def windows_on(self, resource_id: int, day: date) -> list[AllocationWindow]:
        allocations = self.by_resource.get(resource_id)
        if not allocations or not self.is_open(day):
            return []
        windows = []
        for allocation in allocations:
            if not applies_on(allocation, day):
                continue
            try:
                start = to_utc(day, allocation.start_time, self.zone)
                end = to_utc(day, allocation.end_time, self.zone)
            except NonexistentLocalTime:
                continue
            release = self.releases.get((allocation.id, day))
            automatic = release is None and self.now >= self.release_moment(day)
            windows.append(AllocationWindow(
                allocation, day, start, end, released=release is not None or automatic,
                released_automatically=automatic or bool(release and release.automatic),
            ))
        return windows

    def windows(self) -> list[AllocationWindow]:
        found = []
        day = self.first
        while day <= self.last:
            for resource_id in self.by_resource:
                found.extend(self.windows_on(resource_id, day))
            day += timedelta(days=1)
        return found


def allocation_windows(site: Site, resource_ids, first: date, last: date, *,
                       now: datetime | None = None) -> list[AllocationWindow]:
    """Every allocated window of the resources between two local dates (for grids and reports):
    agency, UTC interval and whether it is released (by hand or by the lead time)."""
    return AllocationCalendar(site, resource_ids, first, last, now).windows()


class SlotStateKind(str, enum.Enum):
    free = "free"                # no allocation: anyone may book
    allocated = "allocated"      # held by `agency`: only its staff may book
    released = "released"        # held by `agency` but released: anyone may book
    unavailable = "unavailable"  # an "allocated only" resource outside any allocation


@dataclass(frozen=True)
class SlotState:
    kind: SlotStateKind
    agency: Agency | None = None
    windows: tuple[AllocationWindow, ...] = ()

    def bookable_by(self, agency_id: int) -> bool:
        if self.kind == SlotStateKind.allocated:
            return self.agency is not None and self.agency.id == agency_id
        return self.kind != SlotStateKind.unavailable


def allocation_state(resource: Resource, starts_at: datetime, ends_at: datetime, *,
                     now: datetime | None = None) -> SlotState:
    """The allocation state of resource R in the interval [starts_at, ends_at).

    For the booking grid: `allocated` (to `.agency`, only its staff may book), `released`
    (allocated but given back: bookable by all), `free` (no allocation), or `unavailable`
    (an "allocated only" resource outside any allocation). An unreleased window anywhere in
    the interval makes it `allocated`. For many cells at once use `allocation_windows()`.
    """
    zone = ZoneInfo(resource.site.timezone)
    first, last = starts_at.astimezone(zone).date(), ends_at.astimezone(zone).date()
    calendar = AllocationCalendar(resource.site, [resource.id], first, last, now)
    windows = [w for w in _windows_between(calendar, resource.id, first, last)
               if w.starts_at < ends_at and starts_at < w.ends_at]
    held = [w for w in windows if not w.released]
    if held:
        return SlotState(SlotStateKind.allocated, held[0].agency, tuple(windows))
    if windows:
        if resource.allocated_only and not _covers(windows, starts_at, ends_at):
            return SlotState(SlotStateKind.unavailable, None, tuple(windows))
        return SlotState(SlotStateKind.released, windows[0].agency, tuple(windows))
    if resource.allocated_only:
        return SlotState(SlotStateKind.unavailable)
    return SlotState(SlotStateKind.free)


def _windows_between(calendar: AllocationCalendar, resource_id: int, first: date, last: date):
    day = first
    while day <= last:
        yield from calendar.windows_on(resource_id, day)
        day += timedelta(days=1)


def _covers(windows, start: datetime, end: datetime) -> bool:
    """Whether the windows (disjoint) together cover [start, end)."""
    position = start
    for window in sorted(windows, key=lambda w: w.starts_at):
        if window.starts_at > position:
            break
        position = max(position, window.ends_at)
    return position >= end


# --- the booking rule ----------------------------------------------------------

MESSAGES = {
    "allocated": _l("%(resource)s is allocated to %(agency)s (%(short)s) %(start)s–%(end)s; "
                    "only its staff may book it until the agency releases the time."),
    "allocated_only": _l("%(resource)s can only be booked inside your agency's allocation or "
                         "in released time."),
}


def _local_clock(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def check_allocation_rights(resource: Resource, agency_id: int, starts_at: datetime,
                            ends_at: datetime, day: date | None,
                            calendar: AllocationCalendar) -> Problem | None:
    """Why staff of `agency_id` may not book the resource in [starts_at, ends_at), or None."""
    windows = [w for w in calendar.windows_on(resource.id, day or starts_at.date())
               if w.starts_at < ends_at and starts_at < w.ends_at]
    for window in windows:
        if window.allocation.agency_id != agency_id and not window.released:
            agency = window.agency
            message = str(MESSAGES["allocated"]) % {
                "resource": resource.name, "agency": agency.name, "short": agency.short_name,
                "start": _local_clock(window.starts_at, calendar.zone),
                "end": _local_clock(window.ends_at, calendar.zone),
            }
            return Problem("allocated", message, day)
    if resource.allocated_only and not _covers(windows, starts_at, ends_at):
        return Problem("allocated_only", str(MESSAGES["allocated_only"]) % {
            "resource": resource.name}, day)
    return None


def _allocation_spans():
    allocation, resource = Allocation.__table__.c, Resource.__table__.c
    return (select(allocation.resource_id, allocation.first_day, allocation.last_day)
            .join_from(Allocation.__table__, Resource.__table__,
                       resource.id == allocation.resource_id)
            .where(resource.site_id == bindparam("site_id")))


# Which resources have allocations when: read with the site's calendar, kept per process
# under the calendar token (office/premises/calendar_cache.py; the triggers of migration
# 2000_calendar_version follow the allocation table).
calendar_cache.register_calendar_part("allocations", _allocation_spans, models=(Allocation,))


def _allocated_resources(memo: dict, site_id: int, day: date, first_day: date):
    """(first, last, ids): the site's resources with an allocation between two dates around
    `day`. Most resources have none, and then no allocation needs loading; the spans come
    with the site's calendar, which a booking check has read already."""
    key = ("allocated_resources", site_id)
    known = memo.get(key)
    if known is None or not (known[0] <= day <= known[1]):
        first = min(day, first_day) - timedelta(days=366)
        last = max(day, first_day) + timedelta(days=2 * 366)
        spans = calendar_cache.site_calendar(site_id).parts["allocations"]
        ids = {resource_id for resource_id, starts, ends in spans
               if starts <= last and ends >= first}
        known = memo[key] = (first, last, ids)
    return known


def allocation_rule(request: booking.BookingRequest, slot: booking.Slot) -> Problem | None:
    """The booking rule: registered with office.booking.rules, called for every occurrence."""
    if slot.starts_at is None:
        return None
    resource = request.resource
    now = booking.rule_now()
    shared = _SHARED_CALENDAR.get()
    if (shared is not None and shared.now == now and resource.id in shared.resource_ids
            and shared.first <= slot.day <= shared.last):
        return check_allocation_rights(resource, request.person.agency_id, slot.starts_at,
                                       slot.ends_at, slot.day, shared)
    # One calendar per resource and transaction (a series checks up to hundreds of days,
    # a search checks many times): `now` only decides automatic releases, not what is read.
    memo = transaction_memo()
    key = ("allocation_calendar", resource.id)
    calendar = memo.get(key)
    if calendar is None or not (calendar.first <= slot.day <= calendar.last):
        first, last, allocated = _allocated_resources(memo, resource.site_id, slot.day,
                                                      request.first_day)
        if resource.id not in allocated and not resource.allocated_only:
            return None  # no allocation around the day: anyone may book (most checks)
        calendar = memo[key] = AllocationCalendar(
            resource.site, [resource.id], first, last, now,
            allocations=None if resource.id in allocated else [])
    elif calendar.now != now:
        calendar = copy.copy(calendar)
        calendar.now = now
    return check_allocation_rights(resource, request.person.agency_id, slot.starts_at,
                                   slot.ends_at, slot.day, calendar)


_SHARED_CALENDAR: contextvars.ContextVar[AllocationCalendar | None] = contextvars.ContextVar(
    "samlokal_shared_allocation_calendar", default=None)


@contextmanager
def shared_calendar(site: Site, resource_ids, first: date, last: date, now: datetime):
    """One calendar for many checks of many resources (office.booking.rules.preloaded_checks)."""
    token = _SHARED_CALENDAR.set(AllocationCalendar(site, resource_ids, first, last, now))
    try:
        yield
    finally:
        _SHARED_CALENDAR.reset(token)


booking.register_rule(allocation_rule, preload=shared_calendar)


# --- creating allocations --------------------------------------------------------

class AllocationRefused(Exception):
    """Bad input or a clash with another allocation (HTTP 422 / 409)."""

    def __init__(self, messages: list[str], clashes: list[Allocation] | None = None,
                 status: int = 422):
        super().__init__("; ".join(messages))
        self.messages = messages
        self.clashes = clashes or []
        self.status = status


class BookingsCovered(Exception):
    """The new allocation covers bookings by others: the coordinator must choose (HTTP 409)."""

    status = 409

    def __init__(self, occurrences: list[ReservationOccurrence]):
        super().__init__(f"{len(occurrences)} bookings covered")
        self.occurrences = occurrences


class CoveredChoice(str, enum.Enum):
    keep = "keep"      # the bookings stay; the agency's window has them as holes
    cancel = "cancel"  # the bookings are cancelled through office.booking.rules


@dataclass
class AllocationSpec:
    """What the coordinator asks for; one Allocation per resource is made from it."""

    agency: Agency
    resources: list[Resource]
    weekdays: list[int]
    start_time: time
    end_time: time
    first_day: date
    last_day: date
    pattern: WeekPattern = WeekPattern.every_week
    interval_weeks: int = 1
    weeks_of_month: str = ""
    term: Term | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    def build(self, actor: User | None) -> list[Allocation]:
        return [
            Allocation(
                resource=resource, resource_id=resource.id, agency=self.agency,
                agency_id=self.agency.id, term=self.term,
                weekdays="".join(str(d) for d in sorted(set(self.weekdays))),
                start_time=self.start_time, end_time=self.end_time, first_day=self.first_day,
                last_day=self.last_day, pattern=self.pattern,
                interval_weeks=self.interval_weeks if self.pattern == WeekPattern.every_n_weeks else 1,
                weeks_of_month=self.weeks_of_month if self.pattern == WeekPattern.weeks_of_month else "",
                note=self.note.strip(), created_by_id=actor.id if actor else None,
            )
            for resource in self.resources
        ]


def validate_spec(spec: AllocationSpec) -> list[str]:
    problems = []
    if not spec.resources:
        problems.append(str(_l("Choose at least one room or desk.")))
    if not spec.weekdays:
        problems.append(str(_l("Choose at least one weekday.")))
    if spec.end_time <= spec.start_time:
        problems.append(str(_l("The end must be after the start.")))
    if spec.last_day < spec.first_day:
        problems.append(str(_l("The last day must not be before the first day.")))
    if spec.pattern == WeekPattern.every_n_weeks and not 1 <= (spec.interval_weeks or 0) <= 52:
        problems.append(str(_l("Every N weeks needs N between 1 and 52.")))
    if spec.pattern == WeekPattern.weeks_of_month and not spec.weeks_of_month:
        problems.append(str(_l("Choose which weeks of the month.")))
    if len({r.site_id for r in spec.resources}) > 1:
        problems.append(str(_l("Choose rooms and desks of one site at a time.")))
    return problems


def _lock_resources(resources) -> None:
    # PostgreSQL: two coordinators allocating the same resource at once wait for each other
    # here, so the clash check below sees the other's allocation. SQLite's BEGIN IMMEDIATE
    # already serialises writers.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Resource.id).where(
            Resource.id.in_([r.id for r in resources])).with_for_update())


def find_allocation_clashes(candidate: Allocation, ignore_id: int | None = None) -> list[Allocation]:
    """Saved allocations of the same resource that overlap the candidate."""
    query = select(Allocation).where(
        Allocation.resource_id == candidate.resource_id,
        Allocation.first_day <= candidate.last_day, Allocation.last_day >= candidate.first_day,
        Allocation.start_time < candidate.end_time, Allocation.end_time > candidate.start_time,
    )
    if ignore_id is not None:
        query = query.where(Allocation.id != ignore_id)
    return [other for other in db.session.scalars(query)
            if allocations_overlap(candidate, other)]


def covered_bookings(candidate: Allocation) -> list[ReservationOccurrence]:
    """Active bookings by other agencies (from now on) inside the candidate's windows."""
    resource = candidate.resource
    zone = ZoneInfo(resource.site.timezone)
    start = to_utc(candidate.first_day, time(0, 0), zone)
    end = to_utc(candidate.last_day + timedelta(days=1), time(0, 0), zone)
    rows = db.session.scalars(
        select(ReservationOccurrence).join(ReservationOccurrence.reservation).where(
            ReservationOccurrence.resource_id == resource.id,
            ReservationOccurrence.state == OccurrenceState.active,
            ReservationOccurrence.starts_at < end, ReservationOccurrence.ends_at > start,
            ReservationOccurrence.ends_at > utcnow(),
            (Reservation.agency_id != candidate.agency_id) | Reservation.agency_id.is_(None),
        ).order_by(ReservationOccurrence.starts_at)
    )
    covered = []
    for occurrence in rows:
        day = occurrence.starts_at.astimezone(zone).date()
        if not applies_on(candidate, day):
            continue
        try:
            w_start = to_utc(day, candidate.start_time, zone)
            w_end = to_utc(day, candidate.end_time, zone)
        except NonexistentLocalTime:
            continue
        if occurrence.starts_at < w_end and w_start < occurrence.ends_at:
            covered.append(occurrence)
    return covered


def create_allocations(spec: AllocationSpec, actor: User,
                       choice: CoveredChoice | None = None) -> list[Allocation]:
    """Check one allocation per resource and add them to the current transaction.

    Raises AllocationRefused (bad input, or a clash listing the clashing allocations) and
    BookingsCovered when bookings by others lie inside and no choice was made. With
    CoveredChoice.cancel the covered bookings are cancelled in the same transaction: the
    allocations and the cancellations are saved together or not at all.
    """
    problems = validate_spec(spec)
    if problems:
        raise AllocationRefused(problems)
    _lock_resources(spec.resources)
    candidates = spec.build(actor)
    clashes = [c for candidate in candidates for c in find_allocation_clashes(candidate)]
    if clashes:
        raise AllocationRefused([describe_clash(c) for c in clashes], clashes, status=409)
    covered = [o for candidate in candidates for o in covered_bookings(candidate)]
    if covered and choice is None:
        raise BookingsCovered(covered)
    db.session.add_all(candidates)
    db.session.flush()
    for allocation in candidates:
        booking.audit(actor, "allocate", allocation,
                      f"resource={allocation.resource_id} agency={allocation.agency_id}")
    if covered and choice == CoveredChoice.cancel:
        for occurrence in covered:
            booking.cancel_occurrence(occurrence, actor)
    return candidates


def describe_clash(other: Allocation) -> str:
    return str(_l("Clashes with %(resource)s: %(agency)s, %(days)s %(start)s–%(end)s, "
                  "%(first)s–%(last)s.")) % {
        "resource": other.resource.name, "agency": other.agency.short_name,
        "days": weekday_list(other), "start": other.start_time.strftime("%H:%M"),
        "end": other.end_time.strftime("%H:%M"), "first": other.first_day.isoformat(),
        "last": other.last_day.isoformat(),
    }


WEEKDAY_SHORT = [_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun")]


def weekday_list(allocation: Allocation) -> str:
    return ", ".join(str(WEEKDAY_SHORT[d]) for d in allocation.weekday_numbers)


def delete_allocation(allocation: Allocation, actor: User) -> None:
    booking.audit(actor, "delete_allocation", allocation, f"resource={allocation.resource_id}")
    db.session.delete(allocation)


# --- releasing -------------------------------------------------------------------

def staff_may_release(agency_id: int) -> bool:
    settings = db.session.get(AgencyAllocationSettings, agency_id)
    return bool(settings and settings.staff_may_release)


def set_staff_may_release(agency: Agency, allowed: bool) -> None:
    settings = db.session.get(AgencyAllocationSettings, agency.id)
    if settings is None:
        settings = AgencyAllocationSettings(agency_id=agency.id)
        db.session.add(settings)
    settings.staff_may_release = allowed


def can_release(user: User, allocation: Allocation) -> bool:
    """Agency admins of the agency and the coordinator; staff when their agency allows it."""
    if user.can_manage_agency(allocation.agency_id):
        return True
    return (user.role == Role.staff and user.agency_id == allocation.agency_id
            and staff_may_release(allocation.agency_id))


class ReleaseRefused(Exception):
    status = 422


def _insert_releases(rows: list[dict]) -> int:
    """Insert releases, skipping days already released (the unique constraint decides)."""
    if not rows:
        return 0
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(AllocationRelease).values(rows).on_conflict_do_nothing(
        index_elements=["allocation_id", "day"]).returning(AllocationRelease.id)
    return len(db.session.execute(statement).all())


def release_allocation(allocation: Allocation, actor: User, first_day: date,
                       last_day: date | None = None, *, now: datetime | None = None) -> int:
    """Release the allocation's windows from first_day to last_day (one day when omitted).

    Returns how many days were newly released; days already released are left as they are.
    """
    if not can_release(actor, allocation):
        raise PermissionError
    last_day = last_day or first_day
    if last_day < first_day:
        raise ReleaseRefused(str(_l("The last day must not be before the first day.")))
    now = now or utcnow()
    zone = ZoneInfo(allocation.resource.site.timezone)
    today = now.astimezone(zone).date()
    days = [d for d in pattern_days(allocation, max(first_day, today), last_day)]
    if not days:
        raise ReleaseRefused(str(_l("The allocation has no time to release on these days.")))
    count = _insert_releases([
        {"allocation_id": allocation.id, "day": d, "automatic": False,
         "released_by_id": actor.id, "released_at": now} for d in days
    ])
    booking.audit(actor, "release_allocation", allocation,
                  f"from={days[0].isoformat()} to={days[-1].isoformat()} days={count}")
    return count


def release_unclaimed(now: datetime | None = None) -> int:
    """Record the automatic releases whose moment has passed (for windows still ahead).

    Idempotent and safe on two machines at once: allocations are taken with
    FOR UPDATE SKIP LOCKED on PostgreSQL (a second runner skips what the first holds until
    the caller's unit of work commits) and the (allocation, day) unique constraint drops any
    release recorded twice.
    """
    now = now or utcnow()
    total = 0
    sites = db.session.scalars(select(Site).order_by(Site.id)).all()
    for site in sites:
        zone = ZoneInfo(site.timezone)
        today = now.astimezone(zone).date()
        policy = release_policy(site)
        horizon = today + timedelta(days=7 + 3 * policy.working_days_before)
        ids = db.session.scalars(
            select(Allocation.id).join(Allocation.resource).where(
                Resource.site_id == site.id, Allocation.first_day <= horizon,
                Allocation.last_day >= today,
            ).order_by(Allocation.id).with_for_update(skip_locked=True, of=Allocation)
        ).all()
        if not ids:
            continue
        calendar = AllocationCalendar(site, [], today, horizon, now)
        calendar.allocations = list(db.session.scalars(
            select(Allocation).where(Allocation.id.in_(ids))))
        calendar.by_resource = {}
        for allocation in calendar.allocations:
            calendar.by_resource.setdefault(allocation.resource_id, []).append(allocation)
        calendar.releases = {(r.allocation_id, r.day): r for r in db.session.scalars(
            select(AllocationRelease).where(AllocationRelease.allocation_id.in_(ids),
                                            AllocationRelease.day.between(today, horizon)))}
        rows = []
        for window in calendar.windows():
            if window.ends_at <= now or not window.released_automatically:
                continue
            if (window.allocation.id, window.day) in calendar.releases:
                continue
            if _claimed(window):
                continue
            rows.append({"allocation_id": window.allocation.id, "day": window.day,
                         "automatic": True, "released_by_id": None, "released_at": now})
        total += _insert_releases(rows)
    return total


def _claimed(window: AllocationWindow) -> bool:
    """Whether the agency's own bookings fill the whole window (nothing left to release)."""
    rows = db.session.execute(
        select(ReservationOccurrence.starts_at, ReservationOccurrence.ends_at)
        .join(ReservationOccurrence.reservation).where(
            ReservationOccurrence.resource_id == window.resource_id,
            ReservationOccurrence.state == OccurrenceState.active,
            ReservationOccurrence.starts_at < window.ends_at,
            ReservationOccurrence.ends_at > window.starts_at,
            Reservation.agency_id == window.allocation.agency_id,
        ).order_by(ReservationOccurrence.starts_at)
    ).all()
    position = window.starts_at
    for start, end in rows:
        if start > position:
            return False
        position = max(position, end)
    return position >= window.ends_at


# --- terms -------------------------------------------------------------------------

def default_term_dates(year: int, kind: TermKind) -> tuple[date, date]:
    if kind == TermKind.spring:
        return date(year, 1, 1), date(year, 6, 30)
    return date(year, 8, 1), date(year, 12, 31)


def ensure_terms(year: int) -> list[Term]:
    """The spring and autumn terms of a year, created with the default dates if missing."""
    terms = []
    for kind in TermKind:
        term = db.session.scalar(select(Term).where(Term.year == year, Term.kind == kind))
        if term is None:
            first, last = default_term_dates(year, kind)
            term = Term(year=year, kind=kind, first_day=first, last_day=last)
            db.session.add(term)
        terms.append(term)
    db.session.flush()
    return terms


def term_name(term: Term) -> str:
    if term.kind == TermKind.spring:
        return str(_l("Spring term %(year)d", year=term.year))
    return str(_l("Autumn term %(year)d", year=term.year))


def term_containing(day: date) -> Term | None:
    return db.session.scalar(select(Term).where(Term.first_day <= day, Term.last_day >= day))


def next_term(term: Term) -> Term:
    """The term after this one (created with default dates if missing)."""
    if term.kind == TermKind.spring:
        return ensure_terms(term.year)[1]
    return ensure_terms(term.year + 1)[0]


@dataclass
class CopyResult:
    created: list[Allocation]
    skipped: list[tuple[Allocation, list[Allocation]]]  # (source, clashes in target term)


def copy_term_plan(source: Term, target: Term, actor: User) -> CopyResult:
    """Copy every allocation of a term into another, same weekdays, times and pattern.

    An allocation that would clash with one already in the target term is skipped and
    reported; odd/even week patterns stay odd/even (ISO parity needs no shifting).
    """
    sources = db.session.scalars(
        select(Allocation).where(Allocation.term_id == source.id).order_by(Allocation.id)).all()
    result = CopyResult([], [])
    for original in sources:
        copy = Allocation(
            resource=original.resource, resource_id=original.resource_id,
            agency=original.agency, agency_id=original.agency_id, term=target,
            weekdays=original.weekdays, start_time=original.start_time,
            end_time=original.end_time, first_day=target.first_day, last_day=target.last_day,
            pattern=original.pattern, interval_weeks=original.interval_weeks,
            weeks_of_month=original.weeks_of_month, note=original.note,
            created_by_id=actor.id,
        )
        clashes = find_allocation_clashes(copy) + [
            c for c in result.created if allocations_overlap(copy, c)]
        if clashes:
            result.skipped.append((original, clashes))
            continue
        db.session.add(copy)
        db.session.flush()
        result.created.append(copy)
    booking.audit(actor, "copy_term_plan", target,
                  f"from_term={source.id} created={len(result.created)} skipped={len(result.skipped)}")
    return result
