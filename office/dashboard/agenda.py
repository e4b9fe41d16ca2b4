"""A person's day: their bookings, meetings, trepartssamtal and whatever features add.

The Start page lists today and the next days from every agenda source. office's own
features are read here; a feature built on top (seminars) registers its source with
`add_agenda_source(fn)` when its blueprint is set up, as with availability.add_busy_source:
`fn(user, first_day, last_day)` yields AgendaItem objects for the person's local days
first_day..last_day (inclusive). office never imports seminars.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby

from flask import url_for
from flask_babel import lazy_gettext as _l

from office.accounts.models import User
from office.availability.rules import local_day_bounds
from office.booking import rules as booking
from office.booking.models import ReservationKind
from office.core.i18n import local_zone, to_local
from office.meetings import rules as meetings
from office.meetings.forms import ATTENDANCE_LABELS
from office.trepartssamtal import rules as trepartssamtal
from office.trepartssamtal.forms import MODE_LABELS

KIND_LABELS = {
    "booking": _l("Booking"), "meeting": _l("Meeting"), "trepartssamtal": _l("Trepartssamtal"),
    "seminar": _l("Seminar"),
}


@dataclass(frozen=True)
class AgendaItem:
    """One thing in a person's day, one click from its own page."""

    kind: str          # "booking", "meeting", "trepartssamtal", "seminar" or a source's own
    starts_at: datetime  # aware
    ends_at: datetime
    title: str
    url: str
    place: str = ""
    note: str = ""     # e.g. how often the person attends
    # "cancelled" or "moved" once closing a day or a change tells people (shown struck out).
    state: str = ""

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind))


@dataclass(frozen=True)
class AgendaDay:
    day: date
    items: list[AgendaItem]


AgendaSource = Callable[[User, date, date], Iterable[AgendaItem]]
_SOURCES: list[AgendaSource] = []


def add_agenda_source(source: AgendaSource) -> AgendaSource:
    """Add a source of a person's agenda items (usable as a decorator; added once)."""
    if source not in _SOURCES:
        _SOURCES.append(source)
    return source


def my_days(user: User, first: date, last: date) -> list[AgendaDay]:
    """The person's items from every source between two local dates, by day and time;
    today is always there (empty or not), later days only when something is on."""
    items = [item for source in _SOURCES for item in source(user, first, last)]
    items.sort(key=lambda item: (item.starts_at, item.ends_at, item.title))
    days = {day: list(found) for day, found in groupby(items, key=lambda i: to_local(i.starts_at).date())}
    days.setdefault(first, [])
    return [AgendaDay(day, days[day]) for day in sorted(days) if first <= day <= last]


# --- office's own sources ------------------------------------------------------------------

# Meetings and trepartssamtal are reservations too; their own sources show them (with the
# attendance pattern, and the neutral title), so the bookings source leaves them out.
_OWN_SOURCE = {ReservationKind.meeting, ReservationKind.trepartssamtal}


@add_agenda_source
def my_bookings(user: User, first: date, last: date) -> Iterable[AgendaItem]:
    start, end = local_day_bounds(first, last, local_zone())
    for occurrence in booking.upcoming_for(user, now=start):
        if occurrence.starts_at >= end:
            break
        reservation = occurrence.reservation
        if reservation.kind in _OWN_SOURCE:
            continue
        note = ""
        if reservation.booked_for_id == user.id and reservation.booked_by_id != user.id:
            note = str(_l("booked for you by %(name)s", name=reservation.booked_by.name)) \
                if reservation.booked_by else ""
        yield AgendaItem("booking", occurrence.starts_at, occurrence.ends_at, reservation.title,
                         url_for("bookings.show_occurrence", occurrence_id=occurrence.id),
                         place=_place(reservation.resource), note=note)


@add_agenda_source
def my_meetings(user: User, first: date, last: date) -> Iterable[AgendaItem]:
    for meeting in meetings.my_meetings(user, first, last):
        member = next(m for m in meeting.series.members if m.user_id == user.id)
        note = str(ATTENDANCE_LABELS[member.attendance])
        if meeting.extended:
            note += " · " + str(_l("extended session"))
        occurrence = meeting.occurrence
        yield AgendaItem("meeting", occurrence.starts_at, occurrence.ends_at, meeting.series.name,
                         url_for("meetings.show_series", series_id=meeting.series.id),
                         place=_place(meeting.series.reservation.resource), note=note)


@add_agenda_source
def my_trepartssamtal(user: User, first: date, last: date) -> Iterable[AgendaItem]:
    start, end = local_day_bounds(first, last, local_zone())
    for meeting in trepartssamtal.meetings_for(user, since=start):
        if meeting.starts_at >= end or meeting.status.is_cancelled:
            continue
        # The participant sees the reference as on the meeting's own page; it is never a title.
        reference = trepartssamtal.reference_for(meeting, user)
        place = (_place(meeting.reservation.resource) if meeting.reservation
                 else str(MODE_LABELS[meeting.mode]))
        yield AgendaItem("trepartssamtal", meeting.starts_at, meeting.ends_at,
                         str(_l("Trepartssamtal")),
                         url_for("trepartssamtal.show_meeting", meeting_id=meeting.id),
                         place=place,
                         note=str(_l("Reference: %(reference)s", reference=reference)) if reference else "")


def _place(resource) -> str:
    return f"{resource.name}, {resource.site.name}" if resource is not None else ""


def coming_days(today: date, days: int = 7) -> tuple[date, date]:
    """Today and the next `days` days."""
    return today, today + timedelta(days=days)
