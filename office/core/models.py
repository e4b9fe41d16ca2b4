"""State the app servers share through the database instead of a process's memory."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from office.core.database import UTCDateTime
from office.core.extensions import db


class RateLimitCounter(db.Model):
    """One fixed-window counter of Flask-Limiter (see office/core/rate_limits.py)."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    # Indexed so the periodic purge of old windows does not scan the table.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
