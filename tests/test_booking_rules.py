"""The booking rules in office/booking/rules.py, called directly (as every entry point does)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from office.accounts.models import Role
from office.booking import rules as booking
from office.booking.models import AuditEntry, OccurrenceState, Reservation, ReservationOccurrence
from office.booking.rules import BookingConflict, BookingRefused, BookingRequest
from office.core.extensions import db
from office.premises.models import Closure, ResourceKind

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`

STOCKHOLM = ZoneInfo("Europe/Stockholm")
# "Now" for these tests: a Monday morning before every date used below.
NOW = datetime(2026, 1, 5, 6, 0, tzinfo=timezone.utc)


@pytest.fixture
def room(create_resource, create_site):
    site = create_site(opens=time(7, 0), closes=time(18, 0), weekdays=range(7))
    return create_resource(site=site, name="Samtalsrum 1", capacity=4)


@pytest.fixture
def staff(create_user):
    return create_user(role=Role.staff)


def request_for(room, user, day, start, end, **fields):
    return BookingRequest(resource=room, title=fields.pop("title", "Möte"), first_day=day,
                          start_time=start, end_time=end, booked_by=user, **fields)


def codes(error: BookingRefused) -> list[str]:
    return [p.code for p in error.problems]


def occurrence_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ReservationOccurrence))


# --- every way two intervals can lie (half-open) -----------------------------

EXISTING = (time(10, 0), time(11, 0))
RELATIONS = {
    "before": ((8, 0), (9, 0), False),
    "touching the start": ((9, 0), (10, 0), False),
    "overlapping the start": ((9, 30), (10, 30), True),
    "inside": ((10, 15), (10, 45), True),
    "equal": ((10, 0), (11, 0), True),
    "containing": ((9, 0), (12, 0), True),
    "overlapping the end": ((10, 30), (11, 30), True),
    "touching the end": ((11, 0), (12, 0), False),
    "after": ((12, 0), (13, 0), False),
}


@pytest.mark.parametrize("relation", RELATIONS)
def test_interval_relations(room, staff, relation):
    day = date(2026, 2, 3)
    booking.book(request_for(room, staff, day, *EXISTING), now=NOW)
    (sh, sm), (eh, em), clashes = RELATIONS[relation]
    new = request_for(room, staff, day, time(sh, sm), time(eh, em))
    if clashes:
        with pytest.raises(BookingRefused) as refused:
            booking.book(new, now=NOW)
        assert codes(refused.value) == ["taken"]
        assert "redan bokad 10:00–11:00" in str(refused.value.problems[0])
        assert occurrence_count() == 1
    else:
        booking.book(new, now=NOW)
        assert occurrence_count() == 2


def test_other_resource_does_not_clash(room, staff, create_resource):
    other = create_resource(site=room.site)
    day = date(2026, 2, 3)
    booking.book(request_for(room, staff, day, *EXISTING), now=NOW)
    booking.book(request_for(other, staff, day, *EXISTING), now=NOW)
    assert occurrence_count() == 2


def test_cancelled_booking_frees_the_time(room, staff):
    day = date(2026, 2, 3)
    reservation = booking.book(request_for(room, staff, day, *EXISTING), now=NOW)
    booking.cancel_reservation(reservation, staff)
    booking.book(request_for(room, staff, day, *EXISTING), now=NOW)


# --- each rule has its own message -----------------------------------------

def test_end_before_start(room, staff):
    with pytest.raises(BookingRefused) as refused:
        booking.book(request_for(room, staff, date(2026, 2, 3), time(11), time(10)), now=NOW)
    assert codes(refused.value) == ["end_before_start"]


def test_outside_opening_hours(create_resource, create_site, staff):
    room = create_resource(site=create_site(opens=time(8), closes=time(17)))
    with pytest.raises(BookingRefused) as refused:
        booking.book(request_for(room, staff, date(2026, 2, 3), time(16), time(18)), now=NOW)
    assert codes(refused.value) == ["outside_hours"]
    assert "08:00–17:00" in refused.value.problems[0].message


def test_closed_on_public_holiday_and_closure(room, staff):
    with pytest.raises(BookingRefused) as refused:
        booking.book(request_for(room, staff, date(2026, 12, 24), time(9), time(10)), now=NOW)
    assert codes(refused.value) == ["closed_day"] and "Julafton" in refused.value.problems[0].message
    db.session.add(Closure(site=room.site, day=date(2026, 2, 4), reason="Städning"))
    db.session.commit()
    with pytest.raises(BookingRefused) as refused:
        booking.book(request_for(room, staff, date(2026, 2, 4), time(9), time(10)), now=NOW)
    assert "Städning" in refused.value.problems[0].message


def test_past_refused_for_staff_allowed_for_coordinator(room, staff, create_user):
    past = date(2026, 1, 2)
    with pytest.raises(BookingRefused) as refused:
        booking.book(request_for(room, staff, past, time(9), time(10)), now=NOW)
    assert codes(refused.value) == ["in_past"]
    booking.book(request_for(room, create_user(role=Role.coordinator), past, time(9), time(10)), now=NOW)


def test_capacity(room, staff):
    with pytest.raises(BookingRefused) as refused:
        booking.book(request_for(room, staff, date(2026, 2, 3), time(9), time(10), attendees=5), now=NOW)
    assert codes(refused.value) == ["over_capacity"]
    assert "rymmer högst 4 personer" in refused.value.problems[0].message


def test_maximum_length_per_resource_type(app, create_resource, create_site, staff):
    app.config["BOOKING_MAX_HOURS"] = {"room": 4, "desk": 10}
    site = create_site(opens=time(7), closes=time(18))
    room = create_resource(site=site)
    desk = create_resource(site=site, kind=ResourceKind.desk, capacity=1)
    with pytest.raises(BookingRefused) as refused:
        booking.book(request_for(room, staff, date(2026, 2, 3), time(8), time(13)), now=NOW)
    assert codes(refused.value) == ["too_long"]
    booking.book(request_for(desk, staff, date(2026, 2, 3), time(8), time(16)), now=NOW)


def test_booking_horizon(room, staff):
    with pytest.raises(BookingRefused) as refused:
        booking.book(request_for(room, staff, NOW.date() + timedelta(days=400), time(9), time(10)), now=NOW)
    assert codes(refused.value) == ["beyond_horizon"]


def test_inactive_resource_and_empty_title(room, staff):
    room.active = False
    db.session.commit()
    with pytest.raises(BookingRefused) as refused:
        booking.book(request_for(room, staff, date(2026, 2, 3), time(9), time(10), title="  "), now=NOW)
    assert set(codes(refused.value)) == {"inactive_resource", "empty_title"}


# --- daylight saving --------------------------------------------------------

def test_nonexistent_local_time_is_refused(room, create_user):
    coordinator = create_user(role=Role.coordinator)  # a Sunday; the site is open every day
    with pytest.raises(BookingRefused) as refused:
        booking.book(request_for(room, coordinator, date(2026, 3, 29), time(2, 30), time(3, 30)), now=NOW)
    assert codes(refused.value) == ["nonexistent_time"]


def test_ambiguous_local_time_means_summer_time(create_resource, create_site, create_user):
    site = create_site(opens=time(0, 0), closes=time(23, 59), weekdays=range(7))
    room = create_resource(site=site)
    reservation = booking.book(request_for(room, create_user(role=Role.coordinator),
                                           date(2026, 10, 25), time(2, 30), time(3, 30)), now=NOW)
    occurrence = reservation.occurrences[0]
    assert occurrence.starts_at == datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)  # 02:30 CEST
    assert occurrence.ends_at == datetime(2026, 10, 25, 2, 30, tzinfo=timezone.utc)    # 03:30 CET


@pytest.mark.parametrize("first_day", [date(2026, 3, 10), date(2026, 10, 12)])
def test_weekly_series_keeps_wall_clock_across_dst(room, staff, first_day):
    reservation = booking.book(request_for(room, staff, first_day, time(9), time(10),
                                           rrule="FREQ=WEEKLY;COUNT=4"), now=NOW)
    local = [o.starts_at.astimezone(STOCKHOLM) for o in reservation.occurrences]
    assert [t.hour for t in local] == [9, 9, 9, 9]
    offsets = {o.starts_at.astimezone(STOCKHOLM).utcoffset() for o in reservation.occurrences}
    assert len(offsets) == 2  # the UTC time moved, the local time did not


# --- series ----------------------------------------------------------------

def test_every_other_week_until_date(room, staff):
    reservation = booking.book(request_for(room, staff, date(2026, 2, 3), time(9), time(10),
                                           rrule="FREQ=WEEKLY;INTERVAL=2;UNTIL=20260331T235959"), now=NOW)
    days = [o.starts_at.astimezone(STOCKHOLM).date() for o in reservation.occurrences]
    assert days == [date(2026, 2, 3), date(2026, 2, 17), date(2026, 3, 3), date(2026, 3, 17), date(2026, 3, 31)]


def test_monthly_on_nth_weekday(room, staff):
    reservation = booking.book(request_for(room, staff, date(2026, 2, 10), time(13), time(15),
                                           rrule="FREQ=MONTHLY;BYDAY=2TU;COUNT=3"), now=NOW)
    days = [o.starts_at.astimezone(STOCKHOLM).date() for o in reservation.occurrences]
    assert days == [date(2026, 2, 10), date(2026, 3, 10), date(2026, 4, 14)]


def test_series_with_clashes_lists_dates_and_books_nothing(room, staff):
    booking.book(request_for(room, staff, date(2026, 2, 17), time(9, 30), time(10, 30)), now=NOW)
    series = request_for(room, staff, date(2026, 2, 3), time(9), time(10), rrule="FREQ=WEEKLY;COUNT=52")
    with pytest.raises(BookingRefused) as refused:
        booking.book(series, now=NOW)
    by_day = {p.day: p.code for p in refused.value.problems}
    # The clash and the holidays on Tuesdays within the year (Christmas Day 2026 is a Friday).
    assert by_day[date(2026, 2, 17)] == "taken"
    assert all(p.day is not None for p in refused.value.problems)
    assert occurrence_count() == 1


def test_series_book_the_rest_skips_bad_dates(room, staff):
    booking.book(request_for(room, staff, date(2026, 2, 17), time(9, 30), time(10, 30)), now=NOW)
    series = request_for(room, staff, date(2026, 2, 3), time(9), time(10), rrule="FREQ=WEEKLY;COUNT=4")
    reservation = booking.book(series, allow_partial=True, now=NOW)
    states = {o.starts_at.astimezone(STOCKHOLM).date(): o.state for o in reservation.occurrences}
    assert states[date(2026, 2, 17)] == OccurrenceState.cancelled
    assert [d for d, s in states.items() if s == OccurrenceState.active] == [
        date(2026, 2, 3), date(2026, 2, 10), date(2026, 2, 24)]


def test_series_over_a_holiday(room, staff):
    # 2026-05-14 is Kristi himmelsfärdsdag, a Thursday.
    series = request_for(room, staff, date(2026, 5, 7), time(9), time(10), rrule="FREQ=WEEKLY;COUNT=3")
    with pytest.raises(BookingRefused) as refused:
        booking.book(series, now=NOW)
    assert [(p.day, p.code) for p in refused.value.problems] == [(date(2026, 5, 14), "closed_day")]


def test_bad_rule_is_refused(room, staff):
    with pytest.raises(BookingRefused) as refused:
        booking.book(request_for(room, staff, date(2026, 2, 3), time(9), time(10), rrule="FREQ=SOMETIMES"), now=NOW)
    assert codes(refused.value) == ["bad_rule"]


def test_too_many_occurrences(room, staff):
    with pytest.raises(BookingRefused) as refused:
        booking.book(request_for(room, staff, date(2026, 2, 3), time(9), time(10), rrule="FREQ=DAILY"), now=NOW)
    assert "too_many" in codes(refused.value)


# --- changing and cancelling ----------------------------------------------------

@pytest.fixture
def series(room, staff):
    return booking.book(request_for(room, staff, date(2026, 2, 2), time(9), time(10),
                                    rrule="FREQ=WEEKLY;COUNT=5"), now=NOW)


def active_days(reservation):
    db.session.refresh(reservation)
    return [o.starts_at.astimezone(STOCKHOLM).date() for o in reservation.occurrences if o.is_active]


def test_cancel_one_occurrence(series, staff):
    booking.cancel_occurrence(series.occurrences[1], staff)
    assert active_days(series) == [date(2026, 2, 2), date(2026, 2, 16), date(2026, 2, 23), date(2026, 3, 2)]
    assert series.sequence == 1


def test_cancel_this_and_following(series, staff):
    booking.cancel_following(series.occurrences[2], staff)
    assert active_days(series) == [date(2026, 2, 2), date(2026, 2, 9)]
    assert "UNTIL=20260215T235959" in series.rrule and "COUNT" not in series.rrule


def test_cancel_all(series, staff):
    booking.cancel_reservation(series, staff, now=NOW)
    assert active_days(series) == []
    assert series.cancelled_at is not None


def test_move_one_occurrence_keeps_recurrence_id(series, staff):
    occurrence = series.occurrences[1]
    original = occurrence.original_start
    booking.change_occurrence(occurrence, staff, day=date(2026, 2, 10), start_time=time(14),
                              end_time=time(15), now=NOW)
    db.session.refresh(occurrence)
    assert occurrence.starts_at.astimezone(STOCKHOLM) == datetime(2026, 2, 10, 14, tzinfo=STOCKHOLM)
    assert occurrence.original_start == original


def test_move_one_occurrence_onto_a_clash_is_refused(series, staff, room):
    booking.book(request_for(room, staff, date(2026, 2, 10), time(14), time(15)), now=NOW)
    with pytest.raises(BookingRefused) as refused:
        booking.change_occurrence(series.occurrences[1], staff, day=date(2026, 2, 10),
                                  start_time=time(14, 30), end_time=time(15, 30), now=NOW)
    assert codes(refused.value) == ["taken"]


def test_change_all_occurrences_rechecks_without_clashing_with_itself(series, staff):
    booking.change_reservation(series, staff, title="Nytt", attendees=2, start_time=time(9, 30),
                               end_time=time(10, 30), now=NOW)
    db.session.refresh(series)
    assert [o.starts_at.astimezone(STOCKHOLM).time() for o in series.occurrences if o.is_active] == [time(9, 30)] * 5
    assert series.title == "Nytt" and series.sequence == 1


def test_change_this_and_following_splits_the_series(series, staff):
    new = booking.change_following(series.occurrences[3], staff, title="Senare", attendees=1,
                                   start_time=time(13), end_time=time(14), now=NOW)
    assert active_days(series) == [date(2026, 2, 2), date(2026, 2, 9), date(2026, 2, 16)]
    assert [o.starts_at.astimezone(STOCKHOLM) for o in new.occurrences] == [
        datetime(2026, 2, 23, 13, tzinfo=STOCKHOLM), datetime(2026, 3, 2, 13, tzinfo=STOCKHOLM)]
    assert "COUNT=2" in new.rrule


def test_every_change_is_audited(series, staff):
    booking.cancel_occurrence(series.occurrences[0], staff)
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["create", "cancel_occurrence"]


def test_audit_log_is_append_only(series):
    entry = db.session.scalar(select(AuditEntry))
    entry.action = "tampered"
    with pytest.raises(Exception, match="append-only"):
        db.session.commit()
    db.session.rollback()


def test_database_refuses_overlap_even_without_the_check(room, staff, database_url):
    """The last line of defence on PostgreSQL is the exclusion constraint.

    On SQLite the guard is the serialized transaction; there a direct insert is not
    refused, which is why every write goes through book().
    """
    from tests.conftest import BACKEND

    first = booking.book(request_for(room, staff, date(2026, 2, 3), time(10), time(11)), now=NOW)
    db.session.commit()
    clone = Reservation(resource=room, title="x", first_day=first.first_day, start_time=first.start_time,
                        end_time=first.end_time, booked_by=staff)
    clone.occurrences = [ReservationOccurrence(
        resource_id=room.id, starts_at=first.occurrences[0].starts_at + timedelta(minutes=30),
        ends_at=first.occurrences[0].ends_at + timedelta(minutes=30),
        original_start=first.occurrences[0].starts_at)]
    db.session.add(clone)
    if BACKEND == "postgresql":
        with pytest.raises(BookingConflict):
            booking._flush_occurrences()
        db.session.rollback()  # what the request's boundary does with a refusal
        assert occurrence_count() == 1
    else:
        booking._flush_occurrences()
        db.session.commit()
        assert occurrence_count() == 2


def test_change_all_keeps_days_the_series_left_out(room, staff):
    """A series made over a holiday (left out then) can still be changed as a whole."""
    # 2026-05-14 (Kristi himmelsfärdsdag) is a Thursday: left out when the series is made.
    series = booking.book(request_for(room, staff, date(2026, 5, 7), time(9), time(10),
                                      rrule="FREQ=WEEKLY;COUNT=3"), allow_partial=True, now=NOW)
    booking.cancel_occurrence(series.occurrences[2], staff)  # a cancelled occasion stays so too
    booking.change_reservation(series, staff, title="Senare", attendees=1, start_time=time(10),
                               end_time=time(11), now=NOW)
    db.session.refresh(series)
    states = {o.starts_at.astimezone(STOCKHOLM).date(): (o.is_active, o.starts_at.astimezone(STOCKHOLM).hour)
              for o in series.occurrences}
    assert states == {date(2026, 5, 7): (True, 10), date(2026, 5, 14): (False, 10),
                      date(2026, 5, 21): (False, 10)}
