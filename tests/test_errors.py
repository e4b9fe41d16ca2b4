"""Error pages in both languages; failures never show a stack trace."""

from __future__ import annotations

import pytest

from office.accounts.models import Role


def test_404_in_swedish_and_english(auth, client, create_user):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Sidan finns inte" in response.get_data(as_text=True)
    auth.refresh_token()
    auth.post("/language", {"language": "en"})
    assert "The page does not exist" in client.get("/no/such/page").get_data(as_text=True)


def test_unknown_object_is_404(auth, create_user, client):
    auth.login(create_user(role=Role.coordinator))
    assert client.get("/sites/999999").status_code == 404
    assert client.get("/resources/999999/edit").status_code == 404


@pytest.mark.own_app  # adds a route; Flask refuses that once an app has served requests
def test_unexpected_error_gives_500_page_without_traceback(app, client):
    def explode():
        raise RuntimeError("secret internals")

    app.add_url_rule("/explode", "explode", explode)
    response = client.get("/explode")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Något gick fel" in html and "secret internals" not in html and "Traceback" not in html


def test_htmx_error_gets_fragment(auth, create_user, client):
    auth.login(create_user())
    response = client.get("/resources/1/edit", headers={"HX-Request": "true"})
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "<html" not in html and "Inte tillåtet" in html


def test_health_check_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_health_check_reports_unavailable_database(app_config, tmp_path):
    from wsgi import create_app

    broken = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": (
        "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
        if app_config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
        else f"sqlite:///{tmp_path}/missing-dir/db.sqlite3")})
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
