"""Decisions about accounts: passwords, logging in, invitations.

Plain functions with no request in them; the views in office/accounts/auth_views.py and
office/accounts/views.py call these.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import func, select

from office.accounts import login_sessions, throttle
from office.accounts.models import Invitation, Role, User
from office.core.database import utcnow
from office.core.extensions import db
from office.core.tokens import hash_token

MIN_PASSWORD_LENGTH = 12  # ASVS 2.1.1


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["PASSWORD_HASH_TIME_COST"],
        memory_cost=config["PASSWORD_HASH_MEMORY_COST"],
        parallelism=1,
        type=Type.ID,
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def set_password(user: User, password: str) -> None:
    """Set a new password and end every session of the user but the one it is changed in
    (`user.login_token`, set when the user is the one logged in)."""
    user.password_hash = hash_password(password)
    login_sessions.end_all(user, keep_current=True)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Hashes of a random password, one per argon2 setting: an unknown address costs as much
# time as a known one (no timing difference tells which accounts exist).
_DUMMY_HASHES: dict[tuple[int, int], str] = {}


def _dummy_hash() -> str:
    config = current_app.config
    settings = (config["PASSWORD_HASH_TIME_COST"], config["PASSWORD_HASH_MEMORY_COST"])
    if settings not in _DUMMY_HASHES:
        _DUMMY_HASHES[settings] = hash_password(secrets.token_hex(16))
    return _DUMMY_HASHES[settings]


def password_matches(user: User, password: str) -> bool:
    """One argon2 verification, always: also when the user has no password yet."""
    if not user.password_hash:
        _verify(_dummy_hash(), password)
        return False
    if not _verify(user.password_hash, password):
        return False
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return True


def find_user_by_email(email: str) -> User | None:
    if "\x00" in email:  # no address has one, and PostgreSQL refuses it in a query
        return None
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


@dataclass(frozen=True)
class LoginAttempt:
    """The outcome of e-mail and password: the user, or how long to wait before the next try."""

    user: User | None
    wait: throttle.Wait = throttle.Wait()
    checked: bool = True               # False: refused before the password was looked at
    address_over_limit: bool = False


def attempt_login(email: str, password: str, address: str | None) -> LoginAttempt:
    """Check e-mail and password, throttled per (e-mail, address) (office/accounts/throttle.py).

    Unknown, deactivated and not-yet-invited accounts take the same path, time and answer
    as a wrong password for a known one.
    """
    key = throttle.pair_key(email, address)
    wait = throttle.wait_for(key)
    if wait:
        return LoginAttempt(None, wait, checked=False)
    user = find_user_by_email(email)
    if user is None:
        _verify(_dummy_hash(), password)
    elif password_matches(user, password) and user.active:
        throttle.forget(key)
        throttle.purge_expired()
        return LoginAttempt(user)
    failure = throttle.record_login_failure(email, address)
    return LoginAttempt(None, failure.wait, address_over_limit=failure.address_over_limit)


def create_user(
    *, email: str, name: str, agency_id: int, role: Role = Role.staff,
    unit_id: int | None = None, title: str = "", password: str | None = None,
) -> User:
    user = User(
        email=email.strip().lower(), name=name.strip(), agency_id=agency_id, role=role,
        unit_id=unit_id, title=title.strip(),
    )
    if password is not None:
        user.password_hash = hash_password(password)
    db.session.add(user)
    return user


def create_invitation(user: User, invited_by: User | None) -> str:
    """Return a fresh one-time token for the user; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    days = current_app.config["INVITATION_DAYS"]
    db.session.add(
        Invitation(
            user=user,
            token_hash=hash_token(token),
            created_by_id=invited_by.id if invited_by else None,
            expires_at=utcnow() + timedelta(days=days),
        )
    )
    for listener in _invitation_listeners:
        listener(user, token, invited_by)
    return token


# Told of each new invitation link (user, token, invited_by), in the same transaction:
# office/notifications mails the link.
_invitation_listeners: list = []


def on_invitation(listener):
    if listener not in _invitation_listeners:
        _invitation_listeners.append(listener)
    return listener


def find_invitation(token: str) -> Invitation | None:
    """A usable invitation for the token, or None when unknown, used or expired."""
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == hash_token(token))
    )
    if invitation is None or invitation.used_at or invitation.expires_at <= utcnow():
        return None
    if not invitation.user.active:
        return None
    return invitation


def accept_invitation(invitation: Invitation, password: str) -> User:
    invitation.used_at = utcnow()
    set_password(invitation.user, password)
    return invitation.user


# What later features undo when an account is deactivated (the feeds stop its links).
_ON_DEACTIVATE: list[Callable[[User], None]] = []


def on_deactivate(step: Callable[[User], None]) -> Callable[[User], None]:
    """Run `step(user)` in the same transaction whenever an account is deactivated."""
    if step not in _ON_DEACTIVATE:
        _ON_DEACTIVATE.append(step)
    return step


def deactivate_user(user: User) -> None:
    """Deactivate an account; every session of it ends at once."""
    user.active = False
    login_sessions.end_all(user)
    for step in _ON_DEACTIVATE:
        step(user)
