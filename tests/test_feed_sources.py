"""What the features put into the feeds (office/feeds/feature_sources.py, seminars/calendar.py).

Each feed is expanded like a subscribed client (recurring-ical-events; ical.js and vobject
for the trickier ones) over a window spanning both 2026 daylight-saving changes, and must
give exactly what the database says, at the same local wall-clock times.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from office import feeds
from office.accounts.models import Role
from office.allocations import rules as allocation_rules
from office.availability.models import WorkingHours
from office.booking import rules as booking
from office.core.extensions import db
from office.meetings import rules as meetings
from office.meetings.models import Attendance, MeetingMember
from office.premises.models import ResourceKind
from office.trepartssamtal import rules as trepart
from office.trepartssamtal.models import MeetingMode, MeetingStatus
from seminars import planning
from seminars import registration as seminar_rules
from seminars.calendar import seminar_ics
from seminars.models import Audience, RegistrationStatus, SeminarDay, VenueKind
from tests.seminar_factories import make_seminar
from tests.test_feeds import (
    STOCKHOLM,
    WINDOW,
    expanded_by_ical_js,
    expanded_by_recurring_ical_events,
    expanded_by_vobject,
    ical_js_occurrences,
    new_token,
    parse,
)

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`

NOW = datetime(2026, 1, 5, 6, 0, tzinfo=timezone.utc)
REFERENCE = "QX-4711"


@pytest.fixture(autouse=True)
def fresh_caches():
    feeds.clear_caches()
    yield
    feeds.clear_caches()


@pytest.fixture
def place(create_agency, create_user, create_site, create_resource):
    af, kommun = create_agency(name="Arbetsförmedlingen", short_name="AF"), \
        create_agency(name="Oxelösunds kommun", short_name="Kommunen")
    site = create_site(name="Drivhuset", opens=time(7, 0), closes=time(18, 0), weekdays=range(7))
    site.address = "Järnvägsgatan 1, Oxelösund"
    room = create_resource(site=site, name="Samtalsrum Ö", capacity=12, is_conversation_room=True)
    desk = create_resource(site=site, name="Skrivbord 1", kind=ResourceKind.desk, capacity=1)
    coordinator = create_user(role=Role.coordinator, agency=kommun, name="Kim Koordinator")
    people = {name: create_user(agency=agency, name=name) for name, agency in (
        ("Sara Berg", af), ("Ali Yusuf", kommun), ("Åsa Öberg", af), ("Per Syv", kommun))}
    for person in people.values():
        for weekday in range(7):
            db.session.add(WorkingHours(user_id=person.id, weekday=weekday, starts=time(0, 0),
                                        ends=time(23, 59)))
    db.session.commit()
    return dict(af=af, kommun=kommun, site=site, room=room, desk=desk,
                coordinator=coordinator, **people)


def personal(user) -> feeds.FeedSubject:
    return feeds.FeedSubject("personal", None, user.id, "sv")


def local_pair(start: datetime, end: datetime) -> tuple:
    return (start.astimezone(STOCKHOLM).replace(tzinfo=None),
            end.astimezone(STOCKHOLM).replace(tzinfo=None))


def uids(body: bytes) -> list[str]:
    return [str(e["UID"]).split("@")[0] for e in parse(body).walk("VEVENT")]


# --- meeting series -----------------------------------------------------------------------

@pytest.fixture
def series(place):
    """Handläggargruppen every Thursday March–November: every week, odd, even and monthly
    members; one meeting cancelled, one moved (across the autumn change)."""
    series = meetings.create_meeting_series(
        name="Handläggargruppen", resource=place["room"], first_day=date(2026, 3, 5),
        start_time=time(9, 0), end_time=time(10, 30),
        rrule=meetings.weekly_rule(3, date(2026, 11, 26)), actor=place["coordinator"],
        members=[(place["Sara Berg"], Attendance.every_meeting),
                 (place["Ali Yusuf"], Attendance.odd_weeks),
                 (place["Åsa Öberg"], Attendance.even_weeks),
                 (place["Per Syv"], Attendance.monthly)])
    by_day = {o.original_start.astimezone(STOCKHOLM).date(): o
              for o in series.reservation.occurrences}
    booking.cancel_occurrence(by_day[date(2026, 4, 2)], place["coordinator"])  # first in April
    booking.change_occurrence(by_day[date(2026, 10, 29)], place["coordinator"],
                              day=date(2026, 10, 29), start_time=time(13, 0),
                              end_time=time(14, 30), now=NOW)
    db.session.commit()  # the test owns the transaction; the feed reads on its own connection
    return series


def attended(series, user) -> set[tuple]:
    """From office.meetings.rules.meeting_dates: the meetings this user attends in the window."""
    db.session.expire_all()
    return {local_pair(m.occurrence.starts_at, m.occurrence.ends_at)
            for m in meetings.meeting_dates(series, date(2026, 3, 1), date(2026, 11, 30))
            if any(p.id == user.id for p in m.attendees)
            and WINDOW[0] <= m.occurrence.starts_at < WINDOW[1]}


@pytest.mark.parametrize("who", ["Sara Berg", "Ali Yusuf", "Åsa Öberg", "Per Syv"])
def test_members_feed_holds_exactly_the_meetings_they_attend(place, series, who):
    body = feeds.render_feed(personal(place[who]))
    expected = attended(series, place[who])
    assert len(expected) >= 8
    assert expanded_by_recurring_ical_events(body) == expected
    assert expanded_by_vobject(body) == expected
    (master,) = [e for e in parse(body).walk("VEVENT") if "RRULE" in e]
    assert str(master["SUMMARY"]) == "Handläggargruppen"
    assert str(master["URL"]).endswith(f"/meetings/series/{series.id}")


def test_ical_js_agrees_for_a_monthly_member(place, series):
    body = feeds.render_feed(personal(place["Per Syv"]))
    result = expanded_by_ical_js(body)
    assert ical_js_occurrences(result) == attended(series, place["Per Syv"])
    # 2 April was cancelled, so 9 April is April's extended session; the moved meeting of
    # 29 October (after the autumn change) keeps its 13:00 wall-clock time.
    assert (datetime(2026, 4, 9, 9, 0), datetime(2026, 4, 9, 10, 30)) in ical_js_occurrences(result)
    assert (datetime(2026, 10, 29, 13, 0), datetime(2026, 10, 29, 14, 30)) not in \
        ical_js_occurrences(result)  # not the first Thursday of October: not his


def test_booker_sees_the_whole_booking_once_and_a_member_booker_only_their_meetings(place, series):
    coordinator = place["coordinator"]
    body = feeds.render_feed(personal(coordinator))
    masters = [e for e in parse(body).walk("VEVENT") if "RECURRENCE-ID" not in e]
    assert [str(e["UID"]).split("@")[0] for e in masters] == [f"reservation-{series.reservation_id}"]
    db.session.add(MeetingMember(series=series, user=coordinator, attendance=Attendance.odd_weeks))
    db.session.commit()
    body = feeds.render_feed(personal(coordinator))
    assert f"reservation-{series.reservation_id}" not in uids(body)
    assert expanded_by_recurring_ical_events(body) == attended(series, coordinator)


def test_a_removed_member_s_conditional_polls_stop_at_once(client, place, series):
    token = new_token(place["Ali Yusuf"], "series", series.id)
    url = f"/feeds/{token}.ics"
    etag = client.get(url).headers["ETag"]
    for _ in range(3):  # the link's row and stamps in one statement, then kept while unchanged
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    member = next(m for m in series.members if m.user_id == place["Ali Yusuf"].id)
    db.session.delete(member)
    db.session.commit()
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 410


def test_series_feed_for_members_and_coordinator_only(client, place, series, create_user):
    with pytest.raises(PermissionError):
        feeds.issue_token(create_user(agency=place["af"]), "series", series.id)
    token = new_token(place["Ali Yusuf"], "series", series.id)
    body = client.get(f"/feeds/{token}.ics").get_data()
    expected = {local_pair(o.starts_at, o.ends_at) for o in series.reservation.occurrences
                if o.is_active and WINDOW[0] <= o.starts_at < WINDOW[1]}
    assert expanded_by_recurring_ical_events(body) == expected
    assert parse(body)["X-WR-CALNAME"] == "Samlokal: Handläggargruppen"
    assert new_token(place["coordinator"], "series", series.id)  # the coordinator may
    member = next(m for m in series.members if m.user_id == place["Ali Yusuf"].id)
    db.session.delete(member)
    db.session.commit()
    assert client.get(f"/feeds/{token}.ics").status_code == 410  # removed: the link stops


def test_series_page_makes_a_link_for_a_member(auth, place, series, create_user):
    auth.login(place["Sara Berg"])
    page = auth.client.get(f"/meetings/series/{series.id}").get_data(as_text=True)
    assert f"/meetings/series/{series.id}/feed" in page
    response = auth.post(f"/meetings/series/{series.id}/feed", {})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "webcal://" in html
    (row,) = feeds.active_tokens(place["Sara Berg"])
    assert (row.kind, row.target_id) == ("series", series.id)
    auth.login(create_user(agency=place["af"]))
    assert "/feed\"" not in auth.client.get(f"/meetings/series/{series.id}").get_data(as_text=True)
    assert auth.post(f"/meetings/series/{series.id}/feed", {}).status_code == 403


# --- trepartssamtal -----------------------------------------------------------------------

MONDAY = date(2026, 3, 23)  # the week before the spring change


def book_trepartssamtal(place, mode=MeetingMode.on_site, *, day=MONDAY, reference=REFERENCE):
    search = trepart.Search(participants=[place["Sara Berg"], place["Ali Yusuf"]],
                            booked_by=place["Sara Berg"], first_day=day, last_day=day,
                            site=place["site"], buffer_minutes=0, mode=mode)
    proposal = trepart.find_proposals(search, now=NOW)[0]
    consent = trepart.ConsentInput(given=True, given_on=NOW.date(),
                                   agency_ids={place["af"].id, place["kommun"].id})
    meeting = trepart.book_proposal(search, proposal.key, reference=reference, consent=consent,
                                    video_link="https://video.example/rum-1"
                                    if mode == MeetingMode.video else None, now=NOW)
    db.session.commit()  # the test owns the transaction; the feed reads on its own connection
    return meeting


def test_participants_see_trepartssamtal_with_time_and_place_only(client, place):
    on_site = book_trepartssamtal(place)
    phone = book_trepartssamtal(place, MeetingMode.phone, day=date(2026, 3, 30), reference="QZ-8132")
    video = book_trepartssamtal(place, MeetingMode.video, day=date(2026, 10, 26), reference="QZ-8133")
    for person in (place["Sara Berg"], place["Ali Yusuf"]):
        body = client.get(f"/feeds/{new_token(person)}.ics").get_data()
        for secret in (b"QX-4711", b"QZ-8132", b"QZ-8133", b"video.example"):
            assert secret not in body
        events = {str(e["UID"]).split("@")[0]: e for e in parse(body).walk("VEVENT")}
        # The booker (a participant) gets one event per meeting, not the room booking too.
        assert set(events) == {f"trepartssamtal-{m.id}" for m in (on_site, phone, video)}
        for event in events.values():
            assert str(event["SUMMARY"]) == "Trepartssamtal" and "DESCRIPTION" not in event
        assert str(events[f"trepartssamtal-{on_site.id}"]["LOCATION"]).startswith("Samtalsrum Ö, Drivhuset")
        assert str(events[f"trepartssamtal-{phone.id}"]["LOCATION"]) == "Per telefon"
        assert str(events[f"trepartssamtal-{video.id}"]["LOCATION"]) == "Videomöte"
        assert expanded_by_recurring_ical_events(body) == {
            local_pair(m.starts_at, m.ends_at) for m in (on_site, phone, video)}
        assert ical_js_occurrences(expanded_by_ical_js(body)) == {
            local_pair(m.starts_at, m.ends_at) for m in (on_site, phone, video)}
    assert b"Trepartssamtal" not in feeds.render_feed(personal(place["Åsa Öberg"]))


def test_rescheduled_and_cancelled_trepartssamtal_change_sequence_and_status(place):
    meeting = book_trepartssamtal(place)
    subject = personal(place["Ali Yusuf"])
    (event,) = parse(feeds.render_feed(subject)).walk("VEVENT")
    assert event["SEQUENCE"] == 0
    search = trepart.search_for_meeting(meeting, place["Sara Berg"], MONDAY + timedelta(days=1),
                                        MONDAY + timedelta(days=1), 0)
    proposal = trepart.find_proposals(search, now=NOW)[0]
    trepart.book_proposal(search, proposal.key, reference=None, consent=None, now=NOW)
    db.session.commit()
    (event,) = parse(feeds.render_feed(subject)).walk("VEVENT")
    assert event["SEQUENCE"] == 1 and event["DTSTART"].dt.date() == MONDAY + timedelta(days=1)
    trepart.cancel_meeting(meeting, place["Ali Yusuf"], MeetingStatus.cancelled_by_staff, now=NOW)
    db.session.commit()
    (event,) = parse(feeds.render_feed(subject)).walk("VEVENT")
    assert event["SEQUENCE"] == 2 and str(event["STATUS"]) == "CANCELLED"
    assert event["LAST-MODIFIED"].dt == meeting.updated_at.replace(microsecond=0)


# --- allocations --------------------------------------------------------------------------

def test_agency_feed_holds_its_allocated_windows_without_released_ones(client, place):
    desk, af = place["desk"], place["af"]
    (allocation,) = allocation_rules.create_allocations(allocation_rules.AllocationSpec(
        agency=af, resources=[desk], weekdays=[1, 3], start_time=time(8), end_time=time(12),
        first_day=date(2026, 3, 2), last_day=date(2026, 11, 27),
        pattern=allocation_rules.WeekPattern.odd_weeks), place["coordinator"])
    allocation_rules.release_allocation(allocation, place["coordinator"], date(2026, 3, 24),
                                        now=NOW)
    body = client.get(f"/feeds/{new_token(place['Sara Berg'], 'agency', af.id)}.ics").get_data()
    windows = allocation_rules.allocation_windows(place["site"], [desk.id], date(2026, 3, 1),
                                                  date(2026, 11, 30), now=NOW)
    expected = {local_pair(w.starts_at, w.ends_at) for w in windows
                if (w.allocation.id, w.day) != (allocation.id, date(2026, 3, 24))}
    assert len(expected) > 30
    assert (datetime(2026, 3, 31, 8), datetime(2026, 3, 31, 12)) not in expected | \
        expanded_by_recurring_ical_events(body)
    assert expanded_by_recurring_ical_events(body) == expected
    summaries = {str(e["SUMMARY"]) for e in parse(body).walk("VEVENT")}
    assert summaries == {"Tilldelad: Skrivbord 1"}
    assert all(str(e["TRANSP"]) == "TRANSPARENT" for e in parse(body).walk("VEVENT"))
    other = feeds.render_feed(feeds.FeedSubject("agency", place["kommun"].id, None, "sv"))
    assert parse(other).walk("VEVENT") == []


# --- seminars -----------------------------------------------------------------------------

def test_registered_seminars_in_the_personal_feed_and_multi_day_right(client, place):
    training = make_seminar(place["coordinator"], audience=Audience.internal,
                            day=date(2026, 10, 23), title="Supported Employment",
                            start=time(9, 0), end=time(16, 0), capacity=1, publish=False,
                            venue=VenueKind.hybrid, room=place["room"])
    training.online_url = "https://meet.example/se"
    for day in (date(2026, 10, 26), date(2026, 10, 27)):
        training.days.append(SeminarDay(day=day, start_time=time(8, 30), end_time=time(15, 0),
                                         resource_id=place["room"].id))
    db.session.commit()
    planning.publish(training, place["coordinator"])
    seminar_rules.register_staff(training.id, place["Sara Berg"])
    waiting = seminar_rules.register_staff(training.id, place["Ali Yusuf"])
    assert waiting.registration.status == RegistrationStatus.waiting

    body = client.get(f"/feeds/{new_token(place['Sara Berg'])}.ics").get_data()
    expected = {(datetime(2026, 10, 23, 9), datetime(2026, 10, 23, 16)),
                (datetime(2026, 10, 26, 8, 30), datetime(2026, 10, 26, 15)),
                (datetime(2026, 10, 27, 8, 30), datetime(2026, 10, 27, 15))}
    assert expanded_by_recurring_ical_events(body) == expected
    assert ical_js_occurrences(expanded_by_ical_js(body)) == expected
    assert b"meet.example/se" in body  # a registered member of staff sees it on the page too
    assert b"Supported Employment" not in feeds.render_feed(personal(place["Ali Yusuf"]))
    # The mail's file comes from the same builder: same events, plus METHOD:PUBLISH.
    mail = seminar_ics(training, "https://x.example/s").encode()
    assert uids(mail) == uids(body) and b"METHOD:PUBLISH" in mail and b"METHOD" not in body


def test_public_feed_and_one_seminar_files(client, auth, place):
    public = make_seminar(place["coordinator"], day=date(2026, 3, 27), start=time(13), end=time(16),
                          title="Arbetsgivarforum", venue=VenueKind.online, publish=False)
    public.online_url = "https://meet.example/forum"
    db.session.commit()
    planning.publish(public, place["coordinator"])
    internal = make_seminar(place["coordinator"], audience=Audience.internal,
                            day=date(2026, 3, 30), title="Intern utbildning")
    draft = make_seminar(place["coordinator"], publish=False, title="Utkast")

    body = client.get("/feeds/seminars.ics").get_data()
    assert [str(e["SUMMARY"]) for e in parse(body).walk("VEVENT")] == ["Arbetsgivarforum"]
    assert b"meet.example" not in body
    assert expanded_by_recurring_ical_events(body) == {
        (datetime(2026, 3, 27, 13), datetime(2026, 3, 27, 16))}

    one = client.get(f"/feeds/seminars/{public.id}.ics")
    assert one.status_code == 200 and b"meet.example" not in one.get_data()
    assert parse(one.get_data())["X-WR-CALNAME"] == "Samlokal: Arbetsgivarforum"
    assert client.get(f"/feeds/seminars/{internal.id}.ics").status_code == 302  # to login
    assert client.get(f"/feeds/seminars/{draft.id}.ics").status_code == 404
    auth.login(place["Sara Berg"])
    assert uids(auth.client.get(f"/feeds/seminars/{internal.id}.ics").get_data()) == [
        f"seminar-{internal.id}-2026-03-30"]
    assert auth.client.get(f"/feeds/seminars/{draft.id}.ics").status_code == 404
    page = auth.client.get(f"/seminars/{internal.id}").get_data(as_text=True)
    assert f"/feeds/seminars/{internal.id}.ics" in page

    guest = seminar_rules.register_guest(public.id, name="Gäst", organisation="Företaget AB",
                                         email="gast@example.se")
    page = client.get(f"/seminars/r/{guest.token}").get_data(as_text=True)
    assert f"/feeds/seminars/{public.id}.ics" in page
    assert f"/feeds/seminars/{public.id}.ics" in client.get(
        f"/seminars/public/{public.id}").get_data(as_text=True)

    planning.cancel_seminar(public, place["coordinator"])
    (event,) = parse(client.get("/feeds/seminars.ics").get_data()).walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"


# --- the caches stay correct ----------------------------------------------------------------

def test_cached_feed_equals_a_fresh_render_after_each_kind_of_change(client, place, series):
    sara = place["Sara Berg"]
    seminar = make_seminar(place["coordinator"], audience=Audience.internal,
                           day=date(2026, 5, 12), title="Kick-off")
    meeting = book_trepartssamtal(place)
    url = f"/feeds/{new_token(sara)}.ics"
    subject = personal(sara)
    bodies = {}  # ETag -> the body served with it

    def check(step):
        response = client.get(url)
        body, etag = response.get_data(), response.headers["ETag"]
        assert body == feeds.render_feed(subject, use_cache=False), step
        assert bodies.setdefault(etag, body) == body, step  # an ETag never names two bodies
        for old in bodies:  # no stale 304 for an earlier version
            expected = 304 if old == etag else 200
            assert client.get(url, headers={"If-None-Match": old}).status_code == expected, step

    check(1)
    occurrences = sorted(series.reservation.occurrences, key=lambda o: o.original_start)
    booking.cancel_occurrence(occurrences[5], place["coordinator"])
    check(2)
    booking.change_occurrence(occurrences[6], place["coordinator"], day=occurrences[6].starts_at
                              .astimezone(STOCKHOLM).date(), start_time=time(11), end_time=time(12),
                              now=NOW)
    check(3)
    registration = seminar_rules.register_staff(seminar.id, sara).registration
    check(4)
    seminar_rules.cancel_registration(registration)
    check(5)
    trepart.cancel_meeting(meeting, sara, MeetingStatus.cancelled_by_individual, now=NOW)
    check(6)
    member = next(m for m in series.members if m.user_id == sara.id)
    member.attendance = Attendance.even_weeks  # no change time: the stamp still sees it
    db.session.commit()
    check(7)


def test_feeds_stay_fast_on_the_304_path_with_every_source(client, place, series):
    url = f"/feeds/{new_token(place['Per Syv'])}.ics"
    etag = client.get(url).headers["ETag"]
    feeds.clear_caches()
    assert client.get(url, headers={"If-None-Match": etag}).status == "304 Not Modified"
    assert len(feeds.BODY_CACHE) == 0 and len(feeds.EVENT_CACHE) == 0

