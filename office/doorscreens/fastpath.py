"""The door screen's 304 before Flask runs: a poll whose screen has not changed.

Fifty tablets polling every 30 s make this the commonest request of a door screen, and the
app's request hooks (session, login, limiter, transaction) cost many times the answer
itself. Like the feeds' fast path (office/feeds/fastpath.py) this WSGI layer reads the
screen's stamp (office/doorscreens/rules.py `screen_stamp`: two indexed raw reads on the
thread's kept-open connection) and answers 304 with the same headers the view gives;
everything else (a changed screen, a revoked or unknown link, any error) goes on to the
view, which answers as usual.
"""

from __future__ import annotations

import json
import logging
import re
import time

from flask import Flask
from werkzeug.datastructures import Headers
from werkzeug.http import parse_etags

from office.core.observability import REQUEST_SECONDS, REQUESTS, request_log
from office.core.security import add_standard_headers
from office.doorscreens.rules import STATE_TARGET, part_etag, screen_stamp
from office.feeds.reader import one_connection

_log = logging.getLogger("samlokal.doorscreens")
RULE, ENDPOINT = "/door/<token>", "doorscreens.door"
_PATH = re.compile(r"/door/([A-Za-z0-9_-]{43,128})")
_LOG_LINE = ('{"method": "GET", "route": ' + json.dumps(RULE) + ', "endpoint": "' + ENDPOINT
             + '", "status": 304, "duration_ms": %s, "user_id": null}')


class DoorPollFastPath:
    def __init__(self, app: Flask, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app
        headers = Headers()
        add_standard_headers(headers, secure=bool(app.config.get("SESSION_COOKIE_SECURE")))
        self.fixed_headers = list(headers.items())
        labels = (RULE, "GET", "304")
        self._metrics = (REQUESTS.labels(*labels), REQUEST_SECONDS.labels(*labels))

    def __call__(self, environ, start_response):
        if (environ.get("REQUEST_METHOD") == "GET" and "HTTP_IF_NONE_MATCH" in environ
                and environ.get("HTTP_HX_TARGET") == STATE_TARGET):
            match = _PATH.fullmatch(environ.get("PATH_INFO", ""))
            if match:
                started = time.perf_counter()
                etag = self._unchanged(match.group(1), environ["HTTP_IF_NONE_MATCH"])
                if etag is not None:
                    start_response("304 Not Modified", [("ETag", etag), *self.fixed_headers])
                    self._log(started)
                    return [b""]
        return self.wsgi_app(environ, start_response)

    def _unchanged(self, token: str, if_none_match: str) -> str | None:
        try:
            with self.app.app_context(), one_connection():
                stamp = screen_stamp(token)
        except Exception as error:  # noqa: BLE001 - the view answers properly (503, 404, ...)
            _log.warning("door poll fast path fell back to the view: %s", type(error).__name__)
            return None
        if not stamp.found or stamp.revoked:
            return None
        etag = part_etag(stamp)
        return etag if parse_etags(if_none_match).contains_weak(etag.strip('"')) else None

    def _log(self, started: float) -> None:
        duration = time.perf_counter() - started
        self._metrics[0].inc()
        self._metrics[1].observe(duration)
        request_log.info(_LOG_LINE % round(duration * 1000, 2))
