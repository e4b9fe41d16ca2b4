"""The coordinator closes a day with things booked on it; staff choose their mail. In a browser."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import select

from office.booking.models import (
    OccurrenceState,
    Reservation,
    ReservationKind,
    ReservationOccurrence,
)
from office.core.database import utcnow
from office.core.extensions import db
from office.premises import rules as premises
from office.premises.models import Resource, Site
from tests.browser.test_accessibility import AXE_OPTIONS, COORDINATOR, STAFF, _log_in, _report

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("SAMLOKAL_SHOTS", "test-artifacts/closure-pages"))


def _a_booked_working_day():
    """The first day ahead with a booking or meeting at a site that is open that day."""
    rows = db.session.execute(
        select(ReservationOccurrence.starts_at, Resource.site_id)
        .join(Reservation, Reservation.id == ReservationOccurrence.reservation_id)
        .join(Resource, Resource.id == ReservationOccurrence.resource_id)
        .where(ReservationOccurrence.state == OccurrenceState.active,
               Reservation.kind.in_([ReservationKind.booking, ReservationKind.meeting]),
               ReservationOccurrence.starts_at > utcnow() + timedelta(days=1))
        .order_by(ReservationOccurrence.starts_at)
    ).all()
    for starts_at, site_id in rows:
        site = db.session.get(Site, site_id)
        day = starts_at.astimezone(ZoneInfo(site.timezone)).date()
        if premises.opening_window(site, day) is not None:
            return site_id, day
    pytest.fail("the demo data has nothing booked ahead")


def _no_axe_problems(page, name):
    results = Axe().run(page, options=AXE_OPTIONS)
    violations = results.response["violations"]
    assert not violations, _report(name, page.url, violations)


def test_closing_a_booked_day_lists_it_and_cancels_on_confirm(demo, open_page):
    with demo.app_context():
        site_id, day = _a_booked_working_day()
        db.session.remove()
    SHOTS.mkdir(parents=True, exist_ok=True)
    for viewport in ("phone", "desktop"):
        page = open_page(viewport)
        _log_in(page, COORDINATOR)
        page.goto(f"/sites/{site_id}")
        page.locator("#day").fill(day.isoformat())
        page.locator("#reason").fill("Personaldag")
        page.get_by_role("button", name="Lägg till stängd dag").click()
        expect(page.locator("h1")).to_contain_text("Stänga")
        expect(page.locator(".closure-impact tbody tr").first).to_be_visible()
        _no_axe_problems(page, f"closure confirm ({viewport})")
        page.screenshot(path=str(SHOTS / f"closure-confirm-{viewport}.png"), full_page=True)
    page.get_by_role("button", name="Stäng dagen och avboka dessa").click()
    expect(page.locator("main")).to_contain_text("avbokad")
    page.screenshot(path=str(SHOTS / "closure-done-desktop.png"), full_page=True)


def test_mail_choices_page(demo, open_page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for viewport in ("phone", "desktop"):
        page = open_page(viewport)
        _log_in(page, STAFF)
        page.goto("/account/mail")
        expect(page.locator("h1")).to_have_text("Mejl från Samlokal")
        _no_axe_problems(page, f"mail choices ({viewport})")
        page.get_by_label("När ett möte jag är med i flyttas eller ställs in").uncheck()
        page.get_by_role("button", name="Spara").click()
        expect(page.locator("main")).to_contain_text("sparade")
        expect(page.get_by_label("När ett möte jag är med i flyttas eller ställs in")).not_to_be_checked()
        page.screenshot(path=str(SHOTS / f"mail-choices-{viewport}.png"), full_page=True)
        page.get_by_label("När ett möte jag är med i flyttas eller ställs in").check()
        page.get_by_role("button", name="Spara").click()
