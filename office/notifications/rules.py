"""Who is told what, in which language, and the mail itself (queued, never committed)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from office import feeds
from office.accounts.models import User
from office.core.extensions import db
from office.core.mail import queue_mail
from office.notifications.calendar import scheduling_ics
from office.notifications.models import MailOptOut

# The optional mails; each person may turn any of them off. Invitations are always sent.
TOPICS = {
    "booked_for": _l("When someone books a room or desk for me, or changes or cancels it"),
    "meetings": _l("When a meeting I am a member of is moved or cancelled"),
    "trepartssamtal": _l("When a trepartssamtal I take part in is booked, moved or cancelled"),
}


def locale_of(user: User) -> str:
    return user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]


def opted_out(user: User) -> set[str]:
    return set(db.session.scalars(select(MailOptOut.topic).where(MailOptOut.user_id == user.id)))


def wants(user: User | None, topic: str) -> bool:
    if user is None or not user.active or not user.email:
        return False
    return db.session.get(MailOptOut, (user.id, topic)) is None


def set_wanted(user: User, wanted: set[str]) -> None:
    """Keep the topics in `wanted`, turn the others off (in the caller's transaction)."""
    db.session.execute(delete(MailOptOut).where(MailOptOut.user_id == user.id))
    for topic in TOPICS:
        if topic not in wanted:
            db.session.add(MailOptOut(user_id=user.id, topic=topic))


def when(start: datetime, end: datetime, locale: str) -> str:
    """'onsdag 9 december 2026 10:00–11:00' in the recipient's language, local time."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    start, end = start.astimezone(zone), end.astimezone(zone)
    text = (f"{format_date(start.date(), 'full', locale=locale)} "
            f"{format_time(start.time(), 'short', locale=locale)}–")
    if end.date() != start.date():
        text += f"{format_date(end.date(), 'full', locale=locale)} "
    return text + format_time(end.time(), "short", locale=locale)


def tell(user: User, topic: str, *, subject, body, events: list[feeds.FeedEvent] | None = None,
         method: str | None = None, topic_ref: str | None = None) -> bool:
    """Queue one mail to `user` unless they turned `topic` off.

    `subject` and `body` are callables of the locale, called with that locale active (so
    `gettext` inside them answers in the recipient's language). Returns whether queued.
    """
    if topic in TOPICS and not wants(user, topic):
        return False
    if not user.email or (topic != "invitation" and not user.active):
        return False
    locale = locale_of(user)
    with force_locale(locale):
        subject_text, body_text = str(subject(locale)), str(body(locale))
    ics = scheduling_ics(events, method, user.email) if events and method else None
    queue_mail(user.email, locale, subject_text, body_text, ics=ics,
               ics_method=method if ics else None, topic=topic_ref or topic,
               kind=f"notify_{topic}")
    return True


def footer() -> str:
    from flask_babel import gettext as _

    from office.core.mail import external_url

    return "\n\n-- \n" + _("You can choose which mails Samlokal sends you: %(url)s",
                           url=external_url("notifications.preferences"))
