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

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from types import SimpleNamespace
from typing import Protocol
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, case, func, select, text
from sqlalchemy.orm.util import identity_key

from office.accounts.models import User
from office.availability.rules import add_busy_source
from office.core import clock
from office.core.database import UTCDateTime, utcnow
from office.core.extensions import db
from office.core.mail import render_after_commit
from office.core.transaction import conflicts_become
from seminars import mail
from seminars.calendar import ends_at
from seminars.links import hash_token, new_token  # noqa: F401 - rules.new_token for callers
from seminars.models import (
    AttendanceMode,
    Audience,
    DayAttendance,
    Evaluation,
    Registration,
    RegistrationStatus,
    Seminar,
    SeminarDay,
    SeminarSession,
    SeminarState,
    SessionPlace,
    VenueKind,
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
    "no_evaluation": _l("Only participants can evaluate the seminar, once its last day has ended."),
    "already_evaluated": _l("You have already evaluated this seminar."),
    "check_in_not_open": _l("Check-in for this day opens on the day."),
    "not_participant": _l("Only confirmed participants can be checked in."),
    "no_sign_up": _l("This session has no sign-up of its own."),
    "session_needs_place": _l("Sign up for a session once you have a place at the seminar."),
    "session_duplicate": _l("You are already signed up for this session."),
    "session_started": _l("The session has already started."),
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
    registration_id: int
    token: str | None  # the guest's secret link token, shown once and mailed
    waiting_position: int | None
    loaded: Registration | None = None

    @property
    def registration(self) -> Registration:
        """The registration (read when first asked: a first registration is inserted
        without building it)."""
        if self.loaded is None:
            self.loaded = db.session.get(Registration, self.registration_id)
        return self.loaded


# --- secret links -------------------------------------------------------------

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


def recount(seminar: Seminar) -> None:
    """Set the kept counts from the registrations themselves (seminar row locked)."""
    counts = db.session.execute(select(
        func.coalesce(func.sum(case((Registration.status == RegistrationStatus.confirmed, 1), else_=0)), 0),
        func.coalesce(func.sum(case((Registration.status == RegistrationStatus.waiting, 1), else_=0)), 0),
    ).where(Registration.seminar_id == seminar.id)).one()
    seminar.confirmed_count, seminar.waiting_count = int(counts[0]), int(counts[1])


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
                   attendance_mode=AttendanceMode.on_site, now: datetime | None = None,
                   seminar: SeminarToRegister | Seminar | None = None) -> Outcome:
    """An external guest (no account) on a public seminar; returns their secret link token.

    `seminar`: the seminar as the caller has just read it (`seminar_to_register`, or the
    Seminar), asked before the lock instead of reading it again; the lock reads it anyway."""
    def allowed(seminar: Seminar) -> None:
        if seminar.audience != Audience.public:
            raise RegistrationRefused("not_public")

    return _register(
        seminar_id, now=now, allowed=allowed, user=None, name=name.strip(),
        organisation=organisation.strip(), agency_id=None, email=email, locale=locale,
        dietary_needs=dietary_needs, accessibility_needs=accessibility_needs,
        attendance_mode=attendance_mode, seminar=seminar,
    )


class SeminarToRegister(Protocol):
    """What registering a guest asks of a seminar before the lock (a row of the columns)."""

    id: int
    title: str
    audience: Audience
    state: SeminarState
    venue_kind: VenueKind
    registration_deadline: datetime | None


# The columns a guest's registration asks before the lock, one prebuilt Core statement: the
# public form's POST reads these and no whole Seminar (an ORM load of every column costs the
# request more CPU than its registration statement; bench/bench_seminars.py).
_SEMINAR_TO_REGISTER = select(
    Seminar.id, Seminar.title, Seminar.audience, Seminar.state, Seminar.venue_kind,
    Seminar.registration_deadline,
).where(Seminar.id == bindparam("seminar_id"))


def seminar_to_register(seminar_id: int) -> SeminarToRegister | None:
    """The seminar's columns a guest's registration needs (None: no such seminar)."""
    return db.session.execute(_SEMINAR_TO_REGISTER, {"seminar_id": seminar_id}).first()


def _register(seminar_id: int, *, now, allowed, user, email: str, seminar=None,
              **fields) -> Outcome:
    now = now or utcnow()
    email = email.strip().lower()
    if db.engine.dialect.name == "postgresql":
        outcome = _register_first(seminar_id, now=now, allowed=allowed, user=user, email=email,
                                  seminar=seminar, **fields)
        if outcome is not None:
            return outcome
    # Not a first registration of the address (or the seminar closed meanwhile; or
    # SQLite). Looked up before the lock; a row found is read again under the lock, a row
    # someone inserts meanwhile is caught by the unique constraint at the flush: the same
    # "already registered" answer.
    earlier = db.session.scalar(select(Registration.id).where(
        Registration.seminar_id == seminar_id, Registration.email == email))
    seminar = _check_open(lock_seminar(seminar_id), now)
    allowed(seminar)
    registration = None
    if earlier is not None:
        registration = db.session.execute(
            select(Registration).where(Registration.id == earlier)
            .execution_options(populate_existing=True)).scalar_one_or_none()
    if registration is not None and registration.is_active:
        raise RegistrationConflict("duplicate", email=email)
    seminar.registration_counter += 1
    # The kept counts (no counting under the lock): whether a place is left, and the place
    # in line (the newcomer arrives last, so everyone waiting is ahead of them).
    full = seminar.confirmed_count >= seminar.capacity
    position = seminar.waiting_count + 1 if full else None
    if full:
        seminar.waiting_count += 1
    else:
        seminar.confirmed_count += 1
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
    registration.attendances = []
    # The unique constraint: the same e-mail may have won a race from another request.
    with conflicts_become(lambda: RegistrationConflict("duplicate", email=email)):
        db.session.flush()
    mail.queue_for_registration(
        "waiting" if full else "confirmed", registration,
        personal_token=token, waiting_position=position,
    )
    return Outcome(registration.id, token, position, registration)


# A first registration of an address on PostgreSQL, in ONE statement: the seminar's row is
# locked, its counter taken, a place or the waiting list decided, and the registration and
# its mail inserted; so under the lock there are two round trips, this statement and the
# commit. Everything that does not depend on the lock is done before it, outside (the
# seminar read and who may register, the link token, both possible subjects).
# `locked.was_full` comes from the row as locked (FOR UPDATE returns the latest committed
# version after waiting), the SET from the same version. No row comes back when the
# seminar is no longer open or the address was registered before (in this statement's
# snapshot): the caller then takes the locked path, which says why or reuses the row; an
# address registered by a request that committed while this one waited for the lock is
# refused by the unique constraint. `stamped` is the moment the lock is held: the database's
# clock then, moved as the app's clock is (office/core/clock.py: zero in production, a test's
# or rehearsal's offset otherwise), so created_at follows the arrival order; a stamp read in
# Python before the statement would not (a request may wait for the GIL or a core between
# reading it and sending the statement: up to 20 ms under load, measured).
_REGISTER_FIRST = text("""
WITH taken AS (
    UPDATE seminar SET registration_counter = seminar.registration_counter + 1,
        confirmed_count = seminar.confirmed_count + CASE WHEN locked.was_full THEN 0 ELSE 1 END,
        waiting_count = seminar.waiting_count + CASE WHEN locked.was_full THEN 1 ELSE 0 END
    FROM (SELECT id, confirmed_count >= capacity AS was_full FROM seminar
          WHERE id = :seminar_id FOR UPDATE) AS locked
    WHERE seminar.id = locked.id AND seminar.state = 'published'
      AND (seminar.registration_deadline IS NULL OR seminar.registration_deadline > :now)
      AND NOT EXISTS (SELECT 1 FROM seminar_registration
                      WHERE seminar_id = :seminar_id AND email = :email)
    RETURNING seminar.id, seminar.registration_counter AS arrival, locked.was_full AS full,
        seminar.waiting_count AS waiting, seminar.sequence AS sequence,
        clock_timestamp() + CAST(:clock_offset AS interval) AS stamped
), registration AS (
    INSERT INTO seminar_registration (seminar_id, user_id, name, organisation, agency_id,
        email, locale, status, arrival, dietary_needs, accessibility_needs, attendance_mode,
        token_hash, calendar_sequence, created_at, updated_at)
    SELECT taken.id, :user_id, :name, :organisation, :agency_id, :email, :locale,
        CASE WHEN taken.full THEN 'waiting' ELSE 'confirmed' END, taken.arrival,
        :dietary_needs, :accessibility_needs, :attendance_mode, :token_hash,
        CASE WHEN taken.full THEN NULL ELSE COALESCE(taken.sequence, 0) END,
        taken.stamped, taken.stamped
    FROM taken
    RETURNING id, calendar_sequence
), mail AS (
    INSERT INTO outbox_mail (kind, topic, recipient, locale, subject, body, ics_method,
        render_with, render_args, status, attempts, next_attempt_at, last_error, created_at)
    SELECT CASE WHEN taken.full THEN 'waiting' ELSE 'confirmed' END, :topic, :email, :mail_locale,
        CASE WHEN taken.full THEN :subject_waiting ELSE :subject_confirmed END, '',
        CASE WHEN taken.full THEN NULL ELSE :method END, :renderer,
        json_build_object(
            'kind', CASE WHEN taken.full THEN 'waiting' ELSE 'confirmed' END,
            'registration', registration.id,
            'method', CASE WHEN taken.full THEN NULL ELSE :method END,
            'sequence', registration.calendar_sequence,
            'personal_token', CAST(:token AS text),
            'waiting_position', CASE WHEN taken.full THEN taken.waiting END,
            'session', NULL, 'evaluation_url', NULL)::text,
        'queued', 0, :stamp, '', :stamp
    FROM taken, registration
    RETURNING id
)
SELECT registration.id, mail.id, taken.full, taken.waiting FROM taken, registration, mail
""").bindparams(bindparam("now", type_=UTCDateTime), bindparam("stamp", type_=UTCDateTime))


@lru_cache(maxsize=256)
def _first_subjects(title: str, locale: str) -> tuple[str, str]:
    """The subjects of both mails a first registration may get, kept per title and language
    (the catalogues do not change while the process runs): translating them under a forced
    locale cost every registration a few per cent of its CPU, the same work each time."""
    subjects = mail.subjects_of_first_registration(SimpleNamespace(title=title), locale)
    return subjects["confirmed"], subjects["waiting"]


def _register_first(seminar_id: int, *, now, allowed, user, email: str, seminar=None,
                    **fields) -> Outcome | None:
    """`_register` for an address not registered before (PostgreSQL); None when the one
    statement finds the seminar closed meanwhile or the address registered before: the
    caller then takes the locked path (and says why). `seminar`: as the caller read it."""
    if seminar is None:
        seminar = db.session.get(Seminar, seminar_id)
    seminar = _check_open(seminar, now)
    allowed(seminar)  # who may register: asked before the lock, as the seminar is read
    token = token_hash = None
    if user is None:
        token, token_hash = new_token()
    subject_confirmed, subject_waiting = _first_subjects(seminar.title, fields["locale"] or "sv")
    with conflicts_become(lambda: RegistrationConflict("duplicate", email=email)):
        taken = db.session.execute(_REGISTER_FIRST, {
            "seminar_id": seminar_id, "now": now, "stamp": utcnow(), "email": email,
            "clock_offset": clock.offset_from_machine(),
            "user_id": user.id if user is not None else None, "name": fields["name"],
            "organisation": fields["organisation"], "agency_id": fields["agency_id"],
            "locale": fields["locale"], "mail_locale": fields["locale"] or "sv",
            "dietary_needs": fields["dietary_needs"],
            "accessibility_needs": fields["accessibility_needs"],
            "attendance_mode": AttendanceMode(fields["attendance_mode"]).value,
            "token_hash": token_hash, "token": token, "topic": f"seminar:{seminar_id}",
            "subject_confirmed": subject_confirmed, "subject_waiting": subject_waiting,
            "method": mail.CALENDAR_METHOD["confirmed"], "renderer": mail.RENDERER,
        }).first()
    if taken is None:
        return None
    registration_id, mail_id, full, waiting = taken
    # The session's copy of the seminar (if it has one) has the old counts and
    # registrations: read again.
    loaded = db.session.identity_map.get(identity_key(Seminar, seminar_id))
    if loaded is not None:
        db.session.expire(loaded, ["registration_counter", "confirmed_count", "waiting_count",
                                   "registrations"])
    render_after_commit(mail_id)
    return Outcome(registration_id, token, waiting if full else None)


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
    had_a_place = registration.status == RegistrationStatus.confirmed
    registration.status = RegistrationStatus.cancelled
    registration.cancelled_at = now
    sessions = _give_up_session_places(registration, now)
    db.session.flush()
    if had_a_place:  # the calendar entry the person has is taken back
        mail.queue_for_registration("registration_cancelled", registration)
    promoted = fill_from_waiting_list(seminar)
    for session in sessions:
        fill_session_from_waiting_list(session)
    return promoted


def fill_from_waiting_list(seminar: Seminar) -> list[Registration]:
    """Promote people in arrival order while there are places (seminar row locked).

    Also sets the seminar's kept counts afresh (after a cancellation or a new capacity).
    """
    db.session.flush()
    recount(seminar)
    if seminar.state != SeminarState.published:
        return []
    free = seminar.capacity - seminar.confirmed_count
    promoted = []
    for registration in waiting_list(seminar.id)[:max(free, 0)]:
        registration.status = RegistrationStatus.confirmed
        promoted.append(registration)
        mail.queue_for_registration("promoted", registration)
    seminar.confirmed_count += len(promoted)
    seminar.waiting_count -= len(promoted)
    db.session.flush()
    return promoted


def set_capacity(seminar_id: int, capacity: int) -> list[Registration]:
    """Change the number of places; more places promote from the waiting list."""
    return apply_capacity(lock_seminar(seminar_id), capacity)


def apply_capacity(seminar: Seminar, capacity: int) -> list[Registration]:
    """The new number of places on a locked seminar; promotes."""
    seminar.capacity = capacity
    promoted = fill_from_waiting_list(seminar)
    for seminar_day in seminar.days:  # sessions without places of their own share the seminar's
        for session in seminar_day.sessions:
            if session.sign_up and session.capacity is None:
                fill_session_from_waiting_list(session)
    return promoted


# --- on the day -----------------------------------------------------------------

def local_today(seminar: Seminar, now: datetime) -> date:
    """The date it is where the seminar takes place."""
    return now.astimezone(ZoneInfo(seminar.timezone)).date()


def check_in_open(seminar_day: SeminarDay, now: datetime | None = None) -> bool:
    """Check-in opens on the day (and stays open for corrections afterwards)."""
    return local_today(seminar_day.seminar, now or utcnow()) >= seminar_day.day


def set_present(registration: Registration, seminar_day: SeminarDay, present: bool, *,
                now: datetime | None = None) -> None:
    """Check a participant in (or out) on one day of the seminar."""
    now = now or utcnow()
    if seminar_day.seminar_id != registration.seminar_id:
        raise ValueError("the day belongs to another seminar")
    if not check_in_open(seminar_day, now):
        raise RegistrationRefused("check_in_not_open")
    if registration.status != RegistrationStatus.confirmed:
        raise RegistrationRefused("not_participant")
    found = [a for a in registration.attendances if a.seminar_day_id == seminar_day.id]
    if present and not found:
        registration.attendances.append(DayAttendance(seminar_day_id=seminar_day.id, checked_in_at=now))
    elif not present:
        for attendance in found:
            registration.attendances.remove(attendance)
    db.session.flush()


def set_checked_in(registration: Registration, present: bool, *, now: datetime | None = None) -> None:
    """On the seminar's first day (kept for single-day callers; see set_present)."""
    set_present(registration, registration.seminar.days[0], present, now=now)


def evaluation_open(registration: Registration, now: datetime | None = None) -> bool:
    """Participants evaluate once the last day has ended."""
    end = ends_at(registration.seminar)
    return (registration.status == RegistrationStatus.confirmed and end is not None
            and (now or utcnow()) >= end)


def evaluate(registration: Registration, rating: int, comment: str, *,
             now: datetime | None = None) -> Evaluation:
    """A participant's rating (1–5) and comment, once the last day has ended."""
    now = now or utcnow()
    if not evaluation_open(registration, now):
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


# --- sessions with their own sign-up --------------------------------------------------------
# The same lock (the seminar's row) and the same counter as registrations: two people never
# both take a session's last place, and its waiting list is first come, first served.

@dataclass
class SessionOutcome:
    place: SessionPlace
    waiting_position: int | None


def session_places_taken(session_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(SessionPlace).where(
        SessionPlace.session_id == session_id, SessionPlace.status == RegistrationStatus.confirmed))


def session_places_left(session: SeminarSession) -> int:
    return max(session.places_in_total() - session_places_taken(session.id), 0)


def session_waiting_list(session_id: int) -> list[SessionPlace]:
    return list(db.session.scalars(select(SessionPlace).where(
        SessionPlace.session_id == session_id, SessionPlace.status == RegistrationStatus.waiting,
    ).order_by(SessionPlace.arrival)))


def session_waiting_position(place: SessionPlace) -> int | None:
    if place.status != RegistrationStatus.waiting:
        return None
    return 1 + db.session.scalar(select(func.count()).select_from(SessionPlace).where(
        SessionPlace.session_id == place.session_id, SessionPlace.status == RegistrationStatus.waiting,
        SessionPlace.arrival < place.arrival))


def session_place_of(registration: Registration, session_id: int) -> SessionPlace | None:
    return db.session.scalar(select(SessionPlace).where(
        SessionPlace.session_id == session_id, SessionPlace.registration_id == registration.id))


def _session_start(session: SeminarSession) -> datetime:
    seminar = session.seminar_day.seminar
    return datetime.combine(session.seminar_day.day, session.start_time,
                            ZoneInfo(seminar.timezone)).astimezone(timezone.utc)


def sign_up_for_session(registration_id: int, session_id: int, *,
                        now: datetime | None = None) -> SessionOutcome:
    """A place in the session, or a place in its line when it is full (no commit)."""
    now = now or utcnow()
    session = db.session.get(SeminarSession, session_id)
    if session is None:
        raise RegistrationRefused("not_found")
    seminar = lock_seminar(session.seminar_day.seminar_id)
    if seminar.state == SeminarState.cancelled:
        raise RegistrationRefused("cancelled")
    if seminar.state != SeminarState.published:
        raise RegistrationRefused("not_open")
    if not session.sign_up:
        raise RegistrationRefused("no_sign_up")
    if now >= _session_start(session):
        raise RegistrationRefused("session_started")
    registration = db.session.execute(
        select(Registration).where(Registration.id == registration_id)
        .execution_options(populate_existing=True)).scalar_one()
    if registration.seminar_id != seminar.id or registration.status != RegistrationStatus.confirmed:
        raise RegistrationRefused("session_needs_place")
    place = session_place_of(registration, session.id)
    if place is not None and place.status != RegistrationStatus.cancelled:
        raise RegistrationConflict("session_duplicate")
    seminar.registration_counter += 1
    full = session_places_taken(session.id) >= session.places_in_total()
    if place is None:
        place = SessionPlace(session=session, registration=registration)
        db.session.add(place)
    place.status = RegistrationStatus.waiting if full else RegistrationStatus.confirmed
    place.arrival = seminar.registration_counter
    place.created_at, place.cancelled_at = utcnow(), None
    db.session.flush()
    return SessionOutcome(place, session_waiting_position(place))


def leave_session(registration: Registration, session_id: int, *,
                  now: datetime | None = None) -> list[SessionPlace]:
    """Give up a session place (or place in line); the first in line gets it (no commit)."""
    session = db.session.get(SeminarSession, session_id)
    if session is None:
        return []
    lock_seminar(session.seminar_day.seminar_id)
    place = session_place_of(registration, session_id)
    if place is None:
        return []
    db.session.refresh(place)
    if place.status == RegistrationStatus.cancelled:
        return []
    place.status, place.cancelled_at = RegistrationStatus.cancelled, now or utcnow()
    db.session.flush()
    return fill_session_from_waiting_list(session)


def _give_up_session_places(registration: Registration, now: datetime) -> list[SeminarSession]:
    """A cancelled registration leaves its sessions; returns them (to fill from their lines)."""
    sessions = []
    for place in registration.session_places:
        if place.status != RegistrationStatus.cancelled:
            place.status, place.cancelled_at = RegistrationStatus.cancelled, now
            sessions.append(place.session)
    return sessions


def fill_session_from_waiting_list(session: SeminarSession) -> list[SessionPlace]:
    """Promote people in the session's line while it has places (seminar row locked)."""
    if session.seminar_day.seminar.state != SeminarState.published:
        return []
    free = session.places_in_total() - session_places_taken(session.id)
    promoted = []
    for place in session_waiting_list(session.id)[:max(free, 0)]:
        place.status = RegistrationStatus.confirmed
        promoted.append(place)
        mail.queue_for_registration("session_promoted", place.registration, session=session)
    db.session.flush()
    return promoted


@dataclass
class SessionRow:
    """A session with its own sign-up as a participant sees it."""

    session: SeminarSession
    places: int
    left: int
    waiting: int
    place: SessionPlace | None  # the viewer's place or place in line
    position: int | None        # the viewer's number in line

    @property
    def holds_place(self) -> bool:
        return self.place is not None and self.place.status != RegistrationStatus.cancelled


def session_overview(seminar: Seminar, registration: Registration | None = None) -> list[SessionRow]:
    rows = []
    for seminar_day in seminar.days:
        for session in seminar_day.sessions:
            if not session.sign_up:
                continue
            place = session_place_of(registration, session.id) if registration is not None else None
            rows.append(SessionRow(
                session=session, places=session.places_in_total(), left=session_places_left(session),
                waiting=len(session_waiting_list(session.id)), place=place,
                position=session_waiting_position(place) if place is not None else None))
    return rows


# --- a guest who lost the mail ------------------------------------------------------------

RESEND_WINDOW = timedelta(days=30)  # a link is still of use this long after the last day


def resend_links(email: str, *, locale: str = "sv", now: datetime | None = None) -> int:
    """Fresh links to each of the address's guest registrations; the old links stop working.

    Registrations of drafts, cancelled seminars and seminars that ended more than
    RESEND_WINDOW ago are left out. One mail lists them all; nothing is sent (and nothing
    tells) when the address has none. Returns how many links were sent (no commit).
    """
    now = now or utcnow()
    registrations = db.session.scalars(
        select(Registration).join(Seminar, Seminar.id == Registration.seminar_id).where(
            Registration.email == email.strip().lower(), Registration.token_hash.is_not(None),
            Seminar.state.in_([SeminarState.published, SeminarState.finished]),
        ).order_by(Registration.id)
        .with_for_update(of=Registration).execution_options(populate_existing=True)).all()
    links = []
    for registration in registrations:
        end = ends_at(registration.seminar)
        if end is not None and end + RESEND_WINDOW < now:
            continue
        token, registration.token_hash = new_token()
        links.append((registration, token))
    if links:
        db.session.flush()
        mail.queue_links(links, locale=locale)
    return len(links)


# --- the evaluation link -----------------------------------------------------------------------

def find_by_evaluation_token(token: str) -> Registration | None:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(
        select(Registration).where(Registration.evaluation_token_hash == hash_token(token)))


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
