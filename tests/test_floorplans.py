"""Floor plans: what an upload may be (type, size, a hostile SVG), the served picture, placing
rooms and desks, each place's state at a pinned moment, booking from the plan, and who may do
what. The clock is pinned wherever a state depends on it."""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from office.accounts.models import Role
from office.allocations.models import Allocation, WeekPattern
from office.booking import rules as booking
from office.booking.models import Reservation
from office.checkin import rules as checkin
from office.core import clock
from office.core.extensions import db
from office.core.transaction import unit_of_work
from office.floorplans import images
from office.floorplans import rules as floorplans
from office.floorplans.models import FloorPlan, Placement
from office.premises.models import ResourceKind
from tests.calendar_days import ordinary_day

STOCKHOLM = ZoneInfo("Europe/Stockholm")
PNG = images.encode_png(4, 2, b"\xff\x00\x00" * 8, 12)
PLAIN_SVG = (b'<?xml version="1.0"?>\n<!-- drawn in Inkscape -->\n'
             b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" '
             b'xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 200 100" inkscape:version="1.3">'
             b'<metadata><rdf xmlns="http://www.w3.org/1999/02/22-rdf-syntax-ns#">x</rdf></metadata>'
             b'<defs><linearGradient id="g"><stop offset="0" stop-color="#eee"/></linearGradient></defs>'
             b'<rect x="0" y="0" width="200" height="100" fill="url(#g)" style="stroke:#333" inkscape:label="Wall"/>'
             b'<use xlink:href="#g"/><text x="10" y="20">Entr\xc3\xa9</text></svg>')
HOSTILE_SVGS = {
    "script": b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><script>alert(1)</script></svg>',
    "onload": b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" onload="alert(1)"><rect/></svg>',
    "event handler deep inside": b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><g><rect onclick="x()"/></g></svg>',
    "external href": b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><image href="https://evil.example/x.png"/></svg>',
    "xlink to javascript": (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
                            b'viewBox="0 0 10 10"><a xlink:href="javascript:alert(1)"><rect/></a><use xlink:href="javascript:x"/></svg>'),
    "xlink to another file": (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
                              b'viewBox="0 0 10 10"><use xlink:href="other.svg#icon"/></svg>'),
    "foreignObject": (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><foreignObject>'
                      b'<body xmlns="http://www.w3.org/1999/xhtml"><iframe src="https://evil.example"/></body>'
                      b'</foreignObject></svg>'),
    "css url": b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect style="fill:url(https://evil.example/t)"/></svg>',
    "css import": b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><style>@import "https://evil.example/a.css";</style></svg>',
    "animation that sets href": (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><a><set attributeName="href" '
                                 b'to="javascript:alert(1)"/><rect/></a></svg>'),
    "entity expansion": (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
                         b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><text>&b;</text></svg>'),
}


@pytest.fixture
def floor(app, create_agency, create_user, create_site, create_resource):
    """A site with a room and two desks, its coordinator, a staff member and an empty day."""
    agency = create_agency(name="Arbetsförmedlingen", short_name="AF")
    site = create_site(name="Drivhuset", opens=time(8), closes=time(17))
    room = create_resource(site=site, name="Konferensrummet", capacity=10)
    desk1 = create_resource(site=site, name="Skrivbord 1", kind=ResourceKind.desk, capacity=1)
    desk2 = create_resource(site=site, name="Skrivbord 2", kind=ResourceKind.desk, capacity=1)
    return {"site": site, "room": room, "desk1": desk1, "desk2": desk2, "agency": agency,
            "coordinator": create_user(role=Role.coordinator, agency=agency),
            "staff": create_user(agency=agency, name="Sara Berg"), "day": ordinary_day(days_ahead=7)}


def _plan(floor, image=PNG) -> FloorPlan:
    plan = floorplans.create_plan(floor["site"], "Plan 1", images.check_upload(image), floor["coordinator"])
    for name, x, y in (("room", 20, 30), ("desk1", 60, 50), ("desk2", 70, 50)):
        floorplans.place(plan, floor[name], x, y, floor["coordinator"])
    db.session.commit()
    return plan


def _upload(auth, floor, data: bytes, filename="plan.png", name="Plan 1", **extra):
    return auth.post("/floor-plans/new", data={"site_id": str(floor["site"].id), "name": name,
                                               "image": (io.BytesIO(data), filename), **extra},
                     content_type="multipart/form-data")


def _plans() -> int:
    return db.session.scalar(select(func.count()).select_from(FloorPlan))


def at(day, hour: int, minute: int = 0):
    return clock.travel_to(datetime.combine(day, time(hour, minute), STOCKHOLM), frozen=True)


# --- uploads -------------------------------------------------------------------------------------

def test_a_png_plan_is_stored_and_served_inert(floor, auth):
    auth.login(floor["coordinator"])
    response = _upload(auth, floor, PNG, filename="plan.svg")  # the name does not decide the type
    plan = db.session.scalar(select(FloorPlan))
    assert response.status_code == 302 and response.location.endswith(f"/floor-plans/{plan.id}/places")
    assert (plan.media_type, plan.width, plan.height) == ("image/png", 4, 2)
    served = auth.client.get(f"/floor-plans/{plan.id}/image")
    assert served.status_code == 200 and served.data == PNG
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in served.headers["Content-Security-Policy"]
    assert "sandbox" in served.headers["Content-Security-Policy"]
    again = auth.client.get(f"/floor-plans/{plan.id}/image", headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("data, filename, message", [
    (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "plan.png", "Välj en SVG-, PNG- eller PDF-fil"),
    (b"<html><script>alert(1)</script></html>", "plan.svg", "Välj en SVG-, PNG- eller PDF-fil"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "plan.png", "PNG-filen är skadad"),
    (b"%PDF-1.7 not really", "plan.pdf", "PDF-filen gick inte att läsa"),
    (b"", "plan.png", "Filen är tom."),
])
def test_a_file_of_the_wrong_type_is_refused_and_nothing_stored(floor, auth, data, filename, message):
    auth.login(floor["coordinator"])
    response = _upload(auth, floor, data, filename=filename)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert 'value="Plan 1"' in response.get_data(as_text=True)  # the form keeps what was typed
    assert _plans() == 0


def test_a_file_over_the_limit_is_refused_with_the_limit_in_swedish(floor, auth):
    auth.login(floor["coordinator"])
    too_large = PNG + b"\x00" * images.MAX_BYTES
    response = _upload(auth, floor, too_large[: images.MAX_BYTES + 1])
    assert response.status_code == 422
    assert "Filen är för stor: högst 5 MB." in response.get_data(as_text=True)
    assert _plans() == 0


def test_a_png_with_too_many_pixels_is_refused(floor, auth):
    header = bytearray(PNG)
    header[16:24] = (20000).to_bytes(4, "big") * 2
    import zlib
    header[29:33] = zlib.crc32(bytes(header[12:29])).to_bytes(4, "big")
    auth.login(floor["coordinator"])
    response = _upload(auth, floor, bytes(header))
    assert response.status_code == 422 and "för många bildpunkter" in response.get_data(as_text=True)
    assert _plans() == 0


@pytest.mark.parametrize("hostile", list(HOSTILE_SVGS))
def test_a_hostile_svg_is_refused_and_nothing_stored(floor, auth, hostile):
    auth.login(floor["coordinator"])
    response = _upload(auth, floor, HOSTILE_SVGS[hostile], filename="plan.svg")
    assert response.status_code == 422, hostile
    assert 'class="field-error"' in response.get_data(as_text=True)
    assert _plans() == 0


def test_a_plain_svg_is_kept_without_editor_leftovers(floor, auth):
    auth.login(floor["coordinator"])
    assert _upload(auth, floor, PLAIN_SVG, filename="plan.txt").status_code == 302
    plan = db.session.scalar(select(FloorPlan))
    assert (plan.media_type, plan.width, plan.height) == ("image/svg+xml", 200, 100)
    served = auth.client.get(f"/floor-plans/{plan.id}/image")
    body = served.get_data(as_text=True)
    assert served.headers["Content-Type"] == "image/svg+xml"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    assert "<rect" in body and 'fill="url(#g)"' in body and "Entré" in body and 'xlink:href="#g"' in body
    for leftover in ("inkscape", "metadata", "rdf", "<!--"):
        assert leftover not in body


def test_a_page_of_a_pdf_becomes_a_png(floor, auth):
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument.new()
    document.new_page(842, 595)
    document.new_page(595, 842)
    buffer = io.BytesIO()
    document.save(buffer)
    auth.login(floor["coordinator"])
    refused = _upload(auth, floor, buffer.getvalue(), filename="plan.pdf", pdf_page="3")
    assert refused.status_code == 422 and "PDF-filen har 2 sidor" in refused.get_data(as_text=True)
    assert _upload(auth, floor, buffer.getvalue(), filename="plan.pdf", pdf_page="2").status_code == 302
    plan = db.session.scalar(select(FloorPlan))
    assert plan.media_type == "image/png" and plan.image.startswith(b"\x89PNG")
    assert plan.height == images.PDF_LONG_SIDE and plan.width < plan.height  # the second, upright page
    assert images.check_png(plan.image).width == plan.width


def test_two_plans_of_one_floor_name_are_refused(floor, auth):
    _plan(floor)
    auth.login(floor["coordinator"])
    response = _upload(auth, floor, PNG)
    assert response.status_code == 422 and "har redan en planritning som heter Plan 1" in response.get_data(as_text=True)
    assert _plans() == 1


# --- placing --------------------------------------------------------------------------------------

def test_the_coordinator_places_a_desk_by_form_and_takes_it_off(floor, auth):
    plan = _plan(floor)
    desk = floor["desk2"]
    auth.login(floor["coordinator"])
    page = auth.client.get(f"/floor-plans/{plan.id}/places").get_data(as_text=True)
    assert f'id="r{desk.id}-x"' in page and 'name="x"' in page and 'value="70.0"' in page
    response = auth.post(f"/floor-plans/{plan.id}/places/{desk.id}", {"x": "12.3", "y": "45.6"})
    assert response.status_code == 302
    placement = db.session.get(Placement, desk.id)
    db.session.refresh(placement)
    assert (placement.x, placement.y) == (12.3, 45.6)
    refused = auth.post(f"/floor-plans/{plan.id}/places/{desk.id}", {"x": "101", "y": "-1"})
    assert refused.status_code == 422 and "Ange ett tal från 0 till 100." in refused.get_data(as_text=True)
    db.session.refresh(placement)
    assert (placement.x, placement.y) == (12.3, 45.6)
    auth.post(f"/floor-plans/{plan.id}/places/{desk.id}", {"remove": "Ta bort från planen"})
    db.session.expire_all()
    assert db.session.get(Placement, desk.id) is None


def test_a_resource_of_another_site_cannot_be_placed(app, floor, auth, create_resource):
    plan = _plan(floor)
    elsewhere = create_resource(name="Mötesrummet")
    auth.login(floor["coordinator"])
    response = auth.post(f"/floor-plans/{plan.id}/places/{elsewhere.id}", {"x": "5", "y": "5"})
    assert response.status_code == 404
    assert db.session.get(Placement, elsewhere.id) is None
    with (app.test_request_context(), force_locale("sv"),
          pytest.raises(floorplans.PlanRefused, match="är inget rum eller skrivbord i Drivhuset")):
        floorplans.place(plan, elsewhere, 5, 5, floor["coordinator"])


def test_a_new_picture_keeps_the_places(floor, auth):
    plan = _plan(floor)
    auth.login(floor["coordinator"])
    response = auth.post(f"/floor-plans/{plan.id}/replace", {"image": (io.BytesIO(PLAIN_SVG), "ny.svg")},
                         content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.expire_all()
    plan = db.session.get(FloorPlan, plan.id)
    assert plan.media_type == "image/svg+xml" and len(plan.places) == 3


# --- the state of each place ------------------------------------------------------------------------

def test_each_place_shows_its_state_at_the_pinned_time(floor, auth, create_user, create_agency):
    """Booked, held by an agency, released as a no-show, free: in words, not colour alone."""
    day, desk1, desk2, room = floor["day"], floor["desk1"], floor["desk2"], floor["room"]
    plan = _plan(floor)
    fk = create_agency(name="Försäkringskassan", short_name="FK")
    with at(day - timedelta(days=5), 9):
        kept = booking.book(booking.BookingRequest(resource=desk1, title="Skrivbordsdag", first_day=day,
                                                   start_time=time(9), end_time=time(12), booked_by=floor["staff"]))
        db.session.add(Allocation(resource=room, agency=fk, weekdays="0123456", first_day=day, last_day=day,
                                  start_time=time(8), end_time=time(12), pattern=WeekPattern.every_week))
        checkin.set_policy(ResourceKind.desk, True, 15, floor["coordinator"])
        no_show = booking.book(booking.BookingRequest(resource=desk2, title="Aldrig kom", first_day=day,
                                                      start_time=time(9), end_time=time(11), booked_by=floor["staff"]))
        db.session.commit()
    with at(day, 9, 5), unit_of_work():
        checkin.check_in(db.session.merge(kept).occurrences[0], floor["staff"])
    with at(day, 9, 20), unit_of_work():
        assert checkin.release_no_shows() == [no_show.occurrences[0].id]
    with at(day - timedelta(days=5), 9):  # the allocation is not yet released by the lead time
        shown = floorplans.plan_at(plan, day, time(10), floor["staff"])
        states = {p.resource.name: (p.state, p.bookable, p.until) for p in shown.places}
        assert states == {
            "Konferensrummet": (floorplans.PlaceState.held, False, time(12)),
            "Skrivbord 1": (floorplans.PlaceState.booked, False, time(12)),
            "Skrivbord 2": (floorplans.PlaceState.released, True, time(17)),
        }
        auth.login(floor["staff"])
        page = auth.client.get(f"/floor-plans/{plan.id}?day={day.isoformat()}&time=10:00").get_data(as_text=True)
    assert "Reserverat av en aktör" in page and "Bokat" in page and "Släppt (ingen kom)" in page
    assert "bokat till 12:00" in page and "reserverat av FK" in page and "släppt, ledigt till 17:00" in page
    assert "state-held" in page and "state-booked" in page and "state-released" in page


def test_outside_the_opening_hours_every_place_is_closed(floor, auth):
    plan = _plan(floor)
    shown = floorplans.plan_at(plan, floor["day"], time(18), floor["staff"])
    assert shown.closed_reason == "" and {p.state for p in shown.places} == {floorplans.PlaceState.closed}
    saturday = floor["day"] + timedelta(days=5 - floor["day"].weekday())
    assert {p.state for p in floorplans.plan_at(plan, saturday, time(10), floor["staff"]).places} == {
        floorplans.PlaceState.closed}


def test_another_time_swaps_the_plan_and_says_which(floor, auth):
    plan = _plan(floor)
    auth.login(floor["staff"])
    response = auth.client.get(f"/floor-plans/{plan.id}?day={floor['day'].isoformat()}&time=14:15",
                               headers={"HX-Request": "true", "HX-Target": "floor-plan"})
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="floor-plan"') and "<h1" not in body
    assert 'data-announce="Platserna ' in body and 'kl. 14:15"' in body
    assert response.headers["Vary"].startswith("HX-Request") or "HX-Request" in response.headers["Vary"]


def test_hostile_times_on_the_plan_fall_back_to_the_next_quarter(floor, auth):
    plan = _plan(floor)
    auth.login(floor["staff"])
    for query in ("day=9999-99-99&time=25:61", "day=0001-01-01&time=x", "place=99999999999999&time=10:07"):
        assert auth.client.get(f"/floor-plans/{plan.id}?{query}").status_code == 200


# --- booking from the plan --------------------------------------------------------------------------

def test_staff_book_a_free_desk_from_the_plan(floor, auth):
    plan = _plan(floor)
    day, desk = floor["day"], floor["desk1"]
    with at(day - timedelta(days=1), 9):
        auth.login(floor["staff"])
        panel = auth.client.get(f"/floor-plans/{plan.id}?day={day.isoformat()}&time=10:00&place={desk.id}",
                                headers={"HX-Request": "true", "HX-Target": "plan-panel"}).get_data(as_text=True)
        assert "Boka Skrivbord 1" in panel and 'value="10:00"' in panel and 'value="11:00"' in panel
        response = auth.post(f"/floor-plans/{plan.id}/book", {
            "resource_id": str(desk.id), "title": "Skrivbord", "day": day.isoformat(), "start": "10:00",
            "end": "11:00"}, headers={"HX-Request": "true", "HX-Target": "plan-panel"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Retarget"] == "#floor-plan"
    assert 'data-announce="Bokat: Skrivbord 1, 10:00–11:00."' in body
    reservation = db.session.scalar(select(Reservation))
    assert reservation.resource_id == desk.id and reservation.booked_by_id == floor["staff"].id


def test_a_clash_from_the_plan_says_so_and_books_nothing(floor, auth, create_user):
    plan = _plan(floor)
    day, desk = floor["day"], floor["desk1"]
    with at(day - timedelta(days=1), 9):
        booking.book(booking.BookingRequest(resource=desk, title="Först", first_day=day, start_time=time(10),
                                            end_time=time(11), booked_by=create_user()))
        db.session.commit()
        auth.login(floor["staff"])
        response = auth.post(f"/floor-plans/{plan.id}/book", {
            "resource_id": str(desk.id), "title": "Sen", "day": day.isoformat(), "start": "10:30",
            "end": "11:30", "seen_at": "2000-01-01T00:00:00+00:00"},
            headers={"HX-Request": "true", "HX-Target": "plan-panel"})
    assert response.status_code in (409, 422)
    assert "Skrivbord 1" in response.get_data(as_text=True) and 'class="field-error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Reservation)) == 1


def test_without_htmx_booking_from_the_plan_returns_to_the_plan(floor, auth):
    plan = _plan(floor)
    day = floor["day"]
    with at(day - timedelta(days=1), 9):
        auth.login(floor["staff"])
        response = auth.post(f"/floor-plans/{plan.id}/book", {
            "resource_id": str(floor["desk2"].id), "title": "Skrivbord", "day": day.isoformat(),
            "start": "13:00", "end": "15:00"})
    assert response.status_code == 302 and f"/floor-plans/{plan.id}?day={day.isoformat()}&time=13:00" in response.location


def test_my_booking_that_needs_check_in_offers_it_on_the_plan(floor, auth):
    plan = _plan(floor)
    day, desk = floor["day"], floor["desk1"]
    with at(day - timedelta(days=1), 9):
        checkin.set_policy(ResourceKind.desk, True, 15, floor["coordinator"])
        reservation = booking.book(booking.BookingRequest(resource=desk, title="Skrivbordsdag", first_day=day,
                                                          start_time=time(10), end_time=time(12), booked_by=floor["staff"]))
        db.session.commit()
    with at(day, 10, 5):
        auth.login(floor["staff"])
        panel = auth.client.get(f"/floor-plans/{plan.id}?day={day.isoformat()}&time=10:00&place={desk.id}").get_data(
            as_text=True)
    assert f"/check-in/occurrences/{reservation.occurrences[0].id}" in panel and "Checka in" in panel


# --- who may do what ----------------------------------------------------------------------------

def test_staff_can_neither_upload_nor_place_nor_delete(floor, auth):
    plan = _plan(floor)
    auth.login(floor["staff"])
    assert _upload(auth, floor, PNG, name="Plan 2").status_code == 403
    assert auth.client.get(f"/floor-plans/{plan.id}/places").status_code == 403
    desk = floor["desk1"]
    assert auth.post(f"/floor-plans/{plan.id}/places/{desk.id}", {"x": "1", "y": "1"}).status_code == 403
    assert auth.post(f"/floor-plans/{plan.id}/delete").status_code == 403
    assert _plans() == 1 and db.session.get(Placement, desk.id).x == 60


def test_anonymous_see_no_plan_and_no_picture(floor, client):
    plan = _plan(floor)
    for path in (f"/floor-plans/{plan.id}", f"/floor-plans/{plan.id}/image", "/floor-plans/"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.startswith("/login"), path


def test_the_demo_floor_has_every_demo_room_and_desk_placed(app):
    from office.demo.seed import seed_demo

    with unit_of_work():
        seed_demo()
    plan = db.session.scalar(select(FloorPlan))
    assert plan is not None and plan.site.name == "Drivhuset" and plan.media_type == "image/svg+xml"
    placed = {p.resource.name for p in plan.places}
    assert placed == {r.name for r in plan.site.resources} and len(placed) == 20
