"""The header holds everyone's pages; a role's own pages are on the Administration page."""

from __future__ import annotations

import re

from office.accounts.models import Role


def _header_links(html: str) -> list[str]:
    nav = html.split('<nav aria-label="Huvudmeny">')[1].split("</nav>")[0]
    return re.findall(r">([^<>]+)</a>", nav)


def test_staff_have_no_administration(auth, create_user):
    auth.login(create_user())
    links = _header_links(auth.client.get("/dashboard").get_data(as_text=True))
    assert "Bokningar" in links and "Mina möten" in links
    assert "Administration" not in links and "Personal" not in links
    assert auth.client.get("/administration").status_code == 403


def test_the_coordinators_header_is_as_short_as_staffs_and_administration_holds_the_rest(auth, create_user):
    auth.login(create_user())
    staff_links = _header_links(auth.client.get("/dashboard").get_data(as_text=True))
    auth.logout()
    auth.login(create_user(role=Role.coordinator))
    links = _header_links(auth.client.get("/dashboard").get_data(as_text=True))
    assert links == [*staff_links, "Administration"]
    page = auth.client.get("/administration").get_data(as_text=True)
    for label, description in (("Utgående e-post", "All e-post som appen skickar"),
                               ("Personal", "Bjud in personal"), ("Rapporter", "halvårsrapporten")):
        assert re.search(rf'<a href="/[^"]*">{label}</a><span>[^<]*{description}', page), label


def test_the_administration_link_is_current_on_a_page_it_lists(auth, create_user):
    auth.login(create_user(role=Role.coordinator))
    html = auth.client.get("/mail/outbox").get_data(as_text=True)
    assert '<a href="/administration" aria-current="page">Administration</a>' in html


def test_an_agency_admin_sees_the_pages_of_that_role_only(auth, create_user):
    auth.login(create_user(role=Role.agency_admin))
    page = auth.client.get("/administration").get_data(as_text=True)
    assert ">Personal</a>" in page and ">Rapporter</a>" in page
    assert ">Utgående e-post</a>" not in page and ">Dörrskärmar</a>" not in page


def test_the_header_and_administration_follow_a_language_switch_at_once(auth, create_user):
    auth.login(create_user(role=Role.coordinator))
    swedish = auth.client.get("/dashboard").get_data(as_text=True)
    auth.post("/language", {"language": "en"})
    english = auth.client.get("/dashboard").get_data(as_text=True)
    assert "Bokningar" in _header_links(swedish)
    nav = english.split('<nav aria-label="Main menu">')[1].split("</nav>")[0]
    assert ">Bookings</a>" in nav and "Bokningar" not in nav
    assert ">Staff</a><span>" in auth.client.get("/administration").get_data(as_text=True)
    auth.post("/language", {"language": "sv"})
    assert _header_links(auth.client.get("/dashboard").get_data(as_text=True)) == _header_links(swedish)
