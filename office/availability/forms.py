"""Forms of working hours and absences."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField
from wtforms.validators import DataRequired, ValidationError

from office.availability.models import AbsenceKind
from office.core.forms import (
    add_opening_hour_fields,
    choices,
    existing_local_time,
    sensible_year,
    validate_weekday_hours,
)

ABSENCE_LABELS = {
    AbsenceKind.leave: _l("Leave"),
    AbsenceKind.course: _l("Course"),
    AbsenceKind.other: _l("Other absence"),
}


@add_opening_hour_fields
class WorkingHoursForm(FlaskForm):
    """opens_<weekday>/closes_<weekday>: when the person starts and stops working."""

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        return validate_weekday_hours(self, _l("Give both start and end, or neither."),
                                      _l("The end must be after the start.")) and ok


class AbsenceForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=choices((k.value, v) for k, v in ABSENCE_LABELS.items()))
    starts = DateTimeLocalField(_l("From"), format="%Y-%m-%dT%H:%M", validators=[
        DataRequired(message=_l("Give a valid date and time.")), sensible_year, existing_local_time])
    ends = DateTimeLocalField(_l("Until"), format="%Y-%m-%dT%H:%M", validators=[
        DataRequired(message=_l("Give a valid date and time.")), sensible_year, existing_local_time])

    def validate_ends(self, field):
        if self.starts.data and field.data and field.data <= self.starts.data:
            raise ValidationError(_l("The end must be after the start."))
