"""Login sessions on a shared PC: logging out means it, old cookies are worthless, idle sessions end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from office.accounts.models import LoginSession, Role
from office.core.database import utcnow
from office.core.extensions import db
from tests.conftest import PASSWORD, AuthActions


def _login(app, user, remember=False):
    client = app.test_client()
    auth = AuthActions(client)
    token = auth.refresh_token()
    data = {"email": user.email, "password": PASSWORD, "csrf_token": token}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.status_code
    auth.refresh_token("/dashboard")
    return client, auth, response


def _cookie(client, name):
    cookie = client.get_cookie(name)
    return cookie.value if cookie is not None else None


def _replay(app, **cookies):
    """A new browser with nothing but the given cookies: is it logged in?"""
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value)
    return thief.get("/dashboard").status_code == 200


def _sessions(user) -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(LoginSession)
                             .where(LoginSession.user_id == user.id))


def test_logout_removes_the_remember_cookie(app, create_user):
    client, auth, login = _login(app, create_user(), remember=True)
    assert _cookie(client, "remember_token")
    response = auth.logout()
    assert response.status_code == 302
    removed = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]
    assert removed and ("Max-Age=0" in removed[0] or "expires=Thu, 01 Jan 1970" in removed[0])
    assert _cookie(client, "remember_token") is None
    assert client.get("/dashboard").status_code == 302  # the next person at the PC is not Sara


def test_an_old_session_cookie_is_worthless_after_logout(app, create_user):
    client, auth, _ = _login(app, create_user())
    stolen = _cookie(client, "session")
    assert _replay(app, session=stolen)  # a copy works while the session lasts ...
    auth.logout()
    assert not _replay(app, session=stolen)  # ... and not after logging out


def test_an_old_remember_cookie_is_worthless_after_logout(app, create_user):
    client, auth, _ = _login(app, create_user(), remember=True)
    stolen = _cookie(client, "remember_token")
    assert _replay(app, remember_token=stolen)
    auth.logout()
    assert not _replay(app, remember_token=stolen)


def test_logging_out_on_one_device_keeps_the_others(app, create_user):
    user = create_user()
    office_pc, office_auth, _ = _login(app, user)
    phone, _auth, _ = _login(app, user)
    office_auth.logout()
    assert office_pc.get("/dashboard").status_code == 302
    assert phone.get("/dashboard").status_code == 200


def test_log_out_everywhere_ends_every_session_and_cookie(app, create_user):
    user = create_user()
    forgotten_pc, _auth, _ = _login(app, user, remember=True)
    remembered = _cookie(forgotten_pc, "remember_token")
    phone, phone_auth, _ = _login(app, user)
    page = phone.get("/account/").get_data(as_text=True)
    assert "Logga ut överallt" in page and "inloggad på 2 enheter" in page
    response = phone_auth.post("/account/logout-everywhere")
    assert response.status_code == 302 and response.location.endswith("/login")
    assert phone.get("/dashboard").status_code == 302
    assert forgotten_pc.get("/dashboard").status_code == 302
    assert not _replay(app, remember_token=remembered)
    assert _sessions(user) == 0


def test_a_session_ends_after_the_idle_timeout(app, create_user):
    user = create_user()
    client, _auth, _ = _login(app, user)
    idle = timedelta(seconds=app.config["SESSION_IDLE_SECONDS"])
    assert idle <= timedelta(minutes=30)  # the default suits a shared PC (ASVS 3.3.2)
    db.session.execute(update(LoginSession).values(last_seen_at=utcnow() - idle - timedelta(seconds=1)))
    db.session.commit()
    assert client.get("/dashboard").status_code == 302


def test_using_a_session_keeps_it_alive(app, create_user):
    user = create_user()
    client, _auth, _ = _login(app, user)
    idle = app.config["SESSION_IDLE_SECONDS"]
    db.session.execute(update(LoginSession).values(last_seen_at=utcnow() - timedelta(seconds=idle - 30)))
    db.session.commit()
    assert client.get("/dashboard").status_code == 200  # within the timeout; the visit counts
    db.session.expire_all()
    seen = db.session.scalar(select(LoginSession.last_seen_at))
    assert utcnow() - seen < timedelta(seconds=10)
    assert client.get("/dashboard").status_code == 200


def test_a_remembered_session_has_no_idle_timeout_but_ends_when_its_time_is_up(app, create_user):
    user = create_user()
    client, _auth, _ = _login(app, user, remember=True)
    remember = app.config["REMEMBER_COOKIE_DURATION"]
    assert remember <= 12 * 3600
    db.session.execute(update(LoginSession).values(last_seen_at=utcnow() - timedelta(hours=3)))
    db.session.commit()
    assert client.get("/dashboard").status_code == 200
    db.session.execute(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert client.get("/dashboard").status_code == 302
    assert not _replay(app, remember_token=_cookie(client, "remember_token") or "")


def test_the_remember_label_names_the_configured_hours(client, app):
    html = client.get("/login").get_data(as_text=True)
    hours = app.config["REMEMBER_COOKIE_DURATION"] // 3600
    assert f"{hours} timmar" in html and "inte på en delad dator" in html


@pytest.mark.parametrize("app_config", [{"SESSION_IDLE_SECONDS": 60, "REMEMBER_COOKIE_DURATION": 3600,
                                         "PERMANENT_SESSION_LIFETIME": 7200}], indirect=True)
def test_session_lengths_are_settings(app, create_user):
    user = create_user()
    _login(app, user)
    _login(app, user, remember=True)
    db.session.commit()
    lengths = {row.remember: row.expires_at - row.created_at
               for row in db.session.scalars(select(LoginSession))}
    assert lengths == {False: timedelta(hours=2), True: timedelta(hours=1)}


def test_settings_come_from_the_environment(monkeypatch):
    from office.core.config import Config

    monkeypatch.setenv("SESSION_IDLE_SECONDS", "600")
    monkeypatch.setenv("REMEMBER_COOKIE_SECONDS", "7200")
    config = Config()
    assert (config.SESSION_IDLE_SECONDS, config.REMEMBER_COOKIE_DURATION) == (600, 7200)
    monkeypatch.delenv("SESSION_IDLE_SECONDS")
    monkeypatch.delenv("REMEMBER_COOKIE_SECONDS")
    assert (Config().SESSION_IDLE_SECONDS, Config().REMEMBER_COOKIE_DURATION) == (30 * 60, 8 * 3600)


def test_deactivating_a_user_ends_their_sessions_at_once(app, create_user):
    coordinator = create_user(role=Role.coordinator)
    staff = create_user()
    victim_client, _auth, _ = _login(app, staff, remember=True)
    remembered = _cookie(victim_client, "remember_token")
    _client, admin, _ = _login(app, coordinator)
    assert admin.post(f"/users/{staff.id}/deactivate").status_code == 302
    assert victim_client.get("/dashboard").status_code == 302
    assert not _replay(app, remember_token=remembered)
    assert _sessions(staff) == 0


def test_only_a_hash_of_the_session_secret_is_stored(app, create_user):
    user = create_user()
    client, _auth, _ = _login(app, user, remember=True)
    secret = _cookie(client, "remember_token").split("|")[0].split(":")[1]
    db.session.commit()
    stored = db.session.scalar(select(LoginSession.token_hash))
    assert secret not in stored and len(stored) == 64
