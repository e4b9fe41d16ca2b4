"""Allocations: space that an agency holds on a recurring pattern, and the time it gives back.

An `Allocation` is a local wall-clock pattern (weekdays, a time window, which weeks, from a
date to a date) for one resource and one agency. The rules that read it live in
office/allocations/rules.py. An `AllocationRelease` records that one day's window was given back
(by the agency, or automatically at the lead time); the unique (allocation, day) pair makes
recording a release idempotent.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.accounts.models import Agency, User
from office.core.database import UTCDateTime, utcnow
from office.core.extensions import db
from office.premises.models import Resource, Site


class TermKind(str, enum.Enum):
    spring = "spring"  # vårtermin, January–June
    autumn = "autumn"  # hösttermin, August–December


class Term(db.Model):
    """A school term; the default dates are seeded per year and the coordinator may edit them."""

    __tablename__ = "term"
    __table_args__ = (
        UniqueConstraint("year", "kind", name="uq_term_year_kind"),
        CheckConstraint("last_day >= first_day", name="term_last_after_first"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[TermKind] = mapped_column(
        Enum(TermKind, native_enum=False, length=10, validate_strings=True)
    )
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)


class WeekPattern(str, enum.Enum):
    """Which weeks an allocation applies to (see office/allocations/rules.py for the maths)."""

    every_week = "every_week"
    odd_weeks = "odd_weeks"            # ISO week number odd (week 53 and the next week 1 both are)
    even_weeks = "even_weeks"          # ISO week number even
    every_n_weeks = "every_n_weeks"    # a strict cadence counted from the first day's week
    weeks_of_month = "weeks_of_month"  # e.g. the 1st and 3rd Tuesday of each month


class Allocation(db.Model):
    __tablename__ = "allocation"
    __table_args__ = (
        CheckConstraint("end_time > start_time", name="allocation_end_after_start"),
        CheckConstraint("last_day >= first_day", name="allocation_last_after_first"),
        CheckConstraint("interval_weeks >= 1", name="allocation_interval_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    term_id: Mapped[int | None] = mapped_column(ForeignKey("term.id", ondelete="SET NULL"))
    # ISO weekdays as digits, Monday = 0: "13" is Tuesday and Thursday.
    weekdays: Mapped[str] = mapped_column(String(7))
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    pattern: Mapped[WeekPattern] = mapped_column(
        Enum(WeekPattern, native_enum=False, length=20, validate_strings=True),
        default=WeekPattern.every_week,
    )
    interval_weeks: Mapped[int] = mapped_column(SmallInteger, default=1)
    # For weeks_of_month: "13" is the 1st and 3rd; "5" means the last of the month.
    weeks_of_month: Mapped[str] = mapped_column(String(5), default="")
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    resource: Mapped[Resource] = relationship()
    agency: Mapped[Agency] = relationship()
    term: Mapped[Term | None] = relationship()
    releases: Mapped[list[AllocationRelease]] = relationship(
        back_populates="allocation", cascade="all, delete-orphan", order_by="AllocationRelease.day"
    )

    @property
    def weekday_numbers(self) -> list[int]:
        return sorted(int(c) for c in self.weekdays)


class AllocationRelease(db.Model):
    """One day's window of an allocation given back: anyone may book it."""

    __tablename__ = "allocation_release"
    __table_args__ = (
        UniqueConstraint("allocation_id", "day", name="uq_allocation_release_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    allocation_id: Mapped[int] = mapped_column(
        ForeignKey("allocation.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date] = mapped_column(Date)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    released_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    released_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    allocation: Mapped[Allocation] = relationship(back_populates="releases")
    released_by: Mapped[User | None] = relationship()


class ReleasePolicy(db.Model):
    """When unclaimed allocated time of a site is released automatically.

    Default: at 12:00 on the working day before (working day: not a weekend, public
    holiday or closure of the site).
    """

    __tablename__ = "release_policy"

    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"),
                                         primary_key=True)
    working_days_before: Mapped[int] = mapped_column(SmallInteger, default=1)
    release_time: Mapped[time] = mapped_column(Time, default=time(12, 0))

    site: Mapped[Site] = relationship()


class AgencyAllocationSettings(db.Model):
    """Per-agency choices about its allocations (absent row: the defaults)."""

    __tablename__ = "agency_allocation_settings"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"),
                                           primary_key=True)
    staff_may_release: Mapped[bool] = mapped_column(Boolean, default=False)

    agency: Mapped[Agency] = relationship()
