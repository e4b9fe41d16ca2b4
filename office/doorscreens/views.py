"""Door screens: the coordinator's device links, and the screen a tablet by the door shows."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_time
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from office.booking import rules as booking
from office.checkin import rules as checkin
from office.core.extensions import db, htmx
from office.core.forms import ConfirmForm, choices
from office.core.security import Role
from office.core.security import coordinator_required
from office.core.templating import add_nav_item
from office.doorscreens import rules as doorscreens
from office.doorscreens.fastpath import DoorPollFastPath
from office.doorscreens.forms import BookNowForm, DoorScreenForm
from office.doorscreens.models import DoorScreen
from office.feeds.reader import one_connection
from office.premises.models import Resource, ResourceKind, Site

bp = Blueprint("doorscreens", __name__)
STATE_TARGET = doorscreens.STATE_TARGET


# --- the coordinator's device links -----------------------------------------------------

def _form(formdata=None) -> DoorScreenForm:
    form = DoorScreenForm(formdata=formdata) if formdata is not None else DoorScreenForm()
    rooms = db.session.scalars(
        select(Resource).join(Resource.site)
        .where(Resource.active.is_(True), Resource.kind == ResourceKind.room)
        .order_by(Site.name, Resource.name)).all()
    form.resource_id.choices = choices([(r.id, f"{r.name}, {r.site.name}") for r in rooms])
    return form


def _page(form: DoorScreenForm | None = None, status: int = 200, **context):
    return render_template("doorscreens/manage.html", form=form or _form(),
                           screens=doorscreens.screens(), confirm_form=ConfirmForm(),
                           **context), status


@bp.get("/door-screens/")
@coordinator_required
def manage_screens():
    """The device links of every door screen, and a form for a new one."""
    return _page()


@bp.post("/door-screens/")
@coordinator_required
def create_screen():
    """Makes a device link for a room and shows it once."""
    form = _form(request.form)
    if not form.validate_on_submit():
        return _page(form, 422)
    resource = db.session.get(Resource, form.resource_id.data)
    screen, token = doorscreens.create_screen(resource, form.name.data, form.show_titles.data,
                                              current_user)
    link = url_for("doorscreens.door", token=token, _external=True)
    return _page(new_link=link, new_screen=screen)


@bp.post("/door-screens/<int:screen_id>/revoke")
@coordinator_required
def revoke_screen(screen_id: int):
    """Stops a device link at once: the tablet shows that its link no longer works."""
    screen = db.get_or_404(DoorScreen, screen_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    doorscreens.revoke_screen(screen, current_user)
    flash(_("The link of %(name)s no longer works.", name=screen.name), "success")
    return redirect(url_for("doorscreens.manage_screens"))


# --- the screen by the door --------------------------------------------------------------

def _etag(stamp: doorscreens.Stamp) -> str:
    # The page and its polled part are two representations: each its own tag.
    return doorscreens.part_etag(stamp) if htmx and htmx.target == STATE_TARGET else stamp.etag


def _screen_answer(token: str, status: int = 200, message: str | None = None,
                   form: BookNowForm | None = None):
    """The whole page, or only its state when the poll (or a button) asks for it."""
    screen = doorscreens.find_screen(token)
    if screen is None:
        abort(404)
    if screen.revoked_at is not None:
        partial = htmx and htmx.target == STATE_TARGET
        return render_template("doorscreens/_revoked.html" if partial else "doorscreens/revoked.html"), 410
    state = doorscreens.screen_state(screen)
    stamp = doorscreens.screen_stamp(token)
    template = "doorscreens/_state.html" if htmx and htmx.target == STATE_TARGET else "doorscreens/door.html"
    # The page keeps the part's tag: its poll asks for the part.
    body = render_template(template, state=state, token=token, etag=doorscreens.part_etag(stamp),
                           message=message, refused=status >= 400, form=form or BookNowForm(),
                           format_time=format_time,
                           poll_seconds=current_app.config.get("DOOR_SCREEN_POLL_SECONDS", 30))
    return body, status, {"ETag": _etag(stamp)}


@bp.get("/door/<token>")
def door(token: str):
    """The room's door screen: free or busy now, the current and next bookings, "Boka nu"."""
    with one_connection():
        stamp = doorscreens.screen_stamp(token)
    if stamp.found and not stamp.revoked and request.if_none_match.contains_weak(_etag(stamp).strip('"')):
        return "", 304, {"ETag": _etag(stamp)}
    return _screen_answer(token)


@bp.post("/door/<token>/book")
def book_now(token: str):
    """Books the room from this minute for 15, 30 or 60 minutes, in the screen's name."""
    screen = doorscreens.find_screen(token)
    if screen is None or screen.revoked_at is not None:
        return _screen_answer(token)
    form = BookNowForm()
    if not form.validate_on_submit():
        return _screen_answer(token, 422, _("Choose 15, 30 or 60 minutes."), form)
    try:
        reservation = doorscreens.book_now(screen, form.minutes.data)
    except booking.BookingRefused as refused:
        return _screen_answer(token, refused.status, " ".join(p.message for p in refused.problems), form)
    until = reservation.occurrences[0].ends_at
    return _screen_answer(token, message=_("Booked until %(time)s.", time=format_time(until, "HH:mm")))


@bp.post("/door/<token>/check-in")
def check_in(token: str):
    """Checks in the room's booking of this moment (anyone at the door may)."""
    screen = doorscreens.find_screen(token)
    if screen is None or screen.revoked_at is not None:
        return _screen_answer(token)
    if not ConfirmForm().validate_on_submit():
        return _screen_answer(token, 422, _("The form had expired. Send it again."))
    try:
        doorscreens.check_in_now(screen)
    except checkin.CheckInRefused as refused:
        return _screen_answer(token, 409, str(refused))
    return _screen_answer(token, message=_("Checked in. Welcome!"))


def init_app(app: Flask) -> None:
    """The blueprint, the coordinator's menu entry, and the poll's 304 before Flask."""
    app.register_blueprint(bp)
    add_nav_item("doorscreens.manage_screens", _l("Door screens"), roles=[Role.coordinator],
                 description=_l("Links for the tablets by the doors: create and revoke them."))
    app.wsgi_app = DoorPollFastPath(app, app.wsgi_app)
