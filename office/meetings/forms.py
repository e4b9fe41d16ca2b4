"""Forms of the meeting structure: a series and its members, one meeting's agenda and minutes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from office.core.forms import (
    SHARED_TEXT,
    WEEKDAY_NAMES,
    choices,
    no_control_characters,
    sensible_year,
)
from office.meetings.models import Attendance, Gender

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
        ("every_six_months", _l("Every six months (twice a year)")), ("yearly", _l("Once a year")),
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


class SeriesSettingsForm(FlaskForm):
    chair_id = SelectField(_l("Chair"), coerce=int, validators=[InputRequired()])
    proposal_days = IntegerField(_l("Members may propose agenda items until (days before)"),
                                 validators=[InputRequired(), NumberRange(min=0, max=60)])
    counts_cases = BooleanField(_l("The group counts the cases it raises (per agency and gender)"))


GENDER_LABELS = {
    Gender.women: _l("Women"),
    Gender.men: _l("Men"),
    Gender.other: _l("Other"),
    Gender.unknown: _l("Unknown"),
}


def case_count_form(agencies, prefix: str = "cases") -> FlaskForm:
    """One number field per agency and gender, named cases-<agency>-<gender>."""

    class CaseCountForm(FlaskForm):
        pass

    for agency in agencies:
        for gender, label in GENDER_LABELS.items():
            setattr(CaseCountForm, f"{agency.id}-{gender.value}", IntegerField(
                f"{agency.short_name}: {label}",
                validators=[Optional(), NumberRange(min=0, max=1000)]))
    return CaseCountForm(prefix=prefix)


class AgendaItemForm(FlaskForm):
    title = StringField(_l("Item"), validators=[DataRequired(), Length(max=200), *SHARED_TEXT])
    owner_id = SelectField(_l("Who presents it"), coerce=int, validators=[InputRequired()])
    minutes = IntegerField(_l("Time (minutes)"), validators=[Optional(), NumberRange(min=1, max=480)])


class MinutesForm(FlaskForm):
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=20000), *SHARED_TEXT])
    decisions = TextAreaField(_l("Decisions (one per line)"),
                              validators=[Optional(), Length(max=20000), *SHARED_TEXT])
    shared_with_staff = BooleanField(_l("When approved, all staff may read these minutes"))

    def validate_decisions(self, field):
        if any(len(line) > 500 for line in decision_lines(field.data)):
            raise ValidationError(_l("A decision may be at most 500 characters long."))


def decision_lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class ActionForm(FlaskForm):
    text = StringField(_l("Task"), validators=[DataRequired(), Length(max=300), *SHARED_TEXT])
    owner_id = SelectField(_l("Who does it"), coerce=int, validators=[InputRequired()])
    due_on = DateField(_l("Done by"), validators=[Optional(), sensible_year])


class GuestForm(FlaskForm):
    """A colleague from the list, or an outside guest's name, organisation and address."""

    user_id = SelectField(_l("A colleague"), coerce=int, validators=[InputRequired()])
    name = StringField(_l("Or an outside guest: name"),
                       validators=[Optional(), Length(max=120), *SHARED_TEXT])
    organisation = StringField(_l("Organisation"),
                               validators=[Optional(), Length(max=120), *SHARED_TEXT])
    email = EmailField(_l("E-mail address"), filters=[lambda v: v.strip() if v else v], validators=[
        Optional(), Length(max=254), no_control_characters,
        Email(message=_l("Enter a valid e-mail address."), check_deliverability=False)])

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.user_id.data:
            return True
        if not (self.name.data or "").strip() or not (self.email.data or "").strip():
            self.name.errors.append(_l("Choose a colleague, or give the guest's name and e-mail."))
            return False
        return True
