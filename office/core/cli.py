"""Operations: copy-data (to PostgreSQL), backup-sqlite and send-mail (the outbox sender)."""

from __future__ import annotations

import signal
import threading

import click

from office.core.extensions import db


@click.command("copy-data")
@click.option("--to", "target_url", required=True, metavar="URL",
              help="The empty, migrated target, e.g. postgresql://samlokal@db/samlokal")
@click.option("--batch-size", default=1000, show_default=True, help="Rows per insert.")
def copy_data_command(target_url, batch_size):
    """Copy every table into an empty, migrated database (e.g. SQLite to PostgreSQL)."""
    from sqlalchemy import create_engine

    from office.core import copy_data
    from office.core.config import normalise_database_url
    from office.core.database import configure_engine

    target = create_engine(normalise_database_url(target_url))
    configure_engine(target)
    shown = target.url.render_as_string(hide_password=True)
    try:
        copied = copy_data.copy_database(db.engine, target, db.metadata, batch_size)
    except (copy_data.CopyRefused, copy_data.CopyFailed) as error:
        raise click.ClickException(f"Nothing was copied to {shown}. {error}")
    finally:
        target.dispose()
    for table in copied:
        click.echo(f"{table.name:<32} {table.rows:>9} rows")
    click.echo(f"Copied {sum(t.rows for t in copied)} rows in {len(copied)} tables to "
               f"{shown}; row counts verified and id sequences set.")

@click.command("backup-sqlite")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def backup_sqlite_command(path):
    """Back up the live SQLite database into a new file PATH (checked before it is kept)."""
    from office.core.backup import BackupError, backup_sqlite

    if db.engine.dialect.name != "sqlite":
        raise click.UsageError("The database is not SQLite; back up PostgreSQL with pg_dump "
                               "(see docs/deployment.md).")
    try:
        backup = backup_sqlite(db.engine.url.database, path)
    except BackupError as error:
        raise click.ClickException(f"No backup was made. {error}")
    click.echo(f"Backed up to {backup.path} ({backup.size_bytes} bytes in "
               f"{backup.seconds:.2f} s); integrity check ok.")


@click.command("send-mail")
@click.option("--loop", is_flag=True, help="Keep running as a worker (polls the outbox).")
@click.option("--interval", default=10.0, show_default=True, help="Seconds between rounds with --loop.")
@click.option("--batch", default=20, show_default=True, help="Mails claimed per round.")
def send_mail_command(loop: bool, interval: float, batch: int):
    """Deliver the queued mails (retries with backoff; safe to run several at once)."""
    from office.core.mail import send_due

    stop = threading.Event()
    if loop:
        # Ctrl-C (make run) and SIGTERM (systemd) end the worker between rounds: a mail
        # being sent is finished and recorded first, never cut off half way.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    while True:
        sent, failed = send_due(batch)
        while sent + failed == batch and not stop.is_set():  # more may be waiting: no pause
            more_sent, more_failed = send_due(batch)
            sent, failed = sent + more_sent, failed + more_failed
            if more_sent + more_failed < batch:
                break
        if sent or failed or not loop:
            click.echo(f"sent {sent}, failed {failed}")
        if not loop:
            return
        if stop.wait(interval):
            click.echo("send-mail stopped")
            return


COMMANDS = {"copy-data": copy_data_command, "backup-sqlite": backup_sqlite_command,
            "send-mail": send_mail_command}
