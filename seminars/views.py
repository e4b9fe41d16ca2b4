"""The seminars blueprint: planning, registration, the day itself, the year and the public page."""

from __future__ import annotations

import csv
import io
from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from office.accounts.models import Agency, Role
from office.core.database import valid_id
from office.core.extensions import db, htmx, limiter
from office.core.forms import ConfirmForm, choices
from office.core.i18n import today_local
from office.core.security import coordinator_required
from office.core.templating import add_nav_item
from office.premises.models import Resource, ResourceKind
from seminars import mail, planning
from seminars import registration as rules
from seminars.forms import (
    CapacityForm,
    ChangeRegistrationForm,
    DayForm,
    EvaluationForm,
    GuestRegistrationForm,
    SeminarForm,
    SessionForm,
    StaffRegistrationForm,
    YearFilterForm,
    kind_choices,
    seminar_kind,
)
from seminars.models import (
    AttendanceMode,
    Audience,
    OutboxMail,
    Registration,
    Seminar,
    SeminarDay,
    SeminarSession,
    SeminarState,
    VenueKind,
)

bp = Blueprint("seminars", __name__, url_prefix="/seminars")


@bp.record_once
def _set_up(state) -> None:
    add_nav_item("seminars.list_seminars", _l("Seminars"))
    add_nav_item("seminars.year_plan", _l("Yearly plan"), roles=(Role.coordinator,))
    add_nav_item("seminars.outbox", _l("Mail outbox"), roles=(Role.coordinator,))
    from office.demo import seed as demo
    from seminars.calendar import register_feeds
    from seminars.demo import seed_seminars

    demo.add_demo_step(seed_seminars)
    from office.core.observability import register_gauge

    register_gauge("samlokal_mail_queue_length", "Mails in the outbox waiting to be sent "
                   "(queued, due now or later after a failure).", mail.queue_length)

    register_feeds()
    from office.dashboard.agenda import add_agenda_source
    from seminars.agenda import my_seminars

    add_agenda_source(my_seminars)  # the seminars a person registered for, on their Start page


def _seminar_for(seminar_id: int) -> Seminar:
    """A seminar the current user may see (drafts are the coordinator's)."""
    seminar = db.get_or_404(Seminar, seminar_id)
    if seminar.state == SeminarState.draft and not current_user.is_coordinator:
        abort(404)
    return seminar


def _registration_of(seminar: Seminar, user) -> Registration | None:
    return db.session.scalar(select(Registration).where(
        Registration.seminar_id == seminar.id, Registration.email == user.email.lower()))


def _messages(error) -> list[str]:
    """What a refusal says, date by date where it concerns a date."""
    if isinstance(error, rules.RegistrationRefused):
        return [error.message]
    return [str(p) for p in error.problems]


def _refused(template: str, error, **context):
    """A refused action: the page again with the message, 422 or 409."""
    return render_template(template, refusal=_messages(error), **context), error.status


# --- planning (coordinator) ---------------------------------------------------------

@bp.get("/")
@login_required
def list_seminars():
    """Seminars ahead and behind; the coordinator also sees drafts."""
    query = select(Seminar).order_by(Seminar.id.desc())
    if not current_user.is_coordinator:
        query = query.where(Seminar.state != SeminarState.draft)
    seminars = sorted(db.session.scalars(query), key=lambda s: s.first_day or date.max)
    today = today_local()
    return render_template("seminars/list.html", today=today,
                           upcoming=[s for s in seminars if (s.first_day or date.max) >= today],
                           past=[s for s in seminars if (s.first_day or date.max) < today][::-1])


def _seminar_form(seminar: Seminar) -> SeminarForm:
    form = SeminarForm(obj=seminar)
    agencies = db.session.scalars(select(Agency).order_by(Agency.name)).all()
    form.invited_agencies.choices = choices((a.id, a.name) for a in agencies)
    if not form.is_submitted():
        form.invited_agencies.data = [a.id for a in seminar.invited_agencies]
        form.kind.data = seminar.kind.value if seminar.kind else None
        form.audience.data = (seminar.audience or Audience.internal).value
        form.venue_kind.data = (seminar.venue_kind or VenueKind.on_site).value
        form.registration_deadline.data = planning.deadline_day(seminar)
    return form


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:seminar_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit_seminar(seminar_id: int | None = None):
    """Plan a seminar: title, kind, audience, venue, places and deadline."""
    seminar = db.get_or_404(Seminar, seminar_id) if seminar_id else Seminar(capacity=30)
    form = _seminar_form(seminar)
    if form.validate_on_submit():
        _fill_seminar(seminar, form)
        agencies = list(db.session.scalars(select(Agency).where(Agency.id.in_(form.invited_agencies.data or []))))
        try:
            planning.save_details(seminar, current_user, agencies)
        except planning.PlanningRefused as error:
            return _refused("seminars/form.html", error, form=form, seminar=seminar)
        flash(_("The seminar is saved."), "success")
        return redirect(url_for("seminars.show_seminar", seminar_id=seminar.id))
    return render_template("seminars/form.html", form=form, seminar=seminar), 422 if form.is_submitted() else 200


def _fill_seminar(seminar: Seminar, form: SeminarForm) -> None:
    from seminars.models import SeminarKind

    seminar.title = form.title.data.strip()
    seminar.kind = SeminarKind(form.kind.data)
    seminar.description = (form.description.data or "").strip()
    seminar.audience = Audience(form.audience.data)
    seminar.audience_note = (form.audience_note.data or "").strip()
    seminar.venue_kind = VenueKind(form.venue_kind.data)
    seminar.external_address = (form.external_address.data or "").strip()
    seminar.online_url = (form.online_url.data or "").strip()
    if seminar.id is None:
        seminar.capacity = form.capacity.data
    deadline = form.registration_deadline.data
    seminar.registration_deadline = (planning.end_of_local_day(deadline, seminar.timezone or "Europe/Stockholm")
                                     if deadline else None)


def _rooms():
    return db.session.scalars(select(Resource).where(
        Resource.kind == ResourceKind.room, Resource.active.is_(True)).order_by(Resource.name)).all()


def _show(seminar: Seminar, status: int = 200, **extra):
    day_form = extra.pop("day_form", None) or DayForm()
    day_form.resource_id.choices = choices([(0, _("No room (not on our premises)"))] + [
        (r.id, f"{r.name} ({r.site.name}, {r.capacity})") for r in _rooms()])
    own = _registration_of(seminar, current_user)
    context = dict(
        seminar=seminar, day_form=day_form, session_form=extra.pop("session_form", None),
        session_day_id=extra.pop("session_day_id", None),
        session_form_for=lambda day_id: SessionForm(prefix=f"day{day_id}", formdata=None),
        editing=current_user.is_coordinator and seminar.state in (SeminarState.draft, SeminarState.published),
        capacity_form=CapacityForm(capacity=seminar.capacity), confirm=ConfirmForm(),
        register_form=StaffRegistrationForm(), own=own,
        own_position=rules.waiting_position(own) if own else None,
        places_left=rules.places_left(seminar), waiting=rules.waiting_list(seminar.id),
        clashes=(planning.venue_clashes(seminar, current_user)
                 if current_user.is_coordinator and seminar.state == SeminarState.draft else []),
    )
    context.update(extra)
    return render_template("seminars/show.html", **context), status


@bp.get("/<int:seminar_id>")
@login_required
def show_seminar(seminar_id: int):
    """The seminar: programme, venue, places; register with one click."""
    return _show(_seminar_for(seminar_id))


@bp.post("/<int:seminar_id>/days")
@coordinator_required
def add_day(seminar_id: int):
    """Add a day (with its room) to the programme."""
    seminar = db.get_or_404(Seminar, seminar_id)
    form = DayForm()
    form.resource_id.choices = choices([(0, "-")] + [(r.id, r.name) for r in _rooms()])
    if not form.validate_on_submit():
        return _show(seminar, 422, day_form=form)
    try:
        planning.add_day(seminar, current_user, day=form.day.data, start_time=form.start_time.data,
                         end_time=form.end_time.data, resource_id=form.resource_id.data or None)
    except planning.PlanningRefused as error:
        return _show(db.get_or_404(Seminar, seminar_id), error.status, day_form=form,
                     refusal=_messages(error))
    flash(_("The day is added."), "success")
    return redirect(url_for("seminars.show_seminar", seminar_id=seminar_id))


@bp.post("/<int:seminar_id>/days/<int:day_id>/delete")
@coordinator_required
def remove_day(seminar_id: int, day_id: int):
    """Remove a day from the programme; its room booking is cancelled."""
    seminar_day = db.get_or_404(SeminarDay, day_id)
    if seminar_day.seminar_id != seminar_id or not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        planning.remove_day(seminar_day.seminar, seminar_day, current_user)
    except planning.PlanningRefused as error:
        return _show(db.get_or_404(Seminar, seminar_id), error.status, refusal=_messages(error))
    flash(_("The day is removed."), "success")
    return redirect(url_for("seminars.show_seminar", seminar_id=seminar_id))


@bp.post("/<int:seminar_id>/days/<int:day_id>/sessions")
@coordinator_required
def add_session(seminar_id: int, day_id: int):
    """Add an item to a day's programme."""
    seminar_day = db.get_or_404(SeminarDay, day_id)
    if seminar_day.seminar_id != seminar_id:
        abort(404)
    form = SessionForm(prefix=f"day{day_id}")
    if not form.validate_on_submit():
        return _show(seminar_day.seminar, 422, session_form=form, session_day_id=day_id)
    try:
        planning.add_session(seminar_day, start_time=form.start_time.data, end_time=form.end_time.data,
                             title=form.title.data, room=form.room.data or "",
                             capacity=form.capacity.data, presenters=form.presenters.data or "")
    except planning.PlanningRefused as error:
        return _show(db.get_or_404(Seminar, seminar_id), 422, session_form=form, session_day_id=day_id,
                     refusal=_messages(error))
    flash(_("The programme item is added."), "success")
    return redirect(url_for("seminars.show_seminar", seminar_id=seminar_id))


@bp.post("/<int:seminar_id>/sessions/<int:session_id>/delete")
@coordinator_required
def remove_session(seminar_id: int, session_id: int):
    """Remove an item from the programme."""
    session = db.get_or_404(SeminarSession, session_id)
    if session.seminar_day.seminar_id != seminar_id or not ConfirmForm().validate_on_submit():
        abort(400)
    db.session.delete(session)
    db.session.commit()
    flash(_("The programme item is removed."), "success")
    return redirect(url_for("seminars.show_seminar", seminar_id=seminar_id))


@bp.post("/<int:seminar_id>/<any(publish, cancel, finish):action>")
@coordinator_required
def change_state(seminar_id: int, action: str):
    """Publish (books the rooms), cancel (tells everyone, gives the rooms back) or finish."""
    seminar = db.get_or_404(Seminar, seminar_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    step = {"publish": planning.publish, "cancel": planning.cancel_seminar,
            "finish": planning.finish_seminar}[action]
    try:
        step(seminar, current_user)
    except planning.PlanningRefused as error:
        return _show(db.get_or_404(Seminar, seminar_id), error.status,
                     refusal=_messages(error))
    flash({"publish": _("The seminar is published and the rooms are booked."),
           "cancel": _("The seminar is cancelled; participants are told and the rooms released."),
           "finish": _("The seminar is marked as finished.")}[action], "success")
    return redirect(url_for("seminars.show_seminar", seminar_id=seminar_id))


@bp.post("/<int:seminar_id>/capacity")
@coordinator_required
def change_capacity(seminar_id: int):
    """Change the number of places; new places go to the waiting list in order."""
    seminar = db.get_or_404(Seminar, seminar_id)
    form = CapacityForm()
    if not form.validate_on_submit():
        return _show(seminar, 422, refusal=[e for errors in form.errors.values() for e in errors])
    promoted = rules.set_capacity(seminar_id, form.capacity.data)
    flash(_("The number of places is saved; %(count)d moved up from the waiting list.", count=len(promoted)), "success")
    return redirect(url_for("seminars.show_seminar", seminar_id=seminar_id))


# --- staff registration -----------------------------------------------------------------

@bp.post("/<int:seminar_id>/register")
@login_required
def register(seminar_id: int):
    """One click: you are registered (or on the waiting list)."""
    seminar = _seminar_for(seminar_id)
    form = StaffRegistrationForm()
    if not form.validate_on_submit():
        return _show(seminar, 422, register_form=form)
    try:
        outcome = rules.register_staff(seminar_id, current_user, dietary_needs=form.dietary_needs.data or "",
                                       accessibility_needs=form.accessibility_needs.data or "",
                                       attendance_mode=AttendanceMode(form.attendance_mode.data))
    except rules.RegistrationRefused as error:
        return _show(db.get_or_404(Seminar, seminar_id), error.status, refusal=[error.message])
    if outcome.waiting_position:
        flash(_("The seminar is full: you are number %(n)d on the waiting list.", n=outcome.waiting_position), "info")
    else:
        flash(_("You are registered. A confirmation is on its way by e-mail."), "success")
    return redirect(url_for("seminars.show_seminar", seminar_id=seminar_id))


@bp.post("/<int:seminar_id>/unregister")
@login_required
def unregister(seminar_id: int):
    """Cancel your own registration; the first on the waiting list gets the place."""
    seminar = _seminar_for(seminar_id)
    own = _registration_of(seminar, current_user)
    if own is None or not ConfirmForm().validate_on_submit():
        abort(400)
    rules.cancel_registration(own)
    flash(_("Your registration is cancelled."), "success")
    return redirect(url_for("seminars.show_seminar", seminar_id=seminar_id))


@bp.route("/<int:seminar_id>/evaluate", methods=["GET", "POST"])
@login_required
def evaluate(seminar_id: int):
    """A short evaluation for participants: a rating and a comment."""
    seminar = _seminar_for(seminar_id)
    own = _registration_of(seminar, current_user)
    if own is None:
        abort(404)
    return _evaluate(own, url_for("seminars.show_seminar", seminar_id=seminar_id))


def _evaluate(registration: Registration, back: str):
    form = EvaluationForm()
    if form.validate_on_submit():
        try:
            rules.evaluate(registration, form.rating.data, form.comment.data or "")
        except rules.RegistrationRefused as error:
            return render_template("seminars/evaluate.html", form=form, registration=registration,
                                   refusal=[error.message]), error.status
        flash(_("Thank you for your evaluation."), "success")
        return redirect(back)
    return render_template("seminars/evaluate.html", form=form, registration=registration), \
        422 if form.is_submitted() else 200


# --- on the day ---------------------------------------------------------------------------

@bp.get("/<int:seminar_id>/attendance")
@coordinator_required
def attendance(seminar_id: int):
    """The check-in list (works on a tablet)."""
    seminar = db.get_or_404(Seminar, seminar_id)
    return render_template("seminars/attendance.html", seminar=seminar, confirm=ConfirmForm(),
                           participants=planning.participants(seminar))


@bp.post("/<int:seminar_id>/registrations/<int:registration_id>/check-in")
@coordinator_required
def check_in(seminar_id: int, registration_id: int):
    """Toggle one participant's presence; htmx gets the row back."""
    registration = db.get_or_404(Registration, registration_id)
    if registration.seminar_id != seminar_id or not ConfirmForm().validate_on_submit():
        abort(400)
    rules.set_checked_in(registration, request.form.get("present") == "1")
    if htmx.target == f"registration-{registration_id}":
        return render_template("seminars/_attendance_row.html", r=registration, confirm=ConfirmForm(),
                               announce=True)
    return redirect(url_for("seminars.attendance", seminar_id=seminar_id))


@bp.get("/<int:seminar_id>/print")
@coordinator_required
def print_list(seminar_id: int):
    """A printable list of participants with dietary and accessibility needs."""
    seminar = db.get_or_404(Seminar, seminar_id)
    return render_template("seminars/print.html", seminar=seminar, participants=planning.participants(seminar))


@bp.get("/<int:seminar_id>/report")
@coordinator_required
def report(seminar_id: int):
    """Afterwards: attendance per agency and the evaluations."""
    seminar = db.get_or_404(Seminar, seminar_id)
    evaluations = [r.evaluation for r in seminar.registrations if r.evaluation]
    average = sum(e.rating for e in evaluations) / len(evaluations) if evaluations else None
    return render_template("seminars/report.html", seminar=seminar, evaluations=evaluations, average=average,
                           rows=planning.attendance_by_organisation(seminar))


@bp.get("/<int:seminar_id>/export/<any(registrations, attendance, evaluations):what>.csv")
@coordinator_required
def export_csv(seminar_id: int, what: str):
    """Registrations, attendance per agency or evaluations as CSV (Excel opens it)."""
    seminar = db.get_or_404(Seminar, seminar_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    for row in csv_rows(seminar, what):
        writer.writerow(row)
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="seminar-{seminar.id}-{what}.csv"'})


def csv_rows(seminar: Seminar, what: str) -> list[list]:
    if what == "attendance":
        return [[_("Agency or organisation"), _("Registered"), _("Present")]] + [
            [r["organisation"], r["registered"], r["present"]]
            for r in planning.attendance_by_organisation(seminar)]
    if what == "evaluations":
        return [[_("Rating"), _("Comment")]] + [
            [r.evaluation.rating, r.evaluation.comment] for r in seminar.registrations if r.evaluation]
    return [[_("Name"), _("Agency or organisation"), _("E-mail address"), _("Status"), _("Place in line"),
             _("Dietary needs"), _("Accessibility needs"), _("Takes part"), _("Present")]] + [
        [r.name, r.agency.name if r.agency else r.organisation, r.email, str(r.status.label),
         r.arrival, r.dietary_needs, r.accessibility_needs, str(r.attendance_mode.label),
         _("yes") if r.checked_in_at else _("no")]
        for r in seminar.registrations if r.is_active]


# --- the yearly plan ----------------------------------------------------------------------

@bp.get("/plan/")
@bp.get("/plan/<int:year>")
@coordinator_required
def year_plan(year: int | None = None):
    """The yearly action plan: seminars and meeting series by month."""
    year = year or today_local().year
    form = YearFilterForm(request.args)
    form.kind.choices = kind_choices(_("All kinds"))
    agencies = db.session.scalars(select(Agency).order_by(Agency.name)).all()
    form.agency.choices = choices([(0, _("All agencies"))] + [(a.id, a.name) for a in agencies])
    kind, agency_id = seminar_kind(form.kind.data), (form.agency.data or None) if form.validate() else None
    seminars = planning.seminars_of_year(year, kind, agency_id)
    context = dict(year=year, form=form, seminars=seminars, confirm=ConfirmForm(),
                   meetings=planning.meeting_series_of_year(year, agency_id) if kind is None else [])
    if htmx.target == "year-plan":
        return render_template("seminars/_year_plan.html", **context)
    return render_template("seminars/year.html", **context)


@bp.post("/plan/<int:year>/copy")
@coordinator_required
def copy_to_next_year(year: int):
    """Drafts of the chosen seminars a year later (same weekday, nearest date)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ids = [valid_id(int(v)) for v in request.form.getlist("seminar") if v.isdecimal()]
    ids = [i for i in ids if i is not None]
    copies = planning.copy_to_next_year(ids, current_user)
    flash(ngettext("%(num)d draft created for %(year)d.", "%(num)d drafts created for %(year)d.",
                   len(copies), year=year + 1), "success")
    return redirect(url_for("seminars.year_plan", year=year + 1))


@bp.get("/outbox")
@coordinator_required
def outbox():
    """Mails that keep failing (the sender retries; here you see why)."""
    return render_template("seminars/outbox.html", mails=mail.failing_mails(), confirm=ConfirmForm())


@bp.post("/outbox/<int:mail_id>/retry")
@coordinator_required
def retry_mail(mail_id: int):
    """Try a failing mail again at the sender's next round."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    mail.retry_now(db.get_or_404(OutboxMail, mail_id))
    flash(_("The mail will be tried again."), "success")
    return redirect(url_for("seminars.outbox"))


# --- the public page and guests ------------------------------------------------------------

def _public_seminar(seminar_id: int) -> Seminar:
    seminar = db.get_or_404(Seminar, seminar_id)
    if seminar.audience != Audience.public or seminar.state == SeminarState.draft:
        abort(404)
    return seminar


@bp.get("/public/")
def public_list():
    """Published public seminars, open to everyone."""
    seminars = db.session.scalars(select(Seminar).where(
        Seminar.audience == Audience.public, Seminar.state == SeminarState.published)).all()
    today = today_local()
    seminars = sorted((s for s in seminars if (s.first_day or date.min) >= today), key=lambda s: s.first_day)
    return render_template("seminars/public_list.html", seminars=seminars)


@bp.route("/public/<int:seminar_id>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def public_seminar(seminar_id: int):
    """A public seminar and the registration form for guests."""
    seminar = _public_seminar(seminar_id)
    form = GuestRegistrationForm()
    if not form.is_submitted():
        form.locale.data = str(get_locale() or "sv")
    if form.validate_on_submit():
        try:
            outcome = rules.register_guest(
                seminar_id, name=form.name.data, organisation=form.organisation.data, email=form.email.data,
                locale=form.locale.data, dietary_needs=form.dietary_needs.data or "",
                accessibility_needs=form.accessibility_needs.data or "",
                attendance_mode=AttendanceMode(form.attendance_mode.data))
        except rules.RegistrationRefused as error:
            return render_template("seminars/public_seminar.html", seminar=_public_seminar(seminar_id),
                                   form=form, refusal=[error.message]), error.status
        return redirect(url_for("seminars.guest_registration", token=outcome.token, new=1))
    return render_template("seminars/public_seminar.html", seminar=seminar, form=form), \
        422 if form.is_submitted() else 200


def _guest(token: str) -> Registration:
    registration = rules.find_by_token(token)
    if registration is None:
        abort(404)
    return registration


@bp.route("/r/<token>", methods=["GET", "POST"])
@limiter.limit("60 per minute")
def guest_registration(token: str):
    """The guest's own page behind the secret link: see, change, cancel."""
    registration = _guest(token)
    form = ChangeRegistrationForm(obj=registration)
    if not form.is_submitted():
        form.attendance_mode.data = registration.attendance_mode.value
    if registration.is_active and form.validate_on_submit():
        rules.change_registration(registration, dietary_needs=form.dietary_needs.data or "",
                                  accessibility_needs=form.accessibility_needs.data or "",
                                  attendance_mode=AttendanceMode(form.attendance_mode.data),
                                  locale=form.locale.data)
        flash(_("Your changes are saved."), "success")
        return redirect(url_for("seminars.guest_registration", token=token))
    return render_template("seminars/guest.html", registration=registration, form=form, token=token,
                           confirm=ConfirmForm(), evaluation_form=EvaluationForm(),
                           position=rules.waiting_position(registration),
                           just_registered=request.args.get("new") == "1"), 422 if form.is_submitted() else 200


@bp.post("/r/<token>/cancel")
@limiter.limit("60 per minute")
def guest_cancel(token: str):
    """The guest cancels; the first on the waiting list gets the place."""
    registration = _guest(token)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    rules.cancel_registration(registration)
    flash(_("Your registration is cancelled."), "success")
    return redirect(url_for("seminars.guest_registration", token=token))


@bp.route("/r/<token>/evaluate", methods=["GET", "POST"])
@limiter.limit("60 per minute")
def guest_evaluate(token: str):
    """The guest's evaluation of the seminar."""
    return _evaluate(_guest(token), url_for("seminars.guest_registration", token=token))
