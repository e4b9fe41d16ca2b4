"""Form helpers every feature uses: select choices, text and date checks, language and confirm forms."""

from __future__ import annotations

import re
from datetime import timezone

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    SelectChoice,
    SelectField,
    SelectMultipleField,
    TimeField,
)
from wtforms.validators import (
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from office.core.i18n import local_zone
from office.core.identity_numbers import contains_identity_number, without_identity_numbers


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3 select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


WEEKDAY_NAMES = [
    _l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"),
    _l("Friday"), _l("Saturday"), _l("Sunday"),
]


# Control characters (NUL among them: PostgreSQL refuses it in text) and the bidirectional
# overrides that make text display other than it reads. A text area keeps its line breaks
# and tabs; a one-line field keeps tabs only (a line break there is a crafted request, and
# would split a mail header or a CSV row).
_NEVER = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_CONTROL_IN_TEXT_AREA = re.compile(f"[{_NEVER}]")
_CONTROL_IN_LINE = re.compile(f"[{_NEVER}" r"\n\r\u2028\u2029]")


def no_control_characters(form, field):
    """Every free-text field: refuse control characters with a message (never a 500)."""
    if not isinstance(field.data, str) or not field.data:
        return
    pattern = _CONTROL_IN_TEXT_AREA if field.type == "TextAreaField" else _CONTROL_IN_LINE
    if pattern.search(field.data):
        raise ValidationError(_l("The text contains characters that are not allowed."))


def no_identity_number(form, field):
    """Free text that people other than its author read (titles, notes, seminar texts, guests'
    answers, comments): no personal identity number, and the message never repeats it."""
    if isinstance(field.data, str) and contains_identity_number(field.data):
        field.data = without_identity_numbers(field.data)  # the form is shown again without it
        raise ValidationError(_l(
            "Remove the personal identity number: others can read this field. Initials or a "
            "first name are enough."))


# The validators of a free-text field that others read.
SHARED_TEXT = (no_control_characters, no_identity_number)


# Dates people plan with; year 1 or 9999 would overflow the date arithmetic (time zones,
# weeks, series) long before anyone meant them.
SENSIBLE_YEARS = (2000, 2100)


def sensible_year(form, field):
    """Date and date-time fields: refuse years outside SENSIBLE_YEARS."""
    if field.data and not SENSIBLE_YEARS[0] <= field.data.year <= SENSIBLE_YEARS[1]:
        raise ValidationError(_l("Give a date between %(first)d and %(last)d.",
                                 first=SENSIBLE_YEARS[0], last=SENSIBLE_YEARS[1]))


def existing_local_time(form, field):
    """Date-time fields: refuse a local time the clocks skip (the spring-forward hour), which
    would turn into an earlier instant than the minutes before it."""
    if field.data is None or not SENSIBLE_YEARS[0] <= field.data.year <= SENSIBLE_YEARS[1]:
        return  # sensible_year refuses those (and year 1 has no UTC instant before it)
    zone = local_zone()
    instant = field.data.replace(tzinfo=zone).astimezone(timezone.utc)
    if instant.astimezone(zone).replace(tzinfo=None) != field.data:
        raise ValidationError(_l("This time does not exist: the clocks go forward an hour that night."))


class LanguageForm(FlaskForm):
    language = SelectField(_l("Language"), choices=choices([("sv", "Svenska"), ("en", "English")]))


class ConfirmForm(FlaskForm):
    """An empty form: a button whose POST carries only the CSRF token."""


def add_opening_hour_fields(form_class):
    """Give a site form one opens/closes pair per weekday."""
    for weekday, label in enumerate(WEEKDAY_NAMES):
        setattr(form_class, f"opens_{weekday}", TimeField(label, validators=[Optional()]))
        setattr(form_class, f"closes_{weekday}", TimeField(label, validators=[Optional()]))
    return form_class


def validate_weekday_hours(form, both_message, order_message) -> bool:
    """Check the opens_/closes_ pairs of add_opening_hour_fields; errors go on closes_."""
    ok = True
    for weekday in range(7):
        opens, closes = getattr(form, f"opens_{weekday}"), getattr(form, f"closes_{weekday}")
        if bool(opens.data) != bool(closes.data):
            closes.errors.append(both_message)
            ok = False
        elif opens.data and closes.data <= opens.data:
            closes.errors.append(order_message)
            ok = False
    return ok


class MultiCheckboxField(SelectMultipleField):
    """A group of checkboxes (inside a fieldset with a legend in the template)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()
