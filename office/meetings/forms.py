"""Forms of the meeting structure: a series and its members."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    SelectField,
    StringField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from office.core.forms import SHARED_TEXT, WEEKDAY_NAMES, choices
from office.meetings.models import Attendance

ATTENDANCE_LABELS = {
    Attendance.every_meeting: _l("Every meeting"),
    Attendance.odd_weeks: _l("Every other week (odd weeks)"),
    Attendance.even_weeks: _l("Every other week (even weeks)"),
    Attendance.monthly: _l("Once a month (the extended session)"),
}


class MeetingSeriesForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), *SHARED_TEXT])
    description = StringField(_l("Description"), validators=[Optional(), Length(max=255), *SHARED_TEXT])
    resource_id = SelectField(_l("Room"), coerce=int, validators=[InputRequired()])
    frequency = SelectField(_l("How often"), choices=choices([
        ("weekly", _l("Every week")), ("twice_per_term", _l("Twice per term")),
    ]))
    weekday = SelectField(_l("Weekday"), coerce=int,
                          choices=choices([(i, n) for i, n in enumerate(WEEKDAY_NAMES[:5])]))
    start_time = TimeField(_l("From"), validators=[InputRequired()])
    end_time = TimeField(_l("Until"), validators=[InputRequired()])
    term_id = SelectField(_l("Term"), coerce=int, validators=[InputRequired()])


class MeetingMemberForm(FlaskForm):
    user_id = SelectField(_l("Member"), coerce=int, validators=[InputRequired()])
    attendance = SelectField(_l("Attends"), choices=choices(
        [(a.value, label) for a, label in ATTENDANCE_LABELS.items()]))
