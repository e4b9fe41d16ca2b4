"""`flask --app wsgi purge` (alias `purge-references`): the daily retention job for trepartssamtal."""

from __future__ import annotations

import click
from flask import Flask


def register_trepartssamtal_commands(app: Flask) -> None:
    @app.cli.command("purge")
    @click.option("--days", type=click.IntRange(min=0), default=None,
                  help="Days after a meeting (default: TREPARTSSAMTAL_RETENTION_DAYS, 90).")
    def purge_references_command(days):
        """Erase the reference and consent of trepartssamtal that ended long enough ago.

        Safe to run any number of times (a daily cron job): counts stay, nothing else changes.
        """
        from office.trepartssamtal.rules import purge_references

        count = purge_references(days=days)
        click.echo(f"Purged the reference of {count} trepartssamtal.")

    # The name the first version used; kept so existing cron lines go on working.
    app.cli.add_command(purge_references_command, "purge-references")
