"""Reservations (a single booking or a recurring series) and their occurrences.

Names follow Indico: a `Reservation` holds what was asked for (title, who, the local
wall-clock rule); each `ReservationOccurrence` is one concrete interval in UTC. The
no-overlap guarantee is about occurrences of one resource: PostgreSQL enforces it with
an exclusion constraint (see migrations), SQLite with a check inside a
``BEGIN IMMEDIATE`` transaction (office/booking/rules.py).
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import (
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.accounts.models import Agency, User
from office.core.database import UTCDateTime, utcnow
from office.core.extensions import db
from office.premises.models import Resource


class ReservationKind(str, enum.Enum):
    booking = "booking"                # an ordinary room or desk booking
    meeting = "meeting"                # an occurrence of the meeting structure
    trepartssamtal = "trepartssamtal"  # a three-party meeting (privacy rules apply)
    seminar = "seminar"                # a seminar's venue


class OccurrenceState(str, enum.Enum):
    active = "active"
    cancelled = "cancelled"


def _feed_stamp_indexes() -> tuple:
    """Per owner column, its latest change and its latest cancellation in one index lookup.

    A calendar feed's stamp (office/booking/feeds.py `reservation_stamp_parts`) reads the
    max of updated_at, and of cancelled_at below the cutoff, per person, room or agency:
    constant time, however many reservations the feed has. Cancellations are few: those
    indexes hold only cancelled reservations.
    """
    indexes = []
    for column in ("booked_by_id", "booked_for_id", "resource_id", "agency_id"):
        indexes.append(Index(f"ix_reservation_{column}_updated", column, "updated_at"))
        indexes.append(Index(f"ix_reservation_{column}_cancelled", column, "cancelled_at",
                             sqlite_where=text("cancelled_at IS NOT NULL"),
                             postgresql_where=text("cancelled_at IS NOT NULL")))
    return tuple(indexes)


class Reservation(db.Model):
    __tablename__ = "reservation"
    __table_args__ = _feed_stamp_indexes()

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"), index=True)
    kind: Mapped[ReservationKind] = mapped_column(
        Enum(ReservationKind, native_enum=False, length=20, validate_strings=True),
        default=ReservationKind.booking,
    )
    title: Mapped[str] = mapped_column(String(200))
    attendees: Mapped[int] = mapped_column(Integer, default=1)
    booked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    booked_for_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    # The agency shown on the grid (the booked-for person's agency at booking time).
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)

    # The local wall-clock rule: first day, start and end time, the zone, an RFC 5545
    # RRULE (None for a single booking). Occurrences are expanded from it.
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Stockholm")
    first_day: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    rrule: Mapped[str | None] = mapped_column(Text)

    # iCalendar: SEQUENCE grows with every change; updated_at drives LAST-MODIFIED.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    resource: Mapped[Resource] = relationship()
    booked_by: Mapped[User | None] = relationship(foreign_keys=[booked_by_id])
    booked_for: Mapped[User | None] = relationship(foreign_keys=[booked_for_id])
    agency: Mapped[Agency | None] = relationship()
    occurrences: Mapped[list[ReservationOccurrence]] = relationship(
        back_populates="reservation", order_by="ReservationOccurrence.starts_at",
        cascade="all, delete-orphan",
    )

    @property
    def is_recurring(self) -> bool:
        return self.rrule is not None

    def touch(self) -> None:
        """Record a change for calendar clients (SEQUENCE and LAST-MODIFIED)."""
        self.sequence += 1
        self.updated_at = utcnow()


class ReservationOccurrence(db.Model):
    __tablename__ = "reservation_occurrence"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        # The overlap probe walks (resource, start): see office/booking/rules.py.
        Index("ix_occurrence_resource_start", "resource_id", "starts_at"),
        Index("ix_occurrence_start", "starts_at"),
        # PostgreSQL: the database itself refuses overlapping active occurrences of one
        # resource, also when two requests race. Half-open ranges: touching is fine.
        ExcludeConstraint(
            ("resource_id", "="),
            (func.tstzrange(text("starts_at"), text("ends_at"), text("'[)'")), "&&"),
            name="ex_occurrence_no_overlap",
            using="gist",
            where=text("state = 'active'"),
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(
        ForeignKey("reservation.id", ondelete="CASCADE"), index=True
    )
    # Copied from the reservation so the database can enforce no-overlap per resource.
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Where the series rule put this occurrence (iCalendar RECURRENCE-ID); differs from
    # starts_at when one occurrence was moved.
    original_start: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[OccurrenceState] = mapped_column(
        Enum(OccurrenceState, native_enum=False, length=10, validate_strings=True),
        default=OccurrenceState.active,
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    reservation: Mapped[Reservation] = relationship(back_populates="occurrences")

    @property
    def is_active(self) -> bool:
        return self.state == OccurrenceState.active


class AuditEntry(db.Model):
    """Append-only: who created, changed or cancelled what, and when.

    `details` never holds personal data about individuals (trepartssamtal are named by id).
    """

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[User | None] = relationship()
