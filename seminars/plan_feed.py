"""The yearly plan as a calendar feed (kind ``year_plan``), for the coordinator.

Seminars (drafts as TENTATIVE) and the tasks' due dates, last year to next year. A task is
an all-day VEVENT on its due date, not a VTODO: Google Calendar ignores VTODO and Outlook
shows it only in its task list, while an all-day event shows on the day in every client.
A done task stays in the feed with "Done" before its title. Links are made on the plan page
(seminars.year_plan_feed) with office's secret tokens; only the coordinator may follow one
(asked again at every poll).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select

from office import feeds
from office.accounts.models import Role
from office.core.extensions import db
from office.core.i18n import today_local
from seminars.calendar import seminar_events
from seminars.models import PlanTask, Seminar, SeminarDay, SeminarState

_FIRST, _LAST = bindparam("first"), bindparam("last")
_TASKS = feeds.RawSelect(
    select(PlanTask.updated_at, PlanTask.id).where(PlanTask.due_on.between(_FIRST, _LAST))
    .order_by(PlanTask.id))
_SEMINARS = feeds.RawSelect(
    select(Seminar.updated_at, Seminar.id).where(
        Seminar.id.in_(select(SeminarDay.seminar_id).where(SeminarDay.day.between(_FIRST, _LAST))),
        Seminar.state != SeminarState.cancelled)
    .order_by(Seminar.id))


def _window() -> dict:
    year = today_local().year
    return {"first": date(year - 1, 1, 1), "last": date(year + 1, 12, 31)}


def plan_stamp(subject: feeds.FeedSubject, now: datetime) -> feeds.Stamp:
    window = _window()
    tasks = _TASKS.all(raw_results=True, **window)
    seminars = _SEMINARS.all(raw_results=True, **window)
    latest = [feeds.parsed_time(_TASKS, max((r[0] for r in tasks), default=None)),
              feeds.parsed_time(_SEMINARS, max((r[0] for r in seminars), default=None))]
    extra = "t" + ",".join(str(r[1]) for r in tasks) + "s" + ",".join(str(r[1]) for r in seminars)
    return feeds.Stamp(max((t for t in latest if t is not None), default=None),
                       len(tasks) + len(seminars), extra + str(window["first"].year))


def task_event(task: PlanTask) -> feeds.FeedEvent:
    """A task as an all-day event on its due date (end exclusive: the next day)."""
    summary = _("Task: %(title)s", title=task.title)
    if task.is_done:
        summary = _("Done: %(title)s", title=task.title)
    lines = [task.description] if task.description else []
    if task.owner_name:
        lines.append(_("Owner: %(name)s", name=task.owner_name))
    return feeds.FeedEvent(
        uid=f"plan-task-{task.id}", summary=summary, start=task.due_on,
        end=task.due_on + timedelta(days=1), last_modified=task.updated_at,
        created=task.created_at, description="\n".join(lines), transparent=True,
        url=feeds.base_url() + f"/seminars/plan/{task.due_on.year}", kind="plan_task")


def plan_events(subject: feeds.FeedSubject, now: datetime) -> list[feeds.FeedEvent]:
    window = _window()
    task_ids = [r[1] for r in _TASKS.all(raw_results=True, **window)]
    seminar_ids = [r[1] for r in _SEMINARS.all(raw_results=True, **window)]
    events = []
    for seminar in db.session.scalars(select(Seminar).where(Seminar.id.in_(seminar_ids)).order_by(Seminar.id)):
        url = feeds.base_url() + f"/seminars/{seminar.id}"
        for event in seminar_events(seminar, url):
            events.append(event if seminar.state != SeminarState.draft
                          else _replace_status(event, "TENTATIVE"))
    events.extend(task_event(task) for task in db.session.scalars(
        select(PlanTask).where(PlanTask.id.in_(task_ids)).order_by(PlanTask.due_on, PlanTask.id)))
    return events


def _replace_status(event: feeds.FeedEvent, status: str) -> feeds.FeedEvent:
    from dataclasses import replace

    return replace(event, status=status)


def may_follow_plan(owner: feeds.Owner, target_id: int | None) -> bool:
    return owner.role == Role.coordinator


def register_plan_feed() -> None:
    """Plug the yearly plan into office's feeds (idempotent; the seminars blueprint calls it)."""
    feeds.add_feed_kind("year_plan", _l("Yearly plan"), title=lambda subject: _("Samlokal: yearly plan"),
                        may_subscribe=may_follow_plan,
                        description=_l("The yearly plan's seminars and tasks in Samlokal."))
    feeds.add_source("year_plan", plan_events, stamp=plan_stamp)
