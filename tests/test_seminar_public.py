"""The public side of seminars as a guest meets it: the way in from the login page, the
index by term, a page worth sharing (where, until when, places left or full), statuses a
guest understands, and "Skicka min länk igen"."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from office.accounts.models import Role
from office.core.extensions import db
from office.core.i18n import today_local
from office.core.models import OutboxMail
from seminars import planning
from seminars import registration as rules
from seminars.models import Audience, Registration, SeminarDay
from tests.conftest import BACKEND, csrf_token_from
from tests.seminar_factories import make_seminar, next_weekday

pytestmark = pytest.mark.dates  # seminars are planned weeks from today: `make test-dates`

@pytest.fixture
def coordinator(create_user):
    return create_user(role=Role.coordinator)


@pytest.fixture
def hall(create_site, create_resource):
    site = create_site(name="Drivhuset")
    site.address = "Järnvägsgatan 2, 613 30 Oxelösund"
    db.session.commit()
    return create_resource(site=site, name="Stora salen", capacity=60)


def guest(seminar_id: int, n: int, **fields):
    return rules.register_guest(seminar_id, name=f"Gäst {n}", organisation="SSAB",
                                email=fields.pop("email", f"g{n}@example.se"), **fields)


# --- the way in and the index -----------------------------------------------------------------

def test_the_login_page_leads_to_the_public_seminars(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<a href="/seminars/public/">Seminarier öppna för alla</a>' in page


def test_the_public_index_groups_seminars_by_term_and_says_what_is_left(client, coordinator):
    year = today_local().year + 1
    autumn = make_seminar(coordinator, title="Arbetsgivarforum hösten", day=date(year, 9, 15), capacity=3)
    spring = make_seminar(coordinator, title="Studiebesök SSAB", day=date(year, 3, 10), capacity=1)
    guest(spring.id, 1)
    guest(autumn.id, 2)
    make_seminar(coordinator, title="Internt", day=date(year, 3, 11), audience=Audience.internal)
    page = client.get("/seminars/public/").get_data(as_text=True)
    assert page.index(f"Våren {year}") < page.index("Studiebesök SSAB") < page.index(f"Hösten {year}") \
        < page.index("Arbetsgivarforum hösten")
    assert "Fullt – väntelista" in page and "2 platser kvar" in page and "Internt" not in page
    assert "/seminars/public/link" in page


# --- the page worth sharing -------------------------------------------------------------------

def test_the_public_page_says_where_until_when_and_how_many_places_are_left(client, coordinator, hall):
    day = next_weekday(2, weeks_ahead=8)
    deadline = day - timedelta(days=7)
    seminar = make_seminar(coordinator, room=hall, day=day, deadline=deadline, capacity=4)
    guest(seminar.id, 1)
    page = client.get(f"/seminars/public/{seminar.id}").get_data(as_text=True)
    assert "Stora salen, Drivhuset, Järnvägsgatan 2, 613 30 Oxelösund" in page
    assert "https://www.openstreetmap.org/search?query=J%C3%A4rnv%C3%A4gsgatan+2%2C+613+30+Oxel%C3%B6sund" in page
    assert "3 platser kvar" in page
    expected = planning.deadline_text(seminar, today_local())
    assert f"sista anmälningsdag {expected}" in page and str(deadline.day) in expected
    assert "00:00" not in page  # the end of the day is not a time anyone entered


@pytest.mark.parametrize("today,deadline,shown", [
    (date(2026, 12, 1), date(2027, 3, 10), "10 mars 2027"),
    (date(2027, 1, 5), date(2027, 3, 10), "10 mars"),
    (date(2027, 3, 1), date(2027, 3, 31), "31 mars"),  # the day after is in another month and DST
])
def test_the_deadline_reads_as_the_day_people_entered(app, coordinator, today, deadline, shown):
    seminar = make_seminar(coordinator, publish=False, deadline=deadline)
    with app.test_request_context():
        assert planning.deadline_text(seminar, today) == shown


def test_a_full_seminar_says_so_before_you_register(client, coordinator):
    seminar = make_seminar(coordinator, capacity=1)
    guest(seminar.id, 1)
    page = client.get(f"/seminars/public/{seminar.id}").get_data(as_text=True)
    assert "Fullt – du hamnar på väntelistan" in page and "Ställ mig på väntelistan" in page


def test_an_external_address_gets_a_map_link_and_an_online_seminar_none(client, coordinator):
    seminar = make_seminar(coordinator)  # Folkets hus, Oxelösund
    page = client.get(f"/seminars/public/{seminar.id}").get_data(as_text=True)
    assert "Folkets hus, Oxelösund" in page and "openstreetmap.org/search?query=Folkets+hus" in page


def test_a_guest_who_cancelled_reads_avbokad_and_a_called_off_seminar_reads_installt(client, coordinator):
    seminar = make_seminar(coordinator)
    mine = guest(seminar.id, 1)
    rules.cancel_registration(mine.registration)
    page = client.get(f"/seminars/r/{mine.token}").get_data(as_text=True)
    status = re.search(r"<dt>Status</dt><dd>(.*?)</dd>", page).group(1)
    assert status == "Avbokad" and "Inställt" not in page
    other = guest(seminar.id, 2)
    planning.cancel_seminar(seminar, coordinator)
    assert "Seminariet är inställt." in client.get(f"/seminars/r/{other.token}").get_data(as_text=True)


def test_a_public_multi_day_seminar_lists_every_day(client, coordinator):
    first = next_weekday(0)
    seminar = make_seminar(coordinator, day=first, publish=False)
    seminar.days.append(SeminarDay(day=first + timedelta(days=1), start_time=time(9), end_time=time(12)))
    db.session.commit()
    planning.publish(seminar, coordinator)
    page = client.get(f"/seminars/public/{seminar.id}").get_data(as_text=True)
    assert page.count("09:00–12:00") >= 2


# --- "Skicka min länk igen" ----------------------------------------------------------------------

def _ask_for_links(client, email: str):
    page = client.get("/seminars/public/link").get_data(as_text=True)
    return client.post("/seminars/public/link", data={"csrf_token": csrf_token_from(page), "email": email})


def test_a_guest_gets_fresh_links_and_the_old_ones_stop_working(client, coordinator, create_user):
    forum, visit = make_seminar(coordinator, title="Forum"), make_seminar(coordinator, title="Studiebesök")
    first = guest(forum.id, 1, email="eva@example.se")
    second = guest(visit.id, 1, email="eva@example.se")
    staff = create_user(email="eva.staff@example.se")
    rules.register_staff(forum.id, staff)
    response = _ask_for_links(client, " EVA@example.se ")
    assert response.status_code == 302
    [sent] = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "links")).all()
    assert sent.recipient == "eva@example.se" and sent.ics is None
    tokens = re.findall(r"/seminars/r/(\S+)", sent.body)
    assert len(tokens) == 2 and "Forum" in sent.body and "Studiebesök" in sent.body
    for old in (first.token, second.token):
        gone = client.get(f"/seminars/r/{old}")
        assert gone.status_code == 404 and "Skicka min länk igen" in gone.get_data(as_text=True)
    for token in tokens:
        assert client.get(f"/seminars/r/{token}").status_code == 200


def test_the_answer_is_the_same_whether_or_not_the_address_is_registered(client, coordinator):
    seminar = make_seminar(coordinator)
    guest(seminar.id, 1, email="eva@example.se")

    def answer(email):
        response = _ask_for_links(client, email)
        follow = client.get(response.headers["Location"]).get_data(as_text=True)
        flash = re.search(r'<p class="flash flash-success">(.*?)</p>', follow).group(1)
        return response.status_code, response.headers["Location"], flash

    assert answer("eva@example.se") == answer("nobody@example.se")
    assert db.session.scalar(select(func.count()).select_from(OutboxMail).where(
        OutboxMail.kind == "links")) == 1


def test_registrations_long_over_get_no_new_link(client, coordinator):
    old = make_seminar(coordinator, day=today_local() - timedelta(days=60))
    guest(old.id, 1, email="eva@example.se")
    planning.finish_seminar(old, coordinator)
    assert rules.resend_links("eva@example.se") == 0


def test_a_bad_address_is_refused_with_the_form(client):
    page = client.get("/seminars/public/link").get_data(as_text=True)
    response = client.post("/seminars/public/link", data={"csrf_token": csrf_token_from(page), "email": "eva"})
    assert response.status_code == 422 and "error-summary" in response.get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}], indirect=True)
def test_asking_for_links_is_rate_limited_per_address(app, client, coordinator):
    seminar = make_seminar(coordinator)
    guest(seminar.id, 1, email="eva@example.se")
    statuses = [_ask_for_links(client, "eva@example.se").status_code for _ in range(4)]
    assert statuses == [302, 302, 302, 429]
    assert db.session.scalar(select(func.count()).select_from(OutboxMail).where(
        OutboxMail.kind == "links")) == 3
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1


# --- the lock on PostgreSQL ---------------------------------------------------------------------

@pytest.mark.postgresql
@pytest.mark.skipif(BACKEND != "postgresql", reason="the one-statement path is PostgreSQL's")
def test_a_first_registration_locks_decides_and_writes_in_one_statement(app, coordinator):
    import json

    from sqlalchemy import event

    seminar = make_seminar(coordinator, capacity=1)
    db.session.commit()
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        placed, waiting = guest(seminar.id, 1), guest(seminar.id, 2, locale="en")
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    # The seminar is read once before any lock; then each registration is one statement
    # that locks the row and writes the registration and its mail (then the commit).
    locking = [s for s in statements if "FOR UPDATE" in s]
    assert len(locking) == 2 and all("INSERT INTO seminar_registration" in s and "INSERT INTO outbox_mail" in s
                                      for s in locking)
    assert len(statements) <= 3
    assert (placed.registration.status, waiting.registration.status) == ("confirmed", "waiting")
    assert (placed.waiting_position, waiting.waiting_position) == (None, 1)
    assert placed.registration.created_at <= waiting.registration.created_at
    mails = {m.recipient: m for m in db.session.scalars(select(OutboxMail))}
    first, second = mails["g1@example.se"], mails["g2@example.se"]
    assert (first.kind, first.ics_method, first.locale) == ("confirmed", "REQUEST", "sv")
    assert (second.kind, second.ics_method, second.locale) == ("waiting", None, "en")
    assert second.subject.startswith("You are on the waiting list")
    assert json.loads(second.render_args)["waiting_position"] == 1
    assert json.loads(first.render_args)["personal_token"] == placed.token
    # A guest who cancelled and comes back takes the locked path: the same row, last in line.
    rules.cancel_registration(placed.registration)
    again = guest(seminar.id, 1)
    assert again.registration_id == placed.registration_id and again.waiting_position == 1
