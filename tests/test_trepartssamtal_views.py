"""The trepartssamtal and working-hours pages, and a walk of every page for leaks of the reference."""

from __future__ import annotations

import logging
import re
from datetime import time, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.routing import AnyConverter, IntegerConverter

from office.accounts.models import Role
from office.availability.models import Absence, WorkingHours
from office.booking.models import AuditEntry, Reservation
from office.core.extensions import db
from office.core.i18n import today_local
from office.trepartssamtal.models import MeetingMode, Trepartssamtal
from tests.calendar_days import ordinary_day
from tests.conftest import AuthActions

# The pages search from today: `make test-dates` runs the tests marked dates (not the walk).
dates = pytest.mark.dates

REFERENCE = "QZ-8131"


@pytest.fixture
def place(create_agency, create_user, create_site, create_resource):
    af, kommun = create_agency(short_name="AF"), create_agency(short_name="Kommunen")
    site = create_site(name="Drivhuset", opens=time(0, 0), closes=time(23, 59), weekdays=range(7))
    room = create_resource(site=site, name="Samtalsrum 1", capacity=4, is_conversation_room=True)
    sara, ali = create_user(agency=af, name="Sara Berg"), create_user(agency=kommun, name="Ali Yusuf")
    for person in (sara, ali):  # always at work, so the default window always has times
        for weekday in range(7):
            db.session.add(WorkingHours(user_id=person.id, weekday=weekday, starts=time(0, 0),
                                        ends=time(23, 59)))
    db.session.commit()
    return dict(af=af, kommun=kommun, site=site, room=room, sara=sara, ali=ali)


def form_data(place, **fields):
    today = today_local()
    data = {
        "participants": [place["sara"].id, place["ali"].id], "minutes": "60", "mode": "on_site",
        "site_id": str(place["site"].id), "others": "1", "first_day": today.isoformat(),
        "last_day": (today + timedelta(days=13)).isoformat(), "buffer_minutes": "15",
        "reference": REFERENCE, "consent_given": "y", "consent_given_on": today.isoformat(),
        "consent_agencies": [place["af"].id, place["kommun"].id],
    }
    data.update(fields)
    return data


def proposal_keys(html: str) -> list[str]:
    return re.findall(r'name="slot" value="([^"]+)"', html)


def book_via_page(auth, place, **fields):
    found = auth.post("/trepartssamtal/new", form_data(place, find="1"))
    keys = proposal_keys(found.get_data(as_text=True))
    assert len(keys) >= 5
    return auth.post("/trepartssamtal/new", form_data(place, slot=keys[0], **fields)), keys


@dates
def test_find_times_and_book_with_one_click(auth, place):
    auth.login(place["sara"])
    response, keys = book_via_page(auth, place)
    assert response.status_code == 302
    meeting = db.session.scalar(select(Trepartssamtal))
    assert response.headers["Location"] == f"/trepartssamtal/{meeting.id}"
    page = auth.client.get(response.headers["Location"]).get_data(as_text=True)
    assert REFERENCE in page and "Samtalsrum 1" in page


@dates
def test_htmx_find_returns_only_the_form(auth, place):
    auth.login(place["sara"])
    response = auth.post("/trepartssamtal/new", form_data(place, find="1"),
                         headers={"HX-Request": "true", "HX-Target": "trepartssamtal-form"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<form id="trepartssamtal-form"')
    assert "<html" not in html and len(proposal_keys(html)) >= 5


@dates
def test_missing_consent_is_refused_clearly(auth, place):
    auth.login(place["sara"])
    response, _ = book_via_page(auth, place, consent_given="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "samtycke" in html and 'class="error-summary"' in html
    assert db.session.scalar(select(func.count()).select_from(Trepartssamtal)) == 0


def test_personal_number_is_refused_and_not_echoed(auth, place, caplog):
    auth.login(place["sara"])
    caplog.set_level(logging.DEBUG)
    response, _ = book_via_page(auth, place, reference="AB 19811218-9876")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "personnummer" in html and "9876" not in html
    assert all("9876" not in record.getMessage() for record in caplog.records)
    assert db.session.scalar(select(func.count()).select_from(Trepartssamtal)) == 0


@dates
def test_slot_taken_meanwhile_gives_409_and_fresh_proposals(auth, place, create_user):
    auth.login(place["sara"])
    keys = proposal_keys(auth.post("/trepartssamtal/new", form_data(place, find="1")).get_data(as_text=True))
    first = auth.post("/trepartssamtal/new", form_data(place, slot=keys[0]))
    assert first.status_code == 302
    again = auth.post("/trepartssamtal/new", form_data(place, slot=keys[0], reference="CD-2"))
    html = again.get_data(as_text=True)
    assert again.status_code == 409
    assert "Någon annan" in html
    assert keys[0] not in proposal_keys(html) and len(proposal_keys(html)) >= 5


@dates
def test_outcome_cancel_and_reschedule_pages(auth, place):
    auth.login(place["sara"])
    response, _ = book_via_page(auth, place)
    url = response.headers["Location"]
    window = {"first_day": ordinary_day(days_ahead=3).isoformat(),  # not on closed days
              "last_day": ordinary_day(days_ahead=4).isoformat(), "buffer_minutes": "0"}
    moved = auth.post(url + "/reschedule", {**window, "find": "1"})
    keys = proposal_keys(moved.get_data(as_text=True))
    assert moved.status_code == 200 and keys
    done = auth.post(url + "/reschedule", {**window, "slot": keys[0]})
    assert done.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Reservation)
                             .where(Reservation.cancelled_at.is_(None))) == 1
    early = auth.post(url + "/outcome", {"status": "held"})
    assert early.status_code == 303
    cancelled = auth.post(url + "/cancel", {"status": "cancelled_by_individual"})
    assert cancelled.status_code == 302
    assert db.session.scalar(select(Trepartssamtal.status)).value == "cancelled_by_individual"


def test_non_participants_get_404_on_meeting_pages(auth, place, create_user):
    auth.login(place["sara"])
    url = book_via_page(auth, place)[0].headers["Location"]
    auth.logout()
    auth.login(create_user(agency=place["af"], role=Role.agency_admin))
    assert auth.client.get(url).status_code == 404
    assert auth.post(url + "/cancel", {"status": "cancelled_by_staff"}).status_code == 404
    assert auth.post(url + "/outcome", {"status": "held"}).status_code == 404


@dates
def test_statistics_page_chart_and_csv(auth, place, create_user):
    auth.login(place["sara"])
    book_via_page(auth, place)
    assert auth.client.get("/trepartssamtal/statistics").status_code == 403
    auth.logout()
    auth.login(create_user(role=Role.coordinator, agency=place["af"]))
    html = auth.client.get("/trepartssamtal/statistics?by=agency").get_data(as_text=True)
    assert 'role="img"' in html and "<table>" in html and "Kommunen" in html
    csv = auth.client.get("/trepartssamtal/statistics.csv?by=agency")
    # one meeting is a small count: "<5" in the table, the chart and the file, with the note why
    assert csv.mimetype == "text/csv" and "AF;På plats;<5;0;0;0" in csv.get_data(as_text=True)
    assert ";1;" not in csv.get_data(as_text=True)
    table = html[html.index("<table>"):]
    assert "<td>&lt;5</td>" in table and "<td>1</td>" not in table
    assert "&lt;5</title>" in html and 'class="chart-value">1<' not in html
    assert "som &lt;5" in html or "“&lt;5”" in html  # the note saying why
    assert auth.client.get("/trepartssamtal/statistics?by=nonsense").status_code == 400


@dates
def test_staff_edit_their_own_working_hours_and_absences(auth, place, create_user):
    sara = place["sara"]
    auth.login(sara)
    data = {f"opens_{d}": "" for d in range(7)} | {f"closes_{d}": "" for d in range(7)}
    data.update(opens_0="09:00", closes_0="15:00", opens_2="10:00", closes_2="12:00")
    assert auth.post("/availability/", data).status_code == 302
    rows = db.session.scalars(select(WorkingHours).where(WorkingHours.user_id == sara.id)).all()
    assert {(r.weekday, r.starts, r.ends) for r in rows} == {(0, time(9), time(15)), (2, time(10), time(12))}
    bad = auth.post("/availability/", data | {"closes_0": "08:00"})
    assert bad.status_code == 422
    day = today_local() + timedelta(days=2)
    added = auth.post("/availability/absences", {"kind": "course", "starts": f"{day}T08:00",
                                                 "ends": f"{day}T12:00"})
    assert added.status_code == 302
    absence = db.session.scalar(select(Absence))
    assert absence.user_id == sara.id
    auth.logout()
    auth.login(create_user(agency=place["af"]))
    assert auth.post(f"/availability/absences/{absence.id}/delete").status_code == 404


# --- the walk: every GET page as several users -------------------------------------------------------

def _variants(rule, pool):
    ints = [name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]
    others = [name for name in rule.arguments if name not in ints]
    if not rule.arguments:
        yield {}
        return
    for value in pool:
        yield {**{n: value for n in ints}, **{n: _plausible(rule, n) for n in others}}


def _plausible(rule, name):
    converter = rule._converters.get(name)
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    return "x"


@pytest.mark.timeout(300)  # many requests or threads: slow on a busy machine
def test_reference_never_leaks_to_non_participants_logs_or_error_pages(app, client, place, create_user, caplog):
    caplog.set_level(logging.DEBUG)
    booker = AuthActions(client)
    booker.login(place["sara"])
    response, _ = book_via_page(booker, place)
    assert response.status_code == 302
    phone, _ = book_via_page(booker, place, mode="phone", reference="QZ-8132")
    meeting = db.session.scalar(select(Trepartssamtal).where(Trepartssamtal.mode == MeetingMode.on_site))
    assert meeting.reservation.title == "Trepartssamtal"
    assert all(REFERENCE not in e.summary for e in db.session.scalars(select(AuditEntry)))

    outsiders = [
        create_user(role=Role.coordinator, agency=place["af"]),
        create_user(role=Role.agency_admin, agency=place["kommun"]),
        create_user(role=Role.staff, agency=place["af"]),
    ]
    ids = {meeting.id, meeting.reservation_id, place["room"].id, place["site"].id, place["sara"].id,
           place["ali"].id, place["af"].id, 1, 2, 999_999}
    adapter = app.url_map.bind("localhost")
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"]
    visited = 0
    for user in outsiders + [place["sara"], place["ali"]]:
        visitor = AuthActions(app.test_client())
        visitor.login(user)
        is_participant = user in (place["sara"], place["ali"])
        for rule in rules:
            for values in _variants(rule, sorted(ids)):
                url = adapter.build(rule.endpoint, values)
                html = visitor.client.get(url).get_data(as_text=True)
                visited += 1
                # The Start page lists the person's own day, their trepartssamtal included.
                personal_page = rule.endpoint in ("trepartssamtal.show_meeting",
                                                  "trepartssamtal.list_meetings",
                                                  "trepartssamtal.reschedule_meeting",
                                                  "home.dashboard")
                if not (is_participant and personal_page):
                    assert REFERENCE not in html, (user.role, url)
        if is_participant:
            assert REFERENCE in visitor.client.get(f"/trepartssamtal/{meeting.id}").get_data(as_text=True)
    assert visited > 50
    # Nor in any calendar feed, not even a participant's own (feed URLs get forwarded).
    from office import feeds

    for user in outsiders + [place["sara"], place["ali"]]:
        for kind, target in (("personal", None), ("resource", place["room"].id),
                             ("agency", user.agency_id)):
            token = feeds.issue_token(user, kind, target)
            db.session.commit()
            body = client.get(f"/feeds/{token}.ics").get_data(as_text=True)
            assert REFERENCE not in body and "QZ-8132" not in body, (user.role, kind)
            if user in (place["sara"], place["ali"]) and kind == "personal":
                assert body.count("SUMMARY:Trepartssamtal") == 2  # both meetings, nothing more
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        assert REFERENCE not in text and "QZ-8132" not in text


# --- a refused form keeps the work --------------------------------------------------------

def test_a_refused_booking_keeps_the_proposals_the_reference_and_the_people(auth, place):
    """Forgetting the consent must not cost the search: the same times, the choice marked."""
    auth.login(place["sara"])
    keys = proposal_keys(auth.post("/trepartssamtal/new", form_data(place, find="1")).get_data(as_text=True))
    response = auth.post("/trepartssamtal/new", form_data(place, slot=keys[1], consent_given=""))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and db.session.scalar(select(func.count(Trepartssamtal.id))) == 0
    assert proposal_keys(html) == keys  # the proposals are still there
    assert f'value="{REFERENCE}"' in html
    assert re.search(rf'id="participant-{place["ali"].id}"\s+checked', html)
    assert html.count("proposal is-chosen") == 1 and f'value="{keys[1]}" class="proposal is-chosen"' in html
    response = auth.post("/trepartssamtal/new", form_data(place, slot=keys[1]))
    assert response.status_code == 302  # one more click books the same time


def test_a_bad_field_outside_the_search_keeps_the_proposals(auth, place):
    auth.login(place["sara"])
    keys = proposal_keys(auth.post("/trepartssamtal/new", form_data(place, find="1")).get_data(as_text=True))
    response = auth.post("/trepartssamtal/new", form_data(place, slot=keys[0], consent_given_on="31/31/2026"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and proposal_keys(html) == keys
    assert f'value="{REFERENCE}"' in html


def test_the_form_says_how_long_the_reference_is_kept(auth, place, app):
    app.config["TREPARTSSAMTAL_RETENTION_DAYS"] = 60
    auth.login(place["sara"])
    html = auth.client.get("/trepartssamtal/new").get_data(as_text=True)
    assert "den raderas 60 dagar efter mötet" in html and "raderas efter mötet" not in html
