"""Benchmark: the utilization report for a term with 50 resources, 20 allocations and
50,000 bookings, on SQLite and on a throwaway PostgreSQL cluster (as .ci/postgres.sh does).

Prints p50/p95 of office.allocations.utilization.utilization_report() and, beside it, the bare SQL:
the fetch of the booked intervals it sweeps and a plain GROUP BY aggregate of booked hours.
Run: .venv/bin/python bench/bench_utilization.py   (PG_PORT picks the cluster's port)
"""

from __future__ import annotations

import os
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import time as clock
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SAMLOKAL_NO_MODULE_APP", "1")

import sqlalchemy as sa  # noqa: E402

from office.core.database import utcnow  # noqa: E402

RESOURCES, ALLOCATIONS, BOOKINGS, RUNS = 50, 20, 50_000, 15
TERM = (date(2026, 1, 1), date(2026, 6, 30))
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def make_app(url: str):
    from flask_migrate import upgrade

    from wsgi import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        upgrade()
    return app


def seed(app) -> int:
    from office.accounts.models import Agency, Role, User
    from office.allocations import rules as allocations
    from office.booking.models import Reservation, ReservationOccurrence
    from office.core.extensions import db
    from office.premises.models import Resource, ResourceKind, Site
    from office.premises.rules import closed_days, set_standard_opening_hours

    rng = random.Random(5)
    with app.app_context():
        site = Site(name="Bench", address="")
        set_standard_opening_hours(site, time(7, 0), time(18, 0))
        agencies = [Agency(name=f"Agency {n}", short_name=f"AG{n}") for n in range(6)]
        resources = [Resource(site=site, name=f"Desk {n:02d}", kind=ResourceKind.desk, capacity=1)
                     for n in range(RESOURCES)]
        coordinator = User(email="c@example.org", name="C", agency=agencies[0],
                           role=Role.coordinator)
        db.session.add_all([site, *agencies, *resources, coordinator])
        db.session.commit()
        for index in range(ALLOCATIONS):
            allocations.create_allocations(allocations.AllocationSpec(
                agency=agencies[index % len(agencies)], resources=[resources[index]],
                weekdays=[0, 1, 2, 3, 4], start_time=time(8), end_time=time(16),
                first_day=TERM[0], last_day=TERM[1]), coordinator)
        closed = closed_days(site, *TERM)
        days = [TERM[0] + timedelta(days=i) for i in range((TERM[1] - TERM[0]).days + 1)]
        days = [d for d in days if d.weekday() < 5 and d not in closed]
        # Hour slots 8–17 on every working day of every resource, sampled down to BOOKINGS.
        slots = [(r.id, d, h) for r in resources for d in days for h in range(8, 17)]
        chosen = rng.sample(slots, min(BOOKINGS, len(slots)))
        now = utcnow()  # the app's one clock
        reservations, occurrences = [], []
        for number, (resource_id, day, hour) in enumerate(chosen, start=1):
            start = datetime.combine(day, time(hour), STOCKHOLM).astimezone(timezone.utc)
            reservations.append({
                "id": number, "resource_id": resource_id, "kind": "booking", "title": "b",
                "attendees": 1, "agency_id": agencies[rng.randrange(len(agencies))].id,
                "timezone": "Europe/Stockholm", "first_day": day, "start_time": time(hour),
                "end_time": time(hour + 1), "sequence": 0, "created_at": now, "updated_at": now,
            })
            occurrences.append({
                "reservation_id": number, "resource_id": resource_id, "starts_at": start,
                "ends_at": start + timedelta(hours=1), "original_start": start,
                "state": "active", "updated_at": now,
            })
        for chunk in range(0, len(reservations), 5000):
            db.session.execute(sa.insert(Reservation), reservations[chunk:chunk + 5000])
            db.session.execute(sa.insert(ReservationOccurrence), occurrences[chunk:chunk + 5000])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        return site.id


def measure(app, site_id: int) -> dict:
    from office.allocations import utilization
    from office.allocations.models import Allocation
    from office.core.extensions import db
    from office.premises.models import Site

    with app.app_context():
        site = db.session.get(Site, site_id)
        report_times, fetch_times, aggregate_times = [], [], []
        start_utc = datetime.combine(TERM[0], time(0), STOCKHOLM).astimezone(timezone.utc)
        end_utc = datetime.combine(TERM[1] + timedelta(days=1), time(0), STOCKHOLM).astimezone(timezone.utc)
        allocated = sorted(db.session.scalars(sa.select(Allocation.resource_id)).all())
        if db.engine.dialect.name == "postgresql":
            hours = "sum(extract(epoch from o.ends_at - o.starts_at)) / 3600"
        else:
            hours = "sum((julianday(o.ends_at) - julianday(o.starts_at)) * 24)"
        aggregate = sa.text(
            f"SELECT o.resource_id, r.agency_id, {hours} FROM reservation_occurrence o "
            "JOIN reservation r ON r.id = o.reservation_id "
            "WHERE o.state = 'active' AND o.starts_at < :end AND o.ends_at > :start "
            "GROUP BY o.resource_id, r.agency_id")
        params = {"start": start_utc, "end": end_utc}
        if db.engine.dialect.name == "sqlite":
            params = {k: v.replace(tzinfo=None).isoformat(sep=" ") for k, v in params.items()}
        for _ in range(RUNS):
            db.session.expire_all()
            began = clock.perf_counter()
            report = utilization.utilization_report(site, *TERM)
            report_times.append(clock.perf_counter() - began)
            db.session.rollback()
            began = clock.perf_counter()
            rows = utilization.booked_intervals(allocated, start_utc, end_utc)
            fetch_times.append(clock.perf_counter() - began)
            began = clock.perf_counter()
            db.session.execute(aggregate, params).all()
            aggregate_times.append(clock.perf_counter() - began)
            db.session.rollback()
        total_booked = sum(r.own + r.by_others for r in report.rows)
        return {
            "report": report_times, "fetch": fetch_times, "aggregate": aggregate_times,
            "rows": len(report.rows), "fetched": len(rows),
            "allocated_hours": sum(r.allocated for r in report.rows),
            "booked_in_windows": total_booked,
        }


def p(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def report_line(name: str, figures: dict) -> None:
    print(f"{name}: utilization_report p50 {statistics.median(figures['report']) * 1000:.0f} ms, "
          f"p95 {p(figures['report'], 0.95):.0f} ms | bare SQL: fetch of the "
          f"{figures['fetched']} booked intervals it sweeps p50 "
          f"{statistics.median(figures['fetch']) * 1000:.0f} ms, GROUP BY aggregate of booked "
          f"hours p50 {statistics.median(figures['aggregate']) * 1000:.0f} ms "
          f"({figures['rows']} rows, {figures['allocated_hours']:.0f} h allocated, "
          f"{figures['booked_in_windows']:.0f} h booked inside)")
    from bench.summary import record

    record(f"utilization report, term ({name})", statistics.median(figures["report"]) * 1000,
           "fetch of its intervals", statistics.median(figures["fetch"]) * 1000, limit=300)


def pg_cluster():
    """Start a throwaway cluster with .ci/postgres.sh; return (url, stop function)."""
    port = os.environ.get("PG_PORT", "54329")
    script = (f"PG_PORT={shlex.quote(port)}; source .ci/postgres.sh; pg_start; "
              'echo "$PG_DIR"; echo "$PG_BIN"')
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout.split()
    pg_dir, pg_bin = out[-2], out[-1]

    def stop():
        subprocess.run(["bash", "-c", f"source .ci/postgres.sh; PG_DIR={shlex.quote(pg_dir)}; "
                        f"PG_BIN={shlex.quote(pg_bin)}; pg_stop"], cwd=ROOT, check=False)

    admin = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE DATABASE samlokal_bench"))
    engine.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/samlokal_bench", stop


def main() -> None:
    print(f"Utilization report: {RESOURCES} resources, {ALLOCATIONS} allocations "
          f"(Mon–Fri 8–16, spring term 2026), {BOOKINGS} one-hour bookings, {RUNS} runs")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SAMLOKAL_INSTANCE_PATH"] = tmp
        app = make_app(f"sqlite:///{tmp}/bench.sqlite3")
        report_line("SQLite", measure(app, seed(app)))
        url, stop = pg_cluster()
        try:
            app = make_app(url)
            report_line("PostgreSQL", measure(app, seed(app)))
            from office.core.extensions import db

            with app.app_context():
                db.engine.dispose()
        finally:
            stop()


if __name__ == "__main__":
    main()
