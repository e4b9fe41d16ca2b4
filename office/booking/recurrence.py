"""Repeat rules (RFC 5545 RRULE) as objects: built and edited with icalendar's `vRecur`.

Every rule a reservation stores is made or changed here, so no code splices RRULE text:
the booking form's repeat options (weekly for handläggargruppen, every other week for AF
in arbetsgruppen, every N weeks, monthly on the nth weekday for styrgruppen, each until a
date or for a number of times), the meeting structure's rules (office/meetings/rules.py)
and the edits of a series (office/booking/rules.py: ending it before a day, the part from a
day on). Rules carry no DTSTART: the reservation's first day is the start, and dateutil
expands them (office.booking.rules.expand_days). UNTIL is a local wall-clock moment, the
last second of the last day, as the feeds expect (they turn it into UTC).

"Which weekday of its month a day is" is answered here once, for the rules and for the
allocations' "weeks of the month" pattern.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from icalendar import vRecur

NONE, WEEKLY, EVERY_OTHER_WEEK, EVERY_N_WEEKS, MONTHLY_NTH_WEEKDAY = (
    "none", "weekly", "every_other_week", "every_n_weeks", "monthly_nth_weekday",
)
REPEATS = (NONE, WEEKLY, EVERY_OTHER_WEEK, EVERY_N_WEEKS, MONTHLY_NTH_WEEKDAY)
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


# --- the weekday of a month ---------------------------------------------------------

def week_of_month(day: date) -> int:
    """Which of its month's weekdays of this kind the day is: 1..5 (the 2nd Tuesday is 2)."""
    return (day.day - 1) // 7 + 1


def is_last_of_month(day: date) -> bool:
    """Whether no later day of the month has the same weekday."""
    return (day + timedelta(days=7)).month != day.month


def nth_weekday(day: date) -> int:
    """The day's BYDAY ordinal: 1..4, or -1 for a fifth (read as "the last")."""
    nth = week_of_month(day)
    return -1 if nth == 5 else nth


# --- building ---------------------------------------------------------------------------

def weekday_code(weekday: int, nth: int | None = None) -> str:
    """BYDAY for a weekday (0 = Monday), optionally its place in the month ("2WE", "-1TU")."""
    code = WEEKDAY_CODES[weekday]
    return code if nth is None else f"{nth}{code}"


def until_moment(last_day: date) -> datetime:
    """UNTIL for a series ending on `last_day` (inclusive, local)."""
    return datetime.combine(last_day, time(23, 59, 59))


def build(freq: str, *, interval: int | None = None, byday: str | None = None,
          bymonth: list[int] | None = None, until: date | None = None,
          count: int | None = None) -> str:
    """A rule from its parts, as the text a reservation stores."""
    rule = vRecur(freq=freq)
    if interval is not None:
        rule["INTERVAL"] = interval
    if byday is not None:
        rule["BYDAY"] = byday
    if bymonth:
        rule["BYMONTH"] = list(bymonth)
    if until is not None:
        rule["UNTIL"] = until_moment(until)
    if count is not None:
        rule["COUNT"] = count
    return text(rule)


def parse(rule: str) -> vRecur:
    return vRecur.from_ical(rule)


def text(rule: vRecur) -> str:
    return rule.to_ical().decode()


# --- editing a series -----------------------------------------------------------------

def ending_before(rule: str, day: date) -> str:
    """The rule ending the day before `day` (a COUNT gives way to the UNTIL)."""
    parts = parse(rule)
    parts.pop("COUNT", None)
    parts["UNTIL"] = until_moment(day - timedelta(days=1))
    return text(parts)


def without_first(rule: str, done: int) -> str:
    """The rule of what remains after its first `done` occurrences (COUNT reduced, at least 1)."""
    parts = parse(rule)
    if "COUNT" in parts:
        parts["COUNT"] = max(int(parts["COUNT"][0]) - done, 1)
    return text(parts)


# --- the booking form's repeat choices ------------------------------------------------

def repeat_rule(repeat: str, first_day: date, *, interval: int | None = None,
                until: date | None = None, count: int | None = None) -> str | None:
    """The RRULE for a repeat choice; None for a single booking.

    Exactly one of `until` (inclusive, local date) and `count` ends a series.
    """
    if repeat == NONE:
        return None
    if (until is None) == (count is None):
        raise ValueError("a series ends either on a date or after a number of times")
    if until is not None and until < first_day:
        raise ValueError("the series ends before it starts")
    if count is not None and count < 1:
        raise ValueError("a series has at least one occurrence")
    if repeat == WEEKLY:
        return build("WEEKLY", until=until, count=count)
    if repeat == EVERY_OTHER_WEEK:
        return build("WEEKLY", interval=2, until=until, count=count)
    if repeat == EVERY_N_WEEKS:
        if not interval or interval < 1:
            raise ValueError("every N weeks needs N of at least 1")
        return build("WEEKLY", interval=interval if interval > 1 else None, until=until, count=count)
    if repeat == MONTHLY_NTH_WEEKDAY:
        return build("MONTHLY", byday=weekday_code(first_day.weekday(), nth_weekday(first_day)),
                     until=until, count=count)
    raise ValueError(f"unknown repeat {repeat!r}")
