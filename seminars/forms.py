"""Forms of the seminars: planning, registration, check-in and evaluation."""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import (
    URL,
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
    MultiCheckboxField,
    choices,
    no_control_characters,
    sensible_year,
)
from seminars.models import KIND_LABELS, AttendanceMode, Audience, SeminarKind, VenueKind

LANGUAGE_CHOICES = [("sv", "Svenska"), ("en", "English")]


class SeminarForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200), *SHARED_TEXT])
    kind = SelectField(_l("Kind"), choices=choices((k.value, label) for k, label in KIND_LABELS.items()))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000), *SHARED_TEXT])
    audience = RadioField(_l("Audience"), choices=choices((a.value, a.label) for a in Audience),
                          default=Audience.internal.value)
    invited_agencies = MultiCheckboxField(_l("Invited agencies (none: all)"), coerce=int,
                                          validate_choice=True)
    audience_note = StringField(_l("Invited groups or roles"),
                                validators=[Optional(), Length(max=300), *SHARED_TEXT])
    venue_kind = RadioField(_l("Venue"), choices=choices((v.value, v.label) for v in VenueKind),
                            default=VenueKind.on_site.value)
    external_address = StringField(_l("External address"), validators=[Optional(), Length(max=300), *SHARED_TEXT])
    online_url = URLField(_l("Link to the online meeting"),
                          validators=[Optional(), Length(max=500), no_control_characters,
                                      URL(message=_l("Give a full link (https://...)."))])
    capacity = IntegerField(_l("Places"), validators=[InputRequired(), NumberRange(min=1, max=5000)])
    registration_deadline = DateField(_l("Last day to register"), validators=[Optional(), sensible_year])

    def validate_external_address(self, field):
        if self.venue_kind.data == VenueKind.external.value and not (field.data or "").strip():
            raise ValidationError(_l("Give the external address."))

    def validate_online_url(self, field):
        if self.venue_kind.data in (VenueKind.online.value, VenueKind.hybrid.value) and not field.data:
            raise ValidationError(_l("Give the link to the online meeting."))


class DayForm(FlaskForm):
    day = DateField(_l("Date"), validators=[InputRequired(), sensible_year])
    start_time = TimeField(_l("Starts"), validators=[InputRequired()])
    end_time = TimeField(_l("Ends"), validators=[InputRequired()])
    resource_id = SelectField(_l("Room"), coerce=int, default=0)

    def validate_end_time(self, field):
        if self.start_time.data and field.data and field.data <= self.start_time.data:
            raise ValidationError(_l("The end must be after the start."))


class SessionForm(FlaskForm):
    start_time = TimeField(_l("Starts"), validators=[InputRequired()])
    end_time = TimeField(_l("Ends"), validators=[InputRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200), *SHARED_TEXT])
    room = StringField(_l("Room"), validators=[Optional(), Length(max=120), *SHARED_TEXT])
    capacity = IntegerField(_l("Places in this session"), validators=[Optional(), NumberRange(min=1, max=5000)])
    presenters = TextAreaField(_l("Presenters (one per line: name, agency)"),
                               validators=[Optional(), Length(max=2000), *SHARED_TEXT])
    sign_up = BooleanField(_l("Participants sign up for this session (its own places and waiting list)"))

    def validate_end_time(self, field):
        if self.start_time.data and field.data and field.data <= self.start_time.data:
            raise ValidationError(_l("The end must be after the start."))


class OptionalAnswersMixin:
    dietary_needs = StringField(_l("Dietary needs (fika and lunch)"),
                                validators=[Optional(), Length(max=300), *SHARED_TEXT])
    accessibility_needs = StringField(_l("Accessibility needs"),
                                      validators=[Optional(), Length(max=300), *SHARED_TEXT])
    attendance_mode = RadioField(_l("I take part"),
                                 choices=choices((m.value, m.label) for m in AttendanceMode),
                                 default=AttendanceMode.on_site.value)


class StaffRegistrationForm(OptionalAnswersMixin, FlaskForm):
    pass


class _TokenWhenShown(FlaskForm.Meta.csrf_class):
    """The form's CSRF token written when the form is shown, not when it is built: a sent
    form that registers is never shown again, and signing a fresh token cost the public
    form's POST 3 % of its CPU (the token sent is checked as before)."""

    def generate_csrf_token(self, csrf_token_field):
        return LazyString(super().generate_csrf_token, csrf_token_field)


class GuestRegistrationForm(OptionalAnswersMixin, FlaskForm):
    class Meta:
        csrf_class = _TokenWhenShown

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), *SHARED_TEXT])
    organisation = StringField(_l("Organisation"),
                               validators=[DataRequired(), Length(max=200), *SHARED_TEXT])
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(), Length(max=254), no_control_characters,
        Email(message=_l("Give a valid e-mail address, e.g. name@example.se."),
              check_deliverability=False),
    ])
    locale = SelectField(_l("Language of our e-mails"), choices=choices(LANGUAGE_CHOICES))


class ChangeRegistrationForm(OptionalAnswersMixin, FlaskForm):
    locale = SelectField(_l("Language of our e-mails"), choices=choices(LANGUAGE_CHOICES))


def without_unused_answers(form, seminar):
    """Only a hybrid seminar asks how you take part: elsewhere the page has no such field."""
    if seminar.venue_kind != VenueKind.hybrid:
        del form.attendance_mode
    return form


def attendance_mode_of(form, default=AttendanceMode.on_site) -> AttendanceMode:
    return AttendanceMode(form.attendance_mode.data) if "attendance_mode" in form else default


class ResendLinkForm(FlaskForm):
    # Browsers trim an e-mail field; a pasted address with spaces is no typo to refuse.
    email = EmailField(_l("Your e-mail address"), filters=[lambda v: v.strip() if v else v], validators=[
        DataRequired(), Length(max=254),
        Email(message=_l("Give a valid e-mail address, e.g. name@example.se."),
              check_deliverability=False),
        no_control_characters,
    ])


class EvaluationForm(FlaskForm):
    rating = RadioField(_l("How useful was the seminar? (1 = not at all, 5 = very)"), coerce=int,
                        choices=choices((n, str(n)) for n in range(1, 6)),
                        validators=[InputRequired(message=_l("Give a rating from 1 to 5."))])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000), *SHARED_TEXT])


class CapacityForm(FlaskForm):
    capacity = IntegerField(_l("Places"), validators=[InputRequired(), NumberRange(min=1, max=5000)])


class YearFilterForm(FlaskForm):
    class Meta:
        csrf = False

    kind = SelectField(_l("Kind"), validators=[Optional()])
    agency = SelectField(_l("Agency"), coerce=int, validators=[Optional()])
    # The tasks of the plan: shown with the seminars unless one kind is chosen.
    show = SelectField(_l("Show"), validators=[Optional()], choices=choices([
        ("", _l("Seminars and tasks")), ("seminars", _l("Seminars only")), ("tasks", _l("Tasks only"))]))
    owner = SelectField(_l("Task owner"), validators=[Optional()])
    status = SelectField(_l("Done"), validators=[Optional()], choices=choices([
        ("", _l("Done and not done")), ("open", _l("Not done")), ("done", _l("Done"))]))
    term = SelectField(_l("Term"), validators=[Optional()], choices=choices([
        ("", _l("The whole year")), ("spring", _l("Spring (January–June)")),
        ("autumn", _l("Autumn (July–December)"))]))


class TaskForm(FlaskForm):
    """A task of the yearly plan (the owner's choices are set by the view)."""

    title = StringField(_l("Title"), validators=[DataRequired(message=_l("Give the task a title.")),
                                                 Length(max=200), *SHARED_TEXT])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000), *SHARED_TEXT])
    due_on = DateField(_l("Due date"), validators=[InputRequired(message=_l("Give the due date as a date.")),
                                                   sensible_year])
    owner = SelectField(_l("Owner (a person or a meeting group)"), validate_choice=False)
    remind_days = IntegerField(
        _l("Reminder: days before the due date"), default=14,
        validators=[InputRequired(message=_l("Give a number of days.")),
                    NumberRange(min=0, max=365, message=_l("Between 0 and 365 days."))])


class TaskDoneForm(FlaskForm):
    done = BooleanField(_l("Done"))


def kind_choices(empty_label):
    return choices([("", empty_label)] + [(k.value, label) for k, label in KIND_LABELS.items()])


def seminar_kind(value: str | None) -> SeminarKind | None:
    try:
        return SeminarKind(value) if value else None
    except ValueError:
        return None
