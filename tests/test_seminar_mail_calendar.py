"""The calendar file in each seminar mail matches the truth about the person's place.

A place is a METHOD:REQUEST, a place taken back a METHOD:CANCEL, both with the seminar day's
UID and a SEQUENCE higher than the last one the person got; the waiting list gets no file
(a calendar entry would promise a seat). Read with two parsers (icalendar and vobject).
"""

from __future__ import annotations

import pytest
import vobject
from icalendar import Calendar
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from office.accounts.models import Role
from office.core.extensions import db
from office.core.mail import build_message, render_queued
from office.core.models import OutboxMail
from seminars import planning
from seminars import registration as rules
from seminars.models import Seminar
from tests.html_forms import form_posting_to, replace
from tests.seminar_factories import make_seminar

pytestmark = pytest.mark.dates  # seminars are planned weeks from today: `make test-dates`


@pytest.fixture
def coordinator(create_user):
    return create_user(role=Role.coordinator)


def mails_to(address: str) -> list[OutboxMail]:
    render_queued()  # the body and .ics are written after the commit (or by the sender)
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.recipient == address)
                                   .order_by(OutboxMail.id)))


def events(mail: OutboxMail) -> tuple[str, list]:
    calendar = Calendar.from_ical(mail.ics)
    parsed = vobject.readOne(mail.ics)  # a second, independent reading
    assert parsed.method.value == str(calendar["METHOD"])
    # The MIME part says the same method as the file (Outlook ignores a file that disagrees).
    [part] = [p for p in build_message(mail).iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == str(calendar["METHOD"]) == mail.ics_method
    return str(calendar["METHOD"]), list(calendar.walk("VEVENT"))


def test_the_waiting_list_gets_no_calendar_file(coordinator):
    seminar = make_seminar(coordinator, capacity=1)
    rules.register_guest(seminar.id, name="A", organisation="X", email="a@example.se")
    rules.register_guest(seminar.id, name="B", organisation="X", email="b@example.se")
    [waiting] = mails_to("b@example.se")
    assert waiting.kind == "waiting" and waiting.ics is None
    assert "kalenderfilen" not in waiting.body.lower()


def test_a_place_is_a_request_with_organiser_and_attendee(app, coordinator):
    seminar = make_seminar(coordinator)
    rules.register_guest(seminar.id, name="Eva Gäst", organisation="SSAB", email="eva@example.se")
    [confirmed] = mails_to("eva@example.se")
    method, [event] = events(confirmed)
    assert method == "REQUEST" and event["STATUS"] == "CONFIRMED"
    assert str(event["ORGANIZER"]) == f"mailto:{app.config['MAIL_FROM']}"
    assert str(event["ATTENDEE"]) == "mailto:eva@example.se"
    assert event["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED" and event["ATTENDEE"].params["CN"] == "Eva Gäst"
    assert "Kalenderfilen är bifogad" in confirmed.body or "calendar file is attached" in confirmed.body


def test_promotion_and_cancellation_update_the_same_entry_with_a_higher_sequence(coordinator):
    seminar = make_seminar(coordinator, capacity=1)
    first = rules.register_guest(seminar.id, name="A", organisation="X", email="a@example.se")
    rules.register_guest(seminar.id, name="B", organisation="X", email="b@example.se")
    rules.cancel_registration(first.registration)
    rules.register_guest(seminar.id, name="A", organisation="X", email="a@example.se")  # back, waiting
    rules.cancel_registration(db.session.scalar(select(rules.Registration).where(
        rules.Registration.email == "b@example.se")))  # B leaves: A is promoted again
    uid = f"seminar-{seminar.id}-{seminar.first_day.isoformat()}"

    a_mails = mails_to("a@example.se")
    assert [m.kind for m in a_mails] == ["confirmed", "registration_cancelled", "waiting", "promoted"]
    calendars = [events(m) for m in a_mails if m.ics]
    assert [method for method, _ in calendars] == ["REQUEST", "CANCEL", "REQUEST"]
    assert {str(e["UID"]).split("@")[0] for _, [e] in calendars} == {uid}
    sequences = [int(e["SEQUENCE"]) for _, [e] in calendars]
    assert sequences == sorted(set(sequences)), sequences  # strictly rising
    _, [cancel] = calendars[1]
    assert cancel["STATUS"] == "CANCELLED"

    b_mails = mails_to("b@example.se")
    assert [m.kind for m in b_mails] == ["waiting", "promoted", "registration_cancelled"]
    b_calendars = [events(m) for m in b_mails if m.ics]
    assert [method for method, _ in b_calendars] == ["REQUEST", "CANCEL"]
    b_sequences = [int(e["SEQUENCE"]) for _, [e] in b_calendars]
    assert b_sequences[1] > b_sequences[0]


def test_a_change_to_the_seminar_is_a_request_above_what_each_person_has(auth, coordinator):
    seminar = make_seminar(coordinator, capacity=1)
    rules.register_guest(seminar.id, name="A", organisation="X", email="a@example.se")
    rules.register_guest(seminar.id, name="B", organisation="X", email="b@example.se")
    auth.login(coordinator)
    page = auth.client.get(f"/seminars/{seminar.id}/edit")
    form = form_posting_to(page.get_data(as_text=True), f"/seminars/{seminar.id}/edit", f"/seminars/{seminar.id}/edit")
    changed = MultiDict(replace(form.submission(), "title", "Arbetsgivarforum (ny lokal)"))
    assert auth.client.post(f"/seminars/{seminar.id}/edit", data=changed).status_code == 302
    changed_a = mails_to("a@example.se")[-1]
    changed_b = mails_to("b@example.se")[-1]
    assert changed_a.kind == changed_b.kind == "changed"
    method, [event] = events(changed_a)
    assert method == "REQUEST" and int(event["SEQUENCE"]) == db.session.get(Seminar, seminar.id).sequence >= 1
    assert str(event["SUMMARY"]) == "Arbetsgivarforum (ny lokal)"
    assert changed_b.ics is None  # still waiting: no seat in the calendar


def test_a_called_off_seminar_cancels_the_entries_of_those_with_a_place(coordinator):
    seminar = make_seminar(coordinator, capacity=1)
    rules.register_guest(seminar.id, name="A", organisation="X", email="a@example.se")
    rules.register_guest(seminar.id, name="B", organisation="X", email="b@example.se")
    planning.cancel_seminar(db.session.get(Seminar, seminar.id), coordinator)
    method, [event] = events(mails_to("a@example.se")[-1])
    assert method == "CANCEL" and event["STATUS"] == "CANCELLED"
    assert mails_to("b@example.se")[-1].ics is None
