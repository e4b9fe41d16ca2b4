"""Language and time zone choice (Swedish by default, English selectable)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request, session

from office.core import clock


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and scheduled jobs: the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    # Only the session: asking current_user here could recurse through Flask-Login's
    # messages. The user's saved choice is copied into the session at login.
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["TIMEZONE"]


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def to_local(value: datetime) -> datetime:
    return value.astimezone(local_zone())


def today_local() -> date:
    return clock.today(local_zone())


def current_language() -> str:
    return select_locale() if request else current_app.config["BABEL_DEFAULT_LOCALE"]
