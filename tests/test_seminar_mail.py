"""Mail through the outbox: a real SMTP server (aiosmtpd), languages, the .ics, retries."""

from __future__ import annotations

import email
import email.policy
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from sqlalchemy import select

from office.accounts.models import Role
from office.core import mail as outbox
from office.core.database import utcnow
from office.core.extensions import db
from office.core.models import MailStatus, OutboxMail
from seminars import mail, planning
from seminars import registration as rules
from seminars.models import Registration, RegistrationStatus
from tests.seminar_factories import make_seminar

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp(app):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT_SECONDS=5)
    yield inbox
    controller.stop()


@pytest.fixture
def coordinator(create_user):
    return create_user(role=Role.coordinator)


def calendar_of(message) -> Calendar:
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1 and parts[0].get_filename() == "seminar.ics"
    return Calendar.from_ical(parts[0].get_content())


@pytest.mark.timeout(300)  # many requests or threads: slow on a busy machine
@pytest.mark.slow
def test_confirmation_arrives_in_the_guests_language_with_a_valid_ics(app, smtp, coordinator, create_resource):
    room = create_resource(name="Stora salen", capacity=60)
    seminar = make_seminar(coordinator, room=room)
    rules.register_guest(seminar.id, name="Eva", organisation="SSAB", email="eva@example.se", locale="en")
    rules.register_staff(seminar.id, coordinator)  # Swedish by default
    assert outbox.send_due() == (2, 0)
    by_recipient = {m["To"]: m for m in smtp.messages}
    english, swedish = by_recipient["eva@example.se"], by_recipient[coordinator.email]
    assert english["Subject"] == "Registration confirmed: Arbetsgivarforum"
    assert "You are registered" in english.get_body(("plain",)).get_content()
    assert "/seminars/r/" in english.get_body(("plain",)).get_content()
    assert swedish["Subject"] == "Anmälan bekräftad: Arbetsgivarforum"
    assert "Du är anmäld" in swedish.get_body(("plain",)).get_content()
    calendar = calendar_of(english)
    event = next(iter(calendar.walk("VEVENT")))
    assert str(event["UID"]).startswith(f"seminar-{seminar.id}-")
    assert event.get("DTSTAMP") is not None and "Stora salen" in str(event["LOCATION"])
    assert event["DTSTART"].params["TZID"] == "Europe/Stockholm"
    assert event["DTSTART"].dt.hour == 9 and str(event["URL"]).endswith(f"/seminars/public/{seminar.id}")
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Stockholm"]
    assert db.session.scalar(select(db.func.count()).select_from(OutboxMail).where(
        OutboxMail.status == MailStatus.sent)) == 2


@pytest.mark.timeout(300)  # many requests or threads: slow on a busy machine
@pytest.mark.slow
def test_a_mail_server_that_is_down_loses_nothing_and_the_mail_goes_later(app, coordinator):
    port = free_port()  # nothing listens here yet
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT_SECONDS=2)
    seminar = make_seminar(coordinator)
    outcome = rules.register_guest(seminar.id, name="Eva", organisation="SSAB", email="eva@example.se")
    assert outbox.send_due() == (0, 1)
    db.session.expire_all()
    assert db.session.get(Registration, outcome.registration.id).status == RegistrationStatus.confirmed
    queued = db.session.scalar(select(OutboxMail))
    assert queued.status == MailStatus.queued and queued.attempts == 1 and queued.last_error
    assert queued.next_attempt_at > utcnow()  # backoff: not tried again at once
    assert outbox.send_due() == (0, 0)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert outbox.send_due(now=utcnow() + timedelta(hours=1)) == (1, 0)
    finally:
        controller.stop()
    assert [m["To"] for m in inbox.messages] == ["eva@example.se"]


def test_backoff_doubles_and_failing_mails_are_shown_then_given_up(app, auth, coordinator):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_MAX_ATTEMPTS=3,
                      MAIL_RETRY_BASE_SECONDS=60, MAIL_TIMEOUT_SECONDS=2)
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
    seminar = make_seminar(coordinator)
    rules.register_guest(seminar.id, name="Eva", organisation="SSAB", email="eva@example.se")
    later = utcnow()
    for _ in range(3):
        later += timedelta(hours=1)
        outbox.send_due(now=later)
    queued = db.session.scalar(select(OutboxMail))
    assert queued.status == MailStatus.failed and queued.attempts == 3
    auth.login(coordinator)
    page = auth.client.get("/mail/outbox").get_data(as_text=True)
    assert "eva@example.se" in page and "Avbrutet" in page
    moved = auth.client.get("/seminars/outbox")
    assert moved.status_code == 302 and moved.location == "/mail/outbox"


def test_two_senders_never_claim_the_same_mail(app, coordinator):
    seminar = make_seminar(coordinator)
    for n in range(3):
        rules.register_guest(seminar.id, name=f"G{n}", organisation="X", email=f"g{n}@example.se")
    first = {m.id for m in outbox.claim_due(limit=2)}
    second = {m.id for m in outbox.claim_due(limit=2)}
    assert len(first) == 2 and len(second) == 1 and not first & second


def test_development_mode_writes_the_outbox_folder(app, coordinator, tmp_path, capsys):
    app.config["MAIL_SERVER"] = ""
    app.instance_path = str(tmp_path)
    seminar = make_seminar(coordinator)
    rules.register_guest(seminar.id, name="Eva", organisation="SSAB", email="eva@example.se")
    assert outbox.send_due() == (1, 0)
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["To"] == "eva@example.se" and calendar_of(message).walk("VEVENT")
    assert "eva@example.se" in capsys.readouterr().out


def test_reminders_are_queued_once_for_confirmed_participants(app, coordinator):
    seminar = make_seminar(coordinator, capacity=1)
    rules.register_guest(seminar.id, name="A", organisation="X", email="a@example.se")
    rules.register_guest(seminar.id, name="B", organisation="X", email="b@example.se")  # waiting
    start = planning.starts_at(seminar)
    assert mail.queue_reminders(now=start - timedelta(days=5), days_before=2) == 0
    assert mail.queue_reminders(now=start - timedelta(days=1), days_before=2) == 1
    assert mail.queue_reminders(now=start - timedelta(hours=5), days_before=2) == 0
    reminders = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "reminder")).all()
    assert [m.recipient for m in reminders] == ["a@example.se"]


def test_queue_reminders_command_runs(app, coordinator):
    make_seminar(coordinator)
    result = app.test_cli_runner().invoke(args=["queue-reminders", "--days", "60"])
    assert result.exit_code == 0 and "queued 0 reminders" in result.output


def test_ics_on_the_autumn_daylight_saving_weekend(app, coordinator):
    from datetime import date, time

    from seminars.calendar import seminar_ics

    seminar = make_seminar(coordinator, day=date(2026, 10, 25), start=time(1, 30), end=time(4, 0),
                           publish=False)
    assert planning.ends_at(seminar) - planning.starts_at(seminar) == timedelta(hours=3, minutes=30)
    event = next(iter(Calendar.from_ical(seminar_ics(seminar, "https://x.example/s")).walk("VEVENT")))
    assert event["DTSTART"].dt.utcoffset() == timedelta(hours=2)
    assert event["DTEND"].dt.utcoffset() == timedelta(hours=1)


# --- written outside the seminar's lock ---------------------------------------------------------

def test_a_registration_queues_its_mail_with_the_subject_and_the_sender_writes_the_rest(app, smtp, coordinator):
    seminar = make_seminar(coordinator, capacity=1)
    rules.register_guest(seminar.id, name="Eva", organisation="SSAB", email="eva@example.se")
    rules.register_guest(seminar.id, name="Olle", organisation="SSAB", email="olle@example.se")
    db.session.commit()
    queued = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
    # Decided under the lock: who, the subject (the outbox page shows it), the calendar method.
    assert [(m.recipient, m.ics_method, m.render_with is not None, m.body) for m in queued] == [
        ("eva@example.se", "REQUEST", True, ""), ("olle@example.se", None, True, "")]
    assert queued[1].subject.startswith("Du står på väntelistan")
    assert outbox.send_due() == (2, 0)
    eva, olle = sorted(smtp.messages, key=lambda m: m["To"])
    assert "Eva" in eva.get_body().get_content() and calendar_of(eva)["METHOD"] == "REQUEST"
    assert "1" in olle.get_body().get_content() and not list(olle.iter_attachments())
    db.session.expire_all()
    assert all(m.render_with is None and m.body for m in db.session.scalars(select(OutboxMail)))


def test_the_explicit_render_step_writes_what_the_sender_would_send(app, coordinator):
    seminar = make_seminar(coordinator)
    outcome = rules.register_guest(seminar.id, name="Eva", organisation="SSAB", email="eva@example.se")
    assert outbox.render_queued() == 1
    queued = db.session.scalar(select(OutboxMail))
    assert outcome.token in queued.body and "BEGIN:VCALENDAR" in queued.ics
    assert outbox.render_queued() == 0  # written once


def test_a_mail_that_cannot_be_written_stays_queued_is_retried_and_then_shown_as_failed(app, auth, coordinator):
    app.config.update(MAIL_MAX_ATTEMPTS=2, MAIL_RETRY_BASE_SECONDS=60)
    seminar = make_seminar(coordinator)
    rules.register_guest(seminar.id, name="Eva", organisation="SSAB", email="eva@example.se")
    db.session.commit()
    broken = outbox.RENDERERS["seminar_registration"]
    outbox.RENDERERS["seminar_registration"] = lambda args: 1 / 0
    try:
        assert outbox.send_due() == (0, 1)
        db.session.expire_all()
        queued = db.session.scalar(select(OutboxMail))
        assert queued.status == MailStatus.queued and queued.attempts == 1
        assert queued.last_error.startswith("ZeroDivisionError") and queued.next_attempt_at > utcnow()
        assert outbox.send_due(now=utcnow() + timedelta(hours=1)) == (0, 1)
    finally:
        outbox.RENDERERS["seminar_registration"] = broken
    db.session.expire_all()
    queued = db.session.scalar(select(OutboxMail))
    assert queued.status == MailStatus.failed and queued.render_with == "seminar_registration"
    assert db.session.get(Registration, 1) is not None  # the registration itself stays
    auth.login(coordinator)
    page = auth.client.get("/mail/outbox").get_data(as_text=True)
    assert "eva@example.se" in page and queued.subject in page


def test_a_request_can_write_its_mails_right_after_its_commit(app, auth, coordinator, create_user):
    seminar = make_seminar(coordinator)
    staff = create_user(email="anna@example.se")
    auth.login(staff)
    app.config["MAIL_RENDER_AFTER_COMMIT"] = False
    assert auth.post(f"/seminars/{seminar.id}/register").status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(OutboxMail)).render_with == "seminar_registration"  # the sender's
    auth.post(f"/seminars/{seminar.id}/unregister")
    app.config["MAIL_RENDER_AFTER_COMMIT"] = True
    assert auth.post(f"/seminars/{seminar.id}/register").status_code == 302
    db.session.expire_all()
    last = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id.desc())).first()
    assert last.kind == "confirmed" and last.render_with is None and "BEGIN:VCALENDAR" in last.ics


def test_a_refused_registration_queues_no_mail_to_write(app, auth, coordinator, create_user):
    app.config["MAIL_RENDER_AFTER_COMMIT"] = True
    seminar = make_seminar(coordinator)
    auth.login(create_user(email="anna@example.se"))
    assert auth.post(f"/seminars/{seminar.id}/register").status_code == 302
    assert auth.post(f"/seminars/{seminar.id}/register").status_code == 409  # already registered
    db.session.expire_all()
    assert [m.kind for m in db.session.scalars(select(OutboxMail))] == ["confirmed"]
