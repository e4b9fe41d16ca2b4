"""A site's booking calendar, kept per process under the database's calendar token.

Every booking check needs the same few facts about a site: its closures, its opening hours
and (registered by office/allocations) which resources have allocations when. They change
a few times a term; checks happen all day. So each process keeps the last calendar it read
per site together with the token of `calendar_version` it read it with, and a check only
has to learn the current token, which the booking check reads in the same statement as
its overlap probe (office/booking/rules.py). A different token: read the calendar again.

The token lives in the database, so this holds across processes and machines: triggers
(migration 2000_calendar_version) write a new random token in the same transaction as any
change of those tables, whichever code or tool makes it. A token is read in the same
statement (the same snapshot) as the calendar it is stored with, so a calendar is never
older than its token says.

A transaction that itself wrote any of those tables neither uses nor fills the cache: it
reads its own uncommitted calendar from the database (once, in the transaction memo),
and nothing it saw is kept after it. Those writes are noticed at the ORM's flush and bulk
statements; a Core write on the side still changes the token, which is random, so what
such a transaction kept names a token no other transaction ever sees unless exactly that
state was committed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    Date,
    String,
    Time,
    bindparam,
    cast,
    event,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from office.core.extensions import db
from office.core.transaction import read_connection, transaction_memo
from office.premises.models import CalendarVersion, Closure, OpeningHours, Resource

# The token as a scalar subquery, for a feature to fold into a statement it runs anyway.
TOKEN = (select(CalendarVersion.__table__.c.token)
         .where(CalendarVersion.__table__.c.id == 1).scalar_subquery())
_TOKEN_ONLY = select(TOKEN.label("token"))

# What the tables the token guards are, for noticing a transaction's own writes.
_WATCHED: set[type] = {Closure, OpeningHours}
_WRITTEN = "samlokal_calendar_written"


@dataclass
class CalendarPart:
    """A feature's share of the site calendar: a select of (n, d1, d2) rows for a site
    (`bindparam("site_id")`), e.g. an allocation's resource id, first and last day."""

    name: str
    build: object  # () -> Select of three columns: an integer and two dates
    models: tuple[type, ...]


_PARTS: list[CalendarPart] = []
_STATEMENT: list = []  # the built UNION ALL, once every part is registered


def register_calendar_part(name: str, build, *, models: tuple[type, ...]) -> None:
    """Registration point for features above premises (allocations): one more UNION branch
    read with the calendar; `models` are the tables whose change the token follows (the
    migration's triggers must cover them too)."""
    if any(part.name == name for part in _PARTS):
        return
    _PARTS.append(CalendarPart(name, build, models))
    _WATCHED.update(models)
    _STATEMENT.clear()


def _statement():
    if _STATEMENT:
        return _STATEMENT[0]
    closure, hours = Closure.__table__.c, OpeningHours.__table__.c
    no_date, no_time = cast(null(), Date), cast(null(), Time)
    branches = [
        select(literal_column("0").label("part"), TOKEN.label("n"), no_date.label("d1"),
               no_date.label("d2"), cast(null(), String).label("reason"),
               no_time.label("opens"), no_time.label("closes")),
        select(literal_column("1"), cast(null(), BigInteger), closure.day, no_date,
               closure.reason, no_time, no_time).where(closure.site_id == bindparam("site_id")),
        select(literal_column("2"), cast(hours.weekday, BigInteger), no_date, no_date,
               cast(null(), String), hours.opens, hours.closes)
        .where(hours.site_id == bindparam("site_id")),
    ]
    for number, part in enumerate(_PARTS, start=3):
        built = part.build()
        n, d1, d2 = built.selected_columns
        branches.append(built.with_only_columns(
            literal_column(str(number)), cast(n, BigInteger), d1, d2, cast(null(), String),
            no_time, no_time, maintain_column_froms=True))
    _STATEMENT.append(union_all(*branches))
    return _STATEMENT[0]


@dataclass
class SiteCalendar:
    """What a booking check reads about a site, as of `token` (None: no token row)."""

    site_id: int
    token: int | None
    closures: dict[date, object]          # day -> the coordinator's reason ("Closed" if none)
    hours: dict[int, tuple[time, time]]   # weekday -> (opens, closes)
    parts: dict[str, list[tuple]]         # a registered part's name -> its rows
    _closed: dict = field(default_factory=dict, repr=False)

    def closed_days(self, first_year: int, last_year: int) -> dict:
        """Public holidays and closures of whole years, as premises.closed_days gives them."""
        key = (first_year, last_year)
        found = self._closed.get(key)
        if found is None:
            from office.premises.rules import ClosedDay, _swedish_holidays

            found = {}
            for year in range(first_year, last_year + 1):
                for day, name in _swedish_holidays(year).items():
                    found[day] = ClosedDay(day, name)
            for day, reason in self.closures.items():
                if first_year <= day.year <= last_year:
                    found[day] = ClosedDay(day, reason)
            if len(self._closed) > 16:
                self._closed.clear()
            self._closed[key] = found
        return found

    def closed_between(self, first: date, last: date) -> dict:
        """Public holidays and closures between two dates (inclusive), the reasons as text:
        what premises.closed_days reads from the database, from this calendar."""
        from office.premises.rules import ClosedDay

        return {day: ClosedDay(day, str(closed.reason))
                for day, closed in self.closed_days(first.year, last.year).items()
                if first <= day <= last}


# site id -> the last calendar this process read for it.
_CACHE: dict[int, SiteCalendar] = {}
_LOCK = threading.Lock()
_MEMO_KEY = "site_calendar"


def clear() -> None:
    with _LOCK:
        _CACHE.clear()


def read_token(session=None) -> int | None:
    """The current token (one cheap statement), for a caller with nothing to fold it into."""
    return read_connection(session).execute(_TOKEN_ONLY).scalar()


def _read(site_id: int, session=None) -> SiteCalendar:
    closures: dict[date, object] = {}
    hours: dict[int, tuple[time, time]] = {}
    parts: dict[str, list[tuple]] = {part.name: [] for part in _PARTS}
    token = None
    rows = read_connection(session).execute(_statement(), {"site_id": site_id})
    for part, n, d1, d2, reason, opens, closes in rows:
        if part == 0:
            token = n
        elif part == 1:
            closures[d1] = reason or _l("Closed")
        elif part == 2:
            hours[int(n)] = (opens, closes)
        else:
            parts[_PARTS[part - 3].name].append((int(n), d1, d2))
    return SiteCalendar(site_id, token, closures, hours, parts)


def wrote_calendar(session=None) -> bool:
    """Whether this transaction wrote any table the calendar token guards."""
    return bool((session or db.session).info.get(_WRITTEN))


def known_in_transaction(site_id: int, session=None) -> SiteCalendar | None:
    """The site's calendar if this transaction has it already (nothing read)."""
    return transaction_memo(session).get((_MEMO_KEY, site_id))


def site_calendar(site_id: int, token: int | None = ..., session=None) -> SiteCalendar:
    """The site's calendar for this transaction: from its memo, else from this process's
    cache when `token` (the current one, read by the caller; `...`: read it here) matches,
    else read from the database (and kept, unless this transaction wrote the calendar)."""
    session = session or db.session
    memo = transaction_memo(session)
    key = (_MEMO_KEY, site_id)
    calendar = memo.get(key)
    if calendar is not None:
        return calendar
    if wrote_calendar(session):
        calendar = _read(site_id, session)
    else:
        if token is ...:
            token = read_token(session)
        cached = _CACHE.get(site_id)
        if token is not None and cached is not None and cached.token == token:
            calendar = cached
        else:
            calendar = _read(site_id, session)
            if calendar.token is not None and not wrote_calendar(session):
                with _LOCK:
                    if len(_CACHE) > 1024:
                        _CACHE.clear()
                    _CACHE[site_id] = calendar
    memo[key] = calendar
    return calendar


def _mark_written(session) -> None:
    session.info[_WRITTEN] = True


@event.listens_for(Session, "before_flush")
def _notice_flushed_writes(session, context, instances) -> None:
    for collection in (session.new, session.dirty, session.deleted):
        for instance in collection:
            if type(instance) in _WATCHED:
                _mark_written(session)
                return
            if type(instance) is Resource and collection is session.dirty:
                _mark_written(session)  # a resource may have moved to another site
                return


@event.listens_for(Session, "do_orm_execute")
def _notice_bulk_writes(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        mapper = state.bind_mapper
        if mapper is not None and (mapper.class_ in _WATCHED or mapper.class_ is Resource):
            _mark_written(state.session)


@event.listens_for(Session, "after_transaction_end")
def _forget_written(session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction: committed or rolled back
        session.info.pop(_WRITTEN, None)
