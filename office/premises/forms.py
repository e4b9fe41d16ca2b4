"""Forms of agencies, sites, opening hours, closed days and resources."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from office.core.forms import (
    SHARED_TEXT,
    add_opening_hour_fields,
    choices,
    no_control_characters,
    validate_weekday_hours,
)
from office.premises.models import ResourceKind


class AgencyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), *SHARED_TEXT])
    short_name = StringField(
        _l("Short name"), validators=[DataRequired(), Length(max=20), *SHARED_TEXT]
    )
    colour = StringField(
        _l("Colour (#rrggbb)"),
        validators=[DataRequired(), Length(min=7, max=7), no_control_characters],
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
                       validators=[DataRequired(), Length(max=120), *SHARED_TEXT])


class SiteForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), *SHARED_TEXT])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=255), *SHARED_TEXT])


@add_opening_hour_fields
class SiteWithHoursForm(SiteForm):
    # "1" once the coordinator has seen what the new hours would cancel.
    confirmed = HiddenField(validators=[no_control_characters])

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        return validate_weekday_hours(self, _l("Give both opening and closing time, or neither."),
                                      _l("Closing time must be after opening time.")) and ok


class ClosureForm(FlaskForm):
    day = DateField(_l("Date"), validators=[DataRequired(message=_l("Give a valid date."))])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200), *SHARED_TEXT])
    # "1" once the coordinator has seen what the closed day cancels.
    confirmed = HiddenField(validators=[no_control_characters])


class ResourceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), *SHARED_TEXT])
    site_id = SelectField(_l("Site"), coerce=int, validators=[InputRequired()])
    kind = SelectField(
        _l("Type"), choices=choices([(ResourceKind.room.value, _l("Room")), (ResourceKind.desk.value, _l("Desk"))])
    )
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=255), *SHARED_TEXT]
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
