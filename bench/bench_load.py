"""Load: simulated staff against gunicorn and PostgreSQL on loopback (issue 10).

Each simulated person logs in and then, until the time is up, with a pause between steps:
browses the week (and day) grid, books a room or desk (GET the form, POST it with its CSRF
token: 302 booked, 409/422 refused), cancels one of their bookings, looks at My bookings,
opens seminar pages, and polls their calendar feed when the app has a `feeds` blueprint
(skipped otherwise). The server is one gunicorn (deploy/gunicorn.conf.py, several workers
with threads) on a PostgreSQL database filled with the demo data, the simulated staff and
generated history. Printed: requests per second, p50/p95/p99 per endpoint, errors (5xx,
unexpected statuses, connection failures) and afterwards an SQL self-join proving that no
resource holds overlapping active occurrences.

    .venv/bin/python bench/bench_load.py                           # 50 users, 60 s (make bench)
    .venv/bin/python bench/bench_load.py --users 200 --duration 300  # the full scenario
    .venv/bin/python bench/bench_load.py --profile-only             # SQL statements per page

PostgreSQL: SAMLOKAL_BENCH_PG_URL (an admin URL; the script creates and drops its own
database), else a throwaway cluster on a free loopback port (as .ci/postgres.sh does).
Login throttling is switched off on the server: every simulated person comes from 127.0.0.1.
"""

from __future__ import annotations

import argparse
import atexit
import glob
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time as clock
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta, timezone
from http.cookiejar import CookieJar
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("SAMLOKAL_NO_MODULE_APP", "1")
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

ZONE = ZoneInfo("Europe/Stockholm")
PASSWORD = "load test password"
DATABASE = "samlokal_load"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
SEEN_AT = re.compile(r'name="seen_at" type="hidden" value="([^"]+)"')
OVERLAPS = """
    SELECT count(*) FROM reservation_occurrence a JOIN reservation_occurrence b
      ON a.resource_id = b.resource_id AND a.id < b.id
     AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
     WHERE a.state = 'active' AND b.state = 'active'
"""


# --- PostgreSQL ---------------------------------------------------------------------------

def throwaway_cluster() -> str:
    """initdb + pg_ctl on a free loopback port; stopped and removed when the script ends."""
    from tests.servers import free_port

    bindir = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
    folder = tempfile.mkdtemp(prefix="samlokal-load-pg.")
    as_pg = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    if os.getuid() == 0:
        shutil.chown(folder, "postgres")
    port = free_port()
    subprocess.run([*as_pg, f"{bindir}/initdb", "-D", f"{folder}/data", "-U", "postgres", "-A",
                    "trust", "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)
    options = (f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off -c synchronous_commit=off "
               "-c full_page_writes=off -c max_connections=300")
    subprocess.run([*as_pg, f"{bindir}/pg_ctl", "-D", f"{folder}/data", "-l", f"{folder}/log",
                    "-w", "start", "-o", options], check=True, capture_output=True)

    def stop():
        subprocess.run([*as_pg, f"{bindir}/pg_ctl", "-D", f"{folder}/data", "-m", "fast", "-w",
                        "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(stop)
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"


def fresh_database(admin_url: str) -> str:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    return make_url(admin_url).set(database=DATABASE).render_as_string(hide_password=False)


# --- data ---------------------------------------------------------------------------------

def make_app(url: str):
    from wsgi import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load", "SERVER_NAME": None,
                       "RATELIMIT_ENABLED": False, "PASSWORD_HASH_TIME_COST": 1,
                       "PASSWORD_HASH_MEMORY_COST": 8})


def seed(app, users: int, history_weeks: int) -> dict:
    """Demo data, `users` staff with one password, and generated bookings past and ahead."""
    import logging

    from flask_migrate import upgrade

    from office.accounts.models import Agency, Role, User
    from office.accounts.rules import hash_password
    from office.booking.models import Reservation, ReservationOccurrence
    from office.core.extensions import db
    from office.premises.models import Resource, Site

    rng = random.Random(10)
    with app.app_context():
        logging.getLogger("alembic").setLevel(logging.WARNING)
        upgrade()
        result = app.test_cli_runner().invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
        agencies = db.session.scalars(sa.select(Agency).order_by(Agency.id)).all()
        password_hash = hash_password(PASSWORD)
        db.session.add_all([User(email=f"load{n}@example.org", name=f"Load {n}", role=Role.staff,
                                 agency=agencies[n % len(agencies)], password_hash=password_hash)
                            for n in range(users)])
        db.session.commit()
        staff = db.session.scalars(sa.select(User).where(User.email.like("load%"))).all()
        site = db.session.scalar(sa.select(Site).where(Site.name == "Drivhuset"))
        resources = db.session.scalars(sa.select(Resource).where(Resource.site_id == site.id)
                                       .order_by(Resource.id)).all()
        # History: three one-hour bookings a weekday per resource, from `history_weeks` back to
        # four weeks ahead, at hours the demo's own bookings and the load do not use.
        today = datetime.now(ZONE).date()
        monday = today - timedelta(days=today.weekday())
        days = [monday + timedelta(weeks=w, days=d) for w in range(-history_weeks, 4) for d in range(5)]
        taken = defaultdict(list)  # the demo's own bookings: the history keeps clear of them
        for resource_id, start, end in db.session.execute(sa.select(
                ReservationOccurrence.resource_id, ReservationOccurrence.starts_at,
                ReservationOccurrence.ends_at).where(ReservationOccurrence.state == "active")):
            taken[resource_id].append((start, end))
        now = datetime.now(timezone.utc)
        specs = []
        for resource in resources:
            for day in days:
                for hour in (7, 12, 16):
                    starts = datetime.combine(day, time(hour, 30), ZONE).astimezone(timezone.utc)
                    ends = starts + timedelta(minutes=30)
                    if any(s < ends and starts < e for s, e in taken[resource.id]):
                        continue
                    person = rng.choice(staff)
                    specs.append((dict(resource_id=resource.id, kind="booking", title="Historik",
                                       attendees=1, booked_by_id=person.id, agency_id=person.agency_id,
                                       timezone="Europe/Stockholm", first_day=day,
                                       start_time=time(hour, 30), end_time=time(hour + 1, 0),
                                       rrule=None, sequence=0, created_at=now, updated_at=now),
                                  starts))
        ids = db.session.scalars(sa.insert(Reservation).returning(Reservation.id),
                                 [spec for spec, _ in specs]).all()
        db.session.execute(sa.insert(ReservationOccurrence), [
            dict(reservation_id=i, resource_id=spec["resource_id"], starts_at=starts,
                 ends_at=starts + timedelta(minutes=30), original_start=starts, state="active",
                 updated_at=now) for i, (spec, starts) in zip(ids, specs)])
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        counts = {table: db.session.scalar(sa.select(sa.func.count()).select_from(model))
                  for table, model in (("users", User), ("reservations", Reservation),
                                       ("occurrences", ReservationOccurrence))}
        bookable = [r.id for r in resources if r.active]
        site_id = site.id
        has_feeds = any(rule.endpoint.startswith("feeds.") for rule in app.url_map.iter_rules())
        db.session.remove()
        db.engine.dispose()
    return dict(site=site_id, resources=bookable, counts=counts, has_feeds=has_feeds)


# --- one simulated person -------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 302 after a POST is the answer measured


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter = Counter()
        self.outcomes: Counter = Counter()

    def add(self, name: str, seconds: float, problem: str | None = None):
        with self.lock:
            self.samples[name].append(seconds * 1000)
            if problem:
                self.errors[f"{name}: {problem}"] += 1


class Person:
    def __init__(self, n: int, base: str, plan: dict, recorder: Recorder, deadline: float,
                 think: float):
        self.email, self.base, self.plan = f"load{n}@example.org", base, plan
        self.recorder, self.deadline, self.think = recorder, deadline, think
        self.rng = random.Random(n)
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect())
        self.feed: str | None = None

    def request(self, name: str, path: str, data: dict | None = None,
                expect=(200,)) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        started = clock.perf_counter()
        try:
            with self.opener.open(self.base + path, body, timeout=60) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        except OSError as error:
            self.recorder.add(name, clock.perf_counter() - started, type(error).__name__)
            return 0, ""
        self.recorder.add(name, clock.perf_counter() - started,
                          None if status in expect else f"status {status}")
        return status, text

    def run(self, start_barrier: threading.Barrier) -> None:
        try:
            _, html = self.request("GET /login", "/login")
            self.request("POST /login", "/login", {"email": self.email, "password": PASSWORD,
                                                   "csrf_token": CSRF.search(html).group(1)},
                         expect=(302,))
            self.week(), self.seminars(), self.mine()  # warm-up, like the login not in the figures
            if self.plan["has_feeds"]:
                _, page = self.request("GET /bookings/mine", "/bookings/mine")
                found = re.search(r'href="(/feeds/[^"]+)"', page)
                self.feed = found.group(1) if found else None
        finally:
            start_barrier.wait()
        steps = [(self.week, 35), (self.day, 10), (self.book, 20), (self.cancel, 8),
                 (self.mine, 10), (self.seminars, 12), (self.poll_feed, 5)]
        actions, weights = zip(*steps)
        while clock.monotonic() < self.deadline:
            self.rng.choices(actions, weights)[0]()
            pause = min(self.rng.expovariate(1 / self.think), 4 * self.think)
            clock.sleep(max(0.0, min(pause, self.deadline - clock.monotonic())))

    def a_day(self) -> date:
        day = date.today() + timedelta(days=self.rng.randrange(1, 21))
        return day + timedelta(days=2) if day.weekday() == 5 else day + timedelta(days=day.weekday() == 6)

    def week(self):
        self.request("GET /bookings/ (week)",
                     f"/bookings/?site={self.plan['site']}&view=week&day={self.a_day()}")

    def day(self):
        self.request("GET /bookings/ (day)",
                     f"/bookings/?site={self.plan['site']}&view=day&day={self.a_day()}")

    def book(self):
        resource, day = self.rng.choice(self.plan["resources"]), self.a_day()
        hour = self.rng.randrange(8, 16)
        status, html = self.request("GET /bookings/new",
                                    f"/bookings/new?resource={resource}&day={day}&start={hour:02d}:00")
        if status != 200:
            return
        form = {"csrf_token": CSRF.search(html).group(1), "seen_at": SEEN_AT.search(html).group(1),
                "title": "Lastprov", "resource_id": resource, "day": day.isoformat(),
                "start": f"{hour:02d}:00", "end": f"{hour + 1:02d}:00", "attendees": 1,
                "booked_for_id": 0, "repeat": "none", "ends": "count", "count": 1}
        status, _ = self.request("POST /bookings/new", "/bookings/new", form, expect=(302, 409, 422))
        self.recorder.outcomes[{302: "booked", 409: "refused 409", 422: "refused 422"}.get(
            status, "other")] += 1

    def cancel(self):
        _, html = self.request("GET /bookings/mine", "/bookings/mine")
        mine = re.findall(r'href="/bookings/occurrences/(\d+)"', html)
        if not mine:
            return
        occurrence = self.rng.choice(mine)
        status, page = self.request("GET /bookings/occurrences/<id>",
                                    f"/bookings/occurrences/{occurrence}")
        token = CSRF.search(page)
        if status != 200 or token is None:
            return
        status, _ = self.request("POST /bookings/occurrences/<id>/cancel",
                                 f"/bookings/occurrences/{occurrence}/cancel",
                                 {"csrf_token": token.group(1), "scope": "all"}, expect=(302,))
        if status == 302:
            self.recorder.outcomes["cancelled"] += 1

    def mine(self):
        self.request("GET /bookings/mine", "/bookings/mine")

    def seminars(self):
        _, html = self.request("GET /seminars/", "/seminars/")
        pages = re.findall(r'href="/seminars/(\d+)"', html)
        if pages:
            self.request("GET /seminars/<id>", f"/seminars/{self.rng.choice(pages)}")

    def poll_feed(self):
        if self.feed:
            self.request("GET /feeds/…", self.feed)


# --- the run ------------------------------------------------------------------------------

def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def load(url: str, plan: dict, args) -> None:
    from tests.servers import gunicorn_servers

    recorder = Recorder()
    instance = Path(tempfile.mkdtemp(prefix="samlokal-load-"))
    environment = {"RATELIMIT_ENABLED": "0", "GUNICORN_CMD_ARGS": f"--threads {args.threads}"}
    with gunicorn_servers(1, url, instance, workers=args.workers, **environment) as (base,):
        people_ready = threading.Barrier(args.users + 1)
        deadline = clock.monotonic() + 3600  # replaced once everyone is logged in
        people = [Person(n, base, plan, recorder, deadline, args.think) for n in range(args.users)]
        threads = [threading.Thread(target=p.run, args=(people_ready,), daemon=True) for p in people]
        for thread in threads:
            thread.start()
            clock.sleep(0.005)  # a morning, not a thundering herd
        people_ready.wait()
        started = clock.monotonic()
        for person in people:
            person.deadline = started + args.duration
        with recorder.lock:
            logins = {k: v for k, v in recorder.samples.items() if "/login" in k}
            warm_up_errors = sum(recorder.errors.values())
            recorder.samples = defaultdict(list)
        for thread in threads:
            thread.join(args.duration + 120)
        elapsed = clock.monotonic() - started
    shutil.rmtree(instance, ignore_errors=True)

    total = sum(len(v) for v in recorder.samples.values())
    print(f"\n  {args.users} users for {elapsed:.0f} s (think time mean {args.think} s): "
          f"{total} requests, {total / elapsed:.1f} requests/s")
    print(f"  {'endpoint':<42}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for name, values in sorted({**logins, **recorder.samples}.items()):
        print(f"  {name:<42}{len(values):>7}{statistics.median(values):>9.1f}"
              f"{percentile(values, 95):>9.1f}{percentile(values, 99):>9.1f}")
    print(f"  bookings: {dict(recorder.outcomes)}")
    print(f"  errors: {sum(recorder.errors.values()) - warm_up_errors} (warm-up: {warm_up_errors})"
          + "".join(f"\n    {count} × {what}" for what, count in recorder.errors.most_common(10)))
    if not plan["has_feeds"]:
        print("  feeds: the app has no feeds blueprint; the polling step was skipped")


def check_no_overlaps(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        overlaps = conn.execute(sa.text(OVERLAPS)).scalar()
        active = conn.execute(sa.text(
            "SELECT count(*) FROM reservation_occurrence WHERE state = 'active'")).scalar()
    engine.dispose()
    print(f"  afterwards: {active} active occurrences, {overlaps} overlapping pairs "
          f"(SQL self-join on resource and [starts_at, ends_at))")


def profile_queries(url: str, plan: dict) -> None:
    """SQL statements per page, one request each through the app in this process."""
    import logging

    from sqlalchemy import event

    from office.core.extensions import db

    app = make_app(url)
    logging.getLogger("samlokal.request").setLevel(logging.WARNING)  # the figures only
    count = [0]
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: count.__setitem__(0, count[0] + 1))
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": "load0@example.org", "password": PASSWORD,
                                "csrf_token": CSRF.search(html).group(1)})
    day = date.today() + timedelta(days=(7 - date.today().weekday()))
    seminars = client.get("/seminars/").get_data(as_text=True)
    pages = {
        "week grid": f"/bookings/?site={plan['site']}&view=week&day={day}",
        "day grid": f"/bookings/?site={plan['site']}&view=day&day={day}",
        "booking form": f"/bookings/new?resource={plan['resources'][0]}&day={day}&start=10:00",
        "my bookings": "/bookings/mine",
        "seminar list": "/seminars/",
    }
    found = re.findall(r'href="/seminars/(\d+)"', seminars)
    if found:
        pages["seminar page"] = f"/seminars/{found[0]}"
    print("\n  SQL statements per page (one request, logged-in staff):")
    for name, path in pages.items():
        count[0] = 0
        started = clock.perf_counter()
        status = client.get(path).status_code
        print(f"  {name:<16} {count[0]:>5} statements  {(clock.perf_counter() - started) * 1000:7.1f} ms"
              f"  (status {status})")
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60, help="seconds of load")
    parser.add_argument("--think", type=float, default=2.0, help="mean pause between steps (s)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--history-weeks", type=int, default=26)
    parser.add_argument("--profile-only", action="store_true", help="only count SQL per page")
    args = parser.parse_args()

    admin_url = os.environ.get("SAMLOKAL_BENCH_PG_URL") or throwaway_cluster()
    url = fresh_database(admin_url)
    print(f"== load: gunicorn ({args.workers} workers × {args.threads} threads) and PostgreSQL "
          f"on loopback; {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {date.today()} ==")
    started = clock.perf_counter()
    plan = seed(make_app(url), args.users, args.history_weeks)
    print(f"  seeded {plan['counts']} in {clock.perf_counter() - started:.1f} s")
    profile_queries(url, plan)
    if not args.profile_only:
        load(url, plan, args)
        check_no_overlaps(url)


if __name__ == "__main__":
    main()
