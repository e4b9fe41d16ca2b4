"""Absolute links to seminar pages, for mails and calendar files (also outside a request)."""

from __future__ import annotations

from flask import current_app, has_request_context, url_for

from seminars.models import Audience, Seminar


def external_url(endpoint: str, **values) -> str:
    """An absolute link for a mail: BASE_URL and the route (also outside a request)."""
    base = current_app.config["BASE_URL"].rstrip("/")
    if has_request_context():
        return base + url_for(endpoint, **values)
    with current_app.test_request_context():
        return base + url_for(endpoint, **values)


def seminar_url(seminar: Seminar) -> str:
    if seminar.audience == Audience.public:
        return external_url("seminars.public_seminar", seminar_id=seminar.id)
    return external_url("seminars.show_seminar", seminar_id=seminar.id)
