"""Secret feed links: issued, named, looked up, replaced and stopped.

A token is `secrets.token_urlsafe(32)` (256 bits), shown once and stored only as its
SHA-256; the lookup is by that hash (an index) and compared in constant time. A person may
keep several links to one feed, one per device, each with its own name: stopping one
leaves the others working. A stopped or replaced link answers 410 Gone, as does every link
of a deactivated person (and those stay stopped if the account is reactivated).
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from typing import NamedTuple

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select, true, update

from office.accounts.models import Role, User
from office.core.database import utcnow
from office.core.extensions import db
from office.core.tokens import hash_token
from office.feeds.models import FeedToken
from office.feeds.reader import RawSelect, unchanged_marker
from office.feeds.registry import (
    FeedSubject,
    FeedVersion,
    Owner,
    anyone,
    cutoff,
    feed_kind,
    registry_revision,
)
from office.feeds.render import stamp_query, stamp_target, version_of_stamp_rows

# token_urlsafe(32): 32 random bytes (256 bits) as 43 URL-safe characters.
TOKEN_BYTES = 32
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43,128}")
# Links one person may keep to one feed at a time (one per device is the idea).
MAX_LINKS_PER_FEED = 10
NAME_LENGTH = 60


class TooManyLinks(PermissionError):
    """The person already keeps MAX_LINKS_PER_FEED links to this feed."""


@dataclass(frozen=True)
class TokenGrant:
    """What a presented token opens (or that it was revoked)."""

    token_id: int
    subject: FeedSubject
    owner: Owner
    revoked: bool
    rate_key: str      # what the rate limit counts: the token's hash, never the token


def _same_feed(user_id: int, kind: str, target_id: int | None):
    return (FeedToken.user_id == user_id, FeedToken.kind == kind,
            FeedToken.target_id.is_(None) if target_id is None
            else FeedToken.target_id == target_id)


def issue_token(user: User, kind: str, target_id: int | None = None,
                name: str | None = None) -> str:
    """A new secret link to this feed, named (e.g. for a device); earlier links keep working.

    Raises PermissionError when the person may not follow the feed, TooManyLinks (a
    PermissionError) when they already keep MAX_LINKS_PER_FEED links to it.
    """
    info = feed_kind(kind)
    if info is None or not info.private:
        raise ValueError(f"not a private feed kind: {kind!r}")
    if info.needs_target != (target_id is not None):
        raise ValueError("this kind of feed needs a target" if info.needs_target else "no target")
    owner = Owner(user.id, user.agency_id, user.role)
    if not info.may_subscribe(owner, target_id):
        raise PermissionError(kind)
    same = _same_feed(user.id, kind, target_id)
    active = db.session.scalar(select(func.count(FeedToken.id)).where(
        *same, FeedToken.revoked_at.is_(None)))
    if active >= MAX_LINKS_PER_FEED:
        raise TooManyLinks(kind)
    if not (name or "").strip():
        made = db.session.scalar(select(func.count(FeedToken.id)).where(*same))
        name = _("Link %(number)s", number=made + 1)
    return _new_token(user.id, kind, target_id, name.strip()[:NAME_LENGTH])


def _new_token(user_id: int, kind: str, target_id: int | None, name: str | None) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.session.add(FeedToken(user_id=user_id, kind=kind, target_id=target_id, name=name,
                             token_hash=hash_token(token), created_at=utcnow()))
    return token


def replace_token(user: User, row: FeedToken) -> str:
    """A new secret for one link (same feed, same name); the old one stops at once (410)."""
    info = feed_kind(row.kind)
    if info is None or not info.private:
        raise ValueError(f"not a private feed kind: {row.kind!r}")
    if not info.may_subscribe(Owner(user.id, user.agency_id, user.role), row.target_id):
        raise PermissionError(row.kind)
    revoke_token(row)
    return _new_token(user.id, row.kind, row.target_id, row.name)


def revoke_token(row: FeedToken) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()


def revoke_all_tokens(user: User) -> None:
    """Stop every link of a person for good (their account was deactivated)."""
    db.session.execute(update(FeedToken).where(
        FeedToken.user_id == user.id, FeedToken.revoked_at.is_(None)).values(revoked_at=utcnow()))


def active_tokens(user: User) -> list[FeedToken]:
    return list(db.session.scalars(
        select(FeedToken).where(FeedToken.user_id == user.id, FeedToken.revoked_at.is_(None))
        .order_by(FeedToken.kind, FeedToken.target_id, FeedToken.id)
    ))


_TOKEN_COLUMNS = (FeedToken.id, FeedToken.token_hash, FeedToken.kind, FeedToken.target_id,
                  FeedToken.revoked_at, User.id, User.agency_id, User.role, User.active,
                  User.locale)
_TOKEN_QUERY = RawSelect(
    select(*_TOKEN_COLUMNS)
    .join(User, User.id == FeedToken.user_id)
    .where(FeedToken.token_hash == bindparam("token_hash"))
)


def lookup_token(token: str) -> TokenGrant | None:
    """The feed a token opens; None for an unknown (or malformed) one. Never logs it."""
    if not TOKEN_SHAPE.fullmatch(token or ""):
        return None
    presented = hash_token(token)
    rows = _TOKEN_QUERY.all(raw_results=True, token_hash=presented)
    return _grant(presented, rows[0]) if rows else None


def _grant(presented: str, row) -> TokenGrant | None:
    # The lookup is by the hash (an index), the comparison in constant time all the same.
    if not hmac.compare_digest(row[1], presented):
        return None
    token_id, _hash, kind, target_id, revoked_at, user_id, agency_id, role, active, locale = row
    info = feed_kind(kind)
    owner = Owner(user_id, agency_id, Role(role))
    active = bool(active)  # raw: SQLite gives 0/1
    revoked = (revoked_at is not None or not active or info is None
               or not info.may_subscribe(owner, target_id))
    subject = FeedSubject(kind, target_id, user_id if kind == "personal" else None,
                          _feed_locale(locale))
    return TokenGrant(token_id, subject, owner, revoked, presented)


# --- a poll: the token and the feed's stamps in one statement ---------------------------

# A token's hash -> what a poll of it needs, for the tokens this process has seen: a
# token's feed never changes (replacing a link makes a new token), so the next poll can
# read the token row and the feed's stamps together. Whether the token still opens the
# feed is decided from the row read in that same statement: a stopped link stops at once.
_KNOWN: dict[str, _Known] = {}
_FOLDED: dict[tuple[str, int], RawSelect] = {}


class _Reading(NamedTuple):
    """What one poll of a known token read, on one reader connection."""

    marker: tuple | None      # the connection's `unchanged_marker` before the statement
    cutoff: object            # the feed's cutoff moment then
    settings: tuple           # `_settings` then
    grant: TokenGrant
    version: FeedVersion
    stamp_rows: list
    token_row: tuple

    def stands(self, marker, cutoff, settings) -> bool:
        """Nothing committed since, the same cutoff and settings: this reading holds."""
        return (marker is not None and self.marker == marker and self.cutoff == cutoff
                and self.settings == settings)


class _Known:
    """A token seen before: its feed, and what its last poll on each reader connection
    read (`seen`, by the connection's number: each counts its data_version on its own)."""

    __slots__ = ("_query", "_revision", "kind", "seen", "target")

    def __init__(self, kind: str, target):
        self.kind, self.target, self.seen = kind, target, {}
        self._query, self._revision = None, None

    def query(self) -> RawSelect | None:
        """The token row and the kind's stamps in one statement (None: the kind has none)."""
        revision = registry_revision()
        if self._revision != revision:
            self._query, self._revision = _folded_query(self.kind), revision
        return self._query

    def same_feed(self, grant: TokenGrant) -> bool:
        return (grant.subject.kind, stamp_target(grant.subject)) == (self.kind, self.target)


def _folded_query(kind: str) -> RawSelect | None:
    stamps = stamp_query(kind)
    if stamps is None:
        return None
    key = (kind, id(stamps))
    found = _FOLDED.get(key)
    if found is None:
        union = stamps.statement.subquery("stamps")
        found = RawSelect(
            select(*_TOKEN_COLUMNS, *union.c)
            .select_from(FeedToken.__table__.join(User.__table__, User.id == FeedToken.user_id)
                         .outerjoin(union, true()))
            .where(FeedToken.token_hash == bindparam("token_hash")))
        if len(_FOLDED) > 64:
            _FOLDED.clear()
        _FOLDED[key] = found
    return found


def _settings(config) -> tuple:
    """What a grant and a version are made with besides the database: the configuration
    and the registry of kinds and sources."""
    return (config.get("BASE_URL", ""), config.get("TIMEZONE", ""),
            config["BABEL_DEFAULT_LOCALE"], tuple(config.get("LANGUAGES", ("sv", "en"))),
            registry_revision())


def unchanged_poll(token: str, config, engine, now=None) -> tuple[TokenGrant, FeedVersion] | None:
    """What the last poll of this token read, when the database says nothing was committed
    since (office/feeds/reader.py `unchanged_marker`), for the same cutoff and settings and
    a kind that lets anyone holding a link follow it; else None (`lookup_token_and_version`
    reads). Needs no app context: the 304 fast path asks this first."""
    if not TOKEN_SHAPE.fullmatch(token):
        return None
    known = _KNOWN.get(hash_token(token))
    if known is None or not known.seen:
        return None
    info = feed_kind(known.kind)
    # A kind's own check may read the database or the app: asked inside the app context.
    if info is None or info.may_subscribe is not anyone:
        return None
    marker = unchanged_marker(engine)
    seen = known.seen.get(marker[0]) if marker is not None else None
    if seen is None or not seen.stands(marker, cutoff(now or utcnow()), _settings(config)):
        return None
    return seen.grant, seen.version


def lookup_token_and_version(token: str, now=None) -> tuple[TokenGrant | None,
                                                              FeedVersion | None]:
    """`lookup_token(token)` and, for a token this process has seen before, the version of
    its feed (`feed_version`) read in the same statement; else (grant, None).

    When the database says nothing was committed since this token's last poll (SQLite:
    office/feeds/reader.py `unchanged_marker`), that poll's reading stands, as long as the
    cutoff and the settings are the same; the kind's `may_subscribe` is asked all the same.
    """
    if not TOKEN_SHAPE.fullmatch(token or ""):
        return None, None
    presented = hash_token(token)
    known = _KNOWN.get(presented)
    query = known.query() if known is not None else None
    if query is None:
        grant = lookup_token(token)
        if grant is not None and not grant.revoked and stamp_query(grant.subject.kind):
            if len(_KNOWN) > 100_000:
                _KNOWN.clear()
            _KNOWN[presented] = _Known(grant.subject.kind, stamp_target(grant.subject))
        return grant, None
    moment = cutoff(now or utcnow())
    settings = _settings(current_app.config)
    marker = unchanged_marker()  # before the statement: a commit after it changes the next
    connection = marker[0] if marker is not None else None
    seen = known.seen.get(connection)
    if seen is not None and seen.stands(marker, moment, settings):
        grant = seen.grant
        info = feed_kind(grant.subject.kind)
        if info is not None and info.may_subscribe(grant.owner, grant.subject.target_id):
            return grant, seen.version
    rows = query.all(raw_results=True, token_hash=presented, target=known.target,
                     cutoff=moment)
    if not rows:
        _KNOWN.pop(presented, None)
        return None, None
    width = len(_TOKEN_COLUMNS)
    token_row = rows[0][:width]
    stamp_rows = [row[width:] for row in rows if row[width + 3] is not None]
    if seen is not None and seen.settings == settings and seen.token_row == token_row:
        # The same row, the same settings: the same grant, if the kind still lets them.
        grant = seen.grant
        info = feed_kind(grant.subject.kind)
        if info is None or not info.may_subscribe(grant.owner, grant.subject.target_id):
            grant = _grant(presented, token_row)
    else:
        grant = _grant(presented, token_row)
    if grant is None or grant.revoked or not known.same_feed(grant):
        _KNOWN.pop(presented, None)
        return grant, None
    if (seen is not None and seen.stamp_rows == stamp_rows and seen.grant.subject == grant.subject
            and seen.cutoff == moment and seen.settings == settings):
        version = seen.version  # the same rows for the same feed: the same version
    else:
        version = version_of_stamp_rows(grant.subject, stamp_rows)
    if len(known.seen) > 32:  # connections replaced many times over
        known.seen.clear()
    known.seen[connection] = _Reading(marker, moment, settings, grant, version, stamp_rows,
                                      token_row)
    return grant, version


def forget_known_tokens() -> None:
    _KNOWN.clear()
    _FOLDED.clear()


def _feed_locale(locale: str | None) -> str:
    languages = current_app.config.get("LANGUAGES", ("sv", "en"))
    return locale if locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def public_subject(kind: str, target_id: int | None = None) -> FeedSubject:
    return FeedSubject(kind, target_id, None, current_app.config["BABEL_DEFAULT_LOCALE"])
