"""The coordinator's check-in settings: per kind of resource, required or not, and the minutes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField
from wtforms.validators import InputRequired, NumberRange

from office.checkin.rules import MAX_GRACE_MINUTES


class CheckInPolicyForm(FlaskForm):
    room_required = BooleanField(_l("Rooms must be checked in"))
    room_minutes = IntegerField(_l("Minutes after the start before a room is released"),
                                validators=[InputRequired(), NumberRange(min=5, max=MAX_GRACE_MINUTES)])
    desk_required = BooleanField(_l("Desks must be checked in"))
    desk_minutes = IntegerField(_l("Minutes after the start before a desk is released"),
                                validators=[InputRequired(), NumberRange(min=5, max=MAX_GRACE_MINUTES)])
