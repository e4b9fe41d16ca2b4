"""The meeting structure: series booked through the booking rules, attendance patterns."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest
from sqlalchemy import func, select

from office.accounts.models import Role
from office.allocations.models import Term, TermKind
from office.booking import rules as booking
from office.booking.models import OccurrenceState, ReservationKind
from office.booking.rules import BookingRefused, BookingRequest
from office.core.extensions import db
from office.meetings import rules as meetings
from office.meetings.models import Attendance, MeetingSeries
from tests.calendar_days import ordinary_days

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`


@pytest.fixture
def room(create_resource, create_site):
    return create_resource(site=create_site(opens=time(7), closes=time(18)), name="Konferensrummet",
                           capacity=12)


@pytest.fixture
def coordinator(create_user):
    return create_user(role=Role.coordinator)


SPRING = Term(year=2026, kind=TermKind.spring, first_day=date(2026, 1, 1), last_day=date(2026, 6, 30))


def weekly_series(room, coordinator, members, weekday=1, name="Arbetsgruppen"):
    return meetings.create_meeting_series(
        name=name, resource=room, first_day=date(2026, 1, 5), start_time=time(9),
        end_time=time(10, 30), rrule=meetings.weekly_rule(weekday, date(2026, 3, 31)),
        members=members, actor=coordinator)


def test_series_is_a_meeting_booking_that_skips_holidays(room, coordinator):
    # Thursdays: 2 April is Skärtorsdagen (a working day), 14 May Ascension Day (a holiday).
    series = weekly_series(room, coordinator, [], weekday=3, name="Handläggargruppen")
    reservation = series.reservation
    assert reservation.kind == ReservationKind.meeting
    active = [o for o in reservation.occurrences if o.state == OccurrenceState.active]
    assert len(active) == 12  # 8 January – 26 March: every Thursday
    refused = meetings.create_meeting_series(
        name="Ascension", resource=room, first_day=date(2026, 5, 7), start_time=time(13),
        end_time=time(14), rrule=meetings.weekly_rule(3, date(2026, 5, 21)), members=[],
        actor=coordinator).reservation
    states = {o.starts_at.date(): o.state for o in refused.occurrences}
    assert states[date(2026, 5, 14)] == OccurrenceState.cancelled


def test_meetings_obey_the_no_overlap_guard(room, coordinator, create_user):
    booking.book(BookingRequest(resource=room, title="Annat", first_day=date(2026, 1, 13),
                                start_time=time(9), end_time=time(10), booked_by=coordinator),
                 now=datetime(2026, 1, 1, tzinfo=timezone.utc))
    series = weekly_series(room, coordinator, [])
    states = {o.starts_at.date(): o.state for o in series.reservation.occurrences}
    assert states[date(2026, 1, 13)] == OccurrenceState.cancelled
    assert states[date(2026, 1, 20)] == OccurrenceState.active


def test_working_group_af_attends_every_other_week(room, coordinator, create_user):
    af_head, principal = create_user(), create_user()
    weekly_series(room, coordinator, [(principal, Attendance.every_meeting),
                                      (af_head, Attendance.odd_weeks)])
    mine = meetings.my_meetings(af_head, date(2026, 1, 1), date(2026, 2, 1))
    assert [m.day for m in mine] == [date(2026, 1, 13), date(2026, 1, 27)]  # weeks 3 and 5
    # 6 January (Epiphany) is a holiday: no meeting that Tuesday.
    assert len(meetings.my_meetings(principal, date(2026, 1, 1), date(2026, 2, 1))) == 3


def test_monthly_members_attend_the_extended_session(room, coordinator, create_user):
    syv, case_worker = create_user(), create_user()
    weekly_series(room, coordinator, [(case_worker, Attendance.every_meeting),
                                      (syv, Attendance.monthly)], weekday=3)
    mine = meetings.my_meetings(syv, date(2026, 1, 1), date(2026, 3, 31))
    assert [m.day for m in mine] == [date(2026, 1, 8), date(2026, 2, 5), date(2026, 3, 5)]
    assert all(m.extended for m in mine)


def test_steering_group_meets_twice_per_term(room, coordinator):
    rule = meetings.twice_per_term_rule(SPRING, 2)
    series = meetings.create_meeting_series(
        name="Styrgruppen", resource=room, first_day=SPRING.first_day, start_time=time(13),
        end_time=time(15), rrule=rule, members=[], actor=coordinator)
    assert [o.starts_at.date() for o in series.reservation.occurrences] == [
        date(2026, 2, 11), date(2026, 5, 13)]


def test_refused_series_leaves_nothing(room, coordinator):
    with pytest.raises(BookingRefused):
        meetings.create_meeting_series(
            name="Natt", resource=room, first_day=date(2026, 1, 5), start_time=time(19),
            end_time=time(20), rrule=meetings.weekly_rule(0, date(2026, 2, 1)), members=[],
            actor=coordinator)
    assert db.session.scalar(select(func.count()).select_from(MeetingSeries)) == 0


def test_my_meetings_page(auth, room, coordinator, create_user):
    member = create_user()
    first_day = ordinary_days(4, weeks_apart=1)[0]  # four meetings ahead, none on a holiday
    series = meetings.create_meeting_series(
        name="Arbetsgruppen", resource=room, first_day=first_day, start_time=time(9),
        end_time=time(10), rrule="FREQ=WEEKLY;COUNT=4", members=[(member, Attendance.every_meeting)],
        actor=coordinator)
    auth.login(member)
    page = auth.client.get("/meetings/").get_data(as_text=True)
    assert "Arbetsgruppen" in page and f"/meetings/series/{series.id}" in page
    auth.logout()
    auth.login(create_user())
    assert "Arbetsgruppen" not in auth.client.get("/meetings/").get_data(as_text=True).split("<h2")[0]


def test_coordinator_adds_members(auth, room, coordinator, create_user):
    series = weekly_series(room, coordinator, [])
    person = create_user()
    auth.login(coordinator)
    response = auth.post(f"/meetings/series/{series.id}/members",
                         {"user_id": person.id, "attendance": "monthly"})
    assert response.status_code == 302
    again = auth.post(f"/meetings/series/{series.id}/members",
                      {"user_id": person.id, "attendance": "monthly"})
    assert again.status_code == 409
