"""Trepartssamtal in a room on a day the site closes: cancelled by staff, participants told."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from office.booking import rules as booking
from office.booking.models import Reservation
from office.core.database import utcnow
from office.core.extensions import db
from office.premises.models import Resource
from office.premises.rules import ClosureImpact, add_closure_impact
from office.trepartssamtal import rules as meetings
from office.trepartssamtal.models import NEUTRAL_TITLE as TREPARTSSAMTAL
from office.trepartssamtal.models import MeetingStatus, Trepartssamtal


def register() -> None:
    add_closure_impact(trepartssamtal_on_closed_days)


def trepartssamtal_on_closed_days(site, first, last, fits, *, apply=False, actor=None):
    zone = ZoneInfo(site.timezone)
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    found = db.session.scalars(
        select(Trepartssamtal)
        .join(Reservation, Reservation.id == Trepartssamtal.reservation_id)
        .join(Resource, Resource.id == Reservation.resource_id)
        .where(Resource.site_id == site.id, Trepartssamtal.starts_at < end,
               Trepartssamtal.ends_at > start,
               Trepartssamtal.status.not_in([s for s in MeetingStatus if s.is_cancelled]))
        .order_by(Trepartssamtal.starts_at)
    ).all()
    items, now = [], utcnow()
    for meeting in found:
        if fits(meeting.starts_at, meeting.ends_at):
            continue
        room = meeting.reservation.resource
        items.append(ClosureImpact("trepartssamtal", f"{TREPARTSSAMTAL} ({room.name})",
                                   meeting.starts_at, meeting.ends_at))
        if apply:
            meeting.status = MeetingStatus.cancelled_by_staff
            meeting.outcome_recorded_at = now
            meetings._cancel_room(meeting, now)
            meeting.touch()
            booking.audit(actor, "cancel", meeting, "status=cancelled_by_staff closed")
            meetings.changed("cancel", meeting, actor, room=room)
    return items
