"""The form that makes a new feed link."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from office.core.forms import no_control_characters
from office.feeds.tokens import NAME_LENGTH


class NewFeedForm(FlaskForm):
    # A private feed kind with a card on the page (checked by the view against the registry).
    kind = HiddenField(validators=[DataRequired(), no_control_characters])
    target_id = SelectField(_l("Which"), coerce=int, validators=[Optional()], validate_choice=False)
    name = StringField(_l("Name of the link"), filters=[lambda value: value.strip() if value else value],
                       validators=[Optional(), Length(max=NAME_LENGTH), no_control_characters])
