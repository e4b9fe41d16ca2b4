"""Sites (the premises), their opening hours and closed days, and bookable resources."""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import (
    BigInteger,
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
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.core.database import UTCDateTime, utcnow
from office.core.extensions import db


class ResourceKind(str, enum.Enum):
    room = "room"
    desk = "desk"


class Site(db.Model):
    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    address: Mapped[str] = mapped_column(String(255), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Stockholm")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    opening_hours: Mapped[list[OpeningHours]] = relationship(
        back_populates="site", order_by="OpeningHours.weekday", cascade="all, delete-orphan"
    )
    closures: Mapped[list[Closure]] = relationship(
        back_populates="site", order_by="Closure.day", cascade="all, delete-orphan"
    )
    resources: Mapped[list[Resource]] = relationship(
        back_populates="site", order_by="Resource.kind, Resource.name"
    )

    def __str__(self) -> str:
        return self.name


class OpeningHours(db.Model):
    """When a site is open on one weekday (0 = Monday); a missing weekday is closed."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        UniqueConstraint("site_id", "weekday", name="uq_opening_hours_site_weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("closes > opens", name="closes_after_opens"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(SmallInteger)
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)

    site: Mapped[Site] = relationship(back_populates="opening_hours")


class Closure(db.Model):
    """A day the coordinator closed the site (public holidays come from `holidays`)."""

    __tablename__ = "closure"
    __table_args__ = (UniqueConstraint("site_id", "day", name="uq_closure_site_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")

    site: Mapped[Site] = relationship(back_populates="closures")


class Resource(db.Model):
    """A room or a desk that can be booked."""

    __tablename__ = "resource"
    __table_args__ = (
        UniqueConstraint("site_id", "name", name="uq_resource_site_name"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[ResourceKind] = mapped_column(
        Enum(ResourceKind, native_enum=False, length=10, validate_strings=True)
    )
    # Free text such as "conversation room" helps people pick the right room.
    description: Mapped[str] = mapped_column(String(255), default="")
    is_conversation_room: Mapped[bool] = mapped_column(Boolean, default=False)
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    has_screen: Mapped[bool] = mapped_column(Boolean, default=False)
    has_video: Mapped[bool] = mapped_column(Boolean, default=False)
    accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # False: open to all outside allocations. True: bookable only inside an allocation of
    # the booker's agency or in released time (office/allocations/rules.py).
    allocated_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    site: Mapped[Site] = relationship(back_populates="resources")

    def __str__(self) -> str:
        return self.name


class CalendarVersion(db.Model):
    """One row whose `token` changes whenever the calendar a booking check reads changes:
    closures, opening hours, allocations, a resource moved to another site.

    Database triggers (migration 2000_calendar_version) write a new random token in the
    writer's own transaction, whoever writes (the ORM, a Core statement, psql), so every
    process can keep what it read under the token it read it with
    (office/premises/calendar_cache.py). A random token, not a counter: a rolled-back
    change, a restored backup or an emptied table can never make an old token name new data.
    """

    __tablename__ = "calendar_version"
    # Copies of the database (office/core/copy_data.py) copy it again after the tables
    # whose triggers write it.
    __table_args__ = {"info": {"written_by_triggers": True}}

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[int] = mapped_column(BigInteger)
