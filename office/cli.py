"""Command-line tools: users, demo data, copy-data (to PostgreSQL) and backup-sqlite."""

from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from office import accounts
from office.extensions import db
from office.models import Agency, Role, User


def register_commands(app: Flask) -> None:
    @app.cli.command("create-user")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.option("--agency", "agency_short", required=True, help="The agency's short name, e.g. AF")
    @click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.staff.value)
    @click.password_option()
    def create_user_command(email, name, agency_short, role, password):
        """Create an account with a password."""
        agency = db.session.scalar(select(Agency).where(Agency.short_name == agency_short))
        if agency is None:
            raise click.UsageError(f"No agency with short name {agency_short!r}.")
        if accounts.find_user_by_email(email):
            raise click.UsageError(f"There is already an account for {email}.")
        if len(password) < accounts.MIN_PASSWORD_LENGTH:
            raise click.UsageError(
                f"The password must be at least {accounts.MIN_PASSWORD_LENGTH} characters long."
            )
        accounts.create_user(email=email, name=name, agency_id=agency.id, role=Role(role),
                             password=password)
        db.session.commit()
        click.echo(f"Created {email} ({role}, {agency.short_name}).")

    @app.cli.command("release-unclaimed")
    def release_unclaimed_command():
        """Record the automatic releases of allocated time whose lead time has passed.

        Run it from cron every few minutes; it is idempotent and safe on several machines.
        """
        from office.allocations import release_unclaimed

        count = release_unclaimed()
        click.echo(f"Released {count} unclaimed allocated windows.")

    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Fill an empty database with Drivhuset's demo data and print the logins."""
        from office.demo import print_logins, seed_demo

        if db.session.scalar(select(Agency.id).limit(1)) is not None:
            raise click.UsageError("The database is not empty; the demo data was not loaded "
                                   "(`flask --app wsgi demo-logins` lists the demo logins).")
        seed_demo()
        print_logins()

    @app.cli.command("demo-logins")
    def demo_logins_command():
        """Print the demo logins of this database (those `seed-demo` created)."""
        from office.demo import print_logins

        if db.session.scalar(select(User.id).where(User.email.like("%@drivhuset.example")).limit(1)) is None:
            raise click.ClickException("No demo accounts here: `flask --app wsgi seed-demo` "
                                       "loads the demo data into an empty database.")
        print_logins()

    @app.cli.command("seed-demo-if-empty")
    def seed_demo_if_empty_command():
        """Load the demo data on first start only (used by `make run`); print the logins."""
        from office.demo import print_logins, seed_demo

        if db.session.scalar(select(Agency.id).limit(1)) is None:
            seed_demo()
            click.echo("Loaded the Drivhuset demo data.")
        print_logins()

    @app.cli.command("copy-data")
    @click.option("--to", "target_url", required=True, metavar="URL",
                  help="The empty, migrated target, e.g. postgresql://samlokal@db/samlokal")
    @click.option("--batch-size", default=1000, show_default=True, help="Rows per insert.")
    def copy_data_command(target_url, batch_size):
        """Copy every table into an empty, migrated database (e.g. SQLite to PostgreSQL)."""
        from sqlalchemy import create_engine

        from office import copy_data
        from office.config import normalise_database_url
        from office.database import configure_engine

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

    @app.cli.command("backup-sqlite")
    @click.argument("path", type=click.Path(dir_okay=False, writable=True))
    def backup_sqlite_command(path):
        """Back up the live SQLite database into a new file PATH (checked before it is kept)."""
        from office.backup import BackupError, backup_sqlite

        if db.engine.dialect.name != "sqlite":
            raise click.UsageError("The database is not SQLite; back up PostgreSQL with pg_dump "
                                   "(see docs/deployment.md).")
        try:
            backup = backup_sqlite(db.engine.url.database, path)
        except BackupError as error:
            raise click.ClickException(f"No backup was made. {error}")
        click.echo(f"Backed up to {backup.path} ({backup.size_bytes} bytes in "
                   f"{backup.seconds:.2f} s); integrity check ok.")
