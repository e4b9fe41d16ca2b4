"""Floor plan rules: keeping plans, placing rooms and desks, and each place's state at a moment.

The state of a place at a moment, in the order it is decided:
closed (the site is closed then), booked (an active booking covers the moment), released (a
booking nobody checked in to was released: free again, office/checkin), held (inside an
agency's allocation that is not released: only its staff may book), unavailable (a resource
bookable only inside allocations, outside any), else free. Booking from the plan goes
through office/booking/rules.py like every other booking; the database has the last word.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import select

from office.accounts.models import User
from office.allocations import rules as allocations
from office.booking import rules as booking
from office.booking.models import ReservationKind, ReservationOccurrence
from office.checkin import rules as checkin
from office.checkin.models import OccurrenceCheckIn
from office.core import clock
from office.core.extensions import db
from office.floorplans.images import CheckedImage
from office.floorplans.models import FloorPlan, Placement
from office.premises import rules as premises
from office.premises.models import Resource, Site

NAME_LENGTH = 80
QUARTER = timedelta(minutes=15)


class PlanRefused(ValueError):
    """A change to plans or places that is not allowed; str() is the message."""


# --- keeping plans ----------------------------------------------------------------------------

def all_plans() -> list[FloorPlan]:
    plans = db.session.scalars(select(FloorPlan).join(FloorPlan.site)).all()
    return sorted(plans, key=lambda p: (p.site.name, premises.natural_key(p.name)))


def create_plan(site: Site, name: str, image: CheckedImage, actor: User) -> FloorPlan:
    name = name.strip()
    taken = db.session.scalar(select(FloorPlan.id).where(FloorPlan.site_id == site.id, FloorPlan.name == name))
    if taken is not None:
        raise PlanRefused(_l("%(site)s already has a plan called %(name)s.", site=site.name, name=name))
    plan = FloorPlan(site=site, name=name)
    _set_image(plan, image)
    db.session.add(plan)
    db.session.flush()
    booking.audit(actor, "floor_plan_created", plan, f"site={site.id} type={image.media_type}")
    return plan


def replace_image(plan: FloorPlan, image: CheckedImage, actor: User) -> None:
    """A new picture of the same floor; the places keep their percentages."""
    _set_image(plan, image)
    db.session.flush()
    booking.audit(actor, "floor_plan_image", plan, f"type={image.media_type}")


def _set_image(plan: FloorPlan, image: CheckedImage) -> None:
    plan.media_type, plan.image = image.media_type, image.data
    plan.width, plan.height, plan.image_version = image.width, image.height, image.version
    plan.updated_at = clock.now()


def delete_plan(plan: FloorPlan, actor: User) -> None:
    booking.audit(actor, "floor_plan_deleted", plan, f"site={plan.site_id}")
    db.session.delete(plan)
    db.session.flush()


# --- placing rooms and desks --------------------------------------------------------------------

def placeable_resources(plan: FloorPlan) -> list[Resource]:
    """The site's active rooms and desks, rooms first (those on other floors too: moving them
    here is allowed)."""
    found = db.session.scalars(select(Resource).where(Resource.site_id == plan.site_id,
                                                      Resource.active.is_(True)))
    return premises.sorted_resources(found)


def placements_by_resource(resource_ids) -> dict[int, Placement]:
    ids = list(resource_ids)
    if not ids:
        return {}
    return {p.resource_id: p for p in db.session.scalars(
        select(Placement).where(Placement.resource_id.in_(ids)))}


def place(plan: FloorPlan, resource: Resource, x: float, y: float, actor: User) -> Placement:
    """Put the resource at (x, y) percent of the plan (moving it off another floor)."""
    if resource.site_id != plan.site_id or not resource.active:
        raise PlanRefused(_l("%(name)s is not a room or desk of %(site)s.", name=resource.name,
                             site=plan.site.name))
    if not (0 <= x <= 100 and 0 <= y <= 100):
        raise PlanRefused(_l("The place must be on the plan: 0 to 100 percent."))
    placement = db.session.get(Placement, resource.id) or Placement(resource_id=resource.id)
    placement.floor_plan_id, placement.x, placement.y = plan.id, round(x, 1), round(y, 1)
    db.session.add(placement)
    db.session.flush()
    booking.audit(actor, "floor_plan_place", plan, f"resource={resource.id} x={placement.x} y={placement.y}")
    return placement


def unplace(plan: FloorPlan, resource: Resource, actor: User) -> bool:
    placement = db.session.get(Placement, resource.id)
    if placement is None or placement.floor_plan_id != plan.id:
        return False
    db.session.delete(placement)
    db.session.flush()
    booking.audit(actor, "floor_plan_unplace", plan, f"resource={resource.id}")
    return True


# --- the state of each place at a moment ---------------------------------------------------------

class PlaceState(str, enum.Enum):
    free = "free"
    booked = "booked"
    held = "held"              # an agency's allocation, not released
    released = "released"      # a no-show's booking, released: free again
    unavailable = "unavailable"  # bookable only inside an allocation, and there is none
    closed = "closed"


STATE_LABELS = {
    PlaceState.free: _l("Free"),
    PlaceState.booked: lazy_pgettext("a cell of the booking grid", "Booked"),
    PlaceState.held: _l("Held by an agency"),
    PlaceState.released: _l("Released (no-show)"),
    PlaceState.unavailable: _l("Not bookable"),
    PlaceState.closed: _l("Closed"),
}


# The words inside a mark on the plan, short enough for a desk; the list says more.
MARK_LABELS = {
    PlaceState.free: _l("Free"),
    PlaceState.booked: lazy_pgettext("a cell of the booking grid", "Booked"),
    PlaceState.held: lazy_pgettext("a place on a floor plan", "Held"),
    PlaceState.released: lazy_pgettext("a place on a floor plan", "Released"),
    PlaceState.unavailable: _l("Not bookable"),
    PlaceState.closed: _l("Closed"),
}


@dataclass
class Place:
    resource: Resource
    x: float
    y: float
    state: PlaceState
    bookable: bool = False
    until: time | None = None         # local: when the booking ends, or when the free time ends
    occurrence_id: int | None = None  # the booking now (booked)
    title: str | None = None          # None for a trepartssamtal (never shown)
    booker_name: str | None = None
    agency_short_name: str | None = None  # of the booking or of the allocation
    agency_id: int | None = None
    mine: bool = False
    check_in_due: bool = False        # my booking must be checked in, and check-in is open

    @property
    def label(self) -> str:
        return str(STATE_LABELS[self.state])

    @property
    def mark_label(self) -> str:
        return str(MARK_LABELS[self.state])


@dataclass
class PlanAt:
    plan: FloorPlan
    day: date
    at: time
    moment: datetime  # aware
    closed_reason: str | None  # None when open at that moment
    places: list[Place]

    @property
    def counts(self) -> dict[PlaceState, int]:
        counts: dict[PlaceState, int] = {}
        for place_ in self.places:
            counts[place_.state] = counts.get(place_.state, 0) + 1
        return counts


def next_quarter(moment: datetime, zone: ZoneInfo) -> tuple[date, time]:
    """The local day and time of the next quarter hour from `moment` (the default on the plan)."""
    local = moment.astimezone(zone).replace(second=0, microsecond=0)
    minutes = (-local.minute) % 15
    local = local + timedelta(minutes=minutes)
    return local.date(), local.time()


def plan_at(plan: FloorPlan, day: date, at: time, viewer: User) -> PlanAt:
    """Every place of the plan with its state at local `day` `at`, for `viewer`."""
    zone = ZoneInfo(plan.site.timezone)
    moment = datetime.combine(day, at, zone)
    placements = db.session.scalars(
        select(Placement).join(Placement.resource)
        .where(Placement.floor_plan_id == plan.id, Resource.active.is_(True))).all()
    by_id = {p.resource_id: p for p in placements}
    resources = premises.sorted_resources([p.resource for p in placements])
    window = premises.opening_window(plan.site, day)
    closed_reason = _closed_reason(plan.site, day, window, moment)
    if closed_reason is not None:
        return PlanAt(plan, day, at, moment, closed_reason, [
            Place(r, by_id[r.id].x, by_id[r.id].y, PlaceState.closed) for r in resources])
    ids = [r.id for r in resources]
    day_start, day_end = window
    rows = booking.occurrence_rows_between(ids, day_start, day_end)
    released = _released_at(ids, moment)
    windows = allocations.allocation_windows(plan.site, ids, day, day) if ids else []
    policy = checkin.policies()
    places = [_place(r, by_id[r.id], moment, day_end, zone, rows, released, windows, viewer, policy)
              for r in resources]
    _mark_check_ins(places, moment)
    return PlanAt(plan, day, at, moment, None, places)


def _closed_reason(site: Site, day: date, window, moment: datetime) -> str | None:
    if window is None:
        closed = premises.closed_days(site, day, day).get(day)
        return closed.reason if closed else ""
    if not window[0] <= moment < window[1]:
        return ""
    return None


def _released_at(resource_ids: list[int], moment: datetime) -> dict[int, datetime]:
    """Resource id -> until when a released no-show's time runs, at `moment`."""
    if not resource_ids:
        return {}
    query = (select(ReservationOccurrence.resource_id, OccurrenceCheckIn.booked_until)
             .join(OccurrenceCheckIn, OccurrenceCheckIn.occurrence_id == ReservationOccurrence.id)
             .where(ReservationOccurrence.resource_id.in_(resource_ids),
                    OccurrenceCheckIn.released_at.is_not(None),
                    OccurrenceCheckIn.released_at <= moment, OccurrenceCheckIn.booked_until > moment))
    return {resource_id: until for resource_id, until in db.session.execute(query)}


def _place(resource, placement, moment, day_end, zone, rows, released, windows, viewer, policy) -> Place:
    place_ = Place(resource, placement.x, placement.y, PlaceState.free)
    mine = [row for row in rows if row.resource_id == resource.id]
    now_row = next((row for row in mine if row.starts_at <= moment < row.ends_at), None)
    if now_row is not None:
        place_.state, place_.until = PlaceState.booked, now_row.ends_at.astimezone(zone).time()
        place_.occurrence_id = now_row.id
        place_.title = None if now_row.kind == ReservationKind.trepartssamtal else now_row.title
        place_.booker_name, place_.agency_short_name = now_row.booker_name, now_row.agency_short_name
        place_.agency_id = now_row.agency_id
        place_.mine = viewer.id in (now_row.booked_by_id, now_row.booked_for_id)
        place_.check_in_due = (place_.mine and now_row.kind not in checkin.EXEMPT_KINDS
                               and policy[resource.kind].required)
        return place_
    next_start = min((row.starts_at for row in mine if row.starts_at > moment), default=day_end)
    window = next((w for w in windows if w.resource_id == resource.id and w.starts_at <= moment < w.ends_at),
                  None)
    if resource.id in released:
        place_.state = PlaceState.released
    elif window is not None and not window.released:
        place_.state = PlaceState.held
        place_.agency_id, place_.agency_short_name = window.agency.id, window.agency.short_name
        next_start = min(next_start, window.ends_at)
    elif window is not None:  # released by the agency: anyone may book; say whose it was
        place_.agency_id, place_.agency_short_name = window.agency.id, window.agency.short_name
        next_start = min(next_start, window.ends_at)
    elif resource.allocated_only:
        place_.state = PlaceState.unavailable
    place_.until = next_start.astimezone(zone).time()
    place_.bookable = (place_.state in (PlaceState.free, PlaceState.released)
                       or (place_.state == PlaceState.held
                           and (viewer.is_coordinator or viewer.agency_id == place_.agency_id)))
    return place_


def _mark_check_ins(places: list[Place], moment: datetime) -> None:
    """Check-in is offered only when the moment shown is now-ish and nobody checked in yet."""
    due = [p for p in places if p.check_in_due]
    if not due:
        return
    now = clock.now()
    done = checkin.state_of([p.occurrence_id for p in due])
    for place_ in due:
        row = done.get(place_.occurrence_id)
        occurrence = db.session.get(ReservationOccurrence, place_.occurrence_id)
        is_open = occurrence.starts_at - checkin.EARLY <= now < occurrence.ends_at
        place_.check_in_due = is_open and (row is None or row.checked_in_at is None)


# --- booking a place ------------------------------------------------------------------------------

def book_place(plan: FloorPlan, resource: Resource, day: date, start: time, end: time, title: str,
               user: User, seen_at: datetime | None = None):
    """Books the place through the booking rules (raises booking.BookingRefused/Conflict)."""
    if resource.site_id != plan.site_id:
        raise PlanRefused(_l("%(name)s is not a room or desk of %(site)s.", name=resource.name,
                             site=plan.site.name))
    return booking.book(booking.BookingRequest(
        resource=resource, title=title, first_day=day, start_time=start, end_time=end,
        booked_by=user, seen_at=seen_at))
