"""`flask --app wsgi send-mail [--loop]` and `flask --app wsgi queue-reminders` (cron)."""

from __future__ import annotations

import time

import click


@click.command("send-mail")
@click.option("--loop", is_flag=True, help="Keep running as a worker (polls the outbox).")
@click.option("--interval", default=10.0, show_default=True, help="Seconds between rounds with --loop.")
@click.option("--batch", default=20, show_default=True, help="Mails claimed per round.")
def send_mail_command(loop: bool, interval: float, batch: int):
    """Deliver the queued mails (retries with backoff; safe to run several at once)."""
    from seminars.mail import send_due  # commits each claim and each mail itself

    while True:
        sent, failed = send_due(batch)
        while sent + failed == batch:  # more may be waiting: no pause
            more_sent, more_failed = send_due(batch)
            sent, failed = sent + more_sent, failed + more_failed
            if more_sent + more_failed < batch:
                break
        if sent or failed or not loop:
            click.echo(f"sent {sent}, failed {failed}")
        if not loop:
            return
        time.sleep(interval)

@click.command("queue-reminders")
@click.option("--days", type=int, default=None, help="Days before (default SEMINAR_REMINDER_DAYS).")
def queue_reminders_command(days: int | None):
    """Queue reminders for seminars starting soon and finish past ones (idempotent)."""
    from office.core.transaction import unit_of_work
    from seminars.mail import queue_reminders
    from seminars.planning import finish_past_seminars

    with unit_of_work():
        queued = queue_reminders(days_before=days)
    with unit_of_work():
        finished = finish_past_seminars()
    click.echo(f"queued {queued} reminders, marked {finished} seminars finished")


COMMANDS = {"send-mail": send_mail_command, "queue-reminders": queue_reminders_command}
