"""Calendar feeds (RFC 5545, RFC 7986): what a feed holds, its version, its bytes, its tokens.

Plain functions, no request or template: the views (office/feeds/views.py) turn them into
HTTP, tests and bench/bench_feeds.py call them directly.

Feed kinds. A *kind* names what a feed shows: ``personal`` (everything a person takes part
in), ``resource`` and ``agency`` (private, reached by a secret token), ``public_seminars``
and ``seminar`` (public, no token). Features add kinds with ``add_feed_kind()`` (meeting
series: ``add_feed_kind("series", ...)``).

Sources. Bookings (``Reservation``) are built in. Other features plug their events into a
kind without office importing them (the arrow points one way)::

    from office import feeds
    feeds.add_source("personal", my_registrations, stamp=my_registrations_stamp)
    feeds.add_source("public_seminars", published_sessions, stamp=published_stamp)
    feeds.add_source("seminar", one_seminar_sessions, stamp=one_seminar_stamp)

``events(subject)`` returns ``FeedEvent`` values (aware datetimes, or dates for all-day
items; ``end`` is exclusive). ``stamp(subject)`` returns a cheap ``Stamp`` (latest change,
count) that must change whenever the events do, and only reads (it runs without a locale): the ETag is built from it, so a
conditional GET answers 304 without building events. Without a stamp the events are built
to compute one (correct, slower).

Caches (process-local, only caches; correctness first): each event's bytes keyed by
what makes them (a reservation's id, updated_at, sequence; a plug-in event's whole
value), and whole bodies keyed by the ETag. Every booking change goes through
office/booking/rules.py, which bumps ``Reservation.updated_at`` and ``sequence`` (``touch()``),
so a changed reservation gets a new key; a deleted one drops the count.
"""

from __future__ import annotations

import atexit
import contextvars
import gzip
import hashlib
import hmac
import os
import re
import secrets
import threading
import weakref
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from time import monotonic
from typing import Callable, Iterable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
from dateutil.rrule import rrule as dateutil_rrule
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, exists, func, or_, select

from office.accounts.models import Agency, Role, User
from office.booking.models import (
    OccurrenceState,
    Reservation,
    ReservationKind,
    ReservationOccurrence,
)
from office.booking.rules import expand_days
from office.core.database import utcnow
from office.core.extensions import db, limiter
from office.feeds.models import FeedToken
from office.meetings.models import MeetingMember, MeetingSeries
from office.premises.models import Resource, Site
from office.trepartssamtal.models import Trepartssamtal, TrepartssamtalParticipant

UTC = timezone.utc
# Bump when the bytes of a feed change for the same data: every ETag changes with it.
FORMAT_VERSION = "1"
PRODID = "-//Samlokal//Calendar feeds//SV"
TREPARTSSAMTAL = "Trepartssamtal"  # the only thing any feed says about one (DOMAIN.md)
CANCELLED_KEPT = timedelta(days=30)  # a cancelled event stays this long so clients remove it
REFRESH = timedelta(hours=1)
DEFAULT_RATE_LIMIT = "60 per minute"
# Where a booking is shown in the app; the bookings feature may point it elsewhere.
RESERVATION_PATH = "/bookings/{id}"


# --- raw reads for the hot path ---------------------------------------------------

class _RawSelect:
    """A select() compiled once per engine and run on a bare DB-API cursor.

    Polling clients mostly get 304: the token lookup and the stamp must cost microseconds,
    not an ORM round. Bind and result types still go through SQLAlchemy's processors.
    """

    def __init__(self, statement):
        self.statement = statement
        self._compiled: dict[int, tuple] = {}
        self._bound_values: dict = {}

    def _prepare(self, engine):
        key = id(engine)
        prepared = self._compiled.get(key)
        if prepared is None:
            dialect = engine.dialect
            compiled = self.statement.compile(dialect=dialect)
            processors = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                          for name, bind in compiled.binds.items()}
            # Literal values inside the statement (e.g. state = 'active') are binds too.
            defaults = {name: bind.effective_value for name, bind in compiled.binds.items()
                        if not bind.required}
            results = [(index, processor) for index, processor in enumerate(
                c.type.dialect_impl(dialect).result_processor(dialect, None)
                for c in self.statement.selected_columns) if processor is not None]
            names = compiled.positiontup if compiled.positional else list(compiled.binds)
            binds = [(name, processors.get(name), defaults.get(name)) for name in names]
            prepared = (compiled.string, binds, results, compiled.positional)
            self._compiled[key] = prepared
        return prepared

    def _bound(self, name: str, value, process):
        # Polls repeat the same values (the cutoff changes once a minute): process once.
        try:
            return self._bound_values[(process, value)]
        except KeyError:
            pass
        except TypeError:  # unhashable
            return process(value)
        if len(self._bound_values) > 1000:
            self._bound_values.clear()
        processed = self._bound_values[(process, value)] = process(value)
        return processed

    def process_result(self, index: int, value):
        for column, process in self._prepare(db.engine)[2]:
            if column == index:
                return process(value)
        return value

    def all(self, raw_results: bool = False, **params) -> list:
        """The rows; raw_results skips the result processors (cache keys need no parsing)."""
        engine = db.engine
        sql, binds, results, positional = self._prepare(engine)
        args = []
        for name, process, default in binds:
            value = params[name] if name in params else default
            if process is not None:
                value = self._bound(name, value, process)
            args.append(value)
        if not positional:
            args = dict(zip((name for name, _p, _d in binds), args))
        shared = _SHARED_CONNECTION.get()
        connection = shared or engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, args)
            rows = cursor.fetchall()
            cursor.close()
        finally:
            if shared is None:
                connection.close()
        if not results or raw_results:
            return rows
        processed = []
        for row in rows:
            row = list(row)
            for index, process in results:
                row[index] = process(row[index])
            processed.append(row)
        return processed


_SHARED_CONNECTION: contextvars.ContextVar = contextvars.ContextVar("feed_connection", default=None)


class _Reader(threading.local):
    """Per thread, one DB-API connection kept out of the pool for the polling reads.

    Checking a pooled connection out and back in (with its rollback) costs more than the
    two indexed reads a 304 needs. This one is in autocommit mode, so every read sees the
    latest commit (a revoked token stops working at once) and it holds no locks.
    """

    connection = None
    engine = None
    pid = None


_READER = _Reader()


def _reader_connection():
    engine = db.engine
    reader = _READER
    if (reader.connection is not None and reader.pid == os.getpid()
            and reader.engine is not None and reader.engine() is engine):
        return reader.connection
    _drop_reader()
    fairy = engine.raw_connection()
    fairy.detach()  # closing it closes it; the pool never sees it again
    connection = fairy.dbapi_connection
    if engine.dialect.name != "sqlite":  # SQLite is in autocommit mode already
        connection.autocommit = True
    reader.connection, reader.engine, reader.pid = connection, weakref.ref(engine), os.getpid()
    return connection


def _drop_reader() -> None:
    reader = _READER
    connection, reader.connection, reader.engine = reader.connection, None, None
    if connection is not None and reader.pid == os.getpid():
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - it is being thrown away anyway
            pass


atexit.register(_drop_reader)


@contextmanager
def one_connection():
    """Run the raw reads inside on this thread's reader connection (the 304 path)."""
    if _SHARED_CONNECTION.get() is not None:
        yield
        return
    token = _SHARED_CONNECTION.set(_reader_connection())
    try:
        yield
    except Exception:
        _drop_reader()  # a broken connection is not reused
        raise
    finally:
        _SHARED_CONNECTION.reset(token)


# --- what sources give ----------------------------------------------------------

@dataclass(frozen=True)
class FeedEvent:
    """One VEVENT: a single item, a series master (rrule) or one moved occurrence.

    ``start``/``end`` are aware datetimes, or dates for an all-day item (``end`` exclusive:
    a one-day item on 1 May ends on 2 May). ``kind == "trepartssamtal"`` hides everything
    but time and place, whatever the source put in the other fields.
    """

    uid: str                       # stable per item, without "@host" (added here)
    summary: str
    start: datetime | date
    end: datetime | date
    last_modified: datetime        # the item's last change: DTSTAMP and LAST-MODIFIED
    sequence: int = 0
    created: datetime | None = None
    description: str = ""
    location: str = ""
    url: str = ""
    status: str = "CONFIRMED"      # or TENTATIVE, CANCELLED
    rrule: str | None = None       # RFC 5545 RRULE value, UNTIL in UTC
    exdates: tuple[datetime, ...] = ()
    recurrence_id: datetime | date | None = None
    kind: str = ""
    transparent: bool = False     # held space (an allocation), not busy time


@dataclass(frozen=True)
class Stamp:
    """A cheap summary of a source's items: the ETag changes when it does."""

    last_modified: datetime | None
    count: int
    extra: str = ""


@dataclass(frozen=True)
class FeedSubject:
    """Which feed: its kind, the object it shows, the person it is for, the language."""

    kind: str
    target_id: int | None = None
    user_id: int | None = None
    locale: str = "sv"


@dataclass(frozen=True)
class FeedVersion:
    etag: str                      # quoted strong ETag
    last_modified: datetime | None


@dataclass(frozen=True)
class Owner:
    """The person behind a token, as much as access checks need."""

    id: int
    agency_id: int
    role: Role


# --- kinds ----------------------------------------------------------------------

@dataclass(frozen=True)
class FeedKind:
    name: str
    label: object                                   # lazy string for the feeds page
    private: bool = True
    needs_target: bool = False
    title: Callable[[FeedSubject], str] | None = None
    # May this person subscribe to this kind for this target? (checked again at every poll)
    may_subscribe: Callable[[Owner, int | None], bool] = lambda owner, target_id: True
    # The target's name on the feeds page ("Samtalsrum 1, Drivhuset"); None when gone.
    describe: Callable[[int], str | None] | None = None
    # Public kinds: who may fetch the feed of a target without a token: "public" (anyone),
    # "login" (signed-in staff) or None (no such feed). Default: public when it has events.
    access: Callable[[int | None], str | None] | None = None


_KINDS: dict[str, FeedKind] = {}


def add_feed_kind(name: str, label, *, private: bool = True, needs_target: bool = False,
                  title: Callable[[FeedSubject], str] | None = None,
                  may_subscribe: Callable[[Owner, int | None], bool] | None = None,
                  describe: Callable[[int], str | None] | None = None,
                  access: Callable[[int | None], str | None] | None = None) -> FeedKind:
    """Register a kind of feed (a meeting series feed: ``add_feed_kind("series", ...)``).

    A private kind's links are made with ``issue_token(user, kind, target_id)`` and listed,
    renewed and revoked on the feeds page; ``may_subscribe`` is asked again at every poll.
    Registering a name again replaces it (seminars may give "seminar" its own title).
    """
    if len(name) > 20:
        raise ValueError("feed kind names have at most 20 characters (feed_token.kind)")
    kind = FeedKind(name, label, private, needs_target, title,
                    may_subscribe or (lambda owner, target_id: True), describe, access)
    _KINDS[name] = kind
    return kind


def feed_kind(name: str) -> FeedKind | None:
    return _KINDS.get(name)


# --- sources --------------------------------------------------------------------

EventsFn = Callable[[FeedSubject], Iterable[FeedEvent]]
StampFn = Callable[[FeedSubject], Stamp]


@dataclass(frozen=True)
class Source:
    kind: str
    events: EventsFn
    stamp: StampFn | None = None


_SOURCES: dict[str, list[Source]] = {}


def add_source(kind: str, events: EventsFn, *, stamp: StampFn | None = None) -> EventsFn:
    """Add events to every feed of a kind (call it when your blueprint is registered)."""
    sources = _SOURCES.setdefault(kind, [])
    if not any(s.events is events for s in sources):
        sources.append(Source(kind, events, stamp))
    return events


def sources_for(kind: str) -> list[Source]:
    return list(_SOURCES.get(kind, ()))


# --- tokens ---------------------------------------------------------------------

# token_urlsafe(32): 32 random bytes (256 bits) as 43 URL-safe characters.
TOKEN_BYTES = 32
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43,128}")


@dataclass(frozen=True)
class TokenGrant:
    """What a presented token opens (or that it was revoked)."""

    token_id: int
    subject: FeedSubject
    owner: Owner
    revoked: bool


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def issue_token(user: User, kind: str, target_id: int | None = None) -> str:
    """A new secret link for this user and feed; an earlier one stops working (410)."""
    info = _KINDS.get(kind)
    if info is None or not info.private:
        raise ValueError(f"not a private feed kind: {kind!r}")
    if info.needs_target != (target_id is not None):
        raise ValueError("this kind of feed needs a target" if info.needs_target else "no target")
    owner = Owner(user.id, user.agency_id, user.role)
    if not info.may_subscribe(owner, target_id):
        raise PermissionError(kind)
    now = utcnow()
    for old in db.session.scalars(select(FeedToken).where(
        FeedToken.user_id == user.id, FeedToken.kind == kind,
        FeedToken.target_id.is_(None) if target_id is None else FeedToken.target_id == target_id,
        FeedToken.revoked_at.is_(None),
    )):
        old.revoked_at = now
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.session.add(FeedToken(user_id=user.id, kind=kind, target_id=target_id,
                             token_hash=hash_token(token), created_at=now))
    return token


def revoke_token(row: FeedToken) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()


def active_tokens(user: User) -> list[FeedToken]:
    return list(db.session.scalars(
        select(FeedToken).where(FeedToken.user_id == user.id, FeedToken.revoked_at.is_(None))
        .order_by(FeedToken.kind, FeedToken.target_id, FeedToken.id)
    ))


_TOKEN_QUERY = _RawSelect(
    select(FeedToken.id, FeedToken.token_hash, FeedToken.kind, FeedToken.target_id,
           FeedToken.revoked_at, User.id, User.agency_id, User.role, User.active, User.locale)
    .join(User, User.id == FeedToken.user_id)
    .where(FeedToken.token_hash == bindparam("token_hash"))
)


def lookup_token(token: str) -> TokenGrant | None:
    """The feed a token opens; None for an unknown (or malformed) one. Never logs it."""
    if not _TOKEN_SHAPE.fullmatch(token or ""):
        return None
    presented = hash_token(token)
    rows = _TOKEN_QUERY.all(raw_results=True, token_hash=presented)
    row = rows[0] if rows else None
    # The lookup is by the hash (an index), the comparison in constant time all the same.
    if row is None or not hmac.compare_digest(row[1], presented):
        return None
    token_id, _hash, kind, target_id, revoked_at, user_id, agency_id, role, active, locale = row
    info = _KINDS.get(kind)
    owner = Owner(user_id, agency_id, Role(role))
    active = bool(active)  # raw: SQLite gives 0/1
    revoked = (revoked_at is not None or not active or info is None
               or not info.may_subscribe(owner, target_id))
    subject = FeedSubject(kind, target_id, user_id if kind == "personal" else None,
                          _feed_locale(locale))
    return TokenGrant(token_id, subject, owner, revoked)


def _feed_locale(locale: str | None) -> str:
    languages = current_app.config.get("LANGUAGES", ("sv", "en"))
    return locale if locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def public_subject(kind: str, target_id: int | None = None) -> FeedSubject:
    return FeedSubject(kind, target_id, None, current_app.config["BABEL_DEFAULT_LOCALE"])


def allow_poll(token: str) -> bool:
    """Count one request against the token's rate limit (FEED_RATE_LIMIT, keyed by its hash).

    With a fast shared Flask-Limiter storage (redis://, memcached://, valkey://) the count
    goes there, so every worker sees it. Otherwise a per-process window does the job: the
    feed limit only stops a runaway client, and a database write per poll (our default
    shared storage, samlokal+db://, meant for login throttling) would cost a 304 poll many
    times what everything else in it costs; limits' memory:// storage also starts a timer
    thread every 10 ms of traffic. With N worker processes a token may poll up to N times
    FEED_RATE_LIMIT; login throttling stays shared (office/core/rate_limits.py).
    """
    config = current_app.config
    if not limiter.enabled or not config.get("RATELIMIT_ENABLED", True):
        return True
    item = _rate_item(config.get("FEED_RATE_LIMIT", DEFAULT_RATE_LIMIT))
    key = hash_token(token)  # the token itself never reaches a limiter's storage
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "")
    if not storage.startswith(SHARED_FAST_STORAGES):
        return _WINDOWS.hit(item.amount, item.get_expiry(), key)
    return limiter.limiter.hit(item, "feed", key)


SHARED_FAST_STORAGES = ("redis", "memcached", "valkey")


class _FixedWindows:
    """Fixed-window counters per key in this process (the semantics of limits' memory://)."""

    def __init__(self, max_keys: int = 100_000):
        self.max_keys = max_keys
        self._counts: dict[str, list] = {}
        self._lock = threading.Lock()

    def hit(self, amount: int, seconds: int, key: str) -> bool:
        window = int(monotonic() // seconds)
        with self._lock:
            entry = self._counts.get(key)
            if entry is None or entry[0] != window:
                if len(self._counts) >= self.max_keys:
                    self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
                entry = self._counts[key] = [window, 0]
            entry[1] += 1
            return entry[1] <= amount

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


_WINDOWS = _FixedWindows()


@lru_cache(maxsize=8)
def _rate_item(rate: str):
    from limits import parse

    return parse(rate)


# --- the built-in source: reservations ----------------------------------------------

_R = Reservation
_OCC = ReservationOccurrence
_CUTOFF = bindparam("cutoff", type_=_R.cancelled_at.type)
_TARGET = bindparam("target")

# A cancelled reservation stays CANCELLED_KEPT after cancelling; one that still has an
# active occurrence (the past of a cancelled series) stays for good.
_VISIBLE = or_(
    _R.cancelled_at.is_(None),
    _R.cancelled_at >= _CUTOFF,
    exists().where(_OCC.reservation_id == _R.id, _OCC.state == OccurrenceState.active),
)
# A meeting the person is a member of, or a trepartssamtal they take part in, reaches their
# personal feed from its own source (office/feeds/feature_sources.py: attendance pattern applied,
# one event per trepartssamtal), so the booking itself is left out for them.
_SHOWN_BY_A_FEATURE = or_(
    exists().where(MeetingSeries.reservation_id == _R.id,
                   MeetingMember.series_id == MeetingSeries.id, MeetingMember.user_id == _TARGET),
    exists().where(Trepartssamtal.reservation_id == _R.id,
                   TrepartssamtalParticipant.trepartssamtal_id == Trepartssamtal.id,
                   TrepartssamtalParticipant.user_id == _TARGET),
)
_WHO = {
    "personal": and_(or_(_R.booked_by_id == _TARGET, _R.booked_for_id == _TARGET),
                     ~_SHOWN_BY_A_FEATURE),
    "resource": _R.resource_id == _TARGET,
    "agency": _R.agency_id == _TARGET,
}
_STAMP_QUERIES = {
    kind: _RawSelect(select(func.max(_R.updated_at), func.count(_R.id)).where(who, _VISIBLE))
    for kind, who in _WHO.items()
}
_KEY_QUERIES = {
    kind: _RawSelect(select(_R.id, _R.updated_at, _R.sequence).where(who, _VISIBLE)
                     .order_by(_R.id))
    for kind, who in _WHO.items()
}


def _reservation_target(subject: FeedSubject) -> int | None:
    return subject.user_id if subject.kind == "personal" else subject.target_id


def reservation_stamp(subject: FeedSubject, now: datetime) -> Stamp:
    query = _STAMP_QUERIES[subject.kind]
    latest, count = query.all(raw_results=True, target=_reservation_target(subject),
                              cutoff=_cutoff(now))[0]
    return Stamp(_parsed_time(query, latest), count)


def _cutoff(now: datetime) -> datetime:
    """Cancelled items older than this drop out (to the minute, the same for every read)."""
    return now.replace(second=0, microsecond=0) - CANCELLED_KEPT


_PARSED_TIMES: dict = {}


def _parsed_time(query: _RawSelect, raw):
    """The database's text (SQLite) or value as an aware datetime; polls repeat values."""
    if raw is None:
        return None
    found = _PARSED_TIMES.get(raw)
    if found is None:
        if len(_PARSED_TIMES) > 10_000:
            _PARSED_TIMES.clear()
        found = _PARSED_TIMES[raw] = query.process_result(0, raw)
    return found


@dataclass(frozen=True)
class _Occurrence:
    id: int
    starts_at: datetime
    ends_at: datetime
    original_start: datetime
    active: bool


def _load_reservations(ids: list[int]) -> list[tuple]:
    """Rows for building events, plus their occurrences, in a few Core queries."""
    columns = (
        _R.id, _R.kind, _R.title, _R.timezone, _R.first_day, _R.start_time, _R.end_time,
        _R.rrule, _R.sequence, _R.created_at, _R.updated_at, _R.cancelled_at,
        Resource.name, Site.name, Site.address, Agency.short_name,
    )
    rows, occurrences = [], {}
    for chunk in _chunks(ids, 900):
        rows.extend(db.session.execute(
            select(*columns).join(Resource, Resource.id == _R.resource_id)
            .join(Site, Site.id == Resource.site_id)
            .outerjoin(Agency, Agency.id == _R.agency_id)
            .where(_R.id.in_(chunk)).order_by(_R.id)
        ).all())
        for occ in db.session.execute(
            select(_OCC.reservation_id, _OCC.id, _OCC.starts_at, _OCC.ends_at,
                   _OCC.original_start, _OCC.state)
            .where(_OCC.reservation_id.in_(chunk)).order_by(_OCC.original_start, _OCC.id)
        ):
            occurrences.setdefault(occ[0], []).append(_Occurrence(
                occ[1], occ[2], occ[3], occ[4], occ[5] == OccurrenceState.active))
    return [(row, occurrences.get(row[0], [])) for row in rows]


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def reservation_url(reservation_id: int) -> str:
    return _base_url() + RESERVATION_PATH.format(id=reservation_id)


def reservation_events(row, occurrences: list[_Occurrence]) -> list[FeedEvent]:
    """A reservation as VEVENTs: one event, or a series master with EXDATEs and overrides."""
    (rid, kind, title, zone_name, first_day, start_time, end_time, rule, sequence,
     created_at, updated_at, cancelled_at, resource_name, site_name, address, agency) = row
    zone = ZoneInfo(zone_name)
    private = kind == ReservationKind.trepartssamtal
    common = dict(
        summary=TREPARTSSAMTAL if private else title,
        last_modified=updated_at, sequence=sequence, created=created_at,
        location=", ".join(part for part in (resource_name, site_name, address) if part),
        description="" if private else _reservation_description(resource_name, site_name, agency),
        url=reservation_url(rid), kind=kind.value,
    )
    uid = f"reservation-{rid}"
    any_active = any(o.active for o in occurrences)
    status = "CONFIRMED" if any_active else "CANCELLED"
    if rule is None:
        if occurrences:
            start, end = occurrences[0].starts_at, occurrences[0].ends_at
        else:
            start, end = _local(first_day, start_time, zone), _local(first_day, end_time, zone)
        return [FeedEvent(uid=uid, start=start.astimezone(zone), end=end.astimezone(zone),
                          status=status, **common)]

    days = expand_days(first_day, rule)
    by_day: dict[date, _Occurrence] = {}
    for occurrence in occurrences:
        by_day.setdefault(occurrence.original_start.astimezone(zone).date(), occurrence)
    first = days[0] if days else first_day
    master_rule = _rule_with_utc_until(rule, zone)
    if not any_active:
        return [FeedEvent(uid=uid, start=_local(first, start_time, zone),
                          end=_local(first, end_time, zone), rrule=master_rule,
                          status="CANCELLED", **common)]
    exdates, overrides = [], []
    for day in days:
        instance_start = _local(day, start_time, zone)
        occurrence = by_day.pop(day, None)
        if occurrence is None or not occurrence.active:
            exdates.append(instance_start)
            continue
        instance_end = _local(day, end_time, zone)
        if occurrence.starts_at != instance_start or occurrence.ends_at != instance_end:
            overrides.append(FeedEvent(
                uid=uid, start=occurrence.starts_at.astimezone(zone),
                end=occurrence.ends_at.astimezone(zone), recurrence_id=instance_start, **common))
    # Occurrences on days the rule no longer names (kept from before a change): own events.
    extras = [
        FeedEvent(uid=f"{uid}-{o.id}", start=o.starts_at.astimezone(zone),
                  end=o.ends_at.astimezone(zone), **common)
        for o in by_day.values() if o.active
    ]
    master = FeedEvent(uid=uid, start=_local(first, start_time, zone),
                       end=_local(first, end_time, zone), rrule=master_rule,
                       exdates=tuple(exdates), status=status, **common)
    return [master, *overrides, *extras]


# For sources inside office (office/feeds/feature_sources.py): the same reads and builders.
RawSelect = _RawSelect
VISIBLE_RESERVATION = _VISIBLE
load_reservations = _load_reservations


def cutoff(now: datetime) -> datetime:
    """Cancelled items that ended their CANCELLED_KEPT before this are left out."""
    return _cutoff(now)


def parsed_time(query: _RawSelect, raw):
    return _parsed_time(query, raw)


def _reservation_description(resource_name: str, site_name: str, agency: str | None) -> str:
    text = _("Booked in Samlokal: %(resource)s, %(site)s.", resource=resource_name, site=site_name)
    if agency:
        text += " " + _("Agency: %(agency)s.", agency=agency)
    return text


def _local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock).replace(tzinfo=zone, fold=0)


def _rule_with_utc_until(rule: str, zone: ZoneInfo) -> str:
    """RFC 5545: with a DTSTART in a time zone, UNTIL must be UTC (we store local)."""
    parts = []
    for part in rule.split(";"):
        name, _sep, value = part.partition("=")
        if name.upper() == "UNTIL" and not value.upper().endswith("Z"):
            if len(value) == 8:
                local = datetime.strptime(value, "%Y%m%d").replace(hour=23, minute=59, second=59)
            else:
                local = datetime.strptime(value, "%Y%m%dT%H%M%S")
            value = local.replace(tzinfo=zone).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        parts.append(f"{name.upper()}={value}")
    return ";".join(parts)


# --- serialisation --------------------------------------------------------------------

class _LRU:
    """A small thread-safe LRU: a cache only, never the truth."""

    def __init__(self, max_items: int, max_bytes: int | None = None):
        self.max_items, self.max_bytes = max_items, max_bytes
        self.bytes = 0
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def get_many(self, keys: list) -> list:
        with self._lock:
            data = self._data
            found = [data.get(key) for key in keys]
            for key, value in zip(keys, found):
                if value is not None:
                    data.move_to_end(key)
            return found

    def put(self, key, value: bytes) -> None:
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.bytes -= len(old)
            self._data[key] = value
            self.bytes += len(value)
            while self._data and (len(self._data) > self.max_items or (
                    self.max_bytes is not None and self.bytes > self.max_bytes)):
                _key, dropped = self._data.popitem(last=False)
                self.bytes -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._data)


EVENT_CACHE = _LRU(max_items=200_000, max_bytes=256 * 1024 * 1024)
BODY_CACHE = _LRU(max_items=512, max_bytes=128 * 1024 * 1024)
GZIP_CACHE = _LRU(max_items=512, max_bytes=32 * 1024 * 1024)


def clear_caches() -> None:
    for cache in (EVENT_CACHE, BODY_CACHE, GZIP_CACHE):
        cache.clear()
    _WINDOWS.clear()


def serialise_event(event: FeedEvent, host: str, zone: ZoneInfo) -> bytes:
    """One VEVENT, by the icalendar library (escaping, folding, UTF-8)."""
    private = event.kind == ReservationKind.trepartssamtal.value
    vevent = icalendar.Event()
    vevent.add("uid", f"{event.uid}@{host}")
    stamp = _utc(event.last_modified)
    vevent.add("dtstamp", stamp)
    vevent.add("last-modified", stamp)
    if event.created is not None:
        vevent.add("created", _utc(event.created))
    vevent.add("sequence", event.sequence)
    vevent.add("summary", TREPARTSSAMTAL if private else event.summary)
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


def _feed_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE", "Europe/Stockholm"))


def _base_url() -> str:
    return current_app.config.get("BASE_URL", "http://localhost").rstrip("/")


def _host() -> str:
    return urlsplit(_base_url()).hostname or "localhost"


# --- titles -----------------------------------------------------------------------

def _personal_title(subject: FeedSubject) -> str:
    return _("Samlokal: my calendar")


def _resource_title(subject: FeedSubject) -> str:
    name = _describe_resource(subject.target_id)
    return _("Samlokal: %(name)s", name=name) if name else _("Samlokal: room or desk")


def _agency_title(subject: FeedSubject) -> str:
    return _("Samlokal: %(name)s", name=_describe_agency(subject.target_id) or "?")


def _calendar_texts(subject: FeedSubject) -> tuple[str, str]:
    info = _KINDS[subject.kind]
    title = info.title(subject) if info.title else "Samlokal"
    descriptions = {
        "personal": _("Your bookings, meetings and seminars in Samlokal."),
        "resource": _("Every booking of this room or desk in Samlokal."),
        "agency": _("The bookings and allocated time of this agency in Samlokal."),
        "series": _("Every meeting of this meeting series in Samlokal."),
        "public_seminars": _("Published public seminars in Samlokal."),
        "seminar": _("A seminar in Samlokal."),
    }
    return title, descriptions.get(subject.kind, _("A calendar from Samlokal."))


def _may_subscribe_agency(owner: Owner, target_id: int | None) -> bool:
    return owner.role == Role.coordinator or owner.agency_id == target_id


def _describe_resource(resource_id: int) -> str | None:
    resource = db.session.get(Resource, resource_id)
    return f"{resource.name}, {resource.site.name}" if resource else None


def _describe_agency(agency_id: int) -> str | None:
    agency = db.session.get(Agency, agency_id)
    return agency.name if agency else None


add_feed_kind("personal", _l("My calendar"), title=_personal_title)
add_feed_kind("resource", _l("Room or desk"), needs_target=True, title=_resource_title,
              describe=_describe_resource)
add_feed_kind("agency", _l("Agency"), needs_target=True, title=_agency_title,
              may_subscribe=_may_subscribe_agency, describe=_describe_agency)
add_feed_kind("public_seminars", _l("Public seminars"), private=False,
              title=lambda subject: _("Samlokal: seminars"))
add_feed_kind("seminar", _l("Seminar"), private=False, needs_target=True,
              title=lambda subject: _("Samlokal: seminar"))


# --- versions and bodies ------------------------------------------------------------

def _source_stamp(source: Source, subject: FeedSubject) -> Stamp:
    if source.stamp is not None:
        return source.stamp(subject)
    events = list(source.events(subject))
    digest = hashlib.sha256(repr(events).encode()).hexdigest()
    latest = max((e.last_modified for e in events), default=None)
    return Stamp(latest, len(events), digest)


def _stamps(subject: FeedSubject, now: datetime) -> list[Stamp]:
    stamps = []
    if subject.kind in _WHO:
        stamps.append(reservation_stamp(subject, now))
    sources = sources_for(subject.kind)
    if any(source.stamp is None for source in sources):
        # Events built for a stamp may translate; the 304 path has no request (no session
        # locale). Stamps themselves only read (forcing a locale costs a 304 a third).
        with force_locale(subject.locale):
            stamps.extend(_source_stamp(source, subject) for source in sources)
    else:
        stamps.extend(source.stamp(subject) for source in sources)
    return stamps


def feed_exists(subject: FeedSubject, now: datetime | None = None) -> bool:
    """A per-seminar feed exists only when a source knows the seminar (has events)."""
    if subject.kind in _WHO:
        return True
    if subject.kind == "public_seminars":
        return True
    return any(stamp.count for stamp in _stamps(subject, now or utcnow()))


def feed_access(subject: FeedSubject, now: datetime | None = None) -> str | None:
    """Who may fetch a public kind's feed: "public", "login" (staff only) or None (404)."""
    info = _KINDS.get(subject.kind)
    if info is None or info.private:
        return None
    if info.access is not None:
        return info.access(subject.target_id)
    return "public" if feed_exists(subject, now) else None


def feed_version(subject: FeedSubject, now: datetime | None = None) -> FeedVersion:
    """The ETag and Last-Modified of a feed, from its sources' stamps (no events built)."""
    stamps = _stamps(subject, now or utcnow())
    target = subject.user_id if subject.kind == "personal" else subject.target_id
    config = current_app.config
    material = [FORMAT_VERSION, subject.kind, str(target), subject.locale,
                config.get("BASE_URL", ""), config.get("TIMEZONE", "")]
    latest = None
    for stamp in stamps:
        material.append(f"{stamp.last_modified}:{stamp.count}:{stamp.extra}")
        if stamp.last_modified is not None and (latest is None or stamp.last_modified > latest):
            latest = stamp.last_modified
    etag = '"' + hashlib.sha256("|".join(material).encode()).hexdigest()[:40] + '"'
    return FeedVersion(etag, latest.replace(microsecond=0) if latest else None)


def feed_body(subject: FeedSubject, version: FeedVersion, now: datetime | None = None) -> bytes:
    """The feed's bytes for this version: from the body cache, or rendered (and cached)."""
    body = BODY_CACHE.get(version.etag)
    if body is None:
        body = render_feed(subject, now=now)
        BODY_CACHE.put(version.etag, body)
    return body


def gzip_body(version: FeedVersion, body: bytes) -> bytes:
    packed = GZIP_CACHE.get(version.etag)
    if packed is None:
        packed = gzip.compress(body, compresslevel=6, mtime=0)
        GZIP_CACHE.put(version.etag, packed)
    return packed


def render_feed(subject: FeedSubject, *, now: datetime | None = None,
                use_cache: bool = True) -> bytes:
    """The whole VCALENDAR. With use_cache=False nothing is read from or put in a cache."""
    now = now or utcnow()
    zone = _feed_zone()
    host = _host()
    with force_locale(subject.locale):
        title, description = _calendar_texts(subject)
        parts = [_calendar_head(title, description, zone.key, now.year)]
        if subject.kind in _WHO:
            parts.extend(_reservation_parts(subject, now, host, zone, use_cache))
        for source in sources_for(subject.kind):
            for event in source.events(subject):
                parts.append(_cached_event(event, host, zone, use_cache))
    parts.append(b"END:VCALENDAR\r\n")
    return b"".join(parts)


def _cached_event(event: FeedEvent, host: str, zone: ZoneInfo, use_cache: bool) -> bytes:
    if not use_cache:
        return serialise_event(event, host, zone)
    key = ("event", event, host, zone.key)
    data = EVENT_CACHE.get(key)
    if data is None:
        data = serialise_event(event, host, zone)
        EVENT_CACHE.put(key, data)
    return data


def _reservation_parts(subject: FeedSubject, now: datetime, host: str, zone: ZoneInfo,
                       use_cache: bool) -> list[bytes]:
    """Each reservation's VEVENTs, serialised again only when it changed."""
    # Raw values (no datetime parsing): they only need to be equal when nothing changed.
    keys = _KEY_QUERIES[subject.kind].all(raw_results=True, target=_reservation_target(subject),
                                          cutoff=_cutoff(now))
    context = (host, zone.key, _base_url(), subject.locale, FORMAT_VERSION)
    cache_keys = [("reservation", rid, updated_at, sequence, context)
                  for rid, updated_at, sequence in keys]
    cached = EVENT_CACHE.get_many(cache_keys) if use_cache else [None] * len(keys)
    missing = [key[1] for key, data in zip(cache_keys, cached) if data is None]
    loaded = {}
    for row, occurrences in _load_reservations(missing):
        loaded[row[0]] = (row[8], b"".join(
            serialise_event(e, host, zone) for e in reservation_events(row, occurrences)))
    parts = []
    for key, data in zip(cache_keys, cached):
        if data is None:
            if key[1] not in loaded:
                continue  # deleted since the keys were read
            sequence, data = loaded[key[1]]
            # Changed since the keys were read: serve it, but not under the older key.
            if use_cache and sequence == key[3]:
                EVENT_CACHE.put(key, data)
        parts.append(data)
    return parts


def calendar_file(events: Iterable[FeedEvent], title: str, description: str = "", *,
                  method: str | None = None, now: datetime | None = None) -> bytes:
    """A standalone .ics with the feeds' serialiser (a mail attachment: method="PUBLISH").

    Feeds never carry METHOD (a subscription is not a scheduling message); a file sent by
    mail does, so clients offer to add it.
    """
    now = now or utcnow()
    zone = _feed_zone()
    head = _calendar_head(title, description, zone.key, now.year, method=method)
    host = _host()
    return b"".join([head, *(serialise_event(e, host, zone) for e in events),
                     b"END:VCALENDAR\r\n"])


def _calendar_head(title: str, description: str, zone_name: str, year: int,
                   method: str | None = None) -> bytes:
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
