"""Configuration read from the environment, in one place (see README, "Configuration")."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalise_database_url(url: str) -> str:
    """Let operators write plain postgresql:// URLs; we always talk psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def load_or_create_secret_key(instance_path: str) -> str:
    """Read the instance secret, generating it on first start (never committed)."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


class Config:
    """Settings from environment variables, with development defaults."""

    def __init__(self) -> None:
        env = os.environ
        self.ENV_NAME = env.get("SAMLOKAL_ENV", "development")
        self.SECRET_KEY = env.get("SECRET_KEY")
        self.SQLALCHEMY_DATABASE_URI = (
            normalise_database_url(env["DATABASE_URL"]) if env.get("DATABASE_URL") else None
        )
        self.BASE_URL = env.get("BASE_URL", "http://127.0.0.1:5000")
        self.TIMEZONE = env.get("SAMLOKAL_TIMEZONE", "Europe/Stockholm")
        self.BABEL_DEFAULT_LOCALE = env.get("SAMLOKAL_DEFAULT_LOCALE", "sv")
        self.BABEL_DEFAULT_TIMEZONE = self.TIMEZONE
        self.LANGUAGES = ("sv", "en")

        self.MAIL_SERVER = env.get("MAIL_SERVER", "")
        self.MAIL_PORT = int(env.get("MAIL_PORT", "25"))
        self.MAIL_USERNAME = env.get("MAIL_USERNAME", "")
        self.MAIL_PASSWORD = env.get("MAIL_PASSWORD", "")
        self.MAIL_USE_TLS = _bool("MAIL_USE_TLS")
        self.MAIL_FROM = env.get("MAIL_FROM", "samlokal@localhost")
        self.MAIL_TIMEOUT_SECONDS = int(env.get("MAIL_TIMEOUT_SECONDS", "10"))
        # The outbox sender (office/core/mail.py): retry after 1, 2, 4 ... times this, then give up.
        self.MAIL_RETRY_BASE_SECONDS = int(env.get("MAIL_RETRY_BASE_SECONDS", "60"))
        self.MAIL_MAX_ATTEMPTS = int(env.get("MAIL_MAX_ATTEMPTS", "8"))
        # Deferred mails (a registration's body and .ics): written by the request right
        # after its commit (true), or by the sender before it delivers (false, the default:
        # a registration rush costs the web workers and SQLite's one writer the least).
        self.MAIL_RENDER_AFTER_COMMIT = _bool("MAIL_RENDER_AFTER_COMMIT")
        self.SEMINAR_REMINDER_DAYS = int(env.get("SEMINAR_REMINDER_DAYS", "2"))

        production = self.ENV_NAME == "production"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = production or _bool("SESSION_COOKIE_SECURE")
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        # Sessions (office/accounts/login_sessions.py), chosen for a PC several people share:
        # a session ends after SESSION_IDLE_SECONDS without a request and at the latest after
        # SESSION_LIFETIME_SECONDS; "keep me logged in" lasts REMEMBER_COOKIE_SECONDS, without
        # the idle timeout, and is meant for one's own device.
        self.SESSION_IDLE_SECONDS = int(env.get("SESSION_IDLE_SECONDS", str(30 * 60)))
        self.PERMANENT_SESSION_LIFETIME = int(env.get("SESSION_LIFETIME_SECONDS", str(12 * 3600)))
        self.REMEMBER_COOKIE_DURATION = int(env.get("REMEMBER_COOKIE_SECONDS", str(8 * 3600)))
        self.MAX_CONTENT_LENGTH = int(env.get("MAX_CONTENT_LENGTH", str(1024 * 1024)))
        self.PREFERRED_URL_SCHEME = "https" if production else "http"
        self.BEHIND_PROXY = _bool("BEHIND_PROXY", production)

        # The database by default, so every app server shares the counts (office/core/rate_limits.py);
        # memory:// (one process only) and redis://... remain selectable.
        self.RATELIMIT_STORAGE_URI = env.get("RATELIMIT_STORAGE_URI") or "samlokal+db://"
        self.RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
        self.RATELIMIT_HEADERS_ENABLED = True
        # Login throttling (office/accounts/throttle.py): an (e-mail, address) pair may fail
        # LOGIN_FREE_FAILURES times, then waits LOGIN_DELAY_SECONDS, doubling with each failure
        # up to LOGIN_MAX_DELAY_SECONDS. Over the per-address or per-account failure limits every
        # pair waits from its first failure; a right password is never refused for them.
        self.LOGIN_FREE_FAILURES = int(env.get("LOGIN_FREE_FAILURES", "3"))
        self.LOGIN_DELAY_SECONDS = int(env.get("LOGIN_DELAY_SECONDS", "5"))
        self.LOGIN_MAX_DELAY_SECONDS = int(env.get("LOGIN_MAX_DELAY_SECONDS", "900"))
        self.LOGIN_RATE_PER_ADDRESS = env.get("LOGIN_RATE_PER_ADDRESS", "20 per 15 minutes")
        self.LOGIN_RATE_PER_ACCOUNT = env.get("LOGIN_RATE_PER_ACCOUNT", "50 per hour")
        # Two-step verification (office/accounts/second_factor.py) for the coordinator and
        # agency admins; off outside production so the demo logs in without a phone.
        self.REQUIRE_SECOND_FACTOR = _bool("REQUIRE_SECOND_FACTOR", production)
        # Per calendar-feed token (office/feeds/core.py); clients poll about hourly.
        self.FEED_RATE_LIMIT = env.get("FEED_RATE_LIMIT", "60 per minute")

        # Booking policy (office/booking/rules.py): longest booking per resource type and how
        # far ahead staff (and the coordinator) may book.
        self.BOOKING_MAX_HOURS = {
            "room": int(env.get("BOOKING_MAX_HOURS_ROOM", "10")),
            "desk": int(env.get("BOOKING_MAX_HOURS_DESK", "10")),
        }
        self.BOOKING_HORIZON_DAYS = int(env.get("BOOKING_HORIZON_DAYS", "365"))
        self.BOOKING_HORIZON_DAYS_COORDINATOR = int(env.get("BOOKING_HORIZON_DAYS_COORDINATOR", "730"))

        # /metrics answers only `Authorization: Bearer <token>`; unset, it is a 404 for everyone.
        self.METRICS_TOKEN = env.get("METRICS_TOKEN") or None

        # Trepartssamtal (office/trepartssamtal/rules.py): days after the meeting its reference and
        # consent record are erased, the default buffer between meetings, and the working
        # hours of staff who have not set their own (Monday to Friday).
        self.TREPARTSSAMTAL_RETENTION_DAYS = int(env.get("TREPARTSSAMTAL_RETENTION_DAYS", "90"))
        self.TREPARTSSAMTAL_BUFFER_MINUTES = int(env.get("TREPARTSSAMTAL_BUFFER_MINUTES", "15"))
        self.WORKING_HOURS_DEFAULT = (env.get("WORKING_HOURS_DEFAULT_START", "08:00"),
                                      env.get("WORKING_HOURS_DEFAULT_END", "17:00"))

        self.INVITATION_DAYS = int(env.get("INVITATION_DAYS", "7"))
        # argon2id parameters; tests lower them so the suite stays fast.
        self.PASSWORD_HASH_TIME_COST = int(env.get("PASSWORD_HASH_TIME_COST", "3"))
        self.PASSWORD_HASH_MEMORY_COST = int(env.get("PASSWORD_HASH_MEMORY_COST", str(64 * 1024)))
        self.SEED_DEMO_ON_EMPTY = _bool("SEED_DEMO_ON_EMPTY", False)

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.isupper()}
