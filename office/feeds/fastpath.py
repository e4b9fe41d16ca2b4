"""The 304 fast path: a conditional poll of a secret feed link answered before Flask runs.

A polling client that already has the current feed asks with If-None-Match. That answer
(304) is the commonest request a server with many subscribers gets, and the app's request
hooks alone cost more than the whole answer, so this WSGI layer gives it: token lookup,
rate limit and the feed's stamps, on the thread's kept-open connection
(office/feeds/reader.py). Its headers go through the same functions as the view's
(office/feeds/http.py `feed_headers`, office/core/security.py `add_standard_headers`),
and it writes the same request-log line and metrics (the route rule, never the path).

Everything else goes on to the view (office/feeds/views.py `private_feed`), carrying what
was already read (`FeedPoll` in the environ): a changed feed is not looked up twice. While
the database is away the answer is 503 with Retry-After here too.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import Flask
from werkzeug.datastructures import Headers

from office.core.extensions import db
from office.core.observability import REQUEST_SECONDS, REQUESTS, request_log
from office.core.security import add_standard_headers
from office.feeds.http import (
    RETRY_AFTER_UNAVAILABLE,
    UNAVAILABLE,
    accepts_gzip,
    error_parts,
    feed_headers,
    not_modified,
)
from office.feeds.rate_limit import allow_poll
from office.feeds.reader import one_connection
from office.feeds.registry import FeedVersion
from office.feeds.render import feed_version
from office.feeds.tokens import TokenGrant, lookup_token_and_version, unchanged_poll

_log = logging.getLogger("samlokal.feeds")
PRIVATE_RULE = "/feeds/<token>.ics"
ENDPOINT = "feeds.private_feed"
POLL_KEY = "samlokal.feed_poll"   # an environ key: no client header can set it (HTTP_*)
_PATH = re.compile(r"/feeds/([A-Za-z0-9_-]{43,128})\.ics")
_PER_VERSION = ("ETag", "Last-Modified")
_READ = object()  # the answer needs the database read (in the app context)


@dataclass
class FeedPoll:
    """What the fast path read for a token, for the view to use instead of reading again."""

    token: str
    grant: TokenGrant | None
    counted: bool = False                # this request was counted against the rate limit
    retry_after: int = 0                 # over the rate limit: seconds until allowed again
    version: FeedVersion | None = None


class FeedFastPath:
    """WSGI: answers a conditional poll of a private feed with 304 (or 503) before Flask runs."""

    def __init__(self, app: Flask, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app
        secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
        # A feed answer's headers but its version's, completed as every answer's are (once:
        # they do not depend on the version).
        sample = feed_headers(FeedVersion('"-"', datetime(2000, 1, 1, tzinfo=timezone.utc)),
                              False)
        completed = Headers(sample)
        add_standard_headers(completed, secure=secure)
        self.fixed_headers = [(k, v) for k, v in completed.items() if k not in _PER_VERSION]
        body, headers = error_parts_outside_request(app, 503, RETRY_AFTER_UNAVAILABLE)
        unavailable = Headers(headers)
        add_standard_headers(unavailable, secure=secure)
        unavailable["Content-Length"] = str(len(body))
        self.unavailable = (body, list(unavailable.items()))
        self._metrics = {}
        self._per_version: dict = {}
        self.engine = None  # the app's engine, known after the first poll read in its context

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD") and (
                "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ):
            match = _PATH.fullmatch(environ.get("PATH_INFO", ""))
            if match:
                started = time.perf_counter()
                try:
                    headers = self._unchanged_headers(environ, match.group(1))
                    if headers is _READ:
                        with self.app.app_context(), one_connection():
                            headers = self._not_modified_headers(environ, match.group(1))
                except UNAVAILABLE as error:
                    _log.warning("feed answered 503, database unavailable: %s",
                                 type(error).__name__)
                    body, headers = self.unavailable
                    start_response("503 Service Unavailable", headers)
                    self._log(environ, 503, started)
                    return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]
                except Exception as error:  # noqa: BLE001 - the view answers properly
                    _log.warning("feed fast path fell back to the view: %s", type(error).__name__)
                    environ.pop(POLL_KEY, None)
                    headers = None
                if headers is not None:
                    start_response("304 Not Modified", headers)
                    self._log(environ, 304, started)
                    return [b""]
        return self.wsgi_app(environ, start_response)

    def _unchanged_headers(self, environ, token: str):
        """Without an app context: the 304 of a link whose last poll still stands (nothing
        committed since), or None for the view; _READ when the database must be read."""
        config = self.app.config
        found = self.engine is not None and unchanged_poll(token, config, self.engine)
        if not found:
            return _READ
        grant, version = found
        poll = environ[POLL_KEY] = FeedPoll(token, grant, version=version)
        return self._answer(environ, poll, allow_poll(grant.rate_key, config))

    def _not_modified_headers(self, environ, token: str) -> list | None:
        # One statement for a token seen before: its row and its feed's stamps.
        self.engine = db.engine
        grant, version = lookup_token_and_version(token)
        poll = environ[POLL_KEY] = FeedPoll(token, grant)
        if grant is None or grant.revoked:
            return None
        poll.version = version or feed_version(grant.subject)
        return self._answer(environ, poll, allow_poll(grant.rate_key))

    def _answer(self, environ, poll: FeedPoll, retry_after: int) -> list | None:
        """The 304's headers, or None when the view answers (over the limit, or changed)."""
        poll.retry_after, poll.counted = retry_after, True
        if retry_after:
            return None
        version = poll.version
        if not not_modified(version, environ.get("HTTP_IF_NONE_MATCH"),
                            environ.get("HTTP_IF_MODIFIED_SINCE")):
            return None
        gzipped = accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        headers = self._per_version.get((version, gzipped))
        if headers is None:
            own = feed_headers(version, gzipped)
            headers = [(name, own[name]) for name in _PER_VERSION if name in own]
            headers += self.fixed_headers
            if len(self._per_version) > 10_000:
                self._per_version.clear()
            self._per_version[(version, gzipped)] = headers
        return list(headers)  # a server may add to the list it is given

    def _log(self, environ, status: int, started: float) -> None:
        # The line and metrics office/core/observability.py gives, built without json.dumps.
        duration = time.perf_counter() - started
        method = environ["REQUEST_METHOD"]
        metrics = self._metrics.get((method, status))
        if metrics is None:
            labels = (PRIVATE_RULE, method, str(status))
            metrics = self._metrics[(method, status)] = (
                REQUESTS.labels(*labels), REQUEST_SECONDS.labels(*labels))
        metrics[0].inc()
        metrics[1].observe(duration)
        if request_log.isEnabledFor(logging.INFO):
            # The record Logger.info() makes, without its walk up the stack for the caller's
            # file and line (a quarter of the line's cost; the line's format names neither).
            request_log.handle(request_log.makeRecord(
                request_log.name, logging.INFO, __file__, 0,
                _LOG_LINE % (method, status, round(duration * 1000, 2)), None, None,
                "_log"))


_LOG_LINE = ('{"method": "%s", "route": ' + json.dumps(PRIVATE_RULE)
             + ', "endpoint": "' + ENDPOINT + '", "status": %d, "duration_ms": %s, '
             '"user_id": null}')


def error_parts_outside_request(app: Flask, status: int, retry_after: int | None):
    with app.app_context():
        return error_parts(status, retry_after)
