"""Structured request logs: one JSON line per request, never personal data."""

from __future__ import annotations

import json
import logging
import time

from flask import Flask, g, request
from flask_login import current_user

request_log = logging.getLogger("samlokal.request")


def install_request_logging(app: Flask) -> None:
    # gunicorn or the operator may configure logging; otherwise JSON lines to stderr.
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("samlokal").setLevel(logging.INFO)

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _log(response):
        started = g.get("request_started")
        duration_ms = (time.perf_counter() - started) * 1000 if started else None
        # The route rule, not the path: paths can carry tokens (feeds, invitations).
        rule = request.url_rule.rule if request.url_rule else None
        user_id = None
        try:
            if current_user.is_authenticated:
                user_id = current_user.id
        except Exception:  # pragma: no cover - user loading failed; log without it
            pass
        request_log.info(
            json.dumps(
                {
                    "method": request.method,
                    "route": rule,
                    "endpoint": request.endpoint,
                    "status": response.status_code,
                    "duration_ms": round(duration_ms, 2) if duration_ms is not None else None,
                    "user_id": user_id,
                }
            )
        )
        return response
