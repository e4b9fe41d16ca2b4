"""Capacity holds when registrations race: real parallel HTTP requests to a real server."""

from __future__ import annotations

import http.cookiejar
import itertools
import json
import re
import socket
import threading
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from office.accounts.models import Role
from office.core.extensions import db
from office.core.models import OutboxMail
from seminars.models import Registration, RegistrationStatus
from tests.deadlines import join_all, start_threads
from tests.seminar_factories import make_seminar

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`

GUESTS = 12
PLACES = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def running_server(app):
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    (thread,) = start_threads(server.serve_forever, [()])
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    join_all([thread], 10, "the test server's shutdown")


class Guest:
    """A browser of its own: cookie jar, the form's CSRF token, one POST."""

    def __init__(self, base: str, seminar_id: int, n: int):
        self.url = f"{base}/seminars/public/{seminar_id}"
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect())
        html = self.opener.open(self.url, timeout=30).read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        self.body = urllib.parse.urlencode({
            "csrf_token": token, "name": f"Gäst {n}", "organisation": "SSAB",
            "email": f"guest{n}@example.se", "locale": "sv", "attendance_mode": "on_site",
        }).encode()
        self.status: int | None = None

    def register(self, barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            self.status = self.opener.open(self.url, data=self.body, timeout=60).status
        except urllib.error.HTTPError as error:
            self.status = error.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.timeout(300)  # many requests or threads: slow on a busy machine
@pytest.mark.slow
def test_parallel_registrations_never_exceed_the_places(app, running_server, create_user):
    coordinator = create_user(role=Role.coordinator)
    seminar_id = make_seminar(coordinator, capacity=PLACES).id
    db.session.commit()  # the test holds no transaction (SQLite's write lock) while the server works
    guests = [Guest(running_server, seminar_id, n) for n in range(GUESTS)]
    barrier = threading.Barrier(GUESTS, timeout=60)
    join_all([start_threads(g.register, [(barrier,)])[0] for g in guests], 90, "the registrations")
    assert [g.status for g in guests] == [302] * GUESTS
    db.session.expire_all()
    registrations = db.session.scalars(
        select(Registration).where(Registration.seminar_id == seminar_id).order_by(Registration.arrival)
    ).all()
    statuses = [r.status for r in registrations]
    assert statuses.count(RegistrationStatus.confirmed) == PLACES
    assert statuses.count(RegistrationStatus.waiting) == GUESTS - PLACES
    # First come, first served: the confirmed are exactly the first arrivals.
    assert statuses == [RegistrationStatus.confirmed] * PLACES + [RegistrationStatus.waiting] * (GUESTS - PLACES)
    assert [r.arrival for r in registrations] == list(range(1, GUESTS + 1))
    # Stamped while the lock was held: created_at follows the arrival order.
    assert all(a.created_at <= b.created_at for a, b in itertools.pairwise(registrations))
    # Each has the mail of what they got; those waiting, their place in line.
    mails = {m.recipient: m for m in db.session.scalars(select(OutboxMail))}
    assert [mails[r.email].kind for r in registrations] == ["confirmed"] * PLACES + ["waiting"] * (GUESTS - PLACES)
    assert [json.loads(mails[r.email].render_args)["waiting_position"]
            for r in registrations] == [None] * PLACES + list(range(1, GUESTS - PLACES + 1))


@pytest.mark.timeout(300)  # many requests or threads: slow on a busy machine
@pytest.mark.slow
def test_the_same_guest_twice_in_parallel_registers_once(app, running_server, create_user):
    coordinator = create_user(role=Role.coordinator)
    seminar_id = make_seminar(coordinator, capacity=PLACES).id
    db.session.commit()  # the test holds no transaction (SQLite's write lock) while the server works
    twins = [Guest(running_server, seminar_id, 1) for _ in range(4)]
    barrier = threading.Barrier(len(twins), timeout=60)
    join_all([start_threads(g.register, [(barrier,)])[0] for g in twins], 90, "the registrations")
    assert sorted(g.status for g in twins) == [302, 409, 409, 409]
    db.session.expire_all()
    assert db.session.scalar(select(db.func.count()).select_from(Registration)) == 1


class SessionGuest:
    """A registered guest in a browser of their own, about to sign up for one session."""

    def __init__(self, base: str, token: str, session_id: int):
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect())
        page = f"{base}/seminars/r/{token}"
        html = self.opener.open(page, timeout=30).read().decode()
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        self.url = f"{page}/sessions/{session_id}/sign-up"
        self.body = urllib.parse.urlencode({"csrf_token": csrf}).encode()
        self.status: int | None = None

    def sign_up(self, barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            self.status = self.opener.open(self.url, data=self.body, timeout=60).status
        except urllib.error.HTTPError as error:
            self.status = error.code


@pytest.mark.slow
def test_parallel_session_sign_ups_never_exceed_its_places_and_queue_in_arrival_order(
        app, running_server, create_user):
    from datetime import time

    from seminars import planning
    from seminars import registration as rules
    from seminars.models import SessionPlace

    coordinator = create_user(role=Role.coordinator)
    seminar = make_seminar(coordinator, capacity=GUESTS)
    session = planning.add_session(seminar.days[0], start_time=time(10), end_time=time(11),
                                   title="Workshop", room="", capacity=PLACES, presenters="", sign_up=True)
    tokens = [rules.register_guest(seminar.id, name=f"Gäst {n}", organisation="SSAB",
                                   email=f"guest{n}@example.se").token for n in range(GUESTS)]
    session_id = session.id
    db.session.commit()  # the test holds no transaction (SQLite's write lock) while the server works
    guests = [SessionGuest(running_server, token, session_id) for token in tokens]
    barrier = threading.Barrier(GUESTS)
    threads = [threading.Thread(target=g.sign_up, args=(barrier,)) for g in guests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert [g.status for g in guests] == [302] * GUESTS
    db.session.expire_all()
    places = db.session.scalars(select(SessionPlace).where(SessionPlace.session_id == session_id)
                                .order_by(SessionPlace.arrival)).all()
    statuses = [p.status for p in places]
    assert statuses == [RegistrationStatus.confirmed] * PLACES + [RegistrationStatus.waiting] * (GUESTS - PLACES)
    arrivals = [p.arrival for p in places]
    assert len(set(arrivals)) == GUESTS  # one counter, one lock: no two with the same number
