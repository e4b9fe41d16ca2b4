"""The meeting structure: "My meetings" for everyone, series and members for the coordinator."""

from __future__ import annotations

from datetime import time, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from office import feeds
from office.accounts.models import Agency, Role, User
from office.allocations import rules as allocation_rules
from office.allocations.models import Term
from office.booking import rules as booking
from office.core.database import utcnow
from office.core.extensions import db
from office.core.forms import ConfirmForm, choices
from office.core.i18n import today_local
from office.core.security import coordinator_required
from office.core.templating import add_nav_item
from office.core.transaction import conflicts_become, undo_refused_action
from office.meetings import rules as meetings
from office.meetings.forms import (
    ATTENDANCE_LABELS,
    ActionForm,
    AgendaItemForm,
    MeetingMemberForm,
    MeetingSeriesForm,
    MinutesForm,
    SeriesSettingsForm,
    GENDER_LABELS,
    GuestForm,
    case_count_form,
    decision_lines,
)
from office.meetings.models import (
    Attendance,
    MeetingAction,
    MeetingGuest,
    MeetingMember,
    MeetingSeries,
)
from office.premises.models import Resource, ResourceKind, Site

bp = Blueprint("meetings", __name__, url_prefix="/meetings")


@bp.record_once
def _plug_into_feeds(state) -> None:
    from office.meetings.feeds import register_feeds

    register_feeds(state.app)  # its feed sources and kinds (office/meetings/feeds.py)


add_nav_item("meetings.my_meetings", _l("My meetings"))


class AlreadyMember(Exception):
    """The person is a member of the series already (the unique constraint said so)."""


@bp.get("/")
@login_required
def my_meetings():
    """The meetings you attend in the coming eight weeks (your attendance pattern applied)."""
    first, last = meetings.next_weeks(today_local())
    return render_template("meetings/my_meetings.html", meetings=meetings.my_meetings(
        current_user, first, last), series=meetings.all_series(), first=first, last=last)


def _series_form() -> MeetingSeriesForm:
    form = MeetingSeriesForm()
    rooms = db.session.scalars(
        select(Resource).join(Resource.site).where(Resource.kind == ResourceKind.room,
                                                   Resource.active.is_(True))
        .order_by(Site.name, Resource.name)).all()
    form.resource_id.choices = choices([(r.id, f"{r.name} ({r.site.name})") for r in rooms])
    terms = db.session.scalars(select(Term).order_by(Term.first_day)).all()
    form.term_id.choices = choices([(t.id, allocation_rules.term_name(t)) for t in terms])
    if not form.is_submitted():
        form.start_time.data, form.end_time.data = time(9, 0), time(10, 30)
    return form


def _rule_for(frequency: str, weekday: int, term: Term, first_day) -> str:
    if frequency == "twice_per_term":
        return meetings.twice_per_term_rule(term, weekday)
    if frequency == "every_six_months":
        return meetings.every_six_months_rule(first_day, weekday)
    if frequency == "yearly":
        return meetings.yearly_rule(first_day, weekday)
    return meetings.weekly_rule(weekday, term.last_day)


@bp.route("/series", methods=["GET", "POST"])
@coordinator_required
def series_list():
    """The meeting series, and a form to start a new one for a term."""
    form = _series_form()
    if form.validate_on_submit():
        term = db.get_or_404(Term, form.term_id.data)
        first_day = meetings.series_first_day(term, today_local())
        rule = _rule_for(form.frequency.data, form.weekday.data, term, first_day)
        try:
            series = meetings.create_meeting_series(
                name=form.name.data, description=form.description.data or "",
                resource=db.get_or_404(Resource, form.resource_id.data), first_day=first_day,
                start_time=form.start_time.data, end_time=form.end_time.data, rrule=rule,
                members=[], actor=current_user)
        except meetings.MeetingRefused as refused:
            undo_refused_action()
            form.name.errors.extend(refused.messages)
        except booking.BookingRefused as refused:
            undo_refused_action()
            return render_template("meetings/series_list.html", form=form,
                                   series=meetings.all_series(), problems=refused.problems), refused.status
        else:
            flash(_("The meeting %(name)s is booked.", name=series.name), "success")
            return redirect(url_for("meetings.show_series", series_id=series.id))
    status = 422 if form.is_submitted() else 200
    return render_template("meetings/series_list.html", form=form,
                           series=meetings.all_series()), status


def _member_form() -> MeetingMemberForm:
    form = MeetingMemberForm()
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)).all()
    form.user_id.choices = choices([(u.id, f"{u.name} ({u.agency.short_name})") for u in users])
    return form


@bp.get("/series/<int:series_id>")
@login_required
def show_series(series_id: int):
    """A series: its members and attendance, and the coming meetings."""
    series = db.get_or_404(MeetingSeries, series_id)
    return _render_series(series, _member_form())


def _render_series(series, form, status=200, new_link=None, settings_form=None):
    first, last = meetings.next_weeks(today_local(), 12)
    owner = feeds.Owner(current_user.id, current_user.agency_id, current_user.role)
    return render_template(
        "meetings/series.html", series=series, form=form, confirm=ConfirmForm(),
        dates=meetings.meeting_dates(series, first, last), attendance_labels=ATTENDANCE_LABELS,
        earlier=meetings.meeting_dates(series, first - timedelta(weeks=12),
                                       first - timedelta(days=1))[::-1],
        settings_form=settings_form or _settings_form(series),
        may_open=meetings.may_read(current_user, meetings.Sitting(series, None, None)),
        may_follow=feeds.feed_kind("series").may_subscribe(owner, series.id),
        new_link=new_link, new_label=series.name,
    ), status


@bp.post("/series/<int:series_id>/feed")
@login_required
def series_feed(series_id: int):
    """A secret calendar link to every meeting of the series (members and the coordinator)."""
    from office.feeds.views import subscribe_links

    series = db.get_or_404(MeetingSeries, series_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        token = feeds.issue_token(current_user, "series", series.id)
    except PermissionError:
        abort(403)
    return _render_series(series, _member_form(),
                          new_link=subscribe_links("feeds.private_feed", token=token))


@bp.post("/series/<int:series_id>/members")
@coordinator_required
def add_member(series_id: int):
    """Adds a member with an attendance pattern."""
    series = db.get_or_404(MeetingSeries, series_id)
    form = _member_form()
    if not form.validate_on_submit():
        return _render_series(series, form, 422)
    db.session.add(MeetingMember(series=series, user_id=form.user_id.data,
                                 attendance=Attendance(form.attendance.data)))
    try:
        with conflicts_become(AlreadyMember):
            db.session.flush()
    except AlreadyMember:
        undo_refused_action()
        form.user_id.errors.append(_("This person is already a member."))
        return _render_series(series, form, 409)
    flash(_("The member is added."), "success")
    return redirect(url_for("meetings.show_series", series_id=series.id))


@bp.post("/series/<int:series_id>/members/<int:member_id>/delete")
@coordinator_required
def remove_member(series_id: int, member_id: int):
    """Removes a member from a series."""
    member = db.get_or_404(MeetingMember, member_id)
    if member.series_id != series_id or not ConfirmForm().validate_on_submit():
        abort(400)
    db.session.delete(member)
    flash(_("The member is removed."), "success")
    return redirect(url_for("meetings.show_series", series_id=series_id))


# --- one meeting: agenda, notice, minutes ------------------------------------------------------

def _settings_form(series: MeetingSeries) -> SeriesSettingsForm:
    form = SeriesSettingsForm(prefix="settings")
    form.chair_id.choices = choices([(0, _("No chair"))] + [
        (m.user.id, m.user.name) for m in series.members])
    if not form.is_submitted():
        form.chair_id.data, form.proposal_days.data = series.chair_id or 0, series.proposal_days
        form.counts_cases.data = series.counts_cases
    return form


@bp.post("/series/<int:series_id>/settings")
@coordinator_required
def save_series_settings(series_id: int):
    """Sets the series' chair and how long members may propose agenda items."""
    series = db.get_or_404(MeetingSeries, series_id)
    form = _settings_form(series)
    if not form.validate_on_submit():
        return _render_series(series, _member_form(), 422, settings_form=form)
    series.chair_id = form.chair_id.data or None
    series.proposal_days = form.proposal_days.data
    series.counts_cases = bool(form.counts_cases.data)
    flash(_("The settings are saved."), "success")
    return redirect(url_for("meetings.show_series", series_id=series.id))


def _sitting(meeting_occurrence_id: int) -> meetings.Sitting:
    """The meeting, for someone who may read it (members, its staff guests, the preparers)."""
    sitting = meetings.find_sitting(meeting_occurrence_id)
    if sitting is None:
        abort(404)
    if not meetings.may_read(current_user, sitting):
        abort(403)
    return sitting


def _preparer_only(sitting: meetings.Sitting) -> None:
    if not meetings.may_prepare(current_user, sitting.series):
        abort(403)


def _people_choices(sitting: meetings.Sitting):
    people = {m.user.id: m.user for m in sitting.series.members}
    for guest in (sitting.work.guests if sitting.work else []):
        if guest.user is not None:
            people[guest.user.id] = guest.user
    people.setdefault(current_user.id, current_user)
    for coordinator in db.session.scalars(select(User).where(
            User.role == Role.coordinator, User.active.is_(True))):
        people.setdefault(coordinator.id, coordinator)
    return choices([(0, _("Nobody in particular"))] + [
        (p.id, p.name) for p in sorted(people.values(), key=lambda p: p.name)])


def _forms(sitting, **given):
    forms = {"item_form": AgendaItemForm(prefix="item"), "action_form": ActionForm(prefix="action"),
             "minutes_form": MinutesForm(prefix="minutes"), "guest_form": GuestForm(prefix="guest")}
    forms.update(given)
    forms["guest_form"].user_id.choices = choices([(0, _("An outside guest"))] + [
        (u.id, f"{u.name} ({u.agency.short_name})") for u in db.session.scalars(
            select(User).where(User.active.is_(True)).order_by(User.name))])
    forms["item_form"].owner_id.choices = forms["action_form"].owner_id.choices = \
        _people_choices(sitting)
    cases = forms.setdefault("cases_form", case_count_form(_agencies()))
    if not cases.is_submitted():
        for (agency_id, gender), number in meetings.case_counts_of(sitting).items():
            field = cases._fields.get(f"{agency_id}-{gender.value}")
            if field is not None:
                field.data = number
    minutes = forms["minutes_form"]
    if not minutes.is_submitted() and sitting.work is not None:
        minutes.notes.data = sitting.work.minutes_notes
        minutes.decisions.data = "\n".join(d.text for d in sitting.work.decisions)
        minutes.shared_with_staff.data = sitting.work.minutes_shared_with_staff
    return forms


def _agencies() -> list[Agency]:
    return list(db.session.scalars(select(Agency).order_by(Agency.name)))


def _render_occurrence(sitting, status=200, problem=None, **forms):
    """The meeting page: agenda, proposals, notice, minutes (what the viewer may see)."""
    sitting = meetings.find_sitting(sitting.occurrence.id) or sitting  # the work may be new
    preparer = meetings.may_prepare(current_user, sitting.series)
    return render_template(
        "meetings/occurrence.html", sitting=sitting, work=sitting.work, preparer=preparer,
        member=meetings.is_member(current_user, sitting.series),
        deadline=meetings.proposal_deadline(sitting), now=utcnow(),
        carried=meetings.carried_actions(sitting), attendees=meetings.attendees_of(sitting),
        may_record_cases=meetings.may_record_cases(current_user, sitting), agencies=_agencies(),
        genders=GENDER_LABELS,
        confirm=ConfirmForm(), problem=problem, **_forms(sitting, **forms)), status


@bp.get("/occurrences/<int:meeting_occurrence_id>")
@login_required
def show_occurrence(meeting_occurrence_id: int):
    """One meeting: its agenda, open actions carried over and (when approved) its minutes."""
    sitting = meetings.find_sitting(meeting_occurrence_id)
    if sitting is None:
        abort(404)
    if not (meetings.may_read(current_user, sitting) or meetings.minutes_shared(sitting)):
        abort(403)
    return _render_occurrence(sitting)


def _refused(sitting, refused: meetings.WorkRefused, **forms):
    undo_refused_action()
    return _render_occurrence(sitting, refused.status, problem=refused.message, **forms)


def _user_or_none(user_id: int) -> User | None:
    return db.session.get(User, user_id) if user_id else None


@bp.post("/occurrences/<int:meeting_occurrence_id>/items")
@login_required
def add_item(meeting_occurrence_id: int):
    """Adds an agenda item (preparers) or proposes one (members, until the deadline)."""
    sitting = _sitting(meeting_occurrence_id)
    form = _forms(sitting, item_form=AgendaItemForm(prefix="item"))["item_form"]
    if not form.validate_on_submit():
        return _render_occurrence(sitting, 422, item_form=form)
    try:
        item = meetings.add_agenda_item(sitting, current_user, title=form.title.data,
                                        owner=_user_or_none(form.owner_id.data),
                                        minutes=form.minutes.data, now=utcnow())
    except meetings.WorkRefused as refused:
        return _refused(sitting, refused, item_form=form)
    flash(_("The proposal is sent to the coordinator and the chair.") if item.proposed
          else _("The item is on the agenda."), "success")
    return redirect(url_for("meetings.show_occurrence", meeting_occurrence_id=sitting.id))


def _item(sitting, item_id: int):
    item = meetings.item_of(sitting, item_id)
    if item is None or not ConfirmForm().validate_on_submit():
        abort(404 if item is None else 400)
    return item


@bp.post("/occurrences/<int:meeting_occurrence_id>/items/<int:item_id>/accept")
@login_required
def accept_item(meeting_occurrence_id: int, item_id: int):
    """Takes a member's proposal onto the agenda."""
    sitting = _sitting(meeting_occurrence_id)
    _preparer_only(sitting)
    meetings.accept_item(_item(sitting, item_id))
    flash(_("The item is on the agenda."), "success")
    return redirect(url_for("meetings.show_occurrence", meeting_occurrence_id=sitting.id))


@bp.post("/occurrences/<int:meeting_occurrence_id>/items/<int:item_id>/delete")
@login_required
def remove_item(meeting_occurrence_id: int, item_id: int):
    """Removes an item or a proposal from the agenda."""
    sitting = _sitting(meeting_occurrence_id)
    _preparer_only(sitting)
    db.session.delete(_item(sitting, item_id))
    flash(_("The item is removed."), "success")
    return redirect(url_for("meetings.show_occurrence", meeting_occurrence_id=sitting.id))


@bp.post("/occurrences/<int:meeting_occurrence_id>/notice")
@login_required
def send_notice(meeting_occurrence_id: int):
    """Mails the notice with the agenda and a calendar file to the attendees and guests."""
    sitting = _sitting(meeting_occurrence_id)
    _preparer_only(sitting)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    count = meetings.send_notice(sitting, current_user, utcnow())
    flash(ngettext("The notice is sent to %(num)d person.", "The notice is sent to %(num)d people.",
                   count), "success")
    return redirect(url_for("meetings.show_occurrence", meeting_occurrence_id=sitting.id))


@bp.post("/occurrences/<int:meeting_occurrence_id>/minutes")
@login_required
def save_minutes(meeting_occurrence_id: int):
    """Saves the draft minutes: notes and decisions, and whether all staff may read them."""
    sitting = _sitting(meeting_occurrence_id)
    _preparer_only(sitting)
    form = MinutesForm(prefix="minutes")
    if not form.validate_on_submit():
        return _render_occurrence(sitting, 422, minutes_form=form)
    try:
        meetings.save_minutes(sitting, notes=form.notes.data or "",
                              decisions=decision_lines(form.decisions.data),
                              shared=bool(form.shared_with_staff.data))
    except meetings.WorkRefused as refused:
        return _refused(sitting, refused, minutes_form=form)
    flash(_("The minutes are saved."), "success")
    return redirect(url_for("meetings.show_occurrence", meeting_occurrence_id=sitting.id))


@bp.post("/occurrences/<int:meeting_occurrence_id>/actions")
@login_required
def add_action(meeting_occurrence_id: int):
    """Adds an action (who does what by when) to the minutes."""
    sitting = _sitting(meeting_occurrence_id)
    _preparer_only(sitting)
    form = _forms(sitting, action_form=ActionForm(prefix="action"))["action_form"]
    if not form.validate_on_submit():
        return _render_occurrence(sitting, 422, action_form=form)
    try:
        meetings.add_action(sitting, text=form.text.data, owner=_user_or_none(form.owner_id.data),
                            due_on=form.due_on.data)
    except meetings.WorkRefused as refused:
        return _refused(sitting, refused, action_form=form)
    flash(_("The action is added."), "success")
    return redirect(url_for("meetings.show_occurrence", meeting_occurrence_id=sitting.id))


@bp.post("/occurrences/<int:meeting_occurrence_id>/actions/<int:action_id>/done")
@login_required
def finish_action(meeting_occurrence_id: int, action_id: int):
    """Marks an action done (the preparers or the person who does it), here or on a later agenda."""
    sitting = _sitting(meeting_occurrence_id)
    action = db.session.get(MeetingAction, action_id)
    if action is None or action.meeting.series_id != sitting.series.id:
        abort(404)
    if not meetings.may_finish_action(current_user, action):
        abort(403)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        meetings.finish_action(action, utcnow())
    except meetings.WorkRefused as refused:
        return _refused(sitting, refused)
    flash(_("The action is done."), "success")
    return redirect(url_for("meetings.show_occurrence", meeting_occurrence_id=sitting.id))


@bp.post("/occurrences/<int:meeting_occurrence_id>/approve")
@login_required
def approve_minutes(meeting_occurrence_id: int):
    """Approves the minutes: they become read-only and visible to the members."""
    sitting = _sitting(meeting_occurrence_id)
    _preparer_only(sitting)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        meetings.approve_minutes(sitting, current_user, utcnow())
    except meetings.WorkRefused as refused:
        return _refused(sitting, refused)
    flash(_("The minutes are approved."), "success")
    return redirect(url_for("meetings.show_occurrence", meeting_occurrence_id=sitting.id))


@bp.post("/occurrences/<int:meeting_occurrence_id>/cases")
@login_required
def record_cases(meeting_occurrence_id: int):
    """Records how many cases the meeting raised, per agency and gender: numbers only."""
    sitting = _sitting(meeting_occurrence_id)
    if not sitting.series.counts_cases:
        abort(404)  # only the case workers' group has this form
    if not meetings.may_record_cases(current_user, sitting):
        abort(403)
    agencies = _agencies()
    form = case_count_form(agencies)
    if not form.validate_on_submit():
        return _render_occurrence(sitting, 422, cases_form=form)
    counts = {(agency.id, gender): form[f"{agency.id}-{gender.value}"].data or 0
              for agency in agencies for gender in GENDER_LABELS}
    meetings.record_cases(sitting, counts)
    flash(_("The counts are saved."), "success")
    return redirect(url_for("meetings.show_occurrence", meeting_occurrence_id=sitting.id))


@bp.post("/occurrences/<int:meeting_occurrence_id>/guests")
@login_required
def add_guest(meeting_occurrence_id: int):
    """Invites a colleague or an outside guest to this meeting only; a sent notice follows."""
    sitting = _sitting(meeting_occurrence_id)
    _preparer_only(sitting)
    form = _forms(sitting, guest_form=GuestForm(prefix="guest"))["guest_form"]
    if not form.validate_on_submit():
        return _render_occurrence(sitting, 422, guest_form=form)
    try:
        guest = meetings.add_guest(sitting, user=_user_or_none(form.user_id.data),
                                   name=form.name.data or "", email=form.email.data or "",
                                   organisation=form.organisation.data or "")
    except meetings.WorkRefused as refused:
        return _refused(sitting, refused, guest_form=form)
    if guest.meeting.notice_sent_at is not None:
        meetings.send_notice(sitting, current_user, utcnow(),
                             recipients=[meetings.guest_recipient(guest)])
        flash(_("%(name)s is invited and has been sent the notice.", name=guest.name), "success")
    else:
        flash(_("%(name)s is invited and will get the notice with the others.", name=guest.name),
              "success")
    return redirect(url_for("meetings.show_occurrence", meeting_occurrence_id=sitting.id))


@bp.post("/occurrences/<int:meeting_occurrence_id>/guests/<int:guest_id>/delete")
@login_required
def remove_guest(meeting_occurrence_id: int, guest_id: int):
    """Takes a guest off this meeting."""
    sitting = _sitting(meeting_occurrence_id)
    _preparer_only(sitting)
    guest = db.session.get(MeetingGuest, guest_id)
    if guest is None or guest.meeting_id != sitting.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    db.session.delete(guest)
    flash(_("The guest is removed."), "success")
    return redirect(url_for("meetings.show_occurrence", meeting_occurrence_id=sitting.id))
