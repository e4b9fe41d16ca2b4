"""The meeting structure: recurring meetings of a group drawn from several agencies.

A `MeetingSeries` owns one `Reservation` (kind=meeting) made through office.booking.rules.book(),
so its occurrences follow every booking rule. Each `MeetingMember` has an attendance
pattern: some attend every week, AF's members of the working group every other week, the
extended case workers' group once a month.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.accounts.models import User
from office.booking.models import Reservation, ReservationOccurrence
from office.core.database import UTCDateTime, utcnow
from office.core.extensions import db


class Attendance(str, enum.Enum):
    every_meeting = "every_meeting"
    odd_weeks = "odd_weeks"      # every other week: ISO week number odd
    even_weeks = "even_weeks"    # every other week: ISO week number even
    monthly = "monthly"          # the first meeting of each month (the extended session)


class MeetingSeries(db.Model):
    __tablename__ = "meeting_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    reservation_id: Mapped[int] = mapped_column(
        ForeignKey("reservation.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Prepares the agenda and approves the minutes with the coordinator (the group's chair).
    chair_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    # Members may propose agenda items until this many days before a meeting.
    proposal_days: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    # The case workers' group counts the cases it raises at each meeting (numbers only).
    counts_cases: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    reservation: Mapped[Reservation] = relationship()
    chair: Mapped[User | None] = relationship(foreign_keys=[chair_id])
    members: Mapped[list[MeetingMember]] = relationship(
        back_populates="series", cascade="all, delete-orphan", order_by="MeetingMember.id"
    )


class MeetingMember(db.Model):
    __tablename__ = "meeting_member"
    __table_args__ = (UniqueConstraint("series_id", "user_id", name="uq_meeting_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(
        ForeignKey("meeting_series.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    attendance: Mapped[Attendance] = mapped_column(
        Enum(Attendance, native_enum=False, length=20, validate_strings=True),
        default=Attendance.every_meeting,
    )

    series: Mapped[MeetingSeries] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class MinutesStatus(str, enum.Enum):
    draft = "draft"          # written during or after the meeting; preparers only
    approved = "approved"    # read-only, visible to the members (and all staff if shared)


class MeetingOccurrence(db.Model):
    """One meeting of a series and its work; made when its agenda or minutes are first written."""

    __tablename__ = "meeting_occurrence"

    id: Mapped[int] = mapped_column(
        ForeignKey("reservation_occurrence.id", ondelete="CASCADE"), primary_key=True)
    series_id: Mapped[int] = mapped_column(
        ForeignKey("meeting_series.id", ondelete="CASCADE"), index=True)
    notice_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    minutes_notes: Mapped[str] = mapped_column(Text, default="")
    minutes_status: Mapped[MinutesStatus] = mapped_column(
        Enum(MinutesStatus, native_enum=False, length=10, validate_strings=True),
        default=MinutesStatus.draft)
    minutes_shared_with_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    occurrence: Mapped[ReservationOccurrence] = relationship()
    series: Mapped[MeetingSeries] = relationship()
    approved_by: Mapped[User | None] = relationship()
    items: Mapped[list[AgendaItem]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan",
        order_by="(AgendaItem.proposed, AgendaItem.position, AgendaItem.id)")
    decisions: Mapped[list[MeetingDecision]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="MeetingDecision.id")
    actions: Mapped[list[MeetingAction]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="MeetingAction.id")
    guests: Mapped[list[MeetingGuest]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="MeetingGuest.id")
    case_counts: Mapped[list[CaseCount]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="CaseCount.id")

    @property
    def minutes_approved(self) -> bool:
        return self.minutes_status == MinutesStatus.approved


class AgendaItem(db.Model):
    __tablename__ = "agenda_item"
    __table_args__ = (CheckConstraint("minutes IS NULL OR (minutes > 0 AND minutes <= 480)",
                                      name="sensible_minutes"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting_occurrence.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    minutes: Mapped[int | None] = mapped_column(Integer)
    # A member's proposal until the coordinator or the chair takes it onto the agenda.
    proposed: Mapped[bool] = mapped_column(Boolean, default=False)
    proposed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    meeting: Mapped[MeetingOccurrence] = relationship(back_populates="items")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])


class MeetingDecision(db.Model):
    __tablename__ = "meeting_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting_occurrence.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(500))

    meeting: Mapped[MeetingOccurrence] = relationship(back_populates="decisions")


class MeetingAction(db.Model):
    """Something someone will do by a date; open ones come back on the next meetings' agendas."""

    __tablename__ = "meeting_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting_occurrence.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    due_on: Mapped[date | None] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    meeting: Mapped[MeetingOccurrence] = relationship(back_populates="actions")
    owner: Mapped[User | None] = relationship()


class MeetingGuest(db.Model):
    """Invited to one meeting only: a colleague (user) or an outside guest (name and address)."""

    __tablename__ = "meeting_guest"
    __table_args__ = (UniqueConstraint("meeting_id", "email", name="uq_meeting_guest_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting_occurrence.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    organisation: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(254))
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    meeting: Mapped[MeetingOccurrence] = relationship(back_populates="guests")
    user: Mapped[User | None] = relationship()


class Gender(str, enum.Enum):
    women = "women"
    men = "men"
    other = "other"
    unknown = "unknown"


class CaseCount(db.Model):
    """How many cases the case workers' group raised at one meeting, for one agency and gender."""

    __tablename__ = "case_count"
    __table_args__ = (
        UniqueConstraint("meeting_id", "agency_id", "gender", name="uq_case_count"),
        CheckConstraint("cases >= 0 AND cases <= 1000", name="sensible_cases"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting_occurrence.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), index=True)
    gender: Mapped[Gender] = mapped_column(
        Enum(Gender, native_enum=False, length=10, validate_strings=True))
    cases: Mapped[int] = mapped_column(Integer, default=0)

    meeting: Mapped[MeetingOccurrence] = relationship(back_populates="case_counts")
