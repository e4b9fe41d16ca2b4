"""The grid's cells: the wall clock of a booking, and the cache that never shows an old cell.

office/booking/grid_cells.py keeps each resource-day's HTML keyed by everything it is made
of. Each test here changes one thing the grid shows and checks that the page changes and is
byte for byte the page rendered with an empty cache.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from office.accounts.models import Role
from office.allocations.models import Allocation, WeekPattern
from office.booking import grid, grid_cells
from office.booking import rules as booking
from office.booking.models import ReservationOccurrence
from office.booking.rules import BookingRequest
from office.core import clock
from office.core.extensions import db
from office.premises.models import OpeningHours

pytestmark = pytest.mark.clock("2027-02-08T07:00+01:00")  # Monday of an ordinary week

MONDAY = date(2027, 2, 8)
TUESDAY = MONDAY + timedelta(days=1)


# --- the wall clock -----------------------------------------------------------------------

@pytest.mark.parametrize("zone, first, days", [
    ("Europe/Stockholm", date(2028, 3, 20), 7),     # forward on 26 March, at 01:00 UTC
    ("Europe/Stockholm", date(2027, 10, 25), 7),    # back on 31 October
    ("Australia/Lord_Howe", date(2027, 10, 1), 7),  # half an hour forward on 3 October
    ("Australia/Lord_Howe", date(2027, 4, 1), 7),   # half an hour back on 4 April
    ("America/St_Johns", date(2027, 3, 8), 7),      # UTC−3:30, forward on 14 March
])
def test_the_wall_clock_is_what_astimezone_says_every_minute_of_a_dst_week(zone, first, days):
    zone = ZoneInfo(zone)
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(first + timedelta(days=days), time(0), zone)
    wall = grid._WallClock(zone, start, end)
    assert len(wall.offsets) == 2  # the week has its change
    epoch = datetime(1970, 1, 1)
    first_second, last_second = int(start.timestamp()), int(end.timestamp())
    # Every minute and the seconds around each change; a day before and after (outside).
    moments = set(range(first_second - 86400, last_second + 86400, 59))
    for change in wall.starts[1:]:
        moments.update(range(change - 3, change + 3))
    for moment in sorted(moments):
        local = datetime.fromtimestamp(moment, zone).replace(tzinfo=None)
        assert wall.seconds(moment) == int((local - epoch).total_seconds()), moment


# --- the cache ----------------------------------------------------------------------------

@pytest.fixture
def world(create_site, create_resource, create_agency, create_user):
    site = create_site(name="Drivhuset", opens=time(8), closes=time(17))
    rooms = [create_resource(site=site, name=name) for name in ("Rum A", "Rum B")]
    af = create_agency(name="Arbetsförmedlingen", short_name="AF")
    me = create_user(role=Role.staff, agency=af, name="Mia Åberg")
    other = create_user(role=Role.staff, name="Olle Olsson")
    booking.book(BookingRequest(resource=rooms[0], title="Möte", first_day=MONDAY, start_time=time(9),
                                end_time=time(10), booked_by=other))
    db.session.commit()
    return site, rooms, me, other


def _table(client, site, view="week", day=MONDAY) -> str:
    html = client.get(f"/bookings/?site={site.id}&view={view}&day={day.isoformat()}")
    assert html.status_code == 200
    text = html.get_data(as_text=True)
    return text[text.index('<table class="booking-grid">'):text.index("</table>")]


def _changes_and_is_fresh(client, site, change, view="week", day=MONDAY) -> str:
    """The page before and after `change`, with cells cached from before: it must differ,
    and be what an empty cache renders."""
    grid_cells.clear_cache()
    before = _table(client, site, view, day)
    assert _table(client, site, view, day) == before  # served from the cache
    assert grid_cells._timeline.cache_info().hits > 0
    change()
    after = _table(client, site, view, day)
    assert after != before
    grid_cells.clear_cache()
    assert _table(client, site, view, day) == after
    return after


@pytest.mark.parametrize("view", ["week", "day"])
def test_a_new_booking_shows_at_once(world, auth, client, view):
    site, rooms, me, _other = world
    auth.login(me)

    def book():
        booking.book(BookingRequest(resource=rooms[1], title="Nytt möte", first_day=MONDAY,
                                    start_time=time(13), end_time=time(14), booked_by=me))
        db.session.commit()

    assert "Nytt möte" in _changes_and_is_fresh(client, site, book, view)


@pytest.mark.parametrize("view", ["week", "day"])
def test_a_cancelled_booking_goes_at_once(world, auth, client, view):
    site, _rooms, me, other = world
    auth.login(me)

    def cancel():
        booking.cancel_occurrence(db.session.scalar(db.select(ReservationOccurrence)), other)
        db.session.commit()

    assert "Möte" not in _changes_and_is_fresh(client, site, cancel, view)


def test_a_moved_booking_shows_its_new_time(world, auth, client):
    site, _rooms, me, other = world
    auth.login(me)

    def move():
        occurrence = db.session.scalar(db.select(ReservationOccurrence))
        booking.change_occurrence(occurrence, other, day=MONDAY, start_time=time(11),
                                  end_time=time(12, 30))
        db.session.commit()

    assert "11:00–12:30" in _changes_and_is_fresh(client, site, move)


def test_a_renamed_booker_shows_by_the_new_name_though_the_booking_is_unchanged(world, auth, client):
    site, _rooms, me, other = world
    auth.login(me)

    def rename():
        other.name = "Olle Nyström"
        db.session.commit()

    assert "Olle Nyström" in _changes_and_is_fresh(client, site, rename)


def test_a_renamed_room_and_new_opening_hours_show(world, auth, client):
    site, rooms, me, _other = world
    auth.login(me)

    def rename():
        rooms[0].name = "Rum Ett"
        db.session.commit()

    assert "Rum Ett" in _changes_and_is_fresh(client, site, rename, "day")

    def open_later():
        db.session.execute(db.update(OpeningHours).where(OpeningHours.site_id == site.id)
                           .values(closes=time(19)))
        db.session.commit()

    assert "18:45" in _changes_and_is_fresh(client, site, open_later, "day")


def test_the_language_switch_changes_every_cell(world, auth, client):
    site, _rooms, me, _other = world
    auth.login(me)

    def english():
        with client.session_transaction() as session:
            session["locale"] = "en"

    table = _changes_and_is_fresh(client, site, english, "day")
    assert "free, book Rum A" in table and "ledigt, boka" not in table


def test_another_viewer_sees_their_own_marks_and_links(world, auth, client, create_user):
    site, _rooms, me, other = world
    auth.login(me)
    seen_by_me = _table(client, site)
    assert " mine" not in seen_by_me and "/bookings/occurrences/" not in seen_by_me

    def as_the_booker():
        auth.login(other)

    seen_by_other = _changes_and_is_fresh(client, site, as_the_booker)
    assert ' mine"' in seen_by_other and '<a href="/bookings/occurrences/' in seen_by_other

    def as_a_coordinator():
        auth.login(create_user(role=Role.coordinator, name="Kim Samordnare"))

    seen_by_coordinator = _changes_and_is_fresh(client, site, as_a_coordinator)
    link = '<a href="/bookings/occurrences/'
    assert " mine" not in seen_by_coordinator and seen_by_coordinator.count(link) == 1


def test_time_passing_the_release_moment_releases_the_allocation_in_the_cell(world, auth, client):
    site, rooms, me, other = world
    db.session.add(Allocation(resource=rooms[1], agency=me.agency, weekdays="1", first_day=TUESDAY,
                              last_day=TUESDAY, start_time=time(9), end_time=time(12),
                              pattern=WeekPattern.every_week))
    db.session.commit()
    auth.login(other)  # of another agency: AF's held time is not theirs to book
    with contextlib.ExitStack() as later:

        def after_the_release_moment():  # 12:00 the working day before (the default policy)
            later.enter_context(clock.travel_to(datetime(2027, 2, 8, 11, 1, tzinfo=timezone.utc)))
            auth.login(other)  # the same viewer; the morning's sign-in has timed out

        table = _changes_and_is_fresh(client, site, after_the_release_moment, "day", TUESDAY)
    assert "Tillbakalämnad av AF" in table and "slot-held" not in table
