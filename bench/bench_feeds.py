"""Calendar feed benchmark: prints the figures issue 8 names (docs/performance.md, "Feeds").

    .venv/bin/python bench/bench_feeds.py            # everything (needs wrk for the HTTP part)
    .venv/bin/python bench/bench_feeds.py --quick    # in-process figures only

Data: one person with 5,000 events (4,900 single bookings, 100 weekly series with an
EXDATE and a moved occurrence each, every tenth a trepartssamtal), 200 subscribers with 25
bookings each, on SQLite in a temporary directory. Figures:
- cold: first feed request in a fresh process, against the icalendar library alone
  building and serialising the same 5,000 events, also first in a fresh process;
- warm: unchanged feed, plain GET (p50); after one event changed (p50);
- 304 path against a Flask hello-world, in-process (p50) and under gunicorn at 50
  connections (requests per second, wrk);
- 200 subscribers polling their personal feeds concurrently against gunicorn (wrk).
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SAMLOKAL_NO_MODULE_APP", "1")

from bench._common import hello, stop, timed  # noqa: E402
from office.core.clock import machine_now  # noqa: E402

BIG_EVENTS = 5000
SUBSCRIBERS = 200
PER_SUBSCRIBER = 25
UTC = timezone.utc
# Only the 304 figures, in process and under gunicorn (no cold starts, no subscriber runs):
# for comparing two commits one after the other.
ONLY_304 = "--only-304" in sys.argv


def config(workdir: Path) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/bench.sqlite3",
        "SECRET_KEY": "bench",
        "BASE_URL": "https://samlokal.example.org",
        "FEED_RATE_LIMIT": "1000000 per minute",  # the limiter still runs on every request
    }


def make_app(workdir: Path):
    import logging

    from wsgi import create_app

    app = create_app(config(workdir))
    # One JSON line per request, as in production, but not onto the terminal.
    logging.getLogger("samlokal.request").handlers = [logging.FileHandler(os.devnull)]
    logging.getLogger("samlokal.request").propagate = False
    return app


# --- data ------------------------------------------------------------------------------

def seed(workdir: Path) -> dict:
    from sqlalchemy import insert

    from office import feeds
    from office.accounts.models import Agency, Role, User
    from office.booking.models import (
        OccurrenceState,
        Reservation,
        ReservationKind,
        ReservationOccurrence,
    )
    from office.core.extensions import db
    from office.premises.models import Resource, ResourceKind, Site

    app = make_app(workdir)
    zone = __import__("zoneinfo").ZoneInfo("Europe/Stockholm")
    with app.test_request_context():
        db.create_all()
        agency = Agency(name="Arbetsförmedlingen", short_name="AF")
        site = Site(name="Drivhuset", address="Järnvägsgatan 1, Oxelösund")
        db.session.add_all([agency, site])
        db.session.flush()
        rooms = [Resource(site_id=site.id, name=f"Samtalsrum {n} – Övre", kind=ResourceKind.room,
                          capacity=6) for n in range(20)]
        users = [User(email=f"u{n}@example.org", name=f"Åsa {n}", agency_id=agency.id,
                      role=Role.staff, password_hash="x") for n in range(SUBSCRIBERS + 1)]
        db.session.add_all(rooms + users)
        db.session.flush()
        stamp = datetime(2026, 1, 2, 8, 0, tzinfo=UTC)
        reservations, occurrences = [], []
        next_id = 1

        def add(user, room, day, start, rule=None, count=1, kind=ReservationKind.booking):
            nonlocal next_id
            rid = next_id
            next_id += 1
            reservations.append(dict(
                id=rid, resource_id=room.id, kind=kind, title=f"Möte {rid}: språkstöd för Åsa",
                attendees=2, booked_by_id=user.id, booked_for_id=None, agency_id=agency.id,
                timezone="Europe/Stockholm", first_day=day, start_time=start,
                end_time=clock(start.hour + 1, start.minute), rrule=rule, sequence=0,
                created_at=stamp, updated_at=stamp, cancelled_at=None))
            for n in range(count):
                local = datetime.combine(day + timedelta(weeks=n), start, tzinfo=zone)
                begin = local.astimezone(UTC)
                end = (local + timedelta(hours=1)).astimezone(UTC)
                state = OccurrenceState.active
                if count > 1 and n == 3:
                    state = OccurrenceState.cancelled
                moved = begin + timedelta(hours=2) if count > 1 and n == 5 else begin
                occurrences.append(dict(
                    reservation_id=rid, resource_id=room.id, starts_at=moved,
                    ends_at=moved + (end - begin), original_start=begin, state=state,
                    updated_at=stamp))

        big = users[0]
        for n in range(BIG_EVENTS - 100):
            day = date(2026, 1, 5) + timedelta(days=n // 8)
            kind = ReservationKind.trepartssamtal if n % 10 == 0 else ReservationKind.booking
            add(big, rooms[n % 20], day, clock(8 + n % 8, 0), kind=kind)
        for n in range(100):
            add(big, rooms[n % 20], date(2026, 3, 2) + timedelta(days=n % 5), clock(7, 0),
                rule="FREQ=WEEKLY;COUNT=10", count=10)
        for index, user in enumerate(users[1:]):
            for n in range(PER_SUBSCRIBER):
                add(user, rooms[(index + n) % 20], date(2026, 2, 2) + timedelta(days=n),
                    clock(8 + n % 8, 30))
        db.session.execute(insert(Reservation.__table__), reservations)
        db.session.execute(insert(ReservationOccurrence.__table__), occurrences)
        db.session.commit()
        tokens = [feeds.issue_token(u, "personal") for u in users]
        db.session.commit()
    return {"big": tokens[0], "subscribers": tokens[1:]}


# --- measuring --------------------------------------------------------------------------

def p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def child(mode: str, workdir: Path, token: str) -> float:
    """Runs one measurement in a fresh process ("first request after start")."""
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(workdir), token],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def child_main(mode: str, workdir: Path, token: str) -> None:
    app = make_app(workdir)
    client = app.test_client()
    if mode == "cold":
        started = time.perf_counter()
        response = client.get(f"/feeds/{token}.ics")
        elapsed = time.perf_counter() - started
        assert response.status_code == 200 and response.data.count(b"BEGIN:VEVENT") >= BIG_EVENTS
    else:  # icalendar alone, the same events, built and serialised once
        events = _same_events(app, token)
        started = time.perf_counter()
        body = icalendar_only(events)
        elapsed = time.perf_counter() - started
        assert body.count(b"BEGIN:VEVENT") >= BIG_EVENTS
    print(elapsed)


def _same_events(app, token: str):
    from office import feeds
    from office.booking.feeds import reservation_feed_events
    from office.core.database import utcnow

    with app.test_request_context():
        subject = feeds.lookup_token(token).subject
        return reservation_feed_events(subject, utcnow())


def icalendar_only(events) -> bytes:
    """What the icalendar library needs for the same VEVENTs, properties and all."""
    import icalendar

    calendar = icalendar.Calendar()
    calendar.add("version", "2.0")
    calendar.add("prodid", "-//bench//EN")
    for e in events:
        vevent = icalendar.Event()
        vevent.add("uid", e.uid + "@samlokal.example.org")
        vevent.add("dtstamp", e.last_modified)
        vevent.add("last-modified", e.last_modified)
        vevent.add("created", e.created)
        vevent.add("sequence", e.sequence)
        vevent.add("summary", e.summary)
        vevent.add("dtstart", e.start)
        vevent.add("dtend", e.end)
        if e.recurrence_id:
            vevent.add("recurrence-id", e.recurrence_id)
        if e.rrule:
            vevent.add("rrule", icalendar.vRecur.from_ical(e.rrule))
        if e.exdates:
            vevent.add("exdate", list(e.exdates))
        vevent.add("location", e.location)
        if e.description:
            vevent.add("description", e.description)
        vevent.add("url", e.url)
        vevent.add("status", e.status)
        vevent.add("transp", "OPAQUE")
        calendar.add_component(vevent)
    return calendar.to_ical()


def in_process(workdir: Path, tokens: dict) -> dict:
    from sqlalchemy import select, update

    from office.booking.models import Reservation, ReservationKind
    from office.core.database import utcnow
    from office.core.extensions import db

    app = make_app(workdir)
    client = app.test_client()
    big = f"/feeds/{tokens['big']}.ics"
    small = f"/feeds/{tokens['subscribers'][0]}.ics"
    first = client.get(big)
    etag = first.headers["ETag"]
    warm = timed(lambda: client.get(big).data, 40)

    ids = []
    with app.app_context():
        ids = list(db.session.scalars(select(Reservation.id).where(
            Reservation.booked_by_id == 1, Reservation.kind == ReservationKind.booking)
            .order_by(Reservation.id).limit(30)))

    def change_one(rid):
        with app.app_context():
            db.session.execute(update(Reservation).where(Reservation.id == rid).values(
                title="Ändrad tid", sequence=Reservation.sequence + 1, updated_at=utcnow()))
            db.session.commit()

    changed = []
    for rid in ids:
        change_one(rid)
        started = time.perf_counter()
        response = client.get(big)
        changed.append(time.perf_counter() - started)
        assert response.status_code == 200 and b"\xc3\x84ndrad tid" in response.data
    etag = client.get(big).headers["ETag"]
    small_etag = client.get(small).headers["ETag"]

    hello_client = hello.test_client()
    # Both requests carry the same header, so the test client's own work is the same.
    same = {"If-None-Match": small_etag}
    for _ in range(300):
        hello_client.get("/", headers=same).data
        client.get(small, headers={"If-None-Match": small_etag}).data
    rounds = {"hello": [], "small": [], "big": [], "after_commit": []}
    # A commit by another connection before each poll: the poll reads the link's row and
    # the stamps again (what every poll costs on PostgreSQL, and on a busy SQLite).
    writer = sqlite3.connect(workdir / "bench.sqlite3", isolation_level=None)

    def after_commit() -> float:
        writer.execute("UPDATE site SET name = name WHERE id = 1")
        return timed(lambda: client.get(small, headers={"If-None-Match": small_etag}).data, 1)[0]

    for _ in range(5):  # interleaved so both see the same machine load
        rounds["hello"] += timed(lambda: hello_client.get("/", headers=same).data, 600)
        rounds["small"] += timed(
            lambda: client.get(small, headers={"If-None-Match": small_etag}).data, 600)
        rounds["big"] += timed(lambda: client.get(big, headers={"If-None-Match": etag}).data, 200)
        rounds["after_commit"] += [after_commit() for _ in range(200)]
    writer.close()
    assert client.get(small, headers={"If-None-Match": small_etag}).status_code == 304
    return {
        "warm_p50_ms": p50(warm), "changed_p50_ms": p50(changed),
        "hello_p50_ms": p50(rounds["hello"]), "not_modified_p50_ms": p50(rounds["small"]),
        "not_modified_5000_p50_ms": p50(rounds["big"]), "body_bytes": len(first.data),
        "not_modified_after_commit_p50_ms": p50(rounds["after_commit"]),
    }


# --- gunicorn and wrk ---------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, target: str, workdir: Path, workers: int = 2):
        self.port = free_port()
        env = {**os.environ, "SAMLOKAL_NO_MODULE_APP": "0",
               "DATABASE_URL": f"sqlite:///{workdir}/bench.sqlite3", "SECRET_KEY": "bench",
               "BASE_URL": "https://samlokal.example.org",
               "FEED_RATE_LIMIT": "1000000 per minute", "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers), "-b",
             f"127.0.0.1:{self.port}", "--log-level", "warning", target],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def cpu_seconds(self) -> float:
        """CPU time of the master and its workers so far (Linux /proc; 0 elsewhere)."""
        try:
            pid = self.process.pid
            children = open(f"/proc/{pid}/task/{pid}/children").read().split()
            total = 0
            for each in [pid, *map(int, children)]:
                fields = open(f"/proc/{each}/stat").read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            return total / os.sysconf("SC_CLK_TCK")
        except OSError:
            return 0.0

    def stop(self):
        stop(self.process)


def wrk(port: int, connections: int, seconds: int, script: str | None = None,
        path: str = "/", headers: dict | None = None) -> dict:
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", script]
    command.append(f"http://127.0.0.1:{port}{path}")
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(next(l for l in output.splitlines() if l.startswith("Requests/sec")).split()[1])
    p99 = next(l for l in output.splitlines() if l.strip().startswith("99%")).split()[1]
    errors = [l.strip() for l in output.splitlines() if "Non-2xx" in l or "Socket errors" in l]
    count = int(next(l for l in output.splitlines() if "requests in" in l).split()[0])
    return {"rps": rps, "p99": p99, "errors": errors, "requests": count}


def wrk_with_cpu(server: Gunicorn, *args, **kwargs) -> dict:
    """wrk's figures and the server's CPU per request (less moved by a busy machine)."""
    before = server.cpu_seconds()
    run = wrk(server.port, *args, **kwargs)
    run["cpu_us"] = (server.cpu_seconds() - before) / max(run["requests"], 1) * 1e6
    return run


def under_gunicorn(workdir: Path, tokens: dict) -> dict:
    import urllib.request

    results = {}
    hello_server = Gunicorn("bench._common:hello", workdir)
    server = Gunicorn("wsgi:app", workdir)
    try:
        base = f"http://127.0.0.1:{server.port}"
        etags = []
        for token in tokens["subscribers"]:
            with urllib.request.urlopen(f"{base}/feeds/{token}.ics") as response:
                etags.append(response.headers["ETag"])
        path = f"/feeds/{tokens['subscribers'][0]}.ics"
        conditional = {"If-None-Match": etags[0]}
        wrk(hello_server.port, 50, 2, headers=conditional)
        wrk(server.port, 50, 2, path=path, headers=conditional)
        # Alternating short runs: on a shared machine both see the same load.
        rounds, cpu = [], []
        for _ in range(4):
            hello_run = wrk_with_cpu(hello_server, 50, 5, headers=conditional)
            feed_run = wrk_with_cpu(server, 50, 5, path=path, headers=conditional)
            rounds.append((hello_run["rps"], feed_run["rps"]))
            cpu.append((hello_run["cpu_us"], feed_run["cpu_us"]))
            if hello_run["errors"] or feed_run["errors"]:
                print("wrk:", hello_run["errors"], feed_run["errors"])
        results["rounds"], results["cpu"] = rounds, cpu
        if ONLY_304:
            return results
        script = Path(workdir) / "subscribers.lua"
        script.write_text(_lua(tokens["subscribers"], etags, conditional=True))
        results["subscribers_conditional"] = wrk(server.port, 200, 10, script=str(script))
        full = Path(workdir) / "subscribers_full.lua"
        full.write_text(_lua(tokens["subscribers"], etags, conditional=False))
        wrk(server.port, 200, 8, script=str(full))  # every worker renders each feed once
        results["subscribers_full"] = wrk(server.port, 200, 10, script=str(full))
    finally:
        server.stop()
        hello_server.stop()
    return results


def _lua(tokens: list[str], etags: list[str], conditional: bool) -> str:
    paths = ",".join(f'"/feeds/{t}.ics"' for t in tokens)
    tags = ",".join("'" + e + "'" for e in etags)
    header = '{["If-None-Match"] = etags[i]}' if conditional else "{}"
    return (f"local paths = {{{paths}}}\nlocal etags = {{{tags}}}\nlocal i = 0\n"
            "request = function()\n  i = (i % #paths) + 1\n"
            f'  return wrk.format("GET", paths[i], {header})\nend\n')


def main(quick: bool) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="samlokal-bench-feeds-"))
    try:
        print(f"# Feeds benchmark, {machine_now():%Y-%m-%d %H:%M} UTC, {platform.node()}, "
              f"{os.cpu_count()} CPUs, Python {platform.python_version()}, SQLite")
        tokens = seed(workdir)
        # Interleaved, seven of each (three when quick), so both see the same load on a shared machine.
        colds, alones = [], []
        for _ in range(0 if ONLY_304 else 3 if quick else 7):
            colds.append(child("cold", workdir, tokens["big"]))
            alones.append(child("icalendar", workdir, tokens["big"]))
        if colds:
            cold, alone = statistics.median(colds), statistics.median(alones)
            print(f"cold, first request after start, {BIG_EVENTS} events: {cold * 1000:.0f} ms")
            print(f"icalendar alone, same events (fresh process): {alone * 1000:.0f} ms")
            pairs = [c / a for c, a in zip(colds, alones)]
            print(f"cold / icalendar alone: {cold / alone:.2f}x of the medians, "
                  f"{statistics.median(pairs):.2f}x median of the pairs (target <= 1.2x); pairs "
                  + ", ".join(f"{r:.2f}" for r in pairs))
        figures = in_process(workdir, tokens)
        print(f"feed body: {figures['body_bytes'] / 1e6:.1f} MB")
        print(f"warm (unchanged, plain GET) p50: {figures['warm_p50_ms']:.1f} ms (target < 25)")
        print(f"after one event changed p50: {figures['changed_p50_ms']:.1f} ms (target < 100)")
        ratio = figures["not_modified_p50_ms"] / figures["hello_p50_ms"]
        print(f"304 p50: {figures['not_modified_p50_ms'] * 1000:.0f} us; Flask hello-world p50: "
              f"{figures['hello_p50_ms'] * 1000:.0f} us; ratio {ratio:.2f}x (target <= 1.3x)")
        print(f"304 p50 for the {BIG_EVENTS}-event feed: "
              f"{figures['not_modified_5000_p50_ms'] * 1000:.0f} us")
        print(f"304 p50 right after another connection committed (the link's row and stamps "
              f"read again): {figures['not_modified_after_commit_p50_ms'] * 1000:.0f} us, "
              f"{figures['not_modified_after_commit_p50_ms'] / figures['hello_p50_ms']:.2f}x")
        from bench.summary import record

        if colds:
            record("feed cold, 5,000 events", cold * 1000, "icalendar alone", alone * 1000,
                   ratio_target=1.2)
        record("feed warm (unchanged, plain GET)", figures["warm_p50_ms"], limit=25)
        record("feed 304, in process", figures["not_modified_p50_ms"], "Flask hello-world",
               figures["hello_p50_ms"], ratio_target=1.3)
        record(f"feed 304, in process, {BIG_EVENTS}-event feed",
               figures["not_modified_5000_p50_ms"], "Flask hello-world", figures["hello_p50_ms"],
               ratio_target=1.3)
        if quick:
            return
        if not shutil.which("wrk"):
            print("wrk not found (apt-get install wrk): skipping the gunicorn figures")
            return
        results = under_gunicorn(workdir, tokens)
        rounds = results["rounds"]
        share = statistics.median(feed / hello for hello, feed in rounds)
        print(f"gunicorn (2 sync workers, wrk -t2), 50 connections, 4 alternating 5 s runs: "
              f"hello-world {statistics.median(h for h, _f in rounds):.0f} req/s; 304 "
              f"{statistics.median(f for _h, f in rounds):.0f} req/s; per run "
              + ", ".join(f"{f / h:.0%}" for h, f in rounds)
              + f"; median {share:.0%} of hello-world (target >= 90%)")
        cpu = results["cpu"]
        print(f"server CPU per request (master and workers, /proc): hello-world "
              f"{statistics.median(h for h, _f in cpu):.0f} us; 304 "
              f"{statistics.median(f for _h, f in cpu):.0f} us")
        record("feed 304 under gunicorn, 50 connections (req/s)",
               statistics.median(f for _h, f in rounds), "hello-world",
               statistics.median(h for h, _f in rounds), unit="req/s", ratio_target=0.9,
               higher_is_better=True)
        for name, label in (("subscribers_conditional", "conditional polls (304)"),
                            ("subscribers_full", "full GETs (200)")):
            if name not in results:
                continue
            r = results[name]
            print(f"{SUBSCRIBERS} subscribers, {label}: {r['rps']:.0f} req/s, p99 {r['p99']}"
                  + (f" ({'; '.join(r['errors'])})" if r["errors"] else ""))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2], Path(sys.argv[3]), sys.argv[4])
    else:
        main(quick="--quick" in sys.argv)
