"""What office's own features put into calendar feeds (office/feeds/core.py is the registry).

- Meeting series: a member's personal feed holds the meetings they attend (their attendance
  pattern applied): the series as RRULE, with EXDATE for the days they skip or that were
  cancelled and RECURRENCE-ID for moved ones; UID ``meeting-<reservation>-member-<member>``,
  so a member removed and added again with another pattern gets a new event. The ``series``
  feed kind shows every meeting of one series (members and the coordinator may subscribe).
- Trepartssamtal: a participant's personal feed holds "Trepartssamtal" with time and room or
  mode, nothing else (no reference, no video link: feed URLs get forwarded).
- Allocations: an agency's feed holds its allocated windows, one event per day
  ("Tilldelad: Skrivbord 1", transparent: held space, not busy time). A released window is
  left out (see docs/feeds.md).

Each source has a stamp from a few indexed raw reads, so a poll that gets 304 builds nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, or_, select

from office.accounts.models import Role
from office.allocations.models import Allocation, AllocationRelease
from office.allocations.rules import allocation_windows
from office.booking.models import Reservation
from office.core.database import utcnow
from office.core.extensions import db
from office.feeds import core as feeds
from office.meetings import rules as meetings
from office.meetings.models import Attendance, MeetingMember, MeetingSeries
from office.premises.models import Closure, OpeningHours, Resource, Site
from office.trepartssamtal.models import (
    MeetingMode,
    MeetingStatus,
    Trepartssamtal,
    TrepartssamtalParticipant,
)

SERIES_PATH = "/meetings/series/{id}"
TREPARTSSAMTAL_PATH = "/trepartssamtal/{id}"
# Automatic releases depend on the clock, not on stored rows; the feed shows only releases
# that are recorded (by hand, or by `release-unclaimed`), so it stays a function of the rows.
_NO_AUTOMATIC_RELEASE = datetime(1970, 1, 1, tzinfo=timezone.utc)
_TARGET = bindparam("target")
_R = Reservation


def _stamp_of(query: feeds.RawSelect, rows: list, extra: str = "") -> feeds.Stamp:
    """Stamp from raw rows whose first column is the change time (raw values compare)."""
    latest = max((row[0] for row in rows), default=None)
    return feeds.Stamp(feeds.parsed_time(query, latest), len(rows), extra)


def _digest(rows) -> str:
    return hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()[:16]


# --- meeting series -----------------------------------------------------------------------

_MEMBERSHIPS = feeds.RawSelect(
    select(_R.updated_at, MeetingMember.id, MeetingMember.attendance, MeetingSeries.id, _R.id)
    .join(MeetingSeries, MeetingSeries.id == MeetingMember.series_id)
    .join(_R, _R.id == MeetingSeries.reservation_id)
    .where(MeetingMember.user_id == _TARGET, feeds.VISIBLE_RESERVATION)
    .order_by(MeetingMember.id)
)
_SERIES = feeds.RawSelect(
    select(_R.updated_at, MeetingSeries.id, _R.id)
    .join(_R, _R.id == MeetingSeries.reservation_id)
    .where(MeetingSeries.id == _TARGET, feeds.VISIBLE_RESERVATION)
)
_SERIES_EXISTS = feeds.RawSelect(select(MeetingSeries.id).where(MeetingSeries.id == _TARGET))
_IS_MEMBER = feeds.RawSelect(select(MeetingMember.id).where(
    MeetingMember.series_id == _TARGET, MeetingMember.user_id == bindparam("user")))


def _now_cutoff() -> datetime:
    return feeds.cutoff(utcnow())


def meetings_stamp(subject: feeds.FeedSubject) -> feeds.Stamp:
    rows = _MEMBERSHIPS.all(raw_results=True, target=subject.user_id, cutoff=_now_cutoff())
    # Attendance has no change time: the membership rows themselves are part of the stamp.
    return _stamp_of(_MEMBERSHIPS, rows, ",".join(f"{row[1]}:{row[2]}" for row in rows))


def my_meeting_events(subject: feeds.FeedSubject) -> list[feeds.FeedEvent]:
    """The meetings a member attends: the series with the other days as EXDATE."""
    rows = _MEMBERSHIPS.all(raw_results=True, target=subject.user_id, cutoff=_now_cutoff())
    loaded = {row[0]: (row, occurrences)
              for row, occurrences in feeds.load_reservations(sorted({r[4] for r in rows}))}
    events = []
    for _changed, member_id, attendance, series_id, reservation_id in rows:
        if reservation_id not in loaded:
            continue  # deleted since the read
        row, occurrences = loaded[reservation_id]
        attended = attended_occurrences(occurrences, Attendance(attendance), ZoneInfo(row[3]))
        events.extend(_as_meeting(e, reservation_id, f"meeting-{reservation_id}-member-{member_id}",
                                  series_id)
                      for e in feeds.reservation_events(row, attended))
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
                   url=feeds._base_url() + SERIES_PATH.format(id=series_id))


def series_stamp(subject: feeds.FeedSubject) -> feeds.Stamp:
    return _stamp_of(_SERIES, _SERIES.all(raw_results=True, target=subject.target_id,
                                           cutoff=_now_cutoff()))


def series_events(subject: feeds.FeedSubject) -> list[feeds.FeedEvent]:
    """Every meeting of one series (the series' booking as the resource feed shows it)."""
    rows = _SERIES.all(raw_results=True, target=subject.target_id, cutoff=_now_cutoff())
    events = []
    for _changed, series_id, reservation_id in rows:
        for row, occurrences in feeds.load_reservations([reservation_id]):
            events.extend(_as_meeting(e, reservation_id, f"reservation-{reservation_id}", series_id)
                          for e in feeds.reservation_events(row, occurrences))
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


# --- trepartssamtal -----------------------------------------------------------------------

_T = Trepartssamtal
_P = TrepartssamtalParticipant
_CUTOFF = bindparam("cutoff", type_=_T.updated_at.type)
_TREPARTSSAMTAL_WHERE = (
    _P.user_id == _TARGET,
    # A cancelled one stays CANCELLED_KEPT as STATUS:CANCELLED so clients remove it.
    # (One comparison per status: the raw reads cannot expand an IN list.)
    or_(and_(*(_T.status != s for s in MeetingStatus if s.is_cancelled)),
        _T.updated_at >= _CUTOFF),
)
_TREPARTSSAMTAL_STAMP = feeds.RawSelect(
    select(_T.updated_at, _T.id, _T.sequence).join(_P, _P.trepartssamtal_id == _T.id)
    .where(*_TREPARTSSAMTAL_WHERE).order_by(_T.id)
)
_TREPARTSSAMTAL_ROWS = feeds.RawSelect(
    select(_T.updated_at, _T.id, _T.sequence, _T.status, _T.mode, _T.starts_at, _T.ends_at,
           _T.created_at, Resource.name, Site.name, Site.address)
    .join(_P, _P.trepartssamtal_id == _T.id)
    .outerjoin(_R, _R.id == _T.reservation_id)
    .outerjoin(Resource, Resource.id == _R.resource_id)
    .outerjoin(Site, Site.id == Resource.site_id)
    .where(*_TREPARTSSAMTAL_WHERE).order_by(_T.id)
)


def trepartssamtal_stamp(subject: feeds.FeedSubject) -> feeds.Stamp:
    rows = _TREPARTSSAMTAL_STAMP.all(raw_results=True, target=subject.user_id,
                                     cutoff=_now_cutoff())
    return _stamp_of(_TREPARTSSAMTAL_STAMP, rows, ",".join(f"{r[1]}:{r[2]}" for r in rows))


def trepartssamtal_events(subject: feeds.FeedSubject) -> list[feeds.FeedEvent]:
    """A participant's trepartssamtal: the word, the time, the room or the mode. Nothing else."""
    zone = feeds._feed_zone()
    events = []
    for (updated_at, meeting_id, sequence, status, mode, starts_at, ends_at, created_at,
         room, site, address) in _TREPARTSSAMTAL_ROWS.all(target=subject.user_id,
                                                          cutoff=_now_cutoff()):
        status, mode = MeetingStatus(status), MeetingMode(mode)
        if mode == MeetingMode.on_site and room:
            location = ", ".join(part for part in (room, site, address) if part)
        else:
            location = str(_MODE_PLACES.get(mode, ""))
        events.append(feeds.FeedEvent(
            uid=f"trepartssamtal-{meeting_id}", summary=feeds.TREPARTSSAMTAL,
            start=starts_at.astimezone(zone), end=ends_at.astimezone(zone),
            last_modified=updated_at, sequence=sequence, created=created_at, location=location,
            url=feeds._base_url() + TREPARTSSAMTAL_PATH.format(id=meeting_id),
            status="CANCELLED" if status.is_cancelled else "CONFIRMED", kind="trepartssamtal",
        ))
    return events


_MODE_PLACES = {MeetingMode.phone: _l("By phone"), MeetingMode.video: _l("Video meeting"),
                MeetingMode.on_site: _l("On site")}


# --- allocations -------------------------------------------------------------------------

_ALLOCATIONS_STAMP = feeds.RawSelect(
    select(Allocation.created_at, Allocation.id).where(Allocation.agency_id == _TARGET)
    .order_by(Allocation.id)
)
_RELEASES_STAMP = feeds.RawSelect(
    select(AllocationRelease.released_at, AllocationRelease.id)
    .join(Allocation, Allocation.id == AllocationRelease.allocation_id)
    .where(Allocation.agency_id == _TARGET).order_by(AllocationRelease.id)
)
_AGENCY_SITES = (select(Resource.site_id).join(Allocation, Allocation.resource_id == Resource.id)
                 .where(Allocation.agency_id == _TARGET))
# Closures and opening hours decide which days have a window; they have no change time.
_SITE_DAYS = feeds.RawSelect(
    select(Closure.id, Closure.site_id, Closure.day).where(Closure.site_id.in_(_AGENCY_SITES))
    .order_by(Closure.id)
)
_SITE_HOURS = feeds.RawSelect(
    select(OpeningHours.id, OpeningHours.weekday, OpeningHours.opens, OpeningHours.closes)
    .where(OpeningHours.site_id.in_(_AGENCY_SITES)).order_by(OpeningHours.id)
)


def allocations_stamp(subject: feeds.FeedSubject) -> feeds.Stamp:
    target = subject.target_id
    allocations = _ALLOCATIONS_STAMP.all(raw_results=True, target=target)
    if not allocations:
        return feeds.Stamp(None, 0)
    releases = _RELEASES_STAMP.all(raw_results=True, target=target)
    latest = [t for t in (feeds.parsed_time(_ALLOCATIONS_STAMP, max(r[0] for r in allocations)),
                          feeds.parsed_time(_RELEASES_STAMP, max((r[0] for r in releases),
                                                                 default=None))) if t]
    extra = _digest([*allocations, *releases, *_SITE_DAYS.all(raw_results=True, target=target),
                     *_SITE_HOURS.all(raw_results=True, target=target)])
    return feeds.Stamp(max(latest), len(allocations) + len(releases), extra)


def allocation_events(subject: feeds.FeedSubject) -> list[feeds.FeedEvent]:
    """The agency's allocated windows, one event per day; released ones are left out."""
    allocations = db.session.scalars(select(Allocation).where(
        Allocation.agency_id == subject.target_id).order_by(Allocation.id)).all()
    by_site: dict[int, list[Allocation]] = {}
    for allocation in allocations:
        by_site.setdefault(allocation.resource.site_id, []).append(allocation)
    events = []
    for group in by_site.values():
        site = group[0].resource.site
        zone = ZoneInfo(site.timezone)
        windows = allocation_windows(
            site, {a.resource_id for a in group}, min(a.first_day for a in group),
            max(a.last_day for a in group), now=_NO_AUTOMATIC_RELEASE)
        for window in windows:
            allocation = window.allocation
            if allocation.agency_id != subject.target_id or window.released:
                continue
            resource = allocation.resource
            description = _("Time allocated to %(agency)s in Samlokal.",
                            agency=allocation.agency.name)
            events.append(feeds.FeedEvent(
                uid=f"allocation-{allocation.id}-{window.day:%Y%m%d}",
                summary=_("Allocated: %(resource)s", resource=resource.name),
                start=window.starts_at.astimezone(zone), end=window.ends_at.astimezone(zone),
                last_modified=allocation.created_at, created=allocation.created_at,
                location=", ".join(p for p in (resource.name, site.name, site.address) if p),
                description=f"{description} {allocation.note}".strip(), transparent=True,
            ))
    return sorted(events, key=lambda e: (e.start, e.uid))


# --- registration -------------------------------------------------------------------------

def register() -> None:
    """Plug office's features into the feeds (idempotent; called by the feeds blueprint)."""
    feeds.add_source("personal", my_meeting_events, stamp=meetings_stamp)
    feeds.add_source("personal", trepartssamtal_events, stamp=trepartssamtal_stamp)
    feeds.add_source("agency", allocation_events, stamp=allocations_stamp)
    feeds.add_feed_kind("series", _l("Meeting series"), needs_target=True, title=_series_title,
                        describe=describe_series, may_subscribe=may_follow_series)
    feeds.add_source("series", series_events, stamp=series_stamp)
