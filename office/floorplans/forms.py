"""The coordinator's upload and placement forms, and booking a place from the plan.

Shape only (types, ranges); what a file may be is decided in images.py, every booking rule in
office/booking/rules.py."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from office.booking.forms import quarter_hour
from office.core.forms import SHARED_TEXT, no_control_characters, sensible_year
from office.floorplans.rules import NAME_LENGTH


def _time_field(label):
    return TimeField(label, validators=[InputRequired(message=_l("Give a time.")), quarter_hour],
                     render_kw={"step": 900})


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class UploadForm(FlaskForm):
    site_id = SelectField(_l("Site"), coerce=int, validators=[InputRequired()])
    name = StringField(_l("Floor"), filters=[_strip],
                       validators=[DataRequired(message=_l("Name the floor.")), Length(max=NAME_LENGTH),
                                   *SHARED_TEXT])
    image = FileField(_l("Plan (SVG, PNG or PDF)"), validators=[FileRequired(message=_l("Choose a file."))])
    pdf_page = IntegerField(_l("Page of a PDF"), default=1,
                            validators=[Optional(), NumberRange(min=1, max=9999)])


class ReplaceImageForm(FlaskForm):
    image = FileField(_l("New picture (SVG, PNG or PDF)"),
                      validators=[FileRequired(message=_l("Choose a file."))])
    pdf_page = IntegerField(_l("Page of a PDF"), default=1,
                            validators=[Optional(), NumberRange(min=1, max=9999)])


class PlacementForm(FlaskForm):
    """x and y in percent; the JavaScript on the plan fills them in by click or drag. Floats,
    not decimals: "sNaN" is no float, and NumberRange refuses NaN and infinity."""

    x = FloatField(_l("Across (percent from the left)"),
                     validators=[InputRequired(message=_l("Give a number from 0 to 100.")),
                                 NumberRange(min=0, max=100, message=_l("Give a number from 0 to 100."))])
    y = FloatField(_l("Down (percent from the top)"),
                     validators=[InputRequired(message=_l("Give a number from 0 to 100.")),
                                 NumberRange(min=0, max=100, message=_l("Give a number from 0 to 100."))])
    remove = SubmitField(_l("Take off the plan"))


class PlaceBookingForm(FlaskForm):
    resource_id = HiddenField(validators=[DataRequired(), Length(max=12), no_control_characters])
    title = StringField(_l("Title"), filters=[_strip], validators=[Length(max=200), *SHARED_TEXT])
    day = DateField(_l("Date"), validators=[DataRequired(message=_l("Give a valid date.")), sensible_year])
    start = _time_field(_l("Start"))
    end = _time_field(_l("End"))
    seen_at = HiddenField(validators=[Length(max=40), no_control_characters])
