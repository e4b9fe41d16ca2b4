"""The seminars a person registered for, on their Start page (office.dashboard.agenda)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, selectinload

from office.accounts.models import User
from office.core.extensions import db
from office.dashboard.agenda import AgendaItem
from seminars.calendar import location_of
from seminars.models import (
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarDay,
    SeminarState,
)


def my_seminars(user: User, first: date, last: date) -> Iterable[AgendaItem]:
    """Each day of a published seminar the person has a place at or waits for."""
    rows = db.session.execute(
        select(SeminarDay, Registration.status)
        .join(SeminarDay.seminar)
        .join(Registration, Registration.seminar_id == Seminar.id)
        .options(contains_eager(SeminarDay.seminar), selectinload(SeminarDay.resource))
        .where(Registration.user_id == user.id,
               Registration.status != RegistrationStatus.cancelled,
               Seminar.state.in_([SeminarState.published, SeminarState.finished]),
               SeminarDay.day.between(first, last))
    ).all()
    for seminar_day, status in rows:
        seminar = seminar_day.seminar
        zone = ZoneInfo(seminar.timezone)
        yield AgendaItem(
            "seminar", datetime.combine(seminar_day.day, seminar_day.start_time, zone),
            datetime.combine(seminar_day.day, seminar_day.end_time, zone), seminar.title,
            url_for("seminars.show_seminar", seminar_id=seminar.id),
            place=location_of(seminar, seminar_day, with_online_url=False),
            note=str(status.label) if status == RegistrationStatus.waiting else "")
