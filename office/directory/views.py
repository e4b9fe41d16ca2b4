"""Who does what: the staff directory, searched live, and the pages that edit it."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from office.accounts.models import Unit, User
from office.core.errors import render_error
from office.core.extensions import db, htmx
from office.core.templating import add_nav_item
from office.directory import rules
from office.directory.forms import DirectoryEntryForm, DirectorySearchForm, UnitDescriptionForm

bp = Blueprint("directory", __name__)


@bp.get("/directory")
@login_required
def index():
    """Agencies, units and staff with what they help with; live search with ?q=."""
    form = DirectorySearchForm(request.args)
    valid = form.validate()
    query = (form.q.data or "").strip() if valid else ""
    groups = rules.directory(query) if valid else []
    context = {"form": form, "groups": groups, "query": query, "valid": valid,
               "count": sum(len(g.listings) for g in groups),
               "can_edit_entry": rules.can_edit_entry, "can_edit_unit": rules.can_edit_unit}
    status = 200 if valid else 422
    if htmx and htmx.target == "directory-results":
        return render_template("directory/_results.html", partial=True, **context), status
    return render_template("directory/index.html", **context), status


@bp.route("/directory/people/<int:user_id>/edit", methods=["GET", "POST"])
@login_required
def edit_entry(user_id: int):
    """A person's directory entry: role, what they help with, contact, days in the premises."""
    person = db.get_or_404(User, user_id)
    if not rules.can_edit_entry(current_user, person):
        return render_error(403, _("Only the person, their agency's administrator or the "
                                   "coordinator can change this entry."))
    form = DirectoryEntryForm(data=rules.entry_values(person))
    if form.validate_on_submit():
        rules.save_entry(person, current_user, **form.values())
        flash(_("The directory entry of %(name)s is saved.", name=person.name), "success")
        return redirect(url_for("directory.index", q=person.name))
    return render_template("directory/edit_entry.html", form=form, person=person,
                           listing=rules.listing_of(person)), 422 if form.errors else 200


@bp.route("/directory/units/<int:unit_id>/edit", methods=["GET", "POST"])
@login_required
def edit_unit(unit_id: int):
    """What a unit does, written by its agency's administrator or the coordinator."""
    unit = db.get_or_404(Unit, unit_id)
    if not rules.can_edit_unit(current_user, unit):
        return render_error(403, _("Only the agency's administrator or the coordinator can "
                                   "describe this unit."))
    form = UnitDescriptionForm(data={"description": rules.unit_description(unit)})
    if form.validate_on_submit():
        rules.save_unit_description(unit, form.description.data)
        flash(_("The description of %(unit)s is saved.", unit=unit.name), "success")
        return redirect(url_for("directory.index"))
    return render_template("directory/edit_unit.html", form=form, unit=unit), \
        422 if form.errors else 200


def init_app(app: Flask) -> None:
    from office.demo.seed import add_demo_step
    from office.directory.demo import seed_directory

    app.register_blueprint(bp)
    add_nav_item("directory.index", _l("Who does what"))
    add_demo_step(seed_directory)  # entries for the demo staff
