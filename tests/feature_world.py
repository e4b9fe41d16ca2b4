"""One of each feature object (allocation, meeting series, seminar, registrations, a booking,
a trepartssamtal with consent, a feed link, an absence), for the table-driven checks (access
control, hostile input) and the object-access tests.

A plain function over the conftest factories' results, so each test file builds its world
its own way and adds these on top.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select

from office import feeds
from office.accounts.models import Agency, User
from office.allocations import rules as allocations
from office.allocations.models import Allocation, Term
from office.availability import rules as availability
from office.availability.models import AbsenceKind
from office.booking import recurrence
from office.booking import rules as booking
from office.core.extensions import db
from office.core.i18n import local_zone, today_local
from office.core.models import OutboxMail
from office.feeds.models import FeedToken
from office.meetings import rules as meetings
from office.meetings.models import Attendance
from office.premises.models import Resource, Site
from office.trepartssamtal import rules as trepartssamtal_rules
from office.trepartssamtal.models import MeetingMode
from seminars import plan_tasks, planning, registration
from seminars.models import PlanTask, Seminar
from tests.calendar_days import ordinary_day, ordinary_days
from tests.seminar_factories import make_seminar, next_weekday


@dataclass
class Features:
    term: Term
    allocation_id: int
    series_id: int
    member_id: int
    seminar_id: int
    day_id: int
    session_id: int
    registration_ids: dict[int, int]  # user id -> their registration
    guest_registration_id: int
    guest_token: str
    mail_id: int
    day: date  # an ordinary Tuesday ahead inside the term
    meeting_occurrence_id: int = 0  # the series' first meeting, with an agenda item and an action
    item_id: int = 0
    action_id: int = 0
    guest_id: int = 0  # an outside guest of that meeting
    task_id: int = 0  # a task of the yearly plan owned by the meeting group


def coming_term() -> Term:
    """The first term with four weeks or more left from three weeks ahead."""
    today = today_local()
    terms = allocations.ensure_terms(today.year) + allocations.ensure_terms(today.year + 1)
    db.session.commit()
    return next(t for t in terms if t.last_day >= next_weekday() + timedelta(weeks=4))


def _first_in_term(term: Term, weekday: int) -> date:
    """The first ordinary `weekday` three weeks ahead or later, inside the term."""
    earliest = max(next_weekday(weekday), term.first_day)
    day = ordinary_day(weekday=weekday, after=earliest - timedelta(days=1))
    assert day <= term.last_day, f"{day} is after {term}"
    return day


def add_features(*, agency: Agency, coordinator: User, desk: Resource, room: Resource,
                 members: list[User], registered: list[User]) -> Features:
    """An allocation of `desk` to `agency` for the coming term (Mon-Fri 8-12), a weekly
    meeting in `room` with `members`, and a published public seminar with a day, a
    programme item, staff registrations of `registered` and one guest."""
    term = coming_term()
    allocations.create_allocations(allocations.AllocationSpec(
        agency=agency, resources=[desk], weekdays=[0, 1, 2, 3, 4], start_time=time(8),
        end_time=time(12), first_day=term.first_day, last_day=term.last_day, term=term,
    ), coordinator, allocations.CoveredChoice.keep)
    series = meetings.create_meeting_series(
        name=f"Arbetsgruppen {agency.short_name}", resource=room, first_day=_first_in_term(term, 0),
        start_time=time(13), end_time=time(14), rrule=meetings.weekly_rule(0, term.last_day),
        members=[(user, Attendance.every_meeting) for user in members], actor=coordinator)
    seminar = make_seminar(coordinator, capacity=50, day=next_weekday(2), title=f"Forum {agency.short_name}")
    seminar_day = seminar.days[0]
    planning.add_session(seminar_day, start_time=time(9), end_time=time(10), title="Välkomna",
                         room="", capacity=None, presenters="")
    db.session.commit()
    own = {user.id: registration.register_staff(seminar.id, user).registration.id for user in registered}
    guest = registration.register_guest(seminar.id, name="Gunnel Gäst", organisation="Föreningen",
                                        email=f"gunnel.{agency.id}@example.org")
    sitting = meetings.find_sitting(min(o.id for o in series.reservation.occurrences if o.is_active))
    item = meetings.add_agenda_item(sitting, coordinator, title="Läget", owner=None, minutes=15,
                                    now=sitting.occurrence.starts_at - timedelta(days=30))
    action = meetings.add_action(sitting, text="Boka lokal", owner=coordinator, due_on=None)
    meeting_guest = meetings.add_guest(sitting, user=None, name="Rut Rådgivare", organisation="RAR",
                                       email=f"rut.{agency.id}@rar.example")
    task = PlanTask()
    plan_tasks.save_task(task, coordinator, title="Förnya den lokala överenskommelsen", description="",
                         due_on=term.last_day, owner=f"g:{series.id}", remind_days=14)
    work_ids = {"meeting_occurrence_id": sitting.occurrence.id, "item_id": item.id,
                "action_id": action.id, "guest_id": meeting_guest.id, "task_id": task.id}
    db.session.commit()
    allocation_id = db.session.scalar(select(Allocation.id).where(
        Allocation.agency_id == agency.id, Allocation.resource_id == desk.id))
    seminar = db.session.get(Seminar, seminar.id)
    return Features(
        term=term, allocation_id=allocation_id, series_id=series.id,
        member_id=series.members[0].id, seminar_id=seminar.id, day_id=seminar.days[0].id,
        session_id=seminar.days[0].sessions[0].id, registration_ids=own,
        guest_registration_id=guest.registration.id, guest_token=guest.token,
        mail_id=db.session.scalar(select(OutboxMail.id).order_by(OutboxMail.id)),
        day=_first_in_term(term, 1), **work_ids,
    )


@dataclass
class BookingFeatures:
    reservation_id: int
    occurrence_id: int  # the booking's first occasion
    meeting_id: int  # a trepartssamtal with consent and a room
    reference: str  # the individual's reference on it (only participants may see it)
    feed_token_id: int
    feed_token: str  # the secret of the booker's personal feed
    absence_id: int  # the booker's
    day: date  # the booking's first day


def add_booking_features(*, site: Site, room: Resource, booker: User, booked_for: User,
                         participants: list[User], reference: str = "QZ-4711",
                         weeks_ahead: int = 4) -> BookingFeatures:
    """A weekly booking of `room` (3 times, 15-16) by `booker` for `booked_for`; a
    trepartssamtal booked by participants[0] with them all (two agencies at least) and
    consent; a personal feed link and an absence of `booker`."""
    day = ordinary_days(3, days_ahead=7 * weeks_ahead, weeks_apart=1)[0]  # three open weeks
    reservation = booking.book(booking.BookingRequest(
        resource=room, title="Handledning", first_day=day, start_time=time(15), end_time=time(16),
        booked_by=booker, booked_for=booked_for, attendees=2,
        rrule=recurrence.repeat_rule(recurrence.WEEKLY, day, count=3)))
    search = trepartssamtal_rules.Search(
        participants=participants, booked_by=participants[0], first_day=day,
        last_day=day + timedelta(days=13), site=site, mode=MeetingMode.on_site, buffer_minutes=0)
    proposal = trepartssamtal_rules.find_proposals(search, limit=1)[0]
    consent = trepartssamtal_rules.ConsentInput(
        given=True, given_on=today_local(), agency_ids={u.agency_id for u in participants})
    meeting = trepartssamtal_rules.book_proposal(search, proposal.key, reference=reference, consent=consent)
    secret = feeds.issue_token(booker, "personal")
    starts = datetime.combine(day + timedelta(days=1), time(8), local_zone()).astimezone(timezone.utc)
    absence = availability.add_absence(booker.id, AbsenceKind.course, starts, starts + timedelta(hours=8))
    db.session.commit()
    return BookingFeatures(
        reservation_id=reservation.id, occurrence_id=min(o.id for o in reservation.occurrences),
        meeting_id=meeting.id, reference=reference,
        feed_token_id=db.session.scalar(select(FeedToken.id).where(
            FeedToken.user_id == booker.id, FeedToken.revoked_at.is_(None))),
        feed_token=secret, absence_id=absence.id, day=day,
    )


def add_floor_plan(site: Site, resources: list[Resource], coordinator: User):
    """A floor plan of the site (a tiny PNG) with the resources placed on it."""
    from office.floorplans import images
    from office.floorplans import rules as floorplans

    picture = images.encode_png(4, 2, b"\xff\xff\xff" * 8, 12)
    plan = floorplans.create_plan(site, "Plan 1", images.check_upload(picture), coordinator)
    for number, resource in enumerate(resources):
        floorplans.place(plan, resource, 10 + 10 * number, 50, coordinator)
    db.session.flush()
    return plan
