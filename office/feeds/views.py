"""Calendar feeds: the subscribe page, the secret .ics links and the public seminar feeds.

A polling client that already has the current feed asks with If-None-Match. That answer
(304) is the commonest request a server with many subscribers gets, so `FeedFastPath`
gives it before Flask's request pipeline: token lookup, rate limit and the feed's stamp
are all it needs. Anything else (200, 404, 410, 429) goes through the views below.
"""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from office.accounts.models import Agency
from office.core.extensions import db, limiter
from office.core.forms import ConfirmForm, choices
from office.core.observability import request_log
from office.core.security import CONTENT_SECURITY_POLICY
from office.core.templating import add_nav_item
from office.feeds import core as feeds
from office.feeds.forms import NewFeedForm
from office.feeds.models import FeedToken
from office.premises.models import Resource

bp = Blueprint("feeds", __name__, url_prefix="/feeds")
_log = logging.getLogger("samlokal.feeds")
PRIVATE_RULE = "/feeds/<token>.ics"
_FAST_PATH = re.compile(r"/feeds/([A-Za-z0-9_-]{43,128})\.ics")




# --- the page -------------------------------------------------------------------

def _target_name(kind: str, target_id: int | None) -> str:
    info = feeds.feed_kind(kind)
    if target_id is None or info is None or info.describe is None:
        return ""
    return info.describe(target_id) or "?"


def _forms() -> dict:
    agencies = db.session.scalars(select(Agency).order_by(Agency.name)).all()
    if not current_user.is_coordinator:
        agencies = [a for a in agencies if a.id == current_user.agency_id]
    resources = db.session.scalars(
        select(Resource).where(Resource.active.is_(True)).order_by(Resource.name)).all()
    agency_form = NewFeedForm(prefix="agency", kind="agency")
    agency_form.target_id.choices = choices((a.id, a.name) for a in agencies)
    agency_form.target_id.label.text = _("Agency")
    resource_form = NewFeedForm(prefix="resource", kind="resource")
    resource_form.target_id.choices = choices(
        (r.id, f"{r.name}, {r.site.name}") for r in resources)
    resource_form.target_id.label.text = _("Room or desk")
    return {"personal_form": NewFeedForm(prefix="personal", kind="personal"),
            "agency_form": agency_form, "resource_form": resource_form}


def subscribe_links(endpoint: str, **values) -> dict:
    """The https:// and webcal:// addresses of a feed, on BASE_URL (the address users know)."""
    https = current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)
    return {"https": https, "webcal": "webcal://" + https.split("://", 1)[1]}


def _links(token: str) -> dict:
    return subscribe_links("feeds.private_feed", token=token)


def _page(new_link: dict | None = None, new_label: str = "", status: int = 200, **forms):
    tokens = feeds.active_tokens(current_user)
    rows = [{"token": t, "name": _feed_name(t.kind, t.target_id)} for t in tokens]
    context = {**_forms(), **forms}
    return render_template(
        "feeds/list.html", rows=rows, new_link=new_link, new_label=new_label,
        public_links=subscribe_links("feeds.public_seminars"),
        confirm_form=ConfirmForm(), has_personal=any(t.kind == "personal" for t in tokens),
        **context,
    ), status


@bp.get("/")
@login_required
def manage_feeds():
    """Your calendar feeds: subscribe links, how to add them, revoke and renew."""
    return _page()


@bp.post("/")
@login_required
def create_feed():
    """Makes a secret feed link and shows it once."""
    prefix = request.form.get("prefix", "")
    if prefix not in ("personal", "agency", "resource"):
        abort(400)
    form = _forms()[f"{prefix}_form"]
    token = _issue(form, prefix) if form.validate_on_submit() and form.kind.data == prefix else None
    if token is None:
        return _page(status=422, **{f"{prefix}_form": form})
    db.session.commit()
    target_id = form.target_id.data if prefix != "personal" else None
    return _page(new_link=_links(token), new_label=_feed_name(prefix, target_id))


def _issue(form: NewFeedForm, kind: str) -> str | None:
    """A new token, or None with the reason on the form (a target not offered to this user)."""
    target_id = None if kind == "personal" else form.target_id.data
    if kind != "personal" and target_id not in {c.value for c in form.target_id.choices}:
        form.target_id.errors.append(_("Choose one from the list."))
        return None
    try:
        return feeds.issue_token(current_user, kind, target_id)
    except PermissionError:
        form.target_id.errors.append(_("Choose one from the list."))
        return None


def _feed_name(kind: str, target_id: int | None) -> str:
    info = feeds.feed_kind(kind)
    return f"{info.label if info else kind} {_target_name(kind, target_id)}".strip()


def _own_token(token_id: int) -> FeedToken:
    row = db.session.get(FeedToken, token_id)
    if row is None or row.user_id != current_user.id or row.revoked_at is not None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return row


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke_feed(token_id: int):
    """Stops a feed link at once (calendar clients get 410 Gone)."""
    feeds.revoke_token(_own_token(token_id))
    db.session.commit()
    flash(_("The link no longer works. Calendars subscribed to it stop updating."), "success")
    return _page()


@bp.post("/<int:token_id>/regenerate")
@login_required
def regenerate_feed(token_id: int):
    """Replaces a feed link with a new one (the old one stops working)."""
    row = _own_token(token_id)
    try:
        token = feeds.issue_token(current_user, row.kind, row.target_id)
    except (PermissionError, ValueError):  # no longer allowed (moved agency) or kind gone
        abort(403)
    db.session.commit()
    return _page(new_link=_links(token), new_label=_feed_name(row.kind, row.target_id))


# --- the calendars ----------------------------------------------------------------

@bp.get("/<token>.ics")
def private_feed(token: str):
    """The calendar behind a secret link (no login, no cookie: the link is the key)."""
    with feeds.one_connection():
        grant = feeds.lookup_token(token)
    if grant is None:
        abort(404)
    if grant.revoked:
        abort(410)
    allowed = request.environ.get("samlokal.feed_rate_allowed")
    if allowed is None:
        allowed = feeds.allow_poll(token)
    if not allowed:
        abort(429)
    return calendar_response(grant.subject)


@bp.get("/seminars.ics")
@limiter.limit(lambda: current_app.config.get("FEED_RATE_LIMIT", feeds.DEFAULT_RATE_LIMIT))
def public_seminars():
    """Every published public seminar (no token: the calendar is public)."""
    return calendar_response(feeds.public_subject("public_seminars"))


@bp.get("/seminars/<int:seminar_id>.ics")
@limiter.limit(lambda: current_app.config.get("FEED_RATE_LIMIT", feeds.DEFAULT_RATE_LIMIT))
def seminar(seminar_id: int):
    """One seminar to add to a calendar: public ones for anyone, internal ones for staff."""
    subject = feeds.public_subject("seminar", seminar_id)
    access = feeds.feed_access(subject)
    if access is None:
        abort(404)
    if access == "login" and not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return calendar_response(subject)


def calendar_response(subject: feeds.FeedSubject):
    with feeds.one_connection():
        version = feeds.feed_version(subject)
    gzipped = _accepts_gzip(request.headers.get("Accept-Encoding", ""))
    headers = feed_headers(version, gzipped)
    if not_modified(version, request.headers.get("If-None-Match"),
                    request.headers.get("If-Modified-Since")):
        return "", 304, headers
    body = feeds.feed_body(subject, version)
    if gzipped:
        body = feeds.gzip_body(version, body)
        headers["Content-Encoding"] = "gzip"
    headers["Content-Type"] = "text/calendar; charset=utf-8"
    headers["Content-Disposition"] = 'inline; filename="samlokal.ics"'
    return body, 200, headers


# --- HTTP helpers shared by the view and the fast path ------------------------------

def feed_headers(version: feeds.FeedVersion, gzipped: bool) -> dict:
    # Each encoding is its own representation, so its own (strong) ETag.
    etag = version.etag[:-1] + '-gz"' if gzipped else version.etag
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Accept-Encoding"}
    if version.last_modified is not None:
        headers["Last-Modified"] = _http_date(version.last_modified)
    return headers


@lru_cache(maxsize=1024)
def _http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def not_modified(version: feeds.FeedVersion, if_none_match: str | None,
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


def _accepts_gzip(header: str) -> bool:
    for part in header.lower().split(","):
        name, _sep, params = part.strip().partition(";")
        if name.strip() in ("gzip", "x-gzip"):
            return not re.search(r"q\s*=\s*0(\.0*)?\s*$", params.strip())
    return False


class FeedFastPath:
    """WSGI: answers a conditional poll of a private feed with 304 before Flask runs.

    Only the not-modified answer is given here, with the checks the view makes (known,
    unrevoked token; rate limit; current ETag) and the same log line (the route rule,
    never the path: it holds the token). Every other case goes on to the view.
    """

    def __init__(self, app: Flask, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app
        self.base_headers = [
            ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin"),
            ("X-Frame-Options", "DENY"),
        ]
        if app.config.get("SESSION_COOKIE_SECURE"):
            self.base_headers.append(
                ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD") and (
                "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ):
            match = _FAST_PATH.fullmatch(environ.get("PATH_INFO", ""))
            if match:
                started = time.perf_counter()
                try:
                    with self.app.app_context(), feeds.one_connection():
                        headers = self._not_modified_headers(environ, match.group(1))
                except Exception as error:  # noqa: BLE001 - the view answers properly
                    _log.warning("feed fast path fell back to the view: %s", type(error).__name__)
                    headers = None
                if headers is not None:
                    start_response("304 Not Modified", headers)
                    _log_fast(environ, started)
                    return [b""]
        return self.wsgi_app(environ, start_response)

    def _not_modified_headers(self, environ, token: str) -> list | None:
        grant = feeds.lookup_token(token)
        if grant is None or grant.revoked:
            return None
        allowed = feeds.allow_poll(token)
        environ["samlokal.feed_rate_allowed"] = allowed
        if not allowed:
            return None
        version = feeds.feed_version(grant.subject)
        if not not_modified(version, environ.get("HTTP_IF_NONE_MATCH"),
                            environ.get("HTTP_IF_MODIFIED_SINCE")):
            return None
        gzipped = _accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        return [*feed_headers(version, gzipped).items(), *self.base_headers]


def _log_fast(environ, started: float) -> None:
    # The line office/core/observability.py writes, built without json.dumps (fixed keys).
    duration = round((time.perf_counter() - started) * 1000, 2)
    request_log.info(_FAST_LOG % (environ["REQUEST_METHOD"], duration))


_FAST_LOG = ('{"method": "%s", "route": ' + json.dumps(PRIVATE_RULE)
             + ', "endpoint": "feeds.private_feed", "status": 304, "duration_ms": %s, '
             '"user_id": null}')


def init_app(app: Flask) -> None:
    """Register the blueprint, the navigation entry and the 304 fast path."""
    from office.feeds import feature_sources as feed_sources

    feed_sources.register()  # meetings, trepartssamtal, allocations (seminars add their own)
    app.register_blueprint(bp)
    add_nav_item("feeds.manage_feeds", _l("Calendar feeds"))
    app.wsgi_app = FeedFastPath(app, app.wsgi_app)
