"""Logging in and out, throttling, sessions and passwords."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD


def test_login_page_is_swedish_by_default(client):
    html = client.get("/login").get_data(as_text=True)
    assert "Logga in i Samlokal" in html
    assert 'lang="sv"' in html


def test_login_reaches_dashboard(auth, create_user, client):
    user = create_user(name="Sara Berg")
    response = auth.login(user)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard")
    assert "Hej, Sara Berg" in client.get("/dashboard").get_data(as_text=True)


def test_wrong_password_is_refused_with_message(auth, create_user):
    user = create_user()
    response = auth.login(user, password="wrong password")
    assert response.status_code == 401
    assert "Fel e-postadress eller lösenord." in response.get_data(as_text=True)


def test_unknown_email_gets_same_message(auth, app):
    response = auth.login("nobody@example.org", password="whatever123")
    assert response.status_code == 401
    assert "Fel e-postadress eller lösenord." in response.get_data(as_text=True)


def test_pages_need_login(client):
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_login_follows_safe_next_only(auth, create_user, client):
    user = create_user()
    token = auth.refresh_token()
    ok = client.post("/login?next=/sites/", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert ok.headers["Location"] == "/sites/"
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        auth.refresh_token("/dashboard")
        auth.logout()
        token = auth.refresh_token()
        response = client.post(f"/login?next={evil}", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
        assert response.headers["Location"] == "/dashboard", evil


@pytest.mark.parametrize(
    "app_config",
    [{"LOGIN_RATE_PER_ADDRESS": "5 per minute"}],
    indirect=True,
)
def test_address_is_throttled_across_accounts(auth, app):
    """Many accounts guessed from one address: the address is throttled (office/accounts/throttle.py)."""
    statuses = [auth.login(f"guess{i}@example.org", password="x" * 10).status_code for i in range(7)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429


def test_session_is_renewed_on_login(auth, create_user, client):
    user = create_user()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login(user)
    with client.session_transaction() as session:
        assert "planted" not in session


def test_logout_ends_session(auth, create_user, client):
    auth.login(create_user())
    assert auth.logout().status_code == 302
    assert client.get("/dashboard").status_code == 302


def test_password_change_ends_other_sessions(app, create_user):
    user = create_user()
    from tests.conftest import AuthActions

    first, second = app.test_client(), app.test_client()
    auth_first, auth_second = AuthActions(first), AuthActions(second)
    auth_first.login(user)
    auth_second.login(user)
    response = auth_first.post("/password", {"current": PASSWORD, "password": "a brand new secret",
                                              "confirm": "a brand new secret"})
    assert response.status_code == 302
    assert first.get("/dashboard").status_code == 200       # this session stays
    assert second.get("/dashboard").status_code == 302      # the other one is gone
    assert auth_second.login(user.email, "a brand new secret").status_code == 302


def test_password_change_refuses_short_password(auth, create_user):
    auth.login(create_user())
    response = auth.post("/password", {"current": PASSWORD, "password": "short", "confirm": "short"})
    assert response.status_code == 422
    assert "minst 12 tecken" in response.get_data(as_text=True)
    eleven = "elva tecken"
    assert len(eleven) == 11
    response = auth.post("/password", {"current": PASSWORD, "password": eleven, "confirm": eleven})
    assert response.status_code == 422  # ASVS 2.1.1: at least 12


def test_password_is_hashed_with_argon2id(create_user):
    user = create_user()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_remember_cookie_is_short_lived_and_httponly(auth, create_user, client, app):
    user = create_user()
    token = auth.refresh_token()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "remember": "y", "csrf_token": token})
    cookies = response.headers.getlist("Set-Cookie")
    remember = next(c for c in cookies if c.startswith("remember_token="))
    assert "HttpOnly" in remember
    assert "SameSite=Lax" in remember
    assert app.config["REMEMBER_COOKIE_DURATION"] <= 24 * 3600


def test_login_never_logs_password(auth, create_user, caplog):
    user = create_user()
    with caplog.at_level("DEBUG"):
        auth.login(user, password="secret-wrong-password")
        auth.login(user)
    assert "secret-wrong-password" not in caplog.text
    assert PASSWORD not in caplog.text
    assert user.email not in caplog.text
