"""Flask-WTF forms of allocations, releases, utilization and the meeting structure."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from office.allocations.models import WeekPattern
from office.core.forms import (
    SHARED_TEXT,
    WEEKDAY_NAMES,
    MultiCheckboxField,
    choices,
    no_control_characters,
)

PATTERN_LABELS = {
    WeekPattern.every_week: _l("Every week"),
    WeekPattern.odd_weeks: _l("Every other week: odd ISO weeks"),
    WeekPattern.even_weeks: _l("Every other week: even ISO weeks"),
    WeekPattern.every_n_weeks: _l("Every N weeks, counted from the first day"),
    WeekPattern.weeks_of_month: _l("Given weeks of the month"),
}

WEEK_OF_MONTH_LABELS = [
    ("1", _l("First")), ("2", _l("Second")), ("3", _l("Third")), ("4", _l("Fourth")),
    ("L", _l("Last")),
]



class AllocationForm(FlaskForm):
    agency_id = SelectField(_l("Agency"), coerce=int, validators=[InputRequired()])
    resource_ids = MultiCheckboxField(_l("Rooms and desks"), coerce=int,
                                      validators=[DataRequired(_l("Choose at least one room or desk."))])
    weekdays = MultiCheckboxField(
        _l("Weekdays"), coerce=int,
        choices=choices([(i, name) for i, name in enumerate(WEEKDAY_NAMES)]),
        validators=[DataRequired(_l("Choose at least one weekday."))],
    )
    start_time = TimeField(_l("From"), validators=[InputRequired()])
    end_time = TimeField(_l("Until"), validators=[InputRequired()])
    pattern = SelectField(_l("Weeks"), choices=choices([(p.value, label) for p, label in PATTERN_LABELS.items()]),
                          default=WeekPattern.every_week.value)
    interval_weeks = IntegerField(_l("N (for every N weeks)"), default=2,
                                  validators=[Optional(), NumberRange(min=1, max=52)])
    weeks_of_month = MultiCheckboxField(_l("Weeks of the month"),
                                        choices=choices(WEEK_OF_MONTH_LABELS))
    term_id = SelectField(_l("Term"), coerce=int, default=0)
    first_day = DateField(_l("First day (when no term is chosen)"), validators=[Optional()])
    last_day = DateField(_l("Last day (when no term is chosen)"), validators=[Optional()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200), *SHARED_TEXT])
    covered = HiddenField(default="", validators=[Length(max=20), no_control_characters])


class PlanCellForm(FlaskForm):
    """The in-place editor of one plan cell: a weekly pattern on one weekday, for the term."""

    agency_id = SelectField(_l("Agency"), coerce=int, validators=[InputRequired()])
    start_time = TimeField(_l("From"), validators=[InputRequired()])
    end_time = TimeField(_l("Until"), validators=[InputRequired()])
    pattern = SelectField(_l("Weeks"), choices=choices([
        (p.value, PATTERN_LABELS[p])
        for p in (WeekPattern.every_week, WeekPattern.odd_weeks, WeekPattern.even_weeks)
    ]))
    covered = HiddenField(default="", validators=[Length(max=20), no_control_characters])


class ReleaseForm(FlaskForm):
    first_day = DateField(_l("First day"), validators=[InputRequired()])
    last_day = DateField(_l("Last day (leave empty for one day)"), validators=[Optional()])


class ReleasePolicyForm(FlaskForm):
    working_days_before = IntegerField(_l("Working days before"),
                                       validators=[InputRequired(), NumberRange(min=0, max=30)])
    release_time = TimeField(_l("At"), validators=[InputRequired()])


class AgencySettingsForm(FlaskForm):
    staff_may_release = BooleanField(_l("Staff may release the agency's allocated time"))


class ResourceAccessForm(FlaskForm):
    allocated_only = BooleanField(_l("Allocated only"))


class TermForm(FlaskForm):
    first_day = DateField(_l("First day"), validators=[InputRequired()])
    last_day = DateField(_l("Last day"), validators=[InputRequired()])


class YearForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(min=2000, max=2100)])


class CopyTermForm(FlaskForm):
    term_id = SelectField(_l("Copy the plan of"), coerce=int, validators=[InputRequired()])


class BookWindowForm(FlaskForm):
    """Book a room or desk from the plan (in one's own allocation or released time)."""

    resource_id = IntegerField(validators=[InputRequired()])
    day = DateField(_l("Day"), validators=[InputRequired()])
    start_time = TimeField(_l("From"), validators=[InputRequired()])
    end_time = TimeField(_l("Until"), validators=[InputRequired()])
    title = StringField(_l("Title"), default="", validators=[DataRequired(), Length(max=200), *SHARED_TEXT])


class UtilizationForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: reading a report changes nothing

    site_id = SelectField(_l("Site"), coerce=int)
    month = StringField(_l("Month (YYYY-MM)"), validators=[Optional(), Length(max=7), no_control_characters])
    term_id = SelectField(_l("Or a term"), coerce=int, default=0)




