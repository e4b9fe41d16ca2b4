"""The seminar as an iCalendar file (RFC 5545): one VEVENT per day, with its VTIMEZONE."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app
from icalendar import Calendar, Event

from office.database import utcnow
from seminars.models import Seminar, SeminarState, VenueKind


def location_of(seminar: Seminar, seminar_day) -> str:
    parts = []
    if seminar.venue_kind == VenueKind.external:
        parts.append(seminar.external_address)
    if seminar.uses_our_rooms and seminar_day.resource is not None:
        site = seminar_day.resource.site
        parts.append(f"{seminar_day.resource.name}, {site.name}, {site.address}".rstrip(", "))
    if seminar.venue_kind in (VenueKind.online, VenueKind.hybrid) and seminar.online_url:
        parts.append(seminar.online_url)
    return " / ".join(p for p in parts if p)


def seminar_ics(seminar: Seminar, url: str, *, now: datetime | None = None) -> str:
    """The seminar's days as events; a cancelled seminar's events say STATUS:CANCELLED."""
    now = now or utcnow()
    zone = ZoneInfo(seminar.timezone)
    host = urlsplit(current_app.config.get("BASE_URL", "")).hostname or "samlokal"
    calendar = Calendar()
    calendar.add("prodid", "-//Samlokal//Seminars//SV")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    for seminar_day in seminar.days:
        event = Event()
        event.add("uid", f"seminar-{seminar.id}-{seminar_day.day.isoformat()}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", datetime.combine(seminar_day.day, seminar_day.start_time, tzinfo=zone))
        event.add("dtend", datetime.combine(seminar_day.day, seminar_day.end_time, tzinfo=zone))
        event.add("summary", seminar.title)
        if seminar.description:
            event.add("description", seminar.description)
        location = location_of(seminar, seminar_day)
        if location:
            event.add("location", location)
        event.add("url", url)
        event.add("sequence", seminar.sequence)
        event.add("status", "CANCELLED" if seminar.state == SeminarState.cancelled else "CONFIRMED")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical().decode()
