"""Finding a free room or desk: the same rules as booking, best fit first, the nearest free
times when nothing is free, and the booking form's answer before you submit."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from sqlalchemy import event, select

from office.accounts.models import Role
from office.allocations import rules as allocations
from office.allocations.models import Allocation, WeekPattern
from office.booking import rules as booking
from office.booking.find_free import FreeSearch, find_free
from office.booking.models import Reservation
from office.booking.rules import BookingRequest
from office.core.database import utcnow
from office.core.extensions import db
from office.premises.models import Closure, ResourceKind
from tests.calendar_days import in_days, is_ordinary

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`


def ordinary_weekday(days_ahead: int = 14) -> date:
    """A weekday ahead (on the app's clock) whose next two weeks hold no closed day: the
    nearest free times may look a few days on."""
    day = in_days(days_ahead)
    while not all(is_ordinary(day + timedelta(days=n)) or (day + timedelta(days=n)).weekday() >= 5
                  for n in range(-1, 15)) or not is_ordinary(day):
        day += timedelta(days=1)
    return day


@pytest.fixture
def site(create_site, create_resource):
    site = create_site(name="Drivhuset", opens=time(8), closes=time(17))
    for name, capacity, screen in [("Konferensrummet", 12, True), ("Samtalsrum 1", 4, False),
                                   ("Grupprummet", 8, True), ("Samtalsrum 2", 4, True)]:
        create_resource(site=site, name=name, capacity=capacity, has_screen=screen)
    for number in (1, 2, 10):
        create_resource(site=site, name=f"Skrivbord {number}", kind=ResourceKind.desk, capacity=1)
    return site


@pytest.fixture
def staff(create_user, create_agency):
    return create_user(role=Role.staff, name="Sara Berg", agency=create_agency(short_name="AF"))


def resource(site, name):
    return next(r for r in site.resources if r.name == name)


def book(site, name, user, day, start, end):
    return booking.book(BookingRequest(resource=resource(site, name), title="Möte", first_day=day,
                                       start_time=start, end_time=end, booked_by=user))


def free_names(answer):
    return [option.resource.name for option in answer.free]


def search(site, day, start=time(10), end=time(11), **fields):
    return FreeSearch(site=site, day=day, start_time=start, end_time=end, **fields)


# --- the answer -----------------------------------------------------------------------

def test_free_rooms_come_smallest_that_fits_first(site, staff):
    day = ordinary_weekday()
    answer = find_free(search(site, day, people=4, kind="room"), staff, now=utcnow())
    assert free_names(answer) == ["Samtalsrum 1", "Samtalsrum 2", "Grupprummet", "Konferensrummet"]


def test_booked_rooms_too_small_rooms_and_missing_features_are_left_out(site, staff, create_user):
    day = ordinary_weekday()
    book(site, "Samtalsrum 2", create_user(), day, time(10, 30), time(11, 30))
    answer = find_free(search(site, day, people=4, screen=True), staff, now=utcnow())
    assert free_names(answer) == ["Grupprummet", "Konferensrummet"]


def test_desks_sort_as_people_read_them(site, staff):
    answer = find_free(search(site, ordinary_weekday(), kind="desk"), staff, now=utcnow())
    assert free_names(answer) == ["Skrivbord 1", "Skrivbord 2", "Skrivbord 10"]


def test_the_answer_is_what_check_booking_says_for_each_resource(site, staff, create_user,
                                                                 create_agency):
    """The same rules as booking: allocations of another agency, a booking, the hours."""
    day = ordinary_weekday()
    other = create_user()
    book(site, "Samtalsrum 1", other, day, time(9), time(10, 15))
    db.session.add(Allocation(resource=resource(site, "Grupprummet"),
                              agency=create_agency(short_name="FK"), weekdays="01234",
                              first_day=day, last_day=day, start_time=time(8), end_time=time(12),
                              pattern=WeekPattern.every_week))
    db.session.commit()
    now = utcnow()
    for start, end in [(time(10), time(11)), (time(8), time(9)), (time(16), time(17, 30))]:
        answer = find_free(search(site, day, start, end), staff, now=now)
        expected = [r.name for r in site.resources if booking.check_booking(BookingRequest(
            resource=r, title="x", first_day=day, start_time=start, end_time=end,
            booked_by=staff), now=now).ok]
        assert sorted(free_names(answer)) == sorted(expected), (start, end)
    assert "Grupprummet" not in free_names(find_free(search(site, day), staff, now=now))


def test_an_agencys_own_allocation_and_released_time_are_free_for_the_right_people(
        site, staff, create_user, create_agency):
    day = ordinary_weekday()
    fk = create_agency(short_name="FK")
    allocation = Allocation(resource=resource(site, "Grupprummet"), agency=fk, weekdays="01234",
                            first_day=day, last_day=day, start_time=time(8), end_time=time(12),
                            pattern=WeekPattern.every_week)
    db.session.add(allocation)
    db.session.commit()
    asked = search(site, day, people=6)
    assert free_names(find_free(asked, staff, now=utcnow())) == ["Konferensrummet"]
    fk_staff = create_user(agency=fk)
    assert free_names(find_free(asked, fk_staff, now=utcnow())) == ["Grupprummet", "Konferensrummet"]
    allocations.release_allocation(allocation, create_user(role=Role.agency_admin, agency=fk), day, day)
    db.session.commit()
    assert free_names(find_free(asked, staff, now=utcnow())) == ["Grupprummet", "Konferensrummet"]


def test_nothing_free_gives_the_nearest_times_that_day_and_on_other_days(site, staff, create_user):
    day = ordinary_weekday()
    other = create_user()
    book(site, "Konferensrummet", other, day, time(9), time(12))
    answer = find_free(search(site, day, people=10), staff, now=utcnow())
    assert answer.free == [] and answer.reasons == []
    assert [(o.start_time, o.end_time) for o in answer.earlier] == [(time(8), time(9))]
    assert [(o.start_time, o.end_time) for o in answer.later] == [(time(12), time(13)),
                                                                  (time(12, 15), time(13, 15))]
    assert [o.day for o in answer.other_days] == [
        d for d in (day + timedelta(days=n) for n in range(1, 6)) if d.weekday() < 5][:3]
    assert all(o.start_time == time(10) for o in answer.other_days)


def test_a_closed_day_says_why_and_offers_the_next_open_days(site, staff):
    day = ordinary_weekday()
    db.session.add(Closure(site=site, day=day, reason="Personaldag"))
    db.session.commit()
    for whole_day in (True, False):
        answer = find_free(search(site, day, whole_day=whole_day, kind="desk"), staff, now=utcnow())
        assert answer.free == [] and answer.reasons == ["Lokalen är stängd den här dagen (Personaldag)."]
        assert answer.other_days[0].day == day + timedelta(days=3 if day.weekday() == 4 else 1)


def test_the_whole_day_is_the_opening_hours(site, staff, create_user):
    day = ordinary_weekday()
    book(site, "Skrivbord 1", create_user(), day, time(16), time(17))
    answer = find_free(search(site, day, None, None, whole_day=True, kind="desk"), staff, now=utcnow())
    assert (answer.start_time, answer.end_time) == (time(8), time(17))
    assert free_names(answer) == ["Skrivbord 2", "Skrivbord 10"]


def test_outside_the_opening_hours_says_so(site, staff):
    answer = find_free(search(site, ordinary_weekday(), time(17), time(18)), staff, now=utcnow())
    assert answer.free == [] and answer.reasons == ["Utanför öppettiderna (08:00–17:00)."]


def test_the_number_of_queries_does_not_grow_with_the_resources(site, staff, create_resource,
                                                                create_user):
    """One load per day range for every candidate, not one query per resource and time."""
    day = ordinary_weekday()

    def queries_for(people):
        count = 0

        def counter(*_args):
            nonlocal count
            count += 1

        event.listen(db.engine, "before_cursor_execute", counter)
        try:
            find_free(search(site, day, people=people), staff, now=utcnow())
        finally:
            event.remove(db.engine, "before_cursor_execute", counter)
        return count

    book(site, "Konferensrummet", create_user(), day, time(8), time(17))
    few = queries_for(10)  # one candidate, nothing free: the nearest times too
    for number in range(20):
        create_resource(site=site, name=f"Rum {number}", capacity=10)
    for number in range(20):
        book(site, f"Rum {number}", create_user(), day, time(8), time(17))
    db.session.expire_all()
    many = queries_for(10)
    assert many <= few + 1, (few, many)
    assert many < 15


# --- the page ---------------------------------------------------------------------------

def test_find_page_lists_what_is_free_with_one_click_booking(auth, client, site, staff):
    day = ordinary_weekday()
    auth.login(staff)
    html = client.get(f"/bookings/find?site={site.id}&day={day}&start=10:00&end=11:00&people=6"
                      f"&kind=room").get_data(as_text=True)
    assert html.index("Grupprummet") < html.index("Konferensrummet")
    assert "Samtalsrum 1" not in html  # 4 places: too small for 6
    assert f'name="resource_id" value="{resource(site, "Grupprummet").id}"' in html
    response = auth.post("/bookings/new", {
        "title": "Möte", "resource_id": resource(site, "Grupprummet").id, "day": day.isoformat(),
        "start": "10:00", "end": "11:00", "attendees": 6})
    assert response.status_code == 302
    booked = db.session.scalar(select(Reservation))
    assert booked.resource.name == "Grupprummet" and booked.attendees == 6


def test_find_page_first_visit_shows_the_form_only(auth, client, site, staff):
    auth.login(staff)
    response = client.get("/bookings/find")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="free-answer"' not in html
    assert 'name="people"' in html and 'name="whole_day"' in html


def test_find_page_refuses_nonsense_and_keeps_what_was_typed(auth, client, site, staff):
    auth.login(staff)
    response = client.get(f"/bookings/find?site={site.id}&day=2026-13-40&start=10:00&end=09:00"
                          f"&people=7&title=Planering")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'class="error-summary"' in html
    assert 'value="7"' in html and 'value="Planering"' in html and 'id="free-answer"' not in html


def test_find_page_says_nothing_free_and_offers_other_times(auth, client, site, staff, create_user):
    day = ordinary_weekday()
    book(site, "Konferensrummet", create_user(), day, time(9), time(12))
    auth.login(staff)
    html = client.get(f"/bookings/find?site={site.id}&day={day}&start=10:00&end=11:00&people=10"
                      ).get_data(as_text=True)
    assert "Inget ledigt då" in html and "Ledigt samma dag" in html and "Ledigt andra dagar" in html
    assert "08:00–09:00" in html and "12:00–13:00" in html


def test_grid_links_to_the_same_search(auth, client, site, staff):
    day = ordinary_weekday()
    auth.login(staff)
    html = client.get(f"/bookings/?site={site.id}&view=day&day={day}&kind=room&capacity=4"
                      ).get_data(as_text=True)
    assert f"/bookings/find?site={site.id}&amp;day={day}&amp;kind=room&amp;people=4" in html


# --- the booking form says whether it is free --------------------------------------------

def _availability(client, site, name, day, overrides=None, **extra):
    args = {"resource_id": resource(site, name).id, "day": day.isoformat(), "start": "10:00",
            "end": "11:00", "attendees": 2, "repeat": "none", **extra, **(overrides or {})}
    return client.get("/bookings/availability", query_string=args,
                      headers={"HX-Request": "true", "HX-Target": "booking-availability"})


def test_booking_form_says_the_room_is_free_before_submitting(auth, client, site, staff):
    auth.login(staff)
    response = _availability(client, site, "Grupprummet", ordinary_weekday())
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "is-free" in html and "Ledigt: Grupprummet" in html
    assert "<html" not in html  # the fragment only


def test_booking_form_says_the_room_is_taken_and_offers_the_search(auth, client, site, staff,
                                                                   create_user):
    day = ordinary_weekday()
    book(site, "Grupprummet", create_user(), day, time(10), time(12))
    auth.login(staff)
    html = _availability(client, site, "Grupprummet", day).get_data(as_text=True)
    assert "is-taken" in html and "redan bokad 10:00–12:00" in html
    assert f"/bookings/find?site={site.id}&amp;day={day}" in html


def test_booking_form_answer_covers_a_series(auth, client, site, staff, create_user):
    day = ordinary_weekday()
    book(site, "Grupprummet", create_user(), day + timedelta(days=7), time(10), time(12))
    auth.login(staff)
    html = _availability(client, site, "Grupprummet", day, repeat="weekly", ends="count",
                         count=3).get_data(as_text=True)
    assert "is-taken" in html and "redan bokad" in html
    html = _availability(client, site, "Samtalsrum 1", day, repeat="weekly", ends="count",
                         count=3).get_data(as_text=True)
    assert "Alla 3 datum är lediga." in html


def test_booking_form_answer_is_silent_on_half_filled_or_bad_input(auth, client, site, staff):
    auth.login(staff)
    for args in ({"day": "not a day"}, {"start": ""}, {"resource_id": "x"}):
        response = _availability(client, site, "Grupprummet", ordinary_weekday(), args)
        assert response.status_code == 200 and "availability-answer" not in response.get_data(as_text=True)


def test_booking_form_shows_the_answer_when_it_opens(auth, client, site, staff):
    auth.login(staff)
    day = ordinary_weekday()
    html = client.get(f"/bookings/new?resource={resource(site, 'Grupprummet').id}&day={day}"
                      f"&start=10:00&attendees=5&title=Planering").get_data(as_text=True)
    assert 'id="booking-availability"' in html and 'aria-live="polite"' in html
    assert "Ledigt: Grupprummet" in html
    assert 'value="Planering"' in html and 'id="attendees" name="attendees" required type="number" value="5"' in html


def test_find_page_reads_the_sites_once(auth, client, site, staff):
    """The load profile (bench/bench_load.py) saw the site read three times per search: the
    list for the form, then twice by id after the list was gone from the session."""
    auth.login(staff)
    db.session.commit()
    path = (f"/bookings/find?site={site.id}&day={ordinary_weekday()}&start=10:00&end=11:00"
            "&people=2&kind=room")
    statements = []

    def counter(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        response = client.get(path)
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)
    assert response.status_code == 200
    assert "Samtalsrum 1" in response.get_data(as_text=True)
    assert len([s for s in statements if re.search(r"\bFROM site\b", s)]) == 1, statements
