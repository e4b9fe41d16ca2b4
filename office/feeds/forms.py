"""The form that makes a new feed link."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField
from wtforms.validators import AnyOf, DataRequired, Optional


class NewFeedForm(FlaskForm):
    kind = HiddenField(validators=[DataRequired(), AnyOf(["personal", "agency", "resource"])])
    target_id = SelectField(_l("Which"), coerce=int, validators=[Optional()], validate_choice=False)
