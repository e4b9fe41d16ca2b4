"""Agencies, their units, and the staff accounts that belong to them."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from office.core.database import UTCDateTime, utcnow
from office.core.extensions import db
from office.core.security import Role


class Agency(db.Model):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    short_name: Mapped[str] = mapped_column(String(20), unique=True)
    # Shown next to the name, never alone (WCAG 1.4.1).
    colour: Mapped[str] = mapped_column(String(7), default="#1f5f8b")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    units: Mapped[list[Unit]] = relationship(
        back_populates="agency", order_by="Unit.name", cascade="all, delete-orphan"
    )
    users: Mapped[list[User]] = relationship(back_populates="agency", order_by="User.name")

    def __str__(self) -> str:
        return self.name


class Unit(db.Model):
    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("agency_id", "name", name="uq_unit_agency_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))

    agency: Mapped[Agency] = relationship(back_populates="units")

    def __str__(self) -> str:
        return self.name


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(120), default="")
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id", ondelete="SET NULL"))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, validate_strings=True), default=Role.staff
    )
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The second factor (office/accounts/second_factor.py): the TOTP secret (base32), the
    # last time step used (a code works once) and since when it is on.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    second_factor_since: Mapped[datetime | None] = mapped_column(UTCDateTime)

    agency: Mapped[Agency] = relationship(back_populates="users")
    unit: Mapped[Unit | None] = relationship()

    # Set for the request by office/accounts/login_sessions.py: the secret of the login
    # session this object was loaded through; Flask-Login stores get_id() in both cookies.
    login_token = None

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active and self.password_hash is not None

    def get_id(self) -> str:
        return f"{self.id}:{self.login_token}"

    @property
    def has_second_factor(self) -> bool:
        return self.totp_secret is not None and self.second_factor_since is not None

    @property
    def is_admin(self) -> bool:
        return self.role in (Role.coordinator, Role.agency_admin)

    @property
    def is_coordinator(self) -> bool:
        return self.role == Role.coordinator

    def can_manage_agency(self, agency_id: int) -> bool:
        return self.is_coordinator or (
            self.role == Role.agency_admin and self.agency_id == agency_id
        )

    def __str__(self) -> str:
        return self.name


class Invitation(db.Model):
    """A one-time link that lets an invited user choose a password."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class LoginSession(db.Model):
    """One login on one device: the cookies carry its secret, only its hash is stored.

    Logging out deletes the row, so a copied session or remember cookie is worthless
    afterwards; "log out everywhere", a password change and deactivation delete them all.
    """

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # "Keep me logged in": survives closing the browser, no idle timeout, ends at expires_at.
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RecoveryCode(db.Model):
    """A one-time code for when the phone is lost; only its SHA-256 is stored."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginThrottle(db.Model):
    """Failed attempts of one key (an e-mail and address pair, an address, an account's
    second factor), kept in the database so every app server counts together.

    The key is an HMAC of what it counts, so the table holds no e-mail or address.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # The count starts again after this moment (kept for purging old rows too).
    window_ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
