"""Never a double booking: 24 logged-in clients race for one slot over real HTTP.

A real gunicorn (3 workers × 8 threads) serves the app on 127.0.0.1 against this run's test
database (the SQLite file or the PostgreSQL database of `database_url`); every client has
its own session and loaded the booking form before a threading.Barrier releases them all
at once. Exactly one booking may exist afterwards; every loser gets 409 with the "just
taken" message and its form, never a 500.

The guards: on SQLite a POST's transaction begins IMMEDIATE (wsgi.py declares the write
intent, office/core/database.py issues it), so the check and the insert of one request cannot
interleave with another's. On PostgreSQL the requests do interleave (READ COMMITTED), and
the exclusion constraint ex_occurrence_no_overlap refuses the second insert (23P01 →
BookingConflict → 409).

This test fails without its guard; run it with SAMLOKAL_RACE_UNGUARDED=1 to see:
- SQLite: tests/race_app.py then begins transactions deferred. Observed on 2026-11-25:
  1 booking but 22 of 23 losers got 503 ("database is locked": a deferred reader cannot
  upgrade to a writer once another request committed), so the status assertion fails.
- PostgreSQL: the test first drops the exclusion constraint. Observed on 2026-11-25:
  5 bookings of the one slot (five 302s, nineteen 409s), so the count assertion fails.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time as time_module
import urllib.error
import urllib.parse
import urllib.request
from datetime import time
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from office.accounts.models import Role
from office.booking.models import OccurrenceState, ReservationOccurrence
from office.core import clock
from office.core.extensions import db
from tests.calendar_days import ordinary_day
from tests.conftest import BACKEND, PASSWORD, csrf_token_from
from tests.servers import post_all_at_once

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 24
UNGUARDED = os.environ.get("SAMLOKAL_RACE_UNGUARDED") == "1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(database_url, tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "race-test-secret",
           "SAMLOKAL_INSTANCE_PATH": str(tmp_path), "RATELIMIT_ENABLED": "0",
           "SAMLOKAL_NO_MODULE_APP": "1", **clock.environment()}
    log = open(tmp_path / "gunicorn.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "3", "--threads", "8",
         "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT), "tests.race_app:app"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time_module.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=2).read()
            break
        except OSError:  # not listening yet (URLError, refused, timed out)
            if time_module.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("gunicorn did not start: " + (tmp_path / "gunicorn.log").read_text())
            time_module.sleep(0.2)
    yield base
    process.terminate()
    try:
        process.wait(timeout=30)
    finally:
        process.kill()
        log.close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 after booking is the answer itself


class Client:
    """One person in a browser: own cookies, own CSRF token."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect())

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, body, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def login(self, email: str) -> None:
        _, html = self.request("/login")
        status, _ = self.request("/login", {"email": email, "password": PASSWORD,
                                            "csrf_token": csrf_token_from(html)})
        assert status == 302, "login failed"




@pytest.mark.timeout(600)  # starts real servers: minutes on a busy machine
@pytest.mark.slow
def test_concurrent_requests_for_one_slot_book_it_once(app, server, create_user, create_resource, create_site):
    site = create_site(opens=time(8), closes=time(17))
    room_id = create_resource(site=site, capacity=4).id
    emails = [create_user(role=Role.staff).email for _ in range(CLIENTS)]
    db.session.commit()
    if UNGUARDED and BACKEND == "postgresql":
        db.session.execute(text("ALTER TABLE reservation_occurrence DROP CONSTRAINT ex_occurrence_no_overlap"))
        db.session.commit()
    db.session.close()  # hold no lock of the test process while the server works
    day = ordinary_day(days_ahead=7)

    clients, forms = [], []
    for email in emails:
        client = Client(server)
        client.login(email)
        status, html = client.request(f"/bookings/new?resource={room_id}&day={day}&start=10:00")
        assert status == 200
        seen_at = re.search(r'name="seen_at" type="hidden" value="([^"]+)"', html).group(1)
        clients.append(client)
        forms.append({"csrf_token": csrf_token_from(html), "seen_at": seen_at, "title": "Krock",
                      "resource_id": room_id, "day": day.isoformat(), "start": "10:00", "end": "11:00",
                      "attendees": 2, "booked_for_id": 0, "repeat": "none", "ends": "count", "count": 1})

    results = post_all_at_once(clients, "/bookings/new", forms)

    statuses = sorted(status for status, _ in results)
    booked = db.session.scalar(select(func.count()).select_from(ReservationOccurrence).where(
        ReservationOccurrence.state == OccurrenceState.active))
    db.session.commit()
    if UNGUARDED:
        print(f"\nwithout the guard on {BACKEND}: statuses {statuses}, bookings {booked}")
    assert booked == 1, f"{booked} bookings of one slot; statuses {statuses}"
    assert statuses == [302] + [409] * (CLIENTS - 1), statuses
    for status, html in results:
        if status == 409:
            assert "Någon annan bokade just den här tiden." in html and 'name="title"' in html
