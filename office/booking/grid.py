"""The booking grid of a site: resources × time on a 15-minute grid, a day or a week.

Plain functions that return data (no request, no template): the view renders it and
the benchmark times it. One query loads every occurrence of the shown days
(office.booking.rules.occurrences_between), never one query per cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from office.accounts.models import User
from office.allocations import rules as allocations
from office.booking import rules as booking
from office.booking.models import ReservationKind
from office.core.extensions import db
from office.premises import rules as premises
from office.premises.models import Resource, ResourceKind, Site

SLOT = timedelta(minutes=15)
DAY, WEEK = "day", "week"


@dataclass(frozen=True)
class Filters:
    """What the person chose to see; every field is part of the shareable URL."""

    kind: str = ""            # "", "room" or "desk"
    screen: bool = False
    video: bool = False
    accessible: bool = False
    min_capacity: int = 0

    @classmethod
    def from_args(cls, args) -> Filters:
        kind = args.get("kind", "")
        capacity = args.get("capacity", "")
        return cls(
            kind=kind if kind in {k.value for k in ResourceKind} else "",
            screen=args.get("screen") == "1", video=args.get("video") == "1",
            accessible=args.get("accessible") == "1",
            min_capacity=int(capacity) if capacity.isdigit() and len(capacity) < 5 else 0,
        )

    def as_args(self) -> dict:
        args = {"kind": self.kind or None, "capacity": self.min_capacity or None}
        for name in ("screen", "video", "accessible"):
            args[name] = "1" if getattr(self, name) else None
        return {k: v for k, v in args.items() if v is not None}


@dataclass
class Block:
    """A run of 15-minute slots in one resource-day: a booking or a free stretch."""

    first_slot: int
    slots: int
    starts: time
    ends: time
    occurrence: Booked | None = None
    allocation: AllocationMark | None = None  # free time inside an agency's allocation

    @property
    def free(self) -> bool:
        return self.occurrence is None

    @property
    def placement(self) -> str:
        """The CSS classes that put the block on its slots (static/css/booking-grid-placement.css)."""
        return f"s-{self.first_slot + 1} w-{self.slots}"

    @property
    def when(self) -> str:
        """09:00–10:00 (digits, a colon and a dash: nothing to escape)."""
        return f"{self.starts.hour:02d}:{self.starts.minute:02d}–{self.ends.hour:02d}:{self.ends.minute:02d}"


@dataclass(frozen=True)
class AllocationMark:
    """Free time that an agency holds: only its staff may book unless it was released."""

    agency_id: int
    agency_short_name: str
    released: bool

    def bookable_by(self, agency_id: int) -> bool:
        return self.released or self.agency_id == agency_id


@dataclass
class GridDay:
    day: date
    closed_reason: str | None
    opens: time | None = None
    closes: time | None = None
    slot_times: list[time] = field(default_factory=list)
    slot_labels: list[str] = field(default_factory=list)  # "HH:MM", formatted once

    @property
    def hour_marks(self) -> list[tuple[int, str]]:
        """(slot index, label) of each full hour, for the ruler above the slots."""
        return [(i, label) for i, label in enumerate(self.slot_labels) if label.endswith(":00")]

    @property
    def is_open(self) -> bool:
        return self.closed_reason is None


@dataclass
class GridRow:
    resource: Resource
    days: list[list[Block]]  # one list of blocks per GridDay (empty when closed)


@dataclass
class Grid:
    site: Site
    view: str
    first_day: date
    days: list[GridDay]
    rows: list[GridRow]
    filters: Filters

    @property
    def last_day(self) -> date:
        return self.days[-1].day

    @property
    def step(self) -> timedelta:
        return timedelta(days=7 if self.view == WEEK else 1)

    @property
    def max_slots(self) -> int:
        return max((len(d.slot_times) for d in self.days), default=0)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def shown_days(view: str, day: date) -> list[date]:
    """The days a view shows: the day itself, or Monday to Sunday of its week."""
    if view != WEEK:
        return [day]
    monday = week_start(day)
    return [monday + timedelta(days=n) for n in range(7)]


def filtered_resources(site: Site, filters: Filters) -> list[Resource]:
    query = select(Resource).where(Resource.site_id == site.id, Resource.active.is_(True))
    if filters.kind:
        query = query.where(Resource.kind == ResourceKind(filters.kind))
    for name in ("screen", "video"):
        if getattr(filters, name):
            query = query.where(getattr(Resource, f"has_{name}").is_(True))
    if filters.accessible:
        query = query.where(Resource.accessible.is_(True))
    if filters.min_capacity:
        query = query.where(Resource.capacity >= filters.min_capacity)
    return premises.sorted_resources(db.session.scalars(query))


def _slot_times(opens: time, closes: time) -> list[time]:
    times, moment = [], datetime.combine(date.min, opens)
    end = datetime.combine(date.min, closes)
    while moment < end:
        times.append(moment.time())
        moment += SLOT
    return times


def build_grid(site: Site, view: str, day: date, filters: Filters = Filters()) -> Grid:
    """The grid of a site for a day or its week, with every booking placed on its slots."""
    days = shown_days(view, day)
    closed = premises.closed_days(site, days[0], days[-1])
    hours = premises.opening_hours_by_weekday(site)
    grid_days = []
    for current in days:
        window = hours.get(current.weekday())
        if current in closed:
            grid_days.append(GridDay(current, closed[current].reason))
        elif window is None:
            grid_days.append(GridDay(current, ""))  # no opening hours that weekday
        else:
            times = _slot_times(*window)
            grid_days.append(GridDay(current, None, window[0], window[1], times,
                                     [t.strftime("%H:%M") for t in times]))
    if view == WEEK:
        # Weekends the site never opens are left out; a closed weekday stays, marked.
        grid_days = [d for d in grid_days if d.is_open or d.closed_reason or d.day.weekday() < 5]
    resources = filtered_resources(site, filters)
    zone = ZoneInfo(site.timezone)
    start = datetime.combine(days[0], time(0), zone)
    end = datetime.combine(days[-1] + timedelta(days=1), time(0), zone)
    by_resource_day: dict[tuple[int, date], list] = {}
    for row in booking.occurrence_rows_between([r.id for r in resources], start, end):
        occurrence = Booked.from_row(row, zone)
        by_resource_day.setdefault((row.resource_id, occurrence.starts.date()), []).append(occurrence)
    held = _allocation_windows(site, resources, days, zone)
    rows = [
        GridRow(resource, [
            _mark_allocations(
                grid_day,
                _blocks(grid_day, by_resource_day.get((resource.id, grid_day.day), []), zone),
                held.get((resource.id, grid_day.day), []),
            )
            if grid_day.is_open else []
            for grid_day in grid_days
        ])
        for resource in resources
    ]
    return Grid(site, view, days[0], grid_days, rows, filters)


@dataclass
class Booked:
    """What the grid shows of one occurrence: when, who (agency and name), the title."""

    id: int
    starts: datetime  # local
    ends: datetime    # local
    title: str | None  # None when it must not show (trepartssamtal)
    booked_by_id: int | None
    booked_for_id: int | None
    booker_name: str | None
    booked_for_name: str | None
    agency_id: int | None
    agency_short_name: str | None

    @classmethod
    def from_row(cls, row, zone: ZoneInfo) -> Booked:
        hidden = row.kind == ReservationKind.trepartssamtal
        return cls(row.id, row.starts_at.astimezone(zone), row.ends_at.astimezone(zone),
                   None if hidden else row.title, row.booked_by_id, row.booked_for_id,
                   row.booker_name, row.booked_for_name, row.agency_id, row.agency_short_name)

    def managed_by(self, user: User) -> bool:
        return user.is_coordinator or user.id in (self.booked_by_id, self.booked_for_id)


def _index(grid_day: GridDay, local: datetime, *, round_up: bool) -> int:
    if local.date() < grid_day.day:
        return 0
    if local.date() > grid_day.day:
        return len(grid_day.slot_times)
    minutes = (local.hour * 60 + local.minute) - (grid_day.opens.hour * 60 + grid_day.opens.minute)
    index = minutes // 15 + (1 if round_up and (minutes % 15 or local.second) else 0)
    return max(0, min(len(grid_day.slot_times), index))


def _blocks(grid_day: GridDay, occurrences: list, zone: ZoneInfo) -> list[Block]:
    """Bookings and free stretches in order, covering the day's slots exactly once."""
    blocks, position, count = [], 0, len(grid_day.slot_times)
    for occurrence in occurrences:
        first = max(_index(grid_day, occurrence.starts, round_up=False), position)
        last = _index(grid_day, occurrence.ends, round_up=True)
        if last <= first:
            continue  # outside the opening hours (a coordinator's late booking)
        if first > position:
            blocks.append(_free(grid_day, position, first))
        blocks.append(Block(first, last - first, occurrence.starts.time(), occurrence.ends.time(),
                            occurrence))
        position = last
    if position < count:
        blocks.append(_free(grid_day, position, count))
    return blocks


def _free(grid_day: GridDay, first: int, last: int) -> Block:
    ends = grid_day.slot_times[last] if last < len(grid_day.slot_times) else grid_day.closes
    return Block(first, last - first, grid_day.slot_times[first], ends)




def _allocation_windows(site: Site, resources: list[Resource], days: list[date], zone: ZoneInfo):
    """Allocation windows of the shown days, by (resource id, local day), in one pass."""
    windows: dict[tuple[int, date], list[tuple[datetime, datetime, AllocationMark]]] = {}
    if not resources:
        return windows
    for window in allocations.allocation_windows(site, [r.id for r in resources], days[0], days[-1]):
        mark = AllocationMark(window.agency.id, window.agency.short_name, window.released)
        local = (window.starts_at.astimezone(zone), window.ends_at.astimezone(zone), mark)
        windows.setdefault((window.resource_id, local[0].date()), []).append(local)
    return windows


def _mark_allocations(grid_day: GridDay, blocks: list[Block], windows: list) -> list[Block]:
    """Split free stretches where allocation windows begin and end, and mark them."""
    if not windows:
        return blocks
    marked: list[Block] = []
    for block in blocks:
        if not block.free:
            marked.append(block)
            continue
        cuts = {block.first_slot, block.first_slot + block.slots}
        spans = []
        for starts, ends, mark in windows:
            first = max(_index(grid_day, starts, round_up=False), block.first_slot)
            last = min(_index(grid_day, ends, round_up=True), block.first_slot + block.slots)
            if first < last:
                cuts.update((first, last))
                spans.append((first, last, mark))
        points = sorted(cuts)
        for first, last in zip(points, points[1:]):
            piece = _free(grid_day, first, last)
            piece.allocation = next((m for a, b, m in spans if a <= first and last <= b), None)
            marked.append(piece)
    return marked
