"""Logging in and out, passwords, invitations and the language switch."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from office.accounts import rules as accounts
from office.accounts.forms import ChangePasswordForm, LoginForm, SetPasswordForm
from office.core.extensions import limiter
from office.core.forms import LanguageForm
from office.core.security import is_safe_redirect
from office.core.transaction import keep_changes_on_refusal

bp = Blueprint("auth", __name__)


def _login_rate() -> str:
    return current_app.config["LOGIN_RATE_PER_ADDRESS"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate, methods=["POST"], deduct_when=lambda r: g.get("login_failed", False))
def login():
    """The login page; a success renews the session and goes to `next` or the dashboard."""
    form = LoginForm()
    if form.validate_on_submit():
        result = accounts.authenticate(form.email.data, form.password.data)
        keep_changes_on_refusal()  # a failed attempt counts towards the lock
        if result.ok:
            return _start_session(result.user, form.remember.data)
        g.login_failed = True
        if result.locked_until:
            until = format_datetime(result.locked_until, "HH:mm")
            form.password.errors.append(
                _("Too many failed attempts. Try again after %(time)s.", time=until)
            )
            return render_template("accounts/login.html", form=form), 429
        form.password.errors.append(_("Wrong e-mail address or password."))
        return render_template("accounts/login.html", form=form), 401
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/login.html", form=form), status


def _start_session(user, remember: bool):
    target = request.args.get("next")
    locale = user.locale or session.get("locale")
    session.clear()  # a fresh session on login: nothing carried over but the language
    if locale:
        session["locale"] = locale
    login_user(user, remember=remember)
    return redirect(target if is_safe_redirect(target) else url_for("home.dashboard"))


@bp.post("/logout")
@login_required
def logout():
    """Ends this session and returns to the login page."""
    locale = session.get("locale")
    logout_user()
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change your own password; every other session of yours ends."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not accounts.password_matches(current_user, form.current.data):
            form.current.errors.append(_("The current password is wrong."))
        else:
            accounts.set_password(current_user, form.password.data)
            login_user(current_user._get_current_object())  # this session keeps the new token
            flash(_("Your password is changed. Other sessions were logged out."), "success")
            return redirect(url_for("home.dashboard"))
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/change_password.html", form=form), status


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """An invited user chooses a password with a one-time link."""
    invitation = accounts.find_invitation(token)
    if invitation is None:
        abort(404)
    form = SetPasswordForm()
    if form.validate_on_submit():
        user = accounts.accept_invitation(invitation, form.password.data)
        response = _start_session(user, remember=False)
        flash(_("Welcome! Your account is ready."), "success")  # after the session is renewed
        return response
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/accept_invitation.html", form=form, user=invitation.user), status


@bp.post("/language")
def set_language():
    """Switches the interface language and returns to the page you were on."""
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    session["locale"] = form.language.data
    if current_user.is_authenticated:
        current_user.locale = form.language.data
    target = request.form.get("next")
    return redirect(target if is_safe_redirect(target) else url_for("home.dashboard"))
