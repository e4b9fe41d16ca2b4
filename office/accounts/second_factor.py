"""The second factor: six-digit codes from an authenticator app (TOTP, RFC 6238) and
one-time recovery codes for a lost phone.

Required for the coordinator and agency admins when REQUIRE_SECOND_FACTOR is on (the
default in production; development and the demo leave it off so `make run` works without
a phone); optional for staff. Once someone has turned it on, every login asks for a code.

- The QR code for the app is drawn here (segno, inline SVG): the secret never leaves the
  server for a third-party QR service. The secret is also shown as text to type in.
- A code is accepted once: the time step it belongs to is remembered, so a code seen over
  someone's shoulder cannot be used again. The clock may be one step (30 s) off either way.
- Recovery codes are random (about 50 bits each) and stored as SHA-256 hashes, like the
  invitation tokens; each works once.
- Wrong codes are throttled per account (office/accounts/throttle.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp
import segno
from flask import Flask, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import delete, select

from office.accounts.models import RecoveryCode, User
from office.core.database import utcnow
from office.core.extensions import db, htmx

ISSUER = "Samlokal"
RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: codes are read off paper.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 10


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_code_svg(uri: str, title: str) -> Markup:
    """The otpauth:// link as an inline SVG QR code (no external service, no data: URL)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff",
                                                title=title, svgclass="qr-code", omitsize=True)
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))


def _digits(code: str | None) -> str:
    return "".join(ch for ch in (code or "") if not ch.isspace())


def matching_step(secret: str, code: str | None) -> int | None:
    """The time step the code belongs to (now, or one step either side), else None."""
    code = _digits(code)
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(utcnow())
    for step in (now, now - 1, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def check_code(user: User, code: str | None) -> bool:
    """A fresh, right code from the user's app (each code works once)."""
    if not user.has_second_factor:
        return False
    step = matching_step(user.totp_secret, code)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def _recovery_hash(code: str) -> str:
    normalised = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(normalised.encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes; the plain codes are shown once and never stored."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _n in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _i in range(_RECOVERY_LENGTH))
        code = f"{raw[:5]}-{raw[5:]}"
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(code)))
        codes.append(code)
    return codes


def use_recovery_code(user: User, code: str | None) -> bool:
    """Spend one unused recovery code of the user."""
    if not code or len(code) > 40:
        return False
    found = db.session.scalar(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _recovery_hash(code),
        RecoveryCode.used_at.is_(None)))
    if found is None:
        return False
    found.used_at = utcnow()
    return True


def unused_recovery_codes(user: User) -> int:
    return len(db.session.scalars(select(RecoveryCode.id).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).all())


def enrol(user: User, secret: str, code: str | None) -> list[str] | None:
    """Turn the second factor on once the app shows a right code; returns recovery codes."""
    if not secret:
        return None  # the enrolment page was never shown in this session
    step = matching_step(secret, code)
    if step is None:
        return None
    user.totp_secret = secret
    user.totp_last_step = step
    user.second_factor_since = utcnow()
    return new_recovery_codes(user)


def remove(user: User) -> None:
    """Turn the second factor off (a lost phone, or staff who no longer want it)."""
    user.totp_secret = None
    user.totp_last_step = None
    user.second_factor_since = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def required_for(user: User) -> bool:
    return bool(current_app.config["REQUIRE_SECOND_FACTOR"]) and user.is_admin


# Where someone who must still turn on the second factor may go.
ENROLMENT_ENDPOINTS = frozenset({
    "account.second_factor", "account.show_account", "auth.logout", "account.logout_everywhere",
    "auth.set_language", "auth.change_password", "static", "premises.agency_colours", "home.healthz",
})


def install_enrolment_requirement(app: Flask) -> None:
    """Admins who must have a second factor see only the enrolment page until they have one."""

    @app.before_request
    def _require_second_factor():
        endpoint = request.endpoint
        if endpoint is None or endpoint in ENROLMENT_ENDPOINTS or not app.config["REQUIRE_SECOND_FACTOR"]:
            return None
        cookies = (app.config["SESSION_COOKIE_NAME"], app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
        if not any(name in request.cookies for name in cookies):
            return None  # nobody logged in: do not even open the session (feeds, static files)
        if not current_user.is_authenticated or current_user.has_second_factor:
            return None
        if not required_for(current_user):
            return None
        target = url_for("account.second_factor")
        if htmx:
            return "", 204, {"HX-Redirect": target}
        flash(_("Your role needs two-step verification. Turn it on to continue."), "info")
        return redirect(target)
