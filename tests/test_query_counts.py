"""Pages on the load scenario's path (bench/bench_load.py) query a fixed number of times.

A page whose statements grow with its rows (N+1) is what the load profile found; these
tests keep it from coming back.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import event

from office.booking.models import Reservation, ReservationOccurrence
from office.core.extensions import db
from office.core.i18n import today_local

ZONE = ZoneInfo("Europe/Stockholm")


@contextmanager
def counted_statements():
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def book_directly(resource, user, day, hour):
    start = datetime.combine(day, time(hour), ZONE).astimezone(timezone.utc)
    reservation = Reservation(resource=resource, title="Möte", booked_by=user, agency_id=user.agency_id,
                              first_day=day, start_time=time(hour), end_time=time(hour + 1))
    reservation.occurrences = [ReservationOccurrence(resource_id=resource.id, starts_at=start,
                                                     ends_at=start + timedelta(hours=1),
                                                     original_start=start)]
    db.session.add(reservation)


def test_my_bookings_takes_the_same_statements_for_two_rows_or_twenty(
        auth, client, create_user, create_site, create_resource):
    user = create_user()
    sites = [create_site(), create_site()]
    resources = [create_resource(site=sites[n % 2]) for n in range(10)]
    day = today_local() + timedelta(days=3)
    book_directly(resources[0], user, day, 9)
    book_directly(resources[1], user, day, 10)
    db.session.commit()
    auth.login(user)
    with counted_statements() as few:
        assert client.get("/bookings/mine").status_code == 200
    for n, resource in enumerate(resources):
        book_directly(resource, user, day + timedelta(days=1 + n // 5), 11 + n % 5)
        book_directly(resource, create_user(), day + timedelta(days=1), 8)  # booked by others
    db.session.commit()
    with counted_statements() as many:
        html = client.get("/bookings/mine").get_data(as_text=True)
    assert html.count('href="/bookings/occurrences/') == 12
    assert len(many) == len(few) <= 3, many


def test_a_series_is_checked_and_saved_in_the_same_statements_for_four_weeks_or_fifty_two(
        app, create_user, create_site, create_resource):
    """The series' slots are probed in one statement and inserted in one executemany."""
    from office.booking import rules as booking
    from tests.calendar_days import ordinary_day

    user = create_user()
    resource = create_resource(site=create_site())
    db.session.commit()
    day = ordinary_day(weekday=1, days_ahead=7)

    def book_weekly(count, hour):
        db.session.commit()  # each booking is its own request: nothing read before is kept
        request = booking.BookingRequest(resource=resource, title="Serie", first_day=day,
                                         start_time=time(hour), end_time=time(hour + 1),
                                         booked_by=user, rrule=f"FREQ=WEEKLY;COUNT={count}")
        with counted_statements() as statements:
            reservation = booking.book(request, allow_partial=True)
        assert len([o for o in reservation.occurrences if o.is_active]) > count // 2
        return statements

    book_weekly(2, 8)  # warm up: what is loaded once per process
    few, many = book_weekly(4, 9), book_weekly(52, 10)
    assert len(many) == len(few), many


def test_the_booking_form_takes_the_same_statements_for_one_agency_or_five(
        auth, client, create_user, create_agency, create_site, create_resource):
    """The "on behalf of" list names each person's agency: read with the people, not one by one."""
    from office.accounts.models import Role

    coordinator = create_user(role=Role.coordinator)
    site = create_site()
    resource = create_resource(site=site)
    create_user(agency=coordinator.agency)
    db.session.commit()
    auth.login(coordinator)
    day = (today_local() + timedelta(days=3)).isoformat()
    page = f"/bookings/new?resource={resource.id}&day={day}&start=10:00"
    db.session.expunge_all()  # nothing known before the request, as in a server
    with counted_statements() as few:
        assert client.get(page).status_code == 200
    for _ in range(4):
        agency = create_agency()
        for _ in range(3):
            create_user(agency=agency)
        create_resource(site=create_site())
    db.session.commit()
    db.session.expunge_all()  # nothing known before the request, as in a server
    with counted_statements() as many:
        html = client.get(page).get_data(as_text=True)
    assert html.count("(AG") >= 12  # everyone is listed with their agency
    assert len(many) == len(few)
