"""The meeting structure: "My meetings" for everyone, series and members for the coordinator."""

from __future__ import annotations

from datetime import time

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from office import feeds
from office.accounts.models import User
from office.allocations import rules as allocation_rules
from office.allocations.models import Term
from office.booking import rules as booking
from office.core.extensions import db
from office.core.forms import ConfirmForm, choices
from office.core.i18n import today_local
from office.core.security import coordinator_required
from office.core.templating import add_nav_item
from office.core.transaction import conflicts_become, undo_refused_action
from office.meetings import rules as meetings
from office.meetings.forms import ATTENDANCE_LABELS, MeetingMemberForm, MeetingSeriesForm
from office.meetings.models import Attendance, MeetingMember, MeetingSeries
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


@bp.route("/series", methods=["GET", "POST"])
@coordinator_required
def series_list():
    """The meeting series, and a form to start a new one for a term."""
    form = _series_form()
    if form.validate_on_submit():
        term = db.get_or_404(Term, form.term_id.data)
        first_day = meetings.series_first_day(term, today_local())
        rule = (meetings.twice_per_term_rule(term, form.weekday.data)
                if form.frequency.data == "twice_per_term"
                else meetings.weekly_rule(form.weekday.data, term.last_day))
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


def _render_series(series, form, status=200, new_link=None):
    first, last = meetings.next_weeks(today_local(), 12)
    owner = feeds.Owner(current_user.id, current_user.agency_id, current_user.role)
    return render_template(
        "meetings/series.html", series=series, form=form, confirm=ConfirmForm(),
        dates=meetings.meeting_dates(series, first, last), attendance_labels=ATTENDANCE_LABELS,
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
