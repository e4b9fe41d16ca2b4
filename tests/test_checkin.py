"""Check-in and the release of no-shows: at the door screen and the booking page, the job on
one and on two machines, the exempt bookings, the mail to the booker. The clock is pinned."""

from __future__ import annotations

import threading
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from office.accounts.models import Role
from office.booking import rules as booking
from office.booking.models import ReservationKind, ReservationOccurrence
from office.checkin import rules as checkin
from office.checkin.models import OccurrenceCheckIn
from office.core import clock
from office.core.extensions import db
from office.core.models import OutboxMail
from office.core.transaction import unit_of_work
from office.doorscreens import rules as doorscreens
from office.premises.models import ResourceKind
from tests.calendar_days import ordinary_day
from tests.conftest import AuthActions, csrf_token_from
from tests.deadlines import join_all, start_threads

STOCKHOLM = ZoneInfo("Europe/Stockholm")
POLL = {"HX-Request": "true", "HX-Target": "door-state"}


@pytest.fixture
def room(app, create_user, create_resource):
    """A room that must be checked in (15 minutes), its door screen, a booker and a day."""
    coordinator = create_user(role=Role.coordinator)
    booker = create_user(name="Eva Bokare", email="eva@example.org")
    resource = create_resource(name="Konferensrummet", capacity=10)
    checkin.set_policy(ResourceKind.room, True, 15, coordinator)
    _screen, token = doorscreens.create_screen(resource, "Surfplatta", False, coordinator)
    db.session.commit()
    return {"coordinator": coordinator, "booker": booker, "resource": resource, "token": token,
            "day": ordinary_day()}


def at(day, hour: int, minute: int = 0):
    return clock.travel_to(datetime.combine(day, time(hour, minute), STOCKHOLM), frozen=True)


def book(room, start=time(10), end=time(11), kind=ReservationKind.booking) -> ReservationOccurrence:
    with at(room["day"], 7):
        reservation = booking.book(booking.BookingRequest(
            resource=room["resource"], title="Handledning", first_day=room["day"], start_time=start,
            end_time=end, booked_by=room["booker"], kind=kind))
        db.session.commit()
    return reservation.occurrences[0]


def release(room, hour, minute) -> list[int]:
    with at(room["day"], hour, minute), unit_of_work():
        return checkin.release_no_shows()


def test_a_booking_checked_in_at_the_door_is_kept(app, client, room):
    occurrence = book(room)
    url = f"/door/{room['token']}"
    with at(room["day"], 9, 55):
        page = client.get(url).get_data(as_text=True)
        assert f"/door/{room['token']}/check-in" in page  # opens 10 minutes before the start
    with at(room["day"], 10, 5):
        response = client.post(f"{url}/check-in", data={"csrf_token": csrf_token_from(page)}, headers=POLL)
    assert response.status_code == 200 and "check-in" not in response.get_data(as_text=True).split("door-current")[1]
    assert release(room, 10, 20) == []
    db.session.refresh(occurrence)
    assert occurrence.ends_at == datetime.combine(room["day"], time(11), STOCKHOLM)


def test_a_no_show_is_released_for_the_rest_of_its_time_and_the_booker_told(app, client, room):
    occurrence = book(room)
    assert release(room, 10, 14) == []  # still inside the 15 minutes
    assert release(room, 10, 15) == [occurrence.id]
    db.session.refresh(occurrence)
    assert occurrence.ends_at == datetime.combine(room["day"], time(10, 15), STOCKHOLM)
    row = db.session.get(OccurrenceCheckIn, occurrence.id)
    assert row.released_at is not None and row.booked_until == datetime.combine(room["day"], time(11), STOCKHOLM)
    mail = db.session.scalars(select(OutboxMail)).all()
    assert [m.recipient for m in mail] == ["eva@example.org"] and "Konferensrummet" in mail[0].subject
    assert release(room, 10, 30) == []  # never twice
    with at(room["day"], 10, 16):
        state = doorscreens.screen_state(doorscreens.find_screen(room["token"]))
    assert state.free and state.offers == [15, 30, 60]


def test_a_released_booking_cannot_be_checked_in(app, room):
    occurrence = book(room)
    release(room, 10, 15)
    with at(room["day"], 10, 10), pytest.raises(checkin.CheckInRefused):
        checkin.check_in(occurrence, room["booker"])


def test_trepartssamtal_and_seminar_bookings_are_exempt(app, room):
    book(room, time(10), time(11), ReservationKind.trepartssamtal)
    book(room, time(13), time(14), ReservationKind.seminar)
    assert release(room, 10, 30) == [] and release(room, 13, 30) == []
    assert db.session.scalars(select(OutboxMail)).all() == []


def test_nothing_is_released_where_check_in_is_not_required(app, room):
    checkin.set_policy(ResourceKind.room, False, 15, room["coordinator"])
    db.session.commit()
    book(room)
    assert release(room, 10, 30) == []


def test_the_booker_checks_in_on_the_booking_page(app, auth, room):
    occurrence = book(room)
    with at(room["day"], 10, 2):
        auth.login(room["booker"])
        page = auth.client.get(f"/bookings/occurrences/{occurrence.id}").get_data(as_text=True)
        assert f"/check-in/occurrences/{occurrence.id}" in page
        response = auth.post(f"/check-in/occurrences/{occurrence.id}")
    assert response.status_code == 302
    assert db.session.get(OccurrenceCheckIn, occurrence.id).checked_in_by_id == room["booker"].id
    assert release(room, 10, 30) == []


def test_someone_else_cannot_check_in_a_booking(app, create_user, room):
    occurrence = book(room)
    stranger = AuthActions(app.test_client())
    with at(room["day"], 10, 2):
        stranger.login(create_user())
        assert stranger.post(f"/check-in/occurrences/{occurrence.id}").status_code == 404
    assert db.session.get(OccurrenceCheckIn, occurrence.id) is None


def test_the_release_command(app, room):
    occurrence = book(room)
    with at(room["day"], 10, 20):
        result = app.test_cli_runner().invoke(args=["release-no-shows"])
    assert result.exit_code == 0 and "Released 1" in result.output
    db.session.expire_all()
    assert db.session.get(OccurrenceCheckIn, occurrence.id).released_at is not None


def test_the_release_on_two_machines_at_once_releases_and_mails_once(app, create_resource, room):
    other = dict(room, resource=create_resource(site=room["resource"].site, name="Grupprummet"))
    occurrences = [book(room), book(other)]
    db.session.commit()
    barrier, results, errors = threading.Barrier(2, timeout=60), [], []

    def runner():
        with app.app_context(), at(room["day"], 10, 20):
            try:
                barrier.wait()
                with unit_of_work():
                    results.append(checkin.release_no_shows())
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    join_all(start_threads(runner), 120, "the release on two machines")
    assert errors == []
    assert sorted(results[0] + results[1]) == sorted(o.id for o in occurrences)
    assert len(db.session.scalars(select(OutboxMail)).all()) == 2


def test_the_coordinator_sets_the_policy(app, auth, room):
    auth.login(room["coordinator"])
    assert auth.client.get("/check-in/settings").status_code == 200
    response = auth.post("/check-in/settings", {"room_minutes": "20", "desk_required": "y",
                                                "desk_minutes": "10"})
    assert response.status_code == 302
    policies = checkin.policies()
    assert not policies[ResourceKind.room].required and policies[ResourceKind.room].grace_minutes == 20
    assert policies[ResourceKind.desk].required
    assert auth.post("/check-in/settings", {"room_minutes": "0", "desk_minutes": "10"}).status_code == 422


def test_the_utilization_report_shows_booked_used_and_no_show(app, auth, room):
    from office.checkin.usage import booking_use

    kept, _missed = book(room, time(9), time(10)), book(room, time(10), time(11))
    with at(room["day"], 9, 5):
        checkin.check_in(kept, room["booker"])
        db.session.commit()
    release(room, 10, 15)
    rows = booking_use(room["resource"].site, room["day"], room["day"])
    assert [(r.resource, r.booked, r.used, r.no_show, r.no_shows) for r in rows] == [
        ("Konferensrummet", 2.0, 1.0, 1.0, 1)]
    with at(room["day"], 12):
        auth.login(room["coordinator"])
        page = auth.client.get(f"/allocations/utilization?site_id={room['resource'].site_id}"
                               f"&month={room['day']:%Y-%m}").get_data(as_text=True)
    table = page.split('id="use-heading"')[1]
    assert "Konferensrummet" in table and "2.0" in table and "1.0" in table
