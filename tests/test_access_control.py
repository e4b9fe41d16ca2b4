"""Who may open what: every URL rule of the app, with the roles allowed, as data.

ACCESS below is the one table to keep current. A new endpoint without a row fails
`test_every_url_rule_has_a_row` (and a row for a removed endpoint fails it too), so a
new feature decides its access on purpose. Each row is then tried as every role:
allowed roles get through; others are sent to the login page (anonymous) or get 403.

Access to *objects* (agency A's staff may not touch agency B's) is checked where those
objects live (tests/test_users.py and, as features land, their own test files).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from flask import url_for

from office import accounts
from office.extensions import db
from office.models import Closure, Role

ANONYMOUS = "anonymous"
STAFF, ADMIN, COORDINATOR = Role.staff.value, Role.agency_admin.value, Role.coordinator.value
ROLES = (ANONYMOUS, STAFF, ADMIN, COORDINATOR)
EVERYONE = frozenset(ROLES)
LOGGED_IN = frozenset({STAFF, ADMIN, COORDINATOR})
ADMINS = frozenset({ADMIN, COORDINATOR})
ONLY_COORDINATOR = frozenset({COORDINATOR})


@dataclass(frozen=True)
class Access:
    roles: frozenset[str]
    why: str = ""


# rule -> who may use it. Keep one row per rule, in the order of the blueprints.
ACCESS: dict[str, Access] = {
    "/static/<path:filename>": Access(EVERYONE, "CSS and JS, also for the login page"),
    # home
    "/": Access(EVERYONE, "sends you to the dashboard or to the login page"),
    "/dashboard": Access(LOGGED_IN),
    "/healthz": Access(EVERYONE, "for the load balancer; says only ok/unavailable"),
    # auth
    "/login": Access(EVERYONE),
    "/logout": Access(LOGGED_IN),
    "/password": Access(LOGGED_IN),
    "/invitation/<token>": Access(EVERYONE, "the secret token is the credential"),
    "/language": Access(EVERYONE, "the login page has the switch too"),
    # users
    "/users/": Access(ADMINS, "agency admins see their own agency only"),
    "/users/invite": Access(ADMINS),
    "/users/<int:user_id>/invitation": Access(ADMINS),
    "/users/<int:user_id>/deactivate": Access(ADMINS),
    "/users/<int:user_id>/activate": Access(ADMINS),
    # premises
    "/agencies/": Access(LOGGED_IN),
    "/agencies/new": Access(ONLY_COORDINATOR),
    "/agencies/<int:agency_id>/edit": Access(ONLY_COORDINATOR),
    "/agencies/<int:agency_id>/units": Access(ONLY_COORDINATOR),
    "/agencies/<int:agency_id>/units/<int:unit_id>/delete": Access(ONLY_COORDINATOR),
    "/agencies/colours.css": Access(EVERYONE, "the login page's stylesheet; colours only"),
    "/sites/": Access(LOGGED_IN),
    "/sites/new": Access(ONLY_COORDINATOR),
    "/sites/<int:site_id>": Access(LOGGED_IN),
    "/sites/<int:site_id>/edit": Access(ONLY_COORDINATOR),
    "/sites/<int:site_id>/closures": Access(ONLY_COORDINATOR),
    "/sites/<int:site_id>/closures/<int:closure_id>/delete": Access(ONLY_COORDINATOR),
    "/resources/": Access(LOGGED_IN),
    "/resources/new": Access(ONLY_COORDINATOR),
    "/resources/<int:resource_id>/edit": Access(ONLY_COORDINATOR),
}

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _rules(app):
    return {rule.rule: rule for rule in app.url_map.iter_rules()}


def test_every_url_rule_has_a_row(app):
    rules = set(_rules(app))
    assert sorted(rules - set(ACCESS)) == [], "new endpoints: add them to ACCESS"
    assert sorted(set(ACCESS) - rules) == [], "endpoints gone: remove their rows"


def test_table_agrees_with_the_role_decorators(app):
    """Where a view declares its roles (office.security.roles_required), the table says the same."""
    for path, rule in _rules(app).items():
        declared = getattr(app.view_functions[rule.endpoint], "allowed_roles", None)
        if declared is not None:
            assert {r.value for r in declared} == ACCESS[path].roles, path


@pytest.fixture
def world(app, create_agency, create_user, create_site, create_resource):
    """One of everything, all in one agency, so role (not object) access is what is tried."""
    agency = create_agency(units=["Enhet A", "Enhet B"])
    users = {role: create_user(role=Role(role), agency=agency) for role in LOGGED_IN}
    target = create_user(agency=agency)
    site = create_site()
    resource = create_resource(site=site)
    closure = Closure(site=site, day=date(2031, 1, 2), reason="Inventering")
    db.session.add(closure)
    token = accounts.create_invitation(target, users[COORDINATOR])
    db.session.commit()
    values = {
        "filename": "css/app.css", "agency_id": agency.id, "unit_id": agency.units[0].id,
        "site_id": site.id, "closure_id": closure.id, "resource_id": resource.id,
        "user_id": target.id, "token": token,
    }
    return users, values


def _url(app, rule, values) -> str:
    with app.test_request_context():
        return url_for(rule.endpoint, **{name: values[name] for name in rule.arguments})


def _sent_to_login(response) -> bool:
    return response.status_code == 302 and response.location.startswith("/login?next=")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", list(ACCESS))
def test_access_follows_the_table(app, client, auth, world, path, role):
    users, values = world
    rule = _rules(app)[path]
    url = _url(app, rule, values)
    if role == ANONYMOUS:
        auth.refresh_token()
    else:
        auth.login(users[role])
    methods = rule.methods - IGNORED_METHODS
    allowed = role in ACCESS[path].roles

    if "GET" in methods:
        response = client.get(url)
        if allowed:
            assert response.status_code in (200, 302), (url, response.status_code)
            assert not _sent_to_login(response), url
        elif role == ANONYMOUS:
            assert _sent_to_login(response), (url, response.status_code)
        else:
            assert response.status_code == 403, (url, response.status_code)
    if "POST" in methods:
        # A valid CSRF token, so it is the access rule (not CSRF) that answers.
        response = auth.post(url)
        if allowed:
            assert response.status_code not in (401, 403) and not _sent_to_login(response), (
                url, response.status_code)
            assert response.status_code < 500, url
        elif role == ANONYMOUS:
            assert _sent_to_login(response), (url, response.status_code)
        else:
            assert response.status_code == 403, (url, response.status_code)
    assert methods <= {"GET", "POST"}, f"{path}: add checks for {methods - {'GET', 'POST'}}"
