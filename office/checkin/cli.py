"""`flask --app wsgi release-no-shows`: run every few minutes (cron on any number of servers)."""

from __future__ import annotations

import click


@click.command("release-no-shows")
def release_no_shows_command():
    """Release bookings that must be checked in and were not, in time; tell the bookers."""
    from office.checkin.rules import release_no_shows
    from office.core.transaction import unit_of_work

    with unit_of_work():
        released = release_no_shows()
    click.echo(f"Released {len(released)} booking(s) nobody checked in to.")


COMMANDS = {"release-no-shows": release_no_shows_command}
