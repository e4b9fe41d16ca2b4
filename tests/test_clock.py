"""One clock (office/core/clock.py): the app, its servers and its tests read "now" from it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from office.core import clock

pytestmark = pytest.mark.dates  # the clock itself, on every faked date of `make test-dates`

ROOT = Path(__file__).resolve().parent.parent
STOCKHOLM = ZoneInfo("Europe/Stockholm")
FRIDAY_BEFORE_DST = datetime(2027, 3, 26, 16, 0, tzinfo=STOCKHOLM)


def _clock_in_a_new_process(**environment: str) -> datetime:
    code = "from office.core import clock; print(clock.now().isoformat())"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMLOKAL_NOW")}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, **environment},
                            capture_output=True, text=True, timeout=60, check=True)
    return datetime.fromisoformat(result.stdout.strip())


def test_a_frozen_clock_stands_still_and_comes_back():
    before = clock.now()
    with clock.travel_to(FRIDAY_BEFORE_DST, frozen=True):
        assert clock.now() == FRIDAY_BEFORE_DST
        assert clock.now().tzinfo == timezone.utc
        assert clock.today() == date(2027, 3, 26)
    assert abs(clock.now() - before) < timedelta(minutes=1)


def test_a_travelled_clock_runs_on():
    with clock.travel_to(FRIDAY_BEFORE_DST):
        first = clock.now()
        second = clock.now()
    assert FRIDAY_BEFORE_DST <= first <= second < FRIDAY_BEFORE_DST + timedelta(minutes=1)


def test_today_is_the_date_in_stockholm_not_in_utc():
    with clock.travel_to(datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc), frozen=True):
        assert clock.today() == date(2027, 1, 1)
        assert clock.today("UTC") == date(2026, 12, 31)


def test_the_clock_refuses_a_naive_instant():
    with pytest.raises(ValueError, match="aware"):
        clock.set_now(datetime(2027, 3, 26, 16, 0))


def test_samlokal_now_starts_a_new_process_at_that_instant():
    started = _clock_in_a_new_process(SAMLOKAL_NOW="2027-06-18T10:00+02:00")
    assert datetime(2027, 6, 18, 8, 0, tzinfo=timezone.utc) <= started
    assert started < datetime(2027, 6, 18, 8, 1, tzinfo=timezone.utc)


def test_samlokal_now_without_an_offset_is_refused():
    code = "import office.core.clock"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "SAMLOKAL_NOW": "2027-06-18T10:00"}, timeout=60)
    assert result.returncode != 0 and "needs a UTC offset" in result.stderr


def test_a_started_process_shares_the_tests_clock():
    """What tests give gunicorn: the same instant, counted from the same machine time."""
    with clock.travel_to(FRIDAY_BEFORE_DST):
        environment = clock.environment()
        # A process started a while later is still on the test's clock, not restarted at it.
        environment["SAMLOKAL_NOW_AT"] = (clock.machine_now() - timedelta(hours=1)).isoformat()
        theirs = _clock_in_a_new_process(**environment)
        ours = clock.now()
    assert timedelta(minutes=59) < theirs - ours < timedelta(minutes=61)


def test_the_apps_readers_of_time_follow_the_clock(app, create_user):
    """Model defaults, utcnow, today_local and the booking rules' now all come from the clock."""
    from office.booking.rules import rule_now
    from office.core.database import utcnow
    from office.core.i18n import today_local

    with clock.travel_to(FRIDAY_BEFORE_DST, frozen=True):
        user = create_user()
        assert user.created_at == FRIDAY_BEFORE_DST
        assert utcnow() == rule_now() == FRIDAY_BEFORE_DST
        assert today_local() == date(2027, 3, 26)


def test_the_app_reads_no_other_clock():
    """datetime.now(), date.today() and time.time() as dates appear only in office/core/clock.py."""
    offenders = []
    for package in ("office", "seminars"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "clock.py":
                continue
            text = path.read_text(encoding="utf-8")
            for pattern in ("datetime.now(", "date.today(", "datetime.utcnow(", "datetime.today(",
                            "time.time(", "func.now(", "CURRENT_TIMESTAMP", "CURRENT_DATE"):
                if pattern in text:
                    offenders.append(f"{path.relative_to(ROOT)}: {pattern}")
    assert offenders == []


def test_tests_read_today_from_the_apps_clock():
    """A test that asked the machine for today would miss a moved clock (tests/calendar_days.py)."""
    offenders = [f"{path.relative_to(ROOT)}: {pattern}"
                 for path in (ROOT / "tests").rglob("*.py") if path.name != "test_clock.py"
                 for pattern in ("datetime.now(", "date.today(", "datetime.utcnow(", "datetime.today(")
                 if pattern in path.read_text(encoding="utf-8")]
    assert offenders == []

