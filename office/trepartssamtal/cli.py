"""`flask --app wsgi purge` (alias `purge-references`): the daily retention job for trepartssamtal."""

from __future__ import annotations

import click


@click.command("purge")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Days after a meeting (default: TREPARTSSAMTAL_RETENTION_DAYS, 90).")
def purge_references_command(days):
    """Erase the reference and consent of trepartssamtal that ended long enough ago.

    Safe to run any number of times (a daily cron job): counts stay, nothing else changes.
    """
    from office.core.transaction import unit_of_work
    from office.trepartssamtal.rules import purge_references

    with unit_of_work():
        count = purge_references(days=days)
    click.echo(f"Purged the reference of {count} trepartssamtal.")

# "purge-references" is the name the first version used; kept so cron lines go on working.
COMMANDS = {"purge": purge_references_command, "purge-references": purge_references_command}
