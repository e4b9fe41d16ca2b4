"""`flask --app wsgi seed-demo` and `seed-demo-if-empty`: Drivhuset's demo data."""

from __future__ import annotations

import click
from sqlalchemy import select

from office.accounts.models import Agency, User
from office.core.extensions import db
from office.core.transaction import unit_of_work
from office.demo.seed import print_logins, seed_demo


@click.command("seed-demo")
def seed_demo_command():
    """Fill an empty database with Drivhuset's demo data and print the logins."""
    with unit_of_work():
        if db.session.scalar(select(Agency.id).limit(1)) is not None:
            raise click.UsageError("The database is not empty; the demo data was not loaded "
                                   "(`flask --app wsgi demo-logins` lists the demo logins).")
        seed_demo()
    print_logins()


@click.command("demo-logins")
def demo_logins_command():
    """Print the demo logins of this database (those `seed-demo` created)."""
    demo_user = select(User.id).where(User.email.like("%@drivhuset.example")).limit(1)
    if db.session.scalar(demo_user) is None:
        raise click.ClickException("No demo accounts here: `flask --app wsgi seed-demo` "
                                   "loads the demo data into an empty database.")
    print_logins()


@click.command("seed-demo-if-empty")
def seed_demo_if_empty_command():
    """Load the demo data on first start only (used by `make run`); print the logins."""
    with unit_of_work():
        empty = db.session.scalar(select(Agency.id).limit(1)) is None
        if empty:
            seed_demo()
    if empty:
        click.echo("Loaded the Drivhuset demo data.")
    print_logins()


COMMANDS = {
    "seed-demo": seed_demo_command, "seed-demo-if-empty": seed_demo_if_empty_command,
    "demo-logins": demo_logins_command,
}
