"""The app's one clock: every "now" and "today" of the app, its jobs and its demo data.

In production it is the machine's clock. Two ways move it, both for tests and rehearsals:

- ``SAMLOKAL_NOW`` (ISO 8601 with a UTC offset, e.g. ``2027-03-26T16:00+01:00``), read when
  this module is first imported, starts the clock at that instant and lets it run on. The
  machine time it counts from is put into ``SAMLOKAL_NOW_AT`` for processes started from
  this one (gunicorn's workers, restarted ones too), so they all share one clock;
  `environment()` gives both to a process a test starts.
- `travel_to()` moves it inside a process (a test and the live server in its threads):
  to an instant that then runs on, or frozen there.

Rate-limit windows measure elapsed time against ``time.time()`` inside the `limits`
library, so they use `machine_now()`, never the business clock.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

NOW_VARIABLE = "SAMLOKAL_NOW"
NOW_AT_VARIABLE = "SAMLOKAL_NOW_AT"
DEFAULT_ZONE = ZoneInfo("Europe/Stockholm")


@dataclass(frozen=True)
class _Setting:
    offset: timedelta = timedelta(0)  # added to the machine's clock
    frozen_at: datetime | None = None  # when set, time stands still here


def machine_now() -> datetime:
    """The machine's own clock (aware UTC): only for elapsed time compared with time.time()."""
    return datetime.now(timezone.utc)


def now() -> datetime:
    """The current instant, aware UTC."""
    setting = _setting
    if setting.frozen_at is not None:
        return setting.frozen_at
    return machine_now() + setting.offset


def offset_from_machine() -> timedelta:
    """How far this clock is from the machine's (zero in production), from one reading:
    for a stamp another clock of the machine takes (the database's, under a lock)."""
    setting = _setting
    if setting.frozen_at is not None:
        return setting.frozen_at - machine_now()
    return setting.offset


def today(zone: ZoneInfo | str = DEFAULT_ZONE) -> date:
    """Today's date in `zone` (the site's; Europe/Stockholm unless told)."""
    return now().astimezone(ZoneInfo(zone) if isinstance(zone, str) else zone).date()


def set_now(instant: datetime, *, frozen: bool = False) -> None:
    """Put the clock at `instant`: running on from there, or frozen there."""
    global _setting
    _setting = _setting_at(instant, frozen)


def reset() -> None:
    """Back to the clock the process started with (the machine's, or SAMLOKAL_NOW)."""
    global _setting
    _setting = _STARTED_WITH


@contextmanager
def travel_to(instant: datetime, *, frozen: bool = False) -> Iterator[None]:
    """The clock at `instant` inside the block (for every thread of the process)."""
    global _setting
    previous = _setting
    _setting = _setting_at(instant, frozen)
    try:
        yield
    finally:
        _setting = previous


def environment() -> dict[str, str]:
    """Variables that give a process started now this clock (a frozen clock runs on there)."""
    setting, machine = _setting, machine_now()
    current = setting.frozen_at or machine + setting.offset
    return {NOW_VARIABLE: current.isoformat(), NOW_AT_VARIABLE: machine.isoformat()}


def _setting_at(instant: datetime, frozen: bool) -> _Setting:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("the clock needs an aware datetime (with its UTC offset)")
    instant = instant.astimezone(timezone.utc)
    if frozen:
        return _Setting(frozen_at=instant)
    return _Setting(offset=instant - machine_now())


def _parse(name: str, value: str) -> datetime:
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise RuntimeError(f"{name}={value!r} is not an ISO 8601 date and time") from None
    if instant.tzinfo is None:
        raise RuntimeError(f"{name}={value!r} needs a UTC offset, e.g. 2027-03-26T16:00+01:00")
    return instant


def _setting_from_environment() -> _Setting:
    value = os.environ.get(NOW_VARIABLE)
    if not value:
        return _Setting()
    instant = _parse(NOW_VARIABLE, value)
    anchor = os.environ.get(NOW_AT_VARIABLE)
    if anchor:
        machine = _parse(NOW_AT_VARIABLE, anchor)
    else:
        machine = machine_now()
        os.environ[NOW_AT_VARIABLE] = machine.isoformat()
    return _Setting(offset=instant - machine)


_STARTED_WITH = _setting_from_environment()
_setting = _STARTED_WITH
