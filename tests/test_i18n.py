"""Swedish by default, English selectable, and no string left untranslated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from office.accounts.models import Role

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    # every template folder but seminars' belongs to office
    "office": ["wsgi.py", "office", *sorted(
        str(path.relative_to(ROOT)) for path in (ROOT / "templates").iterdir()
        if path.name != "seminars")],
    "seminars": ["seminars", "templates/seminars"],
}


def _extract(package: str, tmp_path: Path) -> set[str]:
    pot = tmp_path / f"{package}.pot"
    sources = [s for s in PACKAGES[package] if (ROOT / s).exists()]
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "office/babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-k", "lazy_pgettext:1c,2", "--no-location", "-o",
         str(pot), *sources],
        cwd=ROOT, check=True, capture_output=True, timeout=300,
    )
    with pot.open("rb") as handle:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}


@pytest.mark.parametrize("package", PACKAGES)
@pytest.mark.parametrize("language", ["sv", "en"])
def test_catalogue_is_complete_and_current(package, language, tmp_path):
    """Every string in the code is in the catalogue and translated (`make extract-messages`)."""
    wanted = _extract(package, tmp_path)
    path = ROOT / package / "translations" / language / "LC_MESSAGES" / "messages.po"
    if not wanted:
        return
    with path.open("rb") as handle:
        catalogue = read_po(handle)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalogue
        if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string) and "fuzzy" not in m.flags
    }
    missing = sorted(wanted - translated)
    assert missing == [], f"untranslated in {package}/{language}: {missing}"


def test_language_switch_to_english_and_back(auth, create_user, client):
    auth.login(create_user(role=Role.coordinator))
    assert "Lokaler" in client.get("/dashboard").get_data(as_text=True)
    response = auth.post("/language", {"language": "en", "next": "/sites/"})
    assert response.headers["Location"] == "/sites/"
    html = client.get("/sites/").get_data(as_text=True)
    assert 'lang="en"' in html and "<h1>Sites</h1>" in html
    auth.post("/language", {"language": "sv", "next": "/sites/"})
    assert "<h1>Lokaler</h1>" in client.get("/sites/").get_data(as_text=True)


def test_language_choice_is_remembered_for_the_user(auth, create_user, app):
    from tests.conftest import AuthActions

    user = create_user()
    auth.login(user)
    auth.post("/language", {"language": "en"})
    other = app.test_client()
    AuthActions(other).login(user)
    assert 'lang="en"' in other.get("/dashboard").get_data(as_text=True)


def test_language_switch_refuses_unknown_language(auth, create_user):
    auth.login(create_user())
    assert auth.post("/language", {"language": "xx"}).status_code == 400


SHELL_PAGES = ["/dashboard", "/sites/", "/resources/", "/agencies/", "/users/", "/users/invite",
               "/sites/new", "/resources/new", "/agencies/new", "/password"]


@pytest.mark.parametrize("language,marker", [("sv", "Logga ut"), ("en", "Log out")])
def test_every_shell_page_renders_in_both_languages(auth, create_user, create_site, client, language, marker):
    site = create_site()
    auth.login(create_user(role=Role.coordinator))
    auth.post("/language", {"language": language})
    for path in SHELL_PAGES + [f"/sites/{site.id}", f"/sites/{site.id}/edit"]:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert f'lang="{language}"' in html and marker in html, path


def test_templates_follow_a_forced_locale_and_a_refresh_within_one_request(app):
    from flask import render_template_string, session
    from flask_babel import force_locale, refresh

    template = "{{ _('Log out') }}|{{ ngettext('%(num)d attendee', '%(num)d attendees', 2) }}"
    with app.test_request_context("/"):
        session["locale"] = "sv"
        swedish = render_template_string(template)
        with force_locale("en"):  # a mail in the recipient's language, inside a Swedish request
            english = render_template_string(template)
        assert render_template_string(template) == swedish
        session["locale"] = "en"
        refresh()
        assert render_template_string(template) == english
    assert (swedish, english) == ("Logga ut|2 deltagare", "Log out|2 attendees")
