"""`flask --app wsgi create-user`: an account with a password, from the command line."""

from __future__ import annotations

import click
from sqlalchemy import select

from office.accounts import login_sessions, second_factor
from office.accounts import rules as accounts
from office.accounts.models import Agency, Role
from office.core.extensions import db
from office.core.transaction import unit_of_work


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--agency", "agency_short", required=True, help="The agency's short name, e.g. AF")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.staff.value)
@click.password_option()
def create_user_command(email, name, agency_short, role, password):
    """Create an account with a password."""
    with unit_of_work():
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
        short_name = agency.short_name
    click.echo(f"Created {email} ({role}, {short_name}).")


@click.command("reset-second-factor")
@click.option("--email", required=True)
def reset_second_factor_command(email):
    """Turn off someone's two-step verification (a lost phone and lost recovery codes).

    For the coordinator, whom nobody in the app can reset; others are reset on the staff page.
    """
    with unit_of_work():
        user = accounts.find_user_by_email(email)
        if user is None:
            raise click.UsageError(f"No account for {email}.")
        second_factor.remove(user)
        login_sessions.end_all(user)
    click.echo(f"Two-step verification is off for {email}; their sessions ended.")


COMMANDS = {"create-user": create_user_command, "reset-second-factor": reset_second_factor_command}
