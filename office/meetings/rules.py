"""The meeting structure: series booked through office.booking.rules, members and who attends when.

A series is one Reservation (kind=meeting) made by office.booking.rules.book(), so its
occurrences pass every booking rule (opening hours, holidays, allocations, no overlap);
days the rules refuse, such as public holidays, are left out of the series. Attendance:
`every_meeting`, `odd_weeks`/`even_weeks` (ISO week parity, as for allocations) or
`monthly`: the first meeting held in each month, the extended session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from office.accounts.models import User
from office import feeds
from office.allocations.models import Term, TermKind
from office.allocations.rules import iso_week
from office.availability.rules import add_busy_source
from office.booking import recurrence
from office.booking import rules as booking
from office.booking.models import OccurrenceState, ReservationKind, ReservationOccurrence
from office.booking.rules import BookingRequest
from office.core.extensions import db
from office.core.transaction import conflicts_become
from office.meetings.models import (
    AgendaItem,
    Attendance,
    CaseCount,
    Gender,
    MeetingAction,
    MeetingDecision,
    MeetingGuest,
    MeetingMember,
    MeetingOccurrence,
    MeetingSeries,
    MinutesStatus,
)
from office.premises.models import Resource

NAME_TAKEN = _l("A meeting with this name exists.")


class MeetingRefused(Exception):
    status = 422

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def weekly_rule(weekday: int, last_day: date, interval: int = 1) -> str:
    """Every week (or every `interval` weeks) on a weekday until the last day."""
    return recurrence.build("WEEKLY", interval=interval, byday=recurrence.weekday_code(weekday),
                            until=last_day)


def twice_per_term_rule(term: Term, weekday: int = 2, until: date | None = None) -> str:
    """The steering group: the second `weekday` of the term's second and fifth month
    (February and May, September and November), until the term ends or `until`."""
    months = [2, 5] if term.kind == TermKind.spring else [9, 11]
    if until is not None and until > term.last_day:
        months = [2, 5, 9, 11]
    return recurrence.build("YEARLY", bymonth=months, byday=recurrence.weekday_code(weekday, 2),
                            until=until or term.last_day)


def create_meeting_series(*, name: str, resource: Resource, first_day: date, start_time: time,
                          end_time: time, rrule: str, members: list[tuple[User, Attendance]],
                          actor: User, description: str = "") -> MeetingSeries:
    """Book the series through office.booking.rules (days the rules refuse are left out) and add
    it with its members to the current transaction. Raises MeetingRefused, or
    booking.BookingRefused with the rules' reasons."""
    name = (name or "").strip()
    problems = []
    if not name:
        problems.append(str(_l("Give the meeting a name.")))
    elif db.session.scalar(select(MeetingSeries.id).where(MeetingSeries.name == name)):
        problems.append(str(NAME_TAKEN))
    if len({user.id for user, _ in members}) != len(members):
        problems.append(str(_l("A member is listed twice.")))
    if problems:
        raise MeetingRefused(problems)
    reservation = booking.book(BookingRequest(
        resource=resource, title=name, first_day=first_day, start_time=start_time,
        end_time=end_time, booked_by=actor, attendees=max(len(members), 1), rrule=rrule,
        kind=ReservationKind.meeting,
    ), allow_partial=True)
    series = MeetingSeries(name=name, description=description.strip(), reservation=reservation)
    series.members = [MeetingMember(user=user, attendance=attendance)
                      for user, attendance in members]
    db.session.add(series)
    # Another coordinator may have saved the same name since the check above.
    with conflicts_become(lambda: MeetingRefused([str(NAME_TAKEN)])):
        db.session.flush()
    booking.audit(actor, "create_meeting_series", series, f"reservation={reservation.id}")
    return series


def extended_days(occurrence_days: list[date]) -> set[date]:
    """The first meeting day of each month: the extended session."""
    firsts: dict[tuple[int, int], date] = {}
    for day in sorted(occurrence_days):
        firsts.setdefault((day.year, day.month), day)
    return set(firsts.values())


def attends(attendance: Attendance, day: date, extended: set[date]) -> bool:
    """Whether a member with this attendance pattern attends the meeting on `day`."""
    if attendance == Attendance.every_meeting:
        return True
    if attendance == Attendance.odd_weeks:
        return iso_week(day) % 2 == 1
    if attendance == Attendance.even_weeks:
        return iso_week(day) % 2 == 0
    return day in extended


@dataclass(frozen=True)
class MeetingDate:
    series: MeetingSeries
    occurrence: ReservationOccurrence
    day: date
    extended: bool
    attendees: tuple[User, ...]


def meeting_dates(series: MeetingSeries, first: date, last: date) -> list[MeetingDate]:
    """The active meetings of a series between two local dates, each with who attends."""
    zone = ZoneInfo(series.reservation.timezone)
    occurrences = [o for o in series.reservation.occurrences
                   if o.state == OccurrenceState.active]
    days = {o.id: o.starts_at.astimezone(zone).date() for o in occurrences}
    extended = extended_days(list(days.values()))
    dates = []
    for occurrence in occurrences:
        day = days[occurrence.id]
        if first <= day <= last:
            people = tuple(m.user for m in series.members if attends(m.attendance, day, extended))
            dates.append(MeetingDate(series, occurrence, day, day in extended, people))
    return dates


def my_meetings(user: User, first: date, last: date) -> list[MeetingDate]:
    """The meetings the user attends between two local dates, in time order."""
    memberships = db.session.scalars(
        select(MeetingMember).where(MeetingMember.user_id == user.id)
        .options(selectinload(MeetingMember.series))
    ).all()
    found = []
    for member in memberships:
        for meeting in meeting_dates(member.series, first, last):
            if any(person.id == user.id for person in meeting.attendees):
                found.append(meeting)
    return sorted(found, key=lambda m: m.occurrence.starts_at)


def all_series() -> list[MeetingSeries]:
    return list(db.session.scalars(select(MeetingSeries).order_by(MeetingSeries.name)))


def next_weeks(today: date, weeks: int = 8) -> tuple[date, date]:
    return today, today + timedelta(weeks=weeks)


def series_first_day(term: Term, today: date) -> date:
    return max(term.first_day, today - timedelta(days=today.weekday()))


def local_start(occurrence: ReservationOccurrence, zone_name: str) -> datetime:
    return occurrence.starts_at.astimezone(ZoneInfo(zone_name))


@add_busy_source
def meeting_busy_times(user_ids, start: datetime, end: datetime):
    """Members are busy at the meetings they attend (trepartssamtal proposals ask this)."""
    members = db.session.scalars(
        select(MeetingMember).where(MeetingMember.user_id.in_(list(user_ids)))
        .options(selectinload(MeetingMember.series))
    ).all()
    for member in members:
        zone = ZoneInfo(member.series.reservation.timezone)
        first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        for meeting in meeting_dates(member.series, first, last):
            occurrence = meeting.occurrence
            attending = any(person.id == member.user_id for person in meeting.attendees)
            if attending and occurrence.starts_at < end and start < occurrence.ends_at:
                yield member.user_id, occurrence.starts_at, occurrence.ends_at


# --- one meeting's work: agenda, notice, minutes ------------------------------------------------

class WorkRefused(Exception):
    """A meeting's work cannot change this way; the message says why (in the user's language)."""

    def __init__(self, message, status: int = 409):
        super().__init__(str(message))
        self.message = str(message)
        self.status = status


@dataclass(frozen=True)
class Sitting:
    """One meeting of a series: the series, its occurrence and (once written) its work."""

    series: MeetingSeries
    occurrence: ReservationOccurrence
    work: MeetingOccurrence | None

    @property
    def id(self) -> int:
        return self.occurrence.id


def find_sitting(occurrence_id: int) -> Sitting | None:
    """The meeting held at this occurrence of a series' booking, or None."""
    occurrence = db.session.get(ReservationOccurrence, occurrence_id)
    if occurrence is None:
        return None
    series = db.session.scalar(
        select(MeetingSeries).where(MeetingSeries.reservation_id == occurrence.reservation_id))
    if series is None:
        return None
    return Sitting(series, occurrence, db.session.get(MeetingOccurrence, occurrence.id))


def work_of(sitting: Sitting) -> MeetingOccurrence:
    """The meeting's work row, added to the transaction the first time something is written."""
    if sitting.work is not None:
        return sitting.work
    work = db.session.get(MeetingOccurrence, sitting.occurrence.id)
    if work is None:
        work = MeetingOccurrence(id=sitting.occurrence.id, series=sitting.series, minutes_notes="")
        db.session.add(work)
        db.session.flush()
    return work


def may_prepare(user: User | None, series: MeetingSeries) -> bool:
    """The coordinator (project leader) and the series' chair prepare agendas and minutes."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.is_coordinator or (series.chair_id is not None and series.chair_id == user.id)


def is_member(user: User | None, series: MeetingSeries) -> bool:
    return user is not None and any(m.user_id == user.id for m in series.members)


def is_staff_guest(user: User | None, sitting: Sitting) -> bool:
    return (user is not None and sitting.work is not None
            and any(g.user_id == user.id for g in sitting.work.guests))


def may_read(user: User | None, sitting: Sitting) -> bool:
    """Members, staff invited to this meeting and the preparers see its agenda and minutes."""
    return (may_prepare(user, sitting.series) or is_member(user, sitting.series)
            or is_staff_guest(user, sitting))


def minutes_shared(sitting: Sitting) -> bool:
    """Approved minutes the group decided to show to all staff."""
    work = sitting.work
    return work is not None and work.minutes_approved and work.minutes_shared_with_staff


def proposal_deadline(sitting: Sitting) -> datetime:
    """Members propose agenda items until `proposal_days` days before the meeting starts."""
    return sitting.occurrence.starts_at - timedelta(days=sitting.series.proposal_days)


def add_agenda_item(sitting: Sitting, actor: User, *, title: str, owner: User | None,
                    minutes: int | None, now: datetime) -> AgendaItem:
    """A preparer's item goes onto the agenda; a member's is a proposal until the deadline."""
    if may_prepare(actor, sitting.series):
        proposed = False
    elif is_member(actor, sitting.series):
        if now >= proposal_deadline(sitting):
            raise WorkRefused(_l("The time for proposing items to this meeting has passed."))
        proposed = True
    else:
        raise WorkRefused(_l("Only the group's members may propose items."), 403)
    work = work_of(sitting)
    position = max((item.position for item in work.items), default=0) + 1
    item = AgendaItem(meeting=work, title=title.strip(), owner=owner, minutes=minutes,
                      proposed=proposed, proposed_by=actor, position=position)
    db.session.add(item)
    db.session.flush()
    return item


def item_of(sitting: Sitting, item_id: int) -> AgendaItem | None:
    item = db.session.get(AgendaItem, item_id)
    return item if item is not None and item.meeting_id == sitting.occurrence.id else None


def accept_item(item: AgendaItem) -> None:
    """A member's proposal goes onto the agenda, after the items already there."""
    item.proposed = False
    item.position = max((i.position for i in item.meeting.items if not i.proposed), default=0) + 1


def carried_actions(sitting: Sitting) -> list[MeetingAction]:
    """Open actions from the series' earlier meetings: they come back on this agenda."""
    return list(db.session.scalars(
        select(MeetingAction)
        .join(MeetingOccurrence, MeetingOccurrence.id == MeetingAction.meeting_id)
        .join(ReservationOccurrence, ReservationOccurrence.id == MeetingOccurrence.id)
        .where(MeetingOccurrence.series_id == sitting.series.id,
               ReservationOccurrence.starts_at < sitting.occurrence.starts_at,
               MeetingAction.done_at.is_(None))
        .order_by(ReservationOccurrence.starts_at, MeetingAction.id)))


def _refuse_when_approved(work: MeetingOccurrence) -> None:
    if work.minutes_approved:
        raise WorkRefused(_l("The minutes are approved and can no longer be changed."))


def save_minutes(sitting: Sitting, *, notes: str, decisions: list[str], shared: bool) -> None:
    """The minutes' notes and decisions (replacing the earlier draft), before approval."""
    work = work_of(sitting)
    _refuse_when_approved(work)
    work.minutes_notes = notes.strip()
    work.minutes_shared_with_staff = shared
    work.decisions = [MeetingDecision(text=text) for text in decisions]
    db.session.flush()


def add_action(sitting: Sitting, *, text: str, owner: User | None, due_on: date | None
               ) -> MeetingAction:
    work = work_of(sitting)
    _refuse_when_approved(work)
    action = MeetingAction(meeting=work, text=text.strip(), owner=owner, due_on=due_on)
    db.session.add(action)
    db.session.flush()
    return action


def may_finish_action(user: User, action: MeetingAction) -> bool:
    return may_prepare(user, action.meeting.series) or action.owner_id == user.id


def finish_action(action: MeetingAction, now: datetime) -> None:
    if action.done_at is not None:
        raise WorkRefused(_l("This action is already done."))
    action.done_at = now


def approve_minutes(sitting: Sitting, actor: User, now: datetime) -> None:
    """Approved minutes are read-only and open to the members (and all staff if shared)."""
    work = work_of(sitting)
    _refuse_when_approved(work)
    if not (work.minutes_notes or work.decisions or work.actions):
        raise WorkRefused(_l("Write the minutes before approving them."), 422)
    work.minutes_status, work.approved_at, work.approved_by = MinutesStatus.approved, now, actor
    booking.audit(actor, "approve_minutes", work, f"series={sitting.series.id}")


def attendees_of(sitting: Sitting) -> list[User]:
    """Who attends this meeting by their pattern (and the chair, who always does)."""
    zone = ZoneInfo(sitting.series.reservation.timezone)
    day = sitting.occurrence.starts_at.astimezone(zone).date()
    found = {d.occurrence.id: d for d in meeting_dates(sitting.series, day, day)}
    people = list(found[sitting.occurrence.id].attendees) if sitting.occurrence.id in found else []
    chair = sitting.series.chair
    if chair is not None and all(p.id != chair.id for p in people):
        people.append(chair)
    return people


# --- the notice: agenda and calendar file by mail -------------------------------------------------

@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    locale: str


def notice_recipients(sitting: Sitting) -> list[Recipient]:
    """The attendees with an address, then the guests of this meeting (each address once)."""
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    found: dict[str, Recipient] = {}
    for user in attendees_of(sitting):
        if user.active and user.email:
            found.setdefault(user.email.lower(), Recipient(user.email, user.name,
                                                          user.locale or default))
    for guest in (sitting.work.guests if sitting.work else []):
        found.setdefault(guest.email.lower(), guest_recipient(guest))
    return list(found.values())


def _when(sitting: Sitting, locale: str) -> str:
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    start = sitting.occurrence.starts_at.astimezone(zone)
    end = sitting.occurrence.ends_at.astimezone(zone)
    return (f"{format_date(start.date(), 'full', locale=locale)} "
            f"{format_time(start.time(), 'short', locale=locale)}–"
            f"{format_time(end.time(), 'short', locale=locale)}")


def _place(sitting: Sitting) -> str:
    resource = sitting.series.reservation.resource
    return ", ".join(p for p in (resource.name, resource.site.name, resource.site.address) if p)


def agenda_lines(sitting: Sitting) -> list[str]:
    """The agenda as text (in the active language): items, then the open actions carried over."""
    from flask_babel import format_date as babel_format_date
    from flask_babel import gettext as _

    work = sitting.work
    items = [i for i in (work.items if work else []) if not i.proposed]
    lines = []
    for number, item in enumerate(items, start=1):
        extra = [item.owner.name] if item.owner else []
        if item.minutes:
            extra.append(_("%(num)d min", num=item.minutes))
        lines.append(f"{number}. {item.title}" + (f" ({', '.join(extra)})" if extra else ""))
    carried = carried_actions(sitting)
    if carried:
        lines.append("")
        lines.append(_("Open actions from earlier meetings:"))
        for action in carried:
            who = f" – {action.owner.name}" if action.owner else ""
            due = f", {babel_format_date(action.due_on, 'short')}" if action.due_on else ""
            lines.append(f"- {action.text}{who}{due}")
    return lines or [_("The agenda is not set yet.")]


def notice_calendar(sitting: Sitting, now: datetime) -> str:
    """The meeting as a calendar file (one event; METHOD PUBLISH, so clients offer to add it).

    Its UID names the occurrence, not the series: a notice sent again (a new agenda, a new
    time) updates the event it sent before instead of adding one, and it never replaces the
    member's whole series (``meeting-<reservation>-member-<member>`` in feeds and mails).
    SEQUENCE follows the booking's, so a moved meeting's notice wins over the earlier one.
    """
    from office.core.mail import external_url

    link = external_url("meetings.show_occurrence", meeting_occurrence_id=sitting.occurrence.id)
    reservation = sitting.occurrence.reservation
    event = feeds.FeedEvent(
        uid=f"meeting-occurrence-{sitting.occurrence.id}", summary=sitting.series.name,
        start=sitting.occurrence.starts_at, end=sitting.occurrence.ends_at, last_modified=now,
        sequence=reservation.sequence or 0,
        created=reservation.created_at, location=_place(sitting), url=link)
    return feeds.calendar_file([event], sitting.series.name, method="PUBLISH", now=now).decode()


def send_notice(sitting: Sitting, actor: User, now: datetime,
                recipients: list[Recipient] | None = None) -> int:
    """Queue the notice (agenda and .ics) to every attendee and guest, or to `recipients`
    only (a guest added later); returns how many mails were queued."""
    from flask_babel import gettext as _

    from office.core.mail import external_url, queue_mail

    work = work_of(sitting)
    link = external_url("meetings.show_occurrence", meeting_occurrence_id=sitting.occurrence.id)
    ics = notice_calendar(sitting, now)
    chosen = notice_recipients(sitting) if recipients is None else recipients
    for person in chosen:
        with force_locale(person.locale):
            subject = _("Notice: %(name)s, %(when)s", name=sitting.series.name,
                        when=_when(sitting, person.locale))
            body = "\n".join([
                _("Hello %(name)s,", name=person.name), "",
                _("Welcome to %(name)s.", name=sitting.series.name),
                _("When: %(when)s", when=_when(sitting, person.locale)),
                _("Where: %(place)s", place=_place(sitting)), "",
                _("Agenda:"), *agenda_lines(sitting), "",
                _("The agenda and, once approved, the minutes (after logging in): %(url)s", url=link),
                _("The attached calendar file adds the meeting to your calendar."),
            ])
        queue_mail(person.email, person.locale, subject, body, ics=ics, ics_method="PUBLISH",
                   topic=f"meeting:{sitting.series.id}", kind="meeting_notice")
    if recipients is None:
        work.notice_sent_at = now
    booking.audit(actor, "send_meeting_notice", work, f"mails={len(chosen)}")
    return len(chosen)


# --- the case workers' group: cases raised per agency and gender (numbers only) -------------------

def may_record_cases(user: User | None, sitting: Sitting) -> bool:
    """The group's members and preparers record the counts of a series that counts cases."""
    return sitting.series.counts_cases and (
        may_prepare(user, sitting.series) or is_member(user, sitting.series))


def case_counts_of(sitting: Sitting) -> dict[tuple[int, Gender], int]:
    work = sitting.work
    return {(c.agency_id, c.gender): c.cases for c in (work.case_counts if work else [])}


def record_cases(sitting: Sitting, counts: dict[tuple[int, Gender], int]) -> None:
    """Replace the meeting's counts; zero and empty cells are not stored."""
    if not sitting.series.counts_cases:
        raise WorkRefused(_l("This group does not count cases."))
    work = work_of(sitting)
    work.case_counts = [CaseCount(agency_id=agency_id, gender=gender, cases=cases)
                        for (agency_id, gender), cases in sorted(counts.items()) if cases]
    db.session.flush()


# --- guests for one meeting ------------------------------------------------------------------------

def add_guest(sitting: Sitting, *, user: User | None, name: str, organisation: str,
              email: str) -> MeetingGuest:
    """A colleague (user) or an outside guest (name, organisation, address) for this meeting only."""
    work = work_of(sitting)
    if user is not None:
        if is_member(user, sitting.series):
            raise WorkRefused(_l("This person is a member of the group already."))
        name, organisation, email = user.name, user.agency.short_name, user.email
    email = email.strip()
    if any(g.email.lower() == email.lower() for g in work.guests):
        raise WorkRefused(_l("This guest is invited already."))
    guest = MeetingGuest(meeting=work, user=user, name=name.strip(),
                         organisation=organisation.strip(), email=email)
    db.session.add(guest)
    with conflicts_become(lambda: WorkRefused(_l("This guest is invited already."))):
        db.session.flush()
    return guest


def guest_recipient(guest: MeetingGuest) -> Recipient:
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    locale = (guest.user.locale if guest.user is not None else None) or default
    return Recipient(guest.email, guest.name, locale)


@add_busy_source
def guest_busy_times(user_ids, start: datetime, end: datetime):
    """Staff invited to one meeting are busy then (trepartssamtal proposals ask this)."""
    rows = db.session.execute(
        select(MeetingGuest.user_id, ReservationOccurrence.starts_at, ReservationOccurrence.ends_at)
        .join(ReservationOccurrence, ReservationOccurrence.id == MeetingGuest.meeting_id)
        .where(MeetingGuest.user_id.in_(list(user_ids)),
               ReservationOccurrence.state == OccurrenceState.active,
               ReservationOccurrence.starts_at < end, ReservationOccurrence.ends_at > start))
    yield from rows


def every_six_months_rule(first_day: date, weekday: int = 2) -> str:
    """The reference group: the second `weekday` of every sixth month from `first_day`'s
    month, for two years."""
    return recurrence.build("MONTHLY", interval=6, byday=recurrence.weekday_code(weekday, 2),
                            until=first_day + timedelta(days=2 * 365))


def yearly_rule(first_day: date, weekday: int = 2) -> str:
    """The employer forum once a year: the second `weekday` of `first_day`'s month, for
    three years."""
    return recurrence.build("YEARLY", bymonth=[first_day.month],
                            byday=recurrence.weekday_code(weekday, 2),
                            until=first_day + timedelta(days=3 * 365))
