"""The outbox of office/core: any feature's mail, in UTF-8, with an iTIP calendar file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from office.core import mail as outbox
from office.core.extensions import db
from office.core.models import MailStatus, OutboxMail
from office.core.transaction import unit_of_work
from tests.test_seminar_mail import smtp  # noqa: F401 - the aiosmtpd fixture

START = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)  # a Wednesday, no holiday


def invitation(method: str, sequence: int = 0) -> str:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Samlokal//test//SV")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = icalendar.Event()
    event.add("uid", "trepartssamtal-7@samlokal.example")
    event.add("sequence", sequence)
    event.add("dtstamp", START - timedelta(days=2))
    event.add("dtstart", START)
    event.add("dtend", START + timedelta(hours=1))
    event.add("summary", "Trepartssamtal i Samtalsrum Å")
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical().decode()


def calendar_part(message):
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    return parts[0]


def test_a_plain_mail_with_an_itip_request_arrives_in_utf8(app, smtp):  # noqa: F811
    with unit_of_work():
        outbox.queue_mail("asa@example.se", "sv", "Bokat: trepartssamtal onsdag",
                          "Hej Åsa!\nDu är inbjuden till ett möte i Samtalsrum Å.\n",
                          ics=invitation("REQUEST", sequence=2), ics_method="REQUEST",
                          topic="trepartssamtal:7", kind="trepartssamtal_booked")
    assert outbox.send_due() == (1, 0)
    [message] = smtp.messages
    assert message["Subject"] == "Bokat: trepartssamtal onsdag"
    assert message["Content-Language"] == "sv"
    text = message.get_body(("plain",))
    assert text.get_content_charset() == "utf-8"
    assert "Samtalsrum Å" in text.get_content()
    part = calendar_part(message)
    assert part.get_param("method") == "REQUEST" and part.get_content_charset() == "utf-8"
    assert part.get_filename() == "trepartssamtal.ics"
    calendar = icalendar.Calendar.from_ical(part.get_content())
    assert str(calendar["METHOD"]) == "REQUEST"
    event = next(iter(calendar.walk("VEVENT")))
    assert str(event["UID"]) == "trepartssamtal-7@samlokal.example" and event["SEQUENCE"] == 2
    assert str(event["SUMMARY"]) == "Trepartssamtal i Samtalsrum Å"
    assert db.session.scalar(select(OutboxMail.status)) == MailStatus.sent


def test_a_cancel_carries_its_method_and_a_file_without_one_stays_plain(app, smtp):  # noqa: F811
    with unit_of_work():
        outbox.queue_mail("a@example.se", "en", "Cancelled", "The meeting is cancelled.",
                          ics=invitation("CANCEL", sequence=3), ics_method="CANCEL")
        outbox.queue_mail("b@example.se", "sv", "Kalender", "En fil att lägga till.",
                          ics=invitation("PUBLISH").replace("METHOD:PUBLISH\r\n", ""))
        outbox.queue_mail("c@example.se", "sv", "Inbjudan", "Only ASCII here.")
    assert outbox.send_due() == (3, 0)
    by_recipient = {m["To"]: m for m in smtp.messages}
    cancel = calendar_part(by_recipient["a@example.se"])
    assert cancel.get_param("method") == "CANCEL" and cancel.get_content_charset() == "utf-8"
    assert cancel.get_filename() == "calendar.ics"
    assert str(icalendar.Calendar.from_ical(cancel.get_content())["METHOD"]) == "CANCEL"
    plain = calendar_part(by_recipient["b@example.se"])
    assert plain.get_param("method") is None and plain.get_content_charset() == "utf-8"
    no_file = by_recipient["c@example.se"]
    assert list(no_file.iter_attachments()) == []
    assert no_file.get_body(("plain",)).get_content_charset() == "utf-8"


def test_queueing_is_part_of_the_callers_transaction(app):
    outbox.queue_mail("a@example.se", "sv", "Ämne", "Text")
    assert outbox.queue_length() == 1  # flushed, visible to the caller
    db.session.rollback()  # the action was refused: no mail
    assert outbox.queue_length() == 0


def test_a_topic_key_queues_a_mail_only_once(app):
    with unit_of_work():
        first = outbox.queue_mail("a@example.se", "sv", "Påminnelse", "Text",
                                  topic="meeting:3", topic_key="meeting:3:reminder:a")
        again = outbox.queue_mail("a@example.se", "sv", "Påminnelse", "Text",
                                  topic="meeting:3", topic_key="meeting:3:reminder:a")
    assert again is first
    with unit_of_work():
        outbox.queue_mail("a@example.se", "sv", "Påminnelse", "Text", topic_key="meeting:3:reminder:a")
    assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == 1


def test_an_unknown_calendar_method_is_refused(app):
    with pytest.raises(ValueError):
        outbox.queue_mail("a@example.se", "sv", "Ämne", "Text", ics=invitation("REQUEST"),
                          ics_method="COUNTER")
    with pytest.raises(ValueError):
        outbox.queue_mail("a@example.se", "sv", "Ämne", "Text", ics_method="REQUEST")


def test_send_mail_command_delivers_the_outbox(app, smtp):  # noqa: F811
    with unit_of_work():
        outbox.queue_mail("a@example.se", "sv", "Ämne", "Text")
    result = app.test_cli_runner().invoke(args=["send-mail"])
    assert result.exit_code == 0 and "sent 1, failed 0" in result.output
    assert [m["To"] for m in smtp.messages] == ["a@example.se"]


def test_failing_mail_page_lists_any_features_mail_and_retries_it(app, auth, create_user):
    from office.accounts.models import Role

    coordinator = create_user(role=Role.coordinator)
    with unit_of_work():
        failed = outbox.queue_mail("gone@example.se", "sv", "Inbjudan till Samlokal", "Text",
                                   kind="invitation")
        failed.status, failed.attempts, failed.last_error = MailStatus.failed, 8, "SMTPRecipientsRefused"
    auth.login(coordinator)
    page = auth.client.get("/mail/outbox").get_data(as_text=True)
    assert "gone@example.se" in page and "SMTPRecipientsRefused" in page
    response = auth.post(f"/mail/outbox/{failed.id}/retry", {})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(OutboxMail, failed.id).status == MailStatus.queued


def test_the_migration_keeps_seminar_mail_as_topics(tmp_path):
    """0905 on SQLite: seminar ids become topics, reminders keys, calendar files PUBLISH."""
    from flask_migrate import downgrade, upgrade

    from tests.conftest import _test_config
    from wsgi import create_app

    url = f"sqlite:///{tmp_path}/migrate.sqlite3"
    app = create_app(_test_config(url))
    with app.app_context():
        upgrade(revision="0800_feed_sources")
        db.engine.dispose()
    plain = sa.create_engine(url)  # no foreign key checks: the seminars need not exist
    columns = ("kind, seminar_id, registration_id, recipient, locale, subject, body, ics, status, "
               "attempts, next_attempt_at, last_error, created_at")
    with plain.begin() as conn:
        for kind, seminar, registration, ics in [("confirmed", 12, 34, "BEGIN:VCALENDAR"),
                                                 ("reminder", 12, 34, "BEGIN:VCALENDAR"),
                                                 ("reminder", None, None, None)]:
            conn.execute(sa.text(f"INSERT INTO outbox_mail ({columns}) VALUES (:kind, :seminar, "
                                 ":registration, 'a@example.se', 'sv', 'S', 'B', :ics, 'queued', 0, "
                                 "'2027-03-01 08:00:00', '', '2027-03-01 08:00:00')"),
                         {"kind": kind, "seminar": seminar, "registration": registration, "ics": ics})
    plain.dispose()
    with app.app_context():
        upgrade(revision="0905_outbox_in_core")
        rows = db.session.execute(select(OutboxMail.kind, OutboxMail.topic, OutboxMail.topic_key,
                                         OutboxMail.ics_method).order_by(OutboxMail.id)).all()
        assert [tuple(r) for r in rows] == [
            ("confirmed", "seminar:12", None, "PUBLISH"),
            ("reminder", "seminar:12", "seminar:12:reminder:34", "PUBLISH"),
            ("reminder", None, None, None),
        ]
        db.session.remove()
        downgrade(revision="0800_feed_sources")  # back again (seminar 12 no longer exists: NULL)
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("outbox_mail")}
        assert {"seminar_id", "registration_id"} <= columns and "topic" not in columns
        db.engine.dispose()
