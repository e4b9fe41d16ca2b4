"""Bookings and meeting occurrences on a day the site closes (or outside its new hours).

Registered with premises.add_closure_impact by wsgi; cancelling goes through the same
`booking.changed` hook as any cancellation, so the people concerned are told.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from office.booking import rules as booking
from office.booking.models import (
    OccurrenceState,
    Reservation,
    ReservationKind,
    ReservationOccurrence,
)
from office.core.database import utcnow
from office.core.extensions import db
from office.premises.models import Resource
from office.premises.rules import ClosureImpact, add_closure_impact

KINDS = {ReservationKind.booking: "booking", ReservationKind.meeting: "meeting"}


def register() -> None:
    add_closure_impact(bookings_on_closed_days)


def bookings_on_closed_days(site, first, last, fits, *, apply=False, actor=None):
    zone = ZoneInfo(site.timezone)
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    rows = db.session.scalars(
        select(ReservationOccurrence)
        .join(Reservation, Reservation.id == ReservationOccurrence.reservation_id)
        .join(Resource, Resource.id == ReservationOccurrence.resource_id)
        .where(Resource.site_id == site.id, ReservationOccurrence.state == OccurrenceState.active,
               ReservationOccurrence.starts_at < end, ReservationOccurrence.ends_at > start,
               Reservation.kind.in_(list(KINDS)))
        .order_by(ReservationOccurrence.starts_at)
    ).all()
    items = []
    now = utcnow()
    for occurrence in rows:
        if fits(occurrence.starts_at, occurrence.ends_at):
            continue
        reservation = occurrence.reservation
        title = f"{reservation.title} ({reservation.resource.name})"
        items.append(ClosureImpact(KINDS[reservation.kind], title, occurrence.starts_at,
                                   occurrence.ends_at))
        if apply:
            occurrence.state = OccurrenceState.cancelled
            occurrence.updated_at = now
            reservation.touch()
            if not booking.active_occurrences(reservation):
                reservation.cancelled_at = now
            booking.audit(actor, "cancel_occurrence", reservation,
                          f"occurrence={occurrence.id} closed")
            booking.changed("close_occurrence", reservation, actor, occurrence)
    return items
