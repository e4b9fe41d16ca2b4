"""Floor plans: the plans of every site, a plan at a chosen time to book from, and the
coordinator's upload and placement pages.

htmx asks for parts: the plan with its places (`floor-plan`) and the booking panel beside it
(`plan-panel`). Without JavaScript every part is a page of its own.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from office.booking import rules as booking
from office.booking.views import show_problems
from office.core import clock
from office.core.database import utcnow, valid_id
from office.core.extensions import db, htmx
from office.core.forms import SENSIBLE_YEARS, ConfirmForm, choices
from office.core.security import coordinator_required
from office.core.templating import add_nav_item
from office.core.transaction import undo_refused_action
from office.floorplans import images
from office.floorplans import rules as floorplans
from office.floorplans.forms import (
    PlaceBookingForm,
    PlacementForm,
    ReplaceImageForm,
    UploadForm,
)
from office.floorplans.models import FloorPlan
from office.premises.models import Resource, ResourceKind, Site

bp = Blueprint("floorplans", __name__)
PLAN_TARGET, PANEL_TARGET = "floor-plan", "plan-panel"
# The upload's own limit is images.MAX_BYTES (with a message); the request may be a bit larger.
UPLOAD_REQUEST_LIMIT = images.MAX_BYTES + 256 * 1024
# Served pictures: nothing inside may run or load anything (an SVG opened on its own is a page).
IMAGE_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"


# --- the plans, and one plan at a moment -----------------------------------------------------------

@bp.get("/floor-plans/")
@login_required
def index():
    """The floor plans of every site (the coordinator also uploads and places from here)."""
    return render_template("floorplans/index.html", plans=floorplans.all_plans(), confirm_form=ConfirmForm())


def _moment(plan: FloorPlan, args) -> tuple[date, time]:
    """The day and time asked for; the next quarter hour where the query names none (or nonsense)."""
    default_day, default_time = floorplans.next_quarter(clock.now(), ZoneInfo(plan.site.timezone))
    try:
        day = date.fromisoformat(args.get("day", ""))
        day = day if SENSIBLE_YEARS[0] <= day.year <= SENSIBLE_YEARS[1] else default_day
    except ValueError:
        day = default_day
    try:
        at = time.fromisoformat(args.get("time", ""))
        at = at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0, tzinfo=None)
    except ValueError:
        at = default_time
    return day, at


def _chosen_place(shown: floorplans.PlanAt, args) -> floorplans.Place | None:
    wanted = valid_id(int(args["place"])) if args.get("place", "").isdigit() and len(args["place"]) < 12 else None
    return next((p for p in shown.places if p.resource.id == wanted), None)


@bp.get("/floor-plans/<int:plan_id>")
@login_required
def show_plan(plan_id: int):
    """The plan at the chosen day and time: each place free, booked, held or released."""
    plan = db.get_or_404(FloorPlan, plan_id)
    shown = floorplans.plan_at(plan, *_moment(plan, request.args), current_user)
    chosen = _chosen_place(shown, request.args)
    form = _booking_form_for(shown, chosen) if chosen is not None and chosen.bookable else None
    announce = None
    if htmx and htmx.target == PLAN_TARGET:  # another day or time: say which (aria-live)
        announce = _("The places %(day)s at %(time)s", day=format_date(shown.day, "EEEE d MMMM y"),
                     time=shown.at.strftime("%H:%M"))
    return _render_plan(shown, chosen, form, announce=announce)


def _render_plan(shown, chosen=None, form=None, status: int = 200, announce: str | None = None,
                 part: str | None = None):
    """The page, or the part htmx asked for (`part` overrides what it asked for)."""
    context = dict(shown=shown, chosen=chosen, form=form, announce=announce, check_in_form=ConfirmForm(),
                   states=floorplans.PlaceState, labels=floorplans.STATE_LABELS)
    part = part or (htmx.target if htmx else None)
    if part == PANEL_TARGET:
        return render_template("floorplans/_panel.html", **context), status
    if part == PLAN_TARGET:
        return render_template("floorplans/_plan.html", **context), status
    return render_template("floorplans/plan.html", **context), status


def _booking_form_for(shown: floorplans.PlanAt, place: floorplans.Place) -> PlaceBookingForm:
    """The booking panel's form: from the time shown until an hour later or the place's next change."""
    form = PlaceBookingForm(formdata=None)
    start = datetime.combine(shown.day, shown.at)
    end = min(start + timedelta(hours=1), datetime.combine(shown.day, place.until or time(23, 45)))
    form.resource_id.data, form.day.data = str(place.resource.id), shown.day
    form.start.data, form.end.data = shown.at, end.time()
    form.title.data = _("Desk") if place.resource.kind == ResourceKind.desk else _("Meeting")
    form.seen_at.data = utcnow().isoformat()
    return form


@bp.post("/floor-plans/<int:plan_id>/book")
@login_required
def book_place(plan_id: int):
    """Books a place from the plan (the booking rules decide; a clash says who got there first)."""
    plan = db.get_or_404(FloorPlan, plan_id)
    form = PlaceBookingForm()
    resource_id = valid_id(int(form.resource_id.data)) if (form.resource_id.data or "").isdigit() else None
    resource = db.session.get(Resource, resource_id) if resource_id else None
    if resource is None or resource.site_id != plan.site_id:
        abort(404)
    status = 422
    if form.validate_on_submit():
        try:
            floorplans.book_place(plan, resource, form.day.data, form.start.data, form.end.data,
                                  form.title.data or "", current_user, _seen_at(form))
            message = _("Booked: %(place)s, %(start)s–%(end)s.", place=resource.name,
                        start=form.start.data.strftime("%H:%M"), end=form.end.data.strftime("%H:%M"))
            return _after_booking(plan, form.day.data, form.start.data, message)
        except booking.BookingRefused as refused:
            undo_refused_action()
            form.problems, status = show_problems(form, refused.problems), refused.status
    # The plan at the time asked for (or, if the form holds no time, the next quarter hour).
    moment = (form.day.data, form.start.data) if form.day.data and form.start.data else _moment(plan, MultiDict())
    shown = floorplans.plan_at(plan, *moment, current_user)
    chosen = next((p for p in shown.places if p.resource.id == resource.id), None)
    return _render_plan(shown, chosen or _unplaced(resource), form, status)


def _unplaced(resource: Resource) -> floorplans.Place:
    return floorplans.Place(resource, 0, 0, floorplans.PlaceState.free)


def _seen_at(form) -> datetime | None:
    try:
        seen = datetime.fromisoformat(form.seen_at.data) if form.seen_at.data else None
    except ValueError:
        return None
    return seen if seen is not None and seen.tzinfo is not None else None


def _after_booking(plan: FloorPlan, day: date, at: time, message: str):
    """htmx: the refreshed plan with the booking announced; otherwise the plan again."""
    if htmx:
        shown = floorplans.plan_at(plan, day, at, current_user)
        response = _render_plan(shown, announce=message, part=PLAN_TARGET)[0]
        return response, 200, {"HX-Retarget": f"#{PLAN_TARGET}", "HX-Reswap": "outerHTML"}
    flash(message, "success")
    return redirect(url_for("floorplans.show_plan", plan_id=plan.id, day=day.isoformat(),
                            time=at.strftime("%H:%M")))


@bp.get("/floor-plans/<int:plan_id>/image")
@login_required
def plan_image(plan_id: int):
    """The plan's picture, as stored after the checks: an inert SVG or a PNG."""
    plan = db.get_or_404(FloorPlan, plan_id)
    response = make_response(plan.image)
    response.headers["Content-Type"] = plan.media_type
    response.headers["Content-Security-Policy"] = IMAGE_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.set_etag(plan.image_version)
    return response.make_conditional(request)


# --- the coordinator's pages ---------------------------------------------------------------------

def _upload_form(form_class=UploadForm):
    form = form_class()
    if hasattr(form, "site_id"):
        sites = db.session.scalars(select(Site).order_by(Site.name)).all()
        form.site_id.choices = choices((s.id, s.name) for s in sites)
    return form


def _checked_upload(form) -> images.CheckedImage | None:
    """The file's checked picture, or None with the reason on the file field."""
    data = form.image.data.read(images.MAX_BYTES + 1) if form.image.data else b""
    try:
        return images.check_upload(data, form.pdf_page.data or 1)
    except images.ImageRefused as refused:
        form.image.errors = [*form.image.errors, str(refused)]
        return None


@bp.route("/floor-plans/new", methods=["GET", "POST"])
@coordinator_required
def upload_plan():
    """Uploads the plan of a floor: an SVG, a PNG or a page of a PDF."""
    form = _upload_form()
    if form.validate_on_submit():
        image = _checked_upload(form)
        site = db.session.get(Site, form.site_id.data)
        if image is not None and site is not None:
            try:
                plan = floorplans.create_plan(site, form.name.data, image, current_user)
                flash(_("The plan is saved. Now put the rooms and desks on it."), "success")
                return redirect(url_for("floorplans.place_resources", plan_id=plan.id))
            except floorplans.PlanRefused as refused:
                form.name.errors = [str(refused)]
    return render_template("floorplans/upload.html", form=form), 422 if request.method == "POST" else 200


@bp.get("/floor-plans/<int:plan_id>/places")
@coordinator_required
def place_resources(plan_id: int):
    """Where each room and desk sits: click or drag on the plan, or type it in per place."""
    return _placement_page(db.get_or_404(FloorPlan, plan_id))


def _placement_page(plan: FloorPlan, failed: tuple[int, PlacementForm] | None = None,
                    replace_form: ReplaceImageForm | None = None, status: int = 200):
    resources = floorplans.placeable_resources(plan)
    placed = floorplans.placements_by_resource(r.id for r in resources)
    forms = {}
    for resource in resources:
        here = placed.get(resource.id)
        data = {"x": here.x, "y": here.y} if here and here.floor_plan_id == plan.id else {}
        forms[resource.id] = _placement_form(resource, formdata=None, data=data)
    if failed:
        forms[failed[0]] = failed[1]
    return render_template("floorplans/places.html", plan=plan, resources=resources, placed=placed,
                           forms=forms, replace_form=replace_form or ReplaceImageForm(formdata=None)), status


def _placement_form(resource: Resource, **options) -> PlacementForm:
    """One form per place on one page: the same field names, ids of their own."""
    form = PlacementForm(**options)
    for field in (form.x, form.y, form.remove):
        field.id = field.label.field_id = f"r{resource.id}-{field.name}"
    return form


@bp.post("/floor-plans/<int:plan_id>/places/<int:resource_id>")
@coordinator_required
def save_place(plan_id: int, resource_id: int):
    """Puts one room or desk on the plan (or takes it off)."""
    plan = db.get_or_404(FloorPlan, plan_id)
    resource = db.get_or_404(Resource, resource_id)
    if resource.site_id != plan.site_id:
        abort(404)  # not a place of this floor's site
    form = _placement_form(resource)
    if form.remove.data:  # the CSRF token was checked for every POST (CSRFProtect)
        if floorplans.unplace(plan, resource, current_user):
            flash(_("%(name)s is off the plan.", name=resource.name), "success")
        return redirect(url_for("floorplans.place_resources", plan_id=plan.id) + f"#place-{resource.id}")
    if form.validate_on_submit():
        try:
            floorplans.place(plan, resource, form.x.data, form.y.data, current_user)
            flash(_("%(name)s is on the plan.", name=resource.name), "success")
            return redirect(url_for("floorplans.place_resources", plan_id=plan.id) + f"#place-{resource.id}")
        except floorplans.PlanRefused as refused:
            undo_refused_action()
            form.x.errors = [*form.x.errors, str(refused)]
    return _placement_page(plan, (resource.id, form), status=422)


@bp.post("/floor-plans/<int:plan_id>/replace")
@coordinator_required
def replace_image(plan_id: int):
    """A new picture of the floor; the rooms and desks keep their places."""
    plan = db.get_or_404(FloorPlan, plan_id)
    form = ReplaceImageForm()
    if form.validate_on_submit():
        image = _checked_upload(form)
        if image is not None:
            floorplans.replace_image(plan, image, current_user)
            flash(_("The new picture is saved."), "success")
            return redirect(url_for("floorplans.place_resources", plan_id=plan.id))
    return _placement_page(plan, replace_form=form, status=422)


@bp.post("/floor-plans/<int:plan_id>/delete")
@coordinator_required
def delete_plan(plan_id: int):
    """Deletes a floor plan and its places (the rooms, desks and bookings stay)."""
    plan = db.get_or_404(FloorPlan, plan_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    name = str(plan)
    floorplans.delete_plan(plan, current_user)
    flash(_("The plan %(name)s is deleted.", name=name), "success")
    return redirect(url_for("floorplans.index"))


def _allow_plan_sized_uploads() -> None:
    # Before CSRFProtect reads the form: the app's limit (MAX_CONTENT_LENGTH) is for forms.
    if request.endpoint in ("floorplans.upload_plan", "floorplans.replace_image"):
        request.max_content_length = UPLOAD_REQUEST_LIMIT


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request_funcs.setdefault(None, []).insert(0, _allow_plan_sized_uploads)
    add_nav_item("floorplans.index", _l("Floor plans"), position=2)
    from office.demo.seed import add_demo_step
    from office.floorplans.demo import seed_floor_plan

    add_demo_step(seed_floor_plan)
