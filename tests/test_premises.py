"""Sites, opening hours, closed days, resources and agencies."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import func, select

from office.accounts.models import Agency, Role
from office.core.extensions import db
from office.premises import rules as premises
from office.premises.models import Closure, Resource, Site


def _hours(opens="08:00", closes="16:30", days=range(5)):
    data = {}
    for d in days:
        data[f"opens_{d}"] = opens
        data[f"closes_{d}"] = closes
    return data


def test_coordinator_creates_site_with_opening_hours(auth, create_user, client):
    auth.login(create_user(role=Role.coordinator))
    response = auth.post("/sites/new", {"name": "Drivhuset", "address": "Campus", **_hours()})
    assert response.status_code == 302
    site = db.session.scalar(select(Site).where(Site.name == "Drivhuset"))
    assert [(h.weekday, h.opens, h.closes) for h in site.opening_hours] == [
        (d, time(8), time(16, 30)) for d in range(5)
    ]
    html = client.get(f"/sites/{site.id}").get_data(as_text=True)
    assert "08:00–16:30" in html and "Lördag" in html


def test_site_with_closing_before_opening_saves_nothing(auth, create_user):
    auth.login(create_user(role=Role.coordinator))
    response = auth.post("/sites/new", {"name": "Backwards", **_hours("16:00", "08:00")})
    assert response.status_code == 422
    assert "Stängningstiden måste vara efter öppningstiden." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Site)) == 0


def test_duplicate_site_name_is_refused(auth, create_user, create_site):
    create_site(name="Koordinaten")
    auth.login(create_user(role=Role.coordinator))
    response = auth.post("/sites/new", {"name": "Koordinaten"})
    assert response.status_code == 422
    assert "Det finns redan en lokal med det namnet." in response.get_data(as_text=True)


def test_public_holidays_and_closures_close_the_site(create_site):
    site = create_site()
    db.session.add(Closure(site=site, day=date(2026, 12, 28), reason="Mellandagsstängt"))
    db.session.commit()
    closed = premises.closed_days(site, date(2026, 12, 20), date(2027, 1, 7))
    assert closed[date(2026, 12, 24)].reason == "Julafton"
    assert closed[date(2026, 12, 25)].reason == "Juldagen"
    assert closed[date(2026, 12, 28)].reason == "Mellandagsstängt"
    assert closed[date(2027, 1, 6)].reason == "Trettondedag jul"
    assert date(2026, 12, 23) not in closed
    assert premises.opening_window(site, date(2026, 12, 24)) is None
    assert premises.opening_window(site, date(2026, 12, 26)) is None  # a Saturday: no hours


def test_opening_window_is_aware_local_time_across_dst(create_site):
    site = create_site(opens=time(8), closes=time(17))
    winter = premises.opening_window(site, date(2026, 10, 26))  # Monday after DST ended
    summer = premises.opening_window(site, date(2026, 10, 23))  # Friday before
    assert winter[0].utcoffset().total_seconds() == 3600
    assert summer[0].utcoffset().total_seconds() == 7200
    assert winter[0].hour == summer[0].hour == 8


def test_coordinator_adds_and_removes_closure(auth, create_user, create_site, client):
    site = create_site()
    auth.login(create_user(role=Role.coordinator))
    assert auth.post(f"/sites/{site.id}/closures", {"day": "2099-06-01", "reason": "Flytt"}).status_code == 302
    closure = db.session.scalar(select(Closure))
    assert auth.post(f"/sites/{site.id}/closures", {"day": "2099-06-01"}).status_code == 422
    assert auth.post(f"/sites/{site.id}/closures", {"day": "not a date"}).status_code == 422
    assert auth.post(f"/sites/{site.id}/closures/{closure.id}/delete").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Closure)) == 0


def test_coordinator_creates_resource_with_features(auth, create_user, create_site, client):
    site = create_site()
    auth.login(create_user(role=Role.coordinator))
    response = auth.post("/resources/new", {
        "name": "Samtalsrum 1", "site_id": site.id, "kind": "room", "capacity": "4",
        "is_conversation_room": "y", "accessible": "y", "active": "y",
    })
    assert response.status_code == 302
    room = db.session.scalar(select(Resource))
    assert (room.capacity, room.is_conversation_room, room.accessible, room.has_screen) == (4, True, True, False)
    assert "Samtalsrum 1" in client.get("/resources/").get_data(as_text=True)


def test_resource_with_zero_capacity_is_refused(auth, create_user, create_site):
    site = create_site()
    auth.login(create_user(role=Role.coordinator))
    response = auth.post("/resources/new", {"name": "X", "site_id": site.id, "kind": "room", "capacity": "0"})
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Resource)) == 0


def test_staff_see_premises_but_cannot_change(auth, create_user, create_resource, client):
    resource = create_resource(name="Tysta rummet")
    auth.login(create_user())
    assert "Tysta rummet" in client.get("/resources/").get_data(as_text=True)
    assert client.get(f"/resources/{resource.id}/edit").status_code == 403


def test_agency_with_units_and_colour(auth, create_user, client):
    auth.login(create_user(role=Role.coordinator))
    assert auth.post("/agencies/new", {"name": "Arbetsförmedlingen", "short_name": "AF",
                                       "colour": "#7a2e8c"}).status_code == 302
    agency = db.session.scalar(select(Agency).where(Agency.short_name == "AF"))
    assert auth.post(f"/agencies/{agency.id}/units", {"name": "Rehab"}).status_code == 302
    assert auth.post("/agencies/new", {"name": "Bad", "short_name": "B", "colour": "red"}).status_code == 422
    css = client.get("/agencies/colours.css").get_data(as_text=True)
    assert f".agency-{agency.id} {{ --agency-colour: #7a2e8c; }}" in css
    html = client.get("/agencies/").get_data(as_text=True)
    assert "Arbetsförmedlingen" in html and "Rehab" in html


@pytest.mark.parametrize("colour, accepted", [("#7a2e8c", True), ("#8a5a00", True), ("#ffbf47", False),
                                              ("#ffffff", False), ("#1f8b5f", False)])
def test_agency_colour_must_keep_white_text_readable(auth, create_user, colour, accepted):
    """The short name is white on the agency colour: 4.5:1 or the form refuses (WCAG 1.4.3)."""
    auth.login(create_user(role=Role.coordinator))
    response = auth.post("/agencies/new", {"name": f"Aktör {colour}", "short_name": colour[1:],
                                           "colour": colour})
    assert response.status_code == (302 if accepted else 422)
    if not accepted:
        assert "Välj en mörkare färg" in response.get_data(as_text=True)
