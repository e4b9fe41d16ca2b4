"""A door screen on a tablet: through a booking's start, "Boka nu", a network blip and the
revoked link, with the app's clock pinned and moved (the live server shares it)."""

from __future__ import annotations

import os
import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from office.accounts.models import Role, User
from office.booking import rules as booking
from office.core import clock
from office.core.extensions import db
from office.doorscreens import rules as doorscreens
from office.doorscreens.models import DoorScreen
from office.premises.models import Resource, ResourceKind, Site
from tests.calendar_days import ordinary_day

pytestmark = pytest.mark.browser
STOCKHOLM = ZoneInfo("Europe/Stockholm")
SHOTS = os.environ.get("SAMLOKAL_SCREENSHOTS")  # a folder: keep screenshots to look at


def _moment(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), STOCKHOLM)


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"door-{name}.png"), full_page=True)


@pytest.fixture
def door(demo):
    """A room of its own on the demo site with a 10:00-10:30 booking, and its door screen."""
    day = ordinary_day()
    with demo.app_context(), clock.travel_to(_moment(day, 7)):
        site = db.session.scalar(select(Site).where(Site.name == "Drivhuset"))
        coordinator = db.session.scalar(select(User).where(User.role == Role.coordinator))
        room = Resource(site=site, name="Lilla mötesrummet", kind=ResourceKind.room, capacity=4, active=True)
        db.session.add(room)
        db.session.flush()
        booking.book(booking.BookingRequest(
            resource=room, title="Styrgruppen", first_day=day, start_time=time(10),
            end_time=time(10, 30), booked_by=coordinator, attendees=3))
        screen, token = doorscreens.create_screen(room, "Surfplatta vid dörren", True, coordinator)
        db.session.commit()
        screen_id = screen.id
        db.session.remove()
    demo.app.config["DOOR_SCREEN_POLL_SECONDS"] = 1
    yield day, token, screen_id
    demo.app.config.pop("DOOR_SCREEN_POLL_SECONDS", None)


def test_a_tablet_follows_the_room_through_the_day(demo, open_page, door):
    day, token, screen_id = door
    status = lambda page: page.locator("#door-status")  # noqa: E731
    with clock.travel_to(_moment(day, 9, 40), frozen=True):
        page = open_page("tablet")
        page.goto(f"/door/{token}")
        expect(status(page)).to_have_text("Ledigt")
        expect(page.locator(".door-until")).to_have_text("Ledigt till 10:00")
        expect(page.get_by_role("button", name="15 minuter")).to_be_visible()
        expect(page.get_by_role("button", name="30 minuter")).to_have_count(0)  # would end 10:10, after 10:00
        _shot(page, "tablet-free")
        clock.set_now(_moment(day, 10, 1), frozen=True)  # the booking starts: the poll sees it
        expect(status(page)).to_have_text("Upptaget")
        expect(page.locator(".door-current")).to_contain_text("10:00–10:30 Styrgruppen")
        _shot(page, "tablet-busy")
        page.context.set_offline(True)  # a network blip keeps the last state
        expect(page.locator("#door-offline")).to_be_visible()
        expect(status(page)).to_have_text("Upptaget")
        page.context.set_offline(False)
        expect(page.locator("#door-offline")).to_be_hidden()
        page.console_errors.clear()  # htmx logs the failed polls of the blip
        clock.set_now(_moment(day, 10, 31), frozen=True)
        expect(status(page)).to_have_text("Ledigt")
        page.get_by_role("button", name="30 minuter").click()
        expect(status(page)).to_have_text("Upptaget")
        expect(page.locator(".door-message")).to_have_text("Bokat till 11:01.")
        _shot(page, "tablet-booked-at-the-door")
        laptop = open_page()
        laptop.goto(f"/door/{token}")
        expect(laptop.locator("#door-status")).to_have_text("Upptaget")
        _shot(laptop, "laptop-busy")
        with demo.app_context():
            screen = db.session.get(DoorScreen, screen_id)
            doorscreens.revoke_screen(screen, db.session.scalar(select(User).where(User.role == Role.coordinator)))
            db.session.commit()
            db.session.remove()
        expect(status(page)).to_have_text("Skärmens länk fungerar inte längre")
        _shot(page, "tablet-revoked")
    assert not page.console_errors, page.console_errors
    assert re.search(r"/door/", page.url)


def test_a_tablet_checks_in_and_sees_a_no_show_released(demo, open_page, door):
    from office.checkin import rules as checkin
    from office.core.transaction import unit_of_work

    day, token, screen_id = door
    with demo.app_context(), clock.travel_to(_moment(day, 7)):
        screen = db.session.get(DoorScreen, screen_id)
        coordinator = db.session.scalar(select(User).where(User.role == Role.coordinator))
        checkin.set_policy(ResourceKind.room, True, 15, coordinator)
        booking.book(booking.BookingRequest(
            resource=screen.resource, title="Handledning", first_day=day, start_time=time(11),
            end_time=time(12), booked_by=coordinator))
        db.session.commit()
        db.session.remove()
    status = lambda page: page.locator("#door-status")  # noqa: E731
    with clock.travel_to(_moment(day, 9, 55), frozen=True):
        page = open_page("tablet")
        page.goto(f"/door/{token}")
        page.get_by_role("button", name="Checka in").click()
        expect(page.locator(".door-message")).to_have_text("Incheckad. Välkommen!")
        clock.set_now(_moment(day, 10, 5), frozen=True)
        expect(page.locator(".door-current")).to_contain_text("incheckad")
        _shot(page, "tablet-checked-in")
        clock.set_now(_moment(day, 11, 5), frozen=True)  # nobody checks in to 11:00
        expect(page.get_by_role("button", name="Checka in")).to_be_visible()
        expect(status(page)).to_have_text("Upptaget")
        clock.set_now(_moment(day, 11, 15), frozen=True)
        with demo.app_context(), unit_of_work():
            assert checkin.release_no_shows()  # ours and demo bookings of other rooms
        expect(status(page)).to_have_text("Ledigt")
        expect(page.get_by_role("button", name="60 minuter")).to_be_visible()
        _shot(page, "tablet-no-show-released")
    assert not page.console_errors, page.console_errors
