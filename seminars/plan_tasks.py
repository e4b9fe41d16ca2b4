"""The yearly plan's tasks: recurring work with a due date, an owner and a reminder.

The yearly action plan (seminars/planning.py for its seminars) also reminds the group of
what recurs every year: renewing the local agreement, the yearly quality check of sampled
plans, the half-year reports. A task is owned by one person or by a meeting group
(office/meetings); its owners (the person, or the group's members) and the coordinator
may mark it done. Every function adds to the caller's transaction and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app, g, url_for
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from office.accounts.models import User
from office.booking import rules as booking
from office.core.database import utcnow
from office.core.extensions import db
from office.core.i18n import today_local
from office.core.mail import external_url, queue_mail
from office.meetings.models import MeetingMember, MeetingSeries
from office.premises.rules import public_holiday
from seminars.models import PlanTask

MAX_REMIND_DAYS = 365


class TaskRefused(Exception):
    status = 422

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- owners -----------------------------------------------------------------------------

def owner_key(task: PlanTask) -> str:
    """"u:7" (a person) or "g:3" (a meeting group), as the owner select names them."""
    return f"u:{task.owner_id}" if task.owner_id is not None else f"g:{task.owner_series_id}"


def owner_choices() -> list[tuple[str, str]]:
    """Meeting groups first (the plan's work is mostly a group's), then active people."""
    groups = db.session.scalars(select(MeetingSeries).order_by(MeetingSeries.name)).all()
    people = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)).all()
    return ([(f"g:{g.id}", _("Group: %(name)s", name=g.name)) for g in groups]
            + [(f"u:{u.id}", u.name) for u in people])


def set_owner(task: PlanTask, key: str) -> None:
    """Point the task at the person or group the key names; refuse anything else."""
    kind, _sep, number = (key or "").partition(":")
    target = None
    if number.isdecimal() and len(number) < 10:
        target = db.session.get(User if kind == "u" else MeetingSeries, int(number)) \
            if kind in ("u", "g") else None
    if target is None or (kind == "u" and not target.active):
        raise TaskRefused(_("Choose the owner from the list: a person or a meeting group."))
    task.owner_id, task.owner_series_id = (target.id, None) if kind == "u" else (None, target.id)
    task.owner, task.owner_series = (target, None) if kind == "u" else (None, target)


def owners_of(task: PlanTask) -> list[User]:
    """Who the task is for: its person, or every member of its group (active, with mail)."""
    if task.owner is not None:
        people = [task.owner]
    elif task.owner_series is not None:
        people = [m.user for m in task.owner_series.members]
    else:
        people = []
    return [p for p in people if p.active and p.email]


def is_owner(user: User | None, task: PlanTask) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if task.owner_id is not None:
        return task.owner_id == user.id
    return task.owner_series_id is not None and db.session.scalar(
        select(MeetingMember.id).where(MeetingMember.series_id == task.owner_series_id,
                                       MeetingMember.user_id == user.id)) is not None


def may_mark_done(user: User | None, task: PlanTask) -> bool:
    return bool(user is not None and getattr(user, "is_coordinator", False)) or is_owner(user, task)


# --- create, change, delete, done -----------------------------------------------------------

def save_task(task: PlanTask, actor: User, *, title: str, description: str, due_on: date,
              owner: str, remind_days: int) -> bool:
    """Create or change a task; returns whether anything changed (saved unchanged: nothing,
    no audit line). A new due date arms the reminder again."""
    if not 0 <= remind_days <= MAX_REMIND_DAYS:
        raise TaskRefused(_("Remind between 0 and %(max)d days before the due date.", max=MAX_REMIND_DAYS))
    if not (title or "").strip():
        raise TaskRefused(_("Give the task a title."))
    set_owner(task, owner)
    is_new = task.id is None
    if task.due_on != due_on:
        task.reminded_for = None
    task.title, task.description = title.strip()[:200], (description or "").strip()
    task.due_on, task.remind_days = due_on, remind_days
    changed = is_new or db.session.is_modified(task)
    if is_new:
        task.created_by_id = actor.id
        db.session.add(task)
    db.session.flush()
    if changed:
        booking.audit(actor, "create" if is_new else "change", task)
    return changed


def delete_task(task: PlanTask, actor: User) -> None:
    booking.audit(actor, "delete", task)
    db.session.delete(task)
    db.session.flush()


def mark_done(task: PlanTask, actor: User, done: bool, now: datetime | None = None) -> None:
    """Done (who and when) or not done again; the same state twice changes nothing."""
    if done == task.is_done:
        return
    task.done_at, task.done_by_id = ((now or utcnow()), actor.id) if done else (None, None)
    db.session.flush()
    booking.audit(actor, "done" if done else "reopen", task)


# --- the plan ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskFilter:
    owner: str = ""          # "u:7", "g:3" or "" (everyone's)
    status: str = ""         # "open", "done" or "" (both)
    term: str = ""           # "spring", "autumn" or "" (the whole year)


def in_term(day: date, term: str) -> bool:
    """Spring is January to June, autumn July to December (as planning.by_term)."""
    return not term or (term == "spring") == (day.month <= 6)


def tasks_of_year(year: int, chosen: TaskFilter = TaskFilter()) -> list[PlanTask]:
    """The year's tasks by due date, filtered by owner, done or not, and term."""
    query = select(PlanTask).where(PlanTask.due_on.between(date(year, 1, 1), date(year, 12, 31)))
    kind, _sep, number = chosen.owner.partition(":")
    if number.isdecimal() and len(number) < 10:
        query = query.where((PlanTask.owner_id if kind == "u" else PlanTask.owner_series_id) == int(number))
    if chosen.status == "open":
        query = query.where(PlanTask.done_at.is_(None))
    elif chosen.status == "done":
        query = query.where(PlanTask.done_at.is_not(None))
    tasks = db.session.scalars(query.order_by(PlanTask.due_on, PlanTask.id)).all()
    return [t for t in tasks if in_term(t.due_on, chosen.term)]


def tasks_of(user: User) -> list[PlanTask]:
    """A person's tasks (their own and their groups'), not done first, then by due date."""
    groups = select(MeetingMember.series_id).where(MeetingMember.user_id == user.id)
    tasks = db.session.scalars(select(PlanTask).where(or_(
        PlanTask.owner_id == user.id, PlanTask.owner_series_id.in_(groups)))
        .order_by(PlanTask.due_on, PlanTask.id)).all()
    return sorted(tasks, key=lambda t: t.is_done)


# --- next year ------------------------------------------------------------------------------

def working_day_on_or_before(day: date) -> date:
    """The day itself, or the last weekday before it that is no public holiday."""
    while day.weekday() >= 5 or public_holiday(day):
        day -= timedelta(days=1)
    return day


def same_date_next_year(day: date) -> date:
    """A due date a year later: the same calendar date (28 Feb for 29 Feb), moved back to the
    previous working day when it falls on a weekend or a holiday. People think of a
    deadline as "31 March", not as "the last Tuesday of March"."""
    try:
        anniversary = day.replace(year=day.year + 1)
    except ValueError:
        anniversary = date(day.year + 1, 2, 28)
    return working_day_on_or_before(anniversary)


def copy_tasks_to_next_year(task_ids: list[int], actor: User) -> list[PlanTask]:
    """Copies of the chosen tasks a year later, not done, the reminder armed."""
    copies = []
    for original in db.session.scalars(select(PlanTask).where(PlanTask.id.in_(task_ids))
                                       .order_by(PlanTask.id)):
        copies.append(PlanTask(
            title=original.title, description=original.description,
            due_on=same_date_next_year(original.due_on), owner_id=original.owner_id,
            owner_series_id=original.owner_series_id, remind_days=original.remind_days,
            copied_from_id=original.id, created_by_id=actor.id))
    db.session.add_all(copies)
    db.session.flush()
    for copy in copies:
        booking.audit(actor, "copy", copy, f"from_task={copy.copied_from_id}")
    return copies


# --- reminders -----------------------------------------------------------------------------

def reminders_due(today: date) -> list[PlanTask]:
    """Open tasks whose reminder day has come and that were not reminded for this due date.

    Safe on two machines at once: the rows are taken FOR UPDATE SKIP LOCKED and read
    afresh, so a second runner skips what the first holds and then sees reminded_for; the
    outbox's topic_key (one mail per task, due date and person) backs that up.
    """
    candidates = (select(PlanTask).where(
        PlanTask.done_at.is_(None), PlanTask.due_on >= today,
        or_(PlanTask.reminded_for.is_(None), PlanTask.reminded_for != PlanTask.due_on))
        .order_by(PlanTask.id).with_for_update(skip_locked=True, of=PlanTask)
        .execution_options(populate_existing=True))
    return [t for t in db.session.scalars(candidates) if t.due_on - timedelta(days=t.remind_days) <= today]


def queue_task_reminders(today: date | None = None) -> int:
    """Queue one reminder per task and due date to its owners; returns the tasks reminded."""
    today = today or today_local()
    due = reminders_due(today)
    for task in due:
        task.reminded_for = task.due_on
        for person in owners_of(task):
            _queue_reminder(task, person)
    db.session.flush()
    return len(due)


def _queue_reminder(task: PlanTask, person: User) -> None:
    locale = person.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    g.samlokal_mail = True  # flask-babel only forces a locale when `g` is not empty
    with force_locale(locale):
        due = format_date(task.due_on, "full")
        subject = _("Reminder: %(title)s is due %(day)s", title=task.title, day=format_date(task.due_on, "d MMMM"))
        lines = [_("A task of the yearly plan is due %(day)s:", day=due), "", task.title]
        if task.description:
            lines += ["", task.description]
        if task.owner_series is not None:
            lines += ["", _("It is the group's task: %(name)s.", name=task.owner_series.name)]
        lines += ["", _("Mark it done here: %(url)s", url=external_url("seminars.my_tasks"))]
        body = "\n".join(str(line) for line in lines)
    queue_mail(person.email, locale, subject, body, topic=f"plan-task:{task.id}",
               topic_key=f"plan-task:{task.id}:{task.due_on.isoformat()}:{person.id}",
               kind="task_reminder")


STATUS_LABELS = {"open": _l("Not done"), "done": _l("Done")}
TERM_LABELS = {"spring": _l("Spring (January–June)"), "autumn": _l("Autumn (July–December)")}


def task_url(task: PlanTask) -> str:
    return url_for("seminars.edit_task", task_id=task.id)
