"""Meeting series in the calendar feeds (registered when the meetings blueprint is).

A member's personal feed holds the meetings they attend (their attendance pattern
applied): the series as RRULE, with EXDATE for the days they skip or that were cancelled
and RECURRENCE-ID for moved ones; UID ``meeting-<reservation>-member-<member>``, so a
member removed and added again with another pattern gets a new event. The booking itself
then stays out of the member's feed (no doubles). The ``series`` feed kind shows every
meeting of one series (members and the coordinator may subscribe, from the series page).

Each source has a stamp from a few indexed raw reads, so a poll that gets 304 builds nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, case, exists, func, select

from office import feeds
from office.accounts.models import Role
from office.booking import feeds as booking_feeds
from office.booking.models import Reservation
from office.core.extensions import db
from office.meetings import rules as meetings
from office.meetings.models import Attendance, MeetingMember, MeetingSeries

SERIES_PATH = "/meetings/series/{id}"
_TARGET = bindparam("target")
_R = Reservation


def _stamp_of(query: feeds.RawSelect, rows: list, extra: str = "") -> feeds.Stamp:
    """Stamp from raw rows whose first column is the change time (raw values compare)."""
    latest = max((row[0] for row in rows), default=None)
    return feeds.Stamp(feeds.parsed_time(query, latest), len(rows), extra)


_MEMBERSHIPS = feeds.RawSelect(
    select(_R.updated_at, MeetingMember.id, MeetingMember.attendance, MeetingSeries.id, _R.id)
    .join(MeetingSeries, MeetingSeries.id == MeetingMember.series_id)
    .join(_R, _R.id == MeetingSeries.reservation_id)
    .where(MeetingMember.user_id == _TARGET, booking_feeds.VISIBLE_RESERVATION)
    .order_by(MeetingMember.id)
)
# The stamp in SQL, for the feed's one combined query. Attendance has no change time: the
# checksum holds each membership with its pattern (id * 4 + the pattern's place).
_ATTENDANCE_PLACE = case({a: n for n, a in enumerate(Attendance)},
                         value=MeetingMember.attendance, else_=0)
_MEMBERSHIPS_PART = (
    select(func.max(_R.updated_at), func.count(),
           func.coalesce(func.sum(MeetingMember.id * 4 + _ATTENDANCE_PLACE), 0))
    .join(MeetingSeries, MeetingSeries.id == MeetingMember.series_id)
    .join(_R, _R.id == MeetingSeries.reservation_id)
    .where(MeetingMember.user_id == _TARGET, booking_feeds.VISIBLE_RESERVATION)
)
_SERIES = feeds.RawSelect(
    select(_R.updated_at, MeetingSeries.id, _R.id)
    .join(_R, _R.id == MeetingSeries.reservation_id)
    .where(MeetingSeries.id == _TARGET, booking_feeds.VISIBLE_RESERVATION)
)
_SERIES_EXISTS = feeds.RawSelect(select(MeetingSeries.id).where(MeetingSeries.id == _TARGET))
_IS_MEMBER = feeds.RawSelect(select(MeetingMember.id).where(
    MeetingMember.series_id == _TARGET, MeetingMember.user_id == bindparam("user")))
# A member's meetings come from my_meeting_events: their booking stays out of their feed.
_MEMBERS_SEE_IT = exists().where(
    MeetingSeries.reservation_id == _R.id, MeetingMember.series_id == MeetingSeries.id,
    MeetingMember.user_id == booking_feeds.TARGET)


def meetings_stamp(subject: feeds.FeedSubject, now: datetime) -> feeds.Stamp:
    rows = _MEMBERSHIPS.all(raw_results=True, target=subject.user_id, cutoff=feeds.cutoff(now))
    # Attendance has no change time: the membership rows themselves are part of the stamp.
    return _stamp_of(_MEMBERSHIPS, rows, ",".join(f"{row[1]}:{row[2]}" for row in rows))


def meetings_stamp_parts(kind: str) -> list:
    return [_MEMBERSHIPS_PART]


def my_meeting_events(subject: feeds.FeedSubject, now: datetime) -> list[feeds.FeedEvent]:
    """The meetings a member attends: the series with the other days as EXDATE."""
    rows = _MEMBERSHIPS.all(raw_results=True, target=subject.user_id, cutoff=feeds.cutoff(now))
    loaded = {row[0]: (row, occurrences) for row, occurrences
              in booking_feeds.load_reservations(sorted({r[4] for r in rows}))}
    events = []
    for _changed, member_id, attendance, series_id, reservation_id in rows:
        if reservation_id not in loaded:
            continue  # deleted since the read
        row, occurrences = loaded[reservation_id]
        attended = attended_occurrences(occurrences, Attendance(attendance), ZoneInfo(row[3]))
        events.extend(_as_meeting(e, reservation_id, f"meeting-{reservation_id}-member-{member_id}",
                                  series_id)
                      for e in booking_feeds.reservation_events(row, attended))
    return events


def attended_occurrences(occurrences: list, attendance: Attendance, zone: ZoneInfo) -> list:
    """The occurrences with those this pattern skips marked inactive (as meeting_dates does)."""
    days = {o.id: o.starts_at.astimezone(zone).date() for o in occurrences if o.active}
    extended = meetings.extended_days(list(days.values()))
    return [o if not o.active or meetings.attends(attendance, days[o.id], extended)
            else replace(o, active=False) for o in occurrences]


def _as_meeting(event: feeds.FeedEvent, reservation_id: int, uid: str,
                series_id: int) -> feeds.FeedEvent:
    suffix = event.uid[len(f"reservation-{reservation_id}"):]  # "" or "-<occurrence>"
    return replace(event, uid=uid + suffix,
                   url=feeds.base_url() + SERIES_PATH.format(id=series_id))


def series_stamp(subject: feeds.FeedSubject, now: datetime) -> feeds.Stamp:
    return _stamp_of(_SERIES, _SERIES.all(raw_results=True, target=subject.target_id,
                                           cutoff=feeds.cutoff(now)))


def series_events(subject: feeds.FeedSubject, now: datetime) -> list[feeds.FeedEvent]:
    """Every meeting of one series (the series' booking as the resource feed shows it)."""
    rows = _SERIES.all(raw_results=True, target=subject.target_id, cutoff=feeds.cutoff(now))
    events = []
    for _changed, series_id, reservation_id in rows:
        for row, occurrences in booking_feeds.load_reservations([reservation_id]):
            events.extend(_as_meeting(e, reservation_id, f"reservation-{reservation_id}", series_id)
                          for e in booking_feeds.reservation_events(row, occurrences))
    return events


def may_follow_series(owner: feeds.Owner, target_id: int | None) -> bool:
    """Members and the coordinator (asked at every poll: a removed member's link stops)."""
    if owner.role == Role.coordinator:
        return bool(_SERIES_EXISTS.all(raw_results=True, target=target_id))
    return bool(_IS_MEMBER.all(raw_results=True, target=target_id, user=owner.id))


def describe_series(series_id: int) -> str | None:
    series = db.session.get(MeetingSeries, series_id)
    return series.name if series else None


def _series_title(subject: feeds.FeedSubject) -> str:
    return _("Samlokal: %(name)s", name=describe_series(subject.target_id) or "?")


def register_feeds(app: Flask) -> None:
    """Plug meetings into the feeds (idempotent; called when the blueprint is registered)."""
    booking_feeds.shown_by_another_source(_MEMBERS_SEE_IT)
    feeds.add_source("personal", my_meeting_events, stamp=meetings_stamp,
                     stamp_parts=meetings_stamp_parts)
    feeds.add_feed_kind("series", _l("Meeting series"), needs_target=True, title=_series_title,
                        describe=describe_series, may_subscribe=may_follow_series,
                        description=_l("Every meeting of this meeting series in Samlokal."))
    feeds.add_source("series", series_events, stamp=series_stamp)
