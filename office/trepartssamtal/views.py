"""Trepartssamtal: find a time and book it in one screen; participants follow up.

Only participants ever see the individual's reference (office.trepartssamtal.rules.reference_for);
the form travels by POST so the reference never lands in a URL or an access log.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from office.accounts.models import Agency, Role, User
from office.core import export
from office.core.database import utcnow
from office.core.extensions import db, htmx
from office.core.forms import SENSIBLE_YEARS, choices
from office.core.i18n import today_local
from office.core.security import roles_required
from office.core.templating import add_nav_item
from office.core.transaction import undo_refused_action
from office.premises.models import Site
from office.trepartssamtal import rules as meetings
from office.trepartssamtal.forms import (
    GROUPING_LABELS,
    MEASURE_LABELS,
    MODE_LABELS,
    STATUS_LABELS,
    BookMeetingForm,
    CancelForm,
    OutcomeForm,
    RescheduleForm,
)
from office.trepartssamtal.models import MeetingMode, MeetingStatus, Trepartssamtal

bp = Blueprint("trepartssamtal", __name__, url_prefix="/trepartssamtal")


@bp.record_once
def _plug_into_feeds(state) -> None:
    from office.trepartssamtal.feeds import register_feeds

    register_feeds(state.app)  # its feed sources and kinds (office/trepartssamtal/feeds.py)


# Which field a refusal belongs to (others are shown above the proposals).
FIELD_OF = {
    "personal_number": "reference", "bad_reference": "reference",
    "no_consent": "consent_given", "consent_agencies": "consent_agencies",
    "consent_in_future": "consent_given_on", "video_link": "video_link",
    "too_few_participants": "participants", "too_few_agencies": "participants",
    "booker_not_participant": "participants", "room_required": "site_id",
}


# --- helpers ---------------------------------------------------------------------------

def _staff() -> list[User]:
    users = db.session.scalars(select(User).join(User.agency).where(User.active.is_(True))
                               .order_by(Agency.name, User.name)).all()
    return [u for u in users if u.is_active]


def _prepare(form, staff, agencies):
    form.participants.choices = choices((u.id, u.name) for u in staff)
    form.site_id.choices = choices([(0, "–")] + [
        (s.id, s.name) for s in db.session.scalars(select(Site).order_by(Site.name))])
    if hasattr(form, "consent_agencies"):
        form.consent_agencies.choices = choices((a.id, a.name) for a in agencies)
    _fill_defaults(form)
    if not form.is_submitted():
        form.participants.data = [current_user.id]
        form.site_id.data = form.site_id.choices[1].value if len(form.site_id.choices) > 1 else 0
    return form


def _fill_defaults(form):
    if not form.is_submitted():
        today = today_local()
        form.first_day.data, form.last_day.data = today, today + timedelta(days=13)
        form.buffer_minutes.data = current_app.config.get("TREPARTSSAMTAL_BUFFER_MINUTES", 15)


def _search_from(form, staff) -> meetings.Search:
    chosen = set(form.participants.data or [])
    return meetings.Search(
        participants=[u for u in staff if u.id in chosen], booked_by=current_user._get_current_object(),
        first_day=form.first_day.data, last_day=form.last_day.data, minutes=form.minutes.data,
        mode=MeetingMode(form.mode.data), buffer_minutes=form.buffer_minutes.data,
        site=db.session.get(Site, form.site_id.data) if form.site_id.data else None,
        needs_accessible=form.needs_accessible.data, others=form.others.data,
    )


def _show_refusal(form, refused: meetings.TrepartssamtalRefused) -> list[str]:
    """Put each message on its field; return the ones that belong to no field."""
    general = []
    for code, message in zip(refused.codes, refused.messages):
        name = FIELD_OF.get(code)
        if name and name in form:
            form[name].errors = list(form[name].errors) + [message]
        else:
            general.append(message)
    if "personal_number" in refused.codes:
        form.reference.data = ""  # never echo what looked like a personal identity number
    return general


def _consent_from(form) -> meetings.ConsentInput:
    return meetings.ConsentInput(given=form.consent_given.data, given_on=form.consent_given_on.data,
                                 agency_ids=set(form.consent_agencies.data or []))


def _participant_meeting(meeting_id: int) -> Trepartssamtal:
    """The meeting when you take part in it; 404 otherwise (no hint that it exists)."""
    meeting = db.session.get(Trepartssamtal, meeting_id)
    if meeting is None or not meetings.is_participant(meeting, current_user):
        abort(404)
    return meeting


def _run(form, search, book):
    """Book when a proposal was pressed, else propose; returns (meeting, proposals, messages, status).

    A refused booking keeps the proposals on the page (and everything typed), so fixing the
    consent, say, is one more click on the same time, not a new search."""
    try:
        if form.slot.data:
            return book(), [], [], 302
        return None, meetings.find_proposals(search), [], 200
    except meetings.SlotTaken as taken:
        undo_refused_action()
        return None, meetings.find_proposals(search), taken.messages, 409
    except meetings.TrepartssamtalRefused as refused:
        undo_refused_action()
        return None, _proposals_if_possible(search), _show_refusal(form, refused), 422


# The fields a search needs: when only others are wrong, the proposals can still be shown.
SEARCH_FIELDS = ("participants", "minutes", "mode", "site_id", "needs_accessible", "others",
                 "first_day", "last_day", "buffer_minutes")


def _proposals_if_possible(search) -> list:
    if search is None:
        return []
    try:
        return meetings.find_proposals(search)
    except meetings.TrepartssamtalRefused:
        return []


# --- views ---------------------------------------------------------------------------------

@bp.get("/")
@login_required
def list_meetings():
    """Your trepartssamtal: those ahead and those waiting for an outcome."""
    mine = meetings.meetings_for(current_user, since=None)
    return render_template("trepartssamtal/list.html", meetings=mine,
                           reference_for=meetings.reference_for, mode_labels=MODE_LABELS,
                           status_labels=STATUS_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new_meeting():
    """Pick people, length and mode; get proposals; one click books time and room."""
    staff, agencies = _staff(), db.session.scalars(select(Agency).order_by(Agency.name)).all()
    form = _prepare(BookMeetingForm(), staff, agencies)
    meeting, proposals, messages, status = None, [], [], 200
    if form.is_submitted():
        if form.validate():
            search = _search_from(form, staff)
            meeting, proposals, messages, status = _run(form, search, lambda: meetings.book_proposal(
                search, form.slot.data, reference=form.reference.data, consent=_consent_from(form),
                video_link=form.video_link.data))
        else:
            status = 422
            if not any(form[name].errors for name in SEARCH_FIELDS):
                proposals = _proposals_if_possible(_search_from(form, staff))
    if meeting is not None:
        flash(_("The trepartssamtal is booked."), "success")
        return redirect(url_for("trepartssamtal.show_meeting", meeting_id=meeting.id))
    context = dict(form=form, staff=staff, agencies=agencies, proposals=proposals, messages=messages,
                   searched=form.is_submitted(), mode_labels=MODE_LABELS, chosen=form.slot.data,
                   retention_days=current_app.config.get("TREPARTSSAMTAL_RETENTION_DAYS", 90))
    if htmx.target == "trepartssamtal-form":
        return render_template("trepartssamtal/_form.html", **context), status
    return render_template("trepartssamtal/new.html", **context), status


@bp.get("/<int:meeting_id>")
@login_required
def show_meeting(meeting_id: int):
    """One of your meetings: the reference, consent, and what to do next."""
    meeting = _participant_meeting(meeting_id)
    return render_template(
        "trepartssamtal/show.html", meeting=meeting,
        reference=meetings.reference_for(meeting, current_user), mode_labels=MODE_LABELS,
        status_labels=STATUS_LABELS, outcome_form=OutcomeForm(), cancel_form=CancelForm(),
        now=utcnow(),
    )


@bp.post("/<int:meeting_id>/outcome")
@login_required
def record_outcome(meeting_id: int):
    """Records after the meeting whether it was held, missed or cancelled."""
    meeting = _participant_meeting(meeting_id)
    form = OutcomeForm()
    try:
        if not form.validate_on_submit():
            raise meetings.TrepartssamtalRefused([])
        meetings.record_outcome(meeting, current_user, MeetingStatus(form.status.data))
    except meetings.TrepartssamtalRefused as refused:
        undo_refused_action()
        for message in refused.messages:
            flash(message, "error")
        return redirect(url_for("trepartssamtal.show_meeting", meeting_id=meeting_id)), 303
    flash(_("The outcome is recorded."), "success")
    return redirect(url_for("trepartssamtal.show_meeting", meeting_id=meeting_id))


@bp.post("/<int:meeting_id>/cancel")
@login_required
def cancel_meeting(meeting_id: int):
    """Cancels a meeting ahead and frees its room."""
    meeting = _participant_meeting(meeting_id)
    form = CancelForm()
    try:
        if not form.validate_on_submit():
            raise meetings.TrepartssamtalRefused([])
        meetings.cancel_meeting(meeting, current_user, MeetingStatus(form.status.data))
    except meetings.TrepartssamtalRefused as refused:
        undo_refused_action()
        for message in refused.messages or [_("Choose who cancelled.")]:
            flash(message, "error")
        return redirect(url_for("trepartssamtal.show_meeting", meeting_id=meeting_id)), 303
    flash(_("The trepartssamtal is cancelled."), "success")
    return redirect(url_for("trepartssamtal.show_meeting", meeting_id=meeting_id))


@bp.route("/<int:meeting_id>/reschedule", methods=["GET", "POST"])
@login_required
def reschedule_meeting(meeting_id: int):
    """Fresh proposals for the same people; one click moves the meeting and its room."""
    meeting = _participant_meeting(meeting_id)
    form = RescheduleForm()
    _fill_defaults(form)
    proposals, messages, status = [], [], 200
    if form.is_submitted():
        if form.validate():
            search = meetings.search_for_meeting(meeting, current_user, form.first_day.data,
                                                 form.last_day.data, form.buffer_minutes.data)
            moved, proposals, messages, status = _run(form, search, lambda: meetings.book_proposal(
                search, form.slot.data, reference=None, consent=None))
            if moved is not None:
                flash(_("The trepartssamtal is moved."), "success")
                return redirect(url_for("trepartssamtal.show_meeting", meeting_id=meeting.id))
        else:
            status = 422
    return render_template("trepartssamtal/reschedule.html", form=form, meeting=meeting,
                           proposals=proposals, messages=messages, searched=form.is_submitted(),
                           chosen=form.slot.data,
                           reference=meetings.reference_for(meeting, current_user)), status


def _statistics_args():
    by = request.args.get("by", "month")
    if by not in meetings.GROUPINGS:
        abort(400)
    today = today_local()
    try:
        first = date.fromisoformat(request.args["from"]) if request.args.get("from") else None
        last = date.fromisoformat(request.args["to"]) if request.args.get("to") else None
    except ValueError:
        abort(400)
    first = first or today.replace(month=1, day=1)
    last = last or today.replace(month=12, day=31)
    years = SENSIBLE_YEARS[0] <= first.year and last.year <= SENSIBLE_YEARS[1]
    if last < first or (last - first).days > 3 * 366 or not years:
        abort(400)
    return by, first, last


@bp.get("/statistics")
@roles_required(Role.coordinator, Role.agency_admin)
def show_statistics():
    """Counts per week, month or agency and mode: no personal data."""
    by, first, last = _statistics_args()
    rows = meetings.statistics(first, last, by)
    return render_template("trepartssamtal/statistics.html", rows=rows, by=by, first=first,
                           last=last, bars=meetings.chart_values(rows), mode_labels=MODE_LABELS,
                           measure_labels=MEASURE_LABELS, grouping_labels=GROUPING_LABELS,
                           measures=meetings.MEASURES)


@bp.get("/statistics.csv")
@roles_required(Role.coordinator, Role.agency_admin)
def export_statistics():
    """The same counts as CSV for a spreadsheet, small counts suppressed as on the page."""
    by, first, last = _statistics_args()
    rows = [[group, MODE_LABELS[mode], *(export.suppressed(n) for n in counts)]
            for group, mode, *counts in meetings.statistics_rows(meetings.statistics(first, last, by))]
    filename = f"trepartssamtal-{by}-{first.isoformat()}-{last.isoformat()}.csv"
    header = [GROUPING_LABELS[by], _("How"), *(MEASURE_LABELS[m] for m in meetings.MEASURES)]
    return export.csv_response(filename, header, rows)


add_nav_item("trepartssamtal.list_meetings", _l("Trepartssamtal"))
add_nav_item("trepartssamtal.show_statistics", _l("Statistics"), (Role.coordinator, Role.agency_admin),
             description=_l("Trepartssamtal per week, month or agency, by mode and outcome."))
