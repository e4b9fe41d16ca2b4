"""`flask --app wsgi queue-reminders` (cron); the mails go out with send-mail (office/core/cli.py)."""

from __future__ import annotations

import click


@click.command("queue-reminders")
@click.option("--days", type=int, default=None, help="Days before (default SEMINAR_REMINDER_DAYS).")
def queue_reminders_command(days: int | None):
    """Queue reminders for seminars starting soon, ask for evaluations of those that ended,
    and finish past ones (idempotent: run it every hour)."""
    from office.core.transaction import unit_of_work
    from seminars.mail import queue_evaluation_requests, queue_reminders
    from seminars.planning import finish_past_seminars

    with unit_of_work():
        queued = queue_reminders(days_before=days)
    with unit_of_work():
        asked = queue_evaluation_requests()
    with unit_of_work():
        finished = finish_past_seminars()
    click.echo(f"queued {queued} reminders, {asked} evaluation requests, "
               f"marked {finished} seminars finished")


@click.command("queue-task-reminders")
def queue_task_reminders_command():
    """Mail the owners of the yearly plan's tasks their reminder (N days before the due date,
    once per task and due date; safe to run every hour, also on two machines at once)."""
    from office.core.transaction import unit_of_work
    from seminars.plan_tasks import queue_task_reminders

    with unit_of_work():
        reminded = queue_task_reminders()
    click.echo(f"queued reminders for {reminded} tasks")


COMMANDS = {"queue-reminders": queue_reminders_command,
            "queue-task-reminders": queue_task_reminders_command}
