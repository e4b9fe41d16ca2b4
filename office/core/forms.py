"""Flask-WTF forms of the ground floor; validation lives here and in the rules."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from office.accounts.models import Role
from office.accounts.rules import MIN_PASSWORD_LENGTH
from office.premises.models import ResourceKind


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3 select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


WEEKDAY_NAMES = [
    _l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"),
    _l("Friday"), _l("Saturday"), _l("Sunday"),
]


def no_control_characters(form, field):
    if field.data and re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", field.data):
        raise ValidationError(_l("The text contains characters that are not allowed."))


# Dates people plan with; year 1 or 9999 would overflow the date arithmetic (time zones,
# weeks, series) long before anyone meant them.
SENSIBLE_YEARS = (2000, 2100)


def sensible_year(form, field):
    """Date and date-time fields: refuse years outside SENSIBLE_YEARS."""
    if field.data and not SENSIBLE_YEARS[0] <= field.data.year <= SENSIBLE_YEARS[1]:
        raise ValidationError(_l("Give a date between %(first)d and %(last)d.",
                                 first=SENSIBLE_YEARS[0], last=SENSIBLE_YEARS[1]))


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


class LanguageForm(FlaskForm):
    language = SelectField(_l("Language"), choices=choices([("sv", "Svenska"), ("en", "English")]))


class ConfirmForm(FlaskForm):
    """An empty form: a button whose POST carries only the CSRF token."""


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


class AgencyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), no_control_characters])
    short_name = StringField(
        _l("Short name"), validators=[DataRequired(), Length(max=20), no_control_characters]
    )
    colour = StringField(
        _l("Colour (#rrggbb)"),
        validators=[DataRequired(), Length(min=7, max=7)],
        default="#1f5f8b",
    )

    def validate_colour(self, field):
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", field.data or ""):
            raise ValidationError(_l("Write the colour as # followed by six hexadecimal digits."))
        # The short name is written in white on this colour (WCAG 1.4.3).
        if contrast_with_white(field.data) < 4.5:
            raise ValidationError(
                _l("Choose a darker colour: white text on it needs a contrast of at least 4.5:1.")
            )


def contrast_with_white(colour: str) -> float:
    """WCAG 2.1 contrast ratio between white and a #rrggbb colour (1 to 21)."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


class UnitForm(FlaskForm):
    # Shares a page with AgencyForm: its own id keeps the two labels tied to their inputs.
    name = StringField(_l("Unit name"), id="unit-name",
                       validators=[DataRequired(), Length(max=120), no_control_characters])


class SiteForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), no_control_characters])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=255), no_control_characters])


def add_opening_hour_fields(form_class):
    """Give a site form one opens/closes pair per weekday."""
    for weekday, label in enumerate(WEEKDAY_NAMES):
        setattr(form_class, f"opens_{weekday}", TimeField(label, validators=[Optional()]))
        setattr(form_class, f"closes_{weekday}", TimeField(label, validators=[Optional()]))
    return form_class


def validate_weekday_hours(form, both_message, order_message) -> bool:
    """Check the opens_/closes_ pairs of add_opening_hour_fields; errors go on closes_."""
    ok = True
    for weekday in range(7):
        opens, closes = getattr(form, f"opens_{weekday}"), getattr(form, f"closes_{weekday}")
        if bool(opens.data) != bool(closes.data):
            closes.errors.append(both_message)
            ok = False
        elif opens.data and closes.data <= opens.data:
            closes.errors.append(order_message)
            ok = False
    return ok


@add_opening_hour_fields
class SiteWithHoursForm(SiteForm):
    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        return validate_weekday_hours(self, _l("Give both opening and closing time, or neither."),
                                      _l("Closing time must be after opening time.")) and ok


class ClosureForm(FlaskForm):
    day = DateField(_l("Date"), validators=[DataRequired(message=_l("Give a valid date."))])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200), no_control_characters])


class ResourceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), no_control_characters])
    site_id = SelectField(_l("Site"), coerce=int, validators=[InputRequired()])
    kind = SelectField(
        _l("Type"), choices=choices([(ResourceKind.room.value, _l("Room")), (ResourceKind.desk.value, _l("Desk"))])
    )
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=255), no_control_characters]
    )
    capacity = IntegerField(
        _l("Capacity (people)"),
        validators=[InputRequired(), NumberRange(min=1, max=1000)],
        default=1,
    )
    is_conversation_room = BooleanField(_l("Conversation room"))
    has_screen = BooleanField(_l("Screen"))
    has_video = BooleanField(_l("Video conferencing"))
    accessible = BooleanField(_l("Accessible"))
    active = BooleanField(_l("Active (can be booked)"), default=True)
