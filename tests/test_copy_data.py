"""copy-data: an office's SQLite database carried over to PostgreSQL, row for row.

Needs a SQLite source and a PostgreSQL target whatever SAMLOKAL_TEST_DB says, so it runs in
both passes of `make test` (SAMLOKAL_TEST_PG_URL is set in both) on databases of its own.
"""

from __future__ import annotations

import os
import random
import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from office.accounts.models import Agency, Invitation, Role, User
from office.core import clock
from office.core.extensions import db
from office.core.models import RateLimitCounter
from office.premises.models import Closure, Site
from tests.conftest import _migrate, _test_config

PG_ADMIN_URL = os.environ.get("SAMLOKAL_TEST_PG_URL")
pytestmark = pytest.mark.skipif(not PG_ADMIN_URL, reason="needs SAMLOKAL_TEST_PG_URL (make test)")
STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def scratch_pg_database():
    """A fresh PostgreSQL database per call (migrated or not, as the test needs)."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    names = []

    def create() -> str:
        name = f"samlokal_copy_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        names.append(name)
        return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    yield create
    with admin.connect() as conn:
        for name in names:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def sqlite_office(tmp_path):
    """An office on SQLite: the Drivhuset demo plus generated history."""
    from wsgi import create_app

    url = f"sqlite:///{tmp_path}/office.sqlite3"
    _migrate(url)
    app = create_app(_test_config(url))
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
        add_history(random.Random(10))
        yield app
        db.session.remove()
        db.engine.dispose()


def add_history(rng: random.Random) -> None:
    """Rows with odd timestamps (DST nights, microseconds), gaps in the ids and Swedish text."""
    agencies = db.session.scalars(sa.select(Agency)).all()
    site = db.session.scalar(sa.select(Site).where(Site.name == "Drivhuset"))
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    users = []
    for n in range(400):
        moment = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 700), microseconds=rng.randrange(10**6))
        users.append(User(
            email=f"historik{n}@example.org", name=f"Åsa Ödmark-Ängström {n}",
            agency=rng.choice(agencies), role=rng.choice(list(Role)), password_hash="x" * 40,
            active=rng.random() > 0.2, locale=rng.choice([None, "sv", "en"]), created_at=moment,
            totp_last_step=rng.randrange(5),
            last_login_at=moment.astimezone(STOCKHOLM) if n % 3 else None,
            second_factor_since=datetime(2026, 10, 25, 2, 30, tzinfo=STOCKHOLM) if n % 50 == 0 else None,
        ))
    db.session.add_all(users)
    for day in range(300):
        db.session.add(Closure(site=site, day=date(2025, 1, 1) + timedelta(days=day * 2),
                               reason=rng.choice(["Röda dagen", "Planeringsdag", "Städning"])))
    db.session.flush()
    for user in users[:150]:
        db.session.add(Invitation(user=user, token_hash=uuid.uuid4().hex, created_by_id=users[-1].id,
                                  created_at=user.created_at, expires_at=user.created_at + timedelta(days=7),
                                  used_at=user.created_at + timedelta(hours=3) if rng.random() < 0.5 else None))
    for n in range(30):
        db.session.add(RateLimitCounter(key=f"LIMITER/10.0.0.{n}/auth.login", hits=n,
                                        expires_at=start + timedelta(seconds=n)))
    db.session.flush()
    for user in users[::7]:  # gaps: ids must be kept, not renumbered
        db.session.delete(user)
    db.session.commit()


def all_rows(engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            for table in db.metadata.sorted_tables
        }


def test_copy_to_postgresql_keeps_every_row(sqlite_office, scratch_pg_database):
    target_url = scratch_pg_database()
    _migrate(target_url)
    plain_url = target_url.replace("postgresql+psycopg://", "postgresql://")

    result = sqlite_office.test_cli_runner().invoke(args=["copy-data", "--to", plain_url])

    assert result.exit_code == 0, result.output
    assert "row counts verified" in result.output
    target = sa.create_engine(target_url)
    try:
        source_rows, target_rows = all_rows(db.engine), all_rows(target)
        assert len(source_rows["user_account"]) > 300 and len(source_rows["closure"]) == 300
        for table, rows in source_rows.items():
            assert target_rows[table] == rows, table
        # Instants and their UTC offsets survive; PostgreSQL really holds timestamptz.
        with target.connect() as conn:
            locked = conn.execute(sa.select(User.__table__.c.second_factor_since)
                                  .where(User.__table__.c.second_factor_since.is_not(None))).scalars().all()
            assert locked and all(t == datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc) for t in locked)
            assert conn.execute(sa.text(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_name = 'user_account' AND column_name = 'created_at'")).scalar() \
                == "timestamp with time zone"
        # The sequences were set: new rows get fresh ids after the copied ones.
        with target.begin() as conn:
            for table, values in [
                (Agency.__table__, {"name": "Ny aktör", "short_name": "NY", "colour": "#000000",
                                    "created_at": clock.now()}),
                (Closure.__table__, {"site_id": source_rows["site"][0].id, "day": date(2030, 1, 1),
                                     "reason": "Ny"}),
            ]:
                new_id = conn.execute(sa.insert(table).values(**values).returning(table.c.id)).scalar()
                assert new_id == max(row.id for row in source_rows[table.name]) + 1, table.name
    finally:
        target.dispose()


def test_copy_refuses_a_target_that_is_not_empty(sqlite_office, scratch_pg_database):
    target_url = scratch_pg_database()
    _migrate(target_url)
    runner = sqlite_office.test_cli_runner()
    assert runner.invoke(args=["copy-data", "--to", target_url]).exit_code == 0

    again = runner.invoke(args=["copy-data", "--to", target_url])

    assert again.exit_code != 0
    assert "not empty" in again.output and "Nothing was copied" in again.output


def test_copy_refuses_a_target_that_is_not_migrated(sqlite_office, scratch_pg_database):
    result = sqlite_office.test_cli_runner().invoke(args=["copy-data", "--to", scratch_pg_database()])
    assert result.exit_code != 0
    assert "not migrated" in result.output and "db upgrade" in result.output
