"""Trepartssamtal: find a time, book it with its room, keep the individual's privacy.

Plain functions without request or template (the views and bench/ call them):
- `validate_reference()` refuses anything that looks like a personal identity number;
- `find_proposals()` loads every busy interval of the window in a few queries, then walks
  a 15-minute local grid with sorted interval lists; `book_proposal()` re-checks and books
  the meeting and its room in one transaction through office.booking.rules.book();
- `reference_for()` is the only reader of the reference (participants only);
- `record_outcome()`, `cancel_meeting()`, `purge_references()` and `statistics()`.

Times: the grid is in local wall-clock time (Europe/Stockholm by default); a start in the
spring-forward gap does not exist and is skipped, an ambiguous autumn time means the
first (summer-time) one, as in office.booking.rules.to_utc.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from office.accounts.models import Agency, User
from office.availability import rules as availability
from office.availability.rules import IntervalSet
from office.booking import rules as booking
from office.booking.models import (
    OccurrenceState,
    ReservationKind,
    ReservationOccurrence,
)
from office.core import export
from office.core.database import utcnow
from office.core.extensions import db
from office.core.identity_numbers import contains_identity_number, longest_digit_run
from office.premises import rules as premises
from office.premises.models import Resource, ResourceKind, Site
from office.trepartssamtal.models import (
    NEUTRAL_TITLE,
    Consent,
    MeetingMode,
    MeetingStatus,
    Trepartssamtal,
    TrepartssamtalParticipant,
)

UTC = timezone.utc
GRID_MINUTES = 15
MIN_PARTICIPANTS = 2
MIN_AGENCIES = 2


# --- refusals ---------------------------------------------------------------------

MESSAGES = {
    "personal_number": _l("The reference looks like a personal identity number or coordination "
                          "number. Use only a pseudonymous reference, such as initials and a short "
                          "number (e.g. AB-12)."),
    "bad_reference": _l("The reference may have 2–20 characters: letters, digits, spaces, "
                        "dashes and full stops."),
    "too_few_participants": _l("Choose at least two staff participants."),
    "too_few_agencies": _l("The participants must come from at least two agencies."),
    "booker_not_participant": _l("You must be one of the participants."),
    "no_consent": _l("The booking was refused: record the individual's consent to information "
                     "exchange first."),
    "consent_agencies": _l("The consent must cover every participating agency: %(missing)s."),
    "consent_in_future": _l("The date the consent was given cannot be in the future."),
    "video_link": _l("Give the link to the video meeting (starting with https://)."),
    "bad_slot": _l("This time is not one of the proposals. Choose a proposed time."),
    "slot_taken": _l("Someone else just booked this time or one of the participants is no longer "
                     "free. Here are fresh proposals."),
    "room_required": _l("Choose a site for a meeting on site."),
    "not_participant": _l("Only participants can change this meeting."),
    "not_started": _l("The outcome can be recorded once the meeting has begun."),
    "already_cancelled": _l("The meeting is already cancelled."),
    "already_past": _l("The meeting has already begun; record its outcome instead."),
}


class TrepartssamtalRefused(Exception):
    """Bad input (HTTP 422); `codes` name the problems, `messages` say them."""

    status = 422

    def __init__(self, codes: list[str], **params):
        super().__init__("; ".join(codes))  # codes only: never user input in an exception
        self.codes = codes
        self.params = params

    @property
    def messages(self) -> list[str]:
        return [str(MESSAGES[c]) % self.params if "%(" in str(MESSAGES[c]) else str(MESSAGES[c])
                for c in self.codes]


class SlotTaken(TrepartssamtalRefused):
    """Someone got there first (HTTP 409): show fresh proposals."""

    status = 409

    def __init__(self):
        super().__init__(["slot_taken"])


# --- the reference --------------------------------------------------------------------

_REFERENCE = re.compile(r"[\w .\-]{2,20}")


def looks_like_personal_number(text: str) -> bool:
    """Any plausible personnummer or samordningsnummer, check digit or not: a reference is a
    pseudonym, so even a mistyped number is refused (office/core/identity_numbers.py)."""
    return contains_identity_number(text, check_digit=False)


def validate_reference(text: str | None) -> str:
    """The cleaned reference, or TrepartssamtalRefused. Never log or echo a refused one."""
    value = " ".join((text or "").split())
    if looks_like_personal_number(value) or longest_digit_run(value) >= 10:
        raise TrepartssamtalRefused(["personal_number"])
    if not _REFERENCE.fullmatch(value) or "_" in value:
        raise TrepartssamtalRefused(["bad_reference"])
    return value


# --- who sees what -----------------------------------------------------------------------

def is_participant(meeting: Trepartssamtal, viewer: User | None) -> bool:
    return viewer is not None and getattr(viewer, "id", None) in meeting.participant_ids


def reference_for(meeting: Trepartssamtal, viewer: User | None) -> str | None:
    """The individual's reference for a participant; None for everyone else (and after purge)."""
    if not is_participant(meeting, viewer):
        return None
    return meeting._reference


def meetings_for(user: User, *, since: datetime | None = None) -> list[Trepartssamtal]:
    """The meetings a person takes part in, earliest first."""
    query = (
        select(Trepartssamtal)
        .join(TrepartssamtalParticipant)
        .where(TrepartssamtalParticipant.user_id == user.id)
        .order_by(Trepartssamtal.starts_at)
    )
    if since is not None:
        query = query.where(Trepartssamtal.ends_at > since)
    return list(db.session.scalars(query).unique())


# --- finding a time ------------------------------------------------------------------------

@dataclass
class Search:
    """What the case worker asked for."""

    participants: list[User]
    booked_by: User
    first_day: date
    last_day: date
    minutes: int = 60
    mode: MeetingMode = MeetingMode.on_site
    buffer_minutes: int = 15
    site: Site | None = None
    needs_accessible: bool = False
    others: int = 1  # the individual (and perhaps someone with them) besides the staff
    replacing: Trepartssamtal | None = None

    @property
    def attendees(self) -> int:
        return len(self.participants) + self.others

    @property
    def zone(self) -> ZoneInfo:
        name = self.site.timezone if self.site is not None else current_app.config["TIMEZONE"]
        return ZoneInfo(name)

    @property
    def participant_ids(self) -> list[int]:
        return [u.id for u in self.participants]


@dataclass(frozen=True)
class Proposal:
    day: date
    start_time: time
    end_time: time
    starts_at: datetime
    ends_at: datetime
    room: Resource | None = None

    @property
    def key(self) -> str:
        """What the booking form sends back: the UTC start and the room."""
        room_id = self.room.id if self.room is not None else 0
        return f"{self.starts_at.strftime('%Y%m%dT%H%M')}-{room_id}"


def check_search(search: Search) -> None:
    """Refuse a search that cannot make a trepartssamtal (too few people or agencies)."""
    codes = []
    if len(set(search.participant_ids)) < MIN_PARTICIPANTS:
        codes.append("too_few_participants")
    elif len({u.agency_id for u in search.participants}) < MIN_AGENCIES:
        codes.append("too_few_agencies")
    if search.booked_by.id not in search.participant_ids:
        codes.append("booker_not_participant")
    if search.mode == MeetingMode.on_site and search.site is None:
        codes.append("room_required")
    if codes:
        raise TrepartssamtalRefused(codes)


def suitable_rooms(search: Search) -> list[Resource]:
    """Rooms of the site that fit, conversation rooms first, then the smallest that fits."""
    if search.mode != MeetingMode.on_site or search.site is None:
        return []
    query = select(Resource).where(
        Resource.site_id == search.site.id, Resource.kind == ResourceKind.room,
        Resource.active.is_(True), Resource.capacity >= search.attendees,
    )
    if search.needs_accessible:
        query = query.where(Resource.accessible.is_(True))
    rooms = db.session.scalars(query).all()
    return sorted(rooms, key=lambda r: (not r.is_conversation_room, r.capacity, r.name, r.id))


def meetings_busy(user_ids, start: datetime, end: datetime, ignore_meeting_id: int | None = None):
    """(user_id, starts_at, ends_at) of the people's other trepartssamtal, not cancelled."""
    query = (
        select(TrepartssamtalParticipant.user_id, Trepartssamtal.starts_at, Trepartssamtal.ends_at)
        .join(TrepartssamtalParticipant.meeting)
        .where(
            TrepartssamtalParticipant.user_id.in_(list(user_ids)),
            Trepartssamtal.status.not_in([MeetingStatus.cancelled_by_individual,
                                          MeetingStatus.cancelled_by_staff]),
            Trepartssamtal.starts_at < end, Trepartssamtal.ends_at > start,
        )
    )
    if ignore_meeting_id is not None:
        query = query.where(Trepartssamtal.id != ignore_meeting_id)
    return db.session.execute(query).all()


@dataclass
class _Calendars:
    """Everything a window needs, loaded once."""

    search: Search
    zone: ZoneInfo
    hours: dict[int, dict[int, tuple[time, time]]]
    busy: dict[int, IntervalSet]
    rooms: list[Resource]
    room_busy: dict[int, IntervalSet]
    site_hours: dict[int, tuple[time, time]] = field(default_factory=dict)
    closed: set[date] = field(default_factory=set)


def _load(search: Search, first_day: date, last_day: date) -> _Calendars:
    zone = search.zone
    start, end = availability.local_day_bounds(first_day, last_day, zone)
    pad = timedelta(minutes=search.buffer_minutes)
    ids = search.participant_ids
    replacing = search.replacing
    ignore_reservation = replacing.reservation_id if replacing is not None else None
    meetings = availability.busy_between(ids, start - pad, end + pad, ignore_reservation)
    for user_id, starts_at, ends_at in meetings_busy(ids, start - pad, end + pad,
                                                    replacing.id if replacing else None):
        meetings[user_id].append((starts_at, ends_at))
    absences = availability.absences_between(ids, start, end)
    busy = {
        user_id: IntervalSet(availability.padded(meetings.get(user_id, []), pad)
                             + absences.get(user_id, []))
        for user_id in ids
    }
    rooms = suitable_rooms(search)
    room_busy: dict[int, list] = defaultdict(list)
    if rooms:
        query = select(ReservationOccurrence.resource_id, ReservationOccurrence.starts_at,
                       ReservationOccurrence.ends_at).where(
            ReservationOccurrence.resource_id.in_([r.id for r in rooms]),
            ReservationOccurrence.state == OccurrenceState.active,
            ReservationOccurrence.starts_at < end, ReservationOccurrence.ends_at > start,
        )
        if ignore_reservation is not None:
            query = query.where(ReservationOccurrence.reservation_id != ignore_reservation)
        for resource_id, starts_at, ends_at in db.session.execute(query):
            room_busy[resource_id].append((starts_at, ends_at))
    calendars = _Calendars(
        search=search, zone=zone, hours=availability.working_hours_for(ids), busy=busy,
        rooms=rooms, room_busy={r.id: IntervalSet(room_busy.get(r.id, [])) for r in rooms},
    )
    if search.mode == MeetingMode.on_site and search.site is not None:
        calendars.site_hours = premises.opening_hours_by_weekday(search.site)
        calendars.closed = set(premises.closed_days(search.site, first_day, last_day))
    return calendars


def _minutes(clock: time) -> int:
    return clock.hour * 60 + clock.minute


def _clock(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def _day_window(cal: _Calendars, day: date) -> tuple[int, int] | None:
    """The local minutes every participant works (and the site is open) on a day."""
    if premises.public_holiday(day) is not None or day in cal.closed:
        return None
    lo, hi = 0, 24 * 60 - 1  # an end time must exist on the same day
    windows = [cal.hours[uid].get(day.weekday()) for uid in cal.search.participant_ids]
    if cal.search.mode == MeetingMode.on_site:
        windows.append(cal.site_hours.get(day.weekday()))
    for window in windows:
        if window is None:
            return None
        lo, hi = max(lo, _minutes(window[0])), min(hi, _minutes(window[1]))
    return (lo, hi) if lo < hi else None


def _room_request(search: Search, room: Resource, day: date, start: time, end: time):
    return booking.BookingRequest(
        resource=room, title=NEUTRAL_TITLE, first_day=day, start_time=start, end_time=end,
        booked_by=search.booked_by, attendees=search.attendees,
        kind=ReservationKind.trepartssamtal,
        replacing=search.replacing.reservation if search.replacing is not None else None,
    )


class _DayClock:
    """Local minutes of one day to UTC; plain addition unless the clocks change that day."""

    def __init__(self, day: date, zone: ZoneInfo):
        self.day, self.zone = day, zone
        midnight = datetime.combine(day, time(0, 0), zone)
        self.uniform = midnight.utcoffset() == datetime.combine(day, time(23, 59), zone).utcoffset()
        self.base = midnight.astimezone(UTC)

    def utc(self, minute: int) -> datetime:
        if self.uniform:
            return self.base + timedelta(minutes=minute)
        return booking.to_utc(self.day, _clock(minute), self.zone)  # may raise NonexistentLocalTime


def _evaluate(cal: _Calendars, day: date, minute: int, now: datetime,
              room_ids: set[int] | None = None, day_clock: _DayClock | None = None,
              verify_room: bool = True) -> Proposal | None:
    """The proposal starting at this local minute, or None when someone or every room is busy."""
    search = cal.search
    day_clock = day_clock or _DayClock(day, cal.zone)
    start_clock, end_clock = _clock(minute), _clock(minute + search.minutes)
    try:
        starts_at = day_clock.utc(minute)
        ends_at = day_clock.utc(minute + search.minutes)
    except booking.NonexistentLocalTime:
        return None
    if starts_at < now or ends_at <= starts_at:
        return None
    for user_id in search.participant_ids:
        if cal.busy[user_id].overlaps(starts_at, ends_at):
            return None
    if search.mode != MeetingMode.on_site:
        return Proposal(day, start_clock, end_clock, starts_at, ends_at)
    for room in cal.rooms:
        if room_ids is not None and room.id not in room_ids:
            continue
        if cal.room_busy[room.id].overlaps(starts_at, ends_at):
            continue
        # Every booking rule (opening hours, closed days, horizon, allocations...) says yes;
        # when booking, book() itself runs them in the same transaction.
        if not verify_room or booking.check_booking(
                _room_request(search, room, day, start_clock, end_clock), now=now).ok:
            return Proposal(day, start_clock, end_clock, starts_at, ends_at, room)
    return None


def find_proposals(search: Search, *, limit: int = 6, now: datetime | None = None,
                   not_before: datetime | None = None) -> list[Proposal]:
    """The earliest `limit` free slots of the window on the 15-minute grid, earliest first."""
    check_search(search)
    now = now or utcnow()
    earliest = max(now, not_before) if not_before else now
    cal = _load(search, search.first_day, search.last_day)
    found: list[Proposal] = []
    day = search.first_day
    while day <= search.last_day and len(found) < limit:
        window = _day_window(cal, day)
        if window is not None:
            first = -(-window[0] // GRID_MINUTES) * GRID_MINUTES
            day_clock = _DayClock(day, cal.zone)
            for minute in range(first, window[1] - search.minutes + 1, GRID_MINUTES):
                proposal = _evaluate(cal, day, minute, earliest, day_clock=day_clock)
                if proposal is not None:
                    found.append(proposal)
                    if len(found) >= limit:
                        break
        day += timedelta(days=1)
    return found


def parse_proposal_key(search: Search, key: str) -> tuple[date, int, int]:
    """(local day, local minute, room id) of a posted proposal key, or TrepartssamtalRefused."""
    match = re.fullmatch(r"(\d{8}T\d{4})-(\d{1,9})", key or "")
    if not match:
        raise TrepartssamtalRefused(["bad_slot"])
    starts_at = datetime.strptime(match.group(1), "%Y%m%dT%H%M").replace(tzinfo=UTC)
    local = starts_at.astimezone(search.zone)
    minute = local.hour * 60 + local.minute
    if minute % GRID_MINUTES or local.fold:
        raise TrepartssamtalRefused(["bad_slot"])
    return local.date(), minute, int(match.group(2))


# --- booking ----------------------------------------------------------------------------------

@dataclass
class ConsentInput:
    given: bool
    given_on: date | None
    agency_ids: set[int]


def check_consent(search: Search, consent: ConsentInput | None, today: date) -> None:
    if consent is None or not consent.given or consent.given_on is None:
        raise TrepartssamtalRefused(["no_consent"])
    if consent.given_on > today:
        raise TrepartssamtalRefused(["consent_in_future"])
    needed = {u.agency_id for u in search.participants}
    missing = needed - set(consent.agency_ids)
    if missing:
        names = db.session.scalars(select(Agency.short_name).where(Agency.id.in_(missing))
                                   .order_by(Agency.short_name)).all()
        raise TrepartssamtalRefused(["consent_agencies"], missing=", ".join(names))


def check_video_link(mode: MeetingMode, link: str | None) -> str | None:
    if mode != MeetingMode.video:
        return None
    link = (link or "").strip()
    if not re.fullmatch(r"https://[^\s<>\"']{4,490}", link):
        raise TrepartssamtalRefused(["video_link"])
    return link


# Told after a booking, move or cancellation, before the commit: (action, meeting, actor,
# room or None). office/notifications tells the participants (never the reference).
_change_listeners: list = []


def on_change(listener):
    """Register `listener(action, meeting, actor, room)` (once per function)."""
    if listener not in _change_listeners:
        _change_listeners.append(listener)
    return listener


def changed(action: str, meeting: Trepartssamtal, actor: User | None, *, room=None) -> None:
    for listener in _change_listeners:
        listener(action, meeting, actor, room)


def _lock_participants(user_ids: list[int]) -> None:
    # Bookings that share a participant take turns (PostgreSQL row locks in id order; SQLite
    # already serialises writers with BEGIN IMMEDIATE), so the re-check below sees the winner.
    db.session.execute(
        select(User.id).where(User.id.in_(sorted(user_ids))).order_by(User.id).with_for_update()
    ).all()


def book_proposal(search: Search, key: str, *, reference: str | None, consent: ConsentInput | None,
                  video_link: str | None = None, now: datetime | None = None) -> Trepartssamtal:
    """Book the proposed slot (and its room) in the current transaction, or raise.

    TrepartssamtalRefused (422) for bad input or missing consent; SlotTaken (409) when the
    slot is no longer free for every participant or the room was taken meanwhile.
    With `search.replacing` the meeting moves (reference and consent kept).
    """
    now = now or utcnow()
    check_search(search)
    replacing = search.replacing
    if replacing is None:
        reference = validate_reference(reference)
        check_consent(search, consent, now.astimezone(search.zone).date())
    video_link = check_video_link(search.mode, video_link) if replacing is None else replacing.video_link
    day, minute, room_id = parse_proposal_key(search, key)
    if search.mode == MeetingMode.on_site and not room_id:
        raise TrepartssamtalRefused(["bad_slot"])

    _lock_participants(search.participant_ids)
    cal = _load(search, day, day)
    window = _day_window(cal, day)
    if window is None or not (window[0] <= minute and minute + search.minutes <= window[1]):
        raise TrepartssamtalRefused(["bad_slot"])
    proposal = _evaluate(cal, day, minute, now, {room_id} if room_id else None, verify_room=False)
    if proposal is None:
        if room_id and room_id not in {r.id for r in cal.rooms}:
            raise TrepartssamtalRefused(["bad_slot"])
        raise SlotTaken()

    if replacing is None:
        meeting = Trepartssamtal(mode=search.mode, booked_by=search.booked_by, video_link=video_link)
        meeting._reference = reference
        for user in search.participants:
            meeting.participants.append(TrepartssamtalParticipant(user_id=user.id,
                                                                  agency_id=user.agency_id))
        agencies = db.session.scalars(select(Agency).where(Agency.id.in_(consent.agency_ids))).all()
        meeting.consent = Consent(given_on=consent.given_on, recorded_by=search.booked_by,
                                  agencies=list(agencies))
        db.session.add(meeting)
        action = "create"
    else:
        meeting = replacing
        _cancel_room(meeting, now)
        action = "reschedule"
        meeting.touch()
    meeting.starts_at, meeting.ends_at = proposal.starts_at, proposal.ends_at
    db.session.flush()
    # By id only (booking.audit names the object, never its fields): the reference never
    # enters the log.
    booking.audit(search.booked_by, action, meeting, f"mode={meeting.mode.value} "
                  f"participants={len(meeting.participants)} room={room_id or '-'}")
    changed(action, meeting, search.booked_by, room=proposal.room)
    if proposal.room is None:
        meeting.reservation = None
        return meeting
    request = _room_request(search, proposal.room, proposal.day, proposal.start_time, proposal.end_time)
    request.replacing = None  # the old room booking is already cancelled in this transaction
    try:
        meeting.reservation = booking.book(request, now=now)
    except booking.BookingRefused:
        raise SlotTaken() from None
    db.session.flush()
    return meeting


def _cancel_room(meeting: Trepartssamtal, now: datetime) -> None:
    """Cancel the meeting's room booking through office.booking.rules.

    The audit line names the meeting, not a person: the meeting's own line says who.
    """
    if meeting.reservation is not None:
        booking.cancel_reservation(meeting.reservation, None, now=now,
                                   summary=f"trepartssamtal={meeting.id}")


def search_for_meeting(meeting: Trepartssamtal, actor: User, first_day: date, last_day: date,
                       buffer_minutes: int) -> Search:
    """A search that moves an existing meeting: same people, length, mode and room needs."""
    room = meeting.reservation.resource if meeting.reservation is not None else None
    people = [p.user for p in meeting.participants if p.user is not None]
    return Search(
        participants=people, booked_by=actor, first_day=first_day, last_day=last_day,
        minutes=int((meeting.ends_at - meeting.starts_at).total_seconds() // 60),
        mode=meeting.mode, buffer_minutes=buffer_minutes, site=room.site if room else None,
        needs_accessible=bool(room and room.accessible),
        others=max((meeting.reservation.attendees if meeting.reservation else 0) - len(people), 1),
        replacing=meeting,
    )


# --- lifecycle ----------------------------------------------------------------------------------

OUTCOMES = (MeetingStatus.held, MeetingStatus.no_show, MeetingStatus.cancelled_by_individual,
            MeetingStatus.cancelled_by_staff)


def cancel_meeting(meeting: Trepartssamtal, actor: User, status: MeetingStatus,
                   now: datetime | None = None) -> None:
    """Cancel a meeting ahead (by the individual or by staff); its room is freed."""
    now = now or utcnow()
    if not is_participant(meeting, actor):
        raise TrepartssamtalRefused(["not_participant"])
    if not status.is_cancelled:
        raise ValueError(status)
    if meeting.status.is_cancelled:
        raise TrepartssamtalRefused(["already_cancelled"])
    if meeting.starts_at <= now:
        raise TrepartssamtalRefused(["already_past"])
    meeting.status = status
    meeting.outcome_recorded_at = now
    _cancel_room(meeting, now)
    meeting.touch()
    booking.audit(actor, "cancel", meeting, f"status={status.value}")
    changed("cancel", meeting, actor,
            room=meeting.reservation.resource if meeting.reservation else None)


def record_outcome(meeting: Trepartssamtal, actor: User, status: MeetingStatus,
                   now: datetime | None = None) -> None:
    """After the start: held, no-show, or cancelled (by the individual or staff)."""
    now = now or utcnow()
    if not is_participant(meeting, actor):
        raise TrepartssamtalRefused(["not_participant"])
    if status not in OUTCOMES:
        raise ValueError(status)
    if meeting.starts_at > now:
        raise TrepartssamtalRefused(["not_started"])
    meeting.status = status
    meeting.outcome_recorded_at = now
    meeting.touch()
    booking.audit(actor, "outcome", meeting, f"status={status.value}")


# --- retention ------------------------------------------------------------------------------------

def purge_references(now: datetime | None = None, days: int | None = None) -> int:
    """Erase reference, consent and video link of meetings ended `days` ago; keep the counts.

    Idempotent and safe on two machines at once: a second run finds nothing left to erase.
    Returns how many were purged.
    """
    now = now or utcnow()
    if days is None:
        days = current_app.config.get("TREPARTSSAMTAL_RETENTION_DAYS", 90)
    cutoff = now - timedelta(days=days)
    # Two runners at once (two machines): the second skips the rows the first holds and,
    # once the first's unit of work commits, no longer sees them as unpurged; one erasure,
    # one audit line.
    meetings = db.session.scalars(
        select(Trepartssamtal).where(Trepartssamtal.ends_at < cutoff,
                                     Trepartssamtal.purged_at.is_(None))
        .with_for_update(skip_locked=True, of=Trepartssamtal)
        .execution_options(populate_existing=True)
    ).all()
    for meeting in meetings:
        meeting._reference = None
        meeting.video_link = None
        meeting.consent = None
        meeting.purged_at = now
    if meetings:
        booking.audit(None, "purge_references", Trepartssamtal, f"count={len(meetings)} days={days}")
    return len(meetings)


# --- statistics without personal data ------------------------------------------------------------

GROUPINGS = ("week", "month", "agency")
MEASURES = ("booked", "held", "no_show", "cancelled")


@dataclass
class StatRow:
    group: str
    mode: MeetingMode
    booked: int = 0
    held: int = 0
    no_show: int = 0
    cancelled: int = 0


def statistics(first_day: date, last_day: date, by: str, zone: ZoneInfo | None = None) -> list[StatRow]:
    """Counts per week, month or agency and mode; every meeting booked counts as booked."""
    if by not in GROUPINGS:
        raise ValueError(by)
    zone = zone or ZoneInfo(current_app.config["TIMEZONE"])
    start, end = availability.local_day_bounds(first_day, last_day, zone)
    rows = db.session.execute(
        select(Trepartssamtal.id, Trepartssamtal.starts_at, Trepartssamtal.mode,
               Trepartssamtal.status, Agency.short_name)
        .join(TrepartssamtalParticipant, TrepartssamtalParticipant.trepartssamtal_id == Trepartssamtal.id)
        .join(Agency, Agency.id == TrepartssamtalParticipant.agency_id)
        .where(Trepartssamtal.starts_at >= start, Trepartssamtal.starts_at < end)
    ).all()
    counted: set[tuple] = set()
    table: dict[tuple[str, MeetingMode], StatRow] = {}
    for meeting_id, starts_at, mode, status, agency in rows:
        local = starts_at.astimezone(zone)
        if by == "week":
            year, week, _ = local.isocalendar()
            group = f"{year}-W{week:02d}"
        elif by == "month":
            group = f"{local.year}-{local.month:02d}"
        else:
            group = agency
        if (meeting_id, group) in counted:
            continue
        counted.add((meeting_id, group))
        row = table.setdefault((group, mode), StatRow(group, mode))
        row.booked += 1
        if status == MeetingStatus.held:
            row.held += 1
        elif status == MeetingStatus.no_show:
            row.no_show += 1
        elif status.is_cancelled:
            row.cancelled += 1
    order = list(MeetingMode)
    return sorted(table.values(), key=lambda r: (r.group, order.index(r.mode)))


@dataclass(frozen=True)
class ChartValue:
    """One bar of the statistics chart as it may be shown (office/core/export.py suppression).

    The chart draws totals over modes while the table lists each mode: a total shown exactly
    next to a suppressed part would give that part away, so such a total is hidden too.
    """

    height: int  # what the bar is drawn to: a small count at the threshold, a hidden one at 0
    label: str
    hidden: bool = False


def chart_values(rows: list[StatRow]) -> list[tuple[str, dict[str, ChartValue]]]:
    """Per group, the bar of each measure: exact, "<5", or hidden ("*") as explained above."""
    small = export.SMALL_COUNT
    groups: dict[str, list[StatRow]] = defaultdict(list)
    for row in rows:
        groups[row.group].append(row)
    result = []
    for group in sorted(groups):
        bars = {}
        for measure in MEASURES:
            parts = [getattr(row, measure) for row in groups[group]]
            total = sum(parts)
            if 0 < total < small:
                bars[measure] = ChartValue(small, f"<{small}")
            elif any(0 < part < small for part in parts):
                bars[measure] = ChartValue(0, "*", hidden=True)
            else:
                bars[measure] = ChartValue(total, str(total))
        result.append((group, bars))
    return result


def statistics_rows(rows: list[StatRow]) -> list[list]:
    """The rows of the export (office/core/export.py writes them): counts only."""
    return [[row.group, row.mode, row.booked, row.held, row.no_show, row.cancelled] for row in rows]


def count_meetings() -> int:
    return db.session.scalar(select(func.count()).select_from(Trepartssamtal))
