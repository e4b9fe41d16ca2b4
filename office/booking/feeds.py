"""Bookings in the calendar feeds: the reservation source and the room and agency feeds.

`register_feeds()` runs when the bookings blueprint is registered. It adds the feed kinds
``resource`` (every booking of a room or desk) and ``agency`` (an agency's bookings; the
allocations add its allocated time), and puts reservations into those and the
``personal`` feed (what a person booked or was booked for).

A reservation is one VEVENT, or a series master (RRULE, EXDATE for cancelled or skipped
days) with RECURRENCE-ID overrides for moved occurrences; a cancelled one stays
CANCELLED_KEPT as STATUS:CANCELLED. UID ``reservation-<id>``, DTSTAMP and LAST-MODIFIED
from ``updated_at``, SEQUENCE from ``sequence`` (every change goes through
office/booking/rules.py, which bumps both). Each reservation's bytes are cached by (id,
updated_at, sequence): after one change only that reservation is loaded and serialised.

A reservation of kind ``trepartssamtal`` is ``SUMMARY:Trepartssamtal`` with time and place
only, in every feed and from any source (`add_private_event_kind`).

Features whose own source shows a person some reservations (a meeting series' members, a
trepartssamtal's participants) register `shown_by_another_source()`, so the booking is not
in that person's feed twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    and_,
    bindparam,
    event,
    exists,
    false,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    union_all,
)

from office import feeds
from office.accounts.models import Agency, Role, User
from office.booking.models import (
    OccurrenceState,
    Reservation,
    ReservationKind,
    ReservationOccurrence,
)
from office.booking.rules import expand_days
from office.core.database import utcnow
from office.core.extensions import db
from office.feeds.models import FeedRemoval
from office.premises.models import Resource, Site

UTC = timezone.utc
TREPARTSSAMTAL = "Trepartssamtal"  # the only thing any feed says about one (DOMAIN.md)
# Where a booking is shown in the app.
RESERVATION_PATH = "/bookings/{id}"

_R = Reservation
_OCC = ReservationOccurrence
_CUTOFF = bindparam("cutoff", type_=_R.cancelled_at.type)
# The feed's person, room or agency; conditions registered by other features use it too.
TARGET = bindparam("target")

# A cancelled reservation stays CANCELLED_KEPT after cancelling; one that still has an
# active occurrence (the past of a cancelled series) stays for good.
VISIBLE_RESERVATION = or_(
    _R.cancelled_at.is_(None),
    _R.cancelled_at >= _CUTOFF,
    exists().where(_OCC.reservation_id == _R.id, _OCC.state == OccurrenceState.active),
)


# --- who sees which reservation ---------------------------------------------------------

_SHOWN_ELSEWHERE: list = []
_QUERIES: dict = {}


def shown_by_another_source(condition) -> None:
    """Leave reservations matching `condition` out of the person's (TARGET's) personal feed.

    For a feature whose own source shows them to that person (a meeting member gets their
    meetings with their attendance applied). Idempotent; call it from `register_feeds`.
    """
    if not any(condition is known for known in _SHOWN_ELSEWHERE):
        _SHOWN_ELSEWHERE.append(condition)
        _QUERIES.clear()  # built again with the new condition


def _who(kind: str):
    if kind == "personal":
        elsewhere = or_(false(), *_SHOWN_ELSEWHERE)
        return and_(or_(_R.booked_by_id == TARGET, _R.booked_for_id == TARGET), ~elsewhere)
    if kind == "resource":
        return _R.resource_id == TARGET
    return _R.agency_id == TARGET


def _queries(kind: str) -> tuple[feeds.RawSelect, feeds.RawSelect]:
    """(stamp, keys) reads of a kind's reservations, built once the conditions are known."""
    found = _QUERIES.get(kind)
    if found is None:
        who = _who(kind)
        found = _QUERIES[kind] = (
            feeds.RawSelect(select(func.max(_R.updated_at), func.count(_R.id))
                            .where(who, VISIBLE_RESERVATION)),
            feeds.RawSelect(select(_R.id, _R.updated_at, _R.sequence)
                            .where(who, VISIBLE_RESERVATION).order_by(_R.id)),
        )
    return found


def _target(subject: feeds.FeedSubject) -> int | None:
    return subject.user_id if subject.kind == "personal" else subject.target_id


# --- the source ---------------------------------------------------------------------------

# The columns that say whose a reservation is, per kind. None of them changes after the
# reservation was made, and reservations are cancelled, never deleted: a kind's set of
# reservations only grows, and every change bumps updated_at (Reservation.touch, onupdate).
_OWNERS = {"personal": (_R.booked_by_id, _R.booked_for_id), "resource": (_R.resource_id,),
           "agency": (_R.agency_id,)}


def reservation_stamp_parts(kind: str) -> list:
    """The reservations' stamp as index lookups, whatever the number of reservations.

    Per owner column: the latest change (ix_reservation_<column>_updated: a new or changed
    reservation moves it) and the latest cancellation that is now older than the cutoff
    (ix_reservation_<column>_cancelled: moves when one leaves the feed). Who sees a
    reservation elsewhere (a meeting member, a trepartssamtal participant) is in those
    sources' own stamps. Nothing here counts or scans the reservations.
    """
    parts = []
    for column in _OWNERS.get(kind, (_R.agency_id,)):
        for when, where in ((_R.updated_at, ()), (_R.cancelled_at, (_R.cancelled_at < _CUTOFF,))):
            latest = select(func.max(when)).where(column == TARGET, *where).scalar_subquery()
            parts.append(select(latest.label("changed"), literal_column("0").label("n"),
                                literal_column("0").label("checksum")))
    # A deleted reservation (not something the app does, but a database may see it).
    removed = select(func.max(FeedRemoval.id)).where(
        FeedRemoval.kind == literal_column(f"'{kind}'"),
        FeedRemoval.target_id == TARGET).scalar_subquery()
    parts.append(select(null().label("changed"), literal_column("0").label("n"),
                        func.coalesce(removed, 0).label("checksum")))
    return parts


def _record_removal(mapper, connection, reservation: Reservation) -> None:
    """Deleted: a row per feed it was in, so their stamps move (FeedRemoval)."""
    rows = [{"kind": kind, "target_id": target, "removed_at": utcnow()}
            for kind, column in _FEED_OWNER_ATTRIBUTES
            if (target := getattr(reservation, column)) is not None]
    if rows:
        connection.execute(insert(FeedRemoval), rows)


_FEED_OWNER_ATTRIBUTES = (("personal", "booked_by_id"), ("personal", "booked_for_id"),
                          ("resource", "resource_id"), ("agency", "agency_id"))


def reservation_stamp(subject: feeds.FeedSubject, now: datetime) -> feeds.Stamp:
    """The stamp on its own (the feed asks all its sources' parts in one query)."""
    query = _STAMPS.get(subject.kind)
    if query is None:
        query = _STAMPS[subject.kind] = feeds.RawSelect(
            union_all(*reservation_stamp_parts(subject.kind)))
    rows = query.all(raw_results=True, target=_target(subject), cutoff=feeds.cutoff(now))
    latest = max((row[0] for row in rows if row[0] is not None), default=None)
    return feeds.Stamp(feeds.parsed_time(query, latest), 0,
                       ";".join(str(row[0]) for row in rows))


_STAMPS: dict = {}


def _keys(subject: feeds.FeedSubject, now: datetime) -> list:
    # Raw values (no datetime parsing): they only need to be equal when nothing changed.
    return _queries(subject.kind)[1].all(raw_results=True, target=_target(subject),
                                         cutoff=feeds.cutoff(now))


def reservation_feed_events(subject: feeds.FeedSubject, now: datetime) -> list[feeds.FeedEvent]:
    """Every reservation of the feed as events (the render below serves cached bytes)."""
    return [event for row, occurrences in load_reservations([k[0] for k in _keys(subject, now)])
            for event in reservation_events(row, occurrences)]


def render_reservations(subject: feeds.FeedSubject, now: datetime,
                        renderer: feeds.Renderer) -> list[bytes]:
    """Each reservation's VEVENTs, serialised again only when it changed."""
    keys = _keys(subject, now)
    context = renderer.context
    cache_keys = [("reservation", rid, updated_at, sequence, context)
                  for rid, updated_at, sequence in keys]
    cached = renderer.cached_many(cache_keys)
    missing = [key[1] for key, data in zip(cache_keys, cached) if data is None]
    loaded = {}
    for row, occurrences in load_reservations(missing):
        loaded[row[0]] = (row[8], b"".join(
            renderer.serialise(e) for e in reservation_events(row, occurrences)))
    parts = []
    for key, data in zip(cache_keys, cached):
        if data is None:
            if key[1] not in loaded:
                continue  # deleted since the keys were read
            sequence, data = loaded[key[1]]
            # Changed since the keys were read: serve it, but not under the older key.
            if sequence == key[3]:
                renderer.remember(key, data)
        parts.append(data)
    return parts


@dataclass(frozen=True)
class Occurrence:
    id: int
    starts_at: datetime
    ends_at: datetime
    original_start: datetime
    active: bool


def load_reservations(ids: list[int]) -> list[tuple]:
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
            occurrences.setdefault(occ[0], []).append(Occurrence(
                occ[1], occ[2], occ[3], occ[4], occ[5] == OccurrenceState.active))
    return [(row, occurrences.get(row[0], [])) for row in rows]


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def reservation_url(reservation_id: int) -> str:
    return feeds.base_url() + RESERVATION_PATH.format(id=reservation_id)


def reservation_events(row, occurrences: list[Occurrence]) -> list[feeds.FeedEvent]:
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
        return [feeds.FeedEvent(uid=uid, start=start.astimezone(zone), end=end.astimezone(zone),
                                status=status, **common)]

    days = expand_days(first_day, rule)
    by_day: dict[date, Occurrence] = {}
    for occurrence in occurrences:
        by_day.setdefault(occurrence.original_start.astimezone(zone).date(), occurrence)
    first = days[0] if days else first_day
    master_rule = _rule_with_utc_until(rule, zone)
    if not any_active:
        return [feeds.FeedEvent(uid=uid, start=_local(first, start_time, zone),
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
            overrides.append(feeds.FeedEvent(
                uid=uid, start=occurrence.starts_at.astimezone(zone),
                end=occurrence.ends_at.astimezone(zone), recurrence_id=instance_start, **common))
    # Occurrences on days the rule no longer names (kept from before a change): own events.
    extras = [
        feeds.FeedEvent(uid=f"{uid}-{o.id}", start=o.starts_at.astimezone(zone),
                        end=o.ends_at.astimezone(zone), **common)
        for o in by_day.values() if o.active
    ]
    master = feeds.FeedEvent(uid=uid, start=_local(first, start_time, zone),
                             end=_local(first, end_time, zone), rrule=master_rule,
                             exdates=tuple(exdates), status=status, **common)
    return [master, *overrides, *extras]


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


# --- the room and agency feeds --------------------------------------------------------------

def _describe_resource(resource_id: int) -> str | None:
    resource = db.session.get(Resource, resource_id)
    return f"{resource.name}, {resource.site.name}" if resource else None


def _describe_agency(agency_id: int) -> str | None:
    agency = db.session.get(Agency, agency_id)
    return agency.name if agency else None


def _resource_title(subject: feeds.FeedSubject) -> str:
    name = _describe_resource(subject.target_id)
    return _("Samlokal: %(name)s", name=name) if name else _("Samlokal: room or desk")


def _agency_title(subject: feeds.FeedSubject) -> str:
    return _("Samlokal: %(name)s", name=_describe_agency(subject.target_id) or "?")


def _may_subscribe_agency(owner: feeds.Owner, target_id: int | None) -> bool:
    return owner.role == Role.coordinator or owner.agency_id == target_id


def _agency_choices(user: User) -> list[tuple[int, str]]:
    """Your own agency; the coordinator any agency."""
    query = select(Agency.id, Agency.name).order_by(Agency.name)
    if user.role != Role.coordinator:
        query = query.where(Agency.id == user.agency_id)
    return [(row.id, row.name) for row in db.session.execute(query)]


def _resource_choices(user: User) -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(Resource.id, Resource.name, Site.name.label("site"))
        .join(Site, Site.id == Resource.site_id)
        .where(Resource.active.is_(True)).order_by(Resource.name))
    return [(row.id, f"{row.name}, {row.site}") for row in rows]


def register_feeds(app: Flask) -> None:
    """Plug bookings into the feeds (idempotent; called when the blueprint is registered)."""
    feeds.add_private_event_kind(
        ReservationKind.trepartssamtal.value, TREPARTSSAMTAL,
        note=_l("Three-party meetings always appear only as “Trepartssamtal”, with time and "
                "place: never with a name."))
    feeds.add_feed_kind(
        "agency", _l("Agency"), needs_target=True, title=_agency_title,
        may_subscribe=_may_subscribe_agency, describe=_describe_agency,
        description=_l("The bookings and allocated time of this agency in Samlokal."),
        offer=feeds.Offer(_l("An agency"), _l("Every booking made for the agency."),
                          button=_l("Make a link for the agency"), choices=_agency_choices,
                          choice_label=_l("Agency")))
    feeds.add_feed_kind(
        "resource", _l("Room or desk"), needs_target=True, title=_resource_title,
        describe=_describe_resource,
        description=_l("Every booking of this room or desk in Samlokal."),
        offer=feeds.Offer(_l("A room or desk"),
                          _l("Every booking of one room or desk, for example for a screen by "
                             "the door."),
                          button=_l("Make a link for the room or desk"),
                          choices=_resource_choices, choice_label=_l("Room or desk")))
    if not event.contains(Reservation, "after_delete", _record_removal):
        event.listen(Reservation, "after_delete", _record_removal)
    for kind in ("personal", "resource", "agency"):
        feeds.add_source(kind, reservation_feed_events, stamp=reservation_stamp,
                         render=render_reservations, stamp_parts=reservation_stamp_parts)
