"""Seminars in the calendar feeds: their sources, their feed kinds and their addresses.

Registered when the seminars blueprint is (office never imports seminars):

- a confirmed registration puts the seminar in the person's personal feed (waiting list
  and cancelled: not), with the online-meeting link (the mail has it too);
- ``/feeds/seminars.ics`` (kind ``public_seminars``) holds every published public seminar,
  without online-meeting links; offered on the feeds page;
- ``/feeds/seminars/<id>.ics`` (kind ``seminar``) is one seminar to add to a calendar:
  public ones for anyone, internal ones for signed-in staff (with the link), drafts 404.

One VEVENT per seminar day (seminars/calendar.py `seminar_events`); a cancelled seminar
stays CANCELLED_KEPT as STATUS:CANCELLED. The stamps are raw indexed reads, so a poll that
gets 304 builds nothing.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Flask, abort, current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import selectinload

from office import feeds
from office.core.database import utcnow
from office.core.extensions import db
from office.feeds.http import calendar_response, calendar_view, limited_public
from seminars.calendar import seminar_events
from seminars.models import (
    Audience,
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarDay,
    SeminarState,
)

bp = Blueprint("seminar_feeds", __name__, url_prefix="/feeds")

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
# The stamp in SQL, for the personal feed's one combined query: the registrations (latest
# change, how many, which) and their seminars (latest change, their days, which).
_REGISTERED_PARTS = [
    select(func.max(Registration.updated_at), func.count(),
           func.coalesce(func.sum(Registration.id), 0))
    .join(_S, _S.id == Registration.seminar_id).where(Registration.user_id == _TARGET, _SHOWN),
    select(func.max(_S.updated_at), func.count(SeminarDay.id), func.coalesce(func.sum(_S.id), 0))
    .select_from(Registration).join(_S, _S.id == Registration.seminar_id)
    .outerjoin(SeminarDay, SeminarDay.seminar_id == _S.id)
    .where(Registration.user_id == _TARGET, _SHOWN),
]
_PUBLIC = feeds.RawSelect(
    select(_S.updated_at, _S.id, _DAYS).where(_S.audience == Audience.public, _SHOWN)
    .order_by(_S.id)
)
_ONE = feeds.RawSelect(
    select(_S.updated_at, _S.id, _DAYS, _S.audience).where(_S.id == _TARGET, _SHOWN)
)


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


def _url(seminar: Seminar) -> str:
    from seminars.links import seminar_url

    return seminar_url(seminar)


def registered_stamp(subject: feeds.FeedSubject, now: datetime) -> feeds.Stamp:
    return _stamp(_REGISTERED, _REGISTERED.all(raw_results=True, target=subject.user_id,
                                               cutoff=feeds.cutoff(now)), times=2)


def registered_stamp_parts(kind: str) -> list:
    return _REGISTERED_PARTS


def registered_events(subject: feeds.FeedSubject, now: datetime) -> list[feeds.FeedEvent]:
    """The seminars a person has a confirmed place at (waiting list and cancelled: not)."""
    rows = _REGISTERED.all(raw_results=True, target=subject.user_id, cutoff=feeds.cutoff(now))
    confirmed = [row[2] for row in rows if row[4] == RegistrationStatus.confirmed.value]
    return [event for seminar in _seminars(confirmed)
            for event in seminar_events(seminar, _url(seminar))]


def public_stamp(subject: feeds.FeedSubject, now: datetime) -> feeds.Stamp:
    return _stamp(_PUBLIC, _PUBLIC.all(raw_results=True, cutoff=feeds.cutoff(now)))


def public_events(subject: feeds.FeedSubject, now: datetime) -> list[feeds.FeedEvent]:
    rows = _PUBLIC.all(raw_results=True, cutoff=feeds.cutoff(now))
    return [event for seminar in _seminars([row[1] for row in rows])
            for event in seminar_events(seminar, _url(seminar), with_online_url=False)]


def one_stamp(subject: feeds.FeedSubject, now: datetime) -> feeds.Stamp:
    return _stamp(_ONE, _ONE.all(raw_results=True, target=subject.target_id,
                                 cutoff=feeds.cutoff(now)))


def one_events(subject: feeds.FeedSubject, now: datetime) -> list[feeds.FeedEvent]:
    """One seminar; the online link only in an internal one's file (staff only)."""
    shown = _ONE.all(raw_results=True, target=subject.target_id, cutoff=feeds.cutoff(now))
    return [event for seminar in _seminars([subject.target_id]) if shown
            for event in seminar_events(seminar, _url(seminar),
                                        with_online_url=seminar.audience != Audience.public)]


def one_access(seminar_id: int | None) -> str | None:
    """Public seminars for anyone, internal ones for signed-in staff; drafts are nobody's."""
    rows = _ONE.all(target=seminar_id, cutoff=feeds.cutoff(utcnow()))
    if not rows:
        return None
    return "public" if rows[0][3] == Audience.public else "login"


def _one_title(subject: feeds.FeedSubject) -> str:
    seminar = db.session.get(Seminar, subject.target_id)
    return _("Samlokal: %(name)s", name=seminar.title) if seminar else _("Samlokal: seminar")


# --- the addresses ------------------------------------------------------------------------

@bp.get("/seminars.ics")
@calendar_view
@limited_public
def public_seminars():
    """Every published public seminar (no token: the calendar is public)."""
    return calendar_response(feeds.public_subject("public_seminars"))


@bp.get("/seminars/<int:seminar_id>.ics")
@calendar_view
@limited_public
def seminar(seminar_id: int):
    """One seminar to add to a calendar: public ones for anyone, internal ones for staff."""
    subject = feeds.public_subject("seminar", seminar_id)
    access = feeds.feed_access(subject)
    if access is None:
        abort(404)
    if access == "login" and not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return calendar_response(subject)


def register_feeds(app: Flask) -> None:
    """Plug seminars into office's feeds and serve their addresses (called when the seminars
    blueprint is registered; idempotent)."""
    feeds.add_source("personal", registered_events, stamp=registered_stamp,
                     stamp_parts=registered_stamp_parts)
    feeds.add_feed_kind(
        "public_seminars", _l("Public seminars"), private=False,
        title=lambda subject: _("Samlokal: seminars"),
        description=_l("Published public seminars in Samlokal."),
        offer=feeds.Offer(_l("Public seminars"),
                          _l("All published public seminars. This link is not secret; "
                             "share it freely."),
                          endpoint="seminar_feeds.public_seminars"))
    feeds.add_source("public_seminars", public_events, stamp=public_stamp)
    feeds.add_feed_kind("seminar", _l("Seminar"), private=False, needs_target=True,
                        title=_one_title, access=one_access,
                        description=_l("A seminar in Samlokal."))
    feeds.add_source("seminar", one_events, stamp=one_stamp)
    app.register_blueprint(bp)
