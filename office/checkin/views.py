"""Check-in: the coordinator's settings, and checking in from the booking page."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from office.booking import rules as booking
from office.booking.models import ReservationOccurrence
from office.checkin import rules as checkin
from office.checkin.forms import CheckInPolicyForm
from office.core import clock
from office.core.extensions import db
from office.core.forms import ConfirmForm
from office.core.security import Role, coordinator_required
from office.core.templating import add_nav_item
from office.premises.models import ResourceKind

bp = Blueprint("checkin", __name__)


@bp.route("/check-in/settings", methods=["GET", "POST"])
@coordinator_required
def settings():
    """Whether rooms and desks must be checked in, and how long before a no-show is released."""
    current = checkin.policies()
    room, desk = current[ResourceKind.room], current[ResourceKind.desk]
    form = CheckInPolicyForm(data={"room_required": room.required, "room_minutes": room.grace_minutes,
                                   "desk_required": desk.required, "desk_minutes": desk.grace_minutes})
    if form.validate_on_submit():
        checkin.set_policy(ResourceKind.room, form.room_required.data, form.room_minutes.data, current_user)
        checkin.set_policy(ResourceKind.desk, form.desk_required.data, form.desk_minutes.data, current_user)
        flash(_("The check-in settings are saved."), "success")
        return redirect(url_for("checkin.settings"))
    return render_template("checkin/settings.html", form=form), 422 if form.errors else 200


@bp.post("/check-in/occurrences/<int:occurrence_id>")
@login_required
def check_in(occurrence_id: int):
    """Checks in a booked occasion (the booker, the person booked for or the coordinator)."""
    occurrence = db.get_or_404(ReservationOccurrence, occurrence_id)
    if not booking.can_manage(current_user, occurrence.reservation):
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        checkin.check_in(occurrence, current_user)
        flash(_("You are checked in."), "success")
    except checkin.CheckInRefused as refused:
        flash(str(refused), "error")
    return redirect(url_for("bookings.show_occurrence", occurrence_id=occurrence.id))


def check_in_status(occurrence: ReservationOccurrence) -> dict:
    """What a booking page shows of check-in (a template global)."""
    row = checkin.state_of([occurrence.id]).get(occurrence.id)
    now = clock.now()
    return {
        "needed": checkin.needs_check_in(occurrence),
        "checked_in_at": row.checked_in_at if row else None,
        "released_at": row.released_at if row else None,
        "open": occurrence.starts_at - checkin.EARLY <= now < occurrence.ends_at,
    }


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_global(check_in_status)
    add_nav_item("checkin.settings", _l("Check-in"), roles=[Role.coordinator],
                 description=_l("Which rooms and desks need check-in, and when unused bookings are released."))
