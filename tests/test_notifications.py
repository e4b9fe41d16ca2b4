"""People are told by mail, in their language, with an iTIP .ics: what mail, to whom, what file."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import select

from office.accounts.models import Role
from office.booking import rules as booking
from office.booking.rules import BookingRefused, BookingRequest
from office.core.extensions import db
from office.core.models import OutboxMail
from office.meetings import rules as meeting_rules
from office.meetings.models import Attendance
from office.notifications import rules as notifications
from office.trepartssamtal import rules as meetings
from office.trepartssamtal.models import MeetingStatus
from tests.test_trepartssamtal import NOW, REFERENCE, consent_for, office, search_for  # noqa: F401

MONDAY = date(2026, 2, 2)  # an ordinary week: no holiday, no DST change


def outbox() -> list[OutboxMail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def vevent(mail: OutboxMail):
    calendar = icalendar.Calendar.from_ical(mail.ics)
    assert str(calendar["METHOD"]) == mail.ics_method
    events = list(calendar.walk("VEVENT"))
    assert events
    return calendar, events[0]


def no_reference(mails):
    for mail in mails:
        for text in (mail.subject, mail.body, mail.ics or ""):
            assert REFERENCE not in text


# --- trepartssamtal --------------------------------------------------------------------------

def test_participants_are_told_of_booking_move_and_cancellation_with_one_event(office):
    office["ali"].locale = "en"
    db.session.commit()
    search = search_for(office)
    key = meetings.find_proposals(search, now=NOW, limit=1)[0].key
    meeting = meetings.book_proposal(search, key, reference=REFERENCE, consent=consent_for(office),
                                     now=NOW)
    db.session.commit()
    booked = outbox()
    assert sorted(m.recipient for m in booked) == sorted([office["sara"].email, office["ali"].email])
    by_person = {m.recipient: m for m in booked}
    assert by_person[office["sara"].email].locale == "sv"
    assert by_person[office["sara"].email].subject.startswith("Trepartssamtal bokat")
    assert by_person[office["ali"].email].locale == "en"
    assert by_person[office["ali"].email].subject.startswith("Trepartssamtal booked")
    _, first = vevent(booked[0])
    assert booked[0].ics_method == "REQUEST"
    assert str(first["SUMMARY"]) == "Trepartssamtal"
    assert "Samtalsrum" in str(first["LOCATION"])
    assert "mailto:" + booked[0].recipient in str(first["ATTENDEE"]).lower()

    later = search_for(office, first_day=MONDAY + timedelta(days=2), last_day=MONDAY + timedelta(days=4))
    later.replacing = meeting
    key = meetings.find_proposals(later, now=NOW, limit=1)[0].key
    meetings.book_proposal(later, key, reference=None, consent=None, now=NOW)
    db.session.commit()
    moved = outbox()[2:]
    assert len(moved) == 2 and all(m.ics_method == "REQUEST" for m in moved)
    _, second = vevent(moved[0])

    meetings.cancel_meeting(meeting, office["sara"], MeetingStatus.cancelled_by_staff, now=NOW)
    cancelled = outbox()[4:]
    assert len(cancelled) == 2 and all(m.ics_method == "CANCEL" for m in cancelled)
    _, third = vevent(cancelled[0])
    assert str(third["STATUS"]) == "CANCELLED"

    assert str(first["UID"]) == str(second["UID"]) == str(third["UID"])
    assert int(first["SEQUENCE"]) < int(second["SEQUENCE"]) < int(third["SEQUENCE"])
    assert second.decoded("DTSTART") > first.decoded("DTSTART")
    no_reference(outbox())


def test_a_refused_trepartssamtal_queues_nothing(office):
    search = search_for(office)
    key = meetings.find_proposals(search, now=NOW, limit=1)[0].key
    with pytest.raises(meetings.TrepartssamtalRefused):
        meetings.book_proposal(search, key, reference=REFERENCE,
                               consent=consent_for(office, given=False), now=NOW)
    db.session.commit()
    assert outbox() == []


def test_a_participant_who_opted_out_gets_no_trepartssamtal_mail(office):
    notifications.set_wanted(office["ali"], {"booked_for", "meetings"})
    db.session.commit()
    search = search_for(office)
    key = meetings.find_proposals(search, now=NOW, limit=1)[0].key
    meetings.book_proposal(search, key, reference=REFERENCE, consent=consent_for(office), now=NOW)
    db.session.commit()
    assert [m.recipient for m in outbox()] == [office["sara"].email]


# --- bookings for a colleague ----------------------------------------------------------------

def test_a_colleague_booked_for_is_told_of_booking_change_and_cancellation(office):
    room, sara, ali = office["rooms"]["conv"], office["sara"], office["ali"]
    request = BookingRequest(resource=room, title="Planering", first_day=MONDAY + timedelta(days=1),
                             start_time=time(10), end_time=time(11), booked_by=sara,
                             booked_for=ali, attendees=2)
    reservation = booking.book(request, now=NOW)
    made = outbox()
    assert [m.recipient for m in made] == [ali.email]
    assert made[0].ics_method == "REQUEST" and "Planering" in made[0].subject
    assert sara.name in made[0].body
    _, first = vevent(made[0])

    occurrence = reservation.occurrences[0]
    booking.change_occurrence(occurrence, sara, day=MONDAY + timedelta(days=1), start_time=time(13),
                              end_time=time(14), now=NOW)
    changed = outbox()[1:]
    assert [m.recipient for m in changed] == [ali.email]
    _, second = vevent(changed[0])

    booking.cancel_reservation(db.session.get(type(reservation), reservation.id), sara, now=NOW)
    cancelled = outbox()[2:]
    assert [m.ics_method for m in cancelled] == ["CANCEL"]
    _, third = vevent(cancelled[0])
    assert str(first["UID"]) == str(second["UID"]) == str(third["UID"])
    assert int(first["SEQUENCE"]) < int(second["SEQUENCE"]) < int(third["SEQUENCE"])


def _weekly_for_ali(office, weeks=4):
    room, sara, ali = office["rooms"]["conv"], office["sara"], office["ali"]
    return booking.book(BookingRequest(
        resource=room, title="Handledning", first_day=MONDAY + timedelta(days=1),
        start_time=time(10), end_time=time(11), booked_by=sara, booked_for=ali, attendees=2,
        rrule=f"FREQ=WEEKLY;COUNT={weeks}"), now=NOW)


def test_changing_this_and_following_tells_the_colleague_once_with_both_series(office):
    sara, ali = office["sara"], office["ali"]
    reservation = _weekly_for_ali(office)
    _, booked = vevent(outbox()[0])
    third = sorted(reservation.occurrences, key=lambda o: o.starts_at)[2]
    booking.change_following(third, sara, title="Handledning, senare", attendees=2,
                             start_time=time(13), end_time=time(14), now=NOW)
    told = outbox()[1:]
    assert [m.recipient for m in told] == [ali.email]
    mail = told[0]
    assert mail.ics_method == "REQUEST" and "Handledning, senare" in mail.subject
    events = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(mail.ics).walk("VEVENT")}
    assert len(events) == 2 and str(booked["UID"]) in events
    before = events.pop(str(booked["UID"]))
    after = next(iter(events.values()))
    assert int(before["SEQUENCE"]) > int(booked["SEQUENCE"])
    assert after["DTSTART"].dt == datetime.combine(MONDAY + timedelta(days=15), time(13),
                                                   ZoneInfo("Europe/Stockholm"))


def test_changing_from_the_first_occasion_cancels_the_old_series_and_books_the_new(office):
    sara, ali = office["sara"], office["ali"]
    reservation = _weekly_for_ali(office)
    first = sorted(reservation.occurrences, key=lambda o: o.starts_at)[0]
    booking.change_following(first, sara, title="Handledning", attendees=2,
                             start_time=time(13), end_time=time(14), now=NOW)
    told = outbox()[1:]
    assert [(m.recipient, m.ics_method) for m in told] == [(ali.email, "CANCEL"),
                                                           (ali.email, "REQUEST")]
    assert len({str(vevent(m)[1]["UID"]) for m in told}) == 2


def test_booking_for_oneself_or_a_refused_booking_sends_nothing(office):
    room, sara, ali = office["rooms"]["conv"], office["sara"], office["ali"]
    booking.book(BookingRequest(resource=room, title="Eget", first_day=MONDAY + timedelta(days=1),
                                start_time=time(10), end_time=time(11), booked_by=sara,
                                attendees=1), now=NOW)
    with pytest.raises(BookingRefused):  # taken
        booking.book(BookingRequest(resource=room, title="Krock", first_day=MONDAY + timedelta(days=1),
                                    start_time=time(10), end_time=time(11), booked_by=sara,
                                    booked_for=ali, attendees=1), now=NOW)
    assert outbox() == []


def test_opting_out_of_bookings_for_me(office, auth):
    sara, ali = office["sara"], office["ali"]
    auth.login(ali)
    response = auth.post("/account/mail", {"meetings": "y", "trepartssamtal": "y"})
    assert response.status_code == 302
    assert notifications.opted_out(ali) == {"booked_for"}
    booking.book(BookingRequest(resource=office["rooms"]["conv"], title="Planering",
                                first_day=MONDAY + timedelta(days=1), start_time=time(10),
                                end_time=time(11), booked_by=sara, booked_for=ali, attendees=2),
                 now=NOW)
    assert outbox() == []


# --- meetings ---------------------------------------------------------------------------------

def test_members_are_told_when_an_occurrence_is_moved_or_cancelled(office, create_user):
    coordinator = create_user(role=Role.coordinator, agency=office["af"])
    series = meeting_rules.create_meeting_series(
        name="Arbetsgruppen", resource=office["rooms"]["big"], first_day=date(2026, 2, 3),
        start_time=time(9), end_time=time(10), rrule=meeting_rules.weekly_rule(1, date(2026, 3, 31)),
        members=[(office["sara"], Attendance.every_meeting), (office["ali"], Attendance.every_meeting)],
        actor=coordinator)
    assert outbox() == []  # a new series is not a change
    occurrences = series.reservation.occurrences
    booking.change_occurrence(occurrences[1], coordinator, day=date(2026, 2, 11),
                              start_time=time(9), end_time=time(10), now=NOW)
    moved = outbox()
    assert sorted(m.recipient for m in moved) == sorted([office["sara"].email, office["ali"].email])
    assert all("Arbetsgruppen" in m.subject and m.ics_method == "REQUEST" for m in moved)
    calendar, master = vevent(moved[0])
    overrides = [e for e in calendar.walk("VEVENT") if e.get("RECURRENCE-ID")]
    assert overrides and overrides[0].decoded("DTSTART").date() == date(2026, 2, 11)

    booking.cancel_occurrence(occurrences[2], coordinator)
    cancelled = outbox()[2:]
    assert len(cancelled) == 2 and all(m.subject.startswith("Inställt") for m in cancelled)
    _, after = vevent(cancelled[0])
    assert str(after["UID"]) == str(master["UID"])
    assert int(after["SEQUENCE"]) > int(master["SEQUENCE"])
    assert len(after.get("EXDATE").dts if not isinstance(after.get("EXDATE"), list)
               else after.get("EXDATE")) >= 1


def test_a_change_of_one_meeting_tells_only_the_members_who_come_that_week(office, create_user):
    coordinator = create_user(role=Role.coordinator, agency=office["af"])
    series = meeting_rules.create_meeting_series(  # Tuesdays from week 6
        name="Arbetsgruppen", resource=office["rooms"]["big"], first_day=date(2026, 2, 3),
        start_time=time(9), end_time=time(10), rrule=meeting_rules.weekly_rule(1, date(2026, 3, 31)),
        members=[(office["sara"], Attendance.every_meeting), (office["ali"], Attendance.even_weeks)],
        actor=coordinator)
    week_7, week_8 = series.reservation.occurrences[1:3]
    booking.change_occurrence(week_7, coordinator, day=date(2026, 2, 11),
                              start_time=time(9), end_time=time(10), now=NOW)
    assert [m.recipient for m in outbox()] == [office["sara"].email]  # Ali comes in even weeks
    booking.cancel_occurrence(week_8, coordinator)
    assert sorted(m.recipient for m in outbox()[1:]) == sorted([office["sara"].email, office["ali"].email])


# --- invitations -----------------------------------------------------------------------------

def test_an_invitation_is_mailed_and_still_shown(auth, create_user, create_agency):
    agency = create_agency()
    admin = create_user(role=Role.coordinator, agency=agency)
    auth.login(admin)
    response = auth.post("/users/invite", {"email": "ny@example.se", "name": "Nya Person",
                                           "agency_id": agency.id, "role": "staff", "unit_id": 0,
                                           "title": ""})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    mails = outbox()
    assert [m.recipient for m in mails] == ["ny@example.se"]
    link = next(line for line in mails[0].body.splitlines() if "/invitation/" in line).strip()
    token = link.rsplit("/invitation/", 1)[1]
    assert f"/invitation/{token}" in html  # the same link, still shown to the admin
    assert mails[0].locale == "sv" and mails[0].ics is None
