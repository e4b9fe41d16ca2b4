"""Mail through an outbox table, for every feature.

`queue_mail()` adds a row in the caller's transaction and never commits (a failing mail
server never loses a booking or a registration, and a refused action queues nothing);
the feature renders subject and body in the recipient's language first. `send_due()`
delivers the rows over SMTP, or in development (MAIL_SERVER empty) writes them to
`instance/outbox/` and prints one line (`flask --app wsgi send-mail [--loop]`). A mail
that fails is retried with exponential backoff; after MAIL_MAX_ATTEMPTS it is marked
failed and the coordinator sees it (office/core/mail_views.py). Each sender claims rows
with SELECT ... FOR UPDATE SKIP LOCKED (PostgreSQL) and a lease, so two senders never send
the same mail and a crashed sender's claim runs out.
"""

from __future__ import annotations

import logging
import smtplib
import socket
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app, has_request_context, url_for
from sqlalchemy import func, or_, select

from office.core.database import utcnow
from office.core.extensions import db
from office.core.models import MailStatus, OutboxMail
from office.core.transaction import unit_of_work

log = logging.getLogger("samlokal.mail")

LEASE = timedelta(minutes=5)
# iTIP methods (RFC 5546) a calendar attachment may carry; the .ics itself must say the same.
ICS_METHODS = ("PUBLISH", "REQUEST", "CANCEL")


def external_url(endpoint: str, **values) -> str:
    """An absolute link for a mail: BASE_URL and the route (also outside a request)."""
    base = current_app.config["BASE_URL"].rstrip("/")
    if has_request_context():
        return base + url_for(endpoint, **values)
    with current_app.test_request_context():
        return base + url_for(endpoint, **values)


# --- queueing (in the caller's transaction) ----------------------------------------------

def queue_mail(recipient: str, locale: str, subject: str, body: str, *,
               ics: str | None = None, ics_method: str | None = None,
               topic: str | None = None, topic_key: str | None = None,
               kind: str = "message") -> OutboxMail:
    """Add one mail to the outbox; sent after the caller's transaction commits.

    `topic` says what it is about ("trepartssamtal:7"; the .ics is named after its first
    part). With `topic_key`, a mail with that key already in the outbox (in any state) is
    returned instead of a second one being added.
    """
    if ics_method is not None and ics_method not in ICS_METHODS:
        raise ValueError(f"ics_method must be one of {ICS_METHODS}, not {ics_method!r}")
    if ics_method is not None and ics is None:
        raise ValueError("ics_method without an ics")
    if topic_key is not None:
        existing = db.session.scalar(select(OutboxMail).where(OutboxMail.topic_key == topic_key))
        if existing is not None:
            return existing
    mail = OutboxMail(
        kind=kind, topic=topic, topic_key=topic_key, recipient=recipient, locale=locale,
        subject=subject, body=body, ics=ics, ics_method=ics_method, status=MailStatus.queued,
        attempts=0, last_error="", next_attempt_at=utcnow(),
    )
    db.session.add(mail)
    return mail


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
    with unit_of_work():  # the lease is seen by other senders before the slow SMTP work
        mails = list(db.session.scalars(query))
        for mail in mails:
            mail.claimed_until = now + LEASE
            mail.attempts += 1
    return mails


def ics_filename(mail: OutboxMail) -> str:
    """'seminar.ics' for topic 'seminar:12'; 'calendar.ics' without a topic."""
    name = (mail.topic or "").split(":", 1)[0].strip()
    return f"{name or 'calendar'}.ics"


def build_message(mail: OutboxMail) -> EmailMessage:
    """Plain text in UTF-8, and the calendar file (text/calendar, UTF-8, its iTIP method)."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=f"outbox-{mail.id}")
    message.set_content(mail.body, charset="utf-8")
    if mail.ics:
        params = {"method": mail.ics_method} if mail.ics_method else {}
        params["charset"] = "utf-8"
        message.add_attachment(mail.ics.encode(), maintype="text", subtype="calendar",
                               filename=ics_filename(mail), params=params)
    # Last: set_content and add_attachment remove or move every Content-* header before them.
    message["Content-Language"] = mail.locale
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


# --- watching -----------------------------------------------------------------------------

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
    """Due again at the sender's next round (in the caller's transaction)."""
    mail.status, mail.next_attempt_at, mail.claimed_until = MailStatus.queued, utcnow(), None
