"""The booking grid of a site: resources × time on a 15-minute grid, a day or a week.

Plain functions that return data (no request, no template): the view renders it and
the benchmark times it. One query loads every occurrence of the shown days
(office.booking.rules.occurrence_grid_rows), never one query per cell; closures, opening
hours and which resources have allocations come from the site's calendar as this process
keeps it (office/premises/calendar_cache.py).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select

from office.allocations import rules as allocations
from office.booking import rules as booking
from office.core.extensions import db
from office.core.transaction import read_connection
from office.premises import calendar_cache
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
    occurrence: Shown | None = None  # the booking, its times in seconds from midnight
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


class Shown(NamedTuple):
    """One booking as a resource-day shows it. Times are wall-clock seconds from the local
    midnight that begins the day (more than a day's worth when it ends on a later day)."""

    id: int
    starts: int
    ends: int
    title: str | None  # None when it must not show (trepartssamtal)
    booked_by_id: int | None
    booked_for_id: int | None
    booker_name: str | None
    booked_for_name: str | None
    agency_id: int | None
    agency_short_name: str | None


class Held(NamedTuple):
    """An allocation window of a resource-day, its times like Shown's."""

    starts: int
    ends: int
    agency_id: int
    agency_short_name: str
    released: bool


class Cell(NamedTuple):
    """Everything one resource-day's timeline is made of, and nothing else: plain values,
    so that it can be the key of the cells' cache (office/booking/grid_cells.py).

    The bookings are kept as the database's rows (office.booking.rules.occurrence_grid_rows)
    with the zone they are shown in, not as Shown: a page seen before then costs a lookup
    per row, and the wall clock is worked out only for a cell whose HTML is not cached."""

    resource_id: int
    resource_name: str
    day: date
    opens: time
    closes: time
    rows: tuple[tuple, ...]  # the day's occurrence rows, by start
    held: tuple[Held, ...]
    zone: str = "Europe/Stockholm"

    @property
    def bookings(self) -> tuple[Shown, ...]:
        """The day's bookings, their times in wall-clock seconds from its local midnight."""
        return _shown(self.rows, self.day, self.zone)


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
    resource: GridResource
    cells: list[Cell | None]  # one per GridDay (None when closed)

    @property
    def days(self) -> list[list[Block]]:
        """The blocks of each day (empty when closed), as objects: for code that inspects
        the grid; the page renders the cells (office/booking/grid_cells.py)."""
        return [blocks_of(cell) if cell is not None else [] for cell in self.cells]


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
    return premises.sorted_resources(db.session.scalars(_filtered(select(Resource), site, filters)))


class GridResource(NamedTuple):
    """What the grid shows of a resource (a row read, not an ORM object: a week has 50)."""

    id: int
    name: str
    capacity: int
    kind: ResourceKind


def grid_resources(site: Site, filters: Filters) -> list[GridResource]:
    """The resources `filtered_resources` gives, as plain rows in the same order."""
    query = _filtered(select(Resource.id, Resource.name, Resource.capacity, Resource.kind), site, filters)
    return premises.sorted_resources(GridResource(*row) for row in read_connection().execute(query))


def _filtered(query, site: Site, filters: Filters):
    query = query.where(Resource.site_id == site.id, Resource.active.is_(True))
    if filters.kind:
        query = query.where(Resource.kind == ResourceKind(filters.kind))
    for name in ("screen", "video"):
        if getattr(filters, name):
            query = query.where(getattr(Resource, f"has_{name}").is_(True))
    if filters.accessible:
        query = query.where(Resource.accessible.is_(True))
    if filters.min_capacity:
        query = query.where(Resource.capacity >= filters.min_capacity)
    return query


@lru_cache(maxsize=64)
def slot_times(opens: time, closes: time) -> tuple[time, ...]:
    """The start of each 15-minute slot between opening and closing."""
    times, moment = [], datetime.combine(date.min, opens)
    end = datetime.combine(date.min, closes)
    while moment < end:
        times.append(moment.time())
        moment += SLOT
    return tuple(times)


@lru_cache(maxsize=64)
def slot_labels(opens: time, closes: time) -> tuple[str, ...]:
    """Each slot's start as "HH:MM"."""
    return tuple(t.strftime("%H:%M") for t in slot_times(opens, closes))


def build_grid(site: Site, view: str, day: date, filters: Filters = Filters()) -> Grid:
    """The grid of a site for a day or its week, with every booking placed on its day."""
    days = shown_days(view, day)
    # Closures, opening hours and which resources have allocations when: the site's
    # calendar as this process keeps it, one token read when nothing changed.
    calendar = calendar_cache.site_calendar(site.id)
    closed = calendar.closed_days(days[0].year, days[-1].year)
    hours = calendar.hours
    grid_days = []
    for current in days:
        window = hours.get(current.weekday())
        if current in closed:
            grid_days.append(GridDay(current, str(closed[current].reason)))
        elif window is None:
            grid_days.append(GridDay(current, ""))  # no opening hours that weekday
        else:
            grid_days.append(GridDay(current, None, window[0], window[1], list(slot_times(*window)),
                                     list(slot_labels(*window))))
    if view == WEEK:
        # Weekends the site never opens are left out; a closed weekday stays, marked.
        grid_days = [d for d in grid_days if d.is_open or d.closed_reason or d.day.weekday() < 5]
    resources = grid_resources(site, filters)
    zone = ZoneInfo(site.timezone)
    start = datetime.combine(days[0], time(0), zone)
    end = datetime.combine(days[-1] + timedelta(days=1), time(0), zone)
    bookings = _bookings_by_resource_day(resources, start, end, zone)
    allocated = {resource_id for resource_id, first, last in calendar.parts["allocations"]
                 if first <= days[-1] and last >= days[0]}
    held = _allocation_windows(site, [r for r in resources if r.id in allocated], days, zone)
    open_days = [(d.day, d.opens, d.closes) if d.is_open else None for d in grid_days]
    rows = []
    for resource in resources:
        resource_id, name = resource.id, resource.name
        rows.append(GridRow(resource, [
            Cell(resource_id, name, shown[0], shown[1], shown[2],
                 tuple(bookings.get((resource_id, shown[0]), ())),
                 tuple(held.get((resource_id, shown[0]), ())), site.timezone)
            if shown is not None else None
            for shown in open_days
        ]))
    return Grid(site, view, days[0], grid_days, rows, filters)


def _bookings_by_resource_day(resources: list[GridResource], start: datetime, end: datetime,
                              zone: ZoneInfo) -> dict[tuple[int, date], list[tuple]]:
    """The occurrence rows starting on the shown days, by (resource id, local day of their
    start), each list by start.

    A week of 50 resources has thousands of rows but a few dozen distinct start moments:
    each moment's local day is worked out once (the zone's offset looked up once per hour
    of the shown days), then looked up per row.
    """
    found: dict[tuple[int, date], list[tuple]] = {}
    if not resources:
        return found
    wall = _wall_clock(zone, start, end)
    first_day = start.date()
    day_of = {n: first_day + timedelta(days=n) for n in range((end.date() - first_day).days)}
    base = first_day.toordinal() - EPOCH_ORDINAL  # the first shown day, in days since 1970
    days: dict = {}  # a start moment -> its local day (None: before the first shown day)
    key, bookings = None, None
    for row in booking.occurrence_grid_rows([r.id for r in resources], start, end):
        moment = row[2]
        day = days.get(moment, _UNSEEN)
        if day is _UNSEEN:
            day = days[moment] = day_of.get(
                wall.seconds(booking.grid_moment_seconds(moment)) // 86400 - base)
        if day is None:
            continue  # starts before the first shown day: the grid shows it on no day
        if key != (row[1], day):
            key = (row[1], day)
            bookings = found.setdefault(key, [])
        bookings.append(row)
    return found


_UNSEEN = object()


def _shown(rows: tuple[tuple, ...], day: date, zone_name: str) -> tuple[Shown, ...]:
    """A resource-day's rows as Shown: times in wall-clock seconds from the day's local
    midnight (more than a day's worth when a booking ends on a later day)."""
    midnight = (day.toordinal() - EPOCH_ORDINAL) * 86400
    wall, make = _wall_seconds, tuple.__new__  # tuple.__new__(Shown, ...): Shown(...) without its frame
    return tuple(
        make(Shown, (id_, wall(starts, zone_name) - midnight, wall(ends, zone_name) - midnight,
                     title, by, for_, booker, for_name, agency_id, agency_name))
        for id_, _resource, starts, ends, title, by, for_, booker, for_name, agency_id, agency_name
        in rows)


def forget_wall_clocks() -> None:
    """Empty the wall clocks kept per shown span and per moment (a benchmark's first view)."""
    _wall_clock.cache_clear()
    _wall_seconds.cache_clear()


@lru_cache(maxsize=16384)
def _wall_seconds(moment, zone_name: str) -> int:
    """A moment of `occurrence_grid_rows` as wall-clock seconds since 1970-01-01 00:00 local
    (as _WallClock.seconds); bookings start and end at the same few times all over a grid."""
    utc = booking.grid_moment_seconds(moment)
    return utc + int(datetime.fromtimestamp(utc, ZoneInfo(zone_name)).utcoffset().total_seconds())


# Wall-clock seconds // 86400 + EPOCH_ORDINAL is the local day's date.toordinal().
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@lru_cache(maxsize=256)
def _wall_clock(zone: ZoneInfo, start: datetime, end: datetime) -> _WallClock:
    """The same shown days, the same offsets: looked up once per process, not per page."""
    return _WallClock(zone, start, end)


class _WallClock:
    """Seconds since 1970 UTC → the same moment's wall-clock seconds since 1970-01-01 00:00
    local (so that // 86400 is the local day and % 86400 the time of day), exactly, with the
    zone's offset looked up once per hour of [start, end): every zone changes its offset on
    the hour or on the half or quarter hour, and where an hour's offsets at its start and its
    end differ (a DST change), the change's second is searched for."""

    def __init__(self, zone: ZoneInfo, start: datetime, end: datetime):
        self.zone = zone
        self.first, self.last = int(start.timestamp()), int(end.timestamp())
        self.starts: list[int] = []   # sorted: from which second each offset holds
        self.offsets: list[int] = []
        moment, offset = self.first, self._offset(self.first)
        self.starts.append(moment)
        self.offsets.append(offset)
        while moment < self.last:
            following = min(moment + 3600, self.last)
            after = self._offset(following)
            if after != offset:
                low, high = moment, following  # offset(low) == offset, offset(high) == after
                while high - low > 1:
                    middle = (low + high) // 2
                    if self._offset(middle) == offset:
                        low = middle
                    else:
                        high = middle
                self.starts.append(high)
                self.offsets.append(after)
                offset = after
            moment = following

    def _offset(self, moment: int) -> int:
        return int(datetime.fromtimestamp(moment, self.zone).utcoffset().total_seconds())

    def seconds(self, moment: int) -> int:
        if not self.first <= moment < self.last:
            return moment + self._offset(moment)  # outside the shown days (a late end)
        if len(self.offsets) == 1:
            return moment + self.offsets[0]
        return moment + self.offsets[bisect_right(self.starts, moment) - 1]


def slot_index(seconds: int, opens_minute: int, count: int, *, round_up: bool) -> int:
    """The slot a moment falls in (or, rounding up, the first slot after it), clamped to the
    day's slots; seconds from the day's local midnight (before it: 0, a later day: count)."""
    if seconds < 0:
        return 0
    if seconds >= 86400:
        return count
    minutes = seconds // 60 - opens_minute
    index = minutes // 15 + (1 if round_up and (minutes % 15 or seconds % 60) else 0)
    return max(0, min(count, index))


@lru_cache(maxsize=64)
def _slot_tables(opens_minute: int, count: int) -> tuple[tuple[int, ...], ...]:
    """slot_index of each minute of a day: rounded down, rounded up, and rounded up when
    the moment is a fraction past the minute (a first view places thousands of bookings)."""
    minutes = range(1440)
    return tuple(tuple(slot_index(minute * 60 + late, opens_minute, count, round_up=round_up)
                       for minute in minutes)
                 for round_up, late in ((False, 0), (True, 0), (True, 1)))


def spans(cell: Cell) -> list[tuple[int, int, Shown | None, Held | None]]:
    """The day's slots covered exactly once, in order: (first slot, end slot, the booking or
    None when free, the allocation window of a free stretch or None)."""
    count = len(slot_times(cell.opens, cell.closes))
    opens = cell.opens.hour * 60 + cell.opens.minute
    down, up, up_late = _slot_tables(opens, count)
    result, position = [], 0
    for shown in cell.bookings:
        starts, ends = shown[1], shown[2]  # (slot_index, looked up by the minute)
        first = 0 if starts < 0 else count if starts >= 86400 else down[starts // 60]
        first = max(first, position)
        last = 0 if ends < 0 else count if ends >= 86400 else (up_late if ends % 60 else up)[ends // 60]
        if last <= first:
            continue  # outside the opening hours (a coordinator's late booking)
        if first > position:
            _free(result, position, first, cell.held, opens, count)
        result.append((first, last, shown, None))
        position = last
    if position < count:
        _free(result, position, count, cell.held, opens, count)
    return result


def _free(result: list, first: int, last: int, held: tuple[Held, ...], opens: int, count: int) -> None:
    """A free stretch, split where allocation windows begin and end, each piece marked."""
    if not held:
        result.append((first, last, None, None))
        return
    cuts, inside = {first, last}, []
    for window in held:
        a = max(slot_index(window.starts, opens, count, round_up=False), first)
        b = min(slot_index(window.ends, opens, count, round_up=True), last)
        if a < b:
            cuts.update((a, b))
            inside.append((a, b, window))
    points = sorted(cuts)
    for a, b in pairwise(points):
        result.append((a, b, None, next((w for x, y, w in inside if x <= a and b <= y), None)))


def blocks_of(cell: Cell) -> list[Block]:
    """A cell's spans as Block objects (for code and tests that inspect the grid)."""
    times = slot_times(cell.opens, cell.closes)
    midnight = datetime.combine(cell.day, time(0))

    def clock(seconds: int) -> time:
        return (midnight + timedelta(seconds=seconds)).time()

    blocks = []
    for first, last, shown, window in spans(cell):
        if shown is None:
            ends = times[last] if last < len(times) else cell.closes
            mark = window and AllocationMark(window.agency_id, window.agency_short_name, window.released)
            blocks.append(Block(first, last - first, times[first], ends, allocation=mark))
        else:
            blocks.append(Block(first, last - first, clock(shown.starts), clock(shown.ends), shown))
    return blocks


def _allocation_windows(site: Site, resources: list[GridResource], days: list[date],
                        zone: ZoneInfo) -> dict[tuple[int, date], list[Held]]:
    """Allocation windows of the shown days, by (resource id, local day), in one pass."""
    windows: dict[tuple[int, date], list[Held]] = {}
    if not resources:
        return windows
    for window in allocations.allocation_windows(site, [r.id for r in resources], days[0], days[-1]):
        starts, ends = window.starts_at.astimezone(zone), window.ends_at.astimezone(zone)
        midnight = datetime.combine(starts.date(), time(0))
        windows.setdefault((window.resource_id, starts.date()), []).append(Held(
            _since(midnight, starts), _since(midnight, ends), window.agency.id,
            window.agency.short_name, window.released))
    return windows


def _since(midnight: datetime, local: datetime) -> int:
    """Wall-clock seconds from a local midnight to a local moment (whole seconds)."""
    return int((local.replace(tzinfo=None, microsecond=0) - midnight).total_seconds())
