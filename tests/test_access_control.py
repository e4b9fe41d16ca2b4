"""Who may open what: every URL rule of the app, with the roles allowed, as data.

ACCESS below is the one table to keep current. A new endpoint without a row fails
`test_every_url_rule_has_a_row` (and a row for a removed endpoint fails it too), so a
new feature decides its access on purpose. Each row is then tried as every role:
allowed roles get through; others are sent to the login page (anonymous) or get 403.

Access to *objects* (agency A's staff may not touch agency B's) is checked where those
objects live (tests/test_users.py, tests/test_object_access.py).

Rows for objects only their owners may use (a booking, a trepartssamtal, a feed link) list
every role that may own one; the world makes the roles' users the owners, and
tests/test_object_access.py checks that nobody else gets through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from flask import url_for

from office.accounts import rules as accounts
from office.accounts.models import Role
from office.core.extensions import db
from office.doorscreens import rules as doorscreens
from office.premises.models import Closure
from tests.conftest import AuthActions, shared_world
from tests.feature_world import add_booking_features, add_features, add_floor_plan

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
    # URL values taken from other entries of the world than the argument's own name (a
    # name the rule does not have becomes a query parameter), e.g. {"token": "guest_token"}.
    values: tuple[tuple[str, str], ...] = ()
    # What refused roles get when it is not the usual (login page for anonymous, else 403):
    # e.g. 404 for an endpoint that must not even be seen to exist.
    refused_with: int | None = None


# rule -> who may use it. Keep one row per rule, in the order of the blueprints.
ACCESS: dict[str, Access] = {
    "/static/<path:filename>": Access(EVERYONE, "CSS and JS, also for the login page"),
    # home
    "/": Access(EVERYONE, "sends you to the dashboard or to the login page"),
    "/dashboard": Access(LOGGED_IN),
    "/administration": Access(ADMINS, "the pages of a role; staff have none"),
    "/healthz": Access(EVERYONE, "for the load balancer; says only ok/unavailable"),
    # auth
    "/login": Access(EVERYONE),
    "/logout": Access(LOGGED_IN),
    "/password": Access(LOGGED_IN),
    "/account/mail": Access(LOGGED_IN),
    "/invitation/<token>": Access(EVERYONE, "the secret token is the credential"),
    "/language": Access(EVERYONE, "the login page has the switch too"),
    "/login/code": Access(EVERYONE, "only after the right password; otherwise back to the login page"),
    # account
    "/account/": Access(LOGGED_IN, "your own account"),
    "/account/logout-everywhere": Access(LOGGED_IN, "your own sessions"),
    "/account/second-factor": Access(LOGGED_IN, "your own second factor"),
    "/account/second-factor/recovery-codes": Access(LOGGED_IN, "your own; asks for your password"),
    "/account/second-factor/remove": Access(LOGGED_IN, "your own; asks for your password"),
    # users
    "/users/": Access(ADMINS, "agency admins see their own agency only"),
    "/users/invite": Access(ADMINS),
    "/users/<int:user_id>/invitation": Access(ADMINS),
    "/users/<int:user_id>/deactivate": Access(ADMINS),
    "/users/<int:user_id>/activate": Access(ADMINS),
    "/users/<int:user_id>/second-factor/reset": Access(ADMINS, "own agency's staff (tests/test_second_factor.py)"),
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
    # allocations (the plan is the shared picture of the premises: every agency sees it)
    "/allocations/": Access(LOGGED_IN, "release links only where the user may release"),
    "/allocations/new": Access(ONLY_COORDINATOR),
    "/allocations/<int:allocation_id>/delete": Access(ONLY_COORDINATOR),
    "/allocations/plan": Access(LOGGED_IN),
    "/allocations/plan/cell/<int:resource_id>/<day>": Access(ONLY_COORDINATOR),
    "/allocations/plan/copy": Access(ONLY_COORDINATOR),
    "/allocations/<int:allocation_id>/release": Access(
        ADMINS, "the agency's admins; its staff too when the agency allows it (ownership: "
        "tests/test_object_access.py)"),
    "/allocations/book": Access(LOGGED_IN, "the booking rules decide inside allocations",
                                values=(("resource_id", "resource_id"),)),
    "/allocations/settings": Access(ADMINS, "agency admins see their own agency's switch only"),
    "/allocations/settings/policy/<int:site_id>": Access(ONLY_COORDINATOR),
    "/allocations/settings/agency/<int:agency_id>": Access(ADMINS, "own agency only"),
    "/allocations/settings/resource/<int:resource_id>": Access(ONLY_COORDINATOR),
    "/allocations/settings/terms": Access(ONLY_COORDINATOR),
    "/allocations/settings/terms/<int:term_id>": Access(ONLY_COORDINATOR),
    "/allocations/utilization": Access(ADMINS),
    "/allocations/utilization.csv": Access(ADMINS),
    # meetings
    "/meetings/": Access(LOGGED_IN, "your own meetings"),
    "/meetings/series": Access(ONLY_COORDINATOR),
    "/meetings/series/<int:series_id>": Access(LOGGED_IN, "the meeting structure is shared"),
    "/meetings/series/<int:series_id>/feed": Access(
        ONLY_COORDINATOR, "members and the coordinator; the world's member has no role of its own "
        "(members: tests/test_feed_sources.py)"),
    "/meetings/series/<int:series_id>/members": Access(ONLY_COORDINATOR),
    "/meetings/series/<int:series_id>/members/<int:member_id>/delete": Access(ONLY_COORDINATOR),
    "/meetings/series/<int:series_id>/settings": Access(ONLY_COORDINATOR),
    # one meeting: members, its staff guests, the chair and the coordinator (the world's member
    # has no role of its own; members, the chair and shared minutes: tests/test_meeting_work.py)
    "/meetings/occurrences/<int:meeting_occurrence_id>": Access(ONLY_COORDINATOR, "members too"),
    "/meetings/occurrences/<int:meeting_occurrence_id>/items": Access(ONLY_COORDINATOR, "members propose"),
    "/meetings/occurrences/<int:meeting_occurrence_id>/items/<int:item_id>/accept": Access(ONLY_COORDINATOR),
    "/meetings/occurrences/<int:meeting_occurrence_id>/items/<int:item_id>/delete": Access(ONLY_COORDINATOR),
    "/meetings/occurrences/<int:meeting_occurrence_id>/notice": Access(ONLY_COORDINATOR, "and the chair"),
    "/meetings/occurrences/<int:meeting_occurrence_id>/minutes": Access(ONLY_COORDINATOR, "and the chair"),
    "/meetings/occurrences/<int:meeting_occurrence_id>/actions": Access(ONLY_COORDINATOR, "and the chair"),
    "/meetings/occurrences/<int:meeting_occurrence_id>/actions/<int:action_id>/done": Access(
        ONLY_COORDINATOR, "the chair and the action's owner too"),
    "/meetings/occurrences/<int:meeting_occurrence_id>/approve": Access(ONLY_COORDINATOR, "and the chair"),
    "/meetings/occurrences/<int:meeting_occurrence_id>/cases": Access(
        ONLY_COORDINATOR, "members too; 404 where the group counts no cases (tests/test_reports.py)"),
    "/meetings/occurrences/<int:meeting_occurrence_id>/guests": Access(ONLY_COORDINATOR, "and the chair"),
    "/meetings/occurrences/<int:meeting_occurrence_id>/guests/<int:guest_id>/delete": Access(
        ONLY_COORDINATOR, "and the chair"),
    # reports: counts only, small ones suppressed
    "/reports/": Access(ADMINS, "counts only, no personal data"),
    "/reports/statistics.csv": Access(ADMINS, "counts only, no personal data"),
    "/reports/half-year": Access(ADMINS, "counts only, no personal data"),
    # seminars
    "/seminars/": Access(LOGGED_IN, "drafts only for the coordinator"),
    "/seminars/new": Access(ONLY_COORDINATOR),
    "/seminars/<int:seminar_id>/edit": Access(ONLY_COORDINATOR),
    "/seminars/<int:seminar_id>": Access(LOGGED_IN, "registrations listed only for the coordinator"),
    "/seminars/<int:seminar_id>/days": Access(ONLY_COORDINATOR),
    "/seminars/<int:seminar_id>/days/<int:day_id>/delete": Access(ONLY_COORDINATOR),
    "/seminars/<int:seminar_id>/days/<int:day_id>/sessions": Access(ONLY_COORDINATOR),
    "/seminars/<int:seminar_id>/sessions/<int:session_id>/delete": Access(ONLY_COORDINATOR),
    "/seminars/<int:seminar_id>/sessions/<int:session_id>/edit": Access(ONLY_COORDINATOR),
    "/seminars/<int:seminar_id>/sessions/<int:session_id>/<any('sign-up', leave):action>": Access(
        LOGGED_IN, "the user's own registration", values=(("action", "session_action"),)),
    "/seminars/<int:seminar_id>/<any(publish, cancel, finish):action>": Access(ONLY_COORDINATOR),
    "/seminars/<int:seminar_id>/capacity": Access(ONLY_COORDINATOR),
    "/seminars/<int:seminar_id>/register": Access(LOGGED_IN, "registers the user, nobody else"),
    "/seminars/<int:seminar_id>/unregister": Access(LOGGED_IN, "the user's own registration"),
    "/seminars/<int:seminar_id>/evaluate": Access(LOGGED_IN, "the user's own registration"),
    "/seminars/<int:seminar_id>/attendance": Access(ONLY_COORDINATOR),
    "/seminars/<int:seminar_id>/attendance/<int:day_id>": Access(ONLY_COORDINATOR),
    "/seminars/<int:seminar_id>/days/<int:day_id>/registrations/<int:registration_id>/check-in": Access(
        ONLY_COORDINATOR),
    "/seminars/<int:seminar_id>/print": Access(ONLY_COORDINATOR),
    "/seminars/<int:seminar_id>/report": Access(ONLY_COORDINATOR),
    "/seminars/<int:seminar_id>/export/<any(registrations, attendance, evaluations):what>.csv": Access(
        ONLY_COORDINATOR),
    "/seminars/plan/": Access(ONLY_COORDINATOR),
    "/seminars/plan/<int:year>": Access(ONLY_COORDINATOR),
    "/seminars/plan/<int:year>/copy": Access(ONLY_COORDINATOR),
    "/seminars/plan/feed": Access(ONLY_COORDINATOR, "a secret link to the whole yearly plan"),
    "/seminars/plan/tasks/new": Access(ONLY_COORDINATOR),
    "/seminars/plan/tasks/<int:task_id>/edit": Access(ONLY_COORDINATOR),
    "/seminars/plan/tasks/<int:task_id>/delete": Access(ONLY_COORDINATOR),
    "/seminars/plan/tasks/<int:task_id>/done": Access(
        LOGGED_IN, "the task's owners (the person or the group's members) and the coordinator; 404 for others"),
    "/seminars/tasks/mine": Access(LOGGED_IN, "the user's own tasks and their groups'"),
    "/seminars/outbox": Access(ONLY_COORDINATOR, "moved: redirects to /mail/outbox"),
    "/seminars/public/": Access(EVERYONE, "published public seminars only"),
    "/seminars/public/<int:seminar_id>": Access(EVERYONE, "404 unless public and published"),
    "/seminars/public/link": Access(EVERYONE, "the same answer for any address; rate-limited"),
    "/seminars/r/<token>": Access(EVERYONE, "the secret link is the credential",
                                  values=(("token", "guest_token"),)),
    "/seminars/r/<token>/cancel": Access(EVERYONE, "the secret link is the credential",
                                         values=(("token", "guest_token"),)),
    "/seminars/r/<token>/evaluate": Access(EVERYONE, "the secret link is the credential",
                                           values=(("token", "guest_token"),)),
    "/seminars/r/<token>/sessions/<int:session_id>/<any('sign-up', leave):action>": Access(
        EVERYONE, "the secret link is the credential",
        values=(("token", "guest_token"), ("action", "session_action"))),
    "/seminars/e/<token>": Access(EVERYONE, "the link in the evaluation mail is the credential",
                                  values=(("token", "evaluation_token"),)),
    # bookings (the grid is the shared picture; one booking is its booker's, the person's it
    # is booked for and the coordinator's: 404 for anyone else)
    "/bookings/": Access(LOGGED_IN, "titles of other agencies' bookings are not shown"),
    "/bookings/new": Access(LOGGED_IN, "the booking rules decide what may be booked"),
    "/bookings/close": Access(LOGGED_IN),
    "/bookings/<int:reservation_id>": Access(LOGGED_IN, "those who may manage the booking"),
    "/bookings/occurrences/<int:occurrence_id>": Access(LOGGED_IN, "those who may manage it"),
    "/bookings/occurrences/<int:occurrence_id>/change": Access(LOGGED_IN, "those who may manage it"),
    "/bookings/occurrences/<int:occurrence_id>/cancel": Access(LOGGED_IN, "those who may manage it"),
    "/bookings/mine": Access(LOGGED_IN, "your own bookings"),
    "/bookings/find": Access(LOGGED_IN, "what is free for you: the booking rules decide"),
    "/bookings/availability": Access(LOGGED_IN, "whether a time is free for you (the booking form)"),
    "/audit/": Access(ONLY_COORDINATOR),
    # mail (office/core): the outbox of every feature's mail
    "/mail/outbox": Access(ONLY_COORDINATOR),
    "/mail/outbox/<int:mail_id>/retry": Access(ONLY_COORDINATOR),
    # availability and trepartssamtal (a meeting: its participants only, 404 for others)
    "/availability/": Access(LOGGED_IN, "your own working hours"),
    "/availability/absences": Access(LOGGED_IN, "your own absences"),
    "/availability/absences/<int:absence_id>/delete": Access(LOGGED_IN, "your own absence only"),
    "/trepartssamtal/": Access(LOGGED_IN, "the meetings you take part in"),
    "/trepartssamtal/new": Access(LOGGED_IN, "the booker must take part"),
    "/trepartssamtal/<int:meeting_id>": Access(LOGGED_IN, "participants only"),
    "/trepartssamtal/<int:meeting_id>/cancel": Access(LOGGED_IN, "participants only"),
    "/trepartssamtal/<int:meeting_id>/outcome": Access(LOGGED_IN, "participants only"),
    "/trepartssamtal/<int:meeting_id>/reschedule": Access(LOGGED_IN, "participants only"),
    "/trepartssamtal/statistics": Access(ADMINS, "counts only, no personal data"),
    "/trepartssamtal/statistics.csv": Access(ADMINS, "counts only, no personal data"),
    # calendar feeds
    "/feeds/": Access(LOGGED_IN, "your own feed links; agency feeds of your own agency"),
    "/feeds/<int:token_id>/regenerate": Access(LOGGED_IN, "your own link only"),
    "/feeds/<int:token_id>/revoke": Access(LOGGED_IN, "your own link only"),
    "/feeds/<token>.ics": Access(EVERYONE, "the secret link is the credential",
                                 values=(("token", "feed_token"),)),
    "/feeds/seminars.ics": Access(EVERYONE, "published public seminars only"),
    # The world's seminar is published and public: anyone may add it to a calendar (drafts
    # are 404, internal seminars need a login: tests/test_feed_sources.py).
    "/feeds/seminars/<int:seminar_id>.ics": Access(EVERYONE, "a published public seminar"),
    # door screens
    "/door-screens/": Access(ONLY_COORDINATOR, "device links open a room's bookings to a tablet"),
    "/door-screens/<int:screen_id>/revoke": Access(ONLY_COORDINATOR),
    "/door/<token>": Access(EVERYONE, "the device link is the credential",
                            values=(("token", "door_token"),)),
    "/door/<token>/book": Access(EVERYONE, "the device link is the credential",
                                 values=(("token", "door_token"),)),
    "/door/<token>/check-in": Access(EVERYONE, "the device link is the credential",
                                     values=(("token", "door_token"),)),
    # check-in
    "/check-in/settings": Access(ONLY_COORDINATOR),
    "/check-in/occurrences/<int:occurrence_id>": Access(LOGGED_IN, "the booking's people and the coordinator"),
    # floor plans (like the grid, every logged-in person sees the plans and books from them)
    "/floor-plans/": Access(LOGGED_IN),
    "/floor-plans/new": Access(ONLY_COORDINATOR),
    "/floor-plans/<int:plan_id>": Access(LOGGED_IN),
    "/floor-plans/<int:plan_id>/book": Access(LOGGED_IN, "the booking rules decide"),
    "/floor-plans/<int:plan_id>/image": Access(LOGGED_IN, "the layout of the premises is not public"),
    "/floor-plans/<int:plan_id>/places": Access(ONLY_COORDINATOR),
    "/floor-plans/<int:plan_id>/places/<int:resource_id>": Access(ONLY_COORDINATOR),
    "/floor-plans/<int:plan_id>/replace": Access(ONLY_COORDINATOR),
    "/floor-plans/<int:plan_id>/delete": Access(ONLY_COORDINATOR),
    # who does what: the directory (staff only; never public)
    "/directory": Access(LOGGED_IN, "names and contact details of staff: logged-in only"),
    "/directory/people/<int:user_id>/edit": Access(
        ADMINS, "the person themselves (tests/test_directory.py), their agency's admin, the coordinator"),
    "/directory/units/<int:unit_id>/edit": Access(ADMINS, "their own agency's units (tests/test_directory.py)"),
    # operations
    "/metrics": Access(frozenset(), "only a scraper with the bearer token (tests/test_observability.py)",
                       refused_with=404),
}

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _rules(app) -> dict[str, list]:
    """Rule text -> its rules (GET and POST of one path may be two views)."""
    found: dict[str, list] = {}
    for rule in app.url_map.iter_rules():
        found.setdefault(rule.rule, []).append(rule)
    return found


def test_every_url_rule_has_a_row(app):
    rules = set(_rules(app))
    assert sorted(rules - set(ACCESS)) == [], "new endpoints: add them to ACCESS"
    assert sorted(set(ACCESS) - rules) == [], "endpoints gone: remove their rows"


def test_table_agrees_with_the_role_decorators(app):
    """Where a view declares its roles (office.core.security.roles_required), the table says the same."""
    for path, rules in _rules(app).items():
        for rule in rules:
            declared = getattr(app.view_functions[rule.endpoint], "allowed_roles", None)
            if declared is not None:
                assert {r.value for r in declared} == ACCESS[path].roles, path


@pytest.fixture
def world(app, create_agency, create_user, create_site, create_resource):
    """One of everything, all in one agency, so role (not object) access is what is tried.

    Built once per worker; each test gets the same rows back (conftest.shared_world)."""
    return shared_world(__name__, lambda: _build_world(create_agency, create_user, create_site,
                                                       create_resource))


def _build_world(create_agency, create_user, create_site, create_resource):
    agency = create_agency(units=["Enhet A", "Enhet B"])
    users = {role: create_user(role=Role(role), agency=agency) for role in LOGGED_IN}
    target = create_user(agency=agency)
    site = create_site()
    resource = create_resource(site=site)
    room = create_resource(site=site, name="Konferensrummet")
    closure = Closure(site=site, day=date(2031, 1, 2), reason="Inventering")
    db.session.add(closure)
    token = accounts.create_invitation(target, users[COORDINATOR])
    db.session.commit()
    features = add_features(agency=agency, coordinator=users[COORDINATOR], desk=resource, room=room,
                            members=[target], registered=list(users.values()))
    # A trepartssamtal needs a second agency: its case worker joins the roles' users.
    partner = create_user(agency=create_agency())
    bookings = add_booking_features(site=site, room=room, booker=users[STAFF], booked_for=users[ADMIN],
                                    participants=[users[STAFF], users[ADMIN], users[COORDINATOR], partner])
    screen, door_token = doorscreens.create_screen(room, "Dörr", False, users[COORDINATOR])
    plan = add_floor_plan(site, [resource, room], users[COORDINATOR])
    db.session.commit()
    values = {
        "screen_id": screen.id, "door_token": door_token, "plan_id": plan.id,
        "filename": "css/app.css", "agency_id": agency.id, "unit_id": agency.units[0].id,
        "site_id": site.id, "closure_id": closure.id, "resource_id": resource.id,
        "user_id": target.id, "token": token,
        "allocation_id": features.allocation_id, "day": features.day.isoformat(),
        "term_id": features.term.id, "series_id": features.series_id,
        "member_id": features.member_id, "seminar_id": features.seminar_id,
        "meeting_occurrence_id": features.meeting_occurrence_id, "item_id": features.item_id,
        "action_id": features.action_id, "guest_id": features.guest_id, "task_id": features.task_id,
        "day_id": features.day_id, "session_id": features.session_id, "action": "publish",
        "registration_id": features.guest_registration_id, "what": "registrations",
        "year": features.day.year, "mail_id": features.mail_id,
        "guest_token": features.guest_token, "session_action": "sign-up",
        "evaluation_token": _evaluation_token(features.guest_registration_id),
        "reservation_id": bookings.reservation_id, "occurrence_id": bookings.occurrence_id,
        "meeting_id": bookings.meeting_id, "token_id": bookings.feed_token_id,
        "feed_token": bookings.feed_token, "absence_id": bookings.absence_id,
    }
    return {role: user.email for role, user in users.items()}, values


def _evaluation_token(registration_id: int) -> str:
    """The link of the evaluation mail for a registration (as queue_evaluation_requests makes it)."""
    from seminars.models import Registration
    from seminars.registration import new_token

    token, db.session.get(Registration, registration_id).evaluation_token_hash = new_token()
    db.session.commit()
    return token


def _url(app, rule, values) -> str:
    arguments = {name: values[name] for name in rule.arguments}
    arguments.update({name: values[key] for name, key in ACCESS[rule.rule].values})
    with app.test_request_context():
        return url_for(rule.endpoint, **arguments)


def _sent_to_login(response) -> bool:
    return response.status_code == 302 and response.location.startswith("/login?next=")


@pytest.mark.parametrize("path", list(ACCESS))
def test_access_follows_the_table(app, world, path):
    """Each rule tried as every role in turn (one world per rule keeps the suite fast);
    roles that are refused come first, so what the allowed ones change cannot mislead."""
    users, values = world
    rules = _rules(app)[path]
    url = _url(app, rules[0], values)
    methods = set().union(*(rule.methods for rule in rules)) - IGNORED_METHODS
    assert methods <= {"GET", "POST"}, f"{path}: add checks for {methods - {'GET', 'POST'}}"
    allowed_roles = ACCESS[path].roles
    for role in sorted(ROLES, key=lambda r: (r in allowed_roles, ROLES.index(r))):
        _try_as(app, users, url, methods, role, allowed=role in allowed_roles,
                refused_with=ACCESS[path].refused_with)


def _try_as(app, users, url, methods, role, allowed, refused_with=None) -> None:
    client = app.test_client()
    auth = AuthActions(client)
    if role == ANONYMOUS:
        auth.refresh_token()
    else:
        auth.login(users[role])
    if "GET" in methods:
        response = client.get(url)
        if allowed:
            assert response.status_code in (200, 302), (url, role, response.status_code)
            assert not _sent_to_login(response), (url, role)
        elif refused_with is not None:
            assert response.status_code == refused_with, (url, role, response.status_code)
        elif role == ANONYMOUS:
            assert _sent_to_login(response), (url, role, response.status_code)
        else:
            assert response.status_code == 403, (url, role, response.status_code)
    if "POST" in methods:
        # A valid CSRF token, so it is the access rule (not CSRF) that answers.
        response = auth.post(url)
        if allowed:
            assert response.status_code not in (401, 403) and not _sent_to_login(response), (
                url, role, response.status_code)
            assert response.status_code < 500, (url, role)
        elif refused_with is not None:
            assert response.status_code == refused_with, (url, role, response.status_code)
        elif role == ANONYMOUS:
            assert _sent_to_login(response), (url, role, response.status_code)
        else:
            assert response.status_code == 403, (url, role, response.status_code)
