"""Check-in rules: the policy per kind of resource, checking in, and releasing no-shows.

A released booking keeps the time it was used (none): its occurrence now ends at the moment
of release, so the room is free for the rest of the booked time; `booked_until` keeps the
end it had for the utilization report ("no-show"). The release is a job run on any number of
machines at once: PostgreSQL skips rows another run holds (FOR UPDATE SKIP LOCKED), SQLite
runs one writer at a time (BEGIN IMMEDIATE), and a released occurrence is never picked again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import force_locale, format_datetime, format_time
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import contains_eager

from office.accounts.models import User
from office.booking import rules as booking
from office.booking.models import (
    OccurrenceState,
    Reservation,
    ReservationKind,
    ReservationOccurrence,
)
from office.checkin.models import DEFAULT_GRACE_MINUTES, CheckInPolicy, OccurrenceCheckIn
from office.core import clock
from office.core import mail as outbox
from office.core.extensions import db
from office.premises.models import Resource, ResourceKind

# Bookings that never need a check-in: the individual's meeting and a seminar's venue.
EXEMPT_KINDS = frozenset({ReservationKind.trepartssamtal, ReservationKind.seminar})
# Check-in opens this long before the start (people arrive early).
EARLY = timedelta(minutes=10)
MAX_GRACE_MINUTES = 120


class CheckInRefused(Exception):
    """Not now, not this booking: the message says why (HTTP 409)."""


# --- the policy ------------------------------------------------------------------------

@dataclass(frozen=True)
class Policy:
    kind: ResourceKind
    required: bool
    grace_minutes: int


def policies() -> dict[ResourceKind, Policy]:
    rows = {row.resource_kind: row for row in db.session.scalars(select(CheckInPolicy))}
    return {kind: Policy(kind, bool(rows[kind.value].required), rows[kind.value].grace_minutes)
            if kind.value in rows else Policy(kind, False, DEFAULT_GRACE_MINUTES)
            for kind in ResourceKind}


def set_policy(kind: ResourceKind, required: bool, grace_minutes: int, actor: User) -> None:
    row = db.session.get(CheckInPolicy, kind.value) or CheckInPolicy(resource_kind=kind.value)
    row.required, row.grace_minutes = bool(required), grace_minutes
    db.session.add(row)
    db.session.flush()
    booking.audit(actor, "check_in_policy", CheckInPolicy,
                  f"kind={kind.value} required={bool(required)} minutes={grace_minutes}")


def needs_check_in(occurrence: ReservationOccurrence, policy: dict | None = None) -> bool:
    """Whether this occurrence must be checked in (its resource's kind and the booking's)."""
    if occurrence.reservation.kind in EXEMPT_KINDS:
        return False
    return (policy or policies())[occurrence.reservation.resource.kind].required


def state_of(occurrence_ids: list[int]) -> dict[int, OccurrenceCheckIn]:
    if not occurrence_ids:
        return {}
    return {row.occurrence_id: row for row in db.session.scalars(
        select(OccurrenceCheckIn).where(OccurrenceCheckIn.occurrence_id.in_(occurrence_ids)))}


# --- checking in ---------------------------------------------------------------------------

def check_in(occurrence: ReservationOccurrence, actor: User | None, now: datetime | None = None) -> bool:
    """Check the occurrence in (actor None: at the door); True when it was not checked in yet."""
    now = now or clock.now()
    row = db.session.get(OccurrenceCheckIn, occurrence.id)
    if row is not None and row.checked_in_at is not None:
        return False
    if row is not None and row.released_at is not None:
        raise CheckInRefused(_("The booking was released: nobody had checked in."))
    if not occurrence.is_active or not (occurrence.starts_at - EARLY <= now < occurrence.ends_at):
        raise CheckInRefused(_("Check-in opens 10 minutes before the start and closes at the end."))
    row = row or OccurrenceCheckIn(occurrence_id=occurrence.id)
    row.checked_in_at, row.checked_in_by_id = now, actor.id if actor else None
    db.session.add(row)
    occurrence.updated_at = now  # the door screen's stamp changes
    booking.audit(actor, "check_in", occurrence.reservation, f"occurrence={occurrence.id}")
    db.session.flush()
    return True


# --- releasing no-shows ------------------------------------------------------------------------

def release_no_shows(now: datetime | None = None) -> list[int]:
    """Release every booking due a check-in that nobody checked in to in time; tell the booker.

    Returns the ids of the occurrences released. Safe on two machines at once.
    """
    now = (now or clock.now()).replace(second=0, microsecond=0)
    due = [p for p in policies().values() if p.required]
    if not due:
        return []
    occurrence = ReservationOccurrence
    late = or_(*[and_(Resource.kind == p.kind, occurrence.starts_at <= now - timedelta(minutes=p.grace_minutes))
                 for p in due])
    query = (
        select(occurrence).join(occurrence.reservation).join(Resource, Resource.id == occurrence.resource_id)
        .outerjoin(OccurrenceCheckIn, OccurrenceCheckIn.occurrence_id == occurrence.id)
        .options(contains_eager(occurrence.reservation))
        .where(occurrence.state == OccurrenceState.active, occurrence.ends_at > now,
               occurrence.starts_at > now - booking.longest_allowed(), late,
               Reservation.kind.not_in(list(EXEMPT_KINDS)),
               OccurrenceCheckIn.occurrence_id.is_(None))
        .order_by(occurrence.id)
        .with_for_update(skip_locked=True, of=occurrence)
    )
    released = []
    for found in db.session.scalars(query).unique().all():
        if found.starts_at >= now:  # a grace of 0 minutes: at least a minute of the booking
            continue
        db.session.add(OccurrenceCheckIn(occurrence_id=found.id, released_at=now,
                                         booked_until=found.ends_at))
        booked_until, found.ends_at, found.updated_at = found.ends_at, now, now
        found.reservation.touch()
        booking.audit(None, "release_no_show", found.reservation, f"occurrence={found.id}")
        _tell_booker(found, booked_until)
        released.append(found.id)
    db.session.flush()
    return released


def _tell_booker(occurrence: ReservationOccurrence, booked_until: datetime) -> None:
    reservation = occurrence.reservation
    people = {p.id: p for p in (reservation.booked_by, reservation.booked_for) if p is not None and p.active}
    zone = ZoneInfo(reservation.timezone)
    for person in people.values():
        locale = person.locale or "sv"
        with force_locale(locale):
            starts = occurrence.starts_at.astimezone(zone)
            subject = _("Your booking of %(resource)s was released", resource=reservation.resource.name)
            body = _("Nobody checked in to “%(title)s” in %(resource)s, %(start)s–%(end)s, within the "
                     "time allowed, so it was released for the rest of the booked time.\n\n"
                     "If you still need it, book it again in Samlokal.",
                     title=reservation.title if reservation.kind != ReservationKind.trepartssamtal else "",
                     resource=reservation.resource.name,
                     start=format_datetime(starts, "d MMMM y HH:mm"),
                     end=format_time(booked_until.astimezone(zone), "HH:mm"))
        outbox.queue_mail(person.email, locale, subject, body, topic=f"reservation:{reservation.id}",
                          topic_key=f"no-show:{occurrence.id}:{person.id}")
