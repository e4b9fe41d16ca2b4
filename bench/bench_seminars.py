"""500 registrations arriving at once for 100 places, on SQLite and PostgreSQL.

Prints registrations per second and checks the outcome: exactly 100 confirmed, 400 on
the waiting list, in arrival order, and 500 mails written (by the sender, timed apart;
or after each commit). Beside it, the floor measured in the same run on the same
database and the same process layout (bare_floor): 500 bare locked inserts.

As production runs (the default): the registrations are 500 HTTP POSTs of the public
guest form (CSRF token and all; rate limits off) to gunicorn started with
deploy/gunicorn.conf.py (one worker per core, gthread) on bench/registration_server.py,
sent by 4 client processes (asyncio, 125 connections each, all connected before they are
released at once); the CPU gunicorn, PostgreSQL and the clients used meanwhile is printed per request. The floor is 500 POSTs the same way to the same workers, each doing only
the bare locked insert (bench/registration_server.py: no Flask, no rules, no mail).
`--in-process`: the earlier layout, 500 threads in this one Python process calling
seminars.registration.register_guest, the floor 500 threads here too (one GIL for all).
PostgreSQL runs in a throwaway cluster started like .ci/postgres.sh does (PG_PORT, default
54339), or in the cluster SAMLOKAL_BENCH_PG_URL names (a fresh database in it).

    .venv/bin/python bench/bench_seminars.py [--postgresql-only] [--in-process]
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

os.environ.setdefault("SAMLOKAL_NO_MODULE_APP", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import stop  # noqa: E402

REGISTRATIONS = 500
PLACES = 100
# The default: the sender writes the mails (timed apart, "mails written/s"). With
# SAMLOKAL_BENCH_RENDER_AFTER_COMMIT=1 each registration writes its own after its commit.
RENDER_AFTER_COMMIT = os.environ.get("SAMLOKAL_BENCH_RENDER_AFTER_COMMIT") == "1"
IN_PROCESS = "--in-process" in sys.argv
CLIENT_PROCESSES = 4


def start_postgres() -> tuple[str, str]:
    port = os.environ.get("PG_PORT", "54339")
    script = "source .ci/postgres.sh; pg_start; echo $PG_DIR; echo $PG_BIN"
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, check=True, capture_output=True, text=True,
                         env={**os.environ, "PG_PORT": port}).stdout.split()
    pg_dir, pg_bin = out[-2], out[-1]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", f"{pg_bin}|{pg_dir}"


def stop_postgres(handle: str) -> None:
    pg_bin, pg_dir = handle.split("|")
    stop = [f"{pg_bin}/pg_ctl", "-D", f"{pg_dir}/data", "-m", "fast", "-w", "stop"]
    if os.geteuid() == 0:
        stop = ["runuser", "-u", "postgres", "--"] + stop
    subprocess.run(stop, check=False, capture_output=True)
    subprocess.run(["rm", "-rf", pg_dir], check=False)


def run(url: str) -> dict:
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from office.accounts.models import Agency, Role, User
    from office.core.extensions import db
    from office.core.mail import render_queued
    from office.core.models import OutboxMail
    from office.core.transaction import unit_of_work
    from seminars import planning
    from seminars.models import (
        Audience,
        Registration,
        RegistrationStatus,
        Seminar,
        SeminarDay,
        SeminarKind,
        VenueKind,
    )
    from tests.seminar_factories import next_weekday
    from wsgi import create_app

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 20, "max_overflow": 0, "pool_timeout": 120},
        "MAIL_RENDER_AFTER_COMMIT": RENDER_AFTER_COMMIT,
    })
    with app.app_context():
        upgrade()
        agency = Agency(name="RAR", short_name="RAR")
        coordinator = User(email="c@example.se", name="C", agency=agency, role=Role.coordinator)
        from datetime import time as clock
        seminar = Seminar(title="Bench", kind=SeminarKind.employer_forum, audience=Audience.public,
                          venue_kind=VenueKind.external, external_address="Folkets hus",
                          capacity=PLACES)
        seminar.days.append(SeminarDay(day=next_weekday(), start_time=clock(9), end_time=clock(12)))
        db.session.add_all([agency, coordinator, seminar])
        db.session.commit()
        with unit_of_work():  # rules never commit: the caller's unit of work does
            planning.publish(seminar, coordinator)
        seminar_id = seminar.id

    with contextlib.ExitStack() as stack:
        if IN_PROCESS:
            elapsed, errors = register_in_process(app, seminar_id)
        else:
            base = stack.enter_context(gunicorn_server(url))  # stopped when the block ends
            elapsed, errors = register_over_http(base, seminar_id)

        with app.app_context():  # what the sender does before delivering: write the bodies
            render_started = time.perf_counter()
            with unit_of_work():
                render_queued()
            render_seconds = time.perf_counter() - render_started
        with app.app_context():
            unrendered = db.session.scalar(select(func.count()).select_from(OutboxMail).where(
                (OutboxMail.render_with.is_not(None)) | (OutboxMail.body == "")))
            mails = db.session.scalar(select(func.count()).select_from(OutboxMail))
            db.session.rollback()  # end the read before the floor's writers start
            floor = bare_floor(app, seminar_id) if IN_PROCESS else http_floor(app, base, seminar_id)
    with app.app_context():
        rows = db.session.execute(
            select(Registration.arrival, Registration.status, Registration.created_at)
            .where(Registration.seminar_id == seminar_id).order_by(Registration.arrival)).all()
        confirmed = sum(1 for r in rows if r.status == RegistrationStatus.confirmed)
        waiting = [r for r in rows if r.status == RegistrationStatus.waiting]
        checks = {
            "arrival numbers 1-500": [r.arrival for r in rows] == list(range(1, REGISTRATIONS + 1)),
            "the first 100 confirmed": all(r.status == RegistrationStatus.confirmed for r in rows[:PLACES]),
            "created_at in arrival order": sum(a.created_at > b.created_at for a, b in zip(rows, rows[1:])),
        }
        in_order = checks["arrival numbers 1-500"] and checks["the first 100 confirmed"] and not checks[
            "created_at in arrival order"]
        if not in_order:
            print(f"  NOT IN ORDER: {checks} (created_at: how many pairs out of order)")
        db.engine.dispose()
    if errors:
        print("  first error:", repr(errors[0]))
    if unrendered or mails != REGISTRATIONS:
        errors.append(RuntimeError(f"{mails} mails queued, {unrendered} without a body"))
    return {"floor_per_second": floor, "mails_per_second": REGISTRATIONS / render_seconds,
            "errors": len(errors), "confirmed": confirmed, "waiting": len(waiting),
            "in_arrival_order": in_order, "seconds": elapsed, "per_second": REGISTRATIONS / elapsed}


def register_in_process(app, seminar_id: int) -> tuple[float, list]:
    """500 threads in this process, each calling register_guest as the guest form's request
    does; returns the seconds from the barrier's release to the last one, and the errors."""
    from office.core.extensions import db
    from office.core.transaction import run_after_commit, unit_of_work
    from seminars.registration import register_guest

    barrier = threading.Barrier(REGISTRATIONS + 1)
    errors: list[BaseException] = []

    def one(n: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                # As the guest form's request: one transaction, then (after the commit,
                # outside the seminar's lock) the mail's body and .ics are written.
                with app.test_request_context():
                    with unit_of_work():
                        register_guest(seminar_id, name=f"Guest {n}", organisation="Bench",
                                       email=f"guest{n}@example.se")
                    run_after_commit()
            except BaseException as error:
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(REGISTRATIONS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, errors


# --- as production runs: HTTP to gunicorn ----------------------------------------------------

@contextlib.contextmanager
def gunicorn_server(url: str):
    """gunicorn with deploy/gunicorn.conf.py on bench/registration_server.py; yields its base
    URL once it answers, and stops it when closed."""
    from tests.servers import free_port

    port = free_port()
    instance = tempfile.mkdtemp(prefix="samlokal-bench-seminars-")
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": "0",
           "SAMLOKAL_INSTANCE_PATH": instance, "SAMLOKAL_NO_MODULE_APP": "1",
           "SAMLOKAL_BIND": f"127.0.0.1:{port}",
           "MAIL_RENDER_AFTER_COMMIT": "1" if RENDER_AFTER_COMMIT else "0"}
    log = open(Path(instance) / "gunicorn.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py",
         "bench.registration_server:app"], cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    from bench.bench_load import postmaster_pid

    WATCHED["gunicorn"] = process.pid
    postgres = postmaster_pid(url) if url.startswith("postgresql") else None
    if postgres is not None:
        WATCHED["postgresql"] = postgres
    try:
        deadline = time.perf_counter() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {(Path(instance) / 'gunicorn.log').read_text()[-2000:]}")
            try:
                _request(base, "GET", "/login")
                break
            except OSError:
                if time.perf_counter() > deadline:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        stop(process)
        log.close()
        WATCHED.clear()
        shutil.rmtree(instance, ignore_errors=True)


def _request(base: str, method: str, path: str, body: str | None = None, headers=None):
    import http.client

    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read().decode()
    finally:
        connection.close()


def _client(base: str, requests: list[tuple[str, str]], headers: dict, ready, go, results) -> None:
    """One client process: an asyncio loop with a connection per request (cheap on the CPU
    the server shares: these clients would be elsewhere in production). Connects them all,
    waits at `ready` (with the other processes and the caller), sends when `go` is set.
    Puts [(status, finished at)] (status 0: no answer)."""
    import asyncio

    host, port = base.removeprefix("http://").split(":")

    def raw(path: str, body: str) -> bytes:
        data = body.encode()
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(data)}",
                 "Connection: close", *(f"{name}: {value}" for name, value in headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + data

    async def one(connection, request: bytes, released: asyncio.Event) -> tuple[int, float]:
        reader, writer = connection
        try:
            await released.wait()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            return int(head.split(b" ", 2)[1]), time.perf_counter()
        except Exception as error:  # counted as an error by the caller
            print("  client error:", repr(error), file=sys.stderr)
            return 0, time.perf_counter()
        finally:
            writer.close()

    async def main() -> list[tuple[int, float]]:
        connections = [await asyncio.open_connection(host, int(port)) for _ in requests]
        ready.wait()
        go.wait()
        released = asyncio.Event()
        tasks = [asyncio.ensure_future(one(connection, raw(*request), released))
                 for connection, request in zip(connections, requests)]
        released.set()
        return await asyncio.gather(*tasks)

    results.put(asyncio.run(main()))


def post_all_at_once(base: str, requests: list[tuple[str, str]], headers: dict) -> tuple[float, list[int]]:
    """POST every (path, body) at once from CLIENT_PROCESSES processes; returns the seconds
    from the release to the last answer and the statuses (0: no answer). The CPU seconds
    gunicorn, PostgreSQL and the whole machine used meanwhile go to CPU_USED."""
    from bench.bench_load import machine_cpu, tree_cpu

    context = multiprocessing.get_context("fork")
    ready, go = context.Barrier(CLIENT_PROCESSES + 1, timeout=120), context.Event()
    results = context.Queue()
    chunks = [requests[k::CLIENT_PROCESSES] for k in range(CLIENT_PROCESSES)]
    clients = [context.Process(target=_client, args=(base, chunk, headers, ready, go, results))
               for chunk in chunks]
    for client in clients:
        client.start()
    ready.wait()  # every connection open
    watched = {**WATCHED, **{f"client {n}": client.pid for n, client in enumerate(clients)}}
    before = {name: tree_cpu(pid) for name, pid in watched.items()}
    machine = machine_cpu()
    go.set()
    started = time.perf_counter()
    done = [outcome for _ in clients for outcome in results.get(timeout=600)]
    CPU_USED.clear()
    used = {name: tree_cpu(pid) - before[name] for name, pid in watched.items()}
    CPU_USED.update({name: used[name] for name in WATCHED})
    CPU_USED["clients"] = sum(seconds for name, seconds in used.items() if name.startswith("client "))
    CPU_USED["machine"] = machine_cpu() - machine
    for client in clients:
        client.join()
    return max(finished for _, finished in done) - started, [status for status, _ in done]


# name -> pid of the process trees whose CPU post_all_at_once measures (gunicorn, PostgreSQL)
WATCHED: dict[str, int] = {}
CPU_USED: dict[str, float] = {}


def cpu_line(count: int) -> str:
    """The CPU of the last post_all_at_once, per request, in ms."""
    return ", ".join(f"{name} {seconds / count * 1000:.1f}" for name, seconds in CPU_USED.items())


def register_over_http(base: str, seminar_id: int) -> tuple[float, list]:
    """500 guests POST the public registration form at once (one session's CSRF token, as
    a browser that loaded the page; each a different address). A registration answers 302
    to the guest's own page; anything else is an error."""
    path = f"/seminars/public/{seminar_id}"
    status, headers, page = _request(base, "GET", path)
    assert status == 200, status
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    cookie = "; ".join(value.split(";", 1)[0] for name, value in headers if name.lower() == "set-cookie")
    forms = [(path, urlencode({"csrf_token": token, "name": f"Guest {n}", "organisation": "Bench",
                               "email": f"guest{n}@example.se", "locale": "sv",
                               "dietary_needs": "", "accessibility_needs": ""}))
             for n in range(REGISTRATIONS)]
    elapsed, statuses = post_all_at_once(base, forms, {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    errors = [f"HTTP {status}" for status in statuses if status != 302]
    print(f"  registrations: CPU ms per registration: {cpu_line(REGISTRATIONS)}")
    return elapsed, errors


def http_floor(app, base: str, seminar_id: int) -> float:
    """The floor over HTTP, the same way and to the same workers: 500 POSTs of the same
    size, each a bare locked insert (bench/registration_server.py). Returns per second."""
    import sqlalchemy as sa

    from office.core.extensions import db

    table = _floor_table(sa)
    with app.app_context():
        table.create(db.engine, checkfirst=True)
        body = urlencode({"csrf_token": "x" * 91, "name": "Guest 000", "organisation": "Bench",
                          "email": "guest000@example.se", "locale": "sv",
                          "dietary_needs": "", "accessibility_needs": ""})
        elapsed, statuses = post_all_at_once(
            base, [(f"/bench/floor/{seminar_id}?n={n}", body) for n in range(REGISTRATIONS)],
            {"Content-Type": "application/x-www-form-urlencoded"})
        assert statuses == [200] * REGISTRATIONS, sorted(set(statuses))
        print(f"  floor: CPU ms per request: {cpu_line(REGISTRATIONS)}")
        with db.engine.connect() as connection:
            rows = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        assert rows == REGISTRATIONS, rows
    return REGISTRATIONS / elapsed


def _floor_table(sa):
    return sa.Table("bench_floor", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("seminar_id", sa.Integer), sa.Column("arrival", sa.Integer),
                    sa.Column("email", sa.String(254)), sa.UniqueConstraint("seminar_id", "arrival"))


def bare_floor(app, seminar_id: int) -> float:
    """The floor, same run and database: the least an exact registration must do.

    500 threads at once, each one transaction through the same pool: lock the seminar row
    (FOR UPDATE; SQLite's write lock), take the next arrival number, insert one row, commit.
    No ORM, no rules, no mail. Returns transactions per second.
    """
    import sqlalchemy as sa

    from office.core.extensions import db

    table = _floor_table(sa)
    seminar = sa.table("seminar", sa.column("id"), sa.column("registration_counter"))
    with app.app_context():
        table.create(db.engine, checkfirst=True)
        engine = db.engine
        lock = (sa.select(seminar.c.registration_counter).where(seminar.c.id == seminar_id)
                .with_for_update())
        barrier = threading.Barrier(REGISTRATIONS + 1)

        def one(n: int) -> None:
            barrier.wait()
            with engine.begin() as connection:
                counter = connection.execute(lock).scalar_one() + 1
                connection.execute(sa.update(seminar).where(seminar.c.id == seminar_id)
                                   .values(registration_counter=counter))
                connection.execute(sa.insert(table).values(seminar_id=seminar_id, arrival=counter,
                                                           email=f"floor{n}@example.se"))

        threads = [threading.Thread(target=one, args=(n,)) for n in range(REGISTRATIONS)]
        for thread in threads:
            thread.start()
        barrier.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        with engine.connect() as connection:
            rows = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        assert rows == REGISTRATIONS, rows
    return REGISTRATIONS / elapsed


def main() -> None:
    layout = ("500 threads in one process" if IN_PROCESS
              else "HTTP POSTs to gunicorn, deploy/gunicorn.conf.py")
    print(f"bench_seminars: {REGISTRATIONS} concurrent registrations for {PLACES} places ({layout}), mails "
          f"{'written after each commit' if RENDER_AFTER_COMMIT else 'written by the sender'} "
          f"({platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()})")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["SAMLOKAL_INSTANCE_PATH"] = folder
        if "--postgresql-only" not in sys.argv:
            report("SQLite", run(f"sqlite:///{folder}/bench.sqlite3"))
        given = os.environ.get("SAMLOKAL_BENCH_PG_URL")
        if given:  # a running cluster (make bench's): a fresh database in it
            report("PostgreSQL", run(fresh_database(given)))
            return
        url, handle = start_postgres()
        try:
            report("PostgreSQL", run(url))
        finally:
            stop_postgres(handle)


def fresh_database(url: str) -> str:
    import sqlalchemy as sa

    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text('DROP DATABASE IF EXISTS "samlokal_bench_seminars" WITH (FORCE)'))
        connection.execute(sa.text('CREATE DATABASE "samlokal_bench_seminars"'))
    admin.dispose()
    return (sa.engine.make_url(url).set(database="samlokal_bench_seminars")
            .render_as_string(hide_password=False))


def report(name: str, result: dict) -> None:
    ok = (result["errors"] == 0 and result["confirmed"] == PLACES
          and result["waiting"] == REGISTRATIONS - PLACES and result["in_arrival_order"])
    share = result["per_second"] / result["floor_per_second"]
    load = " ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg") else "?"
    print(f"  {name:<11} {result['per_second']:7.0f} registrations/s  ({result['seconds']:.2f} s)  "
          f"floor {result['floor_per_second']:5.0f}/s  {share:.0%} of the floor  load {load}  mails written {result['mails_per_second']:4.0f}/s  "
          f"confirmed={result['confirmed']} waiting={result['waiting']} errors={result['errors']} "
          f"arrival order={'yes' if result['in_arrival_order'] else 'NO'}  {'OK' if ok else 'WRONG'}")
    from bench.summary import record

    record(f"500 registrations for 100 places ({name}, exact: {'yes' if ok else 'NO'})",
           result["per_second"] if ok else 0.0,
           "bare locked insert, 500 threads" if IN_PROCESS else "bare locked insert, 500 POSTs, same workers",
           result["floor_per_second"], unit="/s",
           limit=200 if name == "PostgreSQL" else None, higher_is_better=True)


if __name__ == "__main__":
    main()
