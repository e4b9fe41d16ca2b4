"""iCalendar output (RFC 5545, RFC 7986): one VEVENT, the calendar's head, a standalone file.

Every byte a feed or a mail attachment carries is made here, by the icalendar library
(escaping, folding, UTF-8). The time zone goes out as one VTIMEZONE with the zone's rules
of the current year as yearly RRULEs; times are in that zone, UNTIL and stamps in UTC.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Iterable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
from dateutil.rrule import rrule as dateutil_rrule
from flask import current_app

from office.core.database import utcnow
from office.feeds.registry import FeedEvent, private_summary

UTC = timezone.utc
PRODID = "-//Samlokal//Calendar feeds//SV"
REFRESH = timedelta(hours=1)


def serialise_event(event: FeedEvent, host: str, zone: ZoneInfo) -> bytes:
    """One VEVENT, by the icalendar library (escaping, folding, UTF-8)."""
    word = private_summary(event.kind)  # a private kind: its word, time and place only
    private = word is not None
    vevent = icalendar.Event()
    vevent.add("uid", f"{event.uid}@{host}")
    stamp = _utc(event.last_modified)
    vevent.add("dtstamp", stamp)
    vevent.add("last-modified", stamp)
    if event.created is not None:
        vevent.add("created", _utc(event.created))
    vevent.add("sequence", event.sequence)
    vevent.add("summary", word if private else event.summary)
    vevent.add("dtstart", _in_zone(event.start, zone))
    vevent.add("dtend", _in_zone(event.end, zone))
    if event.recurrence_id is not None:
        vevent.add("recurrence-id", _in_zone(event.recurrence_id, zone))
    if event.rrule:
        vevent.add("rrule", icalendar.vRecur.from_ical(event.rrule))
    if event.exdates:
        vevent.add("exdate", [_in_zone(d, zone) for d in event.exdates])
    if event.location:
        vevent.add("location", event.location)
    if event.description and not private:
        vevent.add("description", event.description)
    if event.url:
        vevent.add("url", event.url)
    vevent.add("status", event.status)
    transparent = event.transparent or event.status == "CANCELLED"
    vevent.add("transp", "TRANSPARENT" if transparent else "OPAQUE")
    return vevent.to_ical()


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("feed times must be aware")
    return value.astimezone(UTC).replace(microsecond=0)


def _in_zone(value: datetime | date, zone: ZoneInfo) -> datetime | date:
    if not isinstance(value, datetime):
        return value  # an all-day date
    if value.tzinfo is None:
        raise ValueError("feed times must be aware (or dates for all-day items)")
    return value.astimezone(zone).replace(microsecond=0)


@lru_cache(maxsize=8)
def vtimezone(zone_name: str, year: int) -> icalendar.Timezone:
    """The zone's rules of `year` as yearly RRULEs (not a list of historic transitions)."""
    zone = ZoneInfo(zone_name)
    component = icalendar.Timezone()
    component.add("tzid", zone_name)
    transitions = _transitions(zone, year)
    if not transitions:
        standard = icalendar.TimezoneStandard()
        moment = datetime(year, 1, 1, tzinfo=zone)
        standard.add("dtstart", datetime(1970, 1, 1))
        standard.add("tzoffsetfrom", moment.utcoffset())
        standard.add("tzoffsetto", moment.utcoffset())
        standard.add("tzname", moment.tzname())
        component.add_component(standard)
        return component
    for before, after in transitions:
        part = icalendar.TimezoneDaylight() if after.dst() else icalendar.TimezoneStandard()
        # The local time the change happens at, on the old offset (e.g. 02:00 -> 03:00).
        wall = (after.astimezone(UTC) + before.utcoffset()).replace(tzinfo=None)
        weekday = wall.weekday()
        last = (wall + timedelta(days=7)).month != wall.month
        ordinal = -1 if last else (wall.day - 1) // 7 + 1
        byday = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[weekday]
        rule = {"FREQ": "YEARLY", "BYMONTH": wall.month, "BYDAY": f"{ordinal}{byday}"}
        first = dateutil_rrule(freq=0, dtstart=datetime(1970, 1, 1, wall.hour, wall.minute),
                               count=1, bymonth=wall.month,
                               byweekday=_weekday(weekday)(ordinal))[0]
        part.add("dtstart", first)
        part.add("rrule", rule)
        part.add("tzoffsetfrom", before.utcoffset())
        part.add("tzoffsetto", after.utcoffset())
        part.add("tzname", after.tzname())
        component.add_component(part)
    return component


def _weekday(index: int):
    from dateutil.rrule import weekdays

    return weekdays[index]


def _transitions(zone: ZoneInfo, year: int) -> list[tuple[datetime, datetime]]:
    """(just before, just after) each offset change in the year, found by the hour."""
    found = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    previous = moment.astimezone(zone)
    while moment.year == year:
        moment += timedelta(hours=1)
        current = moment.astimezone(zone)
        if current.utcoffset() != previous.utcoffset():
            # Narrow to the minute the change happens.
            low = moment - timedelta(hours=1)
            while (moment - low) > timedelta(minutes=1):
                mid = low + (moment - low) / 2
                if mid.astimezone(zone).utcoffset() == previous.utcoffset():
                    low = mid
                else:
                    moment = mid
            found.append((previous, moment.astimezone(zone)))
            moment = moment.replace(second=0, microsecond=0)
        previous = current
    return found


def feed_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE", "Europe/Stockholm"))


def base_url() -> str:
    return current_app.config.get("BASE_URL", "http://localhost").rstrip("/")


def host() -> str:
    return urlsplit(base_url()).hostname or "localhost"


def calendar_file(events: Iterable[FeedEvent], title: str, description: str = "", *,
                  method: str | None = None, now: datetime | None = None) -> bytes:
    """A standalone .ics with the feeds' serialiser (a mail attachment: method="PUBLISH").

    Feeds never carry METHOD (a subscription is not a scheduling message); a file sent by
    mail does, so clients offer to add it.
    """
    now = now or utcnow()
    zone = feed_zone()
    head = calendar_head(title, description, zone.key, now.year, method=method)
    server = host()
    return b"".join([head, *(serialise_event(e, server, zone) for e in events),
                     b"END:VCALENDAR\r\n"])


def calendar_head(title: str, description: str, zone_name: str, year: int,
                  method: str | None = None) -> bytes:
    """VCALENDAR up to its first VEVENT (the caller adds events and END:VCALENDAR)."""
    calendar = icalendar.Calendar()
    calendar.add("version", "2.0")
    calendar.add("prodid", PRODID)
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    calendar.add("name", title)
    calendar.add("x-wr-calname", title)
    if description:
        calendar.add("description", description)
        calendar.add("x-wr-caldesc", description)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    calendar.add_component(vtimezone(zone_name, year))
    data = calendar.to_ical()
    end = b"END:VCALENDAR\r\n"
    assert data.endswith(end)
    return data[: -len(end)]
