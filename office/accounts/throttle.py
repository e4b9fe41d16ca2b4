"""Login throttling that neither tells nor locks out (OWASP Authentication Cheat Sheet).

- An (e-mail, address) pair gets LOGIN_FREE_FAILURES failures; after that each failure
  makes the pair wait LOGIN_DELAY_SECONDS, doubling up to LOGIN_MAX_DELAY_SECONDS. While a
  pair waits its attempts are refused before any password is checked. Nobody else is held
  up: not the same person at another address, not colleagues behind the same address.
- An address counts its failures only (LOGIN_RATE_PER_ADDRESS, e.g. "20 per 15 minutes").
  Over the limit every pair from that address waits from its first failure (a wrong
  password is answered 429 with Retry-After); a right password still logs in, so one
  office behind one NAT is never shut out by a guesser among them.
- An account counts failures from every address (LOGIN_RATE_PER_ACCOUNT). Over it, every
  pair of that account waits from its first failure: a guesser with many addresses gets
  one try per address and delay, while the owner's first right password still works.

Keys are the e-mail as typed (normalised), never the user id, so an unknown address is
throttled exactly like a known one and the answers cannot tell them apart. Keys are HMACs
under SECRET_KEY: the table holds no e-mail address and no IP address.

The counts live in `login_throttle` (every app server shares them) and are written in the
request's transaction: the login view keeps them on its refusal (keep_changes_on_refusal).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from limits import parse
from sqlalchemy import case, delete, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from office.accounts.models import LoginThrottle
from office.core.database import UTCDateTime, utcnow
from office.core.extensions import db

# A pair forgets its failures after a day without one.
PAIR_MEMORY = timedelta(days=1)


@dataclass(frozen=True)
class Wait:
    """How long an attempt must wait (0: it may go ahead)."""

    seconds: int = 0
    checked: bool = True  # False: refused before the password or code was looked at

    def __bool__(self) -> bool:
        return self.seconds > 0


def _key(*parts: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def network_of(address: str | None) -> str:
    """The address as throttled: IPv6 by its /64 (one customer's network), IPv4 as is."""
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False))


def _normalised(email: str) -> str:
    return (email or "").strip().lower()


def pair_key(email: str, address: str) -> str:
    return _key("pair", _normalised(email), network_of(address))


def address_key(address: str) -> str:
    return _key("address", network_of(address))


def account_key(email: str) -> str:
    return _key("account", _normalised(email))


def code_key(user_id: int) -> str:
    return _key("second-factor", str(user_id))


def reauth_key(user_id: int) -> str:
    """The password asked again of someone logged in (changing it, the second factor)."""
    return _key("reauthentication", str(user_id))


def _seconds_until(moment: datetime | None, now: datetime) -> int:
    return max(0, math.ceil((moment - now).total_seconds())) if moment else 0


def wait_for(key: str) -> Wait:
    """Whether the key must wait now. Locks its row on PostgreSQL until the request ends,
    so parallel attempts of one pair are checked one after the other, each seeing the
    failures before it (SQLite: a POST holds the database's write lock already)."""
    now = utcnow()
    db.session.execute(_insert(key, now).on_conflict_do_nothing(index_elements=[LoginThrottle.key]))
    blocked_until = db.session.scalar(
        select(LoginThrottle.blocked_until).where(LoginThrottle.key == key).with_for_update()
    )
    return Wait(_seconds_until(blocked_until, now), checked=False)


def _insert(key: str, now: datetime, failures: int = 0, window: timedelta = PAIR_MEMORY):
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(LoginThrottle).values(key=key, failures=failures, window_ends_at=now + window)


def count_failure(key: str, window: timedelta, sliding: bool = False) -> tuple[int, datetime]:
    """Add one failure to the key's window (a new window when the old one ended).

    Returns the failures in the window and when it ends. A sliding window (pairs) is
    pushed forward by every failure; a fixed one (addresses, accounts) is not.
    """
    now = utcnow()
    table = LoginThrottle.__table__
    new_end = literal(now + window, UTCDateTime())
    ended = table.c.window_ends_at <= now
    statement = (
        _insert(key, now, failures=1, window=window)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": case((ended, 1), else_=table.c.failures + 1),
                "window_ends_at": new_end if sliding else case((ended, new_end),
                                                               else_=table.c.window_ends_at),
            },
        )
        .returning(table.c.failures, table.c.window_ends_at)
    )
    failures, window_ends_at = db.session.execute(statement).one()
    return failures, window_ends_at


def _limit(setting: str) -> tuple[int, timedelta]:
    item = parse(current_app.config[setting])
    return item.amount, timedelta(seconds=item.get_expiry())


def delay_after(failures: int, free: int) -> int:
    """Seconds a pair waits after its n-th failure: none for the free ones, then doubling."""
    config = current_app.config
    if failures <= free:
        return 0
    doublings = min(failures - free - 1, 30)
    return min(config["LOGIN_DELAY_SECONDS"] * 2 ** doublings, config["LOGIN_MAX_DELAY_SECONDS"])


@dataclass(frozen=True)
class Failure:
    """What a failed attempt leads to."""

    wait: Wait                # before this pair may try again
    address_over_limit: bool  # answered 429 even though the pair may try again soon


def record_login_failure(email: str, address: str) -> Failure:
    """Count a wrong password (or unknown e-mail) for the pair, the address and the account."""
    now = utcnow()
    address_limit, address_window = _limit("LOGIN_RATE_PER_ADDRESS")
    account_limit, account_window = _limit("LOGIN_RATE_PER_ACCOUNT")
    from_address, _ = count_failure(address_key(address), address_window)
    on_account, _ = count_failure(account_key(email), account_window)
    address_over = from_address > address_limit
    free = 0 if address_over or on_account > account_limit else current_app.config["LOGIN_FREE_FAILURES"]
    key = pair_key(email, address)
    failures, _ = count_failure(key, PAIR_MEMORY, sliding=True)
    delay = delay_after(failures, free)
    if delay:
        db.session.execute(update(LoginThrottle).where(LoginThrottle.key == key)
                           .values(blocked_until=now + timedelta(seconds=delay)))
    # The answer names the pair's wait only: a right password from the address gets in
    # after it, however long the address's window still runs.
    return Failure(Wait(delay), address_over)


def record_failure(key: str) -> Wait:
    """A wrong second-factor code or re-entered password: the key waits after the free ones
    (per account, not per address: whoever tries already got past the password or holds
    the session)."""
    now = utcnow()
    failures, _ = count_failure(key, PAIR_MEMORY, sliding=True)
    delay = delay_after(failures, current_app.config["LOGIN_FREE_FAILURES"])
    if delay:
        db.session.execute(update(LoginThrottle).where(LoginThrottle.key == key)
                           .values(blocked_until=now + timedelta(seconds=delay)))
    return Wait(delay)


def forget(key: str) -> None:
    """A success: the key's failures are forgiven."""
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


def purge_expired() -> int:
    """Rows whose window ended and that block nothing (called on successful logins)."""
    now = utcnow()
    return db.session.execute(
        delete(LoginThrottle).where(LoginThrottle.window_ends_at <= now,
                                    (LoginThrottle.blocked_until.is_(None))
                                    | (LoginThrottle.blocked_until <= now))
    ).rowcount
