from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField

from office.notifications.rules import TOPICS


class PreferencesForm(FlaskForm):
    booked_for = BooleanField(TOPICS["booked_for"])
    meetings = BooleanField(TOPICS["meetings"])
    trepartssamtal = BooleanField(TOPICS["trepartssamtal"])
