"""Language and time zone choice (Swedish by default, English selectable)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import (
    Flask,
    current_app,
    g,
    has_app_context,
    has_request_context,
    request,
    session,
)
from flask_babel import get_locale, get_translations

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


def _template_translations():
    """The catalogue for a template's `_()`: Flask-Babel's, asked once per request and locale.

    Flask-Babel's own template callables resolve its request state three times per string
    (domain, translations, locale); a page has dozens of strings. The locale is still asked
    for each string, so `force_locale()` and `refresh()` take effect at once.
    """
    if not has_app_context():
        return get_translations()
    locale = get_locale()
    memo = g.get("samlokal_translations")
    if memo is None or memo[0] is not locale:
        memo = g.samlokal_translations = (locale, get_translations())
    return memo[1]


def install_template_gettext(app: Flask) -> None:
    """Templates' `_`, `ngettext`, `pgettext` and `npgettext` through `_template_translations`
    (after `babel.init_app`, whose callables these replace; the same new-style semantics)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _template_translations().ugettext(s),
        ngettext=lambda s, p, n: _template_translations().ungettext(s, p, n),
        pgettext=lambda c, s: _template_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _template_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
