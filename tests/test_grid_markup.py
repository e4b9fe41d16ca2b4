"""The booking grid's HTML stays byte for byte what it was where nothing was meant to change.

The grid's cells are built in Python for speed (office/booking/grid_cells.py); this compares
the week and the day view of a small, fixed world with the markup recorded in
tests/golden/ (ids, which differ between databases, are normalised). Rewrite a golden file
only when the markup is meant to change: `SAMLOKAL_WRITE_GOLDEN=1 pytest tests/test_grid_markup.py`.
"""

from __future__ import annotations

import os
import re
from datetime import date, time
from pathlib import Path

import pytest

from office.accounts.models import Role
from office.allocations.models import Allocation, WeekPattern
from office.booking import rules as booking
from office.booking.models import ReservationKind
from office.booking.rules import BookingRequest
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
