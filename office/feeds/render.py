"""A feed's version and bytes: the ETag from its sources' stamps, the body from their events.

`feed_version()` reads only the stamps, so a conditional poll is answered 304 without
building an event: the sources that give their stamp as SQL (``stamp_parts``) are asked
in one UNION ALL query per feed, each part an index lookup, so the 304 costs the same for
a feed of 5,000 events as for one of five. `feed_body()` serves the bytes of that version from
the body cache or renders them, each event's bytes from the event cache
(office/feeds/cache.py). Nothing here knows a feature: the sources registered for the
feed's kind (office/feeds/registry.py) give the events.
"""

from __future__ import annotations

import gzip
import hashlib
from operator import itemgetter
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from sqlalchemy import literal_column, union_all

from office.core.database import utcnow
from office.feeds.cache import BODY_CACHE, EVENT_CACHE, GZIP_CACHE
from office.feeds.ical import base_url, calendar_head, feed_zone, host, serialise_event
from office.feeds.reader import RawSelect, parsed_time
from office.feeds.registry import (
    FeedEvent,
    FeedSubject,
    FeedVersion,
    Source,
    Stamp,
    cutoff,
    feed_kind,
    sources_for,
)

# Bump when the bytes of a feed change for the same data: every ETag changes with it.
FORMAT_VERSION = "1"


@dataclass(frozen=True)
class Renderer:
    """What a source that renders its own items needs: where, how, and the event cache.

    `context` belongs in every cache key of such a source (the same item renders
    differently on another host, zone, address or language).
    """

    host: str
    zone: ZoneInfo
    locale: str
    use_cache: bool

    @property
    def context(self) -> tuple:
        return (self.host, self.zone.key, base_url(), self.locale, FORMAT_VERSION)

    def serialise(self, event: FeedEvent) -> bytes:
        return serialise_event(event, self.host, self.zone)

    def cached_many(self, keys: list) -> list:
        """The cached bytes of each key, or None; nothing when caching is off."""
        return EVENT_CACHE.get_many(keys) if self.use_cache else [None] * len(keys)

    def remember(self, key, data: bytes) -> None:
        if self.use_cache:
            EVENT_CACHE.put(key, data)

    def event(self, event: FeedEvent) -> bytes:
        """One event's bytes, cached by its whole value."""
        if not self.use_cache:
            return self.serialise(event)
        key = ("event", event, self.host, self.zone.key)
        data = EVENT_CACHE.get(key)
        if data is None:
            data = self.serialise(event)
            EVENT_CACHE.put(key, data)
        return data


# --- versions -------------------------------------------------------------------------

def _source_stamp(source: Source, subject: FeedSubject, now: datetime) -> Stamp:
    if source.stamp is not None:
        return source.stamp(subject, now)
    events = list(source.events(subject, now))
    digest = hashlib.sha256(repr(events).encode()).hexdigest()
    latest = max((e.last_modified for e in events), default=None)
    return Stamp(latest, len(events), digest)


_COMBINED: dict = {}
_PLACE = itemgetter(3, 4)


def _combined(kind: str, sources: list[Source]) -> RawSelect | None:
    """One UNION ALL of the stamp parts of every source of the kind that has them.

    Each row: (change time, count, checksum, source's place, part's place). Built once per
    kind and set of sources.
    """
    key = (kind, tuple(id(source) for source in sources))
    found = _COMBINED.get(key, False)
    if found is False:
        selects = [part.add_columns(literal_column(str(place)).label("source"),
                                    literal_column(str(number)).label("part"))
                   for place, source in enumerate(sources) if source.stamp_parts is not None
                   for number, part in enumerate(source.stamp_parts(kind))]
        found = RawSelect(union_all(*selects)) if selects else None
        if len(_COMBINED) > 64:
            _COMBINED.clear()
        _COMBINED[key] = found
    return found


def _stamp_rows(subject: FeedSubject, now: datetime, sources: list[Source]):
    """The combined query and its rows in a fixed order (raw values: equal when unchanged)."""
    combined = _combined(subject.kind, sources)
    if combined is None:
        return None, ()
    rows = combined.all(raw_results=True, target=stamp_target(subject), cutoff=cutoff(now))
    return combined, tuple(sorted((tuple(row) for row in rows), key=_PLACE))


def _stamps(subject: FeedSubject, now: datetime) -> list[Stamp]:
    sources = sources_for(subject.kind)
    combined, rows = _stamp_rows(subject, now, sources)
    parts: dict[int, list] = {}
    for row in rows:
        parts.setdefault(row[3], []).append(row)
    stamps = []
    for place, source in enumerate(sources):
        if source.stamp_parts is not None:
            stamps.append(_stamp_of_parts(combined, parts.get(place, ())))
        elif source.stamp is not None:
            stamps.append(source.stamp(subject, now))
        else:
            # Events built for a stamp may translate; the 304 path has no request (no
            # session locale). Stamps themselves only read (a forced locale costs a third).
            with force_locale(subject.locale):
                stamps.append(_source_stamp(source, subject, now))
    return stamps


def _stamp_of_parts(query: RawSelect, rows) -> Stamp:
    """A source's stamp from its parts' rows (raw values: equal when nothing changed)."""
    latest = max((row[0] for row in rows if row[0] is not None), default=None)
    return Stamp(parsed_time(query, latest), sum(row[1] or 0 for row in rows),
                 ";".join(f"{row[0]}:{row[1]}:{row[2]}" for row in rows))


def feed_exists(subject: FeedSubject, now: datetime | None = None) -> bool:
    """A feed of a kind without a target always exists; one with a target when it has events."""
    info = feed_kind(subject.kind)
    if info is not None and not info.needs_target:
        return True
    return any(stamp.count for stamp in _stamps(subject, now or utcnow()))


def feed_access(subject: FeedSubject, now: datetime | None = None) -> str | None:
    """Who may fetch a public kind's feed: "public", "login" (staff only) or None (404)."""
    info = feed_kind(subject.kind)
    if info is None or info.private:
        return None
    if info.access is not None:
        return info.access(subject.target_id)
    return "public" if feed_exists(subject, now) else None


def feed_version(subject: FeedSubject, now: datetime | None = None) -> FeedVersion:
    """The ETag and Last-Modified of a feed, from its sources' stamps (no events built)."""
    now = now or utcnow()
    sources = sources_for(subject.kind)
    if sources and all(source.stamp_parts is not None for source in sources):
        # The 304 path: one query; the version of the same rows is remembered.
        combined, rows = _stamp_rows(subject, now, sources)
        return _remembered_version(subject, combined, rows, len(sources))
    return _version_of(subject, _stamps(subject, now))


def stamp_query(kind: str) -> RawSelect | None:
    """The kind's one UNION ALL of stamps (binds `target`, `cutoff`), when every source
    of the kind has its stamp as SQL; None otherwise. For a caller that folds it into a
    statement of its own (the token lookup of a poll: office/feeds/tokens.py)."""
    sources = sources_for(kind)
    if not sources or not all(source.stamp_parts is not None for source in sources):
        return None
    return _combined(kind, sources)


def stamp_target(subject: FeedSubject):
    """What the stamp query's `target` is for this subject."""
    return subject.user_id if subject.kind == "personal" else subject.target_id


def version_of_stamp_rows(subject: FeedSubject, raw_rows) -> FeedVersion:
    """`feed_version(subject)` from rows of `stamp_query(subject.kind)` read elsewhere."""
    sources = sources_for(subject.kind)
    rows = tuple(sorted((tuple(row) for row in raw_rows), key=_PLACE))
    return _remembered_version(subject, _combined(subject.kind, sources), rows, len(sources))


def _remembered_version(subject, combined, rows, count: int) -> FeedVersion:
    config = current_app.config
    key = (subject, rows, config.get("BASE_URL", ""), config.get("TIMEZONE", ""))
    version = _VERSIONS.get(key)
    if version is None:
        version = _version_of(subject, _stamps_of_rows(combined, rows, count))
        if len(_VERSIONS) > 10_000:
            _VERSIONS.clear()
        _VERSIONS[key] = version
    return version


# (subject, stamp rows, configuration) -> FeedVersion.
_VERSIONS: dict = {}


def _stamps_of_rows(combined: RawSelect, rows, count: int) -> list[Stamp]:
    parts: dict[int, list] = {}
    for row in rows:
        parts.setdefault(row[3], []).append(row)
    return [_stamp_of_parts(combined, parts.get(place, ())) for place in range(count)]


def _version_of(subject: FeedSubject, stamps: list[Stamp]) -> FeedVersion:
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


# --- bodies ---------------------------------------------------------------------------

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
    renderer = Renderer(host(), feed_zone(), subject.locale, use_cache)
    with force_locale(subject.locale):
        title, description = _calendar_texts(subject)
        parts = [calendar_head(title, description, renderer.zone.key, now.year)]
        for source in sources_for(subject.kind):
            if source.render is not None:
                parts.extend(source.render(subject, now, renderer))
            else:
                parts.extend(renderer.event(event) for event in source.events(subject, now))
    parts.append(b"END:VCALENDAR\r\n")
    return b"".join(parts)


def _calendar_texts(subject: FeedSubject) -> tuple[str, str]:
    info = feed_kind(subject.kind)
    title = info.title(subject) if info is not None and info.title else "Samlokal"
    if info is not None and info.description:
        return title, str(info.description)
    return title, _("A calendar from Samlokal.")
