"""Mail to seminar participants: subjects, the rendered templates and the .ics.

`queue_*` hand each mail to the outbox in the caller's transaction (office/core/mail.py:
`queue_mail`, which also sends, retries and shows failing mails); a failing mail server
never loses a registration. A registration's mail is only decided under the seminar's
lock (subject, calendar method and SEQUENCE); its body and .ics are rendered after the
commit by `render_registration_mail` (office/core/mail.py: `render_queued`, or the sender).

Transactions: `queue_reminders()` adds to its caller's unit of work (the queue-reminders
command's); nothing here commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, g
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from office.core.database import utcnow
from office.core.extensions import db
from office.core.mail import add_renderer, external_url, queue_mail
from office.core.models import OutboxMail
from seminars.calendar import ends_at, mail_ics, starts_at
from seminars.links import new_token, seminar_url
from seminars.models import (
    DayAttendance,
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarDay,
    SeminarSession,
    SeminarState,
)

SUBJECTS = {
    "confirmed": _l("Registration confirmed: %(title)s"),
    "waiting": _l("You are on the waiting list: %(title)s"),
    "promoted": _l("You have a place: %(title)s"),
    "reminder": _l("Reminder: %(title)s"),
    "changed": _l("Changed: %(title)s"),
    "cancelled": _l("Cancelled: %(title)s"),
    "registration_cancelled": _l("Your registration is cancelled: %(title)s"),
    "session_promoted": _l("You have a place in a session: %(title)s"),
    "evaluation": _l("How was %(title)s? Tell us in a minute"),
    "links": _l("Your links to your seminar registrations"),
}
# What a mail's calendar file does to the entry the person has (docs/seminars.md): a place
# is a REQUEST, a place taken back a CANCEL, always with the same UID and a higher SEQUENCE.
# The waiting list gets no file: a calendar entry would promise a seat.
CALENDAR_METHOD = {
    "confirmed": "REQUEST", "promoted": "REQUEST", "reminder": "REQUEST", "changed": "REQUEST",
    "cancelled": "CANCEL", "registration_cancelled": "CANCEL",
}
# Participants are asked for their evaluation when the last day ends; not for older seminars.
EVALUATION_WINDOW = timedelta(days=14)


# --- queueing (in the caller's transaction) ----------------------------------------------

def calendar_method(kind: str, registration: Registration) -> str | None:
    """REQUEST or CANCEL for people who hold (or just held) a place; None: no calendar file."""
    method = CALENDAR_METHOD.get(kind)
    if kind != "registration_cancelled" and registration.status != RegistrationStatus.confirmed:
        return None
    return method


def next_calendar_sequence(registration: Registration) -> int:
    """Higher than any SEQUENCE this person was sent, never below the seminar's."""
    sequence = registration.seminar.sequence or 0
    if registration.calendar_sequence is not None:
        sequence = max(sequence, registration.calendar_sequence + 1)
    registration.calendar_sequence = sequence
    return sequence


# Mails each registration gets once, also if its stamp (reminded_at, ...) were ever lost.
ONCE = ("reminder", "evaluation")


def queue_for_registration(kind: str, registration: Registration, *,
                           personal_token: str | None = None,
                           waiting_position: int | None = None,
                           session=None, evaluation_url: str | None = None) -> OutboxMail:
    """Add the mail to the outbox; its body and .ics are written outside the caller's lock.

    Decided here, in the caller's transaction: the subject (in the recipient's language,
    for the outbox page), whether there is a calendar file and its SEQUENCE. The body and
    the file are written by `render_registration_mail` after the commit (or by the sender),
    from the arguments the outbox row keeps.
    """
    seminar = registration.seminar
    method = calendar_method(kind, registration)
    sequence = next_calendar_sequence(registration) if method else None
    g.samlokal_mail = True  # flask-babel only forces a locale when `g` is not empty
    with force_locale(registration.locale or "sv"):
        subject = str(SUBJECTS[kind]) % {"title": seminar.title}
    key = f"seminar:{seminar.id}:{kind}:{registration.id}" if kind in ONCE else None
    return queue_mail(registration.email, registration.locale or "sv", subject,
                      ics_method=method, topic=f"seminar:{seminar.id}", topic_key=key, kind=kind,
                      render=(RENDERER, {
                          "kind": kind, "registration": registration.id, "method": method,
                          "sequence": sequence, "personal_token": personal_token,
                          "waiting_position": waiting_position,
                          "session": session.id if session is not None else None,
                          "evaluation_url": evaluation_url}))


def subjects_of_first_registration(seminar: Seminar, locale: str) -> dict[str, str]:
    """The subject of each mail a first registration may get ("confirmed", "waiting"), in
    the recipient's language: written before the seminar's lock, which then picks one
    (seminars/registration.py: its one statement inserts the outbox row itself, with
    `render_with` RENDERER and the same arguments `queue_for_registration` keeps)."""
    g.samlokal_mail = True
    with force_locale(locale or "sv"):
        return {kind: str(SUBJECTS[kind]) % {"title": seminar.title} for kind in ("confirmed", "waiting")}


RENDERER = "seminar_registration"


@add_renderer(RENDERER)
def render_registration_mail(args: dict) -> tuple[str, str | None]:
    """The body (in the recipient's language) and the .ics of a mail queued above."""
    registration = db.session.get(Registration, args["registration"])
    if registration is None:
        raise LookupError(f"registration {args['registration']} no longer exists")
    seminar = registration.seminar
    session = db.session.get(SeminarSession, args["session"]) if args.get("session") else None
    url = seminar_url(seminar)
    token = args.get("personal_token")
    personal_url = external_url("seminars.guest_registration", token=token) if token else None
    method = args.get("method")
    ics = mail_ics(seminar, url, registration, method, args["sequence"]) if method else None
    g.samlokal_mail = True
    with force_locale(registration.locale or "sv"):
        body = current_app.jinja_env.get_template(f"seminars/mail/{args['kind']}.txt").render(
            seminar=seminar, registration=registration, url=url, personal_url=personal_url,
            waiting_position=args.get("waiting_position"), session=session,
            evaluation_url=args.get("evaluation_url"), has_calendar=ics is not None,
        )
    return body, ics


def queue_links(links: list[tuple[Registration, str]], *, locale: str) -> OutboxMail:
    """One mail with a fresh personal link to each registration of one address."""
    g.samlokal_mail = True
    rows = [(registration.seminar, external_url("seminars.guest_registration", token=token))
            for registration, token in links]
    with force_locale(locale):
        subject = str(SUBJECTS["links"])
        body = current_app.jinja_env.get_template("seminars/mail/links.txt").render(rows=rows)
    return queue_mail(links[0][0].email, locale, subject, body, topic="seminar-links", kind="links")


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


def queue_evaluation_requests(now: datetime | None = None) -> int:
    """Ask participants of seminars whose last day has ended for their evaluation.

    Each registration is asked once (evaluation_requested_at), with a link that opens only
    the evaluation. When anyone was checked in, only those present on some day are asked.
    Seminars that ended more than EVALUATION_WINDOW ago are left alone. Safe on two
    machines at once (SKIP LOCKED, as the reminders); adds to the caller's unit of work.
    """
    now = now or utcnow()
    recent = (select(SeminarDay.seminar_id).group_by(SeminarDay.seminar_id).having(
        func.max(SeminarDay.day).between((now - EVALUATION_WINDOW - timedelta(days=1)).date(),
                                         (now + timedelta(days=1)).date())))
    ended = [seminar.id for seminar in db.session.scalars(select(Seminar).where(
        Seminar.state.in_([SeminarState.published, SeminarState.finished]), Seminar.id.in_(recent)))
        if (end := ends_at(seminar)) is not None and now - EVALUATION_WINDOW < end <= now]
    if not ended:
        return 0
    checked_in = set(db.session.scalars(
        select(Registration.seminar_id).join(DayAttendance).where(Registration.seminar_id.in_(ended))))
    due = db.session.scalars(
        select(Registration).where(
            Registration.seminar_id.in_(ended),
            Registration.status == RegistrationStatus.confirmed,
            Registration.evaluation_requested_at.is_(None),
        ).order_by(Registration.id)
        .with_for_update(skip_locked=True, of=Registration)
        .execution_options(populate_existing=True)
    ).all()
    asked = 0
    for registration in due:
        if registration.evaluation is not None or (
                registration.seminar_id in checked_in and not registration.attendances):
            continue
        token, registration.evaluation_token_hash = new_token()
        registration.evaluation_requested_at = now
        queue_for_registration("evaluation", registration, evaluation_url=external_url(
            "seminars.evaluate_by_link", token=token))
        asked += 1
    db.session.flush()
    return asked
