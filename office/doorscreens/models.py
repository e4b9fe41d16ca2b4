"""A door screen: one secret device link that shows one room on a tablet by its door."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.accounts.models import User
from office.core.database import UTCDateTime, utcnow
from office.core.extensions import db
from office.premises.models import Resource


class DoorScreen(db.Model):
    """A device link made by the coordinator; revoked links keep their row (the URL says 410)."""

    __tablename__ = "door_screen"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"), index=True)
    # The coordinator's name for the device ("Tablet by Konferensrummet").
    name: Mapped[str] = mapped_column(String(60))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The screen hangs in a corridor visitors walk through: booking titles show only when the
    # coordinator says so (trepartssamtal never show anything but "reserved").
    show_titles: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    resource: Mapped[Resource] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
