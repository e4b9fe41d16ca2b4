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
from office.core.forms import choices, no_control_characters


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField(_l("Keep me logged in on this device (12 hours)"))


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
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), no_control_characters])
    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(), Email(message=_l("Enter a valid e-mail address.")), Length(max=254)],
    )
    title = StringField(_l("Job title"), validators=[Optional(), Length(max=120), no_control_characters])
    agency_id = SelectField(_l("Agency"), coerce=int, validators=[InputRequired()])
    unit_id = SelectField(_l("Unit"), coerce=int, validators=[Optional()])
    role = SelectField(
        _l("Role"), choices=choices((r.value, label) for r, label in ROLE_LABELS.items()),
        default=Role.staff.value,
    )
