"""Floor plans in a browser: a desk booked from the plan with the mouse and with the keyboard,
and the coordinator placing a desk by clicking on the plan."""

from __future__ import annotations

import os
import re
from datetime import time, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from office.accounts.models import User
from office.booking.models import Reservation
from office.core.extensions import db
from office.core.i18n import today_local
from office.floorplans import rules as floorplans
from office.floorplans.models import FloorPlan, Placement
from office.premises import rules as premises
from tests.browser.test_accessibility import COORDINATOR, STAFF, _log_in

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("SAMLOKAL_SHOTS", "test-artifacts/floor-plans"))


def _free_desks(live, count: int = 2):
    """The demo plan, an open day ahead, and desks free for Sara Berg at 10:00 that day."""
    with live.app_context():
        plan = db.session.scalar(select(FloorPlan))
        sara = db.session.scalar(select(User).where(User.email == STAFF))
        day = today_local() + timedelta(days=7)
        while premises.opening_window(plan.site, day) is None:
            day += timedelta(days=1)
        shown = floorplans.plan_at(plan, day, time(10), sara)
        desks = [p.resource.name for p in shown.places
                 if p.state == floorplans.PlaceState.free and p.resource.kind.value == "desk"][:count]
        plan_id = plan.id
        db.session.remove()
    assert len(desks) == count, "the demo has no free desks at 10:00"
    return plan_id, day, desks


def _booked(live, name: str) -> bool:
    with live.app_context():
        found = db.session.scalar(select(Reservation.id).join(Reservation.resource).where(
            Reservation.title == "Skrivbord från planen", Reservation.resource.has(name=name)))
        db.session.remove()
    return found is not None


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_desk_is_booked_from_the_plan_with_the_mouse(demo, open_page, viewport):
    plan_id, day, (desk, _other) = _free_desks(demo)
    page = open_page(viewport)
    _log_in(page, STAFF)
    page.goto(f"/floor-plans/{plan_id}?day={day.isoformat()}&time=10:00")
    mark = page.locator(".plan-places a.place", has_text=desk).first
    mark.scroll_into_view_if_needed()
    mark.click()
    panel = page.locator("#plan-panel")
    expect(panel.get_by_role("heading")).to_contain_text(desk)
    panel.get_by_label("Titel").fill("Skrivbord från planen")
    panel.get_by_role("button", name=f"Boka {desk}").click()
    expect(page.locator("#flashes")).to_contain_text(f"Bokat: {desk}, 10:00–11:00.")
    expect(page.locator(".plan-places a.place", has_text=desk).first).to_contain_text("Bokat")
    assert _booked(demo, desk)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"booked-with-mouse-{viewport}.png"), full_page=True)
    assert page.console_errors == []


def test_a_desk_is_booked_from_the_plan_with_the_keyboard(demo, open_page):
    plan_id, day, (_first, desk) = _free_desks(demo)
    page = open_page("desktop")
    _log_in(page, STAFF)
    page.goto(f"/floor-plans/{plan_id}?day={day.isoformat()}&time=10:00")
    # Tab from the "Show" button through the places until the desk's mark has the focus.
    page.get_by_role("button", name="Visa").focus()
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent")
        if re.search(rf"\b{re.escape(desk)}\b", focused or ""):
            break
    else:
        pytest.fail(f"{desk} was never reached with Tab")
    page.keyboard.press("Enter")
    heading = page.locator("#panel-heading")
    expect(heading).to_be_focused()  # the panel takes the focus (and is read out)
    page.keyboard.press("Tab")
    expect(page.locator("#plan-panel #title")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("Skrivbord från planen")
    page.keyboard.press("Enter")
    expect(page.locator("#flashes")).to_contain_text(f"Bokat: {desk}, 10:00–11:00.")
    assert _booked(demo, desk)
    assert page.console_errors == []


def test_the_coordinator_places_a_desk_by_clicking_on_the_plan(demo, open_page):
    with demo.app_context():
        plan = db.session.scalar(select(FloorPlan))
        desk = db.session.scalar(select(Placement).where(Placement.floor_plan_id == plan.id)
                                 .join(Placement.resource).where(Placement.resource.has(name="Skrivbord 1")))
        plan_id, resource_id = plan.id, desk.resource_id
        db.session.remove()
    page = open_page("desktop")
    _log_in(page, COORDINATOR)
    page.goto(f"/floor-plans/{plan_id}/places")
    page.get_by_role("button", name=re.compile(r"^Placera\W+Skrivbord 1$")).click()
    expect(page.locator("#placing-status")).to_contain_text("Klicka på planen där Skrivbord 1 finns")
    box = page.locator(".plan-figure img").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.75)
    expect(page.locator("#flashes")).to_contain_text("Skrivbord 1 är placerat på planen.")
    x = float(page.locator(f"#r{resource_id}-x").input_value())
    y = float(page.locator(f"#r{resource_id}-y").input_value())
    assert abs(x - 50) < 1 and abs(y - 75) < 1
    assert page.console_errors == []
