"""Inviting, deactivating and managing staff accounts."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from office.accounts.models import Invitation, Role, User
from office.core.extensions import db


def _invite(auth, **fields):
    return auth.post("/users/invite", fields)


def test_coordinator_invites_user_who_sets_password(auth, create_user, create_agency, client, app):
    agency = create_agency(short_name="AF", units=["Sektion A"])
    auth.login(create_user(role=Role.coordinator))
    response = _invite(auth, name="Ny Person", email="ny.person@example.org", title="Handläggare",
                       agency_id=agency.id, unit_id=agency.units[0].id, role="staff")
    assert response.status_code == 200
    link = re.search(r'value="(http[^"]+/invitation/[^"]+)"', response.get_data(as_text=True)).group(1)
    path = link.split("localhost", 1)[1]
    auth.logout()
    # Only the hash of the token is stored.
    token = path.rsplit("/", 1)[1]
    assert db.session.scalar(select(func.count()).select_from(Invitation).where(Invitation.token_hash == token)) == 0

    new_client = app.test_client()
    page = new_client.get(path)
    assert page.status_code == 200
    from tests.conftest import csrf_token_from
    token_form = csrf_token_from(page.get_data(as_text=True))
    accepted = new_client.post(path, data={"password": "ett långt lösenord", "confirm": "ett långt lösenord",
                                           "csrf_token": token_form})
    assert accepted.status_code == 302
    assert "Hej, Ny Person" in new_client.get("/dashboard").get_data(as_text=True)
    # The link works once.
    assert app.test_client().get(path).status_code == 404


def test_invite_refuses_duplicate_email_and_saves_nothing(auth, create_user, create_agency):
    coordinator = create_user(role=Role.coordinator)
    auth.login(coordinator)
    before = db.session.scalar(select(func.count()).select_from(User))
    response = _invite(auth, name="Dup", email=coordinator.email.upper(), agency_id=coordinator.agency_id,
                       unit_id=0, role="staff")
    assert response.status_code == 422
    assert "Det finns redan ett konto" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(User)) == before


def test_invite_refuses_bad_email(auth, create_user):
    coordinator = create_user(role=Role.coordinator)
    auth.login(coordinator)
    response = _invite(auth, name="X", email="not-an-address", agency_id=coordinator.agency_id,
                       unit_id=0, role="staff")
    assert response.status_code == 422
    assert "Ange en giltig e-postadress." in response.get_data(as_text=True)


def test_agency_admin_cannot_invite_into_other_agency_or_as_coordinator(auth, create_user, create_agency):
    admin = create_user(role=Role.agency_admin)
    other = create_agency()
    auth.login(admin)
    assert _invite(auth, name="X", email="x@example.org", agency_id=other.id, unit_id=0,
                   role="staff").status_code == 422
    assert _invite(auth, name="X", email="x@example.org", agency_id=admin.agency_id, unit_id=0,
                   role="coordinator").status_code == 422
    assert db.session.scalar(select(User).where(User.email == "x@example.org")) is None


def test_agency_admin_sees_only_own_staff(auth, create_user, create_agency, client):
    admin = create_user(role=Role.agency_admin, name="Admin A")
    colleague = create_user(agency=admin.agency, name="Colleague A")
    stranger = create_user(name="Stranger B")
    auth.login(admin)
    html = client.get("/users/").get_data(as_text=True)
    assert colleague.name in html and stranger.name not in html
    assert auth.post(f"/users/{stranger.id}/deactivate").status_code == 403


def test_deactivation_ends_sessions_at_once(auth, create_user, app):
    from tests.conftest import AuthActions

    coordinator = create_user(role=Role.coordinator)
    staff = create_user()
    staff_client = app.test_client()
    AuthActions(staff_client).login(staff)
    assert staff_client.get("/dashboard").status_code == 200
    auth.login(coordinator)
    assert auth.post(f"/users/{staff.id}/deactivate").status_code == 302
    assert staff_client.get("/dashboard").status_code == 302
    assert AuthActions(app.test_client()).login(staff).status_code == 401
