"""Allocations in the calendar feeds (registered when the allocations blueprint is).

An agency's feed holds its allocated windows, one event per day ("Tilldelad: Skrivbord 1",
TRANSP:TRANSPARENT: held space, not busy time), UID ``allocation-<id>-<yyyymmdd>``, from
`office.allocations.rules.allocation_windows`. **Released windows are left out**, not sent
as CANCELLED: the space was given back, nobody's appointment was cancelled. Only recorded
releases count (by hand, or by `release-unclaimed`): a release only the clock has made is
not guessed, so the feed stays a function of stored rows and its ETag stays honest.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import bindparam, select

from office import feeds
from office.allocations.models import Allocation, AllocationRelease
from office.allocations.rules import allocation_windows
from office.core.extensions import db
from office.premises.models import Closure, OpeningHours, Resource

# Automatic releases depend on the clock, not on stored rows; the feed shows only releases
# that are recorded (by hand, or by `release-unclaimed`), so it stays a function of the rows.
_NO_AUTOMATIC_RELEASE = datetime(1970, 1, 1, tzinfo=timezone.utc)
_TARGET = bindparam("target")

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


def _digest(rows) -> str:
    return hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()[:16]


def allocations_stamp(subject: feeds.FeedSubject, now: datetime) -> feeds.Stamp:
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


def allocation_events(subject: feeds.FeedSubject, now: datetime) -> list[feeds.FeedEvent]:
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


def register_feeds(app: Flask) -> None:
    """Plug allocations into the agency feeds (idempotent; called when the blueprint registers)."""
    feeds.add_source("agency", allocation_events, stamp=allocations_stamp)
