"""Mail through an outbox table, for every feature.

`queue_mail()` adds a row in the caller's transaction and never commits (a failing mail
server never loses a booking or a registration, and a refused action queues nothing);
the feature renders subject and body in the recipient's language first, or, when that is
slow and the caller holds a lock (a seminar's registrations), renders only the subject
and leaves the body and .ics to a renderer it registered (`add_renderer`, `render=`).
Such a mail is written by the sender before it delivers, or, with MAIL_RENDER_AFTER_COMMIT,
by the request right after its commit (office/core/transaction.py); tests and tools call
`render_queued()`; a mail
that cannot be rendered stays in the outbox and is retried, then marked failed, like a
mail the server refused. `send_due()`
delivers the rows over SMTP, or in development (MAIL_SERVER empty) writes them to
`instance/outbox/` and prints one line (`flask --app wsgi send-mail [--loop]`). A mail
that fails is retried with exponential backoff; after MAIL_MAX_ATTEMPTS it is marked
failed and the coordinator sees it (office/core/mail_views.py). Each sender claims rows
with SELECT ... FOR UPDATE SKIP LOCKED (PostgreSQL) and a lease, so two senders never send
the same mail and a crashed sender's claim runs out.
"""

from __future__ import annotations

import json
import logging
import smtplib
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app, g, has_request_context, url_for
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from office.core.database import utcnow
from office.core.extensions import db
from office.core.models import MailStatus, OutboxMail
from office.core.transaction import after_request_commit, unit_of_work

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

# name -> renderer(args) -> (body, ics or None); features register theirs at import.
RENDERERS: dict[str, Callable[[dict], tuple[str, str | None]]] = {}


def add_renderer(name: str):
    """Register a function that writes a deferred mail's body and .ics from its arguments."""
    def register(renderer):
        RENDERERS[name] = renderer
        return renderer
    return register


def queue_mail(recipient: str, locale: str, subject: str, body: str = "", *,
               ics: str | None = None, ics_method: str | None = None,
               topic: str | None = None, topic_key: str | None = None,
               kind: str = "message", render: tuple[str, dict] | None = None) -> OutboxMail:
    """Add one mail to the outbox; sent after the caller's transaction commits.

    `topic` says what it is about ("trepartssamtal:7"; the .ics is named after its first
    part). With `topic_key`, a mail with that key already in the outbox (in any state) is
    returned instead of a second one being added. With `render=(renderer, args)` the body
    and .ics are left to that renderer (JSON-able args), run after the commit or by the
    sender; `ics_method` is then the method the renderer's file will carry (or None).
    """
    if ics_method is not None and ics_method not in ICS_METHODS:
        raise ValueError(f"ics_method must be one of {ICS_METHODS}, not {ics_method!r}")
    if ics_method is not None and ics is None and render is None:
        raise ValueError("ics_method without an ics")
    if render is not None and render[0] not in RENDERERS:
        raise ValueError(f"no mail renderer named {render[0]!r}")
    if topic_key is not None:
        existing = db.session.scalar(select(OutboxMail).where(OutboxMail.topic_key == topic_key))
        if existing is not None:
            return existing
    mail = OutboxMail(
        kind=kind, topic=topic, topic_key=topic_key, recipient=recipient, locale=locale,
        subject=subject, body=body, ics=ics, ics_method=ics_method, status=MailStatus.queued,
        attempts=0, last_error="", next_attempt_at=utcnow(),
    )
    if render is not None:
        mail.render_with, mail.render_args = render[0], json.dumps(render[1])
        _rendered_after_commit().append(mail)
    db.session.add(mail)
    return mail


def render_after_commit(mail_id: int) -> None:
    """A deferred mail a feature inserted itself (one statement, no OutboxMail object) is
    written after this request's commit like those `queue_mail` queued (MAIL_RENDER_AFTER_COMMIT)."""
    _rendered_after_commit().append(mail_id)


def _rendered_after_commit() -> list[OutboxMail | int]:
    """The deferred mails this request queued, when it writes them after its commit
    (MAIL_RENDER_AFTER_COMMIT); otherwise, and outside a request, the sender writes them."""
    if not has_request_context() or not current_app.config.get("MAIL_RENDER_AFTER_COMMIT"):
        return []
    if "samlokal_mails_to_render" not in g:
        g.samlokal_mails_to_render = []
    return g.samlokal_mails_to_render


def render(mail: OutboxMail) -> None:
    """Write a deferred mail's body and .ics (in the caller's transaction); raises on failure."""
    if mail.render_with is None:
        return
    body, ics = RENDERERS[mail.render_with](json.loads(mail.render_args or "{}"))
    if (ics is None) != (mail.ics_method is None):
        raise ValueError(f"renderer {mail.render_with!r} disagrees with ics_method {mail.ics_method!r}")
    # One conditional UPDATE (not a flush of the row): whoever renders first writes it, and
    # the mail's other columns (a sender's claim) are left as they are.
    db.session.execute(
        update(OutboxMail).where(OutboxMail.id == mail.id, OutboxMail.render_with.is_not(None))
        .values(body=body, ics=ics, render_with=None, render_args=None)
        .execution_options(synchronize_session=False))
    for name, value in (("body", body), ("ics", ics), ("render_with", None), ("render_args", None)):
        set_committed_value(mail, name, value)


def render_queued(ids: list[int] | None = None) -> int:
    """Render the deferred mails still queued (these ids, or all) in the caller's transaction.

    The one explicit render step: the request calls it after its commit, tests call it
    before reading a body. Returns how many were written.
    """
    query = select(OutboxMail).where(OutboxMail.render_with.is_not(None),
                                     OutboxMail.status == MailStatus.queued)
    if ids is not None:
        if not ids:
            return 0
        query = query.where(OutboxMail.id.in_(ids))
    mails = list(db.session.scalars(query.order_by(OutboxMail.id)))
    for mail in mails:
        render(mail)
    return len(mails)


@after_request_commit
def _render_this_requests_mails() -> None:
    """After the request committed, outside its locks: write the mails it queued.

    Its own transaction; a failure is logged and left to the sender, which tries again
    (and in the end marks the mail failed, on the outbox page).
    """
    mails = g.pop("samlokal_mails_to_render", None)
    if not mails:
        return
    ids = [mail if isinstance(mail, int) else mail.id for mail in mails]
    ids = [mail_id for mail_id in ids if mail_id is not None]
    try:
        with unit_of_work():
            render_queued(ids)
    except Exception:
        log.exception("rendering %d mails after the commit failed; the sender retries", len(ids))


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


class RenderFailed(Exception):
    """A deferred mail could not be written (its cause says why)."""


def _render_for_sending(mail: OutboxMail) -> None:
    """Render in a savepoint: a failure (even a database error) leaves the mail to retry."""
    try:
        with db.session.begin_nested():
            render(mail)
    except Exception as error:
        raise RenderFailed(str(error)) from error


def send_due(limit: int = 20, now: datetime | None = None) -> tuple[int, int]:
    """Send what is due; returns (sent, failed this round)."""
    sent = failed = 0
    max_attempts = current_app.config.get("MAIL_MAX_ATTEMPTS", 8)
    for mail in claim_due(limit, now):
        mail_id = mail.id
        with unit_of_work():  # this mail's result, whatever happens to the next one
            try:
                if mail.render_with is not None:
                    _render_for_sending(mail)
                deliver(build_message(mail))
            except (OSError, smtplib.SMTPException, socket.timeout, RenderFailed) as error:
                failed += 1
                mail = db.session.get(OutboxMail, mail_id)
                if isinstance(error, RenderFailed):
                    error = error.__cause__ or error
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
