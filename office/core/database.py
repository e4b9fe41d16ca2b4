"""Database plumbing shared by every model: aware UTC timestamps and SQLite's write locking.

SQLite serializes writers, but a plain deferred ``BEGIN`` lets two requests both read
"free" and then both insert. Transactions that may write therefore start with
``BEGIN IMMEDIATE``: the write lock is taken before the first read, so a
check-then-insert cannot interleave. Reads (GET/HEAD) keep a deferred ``BEGIN``
and run concurrently under WAL.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import BigInteger, DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator
from werkzeug.routing import IntegerConverter

from office.core import clock

SQLITE_BUSY_TIMEOUT_MS = 15_000

_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "samlokal_write_intent", default=True
)


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL stores ``timestamptz``; SQLite stores naive UTC text, which sorts and
    compares correctly because every value is normalised to UTC first.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware value")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class epoch_seconds(FunctionElement):  # an SQL function: named like func.*
    """Whole seconds since 1970-01-01 UTC of a UTCDateTime column, computed by the database.

    For reads of thousands of rows (the booking grid): a plain integer per row instead of a
    timestamp to parse and make aware in Python. Fractions of a second are dropped (floor),
    as a wall clock's seconds drop them.
    """

    type = BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds)
def _epoch_seconds(element, compiler, **kw):
    # date_trunc first: a whole number of seconds, exact as numeric or double precision.
    return (f"CAST(EXTRACT(EPOCH FROM date_trunc('second', {compiler.process(element.clauses, **kw)}))"
            f" AS BIGINT)")


@compiles(epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element, compiler, **kw):
    # Naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff': its first 19 characters are the whole
    # seconds (strftime on the full text would round 59.9999 s up to the next minute).
    return f"CAST(strftime('%s', substr({compiler.process(element.clauses, **kw)}, 1, 19)) AS INTEGER)"


# Primary keys are PostgreSQL `integer`; a larger number cannot name a row.
MAX_ID = 2**31 - 1


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` in URLs: ids beyond the database's range are 404, not a 500 from the driver."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def valid_id(value) -> int | None:
    """The value when it could name a row (1..MAX_ID), else None: query strings and forms
    that are read before validation must not send the driver a number it refuses."""
    return value if isinstance(value, int) and 0 < value <= MAX_ID else None


def utcnow() -> datetime:
    """Now, aware UTC, from the app's one clock (office/core/clock.py)."""
    return clock.now()


@contextmanager
def read_only():
    """Mark transactions begun inside as reads: SQLite starts them deferred."""
    token = _write_intent.set(False)
    try:
        yield
    finally:
        _write_intent.reset(token)


def set_write_intent(value: bool) -> contextvars.Token:
    return _write_intent.set(value)


def reset_write_intent(token: contextvars.Token) -> None:
    _write_intent.reset(token)


def configure_engine(engine: Engine) -> None:
    """Install the per-dialect connection settings on an engine."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, _record):
        # Take transaction control from the sqlite3 module so our BEGIN is the one used.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")
