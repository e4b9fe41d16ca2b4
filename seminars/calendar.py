"""The seminar in calendars: one builder for the mail's .ics and every feed.

`seminar_events()` makes one VEVENT per seminar day (a three-day training is three events,
each with that day's hours); the mail attachment (`seminar_ics`) and the feeds
(seminars/feeds.py) serialise the same events with office's feed serialiser. The link to
an online meeting is only where the page for the same readers shows it: the mail, the
personal feed and an internal seminar's file, never a public feed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from email.utils import parseaddr
from zoneinfo import ZoneInfo

import icalendar
from flask import current_app

from office import feeds
from office.booking.rules import to_utc
from office.core.database import utcnow
from seminars.models import (
    Registration,
    Seminar,
    SeminarState,
    VenueKind,
)


def starts_at(seminar: Seminar) -> datetime | None:
    """When the seminar's first day begins (aware UTC); None without days."""
    return to_utc(seminar.days[0].day, seminar.days[0].start_time,
                  ZoneInfo(seminar.timezone)) if seminar.days else None


def ends_at(seminar: Seminar) -> datetime | None:
    """When the seminar's last day ends (aware UTC); None without days."""
    return to_utc(seminar.days[-1].day, seminar.days[-1].end_time,
                  ZoneInfo(seminar.timezone)) if seminar.days else None


def location_of(seminar: Seminar, seminar_day, *, with_online_url: bool = True) -> str:
    parts = []
    if seminar.venue_kind == VenueKind.external:
        parts.append(seminar.external_address)
    if seminar.uses_our_rooms and seminar_day.resource is not None:
        site = seminar_day.resource.site
        parts.append(f"{seminar_day.resource.name}, {site.name}, {site.address}".rstrip(", "))
    if (with_online_url and seminar.venue_kind in (VenueKind.online, VenueKind.hybrid)
            and seminar.online_url):
        parts.append(seminar.online_url)
    return " / ".join(p for p in parts if p)


def seminar_events(seminar: Seminar, url: str, *,
                   with_online_url: bool = True) -> list[feeds.FeedEvent]:
    """The seminar's days as events; a cancelled seminar's events say STATUS:CANCELLED."""
    zone = ZoneInfo(seminar.timezone)
    status = "CANCELLED" if seminar.state == SeminarState.cancelled else "CONFIRMED"
    return [feeds.FeedEvent(
        uid=f"seminar-{seminar.id}-{seminar_day.day.isoformat()}",
        summary=seminar.title,
        start=datetime.combine(seminar_day.day, seminar_day.start_time, tzinfo=zone),
        end=datetime.combine(seminar_day.day, seminar_day.end_time, tzinfo=zone),
        last_modified=seminar.updated_at or utcnow(), sequence=seminar.sequence or 0,
        created=seminar.created_at, description=seminar.description or "",
        location=location_of(seminar, seminar_day, with_online_url=with_online_url),
        url=url, status=status,
    ) for seminar_day in sorted(seminar.days, key=lambda d: d.day)]


def seminar_ics(seminar: Seminar, url: str, *, now: datetime | None = None) -> str:
    """The seminar as a file to add to a calendar (METHOD:PUBLISH, no attendee)."""
    return feeds.calendar_file(seminar_events(seminar, url), seminar.title, method="PUBLISH",
                               now=now).decode()


def mail_ics(seminar: Seminar, url: str, registration: Registration, method: str,
             sequence: int, *, now: datetime | None = None) -> str:
    """The file in a participant's mail: a scheduling message about their own place.

    REQUEST adds or updates the entry, CANCEL takes it back; both carry the events' usual
    UIDs, the given SEQUENCE (higher than the last one the person got), the organiser and
    the person as attendee (RFC 5546 asks for both).
    """
    events = [replace(event, sequence=sequence,
                      status="CANCELLED" if method == "CANCEL" else event.status)
              for event in seminar_events(seminar, url)]
    calendar = icalendar.Calendar.from_ical(
        feeds.calendar_file(events, seminar.title, method=method, now=now))
    name, address = parseaddr(current_app.config["MAIL_FROM"])
    for event in calendar.walk("VEVENT"):
        organiser = icalendar.vCalAddress(f"mailto:{address}")
        organiser.params["CN"] = name or "Samlokal"
        attendee = icalendar.vCalAddress(f"mailto:{registration.email}")
        attendee.params.update({"CN": registration.name, "ROLE": "REQ-PARTICIPANT",
                                "PARTSTAT": "DECLINED" if method == "CANCEL" else "ACCEPTED",
                                "RSVP": "FALSE"})
        event.add("organizer", organiser)
        event.add("attendee", attendee)
    return calendar.to_ical().decode()

