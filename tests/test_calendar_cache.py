"""The site calendar kept per process under the database's calendar token
(office/premises/calendar_cache.py): a booking check uses what it read before only while
no one has changed closures, opening hours or allocations, in this process or another."""

from __future__ import annotations

from datetime import date, time

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from office.allocations.models import Allocation, WeekPattern
from office.booking import rules as booking
from office.core.extensions import db
from office.premises import calendar_cache
from office.premises.models import Closure, OpeningHours

# The booking rules' world: a room open every day 07-18, a member of staff, a Monday "now".
from tests.test_booking_rules import NOW, request_for, room, staff  # noqa: F401

DAY = date(2026, 2, 3)  # a Tuesday, no holiday


@pytest.fixture
def elsewhere(app):
    """Another process's connection to the same database (its own engine and pool)."""
    engine = sa.create_engine(db.engine.url)
    yield engine
    engine.dispose()


def check(room, staff, start=time(10), end=time(11)) -> list[str]:
    """One booking check as a request makes it, in a transaction of its own."""
    db.session.commit()
    found = booking.check_booking(request_for(room, staff, DAY, start, end), now=NOW)
    db.session.commit()
    return [p.code for p in found.problems]


def token() -> int | None:
    found = db.session.scalar(sa.text("SELECT token FROM calendar_version WHERE id = 1"))
    db.session.commit()  # SQLite: this app's transactions hold the write lock (BEGIN IMMEDIATE)
    return found


def test_a_check_with_a_known_token_does_not_read_the_calendar_again(room, staff, elsewhere):
    site_id = room.site_id
    assert check(room, staff) == []  # reads the calendar and keeps it under the token
    before = token()
    with elsewhere.begin() as conn:
        # A closure written behind the token's back (the trigger's token put back): only a
        # check that reads the calendar again would see it.
        conn.execute(sa.text("INSERT INTO closure (site_id, day, reason) VALUES (:site, :day, '')"),
                     {"site": site_id, "day": DAY})
        conn.execute(sa.text("UPDATE calendar_version SET token = :token"), {"token": before})
    assert check(room, staff) == []
    with elsewhere.begin() as conn:  # any change: a new token
        conn.execute(sa.text("UPDATE closure SET reason = 'Flytt' WHERE site_id = :site"),
                     {"site": site_id})
    assert check(room, staff) == ["closed_day"]


def test_a_closure_added_by_another_process_is_seen_by_the_next_check(room, staff, elsewhere):
    site_id = room.site_id
    assert check(room, staff) == []
    with elsewhere.begin() as conn:  # plain SQL: the database's trigger changes the token
        conn.execute(sa.text("INSERT INTO closure (site_id, day, reason) VALUES (:site, :day, 'Flytt')"),
                     {"site": site_id, "day": DAY})
    assert check(room, staff) == ["closed_day"]
    with elsewhere.begin() as conn:
        conn.execute(sa.text("DELETE FROM closure WHERE site_id = :site"), {"site": site_id})
    assert check(room, staff) == []


def test_opening_hours_changed_through_the_orm_elsewhere_are_seen(room, staff, elsewhere):
    site_id = room.site_id
    assert check(room, staff, time(8), time(9)) == []
    with Session(elsewhere) as other:
        hours = other.scalars(sa.select(OpeningHours).where(
            OpeningHours.site_id == site_id, OpeningHours.weekday == DAY.weekday())).one()
        hours.opens = time(9)
        other.commit()
    assert check(room, staff, time(8), time(9)) == ["outside_hours"]


def test_an_allocation_made_elsewhere_holds_the_time_at_the_next_check(
        room, staff, create_agency, elsewhere):
    room_id, other_agency = room.id, create_agency().id
    assert check(room, staff) == []
    with Session(elsewhere) as other:
        other.add(Allocation(resource_id=room_id, agency_id=other_agency,
                             weekdays=str(DAY.weekday()), start_time=time(9), end_time=time(12),
                             first_day=date(2026, 1, 12), last_day=date(2026, 6, 12),
                             pattern=WeekPattern.every_week))
        other.commit()
    assert check(room, staff) == ["allocated"]


def test_a_refused_change_leaves_no_trace_in_the_token_or_the_cache(room, staff):
    assert check(room, staff) == []
    before = token()
    db.session.add(Closure(site_id=room.site_id, day=DAY, reason="Kanske"))
    db.session.flush()
    # The transaction sees its own closure, but neither uses nor fills the process's cache.
    found = booking.check_booking(request_for(room, staff, DAY, time(10), time(11)), now=NOW)
    assert [p.code for p in found.problems] == ["closed_day"]
    assert calendar_cache._CACHE[room.site_id].token == before
    db.session.rollback()
    assert token() == before
    assert check(room, staff) == []


def test_a_committed_change_in_this_process_is_seen_too(room, staff):
    assert check(room, staff) == []
    before = token()
    db.session.add(Closure(site_id=room.site_id, day=DAY, reason="Flytt"))
    db.session.commit()
    assert token() != before
    assert check(room, staff) == ["closed_day"]


@pytest.mark.parametrize("statement", [
    "INSERT INTO closure (site_id, day, reason) VALUES (:site, '2026-03-03', '')",
    "UPDATE opening_hours SET closes = '17:00:00' WHERE site_id = :site",
    "DELETE FROM opening_hours WHERE site_id = :site AND weekday = 6",
    "UPDATE resource SET site_id = site_id WHERE site_id = :site",
])
def test_every_writer_changes_the_token(room, elsewhere, statement):
    site_id = room.site_id
    before = token()
    with elsewhere.begin() as conn:
        conn.execute(sa.text(statement), {"site": site_id})
    assert token() != before
