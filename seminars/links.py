"""Absolute links to seminar pages, for mails and calendar files (also outside a request)."""

from __future__ import annotations

from office.core.mail import external_url
from seminars.models import Audience, Seminar


def seminar_url(seminar: Seminar) -> str:
    if seminar.audience == Audience.public:
        return external_url("seminars.public_seminar", seminar_id=seminar.id)
    return external_url("seminars.show_seminar", seminar_id=seminar.id)
