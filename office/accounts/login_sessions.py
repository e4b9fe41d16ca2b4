"""Login sessions: one row per login on one device (LoginSession), so logging out means it.

The session cookie and the "keep me logged in" cookie both carry `<user id>:<secret>`
(Flask-Login stores `User.get_id()` in them); the database keeps only the secret's SHA-256.
A cookie is valid while its row exists, the account is active, the session has not passed
its end (`expires_at`) and, unless remembered, it was used within the idle timeout.
Logging out deletes the row: a copy of either cookie taken before is worthless afterwards.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from flask import Flask, current_app, g
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import contains_eager

from office.accounts.models import LoginSession, User
from office.core.database import utcnow, valid_id
from office.core.extensions import db
from office.core.tokens import hash_token

log = logging.getLogger("samlokal.accounts")

# last_seen_at is written at most this often per session (a write per request is waste).
TOUCH_EVERY = timedelta(seconds=60)


def start(user: User, remember: bool) -> None:
    """A new login session for the user; call login_user(user) afterwards, which stores it."""
    config = current_app.config
    now = utcnow()
    if remember:
        lifetime = timedelta(seconds=config["REMEMBER_COOKIE_DURATION"])
    else:
        lifetime = current_app.permanent_session_lifetime
    # The user's finished sessions go when a new one starts: the table stays small.
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id,
                                                  LoginSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user_id=user.id, token_hash=hash_token(token), remember=remember,
                                created_at=now, last_seen_at=now, expires_at=now + lifetime))
    user.login_token = token
    user.last_login_at = now


# Every request asks this, so it is built once (building it cost as much as running it).
# The agency comes in the same statement: every page's header shows its short name. The
# login session's columns come as plain values: no object of it is needed.
_USER_OF_LOGIN = (
    select(User, LoginSession.id, LoginSession.remember, LoginSession.last_seen_at,
           LoginSession.expires_at)
    .join(LoginSession, LoginSession.user_id == User.id)
    .join(User.agency).options(contains_eager(User.agency))
    .where(LoginSession.token_hash == bindparam("token_hash"), User.id == bindparam("user_id"))
)


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the user of a valid login session, else None."""
    ident, _, token = user_id.partition(":")
    if not ident.isdigit() or not token or valid_id(int(ident)) is None:
        return None
    row = db.session.execute(_USER_OF_LOGIN, {"token_hash": hash_token(token),
                                              "user_id": int(ident)}).first()
    if row is None:
        return None
    user, login_id, remember, last_seen_at, expires_at = row
    now = utcnow()
    idle = timedelta(seconds=current_app.config["SESSION_IDLE_SECONDS"])
    if not user.active or expires_at <= now:
        return None
    if not remember:
        if last_seen_at + idle <= now:
            return None
        if last_seen_at + TOUCH_EVERY <= now:
            g.samlokal_touch_login = login_id
    user.login_token = token
    return user


def end_current(user: User) -> None:
    """Logging out: this device's session ends; the others stay."""
    if user.login_token:
        db.session.execute(delete(LoginSession).where(LoginSession.token_hash == hash_token(user.login_token)))


def end_all(user: User, keep_current: bool = False) -> int:
    """Every session of the user ends (optionally all but this one); returns how many."""
    query = delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep_current and user.login_token:
        query = query.where(LoginSession.token_hash != hash_token(user.login_token))
    return db.session.execute(query).rowcount


def count_active(user: User) -> int:
    now = utcnow()
    idle_limit = now - timedelta(seconds=current_app.config["SESSION_IDLE_SECONDS"])
    sessions = db.session.scalars(select(LoginSession).where(LoginSession.user_id == user.id,
                                                             LoginSession.expires_at > now)).all()
    return sum(1 for s in sessions if s.remember or s.last_seen_at > idle_limit)


def install_idle_tracking(app: Flask) -> None:
    """Write last_seen_at after the request, on a connection of its own.

    After the request: its own transaction has ended (SQLite's write lock is free), and a
    GET's read transaction never has to turn into a write. A failure here changes nothing
    the user sees; at worst the session ends a minute early.
    """

    @app.teardown_request
    def _touch_login_session(_exc):
        login_id = g.pop("samlokal_touch_login", None)
        if login_id is None:
            return
        try:
            with db.engine.begin() as connection:
                connection.execute(update(LoginSession).where(LoginSession.id == login_id)
                                   .values(last_seen_at=utcnow()))
        except SQLAlchemyError as error:
            log.warning("could not record session activity: %s", type(error).__name__)
