"""One transaction per action: a multi-step action that fails at any step leaves nothing behind.

Each action below is run again and again, failing at its first step, then its second, and
so on, until it runs through (which must change the database: the action works when nothing
fails). A step is a flush that writes something; it fails after its SQL ran inside the
transaction, so what it wrote is really in the database until the transaction ends. Two
kinds of failure: an error (a bug, a broken connection) and a lost race (PostgreSQL's
exclusion violation 23P01, which a rule turns into its 409 where it expects one). After
every failure the whole database, every row of every table read through a connection of
its own, is exactly as before: no reservation, no occurrence, no audit line, no queued mail.

Each action runs both ways it is run in production: through HTTP (the request's
boundary, office/core/transaction.py) and as its rule inside `unit_of_work()` (a CLI
command or job). The two losses found in the review of issue 14 have their own tests at
the end: a failure after book() in a meeting series, and a seminar publish that loses its
second day's room to someone else.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, time, timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from office.accounts.models import Role
from office.allocations import rules as allocations
from office.allocations.models import Allocation, Term, TermKind, WeekPattern
from office.availability.models import WorkingHours
from office.booking import rules as booking
from office.booking.models import AuditEntry, Reservation, ReservationOccurrence
from office.core.database import read_only
from office.core.extensions import db
from office.core.i18n import today_local
from office.core.models import OutboxMail
from office.core.transaction import unit_of_work
from office.meetings import rules as meetings
from office.meetings.models import Attendance, MeetingSeries
from office.premises.models import ResourceKind
from office.premises.rules import public_holiday
from office.trepartssamtal import rules as trepartssamtal
from office.trepartssamtal.models import MeetingMode, Trepartssamtal
from seminars import planning
from seminars import registration as seminar_registration
from seminars.models import Seminar, SeminarDay, SeminarKind, SeminarState, VenueKind

# --- the database before and after ----------------------------------------------------------


def snapshot() -> dict[str, list[tuple]]:
    """Every committed row of every table (a connection of its own: what others would see)."""
    with read_only(), db.engine.connect() as connection:
        return {table.name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
                for table in db.metadata.sorted_tables}


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


# --- failing the Nth step -----------------------------------------------------------------------

class InjectedFailure(Exception):
    """A step that failed (as a bug or a lost connection would make it fail)."""


class _LostRace:
    sqlstate = "23P01"  # exclusion_violation: someone else's booking of the same time won

    def __str__(self) -> str:
        return "conflicting key value violates exclusion constraint (injected)"


FAILURES = {
    "error": lambda step: InjectedFailure(f"step {step}"),
    "lost_race": lambda step: IntegrityError(f"step {step}", {}, _LostRace()),
}


class StepFailure:
    """Raises in the `step`th flush that wrote something, after its SQL ran."""

    def __init__(self, step: int, kind: str):
        self.step, self.kind, self.flushes = step, kind, 0

    @property
    def fired(self) -> bool:
        return self.flushes >= self.step

    def __call__(self, session, _context) -> None:
        self.flushes += 1
        if self.flushes == self.step:
            raise FAILURES[self.kind](self.step)


@contextmanager
def failing_at(step: int, kind: str):
    failure = StepFailure(step, kind)
    event.listen(Session, "after_flush", failure)
    try:
        yield failure
    finally:
        event.remove(Session, "after_flush", failure)


def fail_each_step(run: Callable[[], None], kind: str) -> int:
    """Fail step 1, 2, ... of `run` until it runs through; the database must not change
    until then, and must change then. Returns how many steps were failed."""
    db.session.commit()
    before = snapshot()
    step = 1
    while True:
        with failing_at(step, kind) as failure:
            run()
        if not failure.fired:
            break
        db.session.rollback()
        after = snapshot()
        assert changed_tables(before, after) == [], f"{kind} at step {step} left rows behind"
        step += 1
    db.session.rollback()
    assert changed_tables(before, snapshot()) != [], "the action changed nothing when nothing failed"
    return step - 1


def as_job(rule: Callable[[], object]) -> Callable[[], None]:
    """The rule as a CLI command or job runs it: in a unit of work."""
    def run() -> None:
        try:
            with unit_of_work():
                rule()
        except (InjectedFailure, IntegrityError, booking.BookingRefused, planning.PlanningRefused,
                trepartssamtal.TrepartssamtalRefused, meetings.MeetingRefused):
            pass
    return run


def as_request(auth, path: str, data: Callable[[], dict]) -> Callable[[], None]:
    """The action as the browser asks for it; a failure is an error page or a refusal."""
    def run() -> None:
        try:
            response = auth.post(path, data())
        except (InjectedFailure, IntegrityError):  # failed in the boundary's commit: a 500 in
            return                                  # production, the test client re-raises it
        assert response.status_code in (200, 302, 409, 422, 500), response.status_code
    return run


# --- the world: Drivhuset with two agencies, rooms, a desk and people ---------------------------

def working_days(count: int, *, every: timedelta = timedelta(days=1), ahead: int = 14) -> list[date]:
    """`count` ordinary working days `every` apart, the first at least `ahead` days from
    today (the real clock: requests use it). No weekend, no public holiday among them."""
    first = today_local() + timedelta(days=ahead)
    while True:
        days = [first + n * every for n in range(count)]
        if all(d.weekday() < 5 and not public_holiday(d) for d in days):
            return days
        first += timedelta(days=1)


@pytest.fixture
def world(create_agency, create_user, create_site, create_resource):
    af, kommun = create_agency(short_name="AF"), create_agency(short_name="Kommunen")
    site = create_site(name="Drivhuset", opens=time(7, 0), closes=time(18, 0))
    rooms = dict(
        big=create_resource(site=site, name="Konferensrummet", capacity=40),
        conv=create_resource(site=site, name="Samtalsrum 1", capacity=4, is_conversation_room=True),
        desk=create_resource(site=site, name="Skrivbord 1", kind=ResourceKind.desk, capacity=1),
    )
    coordinator = create_user(role=Role.coordinator, agency=af, name="Anna Lind")
    sara, ali = create_user(agency=af, name="Sara Berg"), create_user(agency=kommun, name="Ali Yusuf")
    for person in (sara, ali):
        for weekday in range(5):
            db.session.add(WorkingHours(user_id=person.id, weekday=weekday, starts=time(7, 0),
                                        ends=time(18, 0)))
    db.session.commit()
    return dict(af=af, kommun=kommun, site=site, coordinator=coordinator, sara=sara, ali=ali, **rooms)


@dataclass
class Action:
    """A multi-step action: who does it, and how it is called as a rule and over HTTP."""

    actor: str
    rule: Callable[[], object]
    path: str
    form: Callable[[], dict]
    at_least: int  # steps (writing flushes) it takes at the least


def meeting_series(world) -> Action:
    """Book a weekly series through book(), then save the series and its members."""
    monday = today_local() - timedelta(days=today_local().weekday())
    term = Term(year=today_local().year + 50, kind=TermKind.spring, first_day=monday,
                last_day=monday + timedelta(weeks=8))
    db.session.add(term)
    db.session.commit()

    def rule():
        return meetings.create_meeting_series(
            name="Arbetsgruppen", resource=world["big"], first_day=monday, start_time=time(9),
            end_time=time(10, 30), rrule=meetings.weekly_rule(1, term.last_day),
            members=[(world["sara"], Attendance.every_meeting), (world["ali"], Attendance.odd_weeks)],
            actor=world["coordinator"])

    form = {"name": "Arbetsgruppen", "description": "Varje vecka", "resource_id": world["big"].id,
            "frequency": "weekly", "weekday": "1", "start_time": "09:00", "end_time": "10:30",
            "term_id": term.id}
    return Action("coordinator", rule, "/meetings/series", lambda: form, at_least=2)


def seminar_publish(world) -> Action:
    """Book the room of each of the seminar's days, then open registration."""
    seminar = Seminar(title="Tredagarsutbildning", kind=SeminarKind.training, capacity=30,
                      venue_kind=VenueKind.on_site, state=SeminarState.draft,
                      created_by_id=world["coordinator"].id)
    for day in working_days(3):
        seminar.days.append(SeminarDay(day=day, start_time=time(9), end_time=time(16),
                                       resource=world["big"]))
    db.session.add(seminar)
    db.session.commit()

    def rule():
        return planning.publish(db.session.get(Seminar, seminar.id), world["coordinator"])

    return Action("coordinator", rule, f"/seminars/{seminar.id}/publish", dict, at_least=3)


def seminar_new_day(world) -> Action:
    """A published seminar gets a day: its room is booked and everyone registered is told."""
    first, added = working_days(2, every=timedelta(days=7))
    seminar = Seminar(title="Arbetsgivarforum", kind=SeminarKind.employer_forum, capacity=30,
                      venue_kind=VenueKind.on_site, state=SeminarState.draft,
                      created_by_id=world["coordinator"].id)
    seminar.days.append(SeminarDay(day=first, start_time=time(8), end_time=time(10),
                                   resource=world["big"]))
    db.session.add(seminar)
    planning.publish(seminar, world["coordinator"])
    for person in (world["sara"], world["ali"]):
        seminar_registration.register_staff(seminar.id, person)
    db.session.commit()
    assert db.session.scalar(select(OutboxMail.id).limit(1)) is not None  # the confirmations

    def rule():
        return planning.add_day(db.session.get(Seminar, seminar.id), world["coordinator"],
                                day=added, start_time=time(8), end_time=time(10),
                                resource_id=world["big"].id)

    form = {"day": added.isoformat(), "start_time": "08:00", "end_time": "10:00",
            "resource_id": world["big"].id}
    return Action("coordinator", rule, f"/seminars/{seminar.id}/days", lambda: form, at_least=2)


def trepartssamtal_booking(world) -> Action:
    """The meeting, its participants and consent, then its room through book()."""
    first, last = working_days(1)[0], working_days(1)[0] + timedelta(days=6)

    def search():
        return trepartssamtal.Search(participants=[world["sara"], world["ali"]],
                                     booked_by=world["sara"], first_day=first, last_day=last,
                                     site=world["site"], buffer_minutes=0)

    key = trepartssamtal.find_proposals(search(), limit=1)[0].key
    consent = dict(given_on=today_local(), agencies={world["af"].id, world["kommun"].id})

    def rule():
        return trepartssamtal.book_proposal(
            search(), key, reference="QZ-17", consent=trepartssamtal.ConsentInput(
                True, consent["given_on"], consent["agencies"]))

    form = {"participants": [world["sara"].id, world["ali"].id], "minutes": "60",
            "mode": MeetingMode.on_site.value, "site_id": str(world["site"].id), "others": "1",
            "first_day": first.isoformat(), "last_day": last.isoformat(), "buffer_minutes": "0",
            "reference": "QZ-17", "consent_given": "y",
            "consent_given_on": consent["given_on"].isoformat(),
            "consent_agencies": sorted(consent["agencies"]), "slot": key}
    return Action("sara", rule, "/trepartssamtal/new", lambda: form, at_least=2)


def allocation_over_bookings(world) -> Action:
    """AF gets the desk on Tuesdays; the bookings by others inside are cancelled with it."""
    days = working_days(2, every=timedelta(days=7))
    for day in days:
        booking.book(booking.BookingRequest(resource=world["desk"], title="Arbetsplats",
                                            first_day=day, start_time=time(9), end_time=time(10),
                                            booked_by=world["ali"]))
    db.session.commit()
    first, last = days[0], days[-1] + timedelta(days=1)

    def rule():
        spec = allocations.AllocationSpec(
            agency=world["af"], resources=[world["desk"]], weekdays=[first.weekday()],
            start_time=time(8), end_time=time(16), first_day=first, last_day=last,
            pattern=WeekPattern.every_week)
        return allocations.create_allocations(spec, world["coordinator"],
                                              allocations.CoveredChoice.cancel)

    form = {"agency_id": world["af"].id, "resource_ids": world["desk"].id,
            "weekdays": first.weekday(), "start_time": "08:00", "end_time": "16:00",
            "pattern": "every_week", "interval_weeks": "2", "term_id": "0",
            "first_day": first.isoformat(), "last_day": last.isoformat(), "covered": "cancel"}
    return Action("coordinator", rule, "/allocations/new", lambda: form, at_least=3)


def term_plan_copy(world) -> Action:
    """The next term is made, then each allocation of this one is copied into it."""
    spring = Term(year=2031, kind=TermKind.spring, first_day=date(2031, 1, 1),
                  last_day=date(2031, 6, 30))
    db.session.add(spring)
    db.session.flush()
    for resource, weekdays in ((world["desk"], [1, 3]), (world["conv"], [0])):
        allocations.create_allocations(allocations.AllocationSpec(
            agency=world["af"], resources=[resource], weekdays=weekdays, start_time=time(8),
            end_time=time(16), first_day=spring.first_day, last_day=spring.last_day,
            pattern=WeekPattern.odd_weeks, term=spring), world["coordinator"])
    db.session.commit()

    def rule():
        source = db.session.get(Term, spring.id)
        return allocations.copy_term_plan(source, allocations.next_term(source),
                                          world["coordinator"])

    return Action("coordinator", rule, "/allocations/plan/copy", lambda: {"term_id": spring.id},
                  at_least=3)


def this_and_following(world) -> Action:
    """The series ends before the chosen occasion, and a new one follows at the new time."""
    days = working_days(4, every=timedelta(days=7))
    series = booking.book(booking.BookingRequest(
        resource=world["conv"], title="Jobbcoachning", first_day=days[0], start_time=time(9),
        end_time=time(10), booked_by=world["sara"], rrule="FREQ=WEEKLY;COUNT=4"))
    db.session.commit()
    occurrence_id = sorted(series.occurrences, key=lambda o: o.starts_at)[1].id

    def rule():
        occurrence = db.session.get(ReservationOccurrence, occurrence_id)
        return booking.change_following(occurrence, world["sara"], title="Jobbcoachning",
                                        attendees=2, start_time=time(13), end_time=time(14))

    form = {"scope": "following", "title": "Jobbcoachning", "day": days[1].isoformat(),
            "start": "13:00", "end": "14:00", "attendees": "2"}
    return Action("sara", rule, f"/bookings/occurrences/{occurrence_id}/change", lambda: form,
                  at_least=2)


ACTIONS = {f.__name__: f for f in (meeting_series, seminar_publish, seminar_new_day,
                                   trepartssamtal_booking, allocation_over_bookings,
                                   term_plan_copy, this_and_following)}


@pytest.mark.slow
@pytest.mark.parametrize("kind", FAILURES)
@pytest.mark.parametrize("name", ACTIONS)
def test_each_step_failing_over_http_leaves_the_database_as_it_was(auth, world, name, kind):
    action = ACTIONS[name](world)
    auth.login(world[action.actor])
    steps = fail_each_step(as_request(auth, action.path, action.form), kind)
    assert steps >= action.at_least


@pytest.mark.parametrize("kind", FAILURES)
@pytest.mark.parametrize("name", ACTIONS)
def test_each_step_failing_in_a_unit_of_work_leaves_the_database_as_it_was(world, name, kind):
    action = ACTIONS[name](world)
    steps = fail_each_step(as_job(action.rule), kind)
    assert steps >= action.at_least


# --- the two losses of the review -----------------------------------------------------------------

def _counts() -> dict[str, int]:
    return {model.__name__: len(db.session.scalars(select(model)).all())
            for model in (Reservation, ReservationOccurrence, AuditEntry, MeetingSeries,
                          OutboxMail, Trepartssamtal, Allocation)}


@pytest.fixture
def fail_after_booking(monkeypatch):
    """The step after book() in create_meeting_series fails (its audit line, say)."""
    audit = booking.audit

    def failing(actor, action, obj, summary=""):
        if action == "create_meeting_series":
            raise InjectedFailure("after book()")
        return audit(actor, action, obj, summary)

    monkeypatch.setattr(booking, "audit", failing)


def test_a_meeting_series_failing_after_book_leaves_no_reservation(world, fail_after_booking):
    action = meeting_series(world)
    before = _counts()
    with pytest.raises(InjectedFailure), unit_of_work():
        action.rule()
    assert _counts() == before


def test_a_meeting_series_failing_after_book_over_http_leaves_no_reservation(auth, world,
                                                                             fail_after_booking):
    action = meeting_series(world)
    auth.login(world["coordinator"])
    before = _counts()
    assert auth.post(action.path, action.form()).status_code == 500
    db.session.expire_all()
    assert _counts() == before


@pytest.fixture
def second_day_taken(monkeypatch):
    """Someone books the second day's room between publish()'s check and its booking."""
    book, calls = booking.book, []

    def racing(request, **kwargs):
        calls.append(request.first_day)
        if len(calls) == 2:
            raise booking.BookingConflict([booking.problem("just_taken", request.first_day)])
        return book(request, **kwargs)

    monkeypatch.setattr(booking, "book", racing)
    return calls


def test_a_publish_losing_its_second_day_leaves_nothing(world, second_day_taken):
    action = seminar_publish(world)
    before = _counts()
    with pytest.raises(planning.PlanningConflict), unit_of_work():
        action.rule()
    assert len(second_day_taken) == 2
    assert _counts() == before
    assert db.session.scalar(select(Seminar.state)) == SeminarState.draft


def test_a_publish_losing_its_second_day_over_http_is_refused_and_leaves_nothing(
        auth, world, second_day_taken):
    action = seminar_publish(world)
    auth.login(world["coordinator"])
    before = _counts()
    response = auth.post(action.path, action.form())
    assert response.status_code == 409
    assert "Någon annan bokade just den här tiden" in response.get_data(as_text=True)
    db.session.expire_all()
    assert _counts() == before
    assert db.session.scalar(select(Seminar.state)) == SeminarState.draft
    assert db.session.scalar(select(SeminarDay.reservation_id).where(
        SeminarDay.reservation_id.is_not(None))) is None


@contextmanager
def database_refuses_nth_booking(n: int):
    """The `n`th flush that inserts occurrences fails as PostgreSQL fails a lost race (23P01)."""
    seen = []

    def refuse(session, _context):
        if any(isinstance(obj, ReservationOccurrence) for obj in session.new):
            seen.append(1)
            if len(seen) == n:
                raise FAILURES["lost_race"](n)

    event.listen(Session, "after_flush", refuse)
    try:
        yield seen
    finally:
        event.remove(Session, "after_flush", refuse)


def test_a_publish_whose_second_booking_the_database_refuses_answers_409_not_500(auth, world):
    """After the database refused a write the transaction is dead (PostgreSQL aborts it):
    the view must undo the action before it renders the page again, or rendering fails."""
    action = seminar_publish(world)
    auth.login(world["coordinator"])
    before = snapshot()
    with database_refuses_nth_booking(2) as seen:
        response = auth.post(action.path, action.form())
    assert len(seen) == 2
    assert response.status_code == 409
    assert "Någon annan bokade just den här tiden" in response.get_data(as_text=True)
    assert changed_tables(before, snapshot()) == []
