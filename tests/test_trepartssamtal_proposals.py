"""find_proposals() against a brute-force reference on random calendars, over DST weekends."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from office.availability.models import Absence, AbsenceKind, WorkingHours
from office.booking import rules as booking
from office.booking.models import (
    OccurrenceState,
    Reservation,
    ReservationKind,
    ReservationOccurrence,
)
from office.core.extensions import db
from office.premises import rules as premises
from office.premises.models import Resource, ResourceKind
from office.trepartssamtal import rules as meetings
from office.trepartssamtal.models import (
    MeetingMode,
    MeetingStatus,
    Trepartssamtal,
    TrepartssamtalParticipant,
)

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`

STOCKHOLM = ZoneInfo("Europe/Stockholm")
UTC = timezone.utc
# Saturday to Tuesday around both daylight-saving changes of 2026 (Sunday 29 March, Sunday 25 October).
WEEKENDS = [date(2026, 3, 28), date(2026, 10, 24)]
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def brute_force(search: meetings.Search, now: datetime, limit: int) -> list[tuple]:
    """Every 15-minute local start, every person, every interval, every room: no cleverness."""
    ids = search.participant_ids
    buffer = timedelta(minutes=search.buffer_minutes)
    occurrences = db.session.execute(
        select(Reservation.booked_by_id, Reservation.booked_for_id, ReservationOccurrence.resource_id,
               ReservationOccurrence.starts_at, ReservationOccurrence.ends_at)
        .join(ReservationOccurrence.reservation)
        .where(ReservationOccurrence.state == OccurrenceState.active)
    ).all()
    others = db.session.execute(
        select(TrepartssamtalParticipant.user_id, Trepartssamtal.starts_at, Trepartssamtal.ends_at,
               Trepartssamtal.status).join(TrepartssamtalParticipant.meeting)
    ).all()
    absences = db.session.execute(select(Absence.user_id, Absence.starts_at, Absence.ends_at)).all()
    hours = {uid: {} for uid in ids}
    for row in db.session.scalars(select(WorkingHours)):
        hours[row.user_id][row.weekday] = (row.starts, row.ends)
    for uid in ids:
        if not hours[uid]:
            hours[uid] = {d: (time(8), time(17)) for d in range(5)}
    rooms = [r for r in db.session.scalars(select(Resource)) if r.kind == ResourceKind.room
             and r.active and r.site_id == search.site.id and r.capacity >= search.attendees
             and (r.accessible or not search.needs_accessible)]
    rooms.sort(key=lambda r: (not r.is_conversation_room, r.capacity, r.name, r.id))

    def exists(day, minute):
        wall = datetime.combine(day, time(minute // 60, minute % 60)).replace(tzinfo=STOCKHOLM, fold=0)
        back = wall.astimezone(UTC).astimezone(STOCKHOLM).replace(tzinfo=None)
        return wall.astimezone(UTC) if back == wall.replace(tzinfo=None) else None

    def person_free(uid, day, m0, m1, s, e):
        window = hours[uid].get(day.weekday())
        if window is None or m0 < window[0].hour * 60 + window[0].minute \
                or m1 > window[1].hour * 60 + window[1].minute:
            return False
        for by, for_, _res, bs, be in occurrences:
            if uid in (by, for_) and bs < e + buffer and be > s - buffer:
                return False
        for who, bs, be, status in others:
            if who == uid and not status.is_cancelled and bs < e + buffer and be > s - buffer:
                return False
        return not any(who == uid and bs < e and be > s for who, bs, be in absences)

    found = []
    day = search.first_day
    while day <= search.last_day and len(found) < limit:
        if premises.public_holiday(day) is None:
            for m0 in range(0, 24 * 60, 15):
                m1 = m0 + search.minutes
                if m1 >= 24 * 60 or len(found) >= limit:
                    continue
                s, e = exists(day, m0), exists(day, m1)
                if s is None or e is None or s < now:
                    continue
                if not all(person_free(uid, day, m0, m1, s, e) for uid in ids):
                    continue
                if search.mode != MeetingMode.on_site:
                    found.append((s, e, None))
                    continue
                for room in rooms:
                    if any(res == room.id and bs < e and be > s for _b, _f, res, bs, be in occurrences):
                        continue
                    request = booking.BookingRequest(
                        resource=room, title="Trepartssamtal", first_day=day,
                        start_time=time(m0 // 60, m0 % 60), end_time=time(m1 // 60, m1 % 60),
                        booked_by=search.booked_by, attendees=search.attendees,
                        kind=ReservationKind.trepartssamtal)
                    if booking.check_booking(request, now=now).ok:
                        found.append((s, e, room.id))
                        break
        day += timedelta(days=1)
    return found


def quarter_hours(lo=0, hi=24 * 60):
    return st.integers(lo // 15, hi // 15).map(lambda q: q * 15)


interval = st.tuples(st.integers(0, 3), st.integers(0, 24 * 12 - 1).map(lambda f: f * 5),
                     st.integers(1, 36).map(lambda f: f * 5))  # day offset, start minute, length
window_of_day = st.tuples(quarter_hours(0, 22 * 60), st.integers(2, 48).map(lambda q: q * 15))
hours_of_day = st.one_of(st.none(), window_of_day, window_of_day, window_of_day)
person = st.fixed_dictionaries({
    "hours": st.one_of(st.none(), st.lists(hours_of_day, min_size=7, max_size=7),
                       st.lists(hours_of_day, min_size=7, max_size=7)),
    "bookings": st.lists(interval, max_size=8),
    "absences": st.lists(interval, max_size=2),
    "meetings": st.lists(interval, max_size=2),
})
calendar = st.fixed_dictionaries({
    "weekend": st.sampled_from(WEEKENDS),
    "start": st.integers(0, 1),
    "days": st.integers(0, 2),
    "people": st.lists(person, min_size=2, max_size=3),
    "rooms": st.lists(st.lists(interval, max_size=5), min_size=3, max_size=3),
    "minutes": st.sampled_from([30, 45, 60, 90]),
    "buffer": st.sampled_from([0, 15, 30]),
    "mode": st.sampled_from([MeetingMode.on_site, MeetingMode.phone]),
    "others": st.integers(1, 3),
    "accessible": st.booleans(),
})


def _dst_sunday(weekend: date) -> dict:
    """Everyone works 01:00-04:00 on the Sunday the clocks change: proposals cross the change."""
    sunday_night = [None] * 6 + [(60, 180)]
    plan = {"hours": sunday_night, "bookings": [(1, 150, 30)], "absences": [], "meetings": []}
    return {"weekend": weekend, "start": 1, "days": 0, "people": [plan, dict(plan, bookings=[])],
            "rooms": [[], [], []], "minutes": 30, "buffer": 0, "mode": MeetingMode.phone,
            "others": 1, "accessible": False}


def at(first: date, item) -> tuple[datetime, datetime]:
    offset, minute, length = item
    start = datetime.combine(first + timedelta(days=offset), time(0), STOCKHOLM).astimezone(UTC)
    start += timedelta(minutes=minute)  # absolute minutes: busy times can fall anywhere
    return start, start + timedelta(minutes=length)


def disjoint(intervals):
    kept = []
    for s, e in sorted(intervals):
        if not kept or s >= kept[-1][1]:
            kept.append((s, e))
    return kept


@pytest.mark.timeout(300)  # many requests or threads: slow on a busy machine
@pytest.mark.slow
def test_proposals_match_brute_force(app, create_agency, create_user, create_site, create_resource):
    agencies = [create_agency(), create_agency()]
    staff = [create_user(agency=agencies[i % 2]) for i in range(3)]
    outsider = create_user(agency=agencies[0])
    site = create_site(opens=time(0, 0), closes=time(23, 59), weekdays=range(7))
    rooms = [create_resource(site=site, name="Samtal A", capacity=3, is_conversation_room=True),
             create_resource(site=site, name="Samtal B", capacity=5, is_conversation_room=True,
                             accessible=True),
             create_resource(site=site, name="Stora", capacity=10, accessible=True)]
    desk = create_resource(site=site, name="Bord", kind=ResourceKind.desk, capacity=1)
    ids = {"staff": [u.id for u in staff], "rooms": [r.id for r in rooms], "desk": desk.id,
           "outsider": outsider.id, "site": site.id}

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(calendar)
    @example(_dst_sunday(WEEKENDS[0]))
    @example(_dst_sunday(WEEKENDS[1]))
    def check(cal):
        try:
            people = [db.session.get(type(staff[0]), uid) for uid in ids["staff"][:len(cal["people"])]]
            first = cal["weekend"]
            for user, plan in zip(people, cal["people"]):
                if plan["hours"] is not None:
                    for weekday, window in enumerate(plan["hours"]):
                        if window is not None:
                            start, length = window
                            end = min(start + length, 23 * 60 + 59)
                            db.session.add(WorkingHours(user_id=user.id, weekday=weekday,
                                                        starts=time(start // 60, start % 60),
                                                        ends=time(end // 60, end % 60)))
                for s, e in disjoint(at(first, i) for i in plan["bookings"]):
                    _reserve(ids["desk"] if user is people[0] else None, user, s, e, people)
                for item in plan["absences"]:
                    s, e = at(first, item)
                    db.session.add(Absence(user_id=user.id, kind=AbsenceKind.leave, starts_at=s, ends_at=e))
                for item in plan["meetings"]:
                    s, e = at(first, item)
                    meeting = Trepartssamtal(mode=MeetingMode.phone, starts_at=s, ends_at=e,
                                             status=MeetingStatus.booked)
                    meeting.participants.append(TrepartssamtalParticipant(user_id=user.id,
                                                                          agency_id=user.agency_id))
                    db.session.add(meeting)
            for room_id, plan in zip(ids["rooms"], cal["rooms"]):
                for s, e in disjoint(at(first, i) for i in plan):
                    _reserve(room_id, db.session.get(type(staff[0]), ids["outsider"]), s, e, people)
            db.session.commit()
            search = meetings.Search(
                participants=people, booked_by=people[0], first_day=first + timedelta(days=cal["start"]),
                last_day=first + timedelta(days=cal["start"] + cal["days"]), minutes=cal["minutes"],
                mode=cal["mode"], buffer_minutes=cal["buffer"],
                site=db.session.get(type(site), ids["site"]), needs_accessible=cal["accessible"],
                others=cal["others"])
            got = [(p.starts_at, p.ends_at, p.room.id if p.room else None)
                   for p in meetings.find_proposals(search, now=NOW, limit=6)]
            assert got == brute_force(search, NOW, 6)
            seen.update({"some": bool(got), "dst": seen["dst"] or any(
                p[0].astimezone(STOCKHOLM).date() in (date(2026, 3, 29), date(2026, 10, 25)) for p in got)})
        finally:
            db.session.rollback()
            for table in (TrepartssamtalParticipant, Trepartssamtal, ReservationOccurrence, Reservation,
                          Absence, WorkingHours):
                db.session.execute(delete(table))
            db.session.commit()

    seen = {"some": False, "dst": False}
    check()
    assert seen["dst"], "no example proposed a time on a daylight-saving Sunday"




def _reserve(resource_id, user, s, e, people):
    """A booking of a room (an outsider's) or of a private desk-like resource per person."""
    if resource_id is None:
        # Each person's own bookings go on a resource of their own so they never clash.
        name = f"Eget rum {user.id}"
        resource = db.session.scalar(select(Resource).where(Resource.name == name))
        if resource is None:
            site_id = db.session.scalar(select(Resource.site_id).limit(1))
            resource = Resource(site_id=site_id, name=name, kind=ResourceKind.desk, capacity=1)
            db.session.add(resource)
            db.session.flush()
        resource_id = resource.id
    local_start = s.astimezone(STOCKHOLM)
    reservation = Reservation(resource_id=resource_id, kind=ReservationKind.booking, title="Möte",
                              booked_by_id=user.id, agency_id=user.agency_id, first_day=local_start.date(),
                              start_time=local_start.time(), end_time=e.astimezone(STOCKHOLM).time())
    reservation.occurrences = [ReservationOccurrence(resource_id=resource_id, starts_at=s, ends_at=e,
                                                     original_start=s)]
    db.session.add(reservation)
