"""Links to seminar pages, for mails and calendar files (also outside a request), and the
secret links of guests and evaluations."""

from __future__ import annotations

import hashlib
import secrets

from office.core.mail import external_url
from seminars.models import Audience, Seminar


def seminar_url(seminar: Seminar) -> str:
    if seminar.audience == Audience.public:
        return external_url("seminars.public_seminar", seminar_id=seminar.id)
    return external_url("seminars.show_seminar", seminar_id=seminar.id)


def new_token() -> tuple[str, str]:
    """A secret link token (256 bits) and the hash we store instead of it."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
