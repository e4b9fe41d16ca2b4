"""When staff can be booked: usual working hours per weekday and absences (leave, courses)."""

from __future__ import annotations

import enum
from datetime import datetime, time

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    SmallInteger,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from office.core.database import UTCDateTime, utcnow
from office.core.extensions import db


class WorkingHours(db.Model):
    """One weekday (0 = Monday) a staff member works; a missing weekday is a day off.

    A person without any rows works the default hours (config WORKING_HOURS_DEFAULT).
    """

    __tablename__ = "working_hours"
    __table_args__ = (
        UniqueConstraint("user_id", "weekday", name="uq_working_hours_user_weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("ends > starts", name="ends_after_starts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(SmallInteger)
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)


class AbsenceKind(str, enum.Enum):
    leave = "leave"
    course = "course"
    other = "other"


class Absence(db.Model):
    """A time a staff member is away; half-open [starts_at, ends_at) in UTC. No free text."""

    __tablename__ = "absence"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        Index("ix_absence_user_start", "user_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[AbsenceKind] = mapped_column(
        Enum(AbsenceKind, native_enum=False, length=10, validate_strings=True),
        default=AbsenceKind.leave,
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
