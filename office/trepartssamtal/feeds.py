"""Trepartssamtal in the calendar feeds (registered when the trepartssamtal blueprint is).

A participant's personal feed holds "Trepartssamtal" with time and room or mode, nothing
else: no reference, no description, no video link (feed URLs get forwarded). UID
``trepartssamtal-<id>``; SEQUENCE and LAST-MODIFIED from ``sequence``/``updated_at``,
bumped by reschedule, cancel and outcome; a cancelled one stays CANCELLED_KEPT as
CANCELLED. A participant who booked the room does not also get the room booking. The
serialiser shows only the word for events of this kind from any source (registered by
the bookings: office/booking/feeds.py).
"""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, exists, func, or_, select

from office import feeds
from office.booking import feeds as booking_feeds
from office.booking.models import Reservation, ReservationKind
from office.premises.models import Resource, Site
from office.trepartssamtal.models import (
    MeetingMode,
    MeetingStatus,
    Trepartssamtal,
    TrepartssamtalParticipant,
)

TREPARTSSAMTAL_PATH = "/trepartssamtal/{id}"
_TARGET = bindparam("target")
_R = Reservation
_T = Trepartssamtal
_P = TrepartssamtalParticipant
_CUTOFF = bindparam("cutoff", type_=_T.updated_at.type)
_WHERE = (
    _P.user_id == _TARGET,
    # A cancelled one stays CANCELLED_KEPT as STATUS:CANCELLED so clients remove it.
    # (One comparison per status: the raw reads cannot expand an IN list.)
    or_(and_(*(_T.status != s for s in MeetingStatus if s.is_cancelled)),
        _T.updated_at >= _CUTOFF),
)
_STAMP = feeds.RawSelect(
    select(_T.updated_at, _T.id, _T.sequence).join(_P, _P.trepartssamtal_id == _T.id)
    .where(*_WHERE).order_by(_T.id)
)
_ROWS = feeds.RawSelect(
    select(_T.updated_at, _T.id, _T.sequence, _T.status, _T.mode, _T.starts_at, _T.ends_at,
           _T.created_at, Resource.name, Site.name, Site.address)
    .join(_P, _P.trepartssamtal_id == _T.id)
    .outerjoin(_R, _R.id == _T.reservation_id)
    .outerjoin(Resource, Resource.id == _R.resource_id)
    .outerjoin(Site, Site.id == Resource.site_id)
    .where(*_WHERE).order_by(_T.id)
)
# The stamp in SQL, for the feed's one combined query: the latest change, how many, and
# which (the sum of ids: a participant added or removed changes count or sum; any other
# change bumps updated_at).
_STAMP_PART = (
    select(func.max(_T.updated_at), func.count(), func.coalesce(func.sum(_T.id), 0))
    .join(_P, _P.trepartssamtal_id == _T.id).where(*_WHERE)
)
# A participant gets the trepartssamtal from here: the room booking stays out of their feed.
_PARTICIPANTS_SEE_IT = exists().where(
    _T.reservation_id == _R.id, _P.trepartssamtal_id == _T.id,
    _P.user_id == booking_feeds.TARGET)
_MODE_PLACES = {MeetingMode.phone: _l("By phone"), MeetingMode.video: _l("Video meeting"),
                MeetingMode.on_site: _l("On site")}


def trepartssamtal_stamp_parts(kind: str) -> list:
    return [_STAMP_PART]


def trepartssamtal_stamp(subject: feeds.FeedSubject, now: datetime) -> feeds.Stamp:
    """The stamp on its own (the feed asks it within its one combined query)."""
    rows = _STAMP.all(raw_results=True, target=subject.user_id, cutoff=feeds.cutoff(now))
    latest = max((row[0] for row in rows), default=None)
    return feeds.Stamp(feeds.parsed_time(_STAMP, latest), len(rows),
                       ",".join(f"{r[1]}:{r[2]}" for r in rows))


def trepartssamtal_events(subject: feeds.FeedSubject, now: datetime) -> list[feeds.FeedEvent]:
    """A participant's trepartssamtal: the word, the time, the room or the mode. Nothing else."""
    zone = feeds.feed_zone()
    events = []
    for (updated_at, meeting_id, sequence, status, mode, starts_at, ends_at, created_at,
         room, site, address) in _ROWS.all(target=subject.user_id, cutoff=feeds.cutoff(now)):
        status, mode = MeetingStatus(status), MeetingMode(mode)
        if mode == MeetingMode.on_site and room:
            location = ", ".join(part for part in (room, site, address) if part)
        else:
            location = str(_MODE_PLACES.get(mode, ""))
        events.append(feeds.FeedEvent(
            uid=f"trepartssamtal-{meeting_id}", summary=booking_feeds.TREPARTSSAMTAL,
            start=starts_at.astimezone(zone), end=ends_at.astimezone(zone),
            last_modified=updated_at, sequence=sequence, created=created_at, location=location,
            url=feeds.base_url() + TREPARTSSAMTAL_PATH.format(id=meeting_id),
            status="CANCELLED" if status.is_cancelled else "CONFIRMED",
            kind=ReservationKind.trepartssamtal.value,
        ))
    return events


def register_feeds(app: Flask) -> None:
    """Plug trepartssamtal into the feeds (idempotent; called when the blueprint registers)."""
    booking_feeds.shown_by_another_source(_PARTICIPANTS_SEE_IT)
    feeds.add_source("personal", trepartssamtal_events, stamp=trepartssamtal_stamp,
                     stamp_parts=trepartssamtal_stamp_parts)
