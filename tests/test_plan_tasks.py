"""The yearly plan's tasks: created by the coordinator, owned by a person or a group,
reminded through the outbox, marked done, copied to next year, filtered, in the feed."""

from __future__ import annotations

from datetime import date, time
from urllib.parse import urlsplit

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from office import feeds
from office.accounts.models import Role
from office.booking.models import AuditEntry
from office.core import mail as outbox
from office.core import clock
from office.core.extensions import db
from office.core.models import OutboxMail
from office.meetings import rules as meetings
from office.meetings.models import Attendance
from seminars import plan_tasks
from seminars.models import PlanTask
from tests.seminar_factories import make_seminar
from tests.test_jobs_on_two_machines import run_twice_at_once
from tests.test_seminar_mail import smtp  # noqa: F401 - the aiosmtpd fixture

# A Tuesday in February 2027: nothing about the weeks ahead depends on the real calendar.
pytestmark = pytest.mark.clock("2027-02-09T09:00+01:00", frozen=True)


@pytest.fixture
def coordinator(create_user):
    return create_user(role=Role.coordinator, name="Pia Projektledare")


@pytest.fixture
def group(app, coordinator, create_user, create_resource):
    """The steering group with two members (a weekly meeting in a room)."""
    members = [create_user(name="Stina Styrgrupp", email="stina@example.se"),
               create_user(name="Sven Styrgrupp", email="sven@example.se", locale="en")]
    series = meetings.create_meeting_series(
        name="Styrgruppen", resource=create_resource(name="Stora rummet"), first_day=date(2027, 3, 3),
        start_time=time(13), end_time=time(14), rrule=meetings.weekly_rule(2, date(2027, 3, 31)),
        members=[(m, Attendance.every_meeting) for m in members], actor=coordinator)
    db.session.commit()
    return series


def new_task(coordinator, *, owner: str, due: date = date(2027, 3, 31), remind_days: int = 14,
             title: str = "Förnya den lokala överenskommelsen") -> PlanTask:
    task = PlanTask()
    plan_tasks.save_task(task, coordinator, title=title, description="Underskrifter från alla parter",
                         due_on=due, owner=owner, remind_days=remind_days)
    db.session.commit()
    return task


def task_form(default_owner: str, **changes) -> dict:
    return {"title": "Halvårsrapport till styrgruppen och samordningsförbundet",
            "description": "Siffror per myndighet", "due_on": "2027-06-15", "owner": default_owner,
            "remind_days": "10", **changes}


# --- the coordinator plans, others may not --------------------------------------------------

def test_coordinator_creates_a_task_for_a_group_and_edits_it_unchanged(auth, coordinator, group):
    auth.login(coordinator)
    response = auth.post("/seminars/plan/tasks/new", task_form(f"g:{group.id}"))
    assert response.status_code == 302 and response.location.endswith("/seminars/plan/2027")
    task = db.session.scalar(select(PlanTask))
    assert (task.owner_series_id, task.due_on, task.remind_days) == (group.id, date(2027, 6, 15), 10)
    edit = auth.client.get(f"/seminars/plan/tasks/{task.id}/edit").get_data(as_text=True)
    assert 'value="2027-06-15"' in edit and f'<option selected value="g:{group.id}">' in edit
    audit_lines = db.session.scalar(select(func.count(AuditEntry.id)))
    changed_at = task.updated_at
    assert auth.post(f"/seminars/plan/tasks/{task.id}/edit", task_form(f"g:{group.id}")).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(func.count(AuditEntry.id))) == audit_lines
    assert db.session.get(PlanTask, task.id).updated_at == changed_at


@pytest.mark.parametrize("changes,message", [
    ({"due_on": "2027-02-30"}, "Inte ett giltigt datum"),
    ({"due_on": "nästa vecka"}, "Inte ett giltigt datum"),
    ({"due_on": "9999-12-31"}, "Ange ett datum mellan"),
    ({"remind_days": "-1"}, "Mellan 0 och 365 dagar."),
    ({"remind_days": "100000"}, "Mellan 0 och 365 dagar."),
    ({"remind_days": "99999999999999999999"}, "Mellan 0 och 365 dagar."),
    ({"owner": "g:999999"}, "Välj ägaren i listan"),
    ({"owner": "u:abc"}, "Välj ägaren i listan"),
    ({"title": ""}, "Ge uppgiften en rubrik."),
])
def test_bad_input_is_refused_in_swedish_and_the_form_keeps_what_was_typed(auth, coordinator, group,
                                                                          changes, message):
    auth.login(coordinator)
    response = auth.post("/seminars/plan/tasks/new", task_form(f"g:{group.id}", **changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert "Halvårsrapport till styrgruppen" in html or changes.get("title") == ""
    assert db.session.scalar(select(func.count(PlanTask.id))) == 0


def test_staff_cannot_create_edit_or_delete_and_anonymous_is_sent_to_login(auth, client, coordinator,
                                                                             create_user, group):
    task = new_task(coordinator, owner=f"g:{group.id}")
    anonymous = client.get("/seminars/plan/tasks/new")
    assert anonymous.status_code == 302 and "/login" in anonymous.location
    auth.login(create_user())
    assert auth.post("/seminars/plan/tasks/new", task_form(f"g:{group.id}")).status_code == 403
    assert auth.post(f"/seminars/plan/tasks/{task.id}/edit", task_form(f"g:{group.id}")).status_code == 403
    assert auth.post(f"/seminars/plan/tasks/{task.id}/delete", {}).status_code == 403
    assert auth.post(f"/seminars/plan/tasks/{task.id}/done", {"done": "y"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(PlanTask, task.id).done_at is None


def test_coordinator_deletes_a_task_after_a_second_step_that_says_what_goes(auth, coordinator,
                                                                            group):
    task = new_task(coordinator, owner=f"g:{group.id}")
    auth.login(coordinator)
    page = auth.client.get(f"/seminars/plan/tasks/{task.id}/edit").get_data(as_text=True)
    zone = page[page.index('<details class="danger-zone">'):page.index("</details>")]
    assert "<details class=\"danger-zone\">" in zone and " open" not in zone.split(">")[0]
    assert "Det går inte att ångra" in zone and "Ja, ta bort uppgiften" in zone
    assert f'/seminars/plan/tasks/{task.id}/delete' in zone
    assert auth.post(f"/seminars/plan/tasks/{task.id}/delete", {}).status_code == 302
    assert db.session.scalar(select(func.count(PlanTask.id))) == 0


# --- owners see their tasks and mark them done ------------------------------------------------

def test_group_member_sees_the_task_and_marks_it_done_then_not_done(auth, coordinator, group):
    task = new_task(coordinator, owner=f"g:{group.id}")
    member = group.members[0].user
    auth.login(member)
    mine = auth.client.get("/seminars/tasks/mine").get_data(as_text=True)
    assert "Förnya den lokala överenskommelsen" in mine and "Styrgruppen" in mine
    assert auth.post(f"/seminars/plan/tasks/{task.id}/done", {"done": "y", "back": "mine"}).status_code == 302
    db.session.expire_all()
    task = db.session.get(PlanTask, task.id)
    assert task.done_by_id == member.id and task.done_at == clock.now()
    assert "Stina Styrgrupp" in auth.client.get("/seminars/tasks/mine").get_data(as_text=True)
    auth.post(f"/seminars/plan/tasks/{task.id}/done", {"back": "mine"})
    db.session.expire_all()
    assert db.session.get(PlanTask, task.id).done_at is None


def test_a_person_owns_a_task_and_others_do_not_see_it(auth, coordinator, create_user):
    owner, other = create_user(name="Olle Ägare"), create_user()
    new_task(coordinator, owner=f"u:{owner.id}", title="Kvalitetsgranskning av 5–10 planer")
    auth.login(other)
    assert "Kvalitetsgranskning" not in auth.client.get("/seminars/tasks/mine").get_data(as_text=True)
    auth.login(owner)
    assert "Kvalitetsgranskning" in auth.client.get("/seminars/tasks/mine").get_data(as_text=True)


# --- reminders --------------------------------------------------------------------------------

def test_a_yearly_task_reminds_the_group_once_n_days_before_through_the_outbox(app, smtp, coordinator,  # noqa: F811
                                                                              group):
    task = new_task(coordinator, owner=f"g:{group.id}", due=date(2027, 3, 31), remind_days=14)
    with clock.travel_to(clock.now().replace(month=3, day=16)):  # 15 days before: not yet
        assert app.test_cli_runner().invoke(args=["queue-task-reminders"]).output == "queued reminders for 0 tasks\n"
    with clock.travel_to(clock.now().replace(month=3, day=17)):
        result = app.test_cli_runner().invoke(args=["queue-task-reminders"])
        again = app.test_cli_runner().invoke(args=["queue-task-reminders"])
        assert "for 1 tasks" in result.output and "for 0 tasks" in again.output
        assert outbox.send_due() == (2, 0)
    by_recipient = {m["To"]: m for m in smtp.messages}
    assert set(by_recipient) == {"stina@example.se", "sven@example.se"}
    swedish = by_recipient["stina@example.se"]
    assert "Förnya den lokala överenskommelsen" in swedish["Subject"] and "31 mars" in swedish["Subject"]
    assert "Styrgruppen" in swedish.get_content()
    assert "is due" in by_recipient["sven@example.se"]["Subject"]
    db.session.expire_all()
    assert db.session.get(PlanTask, task.id).reminded_for == date(2027, 3, 31)


def test_a_moved_due_date_reminds_again_and_a_done_task_not_at_all(app, coordinator, create_user):
    owner = create_user(email="olle@example.se")
    task = new_task(coordinator, owner=f"u:{owner.id}", due=date(2027, 2, 12), remind_days=5)
    done = new_task(coordinator, owner=f"u:{owner.id}", due=date(2027, 2, 12), title="Redan klar")
    plan_tasks.mark_done(done, coordinator, True)
    assert plan_tasks.queue_task_reminders(date(2027, 2, 9)) == 1
    plan_tasks.save_task(task, coordinator, title=task.title, description="", due_on=date(2027, 2, 15),
                         owner=f"u:{owner.id}", remind_days=5)
    assert plan_tasks.queue_task_reminders(date(2027, 2, 10)) == 1
    assert plan_tasks.queue_task_reminders(date(2027, 2, 11)) == 0
    keys = db.session.scalars(select(OutboxMail.topic_key).where(OutboxMail.kind == "task_reminder")).all()
    assert sorted(keys) == [f"plan-task:{task.id}:2027-02-12:{owner.id}", f"plan-task:{task.id}:2027-02-15:{owner.id}"]


def test_two_reminder_jobs_at_once_queue_each_reminder_once(app, coordinator, group):
    for n in range(5):
        new_task(coordinator, owner=f"g:{group.id}", due=date(2027, 2, 20), title=f"Uppgift {n}")
    results = run_twice_at_once(app, lambda: plan_tasks.queue_task_reminders(date(2027, 2, 10)))
    assert sum(results) == 5
    keys = db.session.scalars(select(OutboxMail.topic_key).where(OutboxMail.kind == "task_reminder")).all()
    assert len(keys) == 10 and len(set(keys)) == 10


# --- next year, the plan, the feed --------------------------------------------------------------

@pytest.mark.parametrize("due,expected", [
    (date(2027, 3, 31), date(2028, 3, 31)),    # a Friday next year: the same date
    (date(2027, 6, 15), date(2028, 6, 15)),
    (date(2027, 4, 1), date(2028, 3, 31)),     # 1 April 2028 is a Saturday: the Friday before
    (date(2027, 12, 25), date(2028, 12, 22)),  # juldagen and julafton: back to the Friday
    (date(2028, 2, 29), date(2029, 2, 28)),
])
def test_a_due_date_moves_to_the_same_date_or_the_working_day_before(due, expected):
    assert plan_tasks.same_date_next_year(due) == expected


def test_copy_to_next_year_copies_the_chosen_tasks_not_done(auth, coordinator, group):
    task = new_task(coordinator, owner=f"g:{group.id}", due=date(2027, 4, 1))
    plan_tasks.mark_done(task, coordinator, True)
    left = new_task(coordinator, owner=f"g:{group.id}", title="Stannar kvar")
    seminar = make_seminar(coordinator, day=date(2027, 5, 11), title="Vårens arbetsgivarträff")
    db.session.commit()
    auth.login(coordinator)
    response = auth.post("/seminars/plan/2027/copy", {"task": [str(task.id)], "seminar": [str(seminar.id)]})
    assert response.status_code == 302 and response.location.endswith("/seminars/plan/2028")
    copies = db.session.scalars(select(PlanTask).where(PlanTask.copied_from_id.is_not(None))).all()
    assert [(c.copied_from_id, c.due_on, c.done_at, c.owner_series_id) for c in copies] == [
        (task.id, date(2028, 3, 31), None, group.id)]
    assert left.id not in {c.copied_from_id for c in copies}
    html = auth.client.get("/seminars/plan/2028").get_data(as_text=True)
    assert "Förnya den lokala överenskommelsen" in html and "Vårens arbetsgivarträff" in html


def test_the_plan_shows_seminars_and_tasks_together_and_filters_them(auth, coordinator, group, create_user):
    owner = create_user(name="Olle Ägare")
    new_task(coordinator, owner=f"g:{group.id}", due=date(2027, 3, 31), title="Förnya överenskommelsen")
    late = new_task(coordinator, owner=f"u:{owner.id}", due=date(2027, 9, 30), title="Kvalitetsgranskning")
    plan_tasks.mark_done(late, coordinator, True)
    make_seminar(coordinator, day=date(2027, 5, 11), title="Vårens arbetsgivarträff")
    db.session.commit()
    auth.login(coordinator)

    def shown(query: str, htmx: bool = False) -> set[str]:
        headers = {"HX-Request": "true", "HX-Target": "year-plan"} if htmx else {}
        html = auth.client.get(f"/seminars/plan/2027{query}", headers=headers).get_data(as_text=True)
        return {t for t in ("Förnya överenskommelsen", "Kvalitetsgranskning", "Vårens arbetsgivarträff") if t in html}

    assert shown("") == {"Förnya överenskommelsen", "Kvalitetsgranskning", "Vårens arbetsgivarträff"}
    assert shown("?show=tasks", htmx=True) == {"Förnya överenskommelsen", "Kvalitetsgranskning"}
    assert shown("?show=seminars") == {"Vårens arbetsgivarträff"}
    assert shown(f"?owner=g:{group.id}") == {"Förnya överenskommelsen"}
    assert shown("?status=done") == {"Kvalitetsgranskning"}
    assert shown("?status=open") == {"Förnya överenskommelsen"}
    assert shown("?term=autumn") == {"Kvalitetsgranskning"}
    assert shown("?term=spring&show=seminars") == {"Vårens arbetsgivarträff"}
    assert shown("?kind=employer_forum") == {"Vårens arbetsgivarträff"}
    assert shown("?owner=x:\x00&status=nonsense&term=1e309") == shown("")


def test_the_plan_feed_holds_tasks_as_all_day_events_for_the_coordinator_only(auth, app, coordinator, group,
                                                                              create_user):
    new_task(coordinator, owner=f"g:{group.id}", due=date(2027, 3, 31))
    make_seminar(coordinator, day=date(2027, 5, 11), title="Vårens arbetsgivarträff")
    db.session.commit()
    auth.login(coordinator)
    page = auth.post("/seminars/plan/feed", {"year": "2028"}).get_data(as_text=True)
    assert "Årlig handlingsplan 2028" in page  # the plan the link was made from
    link = page.split('id="plan-feed-link" type="text" readonly value="')[1].split('"')[0]
    body = app.test_client().get(urlsplit(link).path).data
    events = {str(e["SUMMARY"]): e for e in Calendar.from_ical(body).walk("VEVENT")}
    task = events["Uppgift: Förnya den lokala överenskommelsen"]
    assert task["DTSTART"].dt == date(2027, 3, 31) and task["DTEND"].dt == date(2027, 4, 1)
    assert "Styrgruppen" in str(task["DESCRIPTION"]) and str(task["TRANSP"]) == "TRANSPARENT"
    assert "Vårens arbetsgivarträff" in events
    staff = create_user()
    with pytest.raises(PermissionError):
        feeds.issue_token(staff, "year_plan", None)


def test_the_demo_plan_holds_drivhusets_recurring_tasks(app):
    from office.demo.seed import seed_demo

    seed_demo()
    db.session.commit()
    tasks = db.session.scalars(select(PlanTask).order_by(PlanTask.due_on)).all()
    owners = {t.title: t.owner_name for t in tasks}
    assert owners["Förnya den lokala överenskommelsen"] == "Styrgruppen"
    assert owners["Årlig kvalitetsgranskning av genomförandeplaner"] == "Handläggargruppen"
    assert [t.due_on.weekday() < 5 for t in tasks] == [True] * 5


def test_a_task_of_a_removed_group_stays_in_the_plan_without_an_owner(auth, coordinator, group):
    task = new_task(coordinator, owner=f"g:{group.id}")
    db.session.delete(group)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(PlanTask, task.id).owner_series_id is None
    auth.login(coordinator)
    assert "Ingen ägare" in auth.client.get("/seminars/plan/2027").get_data(as_text=True)
    assert plan_tasks.queue_task_reminders(date(2027, 3, 30)) == 1  # nobody to mail, stamped all the same
