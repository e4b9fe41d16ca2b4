"""Logging in (password, then the second factor when it is on) and out, passwords,
invitations and the language switch."""

from __future__ import annotations

import math

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user

from office.accounts import login_sessions, second_factor, throttle
from office.accounts import rules as accounts
from office.accounts.forms import ChangePasswordForm, LoginForm, SecondFactorForm, SetPasswordForm
from office.accounts.models import User
from office.core.database import utcnow
from office.core.extensions import db
from office.core.forms import LanguageForm
from office.core.security import is_safe_redirect
from office.core.transaction import keep_changes_on_refusal

bp = Blueprint("auth", __name__)

# How long the second step waits for its code after the right password.
SECOND_STEP_SECONDS = 300


def _login_form() -> LoginForm:
    form = LoginForm()
    hours = max(1, current_app.config["REMEMBER_COOKIE_DURATION"] // 3600)
    form.remember.label.text = ngettext(
        "Keep me logged in on this device for %(num)d hour (not on a shared computer)",
        "Keep me logged in on this device for %(num)d hours (not on a shared computer)", hours)
    return form


def wait_words(seconds: int) -> str:
    if seconds < 60:
        return ngettext("%(num)d second", "%(num)d seconds", seconds)
    minutes = math.ceil(seconds / 60)
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


def _refused(template: str, form, field, wait: throttle.Wait, message: str | None, status: int = 401):
    """401 for a wrong answer; 429 with Retry-After when the next try must wait. The same
    for every account, known or not."""
    keep_changes_on_refusal()  # the failure is counted even though the answer is a refusal
    if message:
        field.errors.append(message)
    if not wait:
        return render_template(template, form=form), status
    field.errors.append(_("Too many failed attempts: wait %(wait)s before you try again.",
                          wait=wait_words(wait.seconds)))
    return render_template(template, form=form), 429, {"Retry-After": str(wait.seconds)}


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login page; a success renews the session and goes to `next` or the dashboard."""
    form = _login_form()
    if not form.validate_on_submit():
        return render_template("accounts/login.html", form=form), 422 if form.is_submitted() else 200
    attempt = accounts.attempt_login(form.email.data, form.password.data, request.remote_addr)
    if attempt.user is None:
        wrong = _("Wrong e-mail address or password.") if attempt.checked else None
        return _refused("accounts/login.html", form, form.password, attempt.wait, wrong)
    target = request.args.get("next")
    if attempt.user.has_second_factor:
        session["second_step"] = {"user": attempt.user.id, "remember": bool(form.remember.data),
                                  "next": target if is_safe_redirect(target) else None,
                                  "until": utcnow().timestamp() + SECOND_STEP_SECONDS}
        return redirect(url_for("auth.second_step"))
    return _start_session(attempt.user, form.remember.data, target)


def _pending_user() -> tuple[User | None, dict]:
    pending = session.get("second_step")
    if not isinstance(pending, dict) or pending.get("until", 0) < utcnow().timestamp():
        return None, {}
    user = db.session.get(User, pending.get("user"))
    if user is None or not user.is_active or not user.has_second_factor:
        return None, {}
    return user, pending


@bp.route("/login/code", methods=["GET", "POST"])
def second_step():
    """The login's second step: the code from the app (or a recovery code)."""
    user, pending = _pending_user()
    if user is None:
        session.pop("second_step", None)
        if request.method == "POST":
            flash(_("Log in again: the time for the code ran out."), "info")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    if not form.validate_on_submit():
        return render_template("accounts/login_code.html", form=form), 422 if form.is_submitted() else 200
    key = throttle.code_key(user.id)
    wait = throttle.wait_for(key)
    if wait:
        return _refused("accounts/login_code.html", form, form.code, wait, None)
    if second_factor.check_code(user, form.code.data):
        throttle.forget(key)
        return _start_session(user, pending.get("remember"), pending.get("next"))
    if second_factor.use_recovery_code(user, form.code.data):
        throttle.forget(key)
        left = second_factor.unused_recovery_codes(user)
        response = _start_session(user, pending.get("remember"), url_for("account.show_account"))
        flash(ngettext("You logged in with a recovery code. %(num)d code is left.",
                       "You logged in with a recovery code. %(num)d codes are left.", left), "info")
        return response
    wait = throttle.record_failure(key)
    return _refused("accounts/login_code.html", form, form.code, wait, _("The code is wrong or has expired."))


def password_asked_again(user: User, password: str) -> throttle.Wait | None:
    """None when the password is right; else how long before the next try (guesses by
    someone holding the session are throttled like logins)."""
    key = throttle.reauth_key(user.id)
    wait = throttle.wait_for(key)
    if wait:
        return wait
    if accounts.password_matches(user, password):
        throttle.forget(key)
        return None
    return throttle.record_failure(key)


def _start_session(user: User, remember: bool, target: str | None):
    """A fresh session on login: nothing carried over but the language."""
    locale = user.locale or session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    login_sessions.start(user, bool(remember))
    login_user(user, remember=bool(remember))
    return redirect(target if is_safe_redirect(target) else url_for("home.dashboard"))


def end_browser_session(message: str):
    """Forget the login in this browser: the session cookie and the remember cookie."""
    locale = session.get("locale")
    session.clear()
    logout_user()  # after clear(): its note to delete the remember cookie must survive
    if locale:
        session["locale"] = locale
    flash(message, "info")
    return redirect(url_for("auth.login"))


@bp.post("/logout")
@login_required
def logout():
    """Ends this session (its cookies stop working, also copies of them) and returns to the login page."""
    login_sessions.end_current(current_user)
    return end_browser_session(_("You are logged out."))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change your own password; every other session of yours ends."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        wait = password_asked_again(current_user, form.current.data)
        if wait is not None:
            wrong = _("The current password is wrong.") if wait.checked else None
            return _refused("accounts/change_password.html", form, form.current, wait, wrong, status=422)
        accounts.set_password(current_user, form.password.data)
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
        if user.has_second_factor:  # a new password does not skip the code
            session["second_step"] = {"user": user.id, "remember": False, "next": None,
                                      "until": utcnow().timestamp() + SECOND_STEP_SECONDS}
            flash(_("Your password is saved. Now give the code from your app."), "success")
            return redirect(url_for("auth.second_step"))
        response = _start_session(user, remember=False, target=None)
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
