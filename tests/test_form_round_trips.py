"""Every edit form round-trips: opened and saved unchanged it succeeds and changes nothing;
with one field changed it saves exactly that.

The form is submitted exactly as the page renders it (tests/html_forms.py reads every input,
select, textarea and ticked box like a browser), so a field the form requires but the page
does not show fails here, not in front of the coordinator.

EDIT_ROUTES is the table. `test_every_edit_route_has_a_row` walks app.url_map: every page with
a form (GET and POST) and every POST endpoint named edit/change/save needs a row here or a
reason in NOT_EDIT_FORMS (it creates something, it is an action), so the next edit page is
covered when it is added.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Callable

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from office.accounts.models import Agency, Role
from office.allocations import rules as allocations
from office.allocations.models import Term
from office.availability import rules as availability
from office.booking.models import ReservationOccurrence
from office.core.extensions import db
from office.core.models import OutboxMail
from office.premises.models import Resource, Site
from seminars.models import Registration, Seminar, SeminarSession
from tests.feature_world import add_booking_features, add_features, add_floor_plan
from tests.html_forms import form_posting_to, replace

pytestmark = pytest.mark.dates  # seminars are planned weeks from today: `make test-dates`

@dataclass
class World:
    coordinator: object
    staff: object
    agency: Agency
    site: Site
    room: Resource
    features: object
    bookings: object
    floor_plan_id: int = 0

    @property
    def seminar(self) -> Seminar:
        return db.session.get(Seminar, self.features.seminar_id)


@pytest.fixture
def world(app, create_agency, create_user, create_site, create_resource):
    agency, other = create_agency(name="Arbetsförmedlingen", short_name="AF",
                                  units=("Rehabilitering",)), create_agency(short_name="Kommunen")
    coordinator = create_user(role=Role.coordinator, agency=agency, name="Anna Lind")
    staff = create_user(agency=agency, name="Sara Berg")
    partner = create_user(agency=other, name="Ali Yusuf")
    site = create_site(name="Drivhuset")
    room = create_resource(site=site, name="Stora salen", capacity=60)
    features = add_features(agency=agency, coordinator=coordinator, desk=create_resource(site=site),
                            room=create_resource(site=site), members=[staff], registered=[staff])
    seminar = db.session.get(Seminar, features.seminar_id)
    seminar.invited_agencies = [agency, other]
    seminar.description = "Företag berättar om sina behov."
    seminar.registration_deadline = seminar.registration_deadline or None
    session = db.session.get(SeminarSession, features.session_id)
    session.room, session.capacity = "Lilla salen", 20
    db.session.commit()
    bookings = add_booking_features(site=site, room=room, booker=staff, booked_for=staff,
                                    participants=[staff, partner])
    plan = add_floor_plan(site, [room], coordinator)
    db.session.commit()
    return World(coordinator, staff, agency, site, room, features, bookings, plan.id)


# --- the rows -----------------------------------------------------------------------------

def _seminar_row(w: World) -> dict:
    s = w.seminar
    return {"title": s.title, "kind": s.kind, "description": s.description, "audience": s.audience,
            "note": s.audience_note, "venue": s.venue_kind, "address": s.external_address,
            "url": s.online_url, "capacity": s.capacity, "deadline": s.registration_deadline,
            "invited": [a.id for a in s.invited_agencies], "sequence": s.sequence,
            "mails": db.session.scalar(select(func.count()).select_from(OutboxMail))}


def _session_row(w: World) -> dict:
    s = db.session.get(SeminarSession, w.features.session_id)
    return {"times": (s.start_time, s.end_time), "title": s.title, "room": s.room,
            "capacity": s.capacity, "sign_up": s.sign_up,
            "presenters": [(p.name, p.agency_id, p.organisation) for p in s.presenters]}


def _agency_row(w: World) -> dict:
    a = db.session.get(Agency, w.agency.id)
    return {"name": a.name, "short_name": a.short_name, "colour": a.colour}


def _site_row(w: World) -> dict:
    s = db.session.get(Site, w.site.id)
    return {"name": s.name, "address": s.address,
            "hours": sorted((h.weekday, h.opens, h.closes) for h in s.opening_hours)}


def _resource_row(w: World) -> dict:
    r = db.session.get(Resource, w.room.id)
    return {c: getattr(r, c) for c in ("name", "site_id", "kind", "description", "capacity",
                                       "is_conversation_room", "has_screen", "has_video",
                                       "accessible", "active", "allocated_only")}


def _policy_row(w: World) -> dict:
    p = allocations.release_policy(db.session.get(Site, w.site.id))
    return {"days": p.working_days_before, "time": p.release_time}


def _agency_settings_row(w: World) -> dict:
    return {"staff_may_release": allocations.staff_may_release(w.agency.id)}


def _term_row(w: World) -> dict:
    t = db.session.get(Term, w.features.term.id)
    return {"first": t.first_day, "last": t.last_day}


def _occurrence_row(w: World) -> dict:
    o = db.session.get(ReservationOccurrence, w.bookings.occurrence_id)
    r = o.reservation
    return {"title": r.title, "attendees": r.attendees, "starts": o.starts_at, "ends": o.ends_at,
            "state": o.state, "occurrences": len(r.occurrences), "rrule": r.rrule}


def _working_hours_row(w: World) -> dict:
    return availability.working_hours_for([w.staff.id])[w.staff.id]


def _guest_row(w: World) -> dict:
    r = db.session.get(Registration, w.features.guest_registration_id)
    return {c: getattr(r, c) for c in ("dietary_needs", "accessibility_needs", "attendance_mode",
                                       "locale", "status")}


def _mail_choices_row(w: World) -> dict:
    from office.notifications import rules as notifications

    return {"off": sorted(notifications.opted_out(w.staff))}


def _check_in_row(w: World) -> dict:
    from office.checkin import rules as checkin

    return {kind.value: (p.required, p.grace_minutes) for kind, p in checkin.policies().items()}


def _minutes_row(w: World) -> dict:
    from office.meetings.models import MeetingOccurrence

    m = db.session.get(MeetingOccurrence, w.features.meeting_occurrence_id)
    return {"notes": m.minutes_notes, "decisions": [d.text for d in m.decisions],
            "shared": m.minutes_shared_with_staff, "status": m.minutes_status}


def _series_settings_row(w: World) -> dict:
    from office.meetings.models import MeetingSeries

    s = db.session.get(MeetingSeries, w.features.series_id)
    return {"chair": s.chair_id, "days": s.proposal_days}


def _placement_row(w: World) -> dict:
    from office.floorplans.models import Placement

    placement = db.session.get(Placement, w.room.id)
    return {"x": placement.x, "y": placement.y, "plan": placement.floor_plan_id}


def _task_row(w: World) -> dict:
    from seminars.models import PlanTask

    t = db.session.get(PlanTask, w.features.task_id)
    return {c: getattr(t, c) for c in ("title", "description", "due_on", "owner_id", "owner_series_id",
                                       "remind_days", "reminded_for", "done_at", "updated_at")}


def _directory_entry_row(w: World) -> dict:
    from office.directory import rules as directory

    return directory.entry_values(w.staff)


def _unit_description_row(w: World) -> dict:
    from office.directory import rules as directory

    return {"description": directory.unit_description(w.agency.units[0])}


def _capacity_row(w: World) -> dict:
    return {"capacity": w.seminar.capacity}


@dataclass(frozen=True)
class EditRoute:
    endpoint: str
    page: Callable[[World], str]                 # the page that shows the form
    row: Callable[[World], dict]                 # what the form saves
    change: tuple[str, str | None]               # a field and a new value (None: untick)
    changed: Callable[[dict], bool]              # the row after saving the change
    action: Callable[[World], str] | None = None  # the form's action when not the page itself
    who: str = "coordinator"                     # "coordinator", "staff" or "guest"


EDIT_ROUTES = [
    EditRoute("seminars.edit_seminar", lambda w: f"/seminars/{w.seminar.id}/edit", _seminar_row,
              ("title", "Arbetsgivarforum 2027"), lambda r: r["title"] == "Arbetsgivarforum 2027"),
    EditRoute("seminars.edit_session",
              lambda w: f"/seminars/{w.seminar.id}/sessions/{w.features.session_id}/edit", _session_row,
              ("title", "Välkomna och fika"), lambda r: r["title"] == "Välkomna och fika"),
    EditRoute("seminars.change_capacity", lambda w: f"/seminars/{w.seminar.id}", _capacity_row,
              ("capacity", "70"), lambda r: r["capacity"] == 70,
              action=lambda w: f"/seminars/{w.seminar.id}/capacity"),
    EditRoute("seminars.edit_task", lambda w: f"/seminars/plan/tasks/{w.features.task_id}/edit", _task_row,
              ("remind_days", "30"), lambda r: r["remind_days"] == 30),
    EditRoute("seminars.guest_registration", lambda w: f"/seminars/r/{w.features.guest_token}", _guest_row,
              ("dietary_needs", "Vegetarisk"), lambda r: r["dietary_needs"] == "Vegetarisk", who="guest"),
    EditRoute("premises.edit_agency", lambda w: f"/agencies/{w.agency.id}/edit", _agency_row,
              ("name", "Arbetsförmedlingen Nyköping"), lambda r: r["name"] == "Arbetsförmedlingen Nyköping"),
    EditRoute("premises.edit_site", lambda w: f"/sites/{w.site.id}/edit", _site_row,
              ("address", "Järnvägsgatan 2, Oxelösund"), lambda r: r["address"] == "Järnvägsgatan 2, Oxelösund"),
    EditRoute("premises.edit_resource", lambda w: f"/resources/{w.room.id}/edit", _resource_row,
              ("capacity", "48"), lambda r: r["capacity"] == 48),
    EditRoute("allocations.save_policy", lambda w: "/allocations/settings", _policy_row,
              ("working_days_before", "2"), lambda r: r["days"] == 2,
              action=lambda w: f"/allocations/settings/policy/{w.site.id}"),
    EditRoute("allocations.save_agency_settings", lambda w: "/allocations/settings", _agency_settings_row,
              ("staff_may_release", "y"), lambda r: r["staff_may_release"] is True,
              action=lambda w: f"/allocations/settings/agency/{w.agency.id}"),
    EditRoute("allocations.save_term", lambda w: "/allocations/settings", _term_row,
              ("last_day", None), lambda r: True,  # replaced in the test: a day earlier
              action=lambda w: f"/allocations/settings/terms/{w.features.term.id}"),
    EditRoute("bookings.change_occurrence", lambda w: f"/bookings/occurrences/{w.bookings.occurrence_id}",
              _occurrence_row, ("start", "15:15"), lambda r: r["starts"].minute == 15,
              action=lambda w: f"/bookings/occurrences/{w.bookings.occurrence_id}/change", who="staff"),
    EditRoute("availability.edit_availability", lambda w: "/availability/", _working_hours_row,
              ("opens_0", "07:30"), lambda r: r[0][0] == time(7, 30), who="staff"),
    EditRoute("checkin.settings", lambda w: "/check-in/settings", _check_in_row,
              ("room_minutes", "20"), lambda r: r["room"] == (False, 20)),
    EditRoute("meetings.save_minutes", lambda w: f"/meetings/occurrences/{w.features.meeting_occurrence_id}",
              _minutes_row, ("minutes-notes", "Läget gicks igenom."),
              lambda r: r["notes"] == "Läget gicks igenom.",
              action=lambda w: f"/meetings/occurrences/{w.features.meeting_occurrence_id}/minutes"),
    EditRoute("meetings.save_series_settings", lambda w: f"/meetings/series/{w.features.series_id}",
              _series_settings_row, ("settings-proposal_days", "5"), lambda r: r["days"] == 5,
              action=lambda w: f"/meetings/series/{w.features.series_id}/settings"),
    EditRoute("floorplans.save_place", lambda w: f"/floor-plans/{w.floor_plan_id}/places", _placement_row,
              ("x", "33.5"), lambda r: r["x"] == 33.5,
              action=lambda w: f"/floor-plans/{w.floor_plan_id}/places/{w.room.id}"),
    EditRoute("directory.edit_entry", lambda w: f"/directory/people/{w.staff.id}/edit", _directory_entry_row,
              ("help_with", "Praktikplatser och CV"), lambda r: r["help_with"] == "Praktikplatser och CV",
              who="staff"),
    EditRoute("directory.edit_unit", lambda w: f"/directory/units/{w.agency.units[0].id}/edit",
              _unit_description_row, ("description", "Jobbcoacher för unga vuxna."),
              lambda r: r["description"] == "Jobbcoacher för unga vuxna."),
    EditRoute("notifications.preferences", lambda w: "/account/mail", _mail_choices_row,
              ("meetings", None), lambda r: r["off"] == ["meetings"], who="staff"),
]

# Endpoints the url_map walk finds that are not an edit of an existing object's fields.
NOT_EDIT_FORMS = {
    # forms that create something new, or ask for something once
    "auth.login": "signs in", "auth.second_step": "a one-time code",
    "account.second_factor": "sets up two-step verification with a new secret",
    "account.new_recovery_codes": "makes new recovery codes", "account.remove_second_factor": "an action",
    "users.invite_user": "a new person", "floorplans.upload_plan": "a new floor plan", "allocations.new_allocation": "new allocations",
    "allocations.book_window": "a new booking", "meetings.series_list": "a new meeting series",
    "trepartssamtal.new_meeting": "a new trepartssamtal", "seminars.resend_link": "asks for new links",
    "seminars.change_state": "buttons (publish, cancel, finish), no fields to round-trip",
    "auth.change_password": "a password form is never rendered filled in",
    "auth.accept_invitation": "sets a first password once; the token then stops working",
    "allocations.save_resource_access": "a toggle button: submitting it is the change",
    "allocations.plan_cell": "adds a new allocation to a plan cell (tests/test_allocation_pages.py)",
    "allocations.release": "releases days of an allocation, an action with its own dates",
    "trepartssamtal.reschedule_meeting": "a search for new times; the meeting moves only when a "
                                         "proposal is picked (tests/test_trepartssamtal_views.py)",
    "seminars.public_seminar": "a guest's new registration",
    "seminars.evaluate": "a new evaluation, once",
    "seminars.guest_evaluate": "a new evaluation, once",
    "seminars.evaluate_by_link": "a new evaluation, once",
}


def _is_form_route(rule) -> bool:
    """Every page with a form (GET and POST) and every POST named edit/change/save."""
    name = rule.endpoint.rsplit(".", 1)[-1]
    return {"GET", "POST"} <= rule.methods or ("POST" in rule.methods and bool(re.search(r"edit|change|save", name)))


def test_every_edit_route_has_a_row(app):
    found = {rule.endpoint for rule in app.url_map.iter_rules() if _is_form_route(rule)}
    covered = {route.endpoint for route in EDIT_ROUTES}
    missing = found - covered - set(NOT_EDIT_FORMS)
    assert not missing, f"forms without a round-trip row (add one to EDIT_ROUTES, or say why not " \
                        f"in NOT_EDIT_FORMS): {sorted(missing)}"
    assert not (covered | set(NOT_EDIT_FORMS)) - found, "rows for routes that no longer exist"


# --- the round trips ---------------------------------------------------------------------

def _open(auth, world: World, route: EditRoute):
    if route.who != "guest":
        auth.login(world.coordinator if route.who == "coordinator" else world.staff)
    page = route.page(world)
    response = auth.client.get(page)
    assert response.status_code == 200, page
    action = route.action(world) if route.action else page
    return action, form_posting_to(response.get_data(as_text=True), page, action).submission()


def _assert_saved(response, what: str):
    body = response.get_data(as_text=True)
    errors = re.findall(r'class="(?:field-error|error-summary)"[^>]*>(.*?)</(?:p|div)>', body, re.S)
    assert response.status_code in (200, 302, 303), f"{what}: {response.status_code} {errors}"
    assert "error-summary" not in body and 'aria-invalid="true"' not in body, what


@pytest.mark.parametrize("route", EDIT_ROUTES, ids=[r.endpoint for r in EDIT_ROUTES])
def test_saving_an_edit_form_unchanged_succeeds_and_changes_nothing(auth, world, route):
    before = route.row(world)
    action, submission = _open(auth, world, route)
    response = auth.client.post(action, data=MultiDict(submission))
    _assert_saved(response, route.endpoint)
    db.session.expire_all()
    assert route.row(world) == before


@pytest.mark.parametrize("route", EDIT_ROUTES, ids=[r.endpoint for r in EDIT_ROUTES])
def test_saving_an_edit_form_with_one_change_saves_it(auth, world, route):
    before = route.row(world)
    action, submission = _open(auth, world, route)
    name, value = route.change
    changed = route.changed
    if route.endpoint == "allocations.save_term":  # the term's last day, one day earlier
        last = date.fromisoformat(dict(submission)["last_day"]) - timedelta(days=1)
        value, changed = last.isoformat(), (lambda r: r["last"] == last)
    response = auth.client.post(action, data=MultiDict(replace(submission, name, value)))
    _assert_saved(response, route.endpoint)
    db.session.expire_all()
    after = route.row(world)
    assert after != before and changed(after), after
