"""Feeds over HTTP: conditional answers, the feed headers, and error answers without cookies.

Shared by every route that serves a calendar (the secret links in office/feeds/views.py,
the seminars' public feeds) and by the 304 fast path (office/feeds/fastpath.py), so a
304 and a 200 carry the same headers, and every error a calendar client can get (404,
410, 429, 503) is a short text with no cookie; 429 and 503 say when to come back
(Retry-After).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache, wraps

from flask import Response, current_app, request
from flask_babel import force_locale
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from office.core.errors import MESSAGES
from office.core.extensions import db
from office.feeds.rate_limit import allow_poll
from office.feeds.reader import one_connection
from office.feeds.registry import FeedSubject, FeedVersion
from office.feeds.render import feed_body, feed_version, gzip_body

_log = logging.getLogger("samlokal.feeds")

CACHE_CONTROL = "private, no-cache"
VARY = "Accept-Encoding"
# While the database is away: when a calendar client should ask again.
RETRY_AFTER_UNAVAILABLE = 60
# The exceptions that mean "the database cannot answer now" (not a bug): 503, not 500.
UNAVAILABLE = (OperationalError, InterfaceError)


def feed_headers(version: FeedVersion, gzipped: bool) -> dict:
    """The headers of a feed answer, 200 or 304 (the app adds its standard ones to both)."""
    # Each encoding is its own representation, so its own (strong) ETag.
    etag = version.etag[:-1] + '-gz"' if gzipped else version.etag
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": VARY}
    if version.last_modified is not None:
        headers["Last-Modified"] = http_date(version.last_modified)
    return headers


@lru_cache(maxsize=1024)
def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def not_modified(version: FeedVersion, if_none_match: str | None,
                 if_modified_since: str | None) -> bool:
    """RFC 9110: If-None-Match decides when present (weak comparison), else If-Modified-Since."""
    if if_none_match:
        wanted = {version.etag.strip('"'), version.etag.strip('"') + "-gz"}
        for candidate in if_none_match.split(","):
            candidate = candidate.strip()
            if candidate == "*":
                return True
            if candidate.startswith("W/"):
                candidate = candidate[2:]
            if candidate.strip('"') in wanted:
                return True
        return False
    if if_modified_since and version.last_modified is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        return version.last_modified <= since
    return False


def accepts_gzip(header: str) -> bool:
    for part in header.lower().split(","):
        name, _sep, params = part.strip().partition(";")
        if name.strip() in ("gzip", "x-gzip"):
            return not re.search(r"q\s*=\s*0(\.0*)?\s*$", params.strip())
    return False


def calendar_response(subject: FeedSubject, version: FeedVersion | None = None):
    """The feed as an answer to this request: 304 when the client has it, else its bytes.

    `version` when the caller already read it (the fast path did, for a changed feed).
    """
    if version is None:
        with one_connection():
            version = feed_version(subject)
    gzipped = accepts_gzip(request.headers.get("Accept-Encoding", ""))
    headers = feed_headers(version, gzipped)
    if not_modified(version, request.headers.get("If-None-Match"),
                    request.headers.get("If-Modified-Since")):
        return "", 304, headers
    body = feed_body(subject, version)
    if gzipped:
        body = gzip_body(version, body)
        headers["Content-Encoding"] = "gzip"
    headers["Content-Type"] = "text/calendar; charset=utf-8"
    headers["Content-Disposition"] = 'inline; filename="samlokal.ics"'
    return body, 200, headers


def client_rate_key() -> str:
    """What a public feed's rate limit counts: the client's address."""
    return "addr:" + (request.remote_addr or "?")


# --- errors ---------------------------------------------------------------------------

def error_parts(status: int, retry_after: int | None = None) -> tuple[bytes, dict]:
    """Body and headers of a feed error: a line of text in the app's language, no cookie."""
    title, message = MESSAGES.get(status, MESSAGES[500])
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        text = f"{title}. {message}\n"
    headers = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return text.encode("utf-8"), headers


def feed_error(status: int, retry_after: int | None = None) -> Response:
    body, headers = error_parts(status, retry_after)
    return Response(body, status, headers)


def rate_limited(retry_after: int) -> Response:
    return feed_error(429, retry_after)


def unavailable() -> Response:
    return feed_error(503, RETRY_AFTER_UNAVAILABLE)


def calendar_view(view):
    """A view that serves a calendar: its refusals and failures are feed errors.

    Templated error pages would put the session (and its cookie) into answers meant for
    calendar clients, and a database that is away would give 500.
    """
    @wraps(view)
    def wrapped(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except HTTPException as error:
            if error.code is None or error.code < 400 or error.response is not None:
                raise
            return feed_error(error.code)
        except UNAVAILABLE as error:
            db.session.rollback()
            _log.warning("feed answered 503, database unavailable: %s", type(error).__name__)
            return unavailable()

    return wrapped


def limited_public(view):
    """A public calendar: FEED_RATE_LIMIT per client address, with Retry-After when over."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        wait = allow_poll(client_rate_key())
        if wait:
            return rate_limited(wait)
        return view(*args, **kwargs)

    return wrapped
