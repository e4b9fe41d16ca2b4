"""Rate-limit counters in the app's own database, so every app server counts together.

Flask-Limiter keeps its counters in a `limits` storage. `memory://` lives in one process:
behind several gunicorn workers or machines each would count alone and an attacker gets
N times the allowance. Redis would fix that but is one more service to run; the database
is already shared by every server, so the default storage (`samlokal+db://`) keeps the
counters in the table `rate_limit_counter`. `memory://` and `redis://...` stay selectable
through RATELIMIT_STORAGE_URI.

Only the fixed-window strategy (Flask-Limiter's default) is supported: one row per window,
incremented with an atomic upsert (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`) on
both SQLite and PostgreSQL. Windows are elapsed time, which `limits` compares with
the machine's time: they run on `clock.machine_now()`, not on the app's clock.

The storage works on the database of the current Flask app (`db.engine`) on its own short
transaction, never on the request's session: a counter must stick even when the request
rolls back.

SQLite has one write lock per file, and a POST request's own session takes it when it reads
(office/core/database.py). Flask-Limiter counts a failed login in `after_request`, after the view
has committed; if rendering the answer loaded something (the logged-in user) the request
holds the lock again, and the counter would wait for its own request. So on SQLite the
request's leftover transaction is ended first: teardown would discard it anyway.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import timedelta

from flask import has_request_context
from limits.storage import Storage
from sqlalchemy import case, delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from office.core import clock
from office.core.database import UTCDateTime, read_only
from office.core.extensions import db
from office.core.models import RateLimitCounter

SCHEME = "samlokal+db"
# Expired windows are deleted every this many increments of a process (keeps the table small).
PURGE_EVERY = 200
_MAX_KEY = 255


def storage_key(key: str) -> str:
    """Keys fit the column: long ones (odd key functions, IPv6) keep a readable head and a hash."""
    if len(key) <= _MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[:_MAX_KEY - len(digest) - 1]}#{digest}"


def _end_request_read_transaction(engine) -> None:
    """On SQLite, let go of the write lock the request's session took for a read."""
    if engine.dialect.name != "sqlite" or not has_request_context():
        return
    session = db.session()
    if not session.in_transaction():
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a rate limit was counted inside an unfinished change; commit first")
    session.rollback()


class DatabaseStorage(Storage):
    """A `limits` storage backed by the `rate_limit_counter` table."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._increments = itertools.count(1)

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the window of `key`, starting a new window if the old one expired."""
        table = RateLimitCounter.__table__
        now = clock.machine_now()
        new_expiry = literal(now + timedelta(seconds=expiry), UTCDateTime())
        engine = db.engine
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        expired = table.c.expires_at <= now
        statement = (
            dialect.insert(table)
            .values(key=storage_key(key), hits=amount, expires_at=new_expiry)
            .on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "hits": case((expired, amount), else_=table.c.hits + amount),
                    "expires_at": case((expired, new_expiry), else_=table.c.expires_at),
                },
            )
            .returning(table.c.hits)
        )
        _end_request_read_transaction(engine)
        with engine.begin() as connection:
            hits = connection.execute(statement).scalar_one()
            if next(self._increments) % PURGE_EVERY == 0:
                connection.execute(delete(table).where(table.c.expires_at <= now))
        return hits

    def get(self, key: str) -> int:
        table = RateLimitCounter.__table__
        query = select(table.c.hits).where(
            table.c.key == storage_key(key), table.c.expires_at > clock.machine_now()
        )
        with read_only(), db.engine.connect() as connection:
            return connection.execute(query).scalar() or 0

    def get_expiry(self, key: str) -> float:
        table = RateLimitCounter.__table__
        query = select(table.c.expires_at).where(table.c.key == storage_key(key))
        with read_only(), db.engine.connect() as connection:
            expires_at = connection.execute(query).scalar()
        return expires_at.timestamp() if expires_at is not None else clock.machine_now().timestamp()

    def check(self) -> bool:
        try:
            with read_only(), db.engine.connect() as connection:
                connection.execute(select(literal(1))).scalar()
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with db.engine.begin() as connection:
            return connection.execute(delete(RateLimitCounter.__table__)).rowcount

    def clear(self, key: str) -> None:
        table = RateLimitCounter.__table__
        with db.engine.begin() as connection:
            connection.execute(delete(table).where(table.c.key == storage_key(key)))
