"""Forms of sign-in, passwords and invitations."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    Optional,
)

from office.accounts.models import Role
from office.accounts.rules import MIN_PASSWORD_LENGTH
from office.core.forms import SHARED_TEXT, choices, no_control_characters


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"),
                       validators=[DataRequired(), Length(max=254), no_control_characters])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    # The label names the hours (REMEMBER_COOKIE_SECONDS); the view sets it.
    remember = BooleanField(_l("Keep me logged in on this device"))


class SecondFactorForm(FlaskForm):
    """The login's second step: a code from the app, or a recovery code."""

    code = StringField(_l("Code"), validators=[DataRequired(message=_l("Give the code.")), Length(max=40),
                                               no_control_characters],
                       render_kw={"inputmode": "text", "spellcheck": "false", "autocapitalize": "off"})


class EnrolSecondFactorForm(FlaskForm):
    code = StringField(_l("The six-digit code the app shows"),
                       validators=[DataRequired(message=_l("Give the code.")), Length(max=20),
                                   no_control_characters],
                       render_kw={"inputmode": "numeric", "spellcheck": "false"})


class ConfirmPasswordForm(FlaskForm):
    """Re-authentication before a change to how one logs in (ASVS 3.7.1)."""

    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=1024)])


def _new_password_field(label):
    return PasswordField(
        label,
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH, max=1024,
                message=_l("The password must be at least %(min)d characters long.",
                           min=MIN_PASSWORD_LENGTH),
            ),
        ],
    )


class SetPasswordForm(FlaskForm):
    password = _new_password_field(_l("New password"))
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))],
    )


class ChangePasswordForm(SetPasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=1024)])


ROLE_LABELS = {
    Role.coordinator: _l("Coordinator"),
    Role.agency_admin: _l("Agency administrator"),
    Role.staff: _l("Staff"),
}


class InviteUserForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), *SHARED_TEXT])
    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(), Email(message=_l("Enter a valid e-mail address.")), Length(max=254),
                    no_control_characters],
    )
    title = StringField(_l("Job title"), validators=[Optional(), Length(max=120), *SHARED_TEXT])
    agency_id = SelectField(_l("Agency"), coerce=int, validators=[InputRequired()])
    unit_id = SelectField(_l("Unit"), coerce=int, validators=[Optional()])
    role = SelectField(
        _l("Role"), choices=choices((r.value, label) for r, label in ROLE_LABELS.items()),
        default=Role.staff.value,
    )
