"""Your account: your sessions ("log out everywhere") and two-step verification."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from office.accounts import login_sessions, second_factor
from office.accounts.auth_views import end_browser_session, password_asked_again, wait_words
from office.accounts.forms import ROLE_LABELS, ConfirmPasswordForm, EnrolSecondFactorForm
from office.core.forms import ConfirmForm
from office.core.transaction import keep_changes_on_refusal

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.get("/")
@login_required
def show_account():
    """Who you are, where you are logged in, and your two-step verification."""
    return render_template(
        "accounts/account.html", role_labels=ROLE_LABELS, sessions=login_sessions.count_active(current_user),
        required=second_factor.required_for(current_user), confirm=ConfirmForm(),
        codes_left=second_factor.unused_recovery_codes(current_user) if current_user.has_second_factor else 0,
    )


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere():
    """Ends every session of yours, on every device, this one too."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("account.show_account"))
    login_sessions.end_all(current_user)
    return end_browser_session(_("You are logged out everywhere."))


def _enrolment_page(form, status=200):
    secret = session.get("second_factor_secret")
    if not secret:
        secret = session["second_factor_secret"] = second_factor.new_secret()
    uri = second_factor.provisioning_uri(current_user, secret)
    return render_template(
        "accounts/second_factor.html", form=form, secret=second_factor.grouped(secret),
        qr_code=second_factor.qr_code_svg(uri, _("QR code for your authenticator app")),
        required=second_factor.required_for(current_user),
    ), status


@bp.route("/second-factor", methods=["GET", "POST"], endpoint="second_factor")
@login_required
def second_factor_page():
    """Turn on two-step verification: scan the QR code, give the first code, keep the recovery codes."""
    if current_user.has_second_factor:
        return redirect(url_for("account.show_account"))
    form = EnrolSecondFactorForm()
    if not form.validate_on_submit():
        return _enrolment_page(form, 422 if form.is_submitted() else 200)
    codes = second_factor.enrol(current_user, session.get("second_factor_secret") or "", form.code.data)
    if codes is None:
        form.code.errors.append(_("The code does not match. Check the time on your phone and give the newest code."))
        return _enrolment_page(form, 422)
    session.pop("second_factor_secret", None)
    return render_template("accounts/recovery_codes.html", codes=codes, new=True)


def _password_confirmed(form: ConfirmPasswordForm) -> bool:
    if not form.validate_on_submit():
        return False
    wait = password_asked_again(current_user, form.password.data)
    if wait is None:
        return True
    keep_changes_on_refusal()  # the wrong guess is counted
    if wait.checked:
        form.password.errors.append(_("The password is wrong."))
    if wait:
        form.password.errors.append(_("Too many failed attempts: wait %(wait)s before you try again.",
                                      wait=wait_words(wait.seconds)))
    return False


@bp.route("/second-factor/recovery-codes", methods=["GET", "POST"])
@login_required
def new_recovery_codes():
    """New recovery codes (the old ones stop working); asks for your password first."""
    form = ConfirmPasswordForm()
    if not current_user.has_second_factor:
        return redirect(url_for("account.second_factor"))
    if not _password_confirmed(form):
        return render_template("accounts/confirm_password.html", form=form, action="codes"), \
            422 if form.is_submitted() else 200
    codes = second_factor.new_recovery_codes(current_user)
    return render_template("accounts/recovery_codes.html", codes=codes, new=False)


@bp.route("/second-factor/remove", methods=["GET", "POST"])
@login_required
def remove_second_factor():
    """Turns two-step verification off (a new phone: turn it on again); asks for your password."""
    form = ConfirmPasswordForm()
    if not current_user.has_second_factor:
        return redirect(url_for("account.show_account"))
    if not _password_confirmed(form):
        return render_template("accounts/confirm_password.html", form=form, action="remove",
                               required=second_factor.required_for(current_user)), \
            422 if form.is_submitted() else 200
    second_factor.remove(current_user)
    login_sessions.end_all(current_user, keep_current=True)
    flash(_("Two-step verification is off. Your other sessions were logged out."), "success")
    if second_factor.required_for(current_user):
        return redirect(url_for("account.second_factor"))
    return redirect(url_for("account.show_account"))
