"""Booking: the day/week grid of a site, the booking form, My bookings and the audit log.

Views parse, call office/booking/rules.py (every rule lives there) and render. htmx asks for
parts: the grid (`booking-grid`) and the form panel inside it (`booking-panel`).
"""

from __future__ import annotations

from datetime import date, datetime, time
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import MultiDict

from office.accounts.models import Agency, Role, User
from office.booking import audit_log
from office.booking import find_free as finder
from office.booking import grid as grids
from office.booking import rules as booking
from office.booking.forms import (
    AuditFilterForm,
    BookingForm,
    CancelForm,
    ChangeForm,
    FindFreeForm,
)
from office.booking.grid_cells import CellWords, RowsSlot, Viewer
from office.booking.models import ReservationOccurrence
from office.booking.rules import BookingRefused, BookingRequest
from office.core.database import utcnow, valid_id
from office.core.extensions import db, htmx
from office.core.forms import SENSIBLE_YEARS, choices
from office.core.i18n import to_local, today_local
from office.core.security import coordinator_required
from office.core.templating import add_nav_item
from office.core.transaction import read_connection, undo_refused_action
from office.premises.models import Resource, Site
from office.premises.rules import natural_key

bp = Blueprint("bookings", __name__)


@bp.record_once
def _plug_into_feeds(state) -> None:
    from office.booking.feeds import register_feeds

    register_feeds(state.app)  # its feed sources and kinds (office/booking/feeds.py)


add_nav_item("bookings.grid", _l("Bookings"), position=0)
add_nav_item("bookings.find_free", _l("Find a free room"), position=1)
add_nav_item("bookings.my_bookings", _l("My bookings"), position=2)
add_nav_item("bookings.audit", _l("Audit log"), roles=(Role.coordinator,),
             description=_l("Who booked, changed or cancelled what, and when."))

# Which form field a rule's message belongs to (for aria-describedby); others go on top.
PROBLEM_FIELDS = {
    "end_before_start": "end", "outside_hours": "start", "nonexistent_time": "start",
    "over_capacity": "attendees", "bad_attendees": "attendees", "too_long": "end",
    "empty_title": "title", "inactive_resource": "resource_id", "in_past": "day",
    "beyond_horizon": "day", "closed_day": "day", "taken": "start", "just_taken": "start",
}


# --- the grid -------------------------------------------------------------------

def _parse_day(value: str | None) -> date | None:
    """A date from a query string; None for nonsense and for years nobody books in."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day and SENSIBLE_YEARS[0] <= day.year <= SENSIBLE_YEARS[1] else None


def _grid_from_args(args) -> grids.Grid | None:
    site_id = valid_id(int(args["site"])) if args.get("site", "").isdigit() else None
    site = db.session.get(Site, site_id) if site_id else None
    day = _parse_day(args.get("day"))
    if site is None or day is None:
        return None
    view = grids.WEEK if args.get("view") == grids.WEEK else grids.DAY
    return grids.build_grid(site, view, day, grids.Filters.from_args(args))


def grid_url(grid: grids.Grid, day: date | None = None, **changes) -> str:
    args = {"site": grid.site.id, "view": grid.view, "day": (day or grid.first_day).isoformat(),
            **grid.filters.as_args(), **changes}
    return url_for("bookings.grid", **args)


@bp.get("/bookings/")
@login_required
def grid():
    """The day or week grid of a site, filtered; the URL names everything shown."""
    shown = _grid_from_args(request.args)
    if shown is None:
        site = db.session.scalar(select(Site).order_by(Site.name).limit(1))
        if site is None:
            return render_template("booking/grid.html", grid=None, sites=[])
        day = _parse_day(request.args.get("day")) or today_local()
        return redirect(url_for("bookings.grid", site=site.id, view=request.args.get("view", "day"),
                                day=day.isoformat(), **grids.Filters.from_args(request.args).as_args()))
    return _render_grid(shown)


def _render_grid(shown: grids.Grid, announce: str | None = None, status: int = 200):
    words = CellWords.for_page(url_for("bookings.new_booking"),
                               url_for("bookings.show_occurrence", occurrence_id=0)[:-1])
    rows = RowsSlot()
    # The sites for the chooser as plain rows (id, name): no ORM objects to build per page.
    sites = read_connection().execute(select(Site.id, Site.name).order_by(Site.name)).all()
    context = dict(grid=shown, sites=sites,
                   grid_url=grid_url, announce=announce, new_url=words.new_url, words=words,
                   viewer=Viewer.of(current_user), grid_rows=rows, today=today_local())
    part = htmx and htmx.target in ("booking-grid", "booking-panel")
    return rows.fill(render_template("booking/_grid.html" if part else "booking/grid.html",
                                     **context)), status


# --- booking ----------------------------------------------------------------------

def _people_choices(form) -> None:
    # Plain rows of (id, name, agency): the list holds everyone of the agency (or everyone, for
    # a coordinator), and an ORM object with a lazily loaded agency per person cost more than
    # the rest of the page.
    query = (select(User.id, User.name, Agency.short_name).join(User.agency)
             .where(User.active.is_(True), User.id != current_user.id).order_by(User.name))
    if not current_user.is_coordinator:
        query = query.where(User.agency_id == current_user.agency_id)
    form.booked_for_id.choices = choices(
        [(0, _("Myself"))] + [(id_, f"{name} ({agency})")
                              for id_, name, agency in read_connection().execute(query)]
    )


def _resource_choices(form) -> None:
    rows = read_connection().execute(
        select(Resource.id, Resource.name, Resource.kind, Site.name.label("site"))
        .join(Resource.site).where(Resource.active.is_(True))).all()
    rows.sort(key=lambda r: (r.site, r.kind.value != "room", natural_key(r.name)))
    form.resource_id.choices = choices((r.id, f"{r.site}: {r.name}") for r in rows)


def _booking_form(formdata=None) -> BookingForm:
    form = BookingForm(formdata=formdata) if formdata is not None else BookingForm()
    _resource_choices(form)
    _people_choices(form)
    return form


def request_from(form: BookingForm, user: User) -> BookingRequest:
    """A BookingRequest from a valid form (the same object the CLI builds)."""
    seen_at = None
    try:
        seen_at = datetime.fromisoformat(form.seen_at.data) if form.seen_at.data else None
    except ValueError:
        pass
    if seen_at is not None and seen_at.tzinfo is None:
        seen_at = None
    resource_id, booked_for_id = valid_id(form.resource_id.data), valid_id(form.booked_for_id.data)
    return BookingRequest(
        # With its site (the check reads its time zone): one statement, not two.
        resource=db.session.get(Resource, resource_id, options=[joinedload(Resource.site)])
        if resource_id else None, title=form.title.data or "",
        first_day=form.day.data, start_time=form.start.data, end_time=form.end.data,
        booked_by=user, attendees=form.attendees.data,
        booked_for=db.session.get(User, booked_for_id) if booked_for_id else None,
        rrule=form.rrule(), seen_at=seen_at,
    )


def show_problems(form, problems) -> list:
    """Put each problem on its field; return the rest (a series' dates, other rules) to list."""
    listed = []
    for found in problems:
        series = getattr(form, "repeat", None) is not None and form.repeat.data != "none"
        name = PROBLEM_FIELDS.get(found.code)
        field = getattr(form, name, None) if name else None
        if (found.day is not None and series) or field is None:
            listed.append(found)
        else:
            field.errors.append(found.message)
    return listed


def _current_grid() -> grids.Grid | None:
    """The grid the person is looking at (htmx sends its URL), to refresh after a change."""
    current = htmx.current_url if htmx else None
    if not current or urlsplit(current).path != url_for("bookings.grid"):
        return None
    return _grid_from_args(MultiDict([(k, v[0]) for k, v in parse_qs(urlsplit(current).query).items()]))


def _form_response(template: str, status: int = 200, **context):
    page = template if htmx.target == "booking-panel" else template.replace("/_", "/", 1)
    return render_template(page, **context), status


@bp.get("/bookings/new")
@login_required
def new_booking():
    """The booking form, filled in from the grid cell that was chosen."""
    form = _booking_form(MultiDict())
    args = request.args
    form.day.data = _parse_day(args.get("day")) or today_local()
    form.resource_id.data = int(args["resource"]) if args.get("resource", "").isdigit() else None
    for name in ("start", "end"):
        try:
            getattr(form, name).data = time.fromisoformat(args[name]) if args.get(name) else None
        except ValueError:
            pass
    if form.start.data and not form.end.data:
        form.end.data = time(min(form.start.data.hour + 1, 23), form.start.data.minute)
    if args.get("attendees", "").isdigit() and len(args["attendees"]) < 4:
        form.attendees.data = int(args["attendees"])
    form.title.data = args.get("title", "")[:200]
    form.seen_at.data = utcnow().isoformat()
    return _form_response("booking/_form.html", form=form, dated=[],
                          availability=_availability_of(form))


@bp.post("/bookings/new")
@login_required
def create_booking():
    """Books (or refuses with the reasons, date by date for a series)."""
    form = _booking_form()
    dated, status = [], 422
    if form.validate_on_submit():
        try:
            reservation = booking.book(request_from(form, current_user), allow_partial=form.partial.data)
            return _after_change(_("Booked: %(title)s, %(when)s.", title=reservation.title,
                                   when=_when(reservation.occurrences)), reservation.resource, form.day.data)
        except BookingRefused as refused:
            undo_refused_action()
            dated, status = show_problems(form, refused.problems), refused.status
    return _form_response("booking/_form.html", status, form=form, dated=dated, availability=None)


def _availability_of(form: BookingForm) -> booking.Check | None:
    """check_booking() of what the form holds so far (its `.resource` added for the page);
    None until the form names a place and a time."""
    if not (form.resource_id.data and form.day.data and form.start.data and form.end.data):
        return None
    try:
        request_ = request_from(form, current_user)
        if request_.resource is None:
            return None
        request_.title = request_.title or "-"  # a title is not what "free?" asks
        request_.seen_at = None
        check = booking.check_booking(request_)
    except (ValueError, TypeError, OverflowError):  # a half-typed series rule
        return None
    check.resource = request_.resource
    return check


@bp.get("/bookings/availability")
@login_required
def availability():
    """Whether the chosen room or desk is free then (the booking form asks as you edit it)."""
    form = BookingForm(formdata=request.args)  # no choices: only the answer is rendered
    for name in ("resource_id", "day", "start", "end", "attendees"):
        if getattr(form, name).process_errors:
            return render_template("booking/_availability.html", availability=None, form=form)
    return render_template("booking/_availability.html", availability=_availability_of(form),
                           form=form)


def _when(occurrences) -> str:
    active = [o for o in occurrences if o.is_active]
    text = ""
    if active:
        starts, ends = to_local(active[0].starts_at), to_local(active[0].ends_at)
        text = f"{format_date(starts.date(), 'EEEE d MMMM')} {starts:%H:%M}–{ends:%H:%M}"
    if len(active) > 1:
        text += " " + ngettext("(%(num)d occasion)", "(%(num)d occasions)", len(active))
    return text


def _after_change(message: str, resource: Resource, day: date):
    """htmx: the refreshed grid with the message announced; otherwise back to the grid."""
    if htmx:
        shown = _current_grid()
        if shown is not None:
            response = _render_grid(shown, announce=message)[0]
            return response, 200, {"HX-Retarget": "#booking-grid", "HX-Reswap": "innerHTML"}
    flash(message, "success")
    return redirect(url_for("bookings.grid", site=resource.site_id, view="day", day=day.isoformat()))


@bp.get("/bookings/close")
@login_required
def close_panel():
    """Closes the form panel ("book nothing"); without htmx, back to the grid."""
    if htmx.target == "booking-panel":
        message = escape(_("Nothing was booked."))
        return f'<p class="visually-hidden" data-announce="{message}">{message}</p>'
    return redirect(url_for("bookings.grid"))


# --- finding a free room or desk -------------------------------------------------

def _find_form() -> tuple[FindFreeForm, dict[int, Site]]:
    """The search form and the sites it offers, by id (kept: the session's identity map holds
    only weak references, so a site looked up again after its list is gone is read again)."""
    form = FindFreeForm(request.args)
    sites = {s.id: s for s in db.session.scalars(select(Site).order_by(Site.name))}
    form.site.choices = choices((s.id, s.name) for s in sites.values())
    if "day" not in request.args:  # the first visit: the next hour the site is open
        if form.site.data is None and sites:
            form.site.data = next(iter(sites))
        site = sites.get(form.site.data)
        form.day.data, form.start.data, form.end.data = finder.suggested_time(site, utcnow())
    return form, sites


def _search_from(form: FindFreeForm, site: Site) -> finder.FreeSearch:
    return finder.FreeSearch(
        site=site, day=form.day.data, start_time=form.start.data,
        end_time=form.end.data, whole_day=form.whole_day.data, people=form.people.data or 1,
        kind=form.kind.data or "", screen=form.screen.data, video=form.video.data,
        accessible=form.accessible.data, title=form.title.data or "")


@bp.get("/bookings/find")
@login_required
def find_free():
    """The rooms and desks free for you at a time, smallest that fits first; else the nearest times."""
    (form, sites), answer, status = _find_form(), None, 200
    if "day" in request.args:
        site = sites.get(form.site.data)
        if form.validate() and site is not None:
            answer = finder.find_free(_search_from(form, site), current_user, now=utcnow())
        else:
            status = 422
    return render_template("booking/find.html", form=form, answer=answer, seen_at=utcnow(),
                           default_title=finder.default_title), status


# --- one booking: see, change, cancel ---------------------------------------------

def _managed_occurrence(occurrence_id: int) -> ReservationOccurrence:
    occurrence = db.get_or_404(ReservationOccurrence, occurrence_id)
    if not booking.can_manage(current_user, occurrence.reservation):
        abort(404)  # do not confirm that someone else's booking exists
    return occurrence


def _change_form(occurrence, formdata=None) -> ChangeForm:
    reservation = occurrence.reservation
    if formdata is not None:
        return ChangeForm(formdata=formdata)
    return ChangeForm(formdata=None, title=reservation.title, attendees=reservation.attendees,
                      day=to_local(occurrence.starts_at).date(),
                      start=to_local(occurrence.starts_at).time(), end=to_local(occurrence.ends_at).time())


@bp.get("/bookings/occurrences/<int:occurrence_id>")
@login_required
def show_occurrence(occurrence_id: int):
    """One booked occasion with the forms to change or cancel it."""
    occurrence = _managed_occurrence(occurrence_id)
    return _form_response("booking/_occurrence.html", occurrence=occurrence,
                          form=_change_form(occurrence), cancel_form=CancelForm(), dated=[])


@bp.get("/bookings/<int:reservation_id>")
@login_required
def show_reservation(reservation_id: int):
    """A booking as calendar feeds link to it: its next occasion (or its last one)."""
    occurrences = db.session.scalars(
        select(ReservationOccurrence).where(ReservationOccurrence.reservation_id == reservation_id)
        .order_by(ReservationOccurrence.starts_at)
    ).all()
    if not occurrences or not booking.can_manage(current_user, occurrences[0].reservation):
        abort(404)  # as for the occasion itself: do not confirm that someone else's exists
    now = utcnow()
    upcoming = [o for o in occurrences if o.ends_at > now and o.is_active]
    target = upcoming[0] if upcoming else occurrences[-1]
    return redirect(url_for("bookings.show_occurrence", occurrence_id=target.id))


@bp.post("/bookings/occurrences/<int:occurrence_id>/change")
@login_required
def change_occurrence(occurrence_id: int):
    """Changes this occasion, this and the following, or all still ahead."""
    occurrence = _managed_occurrence(occurrence_id)
    form, dated, status = _change_form(occurrence, request.form), [], 422
    if form.validate_on_submit():
        try:
            reservation = booking_change(occurrence, form, current_user)
            return _after_change(_("Changed: %(title)s.", title=reservation.title),
                                 reservation.resource, form.day.data or today_local())
        except BookingRefused as refused:
            undo_refused_action()
            dated, status = show_problems(form, refused.problems), refused.status
    return _form_response("booking/_occurrence.html", status, occurrence=occurrence, form=form,
                          cancel_form=CancelForm(), dated=dated)


def booking_change(occurrence, form: ChangeForm, actor: User):
    """Calls the change function of office/booking/rules.py that the chosen scope names."""
    reservation = occurrence.reservation
    fields = dict(start_time=form.start.data, end_time=form.end.data)
    if not reservation.is_recurring:
        return booking.change_reservation(reservation, actor, title=form.title.data or "",
                                          attendees=form.attendees.data,
                                          first_day=form.day.data or reservation.first_day, **fields)
    if form.scope.data == "one":
        booking.change_occurrence(occurrence, actor, day=form.day.data or reservation.first_day, **fields)
        return reservation
    if form.scope.data == "following":
        return booking.change_following(occurrence, actor, title=form.title.data or "",
                                        attendees=form.attendees.data, **fields)
    return booking.change_reservation(reservation, actor, title=form.title.data or "",
                                      attendees=form.attendees.data, **fields)


@bp.post("/bookings/occurrences/<int:occurrence_id>/cancel")
@login_required
def cancel_occurrence(occurrence_id: int):
    """Cancels this occasion, this and the following, or the whole booking."""
    occurrence = _managed_occurrence(occurrence_id)
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    reservation = occurrence.reservation
    day = to_local(occurrence.starts_at).date()
    if form.scope.data == "all" or not reservation.is_recurring:
        booking.cancel_reservation(reservation, current_user)
    elif form.scope.data == "following":
        booking.cancel_following(occurrence, current_user)
    else:
        booking.cancel_occurrence(occurrence, current_user)
    return _after_change(_("Cancelled: %(title)s.", title=reservation.title), reservation.resource, day)


@bp.get("/bookings/mine")
@login_required
def my_bookings():
    """The occasions ahead that you booked or that were booked for you."""
    return render_template("booking/my_bookings.html", occurrences=booking.upcoming_for(current_user))


# --- audit log ----------------------------------------------------------------

@bp.get("/audit/")
@coordinator_required
def audit():
    """Who created, changed or cancelled which booking, and when; filterable."""
    form = AuditFilterForm(request.args)
    audit_log.fill_choices(form)
    page = min(max(request.args.get("page", 1, type=int), 1), audit_log.MAX_PAGE)
    entries = audit_log.search(audit_log.AuditQuery.from_form(form) if form.validate() else
                               audit_log.AuditQuery(), page=page)
    return render_template("booking/audit_log.html", form=form, entries=entries,
                           labels=audit_log.ACTION_LABELS)



