"""A floor plan (its picture kept in the database) and where each room or desk sits on it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.core.database import UTCDateTime, utcnow
from office.core.extensions import db
from office.premises.models import Resource, Site


class FloorPlan(db.Model):
    """One floor of a site. The picture lives in the row, not on a disk: every app machine
    serves it, and backups and copy-data take it along with the places on it."""

    __tablename__ = "floor_plan"
    __table_args__ = (UniqueConstraint("site_id", "name", name="uq_floor_plan_site_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))  # "Plan 1", "Entréplan"
    media_type: Mapped[str] = mapped_column(String(40))  # image/svg+xml or image/png, checked
    # Loaded only when the picture itself is served.
    image: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # Changes with every new picture: the image URL's cache key and ETag.
    image_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    site: Mapped[Site] = relationship()
    places: Mapped[list[Placement]] = relationship(
        back_populates="floor_plan", cascade="all, delete-orphan", passive_deletes=True)

    def __str__(self) -> str:
        return f"{self.site.name}: {self.name}"


class Placement(db.Model):
    """Where a room or desk sits: x and y in percent of the plan's width and height.
    A resource sits on one plan at most (moving it to another floor moves the row)."""

    __tablename__ = "floor_plan_placement"
    __table_args__ = (
        CheckConstraint("x >= 0 AND x <= 100", name="x_in_plan"),
        CheckConstraint("y >= 0 AND y <= 100", name="y_in_plan"),
    )

    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True)
    floor_plan_id: Mapped[int] = mapped_column(ForeignKey("floor_plan.id", ondelete="CASCADE"), index=True)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)

    floor_plan: Mapped[FloorPlan] = relationship(back_populates="places")
    resource: Mapped[Resource] = relationship()
