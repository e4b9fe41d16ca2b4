"""Seminar days in the premises on a day they close: flagged for the coordinator, not cancelled.

A seminar has invited guests and its own mail; the coordinator decides (move the day, another
venue, cancel) on the seminar's page. Registered with office's premises.add_closure_impact.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from office.accounts.models import Role, User
from office.core.extensions import db
from office.core.mail import external_url, queue_mail
from office.premises.models import Resource
from office.premises.rules import ClosureImpact, add_closure_impact
from seminars.models import Seminar, SeminarDay, SeminarState


def register() -> None:
    add_closure_impact(seminar_days_on_closed_days)


def seminar_days_on_closed_days(site, first, last, fits, *, apply=False, actor=None):
    days = db.session.scalars(
        select(SeminarDay).join(Seminar, Seminar.id == SeminarDay.seminar_id)
        .join(Resource, Resource.id == SeminarDay.resource_id)
        .where(Resource.site_id == site.id, SeminarDay.day.between(first, last),
               Seminar.state.in_([SeminarState.draft, SeminarState.published]))
        .order_by(SeminarDay.day, SeminarDay.start_time)
    ).all()
    items = []
    for seminar_day in days:
        zone = ZoneInfo(seminar_day.seminar.timezone)
        start = datetime.combine(seminar_day.day, seminar_day.start_time, zone)
        end = datetime.combine(seminar_day.day, seminar_day.end_time, zone)
        if fits(start, end):
            continue
        items.append(ClosureImpact("seminar", seminar_day.seminar.title, start, end, cancels=False))
        if apply:
            _flag(seminar_day)
    return items


def _flag(seminar_day: SeminarDay) -> None:
    """A mail to every coordinator: this seminar day is in premises that will be closed."""
    seminar = seminar_day.seminar
    link = external_url("seminars.show_seminar", seminar_id=seminar.id)
    coordinators = db.session.scalars(
        select(User).where(User.role == Role.coordinator, User.active.is_(True))).all()
    for person in coordinators:
        locale = person.locale or "sv"
        with force_locale(locale):
            subject = _("Check the seminar: %(title)s", title=seminar.title)
            body = _("The premises are closed on %(day)s, a day of the seminar %(title)s. Move "
                     "the day, choose another venue or cancel the seminar:\n%(link)s",
                     day=format_date(seminar_day.day, "full", locale=locale), title=seminar.title,
                     link=link)
        queue_mail(person.email, locale, subject, body, topic=f"seminar:{seminar.id}",
                   kind="seminar_closure")
