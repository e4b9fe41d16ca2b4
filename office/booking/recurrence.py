"""The booking form's repeat options as RFC 5545 RRULE strings (dateutil expands them).

The form offers what Drivhuset's meetings need: weekly (handläggargruppen), every other
week (AF in arbetsgruppen), every N weeks, and monthly on the nth weekday (styrgruppen),
each until a date or for a number of times. Rules carry no DTSTART: the reservation's
first day is the start (see office/booking/rules.py).
"""

from __future__ import annotations

from datetime import date

NONE, WEEKLY, EVERY_OTHER_WEEK, EVERY_N_WEEKS, MONTHLY_NTH_WEEKDAY = (
    "none", "weekly", "every_other_week", "every_n_weeks", "monthly_nth_weekday",
)
REPEATS = (NONE, WEEKLY, EVERY_OTHER_WEEK, EVERY_N_WEEKS, MONTHLY_NTH_WEEKDAY)
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def nth_weekday(day: date) -> int:
    """Which weekday of its month the day is: 1..4, or -1 for a fifth (read as "the last")."""
    nth = (day.day - 1) // 7 + 1
    return -1 if nth == 5 else nth


def repeat_rule(repeat: str, first_day: date, *, interval: int | None = None,
                until: date | None = None, count: int | None = None) -> str | None:
    """The RRULE for a repeat choice; None for a single booking.

    Exactly one of `until` (inclusive, local date) and `count` ends a series.
    """
    if repeat == NONE:
        return None
    if (until is None) == (count is None):
        raise ValueError("a series ends either on a date or after a number of times")
    if repeat == WEEKLY:
        parts = ["FREQ=WEEKLY"]
    elif repeat == EVERY_OTHER_WEEK:
        parts = ["FREQ=WEEKLY", "INTERVAL=2"]
    elif repeat == EVERY_N_WEEKS:
        if not interval or interval < 1:
            raise ValueError("every N weeks needs N of at least 1")
        parts = ["FREQ=WEEKLY"] + ([f"INTERVAL={interval}"] if interval > 1 else [])
    elif repeat == MONTHLY_NTH_WEEKDAY:
        parts = ["FREQ=MONTHLY", f"BYDAY={nth_weekday(first_day)}{WEEKDAY_CODES[first_day.weekday()]}"]
    else:
        raise ValueError(f"unknown repeat {repeat!r}")
    if until is not None:
        if until < first_day:
            raise ValueError("the series ends before it starts")
        parts.append(f"UNTIL={until.strftime('%Y%m%d')}T235959")
    else:
        if count < 1:
            raise ValueError("a series has at least one occurrence")
        parts.append(f"COUNT={count}")
    return ";".join(parts)
