"""Every allocation and meeting page renders on the demo data, for the roles that may see it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from office.accounts.models import User
from office.allocations.models import Allocation
from office.core.extensions import db
from office.demo.seed import DEMO_PASSWORD, seed_demo
from office.meetings.models import MeetingSeries
from tests.conftest import shared_world

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`


@pytest.fixture
def demo(app):
    shared_world("demo", seed_demo)  # seeded once per worker, then restored from its rows
    return {u.email.split("@")[0]: u for u in db.session.scalars(select(User))}


def test_demo_holds_the_three_meeting_groups_and_allocations(demo):
    names = set(db.session.scalars(select(MeetingSeries.name)))
    assert names == {"Styrgruppen", "Arbetsgruppen", "Handläggargruppen"}
    assert db.session.scalar(select(func.count()).select_from(Allocation)) >= 9


@pytest.mark.parametrize("path", [
    "/allocations/", "/allocations/plan", "/allocations/plan?week=2026-W53", "/allocations/new",
    "/allocations/settings", "/allocations/utilization", "/allocations/utilization.csv",
    "/allocations/1/release", "/meetings/", "/meetings/series", "/meetings/series/1",
])
def test_coordinator_pages_render(auth, demo, path):
    auth.login(demo["anna.lind"].email, DEMO_PASSWORD)
    response = auth.client.get(path)
    assert response.status_code == 200, path
    if response.mimetype == "text/html":
        assert 'style="' not in response.get_data(as_text=True)  # CSP: no inline styles


def test_members_see_their_meetings(auth, demo):
    auth.login(demo["maria.sund"].email, DEMO_PASSWORD)  # the psychologist: monthly
    page = auth.client.get("/meetings/").get_data(as_text=True)
    assert "Handläggargruppen" in page.split("<h2")[0]
    assert "utökat möte" in page
