"""Calendar feeds (office/feeds/core.py, office/feeds/views.py): private links, standards, HTTP.

Feeds are read back by independent parsers: the icalendar library, vobject, and Mozilla's
ical.js (Thunderbird's parser, vendored in tests/vendor, run with node);
recurring-ical-events expands them like a subscribed client.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import shutil
import subprocess
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
import sqlalchemy as sa
import vobject
from sqlalchemy import select

from office import feeds
from office.accounts.models import Role, User
from office.booking import rules as booking_rules
from office.booking.models import (
    OccurrenceState,
    Reservation,
    ReservationKind,
    ReservationOccurrence,
)
from office.booking.rules import BookingRequest
from office.core import clock
from office.core.extensions import db
from office.feeds import registry
from office.feeds.models import FeedToken
from office.feeds.tokens import MAX_LINKS_PER_FEED

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 1, 5, 6, 0, tzinfo=timezone.utc)
# Spans both daylight-saving changes of 2026 (29 March, 25 October).
WINDOW = (datetime(2026, 3, 1, tzinfo=STOCKHOLM), datetime(2026, 12, 1, tzinfo=STOCKHOLM))
HERE = Path(__file__).parent
NODE = shutil.which("node")
INDIVIDUAL = "Nora Nilsson 19990101-1234"


class _CommittedBooking:
    """The booking rules as a request runs them: each change committed (rules never commit),
    so the feed's own connection sees it."""

    def __getattr__(self, name):
        rule = getattr(booking_rules, name)
        if not callable(rule) or isinstance(rule, type):
            return rule

        def run(*args, **kwargs):
            result = rule(*args, **kwargs)
            db.session.commit()
            return result
        return run


booking = _CommittedBooking()


@pytest.fixture(autouse=True)
def fresh_caches():
    feeds.clear_caches()
    yield
    feeds.clear_caches()


@pytest.fixture
def room(create_resource, create_site):
    site = create_site(name="Drivhuset", opens=time(7, 0), closes=time(18, 0), weekdays=range(7))
    site.address = "Järnvägsgatan 1, Oxelösund"
    db.session.commit()
    return create_resource(site=site, name="Samtalsrum Ö", capacity=4)


@pytest.fixture
def staff(create_user, create_agency):
    agency = create_agency(name="Arbetsförmedlingen", short_name="AF")
    return create_user(role=Role.staff, agency=agency, name="Åsa Öberg")


def book(room, user, day, start, end, **fields) -> Reservation:
    fields.setdefault("title", "Möte om språkstöd")
    reservation = booking.book(BookingRequest(resource=room, first_day=day, start_time=start,
                                              end_time=end, booked_by=user, **fields),
                               now=NOW, allow_partial=True)
    db.session.commit()  # as the request would: the feeds read through their own connection
    return reservation


def new_token(user, kind="personal", target_id=None, name=None) -> str:
    token = feeds.issue_token(user, kind, target_id, name)
    db.session.commit()
    return token


def parse(body: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(body)


def exdates_of(event) -> list:
    found = event.get("EXDATE")
    return [d.dt for prop in (found if isinstance(found, list) else [found]) for d in prop.dts]


def db_occurrences(*reservations) -> set[tuple]:
    """(local start, local end) of every active occurrence in the window, from the database."""
    ids = [r.id for r in reservations]
    rows = db.session.scalars(select(ReservationOccurrence).where(
        ReservationOccurrence.reservation_id.in_(ids),
        ReservationOccurrence.state == OccurrenceState.active)).all()
    return {(o.starts_at.astimezone(STOCKHOLM).replace(tzinfo=None),
             o.ends_at.astimezone(STOCKHOLM).replace(tzinfo=None)) for o in rows
            if WINDOW[0] <= o.starts_at < WINDOW[1]}


def expanded_by_recurring_ical_events(body: bytes) -> set[tuple]:
    events = recurring_ical_events.of(parse(body)).between(*WINDOW)
    result = set()
    for event in events:
        if str(event.get("STATUS", "CONFIRMED")) == "CANCELLED":
            continue
        start, end = event["DTSTART"].dt, event["DTEND"].dt
        assert start.tzinfo is not None and str(start.tzinfo) == "Europe/Stockholm"
        result.add((start.replace(tzinfo=None), end.replace(tzinfo=None)))
    return result


def expanded_by_ical_js(body: bytes) -> dict:
    if NODE is None:
        pytest.fail("node is needed for the ical.js check (.ci/test installs it)")
    completed = subprocess.run(
        [NODE, str(HERE / "ical_js_expand.mjs"), "2026-03-01T00:00:00", "2026-12-01T00:00:00"],
        input=body, capture_output=True, check=True, timeout=60,
    )
    return json.loads(completed.stdout)


def ical_js_occurrences(result: dict) -> set[tuple]:
    return {(datetime.fromisoformat(o["start"]), datetime.fromisoformat(o["end"]))
            for o in result["occurrences"] if o["status"] != "CANCELLED"}


def expanded_by_vobject(body: bytes) -> set[tuple]:
    calendar = vobject.readOne(body.decode("utf-8"))
    overrides = {}
    masters = []
    for event in calendar.vevent_list:
        if hasattr(event, "recurrence_id"):
            overrides[(event.uid.value, event.recurrence_id.value)] = event
        else:
            masters.append(event)
    result = set()
    for event in masters:
        if getattr(event, "status", None) and event.status.value == "CANCELLED":
            continue
        length = event.dtend.value - event.dtstart.value
        starts = event.getrruleset() if hasattr(event, "rrule") else [event.dtstart.value]
        for start in starts:
            override = overrides.get((event.uid.value, start))
            if override is not None:
                start, end = override.dtstart.value, override.dtend.value
            else:
                end = start + length
            if WINDOW[0] <= start < WINDOW[1]:
                result.add((start.astimezone(STOCKHOLM).replace(tzinfo=None),
                            end.astimezone(STOCKHOLM).replace(tzinfo=None)))
    return result


# --- tokens -------------------------------------------------------------------------

def test_token_is_random_long_and_stored_only_as_its_hash(staff):
    token = new_token(staff)
    assert len(token) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", token)  # 32 bytes = 256 bits
    row = db.session.scalars(select(FeedToken)).one()
    assert row.token_hash == feeds.hash_token(token) and token not in row.token_hash
    assert feeds.lookup_token(token).subject.user_id == staff.id
    assert new_token(staff) != token


def test_unknown_token_is_404_and_revoked_is_410(client, staff):
    token = new_token(staff)
    assert client.get(f"/feeds/{token}.ics").status_code == 200
    assert client.get(f"/feeds/{'x' * 43}.ics").status_code == 404
    assert client.get("/feeds/short.ics").status_code == 404
    feeds.revoke_token(db.session.scalars(select(FeedToken)).one())
    db.session.commit()
    assert client.get(f"/feeds/{token}.ics").status_code == 410
    # Also when the client asks conditionally (the 304 fast path must not answer).
    assert client.get(f"/feeds/{token}.ics", headers={"If-None-Match": "*"}).status_code == 410


def test_renewing_a_link_stops_the_old_one_at_once(client, staff):
    old = new_token(staff)
    etag = client.get(f"/feeds/{old}.ics").headers["ETag"]
    row = db.session.scalars(select(FeedToken)).one()
    new = feeds.replace_token(staff, row)
    db.session.commit()
    assert client.get(f"/feeds/{old}.ics", headers={"If-None-Match": etag}).status_code == 410
    assert client.get(f"/feeds/{new}.ics").status_code == 200


def test_a_second_link_to_a_feed_leaves_the_first_working(client, staff):
    phone = new_token(staff, name="Telefon")
    laptop = new_token(staff, name="Jobbdator")
    assert client.get(f"/feeds/{phone}.ics").status_code == 200
    assert client.get(f"/feeds/{laptop}.ics").status_code == 200
    assert sorted(t.name for t in feeds.active_tokens(staff)) == ["Jobbdator", "Telefon"]


def test_deactivated_user_feeds_are_gone(client, staff):
    token = new_token(staff)
    staff.active = False
    db.session.commit()
    assert client.get(f"/feeds/{token}.ics").status_code == 410


def _a_link_polled_three_times(client, staff, room) -> tuple[str, str, str]:
    """A link to a feed with one booking, fetched and then polled conditionally three
    times (each a 304): its token, URL and ETag."""
    book(room, staff, date(2026, 3, 3), time(9, 0), time(10, 0))
    token = new_token(staff)
    url = f"/feeds/{token}.ics"
    etag = client.get(url).headers["ETag"]
    for _ in range(3):
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    return token, url, etag


@pytest.mark.parametrize("stop", ["revoke", "deactivate"])
def test_a_link_polled_before_still_stops_at_once(client, staff, room, stop):
    # From the second conditional poll on, the process knows the link: its row and the
    # feed's stamps are read in one statement. What the row says still decides at once.
    token, url, etag = _a_link_polled_three_times(client, staff, room)
    assert feeds.hash_token(token) in feeds.tokens._KNOWN
    book(room, staff, date(2026, 3, 4), time(9, 0), time(10, 0))
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    etag = changed.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    if stop == "revoke":
        feeds.revoke_token(db.session.scalars(select(FeedToken)).one())
    else:
        staff.active = False
    db.session.commit()
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 410


def _statements_of_polls(monkeypatch) -> list:
    """The raw statements the feed reads run from now on (office/feeds/reader.py)."""
    from office.feeds import reader

    ran = []
    fetch = reader._fetch

    def counted(connection, sql, args):
        ran.append(sql)
        return fetch(connection, sql, args)

    monkeypatch.setattr(reader, "_fetch", counted)
    return ran


@pytest.mark.parametrize("stop", ["revoke", "deactivate"])
def test_a_commit_from_another_connection_is_seen_by_the_next_poll(
        client, staff, room, stop, monkeypatch):
    # While nothing was committed since a link's last poll, the poll answers from what that
    # poll read (SQLite says so in one pragma); a commit anywhere ends that at once.
    token, url, etag = _a_link_polled_three_times(client, staff, room)
    ran = _statements_of_polls(monkeypatch)
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    if db.engine.dialect.name == "sqlite":
        assert ran == ["PRAGMA data_version"]  # the link's row and stamps are not read again
    staff_id = staff.id
    db.session.commit()  # the test's own session holds no lock while another one writes
    other = sa.create_engine(db.engine.url)  # another worker's connection
    try:
        with other.begin() as connection:
            if stop == "revoke":
                connection.execute(sa.update(FeedToken).values(revoked_at=NOW))
            else:
                connection.execute(sa.update(User).where(User.id == staff_id)
                                   .values(active=False))
    finally:
        other.dispose()
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 410


def test_a_poll_after_the_cutoff_moved_reads_the_feed_again(client, staff, room):
    # No commit, but time moves: a cancelled booking leaves the feed 30 days on.
    reservation = book(room, staff, date(2026, 3, 3), time(9, 0), time(10, 0))
    booking.cancel_reservation(reservation, staff)
    token = new_token(staff)
    url = f"/feeds/{token}.ics"
    with clock.travel_to(reservation.cancelled_at + timedelta(days=29)):
        etag = client.get(url).headers["ETag"]
        for _ in range(3):
            assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    with clock.travel_to(reservation.cancelled_at + timedelta(days=31)):
        later = client.get(url, headers={"If-None-Match": etag})
    assert later.status_code == 200 and later.headers["ETag"] != etag
    assert parse(later.data).walk("VEVENT") == []


def test_agency_feed_only_for_own_agency_unless_coordinator(staff, create_user, create_agency):
    other = create_agency()
    with pytest.raises(PermissionError):
        feeds.issue_token(staff, "agency", other.id)
    coordinator = create_user(role=Role.coordinator)
    assert feeds.issue_token(coordinator, "agency", other.id)
    assert feeds.issue_token(staff, "agency", staff.agency_id)


def test_tokens_never_reach_the_log(client, staff, caplog, monkeypatch):
    # Alembic's fileConfig (run by the migrations fixture) disables existing loggers.
    monkeypatch.setattr(logging.getLogger("samlokal.request"), "disabled", False)
    token = new_token(staff)
    with caplog.at_level(logging.INFO):
        etag = client.get(f"/feeds/{token}.ics").headers["ETag"]
        client.get(f"/feeds/{token}.ics", headers={"If-None-Match": etag})
        client.get(f"/feeds/{token[:-1]}A.ics")
        client.get(f"/feeds/{token}.ics?x=1", headers={"If-Modified-Since": "bad"})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert '"route": "/feeds/<token>.ics"' in text and '"status": 304' in text
    assert token not in text and token[:20] not in text


# --- the page -------------------------------------------------------------------------

def test_page_needs_login_and_shows_a_new_link_once(client, auth, staff, room, app):
    assert client.get("/feeds/").status_code == 302
    auth.login(staff)
    page = client.get("/feeds/").get_data(as_text=True)
    assert "Kalenderflöden" in page and 'href="/feeds/"' in page  # nav item
    response = auth.post("/feeds/", {"prefix": "personal", "personal-kind": "personal"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    base = app.config["BASE_URL"]
    https = re.search(rf'value="({re.escape(base)}/feeds/([A-Za-z0-9_-]+)\.ics)"', html)
    assert https, html
    token = https.group(2)
    host = base.split("://", 1)[1]
    assert f'value="webcal://{host}/feeds/{token}.ics"' in html
    assert 'data-copy-target="new-link-https"' in html
    for client_name in ("Outlook", "Google", "Apple", "Thunderbird"):
        assert client_name in html
    assert client.get(f"/feeds/{token}.ics").status_code == 200
    assert token not in client.get("/feeds/").get_data(as_text=True)


def test_page_creates_resource_feed_and_revokes_and_regenerates(client, auth, staff, room):
    auth.login(staff)
    html = auth.post("/feeds/", {"prefix": "resource", "resource-kind": "resource",
                                 "resource-target_id": str(room.id)}).get_data(as_text=True)
    token = re.search(r"/feeds/([A-Za-z0-9_-]{43,})\.ics", html).group(1)
    row = db.session.scalars(select(FeedToken)).one()
    assert (row.kind, row.target_id) == ("resource", room.id)
    html = auth.post(f"/feeds/{row.id}/regenerate").get_data(as_text=True)
    renewed = re.search(r"/feeds/([A-Za-z0-9_-]{43,})\.ics", html).group(1)
    assert client.get(f"/feeds/{token}.ics").status_code == 410
    assert client.get(f"/feeds/{renewed}.ics").status_code == 200
    current = db.session.scalars(select(FeedToken).where(FeedToken.revoked_at.is_(None))).one()
    auth.post(f"/feeds/{current.id}/revoke")
    assert client.get(f"/feeds/{renewed}.ics").status_code == 410


def test_cannot_revoke_someone_elses_link_or_feed_another_agency(client, auth, staff,
                                                                  create_user, create_agency):
    other_user = create_user()
    new_token(other_user)
    row = db.session.scalars(select(FeedToken)).one()
    auth.login(staff)
    assert auth.post(f"/feeds/{row.id}/revoke").status_code == 404
    assert db.session.get(FeedToken, row.id).revoked_at is None
    other_agency = create_agency()
    response = auth.post("/feeds/", {"prefix": "agency", "agency-kind": "agency",
                                     "agency-target_id": str(other_agency.id)})
    assert response.status_code == 422
    assert db.session.scalars(select(FeedToken).where(FeedToken.kind == "agency")).all() == []


# --- content and standards -----------------------------------------------------------------

def test_calendar_properties_follow_rfc_5545_and_7986(client, staff, room):
    book(room, staff, date(2026, 3, 3), time(9, 0), time(10, 0))
    body = client.get(f"/feeds/{new_token(staff)}.ics").get_data()
    text = body.decode("utf-8")
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert "\nMETHOD" not in text
    calendar = parse(body)
    assert "UID" not in calendar and calendar["NAME"] == calendar["X-WR-CALNAME"]
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in text
    assert "X-PUBLISHED-TTL:PT1H\r\n" in text and "DESCRIPTION" in calendar
    zones = calendar.walk("VTIMEZONE")
    assert len(zones) == 1 and zones[0]["TZID"] == "Europe/Stockholm"
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in text
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in text
    assert text.count("BEGIN:DAYLIGHT") == 1 and text.count("BEGIN:STANDARD") == 1
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Möte om språkstöd"  # å ä ö intact, UTF-8
    assert "Möte om språkstöd".encode() in body
    assert str(event["LOCATION"]) == "Samtalsrum Ö, Drivhuset, Järnvägsgatan 1, Oxelösund"
    assert re.fullmatch(r"reservation-\d+@[\w.-]+", str(event["UID"]))
    assert str(event["URL"]).startswith("http")
    assert event["DTSTART"].dt == datetime(2026, 3, 3, 9, 0, tzinfo=STOCKHOLM)
    assert "DTSTART;TZID=Europe/Stockholm:20260303T090000" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


def test_trepartssamtal_show_only_the_word_in_every_feed(client, staff, room):
    reservation = book(room, staff, date(2026, 3, 3), time(9, 0), time(10, 0),
                       title=INDIVIDUAL, kind=ReservationKind.trepartssamtal)
    for kind, target in (("personal", None), ("resource", room.id), ("agency", staff.agency_id)):
        body = client.get(f"/feeds/{new_token(staff, kind, target)}.ics").get_data()
        assert b"Nora" not in body and b"19990101" not in body
        (event,) = parse(body).walk("VEVENT")
        assert str(event["SUMMARY"]) == "Trepartssamtal"
        assert "DESCRIPTION" not in event
    assert reservation.title == INDIVIDUAL  # the app keeps it; feeds never show it


def test_a_source_cannot_leak_a_trepartssamtal_either(app, staff, monkeypatch):
    event = feeds.FeedEvent(uid="trepart-1", summary=INDIVIDUAL, description=INDIVIDUAL,
                            start=datetime(2026, 4, 1, 9, tzinfo=STOCKHOLM),
                            end=datetime(2026, 4, 1, 10, tzinfo=STOCKHOLM),
                            last_modified=NOW, kind="trepartssamtal")
    monkeypatch.setitem(registry._SOURCES, "personal",
                        [feeds.Source("personal", lambda s, now: [event])])
    body = feeds.render_feed(feeds.FeedSubject("personal", None, staff.id, "sv"))
    assert b"Nora" not in body and b"SUMMARY:Trepartssamtal" in body


def test_dtstamp_and_last_modified_come_from_the_change_and_feeds_are_byte_identical(staff, room):
    reservation = book(room, staff, date(2026, 3, 3), time(9, 0), time(10, 0))
    subject = feeds.FeedSubject("personal", None, staff.id, "sv")
    first = feeds.render_feed(subject, use_cache=False)
    assert feeds.render_feed(subject, use_cache=False) == first
    (event,) = parse(first).walk("VEVENT")
    changed = reservation.updated_at.replace(microsecond=0)
    assert event["DTSTAMP"].dt == changed and event["LAST-MODIFIED"].dt == changed
    assert event["SEQUENCE"] == 0
    booking.change_reservation(reservation, staff, title="Nytt möte", attendees=2,
                               start_time=time(10, 0), end_time=time(11, 0), now=NOW)
    db.session.commit()
    (event,) = parse(feeds.render_feed(subject, use_cache=False)).walk("VEVENT")
    assert event["SEQUENCE"] == 1 and str(event["SUMMARY"]) == "Nytt möte"


def test_cancelled_single_event_stays_30_days_as_cancelled(staff, room):
    reservation = book(room, staff, date(2026, 3, 3), time(9, 0), time(10, 0))
    booking.cancel_reservation(reservation, staff)
    db.session.commit()
    subject = feeds.FeedSubject("personal", None, staff.id, "sv")
    soon = reservation.cancelled_at + timedelta(days=29)
    (event,) = parse(feeds.render_feed(subject, now=soon)).walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED" and event["SEQUENCE"] == 1
    later = reservation.cancelled_at + timedelta(days=31)
    assert parse(feeds.render_feed(subject, now=later)).walk("VEVENT") == []
    assert feeds.feed_version(subject, soon) != feeds.feed_version(subject, later)


@pytest.fixture
def series_across_dst(room, staff):
    """A weekly series over both DST changes, one cancelled, one moved, one split."""
    weekly = book(room, staff, date(2026, 3, 2), time(9, 0), time(10, 30),
                  rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=40")
    daily = book(room, staff, date(2026, 10, 19), time(13, 0), time(14, 0),
                 title="Handläggargruppen", rrule="FREQ=DAILY;UNTIL=20261030T235959")
    occurrences = {o.original_start.astimezone(STOCKHOLM).date(): o for o in weekly.occurrences}
    booking.cancel_occurrence(occurrences[date(2026, 3, 30)], staff)       # after spring change
    booking.change_occurrence(occurrences[date(2026, 10, 26)], staff,      # after autumn change
                              day=date(2026, 10, 27), start_time=time(15, 0),
                              end_time=time(16, 0), now=NOW)
    daily_days = {o.original_start.astimezone(STOCKHOLM).date(): o for o in daily.occurrences}
    tail = booking.change_following(daily_days[date(2026, 10, 26)], staff, title="Nya tider",
                                    attendees=1, start_time=time(8, 0), end_time=time(9, 0),
                                    now=NOW)
    db.session.commit()
    return [weekly, daily, tail]


def test_series_are_rrule_with_exdate_and_recurrence_id(series_across_dst, staff):
    body = feeds.render_feed(feeds.FeedSubject("personal", None, staff.id, "sv"))
    calendar = parse(body)
    weekly_id = series_across_dst[0].id
    events = [e for e in calendar.walk("VEVENT") if str(e["UID"]).startswith(f"reservation-{weekly_id}@")]
    master = next(e for e in events if "RRULE" in e)
    override = next(e for e in events if "RECURRENCE-ID" in e)
    assert master["DTSTART"].dt == datetime(2026, 3, 2, 9, 0, tzinfo=STOCKHOLM)
    exdates = exdates_of(master)
    assert datetime(2026, 3, 30, 9, 0, tzinfo=STOCKHOLM) in exdates
    assert datetime(2026, 4, 6, 9, 0, tzinfo=STOCKHOLM) in exdates  # Easter Monday: closed
    assert override["RECURRENCE-ID"].dt == datetime(2026, 10, 26, 9, 0, tzinfo=STOCKHOLM)
    assert override["DTSTART"].dt == datetime(2026, 10, 27, 15, 0, tzinfo=STOCKHOLM)
    assert override["SEQUENCE"] == master["SEQUENCE"] == 2
    text = body.decode()
    assert re.search(r"RRULE:FREQ=DAILY;UNTIL=20261025T\d{6}Z", text)  # UNTIL in UTC


@pytest.mark.parametrize("kind", ["personal", "resource", "agency"])
def test_recurring_ical_events_gives_exactly_the_database_occurrences(series_across_dst, kind):
    first = series_across_dst[0]
    subject = {"personal": feeds.FeedSubject("personal", None, first.booked_by_id, "sv"),
               "resource": feeds.FeedSubject("resource", first.resource_id, None, "sv"),
               "agency": feeds.FeedSubject("agency", first.agency_id, None, "sv")}[kind]
    body = feeds.render_feed(subject)
    expected = db_occurrences(*series_across_dst)
    assert len(expected) > 40
    assert expanded_by_recurring_ical_events(body) == expected
    # The wall-clock time holds across both changes: 09:00 before, between and after.
    assert (datetime(2026, 3, 23, 9, 0), datetime(2026, 3, 23, 10, 30)) in expected
    assert (datetime(2026, 4, 13, 9, 0), datetime(2026, 4, 13, 10, 30)) in expected
    assert (datetime(2026, 11, 2, 9, 0), datetime(2026, 11, 2, 10, 30)) in expected


def test_ical_js_thunderbirds_parser_agrees(series_across_dst, room, staff):
    book(room, staff, date(2026, 5, 5), time(9, 0), time(10, 0), title=INDIVIDUAL,
         kind=ReservationKind.trepartssamtal)
    reservations = series_across_dst + list(db.session.scalars(
        select(Reservation).where(Reservation.kind == ReservationKind.trepartssamtal)))
    body = feeds.render_feed(feeds.FeedSubject("personal", None, staff.id, "sv"))
    result = expanded_by_ical_js(body)
    assert result["calendar"]["method"] is None and result["calendar"]["uid"] is None
    assert result["calendar"]["timezones"] == 1
    assert result["calendar"]["name"] == result["calendar"]["xWrCalname"] == "Samlokal: min kalender"
    assert ical_js_occurrences(result) == db_occurrences(*reservations)
    assert {o["zone"] for o in result["occurrences"]} == {"Europe/Stockholm"}
    assert "Trepartssamtal" in {o["summary"] for o in result["occurrences"]}
    assert "Möte om språkstöd" in {o["summary"] for o in result["occurrences"]}


def test_vobject_agrees(series_across_dst, staff):
    body = feeds.render_feed(feeds.FeedSubject("personal", None, staff.id, "sv"))
    assert expanded_by_vobject(body) == db_occurrences(*series_across_dst)


def test_all_day_and_multi_day_items_from_a_source(app, staff, monkeypatch):
    all_day = feeds.FeedEvent(uid="seminar-7", summary="Utbildning: Supported Employment",
                              start=date(2026, 10, 12), end=date(2026, 10, 15),
                              last_modified=NOW, location="Campus Oxelösund")
    overnight = feeds.FeedEvent(uid="seminar-8", summary="Konferens",
                                start=datetime(2026, 10, 24, 13, 0, tzinfo=STOCKHOLM),
                                end=datetime(2026, 10, 26, 12, 0, tzinfo=STOCKHOLM),
                                last_modified=NOW)
    monkeypatch.setitem(registry._SOURCES, "public_seminars",
                        [feeds.Source("public_seminars", lambda s, now: [all_day, overnight])])
    body = feeds.render_feed(feeds.public_subject("public_seminars"))
    text = body.decode()
    assert "DTSTART;VALUE=DATE:20261012\r\nDTEND;VALUE=DATE:20261015" in text
    occurrences = expanded_by_ical_js(body)["occurrences"]
    assert {(o["start"], o["end"], o["allDay"]) for o in occurrences} == {
        ("2026-10-12", "2026-10-15", True),
        ("2026-10-24T13:00:00", "2026-10-26T12:00:00", False),
    }
    events = recurring_ical_events.of(parse(body)).between(date(2026, 10, 14), date(2026, 10, 15))
    assert [str(e["SUMMARY"]) for e in events] == ["Utbildning: Supported Employment"]
    assert vobject.readOne(text).vevent_list[0].dtstart.value == date(2026, 10, 12)


# --- registered sources and the public feeds ------------------------------------------------

def test_public_seminars_feed_is_an_empty_valid_calendar_until_seminars_register(client):
    response = client.get("/feeds/seminars.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.get_data()
    assert parse(body).walk("VEVENT") == [] and len(parse(body).walk("VTIMEZONE")) == 1
    assert vobject.readOne(body.decode()).name == "VCALENDAR"
    assert expanded_by_ical_js(body)["occurrences"] == []
    assert client.get("/feeds/seminars/1.ics").status_code == 404


def test_registered_sources_join_the_personal_and_seminar_feeds(client, staff, monkeypatch):
    def registrations(subject, now=None):
        from flask_babel import gettext

        return [feeds.FeedEvent(uid=f"registration-{subject.user_id}", summary=gettext("Kick-off"),
                                start=datetime(2026, 9, 1, 9, tzinfo=STOCKHOLM),
                                end=datetime(2026, 9, 1, 12, tzinfo=STOCKHOLM),
                                last_modified=NOW, url="https://example.org/seminars/1")]

    def one_seminar(subject, now):
        return registrations(subject) if subject.target_id == 1 else []

    monkeypatch.setitem(registry._SOURCES, "personal", [])
    monkeypatch.setitem(registry._SOURCES, "seminar", [])
    # Without an access rule a public kind is public when its sources know the target
    # (the seminars package registers its own rule: tests/test_feed_sources.py).
    monkeypatch.setitem(registry._KINDS, "seminar", feeds.FeedKind("seminar", "Seminar",
                                                                   private=False,
                                                                   needs_target=True))
    feeds.add_source("personal", registrations)  # no stamp: events are built to make one
    feeds.add_source("seminar", one_seminar,
                     stamp=lambda s, now: feeds.Stamp(NOW if s.target_id == 1 else None,
                                                      1 if s.target_id == 1 else 0))
    url = f"/feeds/{new_token(staff)}.ics"
    response = client.get(url)
    body = response.get_data()
    assert [str(e["SUMMARY"]) for e in parse(body).walk("VEVENT")] == ["Kick-off"]
    conditional = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert conditional.status == "304 Not Modified"  # also with a stamp-less source
    assert client.get("/feeds/seminars/1.ics").status_code == 200
    assert client.get("/feeds/seminars/2.ics").status_code == 404


# --- HTTP ---------------------------------------------------------------------------------

def test_http_headers_conditional_get_head_and_gzip(client, staff, room):
    reservation = book(room, staff, date(2026, 3, 3), time(9, 0), time(10, 0))
    url = f"/feeds/{new_token(staff)}.ics"
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert "Set-Cookie" not in response.headers
    etag, modified = response.headers["ETag"], response.headers["Last-Modified"]
    assert modified == reservation.updated_at.strftime("%a, %d %b %Y %H:%M:%S GMT")
    body = response.get_data()

    not_modified = client.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.get_data() == b""
    assert not_modified.headers["ETag"] == etag
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200

    head = client.head(url)
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["ETag"] == etag and int(head.headers["Content-Length"]) == len(body)
    assert client.head(url, headers={"If-None-Match": etag}).status_code == 304

    packed = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()) == body
    assert packed.headers["ETag"] != etag and "Accept-Encoding" in packed.headers["Vary"]
    assert client.get(url, headers={"Accept-Encoding": "gzip",
                                    "If-None-Match": packed.headers["ETag"]}).status_code == 304
    assert "Content-Encoding" not in client.get(url, headers={"Accept-Encoding": "gzip;q=0"}).headers

    booking.cancel_reservation(reservation, staff)
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_conditional_get_answers_without_rendering(client, staff, room):
    book(room, staff, date(2026, 3, 3), time(9, 0), time(10, 0))
    url = f"/feeds/{new_token(staff)}.ics"
    etag = client.get(url).headers["ETag"]
    feeds.clear_caches()
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status == "304 Not Modified"  # the fast path's words (Flask's: NOT MODIFIED)
    assert len(feeds.BODY_CACHE) == 0 and len(feeds.EVENT_CACHE) == 0


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True,
                                         "FEED_RATE_LIMIT": "3 per minute"}], indirect=True)
def test_rate_limit_per_token_says_when_to_come_back(client, staff, create_user):
    url = f"/feeds/{new_token(staff)}.ics"
    etag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url).status_code == 200
    for limited in (client.get(url, headers={"If-None-Match": etag}), client.get(url)):
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert "Set-Cookie" not in limited.headers
    assert client.get(f"/feeds/{new_token(create_user())}.ics").status_code == 200


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True,
                                         "FEED_RATE_LIMIT": "5 per minute"}], indirect=True)
def test_polls_of_an_unchanged_feed_count_against_the_limit_too(client, staff, caplog):
    # From the third conditional poll on, nothing committed since: answered from the last
    # reading, still counted, logged and limited like any other poll.
    url = f"/feeds/{new_token(staff)}.ics"
    etag = client.get(url).headers["ETag"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="samlokal.request"):
        statuses = [client.get(url, headers={"If-None-Match": etag}).status_code
                    for _ in range(5)]
    assert statuses == [304, 304, 304, 304, 429]
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "samlokal.request"]
    assert [line["status"] for line in lines] == statuses
    assert {line["route"] for line in lines} == {"/feeds/<token>.ics"}


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True,
                                         "FEED_RATE_LIMIT": "2 per minute"}], indirect=True)
def test_public_feeds_are_limited_per_address_with_retry_after(client):
    assert client.get("/feeds/seminars.ics").status_code == 200
    assert client.get("/feeds/seminars.ics").status_code == 200
    limited = client.get("/feeds/seminars.ics")
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "Set-Cookie" not in limited.headers


def test_feed_error_answers_set_no_cookie(client, staff):
    token = new_token(staff)
    feeds.revoke_token(db.session.scalars(select(FeedToken)).one())
    db.session.commit()
    for url, status in ((f"/feeds/{'x' * 43}.ics", 404), ("/feeds/short.ics", 404),
                        (f"/feeds/{token}.ics", 410), ("/feeds/seminars/999999.ics", 404)):
        for conditional in ({}, {"If-None-Match": "*"}):
            response = client.get(url, headers=conditional)
            assert response.status_code == status, url
            assert "Set-Cookie" not in response.headers, url
            assert response.mimetype == "text/plain" and response.get_data(as_text=True).strip()


# --- one source of truth --------------------------------------------------------------

CONTENT_HEADERS = {"Content-Type", "Content-Length", "Content-Encoding", "Content-Disposition"}


def headers_but_content(response) -> dict:
    return {name: value for name, value in response.headers.items()
            if name not in CONTENT_HEADERS}


@pytest.mark.parametrize("app_config", [{}, {"SESSION_COOKIE_SECURE": True}], indirect=True)
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_a_304_carries_the_headers_of_the_200(client, staff, room, encoding):
    book(room, staff, date(2026, 3, 3), time(9, 0), time(10, 0))
    url = f"/feeds/{new_token(staff)}.ics"
    full = client.get(url, headers={"Accept-Encoding": encoding})
    again = client.get(url, headers={"Accept-Encoding": encoding,
                                     "If-None-Match": full.headers["ETag"]})
    assert full.status_code == 200 and again.status == "304 Not Modified"  # the fast path
    assert headers_but_content(again) == headers_but_content(full)
    assert {"Accept-Encoding", "HX-Request"} <= {v.strip() for v in again.headers["Vary"].split(",")}
    assert again.headers["Cross-Origin-Opener-Policy"] and again.headers["Permissions-Policy"]
    public = client.get("/feeds/seminars.ics", headers={"Accept-Encoding": encoding})
    public_again = client.get("/feeds/seminars.ics", headers={
        "Accept-Encoding": encoding, "If-None-Match": public.headers["ETag"]})
    assert public_again.status_code == 304  # through Flask: the same headers all the same
    assert headers_but_content(public_again) == headers_but_content(public)


def test_a_changed_feed_is_looked_up_once(client, staff, room, monkeypatch):
    from office.feeds import render, tokens

    url = f"/feeds/{new_token(staff)}.ics"
    etag = client.get(url).headers["ETag"]
    book(room, staff, date(2026, 3, 3), time(9, 0), time(10, 0))  # the feed changes
    calls = []
    token_query, stamps = tokens._TOKEN_QUERY.all, render._stamp_rows
    monkeypatch.setattr(tokens._TOKEN_QUERY, "all",
                        lambda *a, **k: calls.append("token") or token_query(*a, **k))
    monkeypatch.setattr(render, "_stamp_rows",
                        lambda *a, **k: calls.append("version") or stamps(*a, **k))
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 200 and response.headers["ETag"] != etag
    assert sorted(calls) == ["token", "version"]


def test_a_poll_reads_every_stamp_of_the_personal_feed_in_one_query(client, staff, room,
                                                                   monkeypatch):
    from office.feeds import reader

    url = f"/feeds/{new_token(staff)}.ics"
    book(room, staff, date(2026, 3, 3), time(9, 0), time(10, 0))
    etag = client.get(url).headers["ETag"]
    statements = []
    fetch = reader._fetch
    monkeypatch.setattr(reader, "_fetch", lambda connection, sql, args: statements.append(sql)
                        or fetch(connection, sql, args))
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    # The token, then one UNION ALL of the bookings', meetings', trepartssamtal's and
    # seminars' stamps: the cost does not depend on how many events the feed has.
    assert len(statements) == 2 and statements[1].count("UNION ALL") >= 4
    assert "count(" not in statements[1].split("UNION ALL")[0].lower()


def test_the_version_moves_when_a_reservation_leaves_the_feed(client, staff, room):
    kept = book(room, staff, date(2026, 3, 3), time(9, 0), time(10, 0))
    gone = book(room, staff, date(2026, 3, 4), time(9, 0), time(10, 0))
    subject = feeds.FeedSubject("personal", None, staff.id, "sv")
    room_feed = feeds.FeedSubject("resource", room.id, None, "sv")
    before, room_before = feeds.feed_version(subject, NOW), feeds.feed_version(room_feed, NOW)
    db.session.delete(gone)
    db.session.commit()
    assert feeds.feed_version(subject, NOW) != before
    assert feeds.feed_version(room_feed, NOW) != room_before
    assert f"reservation-{kept.id}@".encode() in feeds.render_feed(subject, now=NOW)


# --- bad weather ----------------------------------------------------------------------------

def test_while_the_database_is_away_feeds_answer_503_with_retry_after(client, staff, room,
                                                                      monkeypatch):
    """Fault injection on both databases (tests/test_feed_faults.py stops a real PostgreSQL)."""
    from office.feeds import reader

    url = f"/feeds/{new_token(staff)}.ics"
    etag = client.get(url).headers["ETag"]
    reader._drop_reader()
    driver = db.engine.dialect.loaded_dbapi

    def refused(*args, **kwargs):  # what the driver raises when nobody answers
        raise driver.OperationalError("connection refused")

    monkeypatch.setattr(db.engine, "raw_connection", refused)
    for method, path, headers in (("GET", url, {"If-None-Match": etag}),  # the fast path
                                  ("HEAD", url, {"If-None-Match": etag}),
                                  ("GET", url, {}),                        # the view
                                  ("GET", "/feeds/seminars.ics", {})):     # a public feed
        response = client.open(path, method=method, headers=headers)
        assert response.status_code == 503, (method, path, headers)
        assert response.headers["Retry-After"] == "60"
        assert "Set-Cookie" not in response.headers and response.mimetype == "text/plain"
    monkeypatch.undo()
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_a_dead_kept_open_connection_is_replaced_on_the_next_poll(client, staff):
    from office.feeds import reader

    url = f"/feeds/{new_token(staff)}.ics"
    etag = client.get(url).headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status == "304 Not Modified"
    reader._READER.connection.close()  # as a database restart leaves it
    assert client.get(url, headers={"If-None-Match": etag}).status == "304 Not Modified"
    reader._READER.connection.close()
    assert client.get("/feeds/seminars.ics").status_code == 200
    reader._READER.connection.close()
    assert client.get(url).status_code == 200


# --- the caches stay correct ---------------------------------------------------------------

def test_cached_feed_equals_a_fresh_render_after_change_cancel_and_delete(client, staff, room):
    singles = [book(room, staff, date(2026, 3, 3 + i), time(9, 0), time(10, 0)) for i in range(4)]
    series = book(room, staff, date(2026, 3, 9), time(13, 0), time(14, 0),
                  rrule="FREQ=WEEKLY;COUNT=10")
    url = f"/feeds/{new_token(staff)}.ics"
    subject = feeds.FeedSubject("personal", None, staff.id, "sv")

    def check():
        served = client.get(url).get_data()
        assert served == feeds.render_feed(subject, use_cache=False)
        return served

    before = check()
    booking.change_reservation(singles[0], staff, title="Ändrad", attendees=1,
                               start_time=time(11, 0), end_time=time(12, 0), now=NOW)
    assert check() != before
    booking.cancel_occurrence(series.occurrences[2], staff)
    check()
    booking.change_occurrence(series.occurrences[4], staff, day=date(2026, 4, 7),
                              start_time=time(15, 0), end_time=time(16, 0), now=NOW)
    check()
    booking.cancel_reservation(singles[1], staff)
    check()
    db.session.delete(singles[2])
    db.session.commit()
    after_delete = check()
    assert "Ändrad".encode() in after_delete and f"reservation-{singles[2].id}@".encode() not in after_delete


def test_feeds_page_has_no_inline_script_or_style(auth, client, staff, room):
    auth.login(staff)
    for html in (client.get("/feeds/").get_data(as_text=True),
                 auth.post("/feeds/", {"prefix": "personal", "personal-kind": "personal"})
                 .get_data(as_text=True)):
        assert "<script>" not in html and " style=" not in html and "<style" not in html
        assert html.count("<h1>") == 1 and 'for="new-link-https"' in html or "new-link" not in html


def test_agency_feed_stops_when_its_owner_moves_to_another_agency(client, auth, staff,
                                                                   create_agency):
    token = new_token(staff, "agency", staff.agency_id)
    assert client.get(f"/feeds/{token}.ics").status_code == 200
    staff.agency_id = create_agency().id
    db.session.commit()
    assert client.get(f"/feeds/{token}.ics").status_code == 410
    row = db.session.scalars(select(FeedToken)).one()
    auth.login(staff)
    assert auth.post(f"/feeds/{row.id}/regenerate").status_code == 403


# --- several links, deactivated people --------------------------------------------------------

def _link_in(html: str) -> str:
    return re.search(r'id="new-link-https"[^>]*value="[^"]*/feeds/([A-Za-z0-9_-]{43,})\.ics"',
                     html).group(1)


def test_page_makes_several_named_links_and_stops_or_renews_one(client, auth, staff):
    auth.login(staff)

    def make(name: str) -> tuple[str, str]:
        html = auth.post("/feeds/", {"prefix": "personal", "personal-kind": "personal",
                                     "personal-name": name}).get_data(as_text=True)
        return _link_in(html), html

    phone, html = make("Telefon")
    assert "Ny länk: Min kalender – Telefon" in html
    laptop, _html = make("  Jobbdator ")
    page = client.get("/feeds/").get_data(as_text=True)
    assert ">Telefon</span>" in page and ">Jobbdator</span>" in page
    phone_row = db.session.scalars(select(FeedToken).where(FeedToken.name == "Telefon")).one()
    auth.post(f"/feeds/{phone_row.id}/revoke")
    assert client.get(f"/feeds/{phone}.ics").status_code == 410
    assert client.get(f"/feeds/{laptop}.ics").status_code == 200  # the other device keeps it
    laptop_row = db.session.scalars(select(FeedToken).where(FeedToken.name == "Jobbdator")).one()
    renewed = _link_in(auth.post(f"/feeds/{laptop_row.id}/regenerate").get_data(as_text=True))
    assert client.get(f"/feeds/{laptop}.ics").status_code == 410
    assert client.get(f"/feeds/{renewed}.ics").status_code == 200
    unnamed, _html = make("")
    assert client.get(f"/feeds/{unnamed}.ics").status_code == 200
    assert [t.name for t in feeds.active_tokens(staff)] == ["Jobbdator", "Länk 4"]


def test_a_feed_keeps_at_most_ten_links_at_a_time(client, auth, staff):
    for number in range(MAX_LINKS_PER_FEED):
        new_token(staff, name=f"Skärm {number}")
    auth.login(staff)
    response = auth.post("/feeds/", {"prefix": "personal", "personal-kind": "personal",
                                     "personal-name": "En till"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "10 länkar" in html and 'value="En till"' in html
    assert len(feeds.active_tokens(staff)) == MAX_LINKS_PER_FEED
    assert db.session.scalars(select(FeedToken).where(FeedToken.name == "En till")).all() == []


def test_a_link_name_with_control_characters_is_refused(auth, staff):
    auth.login(staff)
    response = auth.post("/feeds/", {"prefix": "personal", "personal-kind": "personal",
                                     "personal-name": "Tele\x00fon"})
    assert response.status_code == 422
    assert db.session.scalars(select(FeedToken)).all() == []


def test_deactivating_a_person_stops_their_links_for_good(client, auth, staff, room,
                                                           create_user):
    personal, agency = new_token(staff), new_token(staff, "agency", staff.agency_id)
    auth.login(create_user(role=Role.coordinator))
    assert auth.post(f"/users/{staff.id}/deactivate").status_code == 302
    assert all(row.revoked_at is not None for row in db.session.scalars(select(FeedToken)))
    assert client.get(f"/feeds/{personal}.ics").status_code == 410
    assert auth.post(f"/users/{staff.id}/activate").status_code == 302
    for token in (personal, agency):  # reactivating does not bring old links back
        assert client.get(f"/feeds/{token}.ics").status_code == 410
        assert client.get(f"/feeds/{token}.ics", headers={"If-None-Match": "*"}).status_code == 410
    assert client.get(f"/feeds/{new_token(staff)}.ics").status_code == 200  # a new one works


# --- the nginx example ---------------------------------------------------------------------

def test_the_nginx_example_keeps_secret_paths_out_of_its_logs(app):
    """deploy/nginx.conf logs every path with a token as its route (checked against the app's
    routes: a new one with a <token> needs a line in the map)."""
    conf = (HERE.parent / "deploy" / "nginx.conf").read_text()
    block = conf[conf.index("map $uri $samlokal_logged_path {"):]
    block = block[:block.index("}\n")]
    patterns = [re.compile(found.replace("(?<", "(?P<"))  # PCRE's named groups in Python
                for found in re.findall(r'"~([^"]+)"', block)]
    secret = "AbC_-" * 9
    secret_rules = [r.rule for r in app.url_map.iter_rules() if "<token>" in r.rule]
    assert "/feeds/<token>.ics" in secret_rules and len(secret_rules) >= 3
    for rule in secret_rules:
        assert any(p.search(rule.replace("<token>", secret)) for p in patterns), rule
    assert not any(p.search("/feeds/seminars.ics") for p in patterns)
    log_format = conf[conf.index("log_format samlokal"):]
    log_format = log_format[:log_format.index(";")]
    for leak in ("$request ", "$request_uri", "$uri", "$args", "$query_string", "$http_referer"):
        assert leak not in log_format, leak
    access_logs = re.findall(r"^\s*access_log\s+([^;]+);", conf, re.MULTILINE)
    assert access_logs and all(line.split()[-1] in ("samlokal", "off") for line in access_logs)
