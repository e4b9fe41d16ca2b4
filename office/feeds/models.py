"""Secret tokens that open private calendar feeds (office/feeds/tokens.py issues them).

Only the SHA-256 of a token is stored: a stolen database does not open anyone's feed.
A person may keep several tokens to one feed (one per device, each with a name). A
replaced or revoked token keeps its row with `revoked_at` set, so its URL answers 410
Gone (clients such as Thunderbird then stop polling) instead of 404.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.accounts.models import User
from office.core.database import UTCDateTime, utcnow
from office.core.extensions import db


class FeedToken(db.Model):
    __tablename__ = "feed_token"
    __table_args__ = (Index("ix_feed_token_owner", "user_id", "kind", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    # A feed kind registered with office.feeds.add_feed_kind ("personal", "resource", ...):
    # a plain string so features add kinds without a migration.
    kind: Mapped[str] = mapped_column(String(20))
    # The resource, agency (or other object) the feed shows; None for a personal feed.
    target_id: Mapped[int | None] = mapped_column(Integer)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The owner's name for the link ("Work phone"); None for links made before names.
    name: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class FeedRemoval(db.Model):
    """An item that left a feed by being deleted: its feed's stamp must move.

    Stamps are the latest change of what is there (office/feeds/render.py), in constant
    time; a deleted row leaves no change time behind, so its feeds get a row here (the
    bookings write it when a reservation is deleted, office/booking/feeds.py). The stamp
    reads the highest id per feed: one index lookup.
    """

    __tablename__ = "feed_removal"
    __table_args__ = (Index("ix_feed_removal_feed", "kind", "target_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))      # the feed kind ("personal", ...)
    target_id: Mapped[int] = mapped_column(Integer)   # its person, room or agency
    removed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
