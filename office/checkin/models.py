"""Check-in policy per kind of resource, and each occurrence's check-in or release."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from office.core.database import UTCDateTime
from office.core.extensions import db

DEFAULT_GRACE_MINUTES = 15


class CheckInPolicy(db.Model):
    """Whether bookings of one kind of resource ("room", "desk") must be checked in."""

    __tablename__ = "check_in_policy"

    resource_kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    grace_minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_GRACE_MINUTES)


class OccurrenceCheckIn(db.Model):
    """An occurrence checked in, or released as a no-show (then `booked_until` keeps the end
    it had, for the utilization report)."""

    __tablename__ = "occurrence_check_in"

    occurrence_id: Mapped[int] = mapped_column(
        ForeignKey("reservation_occurrence.id", ondelete="CASCADE"), primary_key=True)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None for a check-in at the door screen (nobody is logged in there).
    checked_in_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    booked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
