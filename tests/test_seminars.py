"""Seminars: planning and venue bookings, registration, waiting list, the day, the year."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from office.accounts.models import Role
from office.booking import rules as booking
from office.booking.models import OccurrenceState, Reservation, ReservationKind
from office.core.extensions import db
from office.core.i18n import today_local
from office.core.models import OutboxMail
from seminars import planning
from seminars import registration as rules
from seminars.models import (
    Audience,
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarState,
    VenueKind,
)
from tests.calendar_days import in_days
from tests.conftest import csrf_token_from
from tests.seminar_factories import make_seminar, next_weekday

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`


@pytest.fixture
def coordinator(create_user):
    return create_user(role=Role.coordinator)


@pytest.fixture
def room(create_resource):
    return create_resource(name="Stora salen", capacity=60)


def guest_form(client, seminar_id, **fields):
    html = client.get(f"/seminars/public/{seminar_id}").get_data(as_text=True)
    data = {"csrf_token": csrf_token_from(html), "name": "Eva Gäst", "organisation": "SSAB",
            "email": "eva@example.se", "locale": "sv", "attendance_mode": "on_site"}
    data.update(fields)
    return client.post(f"/seminars/public/{seminar_id}", data=data)


# --- planning -------------------------------------------------------------------------

def test_coordinator_plans_a_seminar_through_the_pages(auth, coordinator, room, create_agency):
    agency = create_agency(short_name="AF")
    auth.login(coordinator)
    response = auth.post("/seminars/new", {
        "title": "Kick-off", "kind": "kick_off", "description": "Året börjar", "audience": "internal",
        "invited_agencies": [str(agency.id)], "venue_kind": "on_site", "capacity": "40",
        "registration_deadline": "",
    })
    assert response.status_code == 302
    seminar = db.session.scalar(select(Seminar))
    day = next_weekday(1)
    assert auth.post(f"/seminars/{seminar.id}/days", {
        "day": day.isoformat(), "start_time": "09:00", "end_time": "15:00", "resource_id": str(room.id),
    }).status_code == 302
    day_id = seminar.days[0].id
    assert auth.post(f"/seminars/{seminar.id}/days/{day_id}/sessions", {
        f"day{day_id}-start_time": "09:00", f"day{day_id}-end_time": "10:00",
        f"day{day_id}-title": "Välkomna", f"day{day_id}-room": "Stora salen",
        f"day{day_id}-presenters": "Erik Holm, AF\nLisa Företag, SSAB",
    }).status_code == 302
    assert auth.post(f"/seminars/{seminar.id}/publish").status_code == 302
    db.session.expire_all()
    seminar = db.session.get(Seminar, seminar.id)
    assert seminar.state == SeminarState.published
    presenters = seminar.days[0].sessions[0].presenters
    assert [(p.name, p.agency_id, p.organisation) for p in presenters] == [
        ("Erik Holm", agency.id, ""), ("Lisa Företag", None, "SSAB")]
    reservation = seminar.days[0].reservation
    assert reservation.kind == ReservationKind.seminar and reservation.resource_id == room.id
    html = auth.client.get(f"/seminars/{seminar.id}").get_data(as_text=True)
    assert "Välkomna" in html and "Erik Holm" in html


def test_publishing_reports_clashes_date_by_date_and_books_nothing(coordinator, room, auth):
    day = next_weekday(2)
    booking.book(booking.BookingRequest(resource=room, title="Styrgruppen", first_day=day,
                                        start_time=time(10, 0), end_time=time(11, 0), booked_by=coordinator))
    seminar = make_seminar(coordinator, room=room, day=day, publish=False)
    clashes = planning.venue_clashes(seminar, coordinator)
    assert [(p.code, p.day) for p in clashes] == [("taken", day)]
    auth.login(coordinator)
    response = auth.post(f"/seminars/{seminar.id}/publish")
    assert response.status_code == 409
    assert "10:00" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Seminar, seminar.id).state == SeminarState.draft
    assert db.session.scalars(select(Reservation).where(Reservation.kind == ReservationKind.seminar)).all() == []


def test_cancelling_a_seminar_cancels_its_room_and_tells_everyone(coordinator, room):
    seminar = make_seminar(coordinator, room=room)
    rules.register_guest(seminar.id, name="A", organisation="X", email="a@example.se", locale="en")
    reservation_id = seminar.days[0].reservation_id
    planning.cancel_seminar(db.session.get(Seminar, seminar.id), coordinator)
    reservation = db.session.get(Reservation, reservation_id)
    assert reservation.cancelled_at is not None
    assert all(o.state == OccurrenceState.cancelled for o in reservation.occurrences)
    kinds = [m.kind for m in db.session.scalars(select(OutboxMail).order_by(OutboxMail.id))]
    assert kinds == ["confirmed", "cancelled"]
    with pytest.raises(rules.RegistrationRefused) as refused:
        rules.register_guest(seminar.id, name="B", organisation="X", email="b@example.se")
    assert refused.value.code == "cancelled"


def test_staff_cannot_see_drafts(auth, create_user, coordinator):
    seminar = make_seminar(coordinator, publish=False)
    auth.login(create_user())
    assert auth.client.get(f"/seminars/{seminar.id}").status_code == 404
    assert auth.client.get(f"/seminars/{seminar.id}/attendance").status_code == 403


# --- registration ----------------------------------------------------------------------

def test_staff_register_with_one_click_and_cannot_twice(auth, create_user, coordinator):
    seminar = make_seminar(coordinator, audience=Audience.internal)
    user = create_user(locale="en")
    auth.login(user)
    assert auth.post(f"/seminars/{seminar.id}/register").status_code == 302
    registration = db.session.scalar(select(Registration))
    assert (registration.user_id, registration.status, registration.locale) == (
        user.id, RegistrationStatus.confirmed, "en")
    assert registration.token_hash is None
    again = auth.post(f"/seminars/{seminar.id}/register")
    assert again.status_code == 409
    assert "already registered" in again.get_data(as_text=True) or "redan anmäld" in again.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count()).select_from(Registration)) == 1


def test_staff_of_an_agency_not_invited_are_refused(auth, create_user, create_agency, coordinator):
    seminar = make_seminar(coordinator, audience=Audience.internal)
    seminar.invited_agencies = [create_agency()]
    db.session.commit()
    auth.login(create_user())
    assert auth.post(f"/seminars/{seminar.id}/register").status_code == 422


def test_guest_registers_and_only_the_secret_link_opens_the_registration(client, coordinator):
    seminar = make_seminar(coordinator)
    response = guest_form(client, seminar.id, dietary_needs="Vegetarisk")
    assert response.status_code == 302
    token = re.search(r"/seminars/r/([^?]+)", response.headers["Location"]).group(1)
    assert len(token) >= 43  # 32 random bytes
    registration = db.session.scalar(select(Registration))
    assert registration.token_hash == rules.hash_token(token) and token not in registration.token_hash
    page = client.get(f"/seminars/r/{token}").get_data(as_text=True)
    assert "Eva Gäst" in page and "Vegetarisk" in page
    assert client.get(f"/seminars/r/{token[:-1]}x").status_code == 404
    assert client.get(f"/seminars/r/{token[:-2]}").status_code == 404
    # Change and cancel through the link.
    csrf = csrf_token_from(page)
    assert client.post(f"/seminars/r/{token}", data={
        "csrf_token": csrf, "dietary_needs": "Vegansk", "accessibility_needs": "Hörslinga",
        "locale": "en", "attendance_mode": "on_site"}).status_code == 302
    db.session.expire_all()
    assert (registration.dietary_needs, registration.locale) == ("Vegansk", "en")
    assert client.post(f"/seminars/r/{token}/cancel", data={"csrf_token": csrf}).status_code == 302
    db.session.expire_all()
    assert registration.status == RegistrationStatus.cancelled


def test_one_guests_link_cannot_change_another_guest(client, coordinator):
    seminar = make_seminar(coordinator)
    first = rules.register_guest(seminar.id, name="A", organisation="X", email="a@example.se")
    second = rules.register_guest(seminar.id, name="B", organisation="Y", email="b@example.se")
    page = client.get(f"/seminars/r/{first.token}").get_data(as_text=True)
    assert "a@example.se" in page and "b@example.se" not in page
    client.post(f"/seminars/r/{first.token}/cancel", data={"csrf_token": csrf_token_from(page)})
    db.session.expire_all()
    assert db.session.get(Registration, second.registration.id).status == RegistrationStatus.confirmed


@pytest.mark.parametrize("fields,status,text", [
    ({"email": "not-an-address"}, 422, "e-postadress"),
    ({"name": ""}, 422, "Namn"),
])
def test_guest_form_refuses_bad_input_with_the_form(client, coordinator, fields, status, text):
    seminar = make_seminar(coordinator)
    response = guest_form(client, seminar.id, **fields)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert "error-summary" in html and text in html and 'aria-invalid="true"' in html
    assert db.session.scalar(select(db.func.count()).select_from(Registration)) == 0


def test_guest_registering_twice_gets_409_and_one_registration(client, coordinator):
    seminar = make_seminar(coordinator)
    assert guest_form(client, seminar.id).status_code == 302
    response = guest_form(client, seminar.id, email="EVA@example.se")
    assert response.status_code == 409
    assert "eva@example.se" in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count()).select_from(Registration)) == 1


def test_registration_after_the_deadline_is_refused(client, coordinator):
    seminar = make_seminar(coordinator, day=next_weekday(weeks_ahead=4),
                           deadline=in_days(-1))
    response = guest_form(client, seminar.id)
    assert response.status_code == 422
    assert "sista anmälningsdagen" in response.get_data(as_text=True).lower()
    assert db.session.scalar(select(db.func.count()).select_from(Registration)) == 0


def test_registration_for_a_cancelled_seminar_is_refused(client, coordinator):
    seminar = make_seminar(coordinator)
    planning.cancel_seminar(seminar, coordinator)
    response = guest_form(client, seminar.id)
    assert response.status_code == 422
    assert "inställt" in response.get_data(as_text=True)


def test_guests_cannot_register_for_internal_seminars(client, coordinator):
    seminar = make_seminar(coordinator, audience=Audience.internal)
    assert client.get(f"/seminars/public/{seminar.id}").status_code == 404
    with pytest.raises(rules.RegistrationRefused):
        rules.register_guest(seminar.id, name="A", organisation="X", email="a@example.se")


def test_the_guest_form_sent_to_an_internal_draft_or_missing_seminar_is_404(client, coordinator):
    internal = make_seminar(coordinator, audience=Audience.internal)
    draft = make_seminar(coordinator, publish=False)
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    for seminar_id in (internal.id, draft.id, draft.id + 1000):
        response = client.post(f"/seminars/public/{seminar_id}", data={
            "csrf_token": token, "name": "Eva Gäst", "organisation": "SSAB",
            "email": "eva@example.se", "locale": "sv"})
        assert response.status_code == 404, (seminar_id, response.status_code)
    assert db.session.scalar(select(db.func.count()).select_from(Registration)) == 0


def test_a_refused_guest_form_keeps_what_was_typed_and_its_token_sends_it_again(client, coordinator):
    seminar = make_seminar(coordinator)
    refused = guest_form(client, seminar.id, email="eva(at)example.se")
    assert refused.status_code == 422
    form = refused.get_data(as_text=True).split('id="register"', 1)[1]  # the form's own token
    assert 'value="eva(at)example.se"' in form and 'value="Eva Gäst"' in form
    response = client.post(f"/seminars/public/{seminar.id}", data={
        "csrf_token": csrf_token_from(form), "name": "Eva Gäst", "organisation": "SSAB",
        "email": "eva@example.se", "locale": "sv"})
    assert response.status_code == 302
    assert db.session.scalar(select(Registration.email)) == "eva@example.se"


# --- capacity and the waiting list ---------------------------------------------------------

def test_full_seminar_puts_people_on_an_ordered_waiting_list_and_a_cancellation_promotes_the_first(coordinator):
    seminar = make_seminar(coordinator, capacity=2)
    outcomes = [rules.register_guest(seminar.id, name=f"G{n}", organisation="X", email=f"g{n}@example.se")
                for n in range(5)]
    assert [o.waiting_position for o in outcomes] == [None, None, 1, 2, 3]
    rules.cancel_registration(outcomes[0].registration)
    statuses = {r.email: r.status for r in db.session.scalars(select(Registration))}
    assert statuses["g2@example.se"] == RegistrationStatus.confirmed
    assert statuses["g3@example.se"] == statuses["g4@example.se"] == RegistrationStatus.waiting
    assert rules.waiting_position(outcomes[3].registration) == 1
    promoted_mail = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "promoted")).all()
    assert [m.recipient for m in promoted_mail] == ["g2@example.se"]
    # Cancelling someone waiting promotes nobody.
    rules.cancel_registration(outcomes[3].registration)
    assert rules.count_confirmed(seminar.id) == 2
    assert [r.email for r in rules.waiting_list(seminar.id)] == ["g4@example.se"]


def test_more_places_promote_from_the_waiting_list(coordinator):
    seminar = make_seminar(coordinator, capacity=1)
    for n in range(3):
        rules.register_guest(seminar.id, name=f"G{n}", organisation="X", email=f"g{n}@example.se")
    promoted = rules.set_capacity(seminar.id, 2)
    assert [r.email for r in promoted] == ["g1@example.se"]


def test_a_returning_guest_goes_to_the_back_of_the_line(coordinator):
    seminar = make_seminar(coordinator, capacity=1)
    first = rules.register_guest(seminar.id, name="A", organisation="X", email="a@example.se")
    rules.register_guest(seminar.id, name="B", organisation="X", email="b@example.se")
    rules.cancel_registration(first.registration)
    back = rules.register_guest(seminar.id, name="A", organisation="X", email="a@example.se")
    assert back.waiting_position == 1 and back.registration.id == first.registration.id


# --- on the day ------------------------------------------------------------------------

def test_check_in_toggles_with_htmx_and_is_announced(auth, coordinator):
    seminar = make_seminar(coordinator, day=today_local(), start=time(0, 0), end=time(23, 59))  # check-in opens on the day
    outcome = rules.register_guest(seminar.id, name="Eva", organisation="SSAB", email="e@example.se")
    auth.login(coordinator)
    page = auth.client.get(f"/seminars/{seminar.id}/attendance").get_data(as_text=True)
    assert f'id="registration-{outcome.registration.id}"' in page
    target = f"registration-{outcome.registration.id}"
    response = auth.post(f"/seminars/{seminar.id}/days/{seminar.days[0].id}/registrations/{outcome.registration.id}/check-in",
                         {"present": "1"}, headers={"HX-Request": "true", "HX-Target": target})
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and fragment.lstrip().startswith(("{%", "<tr"))
    assert "<html" not in fragment and 'aria-pressed="true"' in fragment and "data-announce" in fragment
    db.session.expire_all()
    assert db.session.get(Registration, outcome.registration.id).checked_in_at is not None


def test_printable_list_and_reports_per_agency_and_csv(auth, coordinator, create_user):
    seminar = make_seminar(coordinator, audience=Audience.public)
    staff = create_user()
    rules.register_staff(seminar.id, staff, dietary_needs="Glutenfri")
    guest = rules.register_guest(seminar.id, name="Eva", organisation="SSAB", email="e@example.se")
    rules.set_checked_in(guest.registration, True, now=planning.starts_at(seminar))
    auth.login(coordinator)
    printed = auth.client.get(f"/seminars/{seminar.id}/print").get_data(as_text=True)
    assert "Glutenfri" in printed and "SSAB" in printed
    rows = planning.attendance_by_organisation(db.session.get(Seminar, seminar.id))
    assert [(r["organisation"], r["registered"], r["present"]) for r in rows] == [
        (staff.agency.name, 1, 0), ("SSAB", 1, 1)]
    csv_text = auth.client.get(f"/seminars/{seminar.id}/export/attendance.csv").get_data(as_text=True)
    assert "SSAB;1;1" in csv_text
    registrations = auth.client.get(f"/seminars/{seminar.id}/export/registrations.csv")
    assert registrations.mimetype == "text/csv" and "Glutenfri" in registrations.get_data(as_text=True)


def test_participants_evaluate_once_after_the_start(coordinator, client):
    seminar = make_seminar(coordinator)
    outcome = rules.register_guest(seminar.id, name="Eva", organisation="SSAB", email="e@example.se")
    with pytest.raises(rules.RegistrationRefused):
        rules.evaluate(outcome.registration, 5, "Bra")  # not started yet
    later = planning.ends_at(seminar) + timedelta(hours=1)
    rules.evaluate(outcome.registration, 4, "Bra dag", now=later)
    with pytest.raises(rules.RegistrationConflict):
        rules.evaluate(outcome.registration, 5, "Igen", now=later)
    with pytest.raises(rules.RegistrationRefused):
        rules.evaluate(rules.register_guest(seminar.id, name="B", organisation="X", email="b@example.se").registration,
                       6, "", now=later)


# --- the year -----------------------------------------------------------------------------

@pytest.mark.parametrize("day,expected", [
    (date(2026, 3, 10), date(2027, 3, 9)),    # Tuesday -> Tuesday, a day earlier
    (date(2027, 12, 31), date(2028, 12, 29)),  # Friday -> Friday
    (date(2028, 2, 29), date(2029, 2, 27)),    # leap day: the Tuesday nearest 28 Feb 2029
])
def test_same_weekday_next_year(day, expected):
    moved = planning.same_weekday_next_year(day)
    assert moved == expected and moved.weekday() == day.weekday()


def test_year_view_filters_and_copies_chosen_seminars_as_drafts(auth, coordinator, create_agency):
    agency = create_agency()
    this_year = next_weekday().year
    forum = make_seminar(coordinator, title="Forum X", day=date(this_year, 11, 11) if next_weekday() < date(this_year, 11, 11) else next_weekday())
    kickoff = make_seminar(coordinator, title="Kick-off", kind=planning.SeminarKind.kick_off, audience=Audience.internal,
                           day=forum.first_day + timedelta(days=1))
    kickoff.invited_agencies = [agency]
    db.session.commit()
    year = forum.first_day.year
    auth.login(coordinator)
    html = auth.client.get(f"/seminars/plan/{year}?kind=kick_off").get_data(as_text=True)
    assert "Kick-off" in html and "Forum X" not in html
    fragment = auth.client.get(f"/seminars/plan/{year}?agency={agency.id}",
                               headers={"HX-Request": "true", "HX-Target": "year-plan"}).get_data(as_text=True)
    assert "Kick-off" in fragment and "Forum X" not in fragment and "<html" not in fragment
    response = auth.post(f"/seminars/plan/{year}/copy", {"seminar": [str(kickoff.id)]})
    assert response.status_code == 302
    copy = db.session.scalar(select(Seminar).where(Seminar.copied_from_id == kickoff.id))
    assert copy.state == SeminarState.draft and copy.invited_agencies == [agency]
    assert copy.first_day == planning.same_weekday_next_year(kickoff.first_day)
    assert copy.days[0].reservation_id is None


@pytest.mark.parametrize("language,marker", [("sv", "Seminarier"), ("en", "Seminars")])
def test_every_seminar_page_renders_in_both_languages(auth, coordinator, room, client, language, marker):
    seminar = make_seminar(coordinator, room=room)
    draft = make_seminar(coordinator, publish=False, title="Utkast", venue=VenueKind.hybrid)
    outcome = rules.register_guest(seminar.id, name="Eva", organisation="SSAB", email="e@example.se")
    rules.register_staff(seminar.id, coordinator)
    auth.login(coordinator)
    auth.post("/language", {"language": language})
    pages = ["/seminars/", "/seminars/new", f"/seminars/{seminar.id}", f"/seminars/{draft.id}",
             f"/seminars/{seminar.id}/edit", f"/seminars/{seminar.id}/attendance", f"/seminars/{seminar.id}/print",
             f"/seminars/{seminar.id}/report", f"/seminars/{seminar.id}/evaluate", "/seminars/plan/",
             "/mail/outbox", "/seminars/public/", f"/seminars/public/{seminar.id}",
             f"/seminars/r/{outcome.token}"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert marker in response.get_data(as_text=True), path


def test_public_pages_need_no_login_and_list_only_public_published_seminars(client, coordinator):
    public = make_seminar(coordinator, title="Öppet forum")
    make_seminar(coordinator, title="Internt möte", audience=Audience.internal)
    make_seminar(coordinator, title="Ej publicerat", publish=False)
    html = client.get("/seminars/public/").get_data(as_text=True)
    assert "Öppet forum" in html and "Internt möte" not in html and "Ej publicerat" not in html
    page = client.get(f"/seminars/public/{public.id}").get_data(as_text=True)
    assert '<label for="email">' in page and 'autocomplete="email"' in page and "<main" in page


def test_the_kept_counts_of_places_and_waiting_list_follow_every_change(coordinator):
    from seminars.registration import recount

    seminar = make_seminar(coordinator, capacity=2)
    people = [rules.register_guest(seminar.id, name=f"G{n}", organisation="X", email=f"g{n}@example.se")
              for n in range(5)]
    assert [p.waiting_position for p in people] == [None, None, 1, 2, 3]
    rules.cancel_registration(people[0].registration)  # G2 gets the place
    rules.cancel_registration(people[3].registration)  # one less waiting
    rules.set_capacity(seminar.id, 3)                  # G4 gets a place
    again = rules.register_guest(seminar.id, name="G0", organisation="X", email="g0@example.se")
    assert again.waiting_position == 1
    kept = (seminar.confirmed_count, seminar.waiting_count)
    recount(seminar)
    assert kept == (seminar.confirmed_count, seminar.waiting_count) == (3, 1)
