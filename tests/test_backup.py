"""Backups that restore: SQLite's online backup API under writes, pg_dump/pg_restore."""

from __future__ import annotations

import glob
import os
import random
import shutil
import sqlite3
import subprocess
import threading
import uuid
from collections import Counter
from datetime import time

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from office.accounts.models import Agency, Role, User
from office.booking.models import Reservation
from office.core.backup import BackupError, backup_sqlite
from office.core.extensions import db
from office.premises.models import Resource, ResourceKind, Site
from tests.calendar_days import ordinary_days
from tests.conftest import BACKEND
from tests.deadlines import join_all, start_threads, wait_until
from wsgi import create_app

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`


def _book_until(app, stop: threading.Event, committed: list[int], refused: list[str],
                days: list) -> None:
    """Real bookings through office.booking.rules.book(), some clashing: a backup holds whole ones."""
    from office.booking import rules as booking
    from office.core.transaction import unit_of_work

    rng = random.Random(10)
    with app.app_context():
        try:
            user = db.session.scalar(select(User).where(User.role == Role.coordinator).limit(1))
            # Rooms anyone may book at Drivhuset (not the allocated-only office).
            rooms = db.session.scalars(select(Resource).join(Site).where(
                Site.name == "Drivhuset", Resource.kind == ResourceKind.room,
                Resource.allocated_only.is_(False)).order_by(Resource.id).limit(3)).all()
            while not stop.is_set():
                hour, minutes = rng.randrange(8, 16), rng.choice([0, 30])
                request = booking.BookingRequest(
                    resource=rng.choice(rooms), title="Skrivare", first_day=rng.choice(days),
                    start_time=time(hour, minutes), end_time=time(hour + 1, minutes),
                    booked_by=user, attendees=1)
                try:
                    with unit_of_work():  # as the request would commit it
                        committed.append(booking.book(request).id)
                except booking.BookingRefused as error:
                    refused.append(str(error))
        finally:
            stop.set()  # a failed writer must not leave the test waiting
            db.session.remove()


OVERLAPS = """
    SELECT count(*) FROM reservation_occurrence a JOIN reservation_occurrence b
      ON a.resource_id = b.resource_id AND a.id < b.id
     AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
     WHERE a.state = 'active' AND b.state = 'active'
"""


@pytest.mark.skipif(BACKEND != "sqlite", reason="the SQLite backup (PostgreSQL: pg_dump below)")
@pytest.mark.timeout(300)  # many requests or threads: slow on a busy machine
def test_backup_of_a_live_sqlite_database_restores(app, tmp_path):
    seeded = app.test_cli_runner().invoke(args=["seed-demo"])
    assert seeded.exit_code == 0, seeded.output
    db.session.commit()  # the command's last read must not keep SQLite's write lock
    stop, committed, refused = threading.Event(), [], []
    days = ordinary_days(10, days_ahead=30)
    (writer,) = start_threads(_book_until, [(app, stop, committed, refused, days)])

    def booked(count: int):
        return lambda: len(committed) >= count or stop.is_set()

    def writer_state() -> str:
        return (f"the writer booked {len(committed)} on {days[0]}..{days[-1]}, stopped: "
                f"{stop.is_set()}; refused most: {Counter(refused).most_common(2)}")

    try:
        wait_until(booked(20), 120, writer_state)
        assert len(committed) >= 20, writer_state()
        result = app.test_cli_runner().invoke(args=["backup-sqlite", str(tmp_path / "backup.sqlite3")])
        during = len(committed)
        wait_until(booked(during + 20), 120, writer_state)  # the writer carries on after the backup
    finally:
        stop.set()
        join_all([writer], 60, "the booking writer")
    assert result.exit_code == 0, result.output
    assert "integrity check ok" in result.output
    assert refused, "the writer should also have met taken times"

    # Restore: the backup file becomes the database of a fresh installation.
    restored = tmp_path / "restored" / "samlokal.sqlite3"
    restored.parent.mkdir()
    shutil.copyfile(tmp_path / "backup.sqlite3", restored)
    with sqlite3.connect(restored) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        bookings = conn.execute("SELECT count(*) FROM reservation WHERE title = 'Skrivare'").fetchone()[0]
        occurrences = conn.execute(
            "SELECT count(*) FROM reservation_occurrence o JOIN reservation r"
            " ON r.id = o.reservation_id WHERE r.title = 'Skrivare'").fetchone()[0]
        audited = conn.execute("SELECT count(*) FROM audit_entry WHERE action = 'create'"
                               " AND object_type = 'reservation'").fetchone()[0]
        overlaps = conn.execute(OVERLAPS).fetchone()[0]
        demo_users = conn.execute("SELECT count(*) FROM user_account").fetchone()[0]
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    conn.close()
    assert 20 <= bookings <= len(committed) and occurrences == bookings  # whole bookings only
    assert audited >= bookings  # each with its audit entry (same transaction)
    assert overlaps == 0
    assert demo_users >= 18 and revision is not None
    # The restored copy is a working database: the app opens it and reads the bookings.
    copy = create_app({**app.config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{restored}"})
    with copy.app_context():
        assert db.session.scalar(select(func.count()).select_from(Reservation).where(
            Reservation.title == "Skrivare")) == bookings
        db.session.remove()
        db.engine.dispose()


def test_backup_refuses_to_overwrite_and_leaves_no_partial_file(tmp_path):
    database = tmp_path / "db.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    (tmp_path / "taken.sqlite3").write_text("an older backup")
    with pytest.raises(BackupError, match="exists already"):
        backup_sqlite(database, tmp_path / "taken.sqlite3")
    with pytest.raises(BackupError, match="no SQLite database"):
        backup_sqlite(tmp_path / "missing.sqlite3", tmp_path / "new.sqlite3")
    assert backup_sqlite(database, tmp_path / "new.sqlite3").size_bytes > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db.sqlite3", "new.sqlite3", "taken.sqlite3"]


@pytest.mark.skipif(BACKEND != "postgresql", reason="backup-sqlite is for SQLite only")
def test_backup_sqlite_command_refuses_postgresql(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["backup-sqlite", str(tmp_path / "b.sqlite3")])
    assert result.exit_code != 0 and "pg_dump" in result.output


def _pg_tool(name: str) -> str:
    candidates = [os.path.join(os.environ.get("PG_BIN", ""), name),
                  *sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)]
    return next(path for path in candidates if os.path.isfile(path))


@pytest.mark.skipif(BACKEND != "postgresql", reason="pg_dump and pg_restore")
def test_pg_dump_restores_into_a_fresh_database(app, database_url, tmp_path):
    app.test_cli_runner().invoke(args=["seed-demo"])
    url = make_url(database_url)
    connection = ["-h", url.host, "-p", str(url.port), "-U", url.username]
    dump = tmp_path / "samlokal.dump"
    subprocess.run([_pg_tool("pg_dump"), *connection, "-Fc", "-f", str(dump), url.database],
                   check=True, capture_output=True, timeout=300)

    fresh = f"samlokal_restore_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(os.environ["SAMLOKAL_TEST_PG_URL"], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{fresh}"'))
    restored = sa.create_engine(url.set(database=fresh))
    try:
        subprocess.run([_pg_tool("pg_restore"), *connection, "--no-owner", "--exit-on-error",
                        "-d", fresh, str(dump)], check=True, capture_output=True, timeout=300)
        tables = [t for t in db.metadata.sorted_tables] + [sa.table("alembic_version")]
        count = lambda conn, t: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
        with db.engine.connect() as original, restored.connect() as copy:
            counts = {t.name: (count(original, t), count(copy, t)) for t in tables}
            # Sequences came along: the next agency id follows the restored ones.
            next_id = copy.execute(sa.text("SELECT nextval(pg_get_serial_sequence('agency', 'id'))")).scalar()
        assert counts["user_account"][0] >= 18 and counts["alembic_version"] == (1, 1)
        assert all(before == after for before, after in counts.values()), counts
        assert next_id == db.session.scalar(sa.select(sa.func.max(Agency.id))) + 1
    finally:
        restored.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
        admin.dispose()
