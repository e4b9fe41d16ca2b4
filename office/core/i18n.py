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
from flask_babel import get_translations
from jinja2 import pass_context
from markupsafe import Markup

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
    (domain, translations, locale), about 10 context look-ups; a page has dozens of strings.
    Here the request's `g` is resolved once and the locale Flask-Babel chose for the request
    is read where Flask-Babel 4 keeps it (`g._flask_babel.babel_locale`): `force_locale()`
    and `refresh()` replace or remove that object, so the catalogue follows them at once.
    Where it is not there (no locale chosen yet, or another Flask-Babel), Flask-Babel answers.
    """
    if not has_app_context():
        return get_translations()
    request_g = g._get_current_object()
    locale = getattr(getattr(request_g, "_flask_babel", None), "babel_locale", None)
    if locale is None:
        return get_translations()
    memo = getattr(request_g, "samlokal_translations", None)
    if memo is None or memo[0] is not locale:
        memo = request_g.samlokal_translations = (locale, get_translations())
    return memo[1]


@pass_context
def _template_gettext(context, string: str, **variables):
    """A template's `_()` and `gettext()`: Jinja's new-style gettext (escaped when the template
    autoescapes, always %-formatted) in one call instead of Jinja's three nested ones."""
    text = _template_translations().ugettext(string)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


@pass_context
def _template_ngettext(context, singular: str, plural: str, num: int, **variables):
    """A template's `ngettext()`, as Jinja's new-style one: `num` is a variable too."""
    variables.setdefault("num", num)
    text = _template_translations().ungettext(singular, plural, num)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


def install_template_gettext(app: Flask) -> None:
    """Templates' `_`, `gettext`, `ngettext`, `pgettext` and `npgettext` through
    `_template_translations` (after `babel.init_app`, whose callables these replace; the
    same new-style semantics, `{% trans %}` included)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _template_translations().ugettext(s),
        ngettext=lambda s, p, n: _template_translations().ungettext(s, p, n),
        pgettext=lambda c, s: _template_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _template_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    # `_` is the i18n extension's alias for `gettext`; both become the one-call form.
    app.jinja_env.globals.update(_=_template_gettext, gettext=_template_gettext,
                                 ngettext=_template_ngettext)
