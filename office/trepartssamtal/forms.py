"""Forms of trepartssamtal: finding a time, booking it, moving it, its outcome."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from office.core.forms import choices, no_control_characters, sensible_year
from office.trepartssamtal import rules as meetings
from office.trepartssamtal.models import MeetingMode, MeetingStatus

MODE_LABELS = {
    MeetingMode.on_site: _l("On site"),
    MeetingMode.phone: _l("By phone"),
    MeetingMode.video: _l("By video"),
}


# The state of one meeting ("Bokat"), not a count of many ("Bokade": MEASURE_LABELS).
STATUS_LABELS = {
    MeetingStatus.booked: lazy_pgettext("state of one meeting", "Booked"),
    MeetingStatus.held: lazy_pgettext("state of one meeting", "Held"),
    MeetingStatus.no_show: _l("The individual did not come"),
    MeetingStatus.cancelled_by_individual: _l("Cancelled by the individual"),
    MeetingStatus.cancelled_by_staff: _l("Cancelled by staff"),
}


MEASURE_LABELS = {
    "booked": _l("Booked"), "held": _l("Held"), "no_show": _l("No-show"), "cancelled": _l("Cancelled"),
}


GROUPING_LABELS = {"week": _l("Week"), "month": _l("Month"), "agency": _l("Agency")}


class FindTimeForm(FlaskForm):
    participants = SelectMultipleField(_l("Staff taking part"), coerce=int)
    minutes = SelectField(_l("Length"), coerce=int, default=60, choices=choices(
        (m, _l("%(num)d minutes", num=m)) for m in (30, 45, 60, 75, 90, 120)))
    mode = RadioField(_l("How"), default=MeetingMode.on_site.value,
                      choices=choices((m.value, label) for m, label in MODE_LABELS.items()))
    video_link = StringField(_l("Link to the video meeting"),
                             validators=[Optional(), Length(max=490), no_control_characters])
    site_id = SelectField(_l("Site"), coerce=int, validators=[Optional()])
    needs_accessible = BooleanField(_l("The room must be accessible"))
    others = IntegerField(_l("The individual and anyone coming with them"), default=1,
                          validators=[InputRequired(), NumberRange(min=1, max=5)])
    first_day = DateField(_l("From"), validators=[
        DataRequired(message=_l("Give a valid date.")), sensible_year])
    last_day = DateField(_l("To"), validators=[
        DataRequired(message=_l("Give a valid date.")), sensible_year])
    buffer_minutes = IntegerField(_l("Buffer between meetings (minutes)"),
                                  validators=[InputRequired(), NumberRange(min=0, max=120)])
    slot = StringField(validators=[Optional(), Length(max=40), no_control_characters])  # the proposal pressed

    def validate_last_day(self, field):
        from wtforms.validators import ValidationError

        if self.first_day.data and field.data:
            if field.data < self.first_day.data:
                raise ValidationError(_l("The last day must not be before the first."))
            if (field.data - self.first_day.data).days > 62:
                raise ValidationError(_l("Look at most two months ahead at a time."))


class BookMeetingForm(FindTimeForm):
    # Checked for identity numbers by rules.validate_reference (stricter than SHARED_TEXT).
    reference = StringField(_l("Reference for the individual"), validators=[Length(max=100), no_control_characters])
    consent_given = BooleanField(_l("The individual has consented to information exchange between "
                                    "the agencies ticked below"))
    consent_given_on = DateField(_l("Date the consent was given"), validators=[Optional()])
    consent_agencies = SelectMultipleField(_l("Agencies covered by the consent"), coerce=int)


class RescheduleForm(FlaskForm):
    first_day = FindTimeForm.first_day
    last_day = FindTimeForm.last_day
    buffer_minutes = FindTimeForm.buffer_minutes
    slot = FindTimeForm.slot
    validate_last_day = FindTimeForm.validate_last_day


class OutcomeForm(FlaskForm):
    status = RadioField(_l("Outcome"), validators=[InputRequired()],
                        choices=choices((s.value, STATUS_LABELS[s]) for s in meetings.OUTCOMES))


class CancelForm(FlaskForm):
    status = RadioField(_l("Who cancelled"), validators=[InputRequired()], choices=choices(
        (s.value, STATUS_LABELS[s]) for s in (MeetingStatus.cancelled_by_individual,
                                              MeetingStatus.cancelled_by_staff)))
