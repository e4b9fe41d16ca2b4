"""Booked, used (checked in) and no-show hours per agency and resource, for the utilization
report (office/allocations/views.py shows it beside the allocated space).

Booked counts a released booking with the end it had (`booked_until`); used is the booked
hours of occurrences checked in; no-show the booked hours of those released. Booked minus
used minus no-show is what nobody had to check in to (check-in not required, trepartssamtal,
seminars, or still ahead).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from office.accounts.models import Agency
from office.booking.models import OccurrenceState, Reservation, ReservationOccurrence
from office.booking.rules import to_utc
from office.checkin.models import OccurrenceCheckIn
from office.core.extensions import db
from office.premises.models import Resource, Site


@dataclass
class UseRow:
    agency: str  # short name; "–" for bookings made at a door screen (nobody's)
    resource: str
    booked: float = 0.0
    used: float = 0.0
    no_show: float = 0.0
    no_shows: int = 0


def booking_use(site: Site, first_day: date, last_day: date) -> list[UseRow]:
    zone = ZoneInfo(site.timezone)
    start = to_utc(first_day, time(0), zone)
    end = to_utc(last_day + timedelta(days=1), time(0), zone)
    occurrence = ReservationOccurrence
    query = (
        select(Agency.short_name, Resource.name, occurrence.starts_at, occurrence.ends_at,
               OccurrenceCheckIn.checked_in_at, OccurrenceCheckIn.released_at,
               OccurrenceCheckIn.booked_until)
        .join(Reservation, Reservation.id == occurrence.reservation_id)
        .join(Resource, Resource.id == occurrence.resource_id)
        .outerjoin(Agency, Agency.id == Reservation.agency_id)
        .outerjoin(OccurrenceCheckIn, OccurrenceCheckIn.occurrence_id == occurrence.id)
        .where(Resource.site_id == site.id, occurrence.state == OccurrenceState.active,
               occurrence.starts_at >= start, occurrence.starts_at < end)
    )
    rows: dict[tuple[str, str], UseRow] = {}
    for agency, resource, starts, ends, checked_in, released, booked_until in db.session.execute(query):
        row = rows.setdefault((agency or "–", resource), UseRow(agency or "–", resource))
        hours = ((booked_until or ends) - starts).total_seconds() / 3600
        row.booked += hours
        if checked_in is not None:
            row.used += hours
        elif released is not None:
            row.no_show += hours
            row.no_shows += 1
    return sorted(rows.values(), key=lambda r: (r.agency, r.resource))


def total(rows: list[UseRow]) -> UseRow:
    return UseRow("", "", sum(r.booked for r in rows), sum(r.used for r in rows),
                  sum(r.no_show for r in rows), sum(r.no_shows for r in rows))



