"""Agency A's people cannot read or change agency B's objects by guessing ids.

Two agencies share the premises; each holds an allocation, a meeting series and staff
registered for a seminar, and a guest has registered too. Every refused request must
leave every table exactly as it was (checked by `unchanged`), not merely answer 4xx.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from office import feeds
from office.accounts.models import Role
from office.allocations import rules as allocations
from office.booking.models import ReservationOccurrence
from office.core.extensions import db
from office.core.i18n import to_local
from office.trepartssamtal.models import Trepartssamtal
from seminars.models import Registration, RegistrationStatus
from tests.conftest import AuthActions
from tests.feature_world import add_booking_features, add_features


@pytest.fixture
def two_agencies(app, create_agency, create_user, create_site, create_resource):
    a, b = create_agency(short_name="AF"), create_agency(short_name="Kommunen")
    people = {
        "admin_a": create_user(role=Role.agency_admin, agency=a),
        "staff_a": create_user(agency=a),
        "admin_b": create_user(role=Role.agency_admin, agency=b),
        "staff_b": create_user(agency=b),
        "coordinator": create_user(role=Role.coordinator, agency=a),
    }
    site = create_site()
    allocations.set_staff_may_release(a, True)  # A's staff may release A's time, not B's
    features_b = add_features(agency=b, coordinator=people["coordinator"],
                              desk=create_resource(site=site), room=create_resource(site=site),
                              members=[people["staff_b"]], registered=[people["staff_b"]])
    features_a = add_features(agency=a, coordinator=people["coordinator"],
                              desk=create_resource(site=site), room=create_resource(site=site),
                              members=[people["staff_a"]], registered=[people["staff_a"]])
    return people, a, b, features_a, features_b


def _client_as(app, user) -> AuthActions:
    auth = AuthActions(app.test_client())
    assert auth.login(user).status_code == 302
    return auth


def _everything() -> dict:
    db.session.commit()
    tables = {table.name: sorted(map(repr, db.session.execute(sa.select(table)).all()))
              for table in db.metadata.sorted_tables}
    db.session.commit()
    return tables


@contextmanager
def unchanged():
    before = _everything()
    yield
    after = _everything()
    assert {name: rows for name, rows in after.items() if rows != before[name]} == {}


@pytest.mark.parametrize("who", ["admin_a", "staff_a"])
def test_agency_a_cannot_release_or_see_the_release_form_of_bs_allocation(app, two_agencies, who):
    people, _a, _b, _fa, fb = two_agencies
    auth = _client_as(app, people[who])
    url = f"/allocations/{fb.allocation_id}/release"
    with unchanged():
        assert auth.client.get(url).status_code == 403
        day = fb.day.isoformat()
        assert auth.post(url, {"first_day": day, "last_day": day}).status_code == 403


def test_agency_a_releases_its_own_allocation(app, two_agencies):
    """The control for the test above: the same request on A's own allocation works."""
    people, _a, _b, fa, _fb = two_agencies
    auth = _client_as(app, people["staff_a"])
    day = fa.day.isoformat()
    response = auth.post(f"/allocations/{fa.allocation_id}/release", {"first_day": day, "last_day": day})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(allocations.AllocationRelease)) == 1


def test_agency_admin_cannot_delete_or_reconfigure_another_agency(app, two_agencies):
    people, _a, b, _fa, fb = two_agencies
    auth = _client_as(app, people["admin_a"])
    with unchanged():
        assert auth.post(f"/allocations/{fb.allocation_id}/delete").status_code == 403
        assert auth.post(f"/allocations/settings/agency/{b.id}", {"staff_may_release": "y"}).status_code == 403
    settings = auth.client.get("/allocations/settings").get_data(as_text=True)
    assert f"/allocations/settings/agency/{b.id}" not in settings


def test_staff_of_a_cannot_book_inside_bs_allocation_over_http(app, two_agencies):
    people, _a, _b, _fa, fb = two_agencies
    auth = _client_as(app, people["staff_a"])
    desk_id = db.session.get(allocations.Allocation, fb.allocation_id).resource_id
    with unchanged():
        response = auth.post("/allocations/book", {
            "resource_id": desk_id, "day": fb.day.isoformat(), "start_time": "09:00",
            "end_time": "10:00", "title": "Arbetsplats"})
        assert response.status_code in (409, 422)


@pytest.mark.parametrize("who", ["admin_a", "staff_a"])
def test_agency_a_cannot_change_meeting_membership(app, two_agencies, who):
    people, _a, _b, fa, fb = two_agencies
    auth = _client_as(app, people[who])
    with unchanged():
        assert auth.post(f"/meetings/series/{fb.series_id}/members",
                         {"user_id": people[who].id, "attendance": "every_meeting"}).status_code == 403
        assert auth.post(f"/meetings/series/{fb.series_id}/members/{fb.member_id}/delete").status_code == 403
        # B's member through A's series id: refused as well.
        assert auth.post(f"/meetings/series/{fa.series_id}/members/{fb.member_id}/delete").status_code == 403


def test_a_member_id_of_another_series_is_refused_even_for_the_coordinator(app, two_agencies):
    people, _a, _b, fa, fb = two_agencies
    auth = _client_as(app, people["coordinator"])
    with unchanged():
        assert auth.post(f"/meetings/series/{fa.series_id}/members/{fb.member_id}/delete").status_code == 400


@pytest.mark.parametrize("who", ["admin_a", "staff_a"])
def test_agency_a_cannot_read_or_change_bs_seminar_registrations(app, two_agencies, who):
    people, _a, _b, _fa, fb = two_agencies
    auth = _client_as(app, people[who])
    theirs = fb.registration_ids[people["staff_b"].id]
    seminar = f"/seminars/{fb.seminar_id}"
    with unchanged():
        page = auth.client.get(seminar).get_data(as_text=True)
        assert people["staff_b"].name not in page and people["staff_b"].email not in page
        for path in ("/attendance", "/print", "/report", "/export/registrations.csv"):
            assert auth.client.get(seminar + path).status_code == 403, path
        assert auth.post(f"{seminar}/days/{fb.day_id}/registrations/{theirs}/check-in",
                         {"present": "1"}).status_code == 403
        assert auth.post(f"{seminar}/sessions/{fb.session_id}/sign-up").status_code == 400  # no own registration
        # Unregister and evaluate act on the caller's own registration only; there is none.
        assert auth.post(f"{seminar}/unregister").status_code == 400
        assert auth.client.get(f"{seminar}/evaluate").status_code == 404
        assert auth.post(f"{seminar}/evaluate", {"rating": "1"}).status_code == 404
    assert db.session.get(Registration, theirs).status == RegistrationStatus.confirmed


def test_a_guests_registration_needs_its_secret_link(app, client, two_agencies):
    people, _a, _b, fa, fb = two_agencies
    guest = fb.guest_registration_id
    guesses = [str(guest), str(fb.seminar_id), fa.guest_token[:-1] + ("A" if fa.guest_token[-1] != "A" else "B"),
               fa.guest_token.upper() if fa.guest_token.upper() != fa.guest_token else fa.guest_token.lower(),
               Registration.__table__.name]
    auth = AuthActions(client)
    auth.refresh_token()
    staff = _client_as(app, people["staff_a"])
    with unchanged():
        for guess in guesses:
            assert client.get(f"/seminars/r/{guess}").status_code == 404, guess
            assert auth.post(f"/seminars/r/{guess}/cancel").status_code == 404, guess
            assert auth.post(f"/seminars/r/{guess}/evaluate", {"rating": "5"}).status_code == 404, guess
            assert auth.post(f"/seminars/r/{guess}", {"dietary_needs": "x", "locale": "sv"}).status_code == 404
            assert auth.post(f"/seminars/r/{guess}/sessions/{fb.session_id}/sign-up").status_code == 404
            assert client.get(f"/seminars/e/{guess}").status_code == 404
        # Staff with an account are no better off than strangers.
        assert staff.post(f"/seminars/{fb.seminar_id}/days/{fb.day_id}/registrations/{guest}/check-in",
                          {"present": "1"}).status_code == 403
    # One guest's link opens that guest's registration only.
    page = client.get(f"/seminars/r/{fa.guest_token}").get_data(as_text=True)
    assert "Gunnel Gäst" in page
    assert db.session.get(Registration, guest).email not in page


# --- bookings, trepartssamtal and feed links ------------------------------------------------

REFERENCE_B = "QZ-8131"


@pytest.fixture
def bookings_b(app, two_agencies, create_agency, create_user, create_site, create_resource):
    """B's booking (by staff_b for admin_b), B's trepartssamtal (staff_b with a case worker of a
    third agency; nobody of A takes part) and staff_b's feed link."""
    people = two_agencies[0]
    site = create_site()
    create_resource(site=site, name="Samtalsrum 1", is_conversation_room=True)
    partner = create_user(agency=create_agency(short_name="Regionen"))
    return add_booking_features(site=site, room=create_resource(site=site), booker=people["staff_b"],
                                booked_for=people["admin_b"], participants=[people["staff_b"], partner],
                                reference=REFERENCE_B)


@pytest.mark.parametrize("who", ["admin_a", "staff_a"])
def test_agency_a_cannot_read_change_or_cancel_bs_booking(app, two_agencies, bookings_b, who):
    people = two_agencies[0]
    auth = _client_as(app, people[who])
    occurrence = f"/bookings/occurrences/{bookings_b.occurrence_id}"
    change = {"scope": "all", "title": "Kapat", "start": "09:00", "end": "10:00", "attendees": "1",
              "day": bookings_b.day.isoformat()}
    with unchanged():
        assert auth.client.get(occurrence).status_code == 404
        assert auth.client.get(f"/bookings/{bookings_b.reservation_id}").status_code == 404
        assert auth.post(f"{occurrence}/change", change).status_code == 404
        assert auth.post(f"{occurrence}/cancel", {"scope": "all"}).status_code == 404
        assert "Handledning" not in auth.client.get("/bookings/mine").get_data(as_text=True)


def test_the_person_a_booking_is_for_may_change_it(app, two_agencies, bookings_b):
    """The control for the test above: admin_b (booked for) opens and changes the same booking."""
    auth = _client_as(app, two_agencies[0]["admin_b"])
    occurrence = f"/bookings/occurrences/{bookings_b.occurrence_id}"
    assert auth.client.get(occurrence).status_code == 200
    response = auth.post(f"{occurrence}/change", {"scope": "one", "start": "14:00", "end": "15:00",
                                                  "attendees": "2", "day": bookings_b.day.isoformat()})
    assert response.status_code == 302, response.get_data(as_text=True)
    moved = db.session.get(ReservationOccurrence, bookings_b.occurrence_id)
    assert to_local(moved.starts_at).hour == 14


@pytest.mark.parametrize("who", ["admin_a", "staff_a", "coordinator"])
def test_only_participants_open_or_change_a_trepartssamtal(app, two_agencies, bookings_b, who):
    """Not even the coordinator: the meeting concerns an individual's case."""
    auth = _client_as(app, two_agencies[0][who])
    meeting = f"/trepartssamtal/{bookings_b.meeting_id}"
    with unchanged():
        assert auth.client.get(meeting).status_code == 404
        assert auth.client.get(f"{meeting}/reschedule").status_code == 404
        assert auth.post(f"{meeting}/reschedule", {"find": "1"}).status_code == 404
        assert auth.post(f"{meeting}/cancel", {"status": "cancelled_by_staff"}).status_code == 404
        assert auth.post(f"{meeting}/outcome", {"status": "held"}).status_code == 404


@pytest.mark.parametrize("who", ["admin_a", "staff_a", "coordinator"])
def test_the_reference_never_shows_to_non_participants(app, two_agencies, bookings_b, who):
    """Every page that shows the meeting's room, time or counts, and its room's calendar feed."""
    meeting = db.session.get(Trepartssamtal, bookings_b.meeting_id)
    day = to_local(meeting.starts_at).date().isoformat()
    room = meeting.reservation.resource
    occurrence = meeting.reservation.occurrences[0].id
    user = two_agencies[0][who]
    auth = _client_as(app, user)
    pages = [f"/bookings/?site={room.site_id}&view={view}&day={day}" for view in ("day", "week")]
    pages += ["/trepartssamtal/", "/bookings/mine", "/dashboard", f"/bookings/occurrences/{occurrence}",
              "/audit/", "/trepartssamtal/statistics", "/trepartssamtal/statistics.csv?by=agency"]
    for page in pages:
        response = auth.client.get(page)
        assert response.status_code in (200, 403, 404), (page, response.status_code)
        assert REFERENCE_B not in response.get_data(as_text=True), page
    feed = feeds.issue_token(user, "resource", room.id)
    db.session.commit()
    calendar = auth.client.get(f"/feeds/{feed}.ics")
    assert calendar.status_code == 200 and "BEGIN:VEVENT" in calendar.get_data(as_text=True)
    assert REFERENCE_B not in calendar.get_data(as_text=True)


@pytest.mark.parametrize("who", ["admin_a", "staff_a", "coordinator"])
def test_nobody_revokes_or_renews_someone_elses_feed_link(app, two_agencies, bookings_b, who):
    auth = _client_as(app, two_agencies[0][who])
    token_id = bookings_b.feed_token_id
    with unchanged():
        assert auth.post(f"/feeds/{token_id}/revoke").status_code == 404
        assert auth.post(f"/feeds/{token_id}/regenerate").status_code == 404
        assert f"/feeds/{token_id}/" not in auth.client.get("/feeds/").get_data(as_text=True)
    assert auth.client.get(f"/feeds/{bookings_b.feed_token}.ics").status_code == 200  # still works


def test_the_owner_revokes_their_feed_link(app, two_agencies, bookings_b):
    """The control for the test above."""
    auth = _client_as(app, two_agencies[0]["staff_b"])
    assert auth.post(f"/feeds/{bookings_b.feed_token_id}/revoke").status_code == 200
    assert auth.client.get(f"/feeds/{bookings_b.feed_token}.ics").status_code == 410


@pytest.mark.parametrize("who", ["admin_a", "staff_a"])
def test_agency_a_cannot_remove_bs_absence(app, two_agencies, bookings_b, who):
    auth = _client_as(app, two_agencies[0][who])
    with unchanged():
        assert auth.post(f"/availability/absences/{bookings_b.absence_id}/delete").status_code == 404
