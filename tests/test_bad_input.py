"""Hostile and random input to every form endpoint: never a 500, and a refusal saves nothing.

FORMS lists each POST endpoint with the role that may use it and plausible values for its
fields; hypothesis mixes those with hostile ones (over-long and control characters,
dates in year 1 and 9999, inverted opening hours, foreign and huge ids, markup, unicode,
repeated parameters). A POST endpoint without a row fails `test_every_form_endpoint_is_fuzzed`.

After each request: the status is below 500, and when it is a refusal (4xx) every table
holds exactly what it held before (apart from columns the refusal is meant to change,
e.g. the failed-login counter).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date

import pytest
import sqlalchemy as sa
from flask import url_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from office import accounts
from office.extensions import db
from office.models import Closure, Role, User
from tests.conftest import PASSWORD, AuthActions

ANONYMOUS = "anonymous"
# `make test` runs a few fixed examples per endpoint (seconds, never flaky); a deeper,
# random search: SAMLOKAL_FUZZ_EXAMPLES=500 pytest tests/test_bad_input.py
DEEP = bool(os.environ.get("SAMLOKAL_FUZZ_EXAMPLES"))
EXAMPLES = int(os.environ.get("SAMLOKAL_FUZZ_EXAMPLES") or 12)
HUGE_IDS = [0, 999_999, 2**31 - 1, 2**31, 2**63, 10**30]

HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),  # any unicode, control characters included
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=10),
    st.sampled_from([
        "", " ", "\x00", "a\x00b", "\r\n", "\u202e\u2066evil", "\ufeff", "😀" * 60, "e\u0301" * 50,
        "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "' OR 1=1 --",
        "{{ 7*7 }}", "%(name)s", "%s%s%s", "../../etc/passwd", "null", "None", "true",
        "-1", "0", "1e309", "NaN", "2147483648", "99999999999999999999999",
        "0001-01-01", "9999-12-31", "0000-00-00", "2024-02-30", "10000-01-01", "-0001-01-01",
        "24:00", "23:59:60", "00:00", "25:61", "12:00:00.000001", "#ffffff", "#GGGGGG",
    ]),
    st.integers(min_value=121, max_value=6000).map(lambda n: "x" * n),  # over every limit
    st.integers().map(str),
    st.dates().map(date.isoformat),  # year 1 to 9999
    st.times().map(lambda t: t.isoformat()),
)



@dataclass(frozen=True)
class Form:
    rule: str
    roles: tuple[str, ...]
    fields: dict[str, st.SearchStrategy] = field(default_factory=dict)
    # "table.column" a refusal may change on purpose (a failed login is counted).
    refusal_may_change: frozenset[str] = frozenset()


def _weekday_hours():
    hours = {}
    for weekday in range(7):
        hours[f"opens_{weekday}"] = st.sampled_from(["08:00", "17:00", ""])
        hours[f"closes_{weekday}"] = st.sampled_from(["17:00", "08:00", ""])  # may be inverted
    return hours


EMAILS = st.sampled_from(["staff@example.org", "new.person@example.org", "ADMIN@EXAMPLE.ORG", "a@b"])
NAMES = st.sampled_from(["Samtalsrum 9", "Arbetsförmedlingen", "Å", "Konferensrummet"])
BOOLEANS = st.sampled_from(["y", "n", "on", ""])

FORMS = [
    Form("/login", (ANONYMOUS,), {"email": EMAILS, "password": st.just(PASSWORD), "remember": BOOLEANS},
         frozenset({"user_account.failed_logins", "user_account.locked_until"})),
    Form("/language", (ANONYMOUS, Role.staff.value),
         {"language": st.sampled_from(["sv", "en"]), "next": st.sampled_from(["/sites/", "//evil"])}),
    Form("/logout", (Role.staff.value,)),
    Form("/password", (Role.staff.value,),
         {"current": st.just("not the password"), "password": st.just("a long new password"),
          "confirm": st.just("a long new password")}),
    Form("/invitation/<token>", (ANONYMOUS,),
         {"password": st.just("a long new password"), "confirm": st.just("another long one")}),
    Form("/users/invite", (Role.coordinator.value, Role.agency_admin.value),
         {"name": NAMES, "email": EMAILS, "title": NAMES, "agency_id": st.just("{agency_id}"),
          "unit_id": st.just("{unit_id}"), "role": st.sampled_from(["staff", "agency_admin", "coordinator", "root"])}),
    Form("/users/<int:user_id>/invitation", (Role.coordinator.value, Role.agency_admin.value)),
    Form("/users/<int:user_id>/deactivate", (Role.coordinator.value, Role.agency_admin.value)),
    Form("/users/<int:user_id>/activate", (Role.coordinator.value, Role.agency_admin.value)),
    Form("/agencies/new", (Role.coordinator.value,),
         {"name": NAMES, "short_name": st.sampled_from(["AF", "FK", "X" * 21]),
          "colour": st.sampled_from(["#1f5f8b", "#fff", "red"])}),
    Form("/agencies/<int:agency_id>/edit", (Role.coordinator.value,),
         {"name": NAMES, "short_name": st.sampled_from(["AF", "FK"]), "colour": st.just("#1f5f8b")}),
    Form("/agencies/<int:agency_id>/units", (Role.coordinator.value,), {"name": NAMES}),
    Form("/agencies/<int:agency_id>/units/<int:unit_id>/delete", (Role.coordinator.value,)),
    Form("/sites/new", (Role.coordinator.value,), {"name": NAMES, "address": NAMES, **_weekday_hours()}),
    Form("/sites/<int:site_id>/edit", (Role.coordinator.value,),
         {"name": NAMES, "address": NAMES, **_weekday_hours()}),
    Form("/sites/<int:site_id>/closures", (Role.coordinator.value,),
         {"day": st.dates().map(date.isoformat), "reason": NAMES}),
    Form("/sites/<int:site_id>/closures/<int:closure_id>/delete", (Role.coordinator.value,)),
    Form("/resources/new", (Role.coordinator.value,),
         {"name": NAMES, "site_id": st.just("{site_id}"), "kind": st.sampled_from(["room", "desk", "cell"]),
          "description": NAMES, "capacity": st.sampled_from(["1", "0", "1000", "1001", "-5"]),
          "is_conversation_room": BOOLEANS, "has_screen": BOOLEANS, "has_video": BOOLEANS,
          "accessible": BOOLEANS, "active": BOOLEANS}),
    Form("/resources/<int:resource_id>/edit", (Role.coordinator.value,),
         {"name": NAMES, "site_id": st.just("{site_id}"), "kind": st.just("desk"),
          "capacity": st.sampled_from(["2", "0"])}),
]
FORMS_BY_RULE = {form.rule: form for form in FORMS}


def test_every_form_endpoint_is_fuzzed(app):
    posts = {rule.rule for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    assert sorted(posts - set(FORMS_BY_RULE)) == [], "add the new form endpoints to FORMS"
    assert sorted(set(FORMS_BY_RULE) - posts) == []


@pytest.fixture
def world(app, create_agency, create_user, create_site, create_resource):
    """Two agencies (ours and a foreign one) with staff, a site with a closure, a room."""
    ours = create_agency(units=["Enhet A"])
    foreign = create_agency(units=["Enhet B"])
    actors = {role.value: create_user(role=role, agency=ours) for role in Role}
    colleague = create_user(agency=ours)
    stranger = create_user(agency=foreign)
    site = create_site()
    room = create_resource(site=site)
    closure = Closure(site=site, day=date(2031, 1, 2), reason="Inventering")
    db.session.add(closure)
    token = accounts.create_invitation(colleague, actors[Role.coordinator.value])
    db.session.commit()
    ids = {
        "agency_id": [ours.id, foreign.id], "unit_id": [ours.units[0].id, foreign.units[0].id],
        "user_id": [colleague.id, stranger.id, actors[Role.agency_admin.value].id],
        "site_id": [site.id], "closure_id": [closure.id], "resource_id": [room.id],
    }
    actor_ids = {role: user.id for role, user in actors.items()}
    return {"ids": ids, "token": token, "actors": actor_ids,
            "password_hash": actors[Role.staff.value].password_hash}


def _restore_actors(world) -> None:
    """Undo what an accepted example did to the acting users, so the next one can log in."""
    db.session.execute(
        sa.update(User).where(User.id.in_(world["actors"].values())).values(
            active=True, failed_logins=0, locked_until=None, password_hash=world["password_hash"])
    )
    db.session.commit()


def _snapshot(ignored: frozenset[str]) -> dict:
    db.session.commit()
    tables = {}
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if f"{table.name}.{c.name}" not in ignored]
        rows = db.session.execute(sa.select(*columns)).all()
        tables[table.name] = sorted(repr(tuple(row)) for row in rows)
    db.session.commit()
    return tables


def _fill(value, ids):
    """Plausible values may name an id of the world: '{site_id}' becomes one of ours."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return str(ids[value[1:-1]][0])
    return value


@st.composite
def requests(draw, form: Form, world):
    role = draw(st.sampled_from(form.roles))
    path_values = {}
    for name in ("agency_id", "unit_id", "user_id", "site_id", "closure_id", "resource_id"):
        if f"<int:{name}>" in form.rule:
            path_values[name] = draw(st.sampled_from(world["ids"][name] + HUGE_IDS))
    if "<token>" in form.rule:
        path_values["token"] = draw(st.sampled_from([world["token"], "nope", "x" * 300, "%00"]))
    data = {}
    for name, plausible in form.fields.items():
        choice = draw(st.sampled_from(["plausible", "hostile", "omitted", "repeated"]))
        if choice == "plausible":
            data[name] = _fill(draw(plausible), world["ids"])
        elif choice == "hostile":
            data[name] = draw(HOSTILE_TEXT)
        elif choice == "repeated":  # parameter pollution: name=a&name=b
            data[name] = [draw(HOSTILE_TEXT), _fill(draw(plausible), world["ids"])]
    extra = draw(st.dictionaries(st.sampled_from(["id", "role", "agency_id", "is_admin", "password_hash"]),
                                 HOSTILE_TEXT, max_size=2))  # mass assignment attempts
    return role, path_values, {**extra, **data}


@pytest.mark.parametrize("rule", [form.rule for form in FORMS])
def test_hostile_form_input_never_breaks_anything(app, world, rule):
    form = FORMS_BY_RULE[rule]
    endpoint = next(r.endpoint for r in app.url_map.iter_rules() if r.rule == rule)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=not DEEP, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(request=requests(form, world))
    def check(request):
        role, path_values, data = request
        _restore_actors(world)
        client = app.test_client()
        auth = AuthActions(client)
        if role == ANONYMOUS:
            auth.refresh_token()
        else:
            user = db.session.get(User, world["actors"][role])
            assert auth.login(user).status_code == 302
        with app.test_request_context():
            url = url_for(endpoint, **path_values)
        before = _snapshot(form.refusal_may_change)
        response = auth.post(url, data)
        assert response.status_code < 500, (url, data, response.status_code)
        if 400 <= response.status_code < 500:
            assert _snapshot(form.refusal_may_change) == before, (url, data, response.status_code)

    check()
