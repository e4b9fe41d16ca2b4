"""Meetings and seminar registrations make staff busy for trepartssamtal proposals."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from office.accounts.models import Role
from office.availability import rules as availability
from office.meetings import rules as meetings
from office.meetings.models import Attendance
from seminars import registration
from tests.seminar_factories import make_seminar, next_weekday

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def _day_window(day):
    return (datetime.combine(day, time(0), STOCKHOLM), datetime.combine(day + timedelta(days=1), time(0), STOCKHOLM))


def test_meeting_members_are_busy_at_meetings_they_attend(create_user, create_resource, create_site, create_agency):
    site = create_site(opens=time(7), closes=time(18))
    room = create_resource(site=site, capacity=10)
    coordinator = create_user(role=Role.coordinator)
    weekly, odd = create_user(), create_user()
    day = next_weekday(1, weeks_ahead=2)
    meetings.create_meeting_series(
        name="Handläggargruppen", resource=room, first_day=day, start_time=time(9), end_time=time(10),
        rrule="FREQ=WEEKLY;COUNT=2", members=[(weekly, Attendance.every_meeting), (odd, Attendance.odd_weeks)],
        actor=coordinator)
    start, end = _day_window(day)
    busy = availability.busy_between([weekly.id, odd.id], start, end + timedelta(days=7))
    assert len(busy[weekly.id]) == 2
    attended = 1  # odd weeks only: exactly one of two consecutive weeks
    assert len(busy[odd.id]) == attended
    assert busy[weekly.id][0][0].astimezone(STOCKHOLM).hour == 9


def test_registered_staff_are_busy_during_the_seminar(create_user):
    coordinator = create_user(role=Role.coordinator)
    staff = create_user(agency=coordinator.agency)
    seminar = make_seminar(coordinator, start=time(13), end=time(16))
    registration.register_staff(seminar.id, staff)
    start, end = _day_window(seminar.days[0].day)
    busy = availability.busy_between([staff.id], start, end)
    assert [(s.astimezone(STOCKHOLM).time(), e.astimezone(STOCKHOLM).time()) for s, e in busy[staff.id]] == [
        (time(13), time(16))]
    other = create_user()
    assert availability.busy_between([other.id], start, end)[other.id] == []
