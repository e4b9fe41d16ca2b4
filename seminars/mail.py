"""Mail to seminar participants: subjects, the rendered templates and the .ics.

`queue_*` render each mail in the recipient's language and hand it to the outbox in the
caller's transaction (office/core/mail.py: `queue_mail`, which also sends, retries and
shows failing mails); a failing mail server never loses a registration.

Transactions: `queue_reminders()` adds to its caller's unit of work (the queue-reminders
command's); nothing here commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, g
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from office.core.database import utcnow
from office.core.extensions import db
from office.core.mail import external_url, queue_mail
from office.core.models import OutboxMail
from seminars.calendar import seminar_ics, starts_at
from seminars.links import seminar_url
from seminars.models import Registration, RegistrationStatus, Seminar, SeminarState

SUBJECTS = {
    "confirmed": _l("Registration confirmed: %(title)s"),
    "waiting": _l("You are on the waiting list: %(title)s"),
    "promoted": _l("You have a place: %(title)s"),
    "reminder": _l("Reminder: %(title)s"),
    "changed": _l("Changed: %(title)s"),
    "cancelled": _l("Cancelled: %(title)s"),
}


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
    # One reminder per registration, also if reminded_at were ever lost.
    key = f"seminar:{seminar.id}:reminder:{registration.id}" if kind == "reminder" else None
    return queue_mail(registration.email, registration.locale or "sv", subject, body,
                      ics=seminar_ics(seminar, url), ics_method="PUBLISH",
                      topic=f"seminar:{seminar.id}", topic_key=key, kind=kind)


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
