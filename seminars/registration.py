"""Registration rules: who may register, capacity, the waiting list and promotion.

Plain functions (no request, no template) so views, CLI and the benchmark call them.
They add to the caller's transaction (the request, office/core/transaction.py) and raise
`RegistrationRefused` (422) or `RegistrationConflict` (409); they never commit.

Capacity under concurrency: every change that counts places first locks the seminar
row (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the write transaction is already
BEGIN IMMEDIATE, see office/core/database.py), so two requests never both take the last
place. The arrival number handed out under that lock orders the waiting list.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from office.accounts.models import User
from office.availability.rules import add_busy_source
from office.core.database import utcnow
from office.core.extensions import db
from office.core.transaction import conflicts_become
from seminars import mail
from seminars.calendar import starts_at
from seminars.models import (
    AttendanceMode,
    Audience,
    Evaluation,
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarDay,
    SeminarState,
)

MESSAGES = {
    "not_found": _l("The seminar does not exist."),
    "cancelled": _l("The seminar is cancelled; registration is closed."),
    "not_open": _l("Registration for this seminar is not open."),
    "deadline_passed": _l("The registration deadline has passed."),
    "not_public": _l("This seminar is only for staff of the invited agencies."),
    "not_invited": _l("Your agency is not invited to this seminar."),
    "duplicate": _l("%(email)s is already registered for this seminar."),
    "bad_rating": _l("Give a rating from 1 to 5."),
    "no_evaluation": _l("Only participants can evaluate the seminar, once it has started."),
    "already_evaluated": _l("You have already evaluated this seminar."),
}


class RegistrationRefused(Exception):
    """Bad input or a closed seminar (HTTP 422)."""

    status = 422

    def __init__(self, code: str, **params):
        self.code = code
        self.message = str(MESSAGES[code]) % params if params else str(MESSAGES[code])
        super().__init__(code)


class RegistrationConflict(RegistrationRefused):
    """Someone (perhaps the same person) got there first (HTTP 409)."""

    status = 409


@dataclass
class Outcome:
    registration: Registration
    token: str | None  # the guest's secret link token, shown once and mailed
    waiting_position: int | None


# --- secret links -------------------------------------------------------------

def new_token() -> tuple[str, str]:
    """A secret link token (256 bits) and the hash we store instead of it."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_by_token(token: str) -> Registration | None:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(
        select(Registration).where(Registration.token_hash == hash_token(token))
    )


# --- counting -----------------------------------------------------------------

def lock_seminar(seminar_id: int) -> Seminar | None:
    """The seminar, its row locked until the transaction ends (PostgreSQL)."""
    return db.session.execute(
        select(Seminar).where(Seminar.id == seminar_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def count_confirmed(seminar_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Registration).where(
            Registration.seminar_id == seminar_id,
            Registration.status == RegistrationStatus.confirmed,
        )
    )


def waiting_list(seminar_id: int) -> list[Registration]:
    return list(db.session.scalars(
        select(Registration).where(
            Registration.seminar_id == seminar_id,
            Registration.status == RegistrationStatus.waiting,
        ).order_by(Registration.arrival)
    ))


def waiting_position(registration: Registration) -> int | None:
    if registration.status != RegistrationStatus.waiting:
        return None
    ahead = db.session.scalar(
        select(func.count()).select_from(Registration).where(
            Registration.seminar_id == registration.seminar_id,
            Registration.status == RegistrationStatus.waiting,
            Registration.arrival < registration.arrival,
        )
    )
    return ahead + 1


def places_left(seminar: Seminar) -> int:
    return max(seminar.capacity - count_confirmed(seminar.id), 0)


# --- registering ----------------------------------------------------------------

def _check_open(seminar: Seminar | None, now: datetime) -> Seminar:
    if seminar is None:
        raise RegistrationRefused("not_found")
    if seminar.state == SeminarState.cancelled:
        raise RegistrationRefused("cancelled")
    if seminar.state != SeminarState.published:
        raise RegistrationRefused("not_open")
    if seminar.registration_deadline is not None and now >= seminar.registration_deadline:
        raise RegistrationRefused("deadline_passed")
    return seminar


def register_staff(seminar_id: int, user: User, *, dietary_needs: str = "",
                   accessibility_needs: str = "", attendance_mode=AttendanceMode.on_site,
                   now: datetime | None = None) -> Outcome:
    """One click: the staff member's name, agency, e-mail and language are known."""
    def allowed(seminar: Seminar) -> None:
        invited = seminar.invited_agencies
        if invited and user.agency_id not in {a.id for a in invited}:
            raise RegistrationRefused("not_invited")

    return _register(
        seminar_id, now=now, allowed=allowed, user=user, name=user.name,
        organisation=user.agency.name, agency_id=user.agency_id, email=user.email,
        locale=user.locale or "sv", dietary_needs=dietary_needs,
        accessibility_needs=accessibility_needs, attendance_mode=attendance_mode,
    )


def register_guest(seminar_id: int, *, name: str, organisation: str, email: str,
                   locale: str = "sv", dietary_needs: str = "", accessibility_needs: str = "",
                   attendance_mode=AttendanceMode.on_site, now: datetime | None = None) -> Outcome:
    """An external guest (no account) on a public seminar; returns their secret link token."""
    def allowed(seminar: Seminar) -> None:
        if seminar.audience != Audience.public:
            raise RegistrationRefused("not_public")

    return _register(
        seminar_id, now=now, allowed=allowed, user=None, name=name.strip(),
        organisation=organisation.strip(), agency_id=None, email=email, locale=locale,
        dietary_needs=dietary_needs, accessibility_needs=accessibility_needs,
        attendance_mode=attendance_mode,
    )


def _register(seminar_id: int, *, now, allowed, user, email: str, **fields) -> Outcome:
    now = now or utcnow()
    email = email.strip().lower()
    seminar = _check_open(lock_seminar(seminar_id), now)
    allowed(seminar)
    registration = db.session.scalar(select(Registration).where(
        Registration.seminar_id == seminar.id, Registration.email == email))
    if registration is not None and registration.is_active:
        raise RegistrationConflict("duplicate", email=email)
    seminar.registration_counter += 1
    full = count_confirmed(seminar.id) >= seminar.capacity
    if registration is None:
        registration = Registration(seminar=seminar, email=email)
        db.session.add(registration)
    token = None
    if user is None:
        token, registration.token_hash = new_token()
    registration.user_id = user.id if user is not None else None
    for name, value in fields.items():
        setattr(registration, name, value)
    registration.status = RegistrationStatus.waiting if full else RegistrationStatus.confirmed
    registration.arrival = seminar.registration_counter
    # Stamped under the lock: created_at follows the arrival order.
    registration.created_at, registration.cancelled_at = utcnow(), None
    registration.checked_in_at = None
    # The unique constraint: the same e-mail may have won a race from another request.
    with conflicts_become(lambda: RegistrationConflict("duplicate", email=email)):
        db.session.flush()
    position = waiting_position(registration)
    mail.queue_for_registration(
        "waiting" if full else "confirmed", registration,
        personal_token=token, waiting_position=position,
    )
    return Outcome(registration, token, position)


# --- changing and cancelling ----------------------------------------------------

def change_registration(registration: Registration, *, dietary_needs: str,
                        accessibility_needs: str, attendance_mode: AttendanceMode,
                        locale: str | None = None) -> None:
    """The optional answers and the language of the mails."""
    registration.dietary_needs = dietary_needs.strip()
    registration.accessibility_needs = accessibility_needs.strip()
    registration.attendance_mode = attendance_mode
    if locale:
        registration.locale = locale


def cancel_registration(registration: Registration, *, now: datetime | None = None) -> list[Registration]:
    """Cancel; the first in line on the waiting list gets the place (and a mail).

    Returns the registrations promoted.
    """
    now = now or utcnow()
    seminar = lock_seminar(registration.seminar_id)
    db.session.refresh(registration)
    if registration.status == RegistrationStatus.cancelled:
        return []
    registration.status = RegistrationStatus.cancelled
    registration.cancelled_at = now
    db.session.flush()
    return fill_from_waiting_list(seminar)


def fill_from_waiting_list(seminar: Seminar) -> list[Registration]:
    """Promote people in arrival order while there are places (seminar row locked)."""
    if seminar.state != SeminarState.published:
        return []
    free = seminar.capacity - count_confirmed(seminar.id)
    promoted = []
    for registration in waiting_list(seminar.id)[:max(free, 0)]:
        registration.status = RegistrationStatus.confirmed
        promoted.append(registration)
        mail.queue_for_registration("promoted", registration)
    db.session.flush()
    return promoted


def set_capacity(seminar_id: int, capacity: int) -> list[Registration]:
    """Change the number of places; more places promote from the waiting list."""
    seminar = lock_seminar(seminar_id)
    seminar.capacity = capacity
    return fill_from_waiting_list(seminar)


# --- on the day -----------------------------------------------------------------

def set_checked_in(registration: Registration, present: bool, *, now: datetime | None = None) -> None:
    registration.checked_in_at = (now or utcnow()) if present else None


def evaluate(registration: Registration, rating: int, comment: str, *,
             now: datetime | None = None) -> Evaluation:
    """A participant's rating (1–5) and comment, once the seminar has started."""
    now = now or utcnow()
    start = starts_at(registration.seminar)
    if (registration.status != RegistrationStatus.confirmed or start is None or now < start):
        raise RegistrationRefused("no_evaluation")
    if rating is None or not 1 <= rating <= 5:
        raise RegistrationRefused("bad_rating")
    if registration.evaluation is not None:
        raise RegistrationConflict("already_evaluated")
    evaluation = Evaluation(registration=registration, rating=rating, comment=comment.strip())
    db.session.add(evaluation)
    with conflicts_become(lambda: RegistrationConflict("already_evaluated")):
        db.session.flush()
    return evaluation


@add_busy_source
def seminar_busy_times(user_ids, start: datetime, end: datetime):
    """Staff are busy on the days of seminars they registered for (trepartssamtal ask this)."""
    rows = db.session.execute(
        select(Registration.user_id, SeminarDay.day, SeminarDay.start_time, SeminarDay.end_time,
               Seminar.timezone)
        .join(Seminar, Seminar.id == Registration.seminar_id)
        .join(SeminarDay, SeminarDay.seminar_id == Seminar.id)
        .where(
            Registration.user_id.in_(list(user_ids)),
            Registration.status == RegistrationStatus.confirmed,
            Seminar.state.in_([SeminarState.published, SeminarState.finished]),
            SeminarDay.day.between(start.date() - timedelta(days=1), end.date() + timedelta(days=1)),
        )
    )
    for user_id, day, starts, ends, zone_name in rows:
        zone = ZoneInfo(zone_name)
        busy_from = datetime.combine(day, starts, zone).astimezone(timezone.utc)
        busy_to = datetime.combine(day, ends, zone).astimezone(timezone.utc)
        if busy_from < end and start < busy_to:
            yield user_id, busy_from, busy_to
