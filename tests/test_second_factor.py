"""Two-step verification: enrolment with a local QR code, codes at login, recovery codes,
and the requirement for the coordinator and agency admins (REQUIRE_SECOND_FACTOR)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pyotp
import pytest
from sqlalchemy import select, update

from office.accounts import second_factor
from office.accounts.models import LoginThrottle, RecoveryCode, Role, User
from office.core.extensions import db
from tests.conftest import PASSWORD, AuthActions

REQUIRED = {"REQUIRE_SECOND_FACTOR": True}
# The clock the codes are checked against, pinned: a test crossing a 30-second step would
# otherwise see its code expire (or become a reuse) between making and sending it.
NOW = datetime(2031, 1, 7, 8, 0, 10, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch):
    monkeypatch.setattr(second_factor, "utcnow", lambda: NOW)


def _secret_on(page: str) -> str:
    return re.search(r'<code class="secret"[^>]*>([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")


def _code(secret: str, steps_ahead: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(NOW) + steps_ahead)


def _enrol(auth) -> tuple[str, list[str]]:
    page = auth.client.get("/account/second-factor").get_data(as_text=True)
    secret = _secret_on(page)
    # The previous step's code (still accepted): the current and next stay free for the tests.
    response = auth.post("/account/second-factor", {"code": _code(secret, steps_ahead=-1)})
    assert response.status_code == 200, response.status_code
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", response.get_data(as_text=True))
    return secret, codes


def _log_in_with_password(app, user):
    """The first step only (AuthActions.login expects to land on the dashboard)."""
    auth = AuthActions(app.test_client())
    token = auth.refresh_token("/login")
    response = auth.client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    return auth, response


def _give_code(auth, code):
    page = auth.client.get("/login/code")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return auth.client.post("/login/code", data={"code": code, "csrf_token": token})


@pytest.fixture
def enrolled(app, auth, create_user):
    """A staff member with two-step verification on: (user, secret, recovery codes)."""
    user = create_user()
    auth.login(user)
    secret, codes = _enrol(auth)
    auth.logout()
    return user, secret, codes


def test_enrolment_shows_a_local_qr_code_and_the_key(auth, create_user, client):
    auth.login(create_user(email="sara@example.org"))
    response = client.get("/account/second-factor")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<svg role="img" viewBox=' in html and "<title>QR-kod" in html  # drawn here, inline
    assert "http" not in html.split('<svg role="img"')[1].split("</svg>")[0]  # no image from elsewhere
    secret = _secret_on(html)
    assert len(secret) == 32
    assert secret == _secret_on(client.get("/account/second-factor").get_data(as_text=True))  # kept on reload


def test_enrolment_needs_a_right_code_and_gives_recovery_codes_stored_hashed(app, auth, create_user, client):
    user = create_user()
    auth.login(user)
    secret = _secret_on(client.get("/account/second-factor").get_data(as_text=True))
    wrong = auth.post("/account/second-factor", {"code": "000000" if _code(secret) != "000000" else "111111"})
    assert wrong.status_code == 422 and "Koden stämmer inte" in wrong.get_data(as_text=True)
    assert not db.session.get(User, user.id).has_second_factor
    response = auth.post("/account/second-factor", {"code": _code(secret)})
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", response.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    db.session.expire_all()
    assert db.session.get(User, user.id).has_second_factor
    stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not any(code in stored or code.replace("-", "") in stored for code in codes)


def test_login_asks_for_the_code_before_anything_else(app, enrolled):
    user, secret, _codes = enrolled
    auth, response = _log_in_with_password(app, user)
    assert response.status_code == 302 and response.location.endswith("/login/code")
    assert auth.client.get("/dashboard").status_code == 302  # the password alone is not a login
    wrong = _give_code(auth, "12345a")
    assert wrong.status_code == 401 and "Koden är fel" in wrong.get_data(as_text=True)
    right = _give_code(auth, _code(secret))
    assert right.status_code == 302 and right.location.endswith("/dashboard")
    assert auth.client.get("/dashboard").status_code == 200


def test_a_code_works_once(app, enrolled):
    user, secret, _codes = enrolled
    code = _code(secret, steps_ahead=1)  # the phone's clock may run a step ahead
    first, _ = _log_in_with_password(app, user)
    assert _give_code(first, code).status_code == 302
    second, _ = _log_in_with_password(app, user)
    assert _give_code(second, code).status_code == 401  # seen over a shoulder: useless now


def test_a_recovery_code_logs_in_once(app, enrolled):
    user, _secret, codes = enrolled
    auth, _ = _log_in_with_password(app, user)
    response = _give_code(auth, codes[0].upper().replace("-", " "))
    assert response.status_code == 302 and response.location.endswith("/account/")
    page = auth.client.get("/account/").get_data(as_text=True)
    assert "9 koder finns kvar" in page and "9 oanvända reservkoder" in page
    again, _ = _log_in_with_password(app, user)
    assert _give_code(again, codes[0]).status_code == 401


def test_guessing_codes_is_throttled(app, enrolled):
    user, secret, _codes = enrolled
    auth, _ = _log_in_with_password(app, user)
    statuses = [_give_code(auth, f"{n:06d}").status_code for n in range(4)]
    assert statuses[:3] == [401, 401, 401] and statuses[3] == 429
    response = _give_code(auth, _code(secret))  # while waiting even the right code is refused
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    db.session.execute(update(LoginThrottle).values(blocked_until=None))
    db.session.commit()
    assert _give_code(auth, _code(secret)).status_code == 302


def test_the_second_step_expires(app, enrolled):
    user, _secret, _codes = enrolled
    auth, _ = _log_in_with_password(app, user)
    with auth.client.session_transaction() as session:
        session["second_step"] = {**session["second_step"], "until": 0}
    response = auth.client.get("/login/code")
    assert response.status_code == 302 and response.location.endswith("/login")


def test_a_new_password_by_invitation_does_not_skip_the_code(app, enrolled, client):
    from office.accounts import rules as accounts

    user, secret, _codes = enrolled
    token = accounts.create_invitation(db.session.get(User, user.id), None)
    db.session.commit()
    page = client.get(f"/invitation/{token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(f"/invitation/{token}", data={"password": "a brand new secret", "confirm":
                                                         "a brand new secret", "csrf_token": csrf})
    assert response.location.endswith("/login/code")
    assert client.get("/dashboard").status_code == 302


def test_turning_it_off_needs_the_password(app, auth, create_user, client):
    user = create_user()
    auth.login(user)
    _enrol(auth)
    assert auth.post("/account/second-factor/remove", {"password": "not my password"}).status_code == 422
    db.session.expire_all()
    assert db.session.get(User, user.id).has_second_factor
    assert auth.post("/account/second-factor/remove", {"password": PASSWORD}).status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, user.id).has_second_factor
    assert db.session.scalar(select(RecoveryCode)) is None


def test_new_recovery_codes_replace_the_old(app, auth, create_user, client):
    user = create_user()
    auth.login(user)
    _secret, old = _enrol(auth)
    response = auth.post("/account/second-factor/recovery-codes", {"password": PASSWORD})
    new = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    auth.logout()
    again, _ = _log_in_with_password(app, user)
    assert _give_code(again, old[0]).status_code == 401
    assert _give_code(again, new[0]).status_code == 302


@pytest.mark.parametrize("app_config", [REQUIRED], indirect=True)
@pytest.mark.parametrize("role", [Role.coordinator, Role.agency_admin])
def test_admins_must_enrol_before_anything_else_when_required(app, create_user, role):
    admin = create_user(role=role)
    auth, response = _log_in_with_password(app, admin)
    client = auth.client
    assert response.status_code == 302
    for path in ("/dashboard", "/users/", "/bookings/mine"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.endswith("/account/second-factor"), path
    htmx = client.get("/users/", headers={"HX-Request": "true"})
    assert htmx.headers.get("HX-Redirect", "").endswith("/account/second-factor")
    assert client.get("/account/second-factor").status_code == 200
    auth.refresh_token("/account/second-factor")
    _enrol(auth)
    assert client.get("/users/").status_code == 200


@pytest.mark.parametrize("app_config", [REQUIRED], indirect=True)
def test_staff_may_choose(app, auth, create_user, client):
    auth.login(create_user(role=Role.staff))
    assert client.get("/dashboard").status_code == 200


def test_outside_production_admins_are_reminded_not_stopped(auth, create_user, client):
    """The demo logs in without a phone (`make run`); the banner asks admins to enrol."""
    auth.login(create_user(role=Role.coordinator))
    html = client.get("/users/").get_data(as_text=True)
    assert "tvåstegsverifiering" in html and 'href="/account/second-factor"' in html


def test_production_requires_it_by_default(monkeypatch):
    from office.core.config import Config

    monkeypatch.setenv("SAMLOKAL_ENV", "production")
    assert Config().REQUIRE_SECOND_FACTOR is True
    monkeypatch.setenv("SAMLOKAL_ENV", "development")
    assert Config().REQUIRE_SECOND_FACTOR is False


def test_an_admin_turns_it_off_for_a_lost_phone(app, enrolled, create_user):
    user, secret, _codes = enrolled
    elsewhere, _ = _log_in_with_password(app, user)
    assert _give_code(elsewhere, _code(secret)).status_code == 302
    admin = AuthActions(app.test_client())
    admin.login(create_user(role=Role.coordinator))
    users_page = admin.client.get("/users/").get_data(as_text=True)
    assert f"/users/{user.id}/second-factor/reset" in users_page
    assert admin.post(f"/users/{user.id}/second-factor/reset").status_code == 302
    assert elsewhere.client.get("/dashboard").status_code == 302  # every session ended
    _auth, response = _log_in_with_password(app, user)
    assert response.location.endswith("/dashboard")


def test_agency_admins_cannot_reset_another_agencys_staff(app, enrolled, create_user):
    user, _secret, _codes = enrolled
    admin = AuthActions(app.test_client())
    admin.login(create_user(role=Role.agency_admin))  # an agency of its own
    assert admin.post(f"/users/{user.id}/second-factor/reset").status_code == 403
    db.session.expire_all()
    assert db.session.get(User, user.id).has_second_factor


def test_the_cli_resets_the_coordinator_who_has_no_one_above(app, enrolled):
    user, _secret, _codes = enrolled
    result = app.test_cli_runner().invoke(args=["reset-second-factor", "--email", user.email.upper()])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert not db.session.get(User, user.id).has_second_factor


def test_the_login_page_lets_password_managers_fill_the_code(app, enrolled):
    user, _secret, _codes = enrolled
    auth, _ = _log_in_with_password(app, user)
    html = auth.client.get("/login/code").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in html


def test_guessing_the_password_asked_again_is_throttled(app, auth, create_user, client):
    """Someone at an unlocked PC cannot try passwords on /password or the second-factor pages."""
    auth.login(create_user())
    _enrol(auth)
    statuses = [auth.post("/password", {"current": f"guess number {n}", "password": "a long new password",
                                        "confirm": "a long new password"}).status_code for n in range(4)]
    assert statuses == [422, 422, 422, 429]
    blocked = auth.post("/account/second-factor/remove", {"password": PASSWORD})  # even the right one
    html = blocked.get_data(as_text=True)
    assert blocked.status_code == 422 and "vänta" in html and "Lösenordet är fel" not in html


def test_a_code_without_the_enrolment_page_is_refused_not_a_500(auth, create_user):
    auth.login(create_user())
    response = auth.post("/account/second-factor", {"code": "123456"})
    assert response.status_code == 422 and 'class="secret"' in response.get_data(as_text=True)
