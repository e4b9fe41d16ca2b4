"""Hostile query strings and path values on every GET route: never a 500.

tests/test_bad_input.py posts hostile forms; this file opens every GET route of the app
with hostile values in each query parameter its view reads (the others plausible), with a
repeated parameter, with junk parameters the view does not read, and with extreme values
in its path. QUERY names each GET rule's parameters and who opens it; a GET rule without a
row fails `test_every_get_route_has_a_row`, so a new page decides what it reads.

Run on both databases (`make test` does): PostgreSQL refuses NUL bytes and integers beyond
its range where SQLite shrugs, so a value that passes here may still 500 there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest
from flask import url_for

from office.accounts import rules as accounts
from office.accounts.models import Role
from office.core.extensions import db
from office.doorscreens import rules as doorscreens
from office.premises.models import Closure
from tests.conftest import PASSWORD, AuthActions
from tests.feature_world import add_booking_features, add_features, add_floor_plan

ANONYMOUS = "anonymous"
STAFF, ADMIN, COORDINATOR = Role.staff.value, Role.agency_admin.value, Role.coordinator.value

# What breaks parsers: NUL (PostgreSQL refuses it), line breaks (headers), numbers beyond
# every integer type, the calendar's first and last days and weeks, impossible dates.
HOSTILE = [
    "", "\x00", "a\x00b", "\r\nX-Injected: 1", "\u202e😀", "x" * 3000, "-1", "0", "1e309", "2147483648",
    "99999999999999999999999", "0001-01-01", "9999-12-31", "10000-01-01", "2024-02-30", "0001-W01",
    "9999-W53", "2026-W54", "0001-01", "9999-12", "24:00", "//evil.example",
]
JUNK = ["\x00", "\r\nX-Injected: 1", "99999999999999999999999", "x" * 3000]
PATH_INTS = [0, 1, 2**31 - 1]
PATH_YEARS = [1, 1999, 2101, 9999]
PATH_DAYS = ["0001-01-01", "9999-12-31", "2024-02-30", "x", "\x00"]


@dataclass(frozen=True)
class Query:
    role: str
    params: dict[str, str] = field(default_factory=dict)  # name -> a plausible value ("{name}": the world's)
    htmx_targets: tuple[str, ...] = ()  # the parts htmx may ask this view for


def _grid_params():
    return {"site": "{site_id}", "view": "week", "day": "{day}", "kind": "room", "capacity": "2",
            "screen": "1", "video": "1", "accessible": "1"}


QUERY: dict[str, Query] = {
    "/static/<path:filename>": Query(ANONYMOUS),
    "/": Query(ANONYMOUS),
    "/dashboard": Query(STAFF),
    "/administration": Query(COORDINATOR),
    "/account/mail": Query(STAFF),
    "/mail/outbox": Query(COORDINATOR),
    "/healthz": Query(ANONYMOUS),
    "/login": Query(ANONYMOUS, {"next": "/sites/"}),
    "/login/code": Query(ANONYMOUS),
    "/password": Query(STAFF),
    "/invitation/<token>": Query(ANONYMOUS),
    "/account/": Query(STAFF),
    "/account/second-factor": Query(STAFF),
    "/account/second-factor/recovery-codes": Query(STAFF),
    "/account/second-factor/remove": Query(STAFF),
    "/users/": Query(COORDINATOR),
    "/users/invite": Query(ADMIN),
    "/agencies/": Query(STAFF),
    "/agencies/new": Query(COORDINATOR),
    "/agencies/<int:agency_id>/edit": Query(COORDINATOR),
    "/agencies/colours.css": Query(ANONYMOUS),
    "/sites/": Query(STAFF),
    "/sites/new": Query(COORDINATOR),
    "/sites/<int:site_id>": Query(STAFF),
    "/sites/<int:site_id>/edit": Query(COORDINATOR),
    "/resources/": Query(STAFF),
    "/resources/new": Query(COORDINATOR),
    "/resources/<int:resource_id>/edit": Query(COORDINATOR),
    "/allocations/": Query(ADMIN),
    "/allocations/new": Query(COORDINATOR),
    "/allocations/plan": Query(COORDINATOR, {"site": "{site_id}", "week": "2031-W02"}, ("allocation-plan",)),
    "/allocations/plan/cell/<int:resource_id>/<day>": Query(COORDINATOR, {"edit": "1"}),
    "/allocations/<int:allocation_id>/release": Query(ADMIN),
    "/allocations/book": Query(STAFF, {"resource_id": "{resource_id}", "day": "{day}", "start_time": "09:00",
                                       "end_time": "10:00", "title": "Möte"}),
    "/allocations/settings": Query(COORDINATOR),
    "/allocations/utilization": Query(COORDINATOR, {"site_id": "{site_id}", "month": "2031-01",
                                                    "term_id": "{term_id}", "site": "{site_id}"}),
    "/allocations/utilization.csv": Query(COORDINATOR, {"site_id": "{site_id}", "month": "2031-01",
                                                        "term_id": "{term_id}", "site": "{site_id}"}),
    "/meetings/": Query(STAFF),
    "/meetings/series": Query(COORDINATOR),
    "/meetings/series/<int:series_id>": Query(STAFF),
    "/meetings/occurrences/<int:meeting_occurrence_id>": Query(COORDINATOR),
    "/reports/": Query(ADMIN, {"by": "week", "from": "2027-01-01", "to": "2027-06-30"}),
    "/reports/statistics.csv": Query(ADMIN, {"table": "gender", "by": "month", "from": "2027-01-01",
                                             "to": "2027-06-30"}),
    "/reports/half-year": Query(COORDINATOR, {"from": "2027-01-01", "to": "2027-06-30"}),
    "/seminars/": Query(COORDINATOR),
    "/seminars/new": Query(COORDINATOR),
    "/seminars/<int:seminar_id>/edit": Query(COORDINATOR),
    "/seminars/<int:seminar_id>": Query(COORDINATOR),
    "/seminars/<int:seminar_id>/evaluate": Query(STAFF),
    "/seminars/<int:seminar_id>/attendance": Query(COORDINATOR),
    "/seminars/<int:seminar_id>/attendance/<int:day_id>": Query(COORDINATOR),
    "/seminars/<int:seminar_id>/sessions/<int:session_id>/edit": Query(COORDINATOR),
    "/seminars/e/<token>": Query(ANONYMOUS),
    "/seminars/public/link": Query(ANONYMOUS),
    "/seminars/<int:seminar_id>/print": Query(COORDINATOR),
    "/seminars/<int:seminar_id>/report": Query(COORDINATOR),
    "/seminars/<int:seminar_id>/export/<any(registrations, attendance, evaluations):what>.csv": Query(COORDINATOR),
    "/seminars/plan/": Query(COORDINATOR, {"kind": "employer_forum", "agency": "{agency_id}", "show": "tasks", "owner": "g:{series_id}", "status": "open", "term": "spring"}, ("year-plan",)),
    "/seminars/plan/<int:year>": Query(COORDINATOR, {"kind": "employer_forum", "agency": "{agency_id}", "show": "tasks", "owner": "g:{series_id}", "status": "open", "term": "spring"},
                                       ("year-plan",)),
    "/seminars/outbox": Query(COORDINATOR),
    "/seminars/plan/tasks/new": Query(COORDINATOR),
    "/seminars/plan/tasks/<int:task_id>/edit": Query(COORDINATOR),
    "/seminars/tasks/mine": Query(STAFF),
    "/seminars/public/": Query(ANONYMOUS),
    "/seminars/public/<int:seminar_id>": Query(ANONYMOUS),
    "/seminars/r/<token>": Query(ANONYMOUS, {"new": "1"}),
    "/seminars/r/<token>/evaluate": Query(ANONYMOUS),
    "/bookings/": Query(STAFF, _grid_params(), ("booking-grid", "booking-panel")),
    "/bookings/new": Query(STAFF, {"resource": "{resource_id}", "day": "{day}", "start": "09:00", "end": "10:00"},
                           ("booking-panel",)),
    "/bookings/close": Query(STAFF, {}, ("booking-panel",)),
    "/bookings/<int:reservation_id>": Query(STAFF),
    "/bookings/occurrences/<int:occurrence_id>": Query(STAFF, {}, ("booking-panel",)),
    "/bookings/mine": Query(STAFF),
    "/bookings/find": Query(STAFF, {"site": "{site_id}", "kind": "room", "day": "{day}", "whole_day": "y",
                                    "start": "09:00", "end": "10:00", "people": "2", "screen": "y",
                                    "video": "y", "accessible": "y", "title": "Möte"}),
    "/bookings/availability": Query(STAFF, {"resource_id": "{resource_id}", "day": "{day}", "start": "09:00",
                                            "end": "10:00", "attendees": "2", "title": "Möte",
                                            "booked_for_id": "{user_id}", "repeat": "weekly", "interval": "2",
                                            "ends": "until", "count": "3", "until": "{day}"}),
    "/audit/": Query(COORDINATOR, {"action": "created", "actor_id": "{user_id}", "date_from": "2031-01-01",
                                   "date_to": "2031-01-31", "object_id": "1", "page": "2"}),
    "/availability/": Query(STAFF),
    "/trepartssamtal/": Query(STAFF),
    "/trepartssamtal/new": Query(STAFF, {}, ("trepartssamtal-form",)),
    "/trepartssamtal/<int:meeting_id>": Query(STAFF),
    "/trepartssamtal/<int:meeting_id>/reschedule": Query(STAFF),
    "/trepartssamtal/statistics": Query(COORDINATOR, {"by": "week", "from": "2031-01-01", "to": "2031-03-31"}),
    "/trepartssamtal/statistics.csv": Query(COORDINATOR, {"by": "agency", "from": "2031-01-01",
                                                          "to": "2031-03-31"}),
    "/feeds/": Query(STAFF),
    "/feeds/<token>.ics": Query(ANONYMOUS),
    "/feeds/seminars.ics": Query(ANONYMOUS),
    "/feeds/seminars/<int:seminar_id>.ics": Query(ANONYMOUS),
    "/door-screens/": Query(COORDINATOR),
    "/door/<token>": Query(ANONYMOUS, htmx_targets=("door-state",)),
    "/check-in/settings": Query(COORDINATOR),
    "/floor-plans/": Query(STAFF),
    "/floor-plans/new": Query(COORDINATOR),
    "/floor-plans/<int:plan_id>": Query(STAFF, {"day": "{day}", "time": "10:00", "place": "{resource_id}"},
                                        ("floor-plan", "plan-panel")),
    "/floor-plans/<int:plan_id>/image": Query(STAFF, {"v": "x"}),
    "/floor-plans/<int:plan_id>/places": Query(COORDINATOR),
    "/directory": Query(STAFF, {"q": "Åsa kommun"}, ("directory-results",)),
    "/directory/people/<int:user_id>/edit": Query(STAFF),
    "/directory/units/<int:unit_id>/edit": Query(ADMIN),
    "/metrics": Query(ANONYMOUS),
}


def _get_rules(app) -> dict[str, object]:
    return {rule.rule: rule for rule in app.url_map.iter_rules() if "GET" in rule.methods}


def test_every_get_route_has_a_row(app):
    rules = set(_get_rules(app))
    assert sorted(rules - set(QUERY)) == [], "new GET routes: add them to QUERY with the parameters they read"
    assert sorted(set(QUERY) - rules) == [], "GET routes gone: remove their rows"


@pytest.fixture
def world(app, create_agency, create_user, create_site, create_resource):
    """One of everything, in one agency, and the URL values that name it."""
    agency = create_agency(units=["Enhet A"])
    users = {role.value: create_user(role=role, agency=agency) for role in Role}
    target = create_user(agency=agency)
    site = create_site()
    room = create_resource(site=site, name="Konferensrummet")
    desk = create_resource(site=site)
    db.session.add(Closure(site=site, day=date(2031, 1, 2), reason="Inventering"))
    token = accounts.create_invitation(target, users[COORDINATOR])
    db.session.commit()
    features = add_features(agency=agency, coordinator=users[COORDINATOR], desk=desk, room=room,
                            members=[target], registered=list(users.values()))
    partner = create_user(agency=create_agency())
    bookings = add_booking_features(site=site, room=create_resource(site=site, name="Samtalsrum 1"),
                                    booker=users[STAFF], booked_for=target,
                                    participants=[users[STAFF], users[COORDINATOR], partner])
    values = {
        "filename": "css/app.css", "agency_id": agency.id, "unit_id": agency.units[0].id,
        "site_id": site.id, "resource_id": desk.id,
        "user_id": target.id, "token": token, "allocation_id": features.allocation_id,
        "day": features.day.isoformat(), "term_id": features.term.id, "series_id": features.series_id,
        "meeting_occurrence_id": features.meeting_occurrence_id,
        "seminar_id": features.seminar_id, "what": "registrations", "year": features.day.year,
        "task_id": features.task_id,
        "reservation_id": bookings.reservation_id, "occurrence_id": bookings.occurrence_id,
        "meeting_id": bookings.meeting_id, "day_id": features.day_id, "session_id": features.session_id,
    }
    _screen, door_token = doorscreens.create_screen(room, "Dörr", False, users[COORDINATOR])
    values["plan_id"] = add_floor_plan(site, [room, desk], users[COORDINATOR]).id
    db.session.commit()
    secrets = {"/seminars/": features.guest_token, "/feeds/": bookings.feed_token, "/door/": door_token}
    return users, values, secrets


def _client(app, users, role):
    client = app.test_client()
    if role != ANONYMOUS:
        assert AuthActions(client).login(users[role]).status_code == 302
    return client


def _path(app, rule, values, secrets, **changes) -> str:
    arguments = {name: values[name] for name in rule.arguments if name in values}
    if "token" in rule.arguments:
        arguments["token"] = next((s for prefix, s in secrets.items() if rule.rule.startswith(prefix)),
                                  values["token"])
    arguments.update(changes)
    with app.test_request_context():
        return url_for(rule.endpoint, **arguments)


def _plausible(query: Query, values) -> dict[str, str]:
    return {name: str(values[value[1:-1]]) if value.startswith("{") else value
            for name, value in query.params.items()}


def _check(client, path, query_string, headers=None):
    response = client.get(path, query_string=query_string, headers=headers or {})
    assert response.status_code < 500, (path, query_string, response.status_code)
    return response


@pytest.mark.parametrize("rule_text", list(QUERY))
def test_hostile_query_strings_never_break_a_page(app, world, rule_text):
    users, values, secrets = world
    query = QUERY[rule_text]
    rule = _get_rules(app)[rule_text]
    client = _client(app, users, query.role)
    path = _path(app, rule, values, secrets)
    plausible = _plausible(query, values)
    _check(client, path, plausible)
    headers = [{}] + [{"HX-Request": "true", "HX-Target": target, "HX-Current-URL": f"http://localhost{path}?x=\x00"}
                      for target in query.htmx_targets]
    for name in plausible:
        for n, value in enumerate(HOSTILE):
            _check(client, path, {**plausible, name: value}, headers[n % len(headers)])
        _check(client, path, [(name, "\x00"), (name, plausible[name])] +
               [(k, v) for k, v in plausible.items() if k != name])  # parameter pollution
    for value in JUNK:  # parameters the view does not read must be ignored
        _check(client, path, {**plausible, "id": value, "next": value, value[:20]: value})


@pytest.mark.parametrize("rule_text", [r for r in QUERY if "<" in r and "<path:" not in r])
def test_extreme_path_values_never_break_a_page(app, world, rule_text):
    users, values, secrets = world
    query = QUERY[rule_text]
    rule = _get_rules(app)[rule_text]
    client = _client(app, users, query.role)
    for name, converter in rule._converters.items():
        kind = type(converter).__name__
        if name == "year":
            tries = PATH_YEARS
        elif kind == "DatabaseIdConverter":
            tries = PATH_INTS
        elif name == "day":
            tries = PATH_DAYS
        elif name == "token":
            tries = ["x", "x" * 500, "\x00", "%00"]
        else:
            continue
        for value in tries:
            _check(client, _path(app, rule, values, secrets, **{name: value}), _plausible(query, values))


# --- the inputs the attack report (issue 15) found answering 500 -----------------------------

def test_cr_lf_in_next_after_a_right_password_goes_to_the_dashboard(client, auth, create_user):
    user = create_user()
    token = auth.refresh_token()
    response = client.post("/login", query_string={"next": "/sites/\r\nSet-Cookie: evil=1"},
                           data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and response.location == "/dashboard"


def test_an_absence_in_the_spring_forward_hour_is_refused_with_a_message(auth, create_user):
    auth.login(create_user())
    response = auth.post("/availability/absences", {"kind": "leave", "starts": "2031-03-30T02:45",
                                                    "ends": "2031-03-30T03:00"})
    assert response.status_code == 422
    assert "klockan ställs fram" in response.get_data(as_text=True)


def test_a_registration_deadline_in_year_9999_is_refused(auth, create_user):
    auth.login(create_user(role=Role.coordinator))
    response = auth.post("/seminars/new", {"title": "Forum", "kind": "employer_forum", "audience": "public",
                                           "venue_kind": "external", "external_address": "Folkets hus",
                                           "capacity": "30", "registration_deadline": "9999-12-31"})
    assert response.status_code == 422 and "Ange ett datum mellan 2000 och 2100" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/allocations/plan?week=0001-W01", "/allocations/plan?week=9999-W52",
                                  "/audit/?page=99999999999999999999", "/audit/?page=9223372036854775807",
                                  "/audit/?object_id=99999999999999"])
def test_the_weeks_and_pages_the_report_named(auth, create_user, create_site, path):
    create_site()
    auth.login(create_user(role=Role.coordinator))
    assert auth.client.get(path).status_code == 200
