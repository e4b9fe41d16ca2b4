"""The coordinator's form for a new device link, and the door's "Boka nu"."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from office.core.forms import SHARED_TEXT, choices
from office.doorscreens.rules import BOOK_NOW_MINUTES, NAME_LENGTH


class DoorScreenForm(FlaskForm):
    resource_id = SelectField(_l("Room"), coerce=int, validators=[DataRequired()])
    name = StringField(_l("Name of the screen"), filters=[lambda value: value.strip() if value else value],
                       validators=[Optional(), Length(max=NAME_LENGTH), *SHARED_TEXT])
    show_titles = BooleanField(_l("Show booking titles on the screen"))


class BookNowForm(FlaskForm):
    minutes = SelectField(_l("For how long"), coerce=int, validators=[InputRequired()],
                          choices=choices((m, str(m)) for m in BOOK_NOW_MINUTES))
