"""Multi-day seminars: presence per day, check-in on the day, sessions with their own
sign-up and waiting list, and the evaluation that opens (and is asked for) when the last
day has ended."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from office.accounts.models import Role
from office.core.extensions import db
from office.core.i18n import today_local
from office.core.mail import render_queued
from office.core.models import OutboxMail
from office.core.transaction import unit_of_work
from seminars import mail, planning
from seminars import registration as rules
from seminars.models import (
    Audience,
    DayAttendance,
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarDay,
    SeminarKind,
    SeminarSession,
    SessionPlace,
)
from tests.conftest import csrf_token_from
from tests.seminar_factories import make_seminar, next_weekday

pytestmark = pytest.mark.dates  # seminars are planned weeks from today: `make test-dates`

STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def coordinator(create_user):
    return create_user(role=Role.coordinator)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A Stockholm wall-clock moment as aware UTC (what `now=` takes)."""
    return datetime.combine(day, time(hour, minute), STOCKHOLM).astimezone(timezone.utc)


def three_day_training(coordinator, first: date, *, capacity=20, publish=True) -> Seminar:
    """Supported Employment, three days in a row at an external address (no room to book)."""
    seminar = make_seminar(coordinator, title="Supported Employment", kind=SeminarKind.training,
                           audience=Audience.public, capacity=capacity, day=first, publish=False)
    for offset in (1, 2):
        seminar.days.append(SeminarDay(day=first + timedelta(days=offset), start_time=time(9),
                                       end_time=time(16)))
    db.session.commit()
    if publish:
        planning.publish(seminar, coordinator)
    return db.session.get(Seminar, seminar.id)


def guest(seminar_id: int, n: int):
    return rules.register_guest(seminar_id, name=f"Gäst {n}", organisation="Komvux",
                                email=f"g{n}@example.se")


# --- presence per day -----------------------------------------------------------------------

def test_presence_is_kept_day_by_day_and_reported_per_day(coordinator):
    first = next_weekday(0)
    seminar = three_day_training(coordinator, first)
    eva, olle = guest(seminar.id, 1).registration, guest(seminar.id, 2).registration
    day1, day2, day3 = seminar.days
    rules.set_present(eva, day1, True, now=at(first, 9))
    rules.set_present(eva, day2, True, now=at(day2.day, 9))
    rules.set_present(olle, day2, True, now=at(day2.day, 9))
    rules.set_present(olle, day2, False, now=at(day2.day, 10))  # tapped by mistake
    rules.set_present(olle, day3, True, now=at(day3.day, 9))
    db.session.commit()
    assert [eva.present_on(d.id) for d in seminar.days] == [True, True, False]
    assert [olle.present_on(d.id) for d in seminar.days] == [False, False, True]
    assert eva.checked_in_at == at(first, 9)  # first presence, for the CSV's "present" column
    [row] = planning.attendance_by_organisation(db.session.get(Seminar, seminar.id))
    assert (row["registered"], row["present"], row["present_by_day"]) == (2, 2, [1, 1, 1])


def test_check_in_opens_on_the_day_not_before(coordinator):
    first = next_weekday(0)
    seminar = three_day_training(coordinator, first)
    eva = guest(seminar.id, 1).registration
    day2 = seminar.days[1]
    for too_early in (at(first - timedelta(days=60), 9), at(first, 23, 59)):
        with pytest.raises(rules.RegistrationRefused) as refused:
            rules.set_present(eva, day2, True, now=too_early)
        assert refused.value.code == "check_in_not_open"
    rules.set_present(eva, day2, True, now=at(day2.day, 0, 1))  # the day has begun, local time
    rules.set_present(eva, seminar.days[0], True, now=at(day2.day + timedelta(days=3), 9))  # a late correction
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(DayAttendance)) == 2


def test_nobody_on_the_waiting_list_is_checked_in(coordinator):
    seminar = make_seminar(coordinator, capacity=1)
    guest(seminar.id, 1)
    waiting = guest(seminar.id, 2).registration
    with pytest.raises(rules.RegistrationRefused) as refused:
        rules.set_present(waiting, seminar.days[0], True, now=at(seminar.first_day, 9))
    assert refused.value.code == "not_participant"


def test_the_tablet_checks_in_today_and_shows_the_other_days_closed(auth, coordinator):
    today = today_local()
    seminar = three_day_training(coordinator, today)
    eva = guest(seminar.id, 1).registration
    today_day, tomorrow = seminar.days[0], seminar.days[1]
    auth.login(coordinator)
    page = auth.client.get(f"/seminars/{seminar.id}/attendance").get_data(as_text=True)
    assert 'aria-current="page"' in page and "Dag 1" in page and "Dag 3" in page
    assert f"/days/{today_day.id}/registrations/{eva.id}/check-in" in page
    target = f"registration-{eva.id}"
    response = auth.post(f"/seminars/{seminar.id}/days/{today_day.id}/registrations/{eva.id}/check-in",
                         {"present": "1"}, headers={"HX-Request": "true", "HX-Target": target})
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and 'aria-pressed="true"' in fragment
    assert "Gäst 1 är incheckad." in fragment and "1 av 1 på plats" in fragment
    later = auth.client.get(f"/seminars/{seminar.id}/attendance/{tomorrow.id}").get_data(as_text=True)
    assert "Incheckningen öppnar på dagen" in later
    assert f"/days/{tomorrow.id}/registrations/" not in later  # no check-in buttons that day
    refused = auth.post(f"/seminars/{seminar.id}/days/{tomorrow.id}/registrations/{eva.id}/check-in",
                        {"present": "1"}, headers={"HX-Request": "true", "HX-Target": target})
    assert refused.status_code == 422 and "öppnar på dagen" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert [a.seminar_day_id for a in db.session.get(Registration, eva.id).attendances] == [today_day.id]


def test_a_day_of_another_seminar_is_not_found(auth, coordinator):
    today = today_local()
    seminar, other = three_day_training(coordinator, today), three_day_training(coordinator, today)
    eva = guest(seminar.id, 1).registration
    auth.login(coordinator)
    assert auth.client.get(f"/seminars/{seminar.id}/attendance/{other.days[0].id}").status_code == 404
    assert auth.post(f"/seminars/{seminar.id}/days/{other.days[0].id}/registrations/{eva.id}/check-in",
                     {"present": "1"}).status_code == 404


# --- sessions with their own sign-up ------------------------------------------------------------

def workshop(seminar: Seminar, *, places: int | None = 2, sign_up=True) -> SeminarSession:
    session = planning.add_session(seminar.days[0], start_time=time(10), end_time=time(11),
                                   title="Workshop: arbetsgivarkontakter", room="Lilla salen",
                                   capacity=places, presenters="", sign_up=sign_up)
    db.session.commit()
    return session


def test_a_full_session_has_a_waiting_list_in_arrival_order_and_a_leaver_promotes_the_first(coordinator):
    seminar = make_seminar(coordinator, capacity=10)
    session = workshop(seminar, places=2)
    people = [guest(seminar.id, n).registration for n in range(4)]
    outcomes = [rules.sign_up_for_session(r.id, session.id) for r in people]
    db.session.commit()
    assert [o.waiting_position for o in outcomes] == [None, None, 1, 2]
    assert [p.arrival for p in session.places] == sorted(p.arrival for p in session.places)
    promoted = rules.leave_session(people[0], session.id)
    db.session.commit()
    assert [p.registration.email for p in promoted] == ["g2@example.se"]
    assert rules.session_places_left(session) == 0
    assert [p.registration.email for p in rules.session_waiting_list(session.id)] == ["g3@example.se"]
    render_queued()  # the body and .ics are written after the commit (or by the sender)
    told = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "session_promoted")).all()
    assert [m.recipient for m in told] == ["g2@example.se"] and "Workshop" in told[0].body
    assert told[0].ics is None  # the seminar is already in their calendar


def test_only_people_with_a_place_at_the_seminar_sign_up_for_sessions(coordinator):
    seminar = make_seminar(coordinator, capacity=1)
    session, plain = workshop(seminar), workshop(seminar, sign_up=False)
    placed, waiting = guest(seminar.id, 1).registration, guest(seminar.id, 2).registration
    with pytest.raises(rules.RegistrationRefused) as refused:
        rules.sign_up_for_session(waiting.id, session.id)
    assert refused.value.code == "session_needs_place"
    with pytest.raises(rules.RegistrationRefused) as refused:
        rules.sign_up_for_session(placed.id, plain.id)
    assert refused.value.code == "no_sign_up"
    rules.sign_up_for_session(placed.id, session.id)
    with pytest.raises(rules.RegistrationConflict):
        rules.sign_up_for_session(placed.id, session.id)
    with pytest.raises(rules.RegistrationRefused) as refused:
        rules.sign_up_for_session(placed.id, session.id, now=at(seminar.first_day, 10, 5))
    assert refused.value.code in ("session_started", "session_duplicate")


def test_a_session_without_places_of_its_own_shares_the_seminars(coordinator):
    seminar = make_seminar(coordinator, capacity=2)
    session = workshop(seminar, places=None)
    assert session.places_in_total() == 2
    assert rules.session_places_left(session) == 2


def test_cancelling_the_registration_gives_up_the_session_place_to_the_next_in_line(coordinator):
    seminar = make_seminar(coordinator, capacity=10)
    session = workshop(seminar, places=1)
    first, second = guest(seminar.id, 1).registration, guest(seminar.id, 2).registration
    rules.sign_up_for_session(first.id, session.id)
    rules.sign_up_for_session(second.id, session.id)
    db.session.commit()
    rules.cancel_registration(first)
    places = {p.registration.email: p.status for p in db.session.scalars(select(SessionPlace))}
    assert places == {"g1@example.se": RegistrationStatus.cancelled, "g2@example.se": RegistrationStatus.confirmed}


def test_the_guest_signs_up_for_a_session_from_their_page(client, coordinator):
    seminar = make_seminar(coordinator, capacity=10)
    session = workshop(seminar, places=1)
    first, second = guest(seminar.id, 1), guest(seminar.id, 2)
    page = client.get(f"/seminars/r/{first.token}").get_data(as_text=True)
    assert "Pass med egen anmälan" in page and "1 plats kvar" in page
    response = client.post(f"/seminars/r/{first.token}/sessions/{session.id}/sign-up",
                           data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    other = client.get(f"/seminars/r/{second.token}").get_data(as_text=True)
    assert "Fullt – du hamnar på väntelistan" in other and "Ställ mig på väntelistan" in other
    client.post(f"/seminars/r/{second.token}/sessions/{session.id}/sign-up",
                data={"csrf_token": csrf_token_from(other)})
    mine = client.get(f"/seminars/r/{second.token}").get_data(as_text=True)
    assert "Du är nummer 1 på dess väntelista." in mine
    assert client.post(f"/seminars/r/{second.token}/sessions/{session.id + 999}/sign-up",
                       data={"csrf_token": csrf_token_from(mine)}).status_code == 404


def test_staff_sign_up_for_a_session_and_a_refusal_answers_with_the_page(auth, coordinator, create_user):
    seminar = make_seminar(coordinator, capacity=1, audience=Audience.internal)
    session = workshop(seminar)
    staff, late = create_user(), create_user()
    rules.register_staff(seminar.id, staff)
    rules.register_staff(seminar.id, late)  # on the seminar's waiting list
    auth.login(staff)
    assert auth.post(f"/seminars/{seminar.id}/sessions/{session.id}/sign-up").status_code == 302
    page = auth.client.get(f"/seminars/{seminar.id}").get_data(as_text=True)
    assert "Du har en plats." in page and "Lämna" in page
    auth.logout()
    auth.login(late)
    refused = auth.post(f"/seminars/{seminar.id}/sessions/{session.id}/sign-up")
    assert refused.status_code == 422 and "när du har fått plats på seminariet" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SessionPlace)) == 1


def test_more_session_places_promote_and_sign_up_cannot_be_switched_off_with_people_in_it(auth, coordinator):
    seminar = make_seminar(coordinator, capacity=10)
    session = workshop(seminar, places=1)
    for n in range(3):
        rules.sign_up_for_session(guest(seminar.id, n).registration.id, session.id)
    db.session.commit()
    auth.login(coordinator)
    path = f"/seminars/{seminar.id}/sessions/{session.id}/edit"
    form = {"start_time": "10:00", "end_time": "11:00", "title": "Workshop", "room": "Lilla salen",
            "capacity": "2", "presenters": "", "sign_up": "y"}
    assert auth.post(path, form).status_code == 302
    assert rules.session_places_left(session) == 0 and len(rules.session_waiting_list(session.id)) == 1
    unticked = {name: value for name, value in form.items() if name != "sign_up"}
    refused = auth.post(path, unticked)
    assert refused.status_code == 422 and "behåller sin egen anmälan" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(SeminarSession, session.id).sign_up is True


def test_a_session_is_changed_on_its_own_page_presenters_and_all(auth, coordinator, create_agency):
    agency = create_agency(short_name="AF")
    seminar = make_seminar(coordinator)
    session = planning.add_session(seminar.days[0], start_time=time(9), end_time=time(10), title="Välkomna",
                                   room="", capacity=None, presenters="Erik Holm, AF\nLisa, SSAB")
    db.session.commit()
    auth.login(coordinator)
    page = auth.client.get(f"/seminars/{seminar.id}/sessions/{session.id}/edit").get_data(as_text=True)
    assert "Erik Holm, AF\nLisa, SSAB" in page
    assert auth.post(f"/seminars/{seminar.id}/sessions/{session.id}/edit", {
        "start_time": "09:00", "end_time": "09:45", "title": "Välkomna!", "room": "Stora salen",
        "capacity": "", "presenters": "Erik Holm, AF"}).status_code == 302
    db.session.expire_all()
    session = db.session.get(SeminarSession, session.id)
    assert (session.end_time, session.title, [(p.name, p.agency_id) for p in session.presenters]) == (
        time(9, 45), "Välkomna!", [("Erik Holm", agency.id)])
    outside = auth.post(f"/seminars/{seminar.id}/sessions/{session.id}/edit", {
        "start_time": "08:00", "end_time": "09:45", "title": "Tidigt", "presenters": ""})
    assert outside.status_code == 422


# --- the evaluation -------------------------------------------------------------------------------

def test_evaluation_opens_when_the_last_day_has_ended(coordinator):
    first = next_weekday(0)
    seminar = three_day_training(coordinator, first)
    eva = guest(seminar.id, 1).registration
    for too_early in (at(first, 12), at(seminar.days[-1].day, 15, 59)):
        with pytest.raises(rules.RegistrationRefused) as refused:
            rules.evaluate(eva, 5, "Bra", now=too_early)
        assert refused.value.code == "no_evaluation"
    rules.evaluate(eva, 4, "Tre bra dagar", now=at(seminar.days[-1].day, 16))


def test_participants_are_asked_for_their_evaluation_once_when_the_last_day_ends(coordinator, client):
    first = next_weekday(0)
    seminar = three_day_training(coordinator, first, capacity=2)
    eva, olle, waiting = (guest(seminar.id, n).registration for n in range(3))
    end = planning.ends_at(seminar)
    assert mail.queue_evaluation_requests(now=end - timedelta(minutes=1)) == 0
    assert mail.queue_evaluation_requests(now=end + timedelta(minutes=30)) == 2
    assert mail.queue_evaluation_requests(now=end + timedelta(hours=2)) == 0
    db.session.commit()
    render_queued()
    asked = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "evaluation")).all()
    assert sorted(m.recipient for m in asked) == ["g0@example.se", "g1@example.se"]
    assert asked[0].subject.startswith("Hur var Supported Employment?") and asked[0].ics is None
    link = re.search(r"http\S+/seminars/e/(\S+)", asked[0].body)
    assert link, asked[0].body
    registration = rules.find_by_evaluation_token(link.group(1))
    assert registration is not None and registration.email == asked[0].recipient
    assert waiting.status == RegistrationStatus.waiting


def test_when_anyone_was_checked_in_only_those_present_are_asked(coordinator):
    first = next_weekday(0)
    seminar = three_day_training(coordinator, first)
    present, absent = guest(seminar.id, 1).registration, guest(seminar.id, 2).registration
    rules.set_present(present, seminar.days[1], True, now=at(seminar.days[1].day, 9))
    db.session.commit()
    assert mail.queue_evaluation_requests(now=planning.ends_at(seminar) + timedelta(hours=1)) == 1
    assert present.evaluation_requested_at is not None and absent.evaluation_requested_at is None


def test_seminars_that_ended_long_ago_are_not_asked_about(coordinator):
    seminar = make_seminar(coordinator)
    guest(seminar.id, 1)
    long_after = planning.ends_at(seminar) + mail.EVALUATION_WINDOW + timedelta(hours=1)
    assert mail.queue_evaluation_requests(now=long_after) == 0


def test_the_evaluation_link_opens_the_form_after_the_seminar(client, coordinator):
    yesterday = today_local() - timedelta(days=1)
    seminar = make_seminar(coordinator, day=yesterday, publish=False)
    seminar.state = planning.SeminarState.published
    db.session.commit()
    eva = guest(seminar.id, 1)
    assert mail.queue_evaluation_requests() == 1
    db.session.commit()
    render_queued()
    body = db.session.scalar(select(OutboxMail.body).where(OutboxMail.kind == "evaluation"))
    path = re.search(r"(/seminars/e/\S+)", body).group(1)
    page = client.get(path).get_data(as_text=True)
    assert 'name="rating"' in page
    assert client.post(path, data={"csrf_token": csrf_token_from(page), "rating": "5",
                                   "comment": "Mycket givande"}).status_code == 302
    assert "Din utvärdering är sparad" in client.get(path).get_data(as_text=True)
    again = client.post(path, data={"csrf_token": csrf_token_from(page), "rating": "1"})
    assert again.status_code == 409
    assert client.get(f"/seminars/r/{eva.token}").status_code == 200  # the registration link still works
    assert client.get("/seminars/e/not-a-token").status_code == 404


def test_the_evaluation_page_says_when_it_opens_before_the_end(auth, coordinator):
    seminar = make_seminar(coordinator, audience=Audience.internal)
    rules.register_staff(seminar.id, coordinator)
    auth.login(coordinator)
    page = auth.client.get(f"/seminars/{seminar.id}/evaluate").get_data(as_text=True)
    assert "öppnar när seminariets sista dag är slut" in page and 'name="rating"' not in page
    assert auth.post(f"/seminars/{seminar.id}/evaluate", {"rating": "5"}).status_code == 422
    assert "Utvärdera seminariet" not in auth.client.get(f"/seminars/{seminar.id}").get_data(as_text=True)


def test_queue_reminders_asks_for_evaluations_and_says_so(app, coordinator):
    yesterday = today_local() - timedelta(days=1)
    seminar = make_seminar(coordinator, day=yesterday, publish=False)
    seminar.state = planning.SeminarState.published
    db.session.commit()
    guest(seminar.id, 1)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["queue-reminders"])
    assert result.exit_code == 0 and "1 evaluation requests" in result.output
    again = app.test_cli_runner().invoke(args=["queue-reminders"])
    assert "0 evaluation requests" in again.output


def test_two_evaluation_jobs_at_once_ask_each_participant_once(app, coordinator):
    from tests.test_jobs_on_two_machines import run_twice_at_once

    seminar = make_seminar(coordinator, capacity=30)
    for n in range(30):
        guest(seminar.id, n)
    later = planning.ends_at(seminar) + timedelta(hours=1)

    def job():
        with unit_of_work():
            return mail.queue_evaluation_requests(now=later)

    results = run_twice_at_once(app, job)
    asked = db.session.scalars(select(OutboxMail.recipient).where(OutboxMail.kind == "evaluation")).all()
    assert sum(results) == 30 and len(asked) == 30 and len(set(asked)) == 30


# --- the migration -------------------------------------------------------------------------------

def test_the_migration_moves_a_check_in_to_the_first_day_and_keeps_evaluations(tmp_path):
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from tests.conftest import _test_config
    from wsgi import create_app

    app = create_app(_test_config(f"sqlite:///{tmp_path}/m.sqlite3"))
    with app.app_context():
        upgrade(revision="0960_mail_opt_out")
        with db.engine.begin() as c:
            c.execute(sa.text("INSERT INTO seminar (id, title, kind, description, audience, audience_note, "
                              "venue_kind, external_address, online_url, capacity, state, timezone, "
                              "registration_counter, sequence, created_at, updated_at) VALUES (1, 'S', "
                              "'training', '', 'public', '', 'external', 'X', '', 5, 'finished', "
                              "'Europe/Stockholm', 1, 0, '2026-01-01', '2026-01-01')"))
            for day_id, day in ((7, "2026-03-11"), (6, "2026-03-10")):
                c.execute(sa.text(f"INSERT INTO seminar_day (id, seminar_id, day, start_time, end_time) "
                                  f"VALUES ({day_id}, 1, '{day}', '09:00:00', '16:00:00')"))
            c.execute(sa.text("INSERT INTO seminar_registration (id, seminar_id, name, organisation, email, "
                              "locale, status, arrival, dietary_needs, accessibility_needs, attendance_mode, "
                              "checked_in_at, created_at, updated_at) VALUES (3, 1, 'Eva', 'X', 'e@x.se', 'sv', "
                              "'confirmed', 1, '', '', 'on_site', '2026-03-10 08:05:00', '2026-01-01', "
                              "'2026-01-01')"))
            c.execute(sa.text("INSERT INTO seminar_evaluation (registration_id, rating, comment, created_at) "
                              "VALUES (3, 5, 'Bra', '2026-03-12')"))
        upgrade()
        with db.engine.connect() as c:
            assert c.execute(sa.text("SELECT registration_id, seminar_day_id FROM seminar_day_attendance")
                             ).all() == [(3, 6)]
            # Nothing that hangs off a registration is lost (a table copy on SQLite would cascade).
            assert c.execute(sa.text("SELECT count(*) FROM seminar_evaluation")).scalar() == 1
        downgrade(revision="0960_mail_opt_out")
        with db.engine.connect() as c:
            assert c.execute(sa.text("SELECT checked_in_at FROM seminar_registration")).scalar() is not None
        db.engine.dispose()
