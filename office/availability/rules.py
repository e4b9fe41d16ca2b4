"""When staff are busy: working hours, absences, bookings, and what other features add.

Plain functions that load a whole window in a few queries and return sorted interval
lists; the trepartssamtal proposals compute on them in Python. Features built elsewhere
(meeting series, seminar registrations) add a person's busy times with
`add_busy_source(fn)`: `fn(user_ids, start, end)` returns (user_id, starts_at, ends_at)
tuples in aware UTC overlapping [start, end). office never imports them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Callable, Iterable, Sequence
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import delete, or_, select

from office.availability.models import Absence, AbsenceKind, WorkingHours
from office.booking.models import OccurrenceState, Reservation, ReservationOccurrence
from office.core.extensions import db

Interval = tuple[datetime, datetime]
BusySource = Callable[[Sequence[int], datetime, datetime], Iterable[tuple[int, datetime, datetime]]]
_BUSY_SOURCES: list[BusySource] = []


def add_busy_source(source: BusySource) -> BusySource:
    """Add a source of staff busy times (usable as a decorator; added once)."""
    if source not in _BUSY_SOURCES:
        _BUSY_SOURCES.append(source)
    return source


def busy_sources() -> list[BusySource]:
    return list(_BUSY_SOURCES)


# --- working hours ------------------------------------------------------------

def default_working_hours() -> dict[int, tuple[time, time]]:
    starts, ends = current_app.config.get("WORKING_HOURS_DEFAULT", ("08:00", "17:00"))
    window = (time.fromisoformat(starts), time.fromisoformat(ends))
    return {weekday: window for weekday in range(5)}


def working_hours_for(user_ids: Sequence[int]) -> dict[int, dict[int, tuple[time, time]]]:
    """Per person: weekday -> (starts, ends) local; people who set none get the default."""
    found: dict[int, dict[int, tuple[time, time]]] = defaultdict(dict)
    rows = db.session.execute(
        select(WorkingHours.user_id, WorkingHours.weekday, WorkingHours.starts, WorkingHours.ends)
        .where(WorkingHours.user_id.in_(list(user_ids)))
    )
    for user_id, weekday, starts, ends in rows:
        found[user_id][weekday] = (starts, ends)
    default = default_working_hours()
    return {user_id: dict(found[user_id]) if user_id in found else dict(default)
            for user_id in user_ids}


def set_working_hours(user_id: int, hours: dict[int, tuple[time, time]]) -> None:
    """Replace a person's working hours (weekday -> (starts, ends)) in the caller's transaction."""
    db.session.execute(delete(WorkingHours).where(WorkingHours.user_id == user_id))
    for weekday, (starts, ends) in sorted(hours.items()):
        db.session.add(WorkingHours(user_id=user_id, weekday=weekday, starts=starts, ends=ends))


# --- absences -------------------------------------------------------------------

def add_absence(user_id: int, kind: AbsenceKind, starts_at: datetime, ends_at: datetime) -> Absence:
    if ends_at <= starts_at:
        raise ValueError("an absence must end after it starts")
    absence = Absence(user_id=user_id, kind=kind, starts_at=starts_at, ends_at=ends_at)
    db.session.add(absence)
    return absence


def local_day_bounds(first: date, last: date, zone: ZoneInfo) -> Interval:
    """[first 00:00, last+1 00:00) local, in UTC (a day is 23 or 25 hours at DST changes)."""
    start = datetime.combine(first, time(0, 0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0, 0), zone)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def absences_between(user_ids: Sequence[int], start: datetime, end: datetime) -> dict[int, list[Interval]]:
    rows = db.session.execute(
        select(Absence.user_id, Absence.starts_at, Absence.ends_at).where(
            Absence.user_id.in_(list(user_ids)), Absence.starts_at < end, Absence.ends_at > start,
        )
    )
    found: dict[int, list[Interval]] = defaultdict(list)
    for user_id, starts_at, ends_at in rows:
        found[user_id].append((starts_at, ends_at))
    return found


# --- bookings and other sources -------------------------------------------------

def bookings_between(user_ids: Sequence[int], start: datetime, end: datetime,
                     ignore_reservation_id: int | None = None) -> list[tuple[int, datetime, datetime]]:
    """Active occurrences of reservations a person made or was booked for, in [start, end)."""
    ids = list(user_ids)
    query = (
        select(Reservation.booked_by_id, Reservation.booked_for_id,
               ReservationOccurrence.starts_at, ReservationOccurrence.ends_at)
        .join(ReservationOccurrence.reservation)
        .where(
            or_(Reservation.booked_by_id.in_(ids), Reservation.booked_for_id.in_(ids)),
            ReservationOccurrence.state == OccurrenceState.active,
            ReservationOccurrence.starts_at < end,
            ReservationOccurrence.ends_at > start,
        )
    )
    if ignore_reservation_id is not None:
        query = query.where(Reservation.id != ignore_reservation_id)
    wanted = set(ids)
    result = []
    for booked_by, booked_for, starts_at, ends_at in db.session.execute(query):
        for person in {booked_by, booked_for} & wanted:
            result.append((person, starts_at, ends_at))
    return result


def busy_between(user_ids: Sequence[int], start: datetime, end: datetime,
                 ignore_reservation_id: int | None = None) -> dict[int, list[Interval]]:
    """Meetings each person has in [start, end): bookings plus every registered source."""
    found: dict[int, list[Interval]] = defaultdict(list)
    for user_id, starts_at, ends_at in bookings_between(user_ids, start, end, ignore_reservation_id):
        found[user_id].append((starts_at, ends_at))
    for source in _BUSY_SOURCES:
        for user_id, starts_at, ends_at in source(user_ids, start, end):
            found[user_id].append((starts_at, ends_at))
    return found


# --- interval lists -------------------------------------------------------------------

class IntervalSet:
    """Sorted, merged half-open intervals with an O(log n) overlap test."""

    __slots__ = ("starts", "ends")

    def __init__(self, intervals: Iterable[Interval]):
        merged: list[list[datetime]] = []
        for s, e in sorted(intervals):
            if merged and s <= merged[-1][1]:
                if e > merged[-1][1]:
                    merged[-1][1] = e
            else:
                merged.append([s, e])
        self.starts = [m[0] for m in merged]
        self.ends = [m[1] for m in merged]

    def overlaps(self, start: datetime, end: datetime) -> bool:
        i = bisect_right(self.ends, start)  # the first interval ending after start
        return i < len(self.starts) and self.starts[i] < end

    def __len__(self) -> int:
        return len(self.starts)


def padded(intervals: Iterable[Interval], buffer: timedelta) -> list[Interval]:
    return [(s - buffer, e + buffer) for s, e in intervals]
