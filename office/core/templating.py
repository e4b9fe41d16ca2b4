"""Helpers the templates share: local times, the language form, the main navigation."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, request, url_for
from flask_babel import (
    format_date,
    format_datetime,
    format_decimal,
    format_percent,
    format_time,
    get_locale,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from office.core.export import suppressed
from office.core.i18n import to_local
from office.core.security import Role


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy string
    roles: tuple[Role, ...] | None = None  # None: every logged-in user
    description: object = None  # one line on the Administration page


# Later features (and `seminars`) add their entries with add_nav_item(); office never
# imports seminars. Pages for every logged-in user go in the header; pages for some roles
# only (coordinator, agency admin) go on the Administration page, which the header links
# to, so the coordinator's header stays as short as everyone else's.
_NAVIGATION: list[NavItem] = [
    NavItem("premises.list_sites", _l("Sites")),
    NavItem("premises.list_resources", _l("Rooms and desks")),
    NavItem("premises.list_agencies", _l("Agencies")),
    NavItem("users.list_users", _l("Staff"), (Role.coordinator, Role.agency_admin),
            _l("Invite people, change roles and agencies, end accounts.")),
]


def add_nav_item(endpoint: str, label, roles=None, position: int | None = None,
                 description=None) -> None:
    global _navigation_version
    item = NavItem(endpoint, label, tuple(roles) if roles else None, description)
    if any(existing.endpoint == endpoint for existing in _NAVIGATION):
        return
    _NAVIGATION.insert(len(_NAVIGATION) if position is None else position, item)
    _navigation_version += 1


# Pages anyone may open without logging in, linked from the login page (seminars adds its
# public seminars; office never imports seminars).
_PUBLIC_LINKS: list[NavItem] = []


def add_public_link(endpoint: str, label) -> None:
    global _navigation_version
    if not any(existing.endpoint == endpoint for existing in _PUBLIC_LINKS):
        _PUBLIC_LINKS.append(NavItem(endpoint, label))
        _navigation_version += 1


# The links are made from code, not data: their URLs and labels are the same for every user
# of a language, so every page need not build them again (url_for and gettext for each item
# were ~0.5 ms of each page). Kept per app, keyed by the path prefix, the language and the
# lists' version (add_nav_item and add_public_link bump it); what a user sees is still
# chosen per request from the user's role.
_navigation_version = 0


@dataclass(frozen=True)
class _Links:
    main: tuple[dict, ...]
    admin: tuple[tuple[tuple[Role, ...], dict], ...]
    public: tuple[dict, ...]


def _translated(text) -> str | None:
    return None if text is None else str(text)


def _links() -> _Links:
    locale = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
    key = (request.script_root, locale, _navigation_version)
    cache = current_app.extensions.setdefault("samlokal.navigation", {})
    links = cache.get(key)
    if links is None:
        def entry(item: NavItem) -> dict:
            return {"endpoint": item.endpoint, "url": url_for(item.endpoint),
                    "label": _translated(item.label), "description": _translated(item.description)}

        links = _Links(
            main=tuple(entry(item) for item in _NAVIGATION if item.roles is None),
            admin=tuple((item.roles, entry(item)) for item in _NAVIGATION if item.roles is not None),
            public=tuple({"url": url_for(item.endpoint), "label": _translated(item.label)}
                         for item in _PUBLIC_LINKS),
        )
        if len(cache) > 64:  # a stray prefix per request must not grow it without end
            cache.clear()
        cache[key] = links
    return links


def public_links() -> list[dict]:
    return list(_links().public)


def main_navigation() -> list[dict]:
    """The header's links: the pages every logged-in user has."""
    if not current_user.is_authenticated:
        return []
    return list(_links().main)


def admin_navigation() -> list[dict]:
    """The Administration page's links: the pages of the user's role (empty for staff)."""
    if not current_user.is_authenticated:
        return []
    role = current_user.role
    return [entry for roles, entry in _links().admin if role in roles]


def install_template_helpers(app: Flask) -> None:
    @app.context_processor
    def _globals():
        locale = str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"])
        return {
            "current_locale": locale,
            "current_path": request.full_path.rstrip("?") if request else "/",
            "main_navigation": main_navigation,
            "admin_navigation": admin_navigation,
            "public_links": public_links,
        }

    app.jinja_env.filters["local_datetime"] = (
        lambda v, fmt="short": format_datetime(to_local(v), fmt) if v else ""
    )
    app.jinja_env.filters["local_date"] = lambda v, fmt="medium": format_date(v, fmt) if v else ""
    app.jinja_env.filters["local_time"] = lambda v, fmt="HH:mm": format_time(v, fmt) if v else ""
    app.jinja_env.filters["suppressed"] = suppressed  # counts 1-4 as "<5" (office/core/export.py)
    # Numbers as the locale writes them: "170" and "12,5" in Swedish, never "170.0".
    app.jinja_env.filters["number"] = lambda v, fmt="#,##0.#": format_decimal(v or 0, fmt)
    app.jinja_env.filters["percent"] = lambda v: format_percent(v or 0, "#,##0 %")
