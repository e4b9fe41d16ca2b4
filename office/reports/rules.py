"""Cross tables of counts (agency × month or week) from the meetings and trepartssamtal features.

Every count leaves here exact; pages and files show them through office.core.export.suppressed
(1–4 become "<5"). Tables have no totals: a total next to one suppressed cell would give it away.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from office.accounts.models import Agency
from office.availability.rules import local_day_bounds
from office.booking.models import ReservationOccurrence
from office.core.export import SMALL_COUNT, suppressed
from office.core.extensions import db
from office.meetings.models import CaseCount, Gender, MeetingOccurrence
from office.trepartssamtal.models import (
    MeetingStatus,
    Trepartssamtal,
    TrepartssamtalParticipant,
)

GROUPINGS = ("month", "week")


@dataclass(frozen=True)
class CrossTable:
    columns: list[str]                    # month ("2027-01") or ISO week ("2027-W03") keys
    rows: list[tuple[str, list[int]]]     # (agency short name, one exact count per column)

    @property
    def empty(self) -> bool:
        return not self.rows


@dataclass(frozen=True)
class Bar:
    column: str
    shown: int | str    # what a reader may see: the count, or "<5"
    height: float       # 0..1 of the chart's height
    small: bool         # suppressed: drawn hatched at a fixed height that tells nothing more


def bars(table: CrossTable) -> list[tuple[str, list[Bar]]]:
    """The table as bars, one small chart per agency on one shared scale.

    A suppressed count (1-4) is drawn at the height of SMALL_COUNT with a hatch and the
    label "<5", so the bar's height gives away no more than the table does.
    """
    peak = max([SMALL_COUNT, *(n for _, counts in table.rows for n in counts)])
    return [(agency, [Bar(column, suppressed(n), (SMALL_COUNT if 0 < n < SMALL_COUNT else n) / peak,
                          0 < n < SMALL_COUNT)
                      for column, n in zip(table.columns, counts, strict=True)])
            for agency, counts in table.rows]


def column_keys(first: date, last: date, by: str) -> list[str]:
    """Every month or ISO week touching [first, last], in order."""
    keys: list[str] = []
    day = first
    while day <= last:
        key = _key(day, by)
        if key not in keys:
            keys.append(key)
        day += timedelta(days=1 if by == "month" else 7)
    if _key(last, by) not in keys:
        keys.append(_key(last, by))
    return keys


def _key(day: date, by: str) -> str:
    if by == "month":
        return f"{day.year}-{day.month:02d}"
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _table(counts: dict[tuple[str, str], int], columns: list[str]) -> CrossTable:
    agencies = sorted({agency for agency, _ in counts})
    return CrossTable(columns, [(a, [counts.get((a, c), 0) for c in columns]) for a in agencies])


def cases_table(first: date, last: date, by: str) -> CrossTable:
    """Cases the case workers' group raised, per agency and month or week of the meeting."""
    zone = _zone()
    start, end = local_day_bounds(first, last, zone)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for starts_at, agency, cases in db.session.execute(
            select(ReservationOccurrence.starts_at, Agency.short_name, CaseCount.cases)
            .join(MeetingOccurrence, MeetingOccurrence.id == CaseCount.meeting_id)
            .join(ReservationOccurrence, ReservationOccurrence.id == MeetingOccurrence.id)
            .join(Agency, Agency.id == CaseCount.agency_id)
            .where(ReservationOccurrence.starts_at >= start, ReservationOccurrence.starts_at < end)):
        counts[(agency, _key(starts_at.astimezone(zone).date(), by))] += cases
    return _table(counts, column_keys(first, last, by))


def cases_by_gender(first: date, last: date) -> CrossTable:
    """Cases per agency and gender over the whole period (columns: Gender values)."""
    start, end = local_day_bounds(first, last, _zone())
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for agency, gender, cases in db.session.execute(
            select(Agency.short_name, CaseCount.gender, CaseCount.cases)
            .join(ReservationOccurrence, ReservationOccurrence.id == CaseCount.meeting_id)
            .join(Agency, Agency.id == CaseCount.agency_id)
            .where(ReservationOccurrence.starts_at >= start, ReservationOccurrence.starts_at < end)):
        counts[(agency, gender.value)] += cases
    return _table(counts, [g.value for g in Gender])


def trepartssamtal_table(first: date, last: date, by: str) -> CrossTable:
    """Trepartssamtal not cancelled, per agency taking part and month or week (a meeting
    counts once for each agency taking part)."""
    zone = _zone()
    start, end = local_day_bounds(first, last, zone)
    seen: set[tuple[int, str]] = set()
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for meeting_id, starts_at, status, agency in db.session.execute(
            select(Trepartssamtal.id, Trepartssamtal.starts_at, Trepartssamtal.status,
                   Agency.short_name)
            .join(TrepartssamtalParticipant,
                  TrepartssamtalParticipant.trepartssamtal_id == Trepartssamtal.id)
            .join(Agency, Agency.id == TrepartssamtalParticipant.agency_id)
            .where(Trepartssamtal.starts_at >= start, Trepartssamtal.starts_at < end)):
        if MeetingStatus(status).is_cancelled or (meeting_id, agency) in seen:
            continue
        seen.add((meeting_id, agency))
        counts[(agency, _key(starts_at.astimezone(zone).date(), by))] += 1
    return _table(counts, column_keys(first, last, by))


def half_year(today: date) -> tuple[date, date]:
    """The half-year `today` is in: January–June or July–December."""
    if today.month <= 6:
        return date(today.year, 1, 1), date(today.year, 6, 30)
    return date(today.year, 7, 1), date(today.year, 12, 31)
