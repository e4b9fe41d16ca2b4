"""The directory's forms: a person's entry, a unit's description, and the search."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, Form, SearchField, StringField, TelField, TextAreaField
from wtforms.validators import Email, Length, Optional, Regexp

from office.core.forms import SHARED_TEXT, no_control_characters
from office.directory.rules import MAX_QUERY_LENGTH


def _at_most(n: int):
    return Length(max=n, message=_l("At most %(max)d characters.", max=n))


class DirectorySearchForm(Form):
    """The GET search form (no CSRF: it changes nothing)."""

    q = SearchField(_l("Search by name, agency, unit, role or what they help with"),
                    validators=[Optional(), _at_most(MAX_QUERY_LENGTH), no_control_characters])


class DirectoryEntryForm(FlaskForm):
    role = StringField(_l("Role in the collaboration"),
                       validators=[Optional(), _at_most(120), *SHARED_TEXT])
    help_with = TextAreaField(_l("What I can help with"),
                              validators=[Optional(), _at_most(1000), *SHARED_TEXT])
    phone = TelField(_l("Phone"), validators=[
        Optional(), _at_most(40), *SHARED_TEXT,  # digits only: a personal identity number fits
        Regexp(r"^\+?[0-9][0-9 ()/-]*$",
               message=_l("Give a phone number with digits, spaces, +, - or parentheses."))])
    email = EmailField(_l("E-mail for colleagues"), validators=[
        Optional(), _at_most(254), Email(message=_l("Enter a valid e-mail address.")),
        no_control_characters])
    other_contact = StringField(_l("Other ways to reach me"),
                                validators=[Optional(), _at_most(200), *SHARED_TEXT])
    days_override = StringField(_l("Days in the premises (instead of the derived days)"),
                                validators=[Optional(), _at_most(200), *SHARED_TEXT])

    def values(self) -> dict:
        return {name: getattr(self, name).data or "" for name in
                ("role", "help_with", "phone", "email", "other_contact", "days_override")}


class UnitDescriptionForm(FlaskForm):
    description = TextAreaField(_l("What the unit does"),
                                validators=[Optional(), _at_most(1000), *SHARED_TEXT])
