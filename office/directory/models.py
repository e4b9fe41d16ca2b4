"""Who does what: each person's directory entry and each unit's description.

A person's name, agency, unit and account e-mail live on the account (office/accounts); the
directory adds what colleagues at the other agencies need to know to find the right person.
Which days someone is in the premises is derived (office/directory/rules.py), so only an
optional free-text override is stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.accounts.models import Unit, User
from office.core.database import UTCDateTime, utcnow
from office.core.extensions import db


class DirectoryEntry(db.Model):
    """One person's entry; absent row: nothing written yet (the person is still listed)."""

    __tablename__ = "directory_entry"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    # The role in the collaboration ("Jobbcoach, unga vuxna"); empty: the account's title.
    role: Mapped[str] = mapped_column(String(120), default="")
    help_with: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    # Empty: the account's e-mail.
    email: Mapped[str] = mapped_column(String(254), default="")
    other_contact: Mapped[str] = mapped_column(String(200), default="")
    # Replaces the derived days when set ("Tisdagar, och efter överenskommelse").
    days_override: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class UnitDescription(db.Model):
    """What a unit does, in a few sentences (written by its agency's admin)."""

    __tablename__ = "directory_unit"

    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship()
