"""`flask --app wsgi book`: the same booking rules from the command line."""

from __future__ import annotations

from datetime import datetime

import click
from sqlalchemy import select

from office.accounts.models import User
from office.booking import rules as booking
from office.booking.rules import BookingRefused, BookingRequest
from office.core.extensions import db
from office.core.transaction import unit_of_work
from office.premises.models import Resource


def _moment(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a local date and time like 2026-02-03T09:00") from None


@click.command("book")
@click.option("--resource", required=True, help="The resource's id or its exact name.")
@click.option("--start", required=True, help="Local start, e.g. 2026-02-03T09:00.")
@click.option("--end", required=True, help="Local end the same day, e.g. 2026-02-03T10:00.")
@click.option("--user", "email", required=True, help="Who books (e-mail address).")
@click.option("--title", default="Bokning", show_default=True)
@click.option("--attendees", default=1, type=int, show_default=True)
@click.option("--for", "booked_for", default=None, help="E-mail of the person booked for.")
@click.option("--rrule", default=None, help="An RFC 5545 RRULE, e.g. FREQ=WEEKLY;COUNT=10.")
@click.option("--allow-partial", is_flag=True, help="Book a series without its refused dates.")
def book_command(resource, start, end, email, title, attendees, booked_for, rrule, allow_partial):
    """Book a room or desk; every rule of the web form applies."""
    found = db.session.get(Resource, int(resource)) if resource.isdigit() else db.session.scalar(
        select(Resource).where(Resource.name == resource))
    user = db.session.scalar(select(User).where(User.email == email))
    other = db.session.scalar(select(User).where(User.email == booked_for)) if booked_for else None
    if found is None or user is None or (booked_for and other is None):
        raise click.UsageError("Unknown resource or user.")
    starts, ends = _moment(start), _moment(end)
    if starts.date() != ends.date():
        raise click.UsageError("Start and end must be on the same day.")
    request = BookingRequest(resource=found, title=title, first_day=starts.date(),
                             start_time=starts.time(), end_time=ends.time(), booked_by=user,
                             attendees=attendees, booked_for=other, rrule=rrule)
    try:
        with unit_of_work():
            reservation = booking.book(request, allow_partial=allow_partial)
    except BookingRefused as refused:
        for found_problem in refused.problems:
            click.echo(f"Refused ({refused.status}): {found_problem}", err=True)
        raise SystemExit(1) from None
    active = [o for o in reservation.occurrences if o.is_active]
    click.echo(f"Booked reservation {reservation.id}: {len(active)} occurrence(s) of {found.name}.")


COMMANDS = {"book": book_command}
