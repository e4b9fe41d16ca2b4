"""Access rules and the HTTP security headers every response carries."""

from __future__ import annotations

import enum
from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, abort, request
from flask_login import current_user, login_required


class Role(str, enum.Enum):
    """Who may do what; every feature's access checks speak these (accounts stores them)."""

    coordinator = "coordinator"      # the project leader: premises, allocations, seminars, users
    agency_admin = "agency_admin"    # its own agency's staff and allocations
    staff = "staff"


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def roles_required(*roles: Role):
    """Let only logged-in users with one of the roles through; others get 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles  # read by the access-control test
        return wrapped

    return decorator


coordinator_required = roles_required(Role.coordinator)
admin_required = roles_required(Role.coordinator, Role.agency_admin)


def is_safe_redirect(target: str | None) -> bool:
    """Only same-site relative paths are followed after login (no open redirect); no
    control characters either (CR/LF would split the Location header: a 500 or worse)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and "\\" not in target


ALWAYS_VARY = ("HX-Request", "Cookie")


def add_standard_headers(headers, *, secure: bool, cacheable: bool = False) -> None:
    """Give an answer the headers every answer carries: security headers, `Vary:
    HX-Request, Cookie` and, unless it says otherwise, `Cache-Control: no-store`.

    The one place they are made: Flask's responses get them below, and the feeds' 304
    fast path (office/feeds/fastpath.py), which answers before Flask, runs its own through
    here too, so a 304 and its 200 carry the same headers.

    `headers` is a werkzeug Headers (or a dict); what the answer set itself is kept.
    """
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if not cacheable and "Cache-Control" not in headers:
        # Pages hold personal data: do not keep them in shared caches.
        headers["Cache-Control"] = "no-store"
    # Every answer may differ by the session (Flask-Login reads it on every request, so
    # Flask would add Cookie anyway) and pages answer htmx with a fragment.
    vary = headers.get("Vary") or ""
    present = {part.strip().lower() for part in vary.split(",")}
    missing = [name for name in ALWAYS_VARY if name.lower() not in present]
    if missing:
        headers["Vary"] = ", ".join([vary, *missing] if vary else missing)


def install_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        add_standard_headers(response.headers,
                             secure=bool(app.config.get("SESSION_COOKIE_SECURE")),
                             cacheable=request.endpoint == "static")
        return response
