"""Finding a free room or desk at Drivhuset (20 resources), on SQLite and PostgreSQL.

Prints, per database, p50 (and p90) and the number of SQL statements of
- the search for one hour that has free rooms and desks (office.booking.find_free.find_free),
- the search where nothing fits, which goes on to the nearest times that day and the next
  open days,
- a desk for the whole day,
next to the bare range query of the day's occurrences of all 20 resources (the one query a
search cannot do without), and the same checks made one resource at a time without
preloaded_checks() (what the search would cost calling check_booking() naively).

The demo data (Drivhuset, its agencies, allocations and meeting series) plus ~12 weeks of
bookings: each resource about half booked, in one- and two-hour blocks.

    .venv/bin/python bench/bench_find_free.py          # SQLite; PostgreSQL too with
    SAMLOKAL_BENCH_PG_URL=postgresql://... (make bench sets it)
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("SAMLOKAL_NO_MODULE_APP", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event, insert, select  # noqa: E402

from bench._common import percentile as p  # noqa: E402
from bench._common import timed_ms as timed  # noqa: E402

ZONE = ZoneInfo("Europe/Stockholm")
RUNS = int(os.environ.get("BENCH_RUNS", "100"))
WEEKS = 12


def count_statements(db, fn) -> int:
    count = 0

    def counter(*_args):
        nonlocal count
        count += 1

    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)
    return count


def make_app(url):
    from flask_migrate import upgrade

    from wsgi import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "RATELIMIT_ENABLED": False, "PASSWORD_HASH_TIME_COST": 1,
                      "PASSWORD_HASH_MEMORY_COST": 8})
    with app.app_context():
        upgrade()
    return app


def open_weekday(day: date) -> date:
    from office.premises.rules import public_holiday

    while day.weekday() > 4 or public_holiday(day):
        day += timedelta(days=1)
    return day


def seed(db, first: date, busy_day: date) -> None:
    """Drivhuset's demo, then every resource about half booked for WEEKS weeks from `first`;
    on `busy_day` the two rooms for nine or more are taken 08:00–13:00."""
    from office.accounts.models import User
    from office.booking.models import Reservation, ReservationOccurrence
    from office.demo.seed import seed_demo
    from office.premises.models import Resource

    seed_demo()
    rng = random.Random(16)
    user_ids = list(db.session.scalars(select(User.id)))
    resources = db.session.scalars(select(Resource)).all()
    taken = {(o.resource_id, o.starts_at) for o in db.session.scalars(select(ReservationOccurrence))}
    reservations, occurrences = [], []
    for offset in range(WEEKS * 7):
        day = first + timedelta(days=offset)
        if day.weekday() > 4:
            continue
        for resource in resources:
            hour = 8
            while hour < 17:
                length = rng.choice((1, 1, 2))
                big = resource.capacity >= 9 and day == busy_day
                if big and hour < 13:
                    length = 13 - hour
                if (big and hour < 13 or rng.random() < 0.5) and hour + length <= 17:
                    starts = datetime.combine(day, time(hour), ZONE).astimezone(timezone.utc)
                    ends = datetime.combine(day, time(hour + length), ZONE).astimezone(timezone.utc)
                    if (resource.id, starts) not in taken:
                        reservations.append(dict(
                            resource_id=resource.id, title="Bokning", attendees=1,
                            booked_by_id=rng.choice(user_ids), timezone="Europe/Stockholm",
                            first_day=day, start_time=time(hour), end_time=time(hour + length)))
                        occurrences.append((resource.id, starts, ends))
                hour += length
    ids = db.session.execute(insert(Reservation).returning(Reservation.id), reservations).scalars().all()
    db.session.execute(insert(ReservationOccurrence), [
        dict(reservation_id=rid, resource_id=r, starts_at=s, ends_at=e, original_start=s)
        for rid, (r, s, e) in zip(ids, occurrences)])
    db.session.commit()
    print(f"  seeded {len(occurrences)} bookings over {WEEKS} weeks for {len(resources)} resources")


def run(url: str, label: str) -> None:
    from office.accounts.models import User
    from office.booking import rules as booking
    from office.booking.find_free import FreeSearch, find_free
    from office.booking.models import ReservationOccurrence
    from office.core.extensions import db
    from office.premises.models import Resource, Site

    app = make_app(url)
    print(f"\n{label}")
    with app.app_context(), app.test_request_context():
        from office.core.i18n import today_local

        first = open_weekday(today_local() + timedelta(days=7))
        day = open_weekday(first + timedelta(days=14))
        seed(db, first, day)
        now = datetime.combine(first, time(0), ZONE).astimezone(timezone.utc)
        site = db.session.scalar(select(Site).where(Site.name == "Drivhuset"))
        user = db.session.scalar(select(User).where(User.email == "sara.berg@drivhuset.example"))
        resources = db.session.scalars(select(Resource).where(Resource.site_id == site.id)).all()
        ids = [r.id for r in resources]
        start = datetime.combine(day, time(0), ZONE).astimezone(timezone.utc)
        end = start + timedelta(days=1)

        def bare():
            occurrence = ReservationOccurrence
            db.session.execute(select(occurrence.resource_id, occurrence.starts_at, occurrence.ends_at)
                               .where(occurrence.resource_id.in_(ids), occurrence.starts_at < end,
                                      occurrence.ends_at > start)).all()

        searches = {
            "an hour, free rooms and desks": FreeSearch(site=site, day=day, start_time=time(10),
                                                        end_time=time(11)),
            "nothing fits: the nearest times": FreeSearch(site=site, day=day, start_time=time(10),
                                                          end_time=time(12), people=9, screen=True),
            "a desk for the whole day": FreeSearch(site=site, day=day, whole_day=True, kind="desk"),
        }

        def naive():
            for resource in resources:
                booking.check_booking(booking.BookingRequest(
                    resource=resource, title="x", first_day=day, start_time=time(10),
                    end_time=time(11), booked_by=user), now=now)

        bare_ms = timed(bare, RUNS)
        b50 = statistics.median(bare_ms)
        print(f"  {'bare: the day of 20 resources, 1 query':<40} p50 {b50:7.2f} ms  p90 {p(bare_ms, 90):7.2f} ms"
              f"  {count_statements(db, bare):3d} statements")
        for name, search in searches.items():
            answer = find_free(search, user, now=now)
            samples = timed(lambda s=search: find_free(s, user, now=now), RUNS)
            o50 = statistics.median(samples)
            queries = count_statements(db, lambda s=search: find_free(s, user, now=now))
            print(f"  {name:<40} p50 {o50:7.2f} ms  p90 {p(samples, 90):7.2f} ms  {queries:3d} statements"
                  f"  ({o50 / b50:5.1f}x bare; {len(answer.free)} free, "
                  f"{len(answer.earlier) + len(answer.later) + len(answer.other_days)} other times)")
        samples = timed(naive, RUNS)
        print(f"  {'naive: check_booking per resource':<40} p50 {statistics.median(samples):7.2f} ms"
              f"  p90 {p(samples, 90):7.2f} ms  {count_statements(db, naive):3d} statements"
              "  (one hour only, no nearest times)")
        db.session.remove()
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    print(f"find free at Drivhuset: {RUNS} runs each; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        run(f"sqlite:///{folder}/bench.sqlite3", "SQLite")
    pg = os.environ.get("SAMLOKAL_BENCH_PG_URL")
    if pg:
        from sqlalchemy.engine import make_url

        admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text('DROP DATABASE IF EXISTS "bench_find_free" WITH (FORCE)'))
            conn.execute(sa.text('CREATE DATABASE "bench_find_free"'))
        admin.dispose()
        run(make_url(pg).set(database="bench_find_free").render_as_string(hide_password=False),
            "PostgreSQL")


if __name__ == "__main__":
    main()
