"""Journeys through the app in a real browser, as a person would make them.

Each journey runs at a laptop and at a phone viewport; the later ones with the keyboard alone:
release an allocation, plan a seminar, a guest's registration, book a room from the week
view, a series whose dates clash, a trepartssamtal from the proposals, copy a feed link.

The demo data is built around today on the app's clock (office/core/clock.py; the live server
runs in this process and shares it). Journeys take their days from tests/calendar_days.py,
so a holiday in the coming weeks never breaks them; one that needs the middle of a term
starts the clock there (@pytest.mark.clock).
"""

from __future__ import annotations

import re
from datetime import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from office.accounts.models import User
from office.allocations.models import Allocation, AllocationRelease
from office.booking import rules as booking
from office.booking.models import Reservation
from office.core.extensions import db
from office.core.i18n import to_local
from office.core.transaction import unit_of_work
from office.demo.seed import DEMO_PASSWORD
from office.premises import rules as premises
from office.premises.models import Closure, Resource, Site
from office.trepartssamtal.models import Trepartssamtal
from seminars.models import Registration, RegistrationStatus, Seminar, SeminarState
from tests.calendar_days import ordinary_day, ordinary_days, today

pytestmark = pytest.mark.browser

COORDINATOR = "anna.lind@drivhuset.example"
STAFF = "sara.berg@drivhuset.example"
VIEWPORTS = ["desktop", "phone"]
# Journeys whose days come from today: `make test-dates` runs them (at one viewport; the
# calendar does not depend on the screen).
DATED_VIEWPORTS = [pytest.param("desktop", marks=pytest.mark.dates), "phone"]


def log_in(page, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Logga in i Samlokal")).to_be_visible()
    page.get_by_label("E-postadress").fill(email)
    page.get_by_label("Lösenord", exact=True).fill(password)
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Hej, "))).to_be_visible()


def assert_no_console_errors(page) -> None:
    # A CSP violation (inline script or style) or a script error shows up here.
    assert page.console_errors == [], page.console_errors


@pytest.mark.parametrize("viewport", DATED_VIEWPORTS)
def test_log_in_reaches_the_dashboard(demo, open_page, viewport):
    page = open_page(viewport)
    log_in(page, STAFF)
    expect(page.get_by_role("heading", name="Hej, Sara Berg")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("link", name="Drivhuset", exact=True)).to_be_visible()
    assert_no_console_errors(page)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_wrong_password_says_why(demo, open_page, viewport):
    page = open_page(viewport)
    page.goto("/login")
    page.get_by_label("E-postadress").fill(STAFF)
    page.get_by_label("Lösenord", exact=True).fill("not the password")
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("alert")).to_contain_text("Fel e-postadress eller lösenord.")
    expect(page.get_by_label("E-postadress")).to_have_value(STAFF)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_switch_language_and_back(demo, open_page, viewport):
    page = open_page(viewport)
    page.goto("/login")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Log in to Samlokal")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("E-mail address").fill(COORDINATOR)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Hello, Anna Lind")).to_be_visible()
    open_the_menu(page)
    page.get_by_role("link", name="Rooms and desks").click()
    expect(page.get_by_role("heading", name="Rooms and desks")).to_be_visible()
    open_the_menu(page)
    page.get_by_role("button", name="Svenska").click()
    # Back on the same page, now in Swedish.
    expect(page.get_by_role("heading", name="Rum och skrivbord")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page).to_have_url(re.compile(r"/resources/$"))
    assert_no_console_errors(page)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_coordinator_invites_a_user_who_sets_a_password(demo, open_page, browser, viewport):
    page = open_page(viewport, permissions=["clipboard-read", "clipboard-write"])
    log_in(page, COORDINATOR)
    open_the_menu(page)
    page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Administration").click()
    page.get_by_role("main").get_by_role("link", name="Personal").click()
    page.get_by_role("link", name="Bjud in en användare").click()
    page.get_by_label("Namn").fill("Nora Nyström")
    page.get_by_label("E-postadress").fill("nora.nystrom@drivhuset.example")
    page.get_by_label("Aktör").select_option(label="Arbetsförmedlingen")
    page.get_by_role("button", name="Skapa inbjudan").click()
    expect(page.get_by_role("heading", name="Inbjudningslänk för Nora Nyström")).to_be_visible()

    page.get_by_role("button", name="Kopiera länken").click()
    expect(page.get_by_role("status").filter(has_text="Länken är kopierad.")).to_be_visible()
    link = page.evaluate("navigator.clipboard.readText()")
    assert link == page.get_by_label("Inbjudningslänk").input_value()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/invitation/[\w-]+", link)
    assert_no_console_errors(page)

    invitee = open_page(viewport)
    invitee.goto(link)
    expect(invitee.get_by_role("heading", name="Välkommen, Nora Nyström")).to_be_visible()
    invitee.get_by_label("Nytt lösenord").fill("ett långt nytt lösenord")
    invitee.get_by_label("Upprepa det nya lösenordet").fill("ett långt nytt lösenord")
    invitee.get_by_role("button", name="Spara lösenordet").click()
    expect(invitee.get_by_role("heading", name="Hej, Nora Nyström")).to_be_visible()
    expect(invitee.get_by_text("Välkommen! Ditt konto är klart.")).to_be_visible()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_change_password_then_log_in_with_it(demo, open_page, viewport):
    page = open_page(viewport)
    log_in(page, STAFF)
    open_the_menu(page)
    page.get_by_role("link", name="Mitt konto").click()
    page.get_by_role("link", name="Byt lösenord").click()
    page.get_by_label("Nuvarande lösenord").fill(DEMO_PASSWORD)
    page.get_by_label("Nytt lösenord").fill("ett helt nytt lösenord")
    page.get_by_label("Upprepa det nya lösenordet").fill("ett helt nytt lösenord")
    page.get_by_role("button", name="Byt lösenord").click()
    expect(page.get_by_role("status")).to_contain_text("Ditt lösenord är bytt.")
    open_the_menu(page)
    page.get_by_role("button", name="Logga ut").click()
    expect(page.get_by_role("heading", name="Logga in i Samlokal")).to_be_visible()
    log_in(page, STAFF, "ett helt nytt lösenord")
    assert_no_console_errors(page)


@pytest.mark.parametrize("viewport", DATED_VIEWPORTS)
def test_coordinator_adds_a_closed_day(demo, open_page, viewport):
    day = ordinary_day(days_ahead=40)
    page = open_page(viewport)
    log_in(page, COORDINATOR)
    page.get_by_role("link", name="Drivhuset", exact=True).click()
    expect(page.get_by_role("heading", name="Drivhuset", exact=True)).to_be_visible()
    page.get_by_label("Datum").fill(day.isoformat())
    page.get_by_label("Anledning").fill("Personaldag")
    with demo.app_context():
        site = db.session.scalar(select(Site).where(Site.name == "Drivhuset"))
        booked = premises.closure_impact(site, day, day)
        db.session.remove()
    page.get_by_role("button", name="Lägg till stängd dag").click()
    if booked:  # the demo's meetings and bookings that day are listed before anything changes
        expect(page.get_by_role("heading", name=re.compile(r"^Stänga Drivhuset den "))).to_be_visible()
        page.get_by_role("button", name="Stäng dagen och avboka dessa").click()
    expect(page.get_by_role("status")).to_contain_text("Den stängda dagen är tillagd.")
    expect(page.get_by_role("listitem").filter(has_text="Personaldag")).to_be_visible()
    with demo.app_context():
        closure = db.session.scalar(select(Closure).join(Site).where(Site.name == "Drivhuset"))
        assert (closure.day, closure.reason) == (day, "Personaldag")
        db.session.remove()
    assert_no_console_errors(page)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_log_in_with_the_keyboard_alone(demo, open_page, viewport):
    page = open_page(viewport)
    page.goto("/login")

    def focused() -> dict:
        return page.evaluate("""() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            return {tag: el.tagName, name: el.name || el.id || '', text: el.textContent.trim(),
                    outline: style.outlineStyle, width: el.getBoundingClientRect().width};
        }""")

    page.keyboard.press("Tab")
    skip = focused()
    assert (skip["tag"], skip["text"]) == ("A", "Hoppa till innehållet")
    assert skip["outline"] != "none" and skip["width"] > 0  # visible when focused
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert focused()["name"] == "email"
    page.keyboard.type(STAFF)
    page.keyboard.press("Tab")
    assert focused()["name"] == "password"
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Tab")
    assert focused()["name"] == "remember"
    page.keyboard.press("Tab")
    button = focused()
    assert (button["tag"], button["text"], button["outline"]) == ("BUTTON", "Logga in", "solid")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Hej, Sara Berg")).to_be_visible()
    assert_no_console_errors(page)


def test_user_saved_language_follows_the_login(demo, open_page):
    with demo.app_context():
        db.session.scalar(select(User).where(User.email == STAFF)).locale = "en"
        db.session.commit()
        db.session.remove()
    page = open_page()
    log_in_english = page.goto("/login")
    assert log_in_english.status == 200
    page.get_by_label("E-postadress").fill(STAFF)
    page.get_by_label("Lösenord", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("heading", name="Hello, Sara Berg")).to_be_visible()


# --- keyboard alone -------------------------------------------------------------------------
# The journeys below never click: every control is reached with Tab and used with Enter,
# Space or typing, so a control a keyboard cannot reach fails the journey.

def tab_to(page, locator, limit: int = 250) -> None:
    """Press Tab until `locator` has the focus (from wherever the focus is now)."""
    target = locator.element_handle()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("el => document.activeElement === el", target):
            return
    raise AssertionError(f"not reachable with Tab: {locator}")


def key_type(page, locator, text: str) -> None:
    tab_to(page, locator)
    page.keyboard.type(text)


def key_set(page, locator, value: str) -> None:
    """Date and time fields: reached with Tab like any field; the value is then set as a
    complete entry, because the segment order of Chromium's own date widget follows the
    operating system's locale (mm/dd/yyyy here), not the page's."""
    tab_to(page, locator)
    locator.fill(value)


def key_press(page, locator, key: str = "Enter") -> None:
    tab_to(page, locator)
    page.keyboard.press(key)


def open_the_menu(page) -> None:
    """On a phone the main menu folds behind its button: open it (a no-op on a laptop)."""
    button = page.get_by_role("button", name=re.compile("^(Meny|Menu)$"))
    if button.is_visible():
        button.click()
        expect(button).to_have_attribute("aria-expanded", "true")


def key_press_menu_link(page, name: str) -> None:
    """A main-menu link, with the keyboard: on a phone the menu button first."""
    button = page.get_by_role("button", name="Meny")
    if button.is_visible():
        key_press(page, button)
        expect(button).to_have_attribute("aria-expanded", "true")
    key_press(page, page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name=name))


def log_in_with_keyboard(page, email: str) -> None:
    page.goto("/login")
    key_type(page, page.get_by_label("E-postadress"), email)
    key_type(page, page.get_by_label("Lösenord", exact=True), DEMO_PASSWORD)
    key_press(page, page.get_by_role("button", name="Logga in"))
    expect(page.get_by_role("heading", name=re.compile(r"^Hej, "))).to_be_visible()


# The demo allocates the current term: releasing needs days left in it, so a Tuesday in February.
@pytest.mark.clock("2027-02-09T09:00+01:00")
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_agency_admin_releases_an_allocation_with_the_keyboard(demo, open_page, viewport):
    day = ordinary_day(days_ahead=9)
    with demo.app_context():
        office = db.session.scalar(select(Allocation).join(Resource).where(Resource.name == "AF:s kontor"))
        allocation_id = office.id
        db.session.remove()
    page = open_page(viewport)
    log_in_with_keyboard(page, "erik.holm@drivhuset.example")  # AF's agency admin
    key_press_menu_link(page, "Fördelningsplan")
    key_press(page, page.get_by_role("link", name="Alla tilldelningar"))
    key_press(page, page.get_by_role("link", name="Lämna tillbaka tid – AF:s kontor, AF"))
    expect(page.get_by_role("heading", name="Lämna tillbaka tilldelad tid")).to_be_visible()
    key_set(page, page.get_by_label("Första dag"), day.isoformat())
    key_press(page, page.get_by_role("button", name="Lämna tillbaka", exact=True))
    expect(page.locator("#flashes")).to_contain_text("1 dag tillbakalämnad: nu kan alla boka den tiden.")
    with demo.app_context():
        released = db.session.scalars(select(AllocationRelease.day).where(
            AllocationRelease.allocation_id == allocation_id)).all()
        db.session.remove()
    assert released == [day]
    assert_no_console_errors(page)


@pytest.mark.parametrize("viewport", DATED_VIEWPORTS)
def test_coordinator_plans_and_publishes_a_seminar_with_the_keyboard(demo, open_page, viewport):
    # Past the demo's three-day training in Stora salen (a Monday 42-48 days ahead).
    day = ordinary_day(weekday=0, days_ahead=56)
    page = open_page(viewport)
    log_in_with_keyboard(page, COORDINATOR)
    key_press_menu_link(page, "Seminarier")
    key_press(page, page.get_by_role("link", name="Planera ett seminarium"))
    key_type(page, page.get_by_label("Titel"), "Studiebesök från Nyköping")
    key_press(page, page.get_by_role("button", name="Spara"))
    expect(page.locator("#flashes")).to_contain_text("Seminariet är sparat.")
    expect(page.get_by_role("heading", name="Studiebesök från Nyköping")).to_be_visible()

    key_press(page, page.get_by_text("Lägg till en dag", exact=True))  # opens the <details>
    key_set(page, page.get_by_label("Datum"), day.isoformat())
    key_set(page, page.get_by_label("Börjar"), "10:00")
    key_set(page, page.get_by_label("Slutar"), "12:00")
    room = page.get_by_label("Rum", exact=True)
    tab_to(page, room)
    page.keyboard.type("Stora salen")  # type-ahead picks the option
    expect(room).to_have_value(re.compile(r"^\d+$"))
    assert room.evaluate("el => el.options[el.selectedIndex].text").startswith("Stora salen")
    key_press(page, page.get_by_role("button", name="Lägg till dagen"))
    expect(page.locator("#flashes")).to_contain_text("Dagen är tillagd.")

    key_press(page, page.get_by_role("button", name="Publicera och boka rummen"))
    expect(page.locator("#flashes")).to_contain_text("Seminariet är publicerat och rummen är bokade.")
    with demo.app_context():
        seminar = db.session.scalar(select(Seminar).where(Seminar.title == "Studiebesök från Nyköping"))
        assert seminar.state == SeminarState.published
        assert [(d.day, d.resource.name, d.reservation_id is not None) for d in seminar.days] == [
            (day, "Stora salen", True)]
        db.session.remove()
    assert_no_console_errors(page)


@pytest.mark.parametrize("viewport", DATED_VIEWPORTS)
def test_guest_registers_and_cancels_through_the_secret_link_with_the_keyboard(demo, open_page, viewport):
    page = open_page(viewport)
    page.goto("/seminars/public/")
    key_press(page, page.get_by_role("link", name=re.compile("^Arbetsgivarforum")))
    key_type(page, page.get_by_label("Namn"), "Greta Gäst")
    key_type(page, page.get_by_label("Organisation"), "Oxelösunds Hamn AB")
    key_type(page, page.get_by_label("E-postadress"), "greta@hamn.example")
    key_press(page, page.get_by_role("button", name="Anmäl dig"))
    expect(page.get_by_text("Tack! Spara adressen till den här sidan", exact=False)).to_be_focused()
    secret_link = page.url
    assert re.search(r"/seminars/r/[\w-]{40,}\?new=1$", secret_link)
    assert_no_console_errors(page)

    later = open_page(viewport)  # another day, another browser: only the link opens it
    later.goto(secret_link.removesuffix("?new=1"))
    expect(later.get_by_text("Greta Gäst, Oxelösunds Hamn AB")).to_be_visible()
    key_press(later, later.get_by_role("button", name="Avboka min anmälan"))
    expect(later.locator("#flashes")).to_contain_text("Din anmälan är avbokad.")
    with demo.app_context():
        registration = db.session.scalar(select(Registration).where(Registration.email == "greta@hamn.example"))
        assert registration.status == RegistrationStatus.cancelled
        db.session.remove()
    assert_no_console_errors(later)


def ids_of(demo, **names) -> dict:
    """Database ids of demo rows by name, e.g. ids_of(demo, room="Samtalsrum 1")."""
    with demo.app_context():
        found = {
            "site": db.session.scalar(select(Site.id).where(Site.name == "Drivhuset")),
            **{key: db.session.scalar(select(Resource.id).where(Resource.name == name))
               for key, name in names.items()},
        }
        db.session.remove()
    return found


@pytest.mark.parametrize("viewport", DATED_VIEWPORTS)
def test_book_a_room_from_the_week_view_with_the_keyboard(demo, open_page, viewport):
    """A free cell opens the form in place; saving swaps the grid (no page load) and says so."""
    day = ordinary_day(days_ahead=14)
    ids = ids_of(demo, room="Samtalsrum 1")
    page = open_page(viewport)
    log_in_with_keyboard(page, STAFF)
    page.goto(f"/bookings/?site={ids['site']}&view=week&day={day}&kind=room")
    page.evaluate("window.samePage = true")
    key_press(page, page.locator(f"#booking-grid a[href*='resource={ids['room']}&day={day}&start=']").first)
    expect(page.get_by_role("heading", name="Ny bokning")).to_be_focused()  # the form, in place
    panel = page.locator("#booking-panel")
    key_type(page, panel.get_by_label("Titel"), "Praktikträff")
    attendees = panel.get_by_label("Antal deltagare")
    tab_to(page, attendees)
    page.keyboard.press("Control+A")
    page.keyboard.type("99")  # more than the room holds: refused in place, the summary read out
    key_press(page, panel.get_by_role("button", name="Boka", exact=True))
    expect(panel.locator(".error-summary")).to_be_focused()
    expect(panel).to_contain_text("rymmer högst")
    tab_to(page, attendees)
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    key_press(page, panel.get_by_role("button", name="Boka", exact=True))
    expect(page.locator("#flashes")).to_contain_text("Bokat: Praktikträff")
    expect(page.locator("#booking-grid li.booked").filter(has_text="Praktikträff").first).to_be_visible()
    expect(page.locator("#booking-panel form")).to_have_count(0)
    assert page.evaluate("window.samePage") is True  # the grid was swapped, not reloaded
    with demo.app_context():
        booked = db.session.scalars(select(Reservation).where(Reservation.title == "Praktikträff")).all()
        assert [(r.resource_id, r.first_day) for r in booked] == [(ids["room"], day)]
        db.session.remove()
    assert_no_console_errors(page)


@pytest.mark.parametrize("viewport", DATED_VIEWPORTS)
def test_a_series_that_clashes_books_the_other_dates_with_the_keyboard(demo, open_page, viewport):
    """Weekly on four ordinary Thursdays where "Jobbcoachning" takes every other one: two clash."""
    thursdays = ordinary_days(4, weekday=3, days_ahead=7, weeks_apart=1)
    day = thursdays[0]
    with demo.app_context():
        room = db.session.scalar(select(Resource).where(Resource.name == "Samtalsrum 1"))
        coach = db.session.scalar(select(User).where(User.email == "ali.yusuf@drivhuset.example"))
        with unit_of_work():  # as a request would commit it: the live server reads it next
            booking.book(booking.BookingRequest(
                resource=room, title="Jobbcoachning", first_day=day, start_time=time(10),
                end_time=time(11), booked_by=coach, attendees=2, rrule="FREQ=WEEKLY;INTERVAL=2;COUNT=2"))
        room_id = room.id
        db.session.remove()
    page = open_page(viewport)
    log_in_with_keyboard(page, STAFF)
    page.goto(f"/bookings/new?resource={room_id}&day={day}&start=10:00")
    key_type(page, page.get_by_label("Titel"), "Studiecirkel")
    repeat = page.get_by_label("Upprepa")
    tab_to(page, repeat)
    page.keyboard.type("Varje vecka")  # type-ahead picks the option
    expect(repeat).to_have_value("weekly")
    count = page.get_by_label("Antal gånger", exact=True)
    tab_to(page, count)
    page.keyboard.press("Control+A")
    page.keyboard.type("4")
    key_press(page, page.get_by_role("button", name="Boka", exact=True))
    problems = page.locator(".problem-dates")
    expect(problems).to_contain_text("2 datum går inte att boka")
    key_press(page, page.get_by_role("button", name="Boka de andra datumen"))
    expect(page.locator("#flashes")).to_contain_text("Bokat: Studiecirkel")
    with demo.app_context():
        series = db.session.scalar(select(Reservation).where(Reservation.title == "Studiecirkel"))
        booked = sorted(to_local(o.starts_at).date() for o in series.occurrences if o.is_active)
        db.session.remove()
    assert booked == [thursdays[1], thursdays[3]]
    assert_no_console_errors(page)


@pytest.mark.parametrize("viewport", DATED_VIEWPORTS)
def test_book_a_trepartssamtal_from_the_proposals_with_the_keyboard(demo, open_page, viewport):
    with demo.app_context():
        people = {u.email.split("@")[0]: u for u in db.session.scalars(select(User))}
        sara, ali = people["sara.berg"], people["ali.yusuf"]
        ali_id, agencies = ali.id, (sara.agency_id, ali.agency_id)
        db.session.remove()
    page = open_page(viewport)
    log_in_with_keyboard(page, STAFF)
    key_press_menu_link(page, "Trepartssamtal")
    key_press(page, page.get_by_role("link", name="Boka trepartssamtal"))
    key_press(page, page.locator(f"#participant-{ali_id}"), "Space")
    key_type(page, page.get_by_label("Referens för personen"), "AB-12")
    key_press(page, page.locator("#consent_given"), "Space")
    key_set(page, page.get_by_label("Datum då samtycket gavs"), today().isoformat())
    for agency_id in agencies:
        key_press(page, page.locator(f"#consent-agency-{agency_id}"), "Space")
    key_press(page, page.get_by_role("button", name="Hitta tider"))
    expect(page.locator(".proposal-list")).to_be_focused()  # the proposals, announced
    first = page.locator("button.proposal").first
    when = first.locator(".proposal-time").inner_text()
    key_press(page, first)
    expect(page.locator("#flashes")).to_contain_text("Trepartssamtalet är bokat.")
    expect(page.get_by_text("AB-12")).to_be_visible()
    expect(page.locator("main")).to_contain_text(when.split(",")[0])
    with demo.app_context():
        meeting = db.session.scalar(select(Trepartssamtal))
        assert {p.user_id for p in meeting.participants} == {ali_id, meeting.booked_by_id}
        assert meeting.reservation is not None and meeting.consent is not None
        db.session.remove()
    assert_no_console_errors(page)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_copy_a_feed_link_with_the_keyboard(demo, open_page, viewport):
    page = open_page(viewport, permissions=["clipboard-read", "clipboard-write"])
    log_in_with_keyboard(page, STAFF)
    key_press_menu_link(page, "Kalenderflöden")
    key_press(page, page.get_by_role("button", name="Skapa en länk", exact=True))
    link = page.locator("#new-link-https")
    expect(link).to_be_visible()
    key_press(page, page.locator('[data-copy-target="new-link-https"]'))
    expect(page.locator("#flashes")).to_contain_text("Länken kopierades.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == link.input_value()
    assert re.fullmatch(r"https?://[^/]+/feeds/[A-Za-z0-9_-]{43}\.ics", copied)
    assert_no_console_errors(page)
