"""Agencies, sites and resources: everyone sees them, the coordinator manages them."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from office.accounts.models import Agency, Unit
from office.core.extensions import db
from office.core.forms import WEEKDAY_NAMES, ConfirmForm, choices
from office.core.i18n import today_local
from office.core.security import coordinator_required
from office.core.transaction import conflicts_become, undo_refused_action
from office.premises import rules as premises
from office.premises.forms import AgencyForm, ClosureForm, ResourceForm, SiteWithHoursForm, UnitForm
from office.premises.models import Closure, OpeningHours, Resource, ResourceKind, Site

bp = Blueprint("premises", __name__)


class _NameTaken(Exception):
    """A unique name or day is taken (the database's constraint said so)."""


def _saved_or_report(form, field_name: str, message: str) -> bool:
    """Write now; when the name (or day) is taken, undo and put the message on the field."""
    try:
        with conflicts_become(_NameTaken):
            db.session.flush()
        return True
    except _NameTaken:
        undo_refused_action()
        getattr(form, field_name).errors.append(message)
        return False


# How far ahead a change of opening hours is checked against what is booked.
IMPACT_DAYS = 366


def _flash_cancelled(impact) -> None:
    cancelled = sum(1 for item in impact if item.cancels)
    flagged = len(impact) - cancelled
    if cancelled:
        flash(ngettext("%(num)d booking is cancelled and the people concerned are told by mail.",
                       "%(num)d bookings are cancelled and the people concerned are told by mail.",
                       cancelled), "info")
    if flagged:
        flash(ngettext("%(num)d seminar day is in the closed time: check the seminar.",
                       "%(num)d seminar days are in the closed time: check the seminars.",
                       flagged), "warning")


# --- Agencies ---------------------------------------------------------------

@bp.get("/agencies/")
@login_required
def list_agencies():
    """The agencies sharing the premises, with their units."""
    agencies = db.session.scalars(select(Agency).order_by(Agency.name)).all()
    return render_template("premises/agencies.html", agencies=agencies)


@bp.route("/agencies/new", methods=["GET", "POST"])
@bp.route("/agencies/<int:agency_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit_agency(agency_id: int | None = None):
    """Add an agency or change its name, short name and colour."""
    agency = db.get_or_404(Agency, agency_id) if agency_id else Agency()
    form = AgencyForm(obj=agency)
    if form.validate_on_submit():
        form.populate_obj(agency)
        db.session.add(agency)
        if _saved_or_report(form, "name", _("An agency with this name or short name exists.")):
            flash(_("The agency is saved."), "success")
            return redirect(url_for("premises.list_agencies"))
    status = 422 if form.is_submitted() else 200
    return render_template("premises/agency_form.html", form=form, agency=agency,
                           unit_form=UnitForm(), confirm=ConfirmForm()), status


@bp.post("/agencies/<int:agency_id>/units")
@coordinator_required
def add_unit(agency_id: int):
    """Adds a unit (e.g. Arbetsmarknadsenheten) to an agency."""
    agency = db.get_or_404(Agency, agency_id)
    form = UnitForm()
    if form.validate_on_submit():
        db.session.add(Unit(agency=agency, name=form.name.data.strip()))
        if _saved_or_report(form, "name", _("The agency already has a unit with this name.")):
            flash(_("The unit is added."), "success")
            return redirect(url_for("premises.edit_agency", agency_id=agency.id))
    return render_template("premises/agency_form.html", form=AgencyForm(obj=agency), agency=agency,
                           unit_form=form, confirm=ConfirmForm()), 422


@bp.post("/agencies/<int:agency_id>/units/<int:unit_id>/delete")
@coordinator_required
def delete_unit(agency_id: int, unit_id: int):
    """Removes a unit; its staff keep their agency."""
    unit = db.get_or_404(Unit, unit_id)
    if unit.agency_id != agency_id or not ConfirmForm().validate_on_submit():
        abort(400)
    db.session.delete(unit)
    flash(_("The unit is removed."), "success")
    return redirect(url_for("premises.edit_agency", agency_id=agency_id))


@bp.get("/agencies/colours.css")
def agency_colours():
    """Agency colours as CSS classes (our CSP forbids inline styles)."""
    agencies = db.session.scalars(select(Agency).order_by(Agency.id)).all()
    css = "\n".join(
        f".agency-{a.id} {{ --agency-colour: {a.colour}; }}" for a in agencies
    )
    return Response(css, mimetype="text/css", headers={"Cache-Control": "no-cache"})


# --- Sites ------------------------------------------------------------------

@bp.get("/sites/")
@login_required
def list_sites():
    """The sites with their addresses and opening hours."""
    sites = db.session.scalars(select(Site).order_by(Site.name)).all()
    return render_template("premises/sites.html", sites=sites, weekday_names=WEEKDAY_NAMES)


@bp.get("/sites/<int:site_id>")
@login_required
def show_site(site_id: int):
    """One site: opening hours, resources and the closed days ahead."""
    site = db.get_or_404(Site, site_id)
    today = today_local()
    closed = premises.closed_days(site, today, today + timedelta(days=365))
    return render_template(
        "premises/site.html", site=site, closed=sorted(closed.values(), key=lambda c: c.day),
        closures={c.day: c for c in site.closures}, weekday_names=WEEKDAY_NAMES,
        closure_form=ClosureForm(), confirm=ConfirmForm(),
    )


@bp.route("/sites/new", methods=["GET", "POST"])
@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit_site(site_id: int | None = None):
    """Add a site or change its name, address and opening hours."""
    site = db.get_or_404(Site, site_id) if site_id else Site()
    form = SiteWithHoursForm(obj=site)
    if not form.is_submitted():
        for hours in site.opening_hours:
            getattr(form, f"opens_{hours.weekday}").data = hours.opens
            getattr(form, f"closes_{hours.weekday}").data = hours.closes
    impact = []
    if form.validate_on_submit() and site.id:
        new_hours = {w: (getattr(form, f"opens_{w}").data, getattr(form, f"closes_{w}").data)
                     for w in range(7) if getattr(form, f"opens_{w}").data}
        today = today_local()
        fits = premises.within_hours(site, new_hours)
        impact = premises.closure_impact(site, today, today + timedelta(days=IMPACT_DAYS), fits)
        if impact and form.confirmed.data != "1":
            form.confirmed.data = "1"  # shown once; saving now cancels what is listed
            return render_template("premises/site_form.html", form=form, site=site,
                                   weekday_names=WEEKDAY_NAMES, impact=impact)
        impact = premises.closure_impact(site, today, today + timedelta(days=IMPACT_DAYS), fits,
                                         apply=True, actor=current_user)
    if form.validate_on_submit():
        site.name = form.name.data.strip()
        site.address = (form.address.data or "").strip()
        if site.id:  # old rows out first: (site, weekday) is unique and inserts flush first
            site.opening_hours = []
            db.session.flush()
        site.opening_hours = [
            OpeningHours(weekday=w, opens=getattr(form, f"opens_{w}").data,
                         closes=getattr(form, f"closes_{w}").data)
            for w in range(7) if getattr(form, f"opens_{w}").data
        ]
        db.session.add(site)
        if _saved_or_report(form, "name", _("A site with this name exists.")):
            flash(_("The site is saved."), "success")
            _flash_cancelled(impact)
            return redirect(url_for("premises.show_site", site_id=site.id))
    status = 422 if form.is_submitted() else 200
    return render_template("premises/site_form.html", form=form, site=site,
                           weekday_names=WEEKDAY_NAMES), status


@bp.post("/sites/<int:site_id>/closures")
@coordinator_required
def add_closure(site_id: int):
    """Closes the site for a day (beyond the public holidays)."""
    site = db.get_or_404(Site, site_id)
    form = ClosureForm()
    already = form.validate_on_submit() and db.session.scalar(
        select(Closure.id).where(Closure.site_id == site.id, Closure.day == form.day.data))
    if already:
        form.day.errors.append(_("The site is already closed that day."))
    elif form.validate_on_submit():
        day = form.day.data
        impact = premises.closure_impact(site, day, day)
        if impact and form.confirmed.data != "1":
            form.confirmed.data = "1"  # seen: the next post closes the day and cancels these
            return render_template("premises/closure_confirm.html", site=site, form=form,
                                   impact=impact, day=day)
        db.session.add(Closure(site=site, day=day, reason=(form.reason.data or "").strip()))
        db.session.flush()
        impact = premises.closure_impact(site, day, day, apply=True, actor=current_user)
        if _saved_or_report(form, "day", _("The site is already closed that day.")):
            flash(_("The closed day is added."), "success")
            _flash_cancelled(impact)
            return redirect(url_for("premises.show_site", site_id=site.id))
    today = today_local()
    closed = premises.closed_days(site, today, today + timedelta(days=365))
    return render_template(
        "premises/site.html", site=site, closed=sorted(closed.values(), key=lambda c: c.day),
        closures={c.day: c for c in site.closures}, weekday_names=WEEKDAY_NAMES,
        closure_form=form, confirm=ConfirmForm(),
    ), 422


@bp.post("/sites/<int:site_id>/closures/<int:closure_id>/delete")
@coordinator_required
def delete_closure(site_id: int, closure_id: int):
    """Opens a day the coordinator had closed."""
    closure = db.get_or_404(Closure, closure_id)
    if closure.site_id != site_id or not ConfirmForm().validate_on_submit():
        abort(400)
    db.session.delete(closure)
    flash(_("The closed day is removed."), "success")
    return redirect(url_for("premises.show_site", site_id=site_id))


# --- Resources --------------------------------------------------------------

@bp.get("/resources/")
@login_required
def list_resources():
    """Every room and desk with capacity and features."""
    resources = sorted(
        db.session.scalars(select(Resource).join(Resource.site)),
        key=lambda r: (r.site.name, r.kind.value != "room", premises.natural_key(r.name)))
    return render_template("premises/resources.html", resources=resources, kinds=ResourceKind)


@bp.route("/resources/new", methods=["GET", "POST"])
@bp.route("/resources/<int:resource_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit_resource(resource_id: int | None = None):
    """Add a room or desk, or change one."""
    resource = db.get_or_404(Resource, resource_id) if resource_id else Resource()
    form = ResourceForm(obj=resource)
    form.site_id.choices = choices(
        (s.id, s.name) for s in db.session.scalars(select(Site).order_by(Site.name))
    )
    if form.validate_on_submit():
        form.populate_obj(resource)
        resource.kind = ResourceKind(form.kind.data)
        resource.name = resource.name.strip()
        db.session.add(resource)
        if _saved_or_report(form, "name", _("The site already has a resource with this name.")):
            flash(_("The resource is saved."), "success")
            return redirect(url_for("premises.list_resources"))
    if resource.kind and not form.is_submitted():
        form.kind.data = resource.kind.value
    status = 422 if form.is_submitted() else 200
    return render_template("premises/resource_form.html", form=form, resource=resource), status
