"""Connection settings: SQLite pragmas and locking, aware UTC timestamps."""

from __future__ import annotations

import threading
import time as time_module
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from office.accounts.models import Agency
from office.core.database import read_only
from office.core.extensions import db
from tests.conftest import BACKEND
from tests.deadlines import join_all, start_threads

sqlite_only = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite connection settings")


@sqlite_only
def test_sqlite_pragmas(app):
    assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert db.session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


@sqlite_only
def test_sqlite_write_transactions_begin_immediate(app):
    """A writer holds the lock from its first read, so a second writer waits for it."""
    order: list[str] = []
    first_has_read = threading.Event()

    def writer(name: str, pause: float):
        with app.app_context():
            with db.engine.connect() as conn:
                with conn.begin():
                    conn.execute(text("SELECT count(*) FROM agency")).scalar()
                    order.append(f"{name} read")
                    if name == "first":
                        first_has_read.set()
                    time_module.sleep(pause)
                    conn.execute(text("INSERT INTO agency (name, short_name, colour, created_at) "
                                      "VALUES (:n, :n, '#000000', '2026-01-01 00:00:00')"), {"n": name})
                    order.append(f"{name} wrote")

    (first,) = start_threads(writer, [("first", 0.3)])
    assert first_has_read.wait(30), "the first writer never read"
    (second,) = start_threads(writer, [("second", 0)])
    join_all([first, second], 60, "two writers")
    # With a deferred BEGIN the second would read while the first slept.
    assert order == ["first read", "first wrote", "second read", "second wrote"]


@sqlite_only
def test_sqlite_reads_do_not_take_the_write_lock(app):
    with read_only():
        with db.engine.connect() as reader:
            with reader.begin():
                reader.execute(text("SELECT count(*) FROM agency")).scalar()
                # A writer can still commit while the reader's transaction is open (WAL).
                with db.engine.connect() as writer, writer.begin():
                    writer.execute(text("INSERT INTO agency (name, short_name, colour, created_at) "
                                        "VALUES ('w', 'w', '#000000', '2026-01-01 00:00:00')"))


def test_timestamps_come_back_aware_utc(app):
    local = datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("Europe/Stockholm"))
    agency = Agency(name="Tz", short_name="TZ", created_at=local)
    db.session.add(agency)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Agency, agency.id).created_at
    assert stored.tzinfo is not None
    # 02:30 on the night DST ends is ambiguous; Python's fold=0 means the first (CEST).
    assert stored == datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)
    assert stored.timestamp() == local.timestamp() and stored.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(app):
    db.session.add(Agency(name="Naive", short_name="NV", created_at=datetime(2026, 1, 1)))
    with pytest.raises(Exception, match="naive datetime"):
        db.session.commit()
    db.session.rollback()


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL connection settings")
def test_postgresql_uses_psycopg3_with_pre_ping(app):
    assert db.engine.dialect.driver == "psycopg"
    assert db.engine.pool._pre_ping
    assert db.session.execute(text("SHOW server_version")).scalar().startswith("15")
