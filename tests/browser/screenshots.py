"""Screenshots of the main pages at a laptop and a phone size, in Swedish and English.

    make screenshots                       # docs/screenshots/<language>-<size>-<page>.png
    .venv/bin/python -m tests.browser.screenshots --out /tmp/shots

The app runs on a fresh SQLite database with the Drivhuset demo data (plus one
trepartssamtal and one seminar registration for Sara Berg, so her Start page has a day to
show), behind werkzeug on a free loopback port; Debian's Chromium takes the pictures.
Compare them with the committed ones (`git diff --stat docs/screenshots`) when pages change.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("SAMLOKAL_NO_MODULE_APP", "1")

ROOT = Path(__file__).resolve().parents[2]
STAFF = "sara.berg@drivhuset.example"
SIZES = {
    "laptop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
# name, path (may name {site}, {day}, {resource}); every page is Sara Berg's (staff at AF).
PAGES = [
    ("start", "/dashboard"),
    ("grid-day", "/bookings/?site={site}&view=day&day={day}"),
    ("grid-week", "/bookings/?site={site}&view=week&day={day}"),
    ("find-free", "/bookings/find?site={site}&day={next_day}&start=10:00&end=11:00&people=4&screen=y"),
    ("booking-form", "/bookings/new?resource={resource}&day={next_day}&start=10:00"),
    ("my-bookings", "/bookings/mine"),
    ("trepartssamtal-new", "/trepartssamtal/new"),
    ("seminars", "/seminars/"),
    ("who-does-what", "/directory?q=kommun"),
    ("directory-entry", "/directory/people/{sara}/edit"),
]


def _start_app(instance: str):
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from office.core.extensions import db
    from wsgi import create_app

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/screens.sqlite3",
        "SECRET_KEY": "screenshots", "RATELIMIT_ENABLED": False,
        "PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_COST": 8,
    })
    with app.app_context():
        upgrade()
        ids = _demo_data()
        db.session.remove()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("samlokal.request").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, ids


def _demo_data() -> dict:
    """The demo, a trepartssamtal and a seminar place for Sara; the ids the pages name."""
    from sqlalchemy import select

    from office.accounts.models import User
    from office.core.extensions import db
    from office.core.i18n import today_local
    from office.demo.seed import seed_demo
    from office.premises import rules as premises
    from office.premises.models import Resource, Site
    from office.trepartssamtal import rules as trepartssamtal
    from seminars import registration
    from seminars.models import Audience, Seminar, SeminarState

    seed_demo()
    site = db.session.scalar(select(Site).where(Site.name == "Drivhuset"))
    sara, ali = (db.session.scalar(select(User).where(User.email == f"{name}@drivhuset.example"))
                 for name in ("sara.berg", "ali.yusuf"))
    search = trepartssamtal.Search(participants=[sara, ali], booked_by=sara, first_day=today_local(),
                                   last_day=today_local() + timedelta(days=13), site=site)
    proposals = trepartssamtal.find_proposals(search, limit=1)
    if proposals:
        trepartssamtal.book_proposal(search, proposals[0].key, reference="AB-12", consent=(
            trepartssamtal.ConsentInput(given=True, given_on=today_local(),
                                        agency_ids={sara.agency_id, ali.agency_id})))
    internal = db.session.scalar(select(Seminar.id).where(
        Seminar.audience == Audience.internal, Seminar.state == SeminarState.published))
    if internal:
        registration.register_staff(internal, sara)
    db.session.commit()
    day = today_local()
    while premises.opening_window(site, day) is None:  # the grid of a day the site is open
        day += timedelta(days=1)
    next_day = day + timedelta(days=1)  # searching and booking ahead (today may be over)
    while premises.opening_window(site, next_day) is None:
        next_day += timedelta(days=1)
    room = db.session.scalar(select(Resource.id).where(Resource.site_id == site.id,
                                                       Resource.name == "Konferensrummet"))
    return {"site": site.id, "day": day.isoformat(), "next_day": next_day.isoformat(),
            "resource": room, "sara": sara.id}


def _log_in(page, language: str) -> None:
    from office.demo.seed import DEMO_PASSWORD

    page.goto("/login")
    if language == "en":
        page.locator("button[name=language][value=en]").click()
        page.wait_for_selector("html[lang=en]")
    page.locator("#email").fill(STAFF)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("form.narrow-form button[type=submit]").click()
    page.wait_for_url("**/dashboard")


def take(out: Path, languages=("sv", "en"), sizes=tuple(SIZES), full_page: bool = False) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS, chromium_path

    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with tempfile.TemporaryDirectory() as instance:
        server, ids = _start_app(instance)
        url = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                                     args=CHROMIUM_ARGS)
                for language in languages:
                    for size in sizes:
                        context = browser.new_context(base_url=url, locale="sv-SE",
                                                      timezone_id="Europe/Stockholm", **SIZES[size])
                        page = context.new_page()
                        _log_in(page, language)
                        for name, path in PAGES:
                            response = page.goto(path.format(**ids))
                            if response is None or response.status >= 400:
                                print(f"skipped {name}: {response.status if response else '-'}",
                                      file=sys.stderr)
                                continue
                            target = out / f"{language}-{size}-{name}.png"
                            page.screenshot(path=str(target), full_page=full_page)
                            saved.append(target)
                        context.close()
                browser.close()
        finally:
            server.shutdown()
    return saved


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--full-page", action="store_true", help="the whole page, not one screen")
    parser.add_argument("--language", choices=("sv", "en"), action="append")
    parser.add_argument("--size", choices=tuple(SIZES), action="append")
    args = parser.parse_args(argv)
    saved = take(Path(args.out), tuple(args.language or ("sv", "en")),
                 tuple(args.size or SIZES), args.full_page)
    print(f"{len(saved)} screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
