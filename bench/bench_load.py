"""Load: simulated staff against gunicorn and PostgreSQL on loopback (issues 10 and 20).

The load generator is wrk (C, one epoll loop per thread) running bench/bench_load.lua:
one wrk thread and one connection per simulated person, so each thread's Lua state is that
person's browser (session cookie, the step in progress, the feed's ETag). wrk is pinned
with taskset to fewer CPUs than the server (--client-cpus, default CPU 1; the server may
use every CPU) and its own CPU is printed: it must not starve the server it measures.

Before the clock starts every person logs in (GET and POST /login, `--login-concurrency`
at a time, production's argon2id settings unless --cheap-passwords): that POST's p50/p99 is
printed beside one bare argon2id check. Then, with a pause between steps (exponential, mean
--think seconds, the first one spread over the first 2 × think seconds), each person:
looks at the week grid (30 %) or the day grid (10 %); searches a free room for 1-4 people
and books the first one offered (15 %: GET /bookings/find, POST the answer's form); books
from the booking form (10 %: GET the form, POST it with its CSRF token); cancels one of
their bookings (10 %: My bookings, the booking, POST cancel); opens My bookings (10 %); the
seminar list and one seminar (10 %); polls their personal calendar feed with its ETag
(5 %). 302, 409 (taken) and 422 (e.g. allocated to another agency) are expected answers to
a booking; errors are any other status and wrk's socket errors. Afterwards an SQL
self-join counts overlapping active occurrences (double bookings).

Printed: per page p50/p95/p99/max, requests/s, errors, booking outcomes, the CPU used by
wrk, gunicorn and PostgreSQL and the whole machine (from /proc), the load average during
the run, and the server's CPU per request with the capacity it implies. Before the load,
in this process on the same data: SQL statements, wall and CPU time per page
(--cprofile PAGE adds a cProfile of that page).

    .venv/bin/python bench/bench_load.py                                  # 50 users, 60 s (make bench)
    .venv/bin/python bench/bench_load.py --users 200 --duration 300       # the full scenario
    .venv/bin/python bench/bench_load.py --users 200 --worker-class sync --workers 5
    .venv/bin/python bench/bench_load.py --profile-only --cprofile "find a free room"

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
import resource
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
from contextlib import contextmanager
from datetime import datetime, time, timedelta, timezone
from http.cookiejar import CookieJar
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("SAMLOKAL_NO_MODULE_APP", "1")
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench._common import stop, timed_ms  # noqa: E402
from office.core import clock as app_clock  # noqa: E402
from bench.summary import record  # noqa: E402

ZONE = ZoneInfo("Europe/Stockholm")
PASSWORD = "load test password"
DATABASE = "samlokal_load"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
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

# The server's password hashing: production's argon2id settings (office/core/config.py),
# or --cheap-passwords for quick iterations (a login then costs about nothing).
PRODUCTION_HASH = (3, 64 * 1024)
CHEAP_HASH = (1, 8)


def make_app(url: str, hash_cost: tuple[int, int] = CHEAP_HASH):
    from wsgi import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load", "SERVER_NAME": None,
                       "RATELIMIT_ENABLED": False, "PASSWORD_HASH_TIME_COST": hash_cost[0],
                       "PASSWORD_HASH_MEMORY_COST": hash_cost[1]})


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
        today = app_clock.today()  # the server's clock: what it calls today and now
        monday = today - timedelta(days=today.weekday())
        days = [monday + timedelta(weeks=w, days=d) for w in range(-history_weeks, 4) for d in range(5)]
        taken = defaultdict(list)  # the demo's own bookings: the history keeps clear of them
        for resource_id, start, end in db.session.execute(sa.select(
                ReservationOccurrence.resource_id, ReservationOccurrence.starts_at,
                ReservationOccurrence.ends_at).where(ReservationOccurrence.state == "active")):
            taken[resource_id].append((start, end))
        now = app_clock.now()
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
        # Everyone's calendar app polls their personal feed (when the app has feeds).
        feeds = [None] * users
        if any(rule.endpoint.startswith("feeds.") for rule in app.url_map.iter_rules()):
            from flask import url_for

            from office.feeds import tokens

            with app.test_request_context():
                feeds = [url_for("feeds.private_feed", token=tokens.issue_token(person, "personal"))
                         for person in sorted(staff, key=lambda u: int(u.email[4:].split("@")[0]))]
            db.session.commit()
        # The days people look at and book: open weekdays of the next three weeks.
        from office.premises.rules import closed_days

        ahead = [today + timedelta(days=n) for n in range(1, 22)]
        closed = closed_days(site, ahead[0], ahead[-1])
        days = [d for d in ahead if d.weekday() < 5 and d not in closed]
        db.session.remove()
        db.engine.dispose()
    return dict(site=site_id, resources=bookable, counts=counts, feeds=feeds, days=days)


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile within the samples (never above the largest, unlike "exclusive")."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


# --- logging in, before the clock starts ---------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 302 after a POST is the answer measured


def log_in(base: str, email: str) -> tuple[str, float]:
    """GET and POST /login as a browser would; the session cookie and the POST's seconds."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
    with opener.open(base + "/login", timeout=120) as response:
        token = CSRF.search(response.read().decode()).group(1)
    body = urllib.parse.urlencode({"email": email, "password": PASSWORD, "csrf_token": token})
    started = clock.perf_counter()
    try:
        opener.open(base + "/login", body.encode(), timeout=120).read()
        raise RuntimeError(f"{email}: the login did not redirect")
    except urllib.error.HTTPError as error:
        if error.code != 302:
            raise RuntimeError(f"{email}: the login answered {error.code}") from None
    seconds = clock.perf_counter() - started
    session = next(c for c in jar if c.name == "session")
    return f"session={session.value}", seconds


def log_everyone_in(base: str, users: int, concurrency: int) -> tuple[list[str], list[float]]:
    """Every simulated person logs in (`concurrency` at a time): their cookies, in order."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(concurrency) as pool:
        answers = list(pool.map(lambda n: log_in(base, f"load{n}@example.org"), range(users)))
    return [cookie for cookie, _ in answers], [seconds * 1000 for _, seconds in answers]


def bare_password_check_ms(app) -> float:
    """The floor of a login: one argon2 verify with the server's settings, in this process."""
    from office.accounts.rules import _hasher

    with app.app_context():
        hasher = _hasher()
        stored = hasher.hash(PASSWORD)
        return statistics.median(timed_ms(lambda: hasher.verify(stored, PASSWORD), 5))


# --- CPU of each party, from /proc ----------------------------------------------------------

def _stat(pid: int) -> tuple[int, float]:
    """(parent pid, CPU seconds of the process and of its children already reaped)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1, 0.0
    fields = text[text.rindex(")") + 2:].split()
    ticks = sum(int(fields[n]) for n in (11, 12, 13, 14))  # utime stime cutime cstime
    return int(fields[1]), ticks / os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> float:
    """CPU seconds of a process tree (live processes and the children they reaped)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            parents[int(entry)] = _stat(int(entry))
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += parents.get(pid, (0, 0.0))[1]
        todo += [child for child, (parent, _) in parents.items() if parent == pid]
    return total


def machine_cpu() -> float:
    """CPU seconds busy on the whole machine so far (every process, ours or not)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def postmaster_pid(url: str) -> int | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            folder = conn.execute(sa.text("SHOW data_directory")).scalar()
        return int(Path(folder, "postmaster.pid").read_text().split()[0])
    except Exception:  # noqa: BLE001 - not readable: the figure is left out
        return None
    finally:
        engine.dispose()


class LoadAverage(threading.Thread):
    """Samples /proc/loadavg (1 minute) every 5 s while the load runs."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(5):
            self.samples.append(float(Path("/proc/loadavg").read_text().split()[0]))


# --- the run ------------------------------------------------------------------------------

# bench_load.lua's steps: requests per step, weighted as its STEPS are (a booking from the
# search or the form is two requests, a cancellation three, seminars two).
REQUESTS_PER_STEP = (30 * 1 + 10 * 1 + 15 * 2 + 10 * 2 + 10 * 3 + 10 * 1 + 10 * 2 + 5 * 1) / 100


NGINX_CONF = """
worker_processes 1;
daemon off;
{user}
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    keepalive_timeout {keepalive}s;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass {upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
        }}
    }}
}}
"""


@contextmanager
def nginx_in_front(upstream: str, folder: Path, keepalive: int = 75):
    """nginx before gunicorn as deploy/nginx.conf puts it (a connection to gunicorn per
    request, HTTP/1.0): the simulated browsers keep their connections to nginx, so a person
    thinking holds no gunicorn worker or thread. Yields nginx's base URL and its pid."""
    from tests.servers import free_port

    port = free_port()
    user = "user root;" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(NGINX_CONF.format(user=user, folder=folder, port=port,
                                                         upstream=upstream, keepalive=keepalive))
    process = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-c",
                                str(folder / "nginx.conf"), "-p", str(folder)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = clock.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(base + "/login", timeout=5).read()
                break
            except OSError:
                if process.poll() is not None or clock.monotonic() > deadline:
                    raise RuntimeError("nginx did not start: " + (folder / "error.log").read_text())
                clock.sleep(0.1)
        yield base, process.pid
    finally:
        stop(process)


def write_plan(path: Path, plan: dict, cookies: list[str]) -> None:
    lines = [f"site {plan['site']}", "days " + ",".join(d.isoformat() for d in plan["days"]),
             "resources " + ",".join(str(r) for r in plan["resources"])]
    lines += [f"user {cookie} {feed or '-'}" for cookie, feed in zip(cookies, plan["feeds"])]
    path.write_text("\n".join(lines) + "\n")


def read_samples(folder: Path) -> tuple[dict, Counter, Counter]:
    samples: dict[str, list[float]] = defaultdict(list)
    errors: Counter = Counter()
    outcomes: Counter = Counter()
    details: list[str] = []
    feed_statuses: Counter = Counter()
    for path in folder.glob("samples-*.tsv"):
        for line in path.read_text().splitlines():
            name, status, ms, verdict = line.split("\t")
            if verdict == "outcome":
                outcomes[f"{name}: {status}"] += 1
                continue
            samples[name].append(float(ms))
            if name == "calendar feed":
                feed_statuses[status] += 1
            if verdict != "ok":
                errors[f"{name}: status {status}"] += 1
                details.append(f"{status} {verdict}")
    for detail in details[:5]:
        print(f"  unexpected answer: {detail}")
    print("  calendar feed answers: " + ", ".join(f"{status} × {count}" for status, count in
                                                  sorted(feed_statuses.items())))
    return samples, errors, outcomes


def load(url: str, plan: dict, args) -> dict:
    from tests.servers import gunicorn_servers

    instance = Path(tempfile.mkdtemp(prefix="samlokal-load-"))
    work = Path(tempfile.mkdtemp(prefix="samlokal-load-wrk-"))
    server_args = f"--worker-class {args.worker_class} --threads {args.threads}"
    environment = {"RATELIMIT_ENABLED": "0", "GUNICORN_CMD_ARGS": server_args,
                   "PASSWORD_HASH_TIME_COST": str(plan["hash_cost"][0]),
                   "PASSWORD_HASH_MEMORY_COST": str(plan["hash_cost"][1])}
    pin = ["taskset", "-c", args.client_cpus] if args.client_cpus and shutil.which("taskset") else []
    try:
        with gunicorn_servers(1, url, instance, workers=args.workers, **environment) as (upstream,), \
                nginx_in_front(upstream, work, keepalive=int(max(75, 5 * args.think + 10))) \
                as (base, nginx_pid):  # longer than any pause (at most 4 × think): no stale socket
            server_pid = _listening_gunicorn(upstream)
            started = clock.perf_counter()
            cookies, logins = log_everyone_in(base, args.users, args.login_concurrency)
            login_seconds = clock.perf_counter() - started
            write_plan(work / "plan", plan, cookies)
            command = [*pin, "wrk", "-t", str(args.users), "-c", str(args.users),
                       "-d", f"{args.duration:.0f}s", "--timeout", "30s", "-s",
                       str(ROOT / "bench" / "bench_load.lua"), base, "--", str(work / "plan"),
                       str(work), str(int(args.think * 1000))]
            postmaster = postmaster_pid(url)
            before = (resource.getrusage(resource.RUSAGE_CHILDREN), tree_cpu(server_pid),
                      tree_cpu(postmaster) if postmaster else 0.0, machine_cpu(),
                      tree_cpu(nginx_pid))
            loadavg = LoadAverage()
            loadavg.start()
            started = clock.perf_counter()
            finished = subprocess.run(command, capture_output=True, text=True, check=True)
            elapsed = clock.perf_counter() - started
            loadavg.stop.set()
            after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = {"client (wrk)": (after_children.ru_utime + after_children.ru_stime)
                   - (before[0].ru_utime + before[0].ru_stime),
                   "nginx": tree_cpu(nginx_pid) - before[4],
                   "gunicorn": tree_cpu(server_pid) - before[1],
                   "PostgreSQL": (tree_cpu(postmaster) - before[2]) if postmaster else None,
                   "whole machine": machine_cpu() - before[3]}
        samples, errors, outcomes = read_samples(work)
        socket = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", finished.stdout)
        for kind, count in zip(("connect", "read", "write", "timeout"), socket.groups()):
            if int(count):
                errors[f"wrk socket errors: {kind}"] += int(count)
    finally:
        shutil.rmtree(instance, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return dict(samples=samples, errors=errors, outcomes=outcomes, elapsed=elapsed, cpu=cpu,
                logins=logins, login_seconds=login_seconds, loadavg=loadavg.samples,
                wrk=finished.stdout.strip())


def _listening_gunicorn(base: str) -> int:
    """The gunicorn master serving `base` (the child of this process running gunicorn)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _stat(int(entry))[0] == os.getpid():
            try:
                if b"gunicorn" in Path(f"/proc/{entry}/cmdline").read_bytes():
                    return int(entry)
            except OSError:
                continue
    raise RuntimeError("no gunicorn child found")


def report(result: dict, plan: dict, args) -> dict:
    samples, elapsed = result["samples"], result["elapsed"]
    total = sum(len(v) for v in samples.values())
    errors = sum(result["errors"].values())
    print(f"\n  logged in {args.users} users ({args.login_concurrency} at a time) in "
          f"{result['login_seconds']:.1f} s before the clock started: POST /login p50 "
          f"{statistics.median(result['logins']):.0f} ms, p99 {percentile(result['logins'], 99):.0f} ms "
          f"(one bare argon2id check: {plan['password_check_ms']:.0f} ms)")
    print(f"  {args.users} users, one wrk connection each, for {elapsed:.0f} s (think time mean "
          f"{args.think} s): {total} requests, {total / elapsed:.1f} requests/s")
    print(f"  {'page':<26}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for name, values in sorted(samples.items(), key=lambda kv: -percentile(kv[1], 99)):
        print(f"  {name:<26}{len(values):>7}{statistics.median(values):>9.1f}"
              f"{percentile(values, 95):>9.1f}{percentile(values, 99):>9.1f}{max(values):>9.1f}")
    print(f"  outcomes: {dict(sorted(result['outcomes'].items()))}")
    print(f"  errors: {errors}" + "".join(f"\n    {count} × {what}"
                                          for what, count in result["errors"].most_common(10)))
    print(f"  {result['wrk']}")
    busy = ", ".join(f"{who} {seconds / elapsed:.2f}" for who, seconds in result["cpu"].items()
                     if seconds is not None)
    print(f"  CPU (cores busy on average): {busy}; load average (1 min) during the run: "
          + (f"{min(result['loadavg']):.1f}–{max(result['loadavg']):.1f}" if result["loadavg"] else "–"))
    # What the server's two parties spent per request under this load, and so the most that
    # the machine's cores could serve if nothing else ran on them; beside the load offered.
    server = (result["cpu"]["nginx"] + result["cpu"]["gunicorn"]
              + (result["cpu"]["PostgreSQL"] or 0.0))
    per_request = server / total
    offered = args.users * REQUESTS_PER_STEP / args.think
    print(f"  server CPU per request (nginx, gunicorn and PostgreSQL): {per_request * 1000:.0f} ms, so "
          f"{os.cpu_count()} idle cores would serve at most {os.cpu_count() / per_request:.0f} "
          f"requests/s; {args.users} users thinking {args.think} s offer up to {offered:.0f}/s")
    slowest = max(samples, key=lambda name: percentile(samples[name], 99))
    return dict(slowest=slowest, p99=percentile(samples[slowest], 99), errors=errors,
                rate=total / elapsed, cpu_per_request=per_request * 1000, offered=offered)


def check_no_overlaps(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        overlaps = conn.execute(sa.text(OVERLAPS)).scalar()
        active = conn.execute(sa.text(
            "SELECT count(*) FROM reservation_occurrence WHERE state = 'active'")).scalar()
    engine.dispose()
    print(f"  afterwards: {active} active occurrences, {overlaps} overlapping pairs "
          f"(SQL self-join on resource and [starts_at, ends_at))")
    return overlaps


def profile_pages(url: str, plan: dict, cprofile: str | None = None, repeat: int = 5) -> None:
    """Per page, in this process on the same data: SQL statements, and the median wall and
    CPU time of `repeat` requests (CPU time is what a busy machine disturbs least).
    With `cprofile` (a page's name) that page also runs 20 times under cProfile."""
    import cProfile
    import logging
    import pstats

    from sqlalchemy import event

    from office.core.extensions import db

    app = make_app(url, plan["hash_cost"])
    logging.getLogger("samlokal.request").setLevel(logging.WARNING)  # the figures only
    count = [0]
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: count.__setitem__(0, count[0] + 1))
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": "load0@example.org", "password": PASSWORD,
                                "csrf_token": CSRF.search(html).group(1)})
    day = plan["days"][len(plan["days"]) // 2]
    seminars = client.get("/seminars/").get_data(as_text=True)
    pages = {
        "week grid": f"/bookings/?site={plan['site']}&view=week&day={day}",
        "day grid": f"/bookings/?site={plan['site']}&view=day&day={day}",
        "find a free room": f"/bookings/find?site={plan['site']}&day={day}&start=10:00&end=11:00"
                            "&people=2&kind=room",
        "booking form": f"/bookings/new?resource={plan['resources'][0]}&day={day}&start=10:00",
        "my bookings": "/bookings/mine",
        "seminar list": "/seminars/",
    }
    found = re.findall(r'href="/seminars/(\d+)"', seminars)
    if found:
        pages["one seminar"] = f"/seminars/{found[0]}"
    if plan["feeds"][0]:
        pages["calendar feed"] = plan["feeds"][0]
    print(f"\n  per page, logged-in staff, in process ({repeat} requests, medians):")
    print(f"  {'page':<18}{'statements':>11}{'wall ms':>9}{'CPU ms':>8}")
    for name, path in pages.items():
        walls, cpus = [], []
        for _ in range(repeat):
            count[0] = 0
            wall, cpu = clock.perf_counter(), clock.process_time()
            status = client.get(path).status_code
            walls.append((clock.perf_counter() - wall) * 1000)
            cpus.append((clock.process_time() - cpu) * 1000)
        print(f"  {name:<18}{count[0]:>11}{statistics.median(walls):>9.1f}"
              f"{statistics.median(cpus):>8.1f}" + ("" if status == 200 else f"  (status {status})"))
    if cprofile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(20):
            client.get(pages[cprofile])
        profile.disable()
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(r"office|seminars|jinja2|sqlalchemy", 30)
        stats.sort_stats("tottime").print_stats(25)
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60, help="seconds of load")
    parser.add_argument("--think", type=float, default=2.0, help="mean pause between steps (s)")
    import runpy

    deployed = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    parser.add_argument("--workers", type=int, default=deployed["workers"],
                        help="gunicorn workers (default: deploy/gunicorn.conf.py's)")
    parser.add_argument("--worker-class", default=deployed["worker_class"],
                        choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=deployed["threads"],
                        help="threads per gthread worker")
    parser.add_argument("--client-cpus", default="1",
                        help="taskset CPU list for wrk ('' for none); the server may use all")
    parser.add_argument("--login-concurrency", type=int, default=4)
    parser.add_argument("--cheap-passwords", action="store_true",
                        help="argon2id t=1, m=8 KiB instead of production's t=3, m=64 MiB")
    parser.add_argument("--history-weeks", type=int, default=26)
    parser.add_argument("--profile-only", action="store_true",
                        help="only the in-process figures per page, no load")
    parser.add_argument("--cprofile", metavar="PAGE", help="cProfile this page (its name)")
    parser.add_argument("--quick", action="store_true", help="(make bench-quick) not run")
    args = parser.parse_args()
    if args.quick:
        print("bench_load: not part of the quick run")
        return
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            print(f"bench_load: {tool} not found (apt-get install {tool}): skipped")
            return
    if args.worker_class == "sync":
        args.threads = 1

    admin_url = os.environ.get("SAMLOKAL_BENCH_PG_URL") or throwaway_cluster()
    url = fresh_database(admin_url)
    hash_cost = CHEAP_HASH if args.cheap_passwords else PRODUCTION_HASH
    threads = f" × {args.threads} threads" if args.worker_class == "gthread" else ""
    print(f"== load: nginx, gunicorn ({args.workers} {args.worker_class} workers{threads}) and "
          f"PostgreSQL on loopback, wrk on CPU {args.client_cpus or 'any'}; {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, {app_clock.today()}, load "
          f"average {Path('/proc/loadavg').read_text().split()[0]} before ==")
    started = clock.perf_counter()
    app = make_app(url, hash_cost)
    plan = seed(app, args.users, args.history_weeks)
    plan["hash_cost"] = hash_cost
    plan["password_check_ms"] = bare_password_check_ms(app)
    print(f"  seeded {plan['counts']} in {clock.perf_counter() - started:.1f} s")
    profile_pages(url, plan, args.cprofile)
    if args.profile_only:
        return
    result = load(url, plan, args)
    headline = report(result, plan, args)
    overlaps = check_no_overlaps(url)
    threads = f" × {args.threads}" if args.worker_class == "gthread" else ""
    label = (f"load, {args.users} staff, think {args.think:g} s, {args.workers} "
             f"{args.worker_class}{threads}")
    record(f"{label}: p99 of the slowest page ({headline['slowest']})", headline["p99"],
           limit=300)
    record(f"{label}: errors", headline["errors"],
           unit="errors", limit=1)
    record(f"{label}: double bookings afterwards", overlaps, unit="pairs", limit=1)
    record(f"{label}: requests/s served (offered up to {headline['offered']:.0f}/s)",
           headline["rate"], unit="req/s", higher_is_better=True)
    record(f"{label}: server CPU per request (nginx, gunicorn, PostgreSQL)",
           headline["cpu_per_request"])
    if not args.cheap_passwords:
        record(f"{label}: POST /login p99 (argon2id)", percentile(result["logins"], 99),
               "one argon2id check", plan["password_check_ms"])


if __name__ == "__main__":
    main()
