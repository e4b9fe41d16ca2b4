"""State the app servers share through the database: rate-limit counters and the mail outbox."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from office.core.database import UTCDateTime, utcnow
from office.core.extensions import db


class RateLimitCounter(db.Model):
    """One fixed-window counter of Flask-Limiter (see office/core/rate_limits.py)."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    # Indexed so the periodic purge of old windows does not scan the table.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class MailStatus(str, enum.Enum):
    queued = "queued"
    sent = "sent"
    failed = "failed"  # gave up after MAIL_MAX_ATTEMPTS


class OutboxMail(db.Model):
    """A mail written in the same transaction as the change that causes it (office/core/mail.py).

    The subject is rendered when queued (in the recipient's language). Body and calendar
    file are too, unless the feature defers them: then `render_with` names a renderer
    (office/core/mail.py: `add_renderer`) and `render_args` holds what it needs, and the
    body is written after the commit (`render_queued`) or at the latest by the sender, so
    slow template work never runs under the caller's locks. No foreign keys: any feature
    may queue mail, and a mail outlives what it was about.
    """

    __tablename__ = "outbox_mail"
    __table_args__ = (Index("ix_outbox_mail_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    # What the mail is about, "<feature>:<id>" (e.g. "seminar:12"); names the .ics file.
    topic: Mapped[str | None] = mapped_column(String(100), index=True)
    # At most one mail per key, ever (e.g. one reminder per registration): queue_mail()
    # returns the existing row instead of adding another.
    topic_key: Mapped[str | None] = mapped_column(String(150), unique=True)
    recipient: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    ics: Mapped[str | None] = mapped_column(Text)
    # The iTIP method of the calendar file (REQUEST, CANCEL, PUBLISH); None: a plain file.
    ics_method: Mapped[str | None] = mapped_column(String(10))
    # Body and .ics still to be written: the renderer's name and its JSON arguments.
    render_with: Mapped[str | None] = mapped_column(String(50))
    render_args: Mapped[str | None] = mapped_column(Text)
    status: Mapped[MailStatus] = mapped_column(
        Enum(MailStatus, native_enum=False, length=10, validate_strings=True),
        default=MailStatus.queued)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A sender that claimed the mail holds it until then (a crashed sender's claim expires).
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
