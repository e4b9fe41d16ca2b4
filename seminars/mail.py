"""Mail to participants through an outbox table.

`queue_*` add rows in the caller's transaction (a failing mail server never loses a
registration); `send_due()` delivers them over SMTP, or in development (MAIL_SERVER
empty) writes them to `instance/outbox/` and prints one line. A mail that fails is
retried with exponential backoff; after MAIL_MAX_ATTEMPTS it is marked failed and the
coordinator sees it (seminars.views.outbox). Each sender claims rows with
SELECT ... FOR UPDATE SKIP LOCKED (PostgreSQL) and a lease, so two senders never send
the same mail and a crashed sender's claim runs out.

Transactions: unlike the rules, `send_due()` is a job that owns several. The claim is
committed at once (its own unit of work), so other senders see the lease before the slow
SMTP round trips begin, and each mail's result is committed on its own, so one bad mail
never undoes the mails already sent. `queue_reminders()` adds to its caller's unit of work
(the queue-reminders command's).
"""

from __future__ import annotations

import logging
import smtplib
import socket
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app, g
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from office.core.database import utcnow
from office.core.extensions import db
from office.core.transaction import unit_of_work
from seminars.calendar import seminar_ics, starts_at
from seminars.links import external_url, seminar_url
from seminars.models import (
    MailStatus,
    OutboxMail,
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarState,
)

log = logging.getLogger("samlokal.mail")

SUBJECTS = {
    "confirmed": _l("Registration confirmed: %(title)s"),
    "waiting": _l("You are on the waiting list: %(title)s"),
    "promoted": _l("You have a place: %(title)s"),
    "reminder": _l("Reminder: %(title)s"),
    "changed": _l("Changed: %(title)s"),
    "cancelled": _l("Cancelled: %(title)s"),
}
LEASE = timedelta(minutes=5)


# --- queueing (in the caller's transaction) ----------------------------------------------

def queue_for_registration(kind: str, registration: Registration, *,
                           personal_token: str | None = None,
                           waiting_position: int | None = None) -> OutboxMail:
    """Render the mail in the recipient's language and add it to the outbox."""
    seminar = registration.seminar
    url = seminar_url(seminar)
    personal_url = (external_url("seminars.guest_registration", token=personal_token)
                    if personal_token else None)
    g.samlokal_mail = True  # flask-babel only forces a locale when `g` is not empty
    with force_locale(registration.locale or "sv"):
        subject = str(SUBJECTS[kind]) % {"title": seminar.title}
        body = current_app.jinja_env.get_template(f"seminars/mail/{kind}.txt").render(
            seminar=seminar, registration=registration, url=url, personal_url=personal_url,
            waiting_position=waiting_position,
        )
    outbox = OutboxMail(
        kind=kind, seminar_id=seminar.id, registration_id=registration.id,
        recipient=registration.email, locale=registration.locale or "sv", subject=subject,
        body=body, ics=seminar_ics(seminar, url), status=MailStatus.queued,
        next_attempt_at=utcnow(),
    )
    db.session.add(outbox)
    return outbox


def queue_for_seminar(kind: str, seminar: Seminar) -> list[OutboxMail]:
    """The same news to everyone registered or waiting (changed, cancelled)."""
    return [queue_for_registration(kind, r) for r in seminar.registrations if r.is_active]


def queue_reminders(now: datetime | None = None, days_before: int | None = None) -> int:
    """Queue the reminder for seminars starting within N days; each person gets one."""
    now = now or utcnow()
    days = current_app.config.get("SEMINAR_REMINDER_DAYS", 2) if days_before is None else days_before
    soon = [seminar.id for seminar in db.session.scalars(
        select(Seminar).where(Seminar.state == SeminarState.published))
        if (start := starts_at(seminar)) is not None and now < start <= now + timedelta(days=days)]
    if not soon:
        return 0
    # Safe on two machines at once: each registration is taken FOR UPDATE SKIP LOCKED and
    # read afresh, so a second runner skips what the first holds and then sees reminded_at.
    due = db.session.scalars(
        select(Registration).where(
            Registration.seminar_id.in_(soon),
            Registration.status == RegistrationStatus.confirmed,
            Registration.reminded_at.is_(None),
        ).order_by(Registration.id)
        .with_for_update(skip_locked=True, of=Registration)
        .execution_options(populate_existing=True)
    ).all()
    for registration in due:
        registration.reminded_at = now
        queue_for_registration("reminder", registration)
    return len(due)


# --- sending ------------------------------------------------------------------------------

def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes after each failure, at most six hours."""
    base = current_app.config.get("MAIL_RETRY_BASE_SECONDS", 60)
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 6 * 3600))


def claim_due(limit: int = 20, now: datetime | None = None) -> list[OutboxMail]:
    """Take up to `limit` due mails for this sender (a lease, committed at once)."""
    now = now or utcnow()
    query = (
        select(OutboxMail)
        .where(OutboxMail.status == MailStatus.queued, OutboxMail.next_attempt_at <= now,
               or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until <= now))
        .order_by(OutboxMail.next_attempt_at, OutboxMail.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    with unit_of_work():
        mails = list(db.session.scalars(query))
        for mail in mails:
            mail.claimed_until = now + LEASE
            mail.attempts += 1
    return mails


def build_message(mail: OutboxMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=f"outbox-{mail.id}")
    message["Content-Language"] = mail.locale
    message.set_content(mail.body)
    if mail.ics:
        message.add_attachment(mail.ics.encode(), maintype="text", subtype="calendar",
                               filename="seminar.ics", params={"method": "PUBLISH"})
    return message


def deliver(message: EmailMessage) -> None:
    """Over SMTP; in development (no MAIL_SERVER) to instance/outbox and the console."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        folder = Path(current_app.instance_path) / "outbox"
        folder.mkdir(parents=True, exist_ok=True)
        name = message["Message-ID"].strip("<>").replace("/", "_") + ".eml"
        (folder / name).write_bytes(bytes(message))
        print(f"[mail] to {message['To']}: {message['Subject']} ({folder / name})")
        return
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"],
                      timeout=config.get("MAIL_TIMEOUT_SECONDS", 10)) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)


def send_due(limit: int = 20, now: datetime | None = None) -> tuple[int, int]:
    """Send what is due; returns (sent, failed this round)."""
    sent = failed = 0
    max_attempts = current_app.config.get("MAIL_MAX_ATTEMPTS", 8)
    for mail in claim_due(limit, now):
        with unit_of_work():  # this mail's result, whatever happens to the next one
            try:
                deliver(build_message(mail))
            except (OSError, smtplib.SMTPException, socket.timeout) as error:
                failed += 1
                mail.last_error = f"{type(error).__name__}: {error}"[:500]
                mail.claimed_until = None
                if mail.attempts >= max_attempts:
                    mail.status = MailStatus.failed
                else:
                    mail.next_attempt_at = utcnow() + backoff(mail.attempts)
                log.warning("mail %s to outbox row failed (attempt %d): %s", mail.kind,
                            mail.attempts, type(error).__name__)
            else:
                sent += 1
                mail.status, mail.sent_at, mail.claimed_until = MailStatus.sent, utcnow(), None
                mail.last_error = ""
    return sent, failed


def queue_length() -> int:
    """Mails still to be sent (the /metrics gauge; the same whichever worker is asked)."""
    return db.session.scalar(select(func.count()).select_from(OutboxMail).where(
        OutboxMail.status == MailStatus.queued))


def failing_mails() -> list[OutboxMail]:
    """Mails that failed at least twice or were given up: the coordinator looks at these."""
    return list(db.session.scalars(
        select(OutboxMail).where(or_(
            OutboxMail.status == MailStatus.failed,
            (OutboxMail.status == MailStatus.queued) & (OutboxMail.attempts >= 2),
        )).order_by(OutboxMail.created_at.desc())
    ))


def retry_now(mail: OutboxMail) -> None:
    mail.status, mail.next_attempt_at, mail.claimed_until = MailStatus.queued, utcnow(), None
