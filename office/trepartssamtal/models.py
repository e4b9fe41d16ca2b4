"""Trepartssamtal: three-party meetings of an individual and staff from two or more agencies.

Privacy by construction: the individual is only a pseudonymous reference, stored in the
`reference` column behind the private attribute `_reference`. Read it through
`office.trepartssamtal.rules.reference_for(meeting, viewer)`, which checks that the viewer is a
participant. The room's Reservation carries the neutral title "Trepartssamtal". The
reference and the consent record are erased a configurable time after the meeting
(`flask --app wsgi purge-references`); the meeting row stays, so the counts stay.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.accounts.models import Agency, User
from office.booking.models import Reservation
from office.core.database import UTCDateTime, utcnow
from office.core.extensions import db

NEUTRAL_TITLE = "Trepartssamtal"  # the only name anyone but the participants ever sees


class MeetingMode(str, enum.Enum):
    on_site = "on_site"
    phone = "phone"
    video = "video"


class MeetingStatus(str, enum.Enum):
    booked = "booked"                                    # ahead, or no outcome recorded yet
    held = "held"
    no_show = "no_show"                                  # the individual did not come
    cancelled_by_individual = "cancelled_by_individual"
    cancelled_by_staff = "cancelled_by_staff"

    @property
    def is_cancelled(self) -> bool:
        return self in (MeetingStatus.cancelled_by_individual, MeetingStatus.cancelled_by_staff)


class Trepartssamtal(db.Model):
    __tablename__ = "trepartssamtal"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        Index("ix_trepartssamtal_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mode: Mapped[MeetingMode] = mapped_column(
        Enum(MeetingMode, native_enum=False, length=10, validate_strings=True)
    )
    status: Mapped[MeetingStatus] = mapped_column(
        Enum(MeetingStatus, native_enum=False, length=30, validate_strings=True),
        default=MeetingStatus.booked,
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The room booking (on site only); its title is NEUTRAL_TITLE.
    reservation_id: Mapped[int | None] = mapped_column(
        ForeignKey("reservation.id", ondelete="SET NULL"), index=True
    )
    video_link: Mapped[str | None] = mapped_column(String(500))
    # Private on purpose: office.trepartssamtal.rules.reference_for() is the only reader.
    _reference: Mapped[str | None] = mapped_column("reference", String(40))
    booked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # iCalendar (office/feeds/feature_sources.py): SEQUENCE and LAST-MODIFIED of the feed event.
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reservation: Mapped[Reservation | None] = relationship()
    booked_by: Mapped[User | None] = relationship()
    participants: Mapped[list[TrepartssamtalParticipant]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan",
        order_by="TrepartssamtalParticipant.id",
    )
    consent: Mapped[Consent | None] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", uselist=False
    )

    def __repr__(self) -> str:  # never the reference
        return f"<Trepartssamtal {self.id}>"

    def touch(self) -> None:
        """Record a change for calendar clients (time, place or status moved)."""
        self.sequence = (self.sequence or 0) + 1
        self.updated_at = utcnow()

    @property
    def participant_ids(self) -> set[int]:
        return {p.user_id for p in self.participants if p.user_id is not None}


class TrepartssamtalParticipant(db.Model):
    """A staff participant; the agency is kept as it was so the statistics stay put."""

    __tablename__ = "trepartssamtal_participant"
    __table_args__ = (
        UniqueConstraint("trepartssamtal_id", "user_id", name="uq_trepartssamtal_participant_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trepartssamtal_id: Mapped[int] = mapped_column(
        ForeignKey("trepartssamtal.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)

    meeting: Mapped[Trepartssamtal] = relationship(back_populates="participants")
    user: Mapped[User | None] = relationship()
    agency: Mapped[Agency] = relationship()


consent_agency = Table(
    "trepartssamtal_consent_agency",
    db.metadata,
    Column("consent_id", ForeignKey("trepartssamtal_consent.id", ondelete="CASCADE"),
           primary_key=True),
    Column("agency_id", ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True),
)


class Consent(db.Model):
    """The individual's consent to information exchange between the named agencies."""

    __tablename__ = "trepartssamtal_consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    trepartssamtal_id: Mapped[int] = mapped_column(
        ForeignKey("trepartssamtal.id", ondelete="CASCADE"), unique=True
    )
    given_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    meeting: Mapped[Trepartssamtal] = relationship(back_populates="consent")
    recorded_by: Mapped[User | None] = relationship()
    agencies: Mapped[list[Agency]] = relationship(secondary=consent_agency, order_by="Agency.name")
