"""The meeting structure: recurring meetings of a group drawn from several agencies.

A `MeetingSeries` owns one `Reservation` (kind=meeting) made through office.booking.rules.book(),
so its occurrences follow every booking rule. Each `MeetingMember` has an attendance
pattern: some attend every week, AF's members of the working group every other week, the
extended case workers' group once a month.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.accounts.models import User
from office.booking.models import Reservation
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

    reservation: Mapped[Reservation] = relationship()
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
