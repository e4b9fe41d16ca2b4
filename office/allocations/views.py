"""Allocations: the plan, creating and releasing allocations, settings, terms, utilization."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from office.accounts.models import Agency, Role
from office.allocations import rules, utilization
from office.allocations.forms import (
    PATTERN_LABELS,
    AgencySettingsForm,
    AllocationForm,
    BookWindowForm,
    CopyTermForm,
    PlanCellForm,
    ReleaseForm,
    ReleasePolicyForm,
    ResourceAccessForm,
    TermForm,
    UtilizationForm,
    YearForm,
)
from office.allocations.models import Allocation, ReleasePolicy, Term, WeekPattern
from office.booking import rules as booking
from office.checkin import usage
from office.core import export
from office.core.database import valid_id
from office.core.extensions import db, htmx
from office.core.forms import SENSIBLE_YEARS, WEEKDAY_NAMES, ConfirmForm, choices
from office.core.i18n import today_local
from office.core.security import admin_required, coordinator_required
from office.core.templating import add_nav_item
from office.core.transaction import undo_refused_action
from office.premises.models import Resource, Site
from office.premises.rules import sorted_resources

bp = Blueprint("allocations", __name__, url_prefix="/allocations")


@bp.record_once
def _plug_into_feeds(state) -> None:
    from office.allocations.feeds import register_feeds

    register_feeds(state.app)  # its feed sources and kinds (office/allocations/feeds.py)


add_nav_item("allocations.plan", _l("Allocation plan"))
add_nav_item("allocations.utilization_page", _l("Utilization"), (Role.coordinator, Role.agency_admin),
             description=_l("Booked, used and no-show hours per agency and room or desk."))


# --- helpers ------------------------------------------------------------------

def _sites() -> list[Site]:
    return db.session.scalars(select(Site).order_by(Site.name)).all()


def _terms() -> list[Term]:
    return db.session.scalars(select(Term).order_by(Term.first_day)).all()


def _agency_choices():
    agencies = db.session.scalars(select(Agency).order_by(Agency.short_name)).all()
    return choices([(a.id, f"{a.short_name} – {a.name}") for a in agencies])


def _site_from_args() -> Site | None:
    site_id = valid_id(request.args.get("site", type=int))
    site = db.session.get(Site, site_id) if site_id else None
    return site or db.session.scalar(select(Site).order_by(Site.name).limit(1))


def _week_from_args() -> date:
    """The Monday of ?week=2026-W53 (this week when missing, malformed or in a year nobody
    plans: the plan's links to the weeks around it must not leave the calendar)."""
    text = request.args.get("week", "")
    try:
        year, week = text.split("-W")
        if not SENSIBLE_YEARS[0] <= int(year) <= SENSIBLE_YEARS[1]:
            raise ValueError(year)
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        today = today_local()
        return today - timedelta(days=today.weekday())


def week_param(monday: date) -> str:
    iso = monday.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def plan_context(site: Site, monday: date) -> dict:
    """What the plan shows: resources × the site's open weekdays of one week, with windows."""
    resources = sorted_resources(db.session.scalars(
        select(Resource).where(Resource.site_id == site.id, Resource.active.is_(True))))
    days = [monday + timedelta(days=i) for i in range(7)]
    calendar = rules.AllocationCalendar(site, [r.id for r in resources], days[0], days[-1])
    weekdays = sorted(calendar.open_weekdays) or list(range(5))
    cells = {(r.id, d): calendar.windows_on(r.id, d) for r in resources for d in days}
    week = monday.isocalendar().week
    return {
        "site": site, "sites": _sites(), "resources": resources,
        "days": [d for d in days if d.weekday() in weekdays], "cells": cells,
        "closed": calendar.closed, "week": week, "odd": week % 2 == 1,
        "week_param": week_param(monday), "previous": week_param(monday - timedelta(days=7)),
        "next": week_param(monday + timedelta(days=7)), "weekday_names": WEEKDAY_NAMES,
        "terms": _terms(), "copy_form": _copy_form(), "confirm": ConfirmForm(),
        "term": rules.term_containing(monday + timedelta(days=3)), "term_name": rules.term_name,
    }


def _copy_form() -> CopyTermForm:
    form = CopyTermForm()
    form.term_id.choices = choices([(t.id, rules.term_name(t)) for t in _terms()])
    return form


def _allocation_form() -> AllocationForm:
    form = AllocationForm()
    form.agency_id.choices = _agency_choices()
    resources = db.session.scalars(
        select(Resource).join(Resource.site).where(Resource.active.is_(True))
        .order_by(Site.name, Resource.kind, Resource.name)).all()
    form.resource_ids.choices = choices([(r.id, f"{r.name} ({r.site.name})") for r in resources])
    form.term_id.choices = choices([(0, _("No term: give the dates"))] +
                                   [(t.id, rules.term_name(t)) for t in _terms()])
    return form


def _spec_from(form: AllocationForm) -> rules.AllocationSpec | None:
    term = db.session.get(Term, form.term_id.data) if form.term_id.data else None
    first = term.first_day if term else form.first_day.data
    last = term.last_day if term else form.last_day.data
    if first is None or last is None:
        form.first_day.errors.append(_("Choose a term or give the first and last day."))
        return None
    resources = db.session.scalars(
        select(Resource).where(Resource.id.in_(form.resource_ids.data or []))).all()
    return rules.AllocationSpec(
        agency=db.get_or_404(Agency, form.agency_id.data), resources=list(resources),
        weekdays=form.weekdays.data or [], start_time=form.start_time.data,
        end_time=form.end_time.data, first_day=first, last_day=last,
        pattern=WeekPattern(form.pattern.data), interval_weeks=form.interval_weeks.data or 1,
        weeks_of_month="".join(form.weeks_of_month.data or []), term=term,
        note=form.note.data or "",
    )


def _save_allocations(spec, choice, on_error):
    """Create the allocations; on refusal render `on_error(status, **context)`."""
    try:
        return rules.create_allocations(spec, current_user, choice), None
    except rules.AllocationRefused as refused:
        undo_refused_action()
        return None, on_error(refused.status, messages=refused.messages, clashes=refused.clashes)
    except rules.BookingsCovered as covered:
        undo_refused_action()
        return None, on_error(409, covered=covered.occurrences)


# --- the list and the form ------------------------------------------------------

@bp.get("/")
@login_required
def index():
    """Every allocation, newest term first, with release links for those who may release."""
    rows = db.session.scalars(
        select(Allocation).join(Allocation.resource)
        .order_by(Allocation.first_day.desc(), Allocation.agency_id, Resource.name)).all()
    return render_template("allocations/list.html", allocations=rows, rules=rules,
                           pattern_labels=PATTERN_LABELS, confirm=ConfirmForm())


@bp.route("/new", methods=["GET", "POST"])
@coordinator_required
def new_allocation():
    """Give rooms or desks to an agency on a recurring pattern."""
    form = _allocation_form()
    if form.validate_on_submit() and (spec := _spec_from(form)) is not None:
        choice = rules.CoveredChoice(form.covered.data) if form.covered.data in ("keep", "cancel") else None

        def refuse(status, **context):
            return render_template("allocations/form.html", form=form, **context), status

        created, error = _save_allocations(spec, choice, refuse)
        if error is not None:
            return error
        flash(ngettext("%(num)d allocation saved.", "%(num)d allocations saved.", len(created)), "success")
        return redirect(url_for("allocations.index"))
    status = 422 if form.is_submitted() else 200
    return render_template("allocations/form.html", form=form), status


@bp.post("/<int:allocation_id>/delete")
@coordinator_required
def delete_allocation(allocation_id: int):
    """Removes an allocation (its bookings stay)."""
    allocation = db.get_or_404(Allocation, allocation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    rules.delete_allocation(allocation, current_user)
    flash(_("The allocation is removed."), "success")
    return redirect(request.form.get("next") if request.form.get("next", "").startswith("/allocations/")
                    else url_for("allocations.index"))


# --- the plan -----------------------------------------------------------------

@bp.get("/plan")
@login_required
def plan():
    """Resources × weekdays of a week, coloured and labelled by agency."""
    site = _site_from_args()
    if site is None:
        return render_template("allocations/plan.html", site=None, sites=[])
    context = plan_context(site, _week_from_args())
    if htmx and htmx.target == "allocation-plan":
        return render_template("allocations/_plan.html", **context)
    return render_template("allocations/plan.html", **context)


def _cell_form(resource: Resource, day: date) -> PlanCellForm:
    form = PlanCellForm()
    form.agency_id.choices = _agency_choices()
    return form


def _render_cell(resource, day, form=None, status=200, **extra):
    calendar = rules.AllocationCalendar(resource.site, [resource.id], day, day)
    return render_template(
        "allocations/_cell.html", resource=resource, day=day,
        windows=calendar.windows_on(resource.id, day), form=form,
        term=rules.term_containing(day), term_name=rules.term_name, confirm=ConfirmForm(), **extra,
    ), status


@bp.route("/plan/cell/<int:resource_id>/<day>", methods=["GET", "POST"])
@coordinator_required
def plan_cell(resource_id: int, day: str):
    """One cell of the plan, edited in place: add a weekly allocation for the term."""
    resource = db.get_or_404(Resource, resource_id)
    day_value = _parse_day(day)
    form = _cell_form(resource, day_value)
    if request.method == "GET":
        return _render_cell(resource, day_value, form if request.args.get("edit") else None)
    term = rules.term_containing(day_value)
    if term is None:
        return _render_cell(resource, day_value, form, 422, messages=[_("No term covers this day: add the term first.")])
    if not form.validate_on_submit():
        return _render_cell(resource, day_value, form, 422)
    spec = rules.AllocationSpec(
        agency=db.get_or_404(Agency, form.agency_id.data), resources=[resource],
        weekdays=[day_value.weekday()], start_time=form.start_time.data,
        end_time=form.end_time.data, first_day=term.first_day, last_day=term.last_day,
        pattern=WeekPattern(form.pattern.data), term=term,
    )
    choice = rules.CoveredChoice(form.covered.data) if form.covered.data in ("keep", "cancel") else None
    # Not `_, error`: a local `_` would shadow gettext for the whole view (a 500 above).
    _created, error = _save_allocations(spec, choice, lambda status, **c: _render_cell(
        resource, day_value, form, status, **c))
    return error or _render_cell(resource, day_value, None, 200, saved=True)


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        abort(404)


@bp.post("/plan/copy")
@coordinator_required
def copy_plan():
    """Copies a term's allocations to the next term."""
    form = _copy_form()
    if not form.validate_on_submit():
        abort(400)
    source = db.get_or_404(Term, form.term_id.data)
    target = rules.next_term(source)
    result = rules.copy_term_plan(source, target, current_user)
    flash(_("%(created)d allocations copied to %(term)s; %(skipped)d skipped because they clash.",
            created=len(result.created), term=rules.term_name(target), skipped=len(result.skipped)),
          "success" if not result.skipped else "error")
    return redirect(url_for("allocations.plan", week=week_param(target.first_day - timedelta(
        days=target.first_day.weekday()))))


# --- releasing and booking released time -------------------------------------

@bp.route("/<int:allocation_id>/release", methods=["GET", "POST"])
@login_required
def release(allocation_id: int):
    """Give back allocated time: one day or a date range; anyone may then book it."""
    allocation = db.get_or_404(Allocation, allocation_id)
    if not rules.can_release(current_user, allocation):
        abort(403)
    form = ReleaseForm()
    if form.validate_on_submit():
        try:
            count = rules.release_allocation(allocation, current_user, form.first_day.data,
                                             form.last_day.data)
        except rules.ReleaseRefused as refused:
            undo_refused_action()
            form.first_day.errors.append(str(refused))
        else:
            flash(ngettext("%(num)d day released: anyone may now book that time.",
                           "%(num)d days released: anyone may now book that time.", count), "success")
            return redirect(url_for("allocations.index"))
    status = 422 if form.is_submitted() else 200
    return render_template("allocations/release.html", form=form, allocation=allocation,
                           rules=rules), status


@bp.route("/book", methods=["GET", "POST"])
@login_required
def book_window():
    """Book a room or desk from the plan; the allocation rules decide who may."""
    form = BookWindowForm(request.args) if request.method == "GET" else BookWindowForm()
    resource_id = valid_id(form.resource_id.data)
    resource = db.session.get(Resource, resource_id) if resource_id else None
    if resource is None:
        abort(404)
    if request.method == "POST" and form.validate():
        try:
            booking.book(booking.BookingRequest(
                resource=resource, title=form.title.data, first_day=form.day.data,
                start_time=form.start_time.data, end_time=form.end_time.data,
                booked_by=current_user))
        except booking.BookingRefused as refused:
            undo_refused_action()
            return render_template("allocations/book.html", form=form, resource=resource,
                                   problems=refused.problems), refused.status
        flash(_("%(resource)s is booked.", resource=resource.name), "success")
        return redirect(url_for("allocations.plan", site=resource.site_id,
                                week=week_param(form.day.data - timedelta(days=form.day.data.weekday()))))
    status = 422 if request.method == "POST" else 200
    return render_template("allocations/book.html", form=form, resource=resource), status


# --- settings: lead time, agency choices, resource access, terms --------------

@bp.get("/settings")
@admin_required
def settings():
    """Lead time, who may release, which resources are allocated only, and the terms."""
    return render_template("allocations/settings.html", **_settings_context())


def _settings_context(**overrides) -> dict:
    sites = _sites()
    agencies = db.session.scalars(select(Agency).order_by(Agency.short_name)).all()
    if not current_user.is_coordinator:
        agencies = [a for a in agencies if a.id == current_user.agency_id]
    policies = {s.id: rules.release_policy(s) for s in sites}
    context = {
        "sites": sites, "agencies": agencies, "terms": _terms(), "rules": rules,
        "policy_forms": {s.id: ReleasePolicyForm(formdata=None, obj=policies[s.id]) for s in sites},
        "agency_forms": {a.id: AgencySettingsForm(
            formdata=None, staff_may_release=rules.staff_may_release(a.id)) for a in agencies},
        "resources": db.session.scalars(select(Resource).order_by(Resource.site_id, Resource.name)).all(),
        "term_forms": {t.id: TermForm(formdata=None, obj=t) for t in _terms()},
        "year_form": YearForm(formdata=None, year=today_local().year + 1),
        "confirm": ConfirmForm(),
    }
    context.update(overrides)
    return context


def _settings_refused(**overrides):
    return render_template("allocations/settings.html", **_settings_context(**overrides)), 422


@bp.post("/settings/policy/<int:site_id>")
@coordinator_required
def save_policy(site_id: int):
    """Sets when unclaimed allocated time of a site is released automatically."""
    site = db.get_or_404(Site, site_id)
    form = ReleasePolicyForm()
    if not form.validate_on_submit():
        forms = _settings_context()["policy_forms"]
        forms[site.id] = form
        return _settings_refused(policy_forms=forms)
    policy = db.session.get(ReleasePolicy, site.id) or ReleasePolicy(site_id=site.id)
    policy.working_days_before = form.working_days_before.data
    policy.release_time = form.release_time.data
    db.session.add(policy)
    flash(_("The lead time is saved."), "success")
    return redirect(url_for("allocations.settings"))


@bp.post("/settings/agency/<int:agency_id>")
@admin_required
def save_agency_settings(agency_id: int):
    """Lets (or stops) an agency's staff release its allocated time."""
    agency = db.get_or_404(Agency, agency_id)
    if not current_user.can_manage_agency(agency.id):
        abort(403)
    form = AgencySettingsForm()
    if not form.validate_on_submit():
        abort(400)
    rules.set_staff_may_release(agency, bool(form.staff_may_release.data))
    flash(_("The settings of %(agency)s are saved.", agency=agency.short_name), "success")
    return redirect(url_for("allocations.settings"))


@bp.post("/settings/resource/<int:resource_id>")
@coordinator_required
def save_resource_access(resource_id: int):
    """Makes a resource "allocated only" or open to all outside allocations."""
    resource = db.get_or_404(Resource, resource_id)
    form = ResourceAccessForm()
    if not form.validate_on_submit():
        abort(400)
    resource.allocated_only = bool(form.allocated_only.data)
    flash(_("%(resource)s is saved.", resource=resource.name), "success")
    return redirect(url_for("allocations.settings"))


@bp.post("/settings/terms")
@coordinator_required
def add_terms():
    """Adds the spring and autumn terms of a year with the default dates."""
    form = YearForm()
    if not form.validate_on_submit():
        return _settings_refused(year_form=form)
    rules.ensure_terms(form.year.data)
    flash(_("The terms of %(year)d are added.", year=form.year.data), "success")
    return redirect(url_for("allocations.settings"))


@bp.post("/settings/terms/<int:term_id>")
@coordinator_required
def save_term(term_id: int):
    """Changes a term's first and last day."""
    term = db.get_or_404(Term, term_id)
    form = TermForm()
    if form.validate_on_submit() and form.last_day.data < form.first_day.data:
        form.last_day.errors.append(_("The last day must not be before the first day."))
    elif form.validate_on_submit():
        term.first_day, term.last_day = form.first_day.data, form.last_day.data
        flash(_("%(term)s is saved.", term=rules.term_name(term)), "success")
        return redirect(url_for("allocations.settings"))
    forms = _settings_context()["term_forms"]
    forms[term.id] = form
    return _settings_refused(term_forms=forms)


# --- utilization --------------------------------------------------------------

def _report_from_args():
    form = UtilizationForm(request.args)
    form.site_id.choices = choices([(s.id, s.name) for s in _sites()])
    form.term_id.choices = choices([(0, "–")] + [(t.id, rules.term_name(t)) for t in _terms()])
    site_id = valid_id(form.site_id.data)
    site = db.session.get(Site, site_id) if site_id else _site_from_args()
    period = _period(form)
    if site is None or period is None:
        return form, None
    form.site_id.data = site.id
    return form, utilization.utilization_report(site, *period)


def _period(form: UtilizationForm) -> tuple[date, date] | None:
    term_id = valid_id(form.term_id.data)
    term = db.session.get(Term, term_id) if term_id else None
    if term is not None:
        return term.first_day, term.last_day
    try:
        year, month = (int(p) for p in (form.month.data or "").split("-"))
        if not 2000 <= year <= 2100:  # the terms' range; year 9999 would overflow below
            raise ValueError(year)
        first = date(year, month, 1)
    except ValueError:
        if form.month.data:
            form.month.errors = [_("Write the month as YYYY-MM, e.g. 2026-09.")]
            return None
        today = today_local()
        first = today.replace(day=1)
        form.month.data = first.strftime("%Y-%m")
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first, last


@bp.get("/utilization")
@admin_required
def utilization_page():
    """Hours allocated, used by the agency, used by others and left empty: chart and table."""
    form, report = _report_from_args()
    status = 422 if form.month.errors else 200
    bars = utilization.chart_bars(report.per_agency()) if report else []
    use_rows = usage.booking_use(report.site, report.first_day, report.last_day) if report else []
    return render_template("allocations/utilization.html", form=form, report=report, bars=bars,
                           use_rows=use_rows), status


@bp.get("/utilization.csv")
@admin_required
def utilization_csv():
    """The same report as CSV."""
    form, report = _report_from_args()
    if report is None:
        abort(422)
    name = f"utilization-{report.first_day.isoformat()}-{report.last_day.isoformat()}.csv"
    header = [_("Agency"), _("Room or desk"), _("Allocated hours"), _("Hours of own bookings"),
              _("Hours booked by others"), _("Empty hours")]
    return export.csv_response(name, header, utilization.report_rows(report))
