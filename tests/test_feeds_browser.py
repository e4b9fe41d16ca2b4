"""The feeds page in a real browser (Chromium via Playwright): axe finds nothing, copy works."""

from __future__ import annotations

import re
import threading

import pytest
from werkzeug.serving import make_server

from office.extensions import db
from office.models import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def feeds_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def page(chromium):
    context = chromium.new_context()
    yield context.new_page()
    context.close()


def test_feeds_page_is_accessible_and_copies_the_new_link(feeds_server, page, create_user,
                                                          create_resource):
    from axe_playwright_python.sync_playwright import Axe

    email = create_user(role=Role.staff).email
    create_resource(name="Samtalsrum Ö")
    db.session.commit()  # end the test's transaction: SQLite would hold its lock
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=feeds_server)
    page.goto(f"{feeds_server}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    # hx-boost swaps pages in place: wait for what the next page shows, not for a load.
    page.get_by_role("link", name="Kalenderflöden").click()
    page.get_by_role("heading", name="Kalenderflöden", level=1).wait_for()
    page.get_by_role("button", name="Skapa en länk", exact=True).click()
    link = page.locator("#new-link-https")
    link.wait_for()
    value = link.input_value()
    assert re.fullmatch(r"http://127\.0\.0\.1:5000/feeds/[A-Za-z0-9_-]{43}\.ics", value)
    page.locator('[data-copy-target="new-link-https"]').click()
    page.wait_for_function("document.querySelector('#flashes').textContent.includes('kopierades')")
    assert page.evaluate("navigator.clipboard.readText()") == value
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
