"""What a calendar feed is made of: kinds of feed, the sources that fill them, their values.

A *kind* names what a feed shows. The core knows one, ``personal`` (everything a person
takes part in, reached by a secret link); features add theirs when their blueprint is
registered: bookings ``resource`` and ``agency``, meetings ``series``, seminars
``public_seminars`` and ``seminar``. A *source* puts events into every feed of a kind::

    from office import feeds
    feeds.add_source("personal", my_registrations, stamp=my_registrations_stamp)

``events(subject, now)`` returns ``FeedEvent`` values (aware datetimes, or dates for
all-day items; ``end`` is exclusive). ``stamp(subject, now)`` returns a cheap ``Stamp``
(latest change, count, extra) that must change whenever the events do, and only reads (it
runs without a locale on the 304 path): the ETag is built from it. Without a stamp the
events are built to compute one (correct, slower).

Better still, ``stamp_parts(kind)`` gives the stamp as SQL: a list of selects of three
columns (a change time, a count, an integer checksum; binds ``target`` and ``cutoff``),
each answered from an index in about constant time. When every source of a kind has
them, the feed's version is ONE query, a UNION ALL of all of them (office/feeds/render.py). A source with many items may also
``render`` them itself, caching each item's bytes by its own key (the bookings do).

Sources are asked in the order they were added (the order of the blueprints), and so
are their events in the feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Callable, Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from office.accounts.models import Role

if TYPE_CHECKING:
    from office.accounts.models import User

# A cancelled event stays this long, as STATUS:CANCELLED, so subscribed clients remove it.
CANCELLED_KEPT = timedelta(days=30)


# --- what sources give ----------------------------------------------------------------

@dataclass(frozen=True)
class FeedEvent:
    """One VEVENT: a single item, a series master (rrule) or one moved occurrence.

    ``start``/``end`` are aware datetimes, or dates for an all-day item (``end`` exclusive:
    a one-day item on 1 May ends on 2 May). An event whose ``kind`` was registered with
    ``add_private_event_kind`` shows only that kind's word, its time and place, whatever
    the source put in the other fields.
    """

    uid: str                       # stable per item, without "@host" (added when serialised)
    summary: str
    start: datetime | date
    end: datetime | date
    last_modified: datetime        # the item's last change: DTSTAMP and LAST-MODIFIED
    sequence: int = 0
    created: datetime | None = None
    description: str = ""
    location: str = ""
    url: str = ""
    status: str = "CONFIRMED"      # or TENTATIVE, CANCELLED
    rrule: str | None = None       # RFC 5545 RRULE value, UNTIL in UTC
    exdates: tuple[datetime, ...] = ()
    recurrence_id: datetime | date | None = None
    kind: str = ""
    transparent: bool = False     # held space (an allocation), not busy time


@dataclass(frozen=True)
class Stamp:
    """A cheap summary of a source's items: the ETag changes when it does."""

    last_modified: datetime | None
    count: int
    extra: str = ""


@dataclass(frozen=True)
class FeedSubject:
    """Which feed: its kind, the object it shows, the person it is for, the language."""

    kind: str
    target_id: int | None = None
    user_id: int | None = None
    locale: str = "sv"


@dataclass(frozen=True)
class FeedVersion:
    etag: str                      # quoted strong ETag
    last_modified: datetime | None


@dataclass(frozen=True)
class Owner:
    """The person behind a token, as much as access checks need."""

    id: int
    agency_id: int
    role: Role


def cutoff(now: datetime) -> datetime:
    """Cancelled items cancelled before this are left out (to the minute: polls agree)."""
    return now.replace(second=0, microsecond=0) - CANCELLED_KEPT


# --- kinds ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Offer:
    """How the feeds page offers a kind: a card that makes a secret link, or a public address.

    Private kinds: ``heading``, ``text`` and ``button`` make the card; a kind with a target
    lists ``choices(user)`` ((id, label) pairs the person may pick) under ``choice_label``.
    Public kinds: ``endpoint`` is the feed's address, shown under ``heading`` and ``text``.
    """

    heading: object
    text: object
    button: object = None
    choices: Callable[[User], list[tuple[int, str]]] | None = None
    choice_label: object = None
    endpoint: str | None = None


def anyone(owner: Owner, target_id: int | None) -> bool:
    """The `may_subscribe` of a kind without its own: every holder of a link may."""
    return True


@dataclass(frozen=True)
class FeedKind:
    name: str
    label: object                                   # lazy string: the feeds page's name for it
    private: bool = True
    needs_target: bool = False
    title: Callable[[FeedSubject], str] | None = None
    # May this person subscribe to this kind for this target? (checked again at every poll)
    may_subscribe: Callable[[Owner, int | None], bool] = anyone
    # The target's name on the feeds page ("Samtalsrum 1, Drivhuset"); None when gone.
    describe: Callable[[int], str | None] | None = None
    # Public kinds: who may fetch the feed of a target without a token: "public" (anyone),
    # "login" (signed-in staff) or None (no such feed). Default: public when it has events.
    access: Callable[[int | None], str | None] | None = None
    description: object = None                      # the calendar's DESCRIPTION (lazy string)
    offer: Offer | None = None                      # on the feeds page; None: offered elsewhere


_KINDS: dict[str, FeedKind] = {}
# Counts the changes to the kinds and sources: what was derived from them before is stale.
_REVISION = [0]


def registry_revision() -> int:
    return _REVISION[0]


def add_feed_kind(name: str, label, *, private: bool = True, needs_target: bool = False,
                  title: Callable[[FeedSubject], str] | None = None,
                  may_subscribe: Callable[[Owner, int | None], bool] | None = None,
                  describe: Callable[[int], str | None] | None = None,
                  access: Callable[[int | None], str | None] | None = None,
                  description=None, offer: Offer | None = None) -> FeedKind:
    """Register a kind of feed (a meeting series feed: ``add_feed_kind("series", ...)``).

    A private kind's links are made with ``issue_token(user, kind, target_id, name)`` and
    listed, renewed and stopped on the feeds page; ``may_subscribe`` is asked again at
    every poll. Registering a name again replaces it.
    """
    if len(name) > 20:
        raise ValueError("feed kind names have at most 20 characters (feed_token.kind)")
    kind = FeedKind(name, label, private, needs_target, title,
                    may_subscribe or anyone, describe, access, description, offer)
    _KINDS[name] = kind
    _REVISION[0] += 1
    return kind


def feed_kind(name: str) -> FeedKind | None:
    return _KINDS.get(name)


def feed_kinds() -> list[FeedKind]:
    """Every kind, in the order they were first registered."""
    return list(_KINDS.values())


# --- sources ----------------------------------------------------------------------------

EventsFn = Callable[[FeedSubject, datetime], Iterable[FeedEvent]]
StampFn = Callable[[FeedSubject, datetime], Stamp]
# The third argument is office.feeds.render.Renderer (not imported: render imports this module).
RenderFn = Callable[[FeedSubject, datetime, object], list[bytes]]
# The kind's name -> selects of (change time, count, checksum) with binds target and cutoff.
StampPartsFn = Callable[[str], list]


@dataclass(frozen=True)
class Source:
    kind: str
    events: EventsFn
    stamp: StampFn | None = None
    render: RenderFn | None = None   # the VEVENT bytes, for a source that caches per item
    stamp_parts: StampPartsFn | None = None  # the stamp as SQL, for the combined query


_SOURCES: dict[str, list[Source]] = {}


def add_source(kind: str, events: EventsFn, *, stamp: StampFn | None = None,
               render: RenderFn | None = None,
               stamp_parts: StampPartsFn | None = None) -> EventsFn:
    """Add events to every feed of a kind (idempotent: call it when your blueprint registers)."""
    sources = _SOURCES.setdefault(kind, [])
    if not any(s.events is events for s in sources):
        sources.append(Source(kind, events, stamp, render, stamp_parts))
        _REVISION[0] += 1
    return events


def sources_for(kind: str) -> list[Source]:
    return list(_SOURCES.get(kind, ()))


# --- events that show only their word, time and place -----------------------------------

_PRIVATE_EVENT_KINDS: dict[str, tuple[str, object]] = {}


def add_private_event_kind(kind: str, summary: str, note=None) -> None:
    """Events of this kind show ``summary``, time and place in every feed, nothing else.

    Enforced when an event is serialised, whichever source made it. ``note`` (a lazy
    string) tells the feeds page's readers so.
    """
    _PRIVATE_EVENT_KINDS[kind] = (summary, note)


def private_summary(kind: str) -> str | None:
    entry = _PRIVATE_EVENT_KINDS.get(kind) if kind else None
    return entry[0] if entry else None


def privacy_notes() -> list:
    return [note for _summary, note in _PRIVATE_EVENT_KINDS.values() if note]


# --- the kind the core knows --------------------------------------------------------------

def _personal_title(subject: FeedSubject) -> str:
    return _("Samlokal: my calendar")


add_feed_kind(
    "personal", _l("My calendar"), title=_personal_title,
    description=_l("Your bookings, meetings and seminars in Samlokal."),
    offer=Offer(_l("My calendar"),
                _l("Everything you take part in: bookings you made or that are for you, "
                   "meetings, three-party meetings and seminars."),
                button=_l("Make a link")),
)
