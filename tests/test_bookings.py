"""The booking pages over HTTP: the grid, the form, change/cancel, My bookings, audit, CLI."""

from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from sqlalchemy import func, select

from office.accounts.models import Role
from office.booking import rules as booking
from office.booking.models import AuditEntry, ReservationOccurrence
from office.booking.rules import BookingRequest
from office.core import clock
from office.core.extensions import db
from office.premises import rules as premises
from office.premises.models import Closure, ResourceKind
from tests.calendar_days import (
    in_days,
    is_ordinary,
    ordinary_day,
    ordinary_days,
    ordinary_week,
    weekday_holidays,
)

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def future_weekday(days_ahead: int = 14) -> date:
    """An ordinary weekday comfortably ahead (the app's clock; no holiday)."""
    return ordinary_day(days_ahead=days_ahead)


@pytest.fixture
def room(create_resource, create_site):
    site = create_site(name="Drivhuset", opens=time(8), closes=time(17))
    return create_resource(site=site, name="Samtalsrum 1", capacity=4, has_screen=True)


@pytest.fixture
def staff(create_user, create_agency):
    return create_user(role=Role.staff, name="Sara Berg", agency=create_agency(short_name="AF"))


def occurrence_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ReservationOccurrence))


def form_for(room, day, start="09:00", end="10:00", **fields):
    data = {"title": "Möte", "resource_id": room.id, "day": day.isoformat(), "start": start,
            "end": end, "attendees": 2, "booked_for_id": 0, "repeat": "none", "ends": "count",
            "count": 10, "interval": 3}
    data.update(fields)
    return data


def book_directly(room, user, day, start=time(9), end=time(10), **fields):
    return booking.book(BookingRequest(resource=room, title=fields.pop("title", "Möte"),
                                       first_day=day, start_time=start, end_time=end,
                                       booked_by=user, **fields))


# --- the grid -------------------------------------------------------------------

def test_grid_without_parameters_redirects_to_a_shareable_url(auth, client, staff, room):
    auth.login(staff)
    response = client.get("/bookings/")
    assert response.status_code == 302
    assert f"site={room.site_id}" in response.location and "day=" in response.location


def test_day_grid_shows_booking_with_agency_name_and_booker(auth, client, staff, room):
    day = future_weekday()
    book_directly(room, staff, day, title="Handläggargruppen")
    auth.login(staff)
    html = client.get(f"/bookings/?site={room.site_id}&view=day&day={day}").get_data(as_text=True)
    assert "<caption>" in html and 'scope="row"' in html and "Samtalsrum 1" in html
    assert "09:00–10:00" in html and ">AF</span>" in html and "Sara Berg" in html
    assert "Handläggargruppen" in html
    # Free quarter hours are links to the form, with the cell's resource, day and time.
    assert f"resource={room.id}&amp;day={day}&amp;start=10:00" in html
    assert "start=09:15" not in html  # inside the booking


def test_grid_marks_closed_days_with_the_reason(auth, client, staff, room):
    db.session.add(Closure(site=room.site, day=date(2026, 12, 23), reason="Mellandagsstängt"))
    db.session.commit()
    auth.login(staff)
    html = client.get(f"/bookings/?site={room.site_id}&view=week&day=2026-12-24").get_data(as_text=True)
    assert "Stängt: Julafton" in html and "Stängt: Mellandagsstängt" in html


def test_week_grid_loads_in_one_query_for_bookings(auth, client, staff, room, create_resource):
    week = ordinary_week(days_ahead=14)
    day = week[2]
    other = create_resource(site=room.site, name="Konferensrummet", capacity=12)
    for d in week:
        book_directly(room, staff, d)
        book_directly(other, staff, d, start=time(13), end=time(14))
    auth.login(staff)
    from sqlalchemy import event

    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        html = client.get(f"/bookings/?site={room.site_id}&view=week&day={day}").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    # Each booking's time is shown once (its title attribute repeats it for the pointer).
    assert html.count('<span class="run-time">09:00–10:00</span>') == 5 and "Konferensrummet" in html
    occurrence_queries = [s for s in statements if "FROM reservation_occurrence" in s]
    assert len(occurrence_queries) == 1, occurrence_queries


def test_grid_filters_by_feature_and_capacity_and_keeps_them_in_links(auth, client, staff, room, create_resource):
    create_resource(site=room.site, name="Skrivbord 1", kind=ResourceKind.desk, capacity=1)
    create_resource(site=room.site, name="Stora salen", capacity=60)
    auth.login(staff)
    day = future_weekday()
    html = client.get(f"/bookings/?site={room.site_id}&view=day&day={day}&screen=1").get_data(as_text=True)
    assert "Samtalsrum 1" in html and "Skrivbord 1" not in html and "Stora salen" not in html
    assert "screen=1" in html.split('class="grid-nav"')[1]  # next/previous keep the filter
    html = client.get(f"/bookings/?site={room.site_id}&view=day&day={day}&capacity=10").get_data(as_text=True)
    assert "Stora salen" in html and "Samtalsrum 1" not in html
    html = client.get(f"/bookings/?site={room.site_id}&view=day&day={day}&kind=desk").get_data(as_text=True)
    assert "Skrivbord 1" in html and "Samtalsrum 1" not in html


def test_htmx_gets_only_the_grid_part(auth, client, staff, room):
    auth.login(staff)
    day = future_weekday()
    response = client.get(f"/bookings/?site={room.site_id}&view=day&day={day}",
                          headers={"HX-Request": "true", "HX-Target": "booking-grid"})
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'class="booking-grid"' in html
    assert "HX-Request" in response.headers["Vary"]


def test_trepartssamtal_title_never_shows_in_the_grid(auth, client, staff, room, create_user):
    from office.booking.models import ReservationKind

    day = future_weekday()
    book_directly(room, staff, day, title="Samtal med Kalle Svensson", kind=ReservationKind.trepartssamtal)
    auth.login(create_user())
    html = client.get(f"/bookings/?site={room.site_id}&view=day&day={day}").get_data(as_text=True)
    assert "Kalle" not in html and "Sara Berg" in html


# --- booking through the form -------------------------------------------------------

def test_cell_opens_the_form_in_place(auth, client, staff, room):
    auth.login(staff)
    day = future_weekday()
    response = client.get(f"/bookings/new?resource={room.id}&day={day}&start=10:15",
                          headers={"HX-Request": "true", "HX-Target": "booking-panel"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'value="10:15"' in html and 'value="11:15"' in html and f'value="{day}"' in html
    assert 'step="900"' in html


def test_booking_via_htmx_returns_the_refreshed_grid(auth, client, staff, room):
    auth.login(staff)
    day = future_weekday()
    grid = f"http://localhost/bookings/?site={room.site_id}&view=day&day={day}"
    response = auth.post("/bookings/new", form_for(room, day, title="Arbetsgruppen"),
                         headers={"HX-Request": "true", "HX-Target": "booking-panel", "HX-Current-URL": grid})
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert response.headers["HX-Retarget"] == "#booking-grid"
    assert "data-announce=" in html and "Arbetsgruppen" in html and 'class="booking-grid"' in html
    assert occurrence_count() == 1


def test_booking_without_htmx_redirects_to_the_day(auth, client, staff, room):
    auth.login(staff)
    day = future_weekday()
    response = auth.post("/bookings/new", form_for(room, day))
    assert response.status_code == 302 and f"day={day}" in response.location
    assert occurrence_count() == 1


def test_booking_for_a_colleague_shows_on_their_page(auth, client, staff, room, create_user):
    colleague = create_user(agency=staff.agency, name="Jonas Ek")
    auth.login(staff)
    day = future_weekday()
    assert auth.post("/bookings/new", form_for(room, day, booked_for_id=colleague.id)).status_code == 302
    auth.logout()
    auth.login(colleague)
    html = client.get("/bookings/mine").get_data(as_text=True)
    assert "Möte" in html and "Sara Berg" in html


def test_staff_cannot_book_for_someone_of_another_agency(auth, client, staff, room, create_user):
    stranger = create_user()
    auth.login(staff)
    response = auth.post("/bookings/new", form_for(room, future_weekday(), booked_for_id=stranger.id))
    assert response.status_code == 422 and occurrence_count() == 0


def test_quarter_hours_only(auth, staff, room):
    auth.login(staff)
    response = auth.post("/bookings/new", form_for(room, future_weekday(), start="09:10"))
    assert response.status_code == 422
    assert "kvart" in response.get_data(as_text=True) and occurrence_count() == 0


# --- every rule is refused by the server, with its own message -------------------------

def next_christmas_day() -> date:
    """Juldagen ahead (a closed day, and a weekday or not: the rule is the same)."""
    today = in_days(0)
    christmas = date(today.year, 12, 25)
    return christmas if christmas > today else date(today.year + 1, 12, 25)


def _rule_cases(room, day):
    return {
        "end_before_start": (form_for(room, day, start="11:00", end="10:00"),
                             "Sluttiden måste vara efter starttiden.", "The end must be after the start."),
        "outside_hours": (form_for(room, day, start="16:00", end="18:00"),
                          "Utanför öppettiderna (08:00–17:00).", "Outside the opening hours (08:00–17:00)."),
        "closed_day": (form_for(room, next_christmas_day()), "Lokalen är stängd den här dagen (Juldagen).",
                       "The site is closed this day (Juldagen)."),
        "in_past": (form_for(room, ordinary_day(after=in_days(-60))), "Tiden har redan passerat.",
                    "The time has already passed."),
        "over_capacity": (form_for(room, day, attendees=5), "Samtalsrum 1 rymmer högst 4 personer.",
                          "Samtalsrum 1 holds at most 4 people."),
        "bad_attendees": (form_for(room, day, attendees=0), "Antalet deltagare måste vara minst 1.",
                          "The number of attendees must be at least 1."),
        "too_long": (form_for(room, day, start="08:00", end="16:00"),
                     "En bokning av den här resursen får vara högst 4 timmar.",
                     "A booking of this resource may last at most 4 hours."),
        "beyond_horizon": (form_for(room, ordinary_day(days_ahead=400)),  # open, only too far
                           "Bokningar kan göras högst 365 dagar i förväg.", "Bookings can be made at most 365 days ahead."),
        "empty_title": (form_for(room, day, title="   "), "Ge bokningen en rubrik.", "Give the booking a title."),
    }


RULES = ["end_before_start", "outside_hours", "closed_day", "in_past", "over_capacity",
         "bad_attendees", "too_long", "beyond_horizon", "empty_title"]


@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize("rule", RULES)
def test_every_rule_is_refused_by_the_server(app, auth, client, staff, room, rule, language):
    app.config["BOOKING_MAX_HOURS"] = {"room": 4, "desk": 10}
    auth.login(staff)
    if language == "en":
        auth.post("/language", {"language": "en", "next": "/dashboard"})
    data, swedish, english = _rule_cases(room, future_weekday())[rule]
    response = auth.post("/bookings/new", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert (swedish if language == "sv" else english) in html
    assert 'name="title"' in html  # the form is kept
    assert occurrence_count() == 0


def test_inactive_resource_is_refused(auth, staff, room, create_user):
    coordinator = create_user(role=Role.coordinator)
    auth.login(coordinator)
    day = future_weekday()
    room.active = False
    db.session.commit()
    response = auth.post("/bookings/new", form_for(room, day))
    # An inactive resource is not offered: the choice itself is refused.
    assert response.status_code == 422 and occurrence_count() == 0


def test_nonexistent_local_time_is_refused_over_http(auth, create_user, create_resource, create_site):
    site = create_site(opens=time(0), closes=time(23, 45), weekdays=range(7))
    room = create_resource(site=site)
    auth.login(create_user(role=Role.coordinator))  # the coordinator may book a past date
    response = auth.post("/bookings/new", form_for(room, date(2026, 3, 29), start="02:30", end="03:30"))
    assert response.status_code == 422
    assert "Den här tiden finns inte" in response.get_data(as_text=True)
    assert occurrence_count() == 0


def test_taken_time_is_409_with_the_form(auth, staff, room):
    day = future_weekday()
    book_directly(room, staff, day)
    auth.login(staff)
    response = auth.post("/bookings/new", form_for(room, day, start="09:30", end="10:30"))
    assert response.status_code == 409
    assert "Tiden är redan bokad 09:00–10:00." in response.get_data(as_text=True)
    assert occurrence_count() == 1


def test_time_taken_after_the_form_was_shown_is_just_taken(auth, staff, room):
    day = future_weekday()
    seen_at = clock.now().isoformat()
    book_directly(room, staff, day)
    auth.login(staff)
    response = auth.post("/bookings/new", form_for(room, day, seen_at=seen_at))
    assert response.status_code == 409
    assert "Någon annan bokade just den här tiden." in response.get_data(as_text=True)


def test_refusal_via_htmx_is_the_form_part(auth, staff, room):
    auth.login(staff)
    response = auth.post("/bookings/new", form_for(room, future_weekday(), attendees=9),
                         headers={"HX-Request": "true", "HX-Target": "booking-panel"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html
    assert 'class="error-summary"' in html and 'aria-describedby="attendees-error"' in html


# --- series -----------------------------------------------------------------------

def test_weekly_series_over_a_holiday_lists_the_date_then_books_the_rest(auth, client, staff, room):
    holiday = next(day for day in weekday_holidays(days_ahead=14) if is_ordinary(day - timedelta(weeks=1)))
    auth.login(staff)
    data = form_for(room, holiday - timedelta(weeks=1), repeat="weekly", ends="count", count=2)
    response = auth.post("/bookings/new", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert premises.public_holiday(holiday) in html
    assert format_date(holiday, "EEEE d MMMM y", locale="sv") in html and "Boka de andra datumen" in html
    assert occurrence_count() == 0
    response = auth.post("/bookings/new", {**data, "partial": "1"})
    assert response.status_code == 302
    active = db.session.scalar(select(func.count()).select_from(ReservationOccurrence)
                               .where(ReservationOccurrence.state == "active"))
    assert active == 1


def test_every_other_week_until_a_date(auth, staff, room):
    auth.login(staff)
    day, *_, until = ordinary_days(4, days_ahead=14, weeks_apart=2)
    response = auth.post("/bookings/new", form_for(room, day, repeat="every_other_week", ends="until",
                                                   until=until.isoformat()))
    assert response.status_code == 302
    reservation = db.session.scalar(select(booking.Reservation))
    # The rule's parts, in whatever order the rule object writes them.
    assert set(reservation.rrule.split(";")) == {
        "FREQ=WEEKLY", "INTERVAL=2", f"UNTIL={until:%Y%m%d}T235959"}
    assert len(reservation.occurrences) == 4


# --- change and cancel ---------------------------------------------------------------

@pytest.fixture
def series(room, staff):
    """Four weekly occasions, every one on an ordinary day."""
    day = ordinary_days(4, days_ahead=21, weeks_apart=1)[0]
    return booking.book(BookingRequest(resource=room, title="Serie", first_day=day,
                                       start_time=time(9), end_time=time(10), booked_by=staff,
                                       rrule="FREQ=WEEKLY;COUNT=4"))


def active_count(reservation_id=None):
    query = select(func.count()).select_from(ReservationOccurrence).where(ReservationOccurrence.state == "active")
    return db.session.scalar(query)


@pytest.mark.parametrize("scope,left", [("one", 3), ("following", 1), ("all", 0)])
def test_cancel_scopes(auth, staff, series, scope, left):
    auth.login(staff)
    before = active_count()
    occurrences = sorted((o for o in series.occurrences if o.is_active), key=lambda o: o.starts_at)
    target = occurrences[1] if scope == "following" else occurrences[0]
    response = auth.post(f"/bookings/occurrences/{target.id}/cancel", {"scope": scope})
    assert response.status_code == 302
    expected = {"one": before - 1, "following": 1, "all": 0}[scope]
    assert active_count() == expected


def test_change_one_occasion(auth, staff, series):
    auth.login(staff)
    occurrence = series.occurrences[0]
    day = occurrence.starts_at.astimezone(STOCKHOLM).date()
    response = auth.post(f"/bookings/occurrences/{occurrence.id}/change",
                         {"scope": "one", "title": "Serie", "day": day.isoformat(), "start": "14:00",
                          "end": "15:00", "attendees": 2})
    assert response.status_code == 302
    db.session.refresh(occurrence)
    assert occurrence.starts_at.astimezone(STOCKHOLM).hour == 14


def test_change_all_refused_with_message(auth, staff, series):
    auth.login(staff)
    occurrence = series.occurrences[0]
    response = auth.post(f"/bookings/occurrences/{occurrence.id}/change",
                         {"scope": "all", "title": "Serie", "start": "09:00", "end": "10:00", "attendees": 9})
    assert response.status_code == 422 and "rymmer högst 4 personer" in response.get_data(as_text=True)


def test_others_cannot_see_change_or_cancel_a_booking(auth, client, series, create_user):
    auth.login(create_user())  # another agency's staff, guessing the id
    occurrence = series.occurrences[0]
    assert client.get(f"/bookings/occurrences/{occurrence.id}").status_code == 404
    assert auth.post(f"/bookings/occurrences/{occurrence.id}/cancel", {"scope": "all"}).status_code == 404
    assert auth.post(f"/bookings/occurrences/{occurrence.id}/change",
                     {"scope": "all", "title": "x", "start": "09:00", "end": "10:00", "attendees": 1}).status_code == 404
    assert active_count() == len([o for o in series.occurrences if o.is_active])


def test_coordinator_cancels_anyones_booking(auth, series, create_user):
    auth.login(create_user(role=Role.coordinator))
    occurrence = series.occurrences[0]
    assert auth.post(f"/bookings/occurrences/{occurrence.id}/cancel", {"scope": "all"}).status_code == 302
    assert active_count() == 0


def test_my_bookings_lists_only_mine(auth, client, staff, series, create_user):
    auth.login(staff)
    html = client.get("/bookings/mine").get_data(as_text=True)
    assert html.count("Serie") >= 3
    auth.logout()
    auth.login(create_user())
    assert "Serie" not in client.get("/bookings/mine").get_data(as_text=True)


# --- audit log -------------------------------------------------------------------

def test_audit_log_for_the_coordinator_only_and_filterable(auth, client, staff, series, create_user):
    booking.cancel_occurrence(series.occurrences[0], staff)
    auth.login(staff)
    assert client.get("/audit/").status_code == 403
    auth.logout()
    auth.login(create_user(role=Role.coordinator))
    html = client.get("/audit/").get_data(as_text=True)
    assert "Sara Berg" in html and "2 poster" in html
    html = client.get("/audit/?action=cancel_occurrence").get_data(as_text=True)
    assert "1 post" in html and "Avbokade ett tillfälle" in html
    html = client.get(f"/audit/?object_id={series.id + 1000}").get_data(as_text=True)
    assert "0 poster" in html
    html = client.get(f"/audit/?actor_id={staff.id}&date_from=2000-01-01&date_to=2000-01-02").get_data(as_text=True)
    assert "0 poster" in html


def test_audit_log_pages(auth, client, staff, room, create_user):
    for n in range(3):
        db.session.add(AuditEntry(actor_id=staff.id, action="create", object_type="reservation", object_id=n))
    db.session.commit()
    from office.booking import audit_log

    page = audit_log.search(audit_log.AuditQuery(), page=2, per_page=2)
    assert page.total == 3 and len(page.items) == 1 and not page.has_next


# --- the command line --------------------------------------------------------------

def test_cli_books_through_the_same_rules(app, staff, room):
    day = future_weekday()
    runner = app.test_cli_runner()
    args = ["book", "--resource", str(room.id), "--start", f"{day}T09:00", "--end", f"{day}T10:00",
            "--user", staff.email, "--title", "Från terminalen"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert occurrence_count() == 1
    again = runner.invoke(args=args)
    assert again.exit_code == 1 and "409" in again.output and "redan bokad" in again.output
    late = runner.invoke(args=["book", "--resource", room.name, "--start", f"{day}T16:00",
                               "--end", f"{day}T18:00", "--user", staff.email])
    assert late.exit_code == 1 and "Utanför öppettiderna" in late.output
    assert occurrence_count() == 1


def test_booking_pages_have_no_inline_script_or_style(auth, client, staff, series, create_user):
    auth.login(create_user(role=Role.coordinator))
    occurrence = series.occurrences[0]
    day = occurrence.starts_at.astimezone(STOCKHOLM).date()
    for path in (f"/bookings/?site={series.resource.site_id}&view=week&day={day}", "/bookings/new",
                 "/bookings/mine", "/audit/", f"/bookings/occurrences/{occurrence.id}"):
        response = client.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert "<script>" not in html and " style=" not in html and "<style" not in html, path


def test_a_registered_rule_is_enforced_and_shown_in_the_form(auth, staff, room):
    """Later features (allocations) plug in with register_rule; the form shows their message."""
    def mornings_for_af(request, slot):
        if slot.starts_at.astimezone(STOCKHOLM).hour < 12 and request.person.agency.short_name != "AF":
            return booking.Problem("reserved", "Förmiddagarna är reserverade för AF.", slot.day)
        return None

    booking.register_rule(mornings_for_af)
    try:
        auth.login(staff)
        other = booking.db.session.get(type(staff), staff.id)
        other.agency.short_name = "FK"
        db.session.commit()
        response = auth.post("/bookings/new", form_for(room, future_weekday()))
        assert response.status_code == 422
        assert "Förmiddagarna är reserverade för AF." in response.get_data(as_text=True)
        assert occurrence_count() == 0
    finally:
        booking._EXTRA_RULES.remove(mornings_for_af)
