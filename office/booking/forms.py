"""Forms of the booking pages. Only shape is checked here (types, quarter hours);
every booking rule lives in office/booking/rules.py so the CLI and later features share it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
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
    ValidationError,
)
from wtforms.widgets import Select

from office.booking import recurrence
from office.core.database import MAX_ID
from office.core.forms import SHARED_TEXT, choices, no_control_characters, sensible_year
from office.premises.models import ResourceKind

REPEAT_LABELS = [
    (recurrence.NONE, _l("Does not repeat")),
    (recurrence.WEEKLY, _l("Every week")),
    (recurrence.EVERY_OTHER_WEEK, _l("Every other week")),
    (recurrence.EVERY_N_WEEKS, _l("Every N weeks")),
    (recurrence.MONTHLY_NTH_WEEKDAY, _l("Monthly on the same weekday (e.g. the second Tuesday)")),
]
SCOPES = [
    ("one", _l("Only this occasion")),
    ("following", _l("This and the following occasions")),
    ("all", _l("All occasions still ahead")),
]


class LongSelect(Select):
    """A select of many options (everyone of an agency, every room): the same HTML as WTForms'
    own, with each option written directly instead of through html_params (which sorted,
    cleaned and escaped a dict of attributes per option: most of the booking form's cost)."""

    @classmethod
    def render_option(cls, choice, **kwargs):
        if kwargs or choice.render_kw or isinstance(choice.value, bool):
            return super().render_option(choice, **kwargs)
        selected = "selected " if choice.selected else ""
        label = escape(choice.label or choice.value)
        return Markup(f'<option {selected}value="{escape(choice.value)}">{label}</option>')


def quarter_hour(form, field):
    if field.data is not None and (field.data.minute % 15 or field.data.second):
        raise ValidationError(_l("Choose a time on the quarter hour (00, 15, 30 or 45)."))


def _time_field(label):
    return TimeField(label, validators=[InputRequired(message=_l("Give a time.")), quarter_hour],
                     render_kw={"step": 900})


class BookingForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Length(max=200), *SHARED_TEXT])
    resource_id = SelectField(_l("Room or desk"), coerce=int, validators=[InputRequired()],
                              widget=LongSelect())
    day = DateField(_l("Date"), validators=[DataRequired(message=_l("Give a valid date."))])
    start = _time_field(_l("Start"))
    end = _time_field(_l("End"))
    attendees = IntegerField(_l("Number of attendees"), default=1,
                             validators=[InputRequired(message=_l("Give a number."))])
    booked_for_id = SelectField(_l("On behalf of"), coerce=int, validators=[Optional()], default=0,
                                widget=LongSelect())
    repeat = SelectField(_l("Repeat"), choices=choices(REPEAT_LABELS), default=recurrence.NONE)
    interval = IntegerField(_l("Every how many weeks"), default=3,
                            validators=[Optional(), NumberRange(min=1, max=52)])
    ends = RadioField(_l("The series ends"), default="count", choices=choices([
        ("count", _l("After a number of times")), ("until", _l("On a date"))]))
    count = IntegerField(_l("Number of times"), default=10,
                         validators=[Optional(), NumberRange(min=1, max=520)])
    until = DateField(_l("Last date"), validators=[Optional()])
    # When the form was shown: a clash with a booking made after it is "just taken".
    seen_at = HiddenField(validators=[Length(max=40), no_control_characters])
    # Pressed after a series was refused for some dates: book the others.
    partial = SubmitField(_l("Book the other dates"))

    def validate_until(self, field):
        if self.repeat.data != recurrence.NONE and self.ends.data == "until":
            if not field.data:
                raise ValidationError(_l("Give the last date of the series."))
            if self.day.data and field.data < self.day.data:
                raise ValidationError(_l("The last date must not be before the first."))

    def validate_count(self, field):
        if self.repeat.data != recurrence.NONE and self.ends.data == "count" and not field.data:
            raise ValidationError(_l("Give how many times."))

    def validate_interval(self, field):
        if self.repeat.data == recurrence.EVERY_N_WEEKS and not field.data:
            raise ValidationError(_l("Give how many weeks apart."))

    def rrule(self) -> str | None:
        until = self.until.data if self.ends.data == "until" else None
        count = self.count.data if self.ends.data == "count" else None
        return recurrence.repeat_rule(self.repeat.data, self.day.data, interval=self.interval.data,
                                      until=until, count=count)


class ChangeForm(FlaskForm):
    scope = RadioField(_l("Change"), choices=choices(SCOPES), default="one")
    title = StringField(_l("Title"), validators=[Length(max=200), *SHARED_TEXT])
    day = DateField(_l("Date"), validators=[Optional()])
    start = _time_field(_l("Start"))
    end = _time_field(_l("End"))
    attendees = IntegerField(_l("Number of attendees"),
                             validators=[InputRequired(message=_l("Give a number."))])


class CancelForm(FlaskForm):
    scope = RadioField(_l("Cancel"), choices=choices(SCOPES), default="one")


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    action = SelectField(_l("Action"), validators=[Optional()], default="")
    actor_id = SelectField(_l("Who"), coerce=int, validators=[Optional()], default=0)
    date_from = DateField(_l("From"), validators=[Optional(), sensible_year])
    date_to = DateField(_l("To"), validators=[Optional(), sensible_year])
    object_id = IntegerField(_l("Object id"), validators=[Optional(), NumberRange(min=1, max=MAX_ID)])


KIND_LABELS = [("", _l("Rooms and desks")), (ResourceKind.room.value, _l("A room")),
               (ResourceKind.desk.value, _l("A desk"))]


class FindFreeForm(FlaskForm):
    """The search for a free room or desk (a GET form: the URL names the search)."""

    class Meta:
        csrf = False

    site = SelectField(_l("Site"), coerce=int, validators=[InputRequired()])
    kind = SelectField(_l("Room or desk"), choices=choices(KIND_LABELS), default="",
                       validators=[Optional()])
    day = DateField(_l("Date"), validators=[DataRequired(message=_l("Give a valid date.")),
                                            sensible_year])
    whole_day = BooleanField(_l("The whole day (while the site is open)"))
    start = TimeField(_l("From"), validators=[Optional(), quarter_hour], render_kw={"step": 900})
    end = TimeField(_l("To"), validators=[Optional(), quarter_hour], render_kw={"step": 900})
    people = IntegerField(_l("Number of people"), default=1, validators=[
        Optional(), NumberRange(min=1, max=999)])  # left out: one person
    screen = BooleanField(_l("Screen"))
    video = BooleanField(_l("Video meetings"))
    accessible = BooleanField(_l("Accessible"))
    title = StringField(_l("What is it for? (optional)"),
                        validators=[Optional(), Length(max=200), *SHARED_TEXT])

    def validate_start(self, field):
        if not self.whole_day.data and field.data is None and not field.errors:
            raise ValidationError(_l("Give a time, or choose the whole day."))

    def validate_end(self, field):
        if self.whole_day.data:
            return
        if field.data is None:
            raise ValidationError(_l("Give a time, or choose the whole day."))
        if self.start.data is not None and field.data <= self.start.data:
            raise ValidationError(_l("The end must be after the start."))
