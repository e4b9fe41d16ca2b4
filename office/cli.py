"""Command-line tools: `flask --app wsgi create-user`, `seed-demo`, `seed-demo-if-empty`."""

from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from office import accounts
from office.extensions import db
from office.models import Agency, Role


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
            raise click.UsageError("The database is not empty; the demo data was not loaded.")
        seed_demo()
        print_logins()

    @app.cli.command("seed-demo-if-empty")
    def seed_demo_if_empty_command():
        """Load the demo data on first start only (used by `make run`); print the logins."""
        from office.demo import print_logins, seed_demo

        if db.session.scalar(select(Agency.id).limit(1)) is None:
            seed_demo()
            click.echo("Loaded the Drivhuset demo data.")
        print_logins()
