"""Booking performance: 50 resources and 200,000 occurrences, on SQLite and PostgreSQL.

Prints, per database, p50 (and p90) of
- the conflict check of one new booking (office.booking.rules.check_booking) next to the bare
  bounded overlap probe it needs;
- a weekly series of 52 occurrences checked and saved (office.booking.rules.book and the
  commit of its unit of work) next to 52 plain INSERTs in one transaction;
- the week view and the day view (the phone's) of a site with 50 resources, rendered server
  side (GET through the app), first seen and seen before, next to the bare range query of
  the same span;
and the PostgreSQL plan of the probe with and without the integer cast.

Run with `make bench` (.ci/bench starts a throwaway PostgreSQL on loopback and exports
SAMLOKAL_BENCH_PG_URL). Without that variable only SQLite is measured. `--quick` seeds
20,000 occurrences instead of 200,000; `--only week` (or `check`, `series`) runs one part.
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
from sqlalchemy import delete, insert, select  # noqa: E402

from bench._common import percentile as p  # noqa: E402
from bench._common import timed_ms as timed  # noqa: E402
from office.core.clock import machine_now  # noqa: E402

QUICK = "--quick" in sys.argv
# `--only week` (or check, series) runs one part: the grid's figures without the minutes the
# conflict check and the series take.
ONLY = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
RESOURCES = 50
OCCURRENCES = 20_000 if QUICK else 200_000
HOURS = [8, 9, 10, 11, 12, 13, 14, 15]  # eight one-hour bookings a weekday per resource
FIRST_MONDAY = date(2027, 1, 4)
NOW = datetime(2027, 1, 1, tzinfo=timezone.utc)
ZONE = ZoneInfo("Europe/Stockholm")
RUNS = int(os.environ.get("BENCH_RUNS", "40" if QUICK else "200"))


def wanted(part: str) -> bool:
    return ONLY is None or ONLY == part


def report(name, ours, bare, bare_name, target):
    o50, b50 = statistics.median(ours), statistics.median(bare)
    print(f"  {name:<38} p50 {o50:8.3f} ms  p90 {p(ours, 90):8.3f} ms  (target < {target} ms)")
    print(f"  {'  bare: ' + bare_name:<38} p50 {b50:8.3f} ms  p90 {p(bare, 90):8.3f} ms  ratio {o50 / b50:6.1f}x")
    return o50, b50


def make_app(url):
    from flask_migrate import upgrade

    from wsgi import create_app

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False, "PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_COST": 8,
        "BOOKING_HORIZON_DAYS": 2000, "SERVER_NAME": None,
    })
    with app.app_context():
        upgrade()
    return app


def seed(db):
    from office.accounts.models import Agency, Role, User
    from office.accounts.rules import hash_password
    from office.booking.models import Reservation, ReservationOccurrence
    from office.core.transaction import unit_of_work
    from office.premises.models import Resource, ResourceKind, Site
    from office.premises.rules import set_standard_opening_hours

    with unit_of_work():  # the seeding job's one transaction
        agency = Agency(name="Arbetsförmedlingen", short_name="AF", colour="#7a2e8c")
        user = User(email="bench@example.org", name="Bench Person", agency=agency, role=Role.staff,
                    password_hash=hash_password("bench password"))
        site = Site(name="Drivhuset")
        set_standard_opening_hours(site, time(7), time(18))
        site.resources = [Resource(name=f"Rum {n:02d}", kind=ResourceKind.room, capacity=8,
                                   has_screen=n % 2 == 0) for n in range(RESOURCES)]
        db.session.add_all([agency, user, site])
        db.session.flush()  # the ids the rows below name
        weeks = OCCURRENCES // (RESOURCES * len(HOURS) * 5)
        reservations, rows = [], []
        for resource in site.resources:
            for weekday in range(5):
                for hour in HOURS:
                    reservations.append(dict(
                        resource_id=resource.id, kind="booking", title="Möte", attendees=2,
                        booked_by_id=user.id, agency_id=agency.id, timezone="Europe/Stockholm",
                        first_day=FIRST_MONDAY + timedelta(days=weekday), start_time=time(hour),
                        end_time=time(hour + 1), rrule=f"FREQ=WEEKLY;COUNT={weeks}", sequence=0,
                        created_at=NOW, updated_at=NOW))
        db.session.execute(insert(Reservation), reservations)
        ids = db.session.scalars(select(Reservation.id).order_by(Reservation.id)).all()
        for reservation_id, spec in zip(ids, reservations):
            for week in range(weeks):
                day = spec["first_day"] + timedelta(weeks=week)
                starts = datetime.combine(day, spec["start_time"], ZONE).astimezone(timezone.utc)
                rows.append(dict(reservation_id=reservation_id, resource_id=spec["resource_id"],
                                 starts_at=starts, ends_at=starts + timedelta(hours=1),
                                 original_start=starts, state="active", updated_at=NOW))
            if len(rows) >= 20_000:
                db.session.execute(insert(ReservationOccurrence), rows)
                rows = []
        if rows:
            db.session.execute(insert(ReservationOccurrence), rows)
    with unit_of_work():
        db.session.execute(sa.text("ANALYZE"))  # plans from the seeded sizes
    return site, user, weeks


def bench_database(label, url):
    from office.accounts.models import User
    from office.booking import rules as booking
    from office.booking.models import Reservation, ReservationOccurrence
    from office.booking.rules import BookingRequest
    from office.core.extensions import db
    from office.core.transaction import unit_of_work
    from office.premises.models import Resource

    print(f"\n== {label} ==")
    app = make_app(url)
    figures = {}
    with app.app_context():
        started = clock.perf_counter()
        site, user, weeks = seed(db)
        count = db.session.scalar(select(sa.func.count()).select_from(ReservationOccurrence))
        print(f"  seeded {count} occurrences on {RESOURCES} resources in "
              f"{clock.perf_counter() - started:.1f} s")
        resources = db.session.scalars(select(Resource).order_by(Resource.id)).all()
        user = db.session.get(User, user.id)
        last_day = FIRST_MONDAY + timedelta(weeks=weeks - 1)
        rng = random.Random(4)
        dialect = db.engine.dialect.name

        def random_weekday(until=last_day):
            day = FIRST_MONDAY + timedelta(days=rng.randrange((until - FIRST_MONDAY).days))
            return day - timedelta(days=day.weekday()) + timedelta(days=rng.randrange(5))

        # 1. conflict check of one booking (a free hour, so the probe finds nothing)
        def check_one():
            request = BookingRequest(resource=rng.choice(resources), title="Ny", first_day=random_weekday(),
                                     start_time=time(16), end_time=time(17), booked_by=user)
            # No rollback between checks: it would expire the loaded resource and user, and
            # a request has both loaded before it checks anything.
            return booking.check_booking(request, now=NOW)

        raw = db.engine.raw_connection()
        cursor = raw.cursor()
        mark = "?" if dialect == "sqlite" else "%s"
        probe_sql = (f"SELECT starts_at, ends_at, reservation_id FROM reservation_occurrence "
                     f"WHERE resource_id = {mark} AND state = 'active' AND starts_at < {mark} "
                     f"AND starts_at > {mark} AND ends_at > {mark} LIMIT 1")
        if dialect == "postgresql":
            probe_sql = probe_sql.replace("resource_id = %s", "resource_id = %s::integer")

        def param(moment):
            return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ") if dialect == "sqlite" else moment

        def bare_probe():
            day = random_weekday()
            start = datetime.combine(day, time(16), ZONE)
            end = start + timedelta(hours=1)
            cursor.execute(probe_sql, (rng.choice(resources).id, param(end),
                                       param(start - timedelta(hours=10)), param(start)))
            cursor.fetchall()
            raw.commit()

        def check_first_in_request():
            # A new request: nothing read yet (closures, opening hours, allocations).
            db.session.info.pop("samlokal_transaction_memo", None)
            return check_one()

        if wanted("check"):
            check_one(), bare_probe()  # warm up
            bare_probes = timed(bare_probe, RUNS)
            figures["check"] = report("conflict check, one booking", timed(check_first_in_request, RUNS),
                                      bare_probes, "bounded overlap probe", 2)
            figures["check_again"] = report("  the same, a further check in one request",
                                            timed(check_one, RUNS), bare_probes,
                                            "bounded overlap probe", 2)
        db.session.rollback()

        # 2. a weekly series of 52 checked and saved
        if wanted("series"):
            made = []

            def book_series():
                request = BookingRequest(resource=rng.choice(resources), title="Serie",
                                         first_day=random_weekday(max(last_day - timedelta(weeks=53),
                                                                 FIRST_MONDAY + timedelta(weeks=1))),
                                         start_time=time(16), end_time=time(17), booked_by=user,
                                         rrule="FREQ=WEEKLY;COUNT=52")
                with unit_of_work():  # book() adds and flushes; the unit of work commits, as a request does
                    made.append(booking.book(request, allow_partial=True, now=NOW).id)

            insert_sql = (f"INSERT INTO reservation_occurrence (reservation_id, resource_id, starts_at, "
                          f"ends_at, original_start, state, updated_at) VALUES "
                          f"({mark}, {mark}, {mark}, {mark}, {mark}, 'active', {mark})")
            holder = db.session.get(Reservation, 1)
            holder_id, holder_resource = holder.id, holder.resource_id
            db.session.rollback()

            series_runs = max(RUNS // 4, 20)
            series = []
            for _ in range(series_runs):
                start = clock.perf_counter()
                book_series()
                series.append((clock.perf_counter() - start) * 1000)
                with unit_of_work():  # undo the series (not timed)
                    db.session.execute(delete(ReservationOccurrence).where(
                        ReservationOccurrence.reservation_id == made[-1]))
                    db.session.execute(delete(Reservation).where(Reservation.id == made[-1]))
            bare = []
            for _ in range(series_runs):
                # The DELETE is inside bare_inserts; time only the 52 inserts and their commit.
                start_at = clock.perf_counter()
                begin = datetime.combine(last_day + timedelta(weeks=2), time(17), ZONE)
                for n in range(52):
                    moment = begin + timedelta(weeks=n)
                    cursor.execute(insert_sql, (holder_id, holder_resource, param(moment),
                                                param(moment + timedelta(minutes=30)), param(moment), param(NOW)))
                raw.commit()
                bare.append((clock.perf_counter() - start_at) * 1000)
                cursor.execute(f"DELETE FROM reservation_occurrence WHERE starts_at > {mark}",
                               (param(datetime.combine(last_day + timedelta(weeks=1), time(0), ZONE)),))
                raw.commit()
            bare_many = []
            for _ in range(series_runs):
                start_at = clock.perf_counter()
                begin = datetime.combine(last_day + timedelta(weeks=2), time(17), ZONE)
                cursor.executemany(insert_sql, [
                    (holder_id, holder_resource, param(begin + timedelta(weeks=n)),
                     param(begin + timedelta(weeks=n, minutes=30)), param(begin + timedelta(weeks=n)),
                     param(NOW)) for n in range(52)])
                raw.commit()
                bare_many.append((clock.perf_counter() - start_at) * 1000)
                cursor.execute(f"DELETE FROM reservation_occurrence WHERE starts_at > {mark}",
                               (param(datetime.combine(last_day + timedelta(weeks=1), time(0), ZONE)),))
                raw.commit()
            best_bare, best_name = min((statistics.median(bare), "52 INSERTs in one transaction"),
                                       (statistics.median(bare_many), "one executemany of 52"))
            figures["series"] = report("weekly series of 52, checked+saved", series,
                                       bare if best_bare == statistics.median(bare) else bare_many,
                                       best_name, 50)
            print(f"    (52 INSERTs p50 {statistics.median(bare):.3f} ms, executemany p50 "
                  f"{statistics.median(bare_many):.3f} ms)")

        # 3. the week and the day view with 50 resources, rendered through the app
        if wanted("week"):
            figures.update(bench_grid(app, site.id, resources, weeks, cursor, raw, mark, param,
                                      random_weekday))

        # 4. the plans of the probe
        if not wanted("check"):
            pass
        elif dialect == "postgresql":
            start = datetime.combine(FIRST_MONDAY + timedelta(weeks=60), time(16), ZONE)
            end = start + timedelta(hours=1)
            for label_cast, sql in (("with ::integer cast", probe_sql),
                                    ("without cast (psycopg sends int2)", probe_sql.replace("%s::integer", "%s"))):
                cursor.execute("EXPLAIN ANALYZE " + sql, (resources[7].id, end, start - timedelta(hours=10), start))
                plan = [row[0] for row in cursor.fetchall()]
                raw.commit()
                print(f"  plan {label_cast}:")
                for line in plan:
                    print("    " + line)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + probe_sql, (1, "2028-01-01", "2027-12-31", "2027-12-31"))
            print("  plan: " + "; ".join(str(row[-1]) for row in cursor.fetchall()))
            raw.commit()
        cursor.close()
        raw.close()
        db.session.remove()
        db.engine.dispose()
    return figures


def bench_grid(app, site_id, resources, weeks, cursor, raw, mark, param, random_weekday):
    """The week view and the day view (the phone's), first seen (cold) and seen before (warm).

    Cold: the grid's caches (office/booking/grid_cells.py clear_cache: the cells, people's
    words, the wall clocks) are emptied before each GET of a random week or day of the
    seeded data. Warm: the same week or day again, nothing
    changed. Beside each, its bare range query (the same span, raw cursor) in the same run.
    """
    from office.booking import grid_cells

    forget = getattr(grid_cells, "clear_cache", lambda: None)  # main before the cache had none
    client = app.test_client()
    client.post("/login", data={"email": "bench@example.org", "password": "bench password"})
    figures = {}
    range_sql = (f"SELECT o.id, o.resource_id, o.starts_at, o.ends_at, r.title FROM reservation_occurrence o "
                 f"JOIN reservation r ON r.id = o.reservation_id WHERE o.resource_id IN "
                 f"({', '.join(str(r.id) for r in resources)}) AND o.state = 'active' AND "
                 f"o.starts_at < {mark} AND o.starts_at > {mark} AND o.ends_at > {mark}")
    # A week inside the seeded data (10 weeks when quick, 100 otherwise), without a
    # holiday (a closed day shows no bookings): 50 rooms x 5 days x 8 bookings.
    shown_week = FIRST_MONDAY + timedelta(weeks=min(5, weeks - 1))  # 8 Feb 2027: no holiday
    view_runs = max(RUNS // 4, 20)
    for view, days in (("week", 7), ("day", 1)):
        def page(day, view=view):
            response = client.get(f"/bookings/?site={site_id}&view={view}&day={day.isoformat()}")
            assert response.status_code == 200, response.status_code
            return response

        def cold(page=page):
            forget()
            page(random_weekday())

        def warm(page=page, view=view):
            page(shown_week + timedelta(days=2 if view == "day" else 0))

        def bare(days=days, view=view):
            day = random_weekday()
            first = day - timedelta(days=day.weekday()) if view == "week" else day
            start = datetime.combine(first, time(0), ZONE)
            cursor.execute(range_sql, (param(start + timedelta(days=days)),
                                       param(start - timedelta(hours=10)), param(start)))
            cursor.fetchall()
            raw.commit()

        html = page(shown_week + timedelta(days=2 if view == "day" else 0)).get_data(as_text=True)
        shown, expected = html.count('<li class="booked'), RESOURCES * len(HOURS) * (5 if view == "week" else 1)
        print(f"  ({view} page of {shown_week}: {len(html) // 1024} KiB, {shown} bookings shown, "
              f"{expected} expected)")
        assert shown == expected, f"the timed {view} shows other bookings than seeded"
        cold(), bare()  # warm up the process (imports, statement caches), not the cells
        bare_times = timed(bare, view_runs)
        cpu: list[float] = []

        def cpu_timed(function, cpu=cpu):
            started = clock.process_time()
            function()
            cpu.append((clock.process_time() - started) * 1000)

        figures[f"{view}_cold"] = report(f"{view} view, 50 resources, first view", 
                                         timed(lambda: cpu_timed(cold), view_runs),
                                         bare_times, f"{view} range query", 30)
        cold_cpu, cpu[:] = statistics.median(cpu), []
        warm()
        figures[f"{view}_warm"] = report(f"{view} view, 50 resources, seen before",
                                         timed(lambda: cpu_timed(warm), view_runs),
                                         bare_times, f"{view} range query", 30)
        print(f"    (CPU time of this process, p50: first view {cold_cpu:.1f} ms, "
              f"seen before {statistics.median(cpu):.1f} ms)")
    return figures


def _summarise(label, figures):
    from bench.summary import record

    size = f"{OCCURRENCES // 1000}k occurrences"
    if "check" in figures:
        ours, floor = figures["check"]
        record(f"conflict check, first in a request ({label}, {size})", ours,
               "bare bounded probe", floor, ratio_target=5, limit=0.5)
        ours, floor = figures["check_again"]
        record(f"conflict check, further in a request ({label})", ours,
               "bare bounded probe", floor, ratio_target=5, limit=0.5)
    if "series" in figures:
        ours, floor = figures["series"]
        record(f"weekly series of 52, checked+saved ({label})", ours,
               "best bare insert of 52", floor, ratio_target=5)
    for view in ("week", "day"):
        for state, words in (("cold", "first view"), ("warm", "seen before")):
            if f"{view}_{state}" in figures:
                ours, floor = figures[f"{view}_{state}"]
                record(f"{view} view, 50 resources, {words} ({label})", ours,
                       f"{view} range query", floor, limit=30)


def main():
    print(f"Samlokal booking benchmark, {machine_now():%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{RESOURCES} resources, {OCCURRENCES} occurrences, {RUNS} runs (series and week view: a quarter)")
    with tempfile.TemporaryDirectory() as folder:
        _summarise("SQLite", bench_database("SQLite", f"sqlite:///{folder}/bench.sqlite3"))
    pg_url = os.environ.get("SAMLOKAL_BENCH_PG_URL")
    if pg_url:
        admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text('DROP DATABASE IF EXISTS "samlokal_bench" WITH (FORCE)'))
            conn.execute(sa.text('CREATE DATABASE "samlokal_bench"'))
        admin.dispose()
        _summarise("PostgreSQL", bench_database(
            "PostgreSQL", sa.engine.make_url(pg_url).set(database="samlokal_bench")
            .render_as_string(hide_password=False)))
    else:
        print("\n(PostgreSQL skipped: run `make bench`, which starts a throwaway cluster)")


if __name__ == "__main__":
    main()
