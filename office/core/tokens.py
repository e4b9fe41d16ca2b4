"""Secret link tokens (feed links, invitations, login sessions, door screens, guests'
registration and evaluation links): 256 random bits, shown once, stored only as a hash.

A SHA-256 without a salt is enough here: the token itself is random and long, so its hash
cannot be guessed backwards, and a lookup by hash needs the same hash every time.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 43 URL-safe characters


def hash_token(token: str) -> str:
    """What the database keeps (and looks up by) instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh token and its hash."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)
