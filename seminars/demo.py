"""Demo seminars for Drivhuset: a kick-off, a get-to-know seminar and an employer forum; and the
yearly plan's recurring tasks (DOMAIN.md: the local agreement, the quality check, the reports)."""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import select

from office.accounts.models import Agency, Role, User
from office.core.database import utcnow
from office.core.extensions import db
from office.core.i18n import today_local
from office.premises.models import Resource
from office.premises.rules import public_holiday
from seminars.models import (
    Audience,
    Presenter,
    Seminar,
    SeminarDay,
    SeminarKind,
    SeminarSession,
    VenueKind,
)
from seminars.planning import end_of_local_day, publish


def _next_weekday(day, weekday):
    """The first `weekday` from `day` on that is no holiday: the premises are closed then."""
    day += timedelta(days=(weekday - day.weekday()) % 7)
    while public_holiday(day):
        day += timedelta(weeks=1)
    return day


def seed_seminars() -> None:
    """Added to `seed-demo` through office.demo.seed.add_demo_step()."""
    coordinator = db.session.scalar(select(User).where(User.role == Role.coordinator).order_by(User.id))
    hall = db.session.scalar(select(Resource).where(Resource.name == "Stora salen"))
    agencies = {a.short_name: a for a in db.session.scalars(select(Agency))}
    if coordinator is None or hall is None:
        return
    today = today_local()
    kick_off_day = _next_weekday(today + timedelta(days=21), 1)  # a Tuesday
    kick_off = Seminar(
        title="Kick-off Drivhuset", kind=SeminarKind.kick_off, audience=Audience.internal,
        description="Vi startar året tillsammans och tar fram utvärderingsplanen.",
        venue_kind=VenueKind.on_site, capacity=40, created_by_id=coordinator.id,
        registration_deadline=end_of_local_day(kick_off_day - timedelta(days=7), "Europe/Stockholm"),
    )
    day = SeminarDay(day=kick_off_day, start_time=time(9, 0), end_time=time(15, 0), resource=hall)
    day.sessions = [
        SeminarSession(start_time=time(9, 0), end_time=time(10, 0), title="Välkomna och året som kommer",
                       presenters=[Presenter(name="Anna Lind", agency=agencies.get("RAR"))]),
        SeminarSession(start_time=time(10, 15), end_time=time(12, 0), title="Utvärderingsplanen i grupper"),
    ]
    kick_off.days.append(day)

    know_day = _next_weekday(today + timedelta(days=35), 3)  # a Thursday
    get_to_know = Seminar(
        title="Lär känna varandra: så arbetar vi", kind=SeminarKind.get_to_know, capacity=50,
        audience=Audience.internal, venue_kind=VenueKind.hybrid, online_url="https://meet.example/drivhuset",
        description="Varje aktör berättar om sitt uppdrag och hur vi kan göra mer tillsammans.",
        created_by_id=coordinator.id, invited_agencies=list(agencies.values()),
    )
    day = SeminarDay(day=know_day, start_time=time(13, 0), end_time=time(16, 0), resource=hall)
    day.sessions = [
        SeminarSession(start_time=time(13, 0), end_time=time(13, 45), title="Arbetsförmedlingen",
                       presenters=[Presenter(name="Erik Holm", agency=agencies.get("AF"))]),
        SeminarSession(start_time=time(13, 45), end_time=time(14, 30), title="Arbetsmarknadsenheten",
                       presenters=[Presenter(name="Karin Nyberg", agency=agencies.get("Kommunen"))]),
    ]
    get_to_know.days.append(day)

    forum_day = _next_weekday(today + timedelta(days=60), 2)  # a Wednesday
    forum = Seminar(
        title="Arbetsgivarforum: framtidens kompetensbehov", kind=SeminarKind.employer_forum,
        audience=Audience.public, venue_kind=VenueKind.on_site, capacity=60,
        description="Företag i Oxelösund berättar om sina behov de kommande åren.",
        created_by_id=coordinator.id,
        registration_deadline=end_of_local_day(forum_day - timedelta(days=5), "Europe/Stockholm"),
    )
    day = SeminarDay(day=forum_day, start_time=time(8, 0), end_time=time(10, 0), resource=hall)
    day.sessions = [
        SeminarSession(start_time=time(8, 0), end_time=time(9, 0), title="Företagen berättar"),
        SeminarSession(start_time=time(9, 0), end_time=time(10, 0), title="Workshop: matcha behov och kandidater",
                       room="Lilla salen", capacity=12, sign_up=True),
    ]
    forum.days.append(day)

    # The three-day joint training (Supported Employment): attendance is taken day by day.
    training_start = _next_weekday(today + timedelta(days=42), 0)  # a Monday
    while any(public_holiday(training_start + timedelta(days=n)) for n in (1, 2)):
        training_start = _next_weekday(training_start + timedelta(weeks=1), 0)
    training = Seminar(
        title="Supported Employment – gemensam utbildning", kind=SeminarKind.training, capacity=30,
        audience=Audience.internal, venue_kind=VenueKind.on_site, created_by_id=coordinator.id,
        description="Tre dagar för handläggare, socialsekreterare, jobbcoacher och lärare tillsammans.",
        registration_deadline=end_of_local_day(training_start - timedelta(days=14), "Europe/Stockholm"),
    )
    for offset in range(3):
        training.days.append(SeminarDay(day=training_start + timedelta(days=offset), start_time=time(9, 0),
                                        end_time=time(15, 30), resource=hall))
    db.session.add_all([kick_off, get_to_know, forum, training])
    db.session.flush()
    for seminar in (kick_off, forum, training):
        try:
            # A savepoint: a refused publish undoes only itself, not the rest of the demo.
            with db.session.begin_nested():
                publish(seminar, coordinator)
        except Exception:  # noqa: BLE001, S110 - a demo clash leaves the seminar as a draft
            pass


# The yearly action plan's recurring work (title, description, month, day, owner group, days' notice).
PLAN_TASKS = [
    ("Förnya den lokala överenskommelsen", "Överenskommelsen om samverkan ses över och skrivs "
     "under av alla parter.", 3, 31, "Styrgruppen", 30),
    ("Halvårsrapport till styrgruppen och samordningsförbundet", "Antal ärenden och trepartssamtal "
     "per myndighet och månad, utan personuppgifter.", 6, 15, "Arbetsgruppen", 21),
    ("Årlig kvalitetsgranskning av genomförandeplaner", "Varje myndighet granskar 5–10 slumpvis "
     "valda individuella planer.", 10, 30, "Handläggargruppen", 30),
    ("Halvårsrapport till styrgruppen och samordningsförbundet", "Helårets siffror per myndighet "
     "och kön, utan personuppgifter.", 12, 15, "Arbetsgruppen", 21),
    ("Planera årets seminarier och arbetsgivarforum", "Lära känna varandra-seminarium, "
     "arbetsgivarforum och utbildningar till nästa år.", 11, 15, None, 14),
]


def seed_plan_tasks() -> None:
    """The recurring tasks of this year's plan (added to `seed-demo` after the seminars)."""
    from office.meetings.models import MeetingSeries
    from seminars.models import PlanTask
    from seminars.plan_tasks import working_day_on_or_before

    coordinator = db.session.scalar(select(User).where(User.role == Role.coordinator).order_by(User.id))
    if coordinator is None or db.session.scalar(select(PlanTask.id).limit(1)) is not None:
        return
    groups = {g.name: g for g in db.session.scalars(select(MeetingSeries))}
    today = today_local()
    for title, description, month, day, group, notice in PLAN_TASKS:
        series = groups.get(group) if group else None
        due = working_day_on_or_before(date(today.year, month, day))
        db.session.add(PlanTask(
            title=title, description=description, remind_days=notice, created_by_id=coordinator.id,
            due_on=due, owner_series_id=series.id if series else None,
            owner_id=None if series else coordinator.id,
            # What fell due before today was done (by the project leader, in the demo).
            done_at=utcnow() if due < today else None, done_by_id=coordinator.id if due < today else None))
    db.session.flush()
