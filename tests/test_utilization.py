"""Utilization: the figures add up against bookings made here."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest

from office.accounts.models import Role
from office.allocations import rules as allocations
from office.allocations import utilization
from office.booking import rules as booking
from office.booking.rules import BookingRequest
from office.premises.models import ResourceKind

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`

NOW = datetime(2026, 1, 5, 6, 0, tzinfo=timezone.utc)


@pytest.fixture
def setting(create_site, create_resource, create_agency, create_user):
    site = create_site(opens=time(7), closes=time(18))
    desk = create_resource(site=site, name="Skrivbord 1", kind=ResourceKind.desk, capacity=1)
    af = create_agency(name="Arbetsförmedlingen", short_name="AF")
    kommunen = create_agency(name="Oxelösunds kommun", short_name="Kommunen")
    coordinator = create_user(role=Role.coordinator)
    # Tuesdays 8–16 in February 2026: 3, 10, 17, 24 February = 4 × 8 = 32 hours.
    (allocation,) = allocations.create_allocations(allocations.AllocationSpec(
        agency=af, resources=[desk], weekdays=[1], start_time=time(8), end_time=time(16),
        first_day=date(2026, 2, 1), last_day=date(2026, 2, 28)), coordinator)
    return site, desk, af, kommunen, allocation, create_user


def make(desk, user, day, start, end, now=NOW):
    booking.book(BookingRequest(resource=desk, title="x", first_day=day, start_time=start,
                                end_time=end, booked_by=user), now=now)


def test_utilization_adds_up(setting):
    site, desk, af, kommunen, allocation, create_user = setting
    af_staff, other = create_user(agency=af), create_user(agency=kommunen)
    make(desk, af_staff, date(2026, 2, 3), time(8), time(11))        # own 3 h
    make(desk, af_staff, date(2026, 2, 10), time(15), time(17))      # own 1 h inside (1 h outside)
    make(desk, other, date(2026, 2, 10), time(7), time(8))            # outside the window: 0
    allocations.release_allocation(allocation, create_user(role=Role.agency_admin, agency=af),
                                   date(2026, 2, 17), now=NOW)
    make(desk, other, date(2026, 2, 17), time(9), time(11, 30))       # others 2.5 h (released)
    make(desk, other, date(2026, 2, 18), time(9), time(10))           # Wednesday: not allocated
    report = utilization.utilization_report(site, date(2026, 2, 1), date(2026, 2, 28))
    (row,) = report.rows
    assert row.agency.short_name == "AF"
    assert (row.allocated, row.own, row.by_others, row.empty) == (32, 4, 2.5, 25.5)
    assert row.allocated == row.own + row.by_others + row.empty
    assert utilization.report_rows(report) == [["AF", "Skrivbord 1", 32.0, 4.0, 2.5, 25.5]]


def test_cancelled_bookings_and_holidays_do_not_count(setting, create_site):
    site, desk, af, kommunen, allocation, create_user = setting
    af_staff = create_user(agency=af)
    reservation = booking.book(BookingRequest(resource=desk, title="x", first_day=date(2026, 2, 3),
                                              start_time=time(8), end_time=time(12), booked_by=af_staff),
                               now=NOW)
    booking.cancel_reservation(reservation, af_staff, now=NOW)
    report = utilization.utilization_report(site, date(2026, 2, 1), date(2026, 2, 28))
    assert report.rows[0].own == 0
    # A term with a holiday on an allocated Tuesday (none in February): per month 32 h.
    march = utilization.utilization_report(site, date(2026, 3, 1), date(2026, 3, 31))
    assert march.rows == []


def test_utilization_page_has_accessible_chart_and_csv(auth, setting):
    site, desk, af, kommunen, allocation, create_user = setting
    auth.login(create_user(role=Role.coordinator))
    page = auth.client.get(f"/allocations/utilization?site_id={site.id}&month=2026-02&term_id=0")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'role="img"' in html and "<title id=\"chart-title\">" in html and "<desc" in html
    # Hours as Swedish writes them (Babel): "32", not "32.0"; the CSV keeps machine numbers.
    assert "<table>" in html and "<td>32</td>" in html and "32.0" not in html
    csv_response = auth.client.get(f"/allocations/utilization.csv?site_id={site.id}&month=2026-02")
    assert csv_response.mimetype == "text/csv"
    assert "AF;Skrivbord 1;32;0;0;32" in csv_response.get_data(as_text=True)  # office/core/export.py
    bad = auth.client.get(f"/allocations/utilization?site_id={site.id}&month=februari")
    assert bad.status_code == 422


def test_booked_intervals_take_what_runs_into_the_period_and_nothing_older(setting):
    from datetime import timedelta

    from office.booking.models import ReservationOccurrence
    from office.booking.rules import to_utc
    from office.core.extensions import db

    site, desk, af, _kommunen, _allocation, create_user = setting
    staff = create_user(agency=af)
    make(desk, staff, date(2026, 1, 27), time(8), time(9))   # January: before the period
    make(desk, staff, date(2026, 1, 28), time(8), time(9))   # moved below: runs into it
    make(desk, staff, date(2026, 2, 3), time(8), time(9))    # inside
    zone = __import__("zoneinfo").ZoneInfo(site.timezone)
    start = to_utc(date(2026, 2, 1), time(0), zone)
    end = to_utc(date(2026, 3, 1), time(0), zone)
    # No booking form makes one over midnight (the premises close); a corrected occurrence
    # may still run over the period's first midnight, shorter than the longest booking.
    moved = db.session.scalars(db.select(ReservationOccurrence)
                               .order_by(ReservationOccurrence.starts_at)).all()[1]
    moved.starts_at, moved.ends_at = start - timedelta(hours=3), start + timedelta(hours=2)
    db.session.flush()
    rows = utilization.booked_intervals([desk.id], start, end)
    assert [(r.starts_at, r.ends_at) for r in rows] == [
        (start - timedelta(hours=3), start + timedelta(hours=2)),
        (to_utc(date(2026, 2, 3), time(8), zone), to_utc(date(2026, 2, 3), time(9), zone))]
