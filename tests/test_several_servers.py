"""Several app servers, one database: two gunicorn instances race for one slot.

Two gunicorn servers (three workers each) on different loopback ports share this run's
test database: the PostgreSQL database, or on SQLite one database file (sound on one
machine: WAL and BEGIN IMMEDIATE lock across processes; SQLite is never shared over a
network filesystem). Nothing the servers must share lives in their memory:
- the session is a cookie signed with the one SECRET_KEY: every client logs in on one
  server, loads the form (and its CSRF token) from the other and posts to the first;
- the booking guard is the database's (the exclusion constraint on PostgreSQL, the
  IMMEDIATE write lock on SQLite): exactly one of the racing clients wins, every other
  one gets 409 "just taken" with its form, never a 500.
Login throttling shared by both servers: tests/test_rate_limits.py. The scheduled jobs
on two machines at once: tests/test_jobs_on_two_machines.py.
"""

from __future__ import annotations

import re
from datetime import time

import pytest
from sqlalchemy import func, select

from office.accounts.models import Role
from office.booking.models import OccurrenceState, ReservationOccurrence
from office.core.extensions import db
from tests.calendar_days import ordinary_day
from tests.conftest import csrf_token_from
from tests.servers import gunicorn_servers, post_all_at_once
from tests.test_booking_race import Client

CLIENTS = 24


@pytest.mark.timeout(600)  # starts real servers: minutes on a busy machine
@pytest.mark.slow
def test_bookings_racing_across_two_servers_book_the_slot_once(
        app, database_url, tmp_path, create_user, create_site, create_resource):
    site = create_site(opens=time(8), closes=time(17))
    room_id = create_resource(site=site, capacity=4).id
    emails = [create_user(role=Role.staff).email for _ in range(CLIENTS)]
    db.session.commit()
    db.session.close()  # the test holds no lock while the servers work
    day = ordinary_day(days_ahead=7)

    with gunicorn_servers(2, database_url, tmp_path, workers=3, RATELIMIT_ENABLED="0") as bases:
        clients, forms = [], []
        for n, email in enumerate(emails):
            home, other = bases[n % 2], bases[(n + 1) % 2]
            client = Client(home)
            client.login(email)
            client.base = other  # the same cookie on the other server: one SECRET_KEY
            status, html = client.request(f"/bookings/new?resource={room_id}&day={day}&start=10:00")
            assert status == 200 and 'name="title"' in html, "the session did not carry over"
            client.base = home
            seen_at = re.search(r'name="seen_at" type="hidden" value="([^"]+)"', html).group(1)
            clients.append(client)
            forms.append({"csrf_token": csrf_token_from(html), "seen_at": seen_at,
                          "title": "Krock", "resource_id": room_id, "day": day.isoformat(),
                          "start": "10:00", "end": "11:00", "attendees": 2, "booked_for_id": 0,
                          "repeat": "none", "ends": "count", "count": 1})

        results = post_all_at_once(clients, "/bookings/new", forms)

    statuses = sorted(status for status, _ in results)
    booked = db.session.scalar(select(func.count()).select_from(ReservationOccurrence).where(
        ReservationOccurrence.state == OccurrenceState.active))
    assert booked == 1, f"{booked} bookings of one slot; statuses {statuses}"
    assert statuses == [302] + [409] * (CLIENTS - 1), statuses
    winners = {n % 2 for n, (status, _) in enumerate(results) if status == 302}
    losers_per_server = {s: sum(1 for n, (status, _) in enumerate(results)
                                if status == 409 and n % 2 == s) for s in (0, 1)}
    assert len(winners) == 1 and all(losers_per_server.values()), losers_per_server
    for status, html in results:
        if status == 409:
            assert "Någon annan bokade just den här tiden." in html and 'name="title"' in html
