"""The grid in a real Chromium: keyboard only, a free cell opens the form in place, saving
swaps the grid without a page load and announces it; a refusal shows in the form."""

from __future__ import annotations

from datetime import time

import pytest

from office.models import Role
from tests.conftest import PASSWORD
from tests.test_booking_race import next_open_weekday, server  # noqa: F401 - the gunicorn fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def page(chromium):
    context = chromium.new_context()
    yield context.new_page()
    context.close()


def test_book_from_the_grid_with_the_keyboard(app, server, page, create_user, create_resource, create_site):  # noqa: F811
    from office.extensions import db

    site = create_site(name="Drivhuset", opens=time(8), closes=time(17))
    room = create_resource(site=site, name="Samtalsrum 1", capacity=4)
    user = create_user(role=Role.staff, name="Sara Berg")
    site_id, room_id, email = site.id, room.id, user.email
    db.session.close()
    day = next_open_weekday()

    page.goto(f"{server}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard")
    page.goto(f"{server}/bookings/?site={site_id}&view=day&day={day}")
    page.evaluate("window.__samePage = true")

    cell = page.locator(f'a[href$="resource={room_id}&day={day}&start=10:00"]')
    cell.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#booking-panel form")
    assert page.evaluate("document.activeElement.id") == "booking-form-heading"
    page.fill("#title", "Handläggargruppen")
    page.fill("#attendees", "9")  # too many for the room: refused in place
    page.locator("#booking-panel button.primary").last.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#booking-panel .error-summary")
    assert "rymmer högst 4 personer" in page.inner_text("#booking-panel")

    page.fill("#attendees", "3")
    page.locator("#booking-panel button[type=submit]").last.press("Enter")
    page.wait_for_selector("li.booked")
    assert "Handläggargruppen" in page.inner_text(".booking-grid")
    assert "Bokat: Handläggargruppen" in page.inner_text("#flashes")
    assert page.evaluate("window.__samePage") is True  # no page load
    assert page.url.endswith(f"day={day}")
