"""Closing a day (or shortening the opening hours) handles what is booked: shown, cancelled, told."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import select

from office.accounts.models import Role
from office.booking import rules as booking
from office.booking.models import OccurrenceState, Reservation
from office.booking.rules import BookingRequest
from office.core.extensions import db
from office.core.models import OutboxMail
from office.meetings import rules as meeting_rules
from office.meetings.models import Attendance
from office.premises.models import Closure
from office.trepartssamtal import rules as meetings
from office.trepartssamtal.models import MeetingStatus, Trepartssamtal
from seminars.models import Seminar, SeminarState
from tests.seminar_factories import make_seminar
from tests.test_trepartssamtal import NOW, REFERENCE, consent_for, office, search_for  # noqa: F401

# Wednesday 4 February 2026: an ordinary working day (no holiday, no DST change that week).
WEDNESDAY = date(2026, 2, 4)


def outbox() -> list[OutboxMail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def day_with_everything(office, create_user):
    coordinator = create_user(role=Role.coordinator, agency=office["af"], name="Kim Samordnare")
    sara, ali = office["sara"], office["ali"]
    planning = booking.book(BookingRequest(
        resource=office["rooms"]["small"], title="Planering", first_day=WEDNESDAY,
        start_time=time(13), end_time=time(14), booked_by=sara, booked_for=ali, attendees=2), now=NOW)
    series = meeting_rules.create_meeting_series(
        name="Arbetsgruppen", resource=office["rooms"]["big"], first_day=date(2026, 2, 4),
        start_time=time(9), end_time=time(10), rrule=meeting_rules.weekly_rule(2, date(2026, 3, 31)),
        members=[(sara, Attendance.every_meeting), (ali, Attendance.every_meeting)], actor=coordinator)
    search = search_for(office, first_day=WEDNESDAY, last_day=WEDNESDAY)
    key = meetings.find_proposals(search, now=NOW, limit=1)[0].key
    meeting = meetings.book_proposal(search, key, reference=REFERENCE, consent=consent_for(office),
                                     now=NOW)
    seminar = make_seminar(coordinator, room=office["rooms"]["big"], day=WEDNESDAY,
                           start=time(13), end=time(15), publish=False, title="Arbetsgivarforum")
    db.session.commit()
    return dict(coordinator=coordinator, planning=planning, series=series, meeting=meeting,
                seminar=seminar, before=len(outbox()))


def test_closing_a_day_shows_then_cancels_and_tells(office, create_user, auth):
    world = day_with_everything(office, create_user)
    site = office["site"]
    auth.login(world["coordinator"])

    preview = auth.post(f"/sites/{site.id}/closures", {"day": WEDNESDAY.isoformat(),
                                                       "reason": "Personaldag"})
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    for text in ("Planering", "Arbetsgruppen", "Trepartssamtal", "Arbetsgivarforum"):
        assert text in page
    assert REFERENCE not in page
    assert db.session.scalar(select(Closure)) is None  # nothing happens before the confirm
    assert len(outbox()) == world["before"]

    done = auth.post(f"/sites/{site.id}/closures", {"day": WEDNESDAY.isoformat(),
                                                    "reason": "Personaldag", "confirmed": "1"})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Closure)).reason == "Personaldag"
    planning = db.session.get(Reservation, world["planning"].id)
    assert all(o.state == OccurrenceState.cancelled for o in planning.occurrences)
    meeting_occurrences = db.session.get(Reservation, world["series"].reservation_id).occurrences
    on_day = [o for o in meeting_occurrences if o.original_start.date() == WEDNESDAY]
    assert on_day and all(o.state == OccurrenceState.cancelled for o in on_day)
    assert any(o.state == OccurrenceState.active for o in meeting_occurrences)  # later weeks stay
    assert db.session.get(Trepartssamtal, world["meeting"].id).status == MeetingStatus.cancelled_by_staff
    seminar = db.session.get(Seminar, world["seminar"].id)
    assert seminar.state == SeminarState.draft  # flagged, not cancelled

    mails = outbox()[world["before"]:]
    told = {(m.recipient, m.kind) for m in mails}
    sara, ali = office["sara"].email, office["ali"].email
    assert {(sara, "notify_closure"), (ali, "notify_closure")} <= told   # the booking
    assert {(sara, "notify_meetings"), (ali, "notify_meetings")} <= told  # the meeting
    assert {(sara, "notify_trepartssamtal"), (ali, "notify_trepartssamtal")} <= told
    assert (world["coordinator"].email, "seminar_closure") in told
    assert all(m.ics_method == "CANCEL" for m in mails if m.kind == "notify_trepartssamtal")
    for mail in mails:
        assert REFERENCE not in mail.subject + mail.body + (mail.ics or "")


def test_a_day_with_nothing_booked_closes_at_once(office, create_user, auth):
    auth.login(create_user(role=Role.coordinator, agency=office["af"]))
    site = office["site"]
    response = auth.post(f"/sites/{site.id}/closures", {"day": "2026-02-05", "reason": ""})
    assert response.status_code == 302
    assert outbox() == []


def test_shorter_opening_hours_show_and_cancel_bookings_outside(office, create_user, auth):
    coordinator = create_user(role=Role.coordinator, agency=office["af"])
    late = booking.book(BookingRequest(
        resource=office["rooms"]["small"], title="Sent möte", first_day=date(2027, 2, 3),
        start_time=time(16), end_time=time(17), booked_by=office["sara"], attendees=2))
    db.session.commit()
    site = office["site"]
    auth.login(coordinator)
    form = {"name": site.name, "address": site.address or ""}
    for weekday in range(5):
        form[f"opens_{weekday}"], form[f"closes_{weekday}"] = "08:00", "15:00"
    preview = auth.post(f"/sites/{site.id}/edit", form)
    assert preview.status_code == 200 and "Sent möte" in preview.get_data(as_text=True)
    db.session.expire_all()
    assert all(o.state == OccurrenceState.active
               for o in db.session.get(Reservation, late.id).occurrences)
    assert auth.post(f"/sites/{site.id}/edit", {**form, "confirmed": "1"}).status_code == 302
    db.session.expire_all()
    assert all(o.state == OccurrenceState.cancelled
               for o in db.session.get(Reservation, late.id).occurrences)
    assert [m.recipient for m in outbox()] == [office["sara"].email]


def test_the_site_calendar_a_booking_check_reads_is_what_each_read_gives(create_site):
    from office.premises import calendar_cache
    from office.premises import rules as premises

    site = create_site(opens=time(7, 30), closes=time(16, 45), weekdays=range(4))
    db.session.add_all([Closure(site=site, day=date(2027, 3, 3), reason="Städning"),
                        Closure(site=site, day=date(2027, 3, 4), reason="")])
    db.session.commit()
    first, last = date(2027, 1, 1), date(2027, 12, 31)
    calendar = calendar_cache.site_calendar(site.id)
    closed, hours = calendar.closed_days(2027, 2027), calendar.hours
    assert ({day: str(c.reason) for day, c in closed.items()}
            == {day: str(c.reason) for day, c in premises.closed_days(site, first, last).items()})
    assert hours == premises.opening_hours_by_weekday(site)
    assert closed[date(2027, 3, 3)].reason == "Städning" and date(2027, 12, 24) in closed
    assert hours[0] == (time(7, 30), time(16, 45)) and 4 not in hours