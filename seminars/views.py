"""The seminars blueprint: planning, registration, the day itself, the year and the public page."""

from __future__ import annotations

import hashlib
from datetime import date
from itertools import count

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from office.accounts.models import Agency, Role
from office.core import export
from office.core.database import valid_id
from office.core.extensions import db, htmx, limiter
from office.core.forms import ConfirmForm, choices
from office.core.i18n import today_local
from office.core.security import coordinator_required
from office.core.templating import add_nav_item, add_public_link
from office.core.transaction import undo_refused_action
from office.premises.models import Resource, ResourceKind
from seminars import plan_tasks, planning
from seminars import registration as rules
from seminars.forms import (
    CapacityForm,
    ChangeRegistrationForm,
    DayForm,
    EvaluationForm,
    GuestRegistrationForm,
    ResendLinkForm,
    SeminarForm,
    SessionForm,
    StaffRegistrationForm,
    TaskDoneForm,
    TaskForm,
    YearFilterForm,
    attendance_mode_of,
    kind_choices,
    seminar_kind,
    without_unused_answers,
)
from seminars.models import (
    Audience,
    PlanTask,
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarDay,
    SeminarSession,
    SeminarState,
    VenueKind,
)

bp = Blueprint("seminars", __name__, url_prefix="/seminars")
bp.add_app_template_global(planning.venues, "seminar_venues")


@bp.record_once
def _set_up(state) -> None:
    add_nav_item("seminars.list_seminars", _l("Seminars"))
    add_nav_item("seminars.year_plan", _l("Yearly plan"), roles=(Role.coordinator,),
                 description=_l("The year's seminars, tasks and meetings; copy them to next year."))
    add_nav_item("seminars.my_tasks", _l("My tasks"))
    add_public_link("seminars.public_list", _l("Seminars open to everyone"))
    from office.demo import seed as demo
    from seminars.closures import register as register_closures
    from seminars.demo import seed_plan_tasks, seed_seminars
    from seminars.feeds import register_feeds

    demo.add_demo_step(seed_seminars)
    demo.add_demo_step(seed_plan_tasks)  # the yearly plan's recurring tasks
    register_feeds(state.app)  # its sources, feed kinds and /feeds/seminars*.ics
    from seminars.plan_feed import register_plan_feed

    register_plan_feed()  # the yearly plan (seminars and tasks) behind a secret link
    register_closures()  # seminar days on a closed day are flagged for the coordinator
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
    seminar = _seminar_to_save(seminar_id) if seminar_id else Seminar(capacity=30)
    form = _seminar_form(seminar)
    if form.validate_on_submit():
        agencies = list(db.session.scalars(select(Agency).where(Agency.id.in_(form.invited_agencies.data or []))))
        _fill_seminar(seminar, form)  # no query after this before save_details (see there)
        try:
            planning.save_details(seminar, current_user, agencies,
                                  capacity=form.capacity.data if seminar.id else None)
        except planning.PlanningRefused as error:
            undo_refused_action()
            return _refused("seminars/form.html", error, form=form, seminar=seminar)
        flash(_("The seminar is saved."), "success")
        return redirect(url_for("seminars.show_seminar", seminar_id=seminar.id))
    return render_template("seminars/form.html", form=form, seminar=seminar), 422 if form.is_submitted() else 200


def _seminar_to_save(seminar_id: int) -> Seminar:
    """The seminar; when saving, its row locked first (more places promote the waiting list)."""
    seminar = rules.lock_seminar(seminar_id) if request.method == "POST" else db.session.get(Seminar, seminar_id)
    if seminar is None:
        abort(404)
    return seminar


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
        register_form=without_unused_answers(StaffRegistrationForm(), seminar), own=own,
        own_position=rules.waiting_position(own) if own else None,
        places_left=rules.places_left(seminar), waiting=rules.waiting_list(seminar.id),
        confirmed=planning.participants(seminar), sessions=rules.session_overview(seminar, own),
        action_url=lambda session, action: url_for("seminars.staff_session", seminar_id=seminar.id,
                                                   session_id=session.id, action=action),
        deadline=planning.deadline_text(seminar, today_local()),
        evaluation_open=own is not None and rules.evaluation_open(own),
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
        undo_refused_action()
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
        undo_refused_action()
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
                             capacity=form.capacity.data, presenters=form.presenters.data or "",
                             sign_up=bool(form.sign_up.data))
    except planning.PlanningRefused as error:
        undo_refused_action()
        return _show(db.get_or_404(Seminar, seminar_id), 422, session_form=form, session_day_id=day_id,
                     refusal=_messages(error))
    flash(_("The programme item is added."), "success")
    return redirect(url_for("seminars.show_seminar", seminar_id=seminar_id))


def _session_of(seminar_id: int, session_id: int) -> SeminarSession:
    session = db.get_or_404(SeminarSession, session_id)
    if session.seminar_day.seminar_id != seminar_id:
        abort(404)
    return session


@bp.route("/<int:seminar_id>/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit_session(seminar_id: int, session_id: int):
    """Change a programme item: its time, title, room, places and its own sign-up."""
    session = _session_of(seminar_id, session_id)
    form = SessionForm(obj=session)
    if not form.is_submitted():
        form.presenters.data = planning.presenters_text(session)
    if form.validate_on_submit():
        try:
            planning.change_session(session, start_time=form.start_time.data, end_time=form.end_time.data,
                                    title=form.title.data, room=form.room.data or "",
                                    capacity=form.capacity.data, presenters=form.presenters.data or "",
                                    sign_up=bool(form.sign_up.data))
        except planning.PlanningRefused as error:
            undo_refused_action()
            return _refused("seminars/session_form.html", error, form=form, session=session,
                            seminar=session.seminar_day.seminar)
        flash(_("The programme item is saved."), "success")
        return redirect(url_for("seminars.show_seminar", seminar_id=seminar_id, _anchor=f"session-{session_id}"))
    return render_template("seminars/session_form.html", form=form, session=session,
                           seminar=session.seminar_day.seminar), 422 if form.is_submitted() else 200


@bp.post("/<int:seminar_id>/sessions/<int:session_id>/delete")
@coordinator_required
def remove_session(seminar_id: int, session_id: int):
    """Remove an item from the programme."""
    session = db.get_or_404(SeminarSession, session_id)
    if session.seminar_day.seminar_id != seminar_id or not ConfirmForm().validate_on_submit():
        abort(400)
    db.session.delete(session)
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
        undo_refused_action()
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
    form = without_unused_answers(StaffRegistrationForm(), seminar)
    if not form.validate_on_submit():
        return _show(seminar, 422, register_form=form)
    try:
        outcome = rules.register_staff(seminar_id, current_user, dietary_needs=form.dietary_needs.data or "",
                                       accessibility_needs=form.accessibility_needs.data or "",
                                       attendance_mode=attendance_mode_of(form))
    except rules.RegistrationRefused as error:
        undo_refused_action()
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


@bp.post("/<int:seminar_id>/sessions/<int:session_id>/<any('sign-up', leave):action>")
@login_required
def staff_session(seminar_id: int, session_id: int, action: str):
    """Sign up for a session with its own places (or its waiting list), or leave it."""
    seminar = _seminar_for(seminar_id)
    own = _registration_of(seminar, current_user)
    _session_of(seminar_id, session_id)
    if own is None or not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        _session_action(own, session_id, action)
    except rules.RegistrationRefused as error:
        undo_refused_action()
        return _show(db.get_or_404(Seminar, seminar_id), error.status, refusal=[error.message])
    return redirect(url_for("seminars.show_seminar", seminar_id=seminar_id, _anchor="sessions"))


def _session_action(registration: Registration, session_id: int, action: str) -> None:
    """Sign up or leave, and say what happened (a refusal raises RegistrationRefused)."""
    title = db.session.get(SeminarSession, session_id).title
    if action == "leave":
        rules.leave_session(registration, session_id)
        flash(_("You have left the session %(title)s.", title=title), "success")
        return
    outcome = rules.sign_up_for_session(registration.id, session_id)
    if outcome.waiting_position:
        flash(_("The session %(title)s is full: you are number %(n)d on its waiting list.",
                title=title, n=outcome.waiting_position), "info")
    else:
        flash(_("You have a place in the session %(title)s.", title=title), "success")


@bp.route("/<int:seminar_id>/evaluate", methods=["GET", "POST"])
@login_required
def evaluate(seminar_id: int):
    """A short evaluation for participants: a rating and a comment."""
    seminar = _seminar_for(seminar_id)
    own = _registration_of(seminar, current_user)
    if own is None:
        abort(404)
    return _evaluate(own, url_for("seminars.show_seminar", seminar_id=seminar_id))


@bp.route("/e/<token>", methods=["GET", "POST"])
@limiter.limit("60 per minute")
def evaluate_by_link(token: str):
    """The evaluation behind the link in the mail sent when the seminar ended."""
    registration = rules.find_by_evaluation_token(token)
    if registration is None:
        abort(404)
    return _evaluate(registration, url_for("seminars.evaluate_by_link", token=token))


def _evaluate(registration: Registration, back: str):
    form = EvaluationForm()
    if registration.evaluation is not None or not rules.evaluation_open(registration):
        # Not (or no longer) open: the page says why; a form sent anyway is refused.
        error = (rules.RegistrationConflict("already_evaluated") if registration.evaluation is not None
                 else rules.RegistrationRefused("no_evaluation"))
        status = error.status if request.method == "POST" else 200
        return render_template("seminars/evaluate.html", form=None, registration=registration,
                               refusal=[error.message] if status != 200 else None), status
    if form.validate_on_submit():
        try:
            rules.evaluate(registration, form.rating.data, form.comment.data or "")
        except rules.RegistrationRefused as error:
            undo_refused_action()
            return render_template("seminars/evaluate.html", form=form, registration=registration,
                                   refusal=[error.message]), error.status
        flash(_("Thank you for your evaluation."), "success")
        return redirect(back)
    return render_template("seminars/evaluate.html", form=form, registration=registration), \
        422 if form.is_submitted() else 200


# --- on the day ---------------------------------------------------------------------------

@bp.get("/<int:seminar_id>/attendance")
@bp.get("/<int:seminar_id>/attendance/<int:day_id>")
@coordinator_required
def attendance(seminar_id: int, day_id: int | None = None):
    """The check-in list of one day (today's by default; works on a tablet)."""
    seminar = db.get_or_404(Seminar, seminar_id)
    seminar_day = _day_of(seminar, day_id) if day_id else planning.day_for_check_in(seminar, today_local())
    return _attendance_page(seminar, seminar_day)


def _day_of(seminar: Seminar, day_id: int) -> SeminarDay:
    seminar_day = db.get_or_404(SeminarDay, day_id)
    if seminar_day.seminar_id != seminar.id:
        abort(404)
    return seminar_day


def _attendance_page(seminar: Seminar, seminar_day: SeminarDay | None, status: int = 200, **extra):
    return render_template(
        "seminars/attendance.html", seminar=seminar, day=seminar_day, confirm=ConfirmForm(),
        open=seminar_day is not None and rules.check_in_open(seminar_day),
        **_attendance_counts(seminar, seminar_day), **extra), status


def _attendance_counts(seminar: Seminar, seminar_day: SeminarDay | None) -> dict:
    participants = planning.participants(seminar)
    return {"participants": participants, "present_count": sum(
        1 for r in participants if seminar_day is not None and r.present_on(seminar_day.id))}


@bp.post("/<int:seminar_id>/days/<int:day_id>/registrations/<int:registration_id>/check-in")
@coordinator_required
def check_in(seminar_id: int, day_id: int, registration_id: int):
    """Check one participant in or out for the day; htmx gets the row back."""
    seminar = db.get_or_404(Seminar, seminar_id)
    seminar_day, registration = _day_of(seminar, day_id), db.get_or_404(Registration, registration_id)
    if registration.seminar_id != seminar_id or not ConfirmForm().validate_on_submit():
        abort(400)
    in_place = htmx.target == f"registration-{registration_id}"
    try:
        rules.set_present(registration, seminar_day, request.form.get("present") == "1")
    except rules.RegistrationRefused as error:
        undo_refused_action()
        if in_place:
            return render_template("seminars/_attendance_row.html", r=registration, day=seminar_day, open=False,
                                   confirm=ConfirmForm(), refusal=error.message), error.status
        return _attendance_page(seminar, seminar_day, error.status, refusal=[error.message])
    if in_place:
        return render_template("seminars/_attendance_row.html", r=registration, day=seminar_day, open=True,
                               confirm=ConfirmForm(), announce=True, **_attendance_counts(seminar, seminar_day))
    return redirect(url_for("seminars.attendance", seminar_id=seminar_id, day_id=day_id))


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
    header, *rows = csv_rows(seminar, what)
    return export.csv_response(f"seminar-{seminar.id}-{what}.csv", header, rows)


def csv_rows(seminar: Seminar, what: str) -> list[list]:
    if what == "attendance":
        return [[_("Agency or organisation"), _("Registered"), _("Present")]] + [
            [r["organisation"], r["registered"], r["present"]]
            for r in planning.attendance_by_organisation(seminar)]
    if what == "evaluations":
        return [[_("Rating"), _("Comment")]] + [
            [r.evaluation.rating, r.evaluation.comment] for r in seminar.registrations if r.evaluation]
    # Registrations come in arrival order: the waiting list's numbers are 1, 2, 3 in that
    # order; confirmed people have no number in line.
    waiting = count(1)
    return [[_("Name"), _("Agency or organisation"), _("E-mail address"), _("Status"), _("Number in line"),
             _("Dietary needs"), _("Accessibility needs"), _("Takes part"), _("Present")]] + [
        [r.name, r.agency.name if r.agency else r.organisation, r.email, str(r.status.label),
         next(waiting) if r.status == RegistrationStatus.waiting else None,
         r.dietary_needs, r.accessibility_needs, str(r.attendance_mode.label),
         _("yes") if r.checked_in_at else _("no")]
        for r in seminar.registrations if r.is_active]


# --- the yearly plan ----------------------------------------------------------------------

@bp.get("/plan/")
@bp.get("/plan/<int:year>")
@coordinator_required
def year_plan(year: int | None = None):
    """The yearly action plan: seminars, tasks and meeting series, filterable and printable."""
    year = year or today_local().year
    form = _year_filter_form()
    context = dict(year=year, form=form, confirm=ConfirmForm(), done_form=TaskDoneForm(),
                   **_plan_rows(year, form), new_link=None)
    if htmx.target == "year-plan":
        return render_template("seminars/_year_plan.html", **context)
    return render_template("seminars/year.html", **context)


def _year_filter_form() -> YearFilterForm:
    form = YearFilterForm(request.args)
    form.kind.choices = kind_choices(_("All kinds"))
    agencies = db.session.scalars(select(Agency).order_by(Agency.name)).all()
    form.agency.choices = choices([(0, _("All agencies"))] + [(a.id, a.name) for a in agencies])
    form.owner.choices = choices([("", _("Every owner"))] + plan_tasks.owner_choices())
    if not form.validate():  # a value not offered reads as "all", never as an error page
        for field in (form.kind, form.agency, form.show, form.owner, form.status, form.term):
            if field.errors:
                field.data = field.default
    return form


def _plan_rows(year: int, form: YearFilterForm) -> dict:
    """What the plan shows: a seminar kind or agency narrows the seminars, an owner or done
    state the tasks (seminars have neither), the term both."""
    kind, agency_id = seminar_kind(form.kind.data), form.agency.data or None
    chosen = plan_tasks.TaskFilter(owner=form.owner.data or "", status=form.status.data or "",
                                   term=form.term.data or "")
    show_seminars = form.show.data != "tasks" and not chosen.owner and not chosen.status
    show_tasks = form.show.data != "seminars" and kind is None and agency_id is None
    seminars = [s for s in planning.seminars_of_year(year, kind, agency_id)
                if plan_tasks.in_term(s.first_day, chosen.term)] if show_seminars else []
    tasks = plan_tasks.tasks_of_year(year, chosen) if show_tasks else []
    rows = sorted([(s.first_day, 0, s.id, "seminar", s) for s in seminars]
                  + [(t.due_on, 1, t.id, "task", t) for t in tasks], key=lambda r: r[:3])
    return dict(seminars=seminars, tasks=tasks, rows=[(r[3], r[4]) for r in rows],
                meetings=planning.meeting_series_of_year(year, agency_id)
                if kind is None and show_seminars and not chosen.term else [])


@bp.post("/plan/<int:year>/copy")
@coordinator_required
def copy_to_next_year(year: int):
    """Drafts of the chosen seminars a year later (same weekday, nearest date) and copies of
    the chosen tasks (same date, moved back to a working day), not done."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    copies = planning.copy_to_next_year(_ids("seminar"), current_user)
    tasks = plan_tasks.copy_tasks_to_next_year(_ids("task"), current_user)
    if copies or not tasks:
        flash(ngettext("%(num)d draft created for %(year)d.", "%(num)d drafts created for %(year)d.",
                       len(copies), year=year + 1), "success")
    if tasks:
        flash(ngettext("%(num)d task copied to %(year)d.", "%(num)d tasks copied to %(year)d.",
                       len(tasks), year=year + 1), "success")
    return redirect(url_for("seminars.year_plan", year=year + 1))


def _ids(name: str) -> list[int]:
    ids = [valid_id(int(v)) for v in request.form.getlist(name) if v.isdecimal() and len(v) < 20]
    return [i for i in ids if i is not None]


@bp.post("/plan/feed")
@coordinator_required
def year_plan_feed():
    """A secret calendar link to the yearly plan (seminars and tasks' due dates)."""
    from office import feeds
    from office.feeds.views import subscribe_links

    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        token = feeds.issue_token(current_user, "year_plan", None)
    except feeds.TooManyLinks:
        flash(_("You already have the most links to this feed. Stop one you no longer use on "
                "the calendar feeds page, then make a new one."), "error")
        return redirect(url_for("seminars.year_plan"))
    asked = request.form.get("year", "")
    year = int(asked) if asked.isdecimal() and 2000 <= int(asked) <= 2100 else today_local().year
    form = _year_filter_form()
    return render_template("seminars/year.html", year=year, form=form, confirm=ConfirmForm(),
                           done_form=TaskDoneForm(), **_plan_rows(year, form),
                           new_link=subscribe_links("feeds.private_feed", token=token))


# --- the plan's tasks -----------------------------------------------------------------------

def _task_form(task: PlanTask) -> TaskForm:
    form = TaskForm(obj=task)
    form.owner.choices = choices([("", _("Choose a person or a group"))] + plan_tasks.owner_choices())
    if not form.is_submitted() and task.id is not None:
        form.owner.data = plan_tasks.owner_key(task)
    return form


@bp.route("/plan/tasks/new", methods=["GET", "POST"])
@bp.route("/plan/tasks/<int:task_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit_task(task_id: int | None = None):
    """Add or change a task of the yearly plan: title, due date, owner and reminder."""
    task = db.get_or_404(PlanTask, task_id) if task_id else PlanTask(remind_days=14)
    form = _task_form(task)
    if not form.validate_on_submit():
        return render_template("seminars/task_form.html", form=form, task=task), 422 if form.is_submitted() else 200
    try:
        plan_tasks.save_task(task, current_user, title=form.title.data, description=form.description.data,
                             due_on=form.due_on.data, owner=form.owner.data, remind_days=form.remind_days.data)
    except plan_tasks.TaskRefused as refused:
        undo_refused_action()
        form.owner.errors = [*form.owner.errors, refused.message]
        return render_template("seminars/task_form.html", form=form, task=task, refusal=[refused.message]), 422
    flash(_("The task is saved."), "success")
    return redirect(url_for("seminars.year_plan", year=form.due_on.data.year))


@bp.post("/plan/tasks/<int:task_id>/delete")
@coordinator_required
def delete_task(task_id: int):
    """Remove a task from the plan."""
    task = db.get_or_404(PlanTask, task_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    year = task.due_on.year
    plan_tasks.delete_task(task, current_user)
    flash(_("The task is removed from the plan."), "success")
    return redirect(url_for("seminars.year_plan", year=year))


@bp.post("/plan/tasks/<int:task_id>/done")
@login_required
def mark_task_done(task_id: int):
    """Done or not done again, by an owner (the person or a group member) or the coordinator."""
    task = db.session.get(PlanTask, task_id)
    if task is None or not plan_tasks.may_mark_done(current_user, task):
        abort(404)
    form = TaskDoneForm()
    if not form.validate_on_submit():
        abort(400)
    plan_tasks.mark_done(task, current_user, bool(form.done.data))
    flash(_("Marked done.") if task.is_done else _("Marked not done."), "success")
    back = request.form.get("back", "")
    if back == "mine":
        return redirect(url_for("seminars.my_tasks"))
    return redirect(url_for("seminars.year_plan", year=task.due_on.year))


@bp.get("/tasks/mine")
@login_required
def my_tasks():
    """The plan's tasks that are yours or your groups', not done first."""
    return render_template("seminars/my_tasks.html", tasks=plan_tasks.tasks_of(current_user),
                           done_form=TaskDoneForm(), today=today_local())


@bp.get("/outbox")
@coordinator_required
def outbox():
    """The outbox moved to the ground floor (all mail, not only seminars')."""
    return redirect(url_for("mail.outbox"))


# --- the public page and guests ------------------------------------------------------------

def _shown_publicly(seminar) -> bool:
    """A seminar (or the row `rules.seminar_to_register` reads) the public pages show."""
    return seminar.audience == Audience.public and seminar.state != SeminarState.draft


def _public_seminar(seminar_id: int) -> Seminar:
    seminar = db.get_or_404(Seminar, seminar_id)
    if not _shown_publicly(seminar):
        abort(404)
    return seminar


@bp.get("/public/")
def public_list():
    """Published public seminars ahead, term by term, open to everyone."""
    seminars = db.session.scalars(select(Seminar).where(
        Seminar.audience == Audience.public, Seminar.state == SeminarState.published)).all()
    today = today_local()
    seminars = sorted((s for s in seminars if (s.first_day or date.min) >= today), key=lambda s: s.first_day)
    return render_template("seminars/public_list.html", terms=planning.by_term(seminars),
                           left={s.id: rules.places_left(s) for s in seminars}, form=ResendLinkForm())


def _public_page(seminar: Seminar, form, status: int = 200, **extra):
    return render_template(
        "seminars/public_seminar.html", seminar=seminar, form=form, places_left=rules.places_left(seminar),
        deadline=planning.deadline_text(seminar, today_local()), sessions=rules.session_overview(seminar),
        **extra), status


@bp.route("/public/<int:seminar_id>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def public_seminar(seminar_id: int):
    """A public seminar and the registration form for guests."""
    if request.method == "POST":
        return _register_guest(seminar_id)
    seminar = _public_seminar(seminar_id)
    form = without_unused_answers(GuestRegistrationForm(), seminar)
    form.locale.data = str(get_locale() or "sv")
    return _public_page(seminar, form)


def _register_guest(seminar_id: int):
    """The form sent: the registration, or the page again with what was typed (422/409).

    Reads only the seminar's columns the registration asks (`rules.seminar_to_register`);
    the whole seminar only when the page is shown again."""
    seminar = rules.seminar_to_register(seminar_id)
    if seminar is None or not _shown_publicly(seminar):
        abort(404)
    form = without_unused_answers(GuestRegistrationForm(), seminar)
    if not form.validate_on_submit():
        return _public_page(_public_seminar(seminar_id), form, 422)
    try:
        outcome = rules.register_guest(
            seminar_id, name=form.name.data, organisation=form.organisation.data, email=form.email.data,
            locale=form.locale.data, dietary_needs=form.dietary_needs.data or "",
            accessibility_needs=form.accessibility_needs.data or "",
            attendance_mode=attendance_mode_of(form), seminar=seminar)
    except rules.RegistrationRefused as error:
        undo_refused_action()
        return _public_page(_public_seminar(seminar_id), form, error.status, refusal=[error.message])
    return redirect(url_for("seminars.guest_registration", token=outcome.token, new=1))


def _address_key() -> str:
    """Rate-limit key of the address asked for (hashed: the counter table keeps no address)."""
    address = request.form.get("email", "").strip().lower()
    return "resend-link:" + hashlib.sha256(address.encode()).hexdigest()[:32]


@bp.route("/public/link", methods=["GET", "POST"])
@limiter.limit("5 per hour; 20 per day", methods=["POST"])
@limiter.limit("3 per hour", methods=["POST"], key_func=_address_key)
def resend_link():
    """Lost the mail? Your e-mail address gets a fresh link to each of your registrations."""
    form = ResendLinkForm()
    if form.validate_on_submit():
        # The same answer whether or not the address is registered: nobody learns who is.
        rules.resend_links(form.email.data, locale=str(get_locale() or "sv"))
        flash(_("If the address is registered for a seminar, a mail with new links is on its way. "
                "The links you had before no longer work."), "success")
        return redirect(url_for("seminars.resend_link"))
    return render_template("seminars/resend_link.html", form=form), 422 if form.is_submitted() else 200


def _guest(token: str) -> Registration:
    registration = rules.find_by_token(token)
    if registration is None:
        # An old link (replaced by "send my link again") or a mistyped one: say what to do.
        abort(Response(render_template("seminars/link_unknown.html", form=ResendLinkForm()), 404))
    return registration


def _guest_page(registration: Registration, token: str, form=None, status: int = 200, **extra):
    return render_template(
        "seminars/guest.html", registration=registration, token=token, confirm=ConfirmForm(),
        action_url=lambda session, action: url_for("seminars.guest_session", token=token,
                                                   session_id=session.id, action=action),
        form=form or _change_form(registration), position=rules.waiting_position(registration),
        sessions=rules.session_overview(registration.seminar, registration),
        evaluation_open=rules.evaluation_open(registration),
        just_registered=request.args.get("new") == "1", **extra), status


def _change_form(registration: Registration) -> ChangeRegistrationForm:
    form = without_unused_answers(ChangeRegistrationForm(obj=registration), registration.seminar)
    if not form.is_submitted() and "attendance_mode" in form:
        form.attendance_mode.data = registration.attendance_mode.value
    return form


@bp.route("/r/<token>", methods=["GET", "POST"])
@limiter.limit("60 per minute")
def guest_registration(token: str):
    """The guest's own page behind the secret link: see, change, cancel."""
    registration = _guest(token)
    form = _change_form(registration)
    if registration.is_active and form.validate_on_submit():
        rules.change_registration(registration, dietary_needs=form.dietary_needs.data or "",
                                  accessibility_needs=form.accessibility_needs.data or "",
                                  attendance_mode=attendance_mode_of(form, registration.attendance_mode),
                                  locale=form.locale.data)
        flash(_("Your changes are saved."), "success")
        return redirect(url_for("seminars.guest_registration", token=token))
    return _guest_page(registration, token, form, 422 if form.is_submitted() else 200)


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


@bp.post("/r/<token>/sessions/<int:session_id>/<any('sign-up', leave):action>")
@limiter.limit("60 per minute")
def guest_session(token: str, session_id: int, action: str):
    """The guest signs up for a session with its own places (or its waiting list), or leaves it."""
    registration = _guest(token)
    _session_of(registration.seminar_id, session_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        _session_action(registration, session_id, action)
    except rules.RegistrationRefused as error:
        undo_refused_action()
        return _guest_page(registration, token, status=error.status, refusal=[error.message])
    return redirect(url_for("seminars.guest_registration", token=token, _anchor="sessions"))


@bp.route("/r/<token>/evaluate", methods=["GET", "POST"])
@limiter.limit("60 per minute")
def guest_evaluate(token: str):
    """The guest's evaluation of the seminar."""
    return _evaluate(_guest(token), url_for("seminars.guest_registration", token=token))
