"""Door screens: device links, what a screen shows, its poll stamp, and "Boka nu".

Device links work like feed links (office/feeds/tokens.py): `secrets.token_urlsafe(32)`,
shown once, stored as its SHA-256, looked up by the hash and compared in constant time. A
revoked link keeps its row so its URL answers 410 Gone.

What a screen shows is `screen_state()`: the room, free or busy now, the current booking
and the next ones today, and the "Boka nu" lengths that pass the booking rules right now.
Titles show only where the screen allows them; a trepartssamtal is always just "booked".

The poll: `screen_stamp()` reads the link (with today's opening hours and closure) and the
room's occurrences of today in two indexed raw reads, and hashes what the page depends on:
the rows' times, states and change stamps, and how many of the day's moments that change
the page (a start, an end, the last minutes before one, closing) have passed. While that
hash is the client's ETag, the answer is 304 and nothing is rendered. Allocation changes do
not move the stamp; the hour of the day does, so a screen is never more than an hour behind.

"Boka nu" books in nobody's name (`BookingRequest.on_record=False`): a stand-in booker with
no agency answers the booking rules, so the screen may book only what anyone may (open
time, released allocated time, never an agency's held time), from this minute for 15, 30 or
60 minutes. The reservation's title says it was booked at the door and with which screen;
the audit line names the screen. The coordinator sees and can cancel it like any booking.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, select

from office.accounts.models import Role, User
from office.booking import rules as booking
from office.booking.models import (
    OccurrenceState,
    Reservation,
    ReservationKind,
    ReservationOccurrence,
)
from office.checkin import rules as checkin
from office.core import clock
from office.core.extensions import db
from office.core.tokens import hash_token
from office.doorscreens.models import DoorScreen
from office.feeds.reader import RawSelect
from office.premises import rules as premises
from office.premises.models import Closure, OpeningHours, Resource, Site

TOKEN_BYTES = 32
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43,128}")
NAME_LENGTH = 60
BOOK_NOW_MINUTES = (15, 30, 60)
# The moments before a start or closing at which the "Boka nu" offers change.
OFFER_EDGES = tuple(timedelta(minutes=m) for m in BOOK_NOW_MINUTES)
UPCOMING_SHOWN = 3
UTC = timezone.utc
# The htmx target of the screen's polled part (its id in templates/doorscreens/_state.html).
STATE_TARGET = "door-state"


# --- device links ---------------------------------------------------------------------

def create_screen(resource: Resource, name: str, show_titles: bool, actor: User) -> tuple[DoorScreen, str]:
    """A new device link for a room; the token is returned once and stored only hashed."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    screen = DoorScreen(resource=resource, name=(name or "").strip()[:NAME_LENGTH] or resource.name,
                        show_titles=bool(show_titles), token_hash=hash_token(token),
                        created_by_id=actor.id, created_at=clock.now())
    db.session.add(screen)
    db.session.flush()
    booking.audit(actor, "create_door_screen", screen, f"resource={resource.id}")
    return screen, token


def revoke_screen(screen: DoorScreen, actor: User) -> None:
    """The link stops at once (410); revoking twice changes nothing."""
    if screen.revoked_at is None:
        screen.revoked_at = clock.now()
        booking.audit(actor, "revoke_door_screen", screen, f"resource={screen.resource_id}")


def screens() -> list[DoorScreen]:
    return list(db.session.scalars(
        select(DoorScreen).join(DoorScreen.resource)
        .order_by(DoorScreen.revoked_at.is_not(None), Resource.name, DoorScreen.id)))


def find_screen(token: str) -> DoorScreen | None:
    """The screen a token opens (revoked ones too, to answer 410); None when unknown."""
    if not TOKEN_SHAPE.fullmatch(token or ""):
        return None
    presented = hash_token(token)
    screen = db.session.scalar(select(DoorScreen).where(DoorScreen.token_hash == presented))
    if screen is None or not hmac.compare_digest(screen.token_hash, presented):
        return None
    return screen


# --- the poll stamp ----------------------------------------------------------------------

_LINK = RawSelect(
    select(DoorScreen.token_hash, DoorScreen.id, DoorScreen.revoked_at, DoorScreen.show_titles,
           DoorScreen.resource_id, Resource.active, Site.timezone, OpeningHours.opens,
           OpeningHours.closes, Closure.id)
    .join(Resource, Resource.id == DoorScreen.resource_id)
    .join(Site, Site.id == Resource.site_id)
    .outerjoin(OpeningHours, and_(OpeningHours.site_id == Site.id,
                                  OpeningHours.weekday == bindparam("weekday")))
    .outerjoin(Closure, and_(Closure.site_id == Site.id, Closure.day == bindparam("day")))
    .where(DoorScreen.token_hash == bindparam("token_hash"))
)
_DAY = RawSelect(
    select(ReservationOccurrence.starts_at, ReservationOccurrence.ends_at,
           ReservationOccurrence.state, ReservationOccurrence.updated_at,
           Reservation.updated_at)
    .join(Reservation, Reservation.id == ReservationOccurrence.reservation_id)
    .where(ReservationOccurrence.resource_id == bindparam("resource_id"),
           ReservationOccurrence.starts_at < bindparam("day_end"),
           ReservationOccurrence.ends_at > bindparam("day_start"))
    .order_by(ReservationOccurrence.starts_at)
)


@dataclass(frozen=True)
class Stamp:
    """What a poll learnt: the link's state and the ETag of the page it would get."""

    found: bool
    revoked: bool = False
    etag: str = ""


def _day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def screen_stamp(token: str, now: datetime | None = None) -> Stamp:
    """The ETag of the screen's page now, from two indexed reads (nothing rendered).

    No language in it, so no cookie is read: a tablet that switches language loads the
    whole page again, and its polls then compare against that page's tag."""
    if not TOKEN_SHAPE.fullmatch(token or ""):
        return Stamp(False)
    now = now or clock.now()
    presented = hash_token(token)
    zone = ZoneInfo(current_app.config.get("TIMEZONE", "Europe/Stockholm"))
    link = _link_row(presented, now, zone)
    if link is not None and link[6] != zone.key:  # a site in another zone: its own day
        zone = ZoneInfo(link[6])
        link = _link_row(presented, now, zone)
    if link is None or not hmac.compare_digest(link[0], presented):
        return Stamp(False)
    _hash, screen_id, revoked_at, show_titles, resource_id, active, _zone, opens, closes, closure = link
    if revoked_at is not None:
        return Stamp(True, revoked=True)
    local = now.astimezone(zone)
    day_start, day_end = _day_bounds(local.date(), zone)
    rows = _DAY.all(raw_results=True, resource_id=resource_id, day_start=day_start, day_end=day_end)
    moments = [datetime.combine(local.date(), t, zone) for t in (opens, closes) if t is not None]
    # Raw rows: SQLite gives text, PostgreSQL datetimes; both compare with their own kind.
    edges = _parsed_edges(rows)
    moments.extend(edges)
    passed = sum(1 for m in moments if m <= now)
    passed += sum(1 for m in moments for edge in OFFER_EDGES if m - edge <= now)
    parts = (screen_id, bool(show_titles), bool(active), str(opens), str(closes), closure is not None,
             local.date().isoformat(), local.hour, passed, [tuple(map(str, r)) for r in rows])
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return Stamp(True, etag=f'"{digest}"')


def part_etag(stamp: Stamp) -> str:
    """The polled part's tag (the whole page is another representation: `stamp.etag`)."""
    return stamp.etag[:-1] + '-part"'


def _link_row(presented: str, now: datetime, zone: ZoneInfo):
    day = now.astimezone(zone).date()
    rows = _LINK.all(token_hash=presented, weekday=day.weekday(), day=day)
    return rows[0] if rows else None


def _parsed_edges(rows) -> list[datetime]:
    edges = []
    for starts, ends, state, *_changed in rows:
        if str(state) != "active":
            continue
        for raw, index in ((starts, 0), (ends, 1)):
            edges.append(_DAY.process_result(index, raw))
    return edges


# --- what the screen shows -------------------------------------------------------------

@dataclass(frozen=True)
class Shown:
    """One booking as the door shows it: times always, the title only where allowed."""

    occurrence_id: int
    starts: datetime  # local
    ends: datetime    # local
    title: str | None  # None: shown as "Reserved"
    agency: str | None
    needs_check_in: bool = False  # required and not checked in yet
    checked_in: bool = False


@dataclass
class ScreenState:
    screen: DoorScreen
    now: datetime  # local
    open_now: bool
    current: Shown | None
    upcoming: list[Shown] = field(default_factory=list)
    offers: list[int] = field(default_factory=list)
    check_in: Shown | None = None  # the booking that may be checked in now

    @property
    def free(self) -> bool:
        return self.current is None

    @property
    def free_until(self) -> datetime | None:
        return self.upcoming[0].starts if self.upcoming else None


def shown_title(kind: ReservationKind, title: str | None, show_titles: bool) -> str | None:
    """The title the screen may show (None: just "reserved"); trepartssamtal never show one."""
    if kind == ReservationKind.trepartssamtal or not show_titles:
        return None
    return title


def screen_state(screen: DoorScreen, now: datetime | None = None) -> ScreenState:
    """Free or busy now, the current and next bookings of today, and the offers that fit."""
    now = now or clock.now()
    resource = screen.resource
    zone = ZoneInfo(resource.site.timezone)
    local = now.astimezone(zone)
    day_start, day_end = _day_bounds(local.date(), zone)
    rows = booking.occurrence_rows_between([resource.id], day_start, day_end)
    required = checkin.policies()[resource.kind].required
    checks = checkin.state_of([row.id for row in rows]) if required else {}
    shown = [
        Shown(row.id, row.starts_at.astimezone(zone), row.ends_at.astimezone(zone),
              shown_title(row.kind, row.title, screen.show_titles),
              row.agency_short_name if screen.show_titles and row.kind != ReservationKind.trepartssamtal
              else None,
              needs_check_in=required and row.kind not in checkin.EXEMPT_KINDS and row.id not in checks,
              checked_in=row.id in checks and checks[row.id].checked_in_at is not None)
        for row in rows
    ]
    current = next((s for s in shown if s.starts <= local < s.ends), None)
    # Check-in opens a little before the start: the next booking may be the one to check in.
    state_check_in = next((s for s in shown if s.needs_check_in
                           and s.starts - checkin.EARLY <= local < s.ends), None)
    upcoming = [s for s in shown if s.starts > local][:UPCOMING_SHOWN]
    window = premises.opening_window(resource.site, local.date())
    open_now = window is not None and window[0] <= now < window[1] and resource.active
    state = ScreenState(screen, local, open_now, current, upcoming, check_in=state_check_in)
    if open_now and current is None:
        state.offers = [m for m in BOOK_NOW_MINUTES if _book_now_check(screen, m, now).ok]
    return state


# --- Boka nu -----------------------------------------------------------------------------

class BookNowRefused(Exception):
    def __init__(self, problems: list, status: int = 422):
        super().__init__("; ".join(p.code for p in problems))
        self.problems, self.status = problems, status


def _stand_in(screen: DoorScreen) -> User:
    """Answers the booking rules for a screen: a staff member of no agency, never saved."""
    return User(name=screen.name, role=Role.staff, agency_id=None)


def _book_now_request(screen: DoorScreen, minutes: int, now: datetime) -> tuple[booking.BookingRequest, datetime]:
    zone = ZoneInfo(screen.resource.site.timezone)
    start = now.astimezone(zone).replace(second=0, microsecond=0)
    end = start + timedelta(minutes=minutes)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        title = _("Booked at the door (%(screen)s)", screen=screen.name)
    if end.date() != start.date():  # past midnight: never inside opening hours anyway
        end = start
    request = booking.BookingRequest(
        resource=screen.resource, title=title[:200], first_day=start.date(),
        start_time=start.time(), end_time=end.time(), booked_by=_stand_in(screen),
        on_record=False)
    return request, start.astimezone(UTC)


def _book_now_check(screen: DoorScreen, minutes: int, now: datetime) -> booking.Check:
    request, start = _book_now_request(screen, minutes, now)
    # "Now" is the minute the booking starts: a walk-in booking is never "in the past".
    return booking.check_booking(request, now=start)


def check_in_now(screen: DoorScreen, now: datetime | None = None) -> ReservationOccurrence:
    """Check in the room's booking of this moment at the door (nobody logged in)."""
    now = now or clock.now()
    occurrence = db.session.scalar(
        select(ReservationOccurrence).where(
            ReservationOccurrence.resource_id == screen.resource_id,
            ReservationOccurrence.state == OccurrenceState.active,
            ReservationOccurrence.starts_at <= now + checkin.EARLY,
            ReservationOccurrence.ends_at > now)
        .order_by(ReservationOccurrence.starts_at).limit(1))
    if occurrence is None:
        raise checkin.CheckInRefused(_("There is no booking to check in to now."))
    checkin.check_in(occurrence, None, now)
    return occurrence


def book_now(screen: DoorScreen, minutes: int, now: datetime | None = None) -> Reservation:
    """Book the screen's room from this minute for `minutes`, in nobody's name."""
    now = now or clock.now()
    if minutes not in BOOK_NOW_MINUTES:
        raise ValueError(minutes)
    request, start = _book_now_request(screen, minutes, now)
    reservation = booking.book(request, now=start)
    booking.audit(None, "book_at_door", reservation, f"door_screen={screen.id} minutes={minutes}")
    return reservation
