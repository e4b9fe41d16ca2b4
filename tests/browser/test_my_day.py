"""A staff member's day in a real browser: Start on a phone, the menu, the grid people can
read, finding a free room and the booking form that answers before you submit."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from office.accounts.models import User
from office.booking import rules as booking
from office.booking.models import Reservation
from office.core.extensions import db
from office.core.i18n import today_local
from office.premises.models import Resource, Site
from office.premises.rules import opening_window
from tests.browser.test_journeys import (
    STAFF,
    assert_no_console_errors,
    key_press,
    key_type,
    log_in,
    log_in_with_keyboard,
    tab_to,
)

pytestmark = pytest.mark.browser

PHONE_SCREEN = 844


def drivhuset(demo) -> dict:
    """Drivhuset's id, an open day from today and an open day after it (today may be over)."""
    with demo.app_context():
        site = db.session.scalar(select(Site).where(Site.name == "Drivhuset"))
        day = today_local()
        while opening_window(site, day) is None:
            day += timedelta(days=1)
        later = day + timedelta(days=1)
        while opening_window(site, later) is None:
            later += timedelta(days=1)
        ids = {"site": site.id, "day": day.isoformat(), "later": later.isoformat(),
               "room": db.session.scalar(select(Resource.id).where(Resource.name == "Grupprummet"))}
        db.session.remove()
    return ids


def test_on_a_phone_start_is_my_day_and_the_menu_is_one_button(demo, open_page):
    page = open_page("phone")
    log_in(page, STAFF)
    expect(page.get_by_role("link", name="Boka ett rum")).to_be_in_viewport()
    expect(page.get_by_role("link", name="Boka ett skrivbord")).to_be_in_viewport()
    expect(page.get_by_role("heading", name="Din vecka")).to_be_in_viewport()
    menu = page.get_by_role("button", name="Meny")
    nav = page.get_by_role("navigation", name="Huvudmeny")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="Bokningar", exact=True)).to_be_hidden()
    tab_to(page, menu)  # the keyboard opens it, Escape closes it and gives the focus back
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Bokningar", exact=True)).to_be_visible()
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    assert_no_console_errors(page)


def test_without_javascript_the_menu_is_simply_open(demo, open_page):
    page = open_page("phone", java_script_enabled=False)
    log_in(page, STAFF)
    expect(page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Bokningar", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Meny")).to_be_hidden()


def test_the_phone_day_view_of_drivhuset_fits_two_screens_with_words_in_every_chip(demo, open_page):
    ids = drivhuset(demo)
    page = open_page("phone")
    log_in(page, STAFF)
    page.goto(f"/bookings/?site={ids['site']}&view=day&day={ids['day']}")
    rows = page.locator("table.booking-grid tbody th[scope=row]")
    expect(rows).to_have_count(20)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= 2 * PHONE_SCREEN, height
    for view in ("day", "week"):
        page.goto(f"/bookings/?site={ids['site']}&view={view}&day={ids['day']}")
        blank = page.evaluate("""() => [...document.querySelectorAll('.timeline > li')]
            .filter(li => li.offsetParent !== null && li.innerText.trim() === '').length""")
        assert blank == 0, view
    assert_no_console_errors(page)


def test_the_grid_reads_well_on_a_laptop(demo, open_page):
    ids = drivhuset(demo)
    page = open_page()
    log_in(page, STAFF)
    page.goto(f"/bookings/?site={ids['site']}&view=day&day={ids['day']}")
    names = page.locator("table.booking-grid tbody th[scope=row]").all_inner_texts()
    desks = [re.sub(r"\s*\(\d+\)$", "", n) for n in names if n.startswith("Skrivbord")]
    assert desks == [f"Skrivbord {n}" for n in range(1, 13)]  # 2 before 10
    assert not names[0].startswith("Skrivbord")  # rooms first
    # Every hour label is whole ("10:00", never "10:(").
    clipped = page.evaluate("""() => [...document.querySelectorAll('.ruler li')]
        .filter(li => li.scrollWidth > li.clientWidth + 1).map(li => li.textContent)""")
    assert clipped == []
    labels = page.locator(".ruler li").all_inner_texts()
    assert labels and all(re.fullmatch(r"\d\d:00", label) for label in labels)
    # The legend names every kind of cell.
    legend = page.locator(".grid-legend").inner_text()
    for word in ("Ledigt", "Bokat", "Din bokning", "Tilldelat en aktör", "Tillbakalämnat", "Stängt"):
        assert word in legend
    # A focused slot shows its whole ring: no cell clips it.
    first_free = page.locator("#booking-grid .slot-q a").first
    tab_to(page, first_free)
    ring = page.evaluate("""() => {
        const a = document.activeElement; const style = getComputedStyle(a);
        let clipped = false;
        for (let el = a.parentElement; el && !el.classList.contains('table-wrap'); el = el.parentElement) {
            if (getComputedStyle(el).overflow !== 'visible') clipped = true;
        }
        return {outline: style.outlineStyle, width: style.outlineWidth, clipped};
    }""")
    assert ring == {"outline": "solid", "width": "3px", "clipped": False}


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_book_a_free_room_from_start_with_the_keyboard(demo, open_page, viewport):
    ids = drivhuset(demo)
    page = open_page(viewport)
    log_in_with_keyboard(page, STAFF)
    key_press(page, page.get_by_role("link", name="Boka ett rum"))
    expect(page.get_by_role("heading", name="Hitta ett ledigt rum eller skrivbord")).to_be_visible()
    page.get_by_label("Datum", exact=True).fill(ids["later"])
    page.get_by_label("Från", exact=True).fill("13:00")
    page.get_by_label("Till", exact=True).fill("14:00")
    people = page.get_by_label("Antal personer")
    tab_to(page, people)
    page.keyboard.press("Control+A")
    page.keyboard.type("6")
    key_type(page, page.get_by_label("Vad gäller det? (frivilligt)"), "Planering")
    key_press(page, page.get_by_role("button", name="Sök"))
    answer = page.locator("#free-answer")
    expect(answer.get_by_role("heading", level=2)).to_be_focused()
    expect(answer).to_contain_text("lediga för dig")
    first = answer.locator(".free-option").first
    room_name = first.locator("h3").inner_text()
    key_press(page, first.get_by_role("button", name=re.compile("^Boka")))
    expect(page.locator("#flashes")).to_contain_text("Bokat: Planering")
    with demo.app_context():
        booked = db.session.scalar(select(Reservation).where(Reservation.title == "Planering"))
        assert booked.resource.name == room_name and booked.attendees == 6
        assert booked.first_day.isoformat() == ids["later"]
        db.session.remove()
    assert_no_console_errors(page)


def test_the_booking_form_says_whether_the_room_is_free_as_you_edit_it(demo, open_page):
    ids = drivhuset(demo)
    with demo.app_context():  # Grupprummet taken 10–12 on the later day
        anna = db.session.scalar(select(User).where(User.email == "anna.lind@drivhuset.example"))
        booking.book(booking.BookingRequest(
            resource=db.session.get(Resource, ids["room"]), title="Upptaget", booked_by=anna,
            first_day=date.fromisoformat(ids["later"]), start_time=time(10), end_time=time(12)))
        db.session.commit()  # book() only flushes: the live server reads committed rows
        db.session.remove()
    page = open_page()
    log_in(page, STAFF)
    page.goto(f"/bookings/new?resource={ids['room']}&day={ids['later']}&start=08:00")
    answer = page.locator("#booking-availability")
    expect(answer).to_have_attribute("aria-live", "polite")
    expect(answer).to_contain_text("Ledigt: Grupprummet")
    page.get_by_label("Slut").fill("11:30")
    page.get_by_label("Start").fill("10:30")
    page.get_by_label("Start").dispatch_event("change")
    expect(answer).to_contain_text("går inte att boka så här")
    expect(answer).to_contain_text("redan bokad 10:00–12:00")
    expect(answer.get_by_role("link", name="Se vad som är ledigt den tiden")).to_be_visible()
    page.get_by_label("Start").fill("13:00")
    page.get_by_label("Slut").fill("14:00")
    page.get_by_label("Slut").dispatch_event("change")
    expect(answer).to_contain_text("Ledigt: Grupprummet")
    assert_no_console_errors(page)
