"""Trepartssamtal: proposals, booking with consent, privacy of the reference, retention, statistics."""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from office.accounts.models import Role, User
from office.availability import rules as availability
from office.availability.models import AbsenceKind
from office.booking import rules as booking
from office.booking.models import (
    AuditEntry,
    OccurrenceState,
    Reservation,
    ReservationKind,
    ReservationOccurrence,
)
from office.core.extensions import db
from office.core.transaction import unit_of_work
from office.premises.models import ResourceKind
from office.trepartssamtal import rules as meetings
from office.trepartssamtal.models import Consent, MeetingMode, MeetingStatus, Trepartssamtal
from tests.deadlines import join_all, start_threads

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 2, 2, 6, 0, tzinfo=timezone.utc)  # Monday 07:00 in Stockholm
MONDAY = date(2026, 2, 2)
REFERENCE = "QX-4711"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), STOCKHOLM).astimezone(timezone.utc)


@pytest.fixture
def office(create_agency, create_user, create_site, create_resource):
    """Drivhuset: AF and the municipality, a case worker each, two conversation rooms and a big one."""
    af, kommun = create_agency(short_name="AF"), create_agency(short_name="Kommunen")
    site = create_site(name="Drivhuset", opens=time(7, 30), closes=time(17, 0))
    rooms = {
        "big": create_resource(site=site, name="Konferensrummet", capacity=12, accessible=True),
        "small": create_resource(site=site, name="Samtalsrum 3", capacity=3, is_conversation_room=True),
        "conv": create_resource(site=site, name="Samtalsrum 1", capacity=4, is_conversation_room=True,
                                accessible=True),
    }
    create_resource(site=site, name="Skrivbord 1", kind=ResourceKind.desk, capacity=1)
    sara = create_user(agency=af, name="Sara Berg")
    ali = create_user(agency=kommun, name="Ali Yusuf")
    return dict(af=af, kommun=kommun, site=site, rooms=rooms, sara=sara, ali=ali)


def search_for(office, **fields) -> meetings.Search:
    values = dict(participants=[office["sara"], office["ali"]], booked_by=office["sara"],
                  first_day=MONDAY, last_day=MONDAY + timedelta(days=4), site=office["site"],
                  buffer_minutes=0)
    values.update(fields)
    return meetings.Search(**values)


def consent_for(office, **fields) -> meetings.ConsentInput:
    values = dict(given=True, given_on=MONDAY - timedelta(days=3),
                  agency_ids={office["af"].id, office["kommun"].id})
    values.update(fields)
    return meetings.ConsentInput(**values)


def book_room(resource, user, start: datetime, end: datetime, kind=ReservationKind.booking):
    """A booking made directly (any time of day), as another feature would have made it."""
    day = start.astimezone(STOCKHOLM).date()
    reservation = Reservation(resource=resource, kind=kind, title="Möte", booked_by=user,
                              agency_id=user.agency_id, first_day=day,
                              start_time=start.astimezone(STOCKHOLM).time(),
                              end_time=end.astimezone(STOCKHOLM).time())
    reservation.occurrences = [ReservationOccurrence(resource_id=resource.id, starts_at=start,
                                                     ends_at=end, original_start=start)]
    db.session.add(reservation)
    db.session.commit()
    return reservation


def meeting_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Trepartssamtal))


# --- the reference ----------------------------------------------------------------------------

PERSONAL_NUMBERS = [
    "8112189876", "811218-9876", "811218+9876", "198112189876", "19811218-9876",
    "20010101-1234", "0101011234", "811278-9876",          # coordination number: day 18 + 60
    "19811278-9876", "198112789876", "AB 811218-9876", "ref811218-9876x", "AB-19811218 9876",
    "811218 - 9876", "Kalle 198112189876 Ek", "811218.9876", "121212-1212", "19121212+1212",
    "AB1234 8112189876", "000000-0000",  # ten digits in a row are refused even without a date
]
HARMLESS = ["AB-12", "KL 7", "Ä.Ö-2024", "AB 12 34", "X-20260329", "MN-123456789", "Ref 1 2 3"]


@pytest.mark.parametrize("text", PERSONAL_NUMBERS)
def test_personal_identity_numbers_are_refused(app, text):
    with pytest.raises(meetings.TrepartssamtalRefused) as refused:
        meetings.validate_reference(text)
    assert refused.value.codes == ["personal_number"]
    assert text not in str(refused.value)


@pytest.mark.parametrize("text", ["8112189876", "811218-9876", "198112789876", "x811291-0000y"])
def test_detector_knows_dates_and_coordination_numbers(text):
    assert meetings.looks_like_personal_number(text)


@pytest.mark.parametrize("text", ["811232-9876", "811300-9876", "811292-1234", "991399-1234"])
def test_detector_ignores_impossible_dates(text):
    assert not meetings.looks_like_personal_number(text)


@pytest.mark.parametrize("text", HARMLESS)
def test_pseudonymous_references_pass(app, text):
    assert meetings.validate_reference(text) == text


@pytest.mark.parametrize("text", ["", "A", "anna@example.org", "x" * 21, "AB_12", "<b>AB</b>"])
def test_malformed_references_are_refused(app, text):
    with pytest.raises(meetings.TrepartssamtalRefused) as refused:
        meetings.validate_reference(text)
    assert refused.value.codes == ["bad_reference"]


# --- proposals ------------------------------------------------------------------------------------

def test_proposals_start_at_the_earliest_free_time_with_a_conversation_room(office):
    proposals = meetings.find_proposals(search_for(office), now=NOW, limit=5)
    assert len(proposals) == 5
    assert [p.starts_at for p in proposals] == [local(MONDAY, 8, 0) + timedelta(minutes=15 * i)
                                                 for i in range(5)]
    # Three staff + individual fit neither... two staff + the individual: the small conversation room.
    assert {p.room.name for p in proposals} == {"Samtalsrum 3"}


def test_capacity_and_accessibility_choose_the_room(office):
    assert meetings.find_proposals(search_for(office, others=2), now=NOW, limit=1)[0].room.name == "Samtalsrum 1"
    accessible = meetings.find_proposals(search_for(office, needs_accessible=True), now=NOW, limit=1)
    assert accessible[0].room.name == "Samtalsrum 1"
    crowd = meetings.find_proposals(search_for(office, others=5), now=NOW, limit=1)
    assert crowd[0].room.name == "Konferensrummet"


def test_busy_participants_absences_and_buffers_move_the_proposals(office, create_user):
    sara, ali = office["sara"], office["ali"]
    availability.set_working_hours(ali.id, {0: (time(9, 0), time(15, 0))})  # Mondays only
    availability.add_absence(sara.id, AbsenceKind.course, local(MONDAY, 9, 0), local(MONDAY, 10, 0))
    db.session.commit()
    book_room(office["rooms"]["big"], ali, local(MONDAY, 10, 0), local(MONDAY, 11, 0))
    proposals = meetings.find_proposals(search_for(office, buffer_minutes=15), now=NOW, limit=3)
    # 09-10 Sara is on a course; 10-11 Ali is in a meeting (+15 min buffer); Tuesday Ali does not work.
    assert [p.starts_at for p in proposals] == [local(MONDAY, 11, 15), local(MONDAY, 11, 30),
                                                local(MONDAY, 11, 45)]


def test_taken_rooms_are_skipped_and_all_booking_rules_apply(office):
    rooms = office["rooms"]
    other = office["sara"]
    book_room(rooms["small"], other, local(MONDAY, 8, 0), local(MONDAY, 9, 0))
    first = meetings.find_proposals(search_for(office, participants=[office["sara"], office["ali"]],
                                                buffer_minutes=0), now=NOW, limit=1)[0]
    # Sara's own booking makes her busy; choose an outsider's booking for the room test.
    assert first.starts_at >= local(MONDAY, 9, 0)

    # A registered booking rule (e.g. allocations) refuses the small room on Monday mornings.
    def no_small_room_before_noon(request, slot):
        if request.resource.id == rooms["small"].id and slot.starts_at < local(MONDAY, 12, 0):
            return booking.Problem("allocated", "allocated to another agency", slot.day)
        return None

    booking.register_rule(no_small_room_before_noon)
    try:
        proposal = meetings.find_proposals(search_for(office), now=NOW, limit=1)[0]
        assert proposal.room.name == "Samtalsrum 1"
    finally:
        booking._EXTRA_RULES.remove(no_small_room_before_noon)


def test_phone_meetings_need_no_room_but_respect_working_hours(office):
    availability.set_working_hours(office["sara"].id, {1: (time(13, 0), time(16, 0))})
    db.session.commit()
    proposals = meetings.find_proposals(search_for(office, mode=MeetingMode.phone), now=NOW, limit=2)
    assert [p.starts_at for p in proposals] == [local(MONDAY + timedelta(days=1), 13, 0),
                                                local(MONDAY + timedelta(days=1), 13, 15)]
    assert all(p.room is None for p in proposals)


def test_registered_busy_sources_count(office):
    sara = office["sara"]

    def seminar_registrations(user_ids, start, end):
        if sara.id in user_ids:
            yield sara.id, local(MONDAY, 8, 0), local(MONDAY, 12, 0)

    availability.add_busy_source(seminar_registrations)
    try:
        first = meetings.find_proposals(search_for(office), now=NOW, limit=1)[0]
    finally:
        availability._BUSY_SOURCES.remove(seminar_registrations)
    assert first.starts_at == local(MONDAY, 12, 0)


def test_public_holidays_get_no_proposals(office):
    good_friday = date(2026, 4, 3)
    search = search_for(office, first_day=good_friday, last_day=good_friday, mode=MeetingMode.phone)
    assert meetings.find_proposals(search, now=NOW) == []


@pytest.mark.parametrize("people,code", [(("sara",), "too_few_participants"),
                                          (("sara", "sara2"), "too_few_agencies")])
def test_search_needs_two_agencies(office, create_user, people, code):
    office["sara2"] = create_user(agency=office["af"])
    with pytest.raises(meetings.TrepartssamtalRefused) as refused:
        meetings.find_proposals(search_for(office, participants=[office[p] for p in people]), now=NOW)
    assert code in refused.value.codes


# --- booking ------------------------------------------------------------------------------------

def test_booking_saves_meeting_room_and_consent_in_one_go(office):
    search = search_for(office)
    proposal = meetings.find_proposals(search, now=NOW, limit=1)[0]
    meeting = meetings.book_proposal(search, proposal.key, reference=REFERENCE,
                                     consent=consent_for(office), now=NOW)
    db.session.expire_all()
    meeting = db.session.get(Trepartssamtal, meeting.id)
    assert meeting.reservation.title == "Trepartssamtal"
    assert meeting.reservation.kind == ReservationKind.trepartssamtal
    assert meeting.reservation.resource_id == proposal.room.id
    assert meeting.starts_at == proposal.starts_at
    assert meetings.reference_for(meeting, office["ali"]) == REFERENCE
    assert {a.short_name for a in meeting.consent.agencies} == {"AF", "Kommunen"}
    assert meeting.consent.recorded_by_id == office["sara"].id
    entries = db.session.scalars(select(AuditEntry)).all()
    assert {(e.object_type, e.action) for e in entries} >= {("trepartssamtal", "create"),
                                                            ("reservation", "create")}
    assert all(REFERENCE not in e.summary for e in entries)
    # The next search does not offer the same time again.
    assert meetings.find_proposals(search, now=NOW, limit=1)[0].starts_at == proposal.ends_at


def test_reference_is_hidden_from_non_participants(office, create_user):
    search = search_for(office, mode=MeetingMode.phone)
    key = meetings.find_proposals(search, now=NOW, limit=1)[0].key
    meeting = meetings.book_proposal(search, key, reference=REFERENCE, consent=consent_for(office), now=NOW)
    coordinator = create_user(role=Role.coordinator, agency=office["af"])
    assert meetings.reference_for(meeting, coordinator) is None
    assert meetings.reference_for(meeting, None) is None
    assert REFERENCE not in repr(meeting)


@pytest.mark.parametrize("change,code", [
    (dict(given=False), "no_consent"),
    (dict(given_on=None), "no_consent"),
    (dict(given_on=MONDAY + timedelta(days=1)), "consent_in_future"),
    (dict(agency_ids=set()), "consent_agencies"),
])
def test_booking_without_valid_consent_is_refused_and_nothing_is_saved(office, change, code):
    search = search_for(office)
    key = meetings.find_proposals(search, now=NOW, limit=1)[0].key
    with pytest.raises(meetings.TrepartssamtalRefused) as refused:
        meetings.book_proposal(search, key, reference=REFERENCE,
                               consent=consent_for(office, **change), now=NOW)
    assert refused.value.codes == [code]
    assert meeting_count() == 0
    assert db.session.scalar(select(func.count()).select_from(Reservation)) == 0


def test_video_meetings_need_a_link(office):
    search = search_for(office, mode=MeetingMode.video)
    key = meetings.find_proposals(search, now=NOW, limit=1)[0].key
    with pytest.raises(meetings.TrepartssamtalRefused):
        meetings.book_proposal(search, key, reference="AB-1", consent=consent_for(office),
                               video_link="javascript:alert(1)", now=NOW)
    meeting = meetings.book_proposal(search, key, reference="AB-1", consent=consent_for(office),
                                     video_link="https://meet.example.org/abc", now=NOW)
    assert meeting.reservation is None and meeting.video_link == "https://meet.example.org/abc"


def test_a_slot_taken_meanwhile_answers_slot_taken(office, create_user):
    search = search_for(office)
    proposal = meetings.find_proposals(search, now=NOW, limit=1)[0]
    outsider = create_user(agency=office["af"])
    book_room(proposal.room, outsider, proposal.starts_at, proposal.ends_at)
    with pytest.raises(meetings.SlotTaken):
        meetings.book_proposal(search, proposal.key, reference="AB-1", consent=consent_for(office), now=NOW)
    assert meeting_count() == 0


def test_forged_slots_are_refused(office):
    search = search_for(office)
    for key in ["nonsense", "20260202T0607-1", f"20260202T0200-{office['rooms']['small'].id}",
                f"20260202T0700-{office['rooms']['big'].id + 1000}"]:
        with pytest.raises(meetings.TrepartssamtalRefused):
            meetings.book_proposal(search, key, reference="AB-1", consent=consent_for(office), now=NOW)
    assert meeting_count() == 0


@pytest.mark.timeout(300)  # many requests or threads: slow on a busy machine
@pytest.mark.slow
@pytest.mark.parametrize("mode", [MeetingMode.on_site, MeetingMode.phone])
def test_two_users_booking_the_same_proposal_at_once_get_one_meeting(app, office, mode):
    ids = dict(sara=office["sara"].id, ali=office["ali"].id, site=office["site"].id,
               af=office["af"].id, kommun=office["kommun"].id)
    key = meetings.find_proposals(search_for(office, mode=mode), now=NOW, limit=1)[0].key
    db.session.commit()
    barrier, outcomes = threading.Barrier(2, timeout=60), []

    def attempt(booker_name):
        with app.app_context():
            sara, ali = db.session.get(User, ids["sara"]), db.session.get(User, ids["ali"])
            booker = sara if booker_name == "sara" else ali
            search = meetings.Search(participants=[sara, ali], booked_by=booker, first_day=MONDAY,
                                     last_day=MONDAY, mode=mode, buffer_minutes=0,
                                     site=db.session.get(type(office["site"]), ids["site"]))
            consent = meetings.ConsentInput(True, MONDAY, {ids["af"], ids["kommun"]})
            db.session.commit()  # SQLite: hold no lock while waiting for the other thread
            barrier.wait()
            try:
                with unit_of_work():
                    meetings.book_proposal(search, key, reference="AB-1", consent=consent, now=NOW)
                outcomes.append("booked")
            except meetings.SlotTaken:
                outcomes.append("taken")
            finally:
                db.session.remove()

    join_all(start_threads(attempt, [("sara",), ("ali",)]), 60, "two bookings of one proposal")
    assert sorted(outcomes) == ["booked", "taken"]
    assert meeting_count() == 1


# --- lifecycle ---------------------------------------------------------------------------------------

def booked_meeting(office, mode=MeetingMode.on_site, now=NOW):
    search = search_for(office, mode=mode)
    key = meetings.find_proposals(search, now=now, limit=1)[0].key
    return meetings.book_proposal(search, key, reference=REFERENCE, consent=consent_for(office), now=now)


def test_cancel_frees_the_room_and_outcomes_come_after_the_start(office, create_user):
    meeting = booked_meeting(office)
    with pytest.raises(meetings.TrepartssamtalRefused) as early:
        meetings.record_outcome(meeting, office["ali"], MeetingStatus.held, now=NOW)
    assert early.value.codes == ["not_started"]
    outsider = create_user(agency=office["af"])
    with pytest.raises(meetings.TrepartssamtalRefused):
        meetings.cancel_meeting(meeting, outsider, MeetingStatus.cancelled_by_staff, now=NOW)
    meetings.cancel_meeting(meeting, office["ali"], MeetingStatus.cancelled_by_individual, now=NOW)
    assert meeting.status == MeetingStatus.cancelled_by_individual
    assert all(o.state == OccurrenceState.cancelled for o in meeting.reservation.occurrences)
    later = meeting.ends_at + timedelta(minutes=1)
    meetings.record_outcome(meeting, office["sara"], MeetingStatus.cancelled_by_staff, now=later)
    assert meeting.status == MeetingStatus.cancelled_by_staff


def test_reschedule_moves_meeting_and_room_keeping_reference(office):
    meeting = booked_meeting(office)
    old_reservation_id = meeting.reservation_id
    search = meetings.search_for_meeting(meeting, office["sara"], MONDAY + timedelta(days=1),
                                         MONDAY + timedelta(days=1), 0)
    proposal = meetings.find_proposals(search, now=NOW, limit=1)[0]
    meetings.book_proposal(search, proposal.key, reference=None, consent=None, now=NOW)
    db.session.expire_all()
    meeting = db.session.get(Trepartssamtal, meeting.id)
    assert meeting.starts_at == local(MONDAY + timedelta(days=1), 8, 0)
    assert meeting.reservation_id != old_reservation_id
    assert db.session.get(Reservation, old_reservation_id).cancelled_at is not None
    assert meetings.reference_for(meeting, office["sara"]) == REFERENCE
    assert meeting.consent is not None


# --- retention and statistics --------------------------------------------------------------------------

def test_purge_erases_reference_and_consent_but_keeps_counts(office, app):
    meeting = booked_meeting(office)
    meetings.record_outcome(meeting, office["sara"], MeetingStatus.held, now=meeting.ends_at)
    before = meetings.statistics(MONDAY, MONDAY, "month")
    assert meetings.purge_references(now=meeting.ends_at + timedelta(days=89)) == 0
    assert meetings.purge_references(now=meeting.ends_at + timedelta(days=91)) == 1
    assert meetings.purge_references(now=meeting.ends_at + timedelta(days=92)) == 0  # idempotent
    db.session.expire_all()
    meeting = db.session.get(Trepartssamtal, meeting.id)
    assert meetings.reference_for(meeting, office["sara"]) is None
    assert meeting.consent is None and meeting.purged_at is not None
    assert db.session.scalar(select(func.count()).select_from(Consent)) == 0
    raw = db.session.execute(select(Trepartssamtal.__table__.c.reference)).scalars().all()
    assert raw == [None]
    assert meetings.statistics(MONDAY, MONDAY, "month") == before
    assert before[0].booked == 1 and before[0].held == 1


def test_purge_command(office, app):
    meeting = booked_meeting(office)
    result = app.test_cli_runner().invoke(args=["purge", "--days", "0"])
    assert result.exit_code == 0 and "1" in result.output
    db.session.expire_all()
    assert db.session.get(Trepartssamtal, meeting.id).purged_at is not None
    again = app.test_cli_runner().invoke(args=["purge", "--days", "0"])
    assert again.exit_code == 0 and "0" in again.output


def test_a_chart_total_holding_a_small_part_is_hidden():
    rows = [meetings.StatRow("2026-W06", MeetingMode.on_site, booked=9),
            meetings.StatRow("2026-W06", MeetingMode.phone, booked=2),
            meetings.StatRow("2026-W07", MeetingMode.on_site, booked=5, held=6)]
    bars = dict(meetings.chart_values(rows))
    assert bars["2026-W06"]["booked"] == meetings.ChartValue(0, "*", hidden=True)  # 11 - 9 = 2
    assert bars["2026-W07"]["booked"].label == "5" and bars["2026-W07"]["held"].height == 6


def test_statistics_per_week_month_agency_and_mode(office):
    first = booked_meeting(office)
    second = booked_meeting(office, mode=MeetingMode.phone)
    meetings.record_outcome(first, office["sara"], MeetingStatus.no_show, now=first.ends_at)
    meetings.cancel_meeting(second, office["ali"], MeetingStatus.cancelled_by_staff, now=NOW)
    by_week = meetings.statistics(MONDAY, MONDAY + timedelta(days=6), "week")
    assert [(r.group, r.mode, r.booked, r.held, r.no_show, r.cancelled) for r in by_week] == [
        ("2026-W06", MeetingMode.on_site, 1, 0, 1, 0), ("2026-W06", MeetingMode.phone, 1, 0, 0, 1)]
    by_agency = meetings.statistics(MONDAY, MONDAY, "agency")
    assert {(r.group, r.mode) for r in by_agency} == {("AF", MeetingMode.on_site), ("AF", MeetingMode.phone),
                                                      ("Kommunen", MeetingMode.on_site),
                                                      ("Kommunen", MeetingMode.phone)}
    # the chart: a total of 1-4 is "<5" drawn at 5; a total holding a small part is hidden
    bars = dict(meetings.chart_values(by_week))["2026-W06"]
    assert (bars["booked"].label, bars["booked"].height) == ("<5", 5)
    assert (bars["held"].label, bars["held"].height) == ("0", 0)
    exported = meetings.statistics_rows(by_week)
    assert ["2026-W06", MeetingMode.phone, 1, 0, 0, 1] in exported
    assert REFERENCE not in repr(exported)
