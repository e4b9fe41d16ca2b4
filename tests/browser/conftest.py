"""Real-browser fixtures: one live server and one Chromium per test worker.

The live server is the real app behind werkzeug's threaded HTTP server on 127.0.0.1 (a
free port), on the worker's test database of the current backend (SQLite or PostgreSQL).
Each test gets the Drivhuset demo data fresh (`demo`) and an empty database afterwards, so
browser tests and the other tests of the worker do not see each other's rows.

Chromium is Debian's (Playwright cannot download its own here): SAMLOKAL_CHROMIUM, set by
.ci/browser.sh, or /usr/bin/chromium. A failing test leaves a screenshot and the page's
HTML under test-artifacts/.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from office.core.extensions import db
from tests.conftest import _test_config, shared_world, truncate_all, use_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Named viewports every journey runs at: a laptop and a phone (iPhone 12-15 size).
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


def chromium_path() -> str:
    path = os.environ.get("SAMLOKAL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        pytest.fail("Chromium is missing: run `make test` (it installs Debian's chromium) "
                    "or set SAMLOKAL_CHROMIUM", pytrace=False)
    return path


@dataclass
class LiveServer:
    app: object
    url: str

    def app_context(self):
        return self.app.app_context()


@pytest.fixture(scope="session")
def live_server(database_url, tmp_path_factory):
    """The app served over real HTTP on a free loopback port, for the whole worker session."""
    from wsgi import create_app

    config = _test_config(database_url)
    config["SERVER_NAME"] = None
    app = create_app(config)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def demo(live_server):
    """Drivhuset's demo data in the live server's database; emptied again after the test."""
    from office.demo.seed import seed_demo

    use_app(live_server.app)  # the rate limiter and feed caches as for any other test
    with live_server.app_context():
        shared_world("demo", seed_demo)  # seeded once per worker, then restored from its rows
        db.session.remove()
    yield live_server
    with live_server.app_context():
        db.session.remove()
        truncate_all(db.engine)


@pytest.fixture(scope="session")
def browser(chromium):
    """One headless Chromium per worker (tests/conftest.py); each test opens its own context."""
    return chromium


@pytest.fixture
def open_page(browser, live_server, request):
    """open_page(viewport="phone", locale="sv-SE") -> a Playwright page on the live server.

    Every page opened here is screenshotted into test-artifacts/ when the test fails.
    """
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    contexts = []

    def open_(viewport: str = "desktop", **options):
        context = browser.new_context(
            base_url=live_server.url, locale="sv-SE", timezone_id="Europe/Stockholm",
            **VIEWPORTS[viewport], **options,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.console_errors = []  # CSP violations and script errors show up here
        page.on("console", lambda msg: _note_console_error(page, msg))
        page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
        page.on("response", lambda response: _note_broken_resource(page, response))
        return page

    yield open_
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for number, context in enumerate(contexts):
        if failed:
            _keep_artifacts(request.node.nodeid, number, context)
        context.close()


def _note_console_error(page, message) -> None:
    # "Failed to load resource" repeats what _note_broken_resource records with its URL;
    # refused pages (401, 404, 422) log it too and are fine.
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        page.console_errors.append(message.text)


def _note_broken_resource(page, response) -> None:
    # Pages and fragments may answer 4xx on purpose; their parts (CSS, JS, icons) may not.
    if response.status >= 400 and response.request.resource_type not in ("document", "xhr", "fetch"):
        page.console_errors.append(f"{response.status} {response.url}")


def _keep_artifacts(nodeid: str, number: int, context) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid)[-150:]
    for index, page in enumerate(context.pages):
        name = f"{stem}-{number}-{index}"
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            (ARTIFACTS / f"{name}.html").write_text(page.content(), encoding="utf-8")
        except Exception as error:  # noqa: BLE001 - a broken page must not hide the failure
            (ARTIFACTS / f"{name}.txt").write_text(f"no screenshot: {error}\n")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)  # read by open_page to keep screenshots
    return report
