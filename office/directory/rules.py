"""Who does what: listing and searching the directory, the days people are in, who may edit.

Searching happens in Python on purpose: SQLite's lower() folds ASCII only, so "ÅSA" would not
find "Åsa" there while it would on PostgreSQL. The directory is the staff of one premises
(hundreds of people at most), loaded with one query per table, so casefolding in Python is
cheap and gives the same answer on both databases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from office.accounts.models import Agency, Unit, User
from office.allocations import rules as allocation_rules
from office.allocations.models import Allocation
from office.availability import rules as availability
from office.booking.models import (
    OccurrenceState,
    Reservation,
    ReservationKind,
    ReservationOccurrence,
)
from office.core.extensions import db
from office.core.i18n import local_zone, today_local
from office.directory.models import DirectoryEntry, UnitDescription
from office.premises.models import Resource
from office.premises.rules import closed_days

# How far ahead the derived days look: two weeks show an every-other-week pattern.
DAYS_AHEAD = 14
MAX_QUERY_LENGTH = 100
OWN_KINDS = (ReservationKind.booking, ReservationKind.trepartssamtal)

PATTERN_NOTES = {
    "every_week": _l("every week"),
    "odd_weeks": _l("odd weeks"),
    "even_weeks": _l("even weeks"),
    "every_n_weeks": _l("every %(n)d weeks"),
    "weeks_of_month": _l("some weeks of the month"),
}


@dataclass
class Presence:
    """Which days a person is in the premises, and where that knowledge comes from."""

    override: str = ""
    # "Tue, Thu (odd weeks)", one line per allocation of the person's agency.
    allocation_patterns: list[str] = field(default_factory=list)
    # The coming days (today included) with an allocation or a booking of their own.
    allocated_days: set[date] = field(default_factory=set)
    booked_days: set[date] = field(default_factory=set)

    @property
    def coming_days(self) -> list[date]:
        return sorted(self.allocated_days | self.booked_days)

    @property
    def next_day(self) -> date | None:
        days = self.coming_days
        return days[0] if days else None

    @property
    def known(self) -> bool:
        return bool(self.override or self.allocation_patterns or self.booked_days)


@dataclass
class Listing:
    user: User
    entry: DirectoryEntry | None
    presence: Presence

    @property
    def role(self) -> str:
        return (self.entry.role if self.entry else "") or self.user.title

    @property
    def email(self) -> str:
        return (self.entry.email if self.entry else "") or self.user.email

    def matches(self, terms: list[str]) -> bool:
        unit = self.user.unit
        text = " ".join((
            self.user.name, self.user.agency.name, self.user.agency.short_name,
            unit.name if unit else "", self.role, self.user.title,
            self.entry.help_with if self.entry else "",
        )).casefold()
        return all(term in text for term in terms)


@dataclass
class UnitGroup:
    agency: Agency
    unit: Unit | None
    description: str
    listings: list[Listing]


def search_terms(query: str) -> list[str]:
    return query.casefold().split()[:10]


def directory(query: str = "") -> list[UnitGroup]:
    """Active staff grouped by agency and unit; with a query, only those matching every word."""
    users = db.session.scalars(
        select(User).where(User.active.is_(True))
        .options(selectinload(User.agency).selectinload(Agency.units), selectinload(User.unit))
    ).all()
    entries = {e.user_id: e for e in db.session.scalars(select(DirectoryEntry))}
    presences = presence_of(users, entries)
    terms = search_terms(query)
    listings = [Listing(u, entries.get(u.id), presences[u.id]) for u in users]
    listings = [listing for listing in listings if listing.matches(terms)]
    return _grouped(listings)


def _grouped(listings: list[Listing]) -> list[UnitGroup]:
    descriptions = {d.unit_id: d.description for d in db.session.scalars(select(UnitDescription))}
    groups: dict[tuple[int, int | None], UnitGroup] = {}
    for listing in listings:
        user = listing.user
        key = (user.agency_id, user.unit_id)
        if key not in groups:
            groups[key] = UnitGroup(user.agency, user.unit,
                                    descriptions.get(user.unit_id, "") if user.unit_id else "", [])
        groups[key].listings.append(listing)
    # "#klarframtid" sorts under K, as people read it.
    ordered = sorted(groups.values(), key=lambda g: (g.agency.name.lstrip("#").casefold(),
                                                     g.unit is not None,
                                                     g.unit.name.casefold() if g.unit else ""))
    for group in ordered:
        group.listings.sort(key=lambda listing: listing.user.name.casefold())
    return ordered


def listing_of(user: User) -> Listing:
    entry = db.session.get(DirectoryEntry, user.id)
    return Listing(user, entry, presence_of([user], {user.id: entry} if entry else {})[user.id])


# --- which days people are in ----------------------------------------------------------

def describe_pattern(allocation: Allocation) -> str:
    weeks = str(PATTERN_NOTES[allocation.pattern.value]) % {"n": allocation.interval_weeks}
    return f"{allocation_rules.weekday_list(allocation)} ({weeks})"


def presence_of(users, entries: dict[int, DirectoryEntry]) -> dict[int, Presence]:
    """Each person's days in the premises over the coming DAYS_AHEAD days.

    Derived from the allocations of their agency (a part-time agency holds its desk on the
    days its people come), kept to the days the person works (their working hours) and is
    not away all day (absences), and from their own bookings; the entry's override, when
    written, is what the directory shows instead.
    """
    first = today_local()
    last = first + timedelta(days=DAYS_AHEAD - 1)
    result = {u.id: Presence(override=entries[u.id].days_override if u.id in entries else "")
              for u in users}
    agency_days = _allocated_days_by_agency({u.agency_id for u in users}, first, last)
    ids = [u.id for u in users]
    hours = availability.working_hours_for(ids) if ids else {}
    away = availability.absences_between(ids, *availability.local_day_bounds(first, last, local_zone())) \
        if ids else {}
    for user in users:
        patterns, days = agency_days.get(user.agency_id, ([], set()))
        result[user.id].allocation_patterns = patterns
        # Of the agency's days, those the person works (their working hours) and is not away.
        result[user.id].allocated_days = {
            d for d in days if d.weekday() in hours.get(user.id, {})
            and not _away_all_day(d, hours[user.id][d.weekday()], away.get(user.id, []))}
    for user_id, day in _booked_days([u.id for u in users], first, last):
        result[user_id].booked_days.add(day)
    return result


def _away_all_day(day: date, working: tuple[time, time], absences) -> bool:
    """Whether one absence covers the person's working hours of the day."""
    zone = local_zone()
    start, end = (datetime.combine(day, moment, zone) for moment in working)
    return any(starts_at <= start and end <= ends_at for starts_at, ends_at in absences)


def _allocated_days_by_agency(agency_ids, first: date, last: date):
    if not agency_ids:
        return {}
    allocations = db.session.scalars(
        select(Allocation).where(Allocation.agency_id.in_(agency_ids),
                                 Allocation.last_day >= first, Allocation.first_day <= last)
        .options(selectinload(Allocation.resource).selectinload(Resource.site),
                 selectinload(Allocation.releases))
        .order_by(Allocation.first_day, Allocation.id)
    ).all()
    closed_by_site: dict[int, set[date]] = {}
    result: dict[int, tuple[list[str], set[date]]] = {}
    for allocation in allocations:
        site = allocation.resource.site
        if site.id not in closed_by_site:
            closed_by_site[site.id] = set(closed_days(site, first, last))
        released = {r.day for r in allocation.releases}
        days = {d for d in allocation_rules.pattern_days(allocation, first, last)
                if d not in closed_by_site[site.id] and d not in released}
        patterns, all_days = result.setdefault(allocation.agency_id, ([], set()))
        pattern = describe_pattern(allocation)
        if days and pattern not in patterns:
            patterns.append(pattern)
        all_days |= days
    return result


def _booked_days(user_ids: list[int], first: date, last: date):
    """(user id, local day) of the active bookings a person made for themselves or was booked for."""
    if not user_ids:
        return []
    zone = local_zone()
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    person = db.func.coalesce(Reservation.booked_for_id, Reservation.booked_by_id)
    rows = db.session.execute(
        select(person, ReservationOccurrence.starts_at)
        .join(ReservationOccurrence.reservation)
        # A meeting's or a seminar's booker books for a group: only their own rooms and desks
        # and their trepartssamtal say a person is in.
        .where(Reservation.kind.in_(OWN_KINDS), person.in_(user_ids),
               Reservation.cancelled_at.is_(None),
               ReservationOccurrence.state == OccurrenceState.active,
               ReservationOccurrence.starts_at < end, ReservationOccurrence.ends_at > start)
    ).all()
    return {(user_id, starts_at.astimezone(zone).date()) for user_id, starts_at in rows
            if first <= starts_at.astimezone(zone).date() <= last}


# --- who may edit -------------------------------------------------------------------------

def can_edit_entry(actor: User, person: User) -> bool:
    """The person themselves, their agency's admin, or the coordinator."""
    return actor.id == person.id or actor.can_manage_agency(person.agency_id)


def can_edit_unit(actor: User, unit: Unit) -> bool:
    return actor.can_manage_agency(unit.agency_id)


def save_entry(person: User, actor: User, **values) -> DirectoryEntry | None:
    """Write the entry; saving it unchanged (or empty when there is none) writes nothing."""
    values = {name: (value or "").strip() for name, value in values.items()}
    entry = db.session.get(DirectoryEntry, person.id)
    if entry is None:
        if not any(values.values()):
            return None
        entry = DirectoryEntry(user_id=person.id)
        db.session.add(entry)
    elif all(getattr(entry, name) == value for name, value in values.items()):
        return entry
    for name, value in values.items():
        setattr(entry, name, value)
    entry.updated_by_id = actor.id
    db.session.flush()
    return entry


def save_unit_description(unit: Unit, description: str) -> UnitDescription:
    row = db.session.get(UnitDescription, unit.id)
    if row is None:
        row = UnitDescription(unit_id=unit.id)
        db.session.add(row)
    row.description = (description or "").strip()
    db.session.flush()
    return row


def entry_values(person: User) -> dict:
    entry = db.session.get(DirectoryEntry, person.id)
    names = ("role", "help_with", "phone", "email", "other_contact", "days_override")
    return {name: getattr(entry, name) if entry else "" for name in names}


def unit_description(unit: Unit) -> str:
    row = db.session.get(UnitDescription, unit.id)
    return row.description if row else ""


