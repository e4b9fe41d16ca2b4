"""Free text: no control characters anywhere, no personal identity number where others read it.

The first two tests walk every form of the app, so a new text field must decide: it gets
the validators, or a row below saying why not.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms.fields import (
    EmailField,
    HiddenField,
    PasswordField,
    SearchField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.fields.core import UnboundField
from wtforms.validators import AnyOf

import office
import seminars
from office.accounts.models import Role
from office.booking.models import Reservation
from office.core.extensions import db
from office.core.forms import no_control_characters, no_identity_number
from office.core.identity_numbers import contains_identity_number, luhn_valid
from seminars.models import Registration
from tests.conftest import csrf_token_from
from tests.calendar_days import ordinary_day
from tests.seminar_factories import make_seminar

TEXT_FIELDS = (StringField, TextAreaField, EmailField, URLField, HiddenField, SearchField)

# Text fields that need not refuse identity numbers, and why.
NOT_SHARED = {
    "LoginForm.email": "an e-mail address, never shown to others as text they wrote",
    "InviteUserForm.email": "an e-mail address",
    "GuestRegistrationForm.email": "an e-mail address",
    "GuestForm.email": "a meeting guest's e-mail address",
    "SecondFactorForm.code": "a code, never stored",
    "EnrolSecondFactorForm.code": "a code, never stored",
    "AgencyForm.colour": "#rrggbb only",
    "BookingForm.seen_at": "a timestamp the form carries",
    "AllocationForm.covered": "a choice the form carries",
    "PlanCellForm.covered": "a choice the form carries",
    "UtilizationForm.month": "YYYY-MM only",
    "FindTimeForm.video_link": "an https link only",
    "FindTimeForm.slot": "the key of a proposal",
    "BookMeetingForm.video_link": "an https link only",
    "BookMeetingForm.slot": "the key of a proposal",
    "BookMeetingForm.reference": "stricter: rules.validate_reference refuses any plausible number",
    "RescheduleForm.slot": "the key of a proposal",
    "SeminarForm.online_url": "a link only",
    "NewFeedForm.kind": "a feed kind the view checks against the registry",
    "NewFeedForm.name": "a private link's name, seen by its owner only",
    "ResendLinkForm.email": "an e-mail address",
    "ClosureForm.confirmed": "a flag the form carries",
    "DirectoryEntryForm.email": "an e-mail address (the Email validator refuses anything else)",
    "SiteWithHoursForm.confirmed": "a flag the form carries",
    "PlaceBookingForm.resource_id": "the id of the place clicked on the floor plan",
    "PlaceBookingForm.seen_at": "a timestamp the form carries",
}


def _all_forms() -> list[type[FlaskForm]]:
    for package in (office, seminars):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if module.name.endswith(".forms"):
                importlib.import_module(module.name)
    found, todo = [], list(FlaskForm.__subclasses__())
    while todo:
        form = todo.pop()
        found.append(form)
        todo.extend(form.__subclasses__())
    return found


def _text_fields():
    for form in _all_forms():
        for name in dir(form):
            unbound = getattr(form, name, None)
            if (isinstance(unbound, UnboundField) and issubclass(unbound.field_class, TEXT_FIELDS)
                    and not issubclass(unbound.field_class, PasswordField)):
                validators = unbound.kwargs.get("validators") or (unbound.args[1] if len(unbound.args) > 1 else [])
                yield f"{form.__name__}.{name}", list(validators)


def test_every_text_field_refuses_control_characters():
    fields = dict(_text_fields())
    assert len(fields) > 40
    missing = [name for name, validators in fields.items()
               if no_control_characters not in validators and not any(isinstance(v, AnyOf) for v in validators)]
    assert missing == []


def test_every_text_field_others_read_refuses_identity_numbers():
    fields = dict(_text_fields())
    missing = [name for name, validators in fields.items()
               if no_identity_number not in validators and name not in NOT_SHARED]
    assert missing == [], "add SHARED_TEXT to these fields, or a row to NOT_SHARED saying why not"
    assert sorted(set(NOT_SHARED) - set(fields)) == []


# --- the detector --------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "811218-9876", "19811218-9876", "8112189876", "198112189876", "811218+9876",
    "Uppföljning 850101-1234",  # made up, no valid check digit: written as one, it is one
    "811218–9876", "811218 – 9876", "８１１２１８－９８７６", "１９８１１２１８９８７６",
    "811278-9876",  # samordningsnummer: day + 60
    "Möte med Kalle 811218-9876 kl 10", "(19811218-9876)",
])
def test_identity_numbers_are_found(text):
    assert contains_identity_number(text)


@pytest.mark.parametrize("text", [
    "8501011234",  # ten bare digits with a wrong check digit: an order number, perhaps
    "Ring 070-123 45 67", "Möte 2031-01-07 09:00-10:00", "Rum 12, plan 3", "Fika 1430-1500",
    "Tel 0701234560", "811218-98765", "1811218-9876", "811318-9876", "811200-9876", "",
])
def test_other_numbers_are_left_alone(text):
    assert not contains_identity_number(text)


def test_the_check_digit_is_luhn():
    assert luhn_valid("8112189876") and not luhn_valid("8112189875")


# --- in the forms people use -------------------------------------------------------------

NUMBER = "811218-9876"


def _refused_without_echo(response, kept):
    """Refused with a message; the form keeps what was typed, all but the number."""
    html = response.get_data(as_text=True)
    assert response.status_code == 422, response.status_code
    assert "personnumret" in html and kept in html
    for shape in (NUMBER, NUMBER.replace("-", ""), "9876"):
        assert shape not in html, shape


def test_a_booking_title_with_an_identity_number_is_refused_and_not_echoed(auth, create_user, create_resource):
    room = create_resource()
    auth.login(create_user())
    day = ordinary_day(days_ahead=14)
    response = auth.post("/bookings/new", {
        "title": f"Uppföljning {NUMBER}", "resource_id": room.id, "day": day.isoformat(), "start": "09:00",
        "end": "10:00", "attendees": "1", "repeat": "none", "booked_for_id": "0"})
    _refused_without_echo(response, kept='value="Uppföljning …"')
    assert db.session.scalar(select(func.count()).select_from(Reservation)) == 0


def test_a_guests_dietary_needs_with_an_identity_number_are_refused(client, create_user):
    seminar = make_seminar(create_user(role=Role.coordinator))
    page = client.get(f"/seminars/public/{seminar.id}").get_data(as_text=True)
    response = client.post(f"/seminars/public/{seminar.id}", data={
        "csrf_token": csrf_token_from(page), "name": "Eva Ek", "organisation": "SSAB",
        "email": "eva@example.se", "locale": "sv", "attendance_mode": "on_site",
        "dietary_needs": f"Glutenfri, pnr {NUMBER.replace('-', '')}"})
    _refused_without_echo(response, kept="Glutenfri, pnr …")
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_a_meeting_series_name_with_control_characters_is_refused_with_a_message(auth, create_user):
    auth.login(create_user(role=Role.coordinator))
    response = auth.post("/meetings/series", {"name": "Arbetsgruppen\x00", "description": "a\x07"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "tecken som inte är tillåtna" in html


def test_line_breaks_stay_allowed_in_text_areas_only(auth, create_user, create_site):
    auth.login(create_user(role=Role.coordinator))
    site = create_site()
    base = {"site_id": site.id, "kind": "room", "capacity": "4", "active": "y"}
    assert auth.post("/resources/new", {**base, "name": "Rum A", "description": "Två rader\r\nhär"}).status_code == 302
    refused = auth.post("/resources/new", {**base, "name": "Rum\r\nB", "description": ""})
    assert refused.status_code == 422


def test_a_single_line_field_refuses_a_line_break(auth, create_user, create_resource):
    """A CR/LF in a title could split a mail header or a CSV row further on."""
    room = create_resource()
    auth.login(create_user())
    response = auth.post("/bookings/new", {"title": "Möte\r\nBcc: x@example.org", "resource_id": room.id,
                                           "day": "2031-01-08", "start": "09:00", "end": "10:00",
                                           "attendees": "1", "repeat": "none", "booked_for_id": "0"})
    assert response.status_code == 422 and "tecken som inte är tillåtna" in response.get_data(as_text=True)
