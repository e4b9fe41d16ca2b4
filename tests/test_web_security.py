"""Web security checks beyond tests/test_security.py (see docs/security.md for the ASVS map).

tests/test_security.py covers a missing CSRF token, the htmx header token, headers on the
login page, cookie flags in development, 403 on coordinator pages and the body limit;
tests/test_auth.py covers throttling, the login `next`, session renewal and logs.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from office.accounts import rules as accounts
from office.accounts.models import Invitation, Role
from office.core.database import utcnow
from office.core.extensions import db
from office.premises.models import Site
from tests.conftest import PASSWORD, AuthActions, IsolatedClient, csrf_token_from

HTTPS = "https://samlokal.example"
OPEN_REDIRECTS = [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example",
    "javascript:alert(1)", "http:/evil.example", " //evil.example",
]


def _site_count() -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(Site))


def test_htmx_header_alone_is_no_token(auth, create_user, client):
    auth.login(create_user(role=Role.coordinator))
    response = client.post("/sites/new", data={"name": "No token"},
                           headers={"HX-Request": "true", "HX-Target": "main"})
    assert response.status_code == 400
    assert _site_count() == 0


def test_csrf_token_of_another_session_is_refused(app, auth, create_user, client):
    stranger = AuthActions(app.test_client())
    stranger.login(create_user(role=Role.coordinator))
    auth.login(create_user(role=Role.coordinator))
    response = client.post("/sites/new", data={"name": "Foreign token"},
                           headers={"X-CSRFToken": stranger.token, "HX-Request": "true"})
    assert response.status_code == 400
    assert _site_count() == 0


@pytest.mark.own_app  # adds routes; Flask refuses that once an app has served requests
def test_every_state_changing_method_needs_the_token(app, auth, create_user, client):
    """DELETE, PUT and PATCH (htmx's hx-delete and friends) are checked like POST."""
    for method in ("DELETE", "PUT", "PATCH"):
        app.add_url_rule(f"/probe-{method.lower()}", f"probe_{method.lower()}",
                         lambda: "changed", methods=[method])
    auth.login(create_user())
    for method in ("DELETE", "PUT", "PATCH"):
        path = f"/probe-{method.lower()}"
        assert client.open(path, method=method, headers={"HX-Request": "true"}).status_code == 400
        ok = client.open(path, method=method, headers={"HX-Request": "true", "X-CSRFToken": auth.token})
        assert ok.status_code == 200, method


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_language_switch_never_leaves_the_site(auth, client, target):
    auth.refresh_token()
    response = auth.post("/language", {"language": "en", "next": target})
    assert response.status_code == 302
    assert response.location == "/dashboard", target


def test_language_switch_keeps_a_local_page_with_its_query(auth, create_user, client):
    auth.login(create_user())
    response = auth.post("/language", {"language": "en", "next": "/sites/?week=2031-W02"})
    assert response.location == "/sites/?week=2031-W02"


def test_language_switch_refuses_unknown_language(auth, client):
    auth.refresh_token()
    assert auth.post("/language", {"language": "xx", "next": "/login"}).status_code == 400
    assert "Logga in" in client.get("/login").get_data(as_text=True)


@pytest.fixture
def production_app(monkeypatch, app_config, app):
    """The app as production configures it (HTTPS behind a proxy), on the test database."""
    from wsgi import create_app

    monkeypatch.setenv("SAMLOKAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "p" * 64)
    config = {k: v for k, v in app_config.items() if k not in ("TESTING", "SECRET_KEY")}
    production = create_app(config)
    production.test_client_class = IsolatedClient
    yield production
    with production.app_context():
        db.engine.dispose()


def test_production_cookies_are_secure_and_https_is_enforced(production_app, create_user):
    user = create_user()
    client = production_app.test_client()
    page = client.get("/login", base_url=HTTPS)
    assert "max-age=31536000" in page.headers["Strict-Transport-Security"]
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token,
                                           "remember": "y"},
                           headers={"Referer": f"{HTTPS}/login"}, base_url=HTTPS)
    assert response.status_code == 302
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    for name in ("session", "remember_token"):
        assert "; Secure" in cookies[name] and "HttpOnly" in cookies[name], cookies[name]


def test_production_refuses_https_post_from_another_site(production_app, create_user):
    """Over HTTPS Flask-WTF also checks the Referer (WTF_CSRF_SSL_STRICT)."""
    user = create_user()
    client = production_app.test_client()
    token = csrf_token_from(client.get("/login", base_url=HTTPS).get_data(as_text=True))
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token},
                           headers={"Referer": "https://evil.example/login"}, base_url=HTTPS)
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/login", "/no/such/page", "/static/css/app.css",
                                  "/agencies/colours.css", "/healthz", "/logout"])
def test_security_headers_on_every_kind_of_response(client, path):
    response = client.get(path)  # a page, an error page, static, CSS, JSON and a 405
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_pages_are_not_cached_but_static_files_may_be(auth, create_user, client):
    auth.login(create_user())
    assert client.get("/dashboard").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


def test_logout_is_post_only(auth, create_user, client):
    """A GET (an <img src=/logout> on another site) cannot log anyone out."""
    auth.login(create_user())
    assert client.get("/logout").status_code == 405
    assert client.get("/dashboard").status_code == 200


def test_invitation_token_never_reaches_the_logs(app, create_user, client, caplog):
    user = create_user()
    token = accounts.create_invitation(user, None)
    db.session.commit()
    with caplog.at_level("INFO"):
        assert client.get(f"/invitation/{token}").status_code == 200
    assert token not in caplog.text
    assert "/invitation/<token>" in caplog.text


def test_expired_invitation_is_refused(app, create_user, client):
    user = create_user()
    token = accounts.create_invitation(user, None)
    db.session.flush()
    invitation = db.session.scalar(select(Invitation).where(Invitation.user_id == user.id))
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert client.get(f"/invitation/{token}").status_code == 404


def test_overlong_password_is_refused_before_hashing(auth, create_user, client):
    """No argon2 run on a megabyte of input, and no failed attempt counted against the account."""
    from office.accounts.models import LoginThrottle

    user = create_user()
    response = auth.login(user, password="x" * 5000)
    assert response.status_code == 422
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(LoginThrottle)) == 0


def test_unused_methods_are_refused(auth, create_user, client):
    auth.login(create_user(role=Role.coordinator))
    response = client.put("/sites/new", headers={"X-CSRFToken": auth.token})
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
