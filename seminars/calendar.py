"""The seminar in calendars: one builder for the mail's .ics and every feed.

`seminar_events()` makes one VEVENT per seminar day (a three-day training is three events,
each with that day's hours); the mail attachment (`seminar_ics`) and the feeds (registered
with office.feeds.core by `register_feeds()`, office never imports seminars) serialise the same
events with office.feeds.core' serialiser.

Feeds: a confirmed registration puts the seminar in the person's personal feed;
/feeds/seminars.ics holds every published public seminar; /feeds/seminars/<id>.ics is one
seminar to add to a calendar (public: anyone; internal: signed-in staff). A cancelled
seminar stays CANCELLED_KEPT as STATUS:CANCELLED, drafts never appear. The link to an
online meeting is only where the page for the same readers shows it: the mail, the
personal feed and an internal seminar's file, never a public feed.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import selectinload

from office.booking.rules import to_utc
from office.core.database import utcnow
from office.core.extensions import db
from office.feeds import core as feeds
from seminars.links import seminar_url
from seminars.models import (
    Audience,
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarDay,
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
    """The calendar file for a mail (METHOD:PUBLISH, so clients offer to add it)."""
    return feeds.calendar_file(seminar_events(seminar, url), seminar.title, method="PUBLISH",
                               now=now).decode()


# --- feeds ------------------------------------------------------------------------------

_S = Seminar
_CUTOFF = bindparam("cutoff", type_=_S.updated_at.type)
_TARGET = bindparam("target")
# Published and finished seminars; a cancelled one for CANCELLED_KEPT after it was cancelled.
_SHOWN = or_(_S.state == SeminarState.published, _S.state == SeminarState.finished,
             and_(_S.state == SeminarState.cancelled, _S.updated_at >= _CUTOFF))
_DAYS = select(func.count(SeminarDay.id)).where(SeminarDay.seminar_id == _S.id).scalar_subquery()

# Every registration of the person, not only confirmed ones: a cancelled one's change time
# then still moves Last-Modified forward (for clients that only send If-Modified-Since).
_REGISTERED = feeds.RawSelect(
    select(Registration.updated_at, _S.updated_at, _S.id, _DAYS, Registration.status)
    .join(_S, _S.id == Registration.seminar_id)
    .where(Registration.user_id == _TARGET, _SHOWN)
    .order_by(_S.id, Registration.id)
)
_PUBLIC = feeds.RawSelect(
    select(_S.updated_at, _S.id, _DAYS).where(_S.audience == Audience.public, _SHOWN)
    .order_by(_S.id)
)
_ONE = feeds.RawSelect(
    select(_S.updated_at, _S.id, _DAYS, _S.audience).where(_S.id == _TARGET, _SHOWN)
)


def _cutoff() -> datetime:
    return feeds.cutoff(utcnow())


def _stamp(query: feeds.RawSelect, rows: list, times: int = 1) -> feeds.Stamp:
    # The first `times` columns: change times of one type (raw values compare); all of it
    # (ids, day counts) goes into the ETag as it is.
    latest = max((row[i] for row in rows for i in range(times)), default=None)
    return feeds.Stamp(feeds.parsed_time(query, latest), len(rows),
                       ",".join(":".join(str(v) for v in row) for row in rows))


def _seminars(ids: list[int]) -> list[Seminar]:
    return list(db.session.scalars(
        select(Seminar).where(Seminar.id.in_(ids)).order_by(Seminar.id)
        .options(selectinload(Seminar.days).selectinload(SeminarDay.resource))))


def registered_stamp(subject: feeds.FeedSubject) -> feeds.Stamp:
    return _stamp(_REGISTERED, _REGISTERED.all(raw_results=True, target=subject.user_id,
                                               cutoff=_cutoff()), times=2)


def registered_events(subject: feeds.FeedSubject) -> list[feeds.FeedEvent]:
    """The seminars a person has a confirmed place at (waiting list and cancelled: not)."""
    rows = _REGISTERED.all(raw_results=True, target=subject.user_id, cutoff=_cutoff())
    confirmed = [row[2] for row in rows if row[4] == RegistrationStatus.confirmed.value]
    return [event for seminar in _seminars(confirmed)
            for event in seminar_events(seminar, seminar_url(seminar))]


def public_stamp(subject: feeds.FeedSubject) -> feeds.Stamp:
    return _stamp(_PUBLIC, _PUBLIC.all(raw_results=True, cutoff=_cutoff()))


def public_events(subject: feeds.FeedSubject) -> list[feeds.FeedEvent]:
    rows = _PUBLIC.all(raw_results=True, cutoff=_cutoff())
    return [event for seminar in _seminars([row[1] for row in rows])
            for event in seminar_events(seminar, seminar_url(seminar), with_online_url=False)]


def one_stamp(subject: feeds.FeedSubject) -> feeds.Stamp:
    return _stamp(_ONE, _ONE.all(raw_results=True, target=subject.target_id, cutoff=_cutoff()))


def one_events(subject: feeds.FeedSubject) -> list[feeds.FeedEvent]:
    """One seminar; the online link only in an internal one's file (staff only)."""
    return [event for seminar in _seminars([subject.target_id]) if _shown(seminar)
            for event in seminar_events(seminar, seminar_url(seminar),
                                        with_online_url=seminar.audience != Audience.public)]


def _shown(seminar: Seminar) -> bool:
    rows = _ONE.all(raw_results=True, target=seminar.id, cutoff=_cutoff())
    return bool(rows)


def one_access(seminar_id: int | None) -> str | None:
    """Public seminars for anyone, internal ones for signed-in staff; drafts are nobody's."""
    rows = _ONE.all(target=seminar_id, cutoff=_cutoff())
    if not rows:
        return None
    return "public" if rows[0][3] == Audience.public else "login"


def _one_title(subject: feeds.FeedSubject) -> str:
    seminar = db.session.get(Seminar, subject.target_id)
    return _("Samlokal: %(name)s", name=seminar.title) if seminar else _("Samlokal: seminar")


def register_feeds() -> None:
    """Plug seminars into office's feeds (idempotent; called when the blueprint registers)."""
    feeds.add_source("personal", registered_events, stamp=registered_stamp)
    feeds.add_source("public_seminars", public_events, stamp=public_stamp)
    feeds.add_feed_kind("seminar", _l("Seminar"), private=False, needs_target=True,
                        title=_one_title, access=one_access)
    feeds.add_source("seminar", one_events, stamp=one_stamp)
