"""The HTML of one resource-day's timeline in the booking grid, and the cache that keeps it.

Built with format strings instead of Jinja: a week of 50 resources has ~4,500 blocks, and
Jinja's per-expression escaping cost most of the time the page may take
(bench/bench_booking.py). Every text from people (titles, names) goes through escape().
The table around it stays in templates/booking/_grid.html.

The cache: a resource-day's HTML is a pure function of its key, `_timeline(cell, words,
week, me, coordinator, bookable)`, which holds everything the HTML is made of and nothing
else: the cell (office/booking/grid.py `Cell`: the resource's id and name, the day, its
opening hours, each booking's row as the database gave it (id, moments, title, people and
agency) and the zone it is shown in, each allocation window and whether it is released), the page's words and URLs (so the
language), the view, and of the viewer only what changes the HTML: their id when they
booked or are booked for something that day (`mine`, and the link to it), whether they
coordinate (links to every booking), and which windows they may book. A change to any of
these is a different key, so a cached entry can be old but never wrong; old entries leave
the bounded LRU as new ones come in. Nothing in a cell depends on the clock except through
these (an allocation released by its lead time has released=True).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from flask_babel import gettext as _
from markupsafe import Markup, escape

from office.booking.grid import (
    WEEK,
    Cell,
    Grid,
    Held,
    Shown,
    forget_wall_clocks,
    slot_labels,
    spans,
)

# Resource-days kept per process: a week of 50 resources is 250; an entry is the key
# (~1 KiB) and its HTML (~2.5 KiB in the week view, ~5 KiB in the day view).
CACHED_CELLS = 2048


@dataclass(frozen=True)
class CellWords:
    """Translated words and URLs, looked up once per page, not once per block."""

    free: str
    book: str
    free_book: str
    new_url: str
    show_url: str  # ends with "/" + the occurrence id appended
    held: str = ""       # "Allocated to {agency}" (escaped; the agency goes in escaped)
    released: str = ""   # "Released by {agency}"
    for_name: str = "for %(name)s"  # translated, its placeholder kept

    @classmethod
    def for_page(cls, new_url: str, show_url: str) -> CellWords:
        return cls(str(escape(_("Free"))), str(escape(_("book"))), str(escape(_("free, book"))),
                   new_url, show_url,
                   str(escape(_("Allocated to %(agency)s", agency="{agency}"))),
                   str(escape(_("Released by %(agency)s", agency="{agency}"))),
                   _("for %(name)s"))


@dataclass(frozen=True)
class Viewer:
    """Who looks: their bookings are marked and linked, a coordinator's are all linked."""

    user_id: int
    coordinator: bool
    agency_id: int | None

    @classmethod
    def of(cls, user) -> Viewer:
        return cls(user.id, user.is_coordinator, user.agency_id)


def grid_rows(grid: Grid, words: CellWords, viewer: Viewer, day_labels: list[str], closed: str) -> bytes:
    """The table's rows as UTF-8: a resource's name, then a cell per shown day (its
    timeline, or why it is closed). The same characters templates/booking/_grid.html wrote
    with a Jinja loop per cell, which cost more than the cached cells themselves."""
    return b"".join(_row_parts(grid, words, viewer, day_labels, closed))


def _row_parts(grid: Grid, words: CellWords, viewer: Viewer, day_labels: list[str], closed: str) -> list[bytes]:
    week = grid.view == WEEK
    days = [(f'<span class="day-label">{escape(label)}</span>'.encode() if week else b"",
             None if gd.is_open else
             f'<p class="closed-day">{escape(closed)}{f": {escape(gd.closed_reason)}" if gd.closed_reason else ""}</p>\n  '.encode())
            for gd, label in zip(grid.days, day_labels)]
    parts = []
    for row in grid.rows:
        resource = row.resource
        parts.append(f'\n  <tr><th scope="row">{escape(resource.name)} '
                     f'<span class="muted">({escape(resource.capacity)})</span></th>\n  '.encode())
        for cell, (label, closed_day) in zip(row.cells, days):
            parts += (b"\n  <td>", label, b"\n  ",
                      closed_day if cell is None else timeline(cell, words, viewer, week), b"</td>\n  ")
        parts.append(b"</tr>\n  ")
    return parts


class RowsSlot:
    """`grid_rows` for one rendering of the grid's template: called where the rows go, it
    keeps their bytes and leaves a mark in the page, which `fill` replaces. A week's rows
    are ~600 KB of cached UTF-8: joined as bytes they are never copied into Jinja's output
    nor encoded again (that encoding alone cost ~3 ms a page)."""

    # A comment no text from people can make: what they typed is escaped (<, &).
    MARK = Markup("<!--grid rows-->")

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def __call__(self, *args) -> Markup:
        self.parts = _row_parts(*args)
        return self.MARK

    def fill(self, page: str) -> bytes:
        """The rendered page as UTF-8 with the rows in place of the mark (one copy)."""
        before, mark, after = page.partition(self.MARK)
        return b"".join([before.encode(), *(self.parts if mark else ()), after.encode()])


def timeline(cell: Cell, words: CellWords, viewer: Viewer, week: bool) -> bytes:
    """One resource-day, as UTF-8. Free time is a link per quarter hour in the day view (`slot-q`) and
    one link per free stretch (`run`): the week view and the phone layout show the stretches,
    with their times in words, so no chip is ever blank."""
    me = viewer.user_id
    involved = any(me == row[5] or me == row[6] for row in cell.rows)  # booked by, booked for
    bookable = tuple(w.released or w.agency_id == viewer.agency_id for w in cell.held)
    return _timeline(cell, words, week, me if involved else None, viewer.coordinator, bookable)


def clear_cache() -> None:
    """Forget every cached resource-day and what they are made from: people's words, the
    wall clock of moments (the benchmark's first views; tests)."""
    _timeline.cache_clear()
    _booking_words.cache_clear()
    forget_wall_clocks()


@lru_cache(maxsize=CACHED_CELLS)
def _timeline(cell: Cell, words: CellWords, week: bool, me: int | None, coordinator: bool,
              bookable: tuple[bool, ...]) -> bytes:
    labels = slot_labels(cell.opens, cell.closes)
    closes = f"{cell.closes.hour:02d}:{cell.closes.minute:02d}"
    href = f"{words.new_url}?resource={cell.resource_id}&amp;day={cell.day.isoformat()}&amp;start="
    name = escape(cell.resource_name)
    may_book = dict(zip(cell.held, bookable))
    spoken = f"{words.free_book} {name}"
    parts = [f'<ol class="timeline n-{len(labels)}">']
    for first, last, shown, window in spans(cell):
        if shown is not None:
            parts.append(_booked(first, last, shown, words, me, coordinator))
            continue
        when = f"{labels[first]}–{labels[last] if last < len(labels) else closes}"
        if window is not None:
            parts.append(_allocated(first, last, when, window, may_book[window], words, href,
                                    labels, name, week))
        else:
            if not week:
                parts.append(_quarters(first, last, "slot-free", href, labels, spoken))
            parts.append(_run(first, last, when, "slot-free", href, labels, spoken))
    parts.append("</ol>")
    return "".join(parts).encode()


def _quarters(first: int, last: int, classes: str, href: str, labels: tuple[str, ...], spoken: str) -> str:
    """A link per free quarter hour; the ruler above says the time, the link says it aloud."""
    parts = []
    for index in range(first, last):
        hour = " on-hour" if labels[index].endswith(":00") else ""
        parts.append(
            f'<li class="{classes} slot-q{hour} s-{index + 1} w-1"><a href="{href}{labels[index]}">'
            f'<span class="visually-hidden">{labels[index]} {spoken}</span></a></li>')
    return "".join(parts)


def _run(first: int, last: int, when: str, classes: str, href: str, labels: tuple[str, ...],
         spoken: str) -> str:
    """One link for a whole free stretch, its times in words (booking from its start)."""
    return (f'<li class="{classes} run s-{first + 1} w-{last - first}"><a href="{href}{labels[first]}">'
            f'<span class="run-time">{when}</span>'
            f'<span class="visually-hidden"> {spoken}</span></a></li>')


# "HH:MM" of each minute of a day, formatted once.
CLOCK = tuple(f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(1440))


def _booked(first: int, last: int, o: Shown, words: CellWords, me: int | None, coordinator: bool) -> str:
    id_, starts, ends, title, by, for_, booker, for_name, agency_id, agency_name = o
    mine = me is not None and (me == by or me == for_)
    agency, text, hover = _booking_words(agency_id, agency_name, booker,
                                         for_name if for_ != by else None, title, words.for_name)
    when = f"{CLOCK[starts // 60 % 1440]}–{CLOCK[ends // 60 % 1440]}"
    text = f'<span class="run-time">{when}</span>{text}'
    if mine or coordinator:
        text = f'<a href="{words.show_url}{id_}">{text}</a>'
    # The whole text on hover, where a narrow block (the week view, a phone) cuts it short.
    return (f'<li class="booked s-{first + 1} w-{last - first}{agency}{" mine" if mine else ""}" '
            f'title="{when}{hover}">{text}</li>')


@lru_cache(maxsize=4096)
def _booking_words(agency_id: int | None, agency_name: str | None, booker: str | None,
                   for_name: str | None, title: str | None, for_template: str) -> tuple[str, str, str]:
    """A booking's words after its times: (its agency's class, the HTML, the hover title),
    escaped. The same people, agencies and titles recur all over a grid. The hover title is
    the same words as plain text: what striptags would make of the HTML, without parsing it
    again for each of thousands of blocks (the times have nothing to escape or squeeze)."""
    classes, text, plain = "", "", []
    if agency_id:
        classes = f" agency-{agency_id}"
        text += f' <span class="agency-badge agency-{agency_id}">{escape(str(agency_name))}</span>'
        plain.append(str(agency_name))
    booker = booker or "–"
    text += f" {escape(booker)}"
    plain.append(booker)
    if for_name:
        for_name = for_template % {"name": for_name}
        text += f" ({escape(for_name)})"
        plain.append(f"({for_name})")
    if title:
        text += f": {escape(title)}"
        plain[-1] += f": {title}"
    rest = " ".join(" ".join(plain).split())
    return classes, text, f" {escape(rest)}" if rest else ""


def _allocated(first: int, last: int, when: str, mark: Held, bookable: bool, words: CellWords,
               href: str, labels: tuple[str, ...], name, week: bool) -> str:
    """Free time inside an allocation: labelled with the agency (never colour alone)."""
    agency = escape(mark.agency_short_name)
    label = (words.released if mark.released else words.held).replace("{agency}", str(agency))
    state = "released" if mark.released else "held"
    classes = f"slot-{state} agency-{mark.agency_id}"
    if not bookable:
        return (f'<li class="{classes} s-{first + 1} w-{last - first}"><span class="alloc-label">{label}</span> '
                f'<span class="run-time">{when}</span></li>')
    spoken = f"{label}, {words.free_book} {name}"
    quarters = "" if week else _quarters(first, last, f"slot-free {classes}", href, labels, spoken)
    return quarters + _run(first, last, when, f"slot-free {classes}", href, labels, spoken)
