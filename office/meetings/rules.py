"""The meeting structure: series booked through office.booking.rules, members and who attends when.

A series is one Reservation (kind=meeting) made by office.booking.rules.book(), so its
occurrences pass every booking rule (opening hours, holidays, allocations, no overlap);
days the rules refuse, such as public holidays, are left out of the series. Attendance:
`every_meeting`, `odd_weeks`/`even_weeks` (ISO week parity, as for allocations) or
`monthly`: the first meeting held in each month, the extended session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from office.accounts.models import User
from office.allocations.models import Term, TermKind
from office.allocations.rules import iso_week
from office.availability.rules import add_busy_source
from office.booking import recurrence
from office.booking import rules as booking
from office.booking.models import OccurrenceState, ReservationKind, ReservationOccurrence
from office.booking.rules import BookingRequest
from office.core.extensions import db
from office.core.transaction import conflicts_become
from office.meetings.models import Attendance, MeetingMember, MeetingSeries
from office.premises.models import Resource

NAME_TAKEN = _l("A meeting with this name exists.")


class MeetingRefused(Exception):
    status = 422

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def weekly_rule(weekday: int, last_day: date, interval: int = 1) -> str:
    """Every week (or every `interval` weeks) on a weekday until the last day."""
    return recurrence.build("WEEKLY", interval=interval, byday=recurrence.weekday_code(weekday),
                            until=last_day)


def twice_per_term_rule(term: Term, weekday: int = 2, until: date | None = None) -> str:
    """The steering group: the second `weekday` of the term's second and fifth month
    (February and May, September and November), until the term ends or `until`."""
    months = [2, 5] if term.kind == TermKind.spring else [9, 11]
    if until is not None and until > term.last_day:
        months = [2, 5, 9, 11]
    return recurrence.build("YEARLY", bymonth=months, byday=recurrence.weekday_code(weekday, 2),
                            until=until or term.last_day)


def create_meeting_series(*, name: str, resource: Resource, first_day: date, start_time: time,
                          end_time: time, rrule: str, members: list[tuple[User, Attendance]],
                          actor: User, description: str = "") -> MeetingSeries:
    """Book the series through office.booking.rules (days the rules refuse are left out) and add
    it with its members to the current transaction. Raises MeetingRefused, or
    booking.BookingRefused with the rules' reasons."""
    name = (name or "").strip()
    problems = []
    if not name:
        problems.append(str(_l("Give the meeting a name.")))
    elif db.session.scalar(select(MeetingSeries.id).where(MeetingSeries.name == name)):
        problems.append(str(NAME_TAKEN))
    if len({user.id for user, _ in members}) != len(members):
        problems.append(str(_l("A member is listed twice.")))
    if problems:
        raise MeetingRefused(problems)
    reservation = booking.book(BookingRequest(
        resource=resource, title=name, first_day=first_day, start_time=start_time,
        end_time=end_time, booked_by=actor, attendees=max(len(members), 1), rrule=rrule,
        kind=ReservationKind.meeting,
    ), allow_partial=True)
    series = MeetingSeries(name=name, description=description.strip(), reservation=reservation)
    series.members = [MeetingMember(user=user, attendance=attendance)
                      for user, attendance in members]
    db.session.add(series)
    # Another coordinator may have saved the same name since the check above.
    with conflicts_become(lambda: MeetingRefused([str(NAME_TAKEN)])):
        db.session.flush()
    booking.audit(actor, "create_meeting_series", series, f"reservation={reservation.id}")
    return series


def extended_days(occurrence_days: list[date]) -> set[date]:
    """The first meeting day of each month: the extended session."""
    firsts: dict[tuple[int, int], date] = {}
    for day in sorted(occurrence_days):
        firsts.setdefault((day.year, day.month), day)
    return set(firsts.values())


def attends(attendance: Attendance, day: date, extended: set[date]) -> bool:
    """Whether a member with this attendance pattern attends the meeting on `day`."""
    if attendance == Attendance.every_meeting:
        return True
    if attendance == Attendance.odd_weeks:
        return iso_week(day) % 2 == 1
    if attendance == Attendance.even_weeks:
        return iso_week(day) % 2 == 0
    return day in extended


@dataclass(frozen=True)
class MeetingDate:
    series: MeetingSeries
    occurrence: ReservationOccurrence
    day: date
    extended: bool
    attendees: tuple[User, ...]


def meeting_dates(series: MeetingSeries, first: date, last: date) -> list[MeetingDate]:
    """The active meetings of a series between two local dates, each with who attends."""
    zone = ZoneInfo(series.reservation.timezone)
    occurrences = [o for o in series.reservation.occurrences
                   if o.state == OccurrenceState.active]
    days = {o.id: o.starts_at.astimezone(zone).date() for o in occurrences}
    extended = extended_days(list(days.values()))
    dates = []
    for occurrence in occurrences:
        day = days[occurrence.id]
        if first <= day <= last:
            people = tuple(m.user for m in series.members if attends(m.attendance, day, extended))
            dates.append(MeetingDate(series, occurrence, day, day in extended, people))
    return dates


def my_meetings(user: User, first: date, last: date) -> list[MeetingDate]:
    """The meetings the user attends between two local dates, in time order."""
    memberships = db.session.scalars(
        select(MeetingMember).where(MeetingMember.user_id == user.id)
        .options(selectinload(MeetingMember.series))
    ).all()
    found = []
    for member in memberships:
        for meeting in meeting_dates(member.series, first, last):
            if any(person.id == user.id for person in meeting.attendees):
                found.append(meeting)
    return sorted(found, key=lambda m: m.occurrence.starts_at)


def all_series() -> list[MeetingSeries]:
    return list(db.session.scalars(select(MeetingSeries).order_by(MeetingSeries.name)))


def next_weeks(today: date, weeks: int = 8) -> tuple[date, date]:
    return today, today + timedelta(weeks=weeks)


def series_first_day(term: Term, today: date) -> date:
    return max(term.first_day, today - timedelta(days=today.weekday()))


def local_start(occurrence: ReservationOccurrence, zone_name: str) -> datetime:
    return occurrence.starts_at.astimezone(ZoneInfo(zone_name))


@add_busy_source
def meeting_busy_times(user_ids, start: datetime, end: datetime):
    """Members are busy at the meetings they attend (trepartssamtal proposals ask this)."""
    members = db.session.scalars(
        select(MeetingMember).where(MeetingMember.user_id.in_(list(user_ids)))
        .options(selectinload(MeetingMember.series))
    ).all()
    for member in members:
        zone = ZoneInfo(member.series.reservation.timezone)
        first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        for meeting in meeting_dates(member.series, first, last):
            occurrence = meeting.occurrence
            attending = any(person.id == member.user_id for person in meeting.attendees)
            if attending and occurrence.starts_at < end and start < occurrence.ends_at:
                yield member.user_id, occurrence.starts_at, occurrence.ends_at
