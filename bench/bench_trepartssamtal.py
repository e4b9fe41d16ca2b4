"""Trepartssamtal proposals and booking: p50/p95 on SQLite and on a throwaway PostgreSQL.

Three participants with about 25 bookings each per week, 10 rooms that are busy about
40 % of the day, a window of 10 working days on a 15-minute grid.
Targets (issue 6): proposals p50 < 50 ms, booking a proposal p50 < 20 ms.
Run: .venv/bin/python bench/bench_trepartssamtal.py  (PG_PORT picks the PostgreSQL port).
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time as clock
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

os.environ["SAMLOKAL_NO_MODULE_APP"] = "1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from office.core.clock import machine_now  # noqa: E402

STOCKHOLM = ZoneInfo("Europe/Stockholm")
FIRST_DAY = date(2027, 2, 1)  # a Monday; two working weeks without public holidays
NOW = datetime(2027, 1, 25, 6, 0, tzinfo=timezone.utc)
RUNS = 40


def seed(db, models):
    from office.premises.rules import set_standard_opening_hours

    rng = random.Random(6)
    af, kommun, fk = (models.Agency(name=n, short_name=s) for n, s in
                      [("Arbetsförmedlingen", "AF"), ("Oxelösunds kommun", "Kommunen"), ("Försäkringskassan", "FK")])
    site = models.Site(name="Drivhuset")
    set_standard_opening_hours(site, time(7, 30), time(17, 0))
    rooms = [models.Resource(site=site, name=f"Rum {i}", kind=models.ResourceKind.room,
                             capacity=4 + i % 4, is_conversation_room=i < 4, accessible=i % 2 == 0)
             for i in range(10)]
    people = [models.User(email=f"p{i}@example.org", name=f"P{i}", agency=a, password_hash="x")
              for i, a in enumerate([af, kommun, fk])]
    outsider = models.User(email="o@example.org", name="O", agency=af, password_hash="x")
    desks = [models.Resource(site=site, name=f"Eget {i}", kind=models.ResourceKind.desk, capacity=1)
             for i in range(3)]
    db.session.add_all([af, kommun, fk, site, *rooms, *people, outsider, *desks])
    db.session.flush()

    def add(resource, user, day, start_minute, minutes):
        start = datetime.combine(day, time(start_minute // 60, start_minute % 60), STOCKHOLM)
        end = start + timedelta(minutes=minutes)
        reservation = models.Reservation(resource=resource, title="Möte", booked_by=user,
                                         agency_id=user.agency_id, first_day=day,
                                         start_time=start.time(), end_time=end.time())
        reservation.occurrences = [models.ReservationOccurrence(
            resource_id=resource.id, starts_at=start, ends_at=end, original_start=start)]
        db.session.add(reservation)

    for offset in range(14):
        day = FIRST_DAY + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for person, desk in zip(people, desks):  # five meetings a day: 25 a week
            for slot in sorted(rng.sample(range(8, 16), 5)):
                add(desk, person, day, slot * 60 + rng.choice([0, 15]), rng.choice([30, 45]))
        for room in rooms:  # about 40 % busy
            for hour in range(8, 17, 2):
                if rng.random() < 0.8:
                    add(room, outsider, day, hour * 60, 60)
    db.session.commit()
    return people, site


def measure(url: str) -> dict:
    from types import SimpleNamespace

    from flask_migrate import upgrade

    from office.accounts.models import Agency, User
    from office.booking.models import Reservation, ReservationOccurrence
    from office.core.extensions import db
    from office.premises.models import Resource, ResourceKind, Site
    from office.trepartssamtal import rules as meetings
    from office.trepartssamtal.models import MeetingStatus
    from wsgi import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        upgrade()
        models = SimpleNamespace(Agency=Agency, User=User, Reservation=Reservation,
                                 ReservationOccurrence=ReservationOccurrence, Resource=Resource,
                                 ResourceKind=ResourceKind, Site=Site, MeetingStatus=MeetingStatus)
        people, site = seed(db, models)

        def search():
            return meetings.Search(participants=people, booked_by=people[0], first_day=FIRST_DAY,
                                   last_day=FIRST_DAY + timedelta(days=11), site=site, minutes=60,
                                   buffer_minutes=15)

        propose, book = [], []
        for _ in range(RUNS):
            started = clock.perf_counter()
            proposals = meetings.find_proposals(search(), now=NOW, limit=6)  # what the page shows
            propose.append((clock.perf_counter() - started) * 1000)
            db.session.commit()
        consent = meetings.ConsentInput(True, date(2027, 1, 20), {p.agency_id for p in people})
        for i in range(RUNS):
            # Spread the bookings over the window as case workers would (not all on Monday).
            key = meetings.find_proposals(search(), now=NOW, limit=1,
                                          not_before=NOW + timedelta(days=7 + i % 12))
            db.session.commit()
            if not key:
                break
            started = clock.perf_counter()
            meeting = meetings.book_proposal(search(), key[0].key, reference=f"AB-{i}",
                                             consent=consent, now=NOW)
            book.append((clock.perf_counter() - started) * 1000)
            # Free the time again so every run books into the same realistic calendar.
            meetings.cancel_meeting(meeting, people[0], models.MeetingStatus.cancelled_by_staff, now=NOW)
        db.session.remove()
        db.engine.dispose()
    return {"proposals": propose, "booking": book, "count": len(proposals)}


def report(name: str, figures: dict) -> None:
    for what in ("proposals", "booking"):
        values = sorted(figures[what])
        p95 = values[int(len(values) * 0.95) - 1]
        print(f"{name:<11} {what:<10} n={len(values):<3} p50={statistics.median(values):6.1f} ms "
              f"p95={p95:6.1f} ms")
    from bench.summary import record

    record(f"trepartssamtal proposals ({name})", statistics.median(figures["proposals"]), limit=50)
    record(f"trepartssamtal booking ({name})", statistics.median(figures["booking"]), limit=20)


def with_postgresql(run):
    port = os.environ.get("PG_PORT", "54335")
    env = dict(os.environ, PG_PORT=port)
    started = subprocess.run(["bash", "-c", "source .ci/postgres.sh; pg_start; echo \"$PG_DIR $PG_BIN\""],
                             cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    pg_dir, pg_bin = started.stdout.split()
    try:
        return run(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres")
    finally:
        subprocess.run(["bash", "-c", f"source .ci/postgres.sh; PG_DIR={pg_dir}; PG_BIN={pg_bin}; pg_stop"],
                       cwd=ROOT, env=env, check=False)


if __name__ == "__main__":
    print(f"# trepartssamtal bench {machine_now():%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        report("SQLite", measure(f"sqlite:///{tmp}/bench.sqlite3"))
    report("PostgreSQL", with_postgresql(measure))
