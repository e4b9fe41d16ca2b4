"""Calendar feeds (RFC 5545, RFC 7986): the core that features plug their events into.

The core names no feature. Bookings, meetings, trepartssamtal, allocations and seminars
each register their feed kinds and sources (and seminars its routes) from their own
``feeds.py`` when their blueprint is registered; see docs/feeds.md. What they use::

    from office import feeds
    feeds.add_feed_kind("series", _l("Meeting series"), needs_target=True, ...)
    feeds.add_source("personal", my_events, stamp=my_stamp)
    token = feeds.issue_token(user, "series", series.id, name="Telefon")

The modules: registry (kinds, sources, the values they exchange), tokens (secret links),
reader (raw reads on a kept-open connection), render (versions and bodies), ical (the
iCalendar bytes), cache (the LRUs), rate_limit, http (answers and their headers), fastpath
(the 304 WSGI layer), views (the feeds page and the secret-link route).
"""

from office.feeds.cache import BODY_CACHE, EVENT_CACHE, GZIP_CACHE
from office.feeds.ical import base_url, calendar_file, feed_zone, serialise_event
from office.feeds.rate_limit import DEFAULT_RATE_LIMIT
from office.feeds.reader import RawSelect, one_connection, parsed_time
from office.feeds.registry import (
    CANCELLED_KEPT,
    FeedEvent,
    FeedKind,
    FeedSubject,
    FeedVersion,
    Offer,
    Owner,
    Source,
    Stamp,
    add_feed_kind,
    add_private_event_kind,
    add_source,
    cutoff,
    feed_kind,
    feed_kinds,
    sources_for,
)
from office.feeds.render import (
    Renderer,
    feed_access,
    feed_body,
    feed_exists,
    feed_version,
    gzip_body,
    render_feed,
)
from office.feeds.tokens import (
    TokenGrant,
    TooManyLinks,
    active_tokens,
    hash_token,
    issue_token,
    lookup_token,
    public_subject,
    replace_token,
    revoke_all_tokens,
    revoke_token,
)


def clear_caches() -> None:
    """Empty the byte caches and the per-process rate-limit windows (tests, benchmarks)."""
    from office.feeds import cache, rate_limit, render, tokens

    cache.clear()
    rate_limit.clear()
    render._VERSIONS.clear()
    tokens.forget_known_tokens()


__all__ = [
    "BODY_CACHE", "CANCELLED_KEPT", "DEFAULT_RATE_LIMIT", "EVENT_CACHE", "GZIP_CACHE",
    "FeedEvent", "FeedKind", "FeedSubject", "FeedVersion", "Offer", "Owner", "RawSelect",
    "Renderer", "Source", "Stamp", "TokenGrant", "TooManyLinks", "active_tokens",
    "add_feed_kind", "add_private_event_kind", "add_source", "base_url", "calendar_file",
    "clear_caches", "cutoff", "feed_access", "feed_body", "feed_exists", "feed_kind",
    "feed_kinds", "feed_version", "feed_zone", "gzip_body", "hash_token", "issue_token",
    "lookup_token", "one_connection", "parsed_time", "public_subject", "render_feed",
    "replace_token", "revoke_all_tokens", "revoke_token", "serialise_event", "sources_for",
]
