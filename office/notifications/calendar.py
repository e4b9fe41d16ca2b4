"""The .ics a notification mail carries: the feeds' serialiser plus the iTIP parts.

Events are built as for the feeds (same UID, SEQUENCE and neutral trepartssamtal title), so
a client that has the item from a mail or a feed updates the same event. A scheduling
message (REQUEST/CANCEL, RFC 5546) also names an ORGANIZER (the app's sender address) and
the ATTENDEE it is sent to.
"""

from __future__ import annotations

from email.utils import parseaddr

import icalendar
from flask import current_app

from office import feeds


def scheduling_ics(events: list[feeds.FeedEvent], method: str, attendee: str,
                   title: str = "Samlokal") -> str:
    """A standalone calendar with METHOD `method` (REQUEST or CANCEL) for one attendee."""
    if method == "CANCEL":
        events = [_cancelled(e) for e in events]
    data = feeds.calendar_file(events, title, method=method)
    calendar = icalendar.Calendar.from_ical(data)
    organizer = parseaddr(current_app.config["MAIL_FROM"])[1] or "samlokal@localhost"
    for vevent in calendar.walk("VEVENT"):
        vevent.add("organizer", f"mailto:{organizer}", parameters={"CN": "Samlokal"})
        vevent.add("attendee", f"mailto:{attendee}",
                   parameters={"ROLE": "REQ-PARTICIPANT", "RSVP": "FALSE"})
    return calendar.to_ical().decode()


def _cancelled(event: feeds.FeedEvent) -> feeds.FeedEvent:
    from dataclasses import replace

    return replace(event, status="CANCELLED")
