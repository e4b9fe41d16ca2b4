"""The production way to deliver the outbox: `flask --app wsgi send-mail --loop` as a process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from datetime import time as clock

import icalendar

from office.booking import rules as booking
from office.booking.rules import BookingRequest
from office.core.extensions import db
from tests.servers import ROOT
from tests.test_seminar_mail import smtp  # noqa: F401 - the aiosmtpd fixture

NOW = datetime(2026, 2, 2, 6, 0, tzinfo=timezone.utc)


def test_the_loop_worker_delivers_a_booking_mail_and_stops_on_sigterm(
        app, smtp, database_url, tmp_path, create_user, create_resource, create_site):  # noqa: F811
    site = create_site(opens=clock(7), closes=clock(18))
    room = create_resource(site=site, name="Samtalsrum 2", capacity=4)
    sara, ali = create_user(name="Sara Berg"), create_user(name="Ali Yusuf", email="ali@example.se")
    booking.book(BookingRequest(resource=room, title="Planering", first_day=date(2026, 2, 4),
                                start_time=clock(10), end_time=clock(11), booked_by=sara,
                                booked_for=ali, attendees=2), now=NOW)
    db.session.commit()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "worker-test",
           "SAMLOKAL_INSTANCE_PATH": str(tmp_path), "SAMLOKAL_NO_MODULE_APP": "0",
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(app.config["MAIL_PORT"])}
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "send-mail", "--loop", "--interval", "0.2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not smtp.messages and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.2)
        assert smtp.messages, "no mail arrived within 60 s"
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            out, err = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            out, err = worker.communicate()
    assert worker.returncode == 0, err
    assert "send-mail stopped" in out
    message = smtp.messages[0]
    assert message["To"] == "ali@example.se" and "Planering" in message["Subject"]
    part = next(p for p in message.iter_attachments() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "REQUEST"
    calendar = icalendar.Calendar.from_ical(part.get_content())
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(next(iter(calendar.walk("VEVENT")))["SUMMARY"]) == "Planering"
