"""Factories for the seminar tests (plain functions; the conftest fixtures make the rest)."""

from __future__ import annotations

from datetime import date, time

from office.core.extensions import db
from seminars import planning
from seminars.models import Audience, Seminar, SeminarDay, SeminarKind, VenueKind
from tests.calendar_days import ordinary_day


def next_weekday(weekday: int = 1, weeks_ahead: int = 3) -> date:
    """The first ordinary `weekday` (no holiday) at least `weeks_ahead` weeks from today."""
    return ordinary_day(weekday=weekday, days_ahead=7 * weeks_ahead)


def make_seminar(coordinator, *, room=None, capacity=10, audience=Audience.public,
                 day: date | None = None, publish=True, title="Arbetsgivarforum",
                 kind=SeminarKind.employer_forum, deadline: date | None = None,
                 start=time(9, 0), end=time(12, 0), venue=None) -> Seminar:
    seminar = Seminar(
        title=title, kind=kind, audience=audience, capacity=capacity,
        venue_kind=venue or (VenueKind.on_site if room is not None else VenueKind.external),
        external_address="" if room is not None else "Folkets hus, Oxelösund",
        registration_deadline=planning.end_of_local_day(deadline, "Europe/Stockholm") if deadline else None,
        created_by_id=coordinator.id,
    )
    seminar.days.append(SeminarDay(day=day or next_weekday(), start_time=start, end_time=end,
                                   resource_id=room.id if room is not None else None))
    db.session.add(seminar)
    db.session.commit()
    if publish:
        planning.publish(seminar, coordinator)
    return db.session.get(Seminar, seminar.id)
