"""CSRF, security headers and role checks."""

from __future__ import annotations

import pytest

from office.accounts.models import Role


def test_post_without_csrf_token_is_refused(auth, create_user, client):
    auth.login(create_user(role=Role.coordinator))
    response = client.post("/sites/new", data={"name": "Sneaky site"})
    assert response.status_code == 400
    assert "Formuläret hade gått ut" in response.get_data(as_text=True)
    assert "Sneaky site" not in client.get("/sites/").get_data(as_text=True)


def test_htmx_request_may_send_token_in_header(auth, create_user, client):
    auth.login(create_user(role=Role.coordinator))
    response = client.post("/sites/new", data={"name": "Header site"},
                           headers={"X-CSRFToken": auth.token, "HX-Request": "true"})
    assert response.status_code == 302
    assert "Header site" in client.get("/sites/").get_data(as_text=True)


def test_login_form_needs_csrf_too(client, create_user):
    user = create_user()
    response = client.post("/login", data={"email": user.email, "password": "x" * 12})
    assert response.status_code == 400


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "HX-Request" in response.headers["Vary"]


def test_pages_have_no_inline_script_or_style(auth, create_user, client):
    auth.login(create_user(role=Role.coordinator))
    for path in ("/login", "/dashboard", "/sites/", "/resources/", "/agencies/", "/users/"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and " style=" not in html and "<style" not in html, path


def test_session_cookie_flags(auth, create_user, client):
    response = auth.login(create_user())
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_requires_secret_key_and_secure_cookies(monkeypatch, database_url):
    from wsgi import create_app

    monkeypatch.setenv("SAMLOKAL_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    with app.app_context():
        from office.core.extensions import db
        db.engine.dispose()


COORDINATOR_PAGES = ["/sites/new", "/resources/new", "/agencies/new"]


@pytest.mark.parametrize("path", COORDINATOR_PAGES)
@pytest.mark.parametrize("role", [Role.staff, Role.agency_admin])
def test_others_get_403_on_coordinator_pages(auth, create_user, client, path, role):
    auth.login(create_user(role=role))
    assert client.get(path).status_code == 403
    assert auth.post(path, {"name": "x"}).status_code == 403


def test_staff_get_403_on_user_admin(auth, create_user, client):
    auth.login(create_user(role=Role.staff))
    assert client.get("/users/").status_code == 403
    assert client.get("/users/invite").status_code == 403


def test_request_body_size_is_limited(auth, create_user, client, app):
    auth.login(create_user(role=Role.coordinator))
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = auth.post("/sites/new", {"name": "Big", "address": big})
    assert response.status_code == 413
    assert "För stort" in response.get_data(as_text=True)
