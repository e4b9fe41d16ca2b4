"""Door screens: device links, what the tablet shows through a booking's day, the cheap poll,
"Boka nu" in nobody's name, and the revoked link. The clock is pinned in every test."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from office.accounts.models import Role
from office.booking import rules as booking
from office.booking.models import Reservation, ReservationKind
from office.core import clock
from office.core.extensions import db
from office.doorscreens import rules as doorscreens
from office.doorscreens.models import DoorScreen
from tests.calendar_days import ordinary_day
from tests.conftest import AuthActions, csrf_token_from

STOCKHOLM = ZoneInfo("Europe/Stockholm")
POLL = {"HX-Request": "true", "HX-Target": "door-state"}


@pytest.fixture
def door(app, create_user, create_resource):
    """A room with a door screen (titles hidden), its coordinator, a booker and an ordinary day."""
    coordinator = create_user(role=Role.coordinator)
    booker = create_user(name="Eva Bokare")
    room = create_resource(name="Konferensrummet", capacity=10)
    screen, token = doorscreens.create_screen(room, "Surfplatta", False, coordinator)
    db.session.commit()
    return {"coordinator": coordinator, "booker": booker, "room": room, "screen": screen,
            "token": token, "day": ordinary_day()}


def at(day, hour: int, minute: int = 0):
    return clock.travel_to(datetime.combine(day, time(hour, minute), STOCKHOLM), frozen=True)


def book(door, start: time, end: time, title="Styrgruppen", kind=ReservationKind.booking):
    with at(door["day"], 7):
        reservation = booking.book(booking.BookingRequest(
            resource=door["room"], title=title, first_day=door["day"], start_time=start,
            end_time=end, booked_by=door["booker"], kind=kind))
        db.session.commit()
    return reservation


def reservations() -> int:
    return db.session.scalar(select(func.count(Reservation.id)))


def test_the_link_is_shown_once_and_stored_only_hashed(app, auth, create_user, create_resource):
    coordinator = create_user(role=Role.coordinator)
    room = create_resource(name="Samtalsrummet")
    auth.login(coordinator)
    page = auth.post("/door-screens/", {"resource_id": room.id, "name": "Dörr 1"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    link = html.split('id="new-door-link" type="text" readonly value="')[1].split('"')[0]
    token = link.rsplit("/door/", 1)[1]
    screen = db.session.scalar(select(DoorScreen).where(DoorScreen.resource_id == room.id))
    assert screen.name == "Dörr 1" and screen.token_hash == doorscreens.hash_token(token)
    assert token not in auth.client.get("/door-screens/").get_data(as_text=True)


def test_staff_cannot_make_a_link(app, auth, create_user, create_resource):
    room = create_resource()
    auth.login(create_user())
    assert auth.post("/door-screens/", {"resource_id": room.id}).status_code == 403
    assert db.session.scalar(select(func.count(DoorScreen.id))) == 0


def test_screen_goes_from_free_to_busy_when_a_booking_starts(app, client, door):
    book(door, time(10), time(11))
    url = f"/door/{door['token']}"
    with at(door["day"], 9, 50):
        before = client.get(url).get_data(as_text=True)
    with at(door["day"], 10, 5):
        during = client.get(url).get_data(as_text=True)
    assert "is-free" in before and "10:00–11:00" in before
    assert "is-busy" in during and "11:00" in during
    assert "Konferensrummet" in before
    assert "Styrgruppen" not in before + during  # this screen hides titles


def test_titles_show_where_allowed_but_never_for_a_trepartssamtal(app, client, door):
    door["screen"].show_titles = True
    db.session.commit()
    book(door, time(10), time(11), title="Styrgruppen")
    book(door, time(13), time(14), title="Anna Andersson, samtal", kind=ReservationKind.trepartssamtal)
    with at(door["day"], 9):
        html = client.get(f"/door/{door['token']}").get_data(as_text=True)
    assert "Styrgruppen" in html and "13:00–14:00" in html
    assert "Anna" not in html and "samtal" not in html.lower().replace("trepartssamtal", "")


def test_poll_is_304_while_nothing_changed_and_200_when_a_booking_starts(app, client, door):
    book(door, time(10), time(11))
    url = f"/door/{door['token']}"
    with at(door["day"], 9, 0):
        first = client.get(url, headers=POLL)
        etag = first.headers["ETag"]
        assert first.status_code == 200 and 'id="door-state"' in first.get_data(as_text=True)
        assert "<html" not in first.get_data(as_text=True)  # only the polled part
    with at(door["day"], 9, 1):
        again = client.get(url, headers={**POLL, "If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    # Answered before Flask (office/doorscreens/fastpath.py) with the headers every answer has.
    assert again.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in again.headers
    assert again.headers["ETag"] == etag and "Content-Security-Policy" in again.headers
    with at(door["day"], 10, 0):
        started = client.get(url, headers={**POLL, "If-None-Match": etag})
    assert started.status_code == 200 and "is-busy" in started.get_data(as_text=True)
    assert started.headers["ETag"] != etag


def test_poll_sees_a_booking_made_elsewhere(app, client, door):
    url = f"/door/{door['token']}"
    with at(door["day"], 8, 0):
        etag = client.get(url, headers=POLL).headers["ETag"]
    book(door, time(15), time(16))
    with at(door["day"], 8, 0):
        changed = client.get(url, headers={**POLL, "If-None-Match": etag})
    assert changed.status_code == 200 and "15:00–16:00" in changed.get_data(as_text=True)


def test_offers_fit_before_the_next_booking(app, client, door):
    book(door, time(10), time(11))
    with at(door["day"], 9, 40):
        state = doorscreens.screen_state(door["screen"])
    assert state.free and state.offers == [15]
    with at(door["day"], 8, 0):
        assert doorscreens.screen_state(door["screen"]).offers == [15, 30, 60]
    with at(door["day"], 10, 30):
        assert doorscreens.screen_state(door["screen"]).offers == []  # busy


def _book_now(client, door, minutes):
    with at(door["day"], 8):  # the page offers buttons (with the form's token) while open
        page = client.get(f"/door/{door['token']}").get_data(as_text=True)
    return client.post(f"/door/{door['token']}/book",
                       data={"csrf_token": csrf_token_from(page), "minutes": str(minutes)},
                       headers=POLL)


def test_boka_nu_books_the_room_from_this_minute_in_nobodys_name(app, client, door):
    with at(door["day"], 9, 7):
        response = _book_now(client, door, 30)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "is-busy" in html and "09:37" in html
    reservation = db.session.scalar(select(Reservation))
    assert reservation.booked_by_id is None and reservation.booked_for_id is None
    assert reservation.agency_id is None and "Surfplatta" in reservation.title
    occurrence = reservation.occurrences[0]
    assert occurrence.starts_at == datetime.combine(door["day"], time(9, 7), STOCKHOLM)
    assert occurrence.ends_at - occurrence.starts_at == timedelta(minutes=30)


def test_boka_nu_is_refused_when_the_time_is_taken_and_saves_nothing(app, client, door):
    book(door, time(9, 30), time(10))
    with at(door["day"], 9, 10):
        response = _book_now(client, door, 30)
    assert response.status_code == 409
    assert 'id="door-state"' in response.get_data(as_text=True)
    assert reservations() == 1


def test_boka_nu_refuses_a_length_it_does_not_offer(app, client, door):
    with at(door["day"], 9, 10):
        response = _book_now(client, door, 45)
    assert response.status_code == 422 and reservations() == 0


def test_boka_nu_is_not_offered_when_closed(app, client, door):
    with at(door["day"], 17, 30):
        state = doorscreens.screen_state(door["screen"])
        response = _book_now(client, door, 15)
    assert not state.open_now and state.offers == []
    assert response.status_code == 422 and reservations() == 0


def test_a_revoked_link_stops_at_once(app, client, door):
    url = f"/door/{door['token']}"
    with at(door["day"], 9):
        page = client.get(url).get_data(as_text=True)
        etag = client.get(url, headers=POLL).headers["ETag"]
        auth = AuthActions(app.test_client())  # the coordinator on another device
        auth.login(door["coordinator"])
        assert auth.post(f"/door-screens/{door['screen'].id}/revoke").status_code == 302
        poll = client.get(url, headers={**POLL, "If-None-Match": etag})
        whole = client.get(url)
        booked = client.post(f"{url}/book", data={"csrf_token": csrf_token_from(page), "minutes": "15"})
    assert poll.status_code == 410 and "hx-trigger" not in poll.get_data(as_text=True)
    assert whole.status_code == 410 and booked.status_code == 410
    assert reservations() == 0


def test_an_unknown_link_is_404(app, client):
    assert client.get("/door/" + "x" * 43).status_code == 404
    assert client.get("/door/short").status_code == 404
