"""Planning rules: days and programme, venue bookings, publishing, cancelling, the year.

Rooms of our sites are booked through `office.booking.rules` (kind=seminar), the one place
with the booking rules: `venue_clashes()` lists what stands in the way date by date
(nothing is written), `publish()` books every day's room or refuses with the list.
Every function adds to the caller's transaction and never commits: a publish that loses a
room on its second day leaves nothing of the first (office/core/transaction.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import extract, inspect, or_, select

from office.accounts.models import Agency, User
from office.booking import rules as booking
from office.booking.models import Reservation, ReservationKind
from office.booking.rules import Problem
from office.core.database import utcnow
from office.core.extensions import db
from seminars import mail
from seminars.calendar import ends_at, starts_at  # noqa: F401 - planning.starts_at for callers
from seminars.models import (
    Presenter,
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarDay,
    SeminarKind,
    SeminarSession,
    SeminarState,
    VenueKind,
    seminar_invited_agency,
)

MESSAGES = {
    "no_days": _l("Add at least one day to the programme."),
    "no_room": _l("Choose a room for this day (the venue is our premises)."),
    "no_address": _l("Give the external address."),
    "no_link": _l("Give the link to the online meeting."),
    "not_draft": _l("Only a draft can be published."),
    "day_exists": _l("The seminar already has this day."),
    "session_outside_day": _l("The session must lie within the day's hours."),
    "cannot_change": _l("A cancelled or finished seminar cannot be changed."),
    "session_has_places": _l("People have signed up for this session: it keeps its own sign-up."),
}


# A planning problem is the same thing as a booking problem: a code, a message, maybe a day.
PlanProblem = Problem


def plan_problem(code: str, day: date | None = None) -> PlanProblem:
    return PlanProblem(code, str(MESSAGES[code]), day)


class PlanningRefused(Exception):
    status = 422

    def __init__(self, problems):
        super().__init__("; ".join(getattr(p, "code", "?") for p in problems))
        self.problems = problems


class PlanningConflict(PlanningRefused):
    """A room is taken (HTTP 409)."""

    status = 409


# --- time -------------------------------------------------------------------------

def local_start(seminar: Seminar, day: SeminarDay) -> datetime:
    return datetime.combine(day.day, day.start_time, tzinfo=ZoneInfo(seminar.timezone))


def local_end(seminar: Seminar, day: SeminarDay) -> datetime:
    return datetime.combine(day.day, day.end_time, tzinfo=ZoneInfo(seminar.timezone))


def end_of_local_day(day: date, zone_name: str) -> datetime:
    """The deadline "until 12 May" means until midnight that night, local time."""
    return booking.to_utc(day + timedelta(days=1), time(0, 0), ZoneInfo(zone_name))


def deadline_day(seminar: Seminar) -> date | None:
    if seminar.registration_deadline is None:
        return None
    local = seminar.registration_deadline.astimezone(ZoneInfo(seminar.timezone))
    return (local - timedelta(microseconds=1)).date()


# --- the venue --------------------------------------------------------------------------

@dataclass(frozen=True)
class Venue:
    place: str    # "Stora salen, Drivhuset", or the external address
    address: str  # the street address ("" when nobody gave one)

    @property
    def map_url(self) -> str:
        """An OpenStreetMap search for the address (no key, no tracking script on our page)."""
        return f"https://www.openstreetmap.org/search?query={quote_plus(self.address)}" if self.address else ""


def venues(seminar: Seminar) -> list[Venue]:
    """Where people go: the external address, or each room of ours with its site's address."""
    if seminar.venue_kind == VenueKind.external:
        address = seminar.external_address.strip()
        return [Venue(address, address)] if address else []
    found: list[Venue] = []
    if seminar.uses_our_rooms:
        for seminar_day in seminar.days:
            resource = seminar_day.resource
            if resource is not None:
                venue = Venue(f"{resource.name}, {resource.site.name}", (resource.site.address or "").strip())
                if venue not in found:
                    found.append(venue)
    return found


def by_term(seminars: list[Seminar]) -> list[tuple[str, list[Seminar]]]:
    """Seminars (first day first) under "Våren 2027" / "Hösten 2026": spring is January to
    June, autumn July to December, as the agencies' terms run."""
    groups: list[tuple[str, list[Seminar]]] = []
    for seminar in seminars:
        day = seminar.first_day
        label = str(_l("Spring %(year)d", year=day.year) if day.month <= 6
                    else _l("Autumn %(year)d", year=day.year))
        if not groups or groups[-1][0] != label:
            groups.append((label, []))
        groups[-1][1].append(seminar)
    return groups


def deadline_text(seminar: Seminar, today: date) -> str:
    """The last day to register as people say it: "10 mars" (the year only when it is not this one)."""
    day = deadline_day(seminar)
    if day is None:
        return ""
    return format_date(day, "d MMMM" if day.year == today.year else "d MMMM y")


# --- the programme ------------------------------------------------------------------

def editable(seminar: Seminar) -> None:
    if seminar.state in (SeminarState.cancelled, SeminarState.finished):
        raise PlanningRefused([plan_problem("cannot_change")])


# What participants are told about when it changes (the mail and the calendar show these).
ANNOUNCED = ("title", "description", "venue_kind", "external_address", "online_url")


def save_details(seminar: Seminar, actor: User, agencies: list[Agency],
                 capacity: int | None = None) -> None:
    """Save the seminar's details (already set on it); participants hear of a change.

    Saved unchanged, nothing happens: no mail, no new SEQUENCE, no audit line. More places
    on a published seminar promote people from the waiting list.
    """
    from seminars.registration import apply_capacity

    is_new = seminar.id is None
    if not is_new:
        editable(seminar)
    # Read what changed before anything flushes (a flush forgets the attribute history);
    # the caller sets the fields without a query in between.
    with db.session.no_autoflush:
        state = inspect(seminar)
        announced = not is_new and any(state.attrs[name].history.has_changes() for name in ANNOUNCED)
        seminar.invited_agencies = agencies
        changed = is_new or db.session.is_modified(seminar)
    if is_new:
        seminar.created_by_id = actor.id
        db.session.add(seminar)
    if capacity is not None and capacity != seminar.capacity:
        apply_capacity(seminar, capacity)  # the caller locked the seminar's row
        changed = True
    if announced and seminar.state == SeminarState.published:
        db.session.flush()
        announce_change(seminar)
    db.session.flush()
    if changed:
        booking.audit(actor, "create" if is_new else "change", seminar)


def announce_change(seminar: Seminar) -> None:
    seminar.sequence += 1
    mail.queue_for_seminar("changed", seminar)


def add_day(seminar: Seminar, actor: User, *, day: date, start_time: time, end_time: time,
            resource_id: int | None) -> SeminarDay:
    """A day of the programme; on a published seminar its room is booked at once."""
    editable(seminar)
    if any(d.day == day for d in seminar.days):
        raise PlanningRefused([plan_problem("day_exists", day)])
    seminar_day = SeminarDay(day=day, start_time=start_time, end_time=end_time,
                             resource_id=resource_id)
    seminar.days.append(seminar_day)
    db.session.flush()
    if seminar.state == SeminarState.published:
        problems = _day_problems(seminar, seminar_day, actor)
        if problems:
            raise PlanningConflict(problems)
        _book_day(seminar, seminar_day, actor)
        announce_change(seminar)
    return seminar_day


def remove_day(seminar: Seminar, seminar_day: SeminarDay, actor: User) -> None:
    """Remove a day (its room booking is cancelled)."""
    editable(seminar)
    reservation = seminar_day.reservation
    seminar.days.remove(seminar_day)
    if seminar.state == SeminarState.published:
        announce_change(seminar)
    db.session.flush()
    if reservation is not None and reservation.cancelled_at is None:
        booking.cancel_reservation(reservation, actor)


def add_session(seminar_day: SeminarDay, *, start_time: time, end_time: time, title: str,
                room: str, capacity: int | None, presenters: str,
                sign_up: bool = False) -> SeminarSession:
    """A programme item; presenters one per line as "Name, Agency or organisation"."""
    editable(seminar_day.seminar)
    if start_time < seminar_day.start_time or end_time > seminar_day.end_time:
        raise PlanningRefused([plan_problem("session_outside_day", seminar_day.day)])
    session = SeminarSession(start_time=start_time, end_time=end_time, title=title.strip(),
                             room=room.strip(), capacity=capacity, sign_up=sign_up)
    session.presenters = parse_presenters(presenters)
    seminar_day.sessions.append(session)
    return session


def change_session(session: SeminarSession, *, start_time: time, end_time: time, title: str,
                   room: str, capacity: int | None, presenters: str, sign_up: bool) -> list:
    """Change a programme item; more places promote from its waiting list (no commit).

    Its own sign-up cannot be switched off while people hold places in it.
    """
    from seminars.registration import fill_session_from_waiting_list, lock_seminar

    seminar_day = session.seminar_day
    editable(seminar_day.seminar)
    if start_time < seminar_day.start_time or end_time > seminar_day.end_time:
        raise PlanningRefused([plan_problem("session_outside_day", seminar_day.day)])
    if session.sign_up and not sign_up and any(p.status != RegistrationStatus.cancelled for p in session.places):
        raise PlanningRefused([plan_problem("session_has_places", seminar_day.day)])
    lock_seminar(seminar_day.seminar_id)
    session.start_time, session.end_time = start_time, end_time
    session.title, session.room = title.strip(), room.strip()
    session.capacity, session.sign_up = capacity, sign_up
    new_presenters = parse_presenters(presenters)
    if [_presenter_line(p) for p in session.presenters] != [_presenter_line(p) for p in new_presenters]:
        session.presenters = new_presenters
    db.session.flush()
    return fill_session_from_waiting_list(session) if sign_up else []


def presenters_text(session: SeminarSession) -> str:
    """The presenters as the form shows them: one per line, "Name, Agency or organisation"."""
    return "\n".join(_presenter_line(p) for p in session.presenters)


def _presenter_line(presenter: Presenter) -> str:
    where = presenter.agency.short_name if presenter.agency else presenter.organisation
    return f"{presenter.name}, {where}" if where else presenter.name


def parse_presenters(text: str) -> list[Presenter]:
    """Lines "Name, Agency": the agency is linked when its name or short name matches."""
    agencies = db.session.scalars(select(Agency)).all()
    by_name = {a.short_name.lower(): a for a in agencies} | {a.name.lower(): a for a in agencies}
    presenters = []
    for line in (text or "").splitlines():
        name, _, organisation = (part.strip() for part in line.partition(","))
        if not name:
            continue
        agency = by_name.get(organisation.lower())
        presenters.append(Presenter(name=name[:120], agency=agency,
                                    organisation="" if agency else organisation[:200]))
    return presenters


# --- venue bookings -----------------------------------------------------------------

def _booking_request(seminar: Seminar, seminar_day: SeminarDay, actor: User):
    return booking.BookingRequest(
        resource=seminar_day.resource, title=seminar.title, first_day=seminar_day.day,
        start_time=seminar_day.start_time, end_time=seminar_day.end_time, booked_by=actor,
        attendees=seminar.capacity, kind=ReservationKind.seminar,
        replacing=seminar_day.reservation,
    )


def _day_problems(seminar: Seminar, seminar_day: SeminarDay, actor: User) -> list:
    if not seminar.uses_our_rooms:
        return []
    if seminar_day.resource is None:
        return [plan_problem("no_room", seminar_day.day)]
    if seminar_day.reservation is not None and seminar_day.reservation.cancelled_at is None:
        return []  # already booked
    return booking.check_booking(_booking_request(seminar, seminar_day, actor)).problems


def venue_clashes(seminar: Seminar, actor: User) -> list:
    """Everything that stands in the way of publishing, date by date; nothing is written."""
    problems: list = []
    if not seminar.days:
        problems.append(plan_problem("no_days"))
    if seminar.venue_kind == VenueKind.external and not seminar.external_address.strip():
        problems.append(plan_problem("no_address"))
    if seminar.venue_kind in (VenueKind.online, VenueKind.hybrid) and not seminar.online_url.strip():
        problems.append(plan_problem("no_link"))
    for seminar_day in seminar.days:
        problems.extend(_day_problems(seminar, seminar_day, actor))
    return problems


def _book_day(seminar: Seminar, seminar_day: SeminarDay, actor: User) -> None:
    if not seminar.uses_our_rooms or seminar_day.resource is None:
        return
    if seminar_day.reservation is not None and seminar_day.reservation.cancelled_at is None:
        return
    seminar_day.reservation = booking.book(_booking_request(seminar, seminar_day, actor))


def publish(seminar: Seminar, actor: User) -> None:
    """Book the rooms and open registration; refuses with every clash, date by date.

    Someone may take a room between the check and the booking: the refusal then leaves
    the rooms of earlier days unbooked too, as the whole transaction is undone.
    """
    if seminar.state != SeminarState.draft:
        raise PlanningRefused([plan_problem("not_draft")])
    problems = venue_clashes(seminar, actor)
    if problems:
        raise PlanningConflict(problems)
    try:
        for seminar_day in list(seminar.days):
            _book_day(seminar, seminar_day, actor)
    except booking.BookingRefused as refused:
        raise PlanningConflict(refused.problems) from None
    seminar.state = SeminarState.published
    booking.audit(actor, "publish", seminar)


def cancel_seminar(seminar: Seminar, actor: User) -> None:
    """Cancel: everyone registered is told, the rooms are given back."""
    editable(seminar)
    seminar.state = SeminarState.cancelled
    seminar.sequence += 1
    mail.queue_for_seminar("cancelled", seminar)
    booking.audit(actor, "cancel", seminar)
    for seminar_day in seminar.days:
        reservation = seminar_day.reservation
        if reservation is not None and reservation.cancelled_at is None:
            booking.cancel_reservation(reservation, actor)


def finish_seminar(seminar: Seminar, actor: User | None) -> None:
    seminar.state = SeminarState.finished
    booking.audit(actor, "finish", seminar)


def finish_past_seminars(now: datetime | None = None) -> int:
    """Mark published seminars whose last day has ended as finished (scheduled job).

    The caller's unit of work commits (seminars/cli.py).
    """
    now = now or utcnow()
    done = 0
    # SKIP LOCKED: a second runner (another machine) leaves what the first holds until the
    # first one's unit of work commits.
    published = select(Seminar).where(Seminar.state == SeminarState.published).with_for_update(
        skip_locked=True, of=Seminar).execution_options(populate_existing=True)
    for seminar in db.session.scalars(published):
        end = ends_at(seminar)
        if end is not None and end <= now:
            seminar.state = SeminarState.finished
            done += 1
    return done


# --- the yearly plan ------------------------------------------------------------------

def seminars_of_year(year: int, kind: SeminarKind | None = None,
                     agency_id: int | None = None, include_drafts: bool = True) -> list[Seminar]:
    """Seminars with a day in the year, first day first; filtered by kind and agency."""
    query = (select(Seminar).join(SeminarDay)
             .where(extract("year", SeminarDay.day) == year).distinct())
    if kind is not None:
        query = query.where(Seminar.kind == kind)
    if not include_drafts:
        query = query.where(Seminar.state != SeminarState.draft)
    if agency_id is not None:
        invited = select(seminar_invited_agency.c.seminar_id).where(
            seminar_invited_agency.c.agency_id == agency_id)
        presenting = (select(SeminarDay.seminar_id).join(SeminarSession).join(Presenter)
                      .where(Presenter.agency_id == agency_id))
        query = query.where(or_(Seminar.id.in_(invited), Seminar.id.in_(presenting)))
    seminars = db.session.scalars(query).unique().all()
    return sorted(seminars, key=lambda s: (s.first_day or date.max, s.id))


def meeting_series_of_year(year: int, agency_id: int | None = None) -> list[Reservation]:
    """The recurring meetings (styrgrupp, arbetsgrupp ...) that start in or run into the year."""
    query = select(Reservation).where(
        Reservation.kind == ReservationKind.meeting, Reservation.cancelled_at.is_(None),
        extract("year", Reservation.first_day) <= year,
    ).order_by(Reservation.first_day)
    if agency_id is not None:
        query = query.where(Reservation.agency_id == agency_id)
    return [r for r in db.session.scalars(query) if r.rrule or r.first_day.year == year]


def same_weekday_next_year(day: date) -> date:
    """The day a year later moved to the nearest date with the same weekday."""
    try:
        anniversary = day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        anniversary = date(day.year + 1, 2, 28)
    shift = (day.weekday() - anniversary.weekday() + 3) % 7 - 3
    return anniversary + timedelta(days=shift)


def copy_to_next_year(seminar_ids: list[int], actor: User) -> list[Seminar]:
    """Drafts of the chosen seminars, their days moved a year (same weekday, nearest)."""
    copies = []
    for original in db.session.scalars(select(Seminar).where(Seminar.id.in_(seminar_ids))
                                       .order_by(Seminar.id)):
        copy = Seminar(
            title=original.title, kind=original.kind, description=original.description,
            audience=original.audience, audience_note=original.audience_note,
            venue_kind=original.venue_kind, external_address=original.external_address,
            online_url=original.online_url, capacity=original.capacity,
            timezone=original.timezone, state=SeminarState.draft, copied_from_id=original.id,
            created_by_id=actor.id, invited_agencies=list(original.invited_agencies),
        )
        if original.registration_deadline is not None and original.days:
            lead = original.days[0].day - deadline_day(original)
            new_first = same_weekday_next_year(original.days[0].day)
            copy.registration_deadline = end_of_local_day(new_first - lead, original.timezone)
        for old_day in original.days:
            new_day = SeminarDay(day=same_weekday_next_year(old_day.day),
                                 start_time=old_day.start_time, end_time=old_day.end_time,
                                 resource_id=old_day.resource_id)
            for old in old_day.sessions:
                new_day.sessions.append(SeminarSession(
                    start_time=old.start_time, end_time=old.end_time, title=old.title,
                    room=old.room, capacity=old.capacity, sign_up=old.sign_up,
                    presenters=[Presenter(name=p.name, agency_id=p.agency_id,
                                          organisation=p.organisation) for p in old.presenters],
                ))
            copy.days.append(new_day)
        db.session.add(copy)
        copies.append(copy)
    db.session.flush()
    for copy in copies:
        booking.audit(actor, "copy", copy, f"from_seminar={copy.copied_from_id}")
    return copies


# --- reports ----------------------------------------------------------------------------

def attendance_by_organisation(seminar: Seminar) -> list[dict]:
    """Registered and present (on any day, and day by day), per agency or organisation."""
    rows: dict[str, dict] = {}
    day_ids = [d.id for d in seminar.days]
    for registration in seminar.registrations:
        if registration.status != RegistrationStatus.confirmed:
            continue
        key = registration.agency.name if registration.agency else (registration.organisation or "–")
        row = rows.setdefault(key, {"organisation": key, "agency": registration.agency,
                                    "registered": 0, "present": 0, "present_by_day": [0] * len(day_ids)})
        row["registered"] += 1
        row["present"] += 1 if registration.attendances else 0
        for i, day_id in enumerate(day_ids):
            row["present_by_day"][i] += 1 if registration.present_on(day_id) else 0
    return sorted(rows.values(), key=lambda r: r["organisation"].lower())


def day_for_check_in(seminar: Seminar, today: date) -> SeminarDay | None:
    """Today's day; before the seminar its first day, after it its last."""
    for seminar_day in seminar.days:
        if seminar_day.day >= today:
            return seminar_day
    return seminar.days[-1] if seminar.days else None


def participants(seminar: Seminar) -> list[Registration]:
    return [r for r in seminar.registrations if r.status == RegistrationStatus.confirmed]
