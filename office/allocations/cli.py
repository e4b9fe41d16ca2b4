"""`flask --app wsgi release-unclaimed`: the job that records automatic releases."""

from __future__ import annotations

import click


@click.command("release-unclaimed")
def release_unclaimed_command():
    """Record the automatic releases of allocated time whose lead time has passed.

    Run it from cron every few minutes; it is idempotent and safe on several machines.
    """
    from office.allocations.rules import release_unclaimed
    from office.core.transaction import unit_of_work

    with unit_of_work():
        count = release_unclaimed()
    click.echo(f"Released {count} unclaimed allocated windows.")


COMMANDS = {"release-unclaimed": release_unclaimed_command}
