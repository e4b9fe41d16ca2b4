"""Your mail choices: which optional mails Samlokal sends you."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from office.notifications import rules as notifications
from office.notifications.forms import PreferencesForm

bp = Blueprint("notifications", __name__, url_prefix="/account")


@bp.route("/mail", methods=["GET", "POST"])
@login_required
def preferences():
    form = PreferencesForm()
    if form.validate_on_submit():
        notifications.set_wanted(current_user, {t for t in notifications.TOPICS
                                                if form[t].data})
        flash(_("Your mail choices are saved."), "success")
        return redirect(url_for("notifications.preferences"))
    if not form.is_submitted():
        off = notifications.opted_out(current_user)
        for topic in notifications.TOPICS:
            form[topic].data = topic not in off
    status = 422 if form.is_submitted() else 200
    return render_template("notifications/preferences.html", form=form), status
