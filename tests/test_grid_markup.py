"""The booking grid's HTML stays byte for byte what it was where nothing was meant to change.

The grid's cells are built in Python for speed (office/booking/grid_cells.py); this compares
the week and the day view of a small, fixed world with the markup recorded in
tests/golden/ (ids, which differ between databases, are normalised). Rewrite a golden file
only when the markup is meant to change: `SAMLOKAL_WRITE_GOLDEN=1 pytest tests/test_grid_markup.py`.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, time, timezone
from pathlib import Path

import pytest

from office.accounts.models import Role
from office.allocations.models import Allocation, WeekPattern
from office.booking import rules as booking
from office.booking.models import ReservationKind
from office.booking.rules import BookingRequest
from office.core import clock
from office.core.extensions import db

pytestmark = pytest.mark.clock("2027-02-08T07:00+01:00")  # an ordinary week (no holiday)

GOLDEN = Path(__file__).parent / "golden"
MONDAY = date(2027, 2, 8)


@pytest.fixture
def world(create_site, create_resource, create_agency, create_user):
    site = create_site(name="Drivhuset", opens=time(8), closes=time(17))
    rooms = [create_resource(site=site, name=name, capacity=capacity)
             for name, capacity in (("Rum <A>", 4), ("Rum B", 8), ("Skrivbord 1", 1))]
    af = create_agency(name="Arbetsförmedlingen", short_name="AF")
    fk = create_agency(name="Försäkringskassan", short_name="FK & co")
    me = create_user(role=Role.staff, agency=af, name="Mia Åberg")
    other = create_user(role=Role.staff, agency=fk, name="Olle <Olsson>")
    guest = create_user(role=Role.staff, agency=fk, name="Greta Gäst")

    def book(room, who, day, start, end, title="Möte", **fields):
        booking.book(BookingRequest(resource=room, title=title, first_day=day, start_time=start,
                                    end_time=end, booked_by=who, **fields))

    book(rooms[0], me, MONDAY, time(9), time(10))
    book(rooms[0], other, MONDAY, time(10, 15), time(11, 45), title="Planering  &  <b>uppföljning</b>")
    book(rooms[1], other, MONDAY, time(8), time(9), booked_for=guest, title="För någon")
    book(rooms[1], me, date(2027, 2, 9), time(13), time(14, 30), kind=ReservationKind.trepartssamtal,
         title="Hemligt")
    book(rooms[2], other, date(2027, 2, 10), time(16), time(17), title="Sen")
    book(rooms[0], me, date(2027, 2, 12), time(8), time(17), title="Heldag", booked_for=other)
    db.session.add(Allocation(resource=rooms[2], agency=fk, weekdays="01", first_day=MONDAY,
                              last_day=date(2027, 2, 9), start_time=time(9), end_time=time(12),
                              pattern=WeekPattern.every_week))
    db.session.commit()
    return site, me


def _table(html: str) -> str:
    table = html[html.index('<table class="booking-grid">'):html.index("</table>") + 8]
    # Ids differ between databases and runs: the same markup with N for each id.
    return re.sub(r"(agency-|resource=|site=|/)\d+", r"\1N", table)


@pytest.mark.parametrize("view", ["week", "day"])
def test_the_grid_markup_is_unchanged(world, auth, client, view):
    site, me = world
    auth.login(me)
    html = client.get(f"/bookings/?site={site.id}&view={view}&day={MONDAY.isoformat()}")
    assert html.status_code == 200
    table = _table(html.get_data(as_text=True))
    golden = GOLDEN / f"grid_{view}.html"
    if os.environ.get("SAMLOKAL_WRITE_GOLDEN"):
        golden.write_text(table, encoding="utf-8")
    assert "booked" in table and ("slot-held" in table or view == "day")  # the world is there
    assert table == golden.read_text(encoding="utf-8")


# --- weeks with a daylight saving change --------------------------------------------------
# The grid reads each booking's UTC seconds and finds its wall clock from the zone's offsets
# (office/booking/grid.py `_WallClock`): in the weeks where the clocks go forward (last Sunday
# of March) and back (last Sunday of October), around the change itself, the markup must be
# what the per-row astimezone() made of it (golden files recorded from that code). The site is
# open every day around the clock so that the change's own hours are on the grid.

UTC = timezone.utc
DST_WEEKS = {
    # 26 March 2028: 02:00 CET becomes 03:00 CEST at 01:00 UTC (Easter 2028 is in April).
    "march": (date(2028, 3, 20), date(2028, 3, 26), "2028-03-15T09:00+01:00", [
        (0, datetime(2028, 3, 25, 8, 0), datetime(2028, 3, 25, 9, 0)),       # Sat 09:00–10:00 CET
        (0, datetime(2028, 3, 25, 22, 30), datetime(2028, 3, 25, 23, 30)),   # Sat 23:30 – Sun 00:30
        (0, datetime(2028, 3, 26, 0, 30), datetime(2028, 3, 26, 1, 30)),     # Sun 01:30 CET – 03:30 CEST
        (0, datetime(2028, 3, 26, 7, 0), datetime(2028, 3, 26, 8, 15)),      # Sun 09:00–10:15 CEST
        (1, datetime(2028, 3, 26, 0, 59, 59, 999999), datetime(2028, 3, 26, 1, 0, 0, 1)),
        (1, datetime(2028, 3, 26, 21, 0), datetime(2028, 3, 26, 23, 0)),     # Sun 23:00 – Mon 01:00
        (1, datetime(2028, 3, 20, 8, 0), datetime(2028, 3, 20, 9, 14, 59, 999999)),  # Mon 09:00–10:14:59.99
    ]),
    # 31 October 2027: 03:00 CEST becomes 02:00 CET at 01:00 UTC.
    "october": (date(2027, 10, 25), date(2027, 10, 31), "2027-10-15T09:00+02:00", [
        (0, datetime(2027, 10, 30, 7, 0), datetime(2027, 10, 30, 8, 0)),     # Sat 09:00–10:00 CEST
        (0, datetime(2027, 10, 30, 23, 0), datetime(2027, 10, 31, 3, 0)),    # Sun 01:00 CEST – 04:00 CET
        (1, datetime(2027, 10, 31, 0, 30), datetime(2027, 10, 31, 1, 30)),   # Sun 02:30 CEST – 02:30 CET
        (1, datetime(2027, 10, 31, 1, 45), datetime(2027, 10, 31, 2, 0)),    # Sun 02:45–03:00 CET
        (0, datetime(2027, 10, 31, 8, 0), datetime(2027, 10, 31, 9, 0)),     # Sun 09:00–10:00 CET
        (2, datetime(2027, 10, 31, 22, 0), datetime(2027, 11, 1, 0, 30)),    # Sun 23:00 – Mon 01:30
    ]),
}


def _dst_world(create_site, create_resource, create_user, week: str):
    from office.booking.models import Reservation, ReservationOccurrence

    monday, sunday, _, bookings = DST_WEEKS[week]
    site = create_site(name="Dygnet runt", opens=time(0), closes=time(23, 45), weekdays=range(7))
    rooms = [create_resource(site=site, name=f"Rum {n}") for n in range(3)]
    me = create_user(role=Role.staff, name="Mia Åberg")
    for room, starts, ends in bookings:
        starts, ends = starts.replace(tzinfo=UTC), ends.replace(tzinfo=UTC)
        reservation = Reservation(resource=rooms[room], title=f"Möte {starts:%H:%M:%S}", booked_by=me,
                                  first_day=starts.date(), start_time=starts.time(), end_time=ends.time())
        reservation.occurrences.append(ReservationOccurrence(resource_id=rooms[room].id, starts_at=starts,
                                                             ends_at=ends, original_start=starts))
        db.session.add(reservation)
    db.session.commit()
    return site, me, monday, sunday


@pytest.mark.parametrize("view", ["week", "day"])
@pytest.mark.parametrize("week", ["march", "october"])
def test_the_grid_markup_is_unchanged_in_a_week_with_a_dst_change(
        request, create_site, create_resource, create_user, auth, client, week, view):
    with clock.travel_to(datetime.fromisoformat(DST_WEEKS[week][2])):
        site, me, _monday, sunday = _dst_world(create_site, create_resource, create_user, week)
        auth.login(me)
        html = client.get(f"/bookings/?site={site.id}&view={view}&day={sunday.isoformat()}")
    assert html.status_code == 200
    table = _table(html.get_data(as_text=True))
    golden = GOLDEN / f"grid_dst_{week}_{view}.html"
    if os.environ.get("SAMLOKAL_WRITE_GOLDEN"):
        golden.write_text(table, encoding="utf-8")
    assert table.count('class="booked') >= 3  # the world is there
    assert table == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("view", ["week", "day"])
def test_the_grid_markup_is_unchanged_in_a_week_with_a_holiday_and_a_closure(
        create_site, create_resource, create_user, auth, client, view):
    from office.premises.models import Closure

    with clock.travel_to(datetime.fromisoformat("2027-04-26T09:00+02:00")):
        site = create_site(name="Drivhuset", opens=time(8), closes=time(17))
        room = create_resource(site=site, name="Rum & <1>", capacity=None)
        me = create_user(role=Role.staff, name="Mia Åberg")
        db.session.add(Closure(site=site, day=date(2027, 5, 4), reason="Städning & <målning>"))
        db.session.commit()
        booking.book(BookingRequest(resource=room, title="Möte", first_day=date(2027, 5, 3),
                                    start_time=time(9), end_time=time(10), booked_by=me))
        db.session.commit()
        auth.login(me)
        # The week of Ascension Day (Thursday 6 May 2027); the day view shows the closure.
        html = client.get(f"/bookings/?site={site.id}&view={view}&day=2027-05-04")
    assert html.status_code == 200
    table = _table(html.get_data(as_text=True))
    golden = GOLDEN / f"grid_closed_{view}.html"
    if os.environ.get("SAMLOKAL_WRITE_GOLDEN"):
        golden.write_text(table, encoding="utf-8")
    assert "Städning &amp; &lt;målning&gt;" in table  # the world is there
    assert table == golden.read_text(encoding="utf-8")
