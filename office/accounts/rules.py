"""Decisions about accounts: passwords, login throttling, invitations.

Plain functions with no request in them; the views in office/accounts/auth_views.py and
office/accounts/views.py call these.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import func, select

from office.accounts.models import Invitation, Role, User
from office.core.database import utcnow
from office.core.extensions import db

MIN_PASSWORD_LENGTH = 10


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
    """Set a new password and end every other session of the user."""
    user.password_hash = hash_password(password)
    user.end_other_sessions()
    user.failed_logins = 0
    user.locked_until = None


def password_matches(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    hasher = _hasher()
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None and self.locked_until is None


# A dummy hash so unknown e-mail addresses cost as much time as known ones.
_DUMMY_HASH: str | None = None


def authenticate(email: str, password: str) -> LoginResult:
    """Check a login attempt, counting failures per account and locking after too many."""
    global _DUMMY_HASH
    now = utcnow()
    user = find_user_by_email(email)
    if user is None or not user.active:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password(secrets.token_hex(8))
        try:
            _hasher().verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return LoginResult(None)
    if user.locked_until and user.locked_until > now:
        return LoginResult(None, locked_until=user.locked_until)
    if password_matches(user, password):
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        return LoginResult(user)
    user.failed_logins += 1
    config = current_app.config
    if user.failed_logins >= config["LOGIN_MAX_FAILURES"]:
        user.locked_until = now + timedelta(seconds=config["LOGIN_LOCK_SECONDS"])
        return LoginResult(None, locked_until=user.locked_until)
    return LoginResult(None)


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


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_invitation(user: User, invited_by: User | None) -> str:
    """Return a fresh one-time token for the user; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    days = current_app.config["INVITATION_DAYS"]
    db.session.add(
        Invitation(
            user=user,
            token_hash=_token_hash(token),
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
        select(Invitation).where(Invitation.token_hash == _token_hash(token))
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
    """Deactivate an account; its sessions end at their next request."""
    user.active = False
    user.end_other_sessions()
    for step in _ON_DEACTIVATE:
        step(user)
