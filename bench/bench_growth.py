"""Growth: the same work at 20,000, 200,000 and 2,000,000 occurrences (issue 20, item 6).

Each step measures the same subject while the table grows around it, so any change is
growth that is not the subject's own:
- the conflict check of one new booking (first in a request): the same 15 requests per
  round at every step, on the subject site's 50 rooms in February 2027, at a free hour,
  beside the bare bounded probe of the same slots;
- the week view of the subject site (50 rooms), the week of 8 February 2027: the same 2,000
  bookings in it at every step (and its occurrence query alone);
- the subject person's personal feed, 200 events (weekly series of four): cold (every
  feed cache emptied, so the feed is read and rendered), warm (unchanged, plain GET) and
  its 304 (conditional GET);
- the utilization report of the subject site for February 2027 (20 allocations; and its
  booked-intervals query alone).

The subject is 8,000 occurrences: 50 rooms x 5 weekdays x 8 one-hour bookings, four weeks
of February 2027. The growth is by 200 other people: first the 150 rooms of a second site
in the same four weeks (24,000 occurrences: the subject's weeks are not empty elsewhere),
then weekly series of ten on all 200 rooms, the subject's too, in blocks of ten weeks
alternately after and before February 2027 (March 2027 first, then January 2027, ...): at
2M it spans about five years, so every range query must be bounded on both sides.

    .venv/bin/python bench/bench_growth.py           # 20k, 200k, 2M; SQLite and PostgreSQL
    .venv/bin/python bench/bench_growth.py --quick   # 10k and 100k, two rounds
    BENCH_GROWTH_STEPS=20000,60000 ... bench_growth.py  # any steps (the first >= 8,000)

Each step has its own database, seeded the same way and grown to its size; the steps are
then measured in turns, round after round, so each sees the same load on a shared machine.
PostgreSQL is measured when SAMLOKAL_BENCH_PG_URL names a server (.ci/bench starts a
throwaway one); its databases samlokal_growth_<step> are dropped at the end. SQLite is
seeded with plain executemany, PostgreSQL with COPY. SQLite runs without ANALYZE (the app never runs it,
so production plans come without sqlite_stat1); PostgreSQL is ANALYZEd after each step, as
autovacuum would after a bulk load.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import sys
import tempfile
import time as clock
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("SAMLOKAL_NO_MODULE_APP", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from office.core.clock import machine_now  # noqa: E402

QUICK = "--quick" in sys.argv
STEPS = (tuple(int(s) for s in os.environ["BENCH_GROWTH_STEPS"].split(","))
         if os.environ.get("BENCH_GROWTH_STEPS")
         else (10_000, 100_000) if QUICK else (20_000, 200_000, 2_000_000))
ROOMS, OTHER_ROOMS, COLLEAGUES, AGENCIES = 50, 150, 200, 6
HOURS = range(8, 16)
FIRST_MONDAY = date(2027, 2, 1)  # the subject month: four ordinary weeks, no holiday
SUBJECT_WEEKS = 4
SHOWN_WEEK = date(2027, 2, 8)
BLOCK_WEEKS = 10  # one growth reservation: a weekly series of ten
NOW = datetime(2027, 1, 1, tzinfo=timezone.utc)
ZONE = ZoneInfo("Europe/Stockholm")
UTC = timezone.utc
# Samples per step and round; the steps take turns round by round (see run()).
ROUNDS = 2 if QUICK else 6
RUNS = {"check": 15, "week": 2, "cold": 2, "warm": 8, "304": 50, "utilization": 3}
if QUICK:  # make bench-quick: the whole of it under two minutes
    RUNS = {"check": 10, "week": 1, "cold": 1, "warm": 5, "304": 30, "utilization": 2}
FIGURES = [  # key, label, whether it is an indexed lookup that must stay within 1.5x
    ("check", "conflict check, first in a request", True),
    ("probe", "  bare bounded probe (its floor)", True),
    ("week_cold", "week view, 50 rooms, 2,000 bookings, first view", True),
    ("week", "week view, the same seen before (cells cached)", True),
    ("week_query", "  its occurrence query alone", True),
    ("cold", "personal feed, 200 series, cold", True),
    ("warm", "personal feed, warm (unchanged GET)", True),
    ("304", "personal feed, 304", True),
    ("utilization", "utilization report, 50 rooms, a month", True),
    ("utilization_query", "  its booked-intervals query alone", True),
]


def timed_ms(function, repeat: int) -> list[tuple[float, float]]:
    """(wall, CPU) milliseconds per call. The CPU time of this process is what SQLite's
    figures are compared by: it is far less moved by the other work on a shared machine
    (PostgreSQL's own work is in another process, so its figures are wall time)."""
    samples = []
    for _ in range(repeat):
        wall, cpu = clock.perf_counter(), clock.process_time()
        function()
        samples.append(((clock.perf_counter() - wall) * 1000, (clock.process_time() - cpu) * 1000))
    return samples


def make_app(url: str):
    import logging

    from flask_migrate import upgrade

    from wsgi import create_app

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False, "PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_COST": 8,
        "BOOKING_HORIZON_DAYS": 2000, "SERVER_NAME": None,
        "BASE_URL": "https://samlokal.example.org", "FEED_RATE_LIMIT": "1000000 per minute",
    })
    logging.getLogger("samlokal.request").handlers = [logging.FileHandler(os.devnull)]
    logging.getLogger("samlokal.request").propagate = False
    logging.disable(logging.INFO)  # the migrations' log lines
    with app.app_context():
        upgrade()
    logging.disable(logging.NOTSET)
    return app


# --- data ------------------------------------------------------------------------------

def _starts(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), ZONE).astimezone(UTC)


def _reservation(rid, resource_id, booker, day, hour, count):
    return dict(id=rid, resource_id=resource_id, kind="booking", title=f"Möte {rid}",
                attendees=2, booked_by_id=booker[0], agency_id=booker[1],
                timezone="Europe/Stockholm", first_day=day, start_time=time(hour),
                end_time=time(hour + 1), rrule=f"FREQ=WEEKLY;COUNT={count}", sequence=0,
                created_at=NOW, updated_at=NOW)


def _occurrences(rid, resource_id, day, hour, count):
    rows = []
    for week in range(count):
        starts = _starts(day + timedelta(weeks=week), hour)
        rows.append(dict(reservation_id=rid, resource_id=resource_id, starts_at=starts,
                         ends_at=starts + timedelta(hours=1), original_start=starts,
                         state="active", updated_at=NOW))
    return rows


def growth_stream(rooms: list[int], bookers: list[tuple], first_id: int, subject_rooms: list[int]):
    """Reservations with their occurrences, nearest first: the other site's rooms in the
    subject's four weeks, then blocks of ten weeks on every room, after and before."""
    rid = first_id

    def weekly(monday: date, room_ids: list[int], weeks: int):
        """Each room's weekday bookings at HOURS, weekly for `weeks` from `monday`."""
        nonlocal rid
        for resource_id in room_ids:
            for weekday in range(5):
                for hour in HOURS:
                    day = monday + timedelta(days=weekday)
                    booker = bookers[rid % len(bookers)]
                    yield (_reservation(rid, resource_id, booker, day, hour, weeks),
                           _occurrences(rid, resource_id, day, hour, weeks))
                    rid += 1

    yield from weekly(FIRST_MONDAY, [r for r in rooms if r not in subject_rooms], SUBJECT_WEEKS)
    block = 0
    while True:
        for monday in (FIRST_MONDAY + timedelta(weeks=SUBJECT_WEEKS + BLOCK_WEEKS * block),
                       FIRST_MONDAY - timedelta(weeks=BLOCK_WEEKS * (block + 1))):
            yield from weekly(monday, rooms, BLOCK_WEEKS)
        block += 1


_SQLITE_FORMS: dict = {}  # a few thousand distinct moments, each formatted once


def _sqlite(value):
    """A value as SQLAlchemy stores it in SQLite (UTC datetimes are already UTC here)."""
    kind = type(value)
    if kind is not datetime and kind is not date and kind is not time:
        return value
    form = _SQLITE_FORMS.get(value)
    if form is None:
        if kind is datetime:
            form = value.strftime("%Y-%m-%d %H:%M:%S.%f")
        elif kind is date:
            form = value.isoformat()
        else:
            form = value.strftime("%H:%M:%S.%f")
        _SQLITE_FORMS[value] = form
    return form


class Loader:
    """Bulk insert: Core executemany on SQLite, COPY on PostgreSQL."""

    RESERVATION = ["id", "resource_id", "kind", "title", "attendees", "booked_by_id",
                   "agency_id", "timezone", "first_day", "start_time", "end_time", "rrule",
                   "sequence", "created_at", "updated_at"]
    OCCURRENCE = ["reservation_id", "resource_id", "starts_at", "ends_at", "original_start",
                  "state", "updated_at"]

    def __init__(self, db):
        self.db = db
        self.postgresql = db.engine.dialect.name == "postgresql"

    def insert(self, reservations: list[dict], occurrences: list[dict]) -> None:
        if not self.postgresql:
            # Plain executemany with the values already in SQLAlchemy's SQLite text form
            # (its bind processing took two thirds of the time); seed_subject() checks
            # that both forms are the same.
            connection = self.db.session.connection()
            for table, columns, rows in (("reservation", self.RESERVATION, reservations),
                                         ("reservation_occurrence", self.OCCURRENCE, occurrences)):
                connection.exec_driver_sql(
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})",
                    [tuple(_sqlite(row[c]) for c in columns) for row in rows])
            return
        cursor = self.db.session.connection().connection.driver_connection.cursor()
        for table, columns, rows in (("reservation", self.RESERVATION, reservations),
                                     ("reservation_occurrence", self.OCCURRENCE, occurrences)):
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[c] for c in columns])

    def finish(self) -> None:
        if self.postgresql:
            self.db.session.execute(sa.text(
                "SELECT setval('reservation_id_seq', (SELECT max(id) FROM reservation))"))
        self.db.session.commit()
        if self.postgresql:
            self.db.session.execute(sa.text("ANALYZE"))
            self.db.session.commit()


def seed_subject(db) -> dict:
    from office import feeds
    from office.accounts.models import Agency, Role, User
    from office.accounts.rules import hash_password
    from office.allocations import rules as allocations
    from office.core.transaction import unit_of_work
    from office.premises.models import Resource, ResourceKind, Site
    from office.premises.rules import set_standard_opening_hours

    with unit_of_work():
        agencies = [Agency(name=f"Myndighet {n}", short_name=f"M{n}", colour="#7a2e8c")
                    for n in range(AGENCIES)]
        person = User(email="bench@example.org", name="Bench Person", agency=agencies[0],
                      role=Role.coordinator, password_hash=hash_password("bench password"))
        colleagues = [User(email=f"c{n}@example.org", name=f"Kollega {n}",
                           agency=agencies[n % AGENCIES], role=Role.staff, password_hash="x")
                      for n in range(COLLEAGUES)]
        site, other = Site(name="Drivhuset"), Site(name="Campus")
        for place in (site, other):
            set_standard_opening_hours(place, time(7), time(18))
        site.resources = [Resource(name=f"Rum {n:02d}", kind=ResourceKind.room, capacity=8)
                          for n in range(ROOMS)]
        other.resources = [Resource(name=f"Campus {n:03d}", kind=ResourceKind.room, capacity=8)
                           for n in range(OTHER_ROOMS)]
        db.session.add_all([*agencies, person, *colleagues, site, other])
        db.session.flush()
        for index in range(20):
            allocations.create_allocations(allocations.AllocationSpec(
                agency=agencies[index % AGENCIES], resources=[site.resources[index]],
                weekdays=[0, 1, 2, 3, 4], start_time=time(8), end_time=time(16),
                first_day=FIRST_MONDAY, last_day=date(2027, 2, 28)), person)
        token = feeds.issue_token(person, "personal")
        rooms = [r.id for r in site.resources]
        everywhere = rooms + [r.id for r in other.resources]
        bookers = [(c.id, c.agency_id) for c in colleagues]
        subject = (person.id, person.agency_id)
        site_id, person_id = site.id, person.id
    loader = Loader(db)
    reservations, occurrences = [], []
    rid = 1
    for index, resource_id in enumerate(rooms):
        for weekday in range(5):
            for hour in HOURS:
                booker = subject if index % 10 == 0 else bookers[rid % COLLEAGUES]
                day = FIRST_MONDAY + timedelta(days=weekday)
                reservations.append(_reservation(rid, resource_id, booker, day, hour, SUBJECT_WEEKS))
                occurrences += _occurrences(rid, resource_id, day, hour, SUBJECT_WEEKS)
                rid += 1
    if loader.postgresql:
        loader.insert(reservations, occurrences)
    else:  # through SQLAlchemy's own bind processing, to compare with the fast path
        from office.booking.models import Reservation, ReservationOccurrence

        db.session.execute(sa.insert(Reservation.__table__), reservations)
        db.session.execute(sa.insert(ReservationOccurrence.__table__), occurrences)
        expected = db.session.execute(sa.text(
            "SELECT first_day, start_time, created_at FROM reservation WHERE id = 1")).one()
        assert tuple(expected) == tuple(_sqlite(reservations[0][c])
                                        for c in ("first_day", "start_time", "created_at"))
    loader.finish()
    return {"site_id": site_id, "person_id": person_id, "token": token, "rooms": rooms,
            "occurrences": len(occurrences),
            "stream": growth_stream(everywhere, bookers, first_id=rid, subject_rooms=rooms)}


def grow(db, world: dict, target: int) -> float:
    """Adds growth occurrences until the table holds `target`; returns the seconds taken."""
    started = clock.perf_counter()
    loader = Loader(db)
    reservations, occurrences = [], []
    while world["occurrences"] < target:
        reservation, rows = next(world["stream"])
        reservations.append(reservation)
        occurrences += rows
        world["occurrences"] += len(rows)
        if len(occurrences) >= 50_000:
            loader.insert(reservations, occurrences)
            reservations, occurrences = [], []
    if reservations:
        loader.insert(reservations, occurrences)
    loader.finish()
    return clock.perf_counter() - started


# --- measuring --------------------------------------------------------------------------

def measure(app, db, world: dict, number: int) -> dict:
    """One round of samples of every figure; round `number` asks the same at every step."""
    from office import feeds
    from office.accounts.models import User
    from office.allocations import utilization
    from office.booking import rules as booking
    from office.booking.rules import BookingRequest, occurrence_rows_between
    from office.premises.models import Resource, Site

    figures = {}
    client = app.test_client()
    assert client.post("/login", data={"email": "bench@example.org",
                                       "password": "bench password"}).status_code in (200, 302)
    with app.app_context():
        person = db.session.get(User, world["person_id"])
        resources = db.session.scalars(sa.select(Resource).where(
            Resource.id.in_(world["rooms"])).order_by(Resource.id)).all()
        rng = random.Random(20 + number)
        requests = [(rng.choice(resources), FIRST_MONDAY + timedelta(
            weeks=rng.randrange(SUBJECT_WEEKS), days=rng.randrange(5))) for _ in range(RUNS["check"])]

        def check(walk):
            resource, day = next(walk)
            db.session.info.pop("samlokal_transaction_memo", None)  # a new request
            result = booking.check_booking(BookingRequest(
                resource=resource, title="Ny", first_day=day, start_time=time(16),
                end_time=time(17), booked_by=person), now=NOW)
            assert result.ok, result.problems

        for _ in range(2):  # the first pass warms up; the second is timed
            walk = iter(requests)
            figures["check"] = timed_ms(lambda walk=walk: check(walk), len(requests))

        raw = db.engine.raw_connection()
        cursor = raw.cursor()
        postgresql = db.engine.dialect.name == "postgresql"
        mark = "%s" if postgresql else "?"
        probe = (f"SELECT starts_at, ends_at, reservation_id FROM reservation_occurrence "
                 f"WHERE resource_id = {mark}{'::integer' if postgresql else ''} AND "
                 f"state = 'active' AND starts_at < {mark} AND starts_at > {mark} "
                 f"AND ends_at > {mark} LIMIT 1")

        def param(moment):
            return moment if postgresql else moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        def bare_probe(walk):
            resource, day = next(walk)
            start = datetime.combine(day, time(16), ZONE)
            cursor.execute(probe, (resource.id, param(start + timedelta(hours=1)),
                                   param(start - timedelta(hours=10)), param(start)))
            assert not cursor.fetchall()
            raw.commit()

        walk = iter(requests)
        timed_ms(lambda: bare_probe(walk), len(requests))
        walk = iter(requests)
        figures["probe"] = timed_ms(lambda: bare_probe(walk), len(requests))
        cursor.close()
        raw.close()
        db.session.rollback()

        week = f"/bookings/?site={world['site_id']}&view=week&day={SHOWN_WEEK.isoformat()}"
        page = client.get(week)
        shown = page.get_data(as_text=True).count('<li class="booked')
        assert page.status_code == 200 and shown == ROOMS * 5 * len(HOURS), shown
        from office.booking import grid_cells

        def first_view():  # nothing of the week's HTML kept from before
            grid_cells.clear_cache()
            client.get(week).data

        figures["week_cold"] = timed_ms(first_view, RUNS["week"])
        client.get(week)
        figures["week"] = timed_ms(lambda: client.get(week).data, RUNS["week"])
        monday = datetime.combine(SHOWN_WEEK, time(0), ZONE)

        def week_query():
            rows = occurrence_rows_between(world["rooms"], monday, monday + timedelta(days=7))
            assert len(rows) == ROOMS * 5 * len(HOURS), len(rows)
            db.session.rollback()

        week_query()
        figures["week_query"] = timed_ms(week_query, RUNS["week"] * 4)

        feed = f"/feeds/{world['token']}.ics"

        def cold():
            feeds.clear_caches()
            response = client.get(feed)
            assert response.status_code == 200
            assert response.data.count(b"BEGIN:VEVENT") == 200

        cold()
        figures["cold"] = timed_ms(cold, RUNS["cold"])
        etag = client.get(feed).headers["ETag"]
        figures["warm"] = timed_ms(lambda: client.get(feed).data, RUNS["warm"])

        def not_modified():
            assert client.get(feed, headers={"If-None-Match": etag}).status_code == 304

        timed_ms(not_modified, 10)
        figures["304"] = timed_ms(not_modified, RUNS["304"])

        site = db.session.get(Site, world["site_id"])
        month = (FIRST_MONDAY, date(2027, 2, 28))

        def report():
            db.session.expire_all()
            result = utilization.utilization_report(site, *month)
            assert sum(r.own + r.by_others for r in result.rows) == 20 * 4 * 5 * 8, result.rows
            db.session.rollback()

        report()
        figures["utilization"] = timed_ms(report, RUNS["utilization"])
        start = datetime.combine(month[0], time(0), ZONE)
        end = datetime.combine(month[1] + timedelta(days=1), time(0), ZONE)
        allocated = world["rooms"][:20]

        def intervals():
            assert len(utilization.booked_intervals(allocated, start, end)) == 20 * 4 * 5 * 8
            db.session.rollback()

        intervals()
        figures["utilization_query"] = timed_ms(intervals, RUNS["utilization"] * 4)
    return figures


def plans(db, world: dict) -> None:
    """The plans of the range queries and the feed's, as the app sends them (caught)."""
    from flask import current_app
    from office.allocations import utilization
    from office.booking.rules import occurrence_rows_between

    caught = []

    def catch(conn, cursor, statement, parameters, context, executemany):
        caught.append((statement, parameters))

    monday = datetime.combine(SHOWN_WEEK, time(0), ZONE)
    start = datetime.combine(FIRST_MONDAY, time(0), ZONE)
    sa.event.listen(db.engine, "before_cursor_execute", catch)
    try:
        occurrence_rows_between(world["rooms"], monday, monday + timedelta(days=7))
        utilization.booked_intervals(world["rooms"][:20], start, start + timedelta(days=28))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", catch)
        db.session.rollback()
    named = list(zip(("week view", "utilization"), caught[-2:]))
    # The personal feed's statements run on a bare DB-API cursor (office/feeds/reader.py).
    from office import feeds
    from office.feeds import reader

    fetch, fed = reader._fetch, []

    def catch_feed(connection, statement, parameters):
        fed.append((statement, parameters))
        return fetch(connection, statement, parameters)

    reader._fetch = catch_feed
    try:
        feeds.clear_caches()
        client = current_app.test_client()
        assert client.get(f"/feeds/{world['token']}.ics").status_code == 200
    finally:
        reader._fetch = fetch
    kinds = ("token", "feed stamp (UNION ALL)", "feed reservations")
    named += [(f"{kind}", query) for kind, query in zip(kinds, fed)]
    sqlite = db.engine.dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
    with db.engine.connect() as conn:
        for name, (statement, parameters) in named:
            if isinstance(parameters, list):
                parameters = tuple(parameters)
            rows = [str(r[-1]).strip() for r in conn.exec_driver_sql(prefix + statement, parameters)]
            if not sqlite:  # the access paths only
                rows = [r for r in rows if "Scan" in r or "Index Cond" in r]
            print(f"  plan, {name}: " + "; ".join(rows))


# --- running ----------------------------------------------------------------------------

def run(label: str, url_for) -> dict:
    """One database per step, each the same subject grown to its size; then ROUNDS rounds
    in which every step is measured in turn, so all steps see the same machine load (the
    machine is shared: measuring the steps one after the other mixed load with growth)."""
    from office.core.extensions import db

    print(f"\n== {label} ==", flush=True)
    apps, worlds = {}, {}
    for step in STEPS:
        app = apps[step] = make_app(url_for(step))
        with app.app_context():
            started = clock.perf_counter()
            world = worlds[step] = seed_subject(db)
            grow(db, world, step)
            count = db.session.scalar(sa.text("SELECT count(*) FROM reservation_occurrence"))
            reservations = db.session.scalar(sa.text("SELECT count(*) FROM reservation"))
            db.session.rollback()
        print(f"  {count:,} occurrences ({reservations:,} reservations), seeded in "
              f"{clock.perf_counter() - started:.1f} s", flush=True)
    samples = {step: {} for step in STEPS}
    for number in range(ROUNDS):
        for step in (STEPS if number % 2 == 0 else STEPS[::-1]):
            for key, values in measure(apps[step], db, worlds[step], number).items():
                samples[step].setdefault(key, []).extend(values)
    results = {step: {k: (statistics.median(w for w, _c in v), statistics.median(c for _w, c in v))
                      for k, v in samples[step].items()} for step in STEPS}
    for step in STEPS:
        with apps[step].app_context():
            if step == STEPS[-1]:
                plans(db, worlds[step])
            db.session.remove()
            db.engine.dispose()
    return results


def size(step: int) -> str:
    return f"{step // 1_000_000}M" if step >= 1_000_000 else f"{step // 1000}k"


def table(label: str, results: dict, cpu: bool = False) -> None:
    steps = list(results)
    kind = 1 if cpu else 0
    head = [f"figure (p50, ms {'CPU' if cpu else 'wall'})"] + [size(s) for s in steps] + [
        f"{size(steps[-1])} / {size(steps[0])}"]
    rows = [head]
    for key, name, _indexed in FIGURES:
        first, last = results[steps[0]][key][kind], results[steps[-1]][key][kind]
        rows.append([name] + [f"{results[s][key][kind]:.3f}" for s in steps]
                    + [f"{last / first:.2f}x" if first else "-"])
    widths = [max(len(r[n]) for r in rows) for n in range(len(head))]
    print(f"\n{label}, {'CPU time of this process' if cpu else 'wall time'}")
    for n, row in enumerate(rows):
        print("| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                for i, (c, w) in enumerate(zip(row, widths))) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def summarise(label: str, results: dict, cpu: bool = False) -> None:
    from bench.summary import record

    steps = list(results)
    first, last = steps[0], steps[-1]
    kind = 1 if cpu else 0
    for key, name, indexed in FIGURES:
        if name.startswith("  "):
            continue
        record(f"growth: {name} at {size(last)} ({label}{', CPU' if cpu else ''})",
               results[last][key][kind], f"same at {size(first)}", results[first][key][kind],
               ratio_target=1.5 if indexed else None)


def main() -> None:
    print(f"Samlokal growth benchmark, {machine_now():%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{os.cpu_count()} CPUs, load average {' '.join(f'{n:.2f}' for n in os.getloadavg())}, "
          f"Python {platform.python_version()}, SQLite {__import__('sqlite3').sqlite_version}")
    print(f"Steps: {', '.join(f'{s:,}' for s in STEPS)} occurrences, one database each; "
          f"{ROUNDS} rounds taking turns, each with {RUNS}")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["SAMLOKAL_INSTANCE_PATH"] = folder
        sqlite = run("SQLite", lambda step: f"sqlite:///{folder}/growth_{step}.sqlite3")
    table("SQLite", sqlite)
    table("SQLite", sqlite, cpu=True)
    summarise("SQLite", sqlite, cpu=True)
    pg_url = os.environ.get("SAMLOKAL_BENCH_PG_URL")
    if not pg_url:
        print("\n(PostgreSQL skipped: set SAMLOKAL_BENCH_PG_URL or run `make bench`)")
        return
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    names = {step: f"samlokal_growth_{step}" for step in STEPS}

    def drop():
        with admin.connect() as conn:
            for name in names.values():
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    drop()
    with admin.connect() as conn:
        for name in names.values():
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        postgresql = run("PostgreSQL", lambda step: sa.engine.make_url(pg_url).set(
            database=names[step]).render_as_string(hide_password=False))
        table("PostgreSQL", postgresql)
        summarise("PostgreSQL", postgresql)
    finally:
        drop()  # the 2M database is about a gigabyte
        admin.dispose()


if __name__ == "__main__":
    main()
