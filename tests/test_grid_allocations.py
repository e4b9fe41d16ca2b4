"""The booking grid shows allocated and released time, labelled with the agency."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from office.accounts.models import Role
from office.allocations import rules as allocations
from office.allocations.models import Allocation, WeekPattern
from office.booking import grid
from office.core.extensions import db
from tests.calendar_days import ordinary_day

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`


@pytest.fixture
def allocated(create_site, create_resource, create_agency):
    site = create_site(opens=time(8), closes=time(17), weekdays=range(7))
    desk = create_resource(site=site, name="Skrivbord 1")
    af = create_agency(name="Arbetsförmedlingen", short_name="AF")
    start = ordinary_day(days_ahead=14)  # open: no holiday
    db.session.add(Allocation(resource=desk, agency=af, weekdays="0123456", first_day=start,
                              last_day=start + timedelta(days=6), start_time=time(9),
                              end_time=time(12), pattern=WeekPattern.every_week))
    db.session.commit()
    return site, desk, af, start


def _marks(site, day):
    g = grid.build_grid(site, grid.DAY, day)
    return [(b.first_slot, b.slots, b.allocation) for b in g.rows[0].days[0] if b.free]


def test_free_time_inside_an_allocation_is_marked(allocated):
    site, desk, af, day = allocated
    marks = _marks(site, day)
    # 08:00–09:00 free, 09:00–12:00 held by AF, 12:00–17:00 free.
    assert [(first, slots) for first, slots, _ in marks] == [(0, 4), (4, 12), (16, 20)]
    assert marks[1][2].agency_short_name == "AF" and not marks[1][2].released
    assert marks[0][2] is None and marks[2][2] is None


def test_grid_page_shows_held_time_without_link_for_other_agencies(allocated, auth, create_user, client):
    site, desk, af, day = allocated
    auth.login(create_user(role=Role.staff))
    html = client.get(f"/bookings/?site={site.id}&view=day&day={day.isoformat()}").get_data(as_text=True)
    assert "Tilldelad AF" in html
    assert 'class="slot-held agency-' in html  # not a link: others may not book it


def test_grid_page_lets_the_agency_book_its_own_allocation(allocated, auth, create_user, client):
    site, desk, af, day = allocated
    auth.login(create_user(role=Role.staff, agency=af))
    html = client.get(f"/bookings/?site={site.id}&view=day&day={day.isoformat()}").get_data(as_text=True)
    assert "Tilldelad AF, ledigt, boka" in html  # per-slot links with the label for screen readers
    assert 'class="slot-free slot-held' in html


def test_released_time_is_bookable_by_all_and_says_so(allocated, auth, create_user, client):
    site, desk, af, day = allocated
    admin = create_user(role=Role.agency_admin, agency=af)
    allocation = db.session.scalar(db.select(Allocation))
    allocations.release_allocation(allocation, admin, day, day)
    db.session.commit()
    marks = _marks(site, day)
    assert marks[1][2].released
    auth.login(create_user(role=Role.staff))
    html = client.get(f"/bookings/?site={site.id}&view=day&day={day.isoformat()}").get_data(as_text=True)
    assert "Tillbakalämnad av AF, ledigt, boka" in html
    assert 'class="slot-held' not in html
