"""The HTML of one resource-day's timeline in the booking grid.

Built with format strings instead of Jinja: a week of 50 resources has ~4,000 blocks,
and Jinja's per-expression escaping cost most of the 100 ms the page may take
(bench/bench_booking.py). Every text from people (titles, names) goes through escape().
The table around it stays in templates/booking/_grid.html.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import Markup, escape

from office.booking.grid import Block, GridDay


@dataclass(frozen=True)
class CellWords:
    """Translated words and URLs, looked up once per page, not once per block."""

    free: str
    book: str
    free_book: str
    new_url: str
    show_url: str  # ends with "/" + the occurrence id appended
    user_id: int
    coordinator: bool
    agency_id: int = 0
    held: str = ""       # "Allocated to %(agency)s"
    released: str = ""   # "Released by %(agency)s"

    @classmethod
    def for_page(cls, new_url: str, show_url: str, user) -> CellWords:
        return cls(str(escape(_("Free"))), str(escape(_("book"))), str(escape(_("free, book"))),
                   new_url, show_url, user.id, user.is_coordinator, user.agency_id,
                   str(escape(_("Allocated to %(agency)s", agency="{agency}"))),
                   str(escape(_("Released by %(agency)s", agency="{agency}"))))


def timeline(blocks: list[Block], grid_day: GridDay, resource, words: CellWords, week: bool) -> Markup:
    """One resource-day. Free time is a link per quarter hour in the day view (`slot-q`) and
    one link per free stretch (`run`): the week view and the phone layout show the stretches,
    with their times in words, so no chip is ever blank."""
    labels = grid_day.slot_labels
    href = f"{words.new_url}?resource={resource.id}&amp;day={grid_day.day.isoformat()}&amp;start="
    name = escape(resource.name)
    parts = [f'<ol class="timeline n-{len(labels)}">']
    for block in blocks:
        if block.free and block.allocation is not None:
            parts.append(_allocated(block, words, href, labels, name, week))
        elif block.free:
            if not week:
                parts.append(_quarters(block, "slot-free", href, labels, f"{words.free_book} {name}"))
            parts.append(_run(block, "slot-free", href, labels, f"{words.free_book} {name}"))
        else:
            parts.append(_booked(block, words))
    parts.append("</ol>")
    return Markup("".join(parts))


def _quarters(block: Block, classes: str, href: str, labels: list[str], spoken: str) -> str:
    """A link per free quarter hour; the ruler above says the time, the link says it aloud."""
    parts = []
    for index in range(block.first_slot, block.first_slot + block.slots):
        hour = " on-hour" if labels[index].endswith(":00") else ""
        parts.append(
            f'<li class="{classes} slot-q{hour} s-{index + 1} w-1"><a href="{href}{labels[index]}">'
            f'<span class="visually-hidden">{labels[index]} {spoken}</span></a></li>')
    return "".join(parts)


def _run(block: Block, classes: str, href: str, labels: list[str], spoken: str) -> str:
    """One link for a whole free stretch, its times in words (booking from its start)."""
    return (f'<li class="{classes} run {block.placement}"><a href="{href}{labels[block.first_slot]}">'
            f'<span class="run-time">{block.when}</span>'
            f'<span class="visually-hidden"> {spoken}</span></a></li>')


def _booked(block: Block, words: CellWords) -> str:
    o = block.occurrence
    mine = words.user_id in (o.booked_by_id, o.booked_for_id)
    classes = f"booked {block.placement}"
    when = block.when
    # The HTML and, beside it, the same words as plain text for the title (what striptags
    # would make of the HTML, without parsing it again for each of thousands of blocks).
    text, plain = f'<span class="run-time">{when}</span>', [when]
    if o.agency_id:
        classes += f" agency-{o.agency_id}"
        text += f' <span class="agency-badge agency-{o.agency_id}">{escape(o.agency_short_name)}</span>'
        plain.append(str(o.agency_short_name))
    if mine:
        classes += " mine"
    booker = o.booker_name or "–"
    text += f" {escape(booker)}"
    plain.append(booker)
    if o.booked_for_name and o.booked_for_id != o.booked_by_id:
        for_name = _("for %(name)s", name=o.booked_for_name)
        text += f" ({escape(for_name)})"
        plain.append(f"({for_name})")
    if o.title:
        text += f": {escape(o.title)}"
        plain[-1] += f": {o.title}"
    if mine or words.coordinator:
        text = f'<a href="{words.show_url}{o.id}">{text}</a>'
    # The whole text on hover, where a narrow block (the week view, a phone) cuts it short.
    whole = " ".join(" ".join(plain).split())
    return f'<li class="{classes}" title="{escape(whole)}">{text}</li>'


def _allocated(block: Block, words: CellWords, href: str, labels: list[str], name, week: bool) -> str:
    """Free time inside an allocation: labelled with the agency (never colour alone)."""
    mark = block.allocation
    agency = escape(mark.agency_short_name)
    label = (words.released if mark.released else words.held).replace("{agency}", str(agency))
    state = "released" if mark.released else "held"
    classes = f"slot-{state} agency-{mark.agency_id}"
    if not mark.bookable_by(words.agency_id):
        return (f'<li class="{classes} {block.placement}"><span class="alloc-label">{label}</span> '
                f'<span class="run-time">{block.when}</span></li>')
    spoken = f"{label}, {words.free_book} {name}"
    quarters = "" if week else _quarters(block, f"slot-free {classes}", href, labels, spoken)
    return quarters + _run(block, f"slot-free {classes}", href, labels, spoken)
