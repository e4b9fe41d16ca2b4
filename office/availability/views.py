"""Each staff member's own working hours and absences, so trepartssamtal proposals are real."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from office.availability import rules as availability
from office.availability.forms import ABSENCE_LABELS, AbsenceForm, WorkingHoursForm
from office.availability.models import Absence, AbsenceKind
from office.core.database import utcnow
from office.core.extensions import db
from office.core.forms import WEEKDAY_NAMES, ConfirmForm
from office.core.i18n import local_zone
from office.core.templating import add_nav_item

bp = Blueprint("availability", __name__, url_prefix="/availability")







def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=local_zone()).astimezone(timezone.utc)


def _page(hours_form, absence_form, status=200):
    absences = db.session.scalars(
        select(Absence).where(Absence.user_id == current_user.id, Absence.ends_at > utcnow())
        .order_by(Absence.starts_at)
    ).all()
    return render_template("availability/working_hours.html", form=hours_form, absence_form=absence_form,
                           absences=absences, labels=ABSENCE_LABELS, weekday_names=WEEKDAY_NAMES,
                           confirm=ConfirmForm()), status


@bp.route("/", methods=["GET", "POST"])
@login_required
def edit_availability():
    """Your working hours per weekday and your coming absences."""
    form = WorkingHoursForm()
    if not form.is_submitted():
        for weekday, (starts, ends) in availability.working_hours_for([current_user.id])[current_user.id].items():
            getattr(form, f"opens_{weekday}").data = starts
            getattr(form, f"closes_{weekday}").data = ends
    if form.validate_on_submit():
        hours = {w: (getattr(form, f"opens_{w}").data, getattr(form, f"closes_{w}").data)
                 for w in range(7) if getattr(form, f"opens_{w}").data}
        availability.set_working_hours(current_user.id, hours)
        flash(_("Your working hours are saved."), "success")
        return redirect(url_for("availability.edit_availability"))
    return _page(form, AbsenceForm(formdata=None), 422 if form.is_submitted() else 200)


@bp.post("/absences")
@login_required
def add_absence():
    """Adds an absence (leave, course) to your calendar."""
    form = AbsenceForm()
    if form.validate_on_submit():
        availability.add_absence(current_user.id, AbsenceKind(form.kind.data),
                                 _aware(form.starts.data), _aware(form.ends.data))
        flash(_("The absence is added."), "success")
        return redirect(url_for("availability.edit_availability"))
    return _page(WorkingHoursForm(formdata=None), form, 422)


@bp.post("/absences/<int:absence_id>/delete")
@login_required
def delete_absence(absence_id: int):
    """Removes one of your own absences."""
    absence = db.session.get(Absence, absence_id)
    if absence is None or absence.user_id != current_user.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    db.session.delete(absence)
    flash(_("The absence is removed."), "success")
    return redirect(url_for("availability.edit_availability"))


add_nav_item("availability.edit_availability", _l("My working hours"))
