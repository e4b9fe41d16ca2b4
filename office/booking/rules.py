"""The booking rules: one place that every entry point calls (forms, htmx, CLI, features).

Plain functions, no request or template: `check_booking()` says what is wrong, date by
date; `book()` checks and adds the booking to the caller's transaction or raises; `cancel_*`
and `change_*` edit occurrences of a series. None of them commits: the request, command or
job that calls them owns the transaction (office/core/transaction.py), so a feature can book
and do more in one all-or-nothing step. Later features add rules with `register_rule()`
(the allocations of space among agencies plug in here).

Time: a reservation is a local wall-clock rule (first day, start/end time, zone and an
RFC 5545 RRULE expanded with dateutil). Each occurrence becomes an aware UTC interval,
half-open [start, end). A series keeps its wall-clock time across daylight-saving
changes: 09:00 stays 09:00. A local time that does not exist (the spring-forward gap,
e.g. 2026-03-29 02:30 in Stockholm) is refused; an ambiguous one (the autumn repeat,
e.g. 2026-10-25 02:30) means the first of the two, summer time (Python's fold=0).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from operator import itemgetter
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from flask import current_app
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, bindparam, cast, select, text
from sqlalchemy.exc import DBAPIError

from office.accounts.models import Role, User
from office.booking import recurrence
from office.booking.models import (
    AuditEntry,
    OccurrenceState,
    Reservation,
    ReservationKind,
    ReservationOccurrence,
)
from office.core import clock
from office.core.database import UTCDateTime, utcnow
from office.core.extensions import db
from office.core.observability import register_counter
from office.core.transaction import conflicts_become, read_connection
from office.premises import calendar_cache
from office.premises.models import Resource, ResourceKind

UTC = timezone.utc
BOOKING_CONFLICTS = register_counter(
    "samlokal_booking_conflicts", "Bookings refused because another booking holds the time: "
    "taken (seen as booked) or just_taken (someone else won a race).", ["reason"])


# --- problems ---------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """One reason a booking (or one occurrence of a series) cannot be made."""

    code: str
    message: str
    day: date | None = None

    def __str__(self) -> str:
        if self.day is None:
            return self.message
        return f"{format_date(self.day, 'EEEE d MMMM y')}: {self.message}"


class BookingRefused(Exception):
    """Bad input or a broken rule (HTTP 422)."""

    status = 422

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.code for p in problems))
        self.problems = problems


class BookingConflict(BookingRefused):
    """Someone else got there first (HTTP 409)."""

    status = 409

    def __init__(self, problems: list[Problem]):
        super().__init__(problems)
        # Every 409 of a booking is made here (rule check or the database's constraint).
        BOOKING_CONFLICTS.labels(_conflict_reason(problems)).inc()


def _conflict_reason(problems: list[Problem]) -> str:
    return "just_taken" if any(p.code == "just_taken" for p in problems) else "taken"


MESSAGES = {
    "end_before_start": _l("The end must be after the start."),
    "nonexistent_time": _l("This time does not exist: the clocks jump forward an hour that night."),
    "closed_day": _l("The site is closed this day (%(reason)s)."),
    "outside_hours": _l("Outside the opening hours (%(opens)s–%(closes)s)."),
    "in_past": _l("The time has already passed."),
    "over_capacity": _l("%(resource)s holds at most %(capacity)d people."),
    "too_long": _l("A booking of this resource may last at most %(hours)d hours."),
    "beyond_horizon": _l("Bookings can be made at most %(days)d days ahead."),
    "inactive_resource": _l("This resource cannot be booked at the moment."),
    "taken": _l("The resource is already booked %(start)s–%(end)s."),
    "just_taken": _l("Someone else just booked this time. Choose another time."),
    "too_many": _l("A series may have at most %(count)d occurrences."),
    "no_occurrences": _l("The repeat rule gives no dates."),
    "bad_rule": _l("The repeat rule could not be understood."),
    "empty_title": _l("Give the booking a title."),
    "bad_attendees": _l("The number of attendees must be at least 1."),
}


def problem(code: str, day: date | None = None, **params) -> Problem:
    return Problem(code, str(MESSAGES[code]) % params if params else str(MESSAGES[code]), day)


CLASHES = frozenset({"taken", "just_taken"})


def refusal(problems: list[Problem]) -> BookingRefused:
    """409 when the only trouble is other bookings (someone got there first), else 422."""
    if problems and all(p.code in CLASHES for p in problems):
        return BookingConflict(problems)
    return BookingRefused(problems)


# --- policy -----------------------------------------------------------------

def max_length(kind: ResourceKind) -> timedelta:
    hours = current_app.config.get("BOOKING_MAX_HOURS", {}).get(kind.value, 10)
    return timedelta(hours=hours)


def longest_allowed() -> timedelta:
    """The bound for the overlap probe: no occurrence is longer than this."""
    hours = current_app.config.get("BOOKING_MAX_HOURS", {}).values()
    return timedelta(hours=max(hours, default=10))


def earliest_start(start: datetime) -> datetime:
    """The earliest start of an occurrence that can still run at `start` (the probe's lower
    bound): `start - longest_allowed()`, or the first moment there is for a start in the
    first hours of year 1 (refused later, but probed first, and not a 500 before that)."""
    longest = longest_allowed()
    first = datetime.min.replace(tzinfo=start.tzinfo)
    return start - longest if start - first > longest else first


def horizon_days(user: User | None) -> int:
    config = current_app.config
    if user is not None and user.role == Role.coordinator:
        return config.get("BOOKING_HORIZON_DAYS_COORDINATOR", 730)
    return config.get("BOOKING_HORIZON_DAYS", 365)


MAX_OCCURRENCES = 520


# --- time -------------------------------------------------------------------

class NonexistentLocalTime(ValueError):
    pass


def to_utc(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """Local wall-clock time to aware UTC; refuses times in the spring-forward gap."""
    local = datetime.combine(day, clock).replace(tzinfo=zone, fold=0)
    round_trip = local.astimezone(UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != local.replace(tzinfo=None):
        raise NonexistentLocalTime(local.isoformat())
    return local.astimezone(UTC)


@dataclass(frozen=True)
class Slot:
    """One occurrence to be: its local day and its UTC interval."""

    day: date
    starts_at: datetime | None  # None when the local time does not exist
    ends_at: datetime | None


def expand_days(first_day: date, rule: str | None, limit: int = MAX_OCCURRENCES + 1) -> list[date]:
    """The local days of a rule (RFC 5545 RRULE without DTSTART), dateutil does the maths."""
    if rule is None:
        return [first_day]
    start = datetime.combine(first_day, time(0, 0))
    days = []
    for moment in rrulestr(rule, dtstart=start, forceset=False, cache=False):
        days.append(moment.date())
        if len(days) >= limit:
            break
    return days


def slots_for(first_day: date, start_time: time, end_time: time, zone_name: str,
              rule: str | None) -> list[Slot]:
    zone = ZoneInfo(zone_name)
    slots = []
    for day in expand_days(first_day, rule):
        try:
            slots.append(Slot(day, to_utc(day, start_time, zone), to_utc(day, end_time, zone)))
        except NonexistentLocalTime:
            slots.append(Slot(day, None, None))
    return slots


# --- the request --------------------------------------------------------------

@dataclass
class BookingRequest:
    resource: Resource
    title: str
    first_day: date
    start_time: time
    end_time: time
    booked_by: User
    attendees: int = 1
    booked_for: User | None = None
    rrule: str | None = None
    kind: ReservationKind = ReservationKind.booking
    # Occurrences of this reservation do not clash with the request (when changing it).
    replacing: Reservation | None = None
    skip_days: frozenset[date] = field(default_factory=frozenset)
    # When the person saw the time as free (the form's render time): a clash with a
    # booking made after it is "just taken" (someone got there first), not "taken".
    seen_at: datetime | None = None
    # False: the booker only answers the rules and the reservation names nobody (a walk-in
    # booking at a door screen, office/doorscreens/rules.py).
    on_record: bool = True

    @property
    def person(self) -> User:
        return self.booked_for or self.booked_by


@dataclass
class Check:
    """The outcome of checking a request: the slots and what is wrong with which."""

    slots: list[Slot]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad_days(self) -> set[date]:
        return {p.day for p in self.problems if p.day is not None}

    @property
    def general_problems(self) -> list[Problem]:
        return [p for p in self.problems if p.day is None]

    @property
    def bookable_slots(self) -> list[Slot]:
        bad = self.bad_days
        return [s for s in self.slots if s.day not in bad]


# A rule gets the request and one slot and returns a Problem or None.
Rule = Callable[[BookingRequest, Slot], "Problem | None"]
_EXTRA_RULES: list[Rule] = []
Preloader = Callable[..., "contextlib.AbstractContextManager"]
_PRELOADERS: list[Preloader] = []


_RULE_NOW: contextvars.ContextVar[datetime | None] = contextvars.ContextVar(
    "samlokal_rule_now", default=None
)


def rule_now() -> datetime:
    """The `now` of the check in progress, for rules that depend on time (auto-release)."""
    return _RULE_NOW.get() or clock.now()


def register_rule(rule: Rule, *, preload: Preloader | None = None) -> Rule:
    """Add a rule that every booking must pass (e.g. allocations). Usable as a decorator.

    `preload(site, resource_ids, first_day, last_day, now)` is a context manager that loads
    what the rule reads for many checks at once (see `preloaded_checks`).
    """
    if rule not in _EXTRA_RULES:
        _EXTRA_RULES.append(rule)
        if preload is not None:
            _PRELOADERS.append(preload)
    return rule


def _overlap_query(resource_id: int, start: datetime, end: datetime, ignore_reservation_id):
    # Bounded by the longest allowed booking, the probe reads only nearby rows of the
    # (resource_id, starts_at) index instead of every earlier booking of the resource.
    # The cast keeps PostgreSQL on the index when psycopg would send a smallint.
    occurrence = ReservationOccurrence
    query = select(occurrence.starts_at, occurrence.ends_at, occurrence.reservation_id,
                   occurrence.updated_at).where(
        occurrence.resource_id == cast(resource_id, Integer),
        occurrence.state == OccurrenceState.active,
        occurrence.starts_at < end,
        occurrence.starts_at > earliest_start(start),
        occurrence.ends_at > start,
    )
    if ignore_reservation_id is not None:
        query = query.where(occurrence.reservation_id != ignore_reservation_id)
    return query.limit(1)


# The same probe as a Core statement built once: the ORM's per-call compile and row
# handling cost several times the indexed read itself (docs/performance.md).
_OCCURRENCES = ReservationOccurrence.__table__


def _build_probe(ignoring: bool):
    columns = _OCCURRENCES.c
    query = select(columns.starts_at, columns.ends_at, columns.reservation_id,
                   columns.updated_at).where(
        columns.resource_id == cast(bindparam("resource_id", type_=Integer), Integer),
        columns.state == OccurrenceState.active.value,
        columns.starts_at < bindparam("end"),
        columns.starts_at > bindparam("earliest"),
        columns.ends_at > bindparam("start"),
    )
    if ignoring:
        query = query.where(columns.reservation_id != bindparam("ignore", type_=Integer))
    return query.limit(1)


_PROBE = {False: _build_probe(False), True: _build_probe(True)}


def _probe_with_token_sql(dialect: str, ignoring: bool) -> str:
    # One row: the calendar token, and the probe's columns (NULL when nothing clashes).
    mark, cast_integer = ("?", "") if dialect == "sqlite" else ("%s", "::integer")
    probe = (f"SELECT starts_at, ends_at, reservation_id, updated_at FROM reservation_occurrence "
             f"WHERE resource_id = {mark}{cast_integer} AND state = 'active' "
             f"AND starts_at < {mark} AND starts_at > {mark} AND ends_at > {mark}"
             + (f" AND reservation_id != {mark}" if ignoring else "") + " LIMIT 1")
    return ("SELECT (SELECT token FROM calendar_version WHERE id = 1), p.starts_at, p.ends_at, "
            f"p.reservation_id, p.updated_at FROM (SELECT 1 AS one) AS one "
            f"LEFT OUTER JOIN ({probe}) AS p ON 1 = 1")


_PROBE_WITH_TOKEN = {(dialect, ignoring): _probe_with_token_sql(dialect, ignoring)
                     for dialect in ("sqlite", "postgresql") for ignoring in (False, True)}


def _probe_with_token(resource_id: int, start: datetime, end: datetime, ignore: int | None):
    """(calendar token, first clash or None): `find_conflict` and the calendar token in one
    statement, on the session connection's DB-API cursor (this is the whole database work
    of a check whose calendar is known; SQLAlchemy's per-statement work cost more than the
    read itself)."""
    connection = read_connection()
    dialect = connection.dialect
    sql = _PROBE_WITH_TOKEN[(dialect.name, ignore is not None)]
    earliest = earliest_start(start)
    if dialect.name == "sqlite":
        params = [resource_id, _sqlite_text(end), _sqlite_text(earliest), _sqlite_text(start)]
    else:
        params = [resource_id, end, earliest, start]
    if ignore is not None:
        params.append(ignore)
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, params)
        token, starts, ends, reservation, updated = cursor.fetchone()
    except dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(sql, params, error, dialect.loaded_dbapi.Error,
                                  dialect=dialect) from error
    finally:
        cursor.close()
    if starts is None:
        return token, None
    if dialect.name == "sqlite":
        starts, ends, updated = _sqlite_moment(starts), _sqlite_moment(ends), _sqlite_moment(updated)
    return token, _ConflictRow((0, starts, ends, reservation, updated))


def find_conflict(resource_id: int, start: datetime, end: datetime,
                  ignore_reservation_id: int | None = None):
    """The first active occurrence of the resource overlapping [start, end), or None."""
    loaded = _PRELOADED.get()
    if loaded is not None and loaded.holds(resource_id, start, end):
        return loaded.conflict(resource_id, start, end, ignore_reservation_id)
    params = {"resource_id": resource_id, "start": start, "end": end,
              "earliest": earliest_start(start)}
    if ignore_reservation_id is not None:
        params["ignore"] = ignore_reservation_id
    return read_connection().execute(_PROBE[ignore_reservation_id is not None], params).first()


def find_conflicts(resource_id: int, intervals: list[tuple[datetime, datetime]],
                   ignore_reservation_id: int | None = None) -> dict[int, object]:
    """For each interval (by position) that overlaps an active occurrence of the resource,
    the first such occurrence: one statement for all of them (a series' 52 weeks are one
    round trip, not 52). Same bounded condition as `find_conflict`."""
    if not intervals:
        return {}
    loaded = _PRELOADED.get()
    if loaded is not None and all(loaded.holds(resource_id, start, end) for start, end in intervals):
        found = {n: loaded.conflict(resource_id, start, end, ignore_reservation_id)
                 for n, (start, end) in enumerate(intervals)}
        return {n: row for n, row in found.items() if row is not None}
    if len(intervals) == 1:
        clash = find_conflict(resource_id, *intervals[0], ignore_reservation_id)
        return {0: clash} if clash is not None else {}
    connection = read_connection()
    longest = longest_allowed()
    if connection.dialect.name == "postgresql":
        rows = _conflicts_postgresql(connection, resource_id, intervals, longest,
                                     ignore_reservation_id)
    else:
        rows = _conflicts_sqlite(connection, resource_id, intervals, longest,
                                 ignore_reservation_id)
    found: dict[int, object] = {}
    for row in rows:  # ordered by slot, then start: the first is what find_conflict finds
        found.setdefault(row.n, row)
    return found


_CONFLICTS_PG = text(
    "SELECT s.n - 1 AS n, o.starts_at, o.ends_at, o.reservation_id, o.updated_at "
    "FROM unnest(CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[])) "
    "WITH ORDINALITY AS s(starts_at, ends_at, n) "
    "JOIN reservation_occurrence o ON o.resource_id = CAST(:resource_id AS integer) "
    "AND o.state = 'active' AND o.starts_at < s.ends_at "
    "AND o.starts_at > s.starts_at - CAST(:longest AS interval) AND o.ends_at > s.starts_at "
    "AND o.reservation_id IS DISTINCT FROM CAST(:ignore AS integer) "
    "ORDER BY s.n, o.starts_at"
).columns(n=Integer, starts_at=UTCDateTime, ends_at=UTCDateTime, reservation_id=Integer,
          updated_at=UTCDateTime)


def _conflicts_postgresql(connection, resource_id, intervals, longest, ignore):
    return connection.execute(_CONFLICTS_PG, {
        "starts": [start for start, _ in intervals], "ends": [end for _, end in intervals],
        "resource_id": resource_id, "longest": longest, "ignore": ignore,
    }).all()


class _ConflictRow(tuple):
    n = property(lambda self: self[0])
    starts_at = property(lambda self: self[1])
    ends_at = property(lambda self: self[2])
    reservation_id = property(lambda self: self[3])
    updated_at = property(lambda self: self[4])


def _sqlite_text(moment: datetime) -> str:
    # How SQLAlchemy stores a DateTime in SQLite (naive UTC, microseconds), so text
    # comparison orders as the timestamps do.
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_moment(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _conflicts_sqlite(connection, resource_id, intervals, longest, ignore):
    # A VALUES list of the slots joined to the occurrences: each slot is an index search
    # of ix_occurrence_resource_start, all in one statement.
    values = ", ".join(["(?, ?, ?, ?)"] * len(intervals))
    params: list = []
    for n, (start, end) in enumerate(intervals):
        params += [n, _sqlite_text(start), _sqlite_text(end), _sqlite_text(start - longest)]
    params.append(resource_id)
    ignoring = ""
    if ignore is not None:
        ignoring = " AND o.reservation_id != ?"
        params.append(ignore)
    sql = (
        f"WITH s(n, starts_at, ends_at, earliest) AS (VALUES {values}) "
        "SELECT s.n, o.starts_at, o.ends_at, o.reservation_id, o.updated_at "
        "FROM s JOIN reservation_occurrence o ON o.resource_id = ? AND o.state = 'active' "
        "AND o.starts_at < s.ends_at AND o.starts_at > s.earliest AND o.ends_at > s.starts_at"
        f"{ignoring} ORDER BY s.n, o.starts_at"
    )
    return [
        _ConflictRow((n, _sqlite_moment(start), _sqlite_moment(end), reservation, _sqlite_moment(updated)))
        for n, start, end, reservation, updated in connection.exec_driver_sql(sql, tuple(params))
    ]


def _site_calendar(request: BookingRequest, slots: list[Slot]):
    """The site's calendar (closures, opening hours, allocated resources) and, for a check
    with one slot to probe, the probe's answer (slot, clash) read in the same statement as
    the calendar token: a process that knows the calendar of that token needs nothing else
    from the database (office/premises/calendar_cache.py). A series probes all its slots
    in one statement later (`find_conflicts`)."""
    resource = request.resource
    calendar = calendar_cache.known_in_transaction(resource.site_id)
    timed = [s for s in slots if s.starts_at is not None]
    if (len(timed) != 1 or _PRELOADED.get() is not None
            or db.engine.dialect.name not in ("sqlite", "postgresql")):
        return calendar or calendar_cache.site_calendar(resource.site_id), None
    slot = timed[0]
    ignore = request.replacing.id if request.replacing is not None else None
    token, clash = _probe_with_token(resource.id, slot.starts_at, slot.ends_at, ignore)
    if calendar is None:  # (a transaction that wrote the calendar reads its own)
        calendar = calendar_cache.site_calendar(resource.site_id, token)
    return calendar, (slot, clash)


# --- many checks at once ------------------------------------------------------------

@dataclass
class Preloaded:
    """What check_booking reads from the database for some resources of one site and some
    days, loaded once: closed days, opening hours and the active occurrences."""

    site_id: int
    first_day: date
    last_day: date
    start: datetime  # the loaded interval, UTC: [first day 00:00, last day + 1 00:00) local
    end: datetime
    closed: dict
    hours: dict
    occurrences: dict[int, list]  # resource id -> rows as _overlap_query's, by start

    def covers(self, resource: Resource, first_day: date, last_day: date) -> bool:
        return (resource.site_id == self.site_id and resource.id in self.occurrences
                and self.first_day <= first_day and last_day <= self.last_day)

    def holds(self, resource_id: int, start: datetime, end: datetime) -> bool:
        return resource_id in self.occurrences and self.start <= start and end <= self.end

    def conflict(self, resource_id: int, start: datetime, end: datetime, ignore_reservation_id):
        for row in self.occurrences[resource_id]:
            if row.starts_at >= end:
                break
            if row.ends_at > start and row.reservation_id != ignore_reservation_id:
                return row
        return None


_PRELOADED: contextvars.ContextVar[Preloaded | None] = contextvars.ContextVar(
    "samlokal_preloaded_checks", default=None
)


@contextlib.contextmanager
def preloaded_checks(site, resources: list[Resource], first_day: date, last_day: date, *,
                     now: datetime):
    """Inside, check_booking() of these resources between these days asks the database
    nothing per check: a few queries load everything first (finding free time checks
    hundreds of candidate times). Only for reading: book() must run outside, so the
    database's own check decides. Pass the same `now` to every check_booking()."""
    zone = ZoneInfo(site.timezone)
    start = datetime.combine(first_day, time(0), zone).astimezone(UTC)
    end = datetime.combine(last_day + timedelta(days=1), time(0), zone).astimezone(UTC)
    ids = [r.id for r in resources]
    occurrences: dict[int, list] = {resource_id: [] for resource_id in ids}
    if ids:
        occurrence = ReservationOccurrence
        rows = db.session.execute(
            select(occurrence.resource_id, occurrence.starts_at, occurrence.ends_at,
                   occurrence.reservation_id, occurrence.updated_at)
            .where(*_between(ids, start, end)).order_by(occurrence.starts_at))
        for row in rows:
            occurrences[row.resource_id].append(row)
    # Closed days and opening hours from the site's calendar (one statement, often only its
    # token): the allocation rule's preload then finds it in the transaction as well.
    calendar = calendar_cache.site_calendar(site.id)
    loaded = Preloaded(site.id, first_day, last_day, start, end,
                       calendar.closed_between(first_day, last_day), dict(calendar.hours),
                       occurrences)
    with contextlib.ExitStack() as stack:
        for preload in _PRELOADERS:
            stack.enter_context(preload(site, ids, first_day, last_day, now))
        token = _PRELOADED.set(loaded)
        try:
            yield loaded
        finally:
            _PRELOADED.reset(token)


def check_booking(request: BookingRequest, *, now: datetime | None = None) -> Check:
    """Every rule against every occurrence; nothing is written."""
    now = now or utcnow()
    general: list[Problem] = []
    resource = request.resource
    if not (request.title or "").strip():
        general.append(problem("empty_title"))
    if request.attendees is None or request.attendees < 1:
        general.append(problem("bad_attendees"))
    elif request.attendees > resource.capacity:
        general.append(problem("over_capacity", resource=resource.name, capacity=resource.capacity))
    if not resource.active:
        general.append(problem("inactive_resource"))
    if request.end_time <= request.start_time:
        general.append(problem("end_before_start"))
    else:
        length = datetime.combine(date.min, request.end_time) - datetime.combine(date.min, request.start_time)
        limit = max_length(resource.kind)
        if length > limit:
            general.append(problem("too_long", hours=int(limit.total_seconds() // 3600)))
    try:
        slots = slots_for(request.first_day, request.start_time, request.end_time,
                          resource.site.timezone, request.rrule)
    except (ValueError, TypeError, OverflowError):
        return Check([], general + [problem("bad_rule")])
    if not slots:
        general.append(problem("no_occurrences"))
    if len(slots) > MAX_OCCURRENCES:
        general.append(problem("too_many", count=MAX_OCCURRENCES))
    slots = [s for s in slots if s.day not in request.skip_days][:MAX_OCCURRENCES]
    if general:
        return Check(slots, general)

    site = resource.site
    last_day = max(s.day for s in slots)
    loaded = _PRELOADED.get()
    probed_early = None  # (slot, clash) when the probe was read with the calendar token
    if loaded is not None and loaded.covers(resource, request.first_day, last_day):
        closed, hours = loaded.closed, loaded.hours
    else:
        calendar, probed_early = _site_calendar(request, slots)
        closed = calendar.closed_days(request.first_day.year, last_day.year)
        hours = calendar.hours
    horizon = horizon_days(request.booked_by)
    is_coordinator = request.booked_by.role == Role.coordinator
    zone = ZoneInfo(site.timezone)
    today = now.astimezone(zone).date()
    found: list[Problem | None] = []
    token = _RULE_NOW.set(now)
    try:
        for slot in slots:
            found.append(_slot_problem(request, slot, closed, hours, horizon, is_coordinator,
                                       today, now))
    finally:
        _RULE_NOW.reset(token)
    # The overlap probe last, for every slot no other rule refused, in one statement.
    probed = [n for n, p in enumerate(found) if p is None]
    ignore = request.replacing.id if request.replacing is not None else None
    if probed_early is not None and [slots[n] for n in probed] == [probed_early[0]]:
        clashes = {0: probed_early[1]} if probed_early[1] is not None else {}
    else:
        clashes = find_conflicts(resource.id,
                                 [(slots[n].starts_at, slots[n].ends_at) for n in probed], ignore)
    for position, clash in clashes.items():
        n = probed[position]
        found[n] = _clash_problem(request, slots[n].day, clash, zone)
    return Check(slots, [p for p in found if p is not None])


def _slot_problem(request, slot, closed, hours, horizon, is_coordinator, today, now):
    day = slot.day
    if slot.starts_at is None:
        return problem("nonexistent_time", day)
    if day in closed:
        return problem("closed_day", day, reason=closed[day].reason)
    window = hours.get(day.weekday())
    if window is None:
        return problem("closed_day", day, reason=str(_l("no opening hours")))
    if request.start_time < window[0] or request.end_time > window[1]:
        return problem("outside_hours", day, opens=window[0].strftime("%H:%M"),
                       closes=window[1].strftime("%H:%M"))
    if slot.starts_at < now and not is_coordinator:
        return problem("in_past", day)
    if (day - today).days > horizon:
        return problem("beyond_horizon", day, days=horizon)
    for rule in _EXTRA_RULES:
        found = rule(request, slot)
        if found is not None:
            return found
    return None


def _clash_problem(request, day, clash, zone):
    if request.seen_at is not None and clash.updated_at >= request.seen_at:
        return problem("just_taken", day)
    return problem("taken", day, start=clash.starts_at.astimezone(zone).strftime("%H:%M"),
                   end=clash.ends_at.astimezone(zone).strftime("%H:%M"))


# --- saving -----------------------------------------------------------------

def audit(actor: User | None, action: str, obj, summary: str = "") -> None:
    """Append an audit entry (same transaction as the change it records).

    The entry names the object by type and id only; `obj` may be a model class for an
    action on many rows at once (no id). Every feature's audit lines are written here.
    """
    model = obj if isinstance(obj, type) else type(obj)
    db.session.add(AuditEntry(
        actor_id=actor.id if actor else None, action=action, object_type=model.__name__.lower(),
        object_id=None if isinstance(obj, type) else obj.id, summary=summary,
    ))


# Told after each change, before the commit (in the same transaction): (action,
# reservation, actor, occurrence or None, successor=the new series of a split or None).
# office/notifications tells the people affected.
_change_listeners: list[Callable] = []


def on_change(listener: Callable) -> Callable:
    """Register `listener(action, reservation, actor, occurrence, successor=None)` (once)."""
    if listener not in _change_listeners:
        _change_listeners.append(listener)
    return listener


def changed(action: str, reservation: Reservation, actor: User | None,
            occurrence: ReservationOccurrence | None = None, *,
            successor: Reservation | None = None) -> None:
    """Tell the listeners; they only add to the session (a refusal later rolls it back).

    `successor` is the series that continues a split one ("this and the following"): one
    change, told once, not as a change and a new booking.
    """
    if not _change_listeners:
        return
    _flush_occurrences()  # a lost race stays a 409, also when flushed here
    for listener in _change_listeners:
        listener(action, reservation, actor, occurrence, successor=successor)


def book(request: BookingRequest, *, allow_partial: bool = False,
         now: datetime | None = None) -> Reservation:
    """Check a booking or series and add it to the current transaction (flushed, not committed).

    Raises BookingRefused when any rule fails (with allow_partial, only when no
    occurrence at all can be booked: the bad dates are left out) and BookingConflict
    when another booking won a race. The caller's transaction then saves nothing.
    """
    check = check_booking(request, now=now)
    if check.general_problems or (check.problems and not allow_partial) or not check.bookable_slots:
        raise refusal(check.problems)
    slots = check.bookable_slots
    reservation = Reservation(
        resource=request.resource, kind=request.kind, title=request.title.strip(),
        attendees=request.attendees, booked_by=request.booked_by if request.on_record else None,
        booked_for=request.booked_for if request.on_record else None,
        agency_id=request.person.agency_id, timezone=request.resource.site.timezone,
        first_day=request.first_day, start_time=request.start_time, end_time=request.end_time,
        rrule=request.rrule,
    )
    bad = check.bad_days
    timed = [s for s in check.slots if s.starts_at is not None]
    if len(timed) == 1:
        reservation.occurrences = [_occurrence(request.resource.id, timed[0], bad)]
        db.session.add(reservation)
        _flush_occurrences()
    else:
        db.session.add(reservation)
        _flush_occurrences()
        _insert_occurrences(reservation, timed, bad)
    audit(request.booked_by, "create", reservation,
          f"resource={reservation.resource_id} occurrences={len(slots)} skipped={len(bad)}")
    changed("create", reservation, request.booked_by)
    return reservation


def _occurrence(resource_id: int, slot: Slot, bad: set[date]) -> ReservationOccurrence:
    # A day that cannot be booked is kept as cancelled: the series' rule still names it
    # (EXDATE in feeds).
    return ReservationOccurrence(
        resource_id=resource_id, starts_at=slot.starts_at, ends_at=slot.ends_at,
        original_start=slot.starts_at,
        state=OccurrenceState.cancelled if slot.day in bad else OccurrenceState.active)


_INSERT_OCCURRENCES = _OCCURRENCES.insert()


def _insert_occurrences(reservation: Reservation, slots: list[Slot], bad: set[date]) -> None:
    """A series' occurrences in one executemany instead of one ORM INSERT each.

    The database's constraint still has the last word: a lost race is the same 409 as in
    `_flush_occurrences`. The reservation's `occurrences` are read back when next used.
    """
    stamp = utcnow()
    rows = [
        {"reservation_id": reservation.id, "resource_id": reservation.resource_id,
         "starts_at": s.starts_at, "ends_at": s.ends_at, "original_start": s.starts_at,
         "state": (OccurrenceState.cancelled if s.day in bad else OccurrenceState.active).value,
         "updated_at": stamp}
        for s in slots
    ]
    with conflicts_become(_just_taken):
        db.session.connection().execute(_INSERT_OCCURRENCES, rows)
    db.session.expire(reservation, ["occurrences"])


def _just_taken() -> BookingConflict:
    return BookingConflict([problem("just_taken")])


def _flush_occurrences() -> None:
    """Write the occurrences now, where a lost race can still become a 409.

    PostgreSQL checks the exclusion constraint ex_occurrence_no_overlap after inserting the
    index entry, so two requests inserting the same slot can each wait for the other: one
    is then aborted as a deadlock (40P01) instead of an exclusion violation (23P01). Either
    way someone else got the time first (office/core/transaction.py lists what counts).
    """
    with conflicts_become(_just_taken):
        db.session.flush()


def active_occurrences(reservation: Reservation) -> list[ReservationOccurrence]:
    return [o for o in reservation.occurrences if o.is_active]


def cancel_occurrence(occurrence: ReservationOccurrence, actor: User) -> None:
    """Cancel one occurrence (of a series or a single booking)."""
    occurrence.state = OccurrenceState.cancelled
    occurrence.updated_at = utcnow()
    reservation = occurrence.reservation
    reservation.touch()
    if not active_occurrences(reservation):
        reservation.cancelled_at = utcnow()
    audit(actor, "cancel_occurrence", reservation, f"occurrence={occurrence.id}")
    db.session.flush()
    changed("cancel_occurrence", reservation, actor, occurrence)


def cancel_reservation(reservation: Reservation, actor: User | None, *, now: datetime | None = None,
                       summary: str = "") -> None:
    """Cancel every occurrence still ahead (and all of a single booking).

    `actor` None with a `summary` naming the cause: a feature cancels its own room booking
    (a trepartssamtal moved or cancelled), its own audit line says who did it.
    """
    now = now or utcnow()
    for occurrence in reservation.occurrences:
        if occurrence.is_active and (occurrence.ends_at > now or not reservation.is_recurring):
            occurrence.state = OccurrenceState.cancelled
            occurrence.updated_at = now
    reservation.cancelled_at = now
    reservation.touch()
    audit(actor, "cancel", reservation, summary)
    db.session.flush()
    changed("cancel", reservation, actor)


def cancel_following(occurrence: ReservationOccurrence, actor: User) -> None:
    """Cancel this occurrence and every later one of its series: the series ends before it."""
    reservation = occurrence.reservation
    cut = occurrence.original_start
    for other in reservation.occurrences:
        if other.original_start >= cut and other.is_active:
            other.state = OccurrenceState.cancelled
            other.updated_at = utcnow()
    if reservation.rrule:
        reservation.rrule = _rule_until(reservation.rrule, occurrence, reservation)
    reservation.touch()
    if not active_occurrences(reservation):
        reservation.cancelled_at = utcnow()
    audit(actor, "cancel_following", reservation, f"from_occurrence={occurrence.id}")
    db.session.flush()
    changed("cancel_following", reservation, actor, occurrence)


def _rule_until(rule: str, occurrence: ReservationOccurrence, reservation: Reservation) -> str:
    """The rule ending the day before the occurrence's original day (drops COUNT)."""
    zone = ZoneInfo(reservation.timezone)
    return recurrence.ending_before(rule, occurrence.original_start.astimezone(zone).date())


def change_occurrence(occurrence: ReservationOccurrence, actor: User, *, day: date,
                      start_time: time, end_time: time, now: datetime | None = None) -> None:
    """Move one occurrence; it keeps its place in the series (RECURRENCE-ID)."""
    reservation = occurrence.reservation
    request = BookingRequest(
        resource=reservation.resource, title=reservation.title, first_day=day,
        start_time=start_time, end_time=end_time, booked_by=actor, attendees=reservation.attendees,
        kind=reservation.kind,
    )
    check = check_booking(request, now=now)
    problems = [p for p in check.problems if p.code != "taken"]
    slot = check.slots[0] if check.slots else None
    if slot is not None and slot.starts_at is not None and not problems:
        clash = db.session.execute(
            _overlap_query(reservation.resource_id, slot.starts_at, slot.ends_at, None)
            .where(ReservationOccurrence.id != occurrence.id)
        ).first()
        if clash is not None:
            problems = [p for p in check.problems if p.code == "taken"]
    if problems or slot is None:
        raise refusal(problems or check.problems)
    occurrence.starts_at, occurrence.ends_at = slot.starts_at, slot.ends_at
    occurrence.updated_at = utcnow()
    reservation.touch()
    _flush_occurrences()
    audit(actor, "change_occurrence", reservation, f"occurrence={occurrence.id}")
    changed("change_occurrence", reservation, actor, occurrence)


def change_reservation(reservation: Reservation, actor: User, *, title: str, attendees: int,
                       start_time: time, end_time: time, first_day: date | None = None,
                       rrule: str | None = ..., allow_partial: bool = False,
                       now: datetime | None = None) -> Reservation:
    """Change all occurrences still ahead: the series is expanded again and re-checked."""
    now = now or utcnow()
    request = BookingRequest(
        resource=reservation.resource, title=title, attendees=attendees,
        first_day=first_day or reservation.first_day, start_time=start_time, end_time=end_time,
        booked_by=actor, booked_for=reservation.booked_for, kind=reservation.kind,
        rrule=reservation.rrule if rrule is ... else rrule, replacing=reservation,
    )
    # Occurrences already past stay as they were.
    past_days = {
        o.original_start.astimezone(ZoneInfo(reservation.timezone)).date()
        for o in reservation.occurrences if o.ends_at <= now
    }
    request.skip_days = frozenset(past_days)
    # Days already left out or cancelled (a holiday when the series was made, a cancelled
    # occasion) stay cancelled: they are not new problems of the change.
    zone = ZoneInfo(reservation.timezone)
    cancelled_days = {
        o.original_start.astimezone(zone).date()
        for o in reservation.occurrences if not o.is_active and o.ends_at > now
    }
    check = check_booking(request, now=now)
    problems = [p for p in check.problems if p.day not in cancelled_days]
    bad = check.bad_days | cancelled_days
    bookable = [s for s in check.slots if s.day not in bad]
    if check.general_problems or (problems and not allow_partial) or not bookable:
        raise refusal(problems or check.problems)
    keep = [o for o in reservation.occurrences if o.ends_at <= now]
    # Drop the old future occurrences first: PostgreSQL checks the no-overlap
    # constraint row by row, and the new ones may cover the same times.
    reservation.occurrences = keep
    _flush_occurrences()
    fresh = []
    for slot in check.slots:
        if slot.starts_at is None:
            continue
        occurrence = ReservationOccurrence(
            resource_id=reservation.resource_id, starts_at=slot.starts_at, ends_at=slot.ends_at,
            original_start=slot.starts_at,
            state=OccurrenceState.cancelled if slot.day in bad else OccurrenceState.active,
        )
        fresh.append(occurrence)
    reservation.occurrences.extend(fresh)
    reservation.title, reservation.attendees = title.strip(), attendees
    reservation.start_time, reservation.end_time = start_time, end_time
    reservation.first_day, reservation.rrule = request.first_day, request.rrule
    reservation.touch()
    _flush_occurrences()
    audit(actor, "change", reservation, f"occurrences={len(bookable)}")
    changed("change", reservation, actor)
    return reservation


def change_following(occurrence: ReservationOccurrence, actor: User, *, title: str,
                     attendees: int, start_time: time, end_time: time,
                     allow_partial: bool = False, now: datetime | None = None) -> Reservation:
    """Split the series at this occurrence: the old one ends before it, a new one follows."""
    reservation = occurrence.reservation
    zone = ZoneInfo(reservation.timezone)
    split_day = occurrence.original_start.astimezone(zone).date()
    remaining_rule = _rule_from(reservation, occurrence)
    request = BookingRequest(
        resource=reservation.resource, title=title, first_day=split_day, start_time=start_time,
        end_time=end_time, booked_by=actor, booked_for=reservation.booked_for,
        attendees=attendees, rrule=remaining_rule, kind=reservation.kind, replacing=reservation,
    )
    check = check_booking(request, now=now)
    if check.general_problems or (check.problems and not allow_partial) or not check.bookable_slots:
        raise refusal(check.problems)
    for other in reservation.occurrences:
        if other.original_start >= occurrence.original_start:
            other.state = OccurrenceState.cancelled
            other.updated_at = utcnow()
    reservation.rrule = _rule_until(reservation.rrule, occurrence, reservation)
    reservation.touch()
    _flush_occurrences()
    request.replacing = None
    new = Reservation(
        resource=reservation.resource, kind=reservation.kind, title=title.strip(),
        attendees=attendees, booked_by=reservation.booked_by, booked_for=reservation.booked_for,
        agency_id=reservation.agency_id, timezone=reservation.timezone, first_day=split_day,
        start_time=start_time, end_time=end_time, rrule=remaining_rule,
    )
    bad = check.bad_days
    new.occurrences = [
        ReservationOccurrence(
            resource_id=reservation.resource_id, starts_at=s.starts_at, ends_at=s.ends_at,
            original_start=s.starts_at,
            state=OccurrenceState.cancelled if s.day in bad else OccurrenceState.active,
        )
        for s in check.slots if s.starts_at is not None
    ]
    db.session.add(new)
    _flush_occurrences()
    audit(actor, "change_following", reservation, f"new_reservation={new.id}")
    changed("change_following", reservation, actor, successor=new)
    return new


def _rule_from(reservation: Reservation, occurrence: ReservationOccurrence) -> str:
    """The part of the series rule from this occurrence on (COUNT reduced accordingly)."""
    if reservation.rrule is None:
        return recurrence.build("DAILY", count=1)
    done = sum(1 for o in reservation.occurrences if o.original_start < occurrence.original_start)
    return recurrence.without_first(reservation.rrule, done)


def _between(resources: Iterable[int], start: datetime, end: datetime) -> list:
    """The bounded range condition (see _overlap_query) for many resources."""
    return [
        ReservationOccurrence.resource_id.in_(list(resources)),
        ReservationOccurrence.state == OccurrenceState.active,
        ReservationOccurrence.starts_at < end,
        ReservationOccurrence.starts_at > earliest_start(start),
        ReservationOccurrence.ends_at > start,
    ]


def occurrences_between(resources: Iterable[int], start: datetime, end: datetime):
    """Active occurrences of the resources overlapping [start, end), with their reservation."""
    from sqlalchemy.orm import contains_eager

    query = (
        select(ReservationOccurrence)
        .join(ReservationOccurrence.reservation)
        .options(contains_eager(ReservationOccurrence.reservation))
        .where(*_between(resources, start, end))
        .order_by(ReservationOccurrence.starts_at)
    )
    return db.session.scalars(query).unique().all()


def occurrence_rows_between(resources: Iterable[int], start: datetime, end: datetime):
    """Like occurrences_between, as plain rows with who booked (one query, no ORM objects).

    The grid shows thousands of bookings a week; building ORM objects for them cost more
    than the query itself.
    """
    from sqlalchemy.orm import aliased

    from office.accounts.models import Agency

    booker, booked_for = aliased(User), aliased(User)
    query = (
        select(ReservationOccurrence.id, ReservationOccurrence.resource_id,
               ReservationOccurrence.starts_at, ReservationOccurrence.ends_at,
               Reservation.title, Reservation.kind, Reservation.booked_by_id,
               Reservation.booked_for_id, Reservation.agency_id,
               booker.name.label("booker_name"), booked_for.name.label("booked_for_name"),
               Agency.short_name.label("agency_short_name"))
        .join(Reservation, Reservation.id == ReservationOccurrence.reservation_id)
        .outerjoin(booker, booker.id == Reservation.booked_by_id)
        .outerjoin(booked_for, booked_for.id == Reservation.booked_for_id)
        .outerjoin(Agency, Agency.id == Reservation.agency_id)
        .where(*_between(resources, start, end))
        .order_by(ReservationOccurrence.starts_at)
    )
    # A Core statement on the session's connection (after its flush): plain rows without
    # the ORM's per-row loading (a week of 50 rooms is 2,000 rows; half the query's time).
    return read_connection().execute(query).all()


def occurrence_grid_rows(resources: Iterable[int], start: datetime, end: datetime) -> list[tuple]:
    """What the booking grid shows of the occurrences overlapping [start, end), as plain rows:
    (id, resource_id, starts, ends, title, booked_by_id, booked_for_id, booker_name,
    booked_for_name, agency_id, agency_short_name), each resource's by start.

    starts and ends are moments as the database gives them, for `grid_moment_seconds` to
    turn into whole seconds since 1970 UTC (the grid converts each distinct moment once: a
    week has a few dozen start times and thousands of rows). The title is None where it
    must not show (trepartssamtal). A prebuilt statement in the driver's own SQL: compiling
    it and processing types per row cost as much as the read itself (docs/performance.md,
    "the week view").
    """
    ids = list(resources)
    connection = read_connection()
    earliest = earliest_start(start)
    if connection.dialect.name == "sqlite":
        sql = _grid_rows_sql_sqlite(len(ids))
        params = (*ids, _sqlite_text(end), _sqlite_text(earliest), _sqlite_text(start))
    else:
        sql, params = _GRID_ROWS_POSTGRESQL, (ids, end, earliest, start)
    # exec_driver_sql: no compiling and no type processing per row, yet the statement goes
    # through the engine's events (statement counts, logging) and its error handling. Plain
    # tuples, not Rows: the grid's cells are cache keys, and comparing a Row runs Python
    # code (2,000 of them: 2.4 ms a page seen before, tuples 0.2 ms).
    rows = list(map(tuple, connection.exec_driver_sql(sql, params)))
    if connection.dialect.name != "sqlite":
        rows.sort(key=itemgetter(1, 2))  # (SQLite's ORDER BY is the index's own order: free)
    return rows


def grid_moment_seconds(value) -> int:
    """Whole seconds since 1970 UTC of a moment in `occurrence_grid_rows` (floor: a wall
    clock's seconds drop the fraction). SQLite keeps naive UTC text whose first 19
    characters are the whole seconds; PostgreSQL computed the seconds already."""
    if isinstance(value, str):
        return int(datetime.fromisoformat(value[:19]).replace(tzinfo=UTC).timestamp())
    return int(value)


_GRID_ROWS_SELECT = (
    "SELECT o.id, o.resource_id, {starts}, {ends}, "
    "CASE WHEN r.kind = 'trepartssamtal' THEN NULL ELSE r.title END, "
    "r.booked_by_id, r.booked_for_id, booker.name, booked_for.name, r.agency_id, agency.short_name "
    "FROM reservation_occurrence AS o JOIN reservation AS r ON r.id = o.reservation_id "
    "LEFT OUTER JOIN user_account AS booker ON booker.id = r.booked_by_id "
    "LEFT OUTER JOIN user_account AS booked_for ON booked_for.id = r.booked_for_id "
    "LEFT OUTER JOIN agency ON agency.id = r.agency_id "
    # _between's bounded range condition
    "WHERE o.resource_id {resources} AND o.state = 'active' "
    "AND o.starts_at < {mark} AND o.starts_at > {mark} AND o.ends_at > {mark}"
)
# date_part (double precision) rather than EXTRACT (numeric since PostgreSQL 14: slower
# per row); after date_trunc a whole number, exact in a double.
_GRID_ROWS_POSTGRESQL = _GRID_ROWS_SELECT.format(
    starts="date_part('epoch', date_trunc('second', o.starts_at))::bigint",
    ends="date_part('epoch', date_trunc('second', o.ends_at))::bigint",
    resources="= ANY(%s::integer[])", mark="%s")


@functools.lru_cache(maxsize=64)
def _grid_rows_sql_sqlite(count: int) -> str:
    # ORDER BY the columns of ix_occurrence_resource_start (and the rowid it ends with):
    # the order SQLite reads that index in anyway, so no sort step. Text order is time
    # order: every value is written in the same format (office.core.database.UTCDateTime).
    return _GRID_ROWS_SELECT.format(
        starts="o.starts_at", ends="o.ends_at", resources=f"IN ({', '.join(['?'] * count)})",
        mark="?") + " ORDER BY o.resource_id, o.starts_at, o.id"


def can_manage(user: User, reservation: Reservation) -> bool:
    """The booker and the person booked for change and cancel; the coordinator anyone's."""
    return user.role == Role.coordinator or user.id in (reservation.booked_by_id,
                                                        reservation.booked_for_id)


def upcoming_for(user: User, *, now: datetime | None = None, limit: int = 200):
    """Active occurrences still ahead that the user booked or that are booked for them."""
    from sqlalchemy import or_
    from sqlalchemy.orm import contains_eager

    now = now or utcnow()
    reservation = contains_eager(ReservationOccurrence.reservation)
    query = (
        select(ReservationOccurrence)
        .join(ReservationOccurrence.reservation)
        # The page shows each row's place, booker and agency: loaded here, not one by one.
        .options(reservation.joinedload(Reservation.resource).joinedload(Resource.site),
                 reservation.joinedload(Reservation.booked_by),
                 reservation.joinedload(Reservation.agency))
        .where(
            or_(Reservation.booked_by_id == user.id, Reservation.booked_for_id == user.id),
            ReservationOccurrence.state == OccurrenceState.active,
            ReservationOccurrence.ends_at > now,
        )
        .order_by(ReservationOccurrence.starts_at)
        .limit(limit)
    )
    return db.session.scalars(query).unique().all()
