"""Structured request logs and Prometheus metrics, never personal data.

Logs: one JSON line per request (method, route rule, endpoint, status, duration, user id).
Paths are not logged: they can carry tokens (feeds, invitations).

Metrics: `/metrics` in Prometheus text format, built with `prometheus_client`. It answers
only a scraper that sends `Authorization: Bearer $METRICS_TOKEN`; without a configured token,
or with a wrong one, it is a plain 404, so the public cannot even tell it exists.

Later features add their own figures without touching this module:

    from office.observability import register_counter, register_gauge
    BOOKING_CONFLICTS = register_counter("samlokal_booking_conflicts", "Refused bookings.")
    BOOKING_CONFLICTS.inc()
    register_gauge("samlokal_mail_queue_length", "Mails waiting to be sent.", count_queued_mail)

Gauges are functions called at scrape time inside the app context, so they may query the
database; what they count is then the same whichever worker answers the scrape.

Several gunicorn workers: each worker counts on its own. Set PROMETHEUS_MULTIPROC_DIR to an
empty directory before gunicorn starts and use deploy/gunicorn.conf.py; the counters and
histograms are then summed over every worker (prometheus_client's multiprocess mode, see
docs/deployment.md). Without it a scrape sees one worker's counts.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence

from flask import Flask, Response, abort, current_app, g, request
from flask_login import AnonymousUserMixin
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import inspect
from werkzeug.local import LocalProxy

request_log = logging.getLogger("samlokal.request")

disable_created_metrics()  # the *_created series only double the output
REGISTRY = CollectorRegistry()
_LABELS = ("route", "method", "status")
REQUESTS = Counter("samlokal_http_requests", "HTTP requests answered, by route rule, method "
                   "and status.", _LABELS, registry=REGISTRY)
REQUEST_SECONDS = Histogram("samlokal_http_request_duration_seconds", "Time to answer HTTP "
                            "requests, by route rule, method and status.", _LABELS,
                            registry=REGISTRY)

GaugeValue = float | Mapping[tuple[str, ...], float]


class _Gauge:
    def __init__(self, name: str, documentation: str, fn: Callable[[], GaugeValue],
                 labelnames: Sequence[str]):
        self.name, self.documentation, self.fn, self.labelnames = name, documentation, fn, labelnames


class _GaugeCollector:
    """Calls the registered gauge functions when Prometheus scrapes."""

    def __init__(self) -> None:
        self.gauges: dict[str, _Gauge] = {}

    def describe(self):
        return []  # nothing to call at registration time: there is no app context then

    def collect(self):
        for gauge in list(self.gauges.values()):
            try:
                value = gauge.fn()
            except Exception:  # one broken gauge must not hide every other metric
                logging.getLogger("samlokal").exception("metrics gauge %s failed", gauge.name)
                continue
            family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=gauge.labelnames)
            if isinstance(value, Mapping):
                for label_values, number in value.items():
                    family.add_metric([str(v) for v in label_values], float(number))
            else:
                family.add_metric([], float(value))
            yield family


_GAUGES = _GaugeCollector()
REGISTRY.register(_GAUGES)
_COUNTERS: dict[str, Counter] = {}


def register_gauge(name: str, documentation: str, fn: Callable[[], GaugeValue],
                   labelnames: Sequence[str] = ()) -> None:
    """Expose `fn()` as a gauge: a number, or {label values: number} when `labelnames` are given.

    Registering a name again replaces the function (create_app may run more than once).
    """
    _GAUGES.gauges[name] = _Gauge(name, documentation, fn, tuple(labelnames))


def register_counter(name: str, documentation: str, labelnames: Sequence[str] = ()) -> Counter:
    """A counter to `.inc()` where the event happens; the same object for the same name."""
    if name not in _COUNTERS:
        _COUNTERS[name] = Counter(name, documentation, labelnames, registry=REGISTRY)
    return _COUNTERS[name]


def render_metrics() -> bytes:
    """The text exposition of every metric, summed over the workers in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_GAUGES)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def metrics_view():
    """Prometheus metrics for the operators' scraper; 404 for everyone else."""
    token = current_app.config.get("METRICS_TOKEN")
    offered = request.headers.get("Authorization", "")
    if not token or not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        abort(404)
    return Response(render_metrics(), mimetype=CONTENT_TYPE_LATEST)


def _logged_in_user_id() -> int | None:
    """The user id if this request already loaded the user: logging never queries."""
    user = g.get("_login_user")  # Flask-Login's cache of current_user
    # login_user(current_user) caches the proxy itself, which then resolves to itself.
    if user is None or isinstance(user, (AnonymousUserMixin, LocalProxy)):
        return None
    state = inspect(user, raiseerr=False)
    return state.identity[0] if state is not None and state.identity else None


def install_request_logging(app: Flask) -> None:
    """One JSON log line and the request metrics for every request; adds /metrics."""
    # gunicorn or the operator may configure logging; otherwise JSON lines to stderr.
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("samlokal").setLevel(logging.INFO)
    app.add_url_rule("/metrics", "metrics", metrics_view)

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _log(response):
        started = g.get("request_started")
        duration = time.perf_counter() - started if started else None
        # The route rule, not the path: paths can carry tokens (feeds, invitations).
        rule = request.url_rule.rule if request.url_rule else None
        labels = (rule or "unmatched", request.method, str(response.status_code))
        REQUESTS.labels(*labels).inc()
        if duration is not None:
            REQUEST_SECONDS.labels(*labels).observe(duration)
        request_log.info(
            json.dumps(
                {
                    "method": request.method,
                    "route": rule,
                    "endpoint": request.endpoint,
                    "status": response.status_code,
                    "duration_ms": round(duration * 1000, 2) if duration is not None else None,
                    "user_id": _logged_in_user_id(),
                }
            )
        )
        return response
