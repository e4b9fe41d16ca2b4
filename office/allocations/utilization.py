"""Utilization of allocated space: what each agency held, used, gave away and left empty.

For a site and a period (a month or a term), per agency and resource:
- allocated: hours in the agency's allocation windows (closed days excluded);
- own: hours of those windows the agency booked itself;
- by others: hours of those windows booked by other agencies (released time);
- empty: allocated minus own minus by others.
So allocated = own + by others + empty, row by row. Bookings are intersected with the
windows: a booking running past the end of a window counts only inside it.

The windows come from the allocation rules (office/allocations/rules.py); the bookings from one
query over the allocated resources, swept against the windows per resource in time order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from office.accounts.models import Agency
from office.allocations.rules import AllocationCalendar, AllocationWindow
from office.booking.models import OccurrenceState, Reservation, ReservationOccurrence
from office.booking.rules import earliest_start, to_utc
from office.core.extensions import db
from office.premises.models import Resource, Site


@dataclass
class UtilizationRow:
    agency: Agency
    resource: Resource
    allocated: float = 0.0
    own: float = 0.0
    by_others: float = 0.0

    @property
    def empty(self) -> float:
        return max(self.allocated - self.own - self.by_others, 0.0)

    @property
    def used_share(self) -> float:
        return (self.own + self.by_others) / self.allocated if self.allocated else 0.0


@dataclass
class UtilizationReport:
    site: Site
    first_day: date
    last_day: date
    rows: list[UtilizationRow]

    def per_agency(self) -> list[UtilizationRow]:
        """Rows summed per agency (resource left as None)."""
        totals: dict[int, UtilizationRow] = {}
        for row in self.rows:
            total = totals.setdefault(row.agency.id, UtilizationRow(row.agency, None))
            total.allocated += row.allocated
            total.own += row.own
            total.by_others += row.by_others
        return sorted(totals.values(), key=lambda r: r.agency.short_name)


def booked_intervals(resource_ids: list[int], start, end):
    """(resource_id, agency_id, starts_at, ends_at) of active bookings overlapping [start, end),
    ordered per resource by start."""
    # The agency by a per-row primary-key lookup, not a join: with a join PostgreSQL
    # hash-joins the whole reservation table once the period holds a few thousand rows,
    # and that scan grows with the history (bench/bench_growth.py). The period's rows are
    # bounded; the reservations are not.
    agency = (select(Reservation.agency_id)
              .where(Reservation.id == ReservationOccurrence.reservation_id)
              .scalar_subquery())
    query = (
        select(ReservationOccurrence.resource_id, agency,
               ReservationOccurrence.starts_at, ReservationOccurrence.ends_at)
        .where(
            ReservationOccurrence.resource_id.in_(resource_ids),
            ReservationOccurrence.state == OccurrenceState.active,
            ReservationOccurrence.starts_at < end,
            # No occurrence is longer than the longest booking allowed: bounding the start
            # from below too keeps this a range on (resource, start), however much history
            # lies before the period (the conflict probe and the grid bound it the same way).
            ReservationOccurrence.starts_at > earliest_start(start),
            ReservationOccurrence.ends_at > start,
        )
        .order_by(ReservationOccurrence.resource_id, ReservationOccurrence.starts_at)
    )
    return db.session.execute(query).all()


def utilization_report(site: Site, first_day: date, last_day: date) -> UtilizationReport:
    """The report for a site between two local dates (inclusive)."""
    resources = db.session.scalars(select(Resource).where(Resource.site_id == site.id)).all()
    calendar = AllocationCalendar(site, [r.id for r in resources], first_day, last_day)
    windows = calendar.windows()
    rows: dict[tuple[int, int], UtilizationRow] = {}
    by_resource: dict[int, list[AllocationWindow]] = {}
    for window in windows:
        by_resource.setdefault(window.resource_id, []).append(window)
    if by_resource:
        zone = ZoneInfo(site.timezone)
        start = to_utc(first_day, time(0, 0), zone)
        end = to_utc(last_day + timedelta(days=1), time(0, 0), zone)
        bookings = booked_intervals(sorted(by_resource), start, end)
        _sweep(by_resource, bookings, rows)
    resource_by_id = {r.id: r for r in resources}
    ordered = sorted(rows.values(), key=lambda r: (r.agency.short_name, r.resource.name))
    for row in ordered:
        row.resource = resource_by_id.get(row.resource.id, row.resource)
    return UtilizationReport(site, first_day, last_day, ordered)


def _sweep(by_resource, bookings, rows) -> None:
    """Intersect the bookings with the windows, resource by resource, both in time order.

    The windows of one resource are disjoint (allocations never overlap), and so are its
    active bookings, so one pass with a moving start index suffices.
    """
    grouped: dict[int, list] = {}
    for booking in bookings:
        grouped.setdefault(booking[0], []).append(booking)
    for resource_id, windows in by_resource.items():
        windows.sort(key=lambda w: w.starts_at)
        items = grouped.get(resource_id, [])
        first = 0
        for window in windows:
            allocation = window.allocation
            row = rows.get((allocation.agency_id, resource_id))
            if row is None:
                row = rows[(allocation.agency_id, resource_id)] = UtilizationRow(
                    allocation.agency, allocation.resource)
            row.allocated += window.hours
            while first < len(items) and items[first][3] <= window.starts_at:
                first += 1
            index = first
            while index < len(items) and items[index][2] < window.ends_at:
                _, agency_id, starts_at, ends_at = items[index]
                overlap = (min(ends_at, window.ends_at) - max(starts_at, window.starts_at))
                hours = overlap.total_seconds() / 3600
                if hours > 0:
                    if agency_id == allocation.agency_id:
                        row.own += hours
                    else:
                        row.by_others += hours
                index += 1


def report_rows(report: UtilizationReport) -> list[list]:
    """The rows of the export (office/core/export.py writes them): hours with one decimal."""
    return [[row.agency.short_name, row.resource.name, round(row.allocated, 1), round(row.own, 1),
             round(row.by_others, 1), round(row.empty, 1)] for row in report.rows]


@dataclass(frozen=True)
class Bar:
    """One horizontal stacked bar of the chart: y position and segment widths in pixels."""

    label: str
    y: int
    own: float
    others: float
    empty: float
    row: UtilizationRow


def chart_bars(rows: list[UtilizationRow], width: int = 480, height: int = 28) -> list[Bar]:
    """Layout for the server-rendered SVG chart: bars scaled to the largest allocation."""
    largest = max((r.allocated for r in rows), default=0) or 1
    bars = []
    for index, row in enumerate(rows):
        scale = width / largest
        bars.append(Bar(row.agency.short_name, index * (height + 10), row.own * scale,
                        row.by_others * scale, row.empty * scale, row))
    return bars
