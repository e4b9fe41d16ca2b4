"""Staff accounts: the coordinator (and agency admins for their own agency) invite and deactivate."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from office.accounts import login_sessions, second_factor
from office.accounts import rules as accounts
from office.accounts.forms import ROLE_LABELS, InviteUserForm
from office.accounts.models import Agency, Role, Unit, User
from office.core.extensions import db
from office.core.forms import ConfirmForm, choices
from office.core.security import admin_required

bp = Blueprint("users", __name__, url_prefix="/users")


def _visible_users_query():
    query = select(User).join(User.agency).order_by(Agency.name, User.name)
    if not current_user.is_coordinator:
        query = query.where(User.agency_id == current_user.agency_id)
    return query


def _managed_user(user_id: int) -> User:
    user = db.get_or_404(User, user_id)
    if not current_user.can_manage_agency(user.agency_id) or user.id == current_user.id:
        abort(403)
    return user


def _invite_form() -> InviteUserForm:
    form = InviteUserForm()
    agencies = db.session.scalars(select(Agency).order_by(Agency.name)).all()
    if not current_user.is_coordinator:
        agencies = [a for a in agencies if a.id == current_user.agency_id]
        form.role.choices = choices(
            (r.value, label) for r, label in ROLE_LABELS.items() if r != Role.coordinator
        )
    form.agency_id.choices = choices((a.id, a.name) for a in agencies)
    units = db.session.scalars(
        select(Unit).where(Unit.agency_id.in_([a.id for a in agencies])).order_by(Unit.name)
    ).all()
    form.unit_id.choices = choices(
        [(0, _("No unit"))] + [(u.id, f"{u.agency.short_name}: {u.name}") for u in units]
    )
    return form


@bp.get("/")
@admin_required
def list_users():
    """The staff you may manage, with their agency, role and state."""
    users = db.session.scalars(_visible_users_query()).all()
    return render_template("accounts/users.html", users=users, role_labels=ROLE_LABELS,
                           form=ConfirmForm())


@bp.route("/invite", methods=["GET", "POST"])
@admin_required
def invite_user():
    """Creates an account and shows its one-time invitation link."""
    form = _invite_form()
    if form.validate_on_submit():
        unit = db.session.get(Unit, form.unit_id.data) if form.unit_id.data else None
        if unit is not None and unit.agency_id != form.agency_id.data:
            form.unit_id.errors.append(_("The unit does not belong to the chosen agency."))
        elif accounts.find_user_by_email(form.email.data):
            form.email.errors.append(_("There is already an account with this e-mail address."))
        else:
            user = accounts.create_user(
                email=form.email.data, name=form.name.data, agency_id=form.agency_id.data,
                role=Role(form.role.data), unit_id=unit.id if unit else None, title=form.title.data or "",
            )
            db.session.flush()
            token = accounts.create_invitation(user, current_user)
            link = url_for("auth.accept_invitation", token=token, _external=True)
            return render_template("accounts/invitation_link.html", user=user, link=link)
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/invite_user.html", form=form), status


@bp.post("/<int:user_id>/invitation")
@admin_required
def reinvite_user(user_id: int):
    """Makes a new invitation link (for a lost link or a forgotten password)."""
    user = _managed_user(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    token = accounts.create_invitation(user, current_user)
    link = url_for("auth.accept_invitation", token=token, _external=True)
    return render_template("accounts/invitation_link.html", user=user, link=link)


@bp.post("/<int:user_id>/deactivate")
@admin_required
def deactivate_user(user_id: int):
    """Deactivates an account and ends all its sessions at once."""
    user = _managed_user(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    accounts.deactivate_user(user)
    flash(_("%(name)s can no longer log in.", name=user.name), "success")
    return redirect(url_for("users.list_users"))


@bp.post("/<int:user_id>/activate")
@admin_required
def activate_user(user_id: int):
    """Lets a deactivated account log in again."""
    user = _managed_user(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user.active = True
    flash(_("%(name)s can log in again.", name=user.name), "success")
    return redirect(url_for("users.list_users"))


@bp.post("/<int:user_id>/second-factor/reset")
@admin_required
def reset_second_factor(user_id: int):
    """Turns off someone's two-step verification (a lost phone); all their sessions end."""
    user = _managed_user(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    second_factor.remove(user)
    login_sessions.end_all(user)
    flash(_("Two-step verification is off for %(name)s. They can turn it on again after logging in.",
            name=user.name), "success")
    return redirect(url_for("users.list_users"))
