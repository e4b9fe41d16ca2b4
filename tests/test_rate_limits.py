"""Rate-limit counters live in the database, so several app servers count together."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, build_opener

import pytest
from limits.storage import MemoryStorage, storage_from_string
from sqlalchemy import select, update

from office.accounts.models import Role
from office.core import clock
from office.core.extensions import db, limiter
from office.core.models import RateLimitCounter
from office.core.rate_limits import DatabaseStorage, storage_key
from tests.conftest import _test_config
from tests.servers import gunicorn_servers

THROTTLED = {"RATELIMIT_ENABLED": True, "LOGIN_RATE_PER_ADDRESS": "5 per minute"}


def test_database_storage_is_the_default(monkeypatch):
    from office.core.config import Config

    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    assert Config().RATELIMIT_STORAGE_URI == "samlokal+db://"
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379")
    assert Config().RATELIMIT_STORAGE_URI == "redis://127.0.0.1:6379"


@pytest.mark.parametrize("app_config", [THROTTLED], indirect=True)
def test_app_uses_the_database_storage(app):
    assert isinstance(limiter.storage, DatabaseStorage)


@pytest.mark.parametrize("app_config", [{**THROTTLED, "RATELIMIT_STORAGE_URI": "memory://"}],
                         indirect=True)
def test_memory_storage_stays_selectable(app):
    assert isinstance(limiter.storage, MemoryStorage)


def test_two_servers_share_one_count(app, database_url):
    """Each server builds its own storage and engine; the count is still one."""
    from wsgi import create_app

    other_server = create_app(_test_config(database_url))
    here, there = storage_from_string("samlokal+db://"), storage_from_string("samlokal+db://")
    for _ in range(3):
        here.incr("login/127.0.0.1", 60)
    with other_server.app_context():
        assert there.get("login/127.0.0.1") == 3
        assert there.incr("login/127.0.0.1", 60) == 4
        db.engine.dispose()
    assert here.get("login/127.0.0.1") == 4
    assert here.get_expiry("login/127.0.0.1") == pytest.approx(time.time() + 60, abs=5)


def test_an_expired_window_starts_again(app):
    storage = DatabaseStorage()
    assert storage.incr("k", 60, amount=4) == 4
    db.session.execute(update(RateLimitCounter).values(expires_at=clock.machine_now() - timedelta(seconds=1)))
    db.session.commit()
    assert storage.get("k") == 0
    assert storage.incr("k", 60) == 1


def test_windows_are_elapsed_time_on_the_machine_clock(app):
    """`limits` compares expiries with time.time(): a travelled app clock must not move them."""
    storage = DatabaseStorage()
    with clock.travel_to(clock.now() + timedelta(days=400), frozen=True):
        storage.incr("k", 60)
        assert storage.get("k") == 1
        assert storage.get_expiry("k") == pytest.approx(time.time() + 60, abs=5)


def test_clear_reset_and_long_keys(app):
    storage = DatabaseStorage()
    long_key = "LIMITER/" + "f" * 400
    storage.incr(long_key, 60)
    storage.incr("other", 60)
    assert storage.get(long_key) == 1 and len(storage_key(long_key)) == 255
    storage.clear(long_key)
    assert storage.get(long_key) == 0 and storage.check()
    assert storage.reset() == 1
    assert db.session.scalar(select(RateLimitCounter)) is None


@pytest.mark.parametrize("app_config", [THROTTLED], indirect=True)
def test_failed_login_of_a_logged_in_user_still_counts(app, auth, create_user):
    """The failure is counted in the request's own transaction, kept although the answer is 401."""
    from office.accounts.models import LoginThrottle

    auth.login(create_user(role=Role.staff))
    started = time.monotonic()
    response = auth.post("/login", {"email": "someone@example.org", "password": "x" * 12})
    assert response.status_code == 401
    assert time.monotonic() - started < 5
    db.session.commit()
    assert sorted(db.session.scalars(select(LoginThrottle.failures))) == [1, 1, 1]


# --- two real gunicorn servers -------------------------------------------------------

@pytest.mark.timeout(600)  # starts real servers: minutes on a busy machine
@pytest.mark.slow
def test_two_gunicorn_servers_throttle_one_address_together(app, database_url, tmp_path):
    """Wrong logins alternate between two servers; the sixth in the minute is refused."""
    throttled = {"RATELIMIT_ENABLED": "1", "LOGIN_RATE_PER_ADDRESS": "5 per minute",
                 "RATELIMIT_STORAGE_URI": ""}
    with gunicorn_servers(2, database_url, tmp_path, **throttled) as servers:
        # One browser: the session cookie (and its CSRF token) is valid on both servers.
        browser = build_opener(HTTPCookieProcessor())
        page = browser.open(servers[0] + "/login", timeout=60).read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        statuses = []
        for attempt in range(7):
            form = urlencode({"email": f"guess{attempt}@example.org", "password": "x" * 12,
                              "csrf_token": token}).encode()
            try:
                answer = browser.open(servers[attempt % 2] + "/login", data=form, timeout=60)
                statuses.append(answer.status)
            except HTTPError as error:
                statuses.append(error.code)
    assert statuses == [401] * 5 + [429, 429]
